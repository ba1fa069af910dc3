"""staff sessions kept on the server, sign-in failures of unknown emails, TRUNCATE refused on the audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:15:00.000000

``staff_session``: one row per signed-in staff session; the cookie names it. Signing out
deletes it, so a copied cookie is refused from then on (issue 13, finding 5). Sessions signed
in before this migration name no row: their staff sign in again once.

``staff_sign_in_failure``: failed sign-ins counted per email address (its SHA-256) for
addresses with no account, so that an unknown address is locked out after as many failures as
a real one and the sign-in page tells nobody which addresses have accounts (finding 6).

The audit log's row triggers (0003) do not fire on TRUNCATE. On PostgreSQL a statement trigger
refuses it, whoever runs it, the owner included (finding 4). SQLite has no TRUNCATE: its
``DELETE FROM case_event`` without WHERE would empty the table without visiting rows (the
truncate optimisation), but SQLite turns that optimisation off for a table with a DELETE
trigger, and 0003's trigger refuses the statement (tests/runtime/test_audit_log.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_MESSAGE = "case_event is an append-only audit log"


def upgrade() -> None:
    op.create_table('staff_session',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_staff_session_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session'))
    )
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_session_user_id'), ['user_id'], unique=False)

    op.create_table('staff_sign_in_failure',
    sa.Column('email_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('email_hash', name=op.f('pk_staff_sign_in_failure'))
    )
    with op.batch_alter_table('staff_sign_in_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sign_in_failure_updated_at'), ['updated_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION case_event_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}: TRUNCATE refused'; END $$"
        )
        op.execute(
            "CREATE TRIGGER case_event_no_truncate BEFORE TRUNCATE ON case_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION case_event_no_truncate()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_event_no_truncate ON case_event")
        op.execute("DROP FUNCTION IF EXISTS case_event_no_truncate()")

    with op.batch_alter_table('staff_sign_in_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sign_in_failure_updated_at'))

    op.drop_table('staff_sign_in_failure')
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_session_user_id'))

    op.drop_table('staff_session')

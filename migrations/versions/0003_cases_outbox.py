"""cases, the audit log (append only, enforced by triggers), approvals, information requests, the outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:42:27.020596
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audit log is append only: the database itself refuses to change or remove an event, so
# neither a bug nor a hand-written statement in a console can rewrite history. (TRUNCATE is
# not a row operation and stays possible for whoever owns the schema: tests use it.)
APPEND_ONLY_MESSAGE = "case_event is an append-only audit log"


def _create_append_only_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}: % refused', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON case_event "
            "FOR EACH ROW EXECUTE FUNCTION case_event_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER case_event_no_{operation.lower()} BEFORE {operation} ON case_event "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: {operation} refused'); END"
            )


def _drop_append_only_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_event_append_only ON case_event")
        op.execute("DROP FUNCTION IF EXISTS case_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS case_event_no_delete")


def upgrade() -> None:
    op.create_table('case_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('service_version', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('lock_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('assigned_to', sa.Integer(), nullable=True),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('citizen_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('entered_state_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deadline_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('escalated', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('waiting_for_citizen', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_to'], ['staff_user.id'], name=op.f('fk_case_record_assigned_to_staff_user')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_case_record_citizen_id_citizen')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_case_record_department_id_department')),
    sa.ForeignKeyConstraint(['service_id', 'service_version'], ['service_version.service_id', 'service_version.version'], name=op.f('fk_case_record_service_id_service_version')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_case_record_service_id_service')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_case_record_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_record')),
    sa.UniqueConstraint('reference', name=op.f('uq_case_record_reference')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_case_record_submission_id'))
    )
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.create_index('ix_case_assigned_deadline', ['assigned_to', 'deadline_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_record_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index('ix_case_department_open_deadline', ['department_id', 'closed_at', 'deadline_at', 'id'], unique=False)
        batch_op.create_index('ix_case_department_state_deadline', ['department_id', 'state', 'deadline_at', 'id'], unique=False)

    op.create_table('case_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_case_approval_case_id_case_record')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_case_approval_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_approval')),
    sa.UniqueConstraint('case_id', 'state', 'action', 'staff_id', 'entered_at', name='uq_case_approval_case_id_state_action_staff_id_entered_at')
    )
    with op.batch_alter_table('case_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_approval_case_id'), ['case_id'], unique=False)

    op.create_table('case_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id'], name=op.f('fk_case_event_actor_id_staff_user')),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_case_event_case_id_case_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_event'))
    )
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_event_case_id'), ['case_id'], unique=False)
    _create_append_only_triggers()

    op.create_table('information_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('questions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('return_state', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_information_request_case_id_case_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_information_request')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_information_request_token_hash'))
    )
    with op.batch_alter_table('information_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_information_request_case_id'), ['case_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_outbox_case_id_case_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_outbox_case_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('information_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_information_request_case_id'))

    op.drop_table('information_request')
    _drop_append_only_triggers()
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_event_case_id'))

    op.drop_table('case_event')
    with op.batch_alter_table('case_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_approval_case_id'))

    op.drop_table('case_approval')
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_index('ix_case_department_state_deadline')
        batch_op.drop_index('ix_case_department_open_deadline')
        batch_op.drop_index(batch_op.f('ix_case_record_citizen_id'))
        batch_op.drop_index('ix_case_assigned_deadline')

    op.drop_table('case_record')

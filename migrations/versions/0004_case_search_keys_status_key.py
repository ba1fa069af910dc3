"""case search keys (names folded, surname first) with prefix indexes, and a random status key

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:00:00.000000

Search: ``search_name`` / ``search_surname`` hold the citizen's name as the inbox searches it
(runtime.cases.name_keys: lower case, accents off, surname first), and three indexes make a
prefix of a name or of a reference a range within a department. No extension is needed
(PostgreSQL's text_pattern_ops is built in).

The status link: each case gets a random ``status_key``, which its signed link names instead of
its id. Existing cases get one here; links already sent (which name the id) keep working.

The keys are filled in Python (accents cannot be taken off in SQL on both databases without an
extension), a batch of rows at a time.
"""

import secrets
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000

# The search keys as runtime.cases made them when this migration was written (search_key,
# name_keys) and the status key of runtime.models.new_status_key, copied here: a migration
# must keep doing what it did, whatever the application code becomes.
MAX_KEY = 200
_JOINERS = dict.fromkeys(map(ord, "'`\u2018\u2019\u02bc-\u2010\u2011\u2012\u2013\u2014"), None)


def search_key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_JOINERS).casefold())
    kept = "".join(
        ch if ch.isalnum() or unicodedata.category(ch) in ("Mc", "Me") else " "
        for ch in folded
        if unicodedata.category(ch) != "Mn"
    )
    return " ".join(kept.split())[:MAX_KEY].rstrip()


def name_keys(name: str | None) -> tuple[str | None, str | None]:
    full = search_key(name or "")
    if not full:
        return None, None
    words = full.split(" ")
    return full, " ".join([words[-1], *words[:-1]])


def new_status_key() -> str:
    return secrets.token_urlsafe(16)


def _backfill() -> None:
    """Search keys and a status key for every existing case, in batches by id."""
    bind = op.get_bind()
    table = sa.table(
        'case_record',
        sa.column('id', sa.Integer()),
        sa.column('citizen_name', sa.String()),
        sa.column('search_name', sa.String()),
        sa.column('search_surname', sa.String()),
        sa.column('status_key', sa.String()),
    )
    update = (
        table.update()
        .where(table.c.id == sa.bindparam('row_id'))
        .values(
            search_name=sa.bindparam('name_key'),
            search_surname=sa.bindparam('surname_key'),
            status_key=sa.bindparam('key'),
        )
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.citizen_name).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        values = []
        for row_id, name in rows:
            name_key, surname_key = name_keys(name)
            values.append({'row_id': row_id, 'name_key': name_key, 'surname_key': surname_key, 'key': new_status_key()})
        bind.execute(update, values)
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('search_surname', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('status_key', sqlmodel.sql.sqltypes.AutoString(length=43), nullable=True))
    _backfill()
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.alter_column('status_key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=43), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_case_record_status_key'), ['status_key'])
        batch_op.create_index(
            'ix_case_search_name',
            ['department_id', 'search_name', 'closed_at'],
            unique=False,
            postgresql_ops={'search_name': 'text_pattern_ops'},
        )
        batch_op.create_index(
            'ix_case_search_surname',
            ['department_id', 'search_surname', 'closed_at'],
            unique=False,
            postgresql_ops={'search_surname': 'text_pattern_ops'},
        )
        batch_op.create_index(
            'ix_case_search_reference',
            ['department_id', 'reference', 'closed_at'],
            unique=False,
            postgresql_ops={'reference': 'text_pattern_ops'},
        )


def downgrade() -> None:
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_index('ix_case_search_reference')
        batch_op.drop_index('ix_case_search_surname')
        batch_op.drop_index('ix_case_search_name')
        batch_op.drop_constraint(batch_op.f('uq_case_record_status_key'), type_='unique')
        batch_op.drop_column('status_key')
        batch_op.drop_column('search_surname')
        batch_op.drop_column('search_name')

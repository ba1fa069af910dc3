"""possible matches in a table of their own, CHECK constraints on fixed-value columns, every service in a department, case copies tied to the submission

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:30:00.000000

``possible_match``: two citizen records that may be one person, with a foreign key to each
(the lower id first, one row per pair and kind shared). They were ``citizen_identifier`` rows
of kind ``possible_match`` whose value was ``"record:other record:kind"``, written on both
records; those rows become one row each here (rows that do not parse, or that name a record
that no longer exists, are dropped: nothing could show them). Downgrading writes them back.

CHECK constraints: ``citizen_identifier.kind`` and ``possible_match.kind`` (the identifiers
matching looks up), ``outbox.status``, ``case_event.actor_kind`` and ``staff_role.role``. The
values are spelled out here (a migration never imports the application); runtime.models holds
them as constants, and tests/test_migrations.py checks that both agree.

``service.department_id`` is NOT NULL: a service still without a department (published before
0002 and not since) gets the one its latest published definition names (found by name, any case
and spacing, or by slug), else "General", made here if missing.

``case_record``: an index on ``service_id`` (publishing reads a service's open cases), and one
composite foreign key ``(submission_id, reference, citizen_id, service_id, service_version)``
to the same columns of ``submission`` (unique there): the case's copies, kept so the inbox
reads without a join, can no longer differ from the submission; ``ON UPDATE CASCADE`` carries a
change of the submission (a future record merge moving it to another citizen) to its case.

On SQLite, adding a CHECK rebuilds the table (batch mode); case_event's append-only triggers
(0003) go with the old table and are made again.
"""

import re
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTIFIER_KINDS = ("nhs_number", "ni_number", "email", "name_dob_postcode")
OUTBOX_STATUSES = ("pending", "sent", "failed")
ACTOR_KINDS = ("staff", "citizen", "system")
ROLES = ("designer", "reviewer", "admin", "caseworker", "manager")
# The kind of the old marker rows in citizen_identifier.
MARKER = "possible_match"
APPEND_ONLY_MESSAGE = "case_event is an append-only audit log"
CASE_COPIES = ["submission_id", "reference", "citizen_id", "service_id", "service_version"]
SUBMISSION_COPIES = ["id", "reference", "citizen_id", "service_id", "service_version"]
CHECKS = [
    ("citizen_identifier", "kind", IDENTIFIER_KINDS),
    ("outbox", "status", OUTBOX_STATUSES),
    ("case_event", "actor_kind", ACTOR_KINDS),
    ("staff_role", "role", ROLES),
]

identifier = sa.table(
    "citizen_identifier",
    sa.column("id", sa.Integer),
    sa.column("citizen_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("value", sa.String),
    sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
)
possible = sa.table(
    "possible_match",
    sa.column("id", sa.Integer),
    sa.column("citizen_id", sa.Integer),
    sa.column("other_citizen_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
)


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _slug(name: str) -> str:
    """The department slug, as runtime.data.departments makes it (copied: a migration must not change later)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite: batch mode copies a table, drops the old one and renames the copy; dropping a
    table others refer to fails with foreign keys on, so they are off while tables are rebuilt
    and every reference is checked before they go on again (as in 0002)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if on:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rows refer to rows that do not exist: {broken[:5]}")
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _sqlite_triggers(create: bool) -> None:
    """case_event's SQLite append-only triggers (0003), which a table rebuild drops."""
    for operation in ("UPDATE", "DELETE"):
        if create:
            op.execute(
                f"CREATE TRIGGER case_event_no_{operation.lower()} BEFORE {operation} ON case_event "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: {operation} refused'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS case_event_no_{operation.lower()}")


def _add_checks() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, values in CHECKS:
        if sqlite and table == "case_event":
            _sqlite_triggers(create=False)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"), _one_of(column, values))
        if sqlite and table == "case_event":
            _sqlite_triggers(create=True)


def _drop_checks() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, _values in reversed(CHECKS):
        if sqlite and table == "case_event":
            _sqlite_triggers(create=False)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
        if sqlite and table == "case_event":
            _sqlite_triggers(create=True)


def _parse(value: str) -> tuple[int, int, str] | None:
    parts = value.split(":")
    if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()) or parts[2] not in IDENTIFIER_KINDS:
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def _markers_to_rows() -> None:
    """Each pair's marker rows (one on each record) become one possible_match row."""
    bind = op.get_bind()
    citizens = {row[0] for row in bind.execute(sa.text("SELECT id FROM citizen"))}
    pairs: dict[tuple[int, int, str], datetime] = {}
    rows = bind.execute(
        sa.select(identifier.c.citizen_id, identifier.c.value, identifier.c.created_at)
        .where(identifier.c.kind == MARKER)
        .order_by(identifier.c.id)
    )
    for owner, value, created_at in rows:
        parsed = _parse(value)
        if parsed is None or parsed[0] != owner or parsed[0] == parsed[1] or parsed[1] not in citizens:
            continue
        low, high = sorted(parsed[:2])
        pairs.setdefault((low, high, parsed[2]), created_at)  # in id order: the first marker's time
    if pairs:
        bind.execute(
            possible.insert(),
            [{"citizen_id": a, "other_citizen_id": b, "kind": k, "created_at": at} for (a, b, k), at in pairs.items()],
        )
    bind.execute(identifier.delete().where(identifier.c.kind == MARKER))


def _rows_to_markers() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(possible.c.citizen_id, possible.c.other_citizen_id, possible.c.kind, possible.c.created_at).order_by(
            possible.c.id
        )
    ).all()
    markers = [
        {"citizen_id": a, "kind": MARKER, "value": f"{a}:{b}:{kind}", "created_at": at}
        for low, high, kind, at in rows
        for a, b in ((low, high), (high, low))
    ]
    if markers:
        bind.execute(identifier.insert(), markers)


def _backfill_departments() -> None:
    """A department for every service: the one its latest definition names, else "General"."""
    bind = op.get_bind()
    service = sa.table("service", sa.column("id", sa.String), sa.column("department_id", sa.Integer))
    version = sa.table(
        "service_version",
        sa.column("service_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("definition", sa.JSON),
    )
    department = sa.table(
        "department", sa.column("id", sa.Integer), sa.column("slug", sa.String), sa.column("name", sa.String)
    )
    ids: dict[str, int] = {}
    for did, slug, name in bind.execute(sa.select(department.c.id, department.c.slug, department.c.name)):
        ids[slug] = did
        ids[" ".join(name.split()).casefold()] = did  # by name too: slugs were made by more than one rule

    def find(name: str) -> int | None:
        return ids.get(name.casefold()) or ids.get(_slug(name) or "-")

    orphans = [row[0] for row in bind.execute(sa.select(service.c.id).where(service.c.department_id.is_(None)))]
    for service_id in orphans:
        definition = bind.execute(
            sa.select(version.c.definition)
            .where(version.c.service_id == service_id)
            .order_by(version.c.version.desc())
            .limit(1)
        ).scalar()
        text = definition.get("department") if isinstance(definition, dict) else None
        found = find(" ".join(text.split())[:200]) if isinstance(text, str) else None
        if found is None:
            found = find("General")
        if found is None:
            bind.execute(department.insert().values(slug="general", name="General"))
            found = ids["general"] = bind.execute(
                sa.select(department.c.id).where(department.c.slug == "general")
            ).scalar_one()
        bind.execute(service.update().where(service.c.id == service_id).values(department_id=found))


def upgrade() -> None:
    _sqlite_foreign_keys(False)
    op.create_table('possible_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('other_citizen_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('citizen_id < other_citizen_id', name=op.f('ck_possible_match_ordered')),
    sa.CheckConstraint(_one_of('kind', IDENTIFIER_KINDS), name=op.f('ck_possible_match_kind')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_possible_match_citizen_id_citizen')),
    sa.ForeignKeyConstraint(
        ['other_citizen_id'], ['citizen.id'], name=op.f('fk_possible_match_other_citizen_id_citizen')
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_possible_match')),
    sa.UniqueConstraint(
        'citizen_id', 'other_citizen_id', 'kind', name='uq_possible_match_citizen_id_other_citizen_id_kind'
    )
    )
    with op.batch_alter_table('possible_match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_possible_match_other_citizen_id'), ['other_citizen_id'], unique=False)
    _markers_to_rows()
    _add_checks()

    _backfill_departments()
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.alter_column('department_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_submission_case_copies', SUBMISSION_COPIES)
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_record_service_id'), ['service_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_case_record_submission_copies', 'submission', CASE_COPIES, SUBMISSION_COPIES, onupdate='CASCADE'
        )
    _sqlite_foreign_keys(True)


def downgrade() -> None:
    _sqlite_foreign_keys(False)
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_constraint('fk_case_record_submission_copies', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_case_record_service_id'))
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_constraint('uq_submission_case_copies', type_='unique')

    # The departments given here stay: every service had one after 0002 unless published before it.
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.alter_column('department_id', existing_type=sa.Integer(), nullable=True)

    _drop_checks()
    _rows_to_markers()
    with op.batch_alter_table('possible_match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_possible_match_other_citizen_id'))
    op.drop_table('possible_match')
    _sqlite_foreign_keys(True)


"""citizen records: links, candidates, jobs, audit and access logs, sharing, legal holds, erasure

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 14:40:00.000000

Issue 16, the single customer view (docs/citizen-records.md).

``citizen_identifier`` no longer gives each value one owner: a value is evidence that several
records may hold (a couple's shared email address). Each row names the submission it came from
and that submission's department, so that a department is shown only what it was told or what
an agreement shares. The unique (kind, value) constraint becomes an index; kinds widen to phone,
postcode, date of birth, name and the name surname first (for search); the old composite
``name_dob_postcode`` rows are split into their three parts. Rows from before this migration get
the record's earliest submission that has no detail of that kind yet (else none).

``possible_match`` becomes ``match_candidate``: one row per pair, scored, with its evidence and a
status (pending, same, different, superseded); the old rows become pending candidates whose
evidence names the kinds the pair shared.

New: ``citizen_link`` (every filing of a submission under a record and every join of two
records, undone rather than deleted), ``record_merge`` (where a joined record is now),
``matching_job`` (written in the submit's transaction, run by the worker), ``linkage_model``,
``record_event`` and ``access_log`` (append only, as ``case_event``: triggers refuse UPDATE,
DELETE and, on PostgreSQL, TRUNCATE), ``sharing_agreement``, ``legal_hold``.

``case_event.comment`` moves to ``case_event_comment``: the append-only audit log keeps no
personal data, so that erasure never needs to rewrite it. ``erased_at`` on citizen, submission
and case_record. ``staff_role.role`` admits ``records`` and ``dpo``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("nhs_number", "ni_number", "email", "name_dob_postcode")
KINDS = ("nhs_number", "ni_number", "email", "phone", "postcode", "date_of_birth", "full_name", "name_key")
OLD_ROLES = ("designer", "reviewer", "admin", "caseworker", "manager")
ROLES = (*OLD_ROLES, "records", "dpo")
APPEND_ONLY = ("record_event", "access_log")
CASE_EVENT_MESSAGE = "case_event is an append-only audit log"

identifier = sa.table(
    "citizen_identifier",
    sa.column("id", sa.Integer),
    sa.column("citizen_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("value", sa.String),
    sa.column("submission_id", sa.Integer),
    sa.column("department_id", sa.Integer),
    sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
)


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_foreign_keys(on: bool) -> None:
    """As in 0006: off while SQLite rebuilds tables, every reference checked before they go on."""
    bind = op.get_bind()
    if not _sqlite():
        return
    if on:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rows refer to rows that do not exist: {broken[:5]}")
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _append_only(table: str, create: bool) -> None:
    """Triggers refusing UPDATE and DELETE (and TRUNCATE on PostgreSQL), as case_event's (0003, 0005)."""
    message = f"{table} is an append-only audit log"
    if not _sqlite():
        if create:
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN RAISE EXCEPTION '{message}: % refused', TG_OP; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        return
    for operation in ("UPDATE", "DELETE"):
        if create:
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}: {operation} refused'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation.lower()}")


def _name_key(name: str) -> str:
    """The folded name surname first (runtime.citizens.name_key; copied: a migration must not change later)."""
    words = name.split(" ")
    return " ".join([words[-1], *words[:-1]])


def _backfill_identifiers() -> None:
    """Split the composite rows, and give every row a submission and a department."""
    bind = op.get_bind()
    departments = dict(bind.execute(sa.text("SELECT id, department_id FROM service")).all())
    submissions: dict[int, list[tuple[int, int]]] = {}
    for sid, citizen_id, service_id in bind.execute(
        sa.text("SELECT id, citizen_id, service_id FROM submission ORDER BY submitted_at, id")
    ):
        submissions.setdefault(citizen_id, []).append((sid, departments.get(service_id)))
    taken: set[tuple[int, str]] = set()

    def source(citizen_id: int, kind: str) -> tuple[int | None, int | None]:
        for sid, department in submissions.get(citizen_id, []):
            if (sid, kind) not in taken:
                taken.add((sid, kind))
                return sid, department
        return None, None

    rows = bind.execute(
        sa.select(
            identifier.c.id, identifier.c.citizen_id, identifier.c.kind, identifier.c.value, identifier.c.created_at
        ).order_by(identifier.c.id)
    ).all()
    added = []
    for row_id, citizen_id, kind, value, created_at in rows:
        if kind == "name_dob_postcode":
            bind.execute(identifier.delete().where(identifier.c.id == row_id))
            parts = value.split("|")
            if len(parts) != 3:
                continue
            name, born, postcode = parts
            for part_kind, part in (
                ("full_name", name),
                ("name_key", _name_key(name)),
                ("date_of_birth", born),
                ("postcode", postcode),
            ):
                if not part:
                    continue
                sid, department = source(citizen_id, part_kind)
                added.append(
                    {
                        "citizen_id": citizen_id,
                        "kind": part_kind,
                        "value": part,
                        "submission_id": sid,
                        "department_id": department,
                        "created_at": created_at,
                    }
                )
            continue
        sid, department = source(citizen_id, kind)
        if sid is not None:
            bind.execute(
                identifier.update().where(identifier.c.id == row_id).values(submission_id=sid, department_id=department)
            )
    if added:
        bind.execute(identifier.insert(), added)


def _candidates_from_possible_matches() -> None:
    bind = op.get_bind()
    pairs: dict[tuple[int, int], tuple[list[str], object]] = {}
    for low, high, kind, at in bind.execute(
        sa.text("SELECT citizen_id, other_citizen_id, kind, created_at FROM possible_match ORDER BY id")
    ):
        kinds, _first = pairs.setdefault((low, high), ([], at))
        kinds.append(kind)
    candidate = sa.table(
        "match_candidate",
        sa.column("citizen_id", sa.Integer),
        sa.column("other_citizen_id", sa.Integer),
        sa.column("evidence", sa.JSON().with_variant(JSONB(), "postgresql")),
        sa.column("status", sa.String),
        sa.column("created_at"),  # as read: a string on SQLite, a datetime on PostgreSQL
    )
    if pairs:
        bind.execute(
            candidate.insert(),
            [
                {
                    "citizen_id": a,
                    "other_citizen_id": b,
                    "status": "pending",
                    "created_at": at,
                    "evidence": {kind: {"level": "agree", "weight": None} for kind in kinds},
                }
                for (a, b), (kinds, at) in pairs.items()
            ],
        )


def _swap_check(table: str, column: str, old: Sequence[str], new: Sequence[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"), _one_of(column, new))


def upgrade() -> None:
    _sqlite_foreign_keys(False)
    op.create_table(
        "linkage_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_model")),
    )
    op.create_table(
        "record_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
        sa.CheckConstraint("actor_kind IN ('staff', 'citizen', 'system')", name=op.f("ck_record_event_actor_kind")),
        sa.ForeignKeyConstraint(["actor_id"], ["staff_user.id"], name=op.f("fk_record_event_actor_id_staff_user")),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_record_event_citizen_id_citizen")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_event")),
    )
    with op.batch_alter_table("record_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_event_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "sharing_agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_department_id", sa.Integer(), nullable=False),
        sa.Column("to_department_id", sa.Integer(), nullable=False),
        sa.Column("service_ids", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("lawful_basis", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("ended_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            _one_of(
                "lawful_basis",
                ("consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"),
            ),
            name=op.f("ck_sharing_agreement_lawful_basis"),
        ),
        sa.CheckConstraint("from_department_id <> to_department_id", name=op.f("ck_sharing_agreement_two_departments")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff_user.id"], name=op.f("fk_sharing_agreement_created_by_staff_user")
        ),
        sa.ForeignKeyConstraint(["ended_by"], ["staff_user.id"], name=op.f("fk_sharing_agreement_ended_by_staff_user")),
        sa.ForeignKeyConstraint(
            ["from_department_id"], ["department.id"], name=op.f("fk_sharing_agreement_from_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["to_department_id"], ["department.id"], name=op.f("fk_sharing_agreement_to_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_agreement")),
    )
    with op.batch_alter_table("sharing_agreement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_agreement_to_department_id"), ["to_department_id"], unique=False)

    op.create_table(
        "citizen_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("merged_citizen_id", sa.Integer(), nullable=True),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
        sa.Column("moved", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("undone_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("undone_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("method IN ('new', 'exact', 'probabilistic', 'staff')", name=op.f("ck_citizen_link_method")),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_citizen_link_citizen_id_citizen")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff_user.id"], name=op.f("fk_citizen_link_decided_by_staff_user")),
        sa.ForeignKeyConstraint(
            ["merged_citizen_id"], ["citizen.id"], name=op.f("fk_citizen_link_merged_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_citizen_link_submission_id_submission")
        ),
        sa.ForeignKeyConstraint(["undone_by"], ["staff_user.id"], name=op.f("fk_citizen_link_undone_by_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_link")),
    )
    with op.batch_alter_table("citizen_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizen_link_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_citizen_link_merged_citizen_id"), ["merged_citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_citizen_link_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "match_candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("other_citizen_id", sa.Integer(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), server_default="pending", nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'same', 'different', 'superseded')", name=op.f("ck_match_candidate_status")
        ),
        sa.CheckConstraint("citizen_id < other_citizen_id", name=op.f("ck_match_candidate_ordered")),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_match_candidate_citizen_id_citizen")),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["staff_user.id"], name=op.f("fk_match_candidate_decided_by_staff_user")
        ),
        sa.ForeignKeyConstraint(
            ["other_citizen_id"], ["citizen.id"], name=op.f("fk_match_candidate_other_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_match_candidate_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_candidate")),
        sa.UniqueConstraint("citizen_id", "other_citizen_id", name="uq_match_candidate_citizen_id_other_citizen_id"),
    )
    with op.batch_alter_table("match_candidate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_candidate_other_citizen_id"), ["other_citizen_id"], unique=False)
        batch_op.create_index("ix_match_candidate_status_created_at", ["status", "created_at"], unique=False)

    op.create_table(
        "matching_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name=op.f("ck_matching_job_status")),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_matching_job_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matching_job")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_matching_job_submission_id")),
    )
    with op.batch_alter_table("matching_job", schema=None) as batch_op:
        batch_op.create_index("ix_matching_job_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case_record.id"], name=op.f("fk_access_log_case_id_case_record")),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_access_log_citizen_id_citizen")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_access_log_department_id_department")
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"], name=op.f("fk_access_log_staff_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index("ix_access_log_staff_id_at", ["staff_id", "at"], unique=False)

    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.Integer(), nullable=True),
        sa.Column("placed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.Column("released_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case_record.id"], name=op.f("fk_legal_hold_case_id_case_record")),
        sa.ForeignKeyConstraint(["placed_by"], ["staff_user.id"], name=op.f("fk_legal_hold_placed_by_staff_user")),
        sa.ForeignKeyConstraint(["released_by"], ["staff_user.id"], name=op.f("fk_legal_hold_released_by_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_hold_case_id"), ["case_id"], unique=False)

    op.create_table(
        "record_merge",
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("into_citizen_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_record_merge_citizen_id_citizen")),
        sa.ForeignKeyConstraint(
            ["into_citizen_id"], ["citizen.id"], name=op.f("fk_record_merge_into_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(["link_id"], ["citizen_link.id"], name=op.f("fk_record_merge_link_id_citizen_link")),
        sa.PrimaryKeyConstraint("citizen_id", name=op.f("pk_record_merge")),
    )
    with op.batch_alter_table("record_merge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_merge_into_citizen_id"), ["into_citizen_id"], unique=False)

    op.create_table(
        "case_event_comment",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_record.id"], name=op.f("fk_case_event_comment_case_id_case_record")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["case_event.id"], name=op.f("fk_case_event_comment_event_id_case_event")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_case_event_comment")),
    )
    with op.batch_alter_table("case_event_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_comment_case_id"), ["case_id"], unique=False)

    for table in APPEND_ONLY:
        _append_only(table, create=True)

    _candidates_from_possible_matches()
    with op.batch_alter_table("possible_match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_possible_match_other_citizen_id"))
    op.drop_table("possible_match")

    # What staff wrote leaves the audit log for a table erasure can empty. The column is dropped
    # in place (SQLite 3.35+ and PostgreSQL): no table rebuild, and the append-only triggers stay.
    op.execute(
        "INSERT INTO case_event_comment (event_id, case_id, text) "
        "SELECT id, case_id, comment FROM case_event WHERE comment IS NOT NULL"
    )
    op.execute("ALTER TABLE case_event DROP COLUMN comment")

    for table in ("citizen", "submission", "case_record"):
        op.add_column(table, sa.Column("erased_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table("citizen_identifier", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_citizen_identifier_kind"), type_="check")
        batch_op.drop_constraint("uq_citizen_identifier_kind_value", type_="unique")
        batch_op.add_column(sa.Column("submission_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
    _backfill_identifiers()
    with op.batch_alter_table("citizen_identifier", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_citizen_identifier_kind"), _one_of("kind", KINDS))
        batch_op.create_index(
            "ix_citizen_identifier_kind_value",
            ["kind", "value"],
            unique=False,
            postgresql_ops={"value": "text_pattern_ops"},
        )
        batch_op.create_unique_constraint("uq_citizen_identifier_submission_id_kind", ["submission_id", "kind"])
        batch_op.create_foreign_key(
            batch_op.f("fk_citizen_identifier_submission_id_submission"), "submission", ["submission_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_citizen_identifier_department_id_department"), "department", ["department_id"], ["id"]
        )

    _swap_check("staff_role", "role", OLD_ROLES, ROLES)
    _sqlite_foreign_keys(True)


def downgrade() -> None:
    """Back to 0007. Lossy where 0007 cannot hold what 0008 does: a value held by several records
    stays on the first; details of the new kinds, links, candidates, jobs, agreements, holds and
    both logs go; the dpo and records roles go."""
    _sqlite_foreign_keys(False)
    op.execute("DELETE FROM staff_role WHERE role IN ('records', 'dpo')")
    _swap_check("staff_role", "role", ROLES, OLD_ROLES)

    op.execute(
        "DELETE FROM citizen_identifier WHERE kind NOT IN ('nhs_number', 'ni_number', 'email') OR id NOT IN "
        "(SELECT MIN(id) FROM citizen_identifier GROUP BY kind, value)"
    )
    with op.batch_alter_table("citizen_identifier", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_citizen_identifier_department_id_department"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_citizen_identifier_submission_id_submission"), type_="foreignkey")
        batch_op.drop_constraint("uq_citizen_identifier_submission_id_kind", type_="unique")
        batch_op.drop_index("ix_citizen_identifier_kind_value", postgresql_ops={"value": "text_pattern_ops"})
        batch_op.drop_constraint(op.f("ck_citizen_identifier_kind"), type_="check")
        batch_op.drop_column("department_id")
        batch_op.drop_column("submission_id")
    with op.batch_alter_table("citizen_identifier", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_citizen_identifier_kind_value"), ["kind", "value"])
        batch_op.create_check_constraint(op.f("ck_citizen_identifier_kind"), _one_of("kind", OLD_KINDS))

    for table in ("case_record", "submission", "citizen"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN erased_at")

    # The comments go back into the log: its triggers are set aside for the copy.
    op.execute("ALTER TABLE case_event ADD COLUMN comment TEXT")
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS case_event_no_update")
        op.execute(
            "UPDATE case_event SET comment = "
            "(SELECT text FROM case_event_comment WHERE case_event_comment.event_id = case_event.id)"
        )
        op.execute(
            "CREATE TRIGGER case_event_no_update BEFORE UPDATE ON case_event "
            f"BEGIN SELECT RAISE(ABORT, '{CASE_EVENT_MESSAGE}: UPDATE refused'); END"
        )
    else:
        op.execute("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only")
        op.execute("UPDATE case_event SET comment = c.text FROM case_event_comment c WHERE c.event_id = case_event.id")
        op.execute("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only")

    op.create_table(
        "possible_match",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("other_citizen_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(_one_of("kind", OLD_KINDS), name=op.f("ck_possible_match_kind")),
        sa.CheckConstraint("citizen_id < other_citizen_id", name=op.f("ck_possible_match_ordered")),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_possible_match_citizen_id_citizen")),
        sa.ForeignKeyConstraint(
            ["other_citizen_id"], ["citizen.id"], name=op.f("fk_possible_match_other_citizen_id_citizen")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_possible_match")),
        sa.UniqueConstraint(
            "citizen_id", "other_citizen_id", "kind", name="uq_possible_match_citizen_id_other_citizen_id_kind"
        ),
    )
    with op.batch_alter_table("possible_match", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_possible_match_other_citizen_id"), ["other_citizen_id"], unique=False)

    for table in APPEND_ONLY:
        _append_only(table, create=False)
    with op.batch_alter_table("case_event_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_comment_case_id"))

    op.drop_table("case_event_comment")
    with op.batch_alter_table("record_merge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_merge_into_citizen_id"))

    op.drop_table("record_merge")
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_hold_case_id"))

    op.drop_table("legal_hold")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_access_log_staff_id_at")
        batch_op.drop_index(batch_op.f("ix_access_log_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_case_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_at"))

    op.drop_table("access_log")
    with op.batch_alter_table("matching_job", schema=None) as batch_op:
        batch_op.drop_index("ix_matching_job_status_next_attempt_at")

    op.drop_table("matching_job")
    with op.batch_alter_table("match_candidate", schema=None) as batch_op:
        batch_op.drop_index("ix_match_candidate_status_created_at")
        batch_op.drop_index(batch_op.f("ix_match_candidate_other_citizen_id"))

    op.drop_table("match_candidate")
    with op.batch_alter_table("citizen_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_link_submission_id"))
        batch_op.drop_index(batch_op.f("ix_citizen_link_merged_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_citizen_link_citizen_id"))

    op.drop_table("citizen_link")
    with op.batch_alter_table("sharing_agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_agreement_to_department_id"))

    op.drop_table("sharing_agreement")
    with op.batch_alter_table("record_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_event_citizen_id"))

    op.drop_table("record_event")
    op.drop_table("linkage_model")
    _sqlite_foreign_keys(True)

"""staff day one: whole-case deadlines, reply-by dates, tags, digests, saved filters, case search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 17:40:00.000000

Issue 17 (docs/casework.md). ``case_record`` gains ``decision_due_at`` (the service's whole-case
target, set when the case opens and never restarted), ``replied_at`` (the applicant answered a
request and no member of staff has acted since) and ``escalated_at``. ``information_request``
gains who asked, a reply-by date and when the applicant was reminded and the request lapsed.
``staff_user.notify`` chooses each message as it happens or a daily digest
(``digest_sent_at``); the outbox names each message's department and, for staff, its member of
staff, and may hold a message for a digest (statuses ``held`` and ``digested``). New tables:
``saved_filter`` (an inbox filter saved under a name) and ``case_search_term`` (the applicant's
email, phone, postcode and the answers a definition marks searchable, normalised; a prefix is a
range of its index). Indexes for the worker's passes (open cases by decide-by date, waiting
requests by reply-by date), the inbox's Escalated and Applicant replied filters (partial, in
deadline order) and the reports' and the audit's periods (``case_event`` by time, and by person
and time).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_OUTBOX = ("pending", "sent", "failed")
OUTBOX = (*OLD_OUTBOX, "held", "digested")
NOTIFY = ("each", "daily")


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


def upgrade() -> None:
    _sqlite_foreign_keys(False)
    at = sqlmodel.sql.sqltypes.UTCDateTime
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_due_at", at(), nullable=True))
        batch_op.add_column(sa.Column("replied_at", at(), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", at(), nullable=True))
    with op.batch_alter_table("information_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asked_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reply_by", at(), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", at(), nullable=True))
        batch_op.add_column(sa.Column("lapsed_at", at(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_information_request_asked_by_staff_user"), "staff_user", ["asked_by"], ["id"]
        )
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify", sqlmodel.sql.sqltypes.AutoString(length=10), server_default="each", nullable=False)
        )
        batch_op.add_column(sa.Column("digest_sent_at", at(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_staff_user_notify"), _one_of("notify", NOTIFY))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_status"), type_="check")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_outbox_status"), _one_of("status", OUTBOX))
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_staff_id"), ["staff_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_department_id_department"), "department", ["department_id"], ["id"]
        )
        batch_op.create_foreign_key(batch_op.f("fk_outbox_staff_id_staff_user"), "staff_user", ["staff_id"], ["id"])
    # The worker reads these every pass: open cases by decide-by date, waiting requests by reply-by date.
    op.create_index(
        "ix_case_open_decision_due",
        "case_record",
        ["decision_due_at"],
        postgresql_where=sa.text("closed_at IS NULL"),
        sqlite_where=sa.text("closed_at IS NULL"),
    )
    op.create_index(
        "ix_information_request_waiting_reply_by",
        "information_request",
        ["reply_by"],
        postgresql_where=sa.text("answered_at IS NULL AND lapsed_at IS NULL"),
        sqlite_where=sa.text("answered_at IS NULL AND lapsed_at IS NULL"),
    )
    # The inbox's tag filters in deadline order: only the few open cases escalated or replied to.
    op.create_index(
        "ix_case_escalated_deadline",
        "case_record",
        ["department_id", "deadline_at", "id"],
        postgresql_where=sa.text("escalated IS true AND closed_at IS NULL"),
        sqlite_where=sa.text("escalated IS 1 AND closed_at IS NULL"),
    )
    op.create_index(
        "ix_case_replied_deadline",
        "case_record",
        ["department_id", "deadline_at", "id"],
        postgresql_where=sa.text("replied_at IS NOT NULL AND closed_at IS NULL"),
        sqlite_where=sa.text("replied_at IS NOT NULL AND closed_at IS NULL"),
    )
    # The reports' and the audit's periods, and one person's actions, read from the append-only log.
    op.create_index("ix_case_event_at", "case_event", ["at"])
    op.create_index("ix_case_event_actor_id_at", "case_event", ["actor_id", "at"])
    # The messages already there belong to their case's department.
    op.execute(
        "UPDATE outbox SET department_id = "
        "(SELECT department_id FROM case_record WHERE case_record.id = outbox.case_id) WHERE case_id IS NOT NULL"
    )
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("query", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", at(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"], name=op.f("fk_saved_filter_staff_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
        sa.UniqueConstraint("staff_id", "name", name="uq_saved_filter_staff_id_name"),
    )
    with op.batch_alter_table("saved_filter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_filter_staff_id"), ["staff_id"], unique=False)
    op.create_table(
        "case_search_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case_record.id"], name=op.f("fk_case_search_term_case_id_case_record")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_search_term")),
    )
    with op.batch_alter_table("case_search_term", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_search_term_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_case_search_term_value", ["value"], unique=False, postgresql_ops={"value": "text_pattern_ops"}
        )
    _sqlite_foreign_keys(True)


def downgrade() -> None:
    """Back to 0008. Saved filters, search terms, reply-by dates and digest settings go; held
    messages are sent as they are (pending), digested ones count as sent."""
    _sqlite_foreign_keys(False)
    op.drop_index("ix_information_request_waiting_reply_by", table_name="information_request")
    op.drop_index("ix_case_open_decision_due", table_name="case_record")
    op.drop_index("ix_case_replied_deadline", table_name="case_record")
    op.drop_index("ix_case_escalated_deadline", table_name="case_record")
    op.drop_index("ix_case_event_actor_id_at", table_name="case_event")
    op.drop_index("ix_case_event_at", table_name="case_event")
    op.drop_table("case_search_term")
    op.drop_table("saved_filter")
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'held'")
    op.execute("UPDATE outbox SET status = 'sent' WHERE status = 'digested'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_staff_id_staff_user"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_outbox_department_id_department"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_staff_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_department_id"))
        batch_op.drop_column("staff_id")
        batch_op.drop_column("department_id")
        batch_op.drop_constraint(op.f("ck_outbox_status"), type_="check")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_outbox_status"), _one_of("status", OLD_OUTBOX))
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_user_notify"), type_="check")
        batch_op.drop_column("digest_sent_at")
        batch_op.drop_column("notify")
    with op.batch_alter_table("information_request", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_information_request_asked_by_staff_user"), type_="foreignkey")
        batch_op.drop_column("lapsed_at")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("reply_by")
        batch_op.drop_column("asked_by")
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("replied_at")
        batch_op.drop_column("decision_due_at")
    _sqlite_foreign_keys(True)

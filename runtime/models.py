"""Database tables. Every change here needs a migration in migrations/versions/."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field, SQLModel

from .roles import ROLES

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
# A published definition is kept exactly as written: PostgreSQL's json (unlike jsonb) keeps
# key order, so options stay in order and the content hash can be recomputed.
DefinitionJSON = sa.JSON()


# The fixed sets of values some columns take, each held by a CHECK constraint (migration 0006,
# which spells the same values out: tests/test_migrations.py compares the two). A new value
# needs a migration that widens the constraint.
# citizen_identifier.kind: the normalised details a submission gave (runtime.citizens.identifiers),
# each kept with where it came from; ``name_key`` is the name surname first, for search.
IDENTIFIER_KINDS: tuple[str, ...] = (
    "nhs_number",
    "ni_number",
    "email",
    "phone",
    "postcode",
    "date_of_birth",
    "full_name",
    "name_key",
)
# match_candidate.status: a pair of records waiting for staff, or decided (or made moot by a merge).
CANDIDATE_STATUSES: tuple[str, ...] = ("pending", "same", "different", "superseded")
# citizen_link.method: how a submission came to be filed under a record, or two records joined.
LINK_METHODS: tuple[str, ...] = ("new", "exact", "probabilistic", "staff")
# matching_job.status, as the outbox's.
JOB_STATUSES: tuple[str, ...] = ("pending", "done", "failed")
# sharing_agreement.lawful_basis: UK GDPR Article 6(1) (a) to (f).
LAWFUL_BASES: tuple[str, ...] = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
)
# outbox.status: runtime.outbox's PENDING, SENT, FAILED.
# "held": a staff message kept for that person's daily digest (staff_user.notify == "daily");
# "digested": a held message that went out in a digest (the digest is a message of its own).
OUTBOX_STATUSES: tuple[str, ...] = ("pending", "sent", "failed", "held", "digested")
# staff_user.notify: each message as it happens, or one digest a day.
NOTIFY_CHOICES: tuple[str, ...] = ("each", "daily")
# case_event.actor_kind: who acted (a member of staff, the citizen, or the system itself).
ACTOR_KINDS: tuple[str, ...] = ("staff", "citizen", "system")


# A case's copies of its submission's columns, and the submission's columns they copy, in the
# order of the composite foreign key fk_case_record_submission_copies.
CASE_COPIES = ("submission_id", "reference", "citizen_id", "service_id", "service_version")
SUBMISSION_COPIES = ("id", "reference", "citizen_id", "service_id", "service_version")


def one_of(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    """CHECK (column IN (values)), named ck_<table>_<name> by the naming convention."""
    listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=name)


def utcnow() -> datetime:
    """Now, in UTC and time-zone aware (SQLModel stores and returns aware UTC times)."""
    return datetime.now(UTC)


class Department(SQLModel, table=True):
    """A part of the organisation (Highways, Revenues, ...) that owns services and has staff."""

    __tablename__ = "department"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=200)


class Service(SQLModel, table=True):
    """A published e-service; its definitions live in ServiceVersion."""

    __tablename__ = "service"
    id: str = Field(primary_key=True, max_length=60)
    title: str = Field(max_length=2000)
    description: str = Field(max_length=2000)
    live: bool = Field(default=True)
    current_version: int
    updated_at: datetime = Field(default_factory=utcnow)
    # From the definition's `department` text (migration 0006 gave the few older rows without one
    # the department their latest definition names, or "General").
    department_id: int = Field(foreign_key="department.id", index=True)


class ServiceVersion(SQLModel, table=True):
    """One immutable published version of a service definition."""

    __tablename__ = "service_version"
    __table_args__ = (sa.UniqueConstraint("service_id", "version", name="uq_service_version_service_id_version"),)
    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", max_length=60, index=True)
    version: int
    content_hash: str = Field(max_length=64)
    definition: dict[str, Any] = Field(sa_column=Column(DefinitionJSON, nullable=False))
    published_at: datetime = Field(default_factory=utcnow)
    # Null for versions that `civicforms load` brought in from files.
    published_by: int | None = Field(default=None, foreign_key="staff_user.id")
    change_summary: list[str] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # For a version `civicforms load` brought in from a git work tree or ref: the commit and the
    # file it came from (migration 0007); null for builder publishes and plain folders.
    source_commit: str | None = Field(default=None, max_length=64)
    source_path: str | None = Field(default=None, max_length=300)


class Citizen(SQLModel, table=True):
    """One person across every service and department: the single customer view."""

    __tablename__ = "citizen"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    # Set when the record's personal data was erased (on request or by retention): the row stays,
    # so that links, cases' statistics and the audit log still point at something.
    erased_at: datetime | None = Field(default=None)


class CitizenIdentifier(SQLModel, table=True):
    """One normalised detail (email, NHS number, name, ...) a submission gave, on the record it is
    filed under, with where it came from: the submission, and so the department told it.

    Several records may hold the same value (a couple sharing an email address): a value is
    evidence, never an owner. The submission's department decides who may see it.
    """

    __tablename__ = "citizen_identifier"
    __table_args__ = (
        # The deterministic tier's lookups and staff search (prefixes of names, on PostgreSQL
        # byte-wise whatever the collation, as case search).
        sa.Index("ix_citizen_identifier_kind_value", "kind", "value", postgresql_ops={"value": "text_pattern_ops"}),
        sa.UniqueConstraint("submission_id", "kind", name="uq_citizen_identifier_submission_id_kind"),
        one_of("kind", IDENTIFIER_KINDS, "kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    kind: str = Field(max_length=30)
    value: str = Field(max_length=400)
    # Null only for details recorded before migration 0008 with no submission to name.
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    created_at: datetime = Field(default_factory=utcnow)


class MatchCandidate(SQLModel, table=True):
    """Two citizen records that may be one person, scored by matching (runtime.linkage), waiting
    for staff or decided. One row per pair, the lower record id first; a pair decided
    "different" is never suggested again."""

    __tablename__ = "match_candidate"
    __table_args__ = (
        sa.UniqueConstraint("citizen_id", "other_citizen_id", name="uq_match_candidate_citizen_id_other_citizen_id"),
        sa.CheckConstraint("citizen_id < other_citizen_id", name="ordered"),
        sa.Index("ix_match_candidate_status_created_at", "status", "created_at"),
        one_of("status", CANDIDATE_STATUSES, "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id")
    other_citizen_id: int = Field(foreign_key="citizen.id", index=True)
    match_weight: float | None = Field(default=None)
    match_probability: float | None = Field(default=None)
    # {field: {"level": "agree"|"close"|"disagree"|"missing", "weight": float}}: no values, so
    # that the evidence shows nothing another department was told.
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    status: str = Field(default="pending", max_length=12, sa_column_kwargs={"server_default": "pending"})
    submission_id: int | None = Field(default=None, foreign_key="submission.id")  # what prompted it
    created_at: datetime = Field(default_factory=utcnow)
    decided_by: int | None = Field(default=None, foreign_key="staff_user.id")
    decided_at: datetime | None = Field(default=None)


class CitizenLink(SQLModel, table=True):
    """One decision that filed a submission under a record (``submission_id``) or joined another
    record into it (``merged_citizen_id``): how, on what evidence, by whom; undone, not deleted."""

    __tablename__ = "citizen_link"
    __table_args__ = (one_of("method", LINK_METHODS, "method"),)
    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    submission_id: int | None = Field(default=None, foreign_key="submission.id", index=True)
    merged_citizen_id: int | None = Field(default=None, foreign_key="citizen.id", index=True)
    method: str = Field(max_length=15)
    match_weight: float | None = Field(default=None)
    evidence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # The submissions a join moved (so that a split moves exactly those back).
    moved: list[int] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    decided_by: int | None = Field(default=None, foreign_key="staff_user.id")  # None: matching decided
    decided_at: datetime = Field(default_factory=utcnow)
    undone_at: datetime | None = Field(default=None)
    undone_by: int | None = Field(default=None, foreign_key="staff_user.id")


class RecordMerge(SQLModel, table=True):
    """A record joined into another: where to look for it now. Deleted when the join is undone
    (the link row keeps the history)."""

    __tablename__ = "record_merge"
    citizen_id: int = Field(foreign_key="citizen.id", primary_key=True)
    into_citizen_id: int = Field(foreign_key="citizen.id", index=True)
    link_id: int = Field(foreign_key="citizen_link.id")


class MatchingJob(SQLModel, table=True):
    """A submission to score against the records (runtime.linkage), written in the submit's
    transaction; ``civicforms worker`` runs it, with retries, as the outbox."""

    __tablename__ = "matching_job"
    __table_args__ = (
        sa.Index("ix_matching_job_status_next_attempt_at", "status", "next_attempt_at"),
        one_of("status", JOB_STATUSES, "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", unique=True)
    status: str = Field(default="pending", max_length=10, sa_column_kwargs={"server_default": "pending"})
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=500)


class LinkageModel(SQLModel, table=True):
    """Matching's parameters as ``civicforms citizens train`` estimated them; the newest is used
    (none: the model shipped in runtime/linkage_model.json)."""

    __tablename__ = "linkage_model"
    id: int | None = Field(default=None, primary_key=True)
    model: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    records: int = Field(default=0)  # how many profiles it was trained on
    created_at: datetime = Field(default_factory=utcnow)


class RecordEvent(SQLModel, table=True):
    """The citizen records' audit log: links, joins, splits, decisions, subject access, erasure.
    Append only (triggers, as case_event), and it holds no personal data (ids, methods, scores):
    erasure never needs to rewrite it."""

    __tablename__ = "record_event"
    __table_args__ = (one_of("actor_kind", ACTOR_KINDS, "actor_kind"),)
    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id")
    actor_kind: str = Field(max_length=10)
    action: str = Field(max_length=40)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))


class AccessLog(SQLModel, table=True):
    """Every view of a citizen record or a case by staff, every search, export and subject access
    report: who, when, in which department's name. Append only; no personal data (a search logs
    what was searched by, not for)."""

    __tablename__ = "access_log"
    __table_args__ = (sa.Index("ix_access_log_staff_id_at", "staff_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    staff_id: int = Field(foreign_key="staff_user.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    citizen_id: int | None = Field(default=None, foreign_key="citizen.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case_record.id", index=True)
    action: str = Field(max_length=40)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))


class SharingAgreement(SQLModel, table=True):
    """A data-sharing agreement: department ``from_department_id`` lets ``to_department_id`` see
    its cases about the same person (for ``service_ids``, or all its services when null), for a
    purpose, under a lawful basis, between two dates. Ended, never deleted."""

    __tablename__ = "sharing_agreement"
    __table_args__ = (
        one_of("lawful_basis", LAWFUL_BASES, "lawful_basis"),
        sa.CheckConstraint("from_department_id <> to_department_id", name="two_departments"),
    )
    id: int | None = Field(default=None, primary_key=True)
    from_department_id: int = Field(foreign_key="department.id")
    to_department_id: int = Field(foreign_key="department.id", index=True)
    service_ids: list[str] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    purpose: str = Field(sa_column=Column(sa.Text(), nullable=False))
    lawful_basis: str = Field(max_length=30)
    starts_on: date
    ends_on: date
    created_by: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = Field(default=None)
    ended_by: int | None = Field(default=None, foreign_key="staff_user.id")


class FormSession(SQLModel, table=True):
    """A citizen's progress through one service, kept on the server; the cookie holds a token."""

    __tablename__ = "form_session"
    __table_args__ = (
        # Pinned to the exact published version, which can therefore never be deleted under it.
        sa.ForeignKeyConstraint(
            ["service_id", "service_version"], ["service_version.service_id", "service_version.version"]
        ),
    )
    id: str = Field(primary_key=True, max_length=64)  # SHA-256 of the token in the cookie
    service_id: str = Field(foreign_key="service.id", max_length=60)
    service_version: int
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    # Set in the same transaction as the submission: later visits show the confirmation.
    submission_reference: str | None = Field(default=None, max_length=20)


class Submission(SQLModel, table=True):
    """A citizen's answers to one service version, stored against their citizen record."""

    __tablename__ = "submission"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["service_id", "service_version"], ["service_version.service_id", "service_version.version"]
        ),
        # What case_record's composite foreign key names: its copies of these columns.
        sa.UniqueConstraint(*SUBMISSION_COPIES, name="uq_submission_case_copies"),
    )
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True)
    service_id: str = Field(foreign_key="service.id", max_length=60, index=True)
    service_version: int
    definition_hash: str = Field(max_length=64)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    answers: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    # The form session it came from: unique, so a double submit can never store twice.
    form_session_id: str | None = Field(default=None, max_length=64, unique=True)
    submitted_at: datetime = Field(default_factory=utcnow)
    # Set when its answers were erased (retention or a request): ``answers`` is then empty.
    erased_at: datetime | None = Field(default=None)


# -- staff ----------------------------------------------------------------------------------


class StaffUser(SQLModel, table=True):
    """A member of staff who signs in to the builder and the back office."""

    __tablename__ = "staff_user"
    __table_args__ = (
        sa.UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_staff_user_oidc_issuer_subject"),
        one_of("notify", NOTIFY_CHOICES, "notify"),
    )
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)  # always lower-case
    name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=300)
    totp_secret: str | None = Field(default=None, max_length=64)
    # The last TOTP time step accepted, so a code seen over a shoulder cannot be used twice.
    totp_last_step: int | None = Field(default=None)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    failed_sign_ins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = Field(default=None)
    oidc_issuer: str | None = Field(default=None, max_length=400)
    oidc_subject: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    last_sign_in_at: datetime | None = Field(default=None)
    # How they hear of work: each message as it happens, or a daily digest (migration 0009).
    notify: str = Field(default="each", max_length=10, sa_column_kwargs={"server_default": "each"})
    digest_sent_at: datetime | None = Field(default=None)


class StaffSession(SQLModel, table=True):
    """One signed-in staff session (a browser, in the builder or the back office).

    The face's signed cookie names it by a random token; only the token's SHA-256 is stored.
    Signing out deletes the row, so a copy of the cookie stops working at once; "sign out
    everywhere", a new password, a second-factor reset, a role change and deactivation delete
    every row of the user (runtime.staff.end_sessions).
    """

    __tablename__ = "staff_session"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class StaffSignInFailure(SQLModel, table=True):
    """Failed sign-ins for an email address with no account that can sign in with a password.

    Counted and locked exactly as a real account's (StaffUser.failed_sign_ins, locked_until),
    so the sign-in page answers alike whether an account exists or not. Only the SHA-256 of
    the address is kept; rows whose lock is long over are removed as new failures come in.
    """

    __tablename__ = "staff_sign_in_failure"
    email_hash: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = Field(default=None)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class StaffRole(SQLModel, table=True):
    """One role (designer, reviewer, admin) of one staff member in one department."""

    __tablename__ = "staff_role"
    __table_args__ = (one_of("role", ROLES, "role"),)
    user_id: int = Field(foreign_key="staff_user.id", primary_key=True)
    department_id: int = Field(foreign_key="department.id", primary_key=True, index=True)
    role: str = Field(max_length=30, primary_key=True)


class StaffSetupToken(SQLModel, table=True):
    """A one-time link to choose a password; only the SHA-256 of the token is stored."""

    __tablename__ = "staff_setup_token"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = Field(default=None)


class ServiceDraft(SQLModel, table=True):
    """The builder's working copy of a service: saved on every change, published as a version.

    No foreign key to service: a new service has a draft before it has ever been published.
    """

    __tablename__ = "service_draft"
    service_id: str = Field(primary_key=True, max_length=60)
    department_id: int = Field(foreign_key="department.id", index=True)
    # json (not jsonb) on PostgreSQL: key order is kept, so the canonical file diffs cleanly.
    definition: dict[str, Any] = Field(sa_column=Column(DefinitionJSON, nullable=False))
    # Bumped on every save: a save names the revision it started from (optimistic locking).
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    base_version: int | None = Field(default=None)  # the published version the draft started from
    # The definition the draft started from (that version, or the one it last sent for review):
    # the base of the three-way merge when a newer version arrives from git (migration 0007).
    base_definition: dict[str, Any] | None = Field(default=None, sa_column=Column(DefinitionJSON, nullable=True))
    task_status: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    preview_visited_at: datetime | None = Field(default=None)
    review_branch: str | None = Field(default=None, max_length=200)
    created_by: int | None = Field(default=None, foreign_key="staff_user.id")
    updated_by: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DraftChange(SQLModel, table=True):
    """One saved edit of a draft: who made it, when, and which parts of the definition it changed
    (``runtime.merging.parts``), so that a publish credits each designer with their own changes."""

    __tablename__ = "draft_change"
    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(
        sa_column=Column(
            sa.String(length=60),
            sa.ForeignKey("service_draft.service_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    revision: int
    user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    changed_at: datetime = Field(default_factory=utcnow)
    parts: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))


class PreviewSession(SQLModel, table=True):
    """A staff member's answers while trying a draft as a citizen would; never submitted."""

    __tablename__ = "preview_session"
    __table_args__ = (sa.UniqueConstraint("user_id", "service_id", name="uq_preview_session_user_id_service_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id")
    service_id: str = Field(max_length=60)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


# -- cases, the audit log, information requests and the outbox (docs/workflow-design.md) --------


def new_status_key() -> str:
    """A case's random status key: 22 URL-safe characters (128 bits)."""
    return secrets.token_urlsafe(16)


class Case(SQLModel, table=True):
    """A submission being decided by staff: where it is in the service's workflow, and by when.

    Every change of state is ``UPDATE ... WHERE id = :id AND lock_version = :seen`` (runtime.cases):
    of two caseworkers acting at once, exactly one wins.
    """

    __tablename__ = "case_record"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["service_id", "service_version"], ["service_version.service_id", "service_version.version"]
        ),
        # The copies of the submission's columns (kept for the inbox, which reads and filters on
        # them without a join) cannot differ from it: they are one foreign key to the submission.
        # A change to the submission (a record merge moving it to another citizen) carries over.
        sa.ForeignKeyConstraint(
            list(CASE_COPIES),
            [f"submission.{c}" for c in SUBMISSION_COPIES],
            name="fk_case_record_submission_copies",
            onupdate="CASCADE",
        ),
        # The inbox's keyset pagination: (deadline, id) order within each filter.
        sa.Index("ix_case_department_open_deadline", "department_id", "closed_at", "deadline_at", "id"),
        sa.Index("ix_case_assigned_deadline", "assigned_to", "deadline_at", "id"),
        sa.Index("ix_case_department_state_deadline", "department_id", "state", "deadline_at", "id"),
        # Search (migration 0004): a prefix of a search key or of the reference is a range of one
        # of these, within a department (``key >= 'smi' AND key < 'smj'``; on PostgreSQL with the
        # byte-wise ``~>=~`` / ``~<~`` operators of text_pattern_ops, whatever the collation).
        # ``closed_at`` last: open cases are told apart in the index, without reading the rows.
        sa.Index(
            "ix_case_search_name",
            "department_id",
            "search_name",
            "closed_at",
            postgresql_ops={"search_name": "text_pattern_ops"},
        ),
        sa.Index(
            "ix_case_search_surname",
            "department_id",
            "search_surname",
            "closed_at",
            postgresql_ops={"search_surname": "text_pattern_ops"},
        ),
        # The inbox's tag filters, in deadline order: the few open cases escalated or replied to
        # (migration 0009). The predicates are written as the inbox's filters compile.
        sa.Index(
            "ix_case_escalated_deadline",
            "department_id",
            "deadline_at",
            "id",
            postgresql_where=sa.text("escalated IS true AND closed_at IS NULL"),
            sqlite_where=sa.text("escalated IS 1 AND closed_at IS NULL"),
        ),
        sa.Index(
            "ix_case_replied_deadline",
            "department_id",
            "deadline_at",
            "id",
            postgresql_where=sa.text("replied_at IS NOT NULL AND closed_at IS NULL"),
            sqlite_where=sa.text("replied_at IS NOT NULL AND closed_at IS NULL"),
        ),
        # The worker's whole-case escalation: open cases past their decide-by date (migration 0009).
        sa.Index(
            "ix_case_open_decision_due",
            "decision_due_at",
            postgresql_where=sa.text("closed_at IS NULL"),
            sqlite_where=sa.text("closed_at IS NULL"),
        ),
        sa.Index(
            "ix_case_search_reference",
            "department_id",
            "reference",
            "closed_at",
            postgresql_ops={"reference": "text_pattern_ops"},
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", unique=True)
    reference: str = Field(max_length=20, unique=True)  # copied from the submission, for search
    # Publishing reads a service's open cases by this (moving stranded cases).
    service_id: str = Field(foreign_key="service.id", max_length=60, index=True)
    service_version: int
    department_id: int = Field(foreign_key="department.id")  # the service's department at submission
    state: str = Field(max_length=60)
    lock_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    assigned_to: int | None = Field(default=None, foreign_key="staff_user.id")
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    citizen_name: str | None = Field(default=None, max_length=200)
    # The name as searched (runtime.cases.name_keys): folded ("jose garcia") and surname first
    # ("garcia jose"); both None without a name.
    search_name: str | None = Field(default=None, max_length=200)
    search_surname: str | None = Field(default=None, max_length=200)
    # What the citizen's status link names (signed): random, so the link tells nothing of how
    # many cases there are. Cases opened before 0004 got one from the migration.
    status_key: str = Field(default_factory=new_status_key, max_length=43, unique=True)
    entered_state_at: datetime = Field(default_factory=utcnow)
    deadline_at: datetime | None = Field(default=None)
    escalated: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    waiting_for_citizen: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    closed_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    # Set when its personal data was erased: the case stays, for the statistics.
    erased_at: datetime | None = Field(default=None)
    # The service's whole-case target (workflow "decide_within"), from the submission; never
    # restarted by a request for information (migration 0009).
    decision_due_at: datetime | None = Field(default=None)
    # When the applicant last answered a request, until staff next act ("Applicant replied").
    replied_at: datetime | None = Field(default=None)
    # When it was escalated (escalated is True), for the tag and the reports.
    escalated_at: datetime | None = Field(default=None)


class CaseEvent(SQLModel, table=True):
    """The audit log: one row per action on a case. Append only: database triggers refuse
    UPDATE, DELETE and (PostgreSQL) TRUNCATE, the application's database role is granted only
    SELECT and INSERT on it (deploy/postgres-roles.sql), and no code in runtime/ issues either."""

    __tablename__ = "case_event"
    __table_args__ = (
        one_of("actor_kind", ACTOR_KINDS, "actor_kind"),
        # The reports' and the audit's periods, and one person's actions (migration 0009).
        sa.Index("ix_case_event_at", "at"),
        sa.Index("ix_case_event_actor_id_at", "actor_id", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id")  # None: the citizen or the system
    actor_kind: str = Field(max_length=10)  # ACTOR_KINDS: staff | citizen | system
    action: str = Field(max_length=60)
    from_state: str | None = Field(default=None, max_length=60)
    to_state: str | None = Field(default=None, max_length=60)
    # Ids and counts only: what staff wrote is in case_event_comment, which erasure can empty
    # without touching the log (migration 0008 moved the comments there).
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))


class CaseEventComment(SQLModel, table=True):
    """What a member of staff wrote with an action (a reason, a note): personal data, kept beside
    the append-only log so that retention and erasure can remove it."""

    __tablename__ = "case_event_comment"
    event_id: int = Field(foreign_key="case_event.id", primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    text: str | None = Field(default=None, sa_column=Column(sa.Text(), nullable=True))


class LegalHold(SQLModel, table=True):
    """A legal hold on a case: while in force (not released) neither retention nor an erasure
    request removes its personal data, and staff are told why."""

    __tablename__ = "legal_hold"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    reason: str = Field(sa_column=Column(sa.Text(), nullable=False))
    placed_by: int | None = Field(default=None, foreign_key="staff_user.id")
    placed_at: datetime = Field(default_factory=utcnow)
    released_by: int | None = Field(default=None, foreign_key="staff_user.id")
    released_at: datetime | None = Field(default=None)


class CaseApproval(SQLModel, table=True):
    """One approval towards a step that needs several (all, any, a quorum of a role)."""

    __tablename__ = "case_approval"
    __table_args__ = (
        sa.UniqueConstraint(
            "case_id",
            "state",
            "action",
            "staff_id",
            "entered_at",
            name="uq_case_approval_case_id_state_action_staff_id_entered_at",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    state: str = Field(max_length=60)
    action: str = Field(max_length=60)
    staff_id: int = Field(foreign_key="staff_user.id")
    entered_at: datetime  # when the case entered the state: approvals count within one visit
    at: datetime = Field(default_factory=utcnow)


class InformationRequest(SQLModel, table=True):
    """A caseworker's request for more information; the citizen's link carries a token whose
    SHA-256 is all that is stored."""

    __tablename__ = "information_request"
    # The worker's reminders and lapses: requests still waiting, by reply-by date (migration 0009).
    __table_args__ = (
        sa.Index(
            "ix_information_request_waiting_reply_by",
            "reply_by",
            postgresql_where=sa.text("answered_at IS NULL AND lapsed_at IS NULL"),
            sqlite_where=sa.text("answered_at IS NULL AND lapsed_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    questions: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    message: str = Field(sa_column=Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = Field(default=None)
    answers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    return_state: str = Field(max_length=60)
    # Migration 0009: who asked, the reply-by date, and when it was chased and escalated.
    asked_by: int | None = Field(default=None, foreign_key="staff_user.id")
    reply_by: datetime | None = Field(default=None)
    reminded_at: datetime | None = Field(default=None)
    lapsed_at: datetime | None = Field(default=None)
    # Migration 0010: documents asked for, each a short description the citizen answers with an
    # upload ("A copy of your tenancy agreement"); None or [] when none are.
    documents: list[str] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))


class OutboxMessage(SQLModel, table=True):
    """A message written in the same transaction as the action it tells of; `civicforms worker`
    sends it, with retries and back-off."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        one_of("status", OUTBOX_STATUSES, "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=500)
    body: str = Field(sa_column=Column(sa.Text(), nullable=False))
    case_id: int | None = Field(default=None, foreign_key="case_record.id", index=True)
    # Whose message it is (the outbox page shows each department its own) and, for a message to
    # staff, which member of staff (their digest gathers their held messages). Migration 0009.
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default="pending", max_length=10, sa_column_kwargs={"server_default": "pending"})
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=500)


class SavedFilter(SQLModel, table=True):
    """An inbox filter a member of staff saved under a name (the inbox's query string)."""

    __tablename__ = "saved_filter"
    __table_args__ = (sa.UniqueConstraint("staff_id", "name", name="uq_saved_filter_staff_id_name"),)
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    name: str = Field(max_length=100)
    query: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)


class CaseSearchTerm(SQLModel, table=True):
    """What a case can be found by beyond its reference and name: the applicant's email, phone
    and postcode and every answer the definition marks ``searchable`` (an account number),
    normalised (runtime.citizens). Written when the case opens; erased with it. Migration 0009.
    """

    __tablename__ = "case_search_term"
    __table_args__ = (sa.Index("ix_case_search_term_value", "value", postgresql_ops={"value": "text_pattern_ops"}),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id", index=True)
    kind: str = Field(max_length=60)  # email | phone | postcode | answer:<question name>
    value: str = Field(max_length=400)


UPLOAD_STATUSES = ("waiting", "clean")


class Upload(SQLModel, table=True):
    """A file a citizen uploaded (docs/uploads.md). Migration 0010.

    A row exists only for a file that passed every check but the virus scan (``waiting``: its
    bytes in the quarantine folder, never shown to anyone) or all of them (``clean``: its bytes
    in storage under ``storage_key``). A refused file (infected, the wrong kind, too large) is
    never given a row. While the form is unsent the row belongs to its form session, and expires
    with it (``expires_at``); on sending, ``submission_id`` is set and ``expires_at`` cleared. A
    file given in answer to a request for information has ``request_id`` too. ``id`` is random
    (32 hex characters): it is the file's name in storage and in every URL, never guessable.
    """

    __tablename__ = "upload"
    __table_args__ = (
        sa.CheckConstraint("status IN ('waiting', 'clean')", name="ck_upload_status"),
        # The worker's rescan of files whose scan could not run (the scanner was down).
        sa.Index(
            "ix_upload_waiting",
            "created_at",
            postgresql_where=sa.text("status = 'waiting'"),
            sqlite_where=sa.text("status = 'waiting'"),
        ),
    )
    id: str = Field(primary_key=True, max_length=32)
    form_session_id: str | None = Field(default=None, max_length=64, index=True)
    submission_id: int | None = Field(default=None, foreign_key="submission.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="information_request.id", index=True)
    service_id: str = Field(max_length=60)
    # The answer it belongs to: the file question's name ("photo"), or "document-<n>" for a file
    # sent in answer to the n-th document a request for information asked for.
    question: str = Field(max_length=200)
    filename: str = Field(max_length=255)  # as the citizen named it, made safe (runtime.uploads)
    content_type: str = Field(max_length=100)  # from the file's content, never its name
    size_bytes: int
    sha256: str = Field(max_length=64)
    status: str = Field(default="waiting", max_length=20)
    storage_key: str | None = Field(default=None, max_length=200)
    thumbnail_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    scanned_at: datetime | None = Field(default=None)
    expires_at: datetime | None = Field(default=None, index=True)


class StorageDeletion(SQLModel, table=True):
    """The bytes of an uploaded file to delete (docs/uploads.md, "Deleting"). Migration 0011.

    Queued in the same transaction that deletes the file's ``upload`` row (a removal, the purge
    of unsent forms, an erasure, retention), so a row never goes without its bytes following:
    they are deleted just after the commit, and a storage that fails then leaves this row for
    ``civicforms worker`` to try again. Every place the bytes might be is derived from the
    upload's id (storage's ``files/<id>`` and ``thumbnails/<id>``, the quarantine folder's
    ``<id>``), whatever the row said when it went."""

    __tablename__ = "storage_deletion"
    id: int | None = Field(default=None, primary_key=True)
    upload_id: str = Field(max_length=32)
    queued_at: datetime = Field(default_factory=utcnow)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    last_error: str | None = Field(default=None, max_length=500)

"""Database tables. Every change here needs a migration in migrations/versions/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field, SQLModel

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
    # From the definition's `department` text; null only for rows published before 0002 and not since.
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)


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


class Citizen(SQLModel, table=True):
    """One person across every service and department: the single customer view."""

    __tablename__ = "citizen"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class CitizenIdentifier(SQLModel, table=True):
    """A normalised identifier (email, NHS number, ...) that points at one citizen."""

    __tablename__ = "citizen_identifier"
    __table_args__ = (sa.UniqueConstraint("kind", "value", name="uq_citizen_identifier_kind_value"),)
    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    kind: str = Field(max_length=30)
    value: str = Field(max_length=400)
    created_at: datetime = Field(default_factory=utcnow)


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


# -- staff ----------------------------------------------------------------------------------


class StaffUser(SQLModel, table=True):
    """A member of staff who signs in to the builder (and later the back office)."""

    __tablename__ = "staff_user"
    __table_args__ = (sa.UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_staff_user_oidc_issuer_subject"),)
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


class StaffRole(SQLModel, table=True):
    """One role (designer, reviewer, admin) of one staff member in one department."""

    __tablename__ = "staff_role"
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
    task_status: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    preview_visited_at: datetime | None = Field(default=None)
    review_branch: str | None = Field(default=None, max_length=200)
    created_by: int | None = Field(default=None, foreign_key="staff_user.id")
    updated_by: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PreviewSession(SQLModel, table=True):
    """A staff member's answers while trying a draft as a citizen would; never submitted."""

    __tablename__ = "preview_session"
    __table_args__ = (sa.UniqueConstraint("user_id", "service_id", name="uq_preview_session_user_id_service_id"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id")
    service_id: str = Field(max_length=60)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)

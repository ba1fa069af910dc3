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


class Service(SQLModel, table=True):
    """A published e-service; its definitions live in ServiceVersion."""

    __tablename__ = "service"
    id: str = Field(primary_key=True, max_length=60)
    title: str = Field(max_length=2000)
    description: str = Field(max_length=2000)
    live: bool = Field(default=True)
    current_version: int
    updated_at: datetime = Field(default_factory=utcnow)


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

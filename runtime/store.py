"""Data functions: publishing definitions, form sessions, submissions and citizen records.

Every function takes the session explicitly and keyword-only arguments; callers own the
transaction unless a function says it commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from threading import Lock
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from . import citizens
from .checker import Problem, check
from .definition import Definition, content_hash, read_file
from .models import (
    Citizen,
    CitizenIdentifier,
    FormSession,
    Service,
    ServiceVersion,
    Submission,
    utcnow,
)
from .references import new_reference

# -- definitions --------------------------------------------------------------------------


class PublishError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class PublishResult:
    service_id: str
    version: int
    outcome: str  # "published", "unchanged"


def publish(*, session: Session, doc: dict[str, Any]) -> PublishResult:
    """Publish a checked definition as a new immutable version (idempotent for a same file).

    A version number that is already published with different content is refused: a
    submission must always be able to find the exact definition it was made against.
    """
    problems = check(doc)
    if problems:
        raise PublishError(problems)
    digest = content_hash(doc)
    service = session.get(Service, doc["id"])
    if service is None:
        service = Service(
            id=doc["id"],
            title=doc["title"],
            description=doc["description"],
            live=doc.get("live", True),
            current_version=doc["version"],
        )
        session.add(service)
        session.flush()  # the version row refers to it
    existing = session.exec(
        select(ServiceVersion).where(ServiceVersion.service_id == doc["id"], ServiceVersion.version == doc["version"])
    ).first()
    if existing is not None:
        if existing.content_hash != digest:
            raise PublishError(
                [
                    Problem(
                        "$.version",
                        (
                            f"version {doc['version']} of {doc['id']} is already published with different "
                            "content; give the changed definition a new version number"
                        ),
                    )
                ]
            )
        outcome = "unchanged"
    else:
        session.add(ServiceVersion(service_id=doc["id"], version=doc["version"], content_hash=digest, definition=doc))
        outcome = "published"
    if doc["version"] >= service.current_version:
        service.title, service.description = doc["title"], doc["description"]
        service.live = doc.get("live", True)
        service.current_version = doc["version"]
        service.updated_at = utcnow()
    session.flush()
    return PublishResult(doc["id"], doc["version"], outcome)


def load_folder(*, session: Session, folder: Path) -> list[tuple[Path, PublishResult | PublishError]]:
    """Publish every definition in a folder; each file commits or fails on its own."""
    results: list[tuple[Path, PublishResult | PublishError]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = read_file(path)
            if doc.get("id") != path.stem:
                raise PublishError([Problem("$.id", f"must match the file name {path.stem!r}")])
            results.append((path, publish(session=session, doc=doc)))
            session.commit()
        except PublishError as exc:
            session.rollback()
            results.append((path, exc))
        except Exception as exc:  # noqa: BLE001 - a broken file must never stop the others
            session.rollback()
            results.append((path, PublishError([Problem("$", str(exc))])))
    return results


_definitions: OrderedDict[tuple[str, str, int], Definition] = OrderedDict()
_definitions_lock = Lock()


def live_services(*, session: Session) -> list[Service]:
    return list(session.exec(select(Service).where(col(Service.live)).order_by(Service.title)))


def definition(*, session: Session, service_id: str, version: int | None = None) -> Definition | None:
    """A published definition (the current one unless ``version`` is given), cached per version."""
    if version is None:
        service = session.get(Service, service_id)
        if service is None:
            return None
        version = service.current_version
    # Published versions never change, so (database, service, version) names one definition.
    key = (str(session.get_bind().engine.url), service_id, version)
    with _definitions_lock:
        if key in _definitions:
            _definitions.move_to_end(key)
            return _definitions[key]
    row = session.exec(
        select(ServiceVersion).where(ServiceVersion.service_id == service_id, ServiceVersion.version == version)
    ).first()
    if row is None:
        return None
    built = Definition(row.definition)
    with _definitions_lock:
        _definitions[key] = built
        while len(_definitions) > 256:
            _definitions.popitem(last=False)
    return built


# -- form sessions ------------------------------------------------------------------------


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_form_session(*, session: Session, service: Definition, minutes: int) -> str:
    """Start a journey; returns the secret token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        FormSession(
            id=_token_id(token),
            service_id=service.id,
            service_version=service.version,
            answers={},
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return token


def get_form_session(*, session: Session, token: str | None) -> FormSession | None:
    """The live form session for a token, or None when unknown or expired."""
    if not token or len(token) > 100:
        return None
    row = session.get(FormSession, _token_id(token))
    if row is None or row.expires_at <= utcnow():
        return None
    return row


def save_answers(*, session: Session, form_session: FormSession, answers: dict[str, Any], minutes: int) -> None:
    now = utcnow()
    form_session.answers = dict(answers)  # a new object, so the JSON column is written
    form_session.updated_at = now
    form_session.expires_at = now + timedelta(minutes=minutes)
    session.add(form_session)
    session.flush()


def keep_alive(*, session: Session, form_session: FormSession, minutes: int) -> bool:
    """Push a session's expiry back while the citizen reads pages; at most one write a minute."""
    now = utcnow()
    if now - form_session.updated_at < timedelta(minutes=1):
        return False
    form_session.updated_at = now
    form_session.expires_at = now + timedelta(minutes=minutes)
    session.add(form_session)
    session.flush()
    return True


def delete_expired_form_sessions(*, session: Session) -> int:
    result = session.exec(delete(FormSession).where(col(FormSession.expires_at) <= utcnow()))
    return int(result.rowcount or 0)


# -- submissions and citizens -------------------------------------------------------------


def submission_for_form_session(*, session: Session, form_session_id: str) -> Submission | None:
    return session.exec(select(Submission).where(Submission.form_session_id == form_session_id)).first()


def find_or_create_citizen(*, session: Session, found: dict[str, str]) -> Citizen:
    """The citizen who shares the strongest identifier, else a new record; adds new identifiers.

    Identifiers already pointing at another record are left there: two records that look
    like one person are for staff to review later, never merged here.
    """
    keys = citizens.match_order(found)
    citizen: Citizen | None = None
    owners: dict[tuple[str, str], int] = {}
    if keys:
        rows = session.exec(
            select(CitizenIdentifier).where(col(CitizenIdentifier.value).in_([v for _, v in keys]))
        ).all()
        owners = {(r.kind, r.value): r.citizen_id for r in rows}
        for key in keys:
            if key in owners:
                citizen = session.get(Citizen, owners[key])
                break
    created = citizen is None
    if citizen is None:
        citizen = Citizen()
        session.add(citizen)
        session.flush()
    citizen_id = citizen.id
    assert citizen_id is not None  # flushed above or loaded
    for kind, value in keys:
        if (kind, value) in owners:
            continue
        try:
            with session.begin_nested():
                session.add(CitizenIdentifier(citizen_id=citizen_id, kind=kind, value=value))
            created = False  # the new record now has an identifier of its own
        except IntegrityError:
            # Another submission claimed this identifier a moment ago. A record made here and
            # still empty is dropped for that one, so that the same person arriving twice at
            # once is still one citizen; otherwise the identifier stays where it is.
            owner = session.exec(
                select(CitizenIdentifier).where(CitizenIdentifier.kind == kind, CitizenIdentifier.value == value)
            ).first()
            if created and owner is not None:
                session.delete(citizen)
                session.flush()
                citizen = session.get(Citizen, owner.citizen_id)
                assert citizen is not None
                citizen_id, created = owner.citizen_id, False
    return citizen


class AlreadySubmitted(Exception):
    def __init__(self, submission: Submission):
        super().__init__(submission.reference)
        self.submission = submission


def create_submission(
    *,
    session: Session,
    service: Definition,
    answers: dict[str, Any],
    form_session_id: str | None = None,
    prefix: str | None = None,
) -> Submission:
    """Store a validated submission against its citizen record and give it a reference.

    Runs in the caller's transaction, which should hold nothing else: on a clash (a reference
    already taken, or this form session already sent from another tab) the transaction is
    rolled back and, for a reference, tried again; a form session already sent raises
    :class:`AlreadySubmitted`. No savepoint is used for the submission, because under
    pysqlite a savepoint opened before any write runs outside a transaction and its release
    commits on its own.
    """
    for _attempt in range(5):
        citizen = find_or_create_citizen(session=session, found=citizens.identifiers(service.doc["identity"], answers))
        assert citizen.id is not None
        submission = Submission(
            reference=new_reference(prefix or service.doc["reference_prefix"]),
            service_id=service.id,
            service_version=service.version,
            definition_hash=service.hash,
            citizen_id=citizen.id,
            answers=answers,
            form_session_id=form_session_id,
        )
        session.add(submission)
        try:
            session.flush()
            return submission
        except IntegrityError:
            session.rollback()
            if form_session_id is not None:
                done = submission_for_form_session(session=session, form_session_id=form_session_id)
                if done is not None:
                    raise AlreadySubmitted(done) from None
    raise RuntimeError("could not find a free reference number in 5 tries")


def find_citizen(*, session: Session, key: str) -> Citizen | None:
    """A citizen by record number or by any identifier (email, NHS number, ...)."""
    key = key.strip()
    if not key or len(key) > 400 or any(ord(ch) < 32 for ch in key):
        return None  # nothing stored looks like that (and PostgreSQL refuses NUL bytes)
    if key.isascii() and key.isdigit() and int(key) < 2**31:
        found = session.get(Citizen, int(key))
        if found is not None:
            return found
    for kind in (*citizens.STRONG_KINDS,):
        value = citizens.normalise(kind, key)
        if value:
            row = session.exec(
                select(CitizenIdentifier).where(CitizenIdentifier.kind == kind, CitizenIdentifier.value == value)
            ).first()
            if row is not None:
                return session.get(Citizen, row.citizen_id)
    return None


def citizen_submissions(*, session: Session, citizen_id: int) -> list[tuple[Submission, Service]]:
    rows = session.exec(
        select(Submission, Service)
        .join(Service, col(Service.id) == Submission.service_id)
        .where(Submission.citizen_id == citizen_id)
        .order_by(col(Submission.submitted_at), col(Submission.id))
    ).all()
    return [(s, svc) for s, svc in rows]


def citizen_identifiers(*, session: Session, citizen_id: int) -> list[CitizenIdentifier]:
    return list(
        session.exec(
            select(CitizenIdentifier)
            .where(CitizenIdentifier.citizen_id == citizen_id)
            .order_by(col(CitizenIdentifier.kind))
        )
    )

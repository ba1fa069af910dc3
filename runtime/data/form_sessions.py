"""Form sessions: a citizen's answers between pages, found by the hash of the cookie's token.

Keyword-only functions with an explicit session; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from ..db import Prepared
from ..definition import Definition
from ..models import FormSession, utcnow


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
    """The live form session for a token, or None when unknown or expired: the ORM row, tracked
    by ``session`` (changes to it are written on commit). Pages use ``read_form_session``."""
    if not token or len(token) > 100:
        return None
    row = session.get(FormSession, _token_id(token))
    if row is None or row.expires_at <= utcnow():
        return None
    return row


@dataclass(slots=True)
class FormSessionState:
    """A form session as read for one request: the columns, without the ORM's tracking.

    Nothing set on it is written by itself; ``save_answers`` and ``keep_alive`` write it with
    one ``UPDATE`` each (they take a tracked ``FormSession`` row too).
    """

    id: str
    service_id: str
    service_version: int
    answers: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    submission_reference: str | None


_FORM_SESSION = FormSession.__table__  # type: ignore[attr-defined]
_READ_FORM_SESSION = Prepared(
    core_select(*(_FORM_SESSION.c[f.name] for f in fields(FormSessionState))).where(
        _FORM_SESSION.c.id == bindparam("id")
    )
)


def read_form_session(*, session: Session, token: str | None) -> FormSessionState | None:
    """The live form session for a token, or None when unknown or expired, read by one core
    ``SELECT`` on the primary key (no identity map, no ORM instance: the page's hot path; a
    prepared statement, straight on the connection of a StatementSession)."""
    if not token or len(token) > 100:
        return None
    rows, _ = _READ_FORM_SESSION.run(session, {"id": _token_id(token)})
    if not rows:
        return None
    state = FormSessionState(*rows[0])
    return state if state.expires_at > utcnow() else None


_FORM_SESSION_UPDATES: dict[tuple[tuple[str, ...], bool], Prepared] = {}


def _write_form_session(
    session: Session, form_session: FormSession | FormSessionState, *, unsent_only: bool = False, **values: Any
) -> None:
    """One core ``UPDATE`` of the form session's row; then the object shows the new values
    (a tracked ORM row as already written, so that its next flush does not write them again).
    The session is flushed first, as the ORM would before its own ``UPDATE``."""
    session.flush()
    names = tuple(sorted(values))
    prepared = _FORM_SESSION_UPDATES.get((names, unsent_only))
    if prepared is None:  # built once per set of columns: its SQL is compiled once per dialect
        statement = (
            update(_FORM_SESSION)
            .where(_FORM_SESSION.c.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}", type_=_FORM_SESSION.c[name].type) for name in names})
        )
        if unsent_only:
            statement = statement.where(_FORM_SESSION.c.submission_reference.is_(None))
        prepared = _FORM_SESSION_UPDATES[(names, unsent_only)] = Prepared(statement)
    prepared.run(session, {"row_id": form_session.id, **{f"new_{k}": v for k, v in values.items()}})
    for name, value in values.items():
        if isinstance(form_session, FormSession):
            set_committed_value(form_session, name, value)
        else:
            setattr(form_session, name, value)


def save_answers(
    *, session: Session, form_session: FormSession | FormSessionState, answers: dict[str, Any], minutes: int
) -> None:
    """Store a form session's answers and push its expiry back (its ``submission_reference``,
    which a submission sets on the object, is written too).

    Without a reference (a question page), the row is written only while it is unsent: a page
    posted in one tab after the form was sent in another, from what it read before, changes
    nothing (it neither clears the reference nor puts answers back into a sent form session)."""
    now = utcnow()
    expires = now + timedelta(minutes=minutes)
    values: dict[str, Any] = {"answers": dict(answers), "updated_at": now, "expires_at": expires}
    if form_session.submission_reference is not None:
        _write_form_session(session, form_session, submission_reference=form_session.submission_reference, **values)
    else:
        _write_form_session(session, form_session, unsent_only=True, **values)


def keep_alive(*, session: Session, form_session: FormSession | FormSessionState, minutes: int) -> bool:
    """Push a session's expiry back while the citizen reads pages; at most one write a minute."""
    now = utcnow()
    if now - form_session.updated_at < timedelta(minutes=1):
        return False
    _write_form_session(session, form_session, updated_at=now, expires_at=now + timedelta(minutes=minutes))
    return True

"""Chasing, as use cases for ``civicforms worker`` and the back office: reminders to applicants
before a reply-by date, the day-before warnings to assignees, the daily digests of staff who
chose one, and a manager sending an escalated case back to the caseworker. Each owns its one
transaction, like runtime.services.casework (which escalates overdue cases)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from .. import case_escalation, cases, outbox
from ..models import NOTIFY_CHOICES, Case, StaffUser, utcnow
from .unit_of_work import atomic


@dataclass(frozen=True)
class Chased:
    reminded: int  # applicants reminded of a reply-by date
    warned: int  # assignees warned of a deadline tomorrow
    digests: int  # daily digests written


def chase(
    *,
    session_factory: Callable[[], Session],
    secret_key: str,
    urls: cases.CaseUrls | None = None,
    now: datetime | None = None,
    limit: int = 1000,
) -> Chased:
    """One pass of the reminders, the warnings and the digests, in one transaction."""
    moment = now or utcnow()
    with session_factory() as session, atomic(session):
        reminded = case_escalation.remind_applicants(session, now=moment, secret_key=secret_key, urls=urls, limit=limit)
        warned = case_escalation.warn_deadline_close(session, now=moment, urls=urls, limit=limit)
        digests = outbox.send_digests(session, now=moment)
    return Chased(reminded, warned, digests)


def send_back_to_caseworker(
    *,
    session: Session,
    actor: int,
    case_id: int,
    seen_lock_version: int,
    note: str,
    urls: cases.CaseUrls | None = None,
    now: datetime | None = None,
) -> Case:
    """A manager hands an escalated case back (runtime.case_escalation.send_back_to_caseworker).
    Raises cases.NotFound, cases.Conflict or cases.CaseError (nothing written)."""
    with atomic(session):
        return case_escalation.send_back_to_caseworker(
            session,
            case_id=case_id,
            seen_lock_version=seen_lock_version,
            staff_id=actor,
            note=note,
            now=now or utcnow(),
            urls=urls,
        )


def set_notify(*, session: Session, actor: int, notify: str, now: datetime | None = None) -> StaffUser:
    """Save how a member of staff wants their messages: "each" as it happens or "daily" in one
    digest. Choosing "each" sends at once what was being kept for their digest. ValueError for
    any other choice."""
    if notify not in NOTIFY_CHOICES:
        raise ValueError("Choose how you want to get emails about cases")
    with atomic(session):
        user = session.get(StaffUser, actor)
        if user is None or not user.active:
            raise ValueError("You are not signed in")
        user.notify = notify
        session.add(user)
        session.flush()
        if notify == "each":
            outbox.release_held(session, now=now or utcnow(), staff_id=actor)
    session.refresh(user)
    return user

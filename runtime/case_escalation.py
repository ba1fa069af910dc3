"""Chasing and escalation beside the decisions: reminders to the applicant before a reply-by
date, a warning to the assignee the day before a deadline, and a manager sending an escalated
case back to the caseworker.

Escalating overdue cases and lapsing requests is :func:`runtime.cases.escalate_overdue`;
``civicforms worker`` runs all of these on every pass. Data functions like runtime.cases:
an explicit session, keyword-only arguments, the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, func, or_, update
from sqlmodel import Session, col, select

from .cases import (
    MANAGER,
    MAX_MESSAGE,
    CaseError,
    CaseUrls,
    Conflict,
    _actors_of,
    _answers,
    _event,
    _tell,
    case_actor,
    citizen_email,
    definition_of,
    load_case,
    role_members,
    status_token,
    workflow_for,
)
from .models import Case, InformationRequest, OutboxMessage, StaffUser
from .outbox import enqueue
from .staff_messages import fill

REMIND_BEFORE = timedelta(days=3)  # the applicant is reminded this long before the reply-by date
WARN_BEFORE = timedelta(days=1)  # the assignee is warned this long before a deadline
SEND_BACK = "send-back-to-caseworker"  # the audit log's action
ESCALATE = "escalate"  # the audit log's action for an escalation (runtime.cases.escalate_overdue)
REMINDER = "information_reminder"  # the outbox's kind for the applicant's reminder
DEADLINE_CLOSE = "deadline_close"


def when(moment: datetime) -> str:
    """'4 December 2026 at 17:00' (UTC, as the back office shows times)."""
    return f"{moment.day} {moment:%B %Y at %H:%M}"


def day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


# -- the applicant's reminder -----------------------------------------------------------------------

REMINDER_SUBJECT = "{service}: please reply to our request by {reply_by}"
REMINDER_BODY = (
    "On {asked} we asked you for more information about your application {reference}.\n\n"
    "We have not had your reply yet. Please reply by {reply_by}. If we do not hear from you by then, "
    "we may have to decide your application on the information we already have.\n\n"
    "To reply, use the link in the email we sent you on {asked}.\n\n"
    "You can check the progress of your application at {link}"
)


def remind_applicants(
    session: Session, *, now: datetime, secret_key: str, urls: CaseUrls | None = None, limit: int = 1000
) -> int:
    """Email each applicant whose request's reply-by date is within three days, once per request
    (``reminded_at``); returns how many were reminded. Requests without a reply-by date, answered
    or lapsed ones, and applicants who gave no email address are left alone (the last are marked
    reminded all the same, so that they are not looked at again)."""
    urls = urls or CaseUrls()
    due = session.exec(
        select(InformationRequest.id)
        .where(
            col(InformationRequest.answered_at).is_(None),
            col(InformationRequest.lapsed_at).is_(None),
            col(InformationRequest.reminded_at).is_(None),
            col(InformationRequest.reply_by) > now,
            col(InformationRequest.reply_by) <= now + REMIND_BEFORE,
        )
        .order_by(col(InformationRequest.reply_by), col(InformationRequest.id))
        .limit(max(1, limit))
    ).all()
    sent = 0
    for request_id in (int(i) for i in due if i is not None):
        taken = session.exec(  # type: ignore[call-overload]
            update(InformationRequest)
            .where(col(InformationRequest.id) == request_id, col(InformationRequest.reminded_at).is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            continue  # another run reminded them first
        request = session.get(InformationRequest, request_id)
        assert request is not None and request.reply_by is not None
        case = load_case(session, request.case_id)
        if case.closed_at is not None or not case.waiting_for_citizen:
            continue
        definition = definition_of(session, case)
        email = citizen_email(definition, _answers(session, case))
        if not email:
            continue
        values = {
            "service": definition.title,
            "reference": case.reference,
            "asked": day(request.created_at),
            "reply_by": day(request.reply_by),
            "link": urls.status(status_token(case, secret_key)),
        }
        enqueue(
            session,
            kind=REMINDER,
            recipient=email,
            subject=fill(REMINDER_SUBJECT, values),
            body=fill(REMINDER_BODY, values),
            now=now,
            case_id=case.id,
            department_id=case.department_id,
        )
        sent += 1
    session.flush()
    return sent


# -- the assignee's warning -------------------------------------------------------------------------


def warn_deadline_close(session: Session, *, now: datetime, urls: CaseUrls | None = None, limit: int = 1000) -> int:
    """Tell the assignee of each open case whose step deadline or whole-case deadline passes
    within a day ("deadline_close"), once per deadline; returns how many were told. Cases
    nobody is assigned to are for the inbox's "Overdue" tag and the escalation instead."""
    urls = urls or CaseUrls()
    soon = now + WARN_BEFORE
    rows = session.exec(
        select(Case)
        .where(
            col(Case.closed_at).is_(None),
            col(Case.waiting_for_citizen).is_(false()),
            col(Case.assigned_to).is_not(None),
            or_(
                (col(Case.deadline_at) > now) & (col(Case.deadline_at) <= soon),
                (col(Case.decision_due_at) > now) & (col(Case.decision_due_at) <= soon),
            ),
        )
        .order_by(col(Case.id))
        .limit(max(1, limit))
    ).all()
    if not rows:
        return 0
    warned = dict(
        session.exec(  # type: ignore[call-overload]
            select(OutboxMessage.case_id, func.max(OutboxMessage.created_at))
            .where(OutboxMessage.kind == DEADLINE_CLOSE, col(OutboxMessage.case_id).in_([c.id for c in rows]))
            .group_by(col(OutboxMessage.case_id))
        ).all()
    )
    assignees = {
        u.id: u
        for u in session.exec(select(StaffUser).where(col(StaffUser.id).in_({c.assigned_to for c in rows}))).all()
    }
    told = 0
    for case in rows:
        assert case.id is not None
        due = min(d for d in (case.deadline_at, case.decision_due_at) if d is not None and now < d <= soon)
        last = warned.get(case.id)
        if last is not None and last >= due - WARN_BEFORE:
            continue  # already warned of this deadline
        assignee = assignees.get(case.assigned_to)
        if assignee is None:
            continue
        told += _tell(
            session,
            event=DEADLINE_CLOSE,
            recipients=[assignee],
            case=case,
            definition=definition_of(session, case),
            workflow=workflow_for(session, case),
            link=urls.case(case.id),
            now=now,
            due=when(due),
        )
    session.flush()
    return told


# -- a manager sends an escalated case back ---------------------------------------------------------


def can_send_back(session: Session, *, case: Case, staff_id: int) -> bool:
    """Whether this member of staff gets the "Send back to the caseworker" form on the case page."""
    if not case.escalated or case.closed_at is not None:
        return False
    try:
        return MANAGER in case_actor(session, case, staff_id).roles
    except CaseError:
        return False


def send_back_to_caseworker(
    session: Session,
    *,
    case_id: int,
    seen_lock_version: int,
    staff_id: int,
    note: str,
    now: datetime,
    urls: CaseUrls | None = None,
) -> Case:
    """A manager has looked at an escalated case and hands it back: the case is no longer
    escalated, its step's deadline is counted again from now (so that it does not escalate again
    at once), the note is kept in the case's history (never shown to the applicant), and the
    assignee is told (the roles that can act on it when nobody is assigned).

    Raises NotFound (another department), CaseError (not a manager, not escalated, closed, no
    note) or Conflict (the case changed since the manager saw it); nothing is written then.
    """
    urls = urls or CaseUrls()
    case = load_case(session, case_id)
    actor = case_actor(session, case, staff_id)
    if MANAGER not in actor.roles:
        raise CaseError("Only a manager can send an escalated case back")
    if case.lock_version != seen_lock_version:
        raise Conflict()
    if case.closed_at is not None:
        raise CaseError("This case is closed")
    if not case.escalated:
        raise CaseError("This case is not escalated")
    text = (note or "").strip()
    if not text:
        raise CaseError("Enter a note for the caseworker")
    if len(text) > MAX_MESSAGE:
        raise CaseError(f"The note must be {MAX_MESSAGE:,} characters or less")
    workflow = workflow_for(session, case)
    deadline = workflow.deadline_for(case.state, now) if case.state in workflow.states else None
    result = session.exec(  # type: ignore[call-overload]
        update(Case)
        .where(col(Case.id) == case_id, col(Case.lock_version) == seen_lock_version, col(Case.escalated))
        .values(lock_version=col(Case.lock_version) + 1, escalated=False, escalated_at=None, deadline_at=deadline)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict()
    _event(
        session,
        case_id=case_id,
        now=now,
        kind="staff",
        action=SEND_BACK,
        actor_id=staff_id,
        from_state=case.state,
        to_state=case.state,
        comment=text,
    )
    case = load_case(session, case_id)
    if case.assigned_to is not None:
        assignee = session.get(StaffUser, case.assigned_to)
        recipients = [assignee] if assignee is not None else []
    else:
        recipients = role_members(session, case.department_id, _actors_of(workflow, case.state))
    me = session.get(StaffUser, staff_id)
    _tell(
        session,
        event="sent_back_to_you",
        recipients=[u for u in recipients if u.id != staff_id],
        case=case,
        definition=definition_of(session, case),
        workflow=workflow,
        link=urls.case(case_id),
        now=now,
        actor=me.name if me is not None else "",
    )
    session.flush()
    return case


# -- the case's history in words --------------------------------------------------------------------


def escalation_reason(detail: dict[str, Any] | None) -> str:
    """Why a case escalated, from its "escalate" event's detail, as a sentence."""
    detail = detail or {}
    if "lapsed_request" in detail:
        return "The applicant did not reply by the date asked"
    if "decision_due" in detail:
        return "It was not decided by the service's target date"
    return "It passed the deadline for its step"


def history_words(action: str, detail: dict[str, Any] | None) -> str | None:
    """How the case page's history says an escalation or a send-back; None for any other event."""
    if action == SEND_BACK:
        return "Sent the escalated case back to the caseworker"
    if action != ESCALATE:
        return None
    reason = escalation_reason(detail)
    return "Escalated: " + reason[0].lower() + reason[1:]


__all__ = [
    "ESCALATE",
    "REMINDER",
    "SEND_BACK",
    "can_send_back",
    "escalation_reason",
    "history_words",
    "remind_applicants",
    "send_back_to_caseworker",
    "warn_deadline_close",
]

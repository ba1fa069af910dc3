"""Putting a case right, with audit: internal notes, sending a case back a step, reopening a
closed case. Rules and writes, like runtime/cases.py (whose guarded write and audit log these
share): callers own the transaction (nothing here commits); after an exception, roll back.

- A **note** is not a decision: a ``case_event`` with action ``note`` and the text beside it
  (``case_event_comment``, which erasure can empty). It does not move the case or its lock
  version, so a colleague deciding at the same moment is not stopped by it. The citizen never
  sees it (runtime.case_reads.citizen_status shows only steps and requests).
- **Send back** returns an open case to the step it came from (the state before the current
  one in the audit log), with a reason; the step's deadline is counted again from now.
- **Reopen** (managers) returns a closed case to the step before its final one, with a reason:
  ``closed_at`` is cleared and that step's deadline counted from now. The citizen's status page
  then says the application is being looked at again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from . import workflow as wf
from .cases import (
    MANAGER,
    CaseError,
    Conflict,
    _actors_of,
    _bump,
    _event,
    case_actor,
    load_case,
    workflow_for,
)
from .models import Case, CaseEvent

NOTE, SEND_BACK, REOPEN = "note", "send-back", "reopen"
MAX_NOTE = wf.MAX_COMMENT
MAX_REASON = wf.MAX_COMMENT
# The actions that move a case without a transition of the workflow (the case page's history
# and the citizen's timeline name them).
CORRECTIONS = (SEND_BACK, REOPEN)


@dataclass(frozen=True)
class Moved:
    case: Case
    from_state: str
    to_state: str
    event: CaseEvent


def _clean(text: str | None, *, limit: int, missing: str, what: str) -> str:
    clean = (text or "").strip()
    if not clean:
        raise CaseError(missing)
    if len(clean) > limit:
        raise CaseError(f"{what} must be {limit:,} characters or less")
    return clean


def previous_state(session: Session, case: Case, workflow: wf.Workflow) -> str | None:
    """The step the case came to its current one from: the ``from_state`` of the last move
    forward into its current state (one query; a send-back is not a move forward, and a reopened
    case came from a final step, which is not one to go back to). None when it has been nowhere
    else, or that step is no longer in the workflow."""
    rows = session.exec(
        select(CaseEvent.from_state)
        .where(
            CaseEvent.case_id == case.id,
            CaseEvent.to_state == case.state,
            col(CaseEvent.from_state).is_not(None),
            CaseEvent.from_state != case.state,
            CaseEvent.action != SEND_BACK,
        )
        .order_by(col(CaseEvent.id).desc())
        .limit(20)
    ).all()
    for row in rows:
        state = workflow.states.get(row) if row is not None else None
        if state is not None and not state.final:
            return state.id
    return None


def can_send_back(session: Session, case: Case, roles: frozenset[str], workflow: wf.Workflow) -> str | None:
    """The step this member of staff (with ``roles``) may send the open case back to, else None."""
    if case.closed_at is not None or case.waiting_for_citizen:
        return None
    if MANAGER not in roles and not roles & set(_actors_of(workflow, case.state)):
        return None
    return previous_state(session, case, workflow)


def add_note(session: Session, *, case_id: int, staff_id: int, text: str | None, now: datetime) -> CaseEvent:
    """An internal note on the case (any member of staff with a case role there, open or closed)."""
    case = load_case(session, case_id)
    case_actor(session, case, staff_id)
    clean = _clean(text, limit=MAX_NOTE, missing="Enter a note", what="A note")
    event = _event(session, case_id=case_id, now=now, kind="staff", action=NOTE, actor_id=staff_id, comment=clean)
    session.flush()
    return event


def send_back(
    session: Session,
    *,
    case_id: int,
    seen_lock_version: int,
    staff_id: int,
    reason: str | None,
    now: datetime,
    holidays: frozenset[date] = frozenset(),
) -> Moved:
    """Return an open case to the step it came from, with a reason. Who may: those who can act at
    the current step, and managers. Raises :class:`Conflict`, ``NotFound`` or :class:`CaseError`."""
    case = load_case(session, case_id)
    actor = case_actor(session, case, staff_id)
    if case.lock_version != seen_lock_version:
        raise Conflict()
    if case.closed_at is not None:
        raise CaseError("This case is closed: a manager can reopen it")
    if case.waiting_for_citizen:
        raise CaseError("This case is waiting for the applicant's answers")
    workflow = workflow_for(session, case)
    back = previous_state(session, case, workflow)
    if back is None:
        raise CaseError("This case has no earlier step to go back to")
    if MANAGER not in actor.roles and not actor.roles & set(_actors_of(workflow, case.state)):
        raise CaseError("Only someone who can decide at this step, or a manager, can send the case back")
    clean = _clean(reason, limit=MAX_REASON, missing="Enter why you are sending the case back", what="The reason")
    return _move(session, case, seen_lock_version, staff_id, back, SEND_BACK, clean, now, workflow, holidays)


def reopen(
    session: Session,
    *,
    case_id: int,
    seen_lock_version: int,
    staff_id: int,
    reason: str | None,
    now: datetime,
    holidays: frozenset[date] = frozenset(),
) -> Moved:
    """Reopen a closed case (managers only) at the step before its final one, with a reason."""
    case = load_case(session, case_id)
    actor = case_actor(session, case, staff_id)
    if MANAGER not in actor.roles:
        raise CaseError("Only a manager can reopen a case")
    if case.lock_version != seen_lock_version:
        raise Conflict()
    if case.closed_at is None:
        raise CaseError("This case is open")
    workflow = workflow_for(session, case)
    back = previous_state(session, case, workflow)
    if back is None:
        raise CaseError("This case has no earlier step to reopen it at")
    clean = _clean(reason, limit=MAX_REASON, missing="Enter why you are reopening the case", what="The reason")
    return _move(session, case, seen_lock_version, staff_id, back, REOPEN, clean, now, workflow, holidays)


def _move(
    session: Session,
    case: Case,
    seen: int,
    staff_id: int,
    to_state: str,
    action: str,
    reason: str,
    now: datetime,
    workflow: wf.Workflow,
    holidays: frozenset[date],
) -> Moved:
    assert case.id is not None
    case_id, from_state = case.id, case.state
    _bump(
        session,
        case,
        seen,
        state=to_state,
        entered_state_at=now,
        deadline_at=workflow.deadline_for(to_state, now, holidays),
        closed_at=None,
        escalated=False,
        escalated_at=None,
        replied_at=None,
    )
    event = _event(
        session,
        case_id=case_id,
        now=now,
        kind="staff",
        action=action,
        actor_id=staff_id,
        from_state=from_state,
        to_state=to_state,
        comment=reason,
    )
    session.flush()
    return Moved(load_case(session, case_id), from_state, to_state, event)


__all__ = [
    "CORRECTIONS",
    "MAX_NOTE",
    "MAX_REASON",
    "NOTE",
    "REOPEN",
    "SEND_BACK",
    "Moved",
    "add_note",
    "can_send_back",
    "previous_state",
    "reopen",
    "send_back",
]

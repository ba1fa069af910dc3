"""Legal holds on a case, as use cases: place one (with the reason), release it.

While a hold is in force neither retention nor an erasure request removes the case's personal
data. Each use case owns its transaction and writes a case_event ("legal-hold",
"legal-hold-released") with the hold's id only: the reason may name people, so it stays in
legal_hold.reason, never in the append-only log.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from .. import cases
from ..models import Case, CaseEvent, LegalHold, utcnow
from ..staff import LEGAL_HOLD, has_permission, roles_by_department
from .unit_of_work import atomic

PLACED, RELEASED = "legal-hold", "legal-hold-released"
REASON, HOLD = "reason", "hold"
MAX_REASON = 2_000
NotFound = cases.NotFound


class Refused(Exception):
    """The hold cannot be placed or released as asked; nothing was written."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _case(session: Session, *, actor: int, case_id: int) -> Case:
    """The case, when ``actor`` may place legal holds in its department; NotFound otherwise
    (a department they have no role in is not told the case exists)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound()
    roles = roles_by_department(session, actor).get(case.department_id, frozenset())
    if not has_permission(roles, LEGAL_HOLD):
        raise NotFound()
    return case


def check_reason(reason: str) -> str | None:
    """Why the reason is refused, or None."""
    text = reason.strip()
    if not text:
        return "Enter the reason for the legal hold"
    if len(text) > MAX_REASON:
        return f"Reason must be {MAX_REASON:,} characters or fewer"
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text):
        return "Reason must not contain control characters"
    return None


def place(*, session: Session, actor: int, case_id: int, reason: str) -> LegalHold:
    """Place a legal hold on a case, with its reason (manager or data protection officer there)."""
    with atomic(session):
        case = _case(session, actor=actor, case_id=case_id)
        problem = check_reason(reason)
        if problem:
            raise Refused(REASON, problem)
        # The case row is locked (PostgreSQL) before anything is written: an erasure running at
        # the same moment locks it too, so the two take turns, and a hold never lands on a case
        # whose data went a moment ago.
        locked = session.exec(select(Case).where(Case.id == case_id).with_for_update()).one()
        if locked.erased_at is not None:
            raise Refused(REASON, "This case's personal data has already been erased: there is nothing left to hold")
        now = utcnow()
        hold = LegalHold(case_id=case_id, reason=reason.strip(), placed_by=actor, placed_at=now)
        session.add(hold)
        session.flush()
        session.add(
            CaseEvent(
                case_id=case_id,
                at=now,
                actor_id=actor,
                actor_kind="staff",
                action=PLACED,
                from_state=case.state,
                to_state=case.state,
                detail={"hold_id": hold.id},
            )
        )
    return hold


def release(*, session: Session, actor: int, case_id: int, hold_id: int) -> None:
    """Release a legal hold in force; Refused when someone released it first."""
    with atomic(session):
        case = _case(session, actor=actor, case_id=case_id)
        now = utcnow()
        result = session.exec(  # type: ignore[call-overload]
            update(LegalHold)
            .where(
                col(LegalHold.id) == hold_id, col(LegalHold.case_id) == case_id, col(LegalHold.released_at).is_(None)
            )
            .values(released_at=now, released_by=actor)
        )
        if not result.rowcount:
            raise Refused(HOLD, "This legal hold has already been released")
        session.add(
            CaseEvent(
                case_id=case_id,
                at=now,
                actor_id=actor,
                actor_kind="staff",
                action=RELEASED,
                from_state=case.state,
                to_state=case.state,
                detail={"hold_id": hold_id},
            )
        )

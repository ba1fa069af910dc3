"""Escalation on the case page (issue 17, part D): what the page says of an escalated case and
of the whole-case deadline (``_escalation.html``, included by casework/case.html), and the page
where a manager sends an escalated case back to the caseworker with a note.

Thin views, as runtime.web.casework.views: the use case is runtime.services.chasing.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, abort, flash, redirect, request, url_for
from sqlmodel import col, select

from ... import case_escalation, cases
from ...models import Case, CaseEvent, StaffUser, utcnow
from ...services import chasing
from ...staff import ASSIGN_OTHERS
from ..common import db, render_page
from ..staff import requires
from .views import _department, _found, _int, _me, _text, _urls

bp = Blueprint("escalation", __name__)

NOTE = "note"
STALE_FORM = "This form is out of date. Nothing has been changed: check the case as it is now, then try again."


@bp.app_template_global("escalation_of")
def escalation_of(case: Case) -> dict[str, Any]:
    """What the case page's escalation rows show: why and when it escalated, whether the whole-
    case deadline has passed, and whether this member of staff may send it back."""
    reason = None
    if case.escalated:
        last = (
            db()
            .exec(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.action == "escalate")
                .order_by(col(CaseEvent.id).desc())
                .limit(1)
            )
            .first()
        )
        reason = case_escalation.escalation_reason(last.detail if last else None)
    me = _me()
    return {
        "reason": reason,
        "decide_by_passed": bool(
            case.decision_due_at is not None and case.closed_at is None and case.decision_due_at < utcnow()
        ),
        "can_send_back": case_escalation.can_send_back(db(), case=case, staff_id=cast(int, me.id)),
    }


def _assignee_name(case: Case) -> str | None:
    if case.assigned_to is None:
        return None
    user = db().get(StaffUser, case.assigned_to)
    return user.name if user is not None else None


def _page(case: Case, status: int = 200, errors: dict[str, str] | None = None, note: str = "") -> Any:
    errors = errors or {}
    assignee = _assignee_name(case)
    return render_page(
        "casework/send_back_to_caseworker.html",
        status,
        title=f"Send the case back to {assignee or 'the caseworkers'}",
        case=case,
        assignee=assignee,
        note=note,
        note_error=errors.get(NOTE),
        errors=[{"text": text, "href": f"#{field}"} for field, text in errors.items()],
        max_note=cases.MAX_MESSAGE,
    )


@bp.get("/cases/<reference>/send-back-to-caseworker")
@requires(ASSIGN_OTHERS, department=_department)
def send_back_form(reference: str) -> Any:
    """The manager's form: a note for the caseworker, then send the escalated case back."""
    case = _found(reference)
    if not case_escalation.can_send_back(db(), case=case, staff_id=cast(int, _me().id)):
        flash("This case is not escalated, so there is nothing to send back")
        return redirect(url_for("cases.show_case", reference=case.reference), 303)
    return _page(case)


@bp.post("/cases/<reference>/send-back-to-caseworker")
@requires(ASSIGN_OTHERS, department=_department)
def send_back(reference: str) -> Any:
    case = _found(reference)
    note = _text(request.form, NOTE, cases.MAX_MESSAGE * 4)
    seen = _int(_text(request.form, "lock_version", 20))
    if seen is None:
        return _page(case, 400, {NOTE: STALE_FORM}, note)
    try:
        done = chasing.send_back_to_caseworker(
            session=db(),
            actor=cast(int, _me().id),
            case_id=cast(int, case.id),
            seen_lock_version=seen,
            note=note,
            urls=_urls(),
        )
    except cases.NotFound:
        abort(404)
    except cases.Conflict:
        flash("Someone else changed this case while you were looking at it. Nothing has been changed.")
        return redirect(url_for("cases.show_case", reference=case.reference), 303)
    except cases.CaseError as exc:
        return _page(cases.load_case(db(), cast(int, case.id)), 400, {NOTE: exc.message}, note)
    who = _assignee_name(done)
    flash(f"The case is back with {who}" if who else "The case is back with the team")
    return redirect(url_for("cases.show_case", reference=done.reference), 303)

"""The back office's pages: the inbox, a case, acting on it, asking the applicant for more,
assigning, and (in development) the outbox.

Thin views: check the staff member's permission, read the form, call a use case of
runtime.services.casework (which owns the transaction; runtime.cases owns the rules and the
concurrency) or a read, redirect (303) or show the page again with the reason. Every case URL
names the case by its reference (never by the citizen's name); a case of a department where
the staff member has no role is a 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, cast

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from sqlmodel import col, select

from ... import answers as answer_forms
from ... import case_corrections, case_escalation, case_reads, cases, outbox, record_reads, rendering, versions
from ... import workflow as wf
from ...applicant_messages import (
    MAX_DOCUMENTS,
    MAX_REPLY_DAYS,
    default_reply_by,
    read_date,
    read_documents,
    reply_by_problem,
)
from ...data import access, citizens, sharing
from ...definition import Definition
from ...journey import Journey
from ...models import Case, StaffUser, utcnow
from ...references import normalise_reference
from ...services import casework, legal_holds
from ...services.access import record_access
from ...staff import ASSIGN_OTHERS, LEGAL_HOLD, WORK_CASES
from ...validation import compiled
from ..common import db, render_page, settings
from ..staff import can, current_user, requires, user_department_ids
from .navigation import outbox_shown

bp = Blueprint("cases", __name__)
outbox_bp = Blueprint("outbox", __name__)
OUTBOX_PAGE = 50  # messages a page of the outbox

MAX_KEY = 40  # a reference is at most 20 characters; a case id at most 10 digits
MAX_TEXT = 20_000  # what a comment or message field keeps of a post (the rules allow 5,000)
MAX_FILTER = 100
MAX_TRAIL = 20  # earlier inbox pages remembered for "Previous"
MAX_CURSOR = 200
CONFLICT = (
    "Someone else changed this case while you were looking at it. Nothing has been changed: "
    "check the case as it is now, then try again."
)
IDENTIFIER_LABELS = {
    "email": "Email",
    "phone": "Phone",
    "ni_number": "National Insurance number",
    "nhs_number": "NHS number",
}
# What two records marked as a possible match both gave (runtime.citizens), in a sentence.
MATCH_LABELS = {
    "email": "email address",
    "ni_number": "National Insurance number",
    "nhs_number": "NHS number",
    "phone": "phone number",
    "postcode": "postcode",
    "date_of_birth": "date of birth",
    "full_name": "name",
}
# Where the page shows a refusal, by the use case's field (runtime.services.casework).
REQUEST_FIELDS = {
    casework.QUESTIONS: "request-questions",
    casework.MESSAGE: "request-message",
    casework.REPLY_BY: "reply-by-day",
    casework.DOCUMENTS: "request-documents",
}
ASSIGN_FIELDS = {casework.ASSIGNEE: "assignee", casework.ASSIGNMENT: "case-assignment"}
STALE_FORM = "This form is out of date. Nothing has been changed: check the case as it is now, then try again."


# -- finding the case ---------------------------------------------------------------------------


def _case(reference: str) -> Case | None:
    """The case a URL names: by reference (as typed back, too), or by id (the links in staff emails)."""
    if "casework_case" in g:
        return cast(Case | None, g.casework_case)
    found = None
    key = reference.strip()
    if 0 < len(key) <= MAX_KEY and key.isprintable():
        if key.isascii() and key.isdigit():
            if int(key) < 2**31:
                found = db().get(Case, int(key))
        else:
            found = case_reads.case_for_reference(db(), key.upper()) or case_reads.case_for_reference(
                db(), normalise_reference(key)
            )
    g.casework_case = found
    return found


def _department(reference: str) -> int | None:
    """The department a case URL is about (None: no such case, which is a 404)."""
    found = _case(reference)
    return None if found is None else found.department_id


def _found(reference: str) -> Case:
    found = _case(reference)
    if found is None or found.id is None:
        abort(404)
    return found


def _me() -> StaffUser:
    user = current_user()
    assert user is not None and user.id is not None  # the decorators signed them in
    return user


def _urls() -> cases.CaseUrls:
    return cases.CaseUrls(settings().base_url or request.host_url.rstrip("/"))


def _text(form: Mapping[str, Any], name: str, limit: int = MAX_FILTER) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _errors(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"text": message, "href": f"#{field}"} for field, message in errors.items()]


def _int(text: str) -> int | None:
    text = text.strip()
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit() or int(text) >= 2**31:
        return None
    return int(text)


# -- shared by the inbox (runtime.web.casework.inbox) and the case page ---------------------------


class _Definitions:
    """Definitions by (service, version) for one request: a page of cases shares a few."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, int | None], Definition | None] = {}

    def get(self, service_id: str, version: int | None = None) -> Definition | None:
        key = (service_id, version)
        if key not in self.found:
            self.found[key] = versions.definition(session=db(), service_id=service_id, version=version)
        return self.found[key]

    def state_label(self, service_id: str, version: int, state: str) -> str:
        """A state's label: cases follow the current version's steps (runtime.cases.workflow_for);
        a closed case may rest in a state only its own version still has."""
        for definition in (self.get(service_id), self.get(service_id, version)):
            found = definition.workflow.states.get(state) if definition is not None else None
            if found is not None:
                return found.label
        return state


def _assignees(department_ids: list[int]) -> list[StaffUser]:
    """Staff with a case role in these departments, each once, by name."""
    people: dict[int, StaffUser] = {}
    for department_id in department_ids:
        for user in cases.role_members(db(), department_id, cases.CASE_ROLES):
            if user.id is not None:
                people[user.id] = user
    return sorted(people.values(), key=lambda u: (u.name.casefold(), u.id or 0))


def _name(staff_id: int | None) -> str:
    user = db().get(StaffUser, staff_id) if staff_id is not None else None
    return user.name if user is not None else "a former colleague"


# -- the case page ------------------------------------------------------------------------------


def _history(detail: case_reads.CaseDetail, definition: Definition) -> list[dict[str, Any]]:
    """The audit log as the page shows it: who, when, from, to, what, comment."""
    # The steps the case follows now, and those of the version it was sent on (older events).
    states = {**definition.workflow.states, **detail.workflow.states}
    labels = {t.action: t.label for t in (*definition.workflow.transitions, *detail.workflow.transitions)}
    names = {u.id: u.name for u in db().exec(select(StaffUser).where(col(StaffUser.id).in_(_assign_ids(detail))))}
    out = []
    for row in detail.events:
        event = row.event
        who = row.actor_name or {"citizen": "The applicant", "system": "Civic Forms"}.get(event.actor_kind, "Someone")
        detail_ = event.detail or {}
        if event.action == "assign":
            target = detail_.get("to")
            what = f"Assigned to {names.get(target, 'a former colleague')}" if target is not None else "Unassigned"
        elif event.action == "submitted":
            what = "Sent the application"
        elif event.action == "information-answered":
            what = "Sent the information asked for"
        elif event.action in (case_escalation.ESCALATE, case_escalation.SEND_BACK):
            what = case_escalation.history_words(event.action, detail_) or event.action
        elif event.action == case_corrections.NOTE:
            what = "Internal note (not shown to the applicant)"
        elif event.action == case_corrections.SEND_BACK:
            what = "Sent back a step"
        elif event.action == case_corrections.REOPEN:
            what = "Reopened the case"
        elif "request_id" in detail_:
            what = "Asked the applicant for more information"
        else:
            what = labels.get(event.action, event.action)
            if "approvals" in detail_ and "needed" in detail_:
                what += f" ({detail_['approvals']} of {detail_['needed']} approvals)"
        item: dict[str, Any] = {
            "who": who,
            "at": event.at,
            "what": what,
            "from": states[event.from_state].label if event.from_state in states else event.from_state,
            "to": states[event.to_state].label if event.to_state in states else event.to_state,
            "comment": row.comment,
        }
        out.append(item)
    return out


def _assign_ids(detail: case_reads.CaseDetail) -> list[int]:
    return [
        int(e.event.detail["to"])
        for e in detail.events
        if e.event.action == "assign" and e.event.detail and isinstance(e.event.detail.get("to"), int)
    ]


def _elsewhere(counts: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """'N other cases with <department>; ask <department> (its managers) for them': no
    reference, service, state or date of a case the viewer's departments may not see."""
    found = sharing.contacts(db(), sorted({d for d, _ in counts}))
    return [{"count": n, "contact": found[d]} for d, n in counts if d in found]


def _possible_matches(
    citizen_id: int, staff_id: int, definitions: _Definitions, shared: case_reads.Shared, seen: set[str]
) -> list[dict[str, Any]]:
    """Other records that may be this applicant (runtime.citizens: they gave one of the same
    identifiers but contradict this record on another), each with what they share and their
    cases this staff member may see (their departments', and those shared with them under an
    agreement in force); the rest only counted. Four queries, whatever the number of records."""
    shared_kinds: dict[int, list[str]] = {}
    for match in citizens.possible_matches(session=db(), citizen_id=citizen_id, limit=20):
        other = match.other_citizen_id if match.citizen_id == citizen_id else match.citizen_id
        # Only details this member may see on the applicant's record: "the same NHS number"
        # would tell Council Tax that the person gave one to the GP service.
        agreeing = [
            k
            for k in record_reads.PAIR_FIELDS
            if k in seen and record_reads.evidence_for(match.evidence, k)[0] == "agree"
        ]
        shared_kinds[other] = [MATCH_LABELS.get(k, k.replace("_", " ")) for k in agreeing]
    found = case_reads.cases_of_citizens(db(), citizen_ids=list(shared_kinds), staff_id=staff_id, shared=shared)
    hidden = case_reads.cases_not_shared(db(), citizen_ids=list(shared_kinds), staff_id=staff_id, shared=shared)
    contacts = sharing.contacts(db(), sorted({d for _, d, _ in hidden}))
    return [
        {
            "record": other,
            "shared": " and ".join(dict.fromkeys(kinds)),
            "cases": [
                {
                    "case": c,
                    "service": _title(definitions.get(c.service_id), c.service_id),
                    "state": definitions.state_label(c.service_id, c.service_version, c.state),
                }
                for c in found
                if c.citizen_id == other
            ],
            "elsewhere": [{"count": n, "contact": contacts[d]} for c, d, n in hidden if c == other and d in contacts],
        }
        for other, kinds in shared_kinds.items()
    ]


def _case_page(
    case_id: int,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
) -> Any:
    user = _me()
    staff_id = cast(int, user.id)
    # What other departments' cases and details this member may see: their departments' own,
    # and what sharing agreements in force give those departments (runtime.data.sharing).
    own = case_reads.case_departments(db(), staff_id)
    visible = sharing.visible_to(db(), own)
    shared = case_reads.Shared(visible.departments, visible.services)
    try:
        detail = case_reads.case_detail(db(), case_id=case_id, staff_id=staff_id, shared=shared)
        actions = cases.available_actions(db(), case_id=case_id, staff_id=staff_id)
    except cases.NotFound:
        abort(404)
    case, definition = detail.case, detail.definition
    answers = dict(detail.submission.answers)
    # The answers as the citizen gave them, with the version they used, by the same code as
    # their own "Check your answers" page (runtime.rendering.summary_rows).
    # As they are now: each answered request for information applied in order, so that nobody
    # decides on an old figure; each changed answer says when, and what it was.
    now_ = case_reads.answers_now(answers, detail.information_requests, definition.questions)
    answers = now_.answers
    journey = Journey(compiled(definition), answers)
    rows = rendering.summary_rows(definition, journey.path, answers)
    for row, name in zip(rows, [n for p in journey.path for n in p.questions], strict=True):
        row["changes"] = [
            {"at": c.at, "was": ", ".join(_answer_lines(definition, name, c.was))} for c in now_.changes.get(name, [])
        ]
    definitions = _Definitions()
    names = {
        c.department_id: c.name
        for c in sharing.contacts(db(), sorted({o.department_id for o in detail.other_cases})).values()
    }
    others = [
        {
            "case": other,
            "state": definitions.state_label(other.service_id, other.service_version, other.state),
            "service": _title(definitions.get(other.service_id), other.service_id),
            # Another department's case, seen under an agreement: its page is that department's.
            "own": other.department_id in own,
            "department": names.get(other.department_id, "") if other.department_id not in own else "",
        }
        for other in detail.other_cases
    ]
    state = detail.workflow.states.get(case.state)
    assigning = can(ASSIGN_OTHERS, case.department_id)
    my_roles = cases.case_actor(db(), case, staff_id).roles
    back_to = case_corrections.can_send_back(db(), case, my_roles, detail.workflow)
    reopen_at = (
        case_corrections.previous_state(db(), case, detail.workflow)
        if case.closed_at is not None and assigning
        else None
    )
    details = sharing.visible_identifiers(db(), citizen_id=case.citizen_id, visible=visible)
    possible = _possible_matches(case.citizen_id, staff_id, definitions, shared, {i.kind for i in details})
    requests = [
        {
            "row": r,
            "questions": [definition.short_label(q) if q in definition.questions else q for q in r.questions],
            "answers": [
                (definition.short_label(q), _answer_lines(definition, q, v))
                for q, v in (r.answers or {}).items()
                if q in definition.questions
            ],
            "reply": (r.answers or {}).get(cases.FREE_TEXT) if cases.offers_free_text(r) else None,
        }
        for r in detail.information_requests
    ]
    # Every view of a case is in the access log (in the case's department's name).
    record_access(
        session=db(),
        staff_id=staff_id,
        action=access.VIEW_CASE,
        case_id=case_id,
        citizen_id=case.citizen_id,
        department_id=case.department_id,
    )
    return render_page(
        "casework/case.html",
        status,
        title=f"Case {case.reference}",
        case=case,
        detail=detail,
        definition=definition,
        state_label=state.label if state else case.state,
        final=bool(state and state.final),
        overdue=bool(
            case.closed_at is None
            and not case.waiting_for_citizen
            and case.deadline_at is not None
            and case.deadline_at < utcnow()
        ),
        rows=rows,
        identifiers=list(
            dict.fromkeys(
                (IDENTIFIER_LABELS[i.kind], record_reads.shown_value(i.kind, i.value))
                # Only what the applicant told a department this member of staff may see: an NHS
                # number given to the GP service is not Council Tax's to see.
                for i in details
                if i.kind in IDENTIFIER_LABELS
            )
        ),
        others=others,
        elsewhere=_elsewhere(detail.elsewhere),
        legal_holds=detail.legal_holds,
        holding=can(LEGAL_HOLD, case.department_id),
        max_reason=legal_holds.MAX_REASON,
        possible_matches=possible,
        history=_history(detail, definition),
        requests=requests,
        decisions=[
            {"t": t, "style": case_reads.decision_style(detail.workflow, t)}
            for t in actions
            if not t.request_information
        ],
        send_back_to=_state_label(detail.workflow, back_to),
        reopen_at=_state_label(detail.workflow, reopen_at),
        max_note=case_corrections.MAX_NOTE,
        information=[t for t in actions if t.request_information],
        # An add-another answer (a list with pages of its own) is not asked again in a request.
        questions=[
            (name, definition.short_label(name))
            for name in definition.questions
            if definition.widget(name) != "add-another"
        ],
        max_comment=wf.MAX_COMMENT,
        assigning=assigning,
        colleagues=_assignees([case.department_id]) if assigning else [],
        me=user,
        form=form or {},
        errors=_errors(errors or {}),
        field_errors=errors or {},
    )


def _state_label(workflow: wf.Workflow, state: str | None) -> str | None:
    if state is None:
        return None
    return workflow.states[state].label if state in workflow.states else state


def _title(definition: Definition | None, fallback: str) -> str:
    return definition.title if definition is not None else fallback


def _answer_lines(definition: Definition, name: str, value: Any) -> list[str]:
    return answer_forms.display(definition, name, value) or ["Not answered"]


@bp.get("/cases/<reference>")
@requires(WORK_CASES, department=_department)
def show_case(reference: str) -> Any:
    """A case: the answers, the citizen, the history, and what the member of staff may do."""
    case = _found(reference)
    if reference != case.reference:
        return redirect(url_for("cases.show_case", reference=case.reference), 303)
    return _case_page(cast(int, case.id))


def _seen_version() -> int | None:
    return _int(_text(request.form, "lock_version", 20))


def _done(case: Case, message: str) -> Any:
    flash(message)
    return redirect(url_for("cases.show_case", reference=case.reference), 303)


@bp.post("/cases/<reference>/act")
@requires(WORK_CASES, department=_department)
def take_action(reference: str) -> Any:
    """Take one of the case's actions (approve, reject, ...), with the comment given."""
    case = _found(reference)
    case_id, ref = cast(int, case.id), case.reference
    action = _text(request.form, "action", 60)
    comment = _text(request.form, "comment", MAX_TEXT)
    form = {"action": action, "comment": comment}
    seen = _seen_version()
    if seen is None:
        return _case_page(case_id, 400, {"case-actions": STALE_FORM}, form)
    take_over = _take_over()
    try:
        result = casework.act(
            session=db(),
            actor=cast(int, _me().id),
            case_id=case_id,
            seen_lock_version=seen,
            action=action,
            comment=comment,
            secret_key=settings().secret_key,
            urls=_urls(),
            holidays=settings().holidays,
            take_over=take_over,
        )
    except casework.NotFound:
        abort(404)
    except casework.Contended as exc:
        return _take_over_page(case, exc, action=action, comment=comment, seen=seen)
    except casework.Conflict:
        # What they typed is kept: the page shows the case as it is now, with their comment.
        return _case_page(case_id, 409, {"case-actions": CONFLICT}, form)
    except casework.Refused as exc:
        # An action this member may take was refused for its comment: say so by the comment box.
        field = f"comment-{action}" if exc.field == casework.COMMENT else "case-actions"
        return _case_page(case_id, 400, {field: exc.message}, form)
    outcome = result.outcome
    if outcome.to_state is None:
        message = f"Your decision is recorded: {outcome.approvals_so_far} of {outcome.approvals_needed} needed"
    else:
        states = cases.workflow_for(db(), result.case).states
        label = states[outcome.to_state].label if outcome.to_state in states else outcome.to_state
        message = f"Case {ref} is now: {label}"
    return _done(case, message)


@bp.post("/cases/<reference>/request-information")
@requires(WORK_CASES, department=_department)
def request_information(reference: str) -> Any:
    """Ask the applicant for more: some of the service's own questions, a message, and the date to
    reply by (all three go in the applicant's email)."""
    case = _found(reference)
    case_id = cast(int, case.id)
    questions = [q[:100] for q in request.form.getlist("questions")[:100]]
    message = _text(request.form, "message", MAX_TEXT)
    action = _text(request.form, "action", 60)
    typed = {part: _text(request.form, f"reply-by-{part}", 20) for part in ("day", "month", "year")}
    documents = _text(request.form, "documents", MAX_TEXT)  # issue 18: one on each line
    form = {"questions": questions, "message": message, "action": action, "reply_by": typed, "documents": documents}
    seen = _seen_version()
    if seen is None:
        return _case_page(case_id, 400, {"case-actions": STALE_FORM}, form)
    # A page loaded before reply-by dates existed posts none: the step's default applies.
    posted = any(f"reply-by-{part}" in request.form for part in ("day", "month", "year"))
    reply_by = read_date(**typed) if posted else None
    if posted and reply_by is None:
        problem = reply_by_problem(None, utcnow().date()) if not any(typed.values()) else None
        return _case_page(case_id, 400, {REPLY_BY_FIELD: problem or NOT_A_DATE}, form)
    try:
        casework.request_information(
            session=db(),
            actor=cast(int, _me().id),
            case_id=case_id,
            seen_lock_version=seen,
            questions=questions,
            message=message,
            action=action or None,
            urls=_urls(),
            reply_by=reply_by,
            holidays=settings().holidays,
            documents=read_documents(documents),
        )
    except casework.NotFound:
        abort(404)
    except casework.Conflict:
        return _case_page(case_id, 409, {"case-actions": CONFLICT}, form)
    except casework.Refused as exc:
        return _case_page(case_id, 400, {REQUEST_FIELDS.get(exc.field, "case-actions"): exc.message}, form)
    by = f", to reply by {reply_by:%-d %B %Y}" if reply_by else ""
    return _done(case, f"You asked the applicant for more information{by}. The case is waiting for the applicant.")


REPLY_BY_FIELD = "reply-by-day"  # the date input's first box: where the error summary links
NOT_A_DATE = "The date to reply by must be a real date, for example 19 12 2026"


@bp.app_context_processor
def _request_form_context() -> dict[str, Any]:
    """What casework/_request_form.html needs beside the case page's own context."""
    return {"reply_by_default": _reply_by_default, "max_reply_days": MAX_REPLY_DAYS, "max_documents": MAX_DOCUMENTS}


def _reply_by_default(transition: wf.Transition, workflow: wf.Workflow) -> date:
    return default_reply_by(transition, utcnow(), workflow.working_days, settings().holidays)


@bp.post("/cases/<reference>/assign")
@requires(WORK_CASES, department=_department)
def assign_case(reference: str) -> Any:
    """Assign the case to me, to a colleague (managers), or to nobody."""
    case = _found(reference)
    case_id = cast(int, case.id)
    user = _me()
    choice = _text(request.form, "assignee", 20)
    if choice == "me":
        assignee: int | None = user.id
    elif choice == "nobody":
        assignee = None
    elif _int(choice) is not None:
        assignee = _int(choice)
    else:
        return _case_page(case_id, 400, {"assignee": "Choose who to assign the case to"})
    # The assignee the page showed: a colleague's assignment since then is a conflict, not overwritten.
    shown = _text(request.form, "assigned_to", 20)
    expected: Any = {}
    if "assigned_to" in request.form:
        if shown and _int(shown) is None:
            return _case_page(case_id, 400, {"case-assignment": STALE_FORM})
        expected = {"expected_assignee": _int(shown) if shown else None}
    try:
        casework.assign(
            session=db(),
            actor=cast(int, user.id),
            case_id=case_id,
            assignee=assignee,
            urls=_urls(),
            take_over=_take_over(),
            **expected,
        )
    except casework.NotFound:
        abort(404)
    except casework.Contended as exc:
        return _take_over_page(case, exc, assigned_to=shown)
    except casework.Conflict as exc:
        return _case_page(case_id, 409, {"case-assignment": exc.message})
    except casework.Refused as exc:
        return _case_page(case_id, 400, {ASSIGN_FIELDS[exc.field]: exc.message})
    if assignee is None:
        return _done(case, "The case is not assigned to anyone now")
    return _done(
        case, "The case is assigned to you" if assignee == user.id else f"The case is assigned to {_name(assignee)}"
    )


def _take_over() -> int | None:
    """The colleague the confirmation page asked about ("This case is assigned to ... Continue?")."""
    return _int(_text(request.form, "take_over", 20))


def _take_over_page(
    case: Case,
    exc: casework.Contended,
    *,
    action: str | None = None,
    comment: str = "",
    seen: int | None = None,
    assigned_to: str = "",
) -> Any:
    """Ask before deciding on, or taking, a case a colleague holds; what was typed is kept."""
    decision = None
    style = "primary"
    if action is not None:
        workflow = cases.workflow_for(db(), case)
        decision = next((t for t in workflow.transitions if t.action == action and t.from_ == case.state), None)
        if decision is None:
            decision = next((t for t in workflow.transitions if t.action == action), None)
        if decision is None:
            abort(400)
        style = case_reads.decision_style(workflow, decision)
    return render_page(
        "casework/take_over.html",
        200,
        title=f"Case {case.reference} is assigned to {exc.assignee_name}",
        case=case,
        holder=exc.assignee_name,
        holder_id=exc.assignee_id,
        decision=decision,
        style=style,
        comment=comment,
        seen=seen,
        assigned_to=assigned_to,
        max_comment=wf.MAX_COMMENT,
    )


# -- corrections: notes, send back, reopen -------------------------------------------------------


@bp.post("/cases/<reference>/notes")
@requires(WORK_CASES, department=_department)
def add_note(reference: str) -> Any:
    """Write an internal note on the case: in its history, never shown to the applicant."""
    case = _found(reference)
    text = _text(request.form, "note", MAX_TEXT)
    try:
        casework.add_note(session=db(), actor=cast(int, _me().id), case_id=cast(int, case.id), text=text)
    except casework.NotFound:
        abort(404)
    except casework.Refused as exc:
        return _case_page(cast(int, case.id), 400, {"note": exc.message}, {"note": text})
    return _done(case, "Your note is added to the case history")


def _correction(case: Case, use_case: Any, field: str, done: str) -> Any:
    case_id = cast(int, case.id)
    reason = _text(request.form, "reason", MAX_TEXT)
    form = {field: reason}
    seen = _seen_version()
    if seen is None:
        return _case_page(case_id, 400, {field: STALE_FORM}, form)
    try:
        moved = use_case(
            session=db(),
            actor=cast(int, _me().id),
            case_id=case_id,
            seen_lock_version=seen,
            reason=reason,
            holidays=settings().holidays,
        )
    except casework.NotFound:
        abort(404)
    except casework.Conflict:
        return _case_page(case_id, 409, {field: CONFLICT}, form)
    except casework.Refused as exc:
        return _case_page(case_id, 400, {field: exc.message}, form)
    return _done(case, done.format(state=_state_label(cases.workflow_for(db(), moved.case), moved.to_state)))


@bp.post("/cases/<reference>/send-back")
@requires(WORK_CASES, department=_department)
def send_back(reference: str) -> Any:
    """Send an open case back to the step it came from, with a reason (in the history)."""
    return _correction(_found(reference), casework.send_back, "send-back-reason", "The case is back at: {state}")


@bp.post("/cases/<reference>/reopen")
@requires(ASSIGN_OTHERS, department=_department)
def reopen_case(reference: str) -> Any:
    """Reopen a closed case at the step before its decision, with a reason (managers)."""
    return _correction(_found(reference), casework.reopen, "reopen-reason", "The case is reopened at: {state}")


# -- legal holds ---------------------------------------------------------------------------------


def _after_hold(case: Case, message: str) -> Any:
    flash(message)
    if can(WORK_CASES, case.department_id):
        return redirect(url_for("cases.show_case", reference=case.reference), 303)
    return redirect(url_for("privacy.home"), 303)  # a data protection officer without a case role


@bp.post("/cases/<reference>/legal-hold")
@requires(LEGAL_HOLD, department=_department)
def place_legal_hold(reference: str) -> Any:
    """Place a legal hold on the case, with the reason: retention and erasure then leave it."""
    case = _found(reference)
    reason = _text(request.form, "reason", MAX_TEXT)
    try:
        legal_holds.place(session=db(), actor=cast(int, _me().id), case_id=cast(int, case.id), reason=reason)
    except legal_holds.NotFound:
        abort(404)
    except legal_holds.Refused as exc:
        if not can(WORK_CASES, case.department_id):
            abort(400)
        return _case_page(cast(int, case.id), 400, {"legal-hold-reason": exc.message}, {"reason": reason})
    return _after_hold(case, f"Case {case.reference} is under a legal hold")


def _hold_department(reference: str, hold_id: int) -> int | None:
    return _department(reference)


@bp.post("/cases/<reference>/legal-hold/<int:hold_id>/release")
@requires(LEGAL_HOLD, department=_hold_department)
def release_legal_hold(reference: str, hold_id: int) -> Any:
    """Release a legal hold in force on the case."""
    case = _found(reference)
    try:
        legal_holds.release(session=db(), actor=cast(int, _me().id), case_id=cast(int, case.id), hold_id=hold_id)
    except legal_holds.NotFound:
        abort(404)
    except legal_holds.Refused as exc:
        return _after_hold(case, exc.message)
    return _after_hold(case, "The legal hold is released")


# -- the outbox (development) --------------------------------------------------------------------


@outbox_bp.get("/outbox")
@requires(WORK_CASES)
def list_messages() -> Any:
    """The messages the product has written, newest first, 50 a page: each department sees only
    its own (citizens' and staff messages about its cases) and each person their own digests.
    Development and test only."""
    if not outbox_shown():
        abort(404)
    me = _me()
    before = _int(_text(request.args, "before", 20))
    messages = outbox.for_departments(
        db(),
        department_ids=user_department_ids(WORK_CASES),
        staff_id=cast(int, me.id),
        before=before,
        limit=OUTBOX_PAGE + 1,
    )
    more = len(messages) > OUTBOX_PAGE
    messages = messages[:OUTBOX_PAGE]
    return render_page(
        "casework/outbox.html",
        title="Outbox",
        messages=messages,
        older=url_for("outbox.list_messages", before=messages[-1].id) if more and messages else None,
        newest=url_for("outbox.list_messages") if before is not None else None,
    )

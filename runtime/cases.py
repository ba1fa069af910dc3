"""Cases: a submission being decided by staff, its audit log, requests for information, assignment.

Data functions with an explicit session and keyword-only arguments, like the repositories in runtime/data/:
callers own the transaction (nothing here commits), and after an exception the caller rolls
back. The rules of the workflow live in runtime/workflow.py (pure); this module gathers a
case's facts, asks the engine, and records what it decided. What the inbox, the case page and
the citizen's status page read is in runtime/case_reads.py, which builds on this module.

Concurrency: every change of a case's state is one ``UPDATE ... WHERE id = :id AND
lock_version = :seen``. Of two caseworkers acting on the same case at once exactly one
UPDATE matches; the other raises :class:`Conflict` before writing anything, so there is one
transition and one audit event. The audit log (``case_event``) is only ever inserted into
here; the database refuses UPDATE and DELETE on it (migration 0003).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import false, func, update
from sqlmodel import Session, col, select

from . import applicant_messages, case_search, citizens
from . import workflow as wf
from .citizens import identifiers
from .definition import Definition
from .models import (
    Case,
    CaseApproval,
    CaseEvent,
    CaseEventComment,
    InformationRequest,
    Service,
    StaffRole,
    StaffUser,
    Submission,
    Upload,
)
from .outbox import enqueue
from .versions import definition

CASEWORKER, MANAGER = "caseworker", "manager"
CASE_ROLES: tuple[str, ...] = (CASEWORKER, MANAGER)
MAX_BULK = 100
MAX_MESSAGE = wf.MAX_COMMENT
MAX_QUESTIONS = 20


# -- errors -------------------------------------------------------------------------------------


class CaseError(Exception):
    """A case action refused; ``message`` is fit to show to the person who tried it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Conflict(CaseError):
    """Someone else changed the case first: nothing was written; reload and try again."""

    def __init__(self, message: str = "A colleague changed this case while you were looking at it: check it again"):
        super().__init__(message)


class NotFound(CaseError):
    """No such case, or not one this member of staff may see (the web layer answers 404 either way)."""

    def __init__(self) -> None:
        super().__init__("Case not found")


class Assigned(CaseError):
    """The case is assigned to a colleague: deciding on it, or taking it, asks first. Nothing was
    written; pass ``take_over=assignee_id`` (what the confirmation page showed) to go ahead."""

    def __init__(self, assignee_id: int, assignee_name: str):
        super().__init__(f"This case is assigned to {assignee_name}")
        self.assignee_id = assignee_id
        self.assignee_name = assignee_name


def _contended(session: Session, case: Case, staff_id: int, take_over: int | None) -> StaffUser | None:
    """The colleague the case is assigned to, when the member of staff acts over them (None: nobody
    else holds it). Raises :class:`Assigned` unless they confirmed taking over from that colleague."""
    holder = case.assigned_to
    if holder is None or holder == staff_id:
        return None
    user = session.get(StaffUser, holder)
    if take_over != holder:
        raise Assigned(holder, user.name if user is not None else "a former colleague")
    return user


def _tell_taken(
    session: Session, *, loser: StaffUser | None, case: Case, actor: wf.Actor, urls: CaseUrls, now: datetime
) -> None:
    """Tell the colleague who held the case that someone else took it over."""
    if loser is None:
        return
    me = session.get(StaffUser, actor.staff_id)
    _tell(
        session,
        event="taken_from_you",
        recipients=[loser],
        case=case,
        definition=definition_of(session, case),
        workflow=workflow_for(session, case),
        link=urls.case(case.id or 0),
        now=now,
        actor=me.name if me is not None else "",
    )


class InformationError(CaseError):
    """The citizen's answers to a request for information are not right: ``errors`` by field path."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# -- links in messages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseUrls:
    """Where the links in messages point. The citizen face (part 4) serves ``/status/<token>``
    and ``/information/<token>``; the back office serves ``/casework/cases/<id>``."""

    base_url: str = ""

    def _url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def status(self, token: str) -> str:
        return self._url(f"/status/{token}")

    def answer(self, token: str) -> str:
        return self._url(f"/information/{token}")

    def case(self, case_id: int) -> str:
        return self._url(f"/casework/cases/{case_id}")


# -- the citizen's status link --------------------------------------------------------------------

_STATUS_SALT = "civicforms.case-status"
MAX_TOKEN = 200


def status_token(case: Case, secret_key: str) -> str:
    """A signed token naming the case by its random ``status_key``: no personal data, and
    nothing of the case's id (which would tell how many applications there have been)."""
    assert case.status_key
    return URLSafeSerializer(secret_key, salt=_STATUS_SALT).dumps({"k": case.status_key})


def case_for_status_token(session: Session, token: str | None, secret_key: str) -> Case | None:
    """The case a status token names; None for a forged, tampered, malformed or unknown token.

    Links sent before migration 0004 signed ``{"case": <id>}``; they still work (they are
    signed, so no one can make a new one), so that the emails already sent keep their links."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        data = URLSafeSerializer(secret_key, salt=_STATUS_SALT).loads(token)
    except (BadSignature, ValueError, UnicodeError):
        return None
    if not isinstance(data, dict):
        return None
    key = data.get("k")
    if isinstance(key, str) and 0 < len(key) <= 43:
        return session.exec(select(Case).where(Case.status_key == key)).first()
    case_id = data.get("case")  # a link sent before 0004
    if not isinstance(case_id, int) or isinstance(case_id, bool) or not 0 < case_id < 2**31:
        return None
    return session.get(Case, case_id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- helpers ----------------------------------------------------------------------------------------


def workflow_of(definition: Definition) -> wf.Workflow:
    """The definition's workflow (built once per definition, by Definition.workflow)."""
    return definition.workflow


def workflow_for(session: Session, case: Case) -> wf.Workflow:
    """The steps a case follows: those of the service's current version, so that open cases
    move on with what IT last reviewed (answers still show with the version they were given
    on). A version that removes a state open cases are in is refused at publish unless the
    publisher maps those cases to new states (runtime.data.published.publish, ``move_stranded``)."""
    current = definition(session=session, service_id=case.service_id)
    return workflow_of(current if current is not None else definition_of(session, case))


def definition_of(session: Session, case: Case) -> Definition:
    found = definition(session=session, service_id=case.service_id, version=case.service_version)
    if found is None:  # published versions are never deleted: a foreign key keeps them
        raise CaseError(f"version {case.service_version} of {case.service_id} is missing")
    return found


def citizen_email(definition: Definition, answers: dict[str, Any]) -> str | None:
    return identifiers(definition.identity, answers).get("email")


def citizen_name(definition: Definition, answers: dict[str, Any]) -> str | None:
    path = definition.identity.get("full_name")
    value: Any = answers
    for part in (path or "").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(value.split())[:200]


# -- search keys -------------------------------------------------------------------------------------

# The one name folding is the citizen records' (runtime.citizens): cases are searched as records are.
search_key = citizens.search_key
name_keys = citizens.name_keys


def role_members(session: Session, department_id: int, roles: Sequence[str]) -> list[StaffUser]:
    """Active staff holding any of these roles in the department, each once."""
    if not roles:
        return []
    rows = session.exec(
        select(StaffUser)
        .join(StaffRole, col(StaffRole.user_id) == StaffUser.id)
        .where(
            StaffRole.department_id == department_id,
            col(StaffRole.role).in_(list(roles)),
            col(StaffUser.active),
        )
        .order_by(col(StaffUser.id))
    ).all()
    return list({u.id: u for u in rows}.values())


def _roles_in(session: Session, staff_id: int, department_id: int) -> frozenset[str]:
    return frozenset(
        session.exec(
            select(StaffRole.role).where(StaffRole.user_id == staff_id, StaffRole.department_id == department_id)
        ).all()
    )


def load_case(session: Session, case_id: int, *, lock: bool = False) -> Case:
    """The case, read afresh (``lock``: its row locked until the transaction ends, on
    PostgreSQL); NotFound for an id that is not one."""
    if not isinstance(case_id, int) or not 0 < case_id < 2**31:
        raise NotFound()
    query = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    found = session.exec(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound()
    return found


def _answers(session: Session, case: Case) -> dict[str, Any]:
    submission = session.get(Submission, case.submission_id)
    assert submission is not None  # a foreign key
    return dict(submission.answers)


def _event(
    session: Session,
    *,
    case_id: int,
    now: datetime,
    kind: str,
    action: str,
    actor_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    detail: dict[str, Any] | None = None,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case_id,
        at=now,
        actor_id=actor_id,
        actor_kind=kind,
        action=action,
        from_state=from_state,
        to_state=to_state,
        detail=detail,
    )
    session.add(event)
    if comment:
        # Beside the log, not in it: the log keeps no personal data (erasure empties this row).
        session.flush()
        assert event.id is not None
        session.add(CaseEventComment(event_id=event.id, case_id=case_id, text=comment))
    return event


def _assignment_event(
    session: Session, *, case_id: int, now: datetime, staff_id: int, before: int | None, after: int | None
) -> CaseEvent:
    """The history's line for a case changing hands (by assignment, or taken over with a decision)."""
    return _event(
        session,
        case_id=case_id,
        now=now,
        kind="staff",
        action="assign",
        actor_id=staff_id,
        detail={"from": before, "to": after},
    )


def _message(
    session: Session,
    *,
    workflow: wf.Workflow,
    kind: str,
    recipients: Sequence[str | None],
    case: Case,
    definition: Definition,
    link: str,
    now: datetime,
    extra: str = "",
) -> int:
    """Enqueue one message per distinct recipient, as the case's department's; returns how many.
    ``extra``: paragraphs after the template's body (a decision's reason, a request's questions).

    For the citizen's messages (the definition's ``workflow.messages``). Staff hear of cases
    through runtime.staff_messages.tell_staff; the definition's ``new_work`` and ``escalated``
    are still accepted and still rendered here for any caller that asks, but open_case and
    escalate_overdue no longer send them."""
    template = workflow.messages[kind]
    state = workflow.states.get(case.state)
    values = {
        "reference": case.reference,
        "service": definition.title,
        "state": state.citizen_text if state else case.state,
        "link": link,
    }
    if kind in ("new_work", "escalated") and state is not None:
        values["state"] = state.label
    subject, body = wf.render_message(template.subject, values), wf.render_message(template.body, values)
    if extra.strip():
        body = body.rstrip() + "\n\n" + extra.strip()
    sent = 0
    for recipient in dict.fromkeys(r for r in recipients if r):
        enqueue(
            session,
            kind=kind,
            recipient=recipient,
            subject=subject,
            body=body,
            now=now,
            case_id=case.id,
            department_id=case.department_id,
        )
        sent += 1
    return sent


def _actors_of(workflow: wf.Workflow, state: str) -> list[str]:
    """The roles that can act on a case in this state (who hears of new work there)."""
    return sorted({role for t in workflow.transitions if t.from_ == state for role in t.roles})


def _tell(
    session: Session,
    *,
    event: str,
    recipients: Sequence[StaffUser],
    case: Case,
    definition: Definition,
    workflow: wf.Workflow,
    link: str,
    now: datetime,
    note: str = "",
    due: str = "",
    actor: str = "",
) -> int:
    """tell_staff with the case's service title and step label filled in."""
    from .staff_messages import tell_staff

    state = workflow.states.get(case.state)
    return tell_staff(
        session,
        event=event,
        recipients=recipients,
        case=case,
        service=definition.title,
        state=state.label if state else case.state,
        link=link,
        now=now,
        note=note,
        due=due,
        actor=actor,
    )


# -- opening a case ---------------------------------------------------------------------------------


def open_case(
    session: Session,
    *,
    submission: Submission,
    definition: Definition,
    now: datetime,
    secret_key: str,
    urls: CaseUrls | None = None,
    holidays: frozenset[date] = frozenset(),
) -> Case:
    """Start the case for a new submission, in the caller's (the submission's) transaction.

    The case enters the workflow's initial state with that state's deadline; the citizen is
    told (when the answers hold an email address) and the staff who can act in that state hear
    of the new case (a new case is never assigned, so they all do: runtime.staff_messages). The
    whole-case deadline (the workflow's ``decide_within``) is set here, once, and never restarted.
    """
    assert submission.id is not None
    urls = urls or CaseUrls()
    workflow = workflow_of(definition)
    service = session.get(Service, submission.service_id)
    assert service is not None  # the submission's foreign key
    department_id = service.department_id  # never null (migration 0006)
    name = citizen_name(definition, submission.answers)
    search_name, search_surname = name_keys(name)
    case = Case(
        submission_id=submission.id,
        reference=submission.reference,
        service_id=submission.service_id,
        service_version=submission.service_version,
        department_id=department_id,
        state=workflow.initial,
        lock_version=1,
        citizen_id=submission.citizen_id,
        citizen_name=name,
        search_name=search_name,
        search_surname=search_surname,
        entered_state_at=now,
        deadline_at=workflow.deadline_for(workflow.initial, now, holidays),
        decision_due_at=workflow.decision_due(now, holidays),
        created_at=now,
    )
    session.add(case)
    session.flush()
    assert case.id is not None
    _event(session, case_id=case.id, now=now, kind="citizen", action="submitted", to_state=workflow.initial)
    case_search.index_case(session, case=case, definition=definition, answers=submission.answers)
    email = citizen_email(definition, submission.answers)
    common: dict[str, Any] = {"workflow": workflow, "case": case, "definition": definition, "now": now}
    _message(session, kind="submitted", recipients=[email], link=urls.status(status_token(case, secret_key)), **common)
    if case.assigned_to is None:
        staff = role_members(session, department_id, _actors_of(workflow, workflow.initial))
        _tell(session, event="new_case", recipients=staff, link=urls.case(case.id), **common)
    session.flush()
    return case


# -- acting on a case -------------------------------------------------------------------------------


def _facts(session: Session, case: Case, definition: Definition, answers: dict[str, Any]) -> wf.CaseFacts:
    approvals = session.exec(
        select(CaseApproval).where(CaseApproval.case_id == case.id).order_by(col(CaseApproval.id))
    ).all()
    holders = session.exec(
        select(StaffRole.role, func.count())
        .join(StaffUser, col(StaffUser.id) == StaffRole.user_id)
        .where(StaffRole.department_id == case.department_id, col(StaffUser.active))
        .group_by(col(StaffRole.role))
    ).all()
    return wf.CaseFacts(
        state=case.state,
        answers=answers,
        approvals=tuple(wf.Approval(a.staff_id, a.state, a.action, a.at) for a in approvals),
        citizen_email=citizen_email(definition, answers),
        role_holders={role: int(n) for role, n in holders},
        entered_state_at=case.entered_state_at,
    )


def case_actor(session: Session, case: Case, staff_id: int) -> wf.Actor:
    """The member of staff with their roles in the case's department; NotFound if they have none
    there (a case of another department does not exist for them)."""
    user = session.get(StaffUser, staff_id) if isinstance(staff_id, int) else None
    roles = _roles_in(session, staff_id, case.department_id) if user is not None and user.active else frozenset()
    if not roles & set(CASE_ROLES):
        raise NotFound()
    return wf.Actor(staff_id=staff_id, roles=roles, email=user.email if user else None)


@dataclass(frozen=True)
class ActResult:
    case: Case
    outcome: wf.Outcome
    event: CaseEvent


def _bump(session: Session, case: Case, seen_lock_version: int, **values: Any) -> None:
    """The one guarded write of a case: raises Conflict when its lock version moved on."""
    result = session.exec(  # type: ignore[call-overload]
        update(Case)
        .where(col(Case.id) == case.id, col(Case.lock_version) == seen_lock_version)
        .values(lock_version=col(Case.lock_version) + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict()
    session.expire(case)


def available_actions(session: Session, *, case_id: int, staff_id: int) -> list[wf.Transition]:
    """The buttons this member of staff gets on the case page (none while waiting for the citizen)."""
    case = load_case(session, case_id)
    actor = case_actor(session, case, staff_id)
    if case.waiting_for_citizen:
        return []
    definition = definition_of(session, case)
    return wf.allowed(workflow_for(session, case), _facts(session, case, definition, _answers(session, case)), actor)


def act(
    session: Session,
    *,
    case_id: int,
    seen_lock_version: int,
    staff_id: int,
    action: str,
    comment: str | None,
    now: datetime,
    secret_key: str,
    urls: CaseUrls | None = None,
    holidays: frozenset[date] = frozenset(),
    take_over: int | None = None,
) -> ActResult:
    """Take an action on a case the member of staff saw at ``seen_lock_version``.

    Raises :class:`Conflict` (someone acted first; nothing written), :class:`NotFound` (not
    their department), :class:`Assigned` (a colleague holds the case: ask first, then pass
    ``take_over`` = that colleague's id; they are told) or ``workflow.NotAllowed`` (the rules
    refuse it; nothing written). A request for information goes through
    :func:`request_information`, which needs questions.

    The case stays with whoever holds it (the actor, when they took it over) while that person
    can act at the step it moves to; otherwise it goes back to the team (unassigned) and those
    who can act there are told.
    """
    urls = urls or CaseUrls()
    case = load_case(session, case_id)
    actor = case_actor(session, case, staff_id)
    if case.lock_version != seen_lock_version:
        raise Conflict()
    if case.waiting_for_citizen:
        raise wf.NotAllowed("This case is waiting for the applicant's answers")
    loser = _contended(session, case, staff_id, take_over)
    definition = definition_of(session, case)
    workflow = workflow_for(session, case)
    answers = _answers(session, case)
    facts = _facts(session, case, definition, answers)
    outcome = wf.decide(workflow, facts, actor, action, comment, now)
    if outcome.request_information:
        raise wf.NotAllowed("Choose the questions to ask the applicant")
    from_state, entered_at = case.state, case.entered_state_at
    holder = staff_id if loser is not None else case.assigned_to
    values: dict[str, Any] = {"assigned_to": holder}
    if outcome.to_state is not None:
        final = workflow.states[outcome.to_state].final
        if holder is not None and not final:
            roles = actor.roles if holder == staff_id else _roles_in(session, holder, case.department_id)
            if not roles & set(_actors_of(workflow, outcome.to_state)):
                holder = None  # e.g. recommended for a manager's approval: back to the team
        values = {
            "state": outcome.to_state,
            "entered_state_at": now,
            "deadline_at": None if final else workflow.deadline_for(outcome.to_state, now, holidays),
            "escalated": False,
            "escalated_at": None,
            "replied_at": None,
            "closed_at": now if final else None,
            "assigned_to": holder,
        }
    previous_holder = case.assigned_to
    _bump(session, case, seen_lock_version, **values)

    def assignment() -> None:
        _assignment_event(session, case_id=case_id, now=now, staff_id=staff_id, before=previous_holder, after=holder)

    if holder != previous_holder and holder is not None:
        assignment()  # taken over: the history says so before the decision
    if outcome.approval is not None:
        session.add(
            CaseApproval(
                case_id=case_id,
                state=from_state,
                action=action,
                staff_id=staff_id,
                entered_at=entered_at,
                at=now,
            )
        )
    detail = None
    if outcome.approvals_needed > 1:
        detail = {"approvals": outcome.approvals_so_far, "needed": outcome.approvals_needed}
    reason = _reason(workflow, from_state, action, answers, comment)
    if reason:
        detail = {**(detail or {}), "reason": True}  # the comment is told to the applicant
    event = _event(
        session,
        case_id=case_id,
        now=now,
        kind="staff",
        action=action,
        actor_id=staff_id,
        from_state=from_state,
        to_state=outcome.to_state,
        comment=(comment or "").strip(),
        detail=detail,
    )
    if holder != previous_holder and holder is None:
        assignment()  # back to the team: a consequence of the decision, after it
    case = load_case(session, case_id)
    _tell_taken(session, loser=loser, case=case, actor=actor, urls=urls, now=now)
    if outcome.to_state is not None:
        common: dict[str, Any] = {"workflow": workflow, "case": case, "definition": definition, "now": now}
        if workflow.states[outcome.to_state].final:
            link = urls.status(status_token(case, secret_key))
            extra = _decision_extra(workflow, definition, outcome.to_state, reason)
            _message(session, kind="decision", recipients=[facts.citizen_email], link=link, extra=extra, **common)
        elif case.assigned_to is None:  # back to the team: those who can act at the new step hear of it
            staff = role_members(session, case.department_id, _actors_of(workflow, outcome.to_state))
            me = session.get(StaffUser, staff_id)
            name = me.name if me is not None else ""
            _tell(session, event="moved_to_your_step", recipients=staff, link=urls.case(case_id), actor=name, **common)
    session.flush()
    return ActResult(case, outcome, event)


# -- telling the applicant (issue 17, part C) -------------------------------------------------------


def _reason(workflow: wf.Workflow, state: str, action: str, answers: dict[str, Any], comment: str | None) -> str:
    """The comment of a decision whose transition asks for a reason: the applicant is told it."""
    transition = next((t for t in workflow.actions(state, answers) if t.action == action), None)
    if transition is None or transition.reason is None:
        return ""
    return (comment or "").strip()


def _decision_extra(workflow: wf.Workflow, definition: Definition, to_state: str, reason: str) -> str:
    """What the decision email says after the service's message: the reason, and how to appeal."""
    state = workflow.states[to_state]
    return applicant_messages.decision_text(
        reason, applicant_messages.appeal_paragraphs(state, definition, reasoned=bool(reason))
    )


# -- requests for information ---------------------------------------------------------------------


class ReplyByRefused(wf.NotAllowed):
    """The date the applicant is asked to reply by is not one they can be given."""


class DocumentsRefused(wf.NotAllowed):
    """The documents asked for cannot be asked for (too many, too long)."""


def request_information(
    session: Session,
    *,
    case_id: int,
    seen_lock_version: int,
    staff_id: int,
    questions: Sequence[str],
    message: str,
    now: datetime,
    urls: CaseUrls | None = None,
    action: str | None = None,
    reply_by: date | None = None,
    holidays: frozenset[date] = frozenset(),
    documents: Sequence[str] = (),
) -> tuple[Case, InformationRequest, str]:
    """Ask the citizen for more: ``questions`` are names of the service's own questions (none: a
    free-text reply; a free-text box is offered beside them as well), ``documents`` what they
    are to upload (each a short description, answered with a file), and ``reply_by`` the date to
    reply by (after today, within 90 days; by default the transition's ``reply_within``, else 14
    days). Returns the case, the request and the token for the citizen's link (only its SHA-256
    is stored). The email puts the message, the questions and the date in its text. The case
    waits in its state until the citizen answers; an "Applicant replied" tag is cleared."""
    urls = urls or CaseUrls()
    case = load_case(session, case_id)
    actor = case_actor(session, case, staff_id)
    if case.lock_version != seen_lock_version:
        raise Conflict()
    if case.waiting_for_citizen:
        raise wf.NotAllowed("This case is already waiting for the applicant's answers")
    definition = definition_of(session, case)
    workflow = workflow_for(session, case)
    answers = _answers(session, case)
    facts = _facts(session, case, definition, answers)
    offered = [t for t in workflow.actions(case.state, answers) if t.request_information]
    chosen = next((t for t in offered if action is None or t.action == action), None)
    if chosen is None:
        raise wf.NotAllowed("You cannot ask the applicant for more information at this step")
    names = list(dict.fromkeys(questions))
    unknown = [n for n in names if n not in definition.questions]
    if unknown:
        raise wf.NotAllowed(f"{', '.join(repr(n)[:60] for n in unknown[:3])} is not a question in this service")
    listed = [n for n in names if definition.widget(n) == "add-another"]
    if listed:  # its items have pages of their own, which a request's page does not have
        raise wf.NotAllowed(
            f"{definition.short_label(listed[0])} is a list and cannot be asked again: "
            "say in your message what you need to know"
        )
    if len(names) > MAX_QUESTIONS:
        raise wf.NotAllowed(f"Choose at most {MAX_QUESTIONS} questions")
    text = (message or "").strip()
    if not text:
        raise wf.NotAllowed("Enter a message to tell the applicant what you need")
    wanted = list(dict.fromkeys(" ".join(str(d).split()) for d in documents if str(d).strip()))
    problem = applicant_messages.documents_problem(wanted)
    if problem:
        raise DocumentsRefused(problem)
    day = reply_by or applicant_messages.default_reply_by(chosen, now, workflow.working_days, holidays)
    problem = applicant_messages.reply_by_problem(day, now.date())
    if problem:
        raise ReplyByRefused(problem)
    outcome = wf.decide(workflow, facts, actor, chosen.action, text, now)
    assert outcome.request_information
    _bump(session, case, seen_lock_version, waiting_for_citizen=True, replied_at=None)
    token = secrets.token_urlsafe(32)
    request = InformationRequest(
        case_id=case_id,
        token_hash=_token_hash(token),
        questions=names,
        message=text,
        created_at=now,
        return_state=case.state,
        asked_by=staff_id,
        reply_by=applicant_messages.end_of(day),
        documents=wanted or None,
    )
    session.add(request)
    session.flush()
    _event(
        session,
        case_id=case_id,
        now=now,
        kind="staff",
        action=chosen.action,
        actor_id=staff_id,
        from_state=case.state,
        comment=text,
        detail={
            "request_id": request.id,
            "questions": names,
            "reply_by": day.isoformat(),
            **({"documents": len(wanted)} if wanted else {}),
        },
    )
    case = load_case(session, case_id)
    _message(
        session,
        workflow=workflow,
        kind="information_requested",
        recipients=[facts.citizen_email],
        case=case,
        definition=definition,
        link=urls.answer(token),
        now=now,
        extra=applicant_messages.request_text(text, applicant_messages.question_labels(definition, names), day, wanted),
    )
    session.flush()
    return case, request, token


def information_request_for_token(session: Session, token: str | None) -> InformationRequest | None:
    """The request a citizen's link names (answered or not); None for an unknown token."""
    if not token or len(token) > MAX_TOKEN:
        return None
    return session.exec(select(InformationRequest).where(InformationRequest.token_hash == _token_hash(token))).first()


def open_information_request(session: Session, *, case_id: int) -> InformationRequest | None:
    """The request the case is waiting on (for the citizen's status page)."""
    return session.exec(
        select(InformationRequest)
        .where(InformationRequest.case_id == case_id, col(InformationRequest.answered_at).is_(None))
        .order_by(col(InformationRequest.id).desc())
    ).first()


def request_open(request: InformationRequest, case: Case) -> bool:
    """Whether the applicant may still answer ``request`` (send files or a reply): not answered,
    its case not erased, and the case waiting for them, or the request lapsed (its reply-by date
    passed) while the case is still open (a late answer is taken). An erasure closes the
    request and ends the wait (runtime.services.retention); the erased check stands besides."""
    if request.answered_at is not None or case.erased_at is not None:
        return False
    return case.waiting_for_citizen or (request.lapsed_at is not None and case.closed_at is None)


FREE_TEXT = "reply"  # the key of the applicant's written reply (always offered; required when no questions)


def offers_free_text(request: InformationRequest) -> bool:
    """Whether the answer page has a written-reply box beside the questions: always, unless the
    service has a question of that name among those asked (its answer goes under that name)."""
    return FREE_TEXT not in request.questions


DOCUMENT_PREFIX = "document-"  # a file sent for a request's first document: Upload.question "document-1"


def document_field(number: int) -> str:
    """The upload ``question`` (and the page's field) of a request's ``number``-th document, from 1."""
    return f"{DOCUMENT_PREFIX}{number}"


def _document_errors(session: Session, request: InformationRequest) -> dict[str, str]:
    """Each document asked for must have a file, and none may still be waiting for its virus
    scan: {field: message} for those that do not."""
    documents = request.documents or []
    if not documents:
        return {}
    rows = session.exec(select(Upload.question, Upload.status).where(Upload.request_id == request.id)).all()
    errors = {}
    for number, document in enumerate(documents, start=1):
        field = document_field(number)
        statuses = [status for question, status in rows if question == field]
        if "waiting" in statuses:
            errors[field] = f"Your file for ‘{document}’ is still being checked for viruses: try again in a few minutes"
        elif "clean" not in statuses:
            errors[field] = f"Select a file for ‘{document}’"
    return errors


def _check_information(
    definition: Definition, request: InformationRequest, original: dict[str, Any], given: dict[str, Any]
) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise InformationError({"": "Answer the questions"})
    asked = set(request.questions)
    free = offers_free_text(request)
    extra = [k for k in given if k not in asked and not (free and k == FREE_TEXT)]
    if extra:
        raise InformationError({str(k)[:60]: "This question was not asked" for k in extra[:5]})
    reply = given.get(FREE_TEXT) if free else None
    text = reply.strip() if isinstance(reply, str) else ""
    if free and reply is not None and not isinstance(reply, str):
        raise InformationError({FREE_TEXT: "Enter your reply as text"})
    if free and not request.questions and not request.documents and not text:
        raise InformationError({FREE_TEXT: "Enter your reply"})
    if len(text) > MAX_MESSAGE:
        raise InformationError({FREE_TEXT: f"Your reply must be {MAX_MESSAGE:,} characters or less"})
    written = {FREE_TEXT: text} if free and text else {}
    if not request.questions:
        return written
    from .validation import compiled

    # The new answers replace the old ones and the whole is validated, so rules that join
    # answers (one date after another, a conditional question) still hold; only errors on the
    # questions asked are the citizen's to fix now.
    answered = {k: v for k, v in given.items() if k in asked}
    merged = {k: v for k, v in original.items() if k not in asked} | answered
    errors = {path: text for path, text in compiled(definition).validate(merged).items() if path.split(".")[0] in asked}
    if errors:
        raise InformationError(errors)
    return {name: answered[name] for name in request.questions if name in answered} | written


def back_to_step(
    session: Session,
    *,
    case: Case,
    request: InformationRequest,
    workflow: wf.Workflow,
    now: datetime,
    holidays: frozenset[date] = frozenset(),
    **values: Any,
) -> bool:
    """The one write that ends a wait for the applicant: the case goes back to the step the
    request left, with that step's deadline counted again from ``now`` (never the whole-case
    ``decision_due_at``), and ``values`` besides. False when the case was not waiting any more."""
    back = request.return_state
    result = session.exec(  # type: ignore[call-overload]
        update(Case)
        .where(col(Case.id) == case.id, col(Case.waiting_for_citizen))
        .values(
            lock_version=col(Case.lock_version) + 1,
            waiting_for_citizen=False,
            state=back,
            deadline_at=workflow.deadline_for(back, now, holidays) if back in workflow.states else None,
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def answer_information(
    session: Session,
    *,
    request: InformationRequest,
    answers: dict[str, Any],
    now: datetime,
    urls: CaseUrls | None = None,
    holidays: frozenset[date] = frozenset(),
) -> Case:
    """Record the citizen's answers (checked against the service's schema) and return the case
    to the step it left, with that step's deadline counted again from now (the whole-case
    ``decision_due_at`` is not restarted). The case is tagged "Applicant replied"
    (``replied_at``) until a member of staff acts on it, and its assignee (else those who can
    act at that step) is told (event "applicant_replied"). An answer after the request lapsed
    (its reply-by date passed) is still taken while the case is open, where the case now is.

    Raises :class:`InformationError` (answers to fix) or :class:`Conflict` (already answered,
    or the case was decided or erased).
    """
    urls = urls or CaseUrls()
    # Locked first, as an erasure locks it: an answer is taken before an erasure (which then
    # empties it) or refused after it (the erasure closed the request).
    case = load_case(session, request.case_id, lock=True)
    if case.erased_at is not None:
        raise Conflict("This case is no longer waiting for your answers")
    definition = definition_of(session, case)
    workflow = workflow_for(session, case)
    missing = _document_errors(session, request)
    try:
        clean = _check_information(definition, request, _answers(session, case), answers)
    except InformationError as exc:
        raise InformationError({**exc.errors, **missing}) from None
    if missing:
        raise InformationError(missing)
    taken = session.exec(  # type: ignore[call-overload]
        update(InformationRequest)
        .where(col(InformationRequest.id) == request.id, col(InformationRequest.answered_at).is_(None))
        .values(answered_at=now, answers=clean)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise Conflict("These questions have already been answered")
    session.expire(request)
    back: str | None = request.return_state
    returned = back_to_step(
        session,
        case=case,
        request=request,
        workflow=workflow,
        now=now,
        holidays=holidays,
        escalated=False,
        replied_at=now,
    )
    detail: dict[str, Any] = {"request_id": request.id, "questions": list(request.questions)}
    if not returned:
        # A late answer, after the reply-by date lapsed the request and the case went back to
        # its step: kept while the case is still open (the applicant is not turned away), the
        # case tagged "Applicant replied" where it is and its staff told; a decided case refuses it.
        late = session.exec(  # type: ignore[call-overload]
            update(Case)
            .where(col(Case.id) == case.id, col(Case.closed_at).is_(None))
            .values(lock_version=col(Case.lock_version) + 1, replied_at=now)
            .execution_options(synchronize_session=False)
        )
        if request.lapsed_at is None or late.rowcount != 1:
            raise Conflict("This case is no longer waiting for your answers")
        back = None
        detail["late"] = True
    _event(
        session,
        case_id=case.id,  # type: ignore[arg-type]
        now=now,
        kind="citizen",
        action="information-answered",
        to_state=back,
        detail=detail,
    )
    case = load_case(session, request.case_id)
    assert case.id is not None
    assignee = session.get(StaffUser, case.assigned_to) if case.assigned_to is not None else None
    if assignee is not None and assignee.active:
        recipients = [assignee]
    else:
        recipients = role_members(session, case.department_id, _actors_of(workflow, case.state))
    _tell(
        session,
        event="applicant_replied",
        recipients=recipients,
        case=case,
        definition=definition,
        workflow=workflow,
        link=urls.case(case.id),
        now=now,
    )
    session.flush()
    return case


# -- assignment -------------------------------------------------------------------------------------

_ANY: Any = object()


def _check_assignee(session: Session, department_id: int, assignee_id: int | None) -> StaffUser | None:
    if assignee_id is None:
        return None
    user = session.get(StaffUser, assignee_id) if isinstance(assignee_id, int) else None
    if user is None or not user.active or not _roles_in(session, assignee_id, department_id) & set(CASE_ROLES):
        raise CaseError("Cases can only be assigned to a caseworker or manager of the case's department")
    return user


def assign(
    session: Session,
    *,
    case_id: int,
    assignee_id: int | None,
    staff_id: int,
    now: datetime,
    expected_assignee: int | None = _ANY,
    urls: CaseUrls | None = None,
    take_over: int | None = None,
) -> Case:
    """Assign a case (None: unassign). Anyone with a case role may take a case themselves; only a
    manager may give it to a colleague. ``expected_assignee`` (e.g. None for "assign to me"
    from the unassigned list) makes a colleague's assignment in the meantime a Conflict.

    Taking a case a colleague holds raises :class:`Assigned` unless ``take_over`` names that
    colleague (they confirmed); whoever loses a case to someone else is told."""
    urls = urls or CaseUrls()
    case = load_case(session, case_id)
    actor = case_actor(session, case, staff_id)
    if case.closed_at is not None:
        raise CaseError("This case is closed")
    if assignee_id is not None and assignee_id != staff_id and MANAGER not in actor.roles:
        raise CaseError("Only a manager can assign cases to colleagues")
    if assignee_id is None and case.assigned_to not in (None, staff_id) and MANAGER not in actor.roles:
        raise CaseError("Only a manager can take a case off a colleague")
    assignee = _check_assignee(session, case.department_id, assignee_id)
    previous = case.assigned_to
    if expected_assignee is not _ANY and previous != expected_assignee:
        raise Conflict("A colleague assigned this case while you were looking at it")  # a stale page: no question
    loser = None
    if assignee_id == staff_id:
        loser = _contended(session, case, staff_id, take_over)
    elif previous not in (None, staff_id, assignee_id):
        loser = session.get(StaffUser, previous) if previous is not None else None  # a manager moving it on
    condition = [col(Case.id) == case_id]
    if expected_assignee is not _ANY:
        condition.append(
            col(Case.assigned_to).is_(None) if expected_assignee is None else col(Case.assigned_to) == expected_assignee
        )
    if loser is not None:
        condition.append(col(Case.assigned_to) == previous)  # not someone else's since the question
    values: dict[str, Any] = {"assigned_to": assignee_id}
    if assignee_id == staff_id:
        values["replied_at"] = None  # taking it is acting on it: the reply is seen to
    result = session.exec(  # type: ignore[call-overload]
        update(Case).where(*condition).values(**values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("A colleague assigned this case while you were looking at it")
    _assignment_event(session, case_id=case_id, now=now, staff_id=staff_id, before=previous, after=assignee_id)
    case = load_case(session, case_id)
    _tell_taken(session, loser=loser, case=case, actor=actor, urls=urls, now=now)
    if assignee is not None and assignee_id != staff_id:
        me = session.get(StaffUser, staff_id)
        _tell(
            session,
            event="sent_to_you",
            recipients=[assignee],
            case=case,
            definition=definition_of(session, case),
            workflow=workflow_for(session, case),
            link=urls.case(case_id),
            now=now,
            actor=me.name if me is not None else "",
        )
    session.flush()
    return case


def assign_many(
    session: Session,
    *,
    case_ids: Sequence[int],
    assignee_id: int | None,
    staff_id: int,
    now: datetime,
    urls: CaseUrls | None = None,
) -> list[int]:
    """Assign several cases at once (at most 100); returns the ids assigned. Cases the member of
    staff cannot see, or that are closed, are left out; a refusal for one refuses all."""
    ids = [i for i in dict.fromkeys(case_ids) if isinstance(i, int) and 0 < i < 2**31]
    if len(ids) > MAX_BULK:
        raise CaseError(f"Choose at most {MAX_BULK} cases at a time")
    done = []
    for case_id in ids:
        # A manager's bulk choice is the confirmation: whoever held each case is told.
        holder = session.exec(select(Case.assigned_to).where(Case.id == case_id)).first()
        try:
            assign(
                session,
                case_id=case_id,
                assignee_id=assignee_id,
                staff_id=staff_id,
                now=now,
                urls=urls,
                take_over=holder,
            )
        except NotFound:
            continue
        except CaseError as exc:
            if exc.message == "This case is closed":
                continue
            raise
        done.append(case_id)
    return done


# -- deadlines --------------------------------------------------------------------------------------


def escalate_overdue(
    session: Session,
    *,
    now: datetime,
    urls: CaseUrls | None = None,
    limit: int = 1000,
    holidays: frozenset[date] = frozenset(),
) -> int:
    """Escalate the open cases that need a manager's eye; returns how many were escalated.

    - A case past its step's deadline, or past the service's whole-case deadline
      (``decision_due_at``), while not waiting for the applicant (their time does not count).
    - A case waiting for the applicant whose request's reply-by date has passed: the request
      lapses (``lapsed_at``) and the case goes back to its step (with that step's deadline
      counted again from now), so that staff can decide it on what they have or ask again;
      whoever asked, and the assignee, are told the applicant did not reply.

    Each escalation sets ``escalated`` and ``escalated_at``, is logged (action "escalate", with
    the reason), and tells the assigned caseworker and the step's ``escalate_to`` role
    (managers when the step names none): event "escalated_to_you". Idempotent: a case
    escalates once until someone acts on it (cases.act clears the flag) or a manager sends it
    back (runtime.case_escalation); run it as often as you like (``civicforms worker`` does).
    """
    urls = urls or CaseUrls()
    count = 0
    for request_id in _lapsed_requests(session, now=now, limit=limit):
        count += _lapse(session, request_id=request_id, now=now, urls=urls, holidays=holidays)
    open_and_working = (
        col(Case.closed_at).is_(None),
        col(Case.escalated).is_(false()),
        col(Case.waiting_for_citizen).is_(false()),
    )
    step = select(Case.id).where(*open_and_working, col(Case.deadline_at) <= now)
    # The whole-case target escalates a case once: not again after a manager sent it back.
    escalated_since_due = (
        select(CaseEvent.id)
        .where(
            col(CaseEvent.case_id) == col(Case.id),
            CaseEvent.action == "escalate",
            col(CaseEvent.at) >= col(Case.decision_due_at),
        )
        .exists()
    )
    whole = select(Case.id).where(*open_and_working, col(Case.decision_due_at) <= now, ~escalated_since_due)
    due = dict.fromkeys(
        [
            *session.exec(step.order_by(col(Case.deadline_at), col(Case.id)).limit(limit)).all(),
            *session.exec(whole.order_by(col(Case.decision_due_at), col(Case.id)).limit(limit)).all(),
        ]
    )
    for case_id in [int(i) for i in due if i is not None][: max(0, limit - count)]:
        result = session.exec(  # type: ignore[call-overload]
            update(Case)
            .where(
                col(Case.id) == case_id, col(Case.escalated).is_(false()), col(Case.waiting_for_citizen).is_(false())
            )
            .values(escalated=True, escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue  # another run got there first
        case = load_case(session, case_id)
        if case.deadline_at is not None and case.deadline_at <= now:
            reason, detail = "it has passed the deadline for its step", {"deadline": case.deadline_at.isoformat()}
        else:
            assert case.decision_due_at is not None
            reason = f"it was due to be decided by {_day(case.decision_due_at)}"
            detail = {"decision_due": case.decision_due_at.isoformat()}
        _escalate(session, case=case, now=now, urls=urls, reason=reason, detail=detail)
        count += 1
    session.flush()
    return count


def _day(moment: datetime) -> str:
    """'4 December 2026': how a date is written in a message."""
    return f"{moment.day} {moment:%B %Y}"


def _escalation_role(workflow: wf.Workflow, case: Case) -> str:
    state = workflow.states.get(case.state)
    return (state.escalate_to if state else None) or MANAGER


def _escalate(
    session: Session,
    *,
    case: Case,
    now: datetime,
    urls: CaseUrls,
    reason: str,
    detail: dict[str, Any],
    told: Sequence[StaffUser] = (),
) -> None:
    """Log an escalation already written to the case, and tell the assignee and the escalation
    role (except those in ``told``, who have just heard of it another way)."""
    assert case.id is not None
    definition = definition_of(session, case)
    workflow = workflow_for(session, case)
    role = _escalation_role(workflow, case)
    _event(
        session,
        case_id=case.id,
        now=now,
        kind="system",
        action="escalate",
        from_state=case.state,
        to_state=case.state,
        detail={**detail, "to_role": role},
    )
    assignee = session.get(StaffUser, case.assigned_to) if case.assigned_to is not None else None
    recipients = [*([assignee] if assignee is not None else []), *role_members(session, case.department_id, [role])]
    skip = {u.id for u in told}
    recipients = [u for u in recipients if u.id not in skip]
    _tell(
        session,
        event="escalated_to_you",
        recipients=recipients,
        case=case,
        definition=definition,
        workflow=workflow,
        link=urls.case(case.id),
        now=now,
        note=reason,
    )


def _lapsed_requests(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Unanswered requests whose reply-by date has passed and that have not lapsed yet."""
    rows = session.exec(
        select(InformationRequest.id)
        .where(
            col(InformationRequest.answered_at).is_(None),
            col(InformationRequest.lapsed_at).is_(None),
            col(InformationRequest.reply_by) <= now,
        )
        .order_by(col(InformationRequest.reply_by), col(InformationRequest.id))
        .limit(limit)
    ).all()
    return [int(i) for i in rows if i is not None]


def _lapse(session: Session, *, request_id: int, now: datetime, urls: CaseUrls, holidays: frozenset[date]) -> int:
    """Lapse one request and escalate its case; 1 when the case escalated, 0 when there was nothing to do."""
    taken = session.exec(  # type: ignore[call-overload]
        update(InformationRequest)
        .where(
            col(InformationRequest.id) == request_id,
            col(InformationRequest.answered_at).is_(None),
            col(InformationRequest.lapsed_at).is_(None),
        )
        .values(lapsed_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return 0  # answered, or lapsed by another run, in the meantime
    request = session.get(InformationRequest, request_id)
    assert request is not None
    session.refresh(request)
    case = load_case(session, request.case_id)
    if case.closed_at is not None or not case.waiting_for_citizen:
        return 0  # the case moved on some other way: the lapse is only recorded
    workflow = workflow_for(session, case)
    if not back_to_step(
        session,
        case=case,
        request=request,
        workflow=workflow,
        now=now,
        holidays=holidays,
        escalated=True,
        escalated_at=now,
    ):
        return 0
    assert case.id is not None and request.reply_by is not None
    reply_by = _day(request.reply_by)
    case = load_case(session, case.id)
    asker = session.get(StaffUser, request.asked_by) if request.asked_by is not None else None
    assignee = session.get(StaffUser, case.assigned_to) if case.assigned_to is not None else None
    told = [u for u in (asker, assignee) if u is not None]
    common: dict[str, Any] = {"case": case, "workflow": workflow, "now": now, "link": urls.case(request.case_id)}
    definition = definition_of(session, case)
    _tell(session, event="no_reply", recipients=told, definition=definition, due=reply_by, **common)
    reason = f"the applicant did not reply by {reply_by}"
    detail = {"lapsed_request": request_id, "reply_by": request.reply_by.isoformat()}
    _escalate(session, case=case, now=now, urls=urls, reason=reason, detail=detail, told=told)
    return 1


# -- publishing a version that changes the states ---------------------------------------------------


@dataclass(frozen=True)
class Stranded:
    """Open cases in a state that a new version of the service no longer has."""

    state: str
    count: int
    references: list[str]  # the first few, for the message


def stranded(session: Session, *, service_id: str, states: Iterable[str], shown: int = 10) -> list[Stranded]:
    """Open cases of the service whose state is not among ``states`` (two queries at most per state)."""
    keep = list(states)
    rows = session.exec(  # type: ignore[call-overload]
        select(Case.state, func.count())
        .where(Case.service_id == service_id, col(Case.closed_at).is_(None), col(Case.state).not_in(keep))
        .group_by(Case.state)
        .order_by(Case.state)
    ).all()
    return [
        Stranded(state, int(count), open_references(session, service_id=service_id, state=state, shown=shown))
        for state, count in rows
    ]


def open_references(session: Session, *, service_id: str, state: str, shown: int = 10) -> list[str]:
    """The references of the service's first ``shown`` open cases in ``state`` (oldest first)."""
    return list(
        session.exec(
            select(Case.reference)
            .where(Case.service_id == service_id, col(Case.closed_at).is_(None), Case.state == state)
            .order_by(col(Case.id))
            .limit(shown)
        ).all()
    )


def move_stranded(
    session: Session, *, service_id: str, mapping: dict[str, str], workflow: wf.Workflow, now: datetime, by: int | None
) -> int:
    """Move open cases from removed states to the states the publisher chose, each move in the audit log.

    A case moved to a final state is closed. Runs in the publishing transaction.
    """
    moved = 0
    for old, new in mapping.items():
        if new not in workflow.states:
            raise CaseError(f'"{new}" is not a state of the new version')
        final = workflow.states[new].final
        ids = [
            case_id
            for case_id in session.exec(
                select(Case.id).where(Case.service_id == service_id, col(Case.closed_at).is_(None), Case.state == old)
            ).all()
            if case_id is not None
        ]
        if not ids:
            continue
        session.exec(  # type: ignore[call-overload]
            update(Case)
            .where(col(Case.id).in_(ids))
            .values(
                state=new,
                lock_version=col(Case.lock_version) + 1,
                entered_state_at=now,
                closed_at=now if final else None,
                deadline_at=None if final else col(Case.deadline_at),
            )
            .execution_options(synchronize_session=False)
        )
        for case_id in ids:
            _event(
                session,
                case_id=case_id,
                now=now,
                kind="staff" if by is not None else "system",
                action="state-moved-at-publish",
                actor_id=by,
                from_state=old,
                to_state=new,
            )
        moved += len(ids)
    session.flush()
    return moved


__all__ = [
    "CASE_ROLES",
    "ActResult",
    "Assigned",
    "CaseError",
    "CaseUrls",
    "Conflict",
    "InformationError",
    "NotFound",
    "act",
    "answer_information",
    "assign",
    "assign_many",
    "available_actions",
    "back_to_step",
    "Stranded",
    "move_stranded",
    "stranded",
    "case_for_status_token",
    "escalate_overdue",
    "information_request_for_token",
    "open_case",
    "role_members",
    "open_information_request",
    "offers_free_text",
    "ReplyByRefused",
    "request_information",
    "status_token",
]

"""Deciding cases, as use cases: act on a case, ask the applicant for more information, the
applicant's answer, assign (one case or many), and escalate what is overdue.

Every public function takes the session explicitly, keyword arguments and the actor (the member
of staff's id; the applicant's link for an answer), owns its transaction (commits what it wrote,
or rolls all of it back and re-raises) and returns what happened or raises a domain error. The
rules and the concurrency are in :mod:`runtime.cases` and :mod:`runtime.workflow`; the back
office, the citizen's answer page and ``civicforms worker`` call these. Errors:

- ``cases.NotFound``: no such case, or not one this member of staff may see (a 404 on the web);
- :class:`Conflict`: someone changed the case first; nothing was written;
- :class:`Refused`: the rules refuse it; ``field`` says which part of the request is at fault
  (``action``, ``comment``, ``questions``, ``message``, ``reply_by``, ``assignee``,
  ``assignment``, ``cases``) and ``message`` why, in the product's words;
- :class:`AnswersInvalid`: the applicant's answers to put right, ``errors`` by field path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from .. import case_corrections, cases
from .. import workflow as wf
from ..models import Case, InformationRequest, utcnow
from .unit_of_work import atomic

NotFound = cases.NotFound
REPLY_BY = "reply_by"
DOCUMENTS = "documents"
ACTION, COMMENT, QUESTIONS, MESSAGE, ASSIGNEE, ASSIGNMENT, CASES = (
    "action",
    "comment",
    "questions",
    "message",
    "assignee",
    "assignment",
    "cases",
)


class CaseworkError(Exception):
    """A case use case refused; nothing was written. ``field``: what was wrong; ``message``: why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class Conflict(CaseworkError):
    """Someone changed the case (or answered the request) first: check it again."""


class Refused(CaseworkError):
    """The workflow's rules, or who may do what, refuse it."""


class Contended(CaseworkError):
    """The case is assigned to a colleague: ask the member of staff first ("This case is assigned
    to ... Continue?"), then call again with ``take_over=assignee_id``. Nothing was written."""

    def __init__(self, assignee_id: int, assignee_name: str):
        super().__init__(ASSIGNMENT, f"This case is assigned to {assignee_name}")
        self.assignee_id = assignee_id
        self.assignee_name = assignee_name


class AnswersInvalid(CaseworkError):
    """The applicant's answers to a request for information are not right: ``errors`` by path."""

    def __init__(self, errors: dict[str, str]):
        field, message = next(iter(errors.items())) if errors else ("", "Answer the questions")
        super().__init__(field, message)
        self.errors = dict(errors)


def _conflict(error: cases.Conflict, field: str) -> Conflict:
    return Conflict(field, error.message)


# -- acting on a case ---------------------------------------------------------------------------


def act(
    *,
    session: Session,
    actor: int,
    case_id: int,
    seen_lock_version: int,
    action: str,
    comment: str | None,
    secret_key: str,
    urls: cases.CaseUrls | None = None,
    holidays: frozenset[date] = frozenset(),
    now: datetime | None = None,
    take_over: int | None = None,
) -> cases.ActResult:
    """``actor`` takes ``action`` (approve, reject, ...) on the case they saw at
    ``seen_lock_version``, with ``comment``. Refused on ``comment`` when the action is one they
    may take but its comment is wrong (missing, too long), else on ``action``. :class:`Contended`
    when a colleague holds the case and ``take_over`` does not name them (they are told when it does)."""
    try:
        with atomic(session):
            result = cases.act(
                session,
                case_id=case_id,
                seen_lock_version=seen_lock_version,
                staff_id=actor,
                action=action,
                comment=comment,
                now=now or utcnow(),
                secret_key=secret_key,
                urls=urls,
                holidays=holidays,
                take_over=take_over,
            )
    except cases.Assigned as exc:
        raise Contended(exc.assignee_id, exc.assignee_name) from None
    except cases.Conflict as exc:
        raise _conflict(exc, ACTION) from None
    except wf.NotAllowed as exc:
        offered = {t.action for t in cases.available_actions(session, case_id=case_id, staff_id=actor)}
        session.rollback()  # the read above: end it, as every other path does
        raise Refused(COMMENT if action in offered else ACTION, exc.message) from None
    return result


def request_information(
    *,
    session: Session,
    actor: int,
    case_id: int,
    seen_lock_version: int,
    questions: Sequence[str],
    message: str,
    action: str | None = None,
    urls: cases.CaseUrls | None = None,
    now: datetime | None = None,
    reply_by: date | None = None,
    holidays: frozenset[date] = frozenset(),
    documents: Sequence[str] = (),
) -> tuple[Case, InformationRequest, str]:
    """``actor`` asks the applicant for more: some of the service's own questions (none: a
    free-text reply), documents to upload (each a short description) and a message, to answer
    by ``reply_by`` (default: the step's, else 14 days). Returns the case, the request and the
    token of the applicant's link (in the message written to them; only its hash is stored).
    Refused on ``reply_by`` for a date in the past or more than 90 days ahead, on ``documents``
    for too many or too long."""
    try:
        with atomic(session):
            made = cases.request_information(
                session,
                case_id=case_id,
                seen_lock_version=seen_lock_version,
                staff_id=actor,
                questions=questions,
                message=message,
                now=now or utcnow(),
                urls=urls,
                action=action,
                reply_by=reply_by,
                holidays=holidays,
                documents=documents,
            )
    except cases.Conflict as exc:
        raise _conflict(exc, ACTION) from None
    except cases.ReplyByRefused as exc:
        raise Refused(REPLY_BY, exc.message) from None
    except cases.DocumentsRefused as exc:
        raise Refused(DOCUMENTS, exc.message) from None
    except wf.NotAllowed as exc:
        case = session.get(Case, case_id)
        asked = cases.definition_of(session, case).questions if case is not None else {}
        session.rollback()  # the reads above: end them, as every other path does
        text = (message or "").strip()
        if any(q not in asked for q in questions) or len(set(questions)) > cases.MAX_QUESTIONS:
            field = QUESTIONS
        elif not text or len(text) > wf.MAX_COMMENT:
            field = MESSAGE
        else:
            field = ACTION
        raise Refused(field, exc.message) from None
    return made


def answer_request(
    *,
    session: Session,
    request: InformationRequest,
    answers: dict[str, Any],
    urls: cases.CaseUrls | None = None,
    holidays: frozenset[date] = frozenset(),
    now: datetime | None = None,
) -> Case:
    """The applicant answers ``request`` (the one their link names): the answers are checked
    against the service's rules, and the case returns to the step it left. Raises
    :class:`AnswersInvalid` (to put right) or :class:`Conflict` (answered already, or the case
    no longer waits)."""
    try:
        with atomic(session):
            case = cases.answer_information(
                session, request=request, answers=answers, now=now or utcnow(), urls=urls, holidays=holidays
            )
    except cases.InformationError as exc:
        raise AnswersInvalid(exc.errors) from None
    except cases.Conflict as exc:
        raise _conflict(exc, "") from None
    return case


# -- assignment ---------------------------------------------------------------------------------

_ANY: Any = object()


def assign(
    *,
    session: Session,
    actor: int,
    case_id: int,
    assignee: int | None,
    expected_assignee: int | None = _ANY,
    urls: cases.CaseUrls | None = None,
    now: datetime | None = None,
    take_over: int | None = None,
) -> Case:
    """``actor`` assigns the case to ``assignee`` (themselves, a colleague, None: nobody).
    With ``expected_assignee`` (who the page showed), a colleague's assignment in the meantime
    is a :class:`Conflict`. Taking a case a colleague holds is :class:`Contended` unless
    ``take_over`` names them. Refused on ``assignee`` when the colleague chosen cannot take it,
    else on ``assignment``."""
    expected = {} if expected_assignee is _ANY else {"expected_assignee": expected_assignee}
    try:
        with atomic(session):
            case = cases.assign(
                session,
                case_id=case_id,
                assignee_id=assignee,
                staff_id=actor,
                now=now or utcnow(),
                urls=urls,
                take_over=take_over,
                **expected,
            )
    except cases.NotFound:
        raise
    except cases.Assigned as exc:
        raise Contended(exc.assignee_id, exc.assignee_name) from None
    except cases.Conflict as exc:
        raise _conflict(exc, ASSIGNMENT) from None
    except cases.CaseError as exc:
        raise Refused(ASSIGNEE if assignee not in (None, actor) else ASSIGNMENT, exc.message) from None
    return case


def assign_many(
    *,
    session: Session,
    actor: int,
    case_ids: Sequence[int],
    assignee: int | None,
    urls: cases.CaseUrls | None = None,
    now: datetime | None = None,
) -> list[int]:
    """A manager assigns several cases at once (at most ``cases.MAX_BULK``); returns the ids
    assigned. Cases they cannot see, or closed, are left out; a refusal for one refuses all
    (``assignee``), and nothing is written."""
    try:
        with atomic(session):
            done = cases.assign_many(
                session, case_ids=case_ids, assignee_id=assignee, staff_id=actor, now=now or utcnow(), urls=urls
            )
    except cases.CaseError as exc:
        raise Refused(ASSIGNEE, exc.message) from None
    return done


# -- corrections: notes, send back, reopen ---------------------------------------------------------

NOTE, REASON = "note", "reason"


def add_note(*, session: Session, actor: int, case_id: int, text: str | None, now: datetime | None = None) -> None:
    """``actor`` writes an internal note on the case (never shown to the applicant). Refused on ``note``."""
    try:
        with atomic(session):
            case_corrections.add_note(session, case_id=case_id, staff_id=actor, text=text, now=now or utcnow())
    except cases.NotFound:
        raise
    except cases.CaseError as exc:
        raise Refused(NOTE, exc.message) from None


def send_back(
    *,
    session: Session,
    actor: int,
    case_id: int,
    seen_lock_version: int,
    reason: str | None,
    holidays: frozenset[date] = frozenset(),
    now: datetime | None = None,
) -> case_corrections.Moved:
    """``actor`` sends the open case back to the step it came from, with ``reason`` (audited).
    :class:`Conflict` when it changed since they saw it; Refused on ``reason`` or ``action``."""
    return _correct(case_corrections.send_back, session, actor, case_id, seen_lock_version, reason, holidays, now)


def reopen(
    *,
    session: Session,
    actor: int,
    case_id: int,
    seen_lock_version: int,
    reason: str | None,
    holidays: frozenset[date] = frozenset(),
    now: datetime | None = None,
) -> case_corrections.Moved:
    """A manager reopens the closed case at the step before its final one, with ``reason`` (audited)."""
    return _correct(case_corrections.reopen, session, actor, case_id, seen_lock_version, reason, holidays, now)


def _correct(
    move: Callable[..., case_corrections.Moved],
    session: Session,
    actor: int,
    case_id: int,
    seen: int,
    reason: str | None,
    holidays: frozenset[date],
    now: datetime | None,
) -> case_corrections.Moved:
    try:
        with atomic(session):
            moved = move(
                session,
                case_id=case_id,
                seen_lock_version=seen,
                staff_id=actor,
                reason=reason,
                now=now or utcnow(),
                holidays=holidays,
            )
    except cases.NotFound:
        raise
    except cases.Conflict as exc:
        raise _conflict(exc, ACTION) from None
    except cases.CaseError as exc:
        text = (reason or "").strip()
        field = REASON if not text or len(text) > case_corrections.MAX_REASON else ACTION
        raise Refused(field, exc.message) from None
    return moved


# -- deadlines ----------------------------------------------------------------------------------


def escalate_overdue(
    *,
    session_factory: Callable[[], Session],
    urls: cases.CaseUrls | None = None,
    now: datetime | None = None,
    limit: int = 1000,
    holidays: frozenset[date] = frozenset(),
) -> int:
    """Escalate the open cases past their step's or the whole case's deadline, and lapse the
    requests past their reply-by date (at most ``limit``; runtime.cases.escalate_overdue), in one
    transaction of its own session: each logged, the assignee and the step's ``escalate_to`` role
    told. Returns how many. For ``civicforms worker``; idempotent, so run it as often as you like."""
    with session_factory() as session, atomic(session):
        count = cases.escalate_overdue(session, now=now or utcnow(), urls=urls, limit=limit, holidays=holidays)
    return count

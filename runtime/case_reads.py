"""What the back office and the citizen's status page read about cases: the keyset-paginated
inbox with its filters and search, the case page, a citizen's other cases, the status page.

Reads only: nothing here writes or commits. The actions on a case (open, act, requests for
information, assignment, escalation, the audit log, moving cases at publish) and the rules the
reads share with them (who may see a case, which steps it follows) are in runtime/cases.py.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlmodel import Session, col, select

from . import workflow as wf
from .cases import (
    CASE_ROLES,
    CaseError,
    case_actor,
    definition_of,
    load_case,
    open_information_request,
    search_key,
    workflow_for,
)
from .definition import Definition
from .models import (
    Case,
    CaseEvent,
    CaseEventComment,
    InformationRequest,
    LegalHold,
    Service,
    StaffRole,
    StaffUser,
    Submission,
)
from .references import normalise_reference

MAX_PAGE = 100
MAX_SEARCH = 100


class InvalidCursor(CaseError):
    """An ``after`` cursor that this module did not make."""

    def __init__(self) -> None:
        super().__init__("That page of the inbox no longer exists: start from the first page")


def _after_prefix(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (in code point
    order, which is byte order in UTF-8); None when there is none."""
    prefix = prefix.rstrip("\U0010ffff")
    if not prefix:
        return None
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates are not characters
        last = 0xE000
    return prefix[:-1] + chr(last)


def _starts_with(column: Any, prefix: str, postgresql: bool) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as a range an index reads: byte-wise on both
    databases (SQLite compares text with memcmp; on PostgreSQL ``~>=~`` and ``~<~`` are the
    text_pattern_ops operators, which ignore the collation)."""
    upper = _after_prefix(prefix)
    if postgresql:
        low = column.op("~>=~", is_comparison=True)(prefix)
        high = column.op("~<~", is_comparison=True)(upper) if upper is not None else None
    else:
        low = column >= prefix
        high = column < upper if upper is not None else None
    return and_(low, high) if high is not None else low


# -- the inbox --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    service_id: str | None = None
    state: str | None = None
    assigned: str | None = None  # "me" | "unassigned" | None (anyone)
    overdue: bool = False
    search: str | None = None  # a reference or a citizen's name: prefix, any case
    include_closed: bool = False  # closed cases are left out unless asked for (or a state is chosen)


@dataclass(frozen=True)
class InboxRow:
    id: int
    reference: str
    service_id: str
    service_title: str
    service_version: int
    state: str
    citizen_name: str | None
    assigned_to: int | None
    assignee_name: str | None
    deadline_at: datetime | None
    escalated: bool
    waiting_for_citizen: bool
    closed_at: datetime | None
    lock_version: int

    def overdue(self, now: datetime) -> bool:
        return (
            self.closed_at is None
            and not self.waiting_for_citizen
            and self.deadline_at is not None
            and self.deadline_at < now
        )


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow] = field(default_factory=list)
    next_cursor: str | None = None  # pass as ``after`` for the next page; None on the last page


def _cursor(deadline: datetime | None, case_id: int) -> str:
    raw = json.dumps([deadline.isoformat() if deadline else None, case_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(text: str) -> tuple[datetime | None, int]:
    try:
        if len(text) > 200:
            raise ValueError
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        deadline, case_id = json.loads(raw)
        if not isinstance(case_id, int) or isinstance(case_id, bool) or not 0 < case_id < 2**31:
            raise ValueError
        at = datetime.fromisoformat(deadline) if deadline is not None else None
        if at is not None and at.tzinfo is None:
            raise ValueError
        return at, case_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None


_WHOLE_REFERENCE = re.compile(r"[A-Z0-9]{1,10}-[A-Z0-9]{4}-[A-Z0-9]{4}")


def _whole_reference(search: str) -> str | None:
    """The reference a search names in full (as typed back: any case, spaces), else None.

    Only with a digit in it: a long name squashes into the shape of a reference too. (The few
    references with no digit are still found, by the slower search below.)"""
    if not search or len(search) > 40 or not any(ch.isdigit() for ch in search):
        return None
    reference = normalise_reference(search)
    return reference if _WHOLE_REFERENCE.fullmatch(reference) else None


_REFERENCE_PREFIX = re.compile(r"[A-Z0-9-]{1,20}")


def _search(search: str, postgresql: bool) -> list[ColumnElement[bool]]:
    """Cases whose name (as written or surname first) or reference starts with ``search``,
    as arms to OR; none when nothing could match. Each arm is a range of one index of
    migration 0004."""
    arms: list[ColumnElement[bool]] = []
    key = search_key(search)
    if key:
        arms.append(_starts_with(col(Case.search_name), key, postgresql))
        arms.append(_starts_with(col(Case.search_surname), key, postgresql))
    reference = search.upper().replace(" ", "")
    if _REFERENCE_PREFIX.fullmatch(reference):
        arms.append(_starts_with(col(Case.reference), reference, postgresql))
    return arms


def inbox(
    session: Session,
    *,
    staff_id: int,
    now: datetime,
    department_ids: Sequence[int] | None = None,
    filters: InboxFilters | None = None,
    after: str | None = None,
    limit: int = 50,
) -> InboxPage:
    """One page of the cases this member of staff can work on, soonest deadline first (no
    deadline last), then by id; ``after`` is the previous page's ``next_cursor``.

    Only departments where they hold a case role (``department_ids`` narrows further). One
    query per page, served by the indexes of migration 0003.
    """
    filters = filters or InboxFilters()
    limit = max(1, min(int(limit), MAX_PAGE))
    assignee = StaffUser.__table__.alias("assignee")  # type: ignore[attr-defined]
    mine = select(StaffRole.department_id).where(
        StaffRole.user_id == staff_id, col(StaffRole.role).in_(list(CASE_ROLES))
    )
    query = (
        select(  # type: ignore[call-overload,misc]
            Case.id,
            Case.reference,
            Case.service_id,
            Service.title,
            Case.service_version,
            Case.state,
            Case.citizen_name,
            Case.assigned_to,
            assignee.c.name,
            Case.deadline_at,
            Case.escalated,
            Case.waiting_for_citizen,
            Case.closed_at,
            Case.lock_version,
        )
        .join(Service, col(Service.id) == Case.service_id)
        .outerjoin(assignee, assignee.c.id == Case.assigned_to)
        .where(col(Case.department_id).in_(mine))
    )
    if department_ids is not None:
        query = query.where(col(Case.department_id).in_(list(department_ids)))
    # SQLite, searching, would rather walk the deadline index (``closed_at IS NULL`` and the
    # deadline make it one range) testing every open case: 200-300 ms for a rare name at
    # 1,000,000 cases. With closed_at and deadline_at out of its reach (coalesce), it reads the
    # search indexes (MULTI-INDEX OR) and sorts the few cases found. PostgreSQL needs no help.
    search = " ".join((filters.search or "").split())[:MAX_SEARCH]
    blind = bool(search) and not _whole_reference(search) and session.get_bind().dialect.name == "sqlite"

    def unindexed(column: Any) -> Any:
        return func.coalesce(column, None) if blind else column

    if filters.service_id:
        query = query.where(Case.service_id == filters.service_id)
    if filters.state:
        query = query.where(Case.state == filters.state)
    elif not filters.include_closed:
        query = query.where(unindexed(col(Case.closed_at)).is_(None))
    if filters.assigned == "me":
        query = query.where(Case.assigned_to == staff_id)
    elif filters.assigned == "unassigned":
        query = query.where(col(Case.assigned_to).is_(None))
    if filters.overdue:
        query = query.where(
            col(Case.deadline_at) < now, col(Case.closed_at).is_(None), col(Case.waiting_for_citizen).is_(false())
        )
    whole = _whole_reference(search)
    if whole:  # a whole reference is never a name: the unique index finds it at once
        query = query.where(Case.reference == whole)
    elif search:
        arms = _search(search, session.get_bind().dialect.name == "postgresql")
        if not arms:  # punctuation only: no name or reference is made of that
            return InboxPage()
        # PostgreSQL reads each arm's index within the departments and ORs them (BitmapOr).
        # SQLite (at 1,000,000 cases) prefers to walk the deadline index instead: a rare name
        # costs it 200-300 ms there, as before these indexes (see the report of 0004).
        query = query.where(or_(*arms))
    if after:
        deadline, last_id = _read_cursor(after)
    else:
        deadline, last_id = None, None
    # Ordered as the indexes are, so that a page reads about ``limit`` index entries however
    # many cases there are: the cases with a deadline first (``deadline_at >= :d`` is an index
    # range, where ``> :d OR (= :d AND id > :id)`` would be a filter over every earlier entry),
    # then those without one. One query per page, two at the turn from the one to the other.
    # Open cases are in the department index under ``closed_at IS NULL``, which PostgreSQL does
    # not treat as a constant when matching ORDER BY to an index: ordering by ``closed_at``
    # too (all null) lets it read the index in order instead of sorting every open case.
    order = [col(Case.deadline_at), col(Case.id)]
    # Not for a search: the search indexes (migration 0004) find the matching cases, and
    # sorting those costs less than walking every open case in deadline order to meet them.
    if not filters.state and not filters.include_closed and not (search and not whole):
        order.insert(0, col(Case.closed_at))
    rows: list[InboxRow] = []
    if after is None or deadline is not None:
        dated = query.where(unindexed(col(Case.deadline_at)).is_not(None))
        if deadline is not None and last_id is not None:
            dated = dated.where(
                unindexed(col(Case.deadline_at)) >= deadline,
                or_(col(Case.deadline_at) > deadline, col(Case.id) > last_id),
            )
        rows = [InboxRow(*row) for row in session.exec(dated.order_by(*order).limit(limit + 1)).all()]
    if len(rows) <= limit:
        undated = query.where(unindexed(col(Case.deadline_at)).is_(None))
        if deadline is None and last_id is not None:
            undated = undated.where(col(Case.id) > last_id)
        found = session.exec(undated.order_by(*order).limit(limit + 1 - len(rows))).all()
        rows += [InboxRow(*row) for row in found]
    more = len(rows) > limit
    rows = rows[:limit]
    return InboxPage(rows, _cursor(rows[-1].deadline_at, rows[-1].id) if more and rows else None)


# -- the case page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event: CaseEvent
    actor_name: str | None  # None for the citizen and the system
    comment: str | None = None  # what staff wrote with it (case_event_comment), if anything


@dataclass(frozen=True)
class LegalHoldRow:
    hold: LegalHold
    placed_by_name: str | None  # None: a former colleague's account was removed


@dataclass(frozen=True)
class Shared:
    """What other departments' cases a viewer may see (runtime.data.sharing.Visible's fields,
    passed as plain values: this layer sits below the data layer). Their own case-role
    departments are always seen."""

    departments: Collection[int] = ()
    services: Mapping[int, Collection[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseDetail:
    case: Case
    submission: Submission
    definition: Definition
    workflow: wf.Workflow
    events: list[EventRow]
    information_requests: list[InformationRequest]
    other_cases: list[Case]  # the same citizen's other cases this staff member may see (Shared)
    assignee: StaffUser | None
    # The rest, only counted: (department id, how many), for "ask that department for them".
    elsewhere: list[tuple[int, int]] = field(default_factory=list)
    legal_holds: list[LegalHoldRow] = field(default_factory=list)  # in force, oldest first


def case_detail(session: Session, *, case_id: int, staff_id: int, shared: Shared | None = None) -> CaseDetail:
    """Everything the case page shows; NotFound unless the staff member has a case role in its department.

    The applicant's other cases: those in the staff member's departments and those ``shared``
    with them (sharing agreements in force); the rest are only counted, per department."""
    case = load_case(session, case_id)
    case_actor(session, case, staff_id)
    submission = session.get(Submission, case.submission_id)
    assert submission is not None
    definition = definition_of(session, case)
    events = [
        EventRow(event, name, comment)
        for event, name, comment in session.exec(
            select(CaseEvent, StaffUser.name, CaseEventComment.text)  # type: ignore[call-overload,misc]
            .outerjoin(StaffUser, col(StaffUser.id) == CaseEvent.actor_id)
            .outerjoin(CaseEventComment, col(CaseEventComment.event_id) == CaseEvent.id)
            .where(CaseEvent.case_id == case_id)
            .order_by(col(CaseEvent.id))
        ).all()
    ]
    requests = list(
        session.exec(
            select(InformationRequest).where(InformationRequest.case_id == case_id).order_by(col(InformationRequest.id))
        )
    )
    others = cases_of_citizens(
        session, citizen_ids=[case.citizen_id], staff_id=staff_id, leave_out=case_id, shared=shared
    )
    elsewhere = [
        (department_id, count)
        for _citizen, department_id, count in cases_not_shared(
            session, citizen_ids=[case.citizen_id], staff_id=staff_id, leave_out=case_id, shared=shared
        )
    ]
    assignee = session.get(StaffUser, case.assigned_to) if case.assigned_to is not None else None
    return CaseDetail(
        case,
        submission,
        definition,
        workflow_for(session, case),
        events,
        requests,
        others,
        assignee,
        elsewhere,
        legal_holds(session, case_id=case_id),
    )


def legal_holds(session: Session, *, case_id: int) -> list[LegalHoldRow]:
    """The legal holds in force on a case, oldest first, with who placed each."""
    rows = session.exec(
        select(LegalHold, StaffUser.name)  # type: ignore[call-overload,misc]
        .outerjoin(StaffUser, col(StaffUser.id) == LegalHold.placed_by)
        .where(LegalHold.case_id == case_id, col(LegalHold.released_at).is_(None))
        .order_by(col(LegalHold.id))
    ).all()
    return [LegalHoldRow(hold, name) for hold, name in rows]


def case_departments(session: Session, staff_id: int) -> list[int]:
    """The departments where this staff member has a case role."""
    return sorted(
        set(
            session.exec(
                select(StaffRole.department_id).where(
                    StaffRole.user_id == staff_id, col(StaffRole.role).in_(list(CASE_ROLES))
                )
            )
        )
    )


def _seen(staff_id: int, shared: Shared | None) -> ColumnElement[bool]:
    """The cases this staff member may see: their case-role departments', and what is shared."""
    mine = select(StaffRole.department_id).where(
        StaffRole.user_id == staff_id, col(StaffRole.role).in_(list(CASE_ROLES))
    )
    arms: list[ColumnElement[bool]] = [col(Case.department_id).in_(mine)]
    if shared is not None:
        if shared.departments:
            arms.append(col(Case.department_id).in_(sorted(shared.departments)))
        for department_id, services in sorted(shared.services.items()):
            if services:
                arms.append(and_(col(Case.department_id) == department_id, col(Case.service_id).in_(sorted(services))))
    return or_(*arms)


def cases_of_citizens(
    session: Session,
    *,
    citizen_ids: Sequence[int],
    staff_id: int,
    leave_out: int | None = None,
    limit: int = 50,
    shared: Shared | None = None,
) -> list[Case]:
    """Cases of these citizen records in the departments where this staff member has a case role
    (and those ``shared`` with them), newest first (at most ``limit``; one query)."""
    if not citizen_ids:
        return []
    query = select(Case).where(col(Case.citizen_id).in_(list(citizen_ids)), _seen(staff_id, shared))
    if leave_out is not None:
        query = query.where(Case.id != leave_out)
    return list(session.exec(query.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(limit)))


def cases_not_shared(
    session: Session,
    *,
    citizen_ids: Sequence[int],
    staff_id: int,
    leave_out: int | None = None,
    shared: Shared | None = None,
) -> list[tuple[int, int, int]]:
    """(citizen id, department id, number of cases) of these records' cases this staff member
    may not see: a count, never a reference, service, state or date (one query)."""
    if not citizen_ids:
        return []
    query = (
        select(Case.citizen_id, Case.department_id, func.count())  # type: ignore[call-overload]
        .where(col(Case.citizen_id).in_(list(citizen_ids)), ~_seen(staff_id, shared))
        .group_by(col(Case.citizen_id), col(Case.department_id))
        .order_by(col(Case.citizen_id), col(Case.department_id))
    )
    if leave_out is not None:
        query = query.where(Case.id != leave_out)
    return [(int(c), int(d), int(n)) for c, d, n in session.exec(query).all()]


# -- the citizen's status page -----------------------------------------------------------------------


@dataclass(frozen=True)
class CitizenStatus:
    """What the citizen's status page shows: never a staff member's name or comment."""

    case: Case
    definition: Definition
    state: wf.State
    submitted_at: datetime
    waiting_on: InformationRequest | None  # the open request for information, if any
    timeline: list[tuple[datetime, str]]  # newest first


def citizen_status(session: Session, case: Case) -> CitizenStatus:
    """The state of a case in the citizen's words, with the steps it has been through."""
    assert case.id is not None
    definition = definition_of(session, case)
    workflow = workflow_for(session, case)
    submission = session.get(Submission, case.submission_id)
    assert submission is not None
    timeline: list[tuple[datetime, str]] = []
    for event in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))):
        detail = event.detail or {}
        if event.action == "information-answered":
            timeline.append((event.at, "You sent the information we asked for"))
        elif event.actor_kind == "staff" and "request_id" in detail:
            timeline.append((event.at, "We asked you for more information"))
        elif event.to_state and event.to_state in workflow.states and event.to_state != event.from_state:
            timeline.append((event.at, workflow.states[event.to_state].citizen_text))
    timeline.reverse()
    state = workflow.states.get(case.state) or wf.State(case.state, case.state, False, case.state, None, None)
    waiting = open_information_request(session, case_id=case.id) if case.waiting_for_citizen else None
    return CitizenStatus(case, definition, state, submission.submitted_at, waiting, timeline)


def case_for_reference(session: Session, reference: str) -> Case | None:
    """The case of a submission reference (the confirmation page links to its status)."""
    return session.exec(select(Case).where(Case.reference == reference)).first()


__all__ = [
    "CaseDetail",
    "CitizenStatus",
    "EventRow",
    "InboxFilters",
    "InboxPage",
    "InboxRow",
    "InvalidCursor",
    "case_detail",
    "case_for_reference",
    "case_departments",
    "cases_of_citizens",
    "citizen_status",
    "inbox",
]

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
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, false, func, or_, true, union_all
from sqlalchemy import text as sql_text
from sqlmodel import Session, col, select

from . import applicant_messages, case_search
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
    CaseSearchTerm,
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


# -- the inbox ---------------------------------------------------------------------------------------

# The orders the inbox offers (issue 17): by deadline (soonest first, no deadline last), by when
# the case was received (cases are numbered as they are opened, so the id is that order and
# needs no index of its own) and by reference. "-" before one reverses it.
SORTS = ("deadline", "-deadline", "received", "-received", "reference", "-reference")
COUNT_CAP = 1_000  # the inbox counts up to this many cases, then says "more than"
EXPORT_BATCH = 1_000  # rows read at a time while streaming an export


@dataclass(frozen=True)
class InboxFilters:
    service_id: str | None = None
    state: str | None = None
    assigned: str | None = None  # "me" | "unassigned" | None (anyone)
    overdue: bool = False
    search: str | None = None  # a reference, a citizen's name, email, phone, postcode or searchable answer
    include_closed: bool = False  # closed cases are left out unless asked for (or a state is chosen)
    closed_only: bool = False  # only cases that are closed
    replied: bool = False  # the applicant replied since staff last acted (tag "Applicant replied")
    escalated: bool = False  # tag "Escalated"
    # "Needs my action": assigned to me, or unassigned and in one of ``actionable`` (service id,
    # state) pairs (where a role this person holds can act), or unassigned with the applicant's
    # reply waiting. The caller works out the pairs from the definitions' workflows.
    needs_action: bool = False
    actionable: tuple[tuple[str, str], ...] = ()
    sort: str = "deadline"  # one of SORTS


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
    created_at: datetime | None = None  # received
    decision_due_at: datetime | None = None  # the whole-case deadline ("Decide by")
    replied_at: datetime | None = None  # the applicant replied and no member of staff has acted since

    def overdue(self, now: datetime) -> bool:
        """Open, not waiting for the applicant, and past its step's deadline or its decide-by date."""
        if self.closed_at is not None or self.waiting_for_citizen:
            return False
        return any(due is not None and due < now for due in (self.deadline_at, self.decision_due_at))

    def age_days(self, now: datetime) -> int:
        """Whole days since the case was received (0 on its first day)."""
        return max(0, (now - self.created_at).days) if self.created_at is not None else 0

    def tags(self, now: datetime) -> list[str]:
        """The inbox's tags, in the order shown: "Applicant replied", "Escalated", "Overdue"."""
        found = []
        if self.replied_at is not None and self.closed_at is None:
            found.append("Applicant replied")
        if self.escalated and self.closed_at is None:
            found.append("Escalated")
        if self.overdue(now):
            found.append("Overdue")
        return found


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow] = field(default_factory=list)
    next_cursor: str | None = None  # pass as ``after`` for the next page; None on the last page
    total: int | None = None  # how many cases match (at most COUNT_CAP; None when not counted)
    more_than: bool = False  # more than COUNT_CAP match: ``total`` is the cap


def _sort_of(sort: str) -> tuple[str, bool]:
    """(key, descending) of a sort; an unknown sort is the default."""
    sort = sort if sort in SORTS else "deadline"
    return sort.lstrip("-"), sort.startswith("-")


def _cursor(value: datetime | str | None, case_id: int, sort: str = "deadline") -> str:
    """The position after a row: [deadline, id] for the deadline orders (as before issue 17),
    [sort, value, id] for the others, so that a cursor of one order is refused by another."""
    key, _desc = _sort_of(sort)
    shown = value.isoformat() if isinstance(value, datetime) else value
    parts: list[Any] = [shown, case_id] if key == "deadline" else [sort, shown, case_id]
    raw = json.dumps(parts, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(text: str, sort: str = "deadline") -> tuple[Any, int]:
    """(value, id) of a cursor made by _cursor for this sort; InvalidCursor otherwise."""
    key, _desc = _sort_of(sort)
    try:
        if len(text) > 200:
            raise ValueError
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        parts = json.loads(raw)
        if not isinstance(parts, list):
            raise ValueError
        if key == "deadline":
            value, case_id = parts
        else:
            made_for, value, case_id = parts
            if made_for != (sort if sort in SORTS else "deadline"):
                raise ValueError
        if not isinstance(case_id, int) or isinstance(case_id, bool) or not 0 < case_id < 2**31:
            raise ValueError
        if key == "deadline":
            at = datetime.fromisoformat(value) if value is not None else None
            if at is not None and at.tzinfo is None:
                raise ValueError
            return at, case_id
        if key == "reference":
            if not isinstance(value, str) or not value or len(value) > 20:
                raise ValueError
            return value, case_id
        if value is not None:  # received: the id says it all
            raise ValueError
        return None, case_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None


_WHOLE_REFERENCE = re.compile(r"[A-Z0-9]{1,10}-[A-Z0-9]{4}-[A-Z0-9]{4}")


def _whole_reference(search: str) -> str | None:
    """The reference a search names in full (as typed back: any case, spaces), else None.

    Only with a digit in it: a long name squashes into the shape of a reference too. (The few
    references with no digit are still found, by the slower search below.)"""
    if not search or len(search) > 40 or not any(ch.isdigit() for ch in search):
        return None
    if case_search.phone_prefix(search):  # "07700 900123" squashes into a reference's shape too
        return None
    reference = normalise_reference(search)
    return reference if _WHOLE_REFERENCE.fullmatch(reference) else None


_REFERENCE_PREFIX = re.compile(r"[A-Z0-9-]{1,20}")


def _search(
    search: str, postgresql: bool, conditions: Sequence[Any], with_terms: bool = True
) -> ColumnElement[bool] | None:
    """Cases whose name (as written or surname first) or reference starts with ``search``, or
    with an email, phone, postcode or searchable answer starting with it (case_search_term);
    None when nothing could match. Each arm is a range of one index (migrations 0004 and 0009).

    With search terms to look in, the two are one ``id IN (... UNION ALL ...)``: an ``OR`` of
    the name ranges and a subquery would keep PostgreSQL from reading the name indexes (it
    walked every open case of the department instead: a second for "smith" at 1,000,000 cases).
    ``conditions`` (the caller's other filters, the departments first) apply to the name
    branch too, so that it reads only the index entries the page can show."""
    arms: list[ColumnElement[bool]] = []
    key = search_key(search)
    if key:
        arms.append(_starts_with(col(Case.search_name), key, postgresql))
        arms.append(_starts_with(col(Case.search_surname), key, postgresql))
    reference = search.upper().replace(" ", "")
    if _REFERENCE_PREFIX.fullmatch(reference):
        arms.append(_starts_with(col(Case.reference), reference, postgresql))
    terms = _terms(search, postgresql) if with_terms else None
    if terms is None:
        return or_(*arms) if arms else None
    found = select(CaseSearchTerm.case_id).where(terms)
    if arms:
        by_name = select(col(Case.id)).where(*conditions, or_(*arms))
        return col(Case.id).in_(union_all(by_name, found))
    return col(Case.id).in_(found)


def _terms(search: str, postgresql: bool) -> ColumnElement[bool] | None:
    return case_search.term_arms(search, lambda column, prefix: _starts_with(column, prefix, postgresql))


_COLUMNS = (
    Case.id,
    Case.reference,
    Case.service_id,
    Service.title,
    Case.service_version,
    Case.state,
    Case.citizen_name,
    Case.assigned_to,
    None,  # the assignee's name (an alias, added below)
    Case.deadline_at,
    Case.escalated,
    Case.waiting_for_citizen,
    Case.closed_at,
    Case.lock_version,
    Case.created_at,
    Case.decision_due_at,
    Case.replied_at,
)


@dataclass(frozen=True)
class _Filtered:
    query: Any  # the SELECT of InboxRow's columns with every filter applied but the search
    blind: bool  # SQLite is kept off the deadline index (see below)
    whole: bool  # the search named a whole reference
    searching: bool
    empty: bool = False  # nothing could match
    conds: tuple[Any, ...] = ()  # the filters, for the search's name branch
    text: str = ""  # the search (not a whole reference), "" without one
    postgresql: bool = False
    with_terms: bool = True  # some case_search_term matches the search

    def where(self, *extra: Any) -> Any:
        """The query narrowed by ``extra`` (a phase of the deadline order), with the search
        applied within the same conditions, so that its name branch reads only those index
        entries (open cases only, in the dated phase)."""
        query = self.query.where(*extra)
        if self.text:
            found = _search(self.text, self.postgresql, (*self.conds, *extra), self.with_terms)
            query = query.where(found if found is not None else false())
        return query


def _filtered(
    session: Session,
    *,
    staff_id: int,
    now: datetime,
    department_ids: Sequence[int] | None,
    filters: InboxFilters,
    columns: Sequence[Any] | None = None,
) -> _Filtered:
    assignee = StaffUser.__table__.alias("assignee")  # type: ignore[attr-defined]
    mine = select(StaffRole.department_id).where(
        StaffRole.user_id == staff_id, col(StaffRole.role).in_(list(CASE_ROLES))
    )
    if columns is None:
        chosen = [assignee.c.name if c is None else c for c in _COLUMNS]
        query = (
            select(*chosen)  # type: ignore[call-overload,arg-type]
            .join(Service, col(Service.id) == Case.service_id)
            .outerjoin(assignee, assignee.c.id == Case.assigned_to)
        )
    else:
        query = select(*columns)  # type: ignore[call-overload,arg-type]
    departments = [col(Case.department_id).in_(mine)]
    if department_ids is not None:
        departments.append(col(Case.department_id).in_(list(department_ids)))
    conds: list[Any] = list(departments)  # every filter, for the query and the search by name
    # SQLite, searching, would rather walk the deadline index (``closed_at IS NULL`` and the
    # deadline make it one range) testing every open case: 200-300 ms for a rare name at
    # 1,000,000 cases. With closed_at and deadline_at out of its reach (coalesce), it reads the
    # search indexes (MULTI-INDEX OR) and sorts the few cases found. PostgreSQL needs no help.
    search = " ".join((filters.search or "").split())[:MAX_SEARCH]
    postgresql = session.get_bind().dialect.name == "postgresql"
    blind = bool(search) and not _whole_reference(search) and not postgresql

    def unindexed(column: Any) -> Any:
        return func.coalesce(column, None) if blind else column

    if filters.service_id:
        conds.append(Case.service_id == filters.service_id)
    if filters.state:
        conds.append(Case.state == filters.state)
    if filters.closed_only:
        conds.append(unindexed(col(Case.closed_at)).is_not(None))
    elif not filters.state and not filters.include_closed:
        conds.append(unindexed(col(Case.closed_at)).is_(None))
    if filters.assigned == "me":
        conds.append(Case.assigned_to == staff_id)
    elif filters.assigned == "unassigned":
        conds.append(col(Case.assigned_to).is_(None))
    if filters.overdue:
        conds.extend(
            [
                col(Case.closed_at).is_(None),
                col(Case.waiting_for_citizen).is_(false()),
                or_(col(Case.deadline_at) < now, col(Case.decision_due_at) < now),
            ]
        )
    if filters.replied:
        conds.extend([col(Case.replied_at).is_not(None), col(Case.closed_at).is_(None)])
    if filters.escalated:
        conds.extend([col(Case.escalated).is_(true()), col(Case.closed_at).is_(None)])
    if filters.needs_action:
        unassigned = col(Case.assigned_to).is_(None)
        waiting_for_me = [
            and_(col(Case.service_id) == service_id, col(Case.state) == state)
            for service_id, state in sorted(set(filters.actionable))
        ]
        conds.extend(
            [
                col(Case.closed_at).is_(None),
                or_(
                    col(Case.assigned_to) == staff_id,
                    and_(unassigned, or_(col(Case.replied_at).is_not(None), *waiting_for_me)),
                ),
            ]
        )
    query = query.where(*conds)
    whole = _whole_reference(search)
    if whole:  # a whole reference is never a name: the unique index finds it at once
        query = query.where(Case.reference == whole)
    elif search:
        if _search(search, postgresql, conds, with_terms=True) is None:  # punctuation only: nothing is that
            return _Filtered(query, blind, False, True, empty=True)
        # Whether any search term matches at all (one probe of the value index): most searches
        # are names, and without the union PostgreSQL reads each name index within the
        # departments and ORs them (BitmapOr), three times faster for a common surname.
        terms = _terms(search, postgresql)
        probe = select(CaseSearchTerm.id).where(terms).limit(1) if terms is not None else None
        with_terms = probe is not None and session.exec(probe).first() is not None
        return _Filtered(
            query, blind, False, True, conds=tuple(conds), text=search, postgresql=postgresql, with_terms=with_terms
        )
    return _Filtered(query, blind, bool(whole), bool(search), postgresql=postgresql)


def _rows(
    session: Session, found: _Filtered, filters: InboxFilters, after: str | None, limit: int
) -> tuple[list[InboxRow], bool]:
    """Up to ``limit`` rows after the cursor in the filters' order, and whether there are more."""
    key, desc = _sort_of(filters.sort)

    def unindexed(column: Any) -> Any:
        return func.coalesce(column, None) if found.blind else column

    def ordered(*columns: Any) -> list[Any]:
        return [c.desc() if desc else c.asc() for c in columns]

    if key == "received":
        query = found.where()
        if after:
            _value, last_seen = _read_cursor(after, filters.sort)
            query = query.where(col(Case.id) < last_seen if desc else col(Case.id) > last_seen)
        got = [InboxRow(*r) for r in session.exec(query.order_by(*ordered(col(Case.id))).limit(limit + 1)).all()]
        return got[:limit], len(got) > limit
    if key == "reference":
        query = found.where()
        reference = col(Case.reference)
        # Byte order on both databases: the reference index is text_pattern_ops on PostgreSQL,
        # which orders by ~<~ (the collation's order, which skips the dashes, needs a sort).
        if after:
            last_reference, _last_id = _read_cursor(after, filters.sort)
            if found.postgresql:
                query = query.where(reference.op("~<~" if desc else "~>~", is_comparison=True)(last_reference))
            else:
                query = query.where(reference < last_reference if desc else reference > last_reference)
        if found.postgresql:
            order_by: Any = sql_text(f"case_record.reference USING {'~>~' if desc else '~<~'}")
        else:
            order_by = reference.desc() if desc else reference.asc()
        got = [InboxRow(*r) for r in session.exec(query.order_by(order_by).limit(limit + 1)).all()]
        return got[:limit], len(got) > limit
    deadline: datetime | None = None
    last_id: int | None = None
    if after:
        deadline, last_id = _read_cursor(after, filters.sort)
    # Ordered as the indexes are, so that a page reads about ``limit`` index entries however
    # many cases there are: the open cases with a deadline first (``deadline_at >= :d`` is an
    # index range, where ``> :d OR (= :d AND id > :id)`` would be a filter over every earlier
    # entry), then the rest (no deadline, or closed: a closed case has no deadline to meet) by
    # id. One query per page, two at the turn from the one to the other.
    # Open cases are in the department index under ``closed_at IS NULL``, which PostgreSQL does
    # not treat as a constant when matching ORDER BY to an index: ordering by ``closed_at``
    # too (all null) lets it read the index in order instead of sorting every open case.
    columns = [col(Case.deadline_at), col(Case.id)]
    open_only = not filters.state and not filters.include_closed and not filters.closed_only
    # Not for a search: the search indexes (migrations 0004, 0009) find the matching cases, and
    # sorting those costs less than walking every open case in deadline order to meet them.
    if (open_only or filters.include_closed) and not filters.state and not (found.searching and not found.whole):
        columns.insert(0, col(Case.closed_at))
    order = ordered(*columns)
    rows: list[InboxRow] = []
    if (after is None or deadline is not None) and not filters.closed_only:
        phase = [unindexed(col(Case.deadline_at)).is_not(None)]
        if not open_only:
            phase.append(unindexed(col(Case.closed_at)).is_(None))
        dated = found.where(*phase)
        if deadline is not None and last_id is not None:
            if desc:
                dated = dated.where(
                    unindexed(col(Case.deadline_at)) <= deadline,
                    or_(col(Case.deadline_at) < deadline, col(Case.id) < last_id),
                )
            else:
                dated = dated.where(
                    unindexed(col(Case.deadline_at)) >= deadline,
                    or_(col(Case.deadline_at) > deadline, col(Case.id) > last_id),
                )
        rows = [InboxRow(*row) for row in session.exec(dated.order_by(*order).limit(limit + 1)).all()]
    if len(rows) <= limit:
        if open_only:
            undated = found.where(unindexed(col(Case.deadline_at)).is_(None))
            rest_order = order
        else:
            undated = found.where(
                or_(unindexed(col(Case.deadline_at)).is_(None), unindexed(col(Case.closed_at)).is_not(None))
            )
            rest_order = ordered(col(Case.id))
        if deadline is None and last_id is not None:
            undated = undated.where(col(Case.id) < last_id if desc else col(Case.id) > last_id)
        found_rows = session.exec(undated.order_by(*rest_order).limit(limit + 1 - len(rows))).all()
        rows += [InboxRow(*row) for row in found_rows]
    return rows[:limit], len(rows) > limit


def _next_cursor(row: InboxRow, sort: str) -> str:
    key, _desc = _sort_of(sort)
    if key == "deadline":  # a closed case is in the second phase, with the cases without a deadline
        value: datetime | str | None = row.deadline_at if row.closed_at is None else None
    else:
        value = row.reference if key == "reference" else None
    return _cursor(value, row.id, sort)


def inbox(
    session: Session,
    *,
    staff_id: int,
    now: datetime,
    department_ids: Sequence[int] | None = None,
    filters: InboxFilters | None = None,
    after: str | None = None,
    limit: int = 50,
    count: bool = False,
) -> InboxPage:
    """One page of the cases this member of staff can work on, in the filters' order (soonest
    deadline first by default, no deadline last, then by id); ``after`` is the previous page's
    ``next_cursor``; with ``count``, how many cases match (up to COUNT_CAP).

    Only departments where they hold a case role (``department_ids`` narrows further). One
    query per page (and one to count), served by the indexes of migrations 0003, 0004, 0009.
    """
    filters = filters or InboxFilters()
    limit = max(1, min(int(limit), MAX_PAGE))
    found = _filtered(session, staff_id=staff_id, now=now, department_ids=department_ids, filters=filters)
    if found.empty:
        return InboxPage(total=0 if count else None)
    if after:
        _read_cursor(after, filters.sort)  # a broken cursor is refused before anything is read
    rows, more = _rows(session, found, filters, after, limit)
    total, more_than = (count_cases(session, staff_id=staff_id, now=now, department_ids=department_ids,
                                    filters=filters) if count else (None, False))  # fmt: skip
    return InboxPage(rows, _next_cursor(rows[-1], filters.sort) if more and rows else None, total, more_than)


def count_cases(
    session: Session,
    *,
    staff_id: int,
    now: datetime,
    department_ids: Sequence[int] | None = None,
    filters: InboxFilters | None = None,
    cap: int = COUNT_CAP,
) -> tuple[int, bool]:
    """(how many cases match, whether more than ``cap`` do): counted up to ``cap`` + 1 cases,
    so that the count of a big inbox costs no more than reading that many index entries."""
    filters = filters or InboxFilters()
    found = _filtered(
        session, staff_id=staff_id, now=now, department_ids=department_ids, filters=filters, columns=[Case.id]
    )
    if found.empty:
        return 0, False
    counted = session.exec(select(func.count()).select_from(found.where().limit(cap + 1).subquery())).one()  # type: ignore[call-overload]
    number = int(counted[0] if isinstance(counted, tuple | Row) else counted)
    return min(number, cap), number > cap


def with_answers(
    session: Session, rows: Iterator[InboxRow], *, wanted: bool = True, batch: int = 500
) -> Iterator[tuple[InboxRow, dict[str, Any]]]:
    """Each row with its submission's answers (an erased submission's are empty), read ``batch``
    cases at a time; without ``wanted``, each with no answers and no query."""
    chunk: list[InboxRow] = []

    def flush() -> Iterator[tuple[InboxRow, dict[str, Any]]]:
        found: dict[int, dict[str, Any]] = {}
        if wanted and chunk:
            query = (
                select(Case.id, Submission.answers)
                .join(Submission, col(Submission.id) == col(Case.submission_id))
                .where(col(Case.id).in_([row.id for row in chunk]))
            )
            for case_id, answers in session.exec(query).all():
                found[int(case_id or 0)] = dict(answers or {})
        for row in chunk:
            yield row, found.get(row.id) or {}
        chunk.clear()

    for row in rows:
        chunk.append(row)
        if len(chunk) >= batch:
            yield from flush()
    yield from flush()


def inbox_rows(
    session: Session,
    *,
    staff_id: int,
    now: datetime,
    department_ids: Sequence[int] | None = None,
    filters: InboxFilters | None = None,
    cap: int,
) -> Iterator[InboxRow]:
    """Every case the filters find, in their order, up to ``cap`` (an export), read
    EXPORT_BATCH at a time by keyset as the pages are."""
    filters = filters or InboxFilters()
    found = _filtered(session, staff_id=staff_id, now=now, department_ids=department_ids, filters=filters)
    if found.empty:
        return
    after: str | None = None
    given = 0
    while given < cap:
        rows, more = _rows(session, found, filters, after, min(EXPORT_BATCH, cap - given))
        yield from rows
        given += len(rows)
        if not more or not rows:
            return
        after = _next_cursor(rows[-1], filters.sort)


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


@dataclass(frozen=True)
class AnswerChange:
    """An answer the applicant changed in reply to a request for information: when, and what it was."""

    at: datetime
    was: Any


@dataclass(frozen=True)
class AnswersNow:
    answers: dict[str, Any]  # the submission's answers with each answered request applied in order
    changes: dict[str, list[AnswerChange]]  # by question name, oldest first


def answers_now(
    original: Mapping[str, Any], requests: Sequence[InformationRequest], questions: Collection[str]
) -> AnswersNow:
    """The answers as they are now, so that nobody decides on an old figure: the submission's,
    with the answers of each answered request for information applied in the order given (a
    free-text reply is not an answer to a question, and only the service's own questions count).
    A change is listed only when the new answer differs from the one it replaced. Pure."""
    answers = dict(original)
    changes: dict[str, list[AnswerChange]] = {}
    for request in sorted(
        (r for r in requests if r.answered_at is not None and r.answers),
        key=lambda r: (r.answered_at, r.id or 0),
    ):
        assert request.answered_at is not None
        for name, value in (request.answers or {}).items():
            if name not in questions or name not in request.questions:
                continue
            before = answers.get(name)
            if before != value:
                changes.setdefault(name, []).append(AnswerChange(request.answered_at, before))
            answers[name] = value
    return AnswersNow(answers, changes)


REOPENED = "We are looking at your application again"


def without_repeats(timeline: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    """A timeline without a line that says again what the line before it said (two steps with
    the same words for the citizen, a case sent back a step): the first of each run is kept."""
    out: list[tuple[datetime, str]] = []
    for at, text in timeline:
        if not out or out[-1][1] != text:
            out.append((at, text))
    return out


REFUSAL_WORDS = ("reject", "refus", "decline", "turned down", "not ")


def decision_style(workflow: wf.Workflow, transition: wf.Transition) -> str:
    """How the case page draws a decision's button, so that a refusal never looks like an
    approval: "warning" (red) for a move into a final state that is a refusal (its ``outcome``
    says "refused", or its id or label reads as one), "primary" (green) for any other move into
    a final state, "secondary" for the rest (moves between steps, requests)."""
    state = workflow.states.get(transition.to) if transition.to is not None else None
    if state is None or not state.final:
        return "secondary"
    outcome = getattr(state, "outcome", None)
    if outcome is not None:
        return "warning" if str(outcome).casefold() in ("refused", "rejected", "refusal") else "primary"
    words = f" {state.id.replace('_', ' ').replace('-', ' ')} {state.label} ".casefold()
    return "warning" if any(w in words for w in REFUSAL_WORDS) else "primary"


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
    """What the citizen's status page shows: never a staff member's name, nor a comment other
    than a decision's reason (given in a box that says the applicant will see it)."""

    case: Case
    definition: Definition
    state: wf.State
    submitted_at: datetime
    waiting_on: InformationRequest | None  # the open request for information, if any
    timeline: list[tuple[datetime, str]]  # newest first
    # Issue 17, part C: the reason the caseworker gave for moving the case to where it is now
    # (a transition with "reason"), and how to ask for a review or appeal of a final decision.
    reason: str = ""
    appeal: list[str] = field(default_factory=list)


def citizen_status(session: Session, case: Case) -> CitizenStatus:
    """The state of a case in the citizen's words, with the steps it has been through."""
    assert case.id is not None
    definition = definition_of(session, case)
    workflow = workflow_for(session, case)
    submission = session.get(Submission, case.submission_id)
    assert submission is not None
    timeline: list[tuple[datetime, str]] = []
    entered: CaseEvent | None = None  # the event that moved the case to its current step
    for event in session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))):
        detail = event.detail or {}
        if event.to_state == case.state and event.from_state != event.to_state:
            entered = event
        if event.action == "information-answered":
            timeline.append((event.at, "You sent the information we asked for"))
        elif event.actor_kind == "staff" and "request_id" in detail:
            timeline.append((event.at, "We asked you for more information"))
        elif event.action == "reopen":  # runtime.case_corrections.REOPEN
            timeline.append((event.at, REOPENED))
        elif event.to_state and event.to_state in workflow.states and event.to_state != event.from_state:
            timeline.append((event.at, workflow.states[event.to_state].citizen_text))
    timeline = without_repeats(timeline)
    timeline.reverse()
    state = workflow.states.get(case.state) or wf.State(case.state, case.state, False, case.state, None, None)
    waiting = open_information_request(session, case_id=case.id) if case.waiting_for_citizen else None
    reason = ""
    if entered is not None and (entered.detail or {}).get("reason"):
        said = select(CaseEventComment.text).where(CaseEventComment.event_id == entered.id)
        reason = session.exec(said).first() or ""
    appeal = applicant_messages.appeal_paragraphs(state, definition, reasoned=bool(reason.strip()))
    return CitizenStatus(
        case, definition, state, submission.submitted_at, waiting, timeline, reason=reason.strip(), appeal=appeal
    )


def case_for_reference(session: Session, reference: str) -> Case | None:
    """The case of a submission reference (the confirmation page links to its status)."""
    return session.exec(select(Case).where(Case.reference == reference)).first()


__all__ = [
    "AnswerChange",
    "AnswersNow",
    "answers_now",
    "without_repeats",
    "decision_style",
    "CaseDetail",
    "CitizenStatus",
    "EventRow",
    "InboxFilters",
    "InboxPage",
    "InboxRow",
    "InvalidCursor",
    "SORTS",
    "case_detail",
    "case_for_reference",
    "case_departments",
    "cases_of_citizens",
    "citizen_status",
    "count_cases",
    "inbox",
    "inbox_rows",
]

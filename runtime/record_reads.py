"""What the back office reads about citizen records: search, the record page, the review queue
of possible matches and one pair side by side.

Every read takes what the viewer may see (runtime.data.sharing.Visible, from the departments
where they hold VIEW_RECORDS or REVIEW_RECORDS) and shows only details and cases given to those
departments (their own, and others' under an agreement in force). A record with nothing the
viewer may see is not found, not listed and not counted. Reads only: nothing here writes.
Each read is one or a few queries, whatever the number of rows.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from . import citizens
from .case_reads import _starts_with  # the one prefix-as-a-range (text_pattern_ops on PostgreSQL)
from .data.sharing import Visible
from .models import (
    AccessLog,
    Case,
    Citizen,
    CitizenIdentifier,
    CitizenLink,
    Department,
    MatchCandidate,
    RecordEvent,
    Service,
    StaffRole,
    StaffUser,
    Submission,
)
from .references import normalise_reference
from .roles import ADMIN, MANAGER

MAX_FIELD = 200  # what a search field keeps (a name key is at most 200 characters)
MAX_PAGE = 100
MAX_CURSOR = 60
# The search form's fields, in the order the page shows them.
SEARCH_FIELDS = ("name", "date_of_birth", "postcode", "email", "phone", "nhs_number", "ni_number", "reference")
FIELD_LABELS = {
    "full_name": "Name",
    "name": "Name",
    "date_of_birth": "Date of birth",
    "postcode": "Postcode",
    "email": "Email",
    "phone": "Phone",
    "nhs_number": "NHS number",
    "ni_number": "National Insurance number",
    "reference": "Reference",
}
# The fields compared for a pair, in the order the pair page shows them.
PAIR_FIELDS = ("full_name", "date_of_birth", "email", "phone", "postcode", "nhs_number", "ni_number")
# Matching's evidence (runtime.linkage) calls the name "name"; the details' kind is "full_name".
_EVIDENCE_KEYS = {"full_name": ("full_name", "name")}


def evidence_for(evidence: Mapping[str, Any] | None, kind: str) -> tuple[str, float | None]:
    """A pair's evidence for one field: its level (agree, close, disagree, missing) and weight."""
    for key in _EVIDENCE_KEYS.get(kind, (kind,)):
        found = (evidence or {}).get(key)
        if isinstance(found, Mapping):
            level, weight = found.get("level"), found.get("weight")
            return (
                level if level in (citizens.AGREE, citizens.CLOSE, citizens.DISAGREE) else citizens.MISSING,
                float(weight) if isinstance(weight, int | float) else None,
            )
    return citizens.MISSING, None


_OUTWARD = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?")  # the first half of a postcode: "WB1", "SW1A"
_MIN_WEIGHT = -1e300  # a pair without a weight sorts last


class NotVisible(Exception):
    """Nothing the viewer may see: a 404."""


# -- who may see what ----------------------------------------------------------------------------


def visible_condition(visible: Visible, department: Any, service: Any) -> ColumnElement[bool]:
    """``(department, service)`` columns name something ``visible`` allows, in SQL."""
    parts: list[ColumnElement[bool]] = []
    if visible.departments:
        parts.append(department.in_(sorted(visible.departments)))
    for department_id, services in sorted(visible.services.items()):
        parts.append(and_(department == department_id, service.in_(sorted(services))))
    return or_(*parts) if parts else false()


def _needs_service(visible: Visible) -> bool:
    return bool(visible.services)


# -- search -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """The search form, read and checked: normalised values by field (only those given)."""

    given: dict[str, str] = field(default_factory=dict)  # field: what was typed (cut to MAX_FIELD)
    values: dict[str, str] = field(default_factory=dict)  # field: the normalised value searched for
    prefix: dict[str, bool] = field(default_factory=dict)  # field: a prefix (name, part of a postcode)

    @property
    def fields(self) -> list[str]:
        """What was searched by (what the access log keeps: never the values)."""
        return [f for f in SEARCH_FIELDS if f in self.values]


def _clean(value: Any) -> str:
    text = value[: MAX_FIELD + 1] if isinstance(value, str) else ""
    return " ".join(text.split())


def read_search(form: Mapping[str, Any], today: date | None = None) -> tuple[SearchQuery, dict[str, str]]:
    """The search form's fields as a query, and what is wrong with them (field id: message)."""
    errors: dict[str, str] = {}
    given: dict[str, str] = {}
    values: dict[str, str] = {}
    prefix: dict[str, bool] = {}
    for name in ("name", "postcode", "email", "phone", "nhs_number", "ni_number", "reference"):
        text = _clean(form.get(name, ""))
        if not text:
            continue
        given[name] = text[:MAX_FIELD]
        if len(text) > MAX_FIELD or not text.isprintable():
            errors[name] = f"{FIELD_LABELS[name]} must be {MAX_FIELD} characters or fewer, with no control characters"
            continue
        if name == "name":
            key = citizens.search_key(text)
            if not key:
                errors[name] = "Enter a name with at least one letter or number"
            else:
                values[name], prefix[name] = key, True
        elif name == "postcode":
            full = citizens.normalise("postcode", text)
            squashed = text.replace(" ", "").upper()
            if full:
                values[name] = full
            elif _OUTWARD.fullmatch(squashed) or (len(squashed) > 2 and _OUTWARD.match(squashed)):
                values[name], prefix[name] = squashed, True
            else:
                errors[name] = "Enter a postcode, or its first part, like WB1 2AB or WB1"
        elif name == "reference":
            reference = normalise_reference(text)
            if not 6 <= len(reference) <= 20:
                errors[name] = "Enter a reference like BB-7KD4-9XQ2"
            else:
                values[name] = reference
        else:
            normalised = citizens.normalise(name, text)
            if not normalised:
                errors[name] = {
                    "email": "Enter an email address in the correct format, like name@example.com",
                    "phone": "Enter a phone number, like 01632 960 001 or +44 7700 900 982",
                    "nhs_number": "Enter a valid 10-digit NHS number, like 485 777 3456",
                    "ni_number": "Enter a National Insurance number in the correct format, like QQ 12 34 56 C",
                }[name]
            else:
                values[name] = normalised
    parts = {p: _clean(form.get(f"date_of_birth-{p}", ""))[:20] for p in ("day", "month", "year")}
    if any(parts.values()):
        given.update({f"date_of_birth-{p}": v for p, v in parts.items()})
        missing = [p for p in ("day", "month", "year") if not parts[p]]
        if missing:
            errors["date_of_birth"] = f"Date of birth must include a {' and a '.join(missing)}"
        elif not all(v.isascii() and v.isdigit() for v in parts.values()) or len(parts["year"]) != 4:
            errors["date_of_birth"] = "Date of birth must be a real date, like 27 3 1950"
        else:
            try:
                born = date(int(parts["year"]), int(parts["month"]), int(parts["day"])).isoformat()
            except ValueError:
                errors["date_of_birth"] = "Date of birth must be a real date, like 27 3 1950"
            else:
                problem = citizens.birth_date_problem(born, today)
                if problem:
                    errors["date_of_birth"] = problem
                else:
                    values["date_of_birth"] = born
    return SearchQuery(given, values, prefix), errors


def _prefix(column: Any, value: str, postgresql: bool) -> ColumnElement[bool]:
    """``column`` starts with ``value``. On PostgreSQL as ``LIKE 'value%'``, which the
    text_pattern_ops index reads as the same range but which the planner estimates from its
    statistics (it guesses one row for ``~>=~ AND ~<~``: "wright" matches 22,315 details at a
    million records, and a surname with a date of birth took 308 ms at p95 instead of 4 ms,
    bench/records_scale.py); elsewhere the byte-wise range of case search."""
    if not postgresql:
        return _starts_with(column, value, postgresql)
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


def _criterion(session: Session, query: SearchQuery, name: str, visible: Visible) -> Any:
    """The records one field finds, among details given to departments the viewer may see."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    value = query.values[name]
    if name == "reference":
        return (
            select(Submission.citizen_id)
            .join(Service, col(Service.id) == Submission.service_id)
            .where(
                Submission.reference == value, visible_condition(visible, Service.department_id, Submission.service_id)
            )
        )
    if name == "name":
        match: ColumnElement[bool] = or_(
            and_(
                col(CitizenIdentifier.kind) == "full_name",
                _prefix(col(CitizenIdentifier.value), value, postgresql),
            ),
            and_(col(CitizenIdentifier.kind) == "name_key", _prefix(col(CitizenIdentifier.value), value, postgresql)),
        )
    elif query.prefix.get(name):
        match = and_(col(CitizenIdentifier.kind) == name, _prefix(col(CitizenIdentifier.value), value, postgresql))
    else:
        match = and_(col(CitizenIdentifier.kind) == name, col(CitizenIdentifier.value) == value)
    found = select(CitizenIdentifier.citizen_id).where(match)
    if _needs_service(visible):
        found = found.join(Submission, col(Submission.id) == CitizenIdentifier.submission_id)
    return found.where(visible_condition(visible, CitizenIdentifier.department_id, Submission.service_id))


@dataclass(frozen=True)
class SearchRow:
    citizen_id: int
    names: list[str]
    dates_of_birth: list[str]
    postcodes: list[str]


@dataclass(frozen=True)
class SearchPage:
    rows: list[SearchRow]
    next_cursor: str | None


def _cursor(number: int) -> str:
    return base64.urlsafe_b64encode(f"r{number}".encode()).decode().rstrip("=")


def read_cursor(text: str) -> int | None:
    """The record number after which a page starts; None for a cursor this module did not make."""
    if not text or len(text) > MAX_CURSOR or not text.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not raw.startswith("r") or not raw[1:].isdigit() or len(raw) > 12:
        return None
    return int(raw[1:])


def search(
    session: Session, *, query: SearchQuery, visible: Visible, after: int | None = None, limit: int = 50
) -> SearchPage:
    """Records that match every field given, by record number, a page at a time (three queries)."""
    limit = max(1, min(limit, MAX_PAGE))
    if not query.values:
        return SearchPage([], None)
    statement = select(Citizen.id).where(col(Citizen.erased_at).is_(None))
    for name in query.fields:
        statement = statement.where(col(Citizen.id).in_(_criterion(session, query, name, visible)))
    if after is not None:
        statement = statement.where(col(Citizen.id) > after)
    ids = [i for i in session.exec(statement.order_by(col(Citizen.id)).limit(limit + 1)) if i is not None]
    more = len(ids) > limit
    ids = ids[:limit]
    shown = _search_details(session, ids, visible)
    rows = [SearchRow(i, *shown.get(i, ([], [], []))) for i in ids]
    return SearchPage(rows, _cursor(ids[-1]) if more and ids else None)


def _search_details(
    session: Session, ids: list[int], visible: Visible
) -> dict[int, tuple[list[str], list[str], list[str]]]:
    """Names, dates of birth and postcodes of these records that the viewer may see (two queries)."""
    if not ids:
        return {}
    names: dict[int, dict[str, None]] = {i: {} for i in ids}
    folded: dict[int, dict[str, None]] = {i: {} for i in ids}
    born: dict[int, dict[str, None]] = {i: {} for i in ids}
    postcodes: dict[int, dict[str, None]] = {i: {} for i in ids}
    for cid, name in session.exec(
        select(Case.citizen_id, Case.citizen_name)
        .where(
            col(Case.citizen_id).in_(ids),
            col(Case.citizen_name).is_not(None),
            visible_condition(visible, Case.department_id, Case.service_id),
        )
        .order_by(col(Case.id))
    ):
        if name is not None:
            names[cid][name] = None
    details = (
        select(CitizenIdentifier.citizen_id, CitizenIdentifier.kind, CitizenIdentifier.value)
        .join(Submission, col(Submission.id) == CitizenIdentifier.submission_id)
        .where(
            col(CitizenIdentifier.citizen_id).in_(ids),
            col(CitizenIdentifier.kind).in_(["full_name", "date_of_birth", "postcode"]),
            visible_condition(visible, CitizenIdentifier.department_id, Submission.service_id),
        )
        .order_by(col(CitizenIdentifier.id))
    )
    for cid, kind, value in session.exec(details):
        {"full_name": folded, "date_of_birth": born, "postcode": postcodes}[kind][cid][value] = None
    return {
        i: (
            list(names[i]) or [n.title() for n in folded[i]],
            [_day(d) for d in born[i]],
            [_postcode(p) for p in postcodes[i]],
        )
        for i in ids
    }


def _day(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%-d %B %Y")
    except ValueError:
        return iso


def _postcode(code: str) -> str:
    return f"{code[:-3]} {code[-3:]}" if len(code) > 4 else code


def shown_value(kind: str, value: str) -> str:
    """A stored detail as staff read it."""
    if kind == "date_of_birth":
        return _day(value)
    if kind == "postcode":
        return _postcode(value)
    if kind in ("full_name", "name_key"):
        return value.title()
    if kind == "phone":
        return citizens.display_phone(value)
    return value


# -- the record page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    kind: str
    value: str
    service_title: str
    department_name: str
    reference: str
    at: datetime


@dataclass(frozen=True)
class SubmissionRow:
    submission_id: int
    reference: str
    service_id: str
    service_title: str
    department_id: int | None
    department_name: str
    submitted_at: datetime
    case_id: int | None
    case_reference: str | None
    case_state: str | None
    case_version: int | None
    case_closed_at: datetime | None


@dataclass(frozen=True)
class Elsewhere:
    """Records another department holds that the viewer may not see: how many, and whom to ask."""

    department_id: int
    department_name: str
    count: int
    contacts: list[str]


@dataclass(frozen=True)
class LinkRow:
    link: CitizenLink
    decided_by: str | None
    undone_by: str | None
    reference: str | None  # the submission's reference, when the viewer may see it
    department_id: int | None = None  # the department of the submission it filed (None: a join)


@dataclass(frozen=True)
class PairRow:
    candidate: MatchCandidate
    other: int
    decided_by: str | None


@dataclass(frozen=True)
class EventLine:
    at: datetime
    who: str
    what: str


@dataclass(frozen=True)
class AccessLine:
    at: datetime
    who: str
    action: str


@dataclass(frozen=True)
class RecordView:
    citizen: Citizen
    details: list[Detail]
    submissions: list[SubmissionRow]
    elsewhere: list[Elsewhere]
    links: list[LinkRow]
    pairs: list[PairRow]
    events: list[EventLine]
    access: list[AccessLine] | None  # None: not for this viewer


def may_see(session: Session, *, citizen_id: int, visible: Visible) -> bool:
    """Whether the viewer may see anything of this record (what :func:`record` shows): a detail
    or a form given to a department they may see (two small queries at most)."""
    detail = (
        select(CitizenIdentifier.id)
        .join(Submission, col(Submission.id) == CitizenIdentifier.submission_id)
        .where(
            CitizenIdentifier.citizen_id == citizen_id,
            visible_condition(visible, CitizenIdentifier.department_id, Submission.service_id),
        )
        .limit(1)
    )
    if session.exec(detail).first() is not None:
        return True
    department = func.coalesce(Case.department_id, Service.department_id)
    form = (
        select(Submission.id)
        .join(Service, col(Service.id) == Submission.service_id)
        .outerjoin(Case, col(Case.submission_id) == Submission.id)
        .where(Submission.citizen_id == citizen_id, visible_condition(visible, department, Submission.service_id))
        .limit(1)
    )
    return session.exec(form).first() is not None


def record(
    session: Session,
    *,
    citizen_id: int,
    visible: Visible,
    with_access_log: bool = False,
    history_limit: int = 200,
) -> RecordView:
    """Everything the record page shows; NotVisible when the viewer may see nothing of it."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotVisible()
    told = aliased(Department)
    details = [
        Detail(i.kind, i.value, title, name, reference, i.created_at)
        for i, title, name, reference in session.exec(
            select(CitizenIdentifier, Service.title, told.name, Submission.reference)  # type: ignore[call-overload]
            .join(Submission, col(Submission.id) == CitizenIdentifier.submission_id)
            .join(Service, col(Service.id) == Submission.service_id)
            .join(told, col(told.id) == CitizenIdentifier.department_id)
            .where(
                CitizenIdentifier.citizen_id == citizen_id,
                visible_condition(visible, CitizenIdentifier.department_id, Submission.service_id),
            )
            .order_by(col(CitizenIdentifier.kind), col(CitizenIdentifier.id))
        ).all()
        if i.kind != "name_key"
    ]
    department = func.coalesce(Case.department_id, Service.department_id)
    rows = session.exec(
        select(  # type: ignore[call-overload]
            Submission.id,
            Submission.reference,
            Submission.service_id,
            Service.title,
            department,
            Department.name,
            Submission.submitted_at,
            Case.id,
            Case.reference,
            Case.state,
            Case.service_version,
            Case.closed_at,
        )
        .join(Service, col(Service.id) == Submission.service_id)
        .outerjoin(Case, col(Case.submission_id) == Submission.id)
        .outerjoin(Department, col(Department.id) == department)
        .where(Submission.citizen_id == citizen_id)
        .order_by(col(Submission.submitted_at), col(Submission.id))
    ).all()
    submissions: list[SubmissionRow] = []
    hidden: dict[int, tuple[str, int]] = {}
    for row in rows:
        item = SubmissionRow(*row[:5], row[5] or "", *row[6:])  # type: ignore[call-arg]
        if item.department_id is not None and visible.allows(item.department_id, item.service_id):
            submissions.append(item)
        elif item.department_id is not None:
            name, count = hidden.get(item.department_id, (item.department_name, 0))
            hidden[item.department_id] = (name, count + 1)
    if not details and not submissions:
        raise NotVisible()
    contacts = _contacts(session, sorted(hidden))
    elsewhere = [Elsewhere(d, hidden[d][0], hidden[d][1], contacts[d]) for d in sorted(hidden)]
    return RecordView(
        citizen,
        details,
        submissions,
        elsewhere,
        _links(session, citizen_id, visible),
        _pairs(session, citizen_id),
        _events(session, citizen_id, history_limit),
        _access(session, citizen_id, history_limit) if with_access_log else None,
    )


def _contacts(session: Session, department_ids: list[int]) -> dict[int, list[str]]:
    """Each department's managers and admins, by name (one query)."""
    out: dict[int, list[str]] = {d: [] for d in department_ids}
    if department_ids:
        for department_id, name in session.exec(
            select(StaffRole.department_id, StaffUser.name)
            .join(StaffUser, col(StaffUser.id) == StaffRole.user_id)
            .where(
                col(StaffRole.department_id).in_(department_ids),
                col(StaffRole.role).in_([MANAGER, ADMIN]),
                col(StaffUser.active).is_(True),
            )
            .order_by(col(StaffUser.name), col(StaffUser.id))
        ):
            if name not in out[department_id]:
                out[department_id].append(name)
    return out


def _links(session: Session, citizen_id: int, visible: Visible) -> list[LinkRow]:
    decider, undoer = aliased(StaffUser), aliased(StaffUser)
    out = []
    for link, decided, undone, reference, service_id, department_id in session.exec(
        select(  # type: ignore[call-overload]
            CitizenLink, decider.name, undoer.name, Submission.reference, Submission.service_id, Service.department_id
        )
        .outerjoin(decider, col(decider.id) == CitizenLink.decided_by)
        .outerjoin(undoer, col(undoer.id) == CitizenLink.undone_by)
        .outerjoin(Submission, col(Submission.id) == CitizenLink.submission_id)
        .outerjoin(Service, col(Service.id) == Submission.service_id)
        .where(or_(col(CitizenLink.citizen_id) == citizen_id, col(CitizenLink.merged_citizen_id) == citizen_id))
        .order_by(col(CitizenLink.decided_at), col(CitizenLink.id))
    ).all():
        seen = reference if department_id is not None and visible.allows(department_id, service_id) else None
        out.append(LinkRow(link, decided, undone, seen, department_id))
    return out


def _pairs(session: Session, citizen_id: int) -> list[PairRow]:
    """The record's possible matches, waiting or decided (not those a join made moot)."""
    out = []
    for candidate, name in session.exec(
        select(MatchCandidate, StaffUser.name)  # type: ignore[call-overload]
        .outerjoin(StaffUser, col(StaffUser.id) == MatchCandidate.decided_by)
        .where(
            or_(col(MatchCandidate.citizen_id) == citizen_id, col(MatchCandidate.other_citizen_id) == citizen_id),
            MatchCandidate.status != "superseded",
        )
        .order_by(col(MatchCandidate.id).desc())
        .limit(50)
    ).all():
        other = candidate.other_citizen_id if candidate.citizen_id == citizen_id else candidate.citizen_id
        out.append(PairRow(candidate, other, name))
    return out


def event_words(action: str, detail: Mapping[str, Any]) -> str:
    """One entry of the records' audit log in words (ids and scores only: it holds nothing else)."""
    weight = detail.get("weight")
    scored = f" (match weight {weight:.1f})" if isinstance(weight, int | float) else ""
    method = {
        "new": "as a new person",
        "exact": "automatically: the same name, date of birth and another detail",
        "probabilistic": "automatically, by matching",
        "staff": "by staff",
    }.get(str(detail.get("method")), "")
    words = {
        "record-created": "Record created" + (f" from record {detail['from']}" if "from" in detail else ""),
        "submission-linked": f"A submission was filed under this record {method}{scored}",
        "records-joined": f"Record {detail.get('joined')} was joined into this record {method}{scored}",
        "joined-into": f"This record was joined into record {detail.get('into')} {method}{scored}",
        "records-split": f"Record {detail.get('split')} was split off again",
        "split-from": f"This record was split off from record {detail.get('from')} again",
        "submission-unlinked": f"A submission was moved to a record of its own (record {detail.get('to')})",
        "possible-match": f"Marked as a possible match for staff to check{scored}",
        "decided-same": "Staff decided: the same person",
        "decided-different": "Staff decided: different people",
        "decision-undone": 'A "different people" decision was undone: the pair waits for staff again',
    }
    return words.get(action, action.replace("-", " ").capitalize()).replace("  ", " ").strip()


def _events(session: Session, citizen_id: int, limit: int) -> list[EventLine]:
    rows = session.exec(
        select(RecordEvent, StaffUser.name)  # type: ignore[call-overload]
        .outerjoin(StaffUser, col(StaffUser.id) == RecordEvent.actor_id)
        .where(RecordEvent.citizen_id == citizen_id)
        .order_by(col(RecordEvent.id).desc())
        .limit(limit)
    ).all()
    return [
        EventLine(
            e.at,
            name or ("Civic Forms" if e.actor_kind == "system" else "A former colleague"),
            event_words(e.action, e.detail or {}),
        )
        for e, name in rows
    ]


ACCESS_WORDS = {
    "view-record": "Looked at the record",
    "view-case": "Looked at a case",
    "search": "Searched",
    "export": "Exported",
    "subject-access": "Made a subject access report",
    "erasure": "Erased",
    "download": "Downloaded a file",
}


def _access(session: Session, citizen_id: int, limit: int) -> list[AccessLine]:
    rows = session.exec(
        select(AccessLog.at, AccessLog.action, StaffUser.name)
        .join(StaffUser, col(StaffUser.id) == AccessLog.staff_id)
        .where(AccessLog.citizen_id == citizen_id)
        .order_by(col(AccessLog.id).desc())
        .limit(limit)
    ).all()
    return [AccessLine(at, name, ACCESS_WORDS.get(action, action)) for at, action, name in rows]


def link_of_record(session: Session, *, link_id: int, citizen_id: int) -> CitizenLink | None:
    """A link the record page shows (of this record, either side), or None."""
    link = session.get(CitizenLink, link_id)
    if link is None or citizen_id not in (link.citizen_id, link.merged_citizen_id):
        return None
    return link


# -- the review queue ----------------------------------------------------------------------------


def _reviewed_by(department_ids: list[int]) -> ColumnElement[bool]:
    """The pair has a submission, on either side, in one of these departments."""
    return (
        select(Submission.id)
        .join(Service, col(Service.id) == Submission.service_id)
        .where(
            or_(
                col(Submission.citizen_id) == MatchCandidate.citizen_id,
                col(Submission.citizen_id) == MatchCandidate.other_citizen_id,
            ),
            col(Service.department_id).in_(department_ids),
        )
        .exists()
    )


def queue_cursor(weight: float | None, candidate_id: int) -> str:
    key = repr(weight if weight is not None else _MIN_WEIGHT)
    return base64.urlsafe_b64encode(f"{key}:{candidate_id}".encode()).decode().rstrip("=")


def read_queue_cursor(text: str) -> tuple[float, int] | None:
    if not text or len(text) > MAX_CURSOR or not text.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        weight, _, number = raw.rpartition(":")
        value = float(weight)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not number.isdigit() or len(number) > 10 or value != value or abs(value) == float("inf"):
        return None
    return value, int(number)


@dataclass(frozen=True)
class QueuePage:
    rows: list[MatchCandidate]
    next_cursor: str | None


def queue(
    session: Session, *, department_ids: list[int], after: tuple[float, int] | None = None, limit: int = 50
) -> QueuePage:
    """Pairs waiting for staff, highest match weight first, where either record has a submission
    in one of these departments; a page at a time (one query)."""
    limit = max(1, min(limit, MAX_PAGE))
    if not department_ids:
        return QueuePage([], None)
    weight = func.coalesce(col(MatchCandidate.match_weight), _MIN_WEIGHT)
    statement = select(MatchCandidate).where(MatchCandidate.status == "pending", _reviewed_by(department_ids))
    if after is not None:
        statement = statement.where(or_(weight < after[0], and_(weight == after[0], col(MatchCandidate.id) > after[1])))
    rows = list(session.exec(statement.order_by(weight.desc(), col(MatchCandidate.id)).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    cursor = queue_cursor(last.match_weight, last.id) if more and last is not None and last.id is not None else None
    return QueuePage(rows, cursor)


def reviewable(session: Session, *, candidate_id: int, department_ids: list[int]) -> MatchCandidate | None:
    """A pair (in any state) that staff reviewing for these departments may see; None otherwise."""
    if not department_ids:
        return None
    return session.exec(
        select(MatchCandidate).where(MatchCandidate.id == candidate_id, _reviewed_by(department_ids))
    ).first()


# -- one pair, side by side ---------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One record's values for a field: what the viewer may see, and whether more is hidden."""

    values: list[str]
    hidden: bool  # the record holds this detail, given only to a department the viewer may not see


@dataclass(frozen=True)
class PairField:
    kind: str
    label: str
    level: str  # agree | close | disagree | missing
    weight: float | None
    left: Side
    right: Side


@dataclass(frozen=True)
class PairCase:
    citizen_id: int
    reference: str
    service_title: str
    case_id: int | None
    department_id: int


@dataclass(frozen=True)
class PairView:
    candidate: MatchCandidate
    fields: list[PairField]
    names: dict[int, list[str]]
    cases: dict[int, list[PairCase]]
    hidden_cases: dict[int, int]  # record: submissions the viewer may not see
    decided_by: str | None
    join: CitizenLink | None  # the join a "same person" decision made, while it stands


def pair(session: Session, *, candidate: MatchCandidate, visible: Visible) -> PairView:
    """The two records of a pair with the evidence, values only where the viewer may see them."""
    sides = (candidate.citizen_id, candidate.other_citizen_id)
    held: dict[int, dict[str, dict[str, None]]] = {s: {} for s in sides}
    hidden: dict[int, set[str]] = {s: set() for s in sides}
    for cid, kind, value, department_id, service_id in session.exec(
        select(  # type: ignore[call-overload]
            CitizenIdentifier.citizen_id,
            CitizenIdentifier.kind,
            CitizenIdentifier.value,
            CitizenIdentifier.department_id,
            Submission.service_id,
        )
        .join(Submission, col(Submission.id) == CitizenIdentifier.submission_id)
        .where(col(CitizenIdentifier.citizen_id).in_(sides))
        .order_by(col(CitizenIdentifier.id))
    ):
        if department_id is not None and visible.allows(department_id, service_id):
            held[cid].setdefault(kind, {})[shown_value(kind, value)] = None
        else:
            hidden[cid].add(kind)
    names: dict[int, list[str]] = {s: [] for s in sides}
    cases: dict[int, list[PairCase]] = {s: [] for s in sides}
    hidden_cases: dict[int, int] = dict.fromkeys(sides, 0)
    for cid, reference, service_id, title, department_id, case_id, name in session.exec(
        select(  # type: ignore[call-overload]
            Submission.citizen_id,
            Submission.reference,
            Submission.service_id,
            Service.title,
            func.coalesce(Case.department_id, Service.department_id),
            Case.id,
            Case.citizen_name,
        )
        .join(Service, col(Service.id) == Submission.service_id)
        .outerjoin(Case, col(Case.submission_id) == Submission.id)
        .where(col(Submission.citizen_id).in_(sides))
        .order_by(col(Submission.id))
    ).all():
        if department_id is not None and visible.allows(department_id, service_id):
            cases[cid].append(PairCase(cid, reference, title, case_id, department_id))
            if name and name not in names[cid]:
                names[cid].append(name)
        else:
            hidden_cases[cid] += 1
    evidence = candidate.evidence or {}
    fields = []
    for kind in PAIR_FIELDS:
        level, weight = evidence_for(evidence, kind)
        fields.append(
            PairField(
                kind,
                FIELD_LABELS[kind],
                level,
                weight,
                *(Side(list(held[s].get(kind, {})), kind in hidden[s] and kind not in held[s]) for s in sides),
            )
        )
    decided_by = session.get(StaffUser, candidate.decided_by) if candidate.decided_by is not None else None
    join = None
    if candidate.status == "same":
        join = session.exec(
            select(CitizenLink)
            .where(
                CitizenLink.merged_citizen_id == candidate.other_citizen_id,
                col(CitizenLink.undone_at).is_(None),
            )
            .order_by(col(CitizenLink.id).desc())
        ).first()
    return PairView(candidate, fields, names, cases, hidden_cases, decided_by.name if decided_by else None, join)


def submission_in_departments(session: Session, *, submission_id: int, department_ids: list[int]) -> bool:
    """Whether this submission was sent to a service of one of these departments (one query)."""
    if not department_ids:
        return False
    return (
        session.exec(
            select(Submission.id)
            .join(Service, col(Service.id) == Submission.service_id)
            .where(Submission.id == submission_id, col(Service.department_id).in_(department_ids))
        ).first()
        is not None
    )


def records_in_departments(session: Session, *, citizen_ids: list[int], department_ids: list[int]) -> bool:
    """Whether any of these records has a submission in one of these departments (one query)."""
    if not citizen_ids or not department_ids:
        return False
    return (
        session.exec(
            select(Submission.id)
            .join(Service, col(Service.id) == Submission.service_id)
            .where(col(Submission.citizen_id).in_(citizen_ids), col(Service.department_id).in_(department_ids))
            .limit(1)
        ).first()
        is not None
    )

"""The access log: every view of a citizen record or a case by staff, every search, export and
subject access report. Written in the viewing request's own transaction (the caller commits);
append only, no personal data: ids, the action, and for a search what it searched by."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from ..models import AccessLog, Case, Department, StaffUser, utcnow

# What a row says was done (access_log.action).
VIEW_RECORD, VIEW_CASE, SEARCH, EXPORT, SUBJECT_ACCESS, ERASURE, DOWNLOAD = (
    "view-record",
    "view-case",
    "search",
    "export",
    "subject-access",
    "erasure",
    "download",
)
VIEW_THUMBNAIL = "view-thumbnail"  # an image's thumbnail on the case page (a download is DOWNLOAD)


def log_access(
    session: Session,
    *,
    staff_id: int,
    action: str,
    citizen_id: int | None = None,
    case_id: int | None = None,
    department_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add one access log row to the session (the caller commits it with its own work, or alone)."""
    session.add(
        AccessLog(
            at=utcnow(),
            staff_id=staff_id,
            action=action,
            citizen_id=citizen_id,
            case_id=case_id,
            department_id=department_id,
            detail=dict(detail) if detail else None,
        )
    )


# -- the data protection officer's search ------------------------------------------------------

PAGE_SIZE = 50
BATCH = 1_000  # rows read at a time while streaming an export
ACTION_WORDS = {
    VIEW_RECORD: "Viewed a citizen record",
    VIEW_CASE: "Viewed a case",
    SEARCH: "Searched",
    EXPORT: "Exported",
    SUBJECT_ACCESS: "Made a subject access report",
    ERASURE: "Erased personal data",
    DOWNLOAD: "Downloaded",
    VIEW_THUMBNAIL: "Viewed a file's thumbnail",
}


@dataclass(frozen=True)
class AccessFilters:
    """The access log search, checked by the caller (None: any)."""

    staff_id: int | None = None
    citizen_id: int | None = None
    case_id: int | None = None
    action: str | None = None
    since: date | None = None  # from the start of this day (UTC)
    until: date | None = None  # to the end of this day (UTC)
    nothing: bool = False  # a search that can match nothing (a case reference of no case)


@dataclass(frozen=True)
class AccessRow:
    id: int
    at: datetime
    staff_id: int
    staff_name: str | None
    department_name: str | None
    action: str
    citizen_id: int | None
    case_id: int | None
    case_reference: str | None

    @property
    def action_words(self) -> str:
        return ACTION_WORDS.get(self.action, self.action.replace("-", " ").capitalize())


@dataclass(frozen=True)
class AccessPage:
    rows: list[AccessRow] = field(default_factory=list)
    before: int | None = None  # the next (older) page: pass as ``before``; None on the last page


def _search(filters: AccessFilters):  # type: ignore[no-untyped-def]
    conditions: list[ColumnElement[bool]] = []
    if filters.staff_id is not None:
        conditions.append(col(AccessLog.staff_id) == filters.staff_id)
    if filters.citizen_id is not None:
        conditions.append(col(AccessLog.citizen_id) == filters.citizen_id)
    if filters.case_id is not None:
        conditions.append(col(AccessLog.case_id) == filters.case_id)
    if filters.action is not None:
        conditions.append(col(AccessLog.action) == filters.action)
    if filters.since is not None:
        conditions.append(col(AccessLog.at) >= datetime.combine(filters.since, time.min, UTC))
    if filters.until is not None:
        conditions.append(col(AccessLog.at) < datetime.combine(filters.until + timedelta(days=1), time.min, UTC))
    return (
        select(  # type: ignore[call-overload,misc]
            AccessLog.id,
            AccessLog.at,
            AccessLog.staff_id,
            StaffUser.name,
            Department.name,
            AccessLog.action,
            AccessLog.citizen_id,
            AccessLog.case_id,
            Case.reference,
        )
        .outerjoin(StaffUser, col(StaffUser.id) == AccessLog.staff_id)
        .outerjoin(Department, col(Department.id) == AccessLog.department_id)
        .outerjoin(Case, col(Case.id) == AccessLog.case_id)
        .where(*conditions)
    )


def search(
    session: Session, *, filters: AccessFilters, before: int | None = None, limit: int = PAGE_SIZE
) -> AccessPage:
    """One page of the access log, newest first (by id: rows are only ever added, in time order)."""
    if filters.nothing:
        return AccessPage()
    limit = max(1, min(limit, BATCH))
    query = _search(filters)
    if before is not None:
        query = query.where(col(AccessLog.id) < before)
    rows = [AccessRow(*r) for r in session.exec(query.order_by(col(AccessLog.id).desc()).limit(limit + 1)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessPage(rows, rows[-1].id if more and rows else None)


def search_all(session: Session, *, filters: AccessFilters) -> Iterator[AccessRow]:
    """Every row the search finds, newest first, read a batch at a time (a streamed export)."""
    before: int | None = None
    while True:
        found = search(session, filters=filters, before=before, limit=BATCH)
        yield from found.rows
        if found.before is None:
            return
        before = found.before


def staff_choices(session: Session) -> list[StaffUser]:
    """Every member of staff, by name (the search's choices)."""
    return list(session.exec(select(StaffUser).order_by(col(StaffUser.name), col(StaffUser.id))))

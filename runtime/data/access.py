"""The access log: every view of a citizen record or a case by staff, every search, export and
subject access report. Written in the viewing request's own transaction (the caller commits);
append only, no personal data: ids, the action, and for a search what it searched by."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from ..models import AccessLog, utcnow

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

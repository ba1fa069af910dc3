"""The access log, as a use case: write that a member of staff viewed, searched or exported,
in a transaction of its own (a page's reads write nothing else)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from ..data.access import log_access
from .unit_of_work import atomic


def record_access(
    *,
    session: Session,
    staff_id: int,
    action: str,
    citizen_id: int | None = None,
    case_id: int | None = None,
    department_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Write one access log row and commit it."""
    with atomic(session):
        log_access(
            session,
            staff_id=staff_id,
            action=action,
            citizen_id=citizen_id,
            case_id=case_id,
            department_id=department_id,
            detail=detail,
        )

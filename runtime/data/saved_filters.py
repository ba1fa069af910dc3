"""Saved inbox filters (issue 17): a member of staff names the inbox's current filter and gets
it back as a link. Reads and writes in the caller's transaction; the query string is checked by
the caller (the inbox re-reads it through its own form, runtime.web.casework.inbox.InboxQuery).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from ..models import SavedFilter

MAX_PER_PERSON = 20
MAX_NAME = 100  # saved_filter.name
MAX_QUERY = 2000  # saved_filter.query


def filters_of(session: Session, *, staff_id: int) -> list[SavedFilter]:
    """A member of staff's saved filters, by name (at most MAX_PER_PERSON)."""
    return list(
        session.exec(
            select(SavedFilter)
            .where(SavedFilter.staff_id == staff_id)
            .order_by(col(SavedFilter.name), col(SavedFilter.id))
            .limit(MAX_PER_PERSON)
        )
    )


def count_of(session: Session, *, staff_id: int) -> int:
    return len(list(session.exec(select(SavedFilter.id).where(SavedFilter.staff_id == staff_id))))


def named(session: Session, *, staff_id: int, name: str) -> SavedFilter | None:
    return session.exec(select(SavedFilter).where(SavedFilter.staff_id == staff_id, SavedFilter.name == name)).first()


def own(session: Session, *, staff_id: int, filter_id: int) -> SavedFilter | None:
    """The saved filter of that id if it is this person's (someone else's does not exist for them)."""
    found = session.get(SavedFilter, filter_id)
    return found if found is not None and found.staff_id == staff_id else None

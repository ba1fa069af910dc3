"""Use cases of saved inbox filters (issue 17): save one under a name, delete one. Each owns its
transaction. The query string given is already checked by the inbox (InboxQuery)."""

from __future__ import annotations

from sqlmodel import Session

from ..data import saved_filters as data
from ..models import SavedFilter, utcnow
from .unit_of_work import atomic


class Refused(Exception):
    """The filter cannot be saved: ``message`` says why, in words for the person saving it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def name_problem(name: str) -> str | None:
    if not name:
        return "Enter a name for this filter"
    if len(name) > data.MAX_NAME:
        return f"The name must be {data.MAX_NAME} characters or fewer"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "The name must be a single line of text"
    return None


def save(*, session: Session, staff_id: int, name: str, query: str) -> SavedFilter:
    """Save the inbox filter ``query`` (a checked query string) under ``name``; the same name
    again replaces what it held. Refused beyond MAX_PER_PERSON filters or with a bad name."""
    name = " ".join(name.split())
    problem = name_problem(name)
    if problem:
        raise Refused(problem)
    if len(query) > data.MAX_QUERY:
        raise Refused("This filter is too long to save: clear some of it and try again")
    with atomic(session):
        found = data.named(session, staff_id=staff_id, name=name)
        if found is None:
            if data.count_of(session, staff_id=staff_id) >= data.MAX_PER_PERSON:
                raise Refused(f"You can save up to {data.MAX_PER_PERSON} filters: delete one you no longer use first")
            found = SavedFilter(staff_id=staff_id, name=name, query=query, created_at=utcnow())
        else:
            found.query = query
        session.add(found)
        session.flush()
    return found


def delete(*, session: Session, staff_id: int, filter_id: int) -> str | None:
    """Delete one of this person's saved filters; its name, or None when they have no such filter."""
    with atomic(session):
        found = data.own(session, staff_id=staff_id, filter_id=filter_id)
        if found is None:
            return None
        name = found.name
        session.delete(found)
    return name

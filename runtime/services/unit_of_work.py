"""One transaction per use case: ``with atomic(session):`` commits what the block wrote, or
rolls all of it back when the block raises (a domain error included), then re-raises.
``discard(session)`` drops what a failed request left behind."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Commit on success; on any exception, a failed commit included, roll back (nothing
    half-written, and the session usable again) and re-raise."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def discard(session: Session) -> None:
    """Throw away what a failed request left in its session (the faces' error pages call this, so
    that no web module rolls back a transaction itself). A connection that is already gone (the
    database went away mid-request) has nothing to roll back: the pool replaces it."""
    try:
        session.rollback()
    except DBAPIError:
        pass

"""One transaction per use case: ``with atomic(session):`` commits what the block wrote, or
rolls all of it back when the block raises (a domain error included), then re-raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Commit on success; on any exception roll back (nothing half-written) and re-raise."""
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()

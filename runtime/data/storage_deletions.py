"""Deletions of uploaded files' bytes still to do (``runtime.models.StorageDeletion``).

Keyword-only functions with an explicit session; the caller owns the transaction.
``runtime.services.uploading`` queues a file's deletion with the deletion of its row, deletes the
bytes after the commit and marks what it could not delete for another try.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from ..models import StorageDeletion, utcnow

# How long after a failed try the worker tries again: doubling from a minute, at most an hour.
_FIRST_WAIT = timedelta(minutes=1)
_LONGEST_WAIT = timedelta(hours=1)


def queue(*, session: Session, upload_ids: Iterable[str], now: datetime | None = None) -> list[int]:
    """Queue the deletion of each upload's bytes; the ids of the queued rows."""
    at = now or utcnow()
    rows = [StorageDeletion(upload_id=upload_id, queued_at=at, next_attempt_at=at) for upload_id in upload_ids]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows if row.id is not None]


def due(*, session: Session, now: datetime | None = None, limit: int = 500) -> list[StorageDeletion]:
    """Queued deletions whose next try is due, oldest first."""
    query = (
        select(StorageDeletion)
        .where(col(StorageDeletion.next_attempt_at) <= (now or utcnow()))
        .order_by(col(StorageDeletion.next_attempt_at), col(StorageDeletion.id))
        .limit(limit)
    )
    return list(session.exec(query))


def of_ids(*, session: Session, ids: Iterable[int]) -> list[StorageDeletion]:
    wanted = list(ids)
    if not wanted:
        return []
    return list(session.exec(select(StorageDeletion).where(col(StorageDeletion.id).in_(wanted))))


def done(*, session: Session, ids: Iterable[int]) -> None:
    """The bytes are gone: forget these deletions."""
    wanted = list(ids)
    if wanted:
        session.execute(delete(StorageDeletion).where(col(StorageDeletion.id).in_(wanted)))


def failed(*, session: Session, deletion: StorageDeletion, error: str, now: datetime | None = None) -> None:
    """A try that failed: tried again later, each wait twice the last (a minute, at most an hour)."""
    at = now or utcnow()
    deletion.attempts += 1
    wait = min(_FIRST_WAIT * (2 ** min(deletion.attempts - 1, 10)), _LONGEST_WAIT)
    deletion.next_attempt_at = at + wait
    deletion.last_error = error[:500]
    session.add(deletion)

"""Uploaded files' rows (``runtime.models.Upload``): a citizen's files while the form is unsent,
and the files a submission carries (docs/uploads.md).

Keyword-only functions with an explicit session; the caller owns the transaction. The bytes
themselves are kept by ``runtime.storage`` (clean files) or in the quarantine folder (files
waiting for the virus scan): ``runtime.services.uploading`` moves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, exists, func, literal, update
from sqlmodel import Session, col, select

from ..models import FormSession, PreviewSession, Upload, utcnow

CLEAN = "clean"
WAITING = "waiting"

# The files of a staff member's "try it" are held by their preview session, under this prefix
# and its id (never a form session's id: those are 64 hex digits), apart from citizens' files,
# and are forgotten when the preview session goes.
PREVIEW = "preview-"


def preview_holder(preview_session_id: int) -> str:
    """What a preview session's files are held under (``upload.form_session_id``)."""
    return f"{PREVIEW}{preview_session_id}"


def add_upload(
    *,
    session: Session,
    upload_id: str,
    form_session_id: str,
    service_id: str,
    question: str,
    filename: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
    status: str,
    storage_key: str | None,
    thumbnail_key: str | None,
    expires_at: datetime | None,
) -> Upload:
    now = utcnow()
    row = Upload(
        id=upload_id,
        form_session_id=form_session_id,
        service_id=service_id,
        question=question,
        filename=filename,
        content_type=content_type,
        size_bytes=size_bytes,
        sha256=sha256,
        status=status,
        storage_key=storage_key,
        thumbnail_key=thumbnail_key,
        created_at=now,
        scanned_at=now if status == CLEAN else None,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def unsent_uploads(*, session: Session, form_session_id: str, question: str | None = None) -> list[Upload]:
    """A form session's files not yet sent, oldest first (the order they were uploaded)."""
    query = select(Upload).where(col(Upload.form_session_id) == form_session_id, col(Upload.submission_id).is_(None))
    if question is not None:
        query = query.where(col(Upload.question) == question)
    return list(session.exec(query.order_by(col(Upload.created_at), col(Upload.id))))


def count_unsent(*, session: Session, form_session_id: str) -> int:
    """How many files a form session holds, every question together (the cap on them)."""
    query = select(func.count()).where(
        col(Upload.form_session_id) == form_session_id, col(Upload.submission_id).is_(None)
    )
    return int(session.exec(query).one())


def unsent_upload(*, session: Session, form_session_id: str, upload_id: str) -> Upload | None:
    """One of a form session's unsent files, or None (another session's id is never found)."""
    if len(upload_id) != 32:
        return None
    row = session.get(Upload, upload_id)
    if row is None or row.form_session_id != form_session_id or row.submission_id is not None:
        return None
    return row


def lock_holder(*, session: Session, holder_id: str) -> dict[str, Any] | None:
    """The answers of what holds a form's unsent files (a form session, or a staff member's
    preview session for "try it"), as they are now, its row locked until the transaction ends:
    ``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL, which waits for another request writing it
    (a page's answers, another file). SQLite has one writer at a time: the caller writes first,
    then reads. None when it has gone."""
    if holder_id.startswith(PREVIEW):
        number = holder_id.removeprefix(PREVIEW)
        if not number.isdigit():
            return None
        query = select(PreviewSession.answers).where(col(PreviewSession.id) == int(number))
    else:
        query = select(FormSession.answers).where(col(FormSession.id) == holder_id)
    found = session.exec(query.with_for_update(key_share=True)).first()
    return None if found is None else dict(found)


def delete_upload(*, session: Session, upload: Upload) -> None:
    session.delete(upload)
    session.flush()


def answer_of(uploads: Sequence[Upload]) -> list[dict[str, Any]]:
    """A file question's stored answer: its clean files, in upload order (runtime.widgets.file)."""
    return [
        {"id": u.id, "name": u.filename, "size": u.size_bytes, "type": u.content_type}
        for u in uploads
        if u.status == CLEAN
    ]


def mark_clean(*, session: Session, upload: Upload, storage_key: str, thumbnail_key: str | None) -> None:
    upload.status = CLEAN
    upload.storage_key = storage_key
    upload.thumbnail_key = thumbnail_key
    upload.scanned_at = utcnow()
    session.add(upload)
    session.flush()


def waiting_uploads(*, session: Session, limit: int = 100) -> list[Upload]:
    """Files whose virus scan could not run yet (the scanner was down), oldest first."""
    query = select(Upload).where(col(Upload.status) == WAITING).order_by(col(Upload.created_at)).limit(limit)
    return list(session.exec(query))


def attach_to_submission(*, session: Session, form_session_id: str, submission_id: int, ids: Sequence[str]) -> int:
    """The files a submission's answers name become the submission's: kept, no longer expiring.
    Returns how many."""
    if not ids:
        return 0
    result = session.connection().execute(
        update(Upload)
        .where(
            col(Upload.form_session_id) == form_session_id,
            col(Upload.submission_id).is_(None),
            col(Upload.status) == CLEAN,
            col(Upload.id).in_(list(ids)),
        )
        .values(submission_id=submission_id, expires_at=None)
    )
    return int(result.rowcount or 0)


def forgotten_uploads(
    *, session: Session, now: datetime | None = None, limit: int = 1000, preview_idle_since: datetime | None = None
) -> list[Upload]:
    """Unsent files whose form session has gone or expired (purged, started again, timed out),
    and files left behind by a sent form that its answers did not name (a question the
    conditions hid): to be deleted with their bytes. A file's own ``expires_at`` says when it
    would expire as things stand; the form session's, pushed back while the citizen works,
    decides. Likewise "try it"'s files whose preview session has gone, or has not been used
    since ``preview_idle_since`` (expired: ``now`` less the session timeout)."""
    cutoff = now or utcnow()
    live = exists().where(
        col(FormSession.id) == col(Upload.form_session_id),
        col(FormSession.expires_at) > cutoff,
        col(FormSession.submission_reference).is_(None),
    )
    # "Try it"'s files live as long as the staff member's preview session: Start again, the
    # draft discarded or published, the staff member deactivated, or the purge of idle preview
    # sessions deletes it; one idle past ``preview_idle_since`` no longer holds them either.
    held = [(literal(PREVIEW) + cast(col(PreviewSession.id), String)) == col(Upload.form_session_id)]
    if preview_idle_since is not None:
        held.append(col(PreviewSession.updated_at) > preview_idle_since)
    previewing = exists().where(*held)
    query = (
        select(Upload)
        .where(
            col(Upload.submission_id).is_(None),
            col(Upload.request_id).is_(None),
            ~live,
            ~previewing,
        )
        .order_by(col(Upload.created_at))
        .limit(limit)
    )
    return list(session.exec(query))


def delete_rows(*, session: Session, ids: Sequence[str]) -> int:
    if not ids:
        return 0
    result = session.connection().execute(delete(Upload).where(col(Upload.id).in_(list(ids))))
    return int(result.rowcount or 0)

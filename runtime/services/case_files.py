"""Staff opening a case's files, as a use case: the check that they may, the file read from
storage, and the access log row, in one transaction (docs/uploads.md, "Staff").

Only a member of staff with a case role in the case's department opens its files, only a clean
file is ever opened (one waiting for its virus scan is shown to nobody), and every opening (a
download, a thumbnail on the case page) is in the access log before a byte is sent.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import quote

from sqlmodel import Session, col, select

from .. import cases
from ..data import access
from ..data.case_files import CLEAN, case_file, valid_upload_id
from ..models import Case, InformationRequest, Upload, utcnow
from ..storage import FileNotStored, InvalidKey, Storage, file_key
from ..uploads import KINDS, FileRefused, check_file, filename_for, safe_filename
from . import uploading
from .unit_of_work import atomic

WAITING = "waiting"

FILE, THUMBNAIL = "file", "thumbnail"
THUMBNAIL_TYPE = "image/png"


class NotFound(Exception):
    """No such case or file for this member of staff (another department's case, a file not
    clean yet, a thumbnail of a file that has none, bytes gone from storage): a 404."""


@dataclass(frozen=True)
class Opened:
    """A file opened for sending: its row, its bytes (the caller closes the stream), the type to
    send it as and the name to save it under."""

    upload: Upload
    stream: BinaryIO
    content_type: str
    filename: str


def download_name(upload: Upload) -> str:
    """The name a file is saved under: the applicant's name for it made safe again
    (runtime.uploads), ending as the kind its content is, so that a "letter.html" that is really
    a PNG is saved as "letter.html.png" and opens as an image."""
    kind = next((k.name for k in KINDS.values() if k.mime == upload.content_type), None)
    return filename_for(upload.filename, kind) if kind is not None else safe_filename(upload.filename)


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="..."; filename*=UTF-8''...`` (RFC 6266): an ASCII name for old
    clients, with anything but letters, digits and ``.-_ ()`` replaced, and the real name
    percent-encoded for every other."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c if c.isalnum() or c in ".-_ ()" else "_" for c in folded).strip() or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def open_file(
    *,
    session: Session,
    storage: Storage,
    staff_id: int,
    case_id: int,
    upload_id: str,
    what: str = FILE,
) -> Opened:
    """Open one of the case's clean files (``what``: the file itself, or its thumbnail) for
    ``staff_id``, and write that they did in the access log, committed before it is returned.
    Raises :class:`NotFound` (nothing written) when the member of staff has no case role in the
    case's department, the file is not one of the case's clean files, or its bytes are gone."""
    with atomic(session):
        try:
            case = cases.load_case(session, case_id)
            cases.case_actor(session, case, staff_id)
        except cases.NotFound:
            raise NotFound() from None
        upload = case_file(session, case=case, upload_id=upload_id)
        key = None if upload is None else upload.storage_key if what == FILE else upload.thumbnail_key
        if upload is None or key is None:
            raise NotFound()
        try:
            stream = storage.open(key)
        except (FileNotStored, InvalidKey):
            raise NotFound() from None
        try:
            access.log_access(
                session,
                staff_id=staff_id,
                action=access.DOWNLOAD if what == FILE else access.VIEW_THUMBNAIL,
                citizen_id=case.citizen_id,
                case_id=case_id,
                department_id=case.department_id,
                detail={"upload": upload.id},
            )
        except BaseException:
            stream.close()
            raise
    if what == FILE:
        return Opened(upload, stream, upload.content_type, download_name(upload))
    return Opened(upload, stream, THUMBNAIL_TYPE, f"{PurePosixPath(download_name(upload)).stem}-thumbnail.png")


def report_files(
    data: dict[str, Any], report: dict[str, Any], storage: Storage
) -> list[tuple[str, Callable[[], BinaryIO]]]:
    """The files of a subject access report for ``runtime.subject_access.write_bundle``: each
    one's place in the ZIP file (the report's ``saved_as``) with a function opening its bytes."""
    return [
        (shown["saved_as"], partial(storage.open, held["storage_key"]))
        for held, shown in zip(data.get("files", []), report.get("files", []), strict=True)
        if held["storage_key"]
    ]


# -- files the applicant sends for a request's documents ----------------------------------------

DOCUMENT_KINDS = ("jpeg", "png", "pdf")  # what a document may be: a photo or scan of it, or a PDF
DOCUMENT_MAX_MB = 10
MAX_FILES_PER_DOCUMENT = 5


def document_max_bytes(files: uploading.Uploads) -> int:
    """The largest file a document takes: 10MB, or less when settings cap uploads lower."""
    return min(DOCUMENT_MAX_MB, files.max_upload_mb) * 1024 * 1024


class RequestClosed(uploading.UploadRefused):
    """The request has been answered (or its case decided, or erased): it takes no more files."""


def _answerable(session: Session, request_id: int) -> tuple[InformationRequest, Case]:
    """The request, read afresh, while the applicant may still answer it (as
    ``runtime.cases.answer_information`` takes an answer). The case row is locked (PostgreSQL)
    for the rest of the caller's transaction, as an erasure locks it first: a file is either
    kept before an erasure, which then deletes it, or refused after it."""
    request = session.get(InformationRequest, request_id, populate_existing=True)
    case = (
        session.get(Case, request.case_id, populate_existing=True, with_for_update=True)
        if request is not None
        else None
    )
    if request is None or case is None or not cases.request_open(request, case):
        raise RequestClosed("", "These questions have already been answered")
    return request, case


def document_uploads(session: Session, *, request_id: int) -> list[Upload]:
    """A request's files, every document's, in the order they were sent."""
    return list(
        session.exec(
            select(Upload).where(col(Upload.request_id) == request_id).order_by(col(Upload.created_at), col(Upload.id))
        )
    )


def _refuse_if_full(session: Session, request_id: int, field: str, *, coming: int) -> None:
    """Refuse a file when the document would hold more than MAX_FILES_PER_DOCUMENT: ``coming`` is
    1 before the file's row is written (the early check, which saves a scan), 0 once it is."""
    held = [u for u in document_uploads(session, request_id=request_id) if u.question == field]
    if len(held) + coming > MAX_FILES_PER_DOCUMENT:
        raise uploading.UploadRefused(field, f"You can only upload {MAX_FILES_PER_DOCUMENT} files for this document")


def _add_within_cap(session: Session, row: Upload) -> None:
    """Write a document's file row, then count the document's files again with the request's row
    locked (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL; SQLite has one writer at a time, taken
    by the row's insert): two tabs that both passed the early count are told apart here."""
    session.add(row)
    session.flush()
    assert row.request_id is not None
    session.exec(
        select(InformationRequest.id)
        .where(col(InformationRequest.id) == row.request_id)
        .with_for_update(key_share=True)
    ).first()
    _refuse_if_full(session, row.request_id, row.question, coming=0)


def receive_document(
    *, session: Session, files: uploading.Uploads, request_id: int, number: int, filename: str, path: Path
) -> Upload:
    """Keep the file at ``path`` (in the quarantine folder) as the applicant's answer to the
    request's ``number``-th document (from 1): checked (runtime.uploads), scanned, and kept in
    storage with its row, as a file question's is (runtime.services.uploading). Returns the
    clean file's row. Raises ``uploading.UploadRefused`` (nothing kept) or
    ``uploading.UploadWaiting`` (the scanner is down: the file waits in quarantine, shown to
    nobody, and is scanned again by the page and the worker). ``path`` is gone in every case."""
    field = cases.document_field(number)
    try:
        request, case = _answerable(session, request_id)
        documents = request.documents or []
        if not 1 <= number <= len(documents):
            raise uploading.UploadRefused(field, "This document was not asked for")
        _refuse_if_full(session, request_id, field, coming=1)
        service_id = case.service_id
        session.rollback()  # end the reads' transaction: the checks and the scan take a while
        try:
            checked = check_file(path, accept=DOCUMENT_KINDS, max_bytes=document_max_bytes(files))
        except FileRefused as refused:
            raise uploading.UploadRefused(field, refused.message) from None
        name = filename_for(filename, checked.kind)
        try:
            clean = uploading.scan(files, path, service_id)
        except uploading.UploadRefused as infected:
            raise uploading.UploadRefused(field, infected.message) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    upload_id = secrets.token_hex(16)
    row = Upload(
        id=upload_id,
        request_id=request_id,
        service_id=service_id,
        question=field,
        filename=name,
        content_type=checked.mime,
        size_bytes=checked.size,
        sha256=checked.sha256,
        status=WAITING if clean is None else CLEAN,
    )
    if clean is None:
        waiting = files.waiting_path(upload_id)
        os.replace(path, waiting)
        try:
            with atomic(session):
                _answerable(session, request_id)
                _add_within_cap(session, row)
        except BaseException:
            waiting.unlink(missing_ok=True)
            raise
        raise uploading.UploadWaiting(field, row)
    stored: list[str] = []
    try:
        with atomic(session):
            _answerable(session, request_id)  # answered meanwhile: nothing kept
            _add_within_cap(session, row)  # another tab's files may have filled the document meanwhile
            row.thumbnail_key = uploading.store_clean(files, upload_id, path, checked.mime, stored)
            row.storage_key = file_key(upload_id)
            row.scanned_at = utcnow()
            session.add(row)
    except BaseException:
        uploading.delete_stored(files, stored)
        raise
    finally:
        path.unlink(missing_ok=True)
    session.refresh(row)
    return row


def remove_document(
    *, session: Session, files: uploading.Uploads, request_id: int, number: int, upload_id: str
) -> Upload:
    """Remove one of the files the applicant sent for a document, while the request is open:
    its row (and its bytes' deletion queued), then its bytes. Raises ``uploading.UploadRefused``
    for a file not theirs or gone."""
    field = cases.document_field(number)
    with atomic(session):
        _answerable(session, request_id)
        row = session.get(Upload, upload_id) if valid_upload_id(upload_id) else None
        if row is None or row.request_id != request_id or row.question != field:
            raise uploading.UploadRefused(field, "The file has already been removed")
        session.delete(row)
        session.flush()
        session.expunge(row)
        queued = uploading.queue_deletion(session=session, upload_ids=[row.id])
    uploading.delete_queued(session=session, files=files, ids=queued)
    return row


def rescan_documents(*, session: Session, files: uploading.Uploads, request_id: int) -> uploading.Rescanned:
    """Scan again a request's files still waiting for their virus scan (its page does, each time)."""
    waiting = [u for u in document_uploads(session, request_id=request_id) if u.status == WAITING]
    session.rollback()
    if not waiting:
        return uploading.Rescanned([], [], [])
    return uploading.rescan(session=session, files=files, uploads_waiting=waiting)

"""A citizen's files, as use cases: receive one (checked, scanned, kept), remove one, scan again
the files whose scan could not run, and delete the files of forms that were never sent
(docs/uploads.md, "The citizen's pages").

A file arrives in the quarantine folder (the web face streams it there, counting, and stops at
the size limit). ``receive`` then:

1. refuses it if the question is full or the form holds too many files already;
2. checks it (``runtime.uploads.check_file``: the kind from its content, images re-encoded
   without metadata, PDFs read for what the service allows);
3. scans it with clamd (``runtime.scanning``). Infected: deleted, never stored, the citizen told
   "The selected file contains a virus", logged without its name. The scanner down: kept in
   quarantine as a ``waiting`` row, never shown to anyone, the citizen told to try again; the page
   and ``civicforms worker`` scan it again. Only ``allow_unscanned_uploads`` (development) skips
   the scan;
4. clean: puts it (and a thumbnail of an image) in storage, and writes the row and the
   question's answer in one transaction. A failed commit deletes what was put. That transaction
   writes the row, then reads the form session's answers again, locked, counts the files again
   (another tab's may have filled the question during the scan) and changes only the question's
   answer: what another tab changed meanwhile stays.

A file's bytes are deleted through a queue (``storage_deletion``): the transaction that deletes
its row queues them (:func:`queue_deletion`), :func:`delete_queued` deletes them just after the
commit, and what the storage refuses then stays queued for ``civicforms worker``
(:func:`delete_due`). A row never goes with its bytes left behind for good, and an erasure is
never half done by a storage that fails part way.

Every public function takes the session explicitly and keyword arguments, and owns its
transaction. Refusals are :class:`UploadRefused` (a field and the citizen's message).
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from .. import scanning, storage, uploads
from ..data import storage_deletions
from ..data import uploads as upload_data
from ..definition import Definition
from ..models import FormSession, Upload, utcnow
from ..storage import file_key, thumbnail_key
from ..widgets.file import DEFAULT_MAX_SIZE_MB, max_files
from .answer_stores import Holder, save_answers
from .submitting import SubmitError
from .unit_of_work import atomic

log = logging.getLogger(__name__)

# The most files one form may hold, every question together: "a thousand tiny files" stop here.
MAX_FILES_PER_FORM = 50

INFECTED = "The selected file contains a virus"
SCANNER_DOWN = (
    "The selected file could not be checked for viruses. Wait a few minutes and try again: "
    "it is kept until it has been checked"
)
STORAGE_DOWN = "The selected file could not be saved. Try again in a few minutes"
TOO_MANY_IN_FORM = f"You can only upload {MAX_FILES_PER_FORM} files to one form"


class UploadRefused(SubmitError):
    """The file was not kept (or a remove was not done): ``message`` says why, in the citizen's
    words. Nothing of the file is left on disk or in storage."""


class UploadWaiting(SubmitError):
    """The file passed every check but the virus scan, which could not run: it waits in
    quarantine (``upload``) and is scanned again by the page and the worker."""

    def __init__(self, field: str, upload: Upload):
        super().__init__(field, SCANNER_DOWN)
        self.upload = upload


@dataclass(frozen=True)
class Uploads:
    """What the use cases need from settings: where files wait and are kept, and the scanner
    (None only with ``allow_unscanned_uploads``, in development)."""

    storage: storage.Storage
    scanner: scanning.Scanner | None
    quarantine_dir: Path
    max_upload_mb: int = DEFAULT_MAX_SIZE_MB

    def incoming_path(self) -> Path:
        """A fresh file name in the quarantine folder for a file as it streams in."""
        self.quarantine_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.quarantine_dir / f"incoming-{secrets.token_hex(16)}"

    def waiting_path(self, upload_id: str) -> Path:
        return self.quarantine_dir / upload_id


def uploads_for(settings: Any) -> Uploads:
    """The storage, scanner and folders ``settings`` (runtime.settings.Settings) name."""
    return Uploads(
        storage=storage.storage_for(settings),
        scanner=scanning.scanner_for(settings),
        quarantine_dir=Path(settings.quarantine_dir),
        max_upload_mb=settings.max_upload_mb,
    )


def max_bytes(definition: Definition, question: str, cap_mb: int) -> int:
    """The largest file ``question`` takes, in bytes: its ``max_size_mb``, capped by settings."""
    q = definition.question(question)
    return min(q.max_size_mb or DEFAULT_MAX_SIZE_MB, cap_mb) * 1024 * 1024


def _remove_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _question_of(definition: Definition, question: str) -> None:
    if question not in definition.file_questions:
        raise UploadRefused(question, "This question does not take a file")


def _with_answer(session: Session, answers: dict[str, Any], form_session_id: str, question: str) -> dict[str, Any]:
    """``answers`` with ``question``'s answer read again from its rows (its clean files)."""
    answer = upload_data.answer_of(
        upload_data.unsent_uploads(session=session, form_session_id=form_session_id, question=question)
    )
    changed = {k: v for k, v in answers.items() if k != question}
    if answer:
        changed[question] = answer
    return changed


def _lock(session: Session, form_session: Holder) -> dict[str, Any]:
    """The form session's answers as they are now (not as the request read them: another tab may
    have changed them while a file was checked and scanned), its row locked until the
    transaction ends (``upload_data.lock_holder``). Call it after writing the file's row."""
    answers = upload_data.lock_holder(session=session, holder_id=form_session.id)
    return dict(form_session.answers) if answers is None else answers


def _refuse_if_full(
    session: Session, definition: Definition, form_session_id: str, question: str, *, coming: int
) -> None:
    """Refuse a file when ``question`` or the form would hold more than they take: ``coming`` is
    1 before the file's row is written (the early check, which saves a scan), 0 once it is."""
    most = max_files(definition.question(question))
    held = upload_data.unsent_uploads(session=session, form_session_id=form_session_id, question=question)
    if len(held) + coming > most:
        raise UploadRefused(question, f"You can only upload {most} file{'s' if most != 1 else ''}")
    if upload_data.count_unsent(session=session, form_session_id=form_session_id) + coming > MAX_FILES_PER_FORM:
        raise UploadRefused(question, TOO_MANY_IN_FORM)


def receive(
    *,
    session: Session,
    files: Uploads,
    definition: Definition,
    form_session: Holder,
    question: str,
    filename: str,
    path: Path,
    minutes: int,
) -> Upload:
    """Keep the file at ``path`` (in the quarantine folder) as an answer to ``question``.

    Returns the clean file's row. Raises :class:`UploadRefused` (the file deleted) or
    :class:`UploadWaiting` (the scanner is down: the file waits in quarantine). ``path`` is
    gone from the quarantine folder's incoming files in every case."""
    try:
        _question_of(definition, question)
        q = definition.question(question)
        _refuse_if_full(session, definition, form_session.id, question, coming=1)
        session.rollback()  # end the reads' transaction: the checks and the scan take a while
        try:
            checked = uploads.check_file(
                path, accept=list(q.accept), max_bytes=max_bytes(definition, question, files.max_upload_mb)
            )
        except uploads.FileRefused as refused:
            raise UploadRefused(question, refused.message) from None
        upload_id = secrets.token_hex(16)
        name = uploads.filename_for(filename, checked.kind)
        clean = scan(files, path, definition.id)
    except BaseException:
        _remove_file(path)
        raise
    if clean is None:  # the scanner is down: the file waits in quarantine
        waiting = files.waiting_path(upload_id)
        os.replace(path, waiting)
        try:
            with atomic(session):
                row = _new_row(session, upload_id, form_session, definition, question, name, checked, waiting=True)
                _lock(session, form_session)  # another tab's file may have filled the question meanwhile
                _refuse_if_full(session, definition, form_session.id, question, coming=0)
        except BaseException:
            _remove_file(waiting)
            raise
        log.warning("upload %s waits for the virus scanner (service %s)", upload_id, definition.id)
        raise UploadWaiting(question, row)
    try:
        return _keep(
            session=session,
            files=files,
            definition=definition,
            form_session=form_session,
            question=question,
            upload_id=upload_id,
            name=name,
            checked=checked,
            path=path,
            minutes=minutes,
        )
    finally:
        _remove_file(path)


def scan(files: Uploads, path: Path, service_id: str) -> bool | None:
    """True: clean (or not scanned, by the development setting); None: the scanner is down.
    An infected file raises UploadRefused (the caller deletes it)."""
    if files.scanner is None:
        log.warning("upload kept WITHOUT a virus scan (CIVICFORMS_ALLOW_UNSCANNED_UPLOADS, service %s)", service_id)
        return True
    try:
        with path.open("rb") as stream:
            result = files.scanner.scan(stream)
    except scanning.ScannerUnavailable:
        return None
    if not result.clean:
        # Never the file's name: it is the citizen's words, and may be personal.
        log.warning("infected upload refused (service %s): %s", service_id, result.signature)
        raise UploadRefused("", INFECTED)
    return True


def _keep(
    *,
    session: Session,
    files: Uploads,
    definition: Definition,
    form_session: Holder,
    question: str,
    upload_id: str,
    name: str,
    checked: uploads.Checked,
    path: Path,
    minutes: int,
) -> Upload:
    """Put a clean file (and its thumbnail) in storage and write its row and the answer."""
    stored: list[str] = []
    try:
        with atomic(session):
            row = _new_row(session, upload_id, form_session, definition, question, name, checked, waiting=False)
            # The answers as they are now, locked: another tab may have changed them (or sent a
            # file, filling the question) while this file was checked and scanned.
            now_answers = _lock(session, form_session)
            _refuse_if_full(session, definition, form_session.id, question, coming=0)
            row.thumbnail_key = store_clean(files, upload_id, path, checked.mime, stored)
            session.add(row)
            answers = _with_answer(session, now_answers, form_session.id, question)
            save_answers(session=session, holder=form_session, answers=answers, minutes=minutes)
    except storage.StorageUnavailable:
        delete_stored(files, stored)
        log.exception("upload not stored: the storage is unavailable (service %s)", definition.id)
        raise UploadRefused(question, STORAGE_DOWN) from None
    except BaseException:
        delete_stored(files, stored)
        raise
    session.refresh(row)
    return row


def _new_row(
    session: Session,
    upload_id: str,
    form_session: Holder,
    definition: Definition,
    question: str,
    name: str,
    checked: uploads.Checked,
    *,
    waiting: bool,
) -> Upload:
    """The row of a file that passed its checks: clean (kept in storage) or waiting for its scan."""
    return upload_data.add_upload(
        session=session,
        upload_id=upload_id,
        form_session_id=form_session.id,
        service_id=definition.id,
        question=question,
        filename=name,
        content_type=checked.mime,
        size_bytes=checked.size,
        sha256=checked.sha256,
        status=upload_data.WAITING if waiting else upload_data.CLEAN,
        storage_key=None if waiting else file_key(upload_id),
        thumbnail_key=None,
        expires_at=form_session.expires_at,
    )


def store_clean(files: Uploads, upload_id: str, path: Path, content_type: str, stored: list[str]) -> str | None:
    """Put a clean file, and an image's thumbnail, in storage (each key put is added to
    ``stored``, for the caller to delete if its transaction fails); the thumbnail's key or None."""
    storage.put_file(files.storage, file_key(upload_id), path, content_type)
    stored.append(file_key(upload_id))
    small = uploads.thumbnail(path)
    if small is None:
        return None
    files.storage.put(thumbnail_key(upload_id), io.BytesIO(small), "image/png")
    stored.append(thumbnail_key(upload_id))
    return thumbnail_key(upload_id)


def delete_stored(files: Uploads, keys: Iterable[str]) -> None:
    for key in keys:
        try:
            files.storage.delete(key)
        except Exception:  # noqa: BLE001  (logged; the purge finds nothing to delete later)
            log.exception("could not delete %s from storage", key)


def queue_deletion(*, session: Session, upload_ids: Iterable[str]) -> list[int]:
    """In the transaction that deletes these uploads' rows: queue the deletion of their bytes.
    The queued deletions' ids, for :func:`delete_queued` once that transaction has committed."""
    return storage_deletions.queue(session=session, upload_ids=upload_ids)


def _delete_bytes_of(files: Uploads, upload_id: str) -> None:
    """Every place an upload's bytes may be, from its id alone (whatever its row said when it
    went: a rescan may have stored it since): the file and its thumbnail in storage, and the
    quarantine folder. A key already gone is not an error; a storage that fails raises."""
    for key in (file_key(upload_id), thumbnail_key(upload_id)):
        files.storage.delete(key)
    files.waiting_path(upload_id).unlink(missing_ok=True)


def _try_deletions(session: Session, files: Uploads, queued: list[Any]) -> int:
    """Delete the bytes of ``queued`` deletions; those done are forgotten, those the storage
    refused are tried again later (logged). How many are left."""
    done: list[int] = []
    left = 0
    for deletion in queued:
        try:
            _delete_bytes_of(files, deletion.upload_id)
        except Exception as err:  # noqa: BLE001  (kept queued: the worker tries again)
            log.warning("upload %s's bytes not deleted yet (%s): the worker tries again", deletion.upload_id, err)
            storage_deletions.failed(session=session, deletion=deletion, error=f"{type(err).__name__}: {err}")
            left += 1
        else:
            done.append(deletion.id)
    storage_deletions.done(session=session, ids=done)
    return left


def delete_queued(*, session: Session, files: Uploads, ids: Iterable[int]) -> int:
    """Just after the commit that queued them (:func:`queue_deletion`): delete those bytes now.
    What the storage refuses stays queued for the worker. How many are left."""
    wanted = list(ids)
    if not wanted:
        return 0
    with atomic(session):
        return _try_deletions(session, files, storage_deletions.of_ids(session=session, ids=wanted))


@dataclass(frozen=True)
class Deleted:
    deleted: int
    left: int


def delete_due(*, session_factory: Callable[[], Session], files: Uploads, limit: int = 500) -> Deleted:
    """The worker's pass: try again the deletions whose next try is due (the storage refused
    them before), ``limit`` of them."""
    with session_factory() as session, atomic(session):
        queued = storage_deletions.due(session=session, limit=limit)
        left = _try_deletions(session, files, queued)
        return Deleted(len(queued) - left, left)


def remove(
    *,
    session: Session,
    files: Uploads,
    definition: Definition,
    form_session: Holder,
    question: str,
    upload_id: str,
    minutes: int,
) -> Upload:
    """Remove one of the form's files from ``question``: its row, the answer and the deletion
    of its bytes queued in one transaction, then its bytes. Raises :class:`UploadRefused` for a
    file this form does not hold (removed already, another form's, made up)."""
    _question_of(definition, question)
    with atomic(session):
        row = upload_data.unsent_upload(session=session, form_session_id=form_session.id, upload_id=upload_id)
        if row is None or row.question != question:
            raise UploadRefused(question, "The file has already been removed")
        upload_data.delete_upload(session=session, upload=row)
        answers = _with_answer(session, _lock(session, form_session), form_session.id, question)
        save_answers(session=session, holder=form_session, answers=answers, minutes=minutes)
        queued = queue_deletion(session=session, upload_ids=[row.id])
    delete_queued(session=session, files=files, ids=queued)
    return row


@dataclass(frozen=True)
class Rescanned:
    clean: list[Upload]
    infected: list[Upload]
    waiting: list[Upload]


def rescan(*, session: Session, files: Uploads, uploads_waiting: list[Upload], now: Any = None) -> Rescanned:
    """Scan again files whose scan could not run: a clean one is stored and joins its question's
    answer (when its form is still unsent); an infected one is deleted with its row. Each file
    is its own transaction. A scanner still down leaves them waiting: the first file it fails
    leaves the rest unasked, so a page (or a worker pass) waits for one connect or timeout at
    most, not one per file (a hung clamd: CIVICFORMS_CLAMD_TIMEOUT_SECONDS each)."""
    clean: list[Upload] = []
    infected: list[Upload] = []
    waiting: list[Upload] = []
    scanner_down = False
    for row in uploads_waiting:
        path = files.waiting_path(row.id)
        if scanner_down:
            waiting.append(row)
            continue
        if files.scanner is None:
            verdict: bool | None = True
        else:
            try:
                with path.open("rb") as stream:
                    result = files.scanner.scan(stream)
                verdict = result.clean
            except scanning.ScannerUnavailable:
                waiting.append(row)
                scanner_down = True
                continue
            except FileNotFoundError:
                verdict = False  # its bytes are gone: nothing to keep
            else:
                if not verdict:
                    log.warning("infected upload %s deleted (service %s): %s", row.id, row.service_id, result.signature)
        if not verdict:
            with atomic(session):
                found = session.get(Upload, row.id)
                if found is not None:
                    upload_data.delete_upload(session=session, upload=found)
                    _refresh_answer(session, found)
            _remove_file(path)
            infected.append(row)
            continue
        stored: list[str] = []
        try:
            with atomic(session):
                # Locked before a byte is stored: a removal or purge of it meanwhile waits for this
                # commit, then queues the deletion of what was stored (keys from the id).
                found = session.get(Upload, row.id, with_for_update=True)
                if found is None or found.status != upload_data.WAITING:
                    continue
                thumb = store_clean(files, row.id, path, found.content_type, stored)
                upload_data.mark_clean(session=session, upload=found, storage_key=file_key(row.id), thumbnail_key=thumb)
                _refresh_answer(session, found)
        except storage.StorageUnavailable:
            delete_stored(files, stored)
            log.exception("waiting upload %s not stored: the storage is unavailable", row.id)
            waiting.append(row)
            continue
        except BaseException:
            delete_stored(files, stored)
            raise
        _remove_file(path)
        clean.append(found)
    return Rescanned(clean, infected, waiting)


def _refresh_answer(session: Session, row: Upload) -> None:
    """The question's answer in the row's form session, read again from its files (an unsent
    form only: a sent one has its answers in the submission)."""
    if row.form_session_id is None or row.submission_id is not None:
        return
    form_session = session.get(FormSession, row.form_session_id)
    if form_session is None or form_session.submission_reference is not None:
        return
    form_session.answers = _with_answer(session, form_session.answers, form_session.id, row.question)
    session.add(form_session)
    session.flush()


def rescan_form(*, session: Session, files: Uploads, form_session_id: str, question: str | None = None) -> Rescanned:
    """Scan again a form's waiting files (its page does, each time it is shown)."""
    waiting = [
        row
        for row in upload_data.unsent_uploads(session=session, form_session_id=form_session_id, question=question)
        if row.status == upload_data.WAITING
    ]
    session.rollback()
    if not waiting:
        return Rescanned([], [], [])
    return rescan(session=session, files=files, uploads_waiting=waiting)


def rescan_waiting(*, session_factory: Callable[[], Session], files: Uploads, limit: int = 100) -> Rescanned:
    """The worker's pass: scan again every file still waiting (oldest first, ``limit`` of them)."""
    with session_factory() as session:
        waiting = upload_data.waiting_uploads(session=session, limit=limit)
        session.rollback()
        return rescan(session=session, files=files, uploads_waiting=waiting)


def purge_forgotten(
    *,
    session_factory: Callable[[], Session],
    files: Uploads,
    batch_size: int = 1000,
    preview_minutes: int | None = None,
) -> int:
    """Delete the files of forms that were never sent (expired, purged, started again) and files
    a sent form did not carry: their rows, then their bytes. Returns how many.

    "Try it"'s files go with their preview session, and, given ``preview_minutes`` (the
    session timeout), once it has been idle that long."""
    deleted = 0
    while True:
        with session_factory() as session:
            with atomic(session):
                now = utcnow()
                idle_since = now - timedelta(minutes=preview_minutes) if preview_minutes is not None else None
                rows = upload_data.forgotten_uploads(
                    session=session, now=now, limit=batch_size, preview_idle_since=idle_since
                )
                ids = [row.id for row in rows]
                upload_data.delete_rows(session=session, ids=ids)
                queued = queue_deletion(session=session, upload_ids=ids)
            delete_queued(session=session, files=files, ids=queued)
        deleted += len(rows)
        if len(rows) < batch_size:
            return deleted


def discard(*, session: Session, files: Uploads, form_session_id: str) -> int:
    """Delete every unsent file held under ``form_session_id`` (its rows, then its bytes): the
    builder's "try it" when the staff member starts again. Returns how many."""
    with atomic(session):
        rows = upload_data.unsent_uploads(session=session, form_session_id=form_session_id)
        ids = [row.id for row in rows]
        upload_data.delete_rows(session=session, ids=ids)
        queued = queue_deletion(session=session, upload_ids=ids)
    delete_queued(session=session, files=files, ids=queued)
    return len(ids)


def waiting_for(*, session: Session, form_session_id: str) -> list[Upload]:
    """A form's files still waiting for the virus scan (Continue and sending wait for them)."""
    return [
        row
        for row in upload_data.unsent_uploads(session=session, form_session_id=form_session_id)
        if row.status == upload_data.WAITING
    ]

"""A file question's page, and the request that streams a file in (docs/uploads.md, "The
citizen's pages").

The page is the GOV.UK pattern without JavaScript: the files uploaded so far (name, size,
Remove), then a file input with "Upload file", and "Continue". Each Remove is a small form of
its own; the upload form is multipart and posts to ``uploads.upload_file``
(``runtime.web.uploads``). htmx boosts these forms as it does every form: the same posts.

A file streams into the quarantine folder as it arrives (``UploadRequest``), counted: past the
question's limit nothing more is written and what was is emptied, so no file over the limit is
ever on disk in full.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Request, abort, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from .. import rendering
from ..data import uploads as upload_data
from ..definition import Page
from ..journey import Journey
from ..services import answer_stores, uploading
from ..services.uploading import SCANNER_DOWN
from ..uploads import too_large
from ..widgets.file import max_files, max_size_mb, size_in_words
from .common import db, new_session, settings
from .journey_pages import JourneyPages

# The page's own fields around a file (the CSRF token, the button) and multipart's headers.
FORM_OVERHEAD_BYTES = 64 * 1024
# An over-size body is read and thrown away up to this much, so that the browser gets the page
# saying so (a connection closed mid-upload shows the citizen a browser error instead).
DRAIN_CAP_BYTES = 64 * 1024 * 1024
TOO_LARGE = "too-large"


def file_question(page: Page, file_questions: tuple[str, ...]) -> str | None:
    """The file question ``page`` asks (it is the page's only question), or None."""
    if len(page.questions) == 1 and page.questions[0] in file_questions:
        return page.questions[0]
    return None


class LimitedFile:
    """Where one file of a multipart post streams to: a 0600 file in the quarantine folder that
    counts what is written and, past ``limit`` bytes, empties itself and writes nothing more."""

    def __init__(self, path: Path, limit: int):
        self.path = path
        self.limit = limit
        self.size = 0
        self.over = False
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "w+b")

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.over:
            return len(data)
        if self.size > self.limit:
            self.over = True
            self._file.seek(0)
            self._file.truncate(0)
            return len(data)
        return self._file.write(data)

    def __getattr__(self, name: str) -> Any:  # read, seek, tell, flush, close: the file's own
        return getattr(self._file, name)


class UploadSink:
    """The files one request streams in; whatever the view did not take is deleted at teardown."""

    def __init__(self, folder: Path, limit: int):
        self.folder = folder
        self.limit = limit
        self.files: list[LimitedFile] = []

    def open(self) -> LimitedFile:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        part = LimitedFile(self.folder / f"incoming-{os.urandom(16).hex()}", self.limit)
        self.files.append(part)
        return part

    def take(self, stream: Any) -> LimitedFile | None:
        """The file behind a FileStorage's stream, now the caller's to delete."""
        for part in self.files:
            if part is stream:
                self.files.remove(part)
                part.close()
                return part
        return None

    def clean_up(self) -> None:
        for part in self.files:
            part.close()
            try:
                part.path.unlink()
            except FileNotFoundError:
                pass
        self.files = []


class UploadRequest(Request):
    """The citizen face's request: a post that sets ``upload_sink`` streams its files there."""

    upload_sink: UploadSink | None = None

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> Any:
        if self.upload_sink is not None:
            return self.upload_sink.open()
        return super()._get_file_stream(total_content_length, content_type, filename, content_length)


def continue_errors(journey: Journey, form_session_id: str, page: Page, question: str) -> dict[str, str]:
    """Why Continue cannot go on from a file question's page: the page's own rules (required,
    how many files), or a file still waiting for its virus scan."""
    errors = journey.page_errors(page)
    if not errors:
        rows = upload_data.unsent_uploads(session=db(), form_session_id=form_session_id, question=question)
        if any(row.status == upload_data.WAITING for row in rows):
            errors = {question: SCANNER_DOWN}
    return errors


def file_page(
    journey: JourneyPages,
    form_session_id: str,
    page: Page,
    question: str,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    """Show a file question's page: its files, the upload form, any error or banner."""
    service = journey.service
    q = service.question(question)
    errors = dict(errors or {})
    change = request.args.get("change") == "1"
    limit_mb = min(max_size_mb(q), settings().max_upload_mb)
    if request.args.get("error") == TOO_LARGE and not errors:
        errors[question] = too_large(limit_mb * 1024 * 1024)
    rows = upload_data.unsent_uploads(session=db(), form_session_id=form_session_id, question=question)
    if request.method == "GET" and any(row.status == upload_data.WAITING for row in rows):
        # Files whose scan could not run are scanned again each time the page is shown. Its own
        # session: a question page's is the autocommit one, and a rescan writes rows together.
        with new_session(current_app.extensions["civicforms.engine"]) as own:
            rescanned = uploading.rescan_form(
                session=own,
                files=current_app.extensions["civicforms.uploads"],
                form_session_id=form_session_id,
                question=question,
            )
        if rescanned.infected and not errors:
            errors[question] = uploading.INFECTED
        db().expire_all()  # the rows as the rescan left them, not as this session read them
        rows = upload_data.unsent_uploads(session=db(), form_session_id=form_session_id, question=question)
    waiting = [row.filename for row in rows if row.status == upload_data.WAITING]
    if waiting and not errors:
        errors[question] = (
            f"{waiting[0]} is waiting for a virus check. Wait a few minutes, then select Continue to check it again"
        )
    uploaded = request.args.get("uploaded")
    banner = None
    if not errors:
        named = next((row for row in rows if row.id == uploaded), None)
        if named is not None:
            banner = f"{named.filename} has been uploaded"
        elif request.args.get("removed") == "1":
            banner = "The file has been removed"
    args: dict[str, Any] = {"change": "1"} if change else {}
    files = [
        {
            "id": row.id,
            "name": row.filename,
            "size": size_in_words(row.size_bytes),
            "waiting": row.status == upload_data.WAITING,
            "remove_url": url_for(
                journey.remove_file_endpoint, page_id=page.id, upload_id=row.id, **journey.url_args, **args
            ),
        }
        for row in rows
    ]
    view = service.widget_of(question).view(q, {}, errors, as_heading=False)
    params = dict(view["params"])
    more = "another file" if rows else "a file"
    params["label"] = {"text": f"Upload {more}", "classes": "govuk-label--m"}
    # The limit the page enforces (settings may cap the definition's): said in the hint too.
    hint = params["hint"]["text"].replace(f"smaller than {max_size_mb(q)}MB", f"smaller than {limit_mb}MB")
    params["hint"] = {"text": hint}
    back = journey.page_url(None) if change else journey.back_url(page, change=change)
    return journey.render(
        "citizen/file_question.html",
        status,
        service=service,
        page=page,
        question=q,
        files=files,
        full=len(rows) >= max_files(q),
        upload=params,
        upload_url=url_for(journey.upload_endpoint, page_id=page.id, **journey.url_args, **args),
        banner=banner,
        errors=rendering.error_summary(service, errors),
        back_url=back,
        unscanned=settings().allow_unscanned_uploads,
    )


# -- the posts, for any face that walks a journey (the citizen's, and the builder's "try it") -----


def uploads_of_app() -> uploading.Uploads:
    """The app's storage, scanner and quarantine folder (``runtime.web.uploads.init_app``)."""
    return current_app.extensions["civicforms.uploads"]  # type: ignore[no-any-return]


def drain(limit: int) -> None:
    """Read what is left of the body and throw it away, up to ``limit`` bytes."""
    stream = request.environ.get("wsgi.input")
    left = min(request.content_length or 0, limit)
    while stream is not None and left > 0:
        chunk = stream.read(min(left, 1024 * 1024))
        if not chunk:
            break
        left -= len(chunk)


def _change_args() -> dict[str, Any]:
    return {"change": "1"} if request.args.get("change") == "1" else {}


def limit_upload(pages: JourneyPages, page: Page | None) -> None:
    """Before an upload's body is read (from a url value preprocessor: they run before every
    before_request hook, the CSRF check among them): its limit, and where its file streams to.
    A body over the limit by its Content-Length is read and thrown away unwritten, and the page
    says the file is too large."""
    question = file_question(page, pages.service.file_questions) if page is not None else None
    if page is None or question is None:
        return
    limit = uploading.max_bytes(pages.service, question, settings().max_upload_mb)
    length = request.content_length
    if length is not None and length > limit + FORM_OVERHEAD_BYTES:
        # Refused by its Content-Length, before a byte of it is read, let alone written.
        if length > DRAIN_CAP_BYTES:
            abort(413)
        drain(length)
        abort(redirect(pages.page_url(page, error=TOO_LARGE, **_change_args()), 303))
    request.max_content_length = limit + FORM_OVERHEAD_BYTES
    # werkzeug's multipart decoder counts its buffer (each 64KB read of the file, and the bytes of
    # the last that a boundary may start in) against this: at 64KB, most files over 1MB were 413.
    request.max_form_memory_size = 2 * FORM_OVERHEAD_BYTES
    request.upload_sink = UploadSink(uploads_of_app().quarantine_dir, limit)  # type: ignore[attr-defined]


def clean_up_upload() -> None:
    """What a request streamed in and its view did not take is deleted (a teardown)."""
    sink: UploadSink | None = getattr(request, "upload_sink", None)
    if sink is not None:
        sink.clean_up()


def _back_to(pages: JourneyPages, page: Page, **args: Any) -> Response:
    return redirect(pages.page_url(page, **_change_args(), **args), 303)


def _show(again: Callable[[], Any], pages: JourneyPages, page: Page, question: str, message: str) -> Any:
    """The page again, with ``message`` at its file input (the latest files read again)."""
    fresh = again()
    fresh = fresh if isinstance(fresh, JourneyPages) else pages
    return file_page(fresh, fresh.form_session.id, page, question, {question: message})  # type: ignore[attr-defined]


def upload_post(pages: JourneyPages, page: Page, question: str, again: Callable[[], Any]) -> Any:
    """Upload the chosen file ("Upload file"), or upload it if one is chosen and go on
    ("Continue"). ``pages`` has a ``form_session`` (``answer_stores.Holder``); ``again`` reads
    the journey afresh (or gives where to go instead, a Response)."""
    holder: answer_stores.Holder = pages.form_session  # type: ignore[attr-defined]
    minutes = settings().session_timeout_minutes
    continuing = request.form.get("action") == "continue"
    chosen = request.files.get(question)
    sink: UploadSink | None = getattr(request, "upload_sink", None)
    uploaded = None
    if chosen is not None and chosen.filename:
        part = sink.take(chosen.stream) if sink is not None else None
        if part is None:
            abort(400)
        if part.over:
            part.path.unlink(missing_ok=True)
            limit = uploading.max_bytes(pages.service, question, settings().max_upload_mb)
            return _show(again, pages, page, question, too_large(limit))
        try:
            row = uploading.receive(
                session=db(),
                files=uploads_of_app(),
                definition=pages.service,
                form_session=holder,
                question=question,
                filename=chosen.filename,
                path=part.path,
                minutes=minutes,
            )
        except uploading.UploadRefused as refused:
            return _show(again, pages, page, question, refused.message)
        except uploading.UploadWaiting as waiting:
            return _show(again, pages, page, question, waiting.message)
        uploaded = row.id
    elif not continuing:
        name = pages.service.error_name(question)
        return _show(again, pages, page, question, f"Select {name}")
    if not continuing:
        return _back_to(pages, page, uploaded=uploaded)
    # Continue: nothing goes on while a file waits for its scan (tried again now), and the
    # page's rules hold (required, how many files).
    rescanned = uploading.rescan_form(
        session=db(), files=uploads_of_app(), form_session_id=holder.id, question=question
    )
    if rescanned.waiting:
        return _show(again, pages, page, question, uploading.SCANNER_DOWN)
    if rescanned.infected:
        return _show(again, pages, page, question, uploading.INFECTED)
    fresh = again()
    if not isinstance(fresh, JourneyPages):
        return fresh
    return file_question_page(fresh, page, question)


def remove_post(pages: JourneyPages, page: Page, question: str, upload_id: str, again: Callable[[], Any]) -> Any:
    """Remove one of the page's files."""
    try:
        uploading.remove(
            session=db(),
            files=uploads_of_app(),
            definition=pages.service,
            form_session=pages.form_session,  # type: ignore[attr-defined]
            question=question,
            upload_id=upload_id[:32],
            minutes=settings().session_timeout_minutes,
        )
    except uploading.UploadRefused as refused:
        return _show(again, pages, page, question, refused.message)
    return _back_to(pages, page, removed="1")


def file_question_page(pages: JourneyPages, page: Page, question: str) -> Any:
    """A file question's page: shown (GET), or Continue (a post with no file chosen: its answer
    is never read from typed fields) going on once the page's rules hold."""
    holder: answer_stores.Holder = pages.form_session  # type: ignore[attr-defined]
    if request.method == "POST":
        errors = continue_errors(pages.journey, holder.id, page, question)
        if errors:
            return file_page(pages, holder.id, page, question, errors)
        change = request.args.get("change") == "1"
        return redirect(pages.after_answer_url(page, pages.journey, change=change), 303)
    answer_stores.keep_alive(session=db(), holder=holder, minutes=settings().session_timeout_minutes)
    return file_page(pages, holder.id, page, question)

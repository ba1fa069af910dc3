"""A file question's posts: upload a file (and Continue), remove one (docs/uploads.md, "The
citizen's pages"). The page itself is ``citizen.question`` (``upload_pages.file_page``).

The upload post is the only one allowed more than CIVICFORMS_MAX_POST_BYTES. Before anything
reads it (the CSRF check reads the form), ``_prepare`` finds the page's file question and its
limit: a body whose Content-Length is over it is read and thrown away unwritten, and the page
says the file is too large; any other streams its file into the quarantine folder, counted
(``upload_pages.UploadRequest``), so that nothing over the limit is ever written in full.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from ..definition import Page
from ..services import uploading
from ..uploads import too_large
from .citizen import CitizenJourney, _choose_first, _expired, _journey, _left_idle
from .common import db, settings
from .upload_pages import (
    DRAIN_CAP_BYTES,
    FORM_OVERHEAD_BYTES,
    TOO_LARGE,
    UploadSink,
    continue_errors,
    file_page,
    file_question,
)

bp = Blueprint("uploads", __name__)

UPLOAD = "uploads.upload_file"


def init_app(app: Flask) -> None:
    """The storage, scanner and quarantine folder, made once when the app starts (the scanner
    logs a warning then when files would not be scanned)."""
    app.extensions["civicforms.uploads"] = uploading.uploads_for(app.extensions["civicforms.settings"])
    app.register_blueprint(bp)


def files() -> uploading.Uploads:
    """The app's storage, scanner and quarantine folder."""
    return current_app.extensions["civicforms.uploads"]  # type: ignore[no-any-return]


def _limit_bytes(journey: CitizenJourney, question: str) -> int:
    return uploading.max_bytes(journey.service, question, settings().max_upload_mb)


def _page_and_question(journey: CitizenJourney, page_id: str) -> tuple[Page, str]:
    page = journey.service.page_by_id.get(page_id)
    question = file_question(page, journey.service.file_questions) if page is not None else None
    if page is None or question is None:
        abort(404)
    return page, question


def _drain(limit: int) -> None:
    """Read what is left of the body and throw it away, up to ``limit`` bytes."""
    stream = request.environ.get("wsgi.input")
    left = min(request.content_length or 0, limit)
    while stream is not None and left > 0:
        chunk = stream.read(min(left, 1024 * 1024))
        if not chunk:
            break
        left -= len(chunk)


@bp.url_value_preprocessor
def _prepare(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Before the body is read (url value preprocessors run before every before_request hook,
    the CSRF check among them): the upload's limit, and where its file streams to."""
    if endpoint != UPLOAD or request.method != "POST" or not values:
        return
    journey = _journey(str(values.get("service_id", "")))
    if journey is None or journey.form_session.submission_reference:
        return  # the view says where to go; a body it will not read stays within the usual limit
    page = journey.service.page_by_id.get(str(values.get("page_id", "")))
    question = file_question(page, journey.service.file_questions) if page is not None else None
    if question is None:
        return
    limit = _limit_bytes(journey, question)
    length = request.content_length
    if length is not None and length > limit + FORM_OVERHEAD_BYTES:
        # Refused by its Content-Length, before a byte of it is read, let alone written.
        if length > DRAIN_CAP_BYTES:
            abort(413)
        _drain(length)
        args = {"change": "1"} if request.args.get("change") == "1" else {}
        assert page is not None
        abort(redirect(journey.page_url(page, error=TOO_LARGE, **args), 303))
    request.max_content_length = limit + FORM_OVERHEAD_BYTES
    # werkzeug's multipart decoder counts its buffer (each 64KB read of the file, and the bytes of
    # the last that a boundary may start in) against this: at 64KB, most files over 1MB were 413.
    request.max_form_memory_size = 2 * FORM_OVERHEAD_BYTES
    request.upload_sink = UploadSink(files().quarantine_dir, limit)  # type: ignore[attr-defined]


@bp.teardown_request
def _clean_up(_exc: BaseException | None) -> None:
    sink: UploadSink | None = getattr(request, "upload_sink", None)
    if sink is not None:
        sink.clean_up()


def _where(service_id: str, page_id: str) -> tuple[CitizenJourney, Page, str] | Response:
    """The citizen's journey, the file question's page and its question; or where they must go
    instead (the form timed out, was sent, was left idle, or has not reached this page)."""
    journey = _journey(service_id)
    if journey is None:
        return _expired(service_id)
    if journey.form_session.submission_reference:
        return redirect(url_for("citizen.confirmation", service_id=service_id), 303)
    page, question = _page_and_question(journey, page_id)
    if _left_idle(journey.form_session):
        return _choose_first(service_id, page_id)
    if not journey.journey.can_visit(page):
        return redirect(journey.page_url(journey.journey.first_incomplete), 303)
    return journey, page, question


def _back_to(journey: CitizenJourney, page: Any, **args: Any) -> Response:
    if request.args.get("change") == "1":
        args["change"] = "1"
    return redirect(journey.page_url(page, **args), 303)


@bp.post("/services/<service_id>/<page_id>/upload")
def upload_file(service_id: str, page_id: str) -> Any:
    """Upload the chosen file ("Upload file"), or upload it if one is chosen and go on
    ("Continue")."""
    found = _where(service_id, page_id)
    if isinstance(found, Response):
        return found  # a file posted with it is not kept
    journey, page, question = found
    form_session = journey.form_session
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
            return _show(journey, page, question, too_large(_limit_bytes(journey, question)))
        try:
            row = uploading.receive(
                session=db(),
                files=files(),
                definition=journey.service,
                form_session=form_session,
                question=question,
                filename=chosen.filename,
                path=part.path,
                minutes=minutes,
            )
        except uploading.UploadRefused as refused:
            return _show(journey, page, question, refused.message)
        except uploading.UploadWaiting as waiting:
            return _show(journey, page, question, waiting.message)
        uploaded = row.id
    elif not continuing:
        name = journey.service.error_name(question)
        return _show(journey, page, question, f"Select {name}")
    if not continuing:
        return _back_to(journey, page, uploaded=uploaded)
    # Continue: nothing goes on while a file waits for its scan (tried again now), and the
    # page's rules hold (required, how many files).
    rescanned = uploading.rescan_form(session=db(), files=files(), form_session_id=form_session.id, question=question)
    if rescanned.waiting:
        return _show(journey, page, question, uploading.SCANNER_DOWN)
    if rescanned.infected:
        return _show(journey, page, question, uploading.INFECTED)
    fresh = _journey(service_id)
    if fresh is None:
        return _expired(service_id)
    errors = continue_errors(fresh.journey, fresh.form_session.id, page, question)
    if errors:
        return file_page(fresh, fresh.form_session.id, page, question, errors)
    change = request.args.get("change") == "1"
    return redirect(fresh.after_answer_url(page, fresh.journey, change=change), 303)


def _show(journey: CitizenJourney, page: Any, question: str, message: str) -> Any:
    """The page again, with ``message`` at its file input (the latest files read again)."""
    fresh = _journey(journey.service.id) or journey
    return file_page(fresh, fresh.form_session.id, page, question, {question: message})


@bp.post("/services/<service_id>/<page_id>/files/<upload_id>/remove")
def remove_file(service_id: str, page_id: str, upload_id: str) -> Any:
    found = _where(service_id, page_id)
    if isinstance(found, Response):
        return found
    journey, page, question = found
    try:
        uploading.remove(
            session=db(),
            files=files(),
            definition=journey.service,
            form_session=journey.form_session,
            question=question,
            upload_id=upload_id[:32],
            minutes=settings().session_timeout_minutes,
        )
    except uploading.UploadRefused as refused:
        return _show(journey, page, question, refused.message)
    return _back_to(journey, page, removed="1")

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

from flask import Blueprint, Flask, abort, redirect, request, url_for
from werkzeug.wrappers import Response

from ..definition import Page
from ..services import uploading
from .citizen import CitizenJourney, _choose_first, _expired, _journey, _left_idle
from .upload_pages import clean_up_upload, file_question, limit_upload, remove_post, upload_post

bp = Blueprint("uploads", __name__)

UPLOAD = "uploads.upload_file"


def init_app(app: Flask) -> None:
    """The storage, scanner and quarantine folder, made once when the app starts (the scanner
    logs a warning then when files would not be scanned)."""
    app.extensions["civicforms.uploads"] = uploading.uploads_for(app.extensions["civicforms.settings"])
    app.register_blueprint(bp)


def _page_and_question(journey: CitizenJourney, page_id: str) -> tuple[Page, str]:
    page = journey.service.page_by_id.get(page_id)
    question = file_question(page, journey.service.file_questions) if page is not None else None
    if page is None or question is None:
        abort(404)
    return page, question


@bp.url_value_preprocessor
def _prepare(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Before the body is read: the upload's limit, and where its file streams to."""
    if endpoint != UPLOAD or request.method != "POST" or not values:
        return
    journey = _journey(str(values.get("service_id", "")))
    if journey is None or journey.form_session.submission_reference:
        return  # the view says where to go; a body it will not read stays within the usual limit
    limit_upload(journey, journey.service.page_by_id.get(str(values.get("page_id", ""))))


@bp.teardown_request
def _clean_up(_exc: BaseException | None) -> None:
    clean_up_upload()


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


def _again(service_id: str) -> Any:
    """The citizen's journey read afresh, or where to go when it has expired."""
    return _journey(service_id) or _expired(service_id)


@bp.post("/services/<service_id>/<page_id>/upload")
def upload_file(service_id: str, page_id: str) -> Any:
    """Upload the chosen file ("Upload file"), or upload it if one is chosen and go on
    ("Continue") (``upload_pages.upload_post``)."""
    found = _where(service_id, page_id)
    if isinstance(found, Response):
        return found  # a file posted with it is not kept
    return upload_post(*found, again=lambda: _again(service_id))


@bp.post("/services/<service_id>/<page_id>/files/<upload_id>/remove")
def remove_file(service_id: str, page_id: str, upload_id: str) -> Any:
    found = _where(service_id, page_id)
    if isinstance(found, Response):
        return found
    return remove_post(*found, upload_id, again=lambda: _again(service_id))

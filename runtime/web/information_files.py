"""The applicant's files for a request's documents, on the page where they answer a request for
information (runtime.web.case_status; docs/uploads.md, "Staff" and docs/casework.md).

Each document the caseworker asked for ("A copy of your tenancy agreement") gets the GOV.UK file
upload pattern without JavaScript, as a file question does (runtime.web.uploads): the files sent
so far (name, size, Remove), a file input and "Upload file". The upload streams into the
quarantine folder, counted, and stops at the limit (runtime.web.upload_pages); an over-size body
by its Content-Length is thrown away unread. Then runtime.services.case_files.receive_document
checks, scans and keeps it. The page is reached by the link in the applicant's email (the
request's token) or from their status page (the status token): both work here.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, abort, redirect, request, url_for
from werkzeug.wrappers import Response

from .. import cases, uploads
from ..models import Case, InformationRequest
from ..services import case_files, uploading
from ..widgets.file import size_in_words
from .case_status import _information_page
from .common import db, settings
from .upload_pages import DRAIN_CAP_BYTES, FORM_OVERHEAD_BYTES, UploadSink, drain, uploads_of_app

bp = Blueprint("information_files", __name__)

UPLOADS = ("information_files.upload", "information_files.upload_from_status")
# The endpoints that name the request by the status page's token (the case's open request).
FROM_STATUS = (
    "case_status.information_from_status",
    "information_files.upload_from_status",
    "information_files.remove_from_status",
)
TOO_LARGE = "too-large"


def _found(token: str, from_status: bool) -> tuple[InformationRequest, Case, str]:
    """The request a URL names, its case, and its answer page's address (404 if none)."""
    if from_status:
        case = cases.case_for_status_token(db(), token, settings().secret_key)
        row = cases.open_information_request(db(), case_id=case.id) if case is not None and case.id else None
        page = url_for("case_status.information_from_status", token=token)
    else:
        row = cases.information_request_for_token(db(), token)
        case = db().get(Case, row.case_id) if row is not None else None
        page = url_for("case_status.information", token=token)
    if row is None or case is None or row.id is None:
        abort(404)
    return row, case, page


def _document(row: InformationRequest, number: int) -> str:
    documents = row.documents or []
    if not 1 <= number <= len(documents):
        abort(404)
    return documents[number - 1]


@bp.app_template_global("documents_of")
def documents_of(row: InformationRequest, errors: dict[str, str]) -> list[dict[str, Any]]:
    """What the answer page shows for each document asked for: its files and its upload form."""
    if not row.documents or row.id is None:
        return []
    from_status = request.endpoint in FROM_STATUS
    token = str((request.view_args or {}).get("token", ""))
    endpoint = "information_files.upload_from_status" if from_status else "information_files.upload"
    remove = "information_files.remove_from_status" if from_status else "information_files.remove"
    rows = case_files.document_uploads(db(), request_id=row.id)
    uploaded = request.args.get("uploaded", "")[:32]
    too_large = request.args.get("error") == TOO_LARGE
    out = []
    for number, text in enumerate(row.documents, start=1):
        field = cases.document_field(number)
        mine = [u for u in rows if u.question == field]
        error = errors.get(field)
        if error is None and too_large and request.args.get("document") == str(number):
            error = uploads.too_large(case_files.document_max_bytes(uploads_of_app()))
        out.append(
            {
                "number": number,
                "text": text,
                "field": field,
                "error": error,
                "uploaded": next((u.filename for u in mine if u.id == uploaded), None) if not error else None,
                "removed": request.args.get("removed") == str(number) and not error,
                "full": len(mine) >= case_files.MAX_FILES_PER_DOCUMENT,
                "upload_url": url_for(endpoint, token=token, number=number),
                "files": [
                    {
                        "id": u.id,
                        "name": u.filename,
                        "size": size_in_words(u.size_bytes),
                        "waiting": u.status == case_files.WAITING,
                        "remove_url": url_for(remove, token=token, number=number, upload_id=u.id),
                    }
                    for u in mine
                ],
            }
        )
    return out


def documents_hint() -> str:
    """The limits of a document's files, in plain words."""
    mb = case_files.document_max_bytes(uploads_of_app()) // (1024 * 1024)
    return (
        f"Each file must be a JPG, PNG or PDF, smaller than {mb}MB. "
        f"You can upload up to {case_files.MAX_FILES_PER_DOCUMENT} files for each document."
    )


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {"documents_hint": documents_hint}


@bp.url_value_preprocessor
def _prepare(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Before the body is read (the CSRF check reads the form): the upload's limit, and where
    its file streams to; a body too large by its Content-Length is thrown away unread."""
    if endpoint not in UPLOADS or request.method != "POST" or not values:
        return
    limit = case_files.document_max_bytes(uploads_of_app())
    length = request.content_length
    if length is not None and length > limit + FORM_OVERHEAD_BYTES:
        if length > DRAIN_CAP_BYTES:
            abort(413)
        drain(length)
        _, _, page = _found(str(values.get("token", "")), endpoint == UPLOADS[1])
        abort(redirect(f"{page}?error={TOO_LARGE}&document={int(values.get('number', 0))}", 303))
    request.max_content_length = limit + FORM_OVERHEAD_BYTES
    request.max_form_memory_size = 2 * FORM_OVERHEAD_BYTES  # werkzeug counts its 64KB reads: uploads.py
    request.upload_sink = UploadSink(uploads_of_app().quarantine_dir, limit)  # type: ignore[attr-defined]


@bp.teardown_request
def _clean_up(_exc: BaseException | None) -> None:
    sink: UploadSink | None = getattr(request, "upload_sink", None)
    if sink is not None:
        sink.clean_up()


def _show(row: InformationRequest, case: Case, field: str, message: str) -> Any:
    return _information_page(row, case, {}, {field: message}, 200)


def _upload(token: str, number: int, from_status: bool) -> Any:
    row, case, page = _found(token, from_status)
    if not cases.request_open(row, case):
        return redirect(page, 303)  # the page says it is no longer open; the file streamed in is deleted
    _document(row, number)
    field = cases.document_field(number)
    chosen = request.files.get(field)
    if chosen is None or not chosen.filename:
        return _show(row, case, field, "Select a file")
    sink: UploadSink | None = getattr(request, "upload_sink", None)
    part = sink.take(chosen.stream) if sink is not None else None
    if part is None:
        abort(400)
    if part.over:
        part.path.unlink(missing_ok=True)
        return _show(row, case, field, uploads.too_large(case_files.document_max_bytes(uploads_of_app())))
    try:
        kept = case_files.receive_document(
            session=db(),
            files=uploads_of_app(),
            request_id=cast(int, row.id),
            number=number,
            filename=chosen.filename,
            path=part.path,
        )
    except case_files.RequestClosed:
        return redirect(page, 303)  # answered meanwhile: the page says so
    except (uploading.UploadRefused, uploading.UploadWaiting) as refused:
        return _show(row, case, field, refused.message)
    return redirect(f"{page}?uploaded={kept.id}#{field}", 303)


def _remove(token: str, number: int, upload_id: str, from_status: bool) -> Any:
    row, case, page = _found(token, from_status)
    if not cases.request_open(row, case):
        return redirect(page, 303)
    _document(row, number)
    field = cases.document_field(number)
    try:
        case_files.remove_document(
            session=db(), files=uploads_of_app(), request_id=cast(int, row.id), number=number, upload_id=upload_id[:32]
        )
    except case_files.RequestClosed:
        return redirect(page, 303)
    except uploading.UploadRefused as refused:
        return _show(row, case, field, refused.message)
    return redirect(f"{page}?removed={number}#{field}", 303)


@bp.post("/information/<token>/documents/<int:number>")
def upload(token: str, number: int) -> Response:
    """Upload a file for one of the request's documents."""
    return _upload(token, number, False)  # type: ignore[no-any-return]


@bp.post("/status/<token>/information/documents/<int:number>")
def upload_from_status(token: str, number: int) -> Response:
    return _upload(token, number, True)  # type: ignore[no-any-return]


@bp.post("/information/<token>/documents/<int:number>/files/<upload_id>/remove")
def remove(token: str, number: int, upload_id: str) -> Response:
    """Remove one of the files sent for a document."""
    return _remove(token, number, upload_id, False)  # type: ignore[no-any-return]


@bp.post("/status/<token>/information/documents/<int:number>/files/<upload_id>/remove")
def remove_from_status(token: str, number: int, upload_id: str) -> Response:
    return _remove(token, number, upload_id, True)  # type: ignore[no-any-return]

"""A case's files in the back office: the case page's "Files" section, downloads and thumbnails
(docs/uploads.md, "Staff").

Only staff with a case role in the case's department (WORK_CASES there; anyone else gets a 404,
as for the case itself) see or open a case's files, and only clean ones (a file waiting for its
virus scan is never shown). Every opening is in the access log (runtime.services.case_files).
A download is always an attachment, with the type its content was found to be, a name made safe
(RFC 6266 ``filename*``), ``nosniff`` and a Content-Security-Policy sandbox, so that a file can
never run in the back office's origin even if a browser were told to show it.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Response, abort, current_app, request, url_for
from werkzeug.wsgi import wrap_file

from ... import cases
from ...data import case_files as files_data
from ...definition import Definition
from ...models import Case, InformationRequest
from ...services import case_files, uploading
from ...staff import WORK_CASES
from ...widgets.file import size_in_words
from ..common import FILE_POLICY, db, settings
from ..staff import requires
from .views import _department, _found, _me

bp = Blueprint("case_files", __name__)

UPLOADS = "civicforms.uploads"


def uploads() -> uploading.Uploads:
    """The app's storage (a folder, or an S3 bucket's client) and quarantine folder, made on
    first use (the citizen app makes its own when it starts: runtime.web.uploads)."""
    found = current_app.extensions.get(UPLOADS)
    if found is None:
        found = current_app.extensions[UPLOADS] = uploading.uploads_for(settings())
    return cast(uploading.Uploads, found)


def _file_department(reference: str, upload_id: str) -> int | None:
    return _department(reference)


@bp.app_template_global("files_of_case")
def files_of_case(case: Case, definition: Definition, requests: list[InformationRequest]) -> list[dict[str, Any]]:
    """What the case page's Files section lists: each clean file with what it answers, its
    size and type, its download link and, for an image, its thumbnail's."""
    asked = {r.id: (n, r) for n, r in enumerate(requests, start=1)}
    out = []
    for upload in files_data.case_files(db(), case=case):
        if upload.request_id is not None and upload.request_id in asked:
            number, row = asked[upload.request_id]
            documents = row.documents or []
            index = _document_index(upload.question)
            what = f"Request {number}"
            if index is not None and index < len(documents):
                what += f": {documents[index]}"
        elif upload.question in definition.questions:
            what = definition.short_label(upload.question)
        else:
            what = upload.question
        out.append(
            {
                "upload": upload,
                "what": what,
                "name": upload.filename,
                "size": size_in_words(upload.size_bytes),
                "type": files_data.kind_label(upload.content_type),
                "download": url_for("case_files.download", reference=case.reference, upload_id=upload.id),
                "thumbnail": url_for("case_files.thumbnail", reference=case.reference, upload_id=upload.id)
                if upload.thumbnail_key
                else None,
            }
        )
    return out


def _document_index(question: str) -> int | None:
    """``document-2`` (a request's second document) -> 1."""
    number = question.removeprefix(cases.DOCUMENT_PREFIX)
    if number == question or not number.isascii() or not number.isdigit() or len(number) > 3:
        return None
    return int(number) - 1 if int(number) > 0 else None


def _send(reference: str, upload_id: str, what: str, disposition: str) -> Response:
    if request.method == "HEAD":
        # Flask answers HEAD with the GET view: that would log an opening (and name the file) with
        # no byte sent. Only a GET opens a file, and is logged.
        response = Response(status=405)
        response.headers["Allow"] = "GET"
        return response
    case = _found(reference)
    try:
        opened = case_files.open_file(
            session=db(),
            storage=uploads().storage,
            staff_id=cast(int, _me().id),
            case_id=cast(int, case.id),
            upload_id=upload_id,
            what=what,
        )
    except case_files.NotFound:
        abort(404)
    response = Response(
        wrap_file(request.environ, opened.stream), mimetype=opened.content_type, direct_passthrough=True
    )
    response.headers["Content-Disposition"] = case_files.content_disposition(opened.filename, disposition)
    # Kept by the shell's security headers (runtime.web.common): nothing in a file may run here.
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["X-Download-Options"] = "noopen"
    return response


@bp.get("/cases/<reference>/files/<upload_id>")
@requires(WORK_CASES, department=_file_department)
def download(reference: str, upload_id: str) -> Response:
    """Download one of the case's files, as an attachment (logged)."""
    return _send(reference, upload_id, case_files.FILE, "attachment")


@bp.get("/cases/<reference>/files/<upload_id>/thumbnail")
@requires(WORK_CASES, department=_file_department)
def thumbnail(reference: str, upload_id: str) -> Response:
    """A small PNG of one of the case's images, for the case page (logged)."""
    return _send(reference, upload_id, case_files.THUMBNAIL, "inline")

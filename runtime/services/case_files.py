"""Staff opening a case's files, as a use case: the check that they may, the file read from
storage, and the access log row, in one transaction (docs/uploads.md, "Staff").

Only a member of staff with a case role in the case's department opens its files, only a clean
file is ever opened (one waiting for its virus scan is shown to nobody), and every opening (a
download, a thumbnail on the case page) is in the access log before a byte is sent.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from sqlmodel import Session

from .. import cases
from ..data import access
from ..data.case_files import case_file
from ..models import Upload
from ..storage import FileNotStored, InvalidKey, Storage
from ..uploads import KINDS, filename_for, safe_filename
from .unit_of_work import atomic

if TYPE_CHECKING:
    from .uploading import Uploads

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


def forget_bytes(files: Uploads, uploads: Iterable[Upload]) -> None:
    """Delete the bytes of uploads whose rows an erasure removed, wherever they are: the file
    and its thumbnail in storage, or the quarantine folder (a file still waiting for its scan).
    A key already gone is not an error; a storage that fails raises (the erasure rolls back)."""
    for upload in uploads:
        for key in (upload.storage_key, upload.thumbnail_key):
            if key:
                files.storage.delete(key)
        files.waiting_path(upload.id).unlink(missing_ok=True)


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

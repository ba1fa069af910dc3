"""Files on a case, made for the back office tests as the upload use case leaves them: the bytes
(and an image's thumbnail) in storage under ``files/<id>`` and ``thumbnails/<id>``, and the
``upload`` row pointing at them (issue 18, part F)."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from runtime.models import Case, Upload, utcnow
from tests.upload_servers import pdf_bytes, png_bytes

PDF_BYTES = pdf_bytes()


@dataclass(frozen=True)
class StoredFile:
    id: str
    content: bytes
    thumbnail: bytes | None


def add_file(
    session: Session,
    storage: Any,
    case: Case,
    *,
    name: str = "passport.png",
    content: bytes | None = None,
    content_type: str = "image/png",
    question: str = "photo",
    status: str = "clean",
    request_id: int | None = None,
    thumbnail: bool | None = None,
    minutes_ago: int = 0,
) -> StoredFile:
    """One file of the case's submission (or, with ``request_id``, sent in answer to that request)."""
    upload_id = secrets.token_hex(16)
    content = png_bytes() if content is None else content
    small = png_bytes((12, 9)) if (thumbnail if thumbnail is not None else content_type.startswith("image/")) else None
    storage_key = thumbnail_key = None
    if status == "clean":
        storage_key = f"files/{upload_id}"
        storage.put(storage_key, io.BytesIO(content), content_type)
        if small is not None:
            thumbnail_key = f"thumbnails/{upload_id}"
            storage.put(thumbnail_key, io.BytesIO(small), "image/png")
    session.add(
        Upload(
            id=upload_id,
            # A file sent in answer to a request is found through the request (runtime.data.case_files).
            submission_id=case.submission_id if request_id is None else None,
            request_id=request_id,
            service_id=case.service_id,
            question=question,
            filename=name,
            content_type=content_type,
            size_bytes=len(content),
            sha256="0" * 64,
            status=status,
            storage_key=storage_key,
            thumbnail_key=thumbnail_key,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
            scanned_at=utcnow() if status == "clean" else None,
        )
    )
    session.commit()
    return StoredFile(upload_id, content, small)


__all__ = ["PDF_BYTES", "StoredFile", "add_file", "pdf_bytes", "png_bytes"]

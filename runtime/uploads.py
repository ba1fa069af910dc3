"""What a file is and whether a service may take it (docs/uploads.md): pure, no web framework.

Owned by part A of issue 18. Contract (the other parts code against it):

- ``KINDS``: {kind name: Kind(name, label, mime, extensions)} for the kinds a definition's
  ``accept`` may list ("jpeg", "png", "pdf", ...); ``label`` is the citizen's word ("JPG").
- ``safe_filename(name) -> str``: the name as shown and stored: no path, no control characters.
- ``FileRefused(message)``: ``message`` is what the citizen is told, GOV.UK wording.
- ``check_file(path, *, accept, max_bytes) -> Checked``: the kind from the content, images
  re-encoded in place without metadata, PDFs read for what the service allows; raises
  FileRefused.
- ``thumbnail(path) -> bytes | None``: a small PNG of an image, for staff.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """A kind of file a service may take: its name in a definition's ``accept``, the word the
    citizen knows it by, the content type it is stored and served with, and its file name
    endings (the first is the one a stored name is given)."""

    name: str
    label: str
    mime: str
    extensions: tuple[str, ...]
    image: bool


# Only kinds whose content is checked through and through: images are decoded and re-encoded,
# PDFs parsed object by object. HEIC (iPhones) is not here: Pillow cannot read it without a
# plug-in, and Safari sends an iPhone photo as a JPG to a page that asks for one.
KINDS: dict[str, Kind] = {
    "jpeg": Kind("jpeg", "JPG", "image/jpeg", (".jpg", ".jpeg"), image=True),
    "png": Kind("png", "PNG", "image/png", (".png",), image=True),
    "pdf": Kind("pdf", "PDF", "application/pdf", (".pdf",), image=False),
}

BYTES_PER_MB = 1024 * 1024


class FileRefused(Exception):
    """A file the service will not take; ``message`` is what the citizen is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def kind_labels(accept: list[str] | tuple[str, ...]) -> str:
    """ "JPG, PNG or PDF": the labels of the kinds, joined as GOV.UK does."""
    labels = [KINDS[k].label for k in accept]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def megabytes_in_words(max_bytes: int) -> str:
    """ "10MB" (1MB = 1,024 x 1,024 bytes, as Windows counts; a limit not a whole number of
    megabytes keeps one decimal place)."""
    mb = max_bytes / BYTES_PER_MB
    return f"{mb:g}MB" if mb == int(mb) else f"{mb:.1f}MB"


MAX_NAME_CHARS = 100
# Characters no file system is happy with, or that break a header or a shell line if a name is
# ever pasted into one; path separators among them.
_UNSAFE = re.compile(r'[\\/:*?"<>|;%$`]')


def safe_filename(name: str) -> str:
    """The name a file is shown and stored with: only its last part (old browsers sent the
    whole path), no control or formatting characters (a right-to-left override makes
    "gpj.exe" look like "exe.jpg"), no characters unsafe in a path or a header, no leading
    dots (hidden files, ".."), at most 100 characters (keeping the ending); "file" when nothing
    is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(" " if unicodedata.category(c)[0] == "Z" else c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name)
    name = re.sub(r" {2,}", " ", name).strip(" .")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ending = name.rpartition(".")
        if dot and 0 < len(ending) <= 10:
            name = stem[: MAX_NAME_CHARS - len(ending) - 1].rstrip(" .") + "." + ending
        else:
            name = name[:MAX_NAME_CHARS].rstrip(" .")
    return name or "file"


def filename_for(name: str, kind: str) -> str:
    """The safe name of a file whose content is ``kind``, ending as that kind does: a JPG
    named "scan.pdf" is stored as "scan.jpg", and "photo.exe" holding a JPG as "photo.exe.jpg",
    so that nobody opens a file by a name its content belies."""
    safe = safe_filename(name)
    k = KINDS[kind]
    if safe.lower().endswith(k.extensions):
        return safe
    stem, dot, ending = safe.rpartition(".")
    if dot and stem and ending.lower() in _KNOWN_ENDINGS:
        safe = stem
    return safe_filename(safe[: MAX_NAME_CHARS - len(k.extensions[0])] + k.extensions[0])


_KNOWN_ENDINGS = {e.lstrip(".") for k in KINDS.values() for e in k.extensions} | {
    "gif", "heic", "heif", "webp", "tif", "tiff", "bmp", "doc", "docx", "txt", "zip", "svg",
}  # fmt: skip

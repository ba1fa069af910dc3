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

import hashlib
import io
import math
import mmap
import os
import re
import tempfile
import threading
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import filetype


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


# --- What the citizen is told ------------------------------------------------------------------

EMPTY = "The selected file is empty"
PASSWORD = "The selected file is password protected"
DAMAGED = "The selected file could not be opened: it may be damaged"
HIDDEN = "The selected file has another file hidden inside it"
PDF_ACTIVE = (
    "The selected PDF contains a script or an action that runs when it is opened: print it to a new PDF and upload that"
)
PDF_ATTACHED = "The selected PDF has other files attached to it: upload each file on its own"
# The largest image decoded, whatever its file size: a 50 megapixel photo (8160 by 6120, the
# largest a phone saves by default) takes about 150MB decoded; a "pixel flood" of 50,000 by
# 50,000 pixels in a 1MB PNG would take 7.5GB.
MAX_IMAGE_PIXELS = 50_000_000
# A photo is kept at least this many pixels on its longest side; larger JPEGs are decoded smaller.
KEPT_LONG_SIDE = 4000
IMAGE_TOO_BIG = "The selected image is too large: it must be 50 megapixels or fewer"


def wrong_kind(accept: list[str] | tuple[str, ...]) -> str:
    return f"The selected file must be a {kind_labels(accept)}"


def too_large(max_bytes: int) -> str:
    return f"The selected file must be smaller than {megabytes_in_words(max_bytes)}"


# --- The checks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A file that passed every check: its kind (from its content), the content type it is
    stored and served with, and the size and SHA-256 of the bytes as kept (an image's after
    re-encoding)."""

    kind: str
    mime: str
    size: int
    sha256: str


# filetype's content types to our kinds; an animated PNG is a PNG (its first frame is kept).
_KIND_OF_MIME = {"image/jpeg": "jpeg", "image/png": "png", "image/apng": "png", "application/pdf": "pdf"}


def check_file(path: Path | str, *, accept: list[str] | tuple[str, ...], max_bytes: int) -> Checked:
    """Checks the file at ``path`` (in quarantine) for a question that takes ``accept``, at most
    ``max_bytes``. The kind comes from the content, never the name. An image is decoded and
    re-encoded in place (only its pixels are kept: no EXIF, GPS position, comments, colour
    profile or anything after its end); a PDF is read object by object. Raises FileRefused with
    the citizen's message; returns what is stored."""
    path = Path(path)
    unknown = [k for k in accept if k not in KINDS]
    if not accept or unknown:
        raise ValueError(f"accept must list kinds of {', '.join(KINDS)}, not {list(accept)!r}")
    size = path.stat().st_size
    if size == 0:
        raise FileRefused(EMPTY)
    if size > max_bytes:
        raise FileRefused(too_large(max_bytes))
    with path.open("rb") as f:
        head = f.read(8192)
    guessed = filetype.guess(head)
    kind = _KIND_OF_MIME.get(guessed.mime) if guessed is not None else None
    if kind is None or kind not in accept:
        raise FileRefused(wrong_kind(accept))
    _refuse_hidden_files(path, kind, head)
    if KINDS[kind].image:
        _reencode(path, kind)
    else:
        _check_pdf(path)
    size, sha256 = _size_and_digest(path)
    return Checked(kind=kind, mime=KINDS[kind].mime, size=size, sha256=sha256)


def _size_and_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


# --- Polyglots ---------------------------------------------------------------------------------

# What makes a browser, a shell or an archive tool read a file as something else. Searched for
# in the first kilobyte (where browsers sniff and PDF readers look for "%PDF-") and in whatever
# follows the end of the image or the PDF.
_MARKUP = (b"<html", b"<script", b"<!doctype", b"<?php", b"<svg", b"<iframe", b"<body", b"<?xml-stylesheet")
# Another image after the end is not among them: phones put one after a JPEG (an Android "Ultra
# HDR" photo's gain map, a camera's second frame in an MPO file, a depth map), re-encoding drops
# it, and no reader takes the file for it.
_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"%PDF-", b"\x7fELF", b"MZ", b"Rar!", b"7z\xbc\xaf")


def _refuse_hidden_files(path: Path, kind: str, head: bytes) -> None:
    """A polyglot is refused: a file that is also a ZIP (a JPEG or a PDF with an archive after
    it: archive tools read from the end), markup a browser would run, or another format's
    signature where a reader would find it."""
    if zipfile.is_zipfile(path):
        raise FileRefused(HIDDEN)
    first = head[:1024].lower()
    if any(m in first for m in _MARKUP) or (kind != "pdf" and b"%pdf-" in first):
        raise FileRefused(HIDDEN)
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = _END_OF[kind](data)
        if end is None or end >= len(data):
            return  # no trailer (or an unreadable structure, which the decoder refuses)
        start = data[end : end + 4096].lstrip(b"\0\r\n\t\f ")[:16]
        if start.startswith(_MAGIC):
            raise FileRefused(HIDDEN)
        # The whole trailer, a megabyte at a time (overlapping by a marker's length).
        for at in range(end, len(data), _CHUNK):
            piece = data[at : at + _CHUNK + 32].lower()
            if any(m in piece for m in _MARKUP + (b"%pdf-",)):
                raise FileRefused(HIDDEN)
    # Anything else after an image's end (a phone's motion photo, a maker's trailer) goes when
    # it is re-encoded; after a PDF's last %%EOF, readers ignore it.


_CHUNK = 1024 * 1024


# A PNG has a handful of chunks besides its image data (an animated one two a frame); a million
# tiny text chunks in 15MB held the decoder for 10 s, so more than this is refused first.
MAX_PNG_CHUNKS = 10_000


def _png_end(data: mmap.mmap) -> int | None:
    """Where a PNG's IEND chunk ends. Refuses one with more than MAX_PNG_CHUNKS chunks other
    than image data."""
    at = 8
    others = 0
    while at + 12 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        chunk = data[at + 4 : at + 8]
        at += 12 + length
        if chunk == b"IEND":
            return at
        if chunk != b"IDAT":
            others += 1
            if others > MAX_PNG_CHUNKS:
                raise FileRefused(DAMAGED)
    return None


_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and the restart markers carry no length


# A progressive JPEG has about 10 scans; one with thousands makes the decoder redo the whole
# image for each (minutes for one file), so more than this is refused before decoding. So is
# one with more segments than any camera writes (a JPEG has a few dozen): a million empty ones
# in 5MB took Pillow 1.9 s of CPU to read.
MAX_JPEG_SCANS = 100
MAX_JPEG_SEGMENTS = 1_000


def _jpeg_end(data: mmap.mmap) -> int | None:
    """Where a JPEG's end-of-image marker ends, walking its segments and, after each start of
    scan, its entropy-coded data (where 0xFF is followed by 0x00 or a restart marker). Refuses
    one with more than MAX_JPEG_SCANS scans or MAX_JPEG_SEGMENTS segments."""
    at = 2
    n = len(data)
    scans = segments = 0
    while at < n:
        at = data.find(b"\xff", at)
        if at < 0:
            return None
        while at + 1 < n and data[at + 1] == 0xFF:
            at += 1  # fill bytes
        if at + 1 >= n:
            return None
        marker = data[at + 1]
        at += 2
        if marker == 0xD9:
            return at
        if marker in _STANDALONE or marker == 0x00:
            continue
        if at + 2 > n:
            return None
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            raise FileRefused(DAMAGED)
        at += int.from_bytes(data[at : at + 2], "big")
        if marker == 0xDA:  # start of scan: skip its entropy-coded data
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise FileRefused(DAMAGED)
            while True:
                at = data.find(b"\xff", at)
                if at < 0 or at + 1 >= n:
                    return None
                following = data[at + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    at += 2
                    continue
                break
    return None


def _pdf_end(data: mmap.mmap) -> int | None:
    at = data.rfind(b"%%EOF")
    return None if at < 0 else at + 5


_END_OF = {"jpeg": _jpeg_end, "png": _png_end, "pdf": _pdf_end}


# --- Images --------------------------------------------------------------------------------------

_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG"}


_PILLOW_WARNINGS = threading.Lock()


@contextmanager
def _metadata_warnings_ignored() -> Iterator[None]:
    """Pillow's warnings on damaged metadata ("Corrupt EXIF data", "Tag data larger than file",
    "Truncated File Read" inside the EXIF block) ignored, so a photo whose pixels decode is taken
    wherever it runs: its EXIF is dropped by the re-encoding anyway. Before, it was taken in
    production (warnings only logged) and refused as damaged where warnings are errors (the tests).

    catch_warnings changes the process's filters: the lock keeps two threads of a threaded server
    from restoring each other's (a thread's exit could otherwise leave "ignore" in place)."""
    with _PILLOW_WARNINGS, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _open_image(path: Path, kind: str) -> Any:
    """The image, its size checked before a pixel is decoded."""
    from PIL import Image

    try:
        image = Image.open(path, formats=[_PIL_FORMAT[kind]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileRefused(IMAGE_TOO_BIG) from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise FileRefused(IMAGE_TOO_BIG)
    return image


def _reencode(path: Path, kind: str) -> None:
    """Decodes the image and writes only its pixels back, in place: upright (its EXIF
    orientation applied), in sRGB where it had a colour profile, with no metadata."""
    from PIL import Image, ImageOps

    try:
        with _metadata_warnings_ignored(), _open_image(path, kind) as image:
            if kind == "jpeg" and max(image.size) > KEPT_LONG_SIDE:
                # JPEG's own scaling: decoded at a half, quarter or eighth of its size, never below
                # KEPT_LONG_SIDE on its longest side. A 50 megapixel photo is kept at 12.5
                # (a worker's peak memory a quarter of full size: docs/performance.md).
                scale = KEPT_LONG_SIDE / max(image.size)
                image.draft(image.mode, (math.ceil(image.size[0] * scale), math.ceil(image.size[1] * scale)))
            image.load()
            clean = ImageOps.exif_transpose(image, in_place=True) or image  # no copy of an upright one
            clean = _in_srgb(clean)
            if kind == "jpeg":
                if clean.mode not in ("L", "RGB"):
                    clean = clean.convert("RGB")
            elif "transparency" in clean.info or clean.mode in ("P", "PA"):
                clean = clean.convert("RGBA" if clean.mode != "L" else "LA")
            elif clean.mode not in ("1", "L", "LA", "RGB", "RGBA", "I;16"):
                clean = clean.convert("RGBA")
            clean.info = {}  # or JPEG's save carries the comment over
            with _replacing(path) as out:
                if kind == "jpeg":
                    clean.save(out, "JPEG", quality=90)
                else:
                    clean.save(out, "PNG", compress_level=6)
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileRefused(IMAGE_TOO_BIG) from None
    except (OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError, EOFError, ZeroDivisionError, Warning):
        # What Pillow raises on a truncated or malformed image; a warning other than a
        # metadata one (ignored above) where warnings are errors.
        raise FileRefused(DAMAGED) from None


def _in_srgb(image: Any) -> Any:
    """The image converted from its embedded colour profile to sRGB (a Display P3 photo from
    an iPhone keeps its colours), or as it was when it has none or the profile is unreadable."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "L", "CMYK"):
        return image
    from PIL import ImageCms

    try:
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image, io.BytesIO(profile), ImageCms.createProfile("sRGB"), outputMode=mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


class _replacing:
    """A temporary file beside ``path`` that replaces it on success (atomic: a crash leaves the
    original or the new file, never half of one), and is removed on failure."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Any:
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=".reencode-")
        self.name = name
        self.file = os.fdopen(fd, "wb")
        return self.file

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        try:
            if kind is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
            if kind is None:
                os.replace(self.name, self.path)
        finally:
            if os.path.exists(self.name):
                os.unlink(self.name)


def thumbnail(path: Path | str, size: int = 240) -> bytes | None:
    """A PNG of the image at ``path`` at most ``size`` pixels wide and high, for staff; None for
    a file that is not an image (a PDF) or that cannot be read."""
    from PIL import Image

    try:
        with _metadata_warnings_ignored(), Image.open(path, formats=["JPEG", "PNG"]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return None
            image.thumbnail((size, size))
            small = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
            out = io.BytesIO()
            small.save(out, "PNG")
            return out.getvalue()
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError, EOFError):
        return None
    except (ZeroDivisionError, Warning):  # a bomb's warning, or a corrupt one's as an error
        return None


# --- PDFs --------------------------------------------------------------------------------------

# Actions a PDF reader runs or opens without the reader's say: scripts, programs, other files,
# forms sent elsewhere, media. A link (URI) or a page destination is allowed.
_ACTIONS = {
    "/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToE", "/GoToR", "/Rendition",
    "/RichMediaExecute", "/Sound", "/Movie", "/SetOCGState", "/Trans", "/GoTo3DView",
}  # fmt: skip
_ACTIVE_KEYS = {"/JS", "/JavaScript", "/AA", "/XFA"}
_ATTACHED_KEYS = {"/EmbeddedFiles", "/EF", "/EmbeddedFile"}
_ACTIVE_SUBTYPES = {"/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"}
# Names a reader might find outside the cross-reference table (a damaged file is "repaired" by
# scanning it all): searched for in the raw bytes too.
_RAW_NAMES = (b"/JavaScript", b"/Launch", b"/EmbeddedFile", b"/RichMedia")
# A PDF with more objects than this is refused rather than hold a worker for seconds (reading
# takes about 0.2 ms an object: 24,000 pages took 8 s); a scanned 100-page document has a few
# hundred, a 1,000-page text about 10,000.
MAX_PDF_OBJECTS = 20_000
PDF_TOO_COMPLEX = "The selected PDF is too complex to check: print it to a new PDF and upload that"


def _check_pdf(path: Path) -> None:
    """Reads the PDF with pypdf: refuses one it cannot read, one that needs a password (one
    that opens without a password but restricts printing or copying is read like any other), one
    with no pages, and one holding scripts, actions that run by themselves or attached files,
    looking at every object (compressed object streams too: names are read as a reader would,
    so "/J#61vaScript" is "/JavaScript")."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if any(data.find(name) >= 0 for name in _RAW_NAMES):
            raise FileRefused(PDF_ACTIVE if data.find(b"/EmbeddedFile") < 0 else PDF_ATTACHED)
    # pypdf is given the open file, not its path: with a path it reads the whole file into
    # memory first.
    with path.open("rb") as stream:
        _read_pdf(stream)


def _read_pdf(stream: BinaryIO) -> None:
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject, StreamObject

    try:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            opened: Any
            try:
                opened = reader.decrypt("")
            except Exception:  # noqa: BLE001 (any failure to decrypt means a password is needed)
                opened = 0
            if not opened:
                raise FileRefused(PASSWORD)
        numbers = _pdf_object_numbers(reader)  # counted before the page tree is read
        if len(reader.pages) == 0:
            raise FileRefused(DAMAGED)
        for num, gen in numbers:
            obj = reader.get_object(IndirectObject(num, gen, reader))
            _inspect(obj, 0)
            if isinstance(obj, StreamObject):
                # pypdf keeps every object it has read, a stream's bytes with it: forgotten once
                # inspected, so that memory holds one stream at a time, not the whole file.
                reader.resolved_objects.pop((gen, num), None)
        _inspect(reader.trailer, 0)
        # A link is allowed where the reader clicks it, not as what opening the file does.
        root: Any = reader.trailer["/Root"].get_object()
        opening = root.get("/OpenAction")
        opening = opening.get_object() if opening is not None else None
        if isinstance(opening, dict) and opening.get("/S") == "/URI":
            raise FileRefused(PDF_ACTIVE)
    except FileRefused:
        raise
    except Exception:  # noqa: BLE001 (pypdf raises anything on a hostile file: all mean unreadable)
        raise FileRefused(DAMAGED) from None


def _pdf_object_numbers(reader: Any) -> list[tuple[int, int]]:
    """Every object's number and generation: the cross-reference table's, and those in
    compressed object streams; too many refuse the file."""
    numbers = [(num, gen) for gen, table in reader.xref.items() for num in table]
    numbers += [(num, 0) for num in reader.xref_objStm]
    if len(numbers) > MAX_PDF_OBJECTS:
        raise FileRefused(PDF_TOO_COMPLEX)
    return numbers


def _inspect(obj: Any, depth: int) -> None:
    """Refuses a PDF object that is, or holds inline, an action or an attached file. Indirect
    references are not followed: every indirect object is inspected in its own right."""
    from pypdf.generic import ArrayObject, DictionaryObject

    if depth > 64:
        raise FileRefused(DAMAGED)
    if isinstance(obj, DictionaryObject):
        keys = set(obj.keys())
        if keys & _ATTACHED_KEYS or obj.get("/Type") in ("/EmbeddedFile",) or obj.get("/Subtype") == "/FileAttachment":
            raise FileRefused(PDF_ATTACHED)
        if keys & _ACTIVE_KEYS or obj.get("/S") in _ACTIONS or obj.get("/Subtype") in _ACTIVE_SUBTYPES:
            raise FileRefused(PDF_ACTIVE)
        for value in obj.values():
            _inspect(value, depth + 1)
    elif isinstance(obj, ArrayObject):
        for value in obj:
            _inspect(value, depth + 1)

"""What runtime.uploads takes and refuses (docs/uploads.md, "What is checked"): each bad input
gets the citizen's message, and a file that passes is stored as re-encoded, not as sent."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from runtime.uploads import (
    BYTES_PER_MB,
    DAMAGED,
    EMPTY,
    HIDDEN,
    IMAGE_TOO_BIG,
    KINDS,
    PASSWORD,
    PDF_ACTIVE,
    PDF_ATTACHED,
    Checked,
    FileRefused,
    check_file,
    filename_for,
    safe_filename,
    thumbnail,
)
from tests.upload_servers import EICAR, eicar_pdf, jpeg_bytes, pdf_bytes, png_bytes

ALL = ("jpeg", "png", "pdf")


def check(tmp_path: Path, content: bytes, accept: tuple[str, ...] = ALL, max_mb: int = 10) -> tuple[Checked, bytes]:
    path = tmp_path / "upload"
    path.write_bytes(content)
    checked = check_file(path, accept=accept, max_bytes=max_mb * BYTES_PER_MB)
    return checked, path.read_bytes()


def refused(tmp_path: Path, content: bytes, accept: tuple[str, ...] = ALL, max_mb: int = 10) -> str:
    with pytest.raises(FileRefused) as caught:
        check(tmp_path, content, accept, max_mb)
    return caught.value.message


def png_chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 8
    while at < len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that says it is width x height, with one tiny IDAT: a pixel flood."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def a_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return out.getvalue()


# --- Files that pass ---------------------------------------------------------------------------


def test_a_photo_is_kept_without_its_metadata(tmp_path: Path) -> None:
    sent = jpeg_bytes(comment=b"taken at 12 Acacia Avenue")
    with Image.open(io.BytesIO(sent)) as original:
        assert original.getexif()[0x010F] == "PhoneMaker" and original.getexif().get_ifd(0x8825)
    checked, kept = check(tmp_path, sent)
    assert (checked.kind, checked.mime) == ("jpeg", "image/jpeg")
    assert (checked.size, checked.sha256) == (len(kept), hashlib.sha256(kept).hexdigest())
    assert b"PhoneMaker" not in kept and b"Acacia" not in kept and b"Exif" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert not image.getexif() and "comment" not in image.info and "icc_profile" not in image.info


@pytest.mark.parametrize(("at", "byte"), [(8, 0xFF), (14, 0x7F), (18, 0xFF)], ids=["entries", "tag-size", "truncated"])
def test_a_photo_with_damaged_exif_is_kept_without_it_wherever_it_runs(tmp_path: Path, at: int, byte: int) -> None:
    # Pillow warns on each ("Corrupt EXIF data", "Tag data larger than file", "Truncated File
    # Read"). The tests make warnings errors, production only logs them: the photo is taken in both.
    sent = bytearray(jpeg_bytes())
    sent[sent.index(b"Exif\0\0") + 6 + at] = byte
    with pytest.raises(UserWarning), Image.open(io.BytesIO(bytes(sent))) as original:
        original.getexif().get_ifd(0x8825)
    checked, kept = check(tmp_path, bytes(sent))
    assert checked.kind == "jpeg" and b"Exif" not in kept and b"PhoneMaker" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size in ((64, 48), (48, 64)) and not image.getexif()


def test_a_large_photo_is_decoded_smaller_and_kept_at_least_4000_pixels_wide(tmp_path: Path) -> None:
    # 8,200 by 4,100: JPEG's own scaling decodes it at half size (a quarter of the pixels, and of
    # the worker's memory), which is still at least KEPT_LONG_SIDE on its longest side.
    _, kept = check(tmp_path, jpeg_bytes((8200, 4100)))
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (4100, 2050)
    _, small = check(tmp_path, jpeg_bytes((3900, 100)))  # under the limit: kept as it is
    with Image.open(io.BytesIO(small)) as image:
        assert image.size == (3900, 100)


def test_a_photo_taken_sideways_is_kept_upright(tmp_path: Path) -> None:
    _, kept = check(tmp_path, jpeg_bytes((64, 48), orientation=6))  # rotate 90 degrees to show
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (48, 64)


def test_a_png_keeps_only_its_pixels(tmp_path: Path) -> None:
    checked, kept = check(tmp_path, png_bytes(text="taken at 12 Acacia Avenue, a secret"))
    assert checked.kind == "png" and checked.mime == "image/png"
    assert png_chunks(kept) == [b"IHDR", b"IDAT", b"IEND"]
    assert b"secret" not in kept


def test_a_palette_png_with_transparency_keeps_its_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (10, 10), 1)
    image.putpalette([0, 0, 0, 255, 0, 0])
    out = io.BytesIO()
    image.save(out, "PNG", transparency=1)
    with Image.open(io.BytesIO(out.getvalue())) as sent:
        assert sent.convert("RGBA").getpixel((0, 0))[3] == 0
    _, kept = check(tmp_path, out.getvalue())
    with Image.open(io.BytesIO(kept)) as again:
        assert again.mode == "RGBA" and again.getpixel((0, 0))[3] == 0


def test_a_cmyk_jpeg_is_kept_as_rgb(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(out, "JPEG")
    _, kept = check(tmp_path, out.getvalue())
    with Image.open(io.BytesIO(kept)) as image:
        assert image.mode == "RGB"


def test_a_photo_with_a_colour_profile_is_converted_to_srgb(tmp_path: Path) -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(out, "JPEG", icc_profile=profile)
    _, kept = check(tmp_path, out.getvalue())
    with Image.open(io.BytesIO(kept)) as image:
        assert "icc_profile" not in image.info


def test_a_motion_photo_trailer_is_dropped_not_refused(tmp_path: Path) -> None:
    """A phone's motion photo carries a video after the JPEG's end: harmless, and gone once
    re-encoded."""
    trailer = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 5000
    _, kept = check(tmp_path, jpeg_bytes() + trailer)
    assert b"ftypmp42" not in kept


def test_a_photo_with_a_second_image_after_it_is_kept_as_one(tmp_path: Path) -> None:
    """A camera's MPO file, or an Android "Ultra HDR" photo, holds a second JPEG after the
    first one's end: the photo is taken, and kept as its first image only."""
    out = io.BytesIO()
    second = Image.new("RGB", (40, 30), "blue")
    Image.new("RGB", (40, 30), "red").save(out, "MPO", save_all=True, append_images=[second])
    with Image.open(io.BytesIO(out.getvalue())) as sent:
        assert (sent.format, getattr(sent, "n_frames", 1)) == ("MPO", 2)
    checked, kept = check(tmp_path, out.getvalue(), accept=("jpeg",))
    assert checked.kind == "jpeg" and kept.count(b"\xff\xd8\xff") == 1
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "JPEG" and image.getpixel((5, 5))[0] > 200  # the red one


def test_a_pdf_is_kept_as_sent(tmp_path: Path) -> None:
    sent = pdf_bytes(pages=3)
    checked, kept = check(tmp_path, sent)
    assert kept == sent
    assert checked == Checked("pdf", "application/pdf", len(sent), hashlib.sha256(sent).hexdigest())


def test_a_pdf_with_links_and_a_destination_to_open_at_is_taken(tmp_path: Path) -> None:
    link = "<< /Type /Annot /Subtype /Link /Rect [0 0 100 20] /A << /S /URI /URI (https://example.org) >> >>"
    sent = pdf_bytes(catalog="/OpenAction [3 0 R /Fit] ", objects=(link,))
    assert check(tmp_path, sent)[0].kind == "pdf"


def test_a_pdf_restricted_with_only_an_owner_password_is_taken(tmp_path: Path) -> None:
    """A bank statement that opens without a password but may not be edited: staff can read
    it, and so can the checks."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes()))
    writer.encrypt(user_password="", owner_password="bank-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    assert check(tmp_path, out.getvalue())[0].kind == "pdf"


def test_the_eicar_pdf_passes_the_checks_for_the_scanner_to_refuse(tmp_path: Path) -> None:
    assert check(tmp_path, eicar_pdf())[0].kind == "pdf"


# --- The kind from the content, not the name -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "accept", "message"),
    [
        pytest.param(pdf_bytes(), ("jpeg", "png"), "The selected file must be a JPG or PNG", id="a PDF for a photo"),
        pytest.param(jpeg_bytes(), ("pdf",), "The selected file must be a PDF", id="a photo for a PDF"),
        pytest.param(
            b"Dear council,\nplease find attached\n", ALL, "The selected file must be a JPG, PNG or PDF", id="text"
        ),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", ALL, None, id="svg"),
        pytest.param(b"<html><script>alert(1)</script></html>", ALL, None, id="html"),
        pytest.param(b"MZ\x90\x00" + b"\x00" * 200, ALL, None, id="a Windows program"),
        pytest.param(b"GIF89a" + b"\x00" * 100, ALL, None, id="a GIF"),
        pytest.param(a_zip({"word/document.xml": b"<w:document/>"}), ALL, None, id="a Word document (a ZIP)"),
    ],
)
def test_the_kind_comes_from_the_content(
    tmp_path: Path, content: bytes, accept: tuple[str, ...], message: str | None
) -> None:
    expected = message or "The selected file must be a JPG, PNG or PDF"
    assert refused(tmp_path, content, accept) == expected


def test_a_misleading_name_is_corrected_to_the_content() -> None:
    assert filename_for("passport.pdf", "jpeg") == "passport.jpg"
    assert filename_for("photo.exe", "jpeg") == "photo.exe.jpg"
    assert filename_for("invoice.PDF", "pdf") == "invoice.PDF"
    assert filename_for("scan.jpeg", "jpeg") == "scan.jpeg"
    assert filename_for("", "png") == "file.png"


# --- Size ----------------------------------------------------------------------------------------


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, b"") == EMPTY == "The selected file is empty"


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big"
    with path.open("wb") as f:
        f.write(pdf_bytes())
        f.truncate(10 * BYTES_PER_MB + 1)
    with pytest.raises(FileRefused, match="^The selected file must be smaller than 10MB$"):
        check_file(path, accept=ALL, max_bytes=10 * BYTES_PER_MB)
    with pytest.raises(FileRefused, match="^The selected file must be smaller than 2MB$"):
        check_file(path, accept=ALL, max_bytes=2 * BYTES_PER_MB)


# --- Bombs ---------------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_by_its_kind_unopened(tmp_path: Path) -> None:
    """100MB of zeros in a 100KB ZIP, named like a photo: refused as not a JPG, PNG or PDF, and
    never inflated."""
    bomb = a_zip({f"part{i}.bin": b"\0" * (10 * BYTES_PER_MB) for i in range(10)})
    gzipped = gzip.compress(b"\0" * (50 * BYTES_PER_MB))
    assert len(bomb) < 200_000 and len(gzipped) < 100_000
    started = time.process_time()  # this process's CPU: the same on a loaded machine
    assert refused(tmp_path, bomb) == "The selected file must be a JPG, PNG or PDF"
    assert refused(tmp_path, gzipped) == "The selected file must be a JPG, PNG or PDF"
    assert time.process_time() - started < 1


@pytest.mark.parametrize("size", [(8000, 6251), (50_000, 50_000), (200_000, 200_000)])
def test_an_image_bomb_is_refused_by_its_pixel_count(tmp_path: Path, size: tuple[int, int]) -> None:
    """A tiny PNG that would decode to gigabytes (over Pillow's own limit too, for the two
    largest): refused before a pixel is decoded."""
    assert refused(tmp_path, png_header_only(*size)) == IMAGE_TOO_BIG


def test_fifty_megapixels_is_the_limit_not_a_bomb(tmp_path: Path) -> None:
    from runtime.uploads import MAX_IMAGE_PIXELS

    assert 8160 * 6120 <= MAX_IMAGE_PIXELS < 8000 * 6251


def test_a_jpeg_with_thousands_of_scans_is_refused_before_decoding(tmp_path: Path) -> None:
    """Each scan of a progressive JPEG makes the decoder go over the whole image again: a
    "scan bomb" of thousands of scans of a large image holds a worker for minutes."""
    out = io.BytesIO()
    Image.effect_noise((400, 300), 80).convert("RGB").save(out, "JPEG", progressive=True)
    jpeg = out.getvalue()
    last_scan = jpeg.rindex(b"\xff\xda")
    bomb = jpeg[:last_scan] + jpeg[last_scan:-2] * 300 + b"\xff\xd9"
    started = time.process_time()
    assert refused(tmp_path, bomb, max_mb=50) == DAMAGED
    assert time.process_time() - started < 2
    assert check(tmp_path, jpeg)[0].kind == "jpeg"  # about 10 scans


def test_a_jpeg_of_a_million_segments_is_refused_before_decoding(tmp_path: Path) -> None:
    jpeg = jpeg_bytes()
    flood = jpeg[:2] + b"\xff\xe5\x00\x03a" * 1_000_000 + jpeg[2:]  # empty APP5 segments, 5MB
    started = time.process_time()
    assert refused(tmp_path, flood) == DAMAGED
    assert time.process_time() - started < 1
    assert check(tmp_path, jpeg[:2] + b"\xff\xe5\x00\x03a" * 100 + jpeg[2:])[0].kind == "jpeg"


def test_a_png_with_a_compressed_text_bomb_is_refused(tmp_path: Path) -> None:
    """A zTXt chunk that inflates to 100MB: Pillow stops at its limit, and the file is refused."""
    body = b"Comment\0\0" + zlib.compress(b"\0" * (100 * BYTES_PER_MB), 9)
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body + struct.pack(">I", zlib.crc32(b"zTXt" + body))
    png = png_bytes()
    assert refused(tmp_path, png[:33] + chunk + png[33:]) == DAMAGED


def test_a_png_of_a_million_chunks_is_refused_before_decoding(tmp_path: Path) -> None:
    """A million tiny text chunks (15MB) held Pillow for 10 s."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = png_bytes()
    flood = png[:33] + chunk(b"tEXt", b"a\0b") * 1_000_000 + png[33:]
    started = time.process_time()
    assert refused(tmp_path, flood, max_mb=50) == DAMAGED
    assert time.process_time() - started < 2
    assert check(tmp_path, png[:33] + chunk(b"tEXt", b"a\0b") * 100 + png[33:])[0].kind == "png"


# --- Polyglots -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(jpeg_bytes() + a_zip({"evil.js": b"alert(1)"}), id="a JPEG with a ZIP after it"),
        pytest.param(png_bytes() + a_zip({"evil.js": b"alert(1)"}), id="a PNG with a ZIP after it"),
        pytest.param(pdf_bytes() + a_zip({"evil.js": b"alert(1)"}), id="a PDF with a ZIP after it"),
        pytest.param(jpeg_bytes() + b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n", id="a JPEG with a PDF after it"),
        pytest.param(jpeg_bytes(comment=b"<html><script>alert(1)</script>"), id="a JPEG whose comment is HTML"),
        pytest.param(jpeg_bytes(comment=b"%PDF-1.4 in the first kilobyte"), id="a JPEG a PDF reader opens"),
        pytest.param(png_bytes() + b"\n<?php system($_GET['c']); ?>", id="a PNG with PHP after it"),
        pytest.param(png_bytes(text="<script>alert(1)</script>"), id="a PNG whose text is a script"),
        pytest.param(
            pdf_bytes().replace(b"%PDF-1.7\n", b"%PDF-1.7\n%<html><script>alert(1)</script>\n"), id="a PDF that is HTML"
        ),
        pytest.param(pdf_bytes() + b"\n<script>alert(document.cookie)</script>", id="a PDF with a script after it"),
        pytest.param(pdf_bytes() + b"\x7fELF\x02\x01\x01" + b"\0" * 100, id="a PDF with a program after it"),
    ],
)
def test_a_polyglot_is_refused(tmp_path: Path, content: bytes) -> None:
    assert refused(tmp_path, content) == HIDDEN == "The selected file has another file hidden inside it"


def with_segment(jpeg: bytes, payload: bytes) -> bytes:
    """The JPEG with an APP2 segment holding ``payload`` right after its start marker."""
    return jpeg[:2] + b"\xff\xe2" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


@pytest.mark.parametrize(
    "options",
    [{}, {"progressive": True}, {"optimize": True}, {"restart_marker_blocks": 4}, {"subsampling": 0, "quality": 100}],
    ids=["baseline", "progressive", "optimized", "restart markers", "full colour"],
)
def test_the_end_of_a_jpeg_is_found_by_its_structure(tmp_path: Path, options: dict[str, object]) -> None:
    """Markup inside the image (in a segment past the first kilobyte, or in an embedded
    thumbnail's end marker) is not a trailer: it goes with re-encoding. The same after the end
    is refused, whatever way the JPEG was encoded."""
    out = io.BytesIO()
    Image.effect_noise((300, 200), 80).convert("RGB").save(out, "JPEG", **options)
    small = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(small, "JPEG")
    inside = with_segment(out.getvalue(), b"\0" * 2000 + small.getvalue() + b"<script>alert(1)</script>")
    _, kept = check(tmp_path, inside)
    assert b"<script>" not in kept
    assert refused(tmp_path, out.getvalue() + b"\n<script>alert(1)</script>") == HIDDEN


# --- Damaged files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(jpeg_bytes()[:400], id="a JPEG cut short"),
        pytest.param(png_bytes((300, 300))[:200], id="a PNG cut short"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 500, id="a JPEG's signature and nothing else"),
        pytest.param(b"%PDF-1.7\n" + b"garbage " * 100, id="a PDF's signature and garbage"),
        pytest.param(
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n",
            id="a PDF with no pages",
        ),
    ],
)
def test_a_damaged_file_is_refused(tmp_path: Path, content: bytes) -> None:
    assert refused(tmp_path, content) == DAMAGED


def test_nothing_is_left_beside_the_file_when_it_is_refused_or_kept(tmp_path: Path) -> None:
    refused(tmp_path, jpeg_bytes()[:400])
    check(tmp_path, jpeg_bytes())
    assert [p.name for p in tmp_path.iterdir()] == ["upload"]


# --- What a PDF may hold -------------------------------------------------------------------------

JS = "<< /S /JavaScript /JS (app.alert('hi')) >>"


@pytest.fixture(params=["raw bytes and objects", "objects only"])
def pdf_reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hostile PDF is refused by the walk through its objects alone too, not only by the
    search of its raw bytes for the names a script or an attached file needs."""
    if request.param == "objects only":
        monkeypatch.setattr("runtime.uploads._RAW_NAMES", ())


@pytest.mark.parametrize(
    ("catalog", "objects"),
    [
        pytest.param("/OpenAction 5 0 R ", (JS,), id="a script when opened"),
        pytest.param("/Names << /JavaScript 5 0 R >> ", ("<< /Names [(a) 6 0 R] >>", JS), id="document scripts"),
        pytest.param("/OpenAction << /S /Launch /F (cmd.exe) >> ", (), id="launching a program"),
        pytest.param(
            "/OpenAction 5 0 R ", ("<< /S /URI /URI (https://evil.example/track) >>",), id="a link opened by itself"
        ),
        pytest.param("/AA << /WC << /S /SubmitForm /F (https://evil.example) >> >> ", (), id="a form sent on closing"),
        pytest.param(
            "/OpenAction << /S /GoToR /F (\\\\\\\\evil\\\\share\\\\x.pdf) /D [0 /Fit] >> ", (), id="another file"
        ),
        pytest.param(
            "/OpenAction 5 0 R ", ("<< /S /J#61vaScript /J#53 (app.alert(1)) >>",), id="a script's name in hex"
        ),
        pytest.param(
            "/AcroForm << /Fields [] /XFA 5 0 R >> ", ("<< /Length 0 >>\nstream\n\nendstream",), id="an XFA form"
        ),
    ],
)
@pytest.mark.usefixtures("pdf_reading")
def test_a_pdf_with_active_content_is_refused(tmp_path: Path, catalog: str, objects: tuple[str, ...]) -> None:
    assert refused(tmp_path, pdf_bytes(catalog=catalog, objects=objects)) == PDF_ACTIVE


@pytest.mark.usefixtures("pdf_reading")
def test_a_script_on_a_page_is_refused(tmp_path: Path) -> None:
    content = pdf_bytes(objects=(JS,)).replace(b"/Type /Page /Parent", b"/Type /Page /AA << /O 5 0 R >> /Parent")
    # The offsets moved: pypdf repairs the cross-reference table, as a reader would.
    assert refused(tmp_path, content) == PDF_ACTIVE


@pytest.mark.parametrize(
    ("catalog", "objects"),
    [
        pytest.param(
            "/Names << /EmbeddedFiles << /Names [(a.exe) 5 0 R] >> >> ",
            ("<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>", "<< /Length 2 >>\nstream\nMZ\nendstream"),
            id="an embedded file",
        ),
        pytest.param(
            "",
            ("<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS (a.exe) >>",),
            id="a file attachment annotation",
        ),
    ],
)
@pytest.mark.usefixtures("pdf_reading")
def test_a_pdf_with_files_attached_is_refused(tmp_path: Path, catalog: str, objects: tuple[str, ...]) -> None:
    assert refused(tmp_path, pdf_bytes(catalog=catalog, objects=objects)) == PDF_ATTACHED


def test_a_pdf_needing_a_password_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes()))
    writer.encrypt(user_password="letmein", owner_password="letmein", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert PdfReader(io.BytesIO(out.getvalue())).is_encrypted
    assert refused(tmp_path, out.getvalue()) == PASSWORD == "The selected file is password protected"


def test_a_pdf_with_too_many_objects_is_refused_quickly(tmp_path: Path) -> None:
    from runtime.uploads import MAX_PDF_OBJECTS, PDF_TOO_COMPLEX

    many_objects = pdf_bytes(objects=tuple("<< /A 1 >>" for _ in range(MAX_PDF_OBJECTS + 1)))
    many_pages = pdf_bytes(pages=MAX_PDF_OBJECTS // 2 + 1)
    started = time.process_time()
    assert refused(tmp_path, many_objects) == PDF_TOO_COMPLEX
    # Pages too: counted before the page tree is read.
    assert refused(tmp_path, many_pages) == PDF_TOO_COMPLEX
    assert time.process_time() - started < 3


def test_a_large_pdf_is_read_a_stream_at_a_time(tmp_path: Path) -> None:
    """A 20MB PDF of twenty 1MB images: the checks hold one stream at a time in memory, never
    the whole file (pypdf reads a whole file given its path, and keeps every object it read)."""
    import os
    import tracemalloc

    import pypdf  # noqa: F401 (imported before measuring: its modules are not the file)

    streams = []
    for _ in range(20):
        body = os.urandom(512 * 1024).hex()
        streams.append(f"<< /Length {len(body)} /Filter /ASCIIHexDecode >>\nstream\n{body}\nendstream")
    path = tmp_path / "upload"
    path.write_bytes(pdf_bytes(objects=tuple(streams)))
    assert path.stat().st_size > 20_000_000
    tracemalloc.start()
    try:
        check_file(path, accept=ALL, max_bytes=50 * BYTES_PER_MB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


# --- Names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("photo.jpg", "photo.jpg"),
        ("My passport (1).JPG", "My passport (1).JPG"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\Documents\\tenancy.pdf", "tenancy.pdf"),
        ("/var/www/uploads/../../x.png", "x.png"),
        ("evil\x00.pdf", "evil.pdf"),
        ("line\r\nbreak.pdf", "linebreak.pdf"),
        ("tab\there.pdf", "tabhere.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override hides the ending
        ("zero\u200bwidth.png", "zerowidth.png"),
        ('quote"and<angle>.pdf', "quote_and_angle_.pdf"),
        ("..", "file"),
        (".htaccess", "htaccess"),
        ("   ", "file"),
        ("\x01\x02\x03", "file"),
        ("", "file"),
        ("caf\u0065\u0301.pdf", "caf\u00e9.pdf"),  # one way to write é
        ("non\u00a0breaking.pdf", "non breaking.pdf"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_a_long_name_keeps_its_ending() -> None:
    name = safe_filename("a" * 300 + ".pdf")
    assert len(name) == 100 and name.endswith("aaa.pdf")


# --- Thumbnails and the contract -------------------------------------------------------------------


def test_a_thumbnail_of_an_image_and_none_of_a_pdf(tmp_path: Path) -> None:
    photo = tmp_path / "photo"
    photo.write_bytes(jpeg_bytes((1200, 900)))
    small = thumbnail(photo)
    assert small is not None
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "PNG" and image.size == (240, 180)
    document = tmp_path / "document"
    document.write_bytes(pdf_bytes())
    assert thumbnail(document) is None
    bomb = tmp_path / "bomb"
    bomb.write_bytes(png_header_only(50_000, 50_000))
    assert thumbnail(bomb) is None


def test_the_kinds() -> None:
    assert {k: (v.label, v.mime) for k, v in KINDS.items()} == {
        "jpeg": ("JPG", "image/jpeg"),
        "png": ("PNG", "image/png"),
        "pdf": ("PDF", "application/pdf"),
    }


@pytest.mark.parametrize("accept", [(), ("gif",), ("jpeg", "exe")])
def test_accept_must_name_known_kinds(tmp_path: Path, accept: tuple[str, ...]) -> None:
    path = tmp_path / "x"
    path.write_bytes(jpeg_bytes())
    with pytest.raises(ValueError, match="accept"):
        check_file(path, accept=accept, max_bytes=BYTES_PER_MB)


def test_eicar_alone_is_not_a_kind_the_checks_take(tmp_path: Path) -> None:
    assert refused(tmp_path, EICAR) == "The selected file must be a JPG, PNG or PDF"


def test_a_mangled_file_gets_a_message_never_an_error(tmp_path: Path) -> None:
    """Real files with bytes changed, cut out and put in, as a damaged disk or a hostile hand
    leaves them: each is taken (and then re-encoded or read through) or refused with a message.
    A run of 13,000 found Pillow's warning on corrupt EXIF escaping; this keeps 400 of them."""
    import random

    seeds = [jpeg_bytes((80, 60)), png_bytes((50, 40), text="hello"), pdf_bytes(pages=2)]
    rng = random.Random(18)
    outcomes: set[str] = set()
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.5:
                data[at] = rng.randrange(256)
            elif roll < 0.75:
                del data[at : at + rng.randint(1, 50)]
            else:
                data[at : at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x7f\xff\xff\xff"])
        try:
            check(tmp_path, bytes(data))
            outcomes.add("taken")
        except FileRefused as refusal:
            outcomes.add(refusal.message)
    assert "taken" in outcomes and DAMAGED in outcomes

"""Blue Badge's photo and proof of identity in a real browser, with and without JavaScript
(docs/uploads.md, "The citizen's pages"): upload a file and see it listed, remove it, a 25MB
file refused before it is written, EICAR refused, upload another up to the limit, check answers
listing the files, and send. axe-core on every page met, error states included.

The server scans with this run's clamd (tests/upload_servers.py) and keeps its files in folders
of its own, which the test reads: nothing of a refused file may be there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, serve_citizen_app
from tests.browser.helpers import arrive, continue_, fill
from tests.journeys import HAPPY_PATHS, PASSPORT, PHOTO, UploadFile
from tests.upload_servers import eicar_pdf, pdf_bytes, upload_settings

SERVICE = "blue-badge"
REFERENCE = re.compile(r"BB-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")
VIRUS = UploadFile("invoice.pdf", eicar_pdf(), "application/pdf")
LICENCE = UploadFile("driving licence.pdf", pdf_bytes(text="Driving licence"), "application/pdf")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, clamd_address: str
) -> Iterator[tuple[LiveServer, Path, Path]]:
    folder = tmp_path_factory.mktemp("upload-browser")
    files = upload_settings(folder, clamd_address=clamd_address)
    with serve_citizen_app(sqlite_template, tmp_path_factory, **files) as live:
        yield live, files["upload_dir"], files["quarantine_dir"]


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def choose(page: Any, name: str, file: UploadFile | Path) -> None:
    """Choose a file (a large one from disk: sending its bytes to the browser takes longer)."""
    chosen: Any = (
        str(file) if isinstance(file, Path) else [{"name": file.name, "mimeType": file.mime, "buffer": file.content}]
    )
    page.set_input_files(f'input[type=file][name="{name}"]', files=chosen)


def upload_button(page: Any) -> None:
    page.get_by_role("button", name="Upload file").click()


def listed(page: Any) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("#files .govuk-summary-list__key").all_inner_texts()]


def walk(page: Any, base: str, axe: Any, uploads: Path, quarantine: Path, too_large: Path, js: bool) -> str:
    service_url = f"{base}/services/{SERVICE}"
    page.goto(service_url)
    arrive(page, service_url)
    if js:
        page.evaluate("() => { window.cfUploadMarker = 1 }")
    page.get_by_role("button", name="Start now").click()
    for page_id, data in HAPPY_PATHS[SERVICE]:
        if page_id == "photo":
            break
        arrive(page, f"{service_url}/{page_id}")
        fill(page, data)
        continue_(page)
    photo_url = f"{service_url}/photo"
    before = set(files_in(uploads))

    # The photo page: the limits in plain words, the file input.
    arrive(page, photo_url)
    expect(page.locator("#photo-hint")).to_contain_text("The file must be a JPG or PNG, smaller than 10MB.")
    axe(page)
    # Continue with nothing chosen.
    continue_(page)
    if not js:
        arrive(page, photo_url + "/upload")  # the page shown again, in answer to its post
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a photo of your face")
    axe(page)

    # Upload: back on the page with a banner and the file listed, with its size.
    choose(page, "photo", PHOTO)
    upload_button(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("my photo.jpg has been uploaded")
    assert listed(page) == ["my photo.jpg"]
    expect(page.locator("#files .govuk-summary-list__value")).to_contain_text("KB")
    axe(page)
    assert len(set(files_in(uploads)) - before) == 2  # the file and its thumbnail

    # Remove it.
    page.get_by_role("button", name="Remove my photo.jpg").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("The file has been removed")
    expect(page.locator("#files")).to_have_count(0)
    axe(page)
    assert set(files_in(uploads)) == before
    assert files_in(quarantine) == []

    # 25MB: refused before a byte of it is written (by its Content-Length).
    choose(page, "photo", too_large)
    upload_button(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text("The selected file must be smaller than 10MB")
    expect(page.locator(".govuk-error-message")).to_contain_text("The selected file must be smaller than 10MB")
    axe(page)
    assert set(files_in(uploads)) == before
    assert files_in(quarantine) == []

    # Choose the photo and Continue: uploaded and on to the next question.
    choose(page, "photo", PHOTO)
    continue_(page)
    proof_url = f"{service_url}/proof-of-identity"
    arrive(page, proof_url)
    expect(page.locator("#proof-of-identity-hint")).to_contain_text(
        "Upload up to 2 files. Each must be a JPG, PNG or PDF, smaller than 10MB."
    )
    axe(page)
    with_photo = set(files_in(uploads))

    # EICAR: refused, never stored.
    choose(page, "proof_of_identity", VIRUS)
    upload_button(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text("The selected file contains a virus")
    axe(page)
    assert set(files_in(uploads)) == with_photo
    assert files_in(quarantine) == []

    # Upload one, then another up to the limit.
    choose(page, "proof_of_identity", LICENCE)
    upload_button(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("driving licence.pdf has been uploaded")
    expect(page.get_by_label("Upload another file")).to_be_visible()
    axe(page)
    choose(page, "proof_of_identity", PASSPORT)
    upload_button(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("passport scan.png has been uploaded")
    assert listed(page) == ["driving licence.pdf", "passport scan.png"]
    expect(page.locator("input[type=file]")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("You have added the most files this question takes")
    axe(page)
    continue_(page)

    arrive(page, f"{service_url}/check-answers")
    summary = page.locator(".govuk-summary-list")
    expect(summary).to_contain_text("my photo.jpg (")
    expect(summary).to_contain_text("driving licence.pdf (")
    expect(summary).to_contain_text("passport scan.png (")
    axe(page)
    page.get_by_role("button", name="Accept and send").click()
    arrive(page, f"{service_url}/confirmation")
    reference = page.locator(".govuk-panel--confirmation .cf-reference").inner_text().strip()
    assert REFERENCE.fullmatch(reference), reference
    axe(page)
    if js:
        assert page.evaluate("() => window.cfUploadMarker") == 1, "a full page load instead of htmx swaps"
    return reference


@pytest.fixture(scope="module")
def too_large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 25MB "photo" on the citizen's computer."""
    path = tmp_path_factory.mktemp("citizen") / "scan of everything.jpg"
    with path.open("wb") as f:
        f.write(b"\xff\xd8\xff\xe0")
        f.truncate(25 * 1024 * 1024)
    return path


def test_uploads_with_javascript(server: Any, js_page: Any, axe: Any, too_large: Path) -> None:
    live, uploads, quarantine = server
    errors: list[str] = []
    js_page.on("pageerror", lambda error: errors.append(str(error)))
    walk(js_page, live.url, axe, uploads, quarantine, too_large, js=True)
    assert not errors


def test_uploads_without_javascript(server: Any, nojs_page: Any, axe: Any, too_large: Path) -> None:
    live, uploads, quarantine = server
    walk(nojs_page, live.url, axe, uploads, quarantine, too_large, js=False)

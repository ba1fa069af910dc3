"""A caseworker sees an application's files on the case page and downloads one (issue 18, part F).

In Chromium on the development app (the back office at /casework/), with and without JavaScript:
the case page's Files section shows an image's thumbnail (loaded, through the app, logged) and a
PDF without one; clicking a file's link downloads it (an attachment, saved under its name, the
bytes as stored) and leaves the case page where it was; axe-core (WCAG 2.2 A/AA) checks the page.
The access log then holds the download and the thumbnail's view.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime import cases, versions
from runtime import db as dbmod
from runtime.data import submissions
from runtime.models import Case, utcnow
from runtime.storage import LocalStorage
from tests.browser.conftest import CASEWORKER_EMAIL, BuilderServer, casework_sign_in, new_page
from tests.casework.case_files_helpers import PDF_BYTES, add_file, png_bytes

pytestmark = pytest.mark.browser

SERVICE = "council-tax-single-person-discount"


def _case_with_files(server: BuilderServer, name: str) -> tuple[str, dict[str, Any]]:
    """A council tax case (opened as the citizen runtime opens one) with a photo and a PDF, their
    bytes in the server's own storage folder."""
    storage = LocalStorage(server.database.parent / "uploads")
    engine = dbmod.make_engine(f"sqlite:///{server.database}")
    try:
        with dbmod.session(engine) as s:
            definition = versions.definition(session=s, service_id=SERVICE)
            assert definition is not None
            submission = submissions.create_submission(
                session=s, service=definition, answers={"full_name": name, "email": "files@example.com"}
            )
            case = cases.open_case(
                s,
                submission=submission,
                definition=definition,
                now=utcnow(),
                secret_key="x" * 40,
                urls=cases.CaseUrls("http://127.0.0.1"),
            )
            s.commit()
            found = s.get(Case, case.id)
            assert found is not None
            photo = add_file(s, storage, found, name="front door.png", content=png_bytes((300, 200)), minutes_ago=2)
            proof = add_file(
                s, storage, found, name="Bill März 2026.pdf", content=PDF_BYTES, content_type="application/pdf"
            )
            return case.reference, {"photo": photo, "proof": proof, "case_id": case.id}
    finally:
        engine.dispose()


def _logged(server: BuilderServer, case_id: int) -> list[tuple[str, str]]:
    with sqlite3.connect(server.database) as connection:
        return connection.execute(
            "SELECT action, detail FROM access_log WHERE case_id = ? AND action IN ('download', 'view-thumbnail') "
            "ORDER BY id",
            (case_id,),
        ).fetchall()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_caseworker_sees_a_thumbnail_and_downloads_a_file(
    browser: Any, casework_server: BuilderServer, axe: Any, javascript: bool, tmp_path: Path
) -> None:
    reference, made = _case_with_files(casework_server, f"Fiona Files {'js' if javascript else 'nojs'}")
    with new_page(browser, java_script_enabled=javascript, accept_downloads=True) as page:
        casework_sign_in(page, casework_server, CASEWORKER_EMAIL)
        case_url = casework_server(f"/casework/cases/{reference}")
        page.goto(case_url)
        expect(page.get_by_role("heading", name="Files")).to_be_visible()
        rows = page.locator("table.cf-case-files tbody tr")
        expect(rows).to_have_count(2)
        thumbnail = rows.nth(0).locator("img.cf-thumbnail")
        expect(thumbnail).to_have_attribute("alt", "Preview of front door.png")
        thumbnail.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
        expect(rows.nth(1)).to_contain_text("No preview")
        expect(rows.nth(1)).to_contain_text("PDF")
        axe(page)

        with page.expect_download() as waiting:
            page.get_by_role("link", name="Bill März 2026.pdf").click()
        download = waiting.value
        assert download.suggested_filename == "Bill März 2026.pdf"
        saved = tmp_path / "saved.pdf"
        download.save_as(saved)
        assert saved.read_bytes() == PDF_BYTES
        # A download is no page: the case page stays as it was (not swapped out by htmx).
        assert page.url == case_url
        expect(page.get_by_role("heading", name=f"Case {reference}")).to_be_visible()
        axe(page)

    logged = _logged(casework_server, made["case_id"])
    assert ("download", f'{{"upload": "{made["proof"].id}"}}') in logged
    assert ("view-thumbnail", f'{{"upload": "{made["photo"].id}"}}') in logged


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_caseworker_asks_for_a_document_and_the_applicant_uploads_it(
    browser: Any, casework_server: BuilderServer, axe: Any, javascript: bool, tmp_path: Path
) -> None:
    """The request form's documents, the applicant's answer page with a file for the document
    (axe on both, the upload listed), Send, and the file on the case page."""
    slug = "js" if javascript else "nojs"
    reference, made = _case_with_files(casework_server, f"Dora Documents {slug}")
    photo = tmp_path / "tenancy agreement.png"
    photo.write_bytes(png_bytes((320, 240)))
    with new_page(browser, java_script_enabled=javascript) as staff_page:
        casework_sign_in(staff_page, casework_server, CASEWORKER_EMAIL)
        case_url = casework_server(f"/casework/cases/{reference}")
        staff_page.goto(case_url)
        form = staff_page.locator("form.cf-request-information")
        form.get_by_label("Message to the applicant").fill("We need to see your tenancy agreement.")
        form.get_by_label("Documents to ask for (optional)").fill("A copy of your tenancy agreement")
        axe(staff_page)
        form.get_by_role("button", name="Ask the applicant for more information").click()
        expect(staff_page.locator(".govuk-notification-banner")).to_contain_text("You asked the applicant")
        expect(staff_page.locator(".cf-documents-asked")).to_contain_text("A copy of your tenancy agreement")
        with sqlite3.connect(casework_server.database) as connection:
            (body,) = connection.execute(
                "SELECT body FROM outbox WHERE kind = 'information_requested' AND case_id = ?", (made["case_id"],)
            ).fetchone()
        assert "We will ask you to upload:\n- A copy of your tenancy agreement" in body
        link = re.search(r"/information/[A-Za-z0-9_-]+", body)
        assert link is not None

        with new_page(browser, java_script_enabled=javascript) as citizen:
            answer_url = casework_server(link.group(0))
            citizen.goto(answer_url)
            expect(citizen.get_by_role("heading", name="Documents we need")).to_be_visible()
            axe(citizen)
            # Send without the file: the error by the document.
            citizen.get_by_role("button", name="Send").click()
            expect(citizen.locator(".govuk-error-summary")).to_contain_text(
                "Select a file for ‘A copy of your tenancy agreement’"
            )
            axe(citizen)
            citizen.locator("input#document-1").set_input_files(str(photo))
            citizen.get_by_role("button", name="Upload file").click()
            expect(citizen.locator(".govuk-notification-banner")).to_contain_text(
                "tenancy agreement.png has been uploaded"
            )
            expect(citizen.locator("#document-1-section")).to_contain_text("tenancy agreement.png")
            axe(citizen)
            citizen.get_by_role("button", name="Send").click()
            expect(citizen.get_by_role("heading", level=1)).not_to_have_text("We need more information")
            axe(citizen)

        staff_page.goto(case_url)
        row = staff_page.locator("table.cf-case-files tbody tr", has_text="tenancy agreement.png")
        expect(row).to_contain_text("Request 1: A copy of your tenancy agreement")
        expect(row.locator("img.cf-thumbnail")).to_have_count(1)
        axe(staff_page)

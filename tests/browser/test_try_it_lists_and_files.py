"""A designer tries a service with an add-another question and one with file questions, in
Chromium, with and without JavaScript, axe-core on every page: the housing service's people
(add, add another, change, remove an item) and Blue Badge's photo and proof of identity (a file
uploaded, listed, removed and uploaded again, a PDF holding EICAR refused), to check answers.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESIGNER_EMAIL, BuilderServer, new_page, sign_in
from tests.browser.helpers import arrive, continue_, fill
from tests.journeys import HAPPY_PATHS, UploadFile
from tests.upload_servers import eicar_pdf

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def designer_of_housing(builder_server: BuilderServer) -> BuilderServer:
    """The designer may edit (so try) the Housing department's services too."""
    with sqlite3.connect(builder_server.database) as connection:
        (user,) = connection.execute("SELECT id FROM staff_user WHERE email = ?", (DESIGNER_EMAIL,)).fetchone()
        (housing,) = connection.execute("SELECT department_id FROM service WHERE id = 'household-members'").fetchone()
        connection.execute(
            "INSERT OR IGNORE INTO staff_role (user_id, department_id, role) VALUES (?, ?, 'designer')", (user, housing)
        )
    return builder_server


def _begin(page: Any, server: BuilderServer, service: str, axe: Any) -> None:
    """Signed in, "try it" from its start, without the answers another run left."""
    sign_in(page, server)
    page.goto(server(f"/builder/services/{service}/try/"))
    if page.locator(".cf-try-it-restart button").count():
        page.locator(".cf-try-it-restart button").click()
    page.goto(server(f"/builder/services/{service}/try/"))
    arrive(page, server(f"/builder/services/{service}/try/"))
    expect(page.locator(".cf-try-it-banner")).to_be_visible()
    axe(page)
    page.locator("main .govuk-button--start").click()


def _step(page: Any, server: BuilderServer, service: str, page_id: str, axe: Any) -> None:
    arrive(page, server(f"/builder/services/{service}/try/pages/{page_id}"))
    expect(page.locator(".cf-try-it-banner")).to_be_visible()
    axe(page)


@pytest.mark.parametrize("java_script", [True, False], ids=["js", "nojs"])
def test_try_a_list_of_people(browser: Any, designer_of_housing: BuilderServer, axe: Any, java_script: bool) -> None:
    server = designer_of_housing
    service = "household-members"
    with new_page(browser, java_script_enabled=java_script) as page:
        _begin(page, server, service, axe)
        for page_id, data in HAPPY_PATHS[service]:
            _step(page, server, service, page_id, axe)
            if "add-another" in data:
                page.check(f'input[name="add-another"][value="{data["add-another"]}"]')
            else:
                fill(page, data)
            continue_(page)
        arrive(page, server(f"/builder/services/{service}/try/check-answers"))
        expect(page.locator("main")).to_contain_text("John Smith")
        expect(page.locator("main")).to_contain_text("Amy Smith")
        axe(page)

        # Change Amy's name, then remove her, from the list's page.
        listed = server(f"/builder/services/{service}/try/pages/household-members")
        page.goto(listed)
        arrive(page, listed)
        expect(page.locator("h1")).to_have_text("You have added 2 people")
        axe(page)
        page.get_by_role("link", name="Change Amy Smith").click()
        _step(page, server, service, "household-members/2", axe)
        page.fill('[name="full_name"]', "Amy Jones")
        continue_(page)
        arrive(page, listed)
        expect(page.locator("main")).to_contain_text("Amy Jones")
        page.get_by_role("link", name="Remove Amy Jones").click()
        _step(page, server, service, "household-members/2/remove", axe)
        page.get_by_label("Yes").check()
        continue_(page)
        arrive(page, listed + "?removed=1")
        expect(page.locator("h1")).to_have_text("You have added 1 person")
        expect(page.locator("main")).not_to_contain_text("Amy Jones")
        axe(page)

        # An item that is not in the list.
        page.goto(listed + "/7")
        arrive(page, listed + "?problem=no-such-item")
        expect(page.locator("main")).to_contain_text("There is no person with that number in your list")
        axe(page)


@pytest.mark.parametrize("java_script", [True, False], ids=["js", "nojs"])
def test_try_file_questions(browser: Any, builder_server: BuilderServer, axe: Any, java_script: bool) -> None:
    server = builder_server
    service = "blue-badge"
    with new_page(browser, java_script_enabled=java_script) as page:
        _begin(page, server, service, axe)
        for page_id, data in HAPPY_PATHS[service]:
            _step(page, server, service, page_id, axe)
            if page_id == "proof-of-identity":
                # A virus first (in a PDF that passes every other check): refused where it
                # happened, nothing listed.
                fill(page, {"proof_of_identity": UploadFile("passport.pdf", eicar_pdf(), "application/pdf")})
                page.get_by_role("button", name="Upload file").click()
                expect(page.locator(".govuk-error-summary")).to_contain_text("The selected file contains a virus")
                expect(page.locator("main")).not_to_contain_text("passport.pdf")
                axe(page)
            if page_id == "photo":
                # Uploaded, listed with its size, removed, then uploaded again with Continue.
                fill(page, data)
                page.get_by_role("button", name="Upload file").click()
                expect(page.locator("main")).to_contain_text("my photo.jpg has been uploaded")
                axe(page)
                page.get_by_role("button", name="Remove").first.click()
                expect(page.locator("main")).to_contain_text("The file has been removed")
                axe(page)
            fill(page, data)
            continue_(page)
        arrive(page, server(f"/builder/services/{service}/try/check-answers"))
        expect(page.locator("main")).to_contain_text("my photo.jpg")
        expect(page.locator("main")).to_contain_text("passport scan.png")
        axe(page)
        page.locator("main form[method=post] button.govuk-button").last.click()
        arrive(page, server(f"/builder/services/{service}/try/confirmation"))
        axe(page)
    with sqlite3.connect(server.database) as connection:
        held = connection.execute("SELECT form_session_id, submission_id FROM upload").fetchall()
    assert held and all(holder.startswith("preview-") and sent is None for holder, sent in held), held

"""Issue 18, part E in a browser: a designer builds a service with a file upload (its limits in
plain words) and an add-another section (its names, and questions about each person added,
edited, reordered and removed), with JavaScript and without, then previews every page as
citizens see it. axe-core on every page visited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import LiveServer, sign_in
from .helpers import settled

pytestmark = pytest.mark.browser


def _click(page: Any, role: str, name: str, axe: Any) -> None:
    """Click, wait for the next page, and check it with axe."""
    page.get_by_role(role, name=name, exact=True).click()
    settled(page)
    axe(page)


def _add_page(page: Any, server: LiveServer, service: str, title: str, axe: Any) -> None:
    page.goto(server(f"/builder/services/{service}/pages/new"))
    settled(page)
    axe(page)
    page.fill('input[name="title"]', title)
    _click(page, "button", "Add page", axe)
    expect(page.locator("h1")).to_have_text("Edit page")
    expect(page.locator('input[name="title"]')).to_have_value(title)


def _choose_type(page: Any, palette_word: str, label: str, axe: Any) -> None:
    """On a palette: pick the type, Continue, type the question, Add question."""
    page.get_by_label(palette_word, exact=True).check()
    _click(page, "button", "Continue", axe)
    page.fill('input[name="label"]', label)
    _click(page, "button", "Add question", axe)
    expect(page.locator("h1.govuk-heading-l")).to_have_text("Edit question")  # the preview has the page's own


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_designer_builds_a_file_upload_and_an_add_another_section(
    builder_server: LiveServer, js_page: Any, nojs_page: Any, axe: Any, javascript: bool
) -> None:
    page = js_page if javascript else nojs_page
    service = "household-photos-js" if javascript else "household-photos"
    sign_in(page, builder_server)

    # A new blank service.
    page.goto(builder_server("/builder/services/new"))
    settled(page)
    axe(page)
    page.fill('input[name="title"]', f"Register your household ({'with' if javascript else 'without'} scripts)")
    page.fill('input[name="id"]', service)
    page.fill('input[name="reference_prefix"]', "HPJ" if javascript else "HPN")
    page.locator('input[name="department"]').first.check()
    page.check('input[name="start"][value="blank"]')
    _click(page, "button", "Create service", axe)
    expect(page).to_have_url(re.compile(rf"/builder/services/{service}/$"))

    # A file upload, on a page of its own, with its limits in plain words.
    _add_page(page, builder_server, service, "Photo", axe)
    _click(page, "button", "Add a question", axe)
    _choose_type(page, "File upload", "Upload a photo of yourself", axe)
    page.fill('input[name="max_files"]', "")
    page.uncheck('input[name="accept"][value="jpeg"]')
    page.uncheck('input[name="accept"][value="png"]')
    page.uncheck('input[name="accept"][value="pdf"]')
    _click(page, "button", "Save question", axe)
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter how many files people can upload")
    page.fill('input[name="max_files"]', "2")
    _click(page, "button", "Save question", axe)
    expect(summary).to_contain_text("Select at least one kind of file people can upload")
    expect(page.locator('input[name="max_files"]')).to_have_value("2")  # what was typed is kept
    page.check('input[name="accept"][value="jpeg"]')
    page.check('input[name="accept"][value="pdf"]')
    page.fill('input[name="max_size_mb"]', "5")
    _click(page, "button", "Save question", axe)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Question saved")
    expect(page.locator(".cf-file-limits-words")).to_have_text(
        "People can upload up to 2 files, each a JPG or PDF, smaller than 5MB."
    )

    # An add-another section, on a page of its own: its names, then questions about each person.
    _add_page(page, builder_server, service, "People who live with you", axe)
    _click(page, "button", "Add a question", axe)
    _choose_type(page, "Add another", "Who lives with you?", axe)
    page.fill('input[name="singular"]', "person")
    page.fill('input[name="plural"]', "people")
    page.fill('input[name="max_items"]', "6")
    _click(page, "button", "Save question", axe)
    expect(page.locator("#items")).to_have_text("Questions about each person")

    _click(page, "button", "Add a question about each person", axe)
    expect(page.get_by_label("File upload", exact=True)).to_have_count(0)  # not about each person
    _choose_type(page, "Date", "Date of birth", axe)
    expect(page.locator(".govuk-caption-l")).to_have_text("Date: about each person in Who lives with you?")
    _click(page, "link", "Back to the questions about each item", axe)
    _click(page, "button", "Add a question about each person", axe)
    _choose_type(page, "Single choice", "How are they related to you?", axe)
    page.fill('input[name="choices.option_1.label"]', "Partner")
    page.fill('input[name="choices.option_2.label"]', "Child")
    _click(page, "button", "Save question", axe)
    _click(page, "link", "Back to the questions about each item", axe)

    # The first question ("Name") is reworded; the relationship moves up; the date is removed.
    page.get_by_role("link", name="Edit question Name").click()
    settled(page)
    axe(page)
    page.fill('input[name="label"]', "Full name")
    _click(page, "button", "Save question", axe)
    _click(page, "link", "Back to the questions about each item", axe)
    page.get_by_role("button", name="Move up question How are they related to you?").click()
    settled(page)
    axe(page)
    expect(page.locator(".cf-item-question h3")).to_have_text(
        ["Full name", "How are they related to you?", "Date of birth"]
    )
    page.get_by_role("link", name="Delete question Date of birth").click()
    settled(page)
    axe(page)
    page.check('input[name="confirm"][value="yes"]')
    _click(page, "button", "Continue", axe)
    expect(page.locator(".cf-item-question h3")).to_have_text(["Full name", "How are they related to you?"])
    page.select_option('select[name="summary"]', label="Full name")
    _click(page, "button", "Save question", axe)

    # The whole service as citizens see it.
    page.goto(builder_server(f"/builder/services/{service}/preview"))
    settled(page)
    axe(page)
    expect(page.locator("main")).to_contain_text("Upload a photo of yourself")
    expect(page.locator("main")).to_contain_text("Who lives with you?")
    page.goto(builder_server(f"/builder/services/{service}/"))
    settled(page)
    axe(page)
    expect(page.locator("body")).not_to_contain_text("Traceback")

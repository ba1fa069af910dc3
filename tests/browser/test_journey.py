"""A citizen applies for a resident parking permit in a real browser, with and without JavaScript.

The journey goes through the address and date widgets and a page asked only because of an earlier
answer (the company that owns the car). axe-core checks every page met, including an error state.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import arrive, continue_, fill, settled
from tests.journeys import HAPPY_PATHS

SERVICE = "resident-parking-permit"
TITLE = "Apply for a resident parking permit"
REFERENCE = re.compile(r"PRK-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")

pytestmark = pytest.mark.browser


def _still_same_document(page: Any, js: bool) -> None:
    """With JavaScript, htmx swaps the content in: the document (and our marker on it) stays."""
    if js:
        assert page.evaluate("() => window.cfJourneyMarker") == 1, f"full page load instead of an htmx swap: {page.url}"


def walk(page: Any, base: str, axe: Any, js: bool, shots: bool = False) -> str:
    service_url = f"{base}/services/{SERVICE}"
    page.goto(base + "/")
    arrive(page, base + "/")
    axe(page)
    if js:
        page.evaluate("() => { window.cfJourneyMarker = 1 }")
    else:
        assert not page.evaluate("() => document.body.classList.contains('js-enabled')")

    # The organisation's own header, not GOV.UK's crown; the service's name under it once in a service.
    expect(page.locator("header .govuk-generic-header")).to_contain_text("Westbridge Council")
    expect(page.locator(".govuk-header, .govuk-header__logotype")).to_have_count(0)
    expect(page.locator(".govuk-service-navigation")).to_have_count(0)
    page.get_by_role("link", name=TITLE).click()
    arrive(page, service_url)
    expect(page.locator("header .govuk-service-navigation")).to_contain_text(TITLE)
    axe(page)
    _still_same_document(page, js)

    page.get_by_role("button", name="Start now").click()
    steps = HAPPY_PATHS[SERVICE]
    assert "company-details" in [page_id for page_id, _ in steps]  # asked because of vehicle-keeper
    for number, (page_id, data) in enumerate(steps):
        arrive(page, f"{service_url}/{page_id}")
        expect(page.locator(".govuk-back-link")).to_be_visible()
        axe(page)
        if number == 0:
            # Send the first page empty: the error summary and the fields' errors, then answer it.
            continue_(page)
            expect(page.locator(".govuk-error-summary")).to_be_visible()
            arrive(page, f"{service_url}/{page_id}")
            assert page.title().startswith("Error: ")
            expect(page.locator(".govuk-error-message").first).to_be_visible()
            axe(page)
            if shots:
                page.screenshot(path="/tmp/civicforms-question-error.png", full_page=True)
        _still_same_document(page, js)
        fill(page, data)
        if shots and page_id == "your-permit":
            page.screenshot(path="/tmp/civicforms-question.png", full_page=True)
        continue_(page)

    arrive(page, f"{service_url}/check-answers")
    summary = page.locator(".govuk-summary-list")
    expect(summary).to_contain_text("Acme Lettings Ltd")
    expect(summary).to_contain_text("12 Mill Lane")
    expect(summary.get_by_role("link", name="Change company that owns the vehicle")).to_be_visible()
    axe(page)
    if shots:
        page.screenshot(path="/tmp/civicforms-check-answers.png", full_page=True)
    _still_same_document(page, js)

    # Change an answer: the question page, with the answer filled in, then back to check answers.
    summary.get_by_role("link", name="Change make and model").click()
    expect(page).to_have_url(re.compile(re.escape(f"{service_url}/vehicle-details?change=1") + "(#.*)?$"))
    settled(page)
    expect(page.locator('[name="vehicle_make_model"]')).to_have_value("Ford Focus")
    page.fill('[name="vehicle_make_model"]', "Nissan Leaf")
    continue_(page)
    arrive(page, f"{service_url}/check-answers")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Nissan Leaf")
    _still_same_document(page, js)

    page.get_by_role("button", name="Accept and send").click()
    arrive(page, f"{service_url}/confirmation")
    panel = page.locator(".govuk-panel--confirmation")
    expect(panel).to_contain_text("Your reference number")
    reference = panel.locator(".cf-reference").inner_text().strip()
    assert REFERENCE.fullmatch(reference), reference
    axe(page)
    if shots:
        page.screenshot(path="/tmp/civicforms-confirmation.png", full_page=True)
    _still_same_document(page, js)

    # Out of the service again: the header no longer names it.
    page.get_by_role("link", name="Back to all services").click()
    arrive(page, base + "/")
    expect(page.locator(".govuk-service-navigation")).to_have_count(0)
    _still_same_document(page, js)
    return reference


def test_journey_with_javascript(live_server: Any, js_page: Any, axe: Any) -> None:
    errors: list[str] = []
    js_page.on("pageerror", lambda error: errors.append(str(error)))
    js_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    walk(js_page, live_server.url, axe, js=True, shots=True)
    assert not errors


def test_journey_without_javascript(live_server: Any, nojs_page: Any, axe: Any) -> None:
    walk(nojs_page, live_server.url, axe, js=False)

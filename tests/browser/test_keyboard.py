"""Keyboard and screen reader focus: skip link, error summary, and the h1 after an htmx swap."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import arrive, continue_, fill, settled
from tests.journeys import HAPPY_PATHS

pytestmark = pytest.mark.browser

SERVICE = "resident-parking-permit"


def focused(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => { const e = document.activeElement;
                   return {tag: e.tagName, id: e.id, cls: e.className, text: e.textContent.trim()} }"""
    )


def start(page: Any, base: str) -> str:
    page.goto(f"{base}/services/{SERVICE}")
    page.get_by_role("button", name="Start now").click()
    url = f"{base}/services/{SERVICE}/{HAPPY_PATHS[SERVICE][0][0]}"
    arrive(page, url)
    return url


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_skip_link_is_the_first_thing_tab_reaches(live_server: Any, js_page: Any, nojs_page: Any, js: bool) -> None:
    page = js_page if js else nojs_page
    page.goto(live_server(f"/services/{SERVICE}"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # it appears when focused
    page.keyboard.press("Enter")
    if js:
        # GOV.UK Frontend's SkipLink moves focus to <main>, so the next Tab starts there.
        expect(page.locator("main#main-content")).to_be_focused()
    else:
        expect(page).to_have_url(live_server(f"/services/{SERVICE}#main-content"))
    page.keyboard.press("Tab")
    # The next stop is in the page's content (the start button), not the header's links.
    expect(page.get_by_role("button", name="Start now")).to_be_focused()


def test_error_summary_takes_focus_and_its_links_lead_to_the_fields(live_server: Any, js_page: Any) -> None:
    page = js_page
    url = start(page, live_server.url)
    continue_(page)
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    page.keyboard.press("Tab")
    expect(summary.get_by_role("link", name="Enter building and street")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#address-line1")).to_be_focused()
    assert page.url == url  # the link moved focus; it did not load a page

    # The town link goes to its own field too.
    summary.get_by_role("link", name="Enter town or city").click()
    expect(page.locator("#address-town")).to_be_focused()


def test_error_summary_link_to_a_date_goes_to_the_day(live_server: Any, js_page: Any) -> None:
    page = js_page
    start(page, live_server.url)
    base = f"{live_server.url}/services/{SERVICE}"
    for page_id, data in HAPPY_PATHS[SERVICE]:
        if page_id == "your-permit":
            break
        fill(page, data)
        continue_(page)
        settled(page)
    arrive(page, f"{base}/your-permit")
    page.check('input[name="permit_length"][value="3_months"]')
    page.fill('input[name="permit_start_date-day"]', "1")
    page.fill('input[name="permit_start_date-month"]', "1")
    page.fill('input[name="permit_start_date-year"]', "2001")  # in the past
    continue_(page)
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    summary.locator("a").first.click()
    expect(page.locator("#permit-start-date-day")).to_be_focused()


def test_focus_moves_to_the_heading_after_an_htmx_swap(live_server: Any, js_page: Any) -> None:
    page = js_page
    base = f"{live_server.url}/services/{SERVICE}"
    start(page, live_server.url)
    heading = page.locator("h1")
    expect(heading).to_be_focused()
    expect(heading).to_have_text("What is your address?")

    fill(page, HAPPY_PATHS[SERVICE][0][1])
    continue_(page)
    arrive(page, f"{base}/parking-zone")
    expect(page.locator("h1")).to_be_focused()

    # An error: the error summary has focus, not the heading.
    continue_(page)
    expect(page.locator(".govuk-error-summary")).to_be_focused()

    # Back to the previous page: its heading is focused and announced.
    page.get_by_role("link", name="Back").click()
    arrive(page, f"{base}/your-address")
    expect(page.locator("h1")).to_be_focused()
    # Once focus moves on, the heading is no longer focusable: it is not a control.
    page.keyboard.press("Tab")
    expect(page.locator("h1")).not_to_be_focused()
    assert page.locator("h1").get_attribute("tabindex") is None
    assert focused(page)["tag"] in ("INPUT", "A")

    # The browser's back button (htmx restores the page): the heading again.
    fill(page, HAPPY_PATHS[SERVICE][0][1])
    continue_(page)
    arrive(page, f"{base}/parking-zone")
    page.go_back()
    arrive(page, f"{base}/your-address")
    expect(page.locator("h1")).to_be_focused()


def test_a_failed_request_still_shows_a_page(live_server: Any, js_page: Any) -> None:
    """With htmx, an error response (here a forged CSRF token, refused with 400) is shown, as without JS."""
    page = js_page
    url = start(page, live_server.url)
    fill(page, HAPPY_PATHS[SERVICE][0][1])
    page.evaluate("() => { document.querySelector('input[name=csrf_token]').value = 'forged' }")
    continue_(page)
    expect(page.locator("h1")).to_have_text("Your page could not be sent")
    expect(page).to_have_title("Your page could not be sent – Westbridge Council")
    assert page.url == url

"""axe-core over the pages of every shipped service, the error pages, reflow at 320px and the CSP."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, new_page, serve_citizen_app
from tests.browser.helpers import arrive, continue_, fill
from tests.conftest import SERVICE_IDS
from tests.journeys import HAPPY_PATHS

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_axe_reports_violations(browser: Any, axe: Any, js: bool) -> None:
    """The check itself: a page with a known problem fails it, with or without JavaScript."""
    with new_page(browser, java_script_enabled=js) as page:
        page.set_content('<html lang="en"><title>t</title><main><h1>t</h1><img src="x.png"></main></html>')
        with pytest.raises(AssertionError, match=r"image-alt \(critical\).*\n.*img"):
            axe(page)


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_every_page_of_every_service(live_server: Any, js_page: Any, axe: Any, service_id: str) -> None:
    """The start page, each question page of the happy path, check answers and confirmation."""
    page = js_page
    service_url = live_server(f"/services/{service_id}")
    page.goto(service_url)
    arrive(page, service_url)
    axe(page)
    page.locator("form .govuk-button--start").click()
    for page_id, data in HAPPY_PATHS[service_id]:
        arrive(page, f"{service_url}/{page_id}")
        axe(page)
        fill(page, data)
        continue_(page)
    arrive(page, f"{service_url}/check-answers")
    axe(page)
    page.locator("main form .govuk-button").click()
    arrive(page, f"{service_url}/confirmation")
    expect(page.locator(".govuk-panel .cf-reference")).not_to_be_empty()
    axe(page)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_not_found_and_session_expired(live_server: Any, browser: Any, axe: Any, js: bool) -> None:
    with new_page(browser, java_script_enabled=js) as page:
        response = page.goto(live_server("/services/no-such-service"))
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Page not found")
        axe(page)

        # A question page without a session (cookie lost or expired) leads to the session-expired page.
        page.goto(live_server("/services/missed-bin-collection/collection-address"))
        arrive(page, live_server("/services/missed-bin-collection/session-expired"))
        expect(page.locator("h1")).to_have_text("Sorry, you’ll have to start again")
        axe(page)


def leave_idle(server: LiveServer) -> None:
    """Move the last activity of the forms in this server's database an hour back."""
    with closing(sqlite3.connect(server.database)) as connection, connection:
        connection.execute("UPDATE form_session SET updated_at = datetime(updated_at, '-60 minutes')")


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_shared_computer_choice_and_too_many_requests(
    sqlite_template: Any, tmp_path_factory: Any, browser: Any, axe: Any, js: bool
) -> None:
    """Issue 8's pages: the choice before resuming someone's unfinished form (with and without
    its error) and "Too many requests", on a server whose start limit is two an hour."""
    service = "missed-bin-collection"
    first_page, answers = HAPPY_PATHS[service][0]
    with (
        serve_citizen_app(sqlite_template, tmp_path_factory, rate_limit_starts="2 per hour") as server,
        new_page(browser, java_script_enabled=js) as page,
    ):
        start = server(f"/services/{service}")
        page.goto(start)
        page.locator("form .govuk-button--start").click()
        arrive(page, f"{start}/{first_page}")
        fill(page, answers)
        continue_(page)
        page.goto(start)
        page.locator("form .govuk-button--start").click()
        arrive(page, f"{start}/continue-or-start-again")
        expect(page.locator("h1")).to_have_text("An application has already been started on this device")
        axe(page)
        page.locator("main form .govuk-button").click()  # nothing chosen
        expect(page.locator(".govuk-error-summary")).to_contain_text("Select whether to continue")
        assert page.title().startswith("Error: ")
        axe(page)
        page.get_by_label("Continue the application you started").check()
        page.locator("main form .govuk-button").click()
        arrive(page, f"{start}/{HAPPY_PATHS[service][1][0]}")

        # The same choice as a page of a form left idle asks it (issue 13, finding 8): what was
        # typed on that page comes back in the choice's form, and "Continue" saves it.
        second_page, second_answers = HAPPY_PATHS[service][1]
        fill(page, second_answers)
        leave_idle(server)
        continue_(page)
        arrive(page, f"{start}/{second_page}")  # the choice, shown in answer to the page's post
        expect(page.locator("h1")).to_have_text("An application has already been started on this device")
        expect(page.locator("#choice-hint")).to_contain_text("the answers you gave on this page will be kept")
        axe(page)
        page.get_by_label("Continue the application you started").check()
        page.locator("main form .govuk-button").click()
        arrive(page, f"{start}/{HAPPY_PATHS[service][2][0]}")
        page.goto(f"{start}/{second_page}")
        for value in second_answers["bins_missed"]:
            expect(page.locator(f'input[name="bins_missed"][value="{value}"]')).to_be_checked()

        page.goto(start)
        page.locator("form .govuk-button--start").click()  # the third start this hour
        expect(page.locator("h1")).to_have_text("Too many requests")
        axe(page)


def test_question_pages_reflow_at_320_pixels(live_server: Any, browser: Any) -> None:
    """WCAG 1.4.10: at 320 CSS pixels (1280px zoomed to 400%) nothing scrolls sideways."""
    with new_page(browser, viewport={"width": 320, "height": 640}) as page:
        for service_id in SERVICE_IDS:
            page.goto(live_server(f"/services/{service_id}"))
            page.locator("form .govuk-button--start").click()
            first = HAPPY_PATHS[service_id][0][0]
            arrive(page, live_server(f"/services/{service_id}/{first}"))
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 320, (service_id, width)
            continue_(page)  # with nothing filled in: the error summary and messages must reflow too
            expect(page.locator(".govuk-error-summary")).to_be_visible()
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 320, (service_id, "error state", width)


def test_pages_run_under_the_content_security_policy(live_server: Any, browser: Any) -> None:
    """No inline script or style is blocked: the CSP is enforced here (not bypassed as for axe)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        problems: list[str] = []

        def console(message: Any) -> None:
            # An error page's own status is reported too ("Failed to load resource: ... 404"): not a problem.
            if message.type == "error" and not message.text.startswith("Failed to load resource: the server"):
                problems.append(message.text)

        page.on("console", console)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(live_server("/"))
        page.get_by_role("link", name="Report a missed bin collection").click()
        arrive(page, live_server("/services/missed-bin-collection"))
        page.get_by_role("button", name="Start now").click()
        arrive(page, live_server("/services/missed-bin-collection/collection-address"))
        continue_(page)
        expect(page.locator(".govuk-error-summary")).to_be_focused()
        # GOV.UK Frontend and app.js did run: the scripts were allowed.
        assert page.evaluate("() => document.body.classList.contains('govuk-frontend-supported')")
        assert page.evaluate("() => typeof window.htmx") == "object"

        # Error pages are whole pages with the same scripts: a 404, and a failed CSRF check
        # (a forged token), sent by a plain form submission rather than htmx.
        page.goto(live_server("/services/missed-bin-collection/no-such-page"))
        expect(page.locator("h1")).to_have_text("Page not found")
        assert page.evaluate("() => document.body.classList.contains('govuk-frontend-supported')")
        page.go_back()
        arrive(page, live_server("/services/missed-bin-collection/collection-address"))
        page.evaluate("() => { document.querySelector('input[name=csrf_token]').value = 'forged' }")
        with page.expect_navigation():
            page.evaluate("() => document.querySelector('main form').submit()")
        expect(page.locator("h1")).to_have_text("Your page could not be sent")
        assert page.evaluate("() => document.body.classList.contains('govuk-frontend-supported')")
        assert not problems, problems
    finally:
        context.close()

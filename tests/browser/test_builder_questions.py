"""Issue 17, part F in a browser: a designer gives a date question a relative rule and adds a
declaration; the citizen's page (the builder's "try it" runs the citizen runtime on the draft)
refuses a date too soon naming the earliest date, and an unticked declaration; the edit-question
page warns before unsaved typing is lost and moves focus to its success banner. axe-core on each
page visited."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime.widgets import long_date

from .conftest import LiveServer, new_page, sign_in
from .helpers import settled

pytestmark = pytest.mark.browser

SERVICE = "blue-badge"
PAGE = "where-you-live"


def _add_question(page: Any, server: LiveServer, widget: str, label: str) -> None:
    page.goto(server(f"/builder/services/{SERVICE}/pages/{PAGE}/questions/new?widget={widget}"))
    page.fill('input[name="label"]', label)
    page.get_by_role("button", name="Add question").click()
    settled(page)
    expect(page.locator("h1")).to_have_text("Edit question")


def test_date_rule_and_declaration_from_the_builder_to_the_citizen_page(
    builder_server: LiveServer, browser: Any, js_page: Any, axe: Any
) -> None:
    page = js_page
    sign_in(page, builder_server)

    _add_question(page, builder_server, "date", "When do you want your badge to start?")
    page.fill('input[name="date_rule.earliest.amount"]', "today + banana")
    page.get_by_role("button", name="Save question").click()
    settled(page)
    expect(page.locator(".govuk-error-summary")).to_contain_text("must be a whole number of days")
    axe(page)
    page.fill('input[name="date_rule.earliest.amount"]', "14")
    page.select_option('select[name="date_rule.earliest.unit"]', "days")
    page.get_by_role("button", name="Save question").click()
    settled(page)
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text("Question saved")
    expect(banner).to_be_focused()  # GOV.UK Frontend moves focus to it; app.js leaves it there
    expect(page.locator(".cf-date-rule-words")).to_have_text(
        "Saved rule: the date must be at least 14 days from today."
    )
    axe(page)

    _add_question(page, builder_server, "declaration", "Declaration")
    expect(page.get_by_text("Question text should end with a question mark")).to_have_count(0)
    page.fill('textarea[name="statement"]', "I confirm that I will show the badge only when I use it")
    page.get_by_role("button", name="Save question").click()
    settled(page)
    expect(page.locator(".govuk-notification-banner--success")).to_be_focused()
    axe(page)

    # The citizen's page: a date too soon, and the declaration not ticked.
    page.goto(builder_server(f"/builder/services/{SERVICE}/try/pages/{PAGE}"))
    settled(page)
    earliest = date.today() + timedelta(days=14)
    too_soon = earliest - timedelta(days=1)
    page.check('input[name="lives_in_area"][value="yes"]')
    stem = "when_do_you_want_your_badge_to_start"
    for part, value in (("day", too_soon.day), ("month", too_soon.month), ("year", too_soon.year)):
        page.fill(f'input[name="{stem}-{part}"]', str(value))
    page.get_by_role("button", name="Continue").click()
    settled(page)
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text(f"must be on or after {long_date(earliest)}")
    expect(summary).to_contain_text("Select the box to confirm")
    axe(page)
    for part, value in (("day", earliest.day), ("month", earliest.month), ("year", earliest.year)):
        page.fill(f'input[name="{stem}-{part}"]', str(value))
    page.get_by_label("I confirm that I will show the badge only when I use it").check()
    page.get_by_role("button", name="Continue").click()
    settled(page)
    expect(page.locator(".govuk-error-summary")).to_have_count(0)

    # Published, the same rules hold on the live citizen's page.
    page.goto(builder_server(f"/builder/services/{SERVICE}/preview"))  # the checklist's "previewed"
    page.goto(builder_server(f"/builder/services/{SERVICE}/publish"))
    settled(page)
    page.get_by_role("button", name=re.compile(r"^Publish version \d+$")).click()
    settled(page)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your changes are live.")
    with new_page(browser) as citizen:
        citizen.goto(builder_server(f"/services/{SERVICE}"))
        citizen.get_by_role("button", name="Start now").click()
        settled(citizen)
        citizen.check('input[name="lives_in_area"][value="yes"]')
        for part, value in (("day", too_soon.day), ("month", too_soon.month), ("year", too_soon.year)):
            citizen.fill(f'input[name="{stem}-{part}"]', str(value))
        citizen.get_by_role("button", name="Continue").click()
        settled(citizen)
        summary = citizen.locator(".govuk-error-summary")
        expect(summary).to_contain_text(f"must be on or after {long_date(earliest)}")
        expect(summary).to_contain_text("Select the box to confirm")
        expect(citizen.locator(f"#{stem.replace('_', '-')}-day")).to_have_value(str(too_soon.day))
        axe(citizen)
        for part, value in (("day", earliest.day), ("month", earliest.month), ("year", earliest.year)):
            citizen.fill(f'input[name="{stem}-{part}"]', str(value))
        citizen.get_by_label("I confirm that I will show the badge only when I use it").check()
        citizen.get_by_role("button", name="Continue").click()
        settled(citizen)
        expect(citizen.locator(".govuk-error-summary")).to_have_count(0)
        expect(citizen).not_to_have_url(re.compile(r"/where-you-live$"))


def test_leaving_the_question_page_with_unsaved_typing_warns(builder_server: LiveServer, browser: Any) -> None:
    context = browser.new_context(bypass_csp=False, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, builder_server)
        url = builder_server(f"/builder/services/{SERVICE}/questions/ni_number")
        page.goto(url)
        settled(page)
        seen: list[str] = []

        # Nothing typed: leaving by a link asks nothing.
        page.on("dialog", lambda dialog: (seen.append(dialog.type), dialog.dismiss()))
        page.get_by_role("link", name="Back to the page").click()
        settled(page)
        assert seen == []
        page.goto(url)
        settled(page)

        # Typed, then a link (htmx follows it without unloading the page): a confirm, dismissed.
        page.fill('textarea[name="hint"]', "Typed and not saved")
        page.get_by_role("link", name="Back to the page").click()
        page.wait_for_timeout(300)
        assert seen == ["confirm"]
        expect(page).to_have_url(url)
        expect(page.locator('textarea[name="hint"]')).to_have_value("Typed and not saved")

        # Closing the tab: the browser's own warning (beforeunload).
        page.close(run_before_unload=True)
        page.wait_for_timeout(300)
        assert seen == ["confirm", "beforeunload"]
    finally:
        context.close()


def test_saving_never_warns(builder_server: LiveServer, js_page: Any) -> None:
    page = js_page
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.type), dialog.accept()))
    sign_in(page, builder_server)
    page.goto(builder_server(f"/builder/services/{SERVICE}/questions/ni_number"))
    settled(page)
    page.fill('textarea[name="hint"]', "For example, QQ 12 34 56 C")
    page.get_by_role("button", name="Save question").click()
    settled(page)
    expect(page.locator(".govuk-notification-banner--success")).to_be_visible()
    assert seen == []

"""Add another (issue 18, part C) in a real browser, with and without JavaScript: the household
service's people added, another added, one changed, one removed (asked first), an item number
out of range in the address bar, and a removal posted again from a second tab; axe-core on every
page met, error states included."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import new_page
from tests.browser.helpers import arrive, continue_, fill
from tests.browser.test_accessibility import leave_idle
from tests.journeys import ADDRESS, CONTACT

SERVICE = "household-members"
pytestmark = pytest.mark.browser

JOHN = {"full_name": "John Smith", "relationship": "partner"} | {
    "date_of_birth-day": "14",
    "date_of_birth-month": "2",
    "date_of_birth-year": "1979",
}


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_add_change_remove_and_send(live_server: Any, browser: Any, axe: Any, js: bool) -> None:
    service_url = live_server(f"/services/{SERVICE}")
    people = f"{service_url}/household-members"
    with new_page(browser, java_script_enabled=js) as page:
        page.goto(service_url)
        arrive(page, service_url)
        axe(page)
        page.get_by_role("button", name="Start now").click()
        arrive(page, f"{service_url}/your-address")
        fill(page, dict(ADDRESS))
        continue_(page)

        # No one yet: the first person's questions, on the list's own address.
        arrive(page, people)
        expect(page.locator("h1")).to_have_text("Add a person")
        axe(page)
        continue_(page)  # nothing filled in: each field's error, linked from the summary
        arrive(page, people)
        assert page.title().startswith("Error: ")
        summary = page.locator(".govuk-error-summary")
        expect(summary.get_by_role("link", name="Enter their full name")).to_have_attribute("href", "#full-name")
        expect(summary.get_by_role("link", name="Select how they are related to you")).to_be_visible()
        axe(page)
        summary.get_by_role("link", name="Enter their full name").click()
        expect(page.locator("#full-name")).to_be_focused()
        fill(page, JOHN)
        continue_(page)

        arrive(page, people)
        expect(page.locator("h1")).to_have_text("You have added 1 person")
        expect(page.locator(".cf-add-another-list")).to_contain_text("14 February 1979")
        axe(page)
        continue_(page)  # no choice made
        arrive(page, people)
        expect(page.locator(".govuk-error-summary")).to_contain_text("Select yes if you need to add another person")
        axe(page)
        fill(page, {"add-another": "yes"})
        continue_(page)

        arrive(page, f"{people}/2")
        expect(page.locator("h1")).to_have_text("Add another person")
        axe(page)
        fill(page, {"full_name": "Amy Smith", "relationship": "child"})
        continue_(page)
        arrive(page, people)
        expect(page.locator("h1")).to_have_text("You have added 2 people")

        # Change John's name.
        page.get_by_role("link", name="Change John Smith").click()
        arrive(page, f"{people}/1")
        expect(page.locator("h1")).to_have_text("Change the details of John Smith")
        expect(page.locator("#full-name")).to_have_value("John Smith")
        axe(page)
        fill(page, {"full_name": "John Smythe"})
        continue_(page)
        arrive(page, people)
        expect(page.locator(".cf-add-another-list dt")).to_have_text(["John Smythe", "Amy Smith"])

        # Remove Amy, asked first.
        page.get_by_role("link", name="Remove Amy Smith").click()
        arrive(page, f"{people}/2/remove")
        expect(page.locator("h1")).to_have_text("Are you sure you want to remove Amy Smith?")
        axe(page)
        continue_(page)
        arrive(page, f"{people}/2/remove")
        expect(page.locator(".govuk-error-summary")).to_contain_text("Select yes if you want to remove Amy Smith")
        axe(page)
        fill(page, {"remove-item": "yes"})
        continue_(page)
        arrive(page, f"{people}?removed=1")
        expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Person removed")
        expect(page.locator("h1")).to_have_text("You have added 1 person")
        axe(page)

        # An item number out of range in the address bar: back to the list, saying so.
        page.goto(f"{people}/7")
        arrive(page, f"{people}?problem=no-such-item")
        expect(page.locator(".govuk-notification-banner")).to_contain_text("There is no person with that number")
        expect(page.locator(".cf-add-another-list dt")).to_have_text(["John Smythe"])
        axe(page)

        fill(page, {"add-another": "no"})
        continue_(page)
        arrive(page, f"{service_url}/partner")
        fill(page, {"partner_ni_number": "AB 12 34 56 C"})
        continue_(page)
        arrive(page, f"{service_url}/your-details")
        fill(page, dict(CONTACT))
        continue_(page)
        arrive(page, f"{service_url}/check-answers")
        expect(page.locator(".govuk-summary-list")).to_contain_text("John Smythe: Partner, 14 February 1979")
        axe(page)
        page.locator("main form .govuk-button").click()
        arrive(page, f"{service_url}/confirmation")
        expect(page.locator(".govuk-panel .cf-reference")).to_contain_text("HHM-")
        axe(page)


def _typing_the_second_person(page: Any, service_url: str) -> None:
    """Start, give the address, add John, say yes to another, and type Amy (not sent yet)."""
    people = f"{service_url}/household-members"
    page.goto(service_url)
    arrive(page, service_url)
    page.get_by_role("button", name="Start now").click()
    arrive(page, f"{service_url}/your-address")
    fill(page, dict(ADDRESS))
    continue_(page)
    arrive(page, people)
    fill(page, JOHN)
    continue_(page)
    arrive(page, people)
    fill(page, {"add-another": "yes"})
    continue_(page)
    arrive(page, f"{people}/2")
    fill(page, {"full_name": "Amy Smith", "relationship": "child"})


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_removal_posted_again_from_another_tab_is_refused(live_server: Any, browser: Any, axe: Any, js: bool) -> None:
    service_url = live_server(f"/services/{SERVICE}")
    people = f"{service_url}/household-members"
    with new_page(browser, java_script_enabled=js) as page:
        _typing_the_second_person(page, service_url)
        continue_(page)
        arrive(page, people)

        # The same "remove John" page open in two tabs; confirmed in the first, then in the second.
        other = page.context.new_page()
        other.goto(f"{people}/1/remove")
        page.goto(f"{people}/1/remove")
        arrive(page, f"{people}/1/remove")
        fill(page, {"remove-item": "yes"})
        continue_(page)
        arrive(page, f"{people}?removed=1")
        expect(page.locator(".cf-add-another-list dt")).to_have_text(["Amy Smith"])

        expect(other.locator("h1")).to_have_text("Are you sure you want to remove John Smith?")
        other.check('input[name="remove-item"][value="yes"]')
        other.get_by_role("button", name="Continue").click()
        arrive(other, f"{people}?problem=changed")
        expect(other.locator(".govuk-notification-banner")).to_contain_text("nothing has been saved from it")
        expect(other.locator(".cf-add-another-list dt")).to_have_text(["Amy Smith"])  # Amy stays
        other.close()
        page.reload()
        arrive(page, f"{people}?removed=1")
        expect(page.locator(".cf-add-another-list dt")).to_have_text(["Amy Smith"])
        axe(page)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_person_typed_into_a_form_left_idle_is_kept_on_continue(
    live_server: Any, browser: Any, axe: Any, js: bool
) -> None:
    """A person typed while the form sat idle: the choice comes first (nothing of the form shown),
    and "Continue" saves the person as typed, with and without htmx."""
    service_url = live_server(f"/services/{SERVICE}")
    people = f"{service_url}/household-members"
    with new_page(browser, java_script_enabled=js) as page:
        _typing_the_second_person(page, service_url)
        leave_idle(live_server)  # typed for longer than the idle limit
        continue_(page)

        arrive(page, f"{people}/2")  # the choice, in answer to the item's post
        expect(page.locator("h1")).to_have_text("An application has already been started on this device")
        expect(page.locator("#choice-hint")).to_contain_text("the answers you gave on this page will be kept")
        expect(page.locator("main")).not_to_contain_text("John Smith")
        axe(page)
        page.get_by_label("Continue the application you started").check()
        page.locator("main form .govuk-button").click()
        arrive(page, people)
        expect(page.locator("h1")).to_have_text("You have added 2 people")
        expect(page.locator(".cf-add-another-list")).to_contain_text("Amy Smith")
        axe(page)

"""The question types of issue 18, part D, in a real browser with and without JavaScript: a
resident parking permit's address found by postcode (OS Places answering from
tests/os_places.py), typed instead, and typed when the provider is down; a time, an amount of
money and a UK phone number answered wrongly and then rightly. axe-core checks every page met,
error states included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime import db as dbmod
from runtime.checker import check
from runtime.data import published
from tests.browser.conftest import LiveServer, new_page, serve_citizen_app
from tests.browser.helpers import arrive, continue_, fill, settled
from tests.journeys import HAPPY_PATHS
from tests.os_places import KEY, FakeOsPlaces, running

pytestmark = pytest.mark.browser

PARKING = "resident-parking-permit"
TRIAL = "question-types-trial"

# A small service asking the three new types on one page, loaded beside the shipped ones.
TRIAL_DEFINITION: dict[str, Any] = {
    "format": "civicforms/1",
    "id": TRIAL,
    "version": 1,
    "title": "Report a noisy delivery",
    "description": "Tell us when a delivery was noisy.",
    "department": "Environmental Health",
    "live": True,
    "reference_prefix": "NDT",
    "start": {"body": ["Tell us about a noisy delivery."], "button": "Start now"},
    "identity": {"phone": "phone"},
    "schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "delivery_time": {"type": "string", "format": "time-of-day"},
            "cost": {"type": "integer", "minimum": 0, "maximum": 500000},
            "phone": {"type": "string", "format": "uk-phone"},
        },
        "required": ["delivery_time", "cost", "phone"],
        "additionalProperties": False,
    },
    "questions": {
        "delivery_time": {"label": "What time was the delivery?", "short_label": "Time", "widget": "time"},
        "cost": {"label": "How much did the repair cost?", "short_label": "Repair cost", "widget": "money"},
        "phone": {
            "label": "What is your phone number?",
            "short_label": "Phone number",
            "error_name": "your phone number",
            "widget": "uk-phone",
        },
    },
    "pages": [{"id": "the-delivery", "title": "The delivery", "questions": ["delivery_time", "cost", "phone"]}],
    "check_answers": {"title": "Check your answers", "button": "Send"},
    "confirmation": {"title": "Report sent", "next_steps": ["We will be in touch."]},
    "retention": {"years": 1, "after": "submitted"},
}


@pytest.fixture(scope="module")
def os_places() -> Iterator[FakeOsPlaces]:
    with running() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, os_places: FakeOsPlaces
) -> Iterator[LiveServer]:
    """The citizen app finding addresses through the OS Places server, with the trial service loaded."""
    assert check(TRIAL_DEFINITION) == []
    with serve_citizen_app(
        sqlite_template, tmp_path_factory, address_lookup="os-places", os_places_url=os_places.url, os_places_key=KEY
    ) as live:
        engine = dbmod.make_engine(f"sqlite:///{live.database}")
        try:
            with dbmod.session(engine) as s:
                published.publish(session=s, doc=TRIAL_DEFINITION, create_departments=True)
                s.commit()
        finally:
            engine.dispose()
        yield live


@pytest.fixture(autouse=True)
def _provider_answers(os_places: FakeOsPlaces) -> Iterator[None]:
    os_places.mode = "ok"
    yield
    os_places.mode = "ok"


def _same_document(page: Any, js: bool) -> None:
    """With JavaScript, htmx swaps each step in (the marker set on the document stays)."""
    if js:
        assert page.evaluate("() => window.cfMarker") == 1, f"a full page load instead of an htmx swap: {page.url}"


def _start(page: Any, server: LiveServer, service: str, js: bool) -> str:
    service_url = server(f"/services/{service}")
    page.goto(service_url)
    arrive(page, service_url)
    if js:
        page.evaluate("() => { window.cfMarker = 1 }")
    page.get_by_role("button", name="Start now").click()
    return service_url


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_an_address_found_by_postcode(browser: Any, server: LiveServer, axe: Any, js: bool) -> None:
    with new_page(browser, java_script_enabled=js) as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        service_url = _start(page, server, PARKING, js)
        address_url = f"{service_url}/your-address"
        arrive(page, address_url)
        expect(page.get_by_role("button", name="Continue")).to_have_count(0)
        axe(page)

        # Nothing typed: the error is on the postcode, and its summary link leads there.
        page.get_by_role("button", name="Find address").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a postcode")
        arrive(page, address_url)
        assert page.title().startswith("Error: ")
        expect(page.locator(".govuk-error-summary a")).to_have_attribute("href", "#address-lookup-postcode")
        axe(page)
        _same_document(page, js)

        page.get_by_label("Postcode").fill("wb1 2ab")
        page.get_by_role("button", name="Find address").click()
        expect(page.get_by_role("button", name="Use this address")).to_be_visible()
        arrive(page, address_url)
        expect(page.locator("main")).to_contain_text("Postcode: WB1 2AB")
        expect(page.get_by_label("Select an address").locator("option")).to_have_count(4)
        axe(page)

        # Choosing none says so; then the second address of the list.
        page.get_by_role("button", name="Use this address").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text("Select an address")
        axe(page)
        page.get_by_label("Select an address").select_option(
            label="Flat 2, Rose Court, 12 Mill Lane, Old Town, Westbridge, WB1 2AB"
        )
        page.get_by_role("button", name="Use this address").click()
        expect(page.get_by_label("Address line 1")).to_have_value("Flat 2, Rose Court, 12 Mill Lane")
        expect(page.get_by_label("Address line 2 (optional)")).to_have_value("Old Town")
        expect(page.get_by_label("Town or city")).to_have_value("Westbridge")
        expect(page.get_by_label("Postcode")).to_have_value("WB1 2AB")
        arrive(page, address_url)
        axe(page)
        _same_document(page, js)
        continue_(page)
        arrive(page, f"{service_url}/parking-zone")

        # The rest of the happy path, then check answers shows the address found and the phone number.
        for page_id, data in HAPPY_PATHS[PARKING][1:]:
            arrive(page, f"{service_url}/{page_id}")
            fill(page, data)
            continue_(page)
        arrive(page, f"{service_url}/check-answers")
        summary = page.locator(".govuk-summary-list")
        expect(summary).to_contain_text("Flat 2, Rose Court, 12 Mill Lane")
        expect(summary).to_contain_text("01632 960001")
        axe(page)

        # Changing the address: its parts to check, and the way back to the finder.
        summary.get_by_role("link", name="Change address").click()
        expect(page.get_by_label("Address line 1")).to_have_value("Flat 2, Rose Court, 12 Mill Lane")
        page.get_by_role("link", name="Find the address by postcode").click()
        expect(page.get_by_label("Postcode")).to_have_value("WB1 2AB")
        expect(page.get_by_role("button", name="Find address")).to_be_visible()
        axe(page)
        page.get_by_role("button", name="Find address").click()
        page.get_by_label("Select an address").select_option(value="100062000001")
        page.get_by_role("button", name="Use this address").click()
        expect(page.get_by_label("Address line 1")).to_have_value("10 Mill Lane")
        continue_(page)
        arrive(page, f"{service_url}/check-answers")
        expect(page.locator(".govuk-summary-list")).to_contain_text("10 Mill Lane")
        _same_document(page, js)
        assert not errors


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_an_address_typed_and_a_provider_that_is_down(
    browser: Any, server: LiveServer, os_places: FakeOsPlaces, axe: Any, js: bool
) -> None:
    with new_page(browser, java_script_enabled=js) as page:
        service_url = _start(page, server, PARKING, js)
        address_url = f"{service_url}/your-address"
        arrive(page, address_url)
        page.get_by_role("link", name="Enter the address manually").click()
        expect(page.get_by_label("Address line 1")).to_be_visible()
        expect(page.get_by_role("link", name="Find the address by postcode")).to_be_visible()
        axe(page)
        continue_(page)  # nothing typed: the address's own errors, on the typed form
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter building and street")
        expect(page.get_by_label("Address line 1")).to_be_visible()
        axe(page)

        page.get_by_role("link", name="Find the address by postcode").click()
        # The typed form has a Postcode box too: wait for the finder before typing into one.
        expect(page.get_by_role("button", name="Find address")).to_be_visible()
        settled(page)
        os_places.mode = "500"
        page.get_by_label("Postcode").fill("WB1 2AB")
        page.get_by_role("button", name="Find address").click()
        expect(page.locator(".govuk-inset-text")).to_contain_text("we cannot find addresses by postcode at the moment")
        expect(page.get_by_label("Postcode")).to_have_value("WB1 2AB")
        axe(page)
        fill(page, {"address.line1": "10 Mill Lane", "address.town": "Westbridge"})
        continue_(page)
        arrive(page, f"{service_url}/parking-zone")
        _same_document(page, js)


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_a_time_an_amount_and_a_uk_phone_number(browser: Any, server: LiveServer, axe: Any, js: bool) -> None:
    with new_page(browser, java_script_enabled=js) as page:
        service_url = _start(page, server, TRIAL, js)
        arrive(page, f"{service_url}/the-delivery")
        expect(page.locator("#delivery-time-hint")).to_have_text("For example, 9:30am or 14:30")
        expect(page.locator(".govuk-input__prefix")).to_have_text("£")
        axe(page)
        fill(page, {"delivery_time": "25:00", "cost": "12.505", "phone": "+33 1 23 45 67 89"})
        continue_(page)
        summary = page.locator(".govuk-error-summary")
        expect(summary).to_contain_text("Time must be a real time")
        expect(summary).to_contain_text("Repair cost must be an amount of money, like 600 or 193.54")
        expect(summary).to_contain_text("Enter a UK phone number, like 01632 960 001 or 07700 900 982")
        expect(page.get_by_label("What time was the delivery?")).to_have_value("25:00")  # kept as typed
        axe(page)
        fill(page, {"delivery_time": "9pm", "cost": "9,000", "phone": "07700 900 982"})
        continue_(page)
        expect(page.locator(".govuk-error-summary")).to_contain_text("Repair cost must be £5,000 or less")
        axe(page)
        fill(page, {"cost": "£1,250.5"})
        continue_(page)
        arrive(page, f"{service_url}/check-answers")
        rows = page.locator(".govuk-summary-list")
        expect(rows).to_contain_text(re.compile(r"Time\s*9pm"))
        expect(rows).to_contain_text(re.compile(r"Repair cost\s*£1,250\.50"))
        expect(rows).to_contain_text(re.compile(r"Phone number\s*07700 900982"))
        axe(page)
        # Changing the time shows it as the check answers page does, which reads back the same.
        rows.get_by_role("link", name="Change time").click()
        expect(page.get_by_label("What time was the delivery?")).to_have_value("9pm")
        expect(page.get_by_label("How much did the repair cost?")).to_have_value("1250.50")
        continue_(page)
        arrive(page, f"{service_url}/check-answers")
        page.get_by_role("button", name="Send").click()
        arrive(page, f"{service_url}/confirmation")
        axe(page)
        _same_document(page, js)

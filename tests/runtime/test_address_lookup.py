"""Finding an address by postcode: the OS Places client, and the uk-address question's lookup on
the citizen's pages (resident-parking-permit asks its address with "lookup": true).

The client talks real HTTP to tests/os_places.py, a server answering in the shape OS Places API
documents: no runnable OS Places server exists (it is Ordnance Survey's hosted API, behind a
key), so the responses are the documented shape, not recorded ones.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from sqlmodel import select

from runtime import db as dbmod
from runtime.address_lookup import FoundAddress, LookupUnavailable, OsPlaces, lookup_for
from runtime.models import FormSession
from runtime.settings import Settings, SettingsError, from_environment
from runtime.web import create_citizen_app
from runtime.web.address_finder import UNAVAILABLE
from tests.conftest import Citizen, page
from tests.os_places import KEY, FakeOsPlaces, running
from tests.runtime.helpers import error_summary, field_value, heading, inline_errors, walk

SERVICE = "resident-parking-permit"
ADDRESS_PAGE = f"/services/{SERVICE}/your-address"


@pytest.fixture
def os_places() -> Iterator[FakeOsPlaces]:
    with running() as server:
        yield server


def _client(server: FakeOsPlaces, timeout: float = 2.0) -> OsPlaces:
    return OsPlaces(url=server.url, key=KEY, timeout=timeout)


# -- the client ----------------------------------------------------------------------------------


def test_a_postcode_s_addresses_come_as_the_parts_of_an_answer(os_places: FakeOsPlaces) -> None:
    found = _client(os_places).find("WB1 2AB")
    assert found == [
        FoundAddress(line1="10 Mill Lane", line2="", town="Westbridge", postcode="WB1 2AB", uprn="100062000001"),
        FoundAddress(
            line1="Flat 2, Rose Court, 12 Mill Lane",
            line2="Old Town",
            town="Westbridge",
            postcode="WB1 2AB",
            uprn="100062000002",
        ),
        # A building "name" that is a number goes before the street; "ST. JOHN'S" is not "St. John'S".
        FoundAddress(
            line1="St. John's Surgery, 14A Mill Lane",
            line2="",
            town="Westbridge",
            postcode="WB1 2AB",
            uprn="100062000003",
        ),
    ]
    assert found[1].text == "Flat 2, Rose Court, 12 Mill Lane, Old Town, Westbridge, WB1 2AB"
    assert found[0].parts() == {"line1": "10 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"}
    # The key travels in the header OS documents, never in the URL (which proxies and logs keep).
    [asked] = os_places.requests
    assert asked["path"] == "/search/places/v1/postcode"
    assert asked["key"] == KEY and "key" not in asked["query"]
    assert asked["query"]["postcode"] == "WB1 2AB" and asked["query"]["dataset"] == "DPA"


def test_a_welsh_address_in_two_languages_is_listed_once(os_places: FakeOsPlaces) -> None:
    assert [a.line1 for a in _client(os_places).find("CF10 1AA")] == ["1 Heol Y Frenhines"]


def test_records_a_form_cannot_use_are_passed_over(os_places: FakeOsPlaces) -> None:
    # No UPRN, not a Delivery Point Address, not an object, no real postcode, a UPRN that is not
    # one: only the PO box remains.
    assert _client(os_places).find("WB9 9ZZ") == [
        FoundAddress(line1="PO Box 123", line2="", town="Westbridge", postcode="WB9 9ZZ", uprn="100062000009")
    ]


def test_a_postcode_without_addresses_is_an_empty_list(os_places: FakeOsPlaces) -> None:
    assert _client(os_places).find("ZZ9 9ZZ") == []


@pytest.mark.parametrize("mode", ["401", "500", "malformed", "wrong-shape"])
def test_a_provider_that_refuses_fails_or_answers_nonsense_is_unavailable(
    os_places: FakeOsPlaces, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    os_places.mode = mode
    with caplog.at_level(logging.WARNING, logger="runtime.address_lookup"), pytest.raises(LookupUnavailable):
        _client(os_places).find("WB1 2AB")
    logged = caplog.text
    assert "address lookup" in logged
    assert KEY not in logged and "WB1 2AB" not in logged  # neither the key nor the citizen's postcode


def test_a_wrong_key_is_refused_by_the_provider(os_places: FakeOsPlaces) -> None:
    with pytest.raises(LookupUnavailable, match="401"):
        OsPlaces(url=os_places.url, key="not-the-key", timeout=2).find("WB1 2AB")


def test_a_slow_provider_is_given_up_on_at_the_timeout(os_places: FakeOsPlaces) -> None:
    os_places.mode, os_places.delay = "slow", 3.0
    started = time.monotonic()
    with pytest.raises(LookupUnavailable):
        _client(os_places, timeout=0.5).find("WB1 2AB")
    assert time.monotonic() - started < 2.0


def test_a_provider_that_sends_a_byte_at_a_time_is_given_up_on_at_the_timeout(os_places: FakeOsPlaces) -> None:
    # requests' timeout is per read: without a deadline of its own this would take a minute.
    os_places.mode = "drip"
    started = time.monotonic()
    with pytest.raises(LookupUnavailable, match="too slow"):
        _client(os_places, timeout=0.5).find("WB1 2AB")
    assert time.monotonic() - started < 2.0


def test_a_provider_that_is_not_there_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    with pytest.raises(LookupUnavailable):
        OsPlaces(url=f"http://127.0.0.1:{port}/search/places/v1", key=KEY, timeout=1).find("WB1 2AB")


def test_the_provider_is_the_one_the_settings_name(os_places: FakeOsPlaces) -> None:
    plain = Settings(environment="test", secret_key="k" * 40, database_url="sqlite://")
    assert lookup_for(plain) is None
    chosen = dataclasses.replace(plain, address_lookup="os-places", os_places_url=os_places.url, os_places_key=KEY)
    assert lookup_for(chosen) == OsPlaces(url=os_places.url, key=KEY, timeout=plain.address_lookup_timeout_seconds)


_ENV = {
    "CIVICFORMS_ENV": "test",
    "CIVICFORMS_SECRET_KEY": "k" * 40,
    "CIVICFORMS_DATABASE_URL": "sqlite://",
    "CIVICFORMS_ADDRESS_LOOKUP": "os-places",
    "CIVICFORMS_OS_PLACES_KEY": KEY,
}


def test_the_provider_s_settings_come_from_the_environment() -> None:
    chosen = from_environment({**_ENV, "CIVICFORMS_ADDRESS_LOOKUP_TIMEOUT_SECONDS": "5"})
    assert lookup_for(chosen) == OsPlaces(url="https://api.os.uk/search/places/v1", key=KEY, timeout=5)
    assert from_environment(_ENV).address_lookup_timeout_seconds == 3
    for bad, message in (
        ({"CIVICFORMS_ADDRESS_LOOKUP_TIMEOUT_SECONDS": "0"}, "from 1 to 30"),
        ({"CIVICFORMS_ADDRESS_LOOKUP_TIMEOUT_SECONDS": "600"}, "from 1 to 30"),
        ({"CIVICFORMS_OS_PLACES_KEY": ""}, "CIVICFORMS_OS_PLACES_KEY must be set"),
        ({"CIVICFORMS_OS_PLACES_URL": "http://places.example"}, "must be an https:// address"),
    ):
        with pytest.raises(SettingsError, match=message):
            from_environment({**_ENV, **bad})


# -- the citizen's pages ---------------------------------------------------------------------------


@pytest.fixture
def lookup_app(settings: Settings, os_places: FakeOsPlaces) -> Iterator[Flask]:
    with_lookup = dataclasses.replace(
        settings, address_lookup="os-places", os_places_url=os_places.url, os_places_key=KEY
    )
    app = create_citizen_app({"SETTINGS": with_lookup, "TESTING": True})
    yield app
    for engine in app.extensions["civicforms.engines"]:
        engine.dispose()


@pytest.fixture
def resident(lookup_app: Flask) -> Citizen:
    return Citizen(lookup_app.test_client())


def _stored(app: Flask) -> list[dict[str, Any]]:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        return [dict(row.answers) for row in s.exec(select(FormSession)).all()]


def _buttons(soup: BeautifulSoup) -> list[str]:
    return [b.get_text(strip=True) for b in soup.select("main button")]


def _options(soup: BeautifulSoup) -> list[tuple[str, str]]:
    return [
        (str(o.get("value")), o.get_text(strip=True)) for o in soup.select("select[name=address-lookup-address] option")
    ]


def _find(resident: Citizen, postcode: str) -> Any:
    return resident.post(
        ADDRESS_PAGE, {"address-lookup": "find", "address-lookup-postcode": postcode, "address-lookup-action": "find"}
    )


def test_without_a_provider_the_address_is_typed_as_before(citizen: Citizen) -> None:
    walk(citizen, SERVICE, until="your-address")
    soup = page(citizen.client.get(ADDRESS_PAGE))
    assert _buttons(soup) == ["Continue"]
    assert soup.select_one("[name='address.line1']") is not None
    assert "Find address" not in soup.get_text() and soup.select_one("[name=address-lookup]") is None


def test_find_choose_check_and_continue(resident: Citizen, lookup_app: Flask, os_places: FakeOsPlaces) -> None:
    walk(resident, SERVICE, until="your-address")
    soup = page(resident.client.get(ADDRESS_PAGE))
    assert heading(soup) == "What is your address?"
    assert _buttons(soup) == ["Find address"]  # in place of Continue
    assert soup.select_one("#address-lookup-postcode")["autocomplete"] == "postal-code"
    manual = soup.find("a", string="Enter the address manually")
    assert manual is not None and manual["href"] == f"{ADDRESS_PAGE}?address-lookup=manual"

    response = _find(resident, " wb12ab ")
    assert response.status_code == 200
    soup = page(response)
    assert _buttons(soup) == ["Use this address"]
    assert "Postcode: WB1 2AB" in soup.get_text(" ", strip=True)
    assert _options(soup) == [
        ("", "3 addresses found"),
        ("100062000001", "10 Mill Lane, Westbridge, WB1 2AB"),
        ("100062000002", "Flat 2, Rose Court, 12 Mill Lane, Old Town, Westbridge, WB1 2AB"),
        ("100062000003", "St. John's Surgery, 14A Mill Lane, Westbridge, WB1 2AB"),
    ]
    assert soup.find("a", string="I cannot find the address in the list") is not None
    assert not any("address" in answers for answers in _stored(lookup_app))  # nothing saved by a step

    response = resident.post(
        ADDRESS_PAGE,
        {
            "address-lookup": "choose",
            "address-lookup-postcode": "WB1 2AB",
            "address-lookup-address": "100062000002",
            "address-lookup-action": "choose",
        },
    )
    soup = page(response)
    assert _buttons(soup) == ["Continue"]
    assert field_value(soup, "address.line1") == "Flat 2, Rose Court, 12 Mill Lane"
    assert field_value(soup, "address.line2") == "Old Town"
    assert field_value(soup, "address.town") == "Westbridge"
    assert field_value(soup, "address.postcode") == "WB1 2AB"
    assert soup.find("a", string="Find the address by postcode") is not None
    assert not any("address" in answers for answers in _stored(lookup_app))
    # The chosen address is found again by its UPRN among the postcode's, never taken from the post.
    assert [r["query"]["postcode"] for r in os_places.requests] == ["WB1 2AB", "WB1 2AB"]

    # Continue saves what the form shows (the citizen may have corrected it).
    response = resident.post(
        ADDRESS_PAGE,
        {
            "address-lookup": "manual",
            "address.line1": "Flat 2, Rose Court, 12 Mill Lane",
            "address.line2": "Old Town",
            "address.town": "Westbridge",
            "address.postcode": "WB1 2AB",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/parking-zone")
    assert [a["address"] for a in _stored(lookup_app)] == [
        {"line1": "Flat 2, Rose Court, 12 Mill Lane", "line2": "Old Town", "town": "Westbridge", "postcode": "WB1 2AB"}
    ]
    # Coming back to the page shows the address to change, with the way back to the finder.
    soup = page(resident.client.get(ADDRESS_PAGE))
    assert field_value(soup, "address.line1") == "Flat 2, Rose Court, 12 Mill Lane"
    assert soup.find("a", string="Find the address by postcode")["href"] == f"{ADDRESS_PAGE}?address-lookup=find"
    soup = page(resident.client.get(f"{ADDRESS_PAGE}?address-lookup=find"))
    assert field_value(soup, "address-lookup-postcode") == "WB1 2AB"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a postcode"),
        ("hello", "Enter a real postcode"),
        ("<script>alert(1)</script>", "Enter a real postcode"),
        ("W" * 5000, "Enter a real postcode"),
        ("ZZ9 9ZZ", "We could not find any addresses for ZZ9 9ZZ. Check the postcode, or enter the address manually"),
    ],
)
def test_a_postcode_that_finds_nothing_says_so_on_the_postcode(
    resident: Citizen, lookup_app: Flask, typed: str, message: str
) -> None:
    walk(resident, SERVICE, until="your-address")
    soup = page(_find(resident, typed))
    assert error_summary(soup) == [(message, "#address-lookup-postcode")]
    assert inline_errors(soup) == [message]
    assert soup.select_one("#address-lookup-postcode") is not None
    assert "<script>" not in str(soup.select_one("#address-lookup-postcode"))
    assert _buttons(soup) == ["Find address"]
    assert not any("address" in answers for answers in _stored(lookup_app))


def test_continue_at_a_step_takes_the_step(resident: Citizen) -> None:
    # Enter in the postcode box submits the form with its first button; without one, as here,
    # the post still finds the addresses rather than saving an empty address.
    walk(resident, SERVICE, until="your-address")
    soup = page(resident.post(ADDRESS_PAGE, {"address-lookup": "find", "address-lookup-postcode": "WB1 2AB"}))
    assert _buttons(soup) == ["Use this address"]


@pytest.mark.parametrize("chosen", ["", "999", "100062000002<script>"])
def test_choosing_no_address_or_one_not_in_the_list_asks_again(
    resident: Citizen, lookup_app: Flask, chosen: str
) -> None:
    walk(resident, SERVICE, until="your-address")
    soup = page(
        resident.post(
            ADDRESS_PAGE,
            {
                "address-lookup": "choose",
                "address-lookup-postcode": "WB1 2AB",
                "address-lookup-address": chosen,
                "address-lookup-action": "choose",
            },
        )
    )
    assert error_summary(soup) == [("Select an address", "#address-lookup-address")]
    assert soup.select_one("#address-lookup-address") is not None
    assert len(_options(soup)) == 4
    assert not any("address" in answers for answers in _stored(lookup_app))


@pytest.mark.parametrize("mode", ["500", "401", "malformed"])
def test_a_provider_that_is_down_leaves_the_address_to_type_with_a_message(
    resident: Citizen,
    os_places: FakeOsPlaces,
    mode: str,
) -> None:
    walk(resident, SERVICE, until="your-address")
    os_places.mode = mode
    soup = page(_find(resident, "wb1 2ab"))
    assert UNAVAILABLE in soup.select_one(".govuk-inset-text").get_text(strip=True)
    assert field_value(soup, "address.postcode") == "WB1 2AB"
    assert field_value(soup, "address.line1") == ""
    assert _buttons(soup) == ["Continue"]
    response = resident.post(
        ADDRESS_PAGE,
        {
            "address-lookup": "manual",
            "address.line1": "10 Mill Lane",
            "address.town": "Westbridge",
            "address.postcode": "WB1 2AB",
        },
    )
    assert response.status_code == 303


def test_the_manual_link_and_its_errors_stay_on_the_typed_address(resident: Citizen, lookup_app: Flask) -> None:
    walk(resident, SERVICE, until="your-address")
    soup = page(resident.client.get(f"{ADDRESS_PAGE}?address-lookup=manual"))
    assert _buttons(soup) == ["Continue"]
    assert soup.select_one("[name='address.line1']") is not None
    soup = page(resident.post(f"{ADDRESS_PAGE}?address-lookup=manual", {"address-lookup": "manual"}))
    assert [href for _, href in error_summary(soup)] == ["#address-line1", "#address-town", "#address-postcode"]
    assert all(soup.select_one(href) is not None for _, href in error_summary(soup))
    assert not any("address" in answers for answers in _stored(lookup_app))


def test_errors_on_the_address_s_parts_show_the_parts_whatever_the_post_said(resident: Citizen) -> None:
    # A post without the step (a form carried through "continue or start again", a stale tab):
    # the address is saved as typed, and its errors are shown where their links lead.
    walk(resident, SERVICE, until="your-address")
    soup = page(resident.post(ADDRESS_PAGE, {"address.line1": ""}))
    assert [href for _, href in error_summary(soup)] == ["#address-line1", "#address-town", "#address-postcode"]
    assert all(soup.select_one(href) is not None for _, href in error_summary(soup))


def test_a_step_without_the_csrf_token_is_refused(resident: Citizen, os_places: FakeOsPlaces) -> None:
    walk(resident, SERVICE, until="your-address")
    response = resident.client.post(
        ADDRESS_PAGE,
        data={"address-lookup": "find", "address-lookup-postcode": "WB1 2AB", "address-lookup-action": "find"},
    )
    assert response.status_code == 400
    assert os_places.requests == []


def test_the_whole_journey_with_the_lookup_reaches_check_answers(resident: Citizen) -> None:
    walk(resident, SERVICE)
    soup = page(resident.client.get(f"/services/{SERVICE}/check-answers"))
    rows = {
        row.select_one(".govuk-summary-list__key").get_text(strip=True): row.select_one(
            ".govuk-summary-list__value"
        ).get_text("|", strip=True)
        for row in soup.select(".govuk-summary-list__row")
    }
    assert rows["Address"] == "12 Mill Lane|Westbridge|WB1 2AB"
    assert rows["Phone number"] == "01632 960001"

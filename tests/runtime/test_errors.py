"""Every error a citizen can meet on the happy path of every shipped service, page by page.

For each page: sending it empty, then sending values the schema refuses. A citizen sees
"There is a problem" with links to the fields, the page title starting "Error: ", the same
messages beside the fields, what they typed still in the boxes, and nothing saved.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.conftest import SERVICE_IDS, page
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import checked, error_summary, field_value, inline_errors, stored_answers, title

ADDRESS_EMPTY = [
    ("Enter building and street", "#address-line1"),
    ("Enter town or city", "#address-town"),
    ("Enter postcode", "#address-postcode"),
]
DETAILS_EMPTY = [("Enter your full name", "#full-name"), ("Enter your email address", "#email")]

# What a citizen is told when they press Continue without answering: (message, link), in page order.
EMPTY_PAGE_ERRORS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "blue-badge": {
        "where-you-live": [("Select whether you live in Westbridge", "#lives-in-area")],
        "qualifying-benefit": [("Select whether you get a qualifying benefit", "#gets-qualifying-benefit")],
        "walking-difficulty": [
            ("Select what makes walking difficult for you", "#walking-difficulties"),
            ("Select how far you can walk", "#walking-distance"),
            ("Enter details of your condition", "#condition-description"),
        ],
        "your-details": [("Enter your full name", "#full-name"), ("Enter your date of birth", "#date-of-birth-day")],
        "your-address": ADDRESS_EMPTY,
        "contact-details": [("Enter your email address", "#email")],
        "photo": [("Select a photo of your face", "#photo")],
        "proof-of-identity": [("Select your proof of identity", "#proof-of-identity")],
    },
    "council-tax-single-person-discount": {
        "account-number": [("Enter your council tax account number", "#account-number")],
        "property-address": ADDRESS_EMPTY,
        "reason": [("Select why you are the only adult living at the property", "#reason")],
        "adult-who-moved-out": [("Enter the full name of the adult who moved out", "#other-adult-name")],
        "date-only-adult": [("Enter the date you became the only adult", "#sole-adult-date-day")],
        "your-details": DETAILS_EMPTY,
    },
    "missed-bin-collection": {
        "collection-address": ADDRESS_EMPTY,
        "bins-missed": [("Select which collections were missed", "#bins-missed")],
        "collection-day": [("Enter your collection day", "#collection-date-day")],
        "bin-out-on-time": [("Select whether your bin was out by 7am", "#bin-out-on-time")],
        "bin-location": [("Select where we usually collect your bin from", "#bin-location")],
        "your-details": DETAILS_EMPTY,
    },
    "register-with-gp": {
        "choose-surgery": [("Select the surgery you want to register with", "#surgery")],
        "about-you": [("Enter your full name", "#full-name"), ("Enter your date of birth", "#date-of-birth-day")],
        "nhs-number-known": [("Select whether you know your NHS number", "#knows-nhs-number")],
        "nhs-number": [("Enter your NHS number", "#nhs-number")],
        "home-address": ADDRESS_EMPTY,
        "previous-gp": [],  # its one question is optional: an empty page is an answer
        "contact-details": [("Enter your phone number", "#phone")],
    },
    # A page met more than once in the happy path is keyed "page@2", "page@3" (visits).
    "household-members": {
        "your-address": ADDRESS_EMPTY,
        "household-members": [
            ("Enter their full name", "#full-name"),
            ("Select how they are related to you", "#relationship"),
        ],
        "household-members@2": [("Select yes if you need to add another person", "#add-another")],
        "household-members/2": [
            ("Enter their full name", "#full-name"),
            ("Select how they are related to you", "#relationship"),
        ],
        "household-members@3": [("Select yes if you need to add another person", "#add-another")],
        "partner": [],
        "bedrooms": [("Enter how many bedrooms your home has", "#bedrooms")],
        "your-details": DETAILS_EMPTY,
    },
    "resident-parking-permit": {
        "your-address": ADDRESS_EMPTY,
        "parking-zone": [
            ("Select your parking zone", "#parking-zone"),
            ("Enter the number of permits your household already has", "#existing-permits"),
        ],
        "vehicle-details": [
            ("Enter the vehicle's registration number", "#vehicle-registration"),
            ("Enter the vehicle's make and model", "#vehicle-make-model"),
            ("Select the vehicle's fuel type", "#fuel-type"),
        ],
        "vehicle-keeper": [("Select who the registered keeper is", "#vehicle-keeper")],
        "company-details": [("Enter the name of the company that owns the vehicle", "#company-name")],
        "your-permit": [
            ("Select how long you want the permit for", "#permit-length"),
            ("Enter the permit start date", "#permit-start-date-day"),
        ],
        "proof-of-address": [("Select the proof of address you can send us", "#proof-of-address")],
        "your-details": DETAILS_EMPTY,
    },
}

_today = date.today()
_tomorrow = _today + timedelta(days=1)
_yesterday = _today - timedelta(days=1)


def _date(prefix: str, day: date | tuple[str, str, str]) -> dict[str, str]:
    parts = (str(day.day), str(day.month), str(day.year)) if isinstance(day, date) else day
    return {f"{prefix}-day": parts[0], f"{prefix}-month": parts[1], f"{prefix}-year": parts[2]}


POSTCODE = ("Enter a real postcode, like SW1A 1AA", "#address-postcode")
PHONE = ("Enter a phone number, like 01632 960 001 or 07700 900 982", "#phone")
EMAIL = ("Enter your email address in the correct format, like name@example.com", "#email")

# Values the schema refuses, page by page: (fields changed from the happy path, errors expected).
INVALID: dict[str, list[tuple[str, dict[str, Any], list[tuple[str, str]]]]] = {
    "blue-badge": [
        (
            "walking-difficulty",
            {"condition_description": "x" * 1201},
            [("Details of your condition must be 1,200 characters or less", "#condition-description")],
        ),
        (
            "walking-difficulty",
            {"walking_difficulties": ["pain", "flying"], "walking_distance": "a_marathon"},
            [
                ("Select what makes walking difficult", "#walking-difficulties"),
                ("Select how far you can walk", "#walking-distance"),
            ],
        ),
        (
            "your-details",
            {**_date("date_of_birth", ("31", "2", "1990")), "ni_number": "12345"},
            [
                ("Your date of birth must be a real date", "#date-of-birth-day"),
                ("Enter a National Insurance number in the correct format", "#ni-number"),
            ],
        ),
        (
            "your-details",
            {**_date("date_of_birth", _tomorrow), "full_name": "J" * 101},
            [
                ("Your full name must be 100 characters or less", "#full-name"),
                ("Date of birth must be in the past", "#date-of-birth-day"),
            ],
        ),
        ("your-address", {"address.postcode": "XYZ"}, [POSTCODE]),
        ("contact-details", {"email": "jane.smith@", "phone": "call me"}, [EMAIL, PHONE]),
    ],
    "council-tax-single-person-discount": [
        (
            "account-number",
            {"account_number": "1234"},
            [("Council tax account number must be 8 digits, like 50012345", "#account-number")],
        ),
        (
            "date-only-adult",
            _date("sole_adult_date", date(1990, 1, 1)),
            [
                (
                    "The date you became the only adult must be after council tax started on 1 April 1993",
                    "#sole-adult-date-day",
                )
            ],
        ),
        (
            "date-only-adult",
            _date("sole_adult_date", _tomorrow),
            [("The date you became the only adult must be in the past", "#sole-adult-date-day")],
        ),
        ("your-details", {"email": "jane smith@example.com"}, [EMAIL]),
    ],
    "missed-bin-collection": [
        (
            "collection-address",
            {"address.postcode": "12345", "address.town": "T" * 61},
            [
                ("Town or city must be 60 characters or less", "#address-town"),
                POSTCODE,
            ],
        ),
        (
            "collection-day",
            _date("collection_date", _today),
            [
                (
                    "Your collection day must be in the past. "
                    "If your collection is due today, wait until tomorrow to report it",
                    "#collection-date-day",
                )
            ],
        ),
        (
            "collection-day",
            _date("collection_date", ("32", "13", "2024")),
            [("Your collection day must be a real date", "#collection-date-day")],
        ),
        (
            "bin-out-on-time",
            {"bin_out_on_time": "maybe"},
            [("Select whether your bin was out by 7am", "#bin-out-on-time")],
        ),
        ("your-details", {"phone": "12"}, [PHONE]),
    ],
    "register-with-gp": [
        (
            "about-you",
            _date("date_of_birth", date(1899, 12, 31)),
            [("Date of birth must be after 1 January 1900", "#date-of-birth-day")],
        ),
        ("nhs-number", {"nhs_number": "123"}, [("NHS number must be 10 digits, like 485 777 3456", "#nhs-number")]),
        (
            "previous-gp",
            {"previous_gp": "p" * 501},
            [("Your previous GP surgery must be 500 characters or less", "#previous-gp")],
        ),
        ("contact-details", {"email": "jane@localhost"}, [EMAIL]),
    ],
    "household-members": [
        (
            "household-members",
            {"full_name": "J" * 101},
            [("Their full name must be 100 characters or less", "#full-name")],
        ),
        (
            "household-members/2",
            {"relationship": "cousin", **_date("date_of_birth", ("31", "2", "2001"))},
            [
                ("Select how they are related to you", "#relationship"),
                ("Their date of birth must be a real date", "#date-of-birth-day"),
            ],
        ),
        (
            "partner",
            {"partner_ni_number": "QQ 12"},
            [("Enter a National Insurance number in the correct format", "#partner-ni-number")],
        ),
        ("bedrooms", {"bedrooms": "11"}, [("How many bedrooms your home has must be from 1 to 10", "#bedrooms")]),
    ],
    "resident-parking-permit": [
        (
            "parking-zone",
            {"existing_permits": "11"},
            [("The number of permits your household already has must be 10 or fewer", "#existing-permits")],
        ),
        (
            "parking-zone",
            {"existing_permits": "-1", "parking_zone": "Z"},
            [
                ("Select your parking zone", "#parking-zone"),
                ("The number of permits your household already has must be from 0 to 10", "#existing-permits"),
            ],
        ),
        (
            "parking-zone",
            {"existing_permits": "two"},
            [("The number of permits your household already has must be a whole number", "#existing-permits")],
        ),
        (
            "vehicle-details",
            {"vehicle_registration": "AB12 CDE 123"},
            [("Enter a real registration number, like AB12 CDE", "#vehicle-registration")],
        ),
        (
            "your-permit",
            _date("permit_start_date", _yesterday),
            [("The permit start date must be in the future", "#permit-start-date-day")],
        ),
        (
            "proof-of-address",
            {"proof_of_address": ["council_tax_bill", "passport"]},
            [("Select the proof of address you can send", "#proof-of-address")],
        ),
    ],
}


def visits(path: list[tuple[str, Any]]) -> list[str]:
    """The happy path's pages, a page met again keyed by its visit: "household-members@2"."""
    seen: dict[str, int] = {}
    keys = []
    for page_id, _ in path:
        seen[page_id] = seen.get(page_id, 0) + 1
        keys.append(page_id if seen[page_id] == 1 else f"{page_id}@{seen[page_id]}")
    return keys


def test_every_service_and_page_has_expected_errors() -> None:
    assert sorted(EMPTY_PAGE_ERRORS) == sorted(INVALID) == SERVICE_IDS
    for service_id, path in HAPPY_PATHS.items():
        assert list(EMPTY_PAGE_ERRORS[service_id]) == visits(path)
        assert {page_id for page_id, _, _ in INVALID[service_id]} <= set(EMPTY_PAGE_ERRORS[service_id])


def assert_error_page(response: Any, expected: list[tuple[str, str]]) -> Any:
    """The page came back with exactly these errors, said the GOV.UK way."""
    assert response.status_code == 200
    soup = page(response)
    assert title(soup).startswith("Error: "), title(soup)
    summary = soup.select_one(".govuk-error-summary")
    assert summary is not None
    summary_title = summary.select_one(".govuk-error-summary__title")
    assert summary_title is not None and summary_title.get_text(strip=True) == "There is a problem"
    assert error_summary(soup) == expected
    for _, href in expected:
        target = soup.find(id=href.removeprefix("#"))
        assert target is not None, f"{href} links to nothing"
        assert target.name in ("input", "select", "textarea"), f"{href} links to a {target.name}"
    assert inline_errors(soup) == [text for text, _ in expected]
    return soup


def assert_kept(soup: Any, data: dict[str, Any]) -> None:
    """Everything the citizen sent is shown back to them as they sent it."""
    for name, value in data.items():
        field = soup.select_one(f'[name="{name}"]')
        assert field is not None, name
        if field.name == "input" and field.get("type") in ("radio", "checkbox"):
            options = {str(i["value"]) for i in soup.select(f'input[name="{name}"]')}
            sent = value if isinstance(value, list) else [value]
            assert checked(soup, name) == [v for v in sent if v in options], name
        elif field.name == "select":
            options = {str(o["value"]) for o in field.select("option")}
            assert field_value(soup, name) == (value if value in options else None), name
        else:
            assert field_value(soup, name) == value, name


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_each_page_sent_empty(citizen, db_session, service_id: str) -> None:  # type: ignore[no-untyped-def]
    response = citizen.start(service_id)
    path = HAPPY_PATHS[service_id]
    for visit, (page_id, data) in zip(visits(path), path, strict=True):
        assert response.headers["Location"].endswith(f"/{page_id}")
        before = stored_answers(db_session)
        response = citizen.answer(service_id, page_id, {})
        expected = EMPTY_PAGE_ERRORS[service_id][visit]
        if expected:
            assert_error_page(response, expected)
            assert stored_answers(db_session) == before, "an empty page changed the saved answers"
        else:
            assert response.status_code == 303
        response = citizen.answer(service_id, page_id, data)
        assert response.status_code == 303


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_each_page_sent_with_values_the_schema_refuses(citizen, db_session, service_id: str) -> None:  # type: ignore[no-untyped-def]
    cases = INVALID[service_id]
    response = citizen.start(service_id)
    path = HAPPY_PATHS[service_id]
    for visit, (page_id, data) in zip(visits(path), path, strict=True):
        assert response.headers["Location"].endswith(f"/{page_id}")
        before = stored_answers(db_session)
        for case_page, changes, expected in cases:
            if case_page != visit:
                continue
            sent = {**data, **changes}
            soup = assert_error_page(citizen.answer(service_id, page_id, sent), expected)
            assert_kept(soup, sent)
            assert stored_answers(db_session) == before, f"{page_id}: refused values were saved"
        response = citizen.answer(service_id, page_id, data)
        assert response.status_code == 303


def test_a_stored_definition_the_runtime_will_not_compile_gets_an_unavailable_page(
    client,
    db_session,
    monkeypatch,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    """Issue 8: a definition stored before the checker's limits existed (here an allOf fan-out
    of a million schema objects) is refused when compiled: a 503 page in milliseconds and one
    log line for IT, never a worker pinned or a traceback per request."""
    from runtime.data import published
    from tests.core.sample import sample_doc
    from tests.core.test_definition_limits import fan_out

    doc = sample_doc()
    fan_out(doc)
    monkeypatch.setattr(published, "check", lambda doc: [])  # as if published before the rule
    published.publish(session=db_session, doc=doc, create_departments=True)
    db_session.commit()
    monkeypatch.undo()

    base = "/services/pet-licence"
    start = client.get(base)
    assert start.status_code in (200, 503)
    responses = [start]
    if start.status_code == 200:
        token = page(start).select_one("input[name=csrf_token]")["value"]
        responses.append(client.post(f"{base}/start", data={"csrf_token": token}, follow_redirects=True))
    response = responses[-1]
    assert response.status_code == 503
    assert title(page(response)).startswith("Sorry, this service is unavailable")
    assert "Traceback" not in caplog.text
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("service not served")]
    assert "pet-licence version 1" in line and "civicforms validate" in line
    # The other services are untouched.
    assert client.get("/services/blue-badge").status_code == 200


def test_a_database_outage_is_a_503_to_try_again_soon_with_one_log_line(
    client,
    citizen,
    monkeypatch,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    """Issue 8 (found by bench/fault_load.py): while PostgreSQL restarts, every request failed
    with a 500 and a traceback. Now: a page that says to try again, Retry-After, one line."""
    from sqlalchemy.exc import OperationalError

    from runtime.data import form_sessions

    assert citizen.start("blue-badge").status_code == 303

    def refused(**_: object) -> None:
        raise OperationalError("SELECT", {}, Exception("connection failed: Connection refused"))

    monkeypatch.setattr(form_sessions, "read_form_session", refused)
    response = client.get("/services/blue-badge/where-you-live")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert title(page(response)).startswith("Sorry, this service is unavailable")
    assert "Traceback" not in caplog.text
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("database unavailable")]
    assert line == "database unavailable: Exception: connection failed: Connection refused"
    monkeypatch.undo()
    assert client.get("/services/blue-badge/where-you-live").status_code == 200  # back as soon as it is

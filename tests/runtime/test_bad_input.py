"""Posts no browser of ours would send: no CSRF token, extra or mistyped fields, huge or
hostile values, odd addresses and bytes. Each gets a clear page, never a 500, and nothing
unexpected is stored."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.settings import Settings
from tests.conftest import page
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import (
    assert_only_our_scripts,
    error_summary,
    field_value,
    form_sessions,
    heading,
    stored_answers,
    submissions,
    summary_rows,
    walk,
)

PARKING = "resident-parking-permit"


def test_a_post_without_a_csrf_token_is_refused_and_saves_nothing(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    citizen.start("blue-badge")
    response = client.post("/services/blue-badge/where-you-live", data={"lives_in_area": "yes"})
    assert response.status_code == 400
    assert heading(page(response)) == "Your page could not be sent"
    assert stored_answers(db_session) == {}
    response = client.post("/services/blue-badge/where-you-live", data={"lives_in_area": "yes", "csrf_token": "forged"})
    assert response.status_code == 400
    assert stored_answers(db_session) == {}


def test_a_post_after_the_session_cookie_expired_shows_the_timed_out_page(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    citizen.start("blue-badge")
    token = citizen.csrf("/services/blue-badge/where-you-live")
    client.delete_cookie("civicforms_session")  # what the browser does when the cookie's time is up
    response = client.post("/services/blue-badge/where-you-live", data={"lives_in_area": "yes", "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/services/blue-badge/session-expired"
    assert heading(page(client.get(response.headers["Location"]))) == "Sorry, you’ll have to start again"
    assert stored_answers(db_session) == {}


def test_an_empty_post_to_start_without_a_token_is_refused(client, db_session) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/services/blue-badge/start")
    assert response.status_code == 400
    assert heading(page(response)) == "Your page could not be sent"
    assert form_sessions(db_session) == []


@pytest.mark.parametrize("service_id", ["blue-badge", PARKING])
def test_unknown_and_other_pages_fields_are_ignored_and_never_stored(citizen, db_session, service_id: str) -> None:  # type: ignore[no-untyped-def]
    extras = {
        "is_admin": "true",
        "reference": "HACK-0000-0000",
        "citizen_id": "1",
        "email": "attacker@example.com",  # a real question, but not on most of these pages
        "address.country": "Atlantis",
    }
    asked = {name for _, data in HAPPY_PATHS[service_id] for name in data}
    path = [
        (pid, {**{k: v for k, v in extras.items() if k not in data}, **data}) for pid, data in HAPPY_PATHS[service_id]
    ]
    walk(citizen, service_id, path=path)
    saved = stored_answers(db_session)
    assert not {"is_admin", "reference", "citizen_id"} & set(saved)
    assert "country" not in saved["address"]
    assert saved["email"] != "attacker@example.com"  # only the contact page's own field counts
    assert citizen.submit(service_id).status_code == 303
    (stored,) = submissions(db_session)
    assert set(stored.answers) <= {name.split(".")[0].rsplit("-", 1)[0] for name in asked}
    assert stored.answers["email"].lower() == "jane.smith@example.com"
    assert "country" not in stored.answers["address"]


# (page, fields sent, the error a citizen sees)
WRONG_TYPES = [
    ("parking-zone", {"parking_zone": "Z", "existing_permits": "1"}, ("Select your parking zone", "#parking-zone")),
    (
        "parking-zone",
        {"parking_zone": "C", "existing_permits": "1e400"},
        ("The number of permits your household already has must be a whole number", "#existing-permits"),
    ),
    (
        "parking-zone",
        {"parking_zone": "C", "existing_permits": "NaN"},
        ("The number of permits your household already has must be a whole number", "#existing-permits"),
    ),
    (
        "parking-zone",
        {"parking_zone": "C", "existing_permits": "1.5"},
        ("The number of permits your household already has must be a whole number", "#existing-permits"),
    ),
    (
        "parking-zone",
        {"parking_zone": "C", "existing_permits": "9" * 400},
        ("The number of permits your household already has must be a whole number", "#existing-permits"),
    ),
    (
        "vehicle-details",
        {"vehicle_registration": "AB12 CDE", "vehicle_make_model": "Ford", "fuel_type": "steam"},
        ("Select the vehicle's fuel type", "#fuel-type"),
    ),
    (
        "vehicle-keeper",
        {"vehicle_keeper": ["registered_keeper", "hacker"]},
        None,  # the first value is the answer; the second is never read
    ),
    (
        "proof-of-address",
        {"proof_of_address": ["utility_bill", "../../etc/passwd"]},
        ("Select the proof of address you can send", "#proof-of-address"),
    ),
    (
        "your-details",
        {"full_name": "Jane", "email": "a" * 243 + "@example.com"},
        ("Your email address must be 254 characters or less", "#email"),
    ),
]


def test_values_of_the_wrong_kind_are_validation_errors(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    response = walk(citizen, PARKING)
    for page_id, data, expected in WRONG_TYPES:
        before = stored_answers(db_session)
        response = citizen.answer(PARKING, page_id, data)
        if expected is None:
            assert response.status_code == 303
            continue
        assert response.status_code == 200, (page_id, data)
        assert error_summary(page(response)) == [expected]
        assert stored_answers(db_session) == before
    saved = stored_answers(db_session)
    assert saved["vehicle_keeper"] == "registered_keeper"
    assert all(not isinstance(saved[name], list) for name in ("parking_zone", "existing_permits", "vehicle_keeper"))


def test_a_repeated_text_field_is_read_once(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, PARKING, until="your-details")
    token = citizen.csrf(f"/services/{PARKING}/your-details")
    response = client.post(
        f"/services/{PARKING}/your-details",
        data={"full_name": ["Jane Smith", "<b>Other</b>"], "email": "jane@example.com", "csrf_token": token},
    )
    assert response.status_code == 303
    assert stored_answers(db_session)["full_name"] == "Jane Smith"


def test_a_post_over_the_size_limit_is_refused_and_saves_nothing(
    citizen, client, db_session, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, PARKING, until="your-details")
    before = stored_answers(db_session)
    token = citizen.csrf(f"/services/{PARKING}/your-details")
    huge = "x" * (1024 * 1024)
    response = client.post(
        f"/services/{PARKING}/your-details", data={"full_name": huge, "email": "a@b.co", "csrf_token": token}
    )
    assert response.status_code == 413
    soup = page(response)
    assert heading(soup) == "The information you sent was too large"
    assert "Nothing has been saved" in soup.get_text()
    assert stored_answers(db_session) == before
    # Just under the limit is an ordinary post, refused by the question's maxLength instead.
    assert settings.max_post_bytes == 64 * 1024
    response = citizen.answer(PARKING, "your-details", {"full_name": "x" * 60_000, "email": "a@b.co"})
    assert response.status_code == 200
    assert error_summary(page(response)) == [("Your full name must be 100 characters or less", "#full-name")]


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


@pytest.mark.parametrize(
    ("payload", "escaped"),
    [(SCRIPT, "&lt;script&gt;alert(1)&lt;/script&gt;"), (IMG, "&lt;img src=x onerror=alert(1)&gt;")],
)
def test_html_in_an_answer_is_shown_as_text_and_stored_as_typed(
    citizen, client, db_session, payload: str, escaped: str
) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, PARKING, until="your-details")
    url = f"/services/{PARKING}/your-details"

    def assert_inert(response: Any) -> Any:
        html = response.get_data(as_text=True)
        assert payload not in html
        assert "<img src=x" not in html and "<script>alert" not in html
        soup = page(response)
        assert not soup.select("img[onerror]")
        assert_only_our_scripts(response)
        assert escaped in html
        return soup

    # Re-shown in its box when the page has an error.
    soup = assert_inert(citizen.post(url, {"full_name": payload, "email": "not an email"}))
    assert field_value(soup, "full_name") == payload
    response = citizen.post(url, {"full_name": payload, "email": "jane@example.com"})
    assert response.status_code == 303
    # On check answers.
    check = client.get(f"/services/{PARKING}/check-answers")
    assert summary_rows(assert_inert(check))["Full name"] == payload
    assert citizen.submit(PARKING).status_code == 303
    (stored,) = submissions(db_session)
    assert stored.answers["full_name"] == payload  # plain text, exactly as typed: escaping is the page's job


BAD_ADDRESSES = [
    "/services/..%2F..%2Fetc%2Fpasswd",
    "/services/../../etc/passwd",
    "/services/%2e%2e/%2e%2e/etc/passwd",
    "/services/blue-badge/..%2F..%2Fetc%2Fpasswd",
    "/services/blue-badge/%2e%2e",
    "/services/%00",
    "/services/blue%00badge/where-you-live",
    "/services/blue-badge/where%00you-live",
    "/services/BLUE-BADGE",
    "/services/blue-badge%20",
    "/services/%C3%A9",
    "/services/%FF%FE",
    "/services/blue-badge/%FF",
    "/services/" + "a" * 5000,
    "/services/" + "a" * 5000 + "/where-you-live",
    "/services/blue-badge/" + "b" * 5000,
    "/services/blue-badge/check-answers/extra",
]


@pytest.mark.parametrize("with_session", [False, True], ids=["no-session", "in-a-journey"])
def test_odd_addresses_are_not_found(citizen, client, with_session: bool) -> None:  # type: ignore[no-untyped-def]
    if with_session:
        citizen.start("blue-badge")
    for url in BAD_ADDRESSES:
        response = client.get(url)
        assert response.status_code == 404, (url[:80], response.status_code)
        assert heading(page(response)) == "Page not found"


def test_bytes_that_are_not_utf8_never_cause_a_500(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, "blue-badge", until="walking-difficulty")
    url = "/services/blue-badge/walking-difficulty"
    token = citizen.csrf(url)
    before = stored_answers(db_session)
    # Raw bytes in a urlencoded body: the form cannot be read at all.
    response = client.post(
        url,
        data=b"walking_distance=cannot_walk&condition_description=\xff\xfe&csrf_token=" + token.encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert heading(page(response))
    # Percent-encoded bytes that are not UTF-8, in a choice: not an option.
    response = client.post(
        url,
        data=f"walking_difficulties=pain&walking_distance=%FF%FE&condition_description=ok&csrf_token={token}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert error_summary(page(response)) == [("Select how far you can walk", "#walking-distance")]
    # Raw bytes in a multipart field.
    body = b"".join(
        b'--XX\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"
        for name, value in (
            (b"csrf_token", token.encode()),
            (b"walking_difficulties", b"pain"),
            (b"walking_distance", b"cannot_walk"),
            (b"condition_description", b"knees \xff\xfe hurt"),
        )
    )
    response = client.post(url, data=body + b"--XX--\r\n", content_type="multipart/form-data; boundary=XX")
    assert response.status_code == 400
    assert heading(page(response)) == "There is a problem with the information you sent"
    assert stored_answers(db_session) == before


def test_a_wrong_method_is_a_clear_page(client) -> None:  # type: ignore[no-untyped-def]
    for url in ("/services/blue-badge/confirmation", "/services/blue-badge/session-expired", "/"):
        response = client.post(url)
        # CSRF is checked first on every post, so a stray post is refused either way; with no
        # session at all, a service's page sends the citizen to the timed-out page.
        if response.status_code == 303:
            assert response.headers["Location"] == "/services/blue-badge/session-expired"
            response = client.get(response.headers["Location"])
        else:
            assert response.status_code in (400, 405)
        assert heading(page(response))
    response = client.get("/services/blue-badge/start")
    assert response.status_code == 404

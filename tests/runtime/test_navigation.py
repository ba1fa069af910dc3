"""Where a citizen lands when they are not where the journey expects: no session, an expired
one, a page they have not reached or that is not on their path, a stop page, a wrong address."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime.models import utcnow
from tests.conftest import SERVICE_IDS, page
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import form_sessions, heading, submissions, title, walk


def assert_session_expired(client, service_id: str, response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 303
    assert response.headers["Location"] == f"/services/{service_id}/session-expired"
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200
    soup = page(shown)
    assert heading(soup) == "Sorry, you’ll have to start again"
    assert title(soup).startswith("Sorry, you’ll have to start again")
    start_again = [a for a in soup.select("main a") if a.get_text(strip=True) == "Start again"]
    assert [a["href"] for a in start_again] == [f"/services/{service_id}"]


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_without_a_session_every_journey_page_says_start_again(client, service_id: str) -> None:  # type: ignore[no-untyped-def]
    first_page = HAPPY_PATHS[service_id][0][0]
    for url in (f"/services/{service_id}/{first_page}", f"/services/{service_id}/check-answers"):
        assert_session_expired(client, service_id, client.get(url))
    assert_session_expired(client, service_id, client.get(f"/services/{service_id}/confirmation"))


def test_an_expired_form_session_says_start_again(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    service_id = "blue-badge"
    walk(citizen, service_id, until="your-details")
    (row,) = form_sessions(db_session)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.add(row)
    db_session.commit()
    for url in ("where-you-live", "your-details", "check-answers", "confirmation"):
        assert_session_expired(client, service_id, client.get(f"/services/{service_id}/{url}"))
    # Posting answers into an expired session saves nothing either.
    token = citizen.csrf(f"/services/{service_id}")
    response = client.post(f"/services/{service_id}/where-you-live", data={"lives_in_area": "no", "csrf_token": token})
    assert_session_expired(client, service_id, response)
    # The expired answers were deleted when the request found them expired, as the page says.
    assert form_sessions(db_session) == []
    # Start again begins a new journey at the first page.
    response = citizen.start(service_id)
    assert response.headers["Location"] == f"/services/{service_id}/where-you-live"
    assert len(form_sessions(db_session)) == 1


@pytest.mark.parametrize(
    "url",
    [
        "/services/no-such-service",
        "/services/no-such-service/where-you-live",
        "/services/no-such-service/check-answers",
        "/services/no-such-service/confirmation",
        "/services/no-such-service/session-expired",
        "/services/blue-badge/no-such-page",
        "/services/blue-badge/start",  # the start button posts there; it is not a page
    ],
)
def test_an_unknown_service_or_page_is_not_found(client, url: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 404
    soup = page(response)
    assert heading(soup) == "Page not found"
    assert title(soup).startswith("Page not found")


def test_an_unknown_page_is_not_found_during_a_journey_too(citizen, client) -> None:  # type: ignore[no-untyped-def]
    citizen.start("blue-badge")
    response = client.get("/services/blue-badge/no-such-page")
    assert response.status_code == 404
    assert heading(page(response)) == "Page not found"


def test_jumping_ahead_goes_back_to_the_first_unanswered_page(citizen, client) -> None:  # type: ignore[no-untyped-def]
    service_id = "resident-parking-permit"
    walk(citizen, service_id, until="vehicle-details")
    for later in ("vehicle-keeper", "your-permit", "your-details", "check-answers"):
        response = client.get(f"/services/{service_id}/{later}")
        assert response.status_code == 303, later
        assert response.headers["Location"] == f"/services/{service_id}/vehicle-details"
    # Earlier pages can be visited again, with their answers filled in.
    response = client.get(f"/services/{service_id}/parking-zone")
    assert response.status_code == 200
    soup = page(response)
    assert soup.select_one("#existing-permits")["value"] == "1"
    assert soup.select_one(".govuk-back-link")["href"] == f"/services/{service_id}/your-address"


def test_a_page_not_on_the_citizens_path_redirects_to_where_they_should_be(citizen, client) -> None:  # type: ignore[no-untyped-def]
    service_id = "resident-parking-permit"
    path = [
        (pid, {"vehicle_keeper": "registered_keeper"} if pid == "vehicle-keeper" else data)
        for pid, data in HAPPY_PATHS[service_id]
        if pid != "company-details"
    ]
    walk(citizen, service_id, path=path)
    response = client.get(f"/services/{service_id}/company-details")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/services/{service_id}/check-answers"
    # Mid-journey, it sends them to the first question they still have to answer.
    other = "council-tax-single-person-discount"
    walk(citizen, other, until="date-only-adult")
    response = client.get(f"/services/{other}/reason-details")  # only for reason "something_else"
    assert response.status_code == 303
    assert response.headers["Location"] == f"/services/{other}/date-only-adult"


@pytest.mark.parametrize(
    ("service_id", "path", "stop_page", "stop_heading"),
    [
        (
            "blue-badge",
            [("where-you-live", {"lives_in_area": "no"})],
            "cannot-apply-online",
            "You cannot apply online",
        ),
        (
            "missed-bin-collection",
            [*HAPPY_PATHS["missed-bin-collection"][:3], ("bin-out-on-time", {"bin_out_on_time": "no"})],
            "bin-not-out-on-time",
            "We cannot come back for your bin",
        ),
    ],
)
def test_a_stop_page_ends_the_journey(citizen, client, db_session, service_id, path, stop_page, stop_heading) -> None:  # type: ignore[no-untyped-def]
    response = citizen.start(service_id)
    for page_id, data in path:
        assert response.headers["Location"] == f"/services/{service_id}/{page_id}"
        response = citizen.answer(service_id, page_id, data)
    stop_url = f"/services/{service_id}/{stop_page}"
    assert response.status_code == 303 and response.headers["Location"] == stop_url
    shown = client.get(stop_url)
    assert shown.status_code == 200
    soup = page(shown)
    assert heading(soup) == stop_heading
    main = soup.select_one("main")
    assert main is not None
    assert not main.select("form"), "a stop page has no form"
    assert not [b for b in main.select("button, .govuk-button") if "Continue" in b.get_text()]
    # Nothing further can be reached: check answers and later pages lead back to the stop page.
    for later in ("check-answers", HAPPY_PATHS[service_id][-1][0]):
        response = client.get(f"/services/{service_id}/{later}")
        assert response.status_code == 303
        assert response.headers["Location"] == stop_url
    token = citizen.csrf(f"/services/{service_id}")
    assert (
        client.post(f"/services/{service_id}/check-answers", data={"csrf_token": token}).headers["Location"] == stop_url
    )
    assert client.post(stop_url, data={"csrf_token": token}).status_code == 405
    assert submissions(db_session) == []


def test_reading_pages_keeps_the_session_alive(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    """A citizen who only reads (GETs) for a while is not timed out while they read."""
    from datetime import timedelta

    from sqlmodel import select

    from runtime.models import FormSession, utcnow

    citizen.start("blue-badge")
    row = db_session.exec(select(FormSession)).one()
    row.updated_at = utcnow() - timedelta(minutes=50)
    row.expires_at = utcnow() + timedelta(minutes=10)
    db_session.commit()
    assert client.get("/services/blue-badge/where-you-live").status_code == 200
    db_session.expire_all()
    row = db_session.exec(select(FormSession)).one()
    assert row.expires_at > utcnow() + timedelta(minutes=55)

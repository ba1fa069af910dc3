"""Changing an answer from "Check your answers": the Change link, the way back, and what a
change reveals or hides, down to what is stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import SERVICE_IDS, page
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import (
    change_link,
    error_summary,
    field_value,
    stored_answers,
    submissions,
    summary_rows,
    walk,
)


def check_answers(client: Any, service_id: str) -> Any:
    response = client.get(f"/services/{service_id}/check-answers")
    assert response.status_code == 200
    return page(response)


def follow_change_link(client: Any, service_id: str, key: str) -> tuple[str, Any]:
    """Click "Change" on a row: the URL without its #fragment, and the page it shows."""
    href = change_link(check_answers(client, service_id), key)
    parts = urlsplit(href)
    assert parts.query == "change=1", href
    url = f"{parts.path}?{parts.query}"
    response = client.get(url)
    assert response.status_code == 200, href
    soup = page(response)
    assert soup.find(id=parts.fragment) is not None, f"the Change link's #{parts.fragment} is not on {parts.path}"
    back = soup.select_one(".govuk-back-link")
    assert back is not None and back["href"] == f"/services/{service_id}/check-answers"
    return url, soup


def data_for(service_id: str, page_id: str) -> dict[str, Any]:
    return dict(next(data for pid, data in HAPPY_PATHS[service_id] if pid == page_id))


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_change_a_name_and_come_back_to_check_answers(citizen, client, db_session, service_id: str) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, service_id)
    assert summary_rows(check_answers(client, service_id))["Full name"] == "Jane Smith"
    url, soup = follow_change_link(client, service_id, "Full name")
    assert field_value(soup, "full_name") == "Jane Smith"  # the page shows the answer being changed
    page_id = urlsplit(url).path.rsplit("/", 1)[-1]
    data = data_for(service_id, page_id) | {"full_name": "Janet Smythe"}

    response = citizen.post(url, data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/services/{service_id}/check-answers"
    rows = summary_rows(check_answers(client, service_id))
    assert rows["Full name"] == "Janet Smythe"
    assert stored_answers(db_session)["full_name"] == "Janet Smythe"

    assert citizen.submit(service_id).status_code == 303
    (stored,) = submissions(db_session)
    assert stored.answers["full_name"] == "Janet Smythe"


def _without(service_id: str, *page_ids: str, **replace: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The happy path less some pages, with some pages' data replaced."""
    return [
        (pid, replace.get(pid.replace("-", "_"), data)) for pid, data in HAPPY_PATHS[service_id] if pid not in page_ids
    ]


# (service, path walked first, row to change, new data for its page, pages then asked in
#  turn, rows gone from check answers, rows now there, answers gone from the submission)
CONDITIONAL_CHANGES = [
    pytest.param(
        "resident-parking-permit",
        _without("resident-parking-permit", "company-details", vehicle_keeper={"vehicle_keeper": "registered_keeper"}),
        "Registered keeper",
        {"vehicle_keeper": "company_car"},
        [("company-details", {"company_name": "Acme Lettings Ltd"})],
        [],
        {"Company that owns the vehicle": "Acme Lettings Ltd"},
        [],
        id="parking-company-car-reveals-company-details",
    ),
    pytest.param(
        "resident-parking-permit",
        HAPPY_PATHS["resident-parking-permit"],
        "Registered keeper",
        {"vehicle_keeper": "registered_keeper"},
        [],
        ["Company that owns the vehicle"],
        {"Registered keeper": "I am"},
        ["company_name"],
        id="parking-registered-keeper-hides-company-details",
    ),
    pytest.param(
        "council-tax-single-person-discount",
        HAPPY_PATHS["council-tax-single-person-discount"],
        "Reason",
        {"reason": "something_else"},
        [("reason-details", {"reason_details": "My partner is in long-term hospital care."})],
        ["Adult who moved out"],
        {"Reason details": "My partner is in long-term hospital care."},
        ["other_adult_name"],
        id="council-tax-reason-swaps-pages",
    ),
    pytest.param(
        "blue-badge",
        HAPPY_PATHS["blue-badge"],
        "Gets a qualifying benefit",
        {"gets_qualifying_benefit": "yes"},
        [("which-benefit", {"qualifying_benefit": "pip_moving_around"})],
        ["Walking difficulties", "Walking distance", "Condition"],
        {"Gets a qualifying benefit": "Yes"},
        ["walking_difficulties", "walking_distance", "condition_description"],
        id="blue-badge-benefit-skips-walking-questions",
    ),
]


@pytest.mark.parametrize(
    ("service_id", "path", "key", "change", "then_asked", "rows_gone", "rows_now", "answers_gone"),
    CONDITIONAL_CHANGES,
)
def test_a_change_that_reveals_or_hides_pages(  # type: ignore[no-untyped-def]
    citizen, client, db_session, service_id, path, key, change, then_asked, rows_gone, rows_now, answers_gone
) -> None:
    walk(citizen, service_id, path=path)
    before = summary_rows(check_answers(client, service_id))
    assert all(row in before for row in rows_gone)

    url, _ = follow_change_link(client, service_id, key)
    response = citizen.post(url, change)
    for page_id, data in then_asked:
        # The newly revealed question comes first, still on the way back to check answers.
        assert response.status_code == 303, error_summary(page(response))
        assert response.headers["Location"] == f"/services/{service_id}/{page_id}?change=1"
        response = citizen.post(response.headers["Location"], data)
    assert response.status_code == 303, error_summary(page(response))
    assert response.headers["Location"] == f"/services/{service_id}/check-answers"

    rows = summary_rows(check_answers(client, service_id))
    for row in rows_gone:
        assert row not in rows
    for row, text in rows_now.items():
        assert rows[row] == text
    # The form session may keep the hidden answers (so changing back loses nothing); the
    # submission must not.
    assert citizen.submit(service_id).status_code == 303
    (stored,) = submissions(db_session)
    assert not set(answers_gone) & set(stored.answers), "a hidden page's answer was stored"
    for page_id, data in then_asked:
        for name in data:
            assert name in stored.answers, f"{page_id}: {name} was not stored"


def test_a_change_that_reaches_a_stop_page_loses_nothing(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    """A misclick on an eligibility question: the stop page, then back, with every answer kept."""
    walk(citizen, "blue-badge")
    before = summary_rows(check_answers(client, "blue-badge"))
    response = citizen.answer("blue-badge", "where-you-live", {"lives_in_area": "no"}, change="1")
    assert response.headers["Location"] == "/services/blue-badge/cannot-apply-online?change=1"
    stop = page(client.get(response.headers["Location"]))
    assert not stop.select("form button")
    back = stop.select_one(".govuk-back-link")["href"]
    assert back == "/services/blue-badge/where-you-live?change=1"
    response = citizen.post(back, {"lives_in_area": "yes"})
    assert response.headers["Location"] == "/services/blue-badge/check-answers"
    assert summary_rows(check_answers(client, "blue-badge")) == before
    assert citizen.submit("blue-badge").status_code == 303
    (stored,) = submissions(db_session)
    assert stored.answers["full_name"] == "Jane Smith"

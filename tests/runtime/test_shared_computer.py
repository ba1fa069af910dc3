"""A shared or public computer: "Start now" never resumes someone else's unfinished form
without a choice made on screen, shows none of its answers before that choice, and starting
again deletes them and gives the browser a new token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from runtime.models import utcnow
from tests.conftest import Citizen, page
from tests.runtime.helpers import checked, error_summary, form_sessions, heading, walk

SERVICE = "blue-badge"
SECRET = "Zebracorn-4471 knee replacement"
CHOICE_URL = f"/services/{SERVICE}/continue-or-start-again"
PATH = [
    ("where-you-live", {"lives_in_area": "yes"}),
    ("qualifying-benefit", {"gets_qualifying_benefit": "no"}),
    (
        "walking-difficulty",
        {"walking_difficulties": ["pain"], "walking_distance": "under_20_metres", "condition_description": SECRET},
    ),
]


def session_cookie(client: Any) -> str | None:
    cookie = client.get_cookie("civicforms_session")
    return cookie.value if cookie is not None else None


def first_person_leaves_a_form(citizen: Citizen) -> None:
    walk(citizen, SERVICE, until="your-details", path=[*PATH, ("your-details", {})])


def next_person_starts(citizen: Citizen) -> Any:
    """Someone else at the same browser opens the start page and presses "Start now"."""
    start_page = citizen.client.get(f"/services/{SERVICE}")
    assert SECRET not in start_page.get_data(as_text=True)
    return citizen.start(SERVICE)


def test_start_now_asks_before_resuming_and_shows_no_answers(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_leaves_a_form(citizen)
    response = next_person_starts(citizen)
    assert response.status_code == 303
    assert response.headers["Location"] == CHOICE_URL
    choice = client.get(CHOICE_URL)
    html = choice.get_data(as_text=True)
    assert choice.status_code == 200 and SECRET not in html and "Zebracorn" not in html
    soup = page(choice)
    assert heading(soup) == "An application has already been started on this device"
    options = {r.get_text(strip=True) for r in soup.select(".govuk-radios__label")}
    assert options == {"Continue the application you started", "Start again, deleting the answers"}
    assert not soup.select("input[checked]")  # nothing chosen for them
    # Nothing chosen: a GOV.UK error, still no answers.
    token = str(soup.select_one("input[name=csrf_token]")["value"])  # type: ignore[index]
    refused = client.post(CHOICE_URL, data={"csrf_token": token})
    assert refused.status_code == 200
    assert error_summary(page(refused)) == [
        ("Select whether to continue the application you started or start again", "#choice")
    ]
    assert page(refused).title.get_text().startswith("Error: ")  # type: ignore[union-attr]
    hostile = client.post(CHOICE_URL, data={"csrf_token": token, "choice": "continue\x00"})
    assert hostile.status_code == 200 and SECRET not in hostile.get_data(as_text=True)
    for shown in (refused, hostile):
        assert SECRET not in shown.get_data(as_text=True)
    # The form is still there, untouched, until a choice is made.
    (row,) = form_sessions(db_session)
    assert row.answers["condition_description"] == SECRET


def test_continue_resumes_where_the_form_was_left(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_leaves_a_form(citizen)
    cookie_before = session_cookie(client)
    next_person_starts(citizen)
    response = citizen.post(CHOICE_URL, {"choice": "continue"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/services/{SERVICE}/your-details"
    back = client.get(f"/services/{SERVICE}/walking-difficulty")
    assert SECRET in back.get_data(as_text=True)
    assert checked(page(back), "walking_difficulties") == ["pain"]
    (row,) = form_sessions(db_session)
    assert row.answers["condition_description"] == SECRET
    assert cookie_before is not None


def test_start_again_deletes_the_answers_and_rotates_the_token(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_leaves_a_form(citizen)
    old_id = form_sessions(db_session)[0].id
    old_cookie = session_cookie(client)
    next_person_starts(citizen)
    response = citizen.post(CHOICE_URL, {"choice": "start-again"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/services/{SERVICE}/where-you-live"
    (new,) = form_sessions(db_session)
    assert new.id != old_id and new.answers == {}
    first = client.get(f"/services/{SERVICE}/where-you-live")
    assert checked(page(first), "lives_in_area") == []
    for page_id in ("walking-difficulty", "your-details", "check-answers"):
        shown = client.get(f"/services/{SERVICE}/{page_id}", follow_redirects=True)
        assert SECRET not in shown.get_data(as_text=True)
    # The old cookie (kept by someone who copied it) opens nothing any more.
    assert old_cookie is not None
    thief = client.application.test_client()
    thief.set_cookie("civicforms_session", old_cookie)
    stolen = thief.get(f"/services/{SERVICE}/walking-difficulty")
    assert stolen.status_code == 303 and stolen.headers["Location"].endswith("/session-expired")


def test_start_now_with_an_empty_form_starts_a_new_one_without_asking(
    citizen: Citizen, client: Any, db_session: Any
) -> None:
    assert citizen.start(SERVICE).status_code == 303
    first_id = form_sessions(db_session)[0].id
    response = citizen.start(SERVICE)
    assert response.headers["Location"] == f"/services/{SERVICE}/where-you-live"
    (second,) = form_sessions(db_session)
    assert second.id != first_id  # a new token each time "Start now" is pressed


def test_start_now_after_sending_starts_a_new_form(citizen: Citizen, client: Any, db_session: Any) -> None:
    walk(citizen, SERVICE)
    assert citizen.submit(SERVICE).status_code == 303
    response = citizen.start(SERVICE)
    assert response.headers["Location"] == f"/services/{SERVICE}/where-you-live"


def test_the_choice_page_without_a_form_goes_to_the_start_page(citizen: Citizen, client: Any, db_session: Any) -> None:
    response = client.get(CHOICE_URL)
    assert response.status_code == 303 and response.headers["Location"] == f"/services/{SERVICE}"
    assert client.get("/services/no-such-service/continue-or-start-again").status_code == 404
    # An expired form is not offered either.
    first_person_leaves_a_form(citizen)
    (row,) = form_sessions(db_session)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.add(row)
    db_session.commit()
    response = citizen.start(SERVICE)
    assert response.headers["Location"] == f"/services/{SERVICE}/where-you-live"
    (new,) = form_sessions(db_session)  # the expired one was deleted as it was found
    assert new.answers == {}


def test_start_again_needs_the_csrf_token(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_leaves_a_form(citizen)
    next_person_starts(citizen)
    response = client.post(CHOICE_URL, data={"choice": "start-again"})
    assert response.status_code in (303, 400)
    (row,) = form_sessions(db_session)
    assert row.answers["condition_description"] == SECRET


# -- expired answers -------------------------------------------------------------------------------


def test_expired_answers_are_deleted_when_the_expiry_is_found(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_leaves_a_form(citizen)
    (row,) = form_sessions(db_session)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.add(row)
    db_session.commit()
    response = client.get(f"/services/{SERVICE}/walking-difficulty")
    assert response.status_code == 303 and response.headers["Location"].endswith("/session-expired")
    assert form_sessions(db_session) == []  # gone now, not at the next `sessions purge`
    shown = page(client.get(response.headers["Location"]))
    text = shown.get_text(" ", strip=True)
    assert "your answers can no longer be used" in text and "we delete answers that were not sent" in text
    assert SECRET not in str(shown)
    # The browser no longer names the form: "Start now" starts afresh, without a choice to make.
    assert citizen.start(SERVICE).headers["Location"] == f"/services/{SERVICE}/where-you-live"
    (new,) = form_sessions(db_session)
    assert new.answers == {}


def test_a_post_into_expired_answers_deletes_them_and_saves_nothing(
    citizen: Citizen, client: Any, db_session: Any
) -> None:
    first_person_leaves_a_form(citizen)
    token = citizen.csrf(f"/services/{SERVICE}/your-details")
    (row,) = form_sessions(db_session)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.add(row)
    db_session.commit()
    response = client.post(f"/services/{SERVICE}/your-details", data={"csrf_token": token, "full_name": "Ada"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/session-expired")
    assert form_sessions(db_session) == []


def test_a_live_form_is_never_deleted_by_the_expiry_check(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_leaves_a_form(citizen)
    assert client.get(f"/services/{SERVICE}/walking-difficulty").status_code == 200
    (row,) = form_sessions(db_session)
    assert row.answers["condition_description"] == SECRET

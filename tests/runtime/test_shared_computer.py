"""A shared or public computer: "Start now" never resumes someone else's unfinished form
without a choice made on screen, shows none of its answers before that choice, and starting
again deletes them and gives the browser a new token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from runtime import db as dbmod
from runtime.models import utcnow
from runtime.settings import SettingsError, from_environment
from tests.conftest import Citizen, page
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import checked, error_summary, field_value, form_sessions, heading, submissions, walk

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


# -- any page of a form left idle (issue 13, finding 8) ------------------------------------------------
# "Start now" was the only door with the choice: the next person at the browser who opened a
# question page from history saw the previous person's name, date of birth and NHS number.
# Now every page that shows answers asks first once the form has been left idle for
# CIVICFORMS_FORM_IDLE_MINUTES; the clock is the form session's updated_at, moved back here.

GP = "register-with-gp"
GP_PAGES = [page_id for page_id, _ in HAPPY_PATHS[GP]] + ["check-answers"]
# What the first person typed, in every form a page could show it.
GP_PERSONAL = ["Jane Smith", "943 476 5919", "9434765919", "3 July 1950", "1950", "jane.smith@example.com", "Mill Lane"]


def idle_minutes(client: Any) -> int:
    return int(client.application.extensions["civicforms.settings"].form_idle_minutes)


def leave_idle(db_session: Any, minutes: float) -> None:
    """Move the form's last activity ``minutes`` into the past (as if nobody had used it since)."""
    (row,) = form_sessions(db_session)
    row.updated_at = utcnow() - timedelta(minutes=minutes)
    db_session.add(row)
    db_session.commit()


def first_person_fills_in_the_gp_form(citizen: Citizen) -> None:
    walk(citizen, GP)  # every page answered; check answers next


def choice_url(page_id: str, **args: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"page": page_id, **args}.items())
    return f"/services/{GP}/continue-or-start-again?{query}"


def assert_shows_no_answers(response: Any) -> None:
    html = response.get_data(as_text=True)
    for text in GP_PERSONAL:
        assert text not in html, text


def test_every_page_of_a_form_left_idle_asks_first_and_shows_no_answers(
    citizen: Citizen, client: Any, db_session: Any
) -> None:
    first_person_fills_in_the_gp_form(citizen)
    # Before: the pages show the answers (what the next person would have seen).
    assert "Jane Smith" in client.get(f"/services/{GP}/about-you").get_data(as_text=True)
    assert "943 476 5919" in client.get(f"/services/{GP}/check-answers").get_data(as_text=True)
    leave_idle(db_session, idle_minutes(client) + 1)
    for page_id in GP_PAGES:
        response = client.get(f"/services/{GP}/{page_id}")
        assert response.status_code == 303, page_id
        assert response.headers["Location"] == choice_url(page_id)
        assert_shows_no_answers(response)
        choice = client.get(response.headers["Location"])
        assert choice.status_code == 200 and choice.headers["Cache-Control"] == "no-store"
        assert heading(page(choice)) == "An application has already been started on this device"
        assert_shows_no_answers(choice)
    # Looking changed nothing: the form is as it was, and still idle.
    (row,) = form_sessions(db_session)
    assert row.answers["nhs_number"] == "9434765919"
    assert client.get(f"/services/{GP}/about-you").status_code == 303


def test_continue_returns_to_the_page_asked_for_with_its_answers(
    citizen: Citizen, client: Any, db_session: Any
) -> None:
    first_person_fills_in_the_gp_form(citizen)
    leave_idle(db_session, idle_minutes(client) + 1)
    for page_id, shown in (("about-you", "Jane Smith"), ("nhs-number", "943 476 5919"), ("check-answers", "1950")):
        leave_idle(db_session, idle_minutes(client) + 1)
        assert client.get(f"/services/{GP}/{page_id}").headers["Location"] == choice_url(page_id)
        response = citizen.post(choice_url(page_id), {"choice": "continue"})
        assert response.status_code == 303 and response.headers["Location"] == f"/services/{GP}/{page_id}"
        back = client.get(response.headers["Location"])
        assert back.status_code == 200 and shown in back.get_data(as_text=True)
        assert back.headers["Cache-Control"] == "no-store"
        # In use again: the other pages show their answers without asking.
        assert client.get(f"/services/{GP}/home-address").status_code == 200
    # Changing an answer from check answers comes back in change mode.
    leave_idle(db_session, idle_minutes(client) + 1)
    response = client.get(f"/services/{GP}/about-you?change=1")
    assert response.headers["Location"] == choice_url("about-you", change="1")
    response = citizen.post(response.headers["Location"], {"choice": "continue"})
    assert response.headers["Location"] == f"/services/{GP}/about-you?change=1"


def test_start_again_from_an_idle_page_deletes_the_answers(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_fills_in_the_gp_form(citizen)
    old_id = form_sessions(db_session)[0].id
    leave_idle(db_session, idle_minutes(client) + 1)
    asked = client.get(f"/services/{GP}/nhs-number").headers["Location"]
    response = citizen.post(asked, {"choice": "start-again"})
    assert response.status_code == 303 and response.headers["Location"] == f"/services/{GP}/choose-surgery"
    (new,) = form_sessions(db_session)
    assert new.id != old_id and new.answers == {}
    first = client.get(f"/services/{GP}/choose-surgery")
    assert first.status_code == 200 and checked(page(first), "surgery") == []
    for page_id in GP_PAGES:
        shown = client.get(f"/services/{GP}/{page_id}", follow_redirects=True)
        assert shown.status_code == 200
        assert_shows_no_answers(shown)


def test_a_form_in_use_is_not_interrupted(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_fills_in_the_gp_form(citizen)
    leave_idle(db_session, idle_minutes(client) - 1)  # within the limit
    for page_id in GP_PAGES:
        response = client.get(f"/services/{GP}/{page_id}")
        assert response.status_code == 200, page_id
        assert response.headers["Cache-Control"] == "no-store"
    assert "Jane Smith" in client.get(f"/services/{GP}/about-you").get_data(as_text=True)
    # Each page read counts as use (at most one write a minute): reading for longer than the
    # limit, one page after another, never meets the choice.
    for _ in range(3):
        leave_idle(db_session, idle_minutes(client) - 1)
        assert client.get(f"/services/{GP}/about-you").status_code == 200
    # An idle form with no answers has nothing to hide: its first page is shown.
    assert citizen.start(SERVICE).status_code == 303
    (_, blank) = sorted(form_sessions(db_session), key=lambda r: r.service_id == SERVICE)
    blank.updated_at = utcnow() - timedelta(minutes=idle_minutes(client) + 5)
    db_session.add(blank)
    db_session.commit()
    assert client.get(f"/services/{SERVICE}/where-you-live").status_code == 200


def test_a_post_into_a_form_left_idle_saves_nothing_and_asks_first(
    citizen: Citizen, client: Any, db_session: Any
) -> None:
    first_person_fills_in_the_gp_form(citizen)
    token = citizen.csrf(f"/services/{GP}/about-you")  # the page was open when the form was left
    leave_idle(db_session, idle_minutes(client) + 1)
    stranger = {
        "csrf_token": token,
        "full_name": "Someone Else",
        "date_of_birth-day": "1",
        "date_of_birth-month": "1",
        "date_of_birth-year": "2000",
    }
    response = client.post(f"/services/{GP}/about-you", data=stranger)
    assert response.status_code == 303
    assert response.headers["Location"] == choice_url("about-you", unsaved="1")
    (row,) = form_sessions(db_session)
    assert row.answers["full_name"] == "Jane Smith" and row.answers["date_of_birth"] == "1950-07-03"
    choice = client.get(response.headers["Location"])
    assert_shows_no_answers(choice)
    assert "The page you sent was not saved" in choice.get_data(as_text=True)
    assert "Someone Else" not in choice.get_data(as_text=True)
    # Nor does "Accept and send" on a stale check answers page send the form.
    response = client.post(f"/services/{GP}/check-answers", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == choice_url("check-answers")
    assert submissions(db_session) == []
    # "Continue" then shows the page as it was saved.
    response = citizen.post(choice_url("about-you", unsaved="1"), {"choice": "continue"})
    assert response.headers["Location"] == f"/services/{GP}/about-you"
    assert field_value(page(client.get(response.headers["Location"])), "full_name") == "Jane Smith"


@pytest.mark.parametrize(
    "where",
    ["https://evil.example/", "//evil.example", "/services/blue-badge/where-you-live", "..%2F", "\x00", "x" * 5000],
)
def test_continue_never_leaves_the_service(citizen: Citizen, client: Any, db_session: Any, where: str) -> None:
    first_person_fills_in_the_gp_form(citizen)
    response = citizen.post(
        f"/services/{GP}/continue-or-start-again?" + urlencode({"page": where}), {"choice": "continue"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/services/{GP}/check-answers"  # where the form is up to


def test_the_idle_check_reads_nothing_more(app: Any, citizen: Citizen, client: Any, db_session: Any) -> None:
    """The check uses the form session row the page reads anyway: an idle page is one SELECT."""
    first_person_fills_in_the_gp_form(citizen)
    leave_idle(db_session, idle_minutes(client) + 1)
    with dbmod.DriverTrace(*app.extensions["civicforms.engines"]) as trace:
        assert client.get(f"/services/{GP}/about-you").status_code == 303
        assert trace.words() == ["SELECT"]


BASE_ENV = {"CIVICFORMS_SECRET_KEY": "k" * 40, "CIVICFORMS_ENV": "test"}


def test_the_idle_limit_is_a_setting() -> None:
    assert from_environment({**BASE_ENV, "CIVICFORMS_FORM_IDLE_MINUTES": "5"}).form_idle_minutes == 5
    assert from_environment(BASE_ENV).form_idle_minutes == 15
    for bad in ("0", "-1"):
        with pytest.raises(SettingsError, match="CIVICFORMS_FORM_IDLE_MINUTES must be 1 or more"):
            from_environment({**BASE_ENV, "CIVICFORMS_FORM_IDLE_MINUTES": bad})

"""A shared or public computer: "Start now" never resumes someone else's unfinished form
without a choice made on screen, shows none of its answers before that choice, and starting
again deletes them and gives the browser a new token."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.datastructures import MultiDict

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


def test_a_stale_page_posted_into_a_form_left_idle_is_not_saved_before_the_choice(
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
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert heading(page(response)) == "An application has already been started on this device"
    (row,) = form_sessions(db_session)
    assert row.answers["full_name"] == "Jane Smith" and row.answers["date_of_birth"] == "1950-07-03"
    assert_shows_no_answers(response)  # none stored, this page's included
    # What was sent is only in the choice's form, to be saved if they continue.
    assert posted_back(response, "continue") == [
        ("full_name", "Someone Else"),
        ("date_of_birth-day", "1"),
        ("date_of_birth-month", "1"),
        ("date_of_birth-year", "2000"),
        ("idle-choice", "continue"),
    ]
    assert "Someone Else" not in page(response).select_one("main").get_text()  # type: ignore[union-attr]
    # Nor does "Accept and send" on a stale check answers page send the form: Continue shows
    # check answers, to see what is sent.
    response = client.post(f"/services/{GP}/check-answers", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == choice_url("check-answers", unsent="1")
    assert submissions(db_session) == []
    choice = client.get(response.headers["Location"])
    assert_shows_no_answers(choice)
    assert "Your application has not been sent" in choice.get_data(as_text=True)
    response = citizen.post(response.headers["Location"], {"choice": "continue"})
    assert response.headers["Location"] == f"/services/{GP}/check-answers"
    assert submissions(db_session) == []
    assert "943 476 5919" in client.get(response.headers["Location"]).get_data(as_text=True)


# -- what was typed into a page while the form sat idle (WCAG 2.2.1: nobody loses their work) -------

LONG = ("I use two sticks and stop every few steps because of pain in both knees. " * 15).strip()


def posted_back(choice: Any, chosen: str) -> list[tuple[str, str]]:
    """What the choice page's form posts with ``chosen`` picked: its hidden fields (bar the
    CSRF token) and the choice, in the page's order."""
    form = page(choice).select_one("main form")
    assert form is not None
    fields = [
        (str(i["name"]), str(i.get("value", "")))
        for i in form.select("input[type=hidden]")
        if i["name"] != "csrf_token"
    ]
    (radio_name,) = {str(i["name"]) for i in form.select("input[type=radio]")}
    return [*fields, (radio_name, chosen)]


def choose(client: Any, choice: Any, chosen: str, extra: list[tuple[str, str]] | None = None) -> Any:
    """Press the choice page's button, as a browser without JavaScript would."""
    form = page(choice).select_one("main form")
    assert form is not None
    token = str(form.select_one("input[name=csrf_token]")["value"])  # type: ignore[index]
    data = MultiDict([("csrf_token", token), *posted_back(choice, chosen), *(extra or [])])
    return client.post(str(form.get("action") or choice.request.path), data=data)


def idle_while_typing(citizen: Citizen, client: Any, db_session: Any, page_id: str, data: list[tuple[str, str]]) -> Any:
    """The page is opened, its answers typed for longer than the idle limit, then sent."""
    token = citizen.csrf(f"/services/{SERVICE}/{page_id}")
    leave_idle(db_session, idle_minutes(client) + 1)
    return client.post(f"/services/{SERVICE}/{page_id}", data=MultiDict([("csrf_token", token), *data]))


TYPED = [
    ("walking_difficulties", "pain"),
    ("walking_difficulties", "balance"),
    ("walking_distance", "20_to_50_metres"),
    ("condition_description", LONG),
]


def test_a_long_answer_typed_past_the_idle_limit_is_saved_on_continue(
    citizen: Citizen, client: Any, db_session: Any
) -> None:
    first_person_leaves_a_form(citizen)  # walking-difficulty answered with SECRET, your-details next
    choice = idle_while_typing(citizen, client, db_session, "walking-difficulty", TYPED)
    assert choice.status_code == 200
    html = choice.get_data(as_text=True)
    assert "If you continue, the answers you gave on this page will be kept." in html
    assert SECRET not in html and "Zebracorn" not in html  # the stored answer it replaces
    assert html.count(LONG) == 1  # once: in the hidden field, not shown
    (row,) = form_sessions(db_session)
    assert row.answers["condition_description"] == SECRET  # not saved yet
    # No choice made: asked again, still holding what was typed.
    again = choose(client, choice, "")
    assert again.status_code == 200
    assert error_summary(page(again)) == [
        ("Select whether to continue the application you started or start again", "#choice")
    ]
    assert posted_back(again, "continue") == posted_back(choice, "continue")
    response = choose(client, again, "continue")
    assert response.status_code == 303 and response.headers["Location"] == f"/services/{SERVICE}/your-details"
    (row,) = form_sessions(db_session)
    assert row.answers["condition_description"] == LONG
    assert row.answers["walking_difficulties"] == ["pain", "balance"]
    assert row.answers["walking_distance"] == "20_to_50_metres"
    # In use again: the next page opens without asking.
    assert client.get(response.headers["Location"]).status_code == 200


def test_start_again_discards_what_was_typed_with_the_stored_answers(
    citizen: Citizen, client: Any, db_session: Any
) -> None:
    first_person_leaves_a_form(citizen)
    old_id = form_sessions(db_session)[0].id
    choice = idle_while_typing(citizen, client, db_session, "walking-difficulty", TYPED)
    response = choose(client, choice, "start-again")
    assert response.status_code == 303 and response.headers["Location"] == f"/services/{SERVICE}/where-you-live"
    (new,) = form_sessions(db_session)
    assert new.id != old_id and new.answers == {}
    shown = client.get(f"/services/{SERVICE}/walking-difficulty", follow_redirects=True)
    assert LONG[:40] not in shown.get_data(as_text=True) and SECRET not in shown.get_data(as_text=True)


def test_errors_in_what_was_typed_show_on_the_page_after_continue(
    citizen: Citizen, client: Any, db_session: Any
) -> None:
    first_person_leaves_a_form(citizen)
    typed = [("walking_distance", "20_to_50_metres"), ("condition_description", "x" * 20_000)]
    response = choose(client, idle_while_typing(citizen, client, db_session, "walking-difficulty", typed), "continue")
    assert response.status_code == 200 and response.request.path == f"/services/{SERVICE}/walking-difficulty"
    soup = page(response)
    assert [href for _, href in error_summary(soup)] == ["#walking-difficulties", "#condition-description"]
    assert field_value(soup, "condition_description") == "x" * 20_000  # as a normal post shows it
    (row,) = form_sessions(db_session)
    assert row.answers["condition_description"] == SECRET
    # The form is in use: the page corrected is saved like any other.
    corrected = {"walking_difficulties": ["pain"], "walking_distance": "20_to_50_metres", "condition_description": LONG}
    response = citizen.answer(SERVICE, "walking-difficulty", corrected)
    assert response.headers["Location"] == f"/services/{SERVICE}/your-details"


HOSTILE = '<script>alert("x")</script> \'single\' "double" &amp; </textarea><b>\r\nline two\ttab'


@pytest.mark.parametrize(
    ("service", "page_id", "typed"),
    [
        (
            SERVICE,
            "walking-difficulty",
            [
                ("walking_difficulties", "pain"),
                ("walking_difficulties", '"><script>x</script>'),
                ("walking_difficulties", "fatigue"),
                ("walking_distance", "under_20_metres"),
                ("condition_description", HOSTILE),
            ],
        ),
        (SERVICE, "walking-difficulty", [("walking_distance", "<x>"), ("condition_description", HOSTILE * 400)]),
        (
            GP,
            "about-you",
            [
                ("full_name", HOSTILE),
                ("date_of_birth-day", " 3 "),
                ("date_of_birth-month", '7"><script>'),
                ("date_of_birth-year", "1950\r\n"),
            ],
        ),
    ],
    ids=["checkboxes", "20000-characters", "date-parts"],
)
def test_hostile_input_round_trips_exactly(
    citizen: Citizen, client: Any, db_session: Any, service: str, page_id: str, typed: list[tuple[str, str]]
) -> None:
    if service == GP:
        first_person_fills_in_the_gp_form(citizen)
    else:
        first_person_leaves_a_form(citizen)
    assert sum(len(v) for _, v in typed) < 64 * 1024
    token = citizen.csrf(f"/services/{service}/{page_id}")
    leave_idle(db_session, idle_minutes(client) + 1)
    choice = client.post(f"/services/{service}/{page_id}", data=MultiDict([("csrf_token", token), *typed]))
    assert choice.status_code == 200
    html = choice.get_data(as_text=True)
    assert "<script>" not in html.split("<main", 1)[1].split("</main>", 1)[0]  # escaped, never markup
    assert posted_back(choice, "continue") == [*typed, ("idle-choice", "continue")]  # every value, exactly
    # Continue: the same page as posting the page itself (what it saves, or the errors it shows).
    kept = choose(client, choice, "continue")
    (row,) = form_sessions(db_session)
    after_continue = (kept.status_code, kept.headers.get("Location"), row.answers, field_texts(kept))
    leave_idle(db_session, 0)
    direct = client.post(
        f"/services/{service}/{page_id}",
        data=MultiDict([("csrf_token", citizen.csrf(f"/services/{service}/{page_id}")), *typed]),
    )
    (row,) = form_sessions(db_session)
    assert after_continue == (direct.status_code, direct.headers.get("Location"), row.answers, field_texts(direct))


def field_texts(response: Any) -> list[tuple[str, str]]:
    """What a re-shown page holds in its fields, and its errors."""
    if response.status_code != 200:
        return []
    soup = page(response)
    fields = [(str(i.get("name")), str(i.get("value", ""))) for i in soup.select("main input:not([type=hidden])")]
    fields += [(str(t["name"]), t.get_text()) for t in soup.select("main textarea")]
    return fields + [(text, "error") for text, _ in error_summary(soup)]


def test_a_forged_choice_writes_only_the_fields_of_its_own_page(citizen: Citizen, client: Any, db_session: Any) -> None:
    first_person_leaves_a_form(citizen)
    choice = idle_while_typing(citizen, client, db_session, "walking-difficulty", TYPED)
    forged = [
        ("lives_in_area", "no"),  # where-you-live
        ("gets_qualifying_benefit", "yes"),  # qualifying-benefit
        ("full_name", "Mallory"),  # your-details
        ("date_of_birth-day", "1"),
        ("condition_description", "second value, ignored as on a normal post"),
    ]
    response = choose(client, choice, "continue", extra=forged)
    assert response.status_code == 303 and response.headers["Location"] == f"/services/{SERVICE}/your-details"
    (row,) = form_sessions(db_session)
    assert row.answers["lives_in_area"] is True and row.answers["gets_qualifying_benefit"] is False
    assert "full_name" not in row.answers and "date_of_birth" not in row.answers
    assert row.answers["condition_description"] == LONG
    # A choice page with no hidden fields at all saves an empty page: the errors of that page.
    choice = idle_while_typing(citizen, client, db_session, "walking-difficulty", [])
    response = choose(client, choice, "continue")
    assert response.status_code == 200 and error_summary(page(response))
    (row,) = form_sessions(db_session)
    assert row.answers["condition_description"] == LONG


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


def test_a_post_too_near_the_size_limit_to_carry_says_it_was_not_saved(
    citizen: Citizen, client: Any, db_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_person_leaves_a_form(citizen)
    token = citizen.csrf(f"/services/{SERVICE}/walking-difficulty")
    leave_idle(db_session, idle_minutes(client) + 1)
    typed = [("walking_distance", "under_20_metres"), ("condition_description", "y" * 1000)]
    body = len(urlencode([("csrf_token", token), *typed]))
    # CIVICFORMS_MAX_POST_BYTES just above this post: the post back (plus the choice) would not fit.
    settings = client.application.extensions["civicforms.settings"]
    monkeypatch.setitem(
        client.application.extensions, "civicforms.settings", replace(settings, max_post_bytes=body + 5)
    )
    choice = client.post(f"/services/{SERVICE}/walking-difficulty", data=MultiDict([("csrf_token", token), *typed]))
    assert choice.status_code == 200
    html = choice.get_data(as_text=True)
    assert "The page you sent was not saved" in html and "will be kept" not in html
    assert "y" * 1000 not in html and SECRET not in html
    assert posted_back(choice, "continue") == [("idle-choice", "continue")]


def test_the_idle_check_reads_nothing_more(app: Any, citizen: Citizen, client: Any, db_session: Any) -> None:
    """The check uses the form session row the page reads anyway: an idle page is one SELECT."""
    first_person_fills_in_the_gp_form(citizen)
    leave_idle(db_session, idle_minutes(client) + 1)
    with dbmod.DriverTrace(*app.extensions["civicforms.engines"]) as trace:
        assert client.get(f"/services/{GP}/about-you").status_code == 303
        assert trace.words() == ["SELECT"]
    # A page posted into it: the choice, with what was sent, from that one SELECT.
    leave_idle(db_session, 0)
    token = citizen.csrf(f"/services/{GP}/nhs-number")
    leave_idle(db_session, idle_minutes(client) + 1)
    with dbmod.DriverTrace(*app.extensions["civicforms.engines"]) as trace:
        choice = client.post(f"/services/{GP}/nhs-number", data={"csrf_token": token, "nhs_number": "4010232137"})
        assert choice.status_code == 200
        assert trace.words() == ["SELECT"]
    # Continue saves it as a normal post of the page does: the SELECT and one UPDATE.
    with dbmod.DriverTrace(*app.extensions["civicforms.engines"]) as trace:
        assert choose(client, choice, "continue").status_code == 303
        continued = trace.words()
    with dbmod.DriverTrace(*app.extensions["civicforms.engines"]) as trace:
        assert (
            client.post(
                f"/services/{GP}/nhs-number", data={"csrf_token": token, "nhs_number": "4010232137"}
            ).status_code
            == 303
        )
        assert continued == trace.words() == ["SELECT", "UPDATE"]


BASE_ENV = {"CIVICFORMS_SECRET_KEY": "k" * 40, "CIVICFORMS_ENV": "test"}


def test_the_idle_limit_is_a_setting() -> None:
    assert from_environment({**BASE_ENV, "CIVICFORMS_FORM_IDLE_MINUTES": "5"}).form_idle_minutes == 5
    assert from_environment(BASE_ENV).form_idle_minutes == 15
    for bad in ("0", "-1"):
        with pytest.raises(SettingsError, match="CIVICFORMS_FORM_IDLE_MINUTES must be 1 or more"):
            from_environment({**BASE_ENV, "CIVICFORMS_FORM_IDLE_MINUTES": bad})

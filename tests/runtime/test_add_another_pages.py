"""Add another (issue 18, part C), as a citizen through the test client: the household service's
list of people without JavaScript: add, add another, change, remove, the list's and an item's
errors, an item number out of range, a post from a page out of date (a removed item posted
again), conditions on the number of people and on any person's answer, check answers, and what
is stored."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlmodel import select

from runtime import db as dbmod
from runtime.models import FormSession, Submission
from runtime.web import create_citizen_app
from tests.conftest import Citizen, page
from tests.journeys import ADDRESS, CONTACT
from tests.runtime.helpers import error_summary, heading, inline_errors
from tests.runtime.test_shared_computer import choose, idle_minutes, leave_idle, posted_back

SERVICE = "household-members"
LIST = f"/services/{SERVICE}/household-members"
JOHN = {"full_name": "John Smith", "relationship": "partner"} | {
    "date_of_birth-day": "14",
    "date_of_birth-month": "2",
    "date_of_birth-year": "1979",
}
AMY = {"full_name": "Amy Smith", "relationship": "child"}


def _answers(db_session: Any) -> dict[str, Any]:
    db_session.expire_all()
    rows = db_session.exec(select(FormSession)).all()
    assert len(rows) == 1
    return dict(rows[0].answers)


def _to_list(citizen: Any) -> Any:
    response = citizen.start(SERVICE)
    assert response.headers["Location"].endswith("/your-address")
    response = citizen.answer(SERVICE, "your-address", dict(ADDRESS))
    assert response.status_code == 303 and response.headers["Location"].endswith("/household-members")
    return response


def _hidden(soup: Any, name: str) -> str:
    field = soup.select_one(f'input[type=hidden][name="{name}"]')
    assert field is not None, name
    return str(field["value"])


def _post_from(client: Any, url: str, data: dict[str, Any]) -> Any:
    """Post ``data`` with the form's own hidden fields (its CSRF token and item fingerprint) as
    the page showed them now."""
    soup = page(client.get(url))
    hidden = {str(f["name"]): str(f["value"]) for f in soup.select("form input[type=hidden]")}
    return client.post(url, data={**hidden, **data})


def _two_people(citizen: Any, client: Any) -> None:
    _to_list(citizen)
    assert _post_from(client, LIST, JOHN).headers["Location"].endswith("/household-members")
    response = citizen.answer(SERVICE, "household-members", {"add-another": "yes"})
    assert response.headers["Location"].endswith("/household-members/2")
    assert _post_from(client, f"{LIST}/2", AMY).headers["Location"].endswith("/household-members")


def test_add_another_change_and_remove_then_send(citizen, client, db_session) -> None:
    _to_list(citizen)
    # Nothing added yet, and someone must be: the list's page asks for the first person.
    first = page(client.get(LIST))
    assert heading(first) == "Add a person"
    assert first.select_one(".govuk-caption-l").get_text(strip=True) == "Who lives with you?"
    assert {f["name"] for f in first.select("form input[type=text]")} >= {"full_name", "date_of_birth-day"}
    response = _post_from(client, LIST, JOHN)
    assert response.status_code == 303 and response.headers["Location"].endswith("/household-members")
    listed = page(client.get(LIST))
    assert heading(listed) == "You have added 1 person"
    rows = listed.select(".cf-add-another-list .govuk-summary-list__row")
    assert [r.select_one("dt").get_text(strip=True) for r in rows] == ["John Smith"]
    assert "Partner" in rows[0].get_text() and "14 February 1979" in rows[0].get_text()
    links = [(a.get_text(" ", strip=True), a["href"]) for a in rows[0].select("a")]
    assert links == [
        ("Change John Smith", "/services/household-members/household-members/1"),
        ("Remove John Smith", "/services/household-members/household-members/1/remove"),
    ]
    assert listed.select_one("legend").get_text(strip=True) == "Do you need to add another person?"
    # Continue without choosing: the question's own error.
    response = citizen.answer(SERVICE, "household-members", {})
    soup = page(response)
    assert response.status_code == 200
    assert error_summary(soup) == [("Select yes if you need to add another person", "#add-another")]
    # Yes: the next person's page.
    response = citizen.answer(SERVICE, "household-members", {"add-another": "yes"})
    assert response.headers["Location"].endswith("/household-members/2")
    assert heading(page(client.get(f"{LIST}/2"))) == "Add another person"
    assert _post_from(client, f"{LIST}/2", AMY).status_code == 303
    assert heading(page(client.get(LIST))) == "You have added 2 people"
    # Change the first person: the page shows their answers; the list shows the change.
    change = page(client.get(f"{LIST}/1"))
    assert heading(change) == "Change the details of John Smith"
    assert change.select_one("input[name=full_name]")["value"] == "John Smith"
    assert change.select_one("input[name=relationship][value=partner]").has_attr("checked")
    response = _post_from(client, f"{LIST}/1", {**JOHN, "full_name": "John Smythe"})
    assert response.status_code == 303
    assert [p["full_name"] for p in _answers(db_session)["household"]] == ["John Smythe", "Amy Smith"]
    # Remove Amy: asked first; "No" keeps her.
    ask = page(client.get(f"{LIST}/2/remove"))
    assert heading(ask) == "Are you sure you want to remove Amy Smith?"
    assert _post_from(client, f"{LIST}/2/remove", {"remove-item": "no"}).status_code == 303
    assert len(_answers(db_session)["household"]) == 2
    response = _post_from(client, f"{LIST}/2/remove", {})
    assert error_summary(page(response)) == [("Select yes if you want to remove Amy Smith", "#remove-item")]
    response = _post_from(client, f"{LIST}/2/remove", {"remove-item": "yes"})
    assert response.headers["Location"].endswith("/household-members?removed=1")
    soup = page(client.get(response.headers["Location"]))
    assert "Person removed" in soup.select_one(".govuk-notification-banner--success").get_text()
    assert heading(soup) == "You have added 1 person"
    # One person, a partner: the partner page, not the bedrooms page (2 or more people).
    response = citizen.answer(SERVICE, "household-members", {"add-another": "no"})
    assert response.headers["Location"].endswith("/partner")
    response = citizen.answer(SERVICE, "partner", {})  # optional
    assert response.headers["Location"].endswith("/your-details")
    response = citizen.answer(SERVICE, "your-details", dict(CONTACT))
    assert response.headers["Location"].endswith("/check-answers")
    check = page(client.get(f"/services/{SERVICE}/check-answers"))
    row = next(r for r in check.select(".govuk-summary-list__row") if "People who live with you" in r.get_text())
    assert row.select_one("dd").get_text(" ", strip=True) == "John Smythe: Partner, 14 February 1979"
    assert row.select_one("a")["href"] == "/services/household-members/household-members?change=1#add-another"
    assert citizen.submit(SERVICE).status_code == 303
    stored = db_session.exec(select(Submission)).one()
    assert stored.answers["household"] == [
        {"full_name": "John Smythe", "relationship": "partner", "date_of_birth": "1979-02-14"}
    ]
    assert "bedrooms" not in stored.answers


def test_two_people_ask_the_bedrooms_page_and_a_partner_the_partner_page(citizen, client, db_session) -> None:
    _two_people(citizen, client)
    response = citizen.answer(SERVICE, "household-members", {"add-another": "no"})
    assert response.headers["Location"].endswith("/partner")
    refused = citizen.answer(SERVICE, "partner", {"partner_ni_number": "QQ12"})
    assert error_summary(page(refused)) == [
        ("Enter a National Insurance number in the correct format", "#partner-ni-number")
    ]
    response = citizen.answer(SERVICE, "partner", {"partner_ni_number": "ab 12 34 56 c"})
    assert response.headers["Location"].endswith("/bedrooms")
    # John's relationship changes to "other": nobody is a partner, so the partner page goes (its
    # answer is kept in the session, but neither shown nor sent).
    response = _post_from(client, f"{LIST}/1", {**JOHN, "relationship": "other"})
    assert response.status_code == 303
    response = citizen.answer(SERVICE, "household-members", {"add-another": "no"})
    assert response.headers["Location"].endswith("/bedrooms")
    assert citizen.answer(SERVICE, "bedrooms", {"bedrooms": "3"}).headers["Location"].endswith("/your-details")
    assert citizen.answer(SERVICE, "your-details", dict(CONTACT)).headers["Location"].endswith("/check-answers")
    assert citizen.submit(SERVICE).status_code == 303
    stored = db_session.exec(select(Submission)).one().answers
    assert [p["relationship"] for p in stored["household"]] == ["other", "child"]
    assert stored["bedrooms"] == 3 and "partner_ni_number" not in stored


def test_an_item_s_errors_link_to_its_own_fields_and_nothing_is_stored(citizen, client, db_session) -> None:
    _to_list(citizen)
    bad = {"full_name": "", "relationship": "cousin", "date_of_birth-day": "31", "date_of_birth-month": "2"}
    response = _post_from(client, LIST, {**bad, "date_of_birth-year": "2001"})
    assert response.status_code == 200
    soup = page(response)
    assert error_summary(soup) == [
        ("Enter their full name", "#full-name"),
        ("Select how they are related to you", "#relationship"),
        ("Their date of birth must be a real date", "#date-of-birth-day"),
    ]
    assert "Enter their full name" in inline_errors(soup)
    assert soup.select_one("input[name=date_of_birth-day]")["value"] == "31"  # kept as typed
    assert "household" not in _answers(db_session)
    # Over the length limit: refused with the limit in the message.
    response = _post_from(client, LIST, {**AMY, "full_name": "A" * 101})
    assert error_summary(page(response)) == [("Their full name must be 100 characters or less", "#full-name")]
    assert "household" not in _answers(db_session)
    # The service's own message for a date of birth in the future ("household.date_of_birth").
    future = {"date_of_birth-day": "1", "date_of_birth-month": "1", "date_of_birth-year": "2099"}
    response = _post_from(client, LIST, {**AMY, **future})
    assert error_summary(page(response)) == [("Their date of birth must be in the past", "#date-of-birth-day")]


@pytest.mark.parametrize("number", ["9", "0", "abc", "-1", "1.5", "99999999999", "%C2%B2"])
def test_an_item_number_out_of_range_goes_back_to_the_list_and_stores_nothing(
    citizen, client, db_session, number: str
) -> None:
    _to_list(citizen)
    assert _post_from(client, LIST, JOHN).status_code == 303
    before = _answers(db_session)
    for url in (f"{LIST}/{number}", f"{LIST}/{number}/remove"):
        response = client.get(url)
        assert response.status_code == 303, url
        assert response.headers["Location"].endswith("/household-members?problem=no-such-item")
        token = _hidden(page(client.get(LIST)), "csrf_token")
        posted = client.post(url, data={**AMY, "remove-item": "yes", "csrf_token": token})
        assert posted.status_code == 303 and posted.headers["Location"].endswith("?problem=no-such-item")
    soup = page(client.get(f"{LIST}?problem=no-such-item"))
    banner = soup.select_one(".govuk-notification-banner").get_text(" ", strip=True)
    assert "There is no person with that number in your list. Nothing has been changed." in banner
    assert _answers(db_session) == before
    # Item 2 is the next to add: that one is a page (an "add another" of one more).
    assert client.get(f"{LIST}/2").status_code == 200
    assert client.get(f"{LIST}/3").status_code == 303


def test_a_removed_item_posted_again_is_refused_and_nothing_changes(citizen, client, db_session) -> None:
    _two_people(citizen, client)
    remove_first = page(client.get(f"{LIST}/1/remove"))
    form = {f["name"]: f["value"] for f in remove_first.select("form input[type=hidden]")}
    response = client.post(f"{LIST}/1/remove", data={**form, "remove-item": "yes"})
    assert response.headers["Location"].endswith("?removed=1")
    assert [p["full_name"] for p in _answers(db_session)["household"]] == ["Amy Smith"]
    # The same removal again (the back button, a second tab): Amy is now person 1, and stays.
    again = client.post(f"{LIST}/1/remove", data={**form, "remove-item": "yes"})
    assert again.status_code == 303 and again.headers["Location"].endswith("?problem=changed")
    assert [p["full_name"] for p in _answers(db_session)["household"]] == ["Amy Smith"]
    banner = page(client.get(again.headers["Location"])).select_one(".govuk-notification-banner").get_text()
    assert "nothing has been saved from it" in banner
    # A change page shown for a person who has gone since: refused too, never added as new.
    change_page = page(client.get(f"{LIST}/1"))
    stale = {f["name"]: f["value"] for f in change_page.select("form input[type=hidden]")}
    remove = page(client.get(f"{LIST}/1/remove"))
    token = {f["name"]: f["value"] for f in remove.select("form input[type=hidden]")}
    assert client.post(f"{LIST}/1/remove", data={**token, "remove-item": "yes"}).status_code == 303
    assert "household" not in _answers(db_session)  # the last one gone: no empty list stored
    response = client.post(f"{LIST}/1", data={**stale, **AMY})
    assert response.headers["Location"].endswith("?problem=changed")
    assert "household" not in _answers(db_session)


def test_the_list_refuses_more_than_its_limit(citizen, client, db_session) -> None:
    _to_list(citizen)
    assert _post_from(client, LIST, {**AMY, "full_name": "Person 1"}).status_code == 303
    for n in range(2, 11):
        assert _post_from(client, f"{LIST}/{n}", {**AMY, "full_name": f"Person {n}"}).status_code == 303
    full = page(client.get(LIST))
    assert heading(full) == "You have added 10 people"
    assert full.select_one("input[name=add-another]") is None
    assert "You cannot add more than 10 people." in full.select_one(".govuk-inset-text").get_text()
    response = client.get(f"{LIST}/11")
    assert response.headers["Location"].endswith("?problem=full")
    token = _hidden(full, "csrf_token")
    assert client.post(f"{LIST}/11", data={**AMY, "csrf_token": token}).headers["Location"].endswith("?problem=full")
    assert len(_answers(db_session)["household"]) == 10
    # "Continue" with no choice to make moves on (nobody is a partner; 2 or more people).
    response = client.post(LIST, data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/bedrooms")


def test_an_invalid_stored_item_is_shown_on_the_list_with_a_link_to_its_field(citizen, client, db_session) -> None:
    """An item that no longer passes (a stored answer the service's rules now refuse): Continue
    on the list names it, linking to the field on that person's own page; check answers sends
    the citizen back there."""
    _two_people(citizen, client)
    row = db_session.exec(select(FormSession)).one()
    answers = dict(row.answers)
    answers["household"] = [answers["household"][0], {"relationship": "child"}]
    row.answers = answers
    db_session.add(row)
    db_session.commit()
    response = citizen.answer(SERVICE, "household-members", {"add-another": "no"})
    assert response.status_code == 200
    assert error_summary(page(response)) == [
        ("Enter their full name", "/services/household-members/household-members/2#full-name")
    ]
    check = client.get(f"/services/{SERVICE}/check-answers")
    assert check.headers["Location"].endswith("/household-members")


def test_missing_csrf_token_is_refused(citizen, client, db_session) -> None:
    _to_list(citizen)
    assert client.post(LIST, data=JOHN).status_code == 400
    assert client.post(f"{LIST}/1", data=JOHN).status_code == 400
    assert "household" not in _answers(db_session)


def test_an_item_page_of_a_page_that_asks_no_list_is_not_found(citizen, client) -> None:
    _to_list(citizen)
    assert client.get(f"/services/{SERVICE}/your-address/1").status_code == 404
    assert client.get(f"/services/{SERVICE}/no-such-page/1/remove").status_code == 404


# -- what was typed into an item's page while the form sat idle is not lost (as a page's is:
#    tests/runtime/test_shared_computer.py) --------------------------------------------------------


def _typed_while_idle(client: Any, db_session: Any, url: str, data: dict[str, Any]) -> Any:
    """``url``'s page opened, ``data`` typed into it for longer than the idle limit, then sent."""
    soup = page(client.get(url))
    hidden = {str(f["name"]): str(f["value"]) for f in soup.select("form input[type=hidden]")}
    leave_idle(db_session, idle_minutes(client) + 1)
    return client.post(url, data={**hidden, **data})


def _names(db_session: Any) -> list[str]:
    return [p["full_name"] for p in _answers(db_session).get("household", [])]


def test_a_change_to_an_item_typed_past_the_idle_limit_is_saved_on_continue(citizen, client, db_session) -> None:
    _two_people(citizen, client)
    choice = _typed_while_idle(client, db_session, f"{LIST}/2", {**AMY, "full_name": "Amy Jones"})
    assert choice.status_code == 200
    html = choice.get_data(as_text=True)
    assert "If you continue, the answers you gave on this page will be kept." in html
    assert "John Smith" not in html and "Amy Smith" not in html  # nothing stored is shown
    assert page(choice).select_one("main form")["action"] == f"{LIST}/2"
    assert _names(db_session) == ["John Smith", "Amy Smith"]  # not saved yet
    # No choice made: asked again, still holding what was typed (the item's fingerprint too).
    again = choose(client, choice, "")
    assert error_summary(page(again)) == [
        ("Select whether to continue the application you started or start again", "#choice")
    ]
    assert posted_back(again, "continue") == posted_back(choice, "continue")
    assert ("item-fingerprint", _hidden(page(choice), "item-fingerprint")) in posted_back(choice, "continue")
    response = choose(client, again, "continue")
    assert response.status_code == 303 and response.headers["Location"].endswith("/household-members")
    assert _names(db_session) == ["John Smith", "Amy Jones"]
    # In use again: the list opens without asking.
    assert heading(page(client.get(LIST))) == "You have added 2 people"


def test_the_first_person_typed_on_the_list_s_page_past_the_idle_limit_is_saved_on_continue(
    citizen, client, db_session
) -> None:
    _to_list(citizen)  # nothing added yet: the list's page asks for person 1
    choice = _typed_while_idle(client, db_session, LIST, JOHN)
    assert "If you continue, the answers you gave on this page will be kept." in choice.get_data(as_text=True)
    assert page(choice).select_one("main form")["action"] == LIST
    assert "household" not in _answers(db_session)
    response = choose(client, choice, "continue")
    assert response.status_code == 303 and response.headers["Location"].endswith("/household-members")
    assert _names(db_session) == ["John Smith"]


def test_start_again_discards_an_item_typed_past_the_idle_limit(citizen, client, db_session) -> None:
    _two_people(citizen, client)
    old = _answers(db_session)
    choice = _typed_while_idle(
        client, db_session, f"{LIST}/3", {"full_name": "Zebracorn Smith", "relationship": "child"}
    )
    response = choose(client, choice, "start-again")
    assert response.status_code == 303 and response.headers["Location"].endswith("/your-address")
    assert _answers(db_session) == {} != old
    assert "Zebracorn" not in client.get(LIST, follow_redirects=True).get_data(as_text=True)


def test_an_item_post_into_an_idle_form_carries_only_the_item_s_own_fields(citizen, client, db_session) -> None:
    _two_people(citizen, client)
    forged = {**AMY, "full_name": "", "address-line1": "1 Forged Road", "bedrooms": "9"}
    choice = _typed_while_idle(client, db_session, f"{LIST}/2", forged)
    carried = {name for name, _ in posted_back(choice, "continue")}
    assert carried == {"full_name", "relationship", "item-fingerprint", "idle-choice"}
    assert "Forged" not in choice.get_data(as_text=True)
    # What was typed has an error: after Continue it shows on the item's page, nothing is saved,
    # and the form is in use again (the list opens without asking).
    shown = choose(client, choice, "continue")
    assert shown.status_code == 200
    assert error_summary(page(shown)) == [("Enter their full name", "#full-name")]
    assert _names(db_session) == ["John Smith", "Amy Smith"]
    assert client.get(LIST).status_code == 200


def test_a_removal_posted_into_an_idle_form_asks_first_and_removes_nothing(citizen, client, db_session) -> None:
    _two_people(citizen, client)
    response = _typed_while_idle(client, db_session, f"{LIST}/1/remove", {"remove-item": "yes"})
    assert response.status_code == 303 and "continue-or-start-again" in response.headers["Location"]
    assert _names(db_session) == ["John Smith", "Amy Smith"]


def test_a_removal_posted_twice_never_removes_the_same_person_added_again(citizen, client, db_session) -> None:
    """Amy added twice by mistake; "Yes, remove" pressed twice (or posted again from the back
    button): the second post finds the other Amy where the first was, and is refused."""
    _two_people(citizen, client)
    citizen.answer(SERVICE, "household-members", {"add-another": "yes"})
    assert _post_from(client, f"{LIST}/3", AMY).status_code == 303
    assert _names(db_session) == ["John Smith", "Amy Smith", "Amy Smith"]
    soup = page(client.get(f"{LIST}/2/remove"))
    form = {str(f["name"]): str(f["value"]) for f in soup.select("form input[type=hidden]")}
    first = client.post(f"{LIST}/2/remove", data={**form, "remove-item": "yes"})
    assert first.headers["Location"].endswith("?removed=1")
    again = client.post(f"{LIST}/2/remove", data={**form, "remove-item": "yes"})
    assert again.status_code == 303 and again.headers["Location"].endswith("?problem=changed")
    assert _names(db_session) == ["John Smith", "Amy Smith"]


def test_an_item_over_the_answers_cap_is_refused_as_too_large_and_not_stored(settings, db_session) -> None:
    app = create_citizen_app(
        {
            "SETTINGS": dataclasses.replace(settings, max_post_bytes=64 * 1024, max_answers_bytes=64 * 1024),
            "TESTING": True,
        }
    )
    client = app.test_client()
    try:
        _to_list(Citizen(client))
        with dbmod.session(app.extensions["civicforms.engine"]) as db:
            (row,) = db.exec(select(FormSession)).all()
            row.answers = {**row.answers, "padding": "x" * (64 * 1024 - 60)}
            db.add(row)
            db.commit()
        response = _post_from(client, LIST, JOHN)
        assert response.status_code == 413
        assert "household" not in _answers(db_session)
    finally:
        for engine in app.extensions["civicforms.engines"]:
            engine.dispose()

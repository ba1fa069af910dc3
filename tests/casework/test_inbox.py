"""The inbox: what each member of staff sees, the filters, search, keyset pagination, bulk
assignment; and the development outbox page."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime.models import utcnow
from runtime.settings import Settings
from runtime.web.casework import create_casework_app
from tests.casework.conftest import OTHER_SERVICE, Office, banner, csrf, errors_of, inbox_references
from tests.conftest import page


def _rows(client: FlaskClient, url: str = "/") -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return inbox_references(page(response))


def test_the_inbox_lists_the_departments_cases_soonest_deadline_first(office: Office) -> None:
    now = utcnow()
    late = office.new_case(name="Lara Late")
    soon = office.new_case(name="Sam Soon")
    none = office.new_case(name="Nina Nodeadline")
    office.update_case(late, deadline_at=now + timedelta(days=9))
    office.update_case(soon, deadline_at=now - timedelta(days=1))
    office.new_case(name="Bill Bins", service_id=OTHER_SERVICE)  # another department's
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    soup = page(client.get("/"))
    assert inbox_references(soup) == [soon, late, none]
    rows = soup.select("table.cf-inbox tbody tr")
    assert "Overdue" in rows[0].get_text() and "Overdue" not in rows[1].get_text()
    assert "Sam Soon" in rows[0].get_text() and "Blue Badge" in rows[0].get_text()
    assert "Received" in rows[0].get_text() and "Nobody" in rows[0].get_text()
    assert not soup.select("input[name=case]")  # no bulk assignment for a caseworker
    link = rows[0].select_one("a")
    assert link["href"] == f"/casework/cases/{soon}"


def test_a_caseworker_of_another_department_sees_nothing_of_the_case(office: Office) -> None:
    reference = office.new_case(name="Ada Lovelace")
    outsider = office.sign_in(office.staff("Otto Outsider", "caseworker", department=office.other_department))
    for url in ("/", f"/?q={reference}", "/?q=Ada", "/?service=blue-badge", "/?state=received"):
        response = outsider.get(url)
        assert response.status_code == 200
        soup = page(response)
        main = soup.select_one("main").get_text()
        assert not inbox_references(soup)
        assert reference not in main, url
        assert "Ada Lovelace" not in main, url
        assert "There are no cases" in soup.select_one(".cf-no-cases").get_text()
    assert "Blue Badge" not in page(outsider.get("/")).select_one("select#service").get_text()


def test_filters_and_search(office: Office) -> None:
    now = utcnow()
    casey = office.staff("Casey Worker", "caseworker")
    mine = office.new_case(name="Mary Mine")
    overdue = office.new_case(name="Owen Overdue")
    approved = office.new_case(name="Alan Approved")
    office.update_case(mine, assigned_to=casey.id)
    office.update_case(overdue, deadline_at=now - timedelta(hours=1))
    office.update_case(approved, state="approved", closed_at=now)
    client = office.sign_in(casey)
    assert _rows(client) == [overdue, mine]  # closed cases are left out
    assert _rows(client, "/?assigned=me") == [mine]
    assert _rows(client, "/?assigned=unassigned") == [overdue]
    assert _rows(client, "/?overdue=1") == [overdue]
    assert _rows(client, "/?state=approved") == [approved]
    assert _rows(client, "/?service=blue-badge") == [overdue, mine]
    assert _rows(client, f"/?service={OTHER_SERVICE}") == []
    assert _rows(client, "/?q=mary") == [mine]
    assert _rows(client, "/?q=OVERDUE") == [overdue]  # a surname
    assert _rows(client, f"/?q={mine}") == [mine]
    assert _rows(client, f"/?q={mine.lower()}") == [mine]
    assert _rows(client, "/?q=nobody+at+all") == []
    soup = page(client.get("/?assigned=me&overdue=1&q=x"))
    assert soup.select_one("input#assigned-2")["value"] == "me" and soup.select_one("input#assigned-2").has_attr(
        "checked"
    )
    assert soup.select_one("input[name=tag][value=overdue]").has_attr("checked")
    assert soup.select_one("input#q")["value"] == "x"
    assert "match these filters" in soup.select_one(".cf-no-cases").get_text()


def test_odd_filter_values_are_harmless(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    for url in (
        "/?assigned=everyone",
        "/?overdue=maybe",
        "/?q=%25",
        "/?q=_",
        "/?q=" + "x" * 5000,
        "/?service=" + "s" * 5000,
        "/?state=%3Cscript%3E",
        "/?q=%00",
        "/?trail=garbage",
        "/?trail=.%3Cscript%3E.x",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<script>" not in response.get_data(as_text=True)
    assert _rows(client, "/?assigned=everyone") == [reference]
    assert _rows(client, "/?q=%25") == []


def test_keyset_pagination_next_and_previous(office: Office, casework_app: Flask) -> None:
    casework_app.config["CASEWORK_PAGE_SIZE"] = 2
    now = utcnow()
    made = []
    for days in range(5):
        reference = office.new_case(name=f"Person {days}")
        office.update_case(reference, deadline_at=now + timedelta(days=days))
        made.append(reference)
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))

    def links(url: str) -> tuple[list[str], str | None, str | None]:
        soup = page(client.get(url))
        nxt = soup.select_one(".govuk-pagination__next a")
        prev = soup.select_one(".govuk-pagination__prev a")
        return inbox_references(soup), nxt["href"] if nxt else None, prev["href"] if prev else None

    first, next1, prev1 = links("/?service=blue-badge")
    assert first == made[:2] and prev1 is None and next1 is not None
    assert "service=blue-badge" in next1  # the filters go with the page
    assert next1.startswith("/casework/?")
    second, next2, prev2 = links(next1.removeprefix("/casework"))
    assert second == made[2:4] and next2 is not None and prev2 is not None
    third, next3, prev3 = links(next2.removeprefix("/casework"))
    assert third == made[4:] and next3 is None and prev3 is not None
    back, _, _ = links(prev3.removeprefix("/casework"))
    assert back == made[2:4]
    again, _, prev_again = links(prev2.removeprefix("/casework"))
    assert again == made[:2] and prev_again is None
    # A case that moves meanwhile neither repeats nor disappears from the pages still to come.
    office.update_case(made[0], deadline_at=now + timedelta(days=30))
    assert _rows(client, next1.removeprefix("/casework")) == made[2:4]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "x" * 5000,
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00", 1]').decode(),  # no time zone
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(json.dumps([None, -4]).encode()).decode(),
        "%FF%FE",
    ],
)
def test_a_malformed_cursor_is_a_clear_400(office: Office, cursor: str) -> None:
    office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = client.get(f"/?after={cursor}")
    assert response.status_code == 400
    soup = page(response)
    assert soup.h1.get_text(strip=True) == "This page of the inbox does not exist"
    assert "first page" in soup.select_one("main").get_text()


def test_a_manager_assigns_cases_in_bulk(office: Office) -> None:
    colleague = office.staff("Colin Colleague", "caseworker")
    office.staff("Otto Outsider", "caseworker", department=office.other_department)
    a, b, c = office.new_case(name="A One"), office.new_case(name="B Two"), office.new_case(name="C Three")
    other = office.new_case(name="Bill Bins", service_id=OTHER_SERVICE)
    client = office.sign_in(office.staff("Mona Manager", "manager"))
    soup = page(client.get("/"))
    boxes = {box["value"]: box for box in soup.select("input[name=case]")}
    assert len(boxes) == 3
    people = [o.get_text(strip=True) for o in soup.select("select#assignee option")]
    assert "Colin Colleague" in people and "Otto Outsider" not in people and "Mona Manager" not in people
    ids = [str(office.case(r).id) for r in (a, b)]
    form = {
        "csrf_token": csrf(client, "/"),
        "case": [*ids, str(office.case(other).id)],  # a forged id of another department's case is skipped
        "assignee": str(colleague.id),
    }
    response = client.post("/assign", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    soup = page(client.get(response.headers["Location"].removeprefix("/casework")))
    assert "2 cases assigned to Colin Colleague" in banner(soup)
    assert office.case(a).assigned_to == colleague.id and office.case(b).assigned_to == colleague.id
    assert office.case(c).assigned_to is None and office.case(other).assigned_to is None
    assert [e[0] for e in office.events(a)] == ["submitted", "assign"]
    # Unassign them again, keeping the filters of the page the form came from.
    form = {"csrf_token": form["csrf_token"], "case": ids, "assignee": "nobody", "assigned": "unassigned"}
    response = client.post("/assign", data=form)
    assert response.status_code == 303 and "assigned=unassigned" in response.headers["Location"]
    assert office.case(a).assigned_to is None


def test_bulk_assignment_bad_input(office: Office) -> None:
    colleague = office.staff("Colin Colleague", "caseworker")
    outsider = office.staff("Otto Outsider", "caseworker", department=office.other_department)
    reference = office.new_case()
    case_id = str(office.case(reference).id)
    manager = office.sign_in(office.staff("Mona Manager", "manager"))
    token = csrf(manager, "/")
    cases_ = [
        ({"assignee": str(colleague.id)}, "Select the cases to assign"),
        ({"case": ["abc", "-1", "9" * 40], "assignee": str(colleague.id)}, "Select the cases to assign"),
        ({"case": case_id}, "Choose who to assign the cases to"),
        ({"case": case_id, "assignee": "<script>"}, "Choose who to assign the cases to"),
        (
            {"case": case_id, "assignee": str(outsider.id)},
            "Cases can only be assigned to a caseworker or manager of the case's department",
        ),
        ({"case": [str(i) for i in range(1, 103)], "assignee": "me"}, "Select at most 100 cases at a time"),
    ]
    for data, message in cases_:
        response = manager.post("/assign", data={"csrf_token": token, **data})
        assert response.status_code == 400, data
        assert message in errors_of(page(response)), data
        assert "<script>" not in response.get_data(as_text=True)
    assert office.case(reference).assigned_to is None
    # A caseworker has no bulk assignment at all.
    caseworker = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = caseworker.post("/assign", data={"csrf_token": csrf(caseworker, "/"), "case": case_id, "assignee": "me"})
    assert response.status_code == 403
    assert office.case(reference).assigned_to is None


def test_the_outbox_lists_messages_in_development_and_test(office: Office) -> None:
    office.new_case(email="ada@example.com")
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    soup = page(client.get("/"))
    assert [a.get_text(strip=True) for a in soup.select("li.govuk-service-navigation__item a")] == [
        "Cases",
        "Citizens",
        "Email settings",
        "Outbox",
    ]
    response = client.get("/outbox")
    assert response.status_code == 200
    rows = page(response).select("table.cf-outbox tbody tr")
    recipients = [r.select("td")[1].get_text(strip=True) for r in rows]
    assert "ada@example.com" in recipients
    submitted = rows[recipients.index("ada@example.com")].get_text(" ", strip=True)
    assert "we have received your application" in submitted and "Pending" in submitted


def test_the_outbox_is_a_404_in_production(settings: Settings) -> None:
    app = create_casework_app({"SETTINGS": replace(settings, environment="production"), "TESTING": True})
    try:
        office = Office(app)
        client = office.sign_in(office.staff("Casey Worker", "caseworker"))
        assert client.get("/outbox").status_code == 404
        nav = [a.get_text(strip=True) for a in page(client.get("/")).select("li.govuk-service-navigation__item a")]
        assert nav == ["Cases", "Citizens", "Email settings"]
    finally:
        app.extensions["civicforms.engine"].dispose()


def test_the_staff_cookie_is_signed(office: Office, casework: FlaskClient) -> None:
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    cookie = client.get_cookie("civicforms_staff", path="/casework")
    assert cookie is not None and cookie.http_only
    assert client.get_cookie("civicforms_session") is None
    # A tampered cookie does not sign anyone in here.
    casework.set_cookie("civicforms_staff", cookie.value.replace(".", "x", 1), path="/casework")
    response = casework.get("/")
    assert response.status_code == 303 and "/casework/sign-in" in response.headers["Location"]

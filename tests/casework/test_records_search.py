"""Citizen search in the back office: what it finds, what it shows and to whom, the access log,
and hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from runtime.models import AccessLog
from tests.casework.conftest import BLUE_BADGE_ANSWERS, OTHER_SERVICE, Office, errors_of
from tests.conftest import page


def _results(client: Any, **args: str) -> list[int]:
    response = client.get("/citizens", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    return [int(tr["data-record"]) for tr in page(response).select("table.cf-records tbody tr")]


def _log(office: Office) -> list[AccessLog]:
    with office.session() as s:
        return list(s.exec(select(AccessLog).order_by(col(AccessLog.id))))


def test_search_finds_records_by_each_field_and_shows_only_what_the_viewer_may_see(office: Office) -> None:
    ada = office.case(office.new_case(name="Ada Lovelace", email="ada@example.com")).citizen_id
    josé = office.case(
        office.new_case(
            name="José Núñez",
            email="jose@example.com",
            answers={
                **BLUE_BADGE_ANSWERS,
                "date_of_birth": "1961-02-01",
                "ni_number": "JN123456A",
                "phone": "07700 900982",
                "address": {"line1": "1 High St", "town": "W", "postcode": "WB9 9ZZ"},
            },
        )
    ).citizen_id
    bins = office.case(office.new_case(name="Bill Bins", email="bill@example.com", service_id=OTHER_SERVICE)).citizen_id
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    assert _results(client, name="ada") == [ada]
    assert _results(client, name="LOVEL") == [ada]  # surname first, any case
    assert _results(client, name="jose nun") == [josé]  # accents folded
    assert _results(client, name="núñez") == [josé]
    assert _results(client, email="ADA@example.com ") == [ada]
    assert _results(client, phone="+44 7700 900982") == [josé]
    assert _results(client, ni_number="jn 12 34 56 a") == [josé]
    assert _results(client, postcode="wb1 2ab") == [ada]
    assert _results(client, postcode="WB9") == [josé]
    assert _results(client, **{"date_of_birth-day": "3", "date_of_birth-month": "7", "date_of_birth-year": "1950"}) == [
        ada
    ]
    reference = office.case(office.new_case(name="Ada Lovelace", email="ada@example.com")).reference
    assert _results(client, reference=reference.lower()) == [ada]
    assert _results(client, name="ada", postcode="WB9") == []  # every field must match
    # Another department's person: nothing by search, by name, email or reference.
    assert _results(client, name="bill") == []
    assert _results(client, email="bill@example.com") == []
    soup = page(client.get("/citizens", query_string={"name": "ada"}))
    [row] = soup.select("table.cf-records tbody tr")
    cells = [td.get_text(" ", strip=True) for td in row.select("td")]
    assert cells == [str(ada), "Ada Lovelace", "3 July 1950", "WB1 2AB"]
    # Waste and Recycling sees Bill, and nothing of Ada.
    other = office.sign_in(office.staff("Otto Outsider", "caseworker", department=office.other_department))
    assert _results(other, name="bill") == [bins]
    assert _results(other, name="ada") == []
    assert _results(other, reference=reference) == []


def test_each_search_is_logged_with_what_it_searched_by_never_the_values(office: Office) -> None:
    office.new_case()
    user = office.staff("Casey Worker", "caseworker")
    client = office.sign_in(user)
    before = len(_log(office))
    client.get("/citizens")  # the empty form: no search
    assert len(_log(office)) == before
    _results(client, name="ada", email="ada@example.com")
    [row] = _log(office)[before:]
    assert row.action == "search" and row.staff_id == user.id and row.department_id == office.department
    assert row.detail == {"by": ["email", "name"]}
    assert "ada" not in str(row.detail)


def test_search_pages_by_record_number(office: Office) -> None:
    office.app.config["CASEWORK_PAGE_SIZE"] = 2
    ids = [
        office.case(office.new_case(name=f"Ada Lovelace{'abcde'[i]}", email=f"ada{i}@example.com")).citizen_id
        for i in range(5)
    ]
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    seen: list[int] = []
    url: str | None = "/citizens?name=ada"
    while url:
        soup = page(client.get(url))
        seen += [int(tr["data-record"]) for tr in soup.select("table.cf-records tbody tr")]
        link = soup.select_one(".govuk-pagination__next a")
        url = link["href"].removeprefix("/casework") if link else None
    assert len(set(ids)) == 5 and seen == sorted(ids)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"name": "x" * 10_000}, "name"),
        ({"email": "a" * 10_000}, "email"),
        ({"email": "not an email"}, "email"),
        ({"nhs_number": "1" * 200}, "nhs_number"),
        ({"nhs_number": "1234567890"}, "nhs_number"),
        ({"ni_number": "'; DROP TABLE citizen; --"}, "ni_number"),
        ({"phone": "\x00\x00"}, "phone"),
        ({"name": "ada\x00"}, "name"),
        ({"name": "!!!"}, "name"),
        ({"postcode": "<script>"}, "postcode"),
        ({"reference": "x" * 10_000}, "reference"),
        ({"date_of_birth-day": "31", "date_of_birth-month": "2", "date_of_birth-year": "1990"}, "date_of_birth"),
        ({"date_of_birth-day": "1", "date_of_birth-month": "1", "date_of_birth-year": "2090"}, "date_of_birth"),
        ({"date_of_birth-day": "1", "date_of_birth-month": "1"}, "date_of_birth"),
        ({"date_of_birth-day": "x", "date_of_birth-month": "1", "date_of_birth-year": "1990"}, "date_of_birth"),
        ({"name": "ada", "after": "bogus\x00"}, "search"),
    ],
)
def test_hostile_search_input_gets_a_clear_message_and_no_search(
    office: Office, args: dict[str, str], field: str
) -> None:
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    before = len(_log(office))
    response = client.get("/citizens", query_string=args)
    assert response.status_code == 400
    soup = page(response)
    assert errors_of(soup), soup.get_text()[:500]
    assert soup.select("table.cf-records") == []
    assert len(_log(office)) == before  # nothing searched, nothing logged


def test_search_results_are_escaped(office: Office) -> None:
    office.new_case(name="<script>alert(1)</script> Smith", email="x@example.com")
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = client.get("/citizens", query_string={"name": "smith", "email": "x@example.com"})
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Smith" in html
    typed = client.get("/citizens", query_string={"name": '"><b>bold</b>'}).get_data(as_text=True)
    assert "<b>bold</b>" not in typed


def test_search_needs_a_records_permission(office: Office) -> None:
    designer = office.sign_in(office.staff("Dee Designer", "designer"))
    assert designer.get("/citizens?name=ada").status_code == 403
    assert office.app.test_client().get("/citizens").status_code in (302, 303)

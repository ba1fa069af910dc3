"""Add another (issue 18, part C) in the back office: the household service's people on the case
page as a table (a row per person, a column per question), and in the inbox's CSV export of that
service as a column per person's answer ("People 1: Full name"), empty for people not added."""

from __future__ import annotations

import csv
import io
import json

import pytest

from runtime import cases, versions
from runtime import workflow as wf
from runtime.checker import check
from runtime.data import published
from runtime.models import utcnow
from runtime.settings import PROJECT_ROOT
from tests.casework.conftest import Office
from tests.conftest import page

SERVICE = "household-members"
ANSWERS = {
    "address": {"line1": "1 High St", "town": "Westbridge", "postcode": "WB1 1AA"},
    "household": [
        {"full_name": "John Smith", "relationship": "partner", "date_of_birth": "1979-02-14"},
        {"full_name": '=HYPERLINK("http://evil")', "relationship": "child"},
    ],
    "partner_ni_number": "AB123456C",
    "bedrooms": 2,
}


def test_the_case_page_shows_each_person_as_a_row_of_a_table(office: Office) -> None:
    reference = office.new_case(name="Jane Smith", email="jane@example.com", service_id=SERVICE, answers=ANSWERS)
    housing = office.department_of(SERVICE)
    client = office.sign_in(office.staff("Harry Housing", "caseworker", department=housing))
    soup = page(client.get(f"/cases/{reference}"))
    table = soup.select_one(".cf-answers table.cf-items")
    assert table is not None
    assert table.caption.get_text(strip=True) == "People who live with you"
    assert [th.get_text(strip=True) for th in table.select("thead th")] == [
        "Full name",
        "Relationship",
        "Date of birth",
    ]
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in table.select("tbody tr")]
    assert rows == [
        ["John Smith", "Partner", "14 February 1979"],
        ['=HYPERLINK("http://evil")', "Child", "Not answered"],  # escaped, shown as typed
    ]
    # Another department's caseworker sees no case (and so no people).
    outsider = office.sign_in(office.staff("Otto", "caseworker"))
    assert outsider.get(f"/cases/{reference}").status_code == 404


def test_the_inbox_export_of_the_service_has_a_column_per_person_s_answer(office: Office) -> None:
    reference = office.new_case(name="Jane Smith", email="jane@example.com", service_id=SERVICE, answers=ANSWERS)
    housing = office.department_of(SERVICE)
    client = office.sign_in(office.staff("Harry Housing", "caseworker", department=housing))
    response = client.get(f"/export.csv?service={SERVICE}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    head, values = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2 and values["Reference"] == reference
    people = [h for h in head if h.startswith("People ")]
    assert people[:4] == [
        "People 1: Full name",
        "People 1: Relationship",
        "People 1: Date of birth",
        "People 2: Full name",
    ]
    assert people[-1] == "People 10: Date of birth" and len(people) == 30
    assert values["People 1: Full name"] == "John Smith"
    assert values["People 1: Date of birth"] == "14 February 1979"
    assert values["People 2: Full name"] == '\'=HYPERLINK("http://evil")'  # neutralised for spreadsheets
    assert values["People 2: Relationship"] == "Child"
    assert values["People 3: Full name"] == ""
    assert values["Bedrooms"] == "2" and values["Address"] == "1 High St, Westbridge, WB1 1AA"
    # Without one service chosen, the export has the inbox's columns only.
    plain = list(csv.reader(io.StringIO(client.get("/export.csv").get_data(as_text=True))))
    assert not any(h.startswith("People ") for h in plain[0])
    # A service of another department: no answers columns, and no rows.
    other = list(csv.reader(io.StringIO(client.get("/export.csv?service=blue-badge").get_data(as_text=True))))
    assert len(other) == 1 and not any(h.startswith("People ") for h in other[0])


def test_a_request_for_information_does_not_ask_a_list_again(office: Office) -> None:
    """A list's items have pages of their own, which a request's reply page has not: the request
    form does not offer it, and a request naming it is refused."""
    reference = office.new_case(name="Jane Smith", email="jane@example.com", service_id=SERVICE, answers=ANSWERS)
    housing = office.department_of(SERVICE)
    worker = office.staff("Harry Housing", "caseworker", department=housing)
    client = office.sign_in(worker)
    soup = page(client.get(f"/cases/{reference}"))
    offered = {box["value"] for box in soup.select('input[name="questions"]')}
    assert "bedrooms" in offered and "household" not in offered
    case = office.case(reference)
    with office.session() as s, pytest.raises(wf.NotAllowed, match="People who live with you is a list and cannot"):
        cases.request_information(
            s,
            case_id=case.id,
            seen_lock_version=case.lock_version,
            staff_id=worker.id,
            questions=["household"],
            message="Tell us again who lives with you",
            now=utcnow(),
        )
    assert office.case(reference).lock_version == case.lock_version  # nothing asked


def test_the_export_keeps_every_person_of_a_case_sent_on_a_version_that_took_more(office: Office) -> None:
    """Version 2 takes at most 2 people; a case sent on version 1 (at most 10) has 4: all 4 are
    in the CSV, each under its own columns, not cut at the live version's maximum."""
    people = [*ANSWERS["household"], {"full_name": "Cat Smith", "relationship": "child"}]
    people.append({"full_name": "Dan Smith", "relationship": "other"})
    reference = office.new_case(
        name="Jane Smith", email="jane@example.com", service_id=SERVICE, answers={**ANSWERS, "household": people}
    )
    doc = json.loads((PROJECT_ROOT / "form_definitions" / f"{SERVICE}.json").read_text())
    with office.session() as s:
        doc["version"] = versions.definition(session=s, service_id=SERVICE).version + 1
        doc["schema"]["properties"]["household"]["maxItems"] = 2
        assert check(doc) == []
        published.publish(session=s, doc=doc)
        s.commit()
    client = office.sign_in(office.staff("Harry Housing", "caseworker", department=office.department_of(SERVICE)))
    rows = list(csv.reader(io.StringIO(client.get(f"/export.csv?service={SERVICE}").get_data(as_text=True))))
    values = dict(zip(rows[0], rows[1], strict=True))
    assert values["Reference"] == reference
    assert [values[f"People {n}: Full name"] for n in range(1, 5)] == [
        "John Smith",
        '\'=HYPERLINK("http://evil")',
        "Cat Smith",
        "Dan Smith",
    ]
    assert values["People 4: Relationship"] == "Other relative or someone else"
    assert rows[0][-1] != "People 2: Date of birth" and "People 10: Full name" in rows[0]

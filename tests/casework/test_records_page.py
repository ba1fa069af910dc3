"""The citizen record page: what it shows and to whom, sharing agreements, the access log,
undoing a link and splitting a join (checked in the stored rows), and the casework home."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from runtime.data import records
from runtime.models import AccessLog, CitizenLink, RecordMerge, SharingAgreement, Submission
from tests.casework.conftest import OTHER_SERVICE, Office, banner
from tests.conftest import page


def _record(office: Office, name: str = "Ada Lovelace", email: str = "ada@example.com", **kw: Any) -> tuple[int, str]:
    reference = office.new_case(name=name, email=email, **kw)
    return office.case(reference).citizen_id, reference


def _join(office: Office, citizen_id: int, into: int) -> int:
    with office.session() as s:
        link = records.merge_records(s, citizen_id=citizen_id, into_citizen_id=into, method="staff")
        s.commit()
        assert link.id is not None
        return link.id


def _agreement(office: Office, from_department: int, to_department: int, services: list[str] | None = None) -> None:
    with office.session() as s:
        s.add(
            SharingAgreement(
                from_department_id=from_department,
                to_department_id=to_department,
                service_ids=services,
                purpose="Joined-up support",
                lawful_basis="public_task",
                starts_on=date.today() - timedelta(days=1),
                ends_on=date.today() + timedelta(days=30),
            )
        )
        s.commit()


def test_the_record_page_shows_details_with_their_source_cases_links_and_history(office: Office) -> None:
    ada, reference = _record(office)
    _, second = _record(office)  # filed under the same record (same name, date of birth, email)
    assert office.case(second).citizen_id == ada
    user = office.staff("Casey Worker", "caseworker")
    client = office.sign_in(user)
    response = client.get(f"/citizens/{ada}")
    assert response.status_code == 200
    soup = page(response)
    assert soup.h1.get_text(strip=True) == f"Citizen record {ada}"
    details = {tr["data-kind"]: tr.get_text(" ", strip=True) for tr in soup.select(".cf-details tbody tr")}
    assert "ada@example.com" in details["email"] and "Apply for a Blue Badge" in details["email"]
    assert "AB123456C" in details["ni_number"] and "3 July 1950" in details["date_of_birth"]
    rows = soup.select(".cf-submissions tbody tr")
    assert [tr["data-reference"] for tr in rows] == [reference, second]
    assert rows[0].a["href"] == f"/casework/cases/{reference}" and "Received" in rows[0].get_text()
    assert [tr.select("td")[1].get_text(strip=True) for tr in soup.select(".cf-links tbody tr")] == [
        "New record",
        "Automatic: same name, date of birth and another detail",
    ]
    history = soup.select_one(".cf-record-history").get_text(" ", strip=True)
    assert "Record created" in history and "A submission was filed under this record automatically" in history
    assert soup.select(".cf-record-access") == []  # a caseworker does not see who looked
    assert soup.select("form.cf-undo-link") == []  # nor undo links
    with office.session() as s:
        [log] = s.exec(select(AccessLog).where(AccessLog.citizen_id == ada)).all()
    assert (log.action, log.staff_id) == ("view-record", user.id)


def test_another_department_sees_nothing_without_an_agreement_and_only_shared_services_with_one(office: Office) -> None:
    ada, reference = _record(office)
    bins, bin_reference = _record(office, service_id=OTHER_SERVICE)  # she also reported a missed bin
    _join(office, bins, ada)  # staff found it was her
    outsider = office.staff("Otto Outsider", "caseworker", department=office.other_department)
    manager = office.staff("Mona Manager", "manager")
    client = office.sign_in(outsider)
    response = client.get(f"/citizens/{ada}")
    assert response.status_code == 200
    soup = page(response)
    # Waste sees its own form, and that Adult Social Care has one, and whom to ask: no case data.
    assert [tr["data-reference"] for tr in soup.select(".cf-submissions tbody tr")] == [bin_reference]
    assert reference not in soup.get_text()
    assert "AB123456C" not in soup.get_text() and "3 July 1950" not in soup.get_text()  # given to the Blue Badge team
    [elsewhere] = soup.select(".cf-elsewhere")
    assert "1 other record exists in" in elsewhere.get_text() and manager.name in elsewhere.get_text()
    # With an agreement from Adult Social Care: its case and its details, but no link to the case page.
    _agreement(office, office.department, office.other_department)
    soup = page(client.get(f"/citizens/{ada}"))
    assert reference in [tr["data-reference"] for tr in soup.select(".cf-submissions tbody tr")]
    assert "AB123456C" in soup.get_text() and soup.select(".cf-elsewhere") == []
    assert not soup.select(f"a[href='/casework/cases/{reference}']")


def test_a_record_with_nothing_the_viewer_may_see_is_a_404_and_counts_nowhere(office: Office) -> None:
    ada, _ = _record(office)
    client = office.sign_in(office.staff("Otto Outsider", "caseworker", department=office.other_department))
    assert client.get(f"/citizens/{ada}").status_code == 404
    assert client.get("/citizens/999999").status_code == 404
    assert client.get(f"/citizens/{2**40}").status_code == 404
    with office.session() as s:
        assert s.exec(select(AccessLog).where(AccessLog.citizen_id == ada)).all() == []
    nobody = office.sign_in(office.staff("Dee Designer", "designer"))
    assert nobody.get(f"/citizens/{ada}").status_code == 403


def test_a_joined_record_redirects_and_a_split_restores_it(office: Office) -> None:
    ada, first = _record(office)
    other, second = _record(office, email="ada.l@example.com", name="Ada King")
    assert other != ada
    link_id = _join(office, other, ada)
    officer = office.staff("Rita Records", "records")
    client = office.sign_in(officer)
    response = client.get(f"/citizens/{other}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/citizens/{ada}")
    client.get(f"/citizens/{ada}")
    soup = page(client.get(f"/citizens/{ada}"))  # shows the look before this one
    assert {tr["data-reference"] for tr in soup.select(".cf-submissions tbody tr")} == {first, second}
    assert "Rita Records" in soup.select_one(".cf-record-access").get_text()  # who looked, for records officers
    form = soup.select_one(f"tr[data-link='{link_id}'] form.cf-undo-link")
    assert form is not None and form.button.get_text(strip=True) == "Split"
    token = form.select_one("input[name=csrf_token]")["value"]
    url = f"/citizens/{ada}/links/{link_id}/undo"
    assert client.post(url).status_code == 400  # no CSRF token
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 303
    with office.session() as s:
        assert s.get(RecordMerge, other) is None
        assert s.exec(select(Submission.citizen_id).where(Submission.reference == second)).one() == other
        link = s.get(CitizenLink, link_id)
        assert link is not None and link.undone_by == officer.id
    assert office.case(second).citizen_id == other and office.case(first).citizen_id == ada
    assert f"on record {other} now" in banner(page(client.get(f"/citizens/{ada}")))
    # Undone twice (a second tab): refused, nothing changes.
    again = client.post(url, data={"csrf_token": token})
    assert again.status_code == 409 and "Someone decided this first" in again.get_data(as_text=True)


def test_undo_needs_the_records_permission_and_a_department_of_the_record(office: Office) -> None:
    ada, _ = _record(office)
    other, _ = _record(office, email="ada.l@example.com", name="Ada King")
    link_id = _join(office, other, ada)
    for user, status in (
        (office.staff("Casey Worker", "caseworker"), 403),
        (office.staff("Rex Records", "records", department=office.other_department), 404),
    ):
        client = office.sign_in(user)
        token = page(client.get("/citizens")).select_one("input[name=csrf_token]")
        token = token["value"] if token else page(client.get("/sign-out")).select_one("input[name=csrf_token]")["value"]
        assert client.post(f"/citizens/{ada}/links/{link_id}/undo", data={"csrf_token": token}).status_code == status
    with office.session() as s:
        assert s.get(RecordMerge, other) is not None


def statements_of(office: Office, client: Any, url: str) -> list[str]:
    """The SQL statements one request runs."""
    statements: list[str] = []

    def count(_c: Any, _k: Any, sql: str, *_a: Any) -> None:
        statements.append(sql)

    event.listen(office.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(office.engine, "before_cursor_execute", count)
    return statements


def test_record_page_queries_do_not_grow_with_rows(office: Office) -> None:
    ada, _ = _record(office)
    client = office.sign_in(office.staff("Rita Records", "records", "caseworker"))
    few = statements_of(office, client, f"/citizens/{ada}")
    for _ in range(5):
        _record(office)
    many = statements_of(office, client, f"/citizens/{ada}")
    assert len(few) == len(many) <= 15, (len(few), len(many))


def test_the_casework_home_takes_a_records_officer_to_search(office: Office) -> None:
    client = office.sign_in(office.staff("Rita Records", "records"))
    response = client.get("/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/citizens")
    nav = [a.get_text(strip=True) for a in page(client.get("/citizens")).select(".govuk-service-navigation__link")]
    assert "Citizens" in nav and "Possible matches" in nav and "Cases" not in nav
    assert office.sign_in(office.staff("Dee Designer", "designer")).get("/").status_code == 403

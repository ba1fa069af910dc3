"""Data sharing between departments is declared, not assumed: a department sees another
department's cases and details about the same person only under a sharing agreement in force;
otherwise only how many there are and whom to ask. Agreements are recorded and ended on the
data protection pages, by an admin or DPO of the sharing department."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlmodel import col, select

from runtime.models import AccessLog, SharingAgreement
from tests.casework.conftest import OTHER_SERVICE, SERVICE, Office, case_url, csrf, errors_of, inbox_references
from tests.conftest import page

AGREEMENTS = "/data-protection/sharing-agreements"
NEW = AGREEMENTS + "/new"


def same_person(office: Office, keep: str, move: str) -> None:
    """File case ``move``'s submission (and the details it gave) under case ``keep``'s record."""
    kept, moved = office.case(keep), office.case(move)
    with office.session() as s:
        s.connection().execute(
            text("UPDATE submission SET citizen_id = :c WHERE id = :s"),
            {"c": kept.citizen_id, "s": moved.submission_id},
        )
        s.connection().execute(
            text("UPDATE citizen_identifier SET citizen_id = :c WHERE submission_id = :s"),
            {"c": kept.citizen_id, "s": moved.submission_id},
        )
        s.commit()


@pytest.fixture
def two_departments(office: Office) -> dict[str, str]:
    """Ada's Blue Badge case (with her NI number) and her missed bin case (Waste), one record."""
    badge = office.new_case(name="Ada Lovelace", email="ada@example.com")
    bins = office.new_case(
        name="Ada Lovelace",
        email="ada@example.com",
        service_id=OTHER_SERVICE,
        answers={"phone": "01632 960 001"},
    )
    same_person(office, badge, bins)
    assert office.case(badge).citizen_id == office.case(bins).citizen_id
    return {"badge": badge, "bins": bins}


def _bins_worker(office: Office) -> FlaskClient:
    return office.sign_in(office.staff("Wendy Waste", "caseworker", department=office.other_department))


def _agreement(client: FlaskClient, office: Office, **values: object) -> object:
    form = {
        "csrf_token": csrf(client, NEW),
        "from_department": str(office.department),
        "to_department": str(office.other_department),
        "purpose": "Joining up help for residents with a disability",
        "lawful_basis": "public_task",
        "starts_on-day": "1",
        "starts_on-month": "1",
        "starts_on-year": str(date.today().year - 1),
        "ends_on-day": "31",
        "ends_on-month": "12",
        "ends_on-year": str(date.today().year + 1),
    }
    form.update({k: v for k, v in values.items() if v is not None})
    return client.post(NEW, data=form)


def _sees_nothing(client: FlaskClient, office: Office, cases: dict[str, str]) -> None:
    """The Waste caseworker, on Ada's bin case, learns only that other cases exist and whom to ask."""
    response = client.get(case_url(cases["bins"]))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    soup = page(response)
    assert cases["badge"] not in html  # no reference, anywhere on the page
    assert "Apply for a Blue Badge" not in html  # nor the service
    assert "AB123456C" not in html  # the NI number she gave only to the Blue Badge service
    [sentence] = [p.get_text(" ", strip=True) for p in soup.select(".cf-elsewhere")]
    assert sentence.startswith("This person has 1 other case with ")
    assert "Mary Manager" in sentence and sentence.endswith("for it.")
    # The other department's case page, by reference or id: a 404.
    assert client.get(case_url(cases["badge"])).status_code == 404
    assert client.get(case_url(str(office.case(cases["badge"]).id))).status_code == 404
    # Nor in the inbox, its search, or its counts.
    assert inbox_references(page(client.get("/"))) == [cases["bins"]]
    for search in ("Ada", "Lovelace", cases["badge"], cases["badge"][:6]):
        found = page(client.get("/", query_string={"q": search}))
        assert cases["badge"] not in found.get_text(), search


def test_without_an_agreement_another_department_sees_only_a_count(office: Office, two_departments: dict) -> None:
    office.staff("Mary Manager", "manager")  # the Blue Badge team's manager: whom to ask
    _sees_nothing(_bins_worker(office), office, two_departments)
    # The Blue Badge caseworker, likewise, sees nothing of the bin case.
    badge = office.sign_in(office.staff("Casey Worker", "caseworker"))
    html = badge.get(case_url(two_departments["badge"])).get_data(as_text=True)
    assert two_departments["bins"] not in html and "This person has 1 other case with Waste and Recycling" in html


def test_an_agreement_in_force_shows_the_cases_and_details_then_ending_it_hides_them(
    office: Office, two_departments: dict
) -> None:
    office.staff("Mary Manager", "manager")
    admin = office.sign_in(office.staff("Alex Admin", "admin"))
    response = _agreement(admin, office)
    assert response.status_code == 303, errors_of(page(response))
    [agreement_id] = [a.id for a in _agreements(office)]
    worker = _bins_worker(office)
    soup = page(worker.get(case_url(two_departments["bins"])))
    [shared] = soup.select(".cf-other-cases li")
    assert two_departments["badge"] in shared.get_text() and "Apply for a Blue Badge" in shared.get_text()
    assert not shared.select("a")  # its page is the Blue Badge team's
    assert "AB123456C" in soup.select_one(".cf-citizen").get_text()
    assert not soup.select(".cf-elsewhere")
    # Still not its case page, nor its inbox.
    assert worker.get(case_url(two_departments["badge"])).status_code == 404
    assert inbox_references(page(worker.get("/", query_string={"q": "Ada"}))) == [two_departments["bins"]]
    # The list shows who recorded it; ending it asks first, then hides everything again.
    listing = page(admin.get(AGREEMENTS))
    row = listing.select_one(f"tr[data-agreement='{agreement_id}']").get_text(" ", strip=True)
    assert "In force" in row and "Alex Admin" in row and "all its services" in row
    end = f"{AGREEMENTS}/{agreement_id}/end"
    confirm = page(admin.get(end))
    assert "End sharing agreement" in confirm.h1.get_text()
    assert admin.post(end, data={"csrf_token": csrf(admin, end)}).status_code == 400  # not confirmed
    assert _agreements(office)[0].ended_at is None
    response = admin.post(end, data={"csrf_token": csrf(admin, end), "confirm": "yes"})
    assert response.status_code == 303
    [ended] = _agreements(office)
    assert ended.ended_at is not None and ended.ended_by is not None
    assert "Ended" in page(admin.get(AGREEMENTS)).select_one(f"tr[data-agreement='{agreement_id}']").get_text()
    _sees_nothing(worker, office, two_departments)


def test_an_agreement_for_other_services_or_expired_shows_nothing(office: Office, two_departments: dict) -> None:
    office.staff("Mary Manager", "manager")
    admin = office.sign_in(office.staff("Alex Admin", "admin"))
    assert _agreement(admin, office, services=SERVICE).status_code == 303  # only Blue Badge: it is shared
    worker = _bins_worker(office)
    assert two_departments["badge"] in worker.get(case_url(two_departments["bins"])).get_data(as_text=True)
    with office.session() as s:  # the agreement ran out yesterday
        s.connection().execute(
            text("UPDATE sharing_agreement SET ends_on = :d"), {"d": date.today() - timedelta(days=1)}
        )
        s.commit()
    _sees_nothing(worker, office, two_departments)
    assert "Expired" in page(admin.get(AGREEMENTS)).get_text()


def test_an_nhs_number_given_to_the_gp_is_not_shown_on_another_service(office: Office) -> None:
    """Details shown are only those given to a department the viewer may see."""
    badge = office.new_case(name="Ada Lovelace", email="ada@example.com")
    bins = office.new_case(name="Ada Lovelace", email="ada@example.com", service_id=OTHER_SERVICE, answers={})
    same_person(office, bins, badge)
    client = _bins_worker(office)
    soup = page(client.get(case_url(bins)))
    details = soup.select_one(".cf-citizen").get_text(" ", strip=True)
    assert "AB123456C" not in details and "ada@example.com" in details


def _agreements(office: Office) -> list[SharingAgreement]:
    with office.session() as s:
        found = list(s.exec(select(SharingAgreement).order_by(col(SharingAgreement.id))))
        for a in found:
            s.expunge(a)
        return found


def test_every_case_view_is_in_the_access_log(office: Office, two_departments: dict) -> None:
    worker = _bins_worker(office)
    worker.get(case_url(two_departments["bins"]))
    worker.get(case_url(two_departments["bins"]))
    worker.get(case_url(two_departments["badge"]))  # a 404: nothing seen, nothing logged
    bins = office.case(two_departments["bins"])
    with office.session() as s:
        rows = list(s.exec(select(AccessLog).where(AccessLog.action == "view-case")))
    assert [(r.case_id, r.citizen_id, r.department_id) for r in rows] == [
        (bins.id, bins.citizen_id, office.other_department)
    ] * 2


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"purpose": ""}, "purpose", "Enter the purpose of sharing"),
        ({"purpose": "x" * 10_000}, "purpose", "Purpose must be 2,000 characters or fewer"),
        ({"purpose": "a\x00b"}, "purpose", "Purpose must not contain control characters"),
        ({"lawful_basis": "because'; DROP TABLE case_record; --"}, "lawful_basis", "Select the lawful basis"),
        ({"to_department": "x"}, "to_department", "Select the department the data is shared with"),
        ({"to_department": "99999999999"}, "to_department", "Select the department the data is shared with"),
        ({"ends_on-year": "1999"}, "ends_on-day", "End date must be after the start date"),
        ({"starts_on-month": "13"}, "starts_on-day", "Enter a real start date"),
        ({"starts_on-year": "99999"}, "starts_on-day", "Enter a real start date"),
        ({"starts_on-year": "-1"}, "starts_on-day", "Enter a real start date"),
        ({"ends_on-year": "2090"}, "ends_on-day", "An agreement can last at most 10 years"),
        ({"ends_on-day": "29", "ends_on-month": "2", "ends_on-year": "2031"}, "ends_on-day", "Enter a real end date"),
        ({"services": "council-tax-not-ours"}, "services", "Select services of the department that shares"),
    ],
)
def test_a_wrong_agreement_is_refused_with_the_reason(
    office: Office, values: dict[str, str], field: str, message: str
) -> None:
    admin = office.sign_in(office.staff("Alex Admin", "admin"))
    response = _agreement(admin, office, **values)
    assert response.status_code == 400
    soup = page(response)
    summary = [(a.get_text(strip=True), a["href"]) for a in soup.select(".govuk-error-summary__list a")]
    assert any(text.startswith(message) and href == f"#{field}" for text, href in summary), summary
    assert soup.select_one(f"#{field}") is not None
    assert "<script>" not in response.get_data(as_text=True)
    assert _agreements(office) == []


def test_only_the_sharing_side_records_or_ends_an_agreement(office: Office) -> None:
    # An admin of Waste may not share the Blue Badge team's data, by forging the form.
    waste_admin = office.sign_in(office.staff("Wes Admin", "admin", department=office.other_department))
    response = _agreement(waste_admin, office)
    assert response.status_code == 400 and "You can only share the data of a department" in errors_of(page(response))[0]
    assert _agreements(office) == []
    admin = office.sign_in(office.staff("Alex Admin", "admin"))
    assert _agreement(admin, office).status_code == 303
    [agreement] = _agreements(office)
    end = f"{AGREEMENTS}/{agreement.id}/end"
    assert waste_admin.get(end).status_code == 404
    token = csrf(waste_admin, AGREEMENTS)
    assert waste_admin.post(end, data={"csrf_token": token, "confirm": "yes"}).status_code == 404
    assert _agreements(office)[0].ended_at is None
    # Without a CSRF token nothing is recorded or ended.
    assert admin.post(end, data={"confirm": "yes"}).status_code == 400
    assert admin.post(NEW, data={"purpose": "x"}).status_code == 400
    assert len(_agreements(office)) == 1 and _agreements(office)[0].ended_at is None


@pytest.mark.parametrize("role", ["caseworker", "manager", "designer", "reviewer", "records"])
def test_roles_without_the_permission_get_403(office: Office, role: str) -> None:
    client = office.sign_in(office.staff("Someone", role))
    for url in ("/data-protection", AGREEMENTS, NEW, f"{AGREEMENTS}/1/end", "/data-protection/access-log"):
        assert client.get(url).status_code == 403, url


def test_the_landing_page_lists_what_each_may_do(office: Office, casework: FlaskClient) -> None:
    assert casework.get("/data-protection").status_code == 303  # sign in first
    admin = office.sign_in(office.staff("Alex Admin", "admin"))
    links = [a.get_text(strip=True) for a in page(admin.get("/data-protection")).select(".cf-privacy-tasks a")]
    assert links == ["Sharing agreements"]
    dpo = office.sign_in(office.staff("Dee Protection", "dpo"))
    links = [a.get_text(strip=True) for a in page(dpo.get("/data-protection")).select(".cf-privacy-tasks a")]
    assert links == ["Sharing agreements", "Access log", "Subject access report", "Erase a person's data"]

"""Citizen records in the back office, in Chromium (issue 16): the review queue, the record page
and search, the sharing rule between departments, and erasure with a legal hold.

One person, Ada Lovelace, registered with a GP (GP Practices: date of birth, NHS number) and
asked Council Tax for a discount (no date of birth there, another email). The deterministic
tier keeps the two forms on two records; the pair waits for a records officer, who decides
"Same person", splits them again from the record page, reopens the pair and joins them again.
A GP caseworker finds the record by the start of the surname and the date of birth (with and
without JavaScript). A Council Tax caseworker learns only that another case exists and whom to
ask, until the GP department's admin records a sharing agreement, and again once it ends.
A Council Tax manager places a legal hold; the data protection officer reads the access log,
makes a subject access report, and erases the person's data: the GP form is emptied, the held
Council Tax case keeps its data. axe-core (WCAG 2.2 A/AA) checks every page on the way.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from runtime import cases, staff, versions
from runtime import db as dbmod
from runtime.data import departments, submissions
from runtime.data import records as data_records
from runtime.models import StaffRole, utcnow
from tests.browser.conftest import (
    CASEWORKER_EMAIL,
    DESIGNER_PASSWORD,
    MANAGER_EMAIL,
    BuilderServer,
    LiveServer,
    new_page,
)
from tests.browser.helpers import arrive, settled

pytestmark = pytest.mark.browser

GP_DEPARTMENT = "GP Practices, Westbridge Community Health NHS Trust"
COUNCIL_TAX = "Council Tax"
RECORDS_EMAIL = "records@westbridge.example"
GP_CASEWORKER_EMAIL = "gp.caseworker@westbridge.example"
GP_ADMIN_EMAIL = "gp.admin@westbridge.example"
DPO_EMAIL = "dpo@westbridge.example"
NHS = "943 476 5919"
GP_EMAIL = "ada@example.com"
TAX_EMAIL = "ada.lovelace@example.net"
HOLD_REASON = "Tribunal appeal TR-2041 pending"
PURPOSE = "Checking a discount against a registered address"
# What the matching worker would have found: no values, levels and weights only.
EVIDENCE = {
    "full_name": {"level": "agree", "weight": 9.1},
    "date_of_birth": {"level": "missing", "weight": None},
    "email": {"level": "disagree", "weight": -2.4},
    "phone": {"level": "agree", "weight": 6.2},
    "postcode": {"level": "agree", "weight": 4.8},
    "nhs_number": {"level": "missing", "weight": None},
    "ni_number": {"level": "missing", "weight": None},
}


# -- the people, the staff and the forms ------------------------------------------------------------


def _send(s: Any, service_id: str, answers: dict[str, Any]) -> tuple[str, str, int]:
    """A submission and its case as the citizen runtime stores them: (form reference, case reference, record)."""
    definition = versions.definition(session=s, service_id=service_id)
    assert definition is not None
    submission = submissions.create_submission(session=s, service=definition, answers=answers)
    case = cases.open_case(
        s,
        submission=submission,
        definition=definition,
        now=utcnow(),
        secret_key="browser-test-secret-key-" + "x" * 16,
        urls=cases.CaseUrls("https://forms.example.gov.uk"),
    )
    return submission.reference, case.reference, submission.citizen_id


@pytest.fixture(scope="module")
def ada(casework_server: BuilderServer) -> dict[str, Any]:
    """Ada's two forms on two records, the pair waiting for review, and the staff of this walk."""
    engine = dbmod.make_engine(f"sqlite:///{casework_server.database}")
    try:
        with dbmod.session(engine) as s:
            gp = departments.find_department(session=s, key=GP_DEPARTMENT)
            tax = departments.find_department(session=s, key=COUNCIL_TAX)
            assert gp is not None and gp.id is not None and tax is not None and tax.id is not None
            where_ids = {"tax": tax.id, "gp": gp.id}

            def person(email: str, name: str, department: int, *roles: str) -> None:
                user = staff.create_user(
                    session=s,
                    email=email,
                    name=name,
                    department_id=department,
                    role=roles[0],
                    password=DESIGNER_PASSWORD,
                ).user
                assert user.id is not None
                for extra in roles[1:]:
                    where, role = extra.split(":")
                    s.add(StaffRole(user_id=user.id, department_id=where_ids[where], role=role))

            person(RECORDS_EMAIL, "Rae Records", gp.id, "records", "tax:records")
            person(GP_CASEWORKER_EMAIL, "Gus Practice", gp.id, "caseworker")
            person(GP_ADMIN_EMAIL, "Gwen Admin", gp.id, "admin")
            person(DPO_EMAIL, "Dee Protection", gp.id, "dpo")
            gp_form, gp_case, gp_record = _send(
                s,
                "register-with-gp",
                {
                    "surgery": "riverside",
                    "full_name": "Ada Lovelace",
                    "date_of_birth": "1950-07-03",
                    "knows_nhs_number": True,
                    "nhs_number": NHS,
                    "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
                    "phone": "01632 960 001",
                    "email": GP_EMAIL,
                },
            )
            tax_form, tax_case, tax_record = _send(
                s,
                "council-tax-single-person-discount",
                {
                    "full_name": "Ada Lovelace",
                    "email": TAX_EMAIL,
                    "phone": "01632 960 001",
                    "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
                },
            )
            assert gp_record != tax_record  # the deterministic tier kept them apart
            candidate = data_records.suggest_pair(
                s,
                citizen_id=gp_record,
                other_citizen_id=tax_record,
                match_weight=17.7,
                match_probability=0.9999,
                evidence=EVIDENCE,
            )
            assert candidate is not None and candidate.id is not None
            s.commit()
            return {
                "gp_form": gp_form,
                "gp_case": gp_case,
                "gp_record": gp_record,
                "tax_form": tax_form,
                "tax_case": tax_case,
                "tax_record": tax_record,
                "candidate": candidate.id,
            }
    finally:
        engine.dispose()


@pytest.fixture
def checked(axe: Callable[[Any], None]) -> Any:
    """``axe``, remembering the path of every page it checked (``checked.paths``)."""

    def run(page: Any) -> None:
        axe(page)
        run.paths.add(urlparse(page.url).path)  # type: ignore[attr-defined]

    run.paths = set()  # type: ignore[attr-defined]
    return run


# Every page of the walk: each is checked by axe-core at least once.
PAGES = (
    "/casework/sign-in",
    "/casework/",
    "/casework/citizens",
    "/casework/citizens/{record}",
    "/casework/citizens/possible-matches",
    "/casework/citizens/possible-matches/{candidate}",
    "/casework/cases/{tax_case}",
    "/casework/data-protection",
    "/casework/data-protection/sharing-agreements",
    "/casework/data-protection/sharing-agreements/new",
    "/casework/data-protection/sharing-agreements/1/end",
    "/casework/data-protection/access-log",
    "/casework/data-protection/subject-access",
    "/casework/data-protection/erasure",
)


# -- small helpers -----------------------------------------------------------------------------------


def rows(server: LiveServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.database) as connection:
        return connection.execute(sql, args).fetchall()


def record_of(server: LiveServer, reference: str) -> int:
    [(citizen_id,)] = rows(server, "SELECT citizen_id FROM submission WHERE reference = ?", reference)
    return citizen_id


def sign_in(page: Any, server: LiveServer, email: str, axe: Any, lands: str) -> None:
    """Sign in to the back office (the sign-in page checked by axe), landing on ``lands``."""
    page.context.clear_cookies()
    page.goto(server("/casework/sign-in"))
    settled(page)
    axe(page)
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', DESIGNER_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    arrive(page, server(lands))
    axe(page)


def banner(page: Any) -> Any:
    return page.locator(".govuk-notification-banner--success")


def search(page: Any, query: str) -> None:
    """Press Search and wait for the results of ``query`` (a GET form: the query is in the address)."""
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/casework/citizens\?.*" + re.escape(query)))
    arrive(page, page.url)


def go(page: Any, server: LiveServer, path: str, axe: Any) -> None:
    page.goto(server(path))
    arrive(page, server(path))
    axe(page)


# -- the walks ---------------------------------------------------------------------------------------


def review_queue(page: Any, server: BuilderServer, axe: Any, ada: dict[str, Any]) -> None:
    """A records officer joins the pair, splits it from the record page, reopens it and joins again."""
    low, high = ada["gp_record"], ada["tax_record"]
    pair_url = server(f"/casework/citizens/possible-matches/{ada['candidate']}")
    sign_in(page, server, RECORDS_EMAIL, axe, "/casework/citizens")  # their home: search
    page.get_by_role("link", name="Possible matches", exact=True).first.click()
    arrive(page, server("/casework/citizens/possible-matches"))
    row = page.locator(f"table.cf-pairs tr[data-candidate='{ada['candidate']}']")
    expect(row).to_contain_text("17.7")
    expect(row).to_contain_text("Name, Phone, Postcode")
    expect(row).to_contain_text("Email")
    axe(page)
    row.get_by_role("link", name=f"Records {low} and {high}").click()
    arrive(page, pair_url)
    evidence = page.locator("table.cf-evidence")
    expect(evidence.locator("tr[data-field='full_name']")).to_contain_text("Agree")
    expect(evidence.locator("tr[data-field='full_name']")).to_contain_text("+9.1")
    expect(evidence.locator("tr[data-field='email']")).to_contain_text("Disagree")
    expect(evidence.locator("tr[data-field='email']")).to_contain_text("-2.4")
    expect(evidence.locator("tr[data-field='email']")).to_contain_text(GP_EMAIL)
    expect(evidence.locator("tr[data-field='email']")).to_contain_text(TAX_EMAIL)
    expect(evidence.locator("tr[data-field='date_of_birth']")).to_contain_text("Missing")
    expect(page.locator(".cf-pair-side").nth(0)).to_contain_text(ada["gp_form"])
    expect(page.locator(".cf-pair-side").nth(1)).to_contain_text(ada["tax_form"])
    axe(page)

    page.get_by_role("button", name="Same person").click()
    arrive(page, pair_url)
    expect(banner(page)).to_contain_text(f"Record {high} is joined into record {low}")
    expect(page.locator(".cf-pair-status")).to_contain_text("Same person")
    axe(page)
    assert record_of(server, ada["tax_form"]) == low
    assert rows(server, "SELECT status FROM match_candidate WHERE id = ?", ada["candidate"]) == [("same",)]

    # The record page: both forms, and the join with its Split button.
    page.get_by_role("link", name=f"Open record {low}").click()
    arrive(page, server(f"/casework/citizens/{low}"))
    submitted = page.locator("table.cf-submissions")
    expect(submitted.locator(f"tr[data-reference='{ada['gp_form']}']")).to_contain_text("Register with a GP")
    expect(submitted.locator(f"tr[data-reference='{ada['tax_form']}']")).to_contain_text(COUNCIL_TAX)
    join = page.locator("table.cf-links tr").filter(has_text=f"Record {high} joined into this record")
    expect(join).to_contain_text("Decided by staff")
    expect(join).to_contain_text("Rae Records")
    axe(page)
    join.get_by_role("button", name="Split").click()
    arrive(page, server(f"/casework/citizens/{low}"))
    expect(banner(page)).to_contain_text(f"The link is undone: what it filed is on record {high} now")
    expect(page.locator("table.cf-submissions")).not_to_contain_text(ada["tax_form"])
    axe(page)
    assert record_of(server, ada["gp_form"]) == low and record_of(server, ada["tax_form"]) == high
    assert rows(server, "SELECT citizen_id FROM record_merge WHERE citizen_id = ?", high) == []
    assert rows(server, "SELECT status FROM match_candidate WHERE id = ?", ada["candidate"]) == [("different",)]

    # Split means "different people"; the pair can be reviewed again, and joined again.
    page.goto(pair_url)
    arrive(page, pair_url)
    expect(page.locator(".cf-pair-status")).to_contain_text("Different people")
    axe(page)
    page.get_by_role("button", name="Undo: review this pair again").click()
    arrive(page, pair_url)
    expect(banner(page)).to_contain_text("the pair waits for review again")
    page.get_by_role("button", name="Same person").click()
    arrive(page, pair_url)
    expect(banner(page)).to_contain_text(f"Record {high} is joined into record {low}")
    axe(page)
    assert record_of(server, ada["tax_form"]) == low
    # The joined record's address now leads to the one it is part of.
    page.goto(server(f"/casework/citizens/{high}"))
    arrive(page, server(f"/casework/citizens/{low}"))


def search_and_record(page: Any, server: BuilderServer, axe: Any, ada: dict[str, Any]) -> None:
    """A GP caseworker finds Ada by the start of her surname and her date of birth."""
    record = ada["gp_record"]
    sign_in(page, server, GP_CASEWORKER_EMAIL, axe, "/casework/")
    page.get_by_role("link", name="Citizens", exact=True).first.click()
    arrive(page, server("/casework/citizens"))
    axe(page)
    search(page, "name=&")  # nothing typed: nothing searched, no error
    expect(page.locator("table.cf-records")).to_have_count(0)
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    page.get_by_label("Name", exact=True).fill("lov")
    page.get_by_label("Day").fill("3")
    page.get_by_label("Month").fill("7")
    page.get_by_label("Year").fill("1950")
    search(page, "name=lov&date_of_birth-day=3&date_of_birth-month=7&")
    found = page.locator("table.cf-records tbody tr")
    expect(found).to_have_count(1)
    expect(found.first).to_have_attribute("data-record", str(record))
    expect(found.first).to_contain_text("3 July 1950")
    axe(page)
    # A wrong date of birth: found nowhere; a half-typed one: an error by the box.
    page.get_by_label("Day").fill("4")
    search(page, "date_of_birth-day=4&date_of_birth-month=7&")
    expect(page.locator(".cf-no-records")).to_be_visible()
    axe(page)
    page.get_by_label("Month").fill("")
    search(page, "date_of_birth-day=4&date_of_birth-month=&")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Date of birth must include a month")
    axe(page)
    page.get_by_label("Day").fill("3")
    page.get_by_label("Month").fill("7")
    search(page, "date_of_birth-day=3&date_of_birth-month=7&")
    page.get_by_role("link", name=str(record), exact=True).click()
    arrive(page, server(f"/casework/citizens/{record}"))
    details = page.locator("table.cf-details")
    nhs = details.locator("tr[data-kind='nhs_number']")
    expect(nhs).to_contain_text(f"Register with a GP surgery ({GP_DEPARTMENT}), {ada['gp_form']}")
    expect(details.locator("tr[data-kind='date_of_birth']")).to_contain_text(ada["gp_form"])
    # Council Tax's email is not the GP caseworker's to see: only that another department has a record.
    expect(page.locator("main")).not_to_contain_text(TAX_EMAIL)
    expect(page.locator("main")).not_to_contain_text(ada["tax_form"])
    if record_of(server, ada["tax_form"]) == record:  # joined: Council Tax's form is on this record
        expect(page.locator(".cf-elsewhere")).to_contain_text(COUNCIL_TAX)
    # The GP case is theirs: a link to it.
    expect(page.get_by_role("link", name=ada["gp_form"], exact=True)).to_have_attribute(
        "href", f"/casework/cases/{ada['gp_case']}"
    )
    axe(page)


def sharing_rule(tax: Any, admin: Any, server: BuilderServer, axe: Any, ada: dict[str, Any]) -> None:
    """Council Tax sees the GP case only under a sharing agreement in force."""
    case_path = f"/casework/cases/{ada['tax_case']}"
    sign_in(tax, server, CASEWORKER_EMAIL, axe, "/casework/")
    go(tax, server, case_path, axe)
    main = tax.locator("main")
    expect(tax.locator(".cf-elsewhere")).to_have_text(
        re.compile(rf"^This person has 1 other case with {re.escape(GP_DEPARTMENT)}; ask {re.escape(GP_DEPARTMENT)}")
    )
    expect(tax.locator(".cf-shared-case")).to_have_count(0)
    for hidden in (ada["gp_case"], ada["gp_form"], NHS, NHS.replace(" ", ""), GP_EMAIL):
        expect(main).not_to_contain_text(hidden)

    # An admin without a case role lands on Data protection, where sharing agreements are kept.
    sign_in(admin, server, GP_ADMIN_EMAIL, axe, "/casework/data-protection")
    admin.get_by_role("link", name="Sharing agreements", exact=True).click()
    arrive(admin, server("/casework/data-protection/sharing-agreements"))
    expect(admin.locator(".cf-no-agreements")).to_be_visible()
    axe(admin)
    admin.get_by_role("button", name="Record a sharing agreement").click()
    new = server("/casework/data-protection/sharing-agreements/new")
    arrive(admin, new)
    axe(admin)
    # Sent empty first: the errors, checked by axe too.
    admin.get_by_role("button", name="Record the agreement").click()
    arrive(admin, new)
    expect(admin.locator(".govuk-error-summary")).to_be_visible()
    axe(admin)
    admin.get_by_label("Department sharing its data").select_option(label=GP_DEPARTMENT)
    admin.get_by_label("Department it is shared with").select_option(label=COUNCIL_TAX)
    admin.get_by_role("group", name="Services shared (optional)").get_by_label("Register with a GP").check()
    admin.get_by_label("Purpose", exact=True).fill(PURPOSE)
    admin.get_by_role("group", name=re.compile("Lawful basis")).get_by_label("Public task").check()
    today = date.today()
    starts = admin.get_by_role("group", name="Start date")
    starts.get_by_label("Day").fill("1")
    starts.get_by_label("Month").fill("1")
    starts.get_by_label("Year").fill(str(today.year - 1))
    ends = admin.get_by_role("group", name="End date")
    ends.get_by_label("Day").fill("31")
    ends.get_by_label("Month").fill("12")
    ends.get_by_label("Year").fill(str(today.year + 1))
    admin.get_by_role("button", name="Record the agreement").click()
    arrive(admin, server("/casework/data-protection/sharing-agreements"))
    expect(banner(admin)).to_contain_text("is recorded")
    agreement = admin.locator("table.cf-agreements tbody tr").first
    expect(agreement).to_contain_text(f"{GP_DEPARTMENT} shares with {COUNCIL_TAX}")
    expect(agreement).to_contain_text(PURPOSE)
    expect(agreement).to_contain_text("Public task")
    expect(agreement.locator(".cf-status")).to_contain_text("In force")
    axe(admin)
    [(agreement_id, services, basis)] = rows(server, "SELECT id, service_ids, lawful_basis FROM sharing_agreement")
    assert basis == "public_task" and "register-with-gp" in services

    tax.reload()
    arrive(tax, server(case_path))
    shared = tax.locator(".cf-shared-case")
    expect(shared).to_have_count(1)
    expect(shared).to_contain_text(f"{ada['gp_case']} – Register with a GP")
    expect(shared).to_contain_text(f"(shared by {GP_DEPARTMENT})")
    expect(tax.locator(".cf-elsewhere")).to_have_count(0)
    axe(tax)

    agreement.get_by_role("link", name=re.compile(r"^End")).click()
    end_url = server(f"/casework/data-protection/sharing-agreements/{agreement_id}/end")
    expect(admin).to_have_url(end_url)
    settled(admin)
    expect(admin.locator("h1")).to_have_text(f"End sharing agreement {agreement_id}?")
    axe(admin)
    admin.get_by_role("button", name="End the agreement").click()
    arrive(admin, server("/casework/data-protection/sharing-agreements"))
    expect(banner(admin)).to_contain_text(f"{COUNCIL_TAX} no longer sees {GP_DEPARTMENT}'s cases under it")
    expect(admin.locator("table.cf-agreements tbody tr").first.locator(".cf-status")).not_to_contain_text("In force")
    axe(admin)

    tax.reload()
    arrive(tax, server(case_path))
    expect(tax.locator(".cf-shared-case")).to_have_count(0)
    expect(tax.locator(".cf-elsewhere")).to_contain_text(f"This person has 1 other case with {GP_DEPARTMENT}")
    expect(tax.locator("main")).not_to_contain_text(ada["gp_case"])
    axe(tax)


def legal_hold(page: Any, server: BuilderServer, axe: Any, ada: dict[str, Any]) -> None:
    """A Council Tax manager places a legal hold on Ada's Council Tax case."""
    case_path = f"/casework/cases/{ada['tax_case']}"
    sign_in(page, server, MANAGER_EMAIL, axe, "/casework/")
    go(page, server, case_path, axe)
    form = page.locator("form.cf-place-hold")
    form.get_by_label("Reason for a legal hold").fill(HOLD_REASON)
    form.get_by_role("button", name="Place a legal hold").click()
    arrive(page, server(case_path))
    expect(page.locator(".cf-legal-hold-reason")).to_have_text(HOLD_REASON)
    axe(page)


def data_protection(page: Any, server: BuilderServer, axe: Any, ada: dict[str, Any]) -> None:
    """The DPO reads the access log, makes a subject access report and erases Ada's data."""
    record = ada["gp_record"]
    sign_in(page, server, DPO_EMAIL, axe, "/casework/data-protection")

    page.get_by_role("link", name="Access log", exact=True).click()
    arrive(page, server("/casework/data-protection/access-log"))
    log = page.locator("table.cf-access-log tbody tr")
    expect(log.filter(has_text="Gus Practice").filter(has_text="Viewed a citizen record").first).to_be_visible()
    expect(log.filter(has_text="Gus Practice").filter(has_text="Searched").first).to_be_visible()
    expect(log.filter(has_text="Cas Caseworker").filter(has_text="Viewed a case").first).to_contain_text(
        ada["tax_case"]
    )
    expect(log.filter(has_text="Rae Records").filter(has_text="Viewed a citizen record").first).to_be_visible()
    axe(page)
    # The CSV export: the same entries, with the DPO's session (the export is itself logged).
    exported = page.request.get(server(page.locator("a.cf-csv").get_attribute("href")))
    assert exported.ok and exported.headers["content-type"].startswith("text/csv"), exported.headers
    lines = list(csv.reader(io.StringIO(exported.text())))
    assert any("Gus Practice" in line and str(record) in line for line in lines[1:]), lines[:5]
    assert any(ada["tax_case"] in line for line in lines[1:]), lines[:5]

    page.goto(server("/casework/data-protection"))
    arrive(page, server("/casework/data-protection"))
    page.get_by_role("link", name="Subject access report", exact=True).click()
    arrive(page, server("/casework/data-protection/subject-access"))
    axe(page)
    page.get_by_label("Record number, reference or email address").fill(str(record))
    page.get_by_role("button", name="Find the record").click()
    expect(page).to_have_url(re.compile(rf"\?key={record}$"))
    arrive(page, page.url)
    expect(page.locator("table.cf-erasable")).to_contain_text(ada["gp_form"])
    expect(page.locator("table.cf-held")).to_contain_text(HOLD_REASON)
    axe(page)
    page.get_by_role("button", name="Create report").click()
    expect(page.locator("h1")).to_have_text(f"Information held about you: citizen record {record}")
    arrive(page, page.url)
    report = page.locator(".cf-subject-access")
    for text in (ada["gp_form"], ada["tax_form"], "Register with a GP", NHS.replace(" ", ""), TAX_EMAIL):
        expect(report).to_contain_text(text)
    axe(page)

    page.goto(server("/casework/data-protection"))
    arrive(page, server("/casework/data-protection"))
    page.get_by_role("link", name="Erase a person's data", exact=True).click()
    arrive(page, server("/casework/data-protection/erasure"))
    axe(page)
    page.get_by_label("Record number, reference or email address").fill(str(record))
    page.get_by_role("button", name="Find the record").click()
    expect(page).to_have_url(re.compile(rf"\?key={record}$"))
    arrive(page, page.url)
    expect(page.locator("table.cf-erasable")).to_contain_text(ada["gp_form"])
    expect(page.locator("table.cf-erasable")).not_to_contain_text(ada["tax_form"])
    held = page.locator("table.cf-held")
    expect(held).to_contain_text(ada["tax_form"])
    expect(held).to_contain_text(HOLD_REASON)
    axe(page)
    # No reason: refused by the box, nothing erased.
    page.get_by_role("button", name="Erase this person's data").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why the data is being erased")
    arrive(page, page.url)  # htmx keeps the address of the page that posted; without it, the POST's
    axe(page)
    assert rows(server, "SELECT erased_at FROM submission WHERE reference = ?", ada["gp_form"]) == [(None,)]
    page.get_by_label("Why is the data being erased?").fill("Request ER-77 of 5 December")
    page.get_by_role("button", name="Erase this person's data").click()
    arrive(page, page.url)
    expect(page).to_have_url(re.compile(rf"/casework/data-protection/erasure\?key={record}$"))
    expect(banner(page)).to_contain_text("Personal data erased from 1 form and case")
    expect(banner(page)).to_contain_text(f"Kept under a legal hold: {ada['tax_form']} ({HOLD_REASON})")
    expect(page.locator(".cf-already-erased")).to_contain_text(ada["gp_form"])
    axe(page)
    # The record page: the held Council Tax form is still there, the GP form's details are gone.
    go(page, server, f"/casework/citizens/{record}", axe)
    expect(page.locator("table.cf-submissions")).to_contain_text(ada["tax_form"])
    expect(page.locator("table.cf-details")).not_to_contain_text(ada["gp_form"])
    expect(page.locator("table.cf-details")).not_to_contain_text("3 July 1950")


def erased_in_the_database(server: BuilderServer, ada: dict[str, Any]) -> None:
    """The GP form and case hold no personal data; the held Council Tax case keeps all of it."""
    [(answers, erased_at)] = rows(
        server, "SELECT answers, erased_at FROM submission WHERE reference = ?", ada["gp_form"]
    )
    assert answers in ("{}", None) and erased_at is not None
    [(name, case_erased)] = rows(
        server, "SELECT citizen_name, erased_at FROM case_record WHERE reference = ?", ada["gp_case"]
    )
    assert not name and case_erased is not None
    gp_details = rows(
        server,
        "SELECT i.kind FROM citizen_identifier i JOIN submission s ON s.id = i.submission_id WHERE s.reference = ?",
        ada["gp_form"],
    )
    assert gp_details == []
    for needle in ("ada", "lovelace", "9434765919", "1950-07-03", "mill lane"):
        found = rows(
            server,
            "SELECT answers FROM submission WHERE reference = ? AND lower(answers) LIKE ?",
            ada["gp_form"],
            f"%{needle}%",
        )
        assert found == [], needle
    [(kept, kept_erased)] = rows(
        server, "SELECT answers, erased_at FROM submission WHERE reference = ?", ada["tax_form"]
    )
    assert "Ada Lovelace" in kept and TAX_EMAIL in kept and kept_erased is None
    [(kept_name,)] = rows(server, "SELECT citizen_name FROM case_record WHERE reference = ?", ada["tax_case"])
    assert kept_name == "Ada Lovelace"
    assert rows(server, "SELECT count(*) FROM access_log WHERE action = 'erasure'") == [(1,)]


# -- the tests ---------------------------------------------------------------------------------------


def test_records_search_without_javascript(
    casework_server: BuilderServer, browser: Any, checked: Any, ada: dict[str, Any]
) -> None:
    """The search form and the record page work with JavaScript off (a GET form and links).
    Before the walk below in this module: that one erases Ada's GP details at its end."""
    with new_page(browser, java_script_enabled=False) as page:
        search_and_record(page, casework_server, checked, ada)
    record = f"/casework/citizens/{ada['gp_record']}"
    assert {"/casework/sign-in", "/casework/", "/casework/citizens", record} <= checked.paths


def test_review_search_sharing_and_erasure(
    casework_server: BuilderServer, browser: Any, checked: Any, ada: dict[str, Any]
) -> None:
    server = casework_server
    errors: list[str] = []
    with new_page(browser) as first, new_page(browser) as second:
        for page in (first, second):
            page.on("pageerror", lambda error: errors.append(str(error)))
        review_queue(first, server, checked, ada)
        search_and_record(first, server, checked, ada)
        sharing_rule(first, second, server, checked, ada)
        legal_hold(first, server, checked, ada)
        data_protection(second, server, checked, ada)
    assert not errors, errors
    pages = {p.format(record=ada["gp_record"], **ada) for p in PAGES}
    assert pages <= checked.paths, sorted(pages - checked.paths)
    erased_in_the_database(server, ada)

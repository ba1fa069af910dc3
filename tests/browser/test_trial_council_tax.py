"""Issue 17's second trial, in Chromium: the council tax team's day, walked from the beginning with
the shipped council tax single person discount service.

A team of two caseworkers (Cas, with JavaScript; Cal, without) and a manager (Mo). Six residents
apply through the real citizen pages (A to F). Then: Cas and Cal contend for A (Cal is asked "This
case is assigned to Cas Caseworker. Continue?", and Cas is told); Cas asks B's applicant for more,
who answers on their status page; Cas refuses C with a reason that reaches the applicant's status
page and decision email; C is found again by its reference under "Any step"; each person's "Needs
my action" lists what is theirs; the manager decides what was recommended, and the reports page's
figures (open cases by step, decisions per person, decisions this week, time to decision) and CSV
are checked against the cases made here. axe-core (WCAG 2.2 A/AA, and the region rule on staff
pages) on every page visited.

The one thing not done through the pages: A, B and C are dated as sent 2, 5 and 9 days ago (their
case's created_at, right after they were sent), so that time to decision has figures to check.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from runtime import db as dbmod
from runtime import staff
from runtime.data import departments
from runtime.models import Case, utcnow
from tests.browser.conftest import (
    CASEWORK_DEPARTMENT,
    CASEWORKER_EMAIL,
    CASEWORKER_NAME,
    DESIGNER_PASSWORD,
    MANAGER_EMAIL,
    MANAGER_NAME,
    BuilderServer,
    casework_sign_in,
    new_page,
)
from tests.browser.helpers import arrive
from tests.browser.test_casework_journey import Variant, case_rows, citizen_applies, one_case

pytestmark = pytest.mark.browser

TITLE = "Apply for a council tax single person discount"
COLLEAGUE_EMAIL = "cal.colleague@westbridge.example"
COLLEAGUE_NAME = "Cal Colleague"
APPLICANTS = {  # the six residents, A to F
    "A": "Ann Able",
    "B": "Ben Brook",
    "C": "Cat Cole",
    "D": "Dev Dale",
    "E": "Eve Elm",
    "F": "Fin Ford",
}
SENT_DAYS_AGO = {"A": 2, "B": 5, "C": 9}  # the decided cases: time to decision 2, 5 and 9 days
ASK = "Ask the applicant for more information"
REQUEST = "Send us the date your son's post stopped coming to the property."
REPLY = "His post stopped in February 2024; he lives in Leeds now."
REASON = "The electoral register shows another adult at the property since 2019."
REFUSED = "We cannot give you the single person discount."
CHECKING = "We are checking your application"
APPROVED = "We have given you the single person discount."


@pytest.fixture(scope="module")
def team(casework_server: BuilderServer) -> BuilderServer:
    """casework_server (Cas Caseworker and Mo Manager in Council Tax) with a second caseworker."""
    engine = dbmod.make_engine(f"sqlite:///{casework_server.database}")
    try:
        with dbmod.session(engine) as s:
            department = departments.find_department(session=s, key=CASEWORK_DEPARTMENT)
            assert department is not None and department.id is not None
            staff.create_user(
                session=s,
                email=COLLEAGUE_EMAIL,
                name=COLLEAGUE_NAME,
                department_id=department.id,
                role="caseworker",
                password=DESIGNER_PASSWORD,
            )
            s.commit()
    finally:
        engine.dispose()
    return casework_server


def _sent_days_ago(server: BuilderServer, reference: str, days: int) -> None:
    engine = dbmod.make_engine(f"sqlite:///{server.database}")
    try:
        with dbmod.session(engine) as s:
            case = s.exec(select(Case).where(Case.reference == reference)).one()
            case.created_at = case.created_at - timedelta(days=days)
            s.add(case)
            s.commit()
    finally:
        engine.dispose()


# -- what staff do on the pages -------------------------------------------------------------------


def _banner(page: Any) -> Any:
    return page.locator(".govuk-notification-banner")


def _inbox(page: Any, server: BuilderServer, axe: Any, **query: str) -> list[str]:
    """The inbox with this query (from its own form), checked by axe; the references it lists."""
    page.goto(server("/casework/"))
    arrive(page, server("/casework/"))
    axe(page)
    if "needs" in query:
        page.get_by_role("link", name="Needs my action").click()
        expect(page).to_have_url(re.compile(r"needs=1"))
        arrive(page, page.url)
        expect(page.locator("h1")).to_have_text("Needs my action")
    if "q" in query:
        page.get_by_label("Search", exact=True).fill(query["q"])
        if "state" in query:
            page.get_by_label("Step", exact=True).select_option(label=query["state"])
        page.get_by_role("button", name="Apply filters").click()
        expect(page).to_have_url(re.compile(r"q="))
        arrive(page, page.url)
    axe(page)
    return [r.get_attribute("data-reference") for r in page.locator("table.cf-inbox tbody tr").all()]


def _open_case(page: Any, server: BuilderServer, axe: Any, reference: str) -> str:
    case_url = server(f"/casework/cases/{reference}")
    page.goto(case_url)
    arrive(page, case_url)
    expect(page.locator("h1")).to_have_text(f"Case {reference}")
    axe(page)
    return case_url


def _assign_to_me(page: Any, server: BuilderServer, axe: Any, reference: str, name: str) -> None:
    case_url = _open_case(page, server, axe, reference)
    page.get_by_role("button", name="Assign to me").click()
    arrive(page, case_url)
    expect(_banner(page)).to_contain_text("assigned to you")
    expect(page.locator(".cf-case-assignee")).to_have_text(f"{name} (you)")
    axe(page)


def _decide(page: Any, server: BuilderServer, axe: Any, reference: str, button: str, **typed: str) -> None:
    """On the open case page: fill in the decision's boxes (label: text) and press its button."""
    form = page.locator("form.cf-case-action").filter(has=page.get_by_role("button", name=button, exact=True))
    for label, text in typed.items():
        form.get_by_label(label).fill(text)
    form.get_by_role("button", name=button, exact=True).click()
    case_url = server(f"/casework/cases/{reference}")
    arrive(page, case_url)
    expect(_banner(page)).to_contain_text(f"Case {reference} is now:")
    axe(page)


def _status(page: Any, url: str, axe: Any, tag: str, text: str) -> None:
    page.goto(url)
    arrive(page, url)
    expect(page.locator(".cf-status .govuk-tag")).to_have_text(tag)
    expect(page.locator(".cf-status")).to_contain_text(text)
    axe(page)


def _csv_rows(page: Any, server: BuilderServer, name: str) -> list[list[str]]:
    href = page.get_by_role("link", name=name).get_attribute("href")
    response = page.context.request.get(server(href))
    assert response.ok and response.headers["content-type"].startswith("text/csv"), response.status
    return list(csv.reader(io.StringIO(response.text())))


def _table(page: Any, selector: str) -> list[list[str]]:
    return page.locator(f"{selector} tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.innerText.trim()))"
    )


# -- the day --------------------------------------------------------------------------------------


def test_the_council_tax_teams_day(team: BuilderServer, browser: Any, axe: Any) -> None:
    server = team
    refs: dict[str, str] = {}
    status: dict[str, str] = {}
    errors: list[str] = []

    def watch(page: Any) -> Any:
        """The page, with its script errors and console errors collected (there must be none)."""
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        return page

    # Six residents apply, each in a browser of their own, through every page of the service.
    for letter, name in APPLICANTS.items():
        resident = Variant(True)
        resident.name, resident.email = name, f"{name.split()[0].lower()}.{letter.lower()}@example.com"
        with new_page(browser) as citizen:
            refs[letter], status[letter] = citizen_applies(watch(citizen), server, axe, resident)
        if letter in SENT_DAYS_AGO:
            _sent_days_ago(server, refs[letter], SENT_DAYS_AGO[letter])
    assert len(set(refs.values())) == 6

    with (
        new_page(browser) as cas,
        new_page(browser, java_script_enabled=False) as cal,
        new_page(browser) as mo,
        new_page(browser) as citizen,
    ):
        for page in (cas, cal, mo, citizen):
            watch(page)
        casework_sign_in(cas, server, CASEWORKER_EMAIL, axe)
        casework_sign_in(cal, server, COLLEAGUE_EMAIL, axe)
        assert sorted(_inbox(cas, server, axe)) == sorted(refs.values())
        expect(cas.locator("#inbox-count")).to_have_text("6 cases")

        # A: Cas takes it; Cal, on the case page, sees who has it and is asked before taking it over.
        _assign_to_me(cas, server, axe, refs["A"], CASEWORKER_NAME)
        case_a = _open_case(cal, server, axe, refs["A"])
        expect(cal.locator(".cf-assigned-elsewhere")).to_contain_text(f"Assigned to {CASEWORKER_NAME}")
        cal.get_by_role("button", name="Assign to me").click()
        expect(cal.locator("h1")).to_have_text(f"This case is assigned to {CASEWORKER_NAME}. Continue?")
        axe(cal)
        cal.get_by_role("button", name="Continue: assign it to me").click()
        arrive(cal, case_a)
        expect(_banner(cal)).to_contain_text("assigned to you")
        expect(cal.locator(".cf-case-assignee")).to_have_text(f"{COLLEAGUE_NAME} (you)")
        axe(cal)
        # Cas is told, by email and on the case page.
        [(subject, body)] = case_rows(
            server, "SELECT subject, body FROM outbox WHERE kind = 'taken_from_you' AND recipient = ?", CASEWORKER_EMAIL
        )
        assert subject == f"{refs['A']}: {COLLEAGUE_NAME} has taken over this case", subject
        # The email's link opens the case, which now says who has it.
        [link] = re.findall(r"Open the case: (\S+)", body)
        cas.goto(link)
        arrive(cas, server(f"/casework/cases/{refs['A']}"))
        axe(cas)
        expect(cas.locator(".cf-assigned-elsewhere")).to_contain_text(f"Assigned to {COLLEAGUE_NAME}")
        _decide(cal, server, axe, refs["A"], "Recommend approval", **{"Comment (optional)": "Register agrees."})
        expect(cal.locator(".cf-case-state")).to_contain_text("Recommended for approval")
        # F: Cal keeps it for later.
        _assign_to_me(cal, server, axe, refs["F"], COLLEAGUE_NAME)

        # B: Cas asks the applicant for more; the applicant answers on their status page.
        _assign_to_me(cas, server, axe, refs["B"], CASEWORKER_NAME)
        form = cas.locator("form.cf-request-information")
        form.get_by_label("Message to the applicant").fill(REQUEST)
        form.get_by_role("button", name=ASK).click()
        arrive(cas, server(f"/casework/cases/{refs['B']}"))
        expect(cas.locator(".cf-case-state")).to_contain_text("Waiting for the applicant")
        expect(cas.locator(".cf-information-request")).to_contain_text("not answered yet")
        axe(cas)
        _status(citizen, status["B"], axe, "We need more information from you", CHECKING)
        expect(citizen.locator(".cf-request-message")).to_have_text(REQUEST)
        citizen.get_by_role("button", name="Answer our questions").click()
        arrive(citizen, status["B"] + "/information")
        axe(citizen)
        citizen.get_by_label("Your reply").fill(REPLY)
        citizen.get_by_role("button", name="Send").click()
        arrive(citizen, status["B"] + "/information/sent")
        axe(citizen)
        _open_case(cas, server, axe, refs["B"])
        expect(cas.locator(".cf-information-request")).to_contain_text(REPLY)
        expect(cas.locator(".cf-case-state")).not_to_contain_text("Waiting for the applicant")
        _decide(cas, server, axe, refs["B"], "Recommend approval")

        # C: Cas refuses, with the reason the applicant reads.
        _open_case(cas, server, axe, refs["C"])
        _decide(cas, server, axe, refs["C"], "Reject", **{"Reason (the applicant will see this)": REASON})
        expect(cas.locator(".cf-case-state")).to_contain_text("Rejected")
        _status(citizen, status["C"], axe, "Decided", REFUSED)
        expect(citizen.get_by_role("heading", name="Why we made this decision")).to_be_visible()
        expect(citizen.locator(".cf-decision-reason")).to_have_text(REASON)
        expect(citizen.locator(".cf-appeal")).to_contain_text("Valuation Tribunal")
        expect(citizen.locator("main")).not_to_contain_text(CASEWORKER_NAME)

        # D: recommended; E: Cas keeps it.
        _open_case(cas, server, axe, refs["D"])
        _decide(cas, server, axe, refs["D"], "Recommend approval")
        _assign_to_me(cas, server, axe, refs["E"], CASEWORKER_NAME)

        # The closed case is found by its reference, as typed, under "Any step"; not among open ones.
        assert refs["C"] not in _inbox(cas, server, axe)
        found = _inbox(cas, server, axe, q=refs["C"].lower(), state="Any step, open or closed")
        assert found == [refs["C"]], found
        expect(cas.locator("table.cf-inbox tbody tr").first).to_contain_text("Rejected (closed)")
        # Needs my action: Cas's own open case (E); F is Cal's, D waits for a manager, A/B/C are not hers.
        assert _inbox(cas, server, axe, needs="1") == [refs["E"]]
        assert _inbox(cal, server, axe, needs="1") == [refs["F"]]

        # The manager: what waits for a manager is what was recommended; approves A and B.
        casework_sign_in(mo, server, MANAGER_EMAIL, axe)
        assert sorted(_inbox(mo, server, axe, needs="1")) == sorted([refs["A"], refs["B"], refs["D"]])
        for letter in "AB":
            _open_case(mo, server, axe, refs[letter])
            _decide(mo, server, axe, refs[letter], "Approve")
            expect(mo.locator(".cf-case-state")).to_contain_text("Closed")
        assert _inbox(mo, server, axe, needs="1") == [refs["D"]]
        _status(citizen, status["A"], axe, "Decided", APPROVED)
        _status(citizen, status["D"], axe, "In progress", CHECKING)

        # The refusal's email, as the outbox shows it.
        mo.get_by_role("link", name="Outbox").click()
        arrive(mo, server("/casework/outbox"))
        refusal = mo.locator("table.cf-outbox tbody tr").filter(has_text=f"{TITLE}: our decision on {refs['C']}")
        expect(refusal).to_have_count(1)
        refusal.locator("summary").click()
        expect(refusal.locator(".cf-message-body")).to_contain_text(REASON)
        expect(refusal.locator(".cf-message-body")).to_contain_text("Valuation Tribunal")
        axe(mo)

        # The reports: the figures of the cases made here.
        mo.locator("#cf-service-navigation").get_by_role("link", name="Reports").click()
        arrive(mo, server("/casework/reports"))
        axe(mo)
        expect(mo.locator(".cf-open-total")).to_have_text("3 open cases, 0 overdue.")
        assert _table(mo, "#open-cases-table") == [
            [TITLE, "Received", "2", "0"],
            [TITLE, "Recommended for approval", "1", "0"],
        ]
        assert _table(mo, "#decisions-by-person-table") == [
            [CASEWORKER_NAME, "3"],  # recommended B and D, refused C
            [MANAGER_NAME, "2"],  # approved A and B
            [COLLEAGUE_NAME, "1"],  # recommended A
        ]
        today = utcnow().date()
        monday = today - timedelta(days=today.weekday())
        weeks = _table(mo, "#decisions-by-week-table")
        assert weeks[-1] == [f"{monday.day} {monday:%B %Y}", "6"], weeks  # this week: all six
        assert all(count == "0" for _week, count in weeks[:-1]), weeks
        times = mo.locator(".cf-time-to-decision")
        expect(times).to_contain_text("Cases decided 3")
        # Nearest rank of 2, 5 and 9 days: the median is the second, the 90th percentile the third.
        expect(times).to_contain_text("Median (half took no longer) 5.0 days")
        expect(times).to_contain_text("90th percentile (9 in 10 took no longer) 9.0 days")

        # ... and as CSV: one downloaded by its link, the others read from theirs.
        with mo.expect_download() as download:
            mo.get_by_role("link", name="Download open cases by step (CSV)").click()
        with open(download.value.path(), encoding="utf-8") as f:
            assert list(csv.reader(f)) == [
                ["Service", "Step", "Open cases", "Overdue"],
                [TITLE, "Received", "2", "0"],
                [TITLE, "Recommended for approval", "1", "0"],
            ]
        people = _csv_rows(mo, server, "Download decisions by member of staff (CSV)")
        assert [row[2:] for row in people] == [
            ["Member of staff", "Decisions"],
            [CASEWORKER_NAME, "3"],
            [MANAGER_NAME, "2"],
            [COLLEAGUE_NAME, "1"],
        ]
        time_csv = _csv_rows(mo, server, "Download time to decision (CSV)")
        assert time_csv[1][2:] == ["3", "5.0", "9.0"], time_csv
        week_csv = _csv_rows(mo, server, "Download decisions by week (CSV)")
        assert week_csv[-1] == [monday.isoformat(), "6"], week_csv

    assert not errors, errors
    # The database agrees: three closed (two approved, one refused), three open.
    states = {letter: one_case(server, ref)["state"] for letter, ref in refs.items()}
    assert states == {
        "A": "approved",
        "B": "approved",
        "C": "rejected",
        "D": "recommended",
        "E": "received",
        "F": "received",
    }
    [(body,)] = case_rows(
        server, "SELECT body FROM outbox WHERE kind = 'decision' AND case_id = ?", one_case(server, refs["C"])["id"]
    )
    assert f"Why we made this decision:\n{REASON}" in body and "Valuation Tribunal" in body

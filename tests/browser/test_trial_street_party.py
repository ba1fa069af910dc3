"""Issue 17's first trial, walked from the beginning in Chromium: "Apply to hold a street party".

A Highways designer signs in and builds the service from its written brief with the builder's pages
only (no JSON): the party's date at least 8 weeks from today, a declaration ("I confirm I have told
all the neighbours"), a page about closing the road shown only when the road must be closed, two ways
to approval (a caseworker approves a party that keeps the road open; a road closure is recommended by
a caseworker and approved by a manager), every case decided within 10 working days, privacy and
contact details. The designer previews and publishes it and follows the link to the live service.
A citizen sends it twice: once closing the road (first refused for a date too soon and the
declaration not ticked), once not. A caseworker approves the small party, asks the road closure's
applicant for another date, sees the answer on the case page as changed after the request and
recommends; a manager approves; each decision reaches the citizen's status page. axe-core checks every
page visited. Walked twice, with and without JavaScript (without it, a condition's answer is typed).
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta
from itertools import combinations
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime import db as dbmod
from runtime import staff
from runtime.data import departments
from runtime.widgets import long_date

from .conftest import DESIGNER_PASSWORD, BuilderServer, casework_sign_in, new_page, sign_in
from .helpers import arrive, continue_, settled
from .test_builder_steps import DRAWN, _overlap

pytestmark = pytest.mark.browser

STATUS = re.compile(r"/status/[^/?#]+$")
DEPARTMENT = "Highways"
DESIGNER = "hana.designer@westbridge.example"
CASEWORKER = "cal.caseworker@westbridge.example"
CASEWORKER_NAME = "Cal Caseworker"
MANAGER = "mina.manager@westbridge.example"
MANAGER_NAME = "Mina Manager"

WHEN = "What is the date of the party?"
STREET = "Which street is the party on?"
GUESTS = "How many people will come?"
CLOSE = "Do you need to close the road?"
STATEMENT = "I confirm I have told all the neighbours"
JUNCTIONS = "Between which junctions will the road be closed?"
MANAGER_STATE = "Waiting for a manager to approve the road closure"
MANAGER_TEXT = "A manager is checking your road closure"
APPROVED = "Your application has been approved"
ASK_MESSAGE = "There are roadworks on Mill Lane that day. Choose another date for the party."


class Trial:
    """What differs between the two walks: JavaScript, and the service's name and reference prefix."""

    def __init__(self, javascript: bool):
        self.javascript = javascript
        self.title = "Apply to hold a street party" if javascript else "Apply to hold a street party on a quiet road"
        self.prefix = "PARTY" if javascript else "QUIET"
        self.reference = re.compile(rf"{self.prefix}-[2-9A-HJKMNP-TV-Z]{{4}}-[2-9A-HJKMNP-TV-Z]{{4}}")


# -- the people -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def highways(builder_server: BuilderServer) -> BuilderServer:
    """builder_server with a Highways team: a designer, a caseworker and a manager."""
    engine = dbmod.make_engine(f"sqlite:///{builder_server.database}")
    try:
        with dbmod.session(engine) as s:
            department = departments.department_for_name(session=s, name=DEPARTMENT)
            s.flush()
            assert department.id is not None
            for email, name, role in (
                (DESIGNER, "Hana Designer", "designer"),
                (CASEWORKER, CASEWORKER_NAME, "caseworker"),
                (MANAGER, MANAGER_NAME, "manager"),
            ):
                staff.create_user(
                    session=s,
                    email=email,
                    name=name,
                    department_id=department.id,
                    role=role,
                    password=DESIGNER_PASSWORD,
                )
            s.commit()
    finally:
        engine.dispose()
    return builder_server


# -- small helpers --------------------------------------------------------------------------------


def heading(page: Any) -> Any:
    """The page's h1 (a question's preview, inert, may hold the question's own h1)."""
    return page.locator("h1:not([inert] *)")


def at(page: Any, path: str | re.Pattern[str]) -> None:
    """Wait until the browser shows ``path`` (a URL, or a regex of one) and the page has settled."""
    pattern = path if isinstance(path, re.Pattern) else re.compile(re.escape(path) + r"(#[\w-]*)?$")
    expect(page).to_have_url(pattern)
    settled(page)
    expect(heading(page)).to_have_count(1)


def link(page: Any, name: str) -> Any:
    return page.get_by_role("link", name=name, exact=True)


def banner(page: Any) -> Any:
    return page.locator(".govuk-notification-banner--success")


def rows(server: BuilderServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.database) as connection:
        return connection.execute(sql, args).fetchall()


def date_parts(page: Any, group: str, day: date) -> None:
    fieldset = page.get_by_role("group", name=group)
    fieldset.get_by_label("Day").fill(str(day.day))
    fieldset.get_by_label("Month").fill(str(day.month))
    fieldset.get_by_label("Year").fill(str(day.year))


def weeks_from_today(weeks: int) -> date:
    return date.today() + timedelta(weeks=weeks)


def working_days_from_today(count: int) -> date:
    """``count`` working days after today: Saturdays and Sundays left out (the test server's settings
    list no bank holidays)."""
    day = date.today()
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


# -- the designer ---------------------------------------------------------------------------------


class Builder:
    """The designer's browser on one service's pages."""

    def __init__(self, page: Any, server: BuilderServer, axe: Any, trial: Trial):
        self.page, self.server, self.axe, self.trial = page, server, axe, trial
        self.service = ""

    def url(self, rest: str = "") -> str:
        return self.server(f"/builder/services/{self.service}/{rest}")

    def check(self, path: str | re.Pattern[str]) -> None:
        at(self.page, path)
        self.axe(self.page)

    def create(self) -> None:
        page, server = self.page, self.server
        page.goto(server("/builder/sign-in"))
        self.check(server("/builder/sign-in"))
        sign_in(page, server, DESIGNER)
        self.check(server("/builder/"))
        page.get_by_role("button", name="Create a service").click()
        self.check(server("/builder/services/new"))
        page.get_by_label("Name of the service").fill(self.trial.title)
        page.get_by_label("Reference prefix").fill(self.trial.prefix)
        department = page.get_by_role("group", name="Department")
        if department.count():
            department.get_by_label(DEPARTMENT).check()
        page.get_by_label("From a blank service").check()
        page.get_by_role("button", name="Create service").click()
        at(page, re.compile(re.escape(server("/builder/services/")) + r"[a-z][a-z0-9-]*/$"))
        self.service = page.url.removeprefix(server("/builder/services/")).rstrip("/")
        expect(heading(page)).to_have_text(self.trial.title)
        self.axe(page)

    def add_question(self, kind: str, label: str) -> str:
        """From a page's edit page: the palette, the question form; returns the question's edit URL."""
        page = self.page
        page.get_by_role("button", name="Add a question").click()
        self.check(re.compile(re.escape(self.url("pages/")) + r"[\w-]+/questions/new$"))
        page.get_by_label(kind, exact=True).check()
        page.get_by_role("button", name="Continue").click()
        self.check(re.compile(r"/questions/new\?widget=[\w-]+$"))
        page.get_by_label("Heading" if kind == "Declaration" else "Question text", exact=True).fill(label)
        page.get_by_role("button", name="Add question").click()
        at(page, re.compile(re.escape(self.url("questions/")) + r"[a-z][a-z0-9_]*$"))
        expect(heading(page)).to_have_text("Edit question")
        self.axe(page)
        return page.url

    def new_page(self, name: str) -> str:
        page = self.page
        if page.url != self.url("pages"):
            link(page, "Back to pages").click()
            self.check(self.url("pages"))
        page.get_by_role("button", name="Add a page").click()
        self.check(self.url("pages/new"))
        page.get_by_label("Page name").fill(name)
        page.get_by_role("button", name="Add page").click()
        self.check(re.compile(re.escape(self.url("pages/")) + r"[\w-]+/$"))
        return page.url.removeprefix(self.url("pages/")).rstrip("/")

    def questions(self) -> tuple[str, str]:
        """The party's page and the road closure's page; returns their ids."""
        page = self.page
        link(page, "Pages and questions").click()
        self.check(self.url("pages"))

        party = self.new_page("Your street party")
        self.add_question("Date", WHEN)
        # The relative rule: nonsense refused with a message, then at least 8 weeks from today.
        page.get_by_label("At least this many").fill("today + banana")
        page.get_by_role("button", name="Save question").click()
        settled(page)
        expect(page.locator(".govuk-error-summary")).to_contain_text("whole number")
        self.axe(page)
        page.get_by_label("At least this many").fill("8")
        page.select_option("#date-rule-earliest-unit", "weeks")
        page.get_by_role("button", name="Save question").click()
        settled(page)
        expect(banner(page)).to_contain_text("Question saved")
        if self.trial.javascript:  # GOV.UK Frontend moves focus to it
            expect(banner(page)).to_be_focused()
        expect(page.locator(".cf-date-rule-words")).to_have_text(
            "Saved rule: the date must be at least 8 weeks from today."
        )
        self.axe(page)
        link(page, "Back to the page").click()
        self.check(self.url(f"pages/{party}/"))

        self.add_question("Short text", STREET)
        link(page, "Back to the page").click()
        self.check(self.url(f"pages/{party}/"))
        self.add_question("Number", GUESTS)
        page.get_by_label("Smallest number (optional)").fill("1")
        page.get_by_label("Largest number (optional)").fill("500")
        page.get_by_label("Whole numbers only").check()
        page.get_by_role("button", name="Save question").click()
        settled(page)
        expect(banner(page)).to_contain_text("Question saved")
        self.axe(page)
        link(page, "Back to the page").click()
        self.check(self.url(f"pages/{party}/"))
        self.add_question("Yes or no", CLOSE)
        link(page, "Back to the page").click()
        self.check(self.url(f"pages/{party}/"))

        self.add_question("Declaration", "Telling your neighbours")
        expect(page.get_by_text("should end with a question mark")).to_have_count(0)
        page.get_by_label("What people confirm").fill(STATEMENT)
        page.get_by_role("button", name="Save question").click()
        settled(page)
        if self.trial.javascript:  # GOV.UK Frontend moves focus to it
            expect(banner(page)).to_be_focused()
        self.axe(page)
        link(page, "Back to the page").click()
        self.check(self.url(f"pages/{party}/"))
        for label in (WHEN, STREET, GUESTS, CLOSE, "Telling your neighbours"):
            expect(page.locator("ol.cf-questions")).to_contain_text(label)

        # The road closure's page, shown only when the road must be closed.
        road = self.new_page("Closing the road")
        self.add_question("Long text", JUNCTIONS)
        link(page, "Back to the page").click()
        self.check(self.url(f"pages/{road}/"))
        link(page, "Change the condition for this page").click()
        self.check(self.url(f"pages/{road}/condition"))
        clause = page.get_by_role("group", name="Condition", exact=True)
        clause.get_by_label("Question").select_option(label=CLOSE)
        clause.get_by_label("How to compare").select_option(label="is")
        settled(page)
        self.answer(clause, "Yes")
        page.get_by_role("button", name="Save condition").click()
        self.check(self.url(f"pages/{road}/"))
        expect(page.locator(".cf-condition")).to_contain_text(CLOSE)

        link(page, "Back to pages").click()
        self.check(self.url("pages"))
        pages = page.locator("ol.cf-pages > li")
        expect(pages).to_have_count(3)
        expect(pages.nth(2).locator(".cf-page-condition")).to_contain_text(CLOSE)
        return party, road

    def steps(self) -> None:
        """The two ways to approval, and every case decided within 10 working days."""
        page = self.page
        page.goto(self.url())
        self.check(self.url())
        link(page, "Approval steps").click()
        overview = self.url("workflow")
        self.check(overview)

        # A state for the manager's approval.
        page.get_by_role("button", name="Add a state").click()
        self.check(self.url("workflow/states/new"))
        page.get_by_label("Name of the state").fill(MANAGER_STATE)
        page.get_by_label("What the applicant reads while their case is in this state (optional)").fill(MANAGER_TEXT)
        page.get_by_role("group", name="Is this a final state, which closes the case?").get_by_label("No").check()
        page.get_by_role("button", name="Save state").click()
        self.check(overview)
        expect(page.locator(".cf-workflow-states")).to_contain_text(MANAGER_STATE)

        # The caseworker approves a party that keeps the road open...
        link(page, "Edit action Approve").click()
        self.check(re.compile(re.escape(self.url("workflow/actions/")) + r"\d+/$"))
        page.get_by_label("Button text").fill("Approve the street party")
        self.guard("No")
        page.get_by_role("button", name="Save action").click()
        self.check(overview)

        # ... and refuses with a reason the applicant reads.
        link(page, "Edit action Reject").click()
        self.check(re.compile(re.escape(self.url("workflow/actions/")) + r"\d+/$"))
        page.get_by_label("Button text").fill("Refuse")
        page.get_by_label("Yes, staff must give a reason").check()
        page.get_by_role("button", name="Save action").click()
        self.check(overview)

        # A road closure: the caseworker recommends, a manager approves.
        link(page, "Add an action from Received").click()
        self.check(re.compile(re.escape(self.url("workflow/actions/new")) + r"\?from=\w+$"))
        page.get_by_label("Button text").fill("Recommend the road closure")
        page.get_by_label("Which state does the case move to?").select_option(label=MANAGER_STATE)
        page.get_by_role("group", name="Who can take this action?").get_by_label("Caseworker").check()
        self.guard("Yes")
        page.get_by_role("button", name="Save action").click()
        self.check(overview)

        link(page, f"Add an action from {MANAGER_STATE}").click()
        self.check(re.compile(re.escape(self.url("workflow/actions/new")) + r"\?from=[\w-]+$"))
        page.get_by_label("Button text").fill("Approve the road closure")
        page.get_by_label("Which state does the case move to?").select_option(label="Approved")
        page.get_by_role("group", name="Who can take this action?").get_by_label("Manager").check()
        page.get_by_role("button", name="Save action").click()
        self.check(overview)

        # The whole-case deadline, in working days.
        link(page, "Change where cases start, the time to decide every case and how deadlines count").click()
        self.check(self.url("workflow/settings"))
        page.get_by_label("Working days only").check()
        page.get_by_label("Decide every case within (optional)").fill("10")
        page.get_by_role("button", name="Save").click()
        self.check(overview)
        expect(page.locator(".cf-decide-within")).to_contain_text("10 working days")
        expect(page.locator(".cf-workflow-problems")).to_have_count(0)
        words = page.locator(".cf-workflow-words")
        expect(words).to_contain_text("Approve the street party")
        expect(words).to_contain_text("Recommend the road closure")
        expect(words).to_contain_text("Approve the road closure")
        expect(words).not_to_contain_text("transition")
        # The diagram as Chromium draws it: every label inside its box, no two boxes overlapping.
        drawn = page.evaluate(DRAWN)
        assert len([d for d in drawn if "cf-state" in d["kind"]]) == 4, drawn
        for d in drawn:
            x, y, w, h = d["box"]
            tx, ty, tw, th = d["text"]
            assert x <= tx and tx + tw <= x + w and y <= ty and ty + th <= y + h, d
        assert [(a["words"], b["words"]) for a, b in combinations(drawn, 2) if _overlap(a["box"], b["box"])] == []

    def guard(self, answer: str) -> None:
        """The action's condition: offered only when the road closure question is ``answer``."""
        page = self.page
        clause = page.get_by_role("group", name="Condition", exact=True)
        clause.get_by_label("Question").select_option(label=CLOSE)
        clause.get_by_label("How to compare").select_option(label="is")
        settled(page)
        self.answer(clause, answer)

    def answer(self, clause: Any, answer: str) -> None:
        """With JavaScript, the answer is chosen from the question's own answers; without, typed."""
        if self.trial.javascript:
            clause.get_by_label("Answer to compare with").select_option(label=answer)
        else:
            clause.get_by_label("Answer to compare with").fill(answer)

    def privacy(self) -> None:
        page = self.page
        page.goto(self.url())
        self.check(self.url())
        # Not "Completed" while the publish checklist would refuse for its absence.
        task = page.locator(".govuk-task-list__item").filter(has=link(page, "Privacy and contact details"))
        expect(task.locator(".govuk-task-list__status")).not_to_contain_text("Completed")
        link(page, "Privacy and contact details").click()
        self.check(self.url("privacy-and-contact"))
        page.get_by_label("Link to the privacy notice").fill("https://www.westbridge.example/privacy/highways")
        page.get_by_label("Contact email address (optional)").fill("streetparties@westbridge.example")
        page.get_by_label("Yes, I’ve completed this section").check()
        page.get_by_role("button", name="Save and continue").click()
        self.check(self.url())
        expect(banner(page)).to_contain_text("Privacy and contact details saved")
        expect(task.locator(".govuk-task-list__status")).to_contain_text("Completed")
        expect(page.locator(".cf-service-address")).to_contain_text(f"/services/{self.service}")

    def publish(self) -> str:
        """Preview, publish, follow the link to the live service; returns the live address."""
        page = self.page
        link(page, "Preview and try the service").click()
        self.check(self.url("preview"))
        for label in (WHEN, STATEMENT, JUNCTIONS):
            expect(page.locator("main")).to_contain_text(label)
        link(page, "Back to your tasks").click()
        self.check(self.url())
        link(page, "Publish").click()
        self.check(self.url("publish"))
        expect(page.locator(".cf-check--todo")).to_have_count(0)
        page.get_by_role("button", name="Publish version 1").click()
        self.check(self.url("publish?done=live"))
        expect(banner(page)).to_contain_text("Your changes are live.")
        live = banner(page).locator(".cf-live-link")
        address = live.get_attribute("href")
        assert address == self.server(f"/services/{self.service}"), address
        # The task list names the live address too.
        page.goto(self.url())
        self.check(self.url())
        live = page.locator(".cf-service-address .cf-live-link")
        expect(live).to_have_attribute("href", address)
        live.click()
        arrive(page, address)
        expect(page.locator("h1")).to_have_text(self.trial.title)
        self.axe(page)
        return address


def build(page: Any, server: BuilderServer, axe: Any, trial: Trial) -> tuple[str, str, str]:
    """The designer's whole part; returns (service id, its live address, the road closure's page id)."""
    builder = Builder(page, server, axe, trial)
    builder.create()
    _party, road = builder.questions()
    builder.steps()
    builder.privacy()
    address = builder.publish()

    doc = json.loads((server.definitions / f"{builder.service}.json").read_text(encoding="utf-8"))
    workflow = doc["workflow"]
    assert workflow["decide_within"] == "P10D" and workflow["working_days"] is True, workflow
    by_label = {q["label"]: q for q in doc["questions"].values()}
    assert by_label[WHEN]["date_rule"] == {"earliest": {"weeks": 8}}, by_label[WHEN]
    declaration = by_label["Telling your neighbours"]
    assert declaration["widget"] == "declaration" and declaration["statement"] == STATEMENT, declaration
    road_page = next(p for p in doc["pages"] if p["id"] == road)
    assert road_page.get("show_if"), road_page
    return builder.service, address, road


# -- the citizen ----------------------------------------------------------------------------------


class Citizen:
    def __init__(self, page: Any, server: BuilderServer, axe: Any, address: str, trial: Trial):
        self.page, self.server, self.axe, self.address, self.trial = page, server, axe, address, trial

    def check(self, url: str) -> None:
        arrive(self.page, url)
        self.axe(self.page)

    def apply(self, name: str, email: str, *, close: bool, road: str, mistakes: bool) -> tuple[str, str]:
        """From the start page to the confirmation; returns (reference, status page URL)."""
        page, address = self.page, self.address
        page.goto(address)
        self.check(address)
        page.get_by_role("button", name="Start now").click()
        expect(page).to_have_url(re.compile(re.escape(address + "/") + r"[\w-]+$"))
        self.check(page.url)
        page.get_by_label("What is your full name?").fill(name)
        page.get_by_label("What is your email address?").fill(email)
        details = page.url
        continue_(page)
        expect(page).not_to_have_url(details)
        expect(page).to_have_url(re.compile(re.escape(address + "/") + r"[\w-]+$"))
        party = page.url
        self.check(party)

        earliest = weeks_from_today(8)
        if mistakes:
            date_parts(page, WHEN, earliest - timedelta(days=1))
            page.get_by_label(STREET).fill("Mill Lane")
            page.get_by_label(GUESTS).fill("501")
            continue_(page)
            arrive(page, party)
            summary = page.locator(".govuk-error-summary")
            expect(summary).to_contain_text(f"must be on or after {long_date(earliest)}")
            expect(summary).to_contain_text("Select the box to confirm you have told all the neighbours")
            # Written from the question as GOV.UK would: "Select whether ...", not "Select do you ...?"
            expect(summary).to_contain_text("Select whether you need to close the road")
            expect(summary).not_to_contain_text("?")
            # A number's limits say whether the ends are allowed.
            expect(summary).to_contain_text("must be from 1 to 500")
            assert page.title().startswith("Error: "), page.title()
            self.axe(page)
        date_parts(page, WHEN, earliest + timedelta(days=7))
        page.get_by_label(STREET).fill("Mill Lane")
        page.get_by_label(GUESTS).fill("500")
        page.get_by_role("group", name=CLOSE).get_by_label("Yes" if close else "No", exact=True).check()
        page.get_by_label(STATEMENT).check()
        continue_(page)
        if close:
            self.check(f"{address}/{road}")
            page.get_by_label(JUNCTIONS).fill("From Church Street to the High Street")
            continue_(page)
        self.check(f"{address}/check-answers")
        summary = page.locator(".govuk-summary-list")
        expect(summary).to_contain_text(long_date(earliest + timedelta(days=7)))
        if close:
            expect(summary).to_contain_text("From Church Street to the High Street")
        else:
            expect(summary).not_to_contain_text(JUNCTIONS)
        page.get_by_role("button", name="Accept and send").click()
        self.check(f"{address}/confirmation")
        reference = page.locator(".govuk-panel--confirmation .cf-reference").inner_text().strip()
        assert self.trial.reference.fullmatch(reference), reference
        status = link(page, "check the progress of your application")
        expect(status).to_have_attribute("href", STATUS)
        status_url = self.server(status.get_attribute("href"))
        status.click()
        self.check(status_url)
        return reference, status_url

    def answers(self, status_url: str, new_date: date) -> None:
        page = self.page
        page.goto(status_url)
        self.check(status_url)
        expect(page.locator(".cf-request-message")).to_have_text(ASK_MESSAGE)
        page.get_by_role("button", name="Answer our questions").click()
        self.check(status_url + "/information")
        # Too soon again: the date rule holds on the answer page too.
        date_parts(page, WHEN, weeks_from_today(8) - timedelta(days=1))
        page.get_by_role("button", name="Send").click()
        arrive(page, status_url + "/information")
        expect(page.locator(".govuk-error-summary")).to_contain_text(f"on or after {long_date(weeks_from_today(8))}")
        self.axe(page)
        date_parts(page, WHEN, new_date)
        page.get_by_label("Anything else you want to tell us (optional)").fill(
            "Moved a week later, after the roadworks."
        )
        page.get_by_role("button", name="Send").click()
        self.check(status_url + "/information/sent")

    def sees(self, status_url: str, tag: str, text: str) -> None:
        page = self.page
        page.goto(status_url)
        self.check(status_url)
        status = page.locator(".cf-status")
        expect(status.locator(".govuk-tag")).to_have_text(tag)
        expect(status).to_contain_text(text)


# -- the back office ------------------------------------------------------------------------------


class Office:
    def __init__(self, page: Any, server: BuilderServer, axe: Any):
        self.page, self.server, self.axe = page, server, axe

    def open(self, reference: str, step: str, tags: tuple[str, ...] = ()) -> str:
        page, server = self.page, self.server
        inbox = server("/casework/")
        if page.url != inbox:
            link(page, "Cases").click()
        arrive(page, inbox)
        self.axe(page)
        page.get_by_label("Search", exact=True).fill(reference)
        page.get_by_role("button", name="Apply filters").click()
        expect(page).to_have_url(re.compile(re.escape(inbox) + r"\?.*q="))
        arrive(page, page.url)
        found = page.locator("table.cf-inbox tbody tr")
        expect(found).to_have_count(1)
        expect(found.first).to_contain_text(step)
        expect(found.first).to_contain_text("Decide by")
        for tag in tags:
            expect(found.first.locator(".cf-case-tag")).to_contain_text(tag)
        self.axe(page)
        link(page, reference).click()
        case_url = server(f"/casework/cases/{reference}")
        arrive(page, case_url)
        expect(page.locator(".cf-case-state")).to_contain_text(step)
        self.axe(page)
        return case_url

    def take(self, button: str, case_url: str, now: str) -> None:
        page = self.page
        page.get_by_role("button", name=button, exact=True).click()
        arrive(page, case_url)
        expect(banner(page)).to_contain_text(f"is now: {now}")
        self.axe(page)


# -- the test -------------------------------------------------------------------------------------


# Walked with JavaScript, as the Highways officer's trial was. The builder's pages without it are
# walked by test_builder_journey.py[no-js] and every form by the test client (tests/builder), and
# the back office without it by the council tax trial's second caseworker: the suite's time
# budget keeps one walk here (25 s), not two (the one without JavaScript took 34 s).
@pytest.mark.parametrize("javascript", [True], ids=["js"])
def test_street_party_from_brief_to_decisions(
    highways: BuilderServer, browser: Any, axe: Any, javascript: bool
) -> None:
    server = highways
    trial = Trial(javascript)
    errors: list[str] = []

    def watch(page: Any) -> None:
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))

    with (
        new_page(browser, java_script_enabled=javascript) as designer,
        new_page(browser, java_script_enabled=javascript) as citizen_page,
        new_page(browser, java_script_enabled=javascript) as caseworker,
        new_page(browser, java_script_enabled=javascript) as manager,
    ):
        for page in (designer, citizen_page, caseworker, manager):
            watch(page)
        service, address, road = build(designer, server, axe, trial)

        citizen = Citizen(citizen_page, server, axe, address, trial)
        closing, closing_status = citizen.apply(
            "Pat Partygoer", "pat@example.com", close=True, road=road, mistakes=True
        )
        small, small_status = citizen.apply("Kim Neighbour", "kim@example.com", close=False, road=road, mistakes=False)

        # The caseworker: the small party is approved directly; no road closure action is offered.
        office = Office(caseworker, server, axe)
        casework_sign_in(caseworker, server, CASEWORKER, axe)
        case_url = office.open(small, "Received")
        expect(caseworker.locator(".cf-case-decide-by")).to_contain_text(long_date(working_days_from_today(10)))
        # The decisions look different: a refusal is not the green of an approval.
        expect(caseworker.get_by_role("button", name="Refuse", exact=True)).to_have_class(
            re.compile(r"govuk-button--warning")
        )
        expect(caseworker.get_by_role("button", name="Approve the street party")).not_to_have_class(
            re.compile(r"govuk-button--(warning|secondary)")
        )
        expect(caseworker.get_by_role("button", name="Recommend the road closure")).to_have_count(0)
        office.take("Approve the street party", case_url, "Approved")
        citizen.sees(small_status, "Decided", APPROVED)

        # The road closure: the caseworker asks for another date first.
        case_url = office.open(closing, "Received")
        expect(caseworker.get_by_role("button", name="Approve the street party")).to_have_count(0)
        expect(caseworker.get_by_role("button", name="Recommend the road closure")).to_have_class(
            re.compile(r"govuk-button--secondary")
        )
        before = long_date(weeks_from_today(9))
        expect(caseworker.locator(".cf-answers")).to_contain_text(before)
        form = caseworker.locator("form.cf-request-information")
        form.get_by_role("group", name="Questions to ask again (optional)").get_by_label(WHEN).check()
        form.get_by_label("Message to the applicant").fill(ASK_MESSAGE)
        form.get_by_role("button", name="Ask the applicant for more information").click()
        arrive(caseworker, case_url)
        expect(banner(caseworker)).to_contain_text("You asked the applicant for more information")
        axe(caseworker)
        due = rows(server, "SELECT decision_due_at FROM case_record WHERE reference = ?", closing)

        new_date = weeks_from_today(10)
        citizen.answers(closing_status, new_date)

        # The caseworker is told, with a link on the address the site is served on.
        told = rows(
            server,
            "SELECT o.body FROM outbox o JOIN staff_user u ON u.id = o.staff_id "
            "WHERE u.email = ? AND o.kind = 'applicant_replied' AND o.body LIKE ?",
            CASEWORKER,
            f"%{closing}%",
        )
        assert len(told) == 1 and closing in told[0][0], told
        found = re.search(r"Open the case: (\S+)", told[0][0])
        assert found and found[1].startswith(server("/casework/cases/")), told
        caseworker.goto(found[1])
        arrive(caseworker, server(f"/casework/cases/{closing}"))
        axe(caseworker)
        case_url = office.open(closing, "Received", tags=("Applicant replied",))
        answers = caseworker.locator(".cf-answers")
        expect(answers).to_contain_text(long_date(new_date))
        expect(answers.locator(".cf-answer-changed")).to_contain_text(f"after your request: was {before}")
        # The whole-case deadline is not restarted by the applicant's answer.
        assert rows(server, "SELECT decision_due_at FROM case_record WHERE reference = ?", closing) == due
        office.take("Recommend the road closure", case_url, MANAGER_STATE)
        expect(caseworker.locator("form.cf-case-action")).to_have_count(0)
        citizen.sees(closing_status, "In progress", MANAGER_TEXT)

        # The manager approves the road closure.
        boss = Office(manager, server, axe)
        casework_sign_in(manager, server, MANAGER, axe)
        link(manager, "Needs my action").click()
        arrive(manager, server("/casework/?needs=1"))
        waiting = manager.locator(f'table.cf-inbox tbody tr[data-reference="{closing}"]')
        expect(waiting).to_have_count(1)
        expect(waiting).not_to_contain_text("Applicant replied")  # the caseworker has acted since
        expect(manager.locator(f'table.cf-inbox tbody tr[data-reference="{small}"]')).to_have_count(0)
        axe(manager)
        case_url = boss.open(closing, MANAGER_STATE)
        boss.take("Approve the road closure", case_url, "Approved")
        citizen.sees(closing_status, "Decided", APPROVED)
    assert not errors, errors

    # What is stored: two cases, decided as walked, each with its whole-case deadline.
    cases = dict(
        rows(
            server,
            "SELECT reference, state || '|' || (decision_due_at IS NOT NULL) || '|' || (closed_at IS NOT NULL) "
            "FROM case_record WHERE service_id = ?",
            service,
        )
    )
    assert cases == {closing: "approved|1|1", small: "approved|1|1"}, cases
    actions = [
        a
        for (a,) in rows(
            server,
            "SELECT e.action FROM case_event e JOIN case_record c ON c.id = e.case_id WHERE c.reference = ? "
            "ORDER BY e.id",
            closing,
        )
    ]
    assert actions == [
        "submitted",
        "request-information",
        "information-answered",
        "recommend-the-road-closure",
        "approve-the-road-closure",
    ], actions

    # The citizen's emails: the request puts the question in the email itself; each decision is sent.
    sent = rows(
        server,
        "SELECT o.recipient, o.kind, o.body FROM outbox o JOIN case_record c ON c.id = o.case_id "
        "WHERE c.service_id = ? AND o.recipient IN ('pat@example.com', 'kim@example.com') ORDER BY o.id",
        service,
    )
    kinds = [(recipient, kind) for recipient, kind, _ in sent]
    assert [k for r, k in kinds if r == "pat@example.com"] == ["submitted", "information_requested", "decision"]
    assert [k for r, k in kinds if r == "kim@example.com"] == ["submitted", "decision"]
    request = next(body for recipient, kind, body in sent if kind == "information_requested")
    assert ASK_MESSAGE in request and WHEN in request, request

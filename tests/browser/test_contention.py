"""Issue 17, part A, in Chromium: two caseworkers contend for one council tax case, each in a
browser context of their own (one with JavaScript, one without). Taking or deciding on a case a
colleague holds asks first ("This case is assigned to ... Continue?"), keeps what was typed, and
tells the colleague; axe-core (WCAG 2.2 A/AA, and the region rule on staff pages) checks the
case page with its notice, the confirmation pages and the case page after."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime import cases, staff, versions
from runtime import db as dbmod
from runtime.data import departments, submissions
from runtime.models import utcnow
from tests.browser.conftest import (
    CASEWORK_DEPARTMENT,
    CASEWORKER_EMAIL,
    CASEWORKER_NAME,
    DESIGNER_PASSWORD,
    BuilderServer,
    casework_sign_in,
    new_page,
)

pytestmark = pytest.mark.browser

SERVICE = "council-tax-single-person-discount"
COLLEAGUE_EMAIL = "colleague@westbridge.example"
COLLEAGUE_NAME = "Cal Colleague"
ANSWERS: dict[str, Any] = {
    "account_number": "12345678",
    "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
    "reason": "adult_moved_out",
    "other_adult_name": "John Smith",
    "sole_adult_date": "2024-02-01",
    "full_name": "Sam Single",
    "email": "sam.single@example.com",
}
REASON = "Our records show another adult living at the property since March 2024."


def _setup(server: BuilderServer) -> str:
    """A second caseworker in the council tax team, and one case; returns its reference."""
    engine = dbmod.make_engine(f"sqlite:///{server.database}")
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
            definition = versions.definition(session=s, service_id=SERVICE)
            assert definition is not None
            submission = submissions.create_submission(session=s, service=definition, answers=dict(ANSWERS))
            case = cases.open_case(
                s, submission=submission, definition=definition, now=utcnow(), secret_key="browser-test-secret-key-"
            )
            s.commit()
            return case.reference
    finally:
        engine.dispose()


def _rows(server: BuilderServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.database) as connection:
        return connection.execute(sql, args).fetchall()


def _continue_question(page: Any, holder: str) -> None:
    expect(page.locator("h1")).to_have_text(f"This case is assigned to {holder}. Continue?")


def test_two_caseworkers_contend_for_one_case(casework_server: BuilderServer, browser: Any, axe: Any) -> None:
    reference = _setup(casework_server)
    case_url = casework_server(f"/casework/cases/{reference}")
    with new_page(browser) as cas, new_page(browser, java_script_enabled=False) as cal:
        casework_sign_in(cas, casework_server, CASEWORKER_EMAIL)
        casework_sign_in(cal, casework_server, COLLEAGUE_EMAIL)

        # Cas (with JavaScript) takes the unassigned case: nobody to ask.
        cas.goto(case_url)
        cas.get_by_role("button", name="Assign to me").click()
        expect(cas.locator(".govuk-notification-banner")).to_contain_text("assigned to you")
        expect(cas.locator(".cf-case-assignee")).to_have_text(f"{CASEWORKER_NAME} (you)")

        # Cal (without JavaScript) sees who holds it, and is asked before taking it.
        cal.goto(case_url)
        expect(cal.locator(".cf-assigned-elsewhere")).to_contain_text(f"Assigned to {CASEWORKER_NAME}")
        axe(cal)
        cal.get_by_role("button", name="Assign to me").click()
        _continue_question(cal, CASEWORKER_NAME)
        axe(cal)
        cal.get_by_role("button", name="Continue: assign it to me").click()
        expect(cal).to_have_url(case_url)
        expect(cal.locator(".govuk-notification-banner")).to_contain_text("assigned to you")
        axe(cal)

        # Cas, on the page as it is now, types a refusal: asked first, and what was typed is kept.
        cas.goto(case_url)
        expect(cas.locator(".cf-assigned-elsewhere")).to_contain_text(f"Assigned to {COLLEAGUE_NAME}")
        axe(cas)
        reject = cas.locator("form.cf-case-action:has(input[name=action][value=reject])")
        expect(reject.get_by_role("button", name="Reject")).to_have_class(re.compile(r"govuk-button--warning"))
        reject.locator("textarea").fill(REASON)
        reject.get_by_role("button", name="Reject").click()
        _continue_question(cas, COLLEAGUE_NAME)
        expect(cas.locator("form.cf-take-over textarea")).to_have_value(REASON)
        axe(cas)
        cas.get_by_role("button", name="Continue: Reject").click()
        expect(cas.locator(".govuk-notification-banner")).to_contain_text("now: Rejected")
        axe(cas)

    [(case_id, state, assigned)] = _rows(
        casework_server,
        "SELECT c.id, c.state, u.email FROM case_record c LEFT JOIN staff_user u ON u.id = c.assigned_to "
        "WHERE c.reference = ?",
        reference,
    )
    assert (state, assigned) == ("rejected", CASEWORKER_EMAIL)
    told = _rows(
        casework_server,
        "SELECT recipient, subject FROM outbox WHERE kind = 'taken_from_you' AND case_id = ? ORDER BY id",
        case_id,
    )
    assert [r for r, _ in told] == [CASEWORKER_EMAIL, COLLEAGUE_EMAIL]
    assert f"{COLLEAGUE_NAME} has taken over" in told[0][1] and f"{CASEWORKER_NAME} has taken over" in told[1][1]
    comments = _rows(
        casework_server,
        "SELECT t.text FROM case_event e JOIN case_event_comment t ON t.event_id = e.id "
        "WHERE e.case_id = ? AND e.action = 'reject'",
        case_id,
    )
    assert comments == [(REASON,)]

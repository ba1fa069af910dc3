"""Issue 17, part D in Chromium: a manager finds an escalated case, sends it back to the
caseworker (a refused empty note first), the caseworker chooses a daily digest, and the
outbox; axe-core (WCAG 2.2 A/AA) on every page, with and without JavaScript."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from runtime import cases, versions
from runtime import db as dbmod
from runtime.data import submissions
from runtime.models import Case, StaffUser, utcnow
from tests.browser.conftest import (
    CASEWORKER_EMAIL,
    CASEWORKER_NAME,
    MANAGER_EMAIL,
    BuilderServer,
    casework_sign_in,
    new_page,
)
from tests.browser.helpers import arrive

pytestmark = pytest.mark.browser

SERVICE = "council-tax-single-person-discount"
NOTE = "I have checked the tenancy agreement: please decide it this week."


def _escalated_case(server: BuilderServer, name: str) -> str:
    """A council tax case assigned to the caseworker, past its step's deadline and escalated
    by the worker's own function; returns its reference."""
    engine = dbmod.make_engine(f"sqlite:///{server.database}")
    try:
        with dbmod.session(engine) as s:
            definition = versions.definition(session=s, service_id=SERVICE)
            assert definition is not None
            submission = submissions.create_submission(
                session=s, service=definition, answers={"full_name": name, "email": "pat@example.com"}
            )
            case = cases.open_case(
                s, submission=submission, definition=definition, now=utcnow() - timedelta(days=40), secret_key="x" * 40
            )
            worker = s.exec(StaffUser.__table__.select().where(StaffUser.email == CASEWORKER_EMAIL)).first()  # type: ignore[attr-defined]
            found = s.get(Case, case.id)
            assert found is not None and worker is not None
            found.assigned_to = worker.id
            found.deadline_at = utcnow() - timedelta(days=1)
            s.add(found)
            s.commit()
            assert cases.escalate_overdue(s, now=utcnow()) >= 1
            s.commit()
            return case.reference
    finally:
        engine.dispose()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_manager_sends_an_escalated_case_back(
    casework_server: BuilderServer, browser: Any, axe: Any, javascript: bool
) -> None:
    server = casework_server
    reference = _escalated_case(server, "Pat Escalated " + ("Js" if javascript else "Nojs"))
    with new_page(browser, java_script_enabled=javascript) as page:
        casework_sign_in(page, server, MANAGER_EMAIL)
        case_url = server(f"/casework/cases/{reference}")
        page.goto(case_url)
        expect(page.locator(".cf-case-escalated")).to_contain_text("It passed the deadline for its step")
        axe(page)
        page.get_by_role("link", name="Send back to the caseworker").click()
        arrive(page, server(f"/casework/cases/{reference}/send-back-to-caseworker"))
        expect(page.locator("h1")).to_have_text(f"Send the case back to {CASEWORKER_NAME}")
        axe(page)
        page.get_by_role("button", name="Send back to the caseworker").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a note for the caseworker")
        axe(page)
        page.get_by_label("Note for the caseworker").fill(NOTE)
        page.get_by_role("button", name="Send back to the caseworker").click()
        arrive(page, case_url)
        expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
            f"The case is back with {CASEWORKER_NAME}"
        )
        expect(page.locator(".cf-case-escalated")).to_have_count(0)
        expect(page.locator("table.cf-history")).to_contain_text(NOTE)
        axe(page)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_caseworker_chooses_a_daily_digest_and_reads_the_outbox(
    casework_server: BuilderServer, browser: Any, axe: Any, javascript: bool
) -> None:
    server = casework_server
    with new_page(browser, java_script_enabled=javascript) as page:
        casework_sign_in(page, server, CASEWORKER_EMAIL)
        page.get_by_role("link", name="Email settings", exact=True).click()
        arrive(page, server("/casework/email-settings"))
        axe(page)
        page.get_by_label("Send me one email a day").check()
        page.get_by_role("button", name="Save").click()
        arrive(page, server("/casework/email-settings"))
        expect(page.locator(".govuk-notification-banner--success")).to_contain_text("one email a day")
        expect(page.get_by_label("Send me one email a day")).to_be_checked()
        axe(page)
        page.get_by_label("Send me each email as it happens").check()
        page.get_by_role("button", name="Save").click()
        arrive(page, server("/casework/email-settings"))
        page.get_by_role("link", name="Outbox", exact=True).click()
        arrive(page, server("/casework/outbox"))
        expect(page.locator("table.cf-outbox")).to_be_visible()
        axe(page)

"""Issue 17, part B, in Chromium: a manager finds work in the inbox (search by a searchable answer
and for a closed case, "Needs my action", a tag filter, a saved filter), selects every case on a
page with the bulk controls at the top (with JavaScript the box ticks the rows; without it the
server reads it) and downloads the current filter as CSV. axe-core on every page on the way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from runtime import cases, versions
from runtime import db as dbmod
from runtime.data import submissions
from runtime.models import Case, utcnow
from tests.browser.conftest import MANAGER_EMAIL, BuilderServer, casework_sign_in, new_page
from tests.browser.helpers import arrive

pytestmark = pytest.mark.browser

SERVICE = "council-tax-single-person-discount"


def _open_cases(server: BuilderServer, people: list[tuple[str, str]]) -> list[str]:
    """Cases opened as the citizen runtime opens them: (name, account number) each."""
    engine = dbmod.make_engine(f"sqlite:///{server.database}")
    made = []
    try:
        with dbmod.session(engine) as s:
            definition = versions.definition(session=s, service_id=SERVICE)
            assert definition is not None
            for name, account in people:
                answers = {"full_name": name, "email": f"{name.split()[0].lower()}@example.com"}
                answers["account_number"] = account
                submission = submissions.create_submission(session=s, service=definition, answers=answers)
                case = cases.open_case(s, submission=submission, definition=definition, now=utcnow(),
                                       secret_key="x" * 40)  # fmt: skip
                made.append(case.reference)
            s.commit()
    finally:
        engine.dispose()
    return made


def _close(server: BuilderServer, reference: str) -> None:
    engine = dbmod.make_engine(f"sqlite:///{server.database}")
    try:
        with dbmod.session(engine) as s:
            case = s.exec(select(Case).where(Case.reference == reference)).one()
            case.closed_at, case.state, case.deadline_at = utcnow(), "approved", None
            s.add(case)
            s.commit()
    finally:
        engine.dispose()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_manager_finds_work_and_assigns_a_whole_page(
    casework_server: BuilderServer, browser: Any, axe: Any, javascript: bool
) -> None:
    slug = "js" if javascript else "nojs"
    accounts = ["7100000" + ("1" if javascript else "2"), "7200000" + ("1" if javascript else "2")]
    open_ref, closed_ref = _open_cases(
        casework_server, [(f"Finley Find {slug}", accounts[0]), (f"Clara Closed {slug}", accounts[1])]
    )
    _close(casework_server, closed_ref)
    with new_page(browser, java_script_enabled=javascript) as page:
        casework_sign_in(page, casework_server, MANAGER_EMAIL, axe)
        inbox = casework_server("/casework/")
        arrive(page, inbox)
        axe(page)
        expect(page.locator("#inbox-count")).to_have_text(re.compile(r"^[\d,]+ cases?$"))
        # A searchable answer, then a closed case by its reference.
        page.get_by_label("Search", exact=True).fill(accounts[0])
        page.get_by_role("button", name="Apply filters").click()
        expect(page).to_have_url(re.compile(r"q=7"))
        arrive(page, page.url)
        expect(page.locator("table.cf-inbox tbody tr")).to_have_count(1)
        expect(page.locator("table.cf-inbox tbody tr").first).to_have_attribute("data-reference", open_ref)
        axe(page)
        page.get_by_label("Search", exact=True).fill(closed_ref.lower())
        page.get_by_role("button", name="Apply filters").click()
        expect(page).to_have_url(re.compile(r"q=ctd-"))
        arrive(page, page.url)
        expect(page.locator("table.cf-inbox tbody tr").first).to_contain_text("(closed)")
        # Save this filter, and find it again among the saved ones.
        page.get_by_label("Save this filter as").fill(f"Closed one {slug}")
        page.get_by_role("button", name="Save filter").click()
        arrive(page, page.url)
        expect(page.locator(".govuk-notification-banner")).to_contain_text(f"Filter saved as ‘Closed one {slug}’")
        axe(page)
        page.get_by_label("Save this filter as").fill("")
        page.get_by_role("button", name="Save filter").click()
        arrive(page, page.url)
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a name for this filter")
        axe(page)
        # Every case on the page assigned at once from the controls at the top; then they need my action.
        page.get_by_role("link", name="All open cases").click()
        expect(page).to_have_url(inbox)
        arrive(page, page.url)
        rows = page.locator("table.cf-inbox tbody tr")
        count = rows.count()
        assert count >= 1
        page.get_by_label("Select all cases on this page").check()
        if javascript:
            for box in page.locator("input.cf-case-choice").all():
                expect(box).to_be_checked()
        page.get_by_label("Assign selected to").select_option("me")
        page.get_by_role("button", name="Assign selected cases").click()
        arrive(page, page.url)
        expect(page.locator(".govuk-notification-banner")).to_contain_text(
            f"{count} case{'s' if count != 1 else ''} assigned to you"
        )
        axe(page)
        page.get_by_role("link", name="Needs my action").click()
        expect(page).to_have_url(re.compile(r"needs=1"))
        arrive(page, page.url)
        expect(page.locator("h1")).to_have_text("Needs my action")
        expect(page.locator(f"table.cf-inbox tbody tr[data-reference='{open_ref}']")).to_have_count(1)
        expect(page.locator(f"table.cf-inbox tbody tr[data-reference='{closed_ref}']")).to_have_count(0)
        axe(page)
        # The saved filter is a link; the CSV of it downloads.
        page.get_by_role("link", name=f"Closed one {slug}").click()
        expect(page).to_have_url(re.compile(r"q=ctd-"))
        arrive(page, page.url)
        expect(page.locator("table.cf-inbox tbody tr").first).to_have_attribute("data-reference", closed_ref)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download these cases as a spreadsheet (CSV)").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert closed_ref in text and "Reference,Applicant" in text

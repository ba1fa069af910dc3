"""One staff sign-in, walked in Chromium (issue 17, part E): someone who works in both faces signs
in once and moves between the back office and the builder by the links in each header, without
signing in again; each person lands where they work; signing out of one face is signing out of
both; the reports and audit pages pass axe (with its "region" rule, as every staff page does) with
JavaScript on and off."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from runtime import db as dbmod
from runtime import staff
from runtime.data import departments
from runtime.models import StaffRole
from tests.browser.conftest import (
    CASEWORK_DEPARTMENT,
    DESIGNER_EMAIL,
    DESIGNER_PASSWORD,
    MANAGER_EMAIL,
    BuilderServer,
    casework_sign_in,
)
from tests.browser.helpers import arrive

pytestmark = pytest.mark.browser

BOTH_EMAIL = "both.hats@westbridge.example"


@pytest.fixture(scope="module")
def both(casework_server: BuilderServer) -> BuilderServer:
    """casework_server with someone who is a caseworker in Council Tax and a designer there too."""
    engine = dbmod.make_engine(f"sqlite:///{casework_server.database}")
    try:
        with dbmod.session(engine) as s:
            department = departments.find_department(session=s, key=CASEWORK_DEPARTMENT)
            assert department is not None and department.id is not None
            user = staff.create_user(
                session=s,
                email=BOTH_EMAIL,
                name="Bo Both",
                department_id=department.id,
                role="caseworker",
                password=DESIGNER_PASSWORD,
            ).user
            s.add(StaffRole(user_id=user.id, department_id=department.id, role="designer"))
            s.commit()
    finally:
        engine.dispose()
    return casework_server


def _sign_in_at(page: Any, url: str, email: str) -> None:
    page.goto(url)
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', DESIGNER_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_sign_in_once_and_move_between_the_builder_and_the_back_office(
    js_page: Any, both: BuilderServer, axe: Any
) -> None:
    page = js_page
    # Signed in on the builder's sign-in page: a caseworker lands in the back office.
    _sign_in_at(page, both("/builder/sign-in"), BOTH_EMAIL)
    arrive(page, both("/casework/"))
    expect(page.locator("h1")).to_have_text("Cases")
    axe(page)
    cookies = {(c["name"], c["path"]) for c in page.context.cookies()}
    assert ("civicforms_staff", "/casework") in cookies and ("civicforms_staff", "/builder") in cookies
    assert not [c for c in page.context.cookies() if c["path"] == "/"]
    # The header links to the builder; it opens without signing in again.
    page.locator("#cf-service-navigation").get_by_role("link", name="Builder").click()
    arrive(page, both("/builder/"))
    expect(page.locator("h1")).not_to_have_text("Sign in")
    axe(page)
    # ... and back.
    page.locator("header").get_by_role("link", name="Back office").click()
    arrive(page, both("/casework/"))
    expect(page.locator("h1")).to_have_text("Cases")
    # A page of the builder typed into the address bar works too (the cookie goes to both paths).
    page.goto(both("/builder/services/new"))
    arrive(page, both("/builder/services/new"))
    expect(page.locator('nav[aria-label="Back"] .govuk-back-link')).to_be_visible()
    axe(page)  # the Back link inside a landmark: axe's region rule passes
    # Signing out of the builder signs out of the back office too.
    page.goto(both("/builder/sign-out"))
    page.locator("main").get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/sign-in?status=signed-out")
    page.goto(both("/casework/"))
    page.wait_for_url("**/casework/sign-in**")
    expect(page.locator("h1")).to_have_text("Sign in")


def test_a_designer_signing_in_on_the_back_office_lands_in_the_builder(js_page: Any, both: BuilderServer) -> None:
    _sign_in_at(js_page, both("/casework/sign-in"), DESIGNER_EMAIL)
    arrive(js_page, both("/builder/"))
    # No link to the back office: they do not work there.
    expect(js_page.locator("header").get_by_role("link", name="Back office")).to_have_count(0)


@pytest.mark.parametrize("javascript", [True, False])
def test_the_reports_and_audit_pages_pass_axe(browser: Any, both: BuilderServer, axe: Any, javascript: bool) -> None:
    from tests.browser.conftest import new_page

    with new_page(browser, java_script_enabled=javascript) as page:
        casework_sign_in(page, both, MANAGER_EMAIL)
        page.locator("#cf-service-navigation").get_by_role("link", name="Reports").click()
        arrive(page, both("/casework/reports"))
        # Every chart is an image with a name, and its figures follow as a table.
        charts = page.locator("svg[role=img]")
        expect(charts.first).to_be_visible()
        for i in range(charts.count()):
            assert charts.nth(i).get_attribute("aria-labelledby")
        expect(page.locator("#decisions-by-week-table")).to_be_visible()
        axe(page)
        page.get_by_role("link", name="Audit of actions on cases").click()
        arrive(page, both("/casework/audit"))
        axe(page)
        page.select_option("#action", label="Sent the application")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url("**/casework/audit?**")
        axe(page)
        # A bad date: the page says what is wrong, and still passes axe.
        page.fill("#since-day", "banana")
        page.get_by_role("button", name="Apply filters").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a real date")
        axe(page)

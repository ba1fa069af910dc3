"""axe-core (WCAG 2.2 A/AA) on the builder's pages, signed in as a designer, with and without JavaScript.

The builder is served as the development server serves it: mounted at /builder/ beside the citizen
runtime, on its own copy of the loaded database.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import ADMIN_EMAIL, LiveServer, new_page, sign_in

pytestmark = pytest.mark.browser

SERVICE = "blue-badge"


BUILDER_PAGES = [
    "/builder/",
    "/builder/services/new",
    f"/builder/services/{SERVICE}/",
    f"/builder/services/{SERVICE}/details",
    f"/builder/services/{SERVICE}/start-page",
    f"/builder/services/{SERVICE}/privacy-and-contact",
    f"/builder/services/{SERVICE}/identity",
    f"/builder/services/{SERVICE}/pages",
    f"/builder/services/{SERVICE}/pages/new",
    f"/builder/services/{SERVICE}/pages/which-benefit/",
    f"/builder/services/{SERVICE}/pages/which-benefit/condition",
    f"/builder/services/{SERVICE}/pages/which-benefit/routing",
    f"/builder/services/{SERVICE}/questions/ni_number",
    f"/builder/services/{SERVICE}/preview",
    f"/builder/services/{SERVICE}/publish",
    f"/builder/services/{SERVICE}/definition",
    f"/builder/services/{SERVICE}/try/",
    f"/builder/services/{SERVICE}/try/pages/where-you-live",
    f"/builder/services/{SERVICE}/workflow",
    f"/builder/services/{SERVICE}/workflow/settings",
    f"/builder/services/{SERVICE}/workflow/states/new",
    f"/builder/services/{SERVICE}/workflow/actions/new",
]
ADMIN_PAGES = ["/builder/admin/users", "/builder/admin/users/invite", "/builder/admin/users/1"]


def test_the_sign_in_page_passes_axe(builder_server: LiveServer, js_page: Any, axe: Any) -> None:
    js_page.goto(builder_server("/builder/sign-in"))
    axe(js_page)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_builder_pages_pass_axe(builder_server: LiveServer, browser: Any, axe: Any, javascript: bool) -> None:
    with new_page(browser, java_script_enabled=javascript) as page:
        sign_in(page, builder_server)
        for path in BUILDER_PAGES:
            response = page.goto(builder_server(path))
            assert response is not None and response.status == 200, (path, response and response.status)
            axe(page)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_admin_pages_pass_axe(builder_server: LiveServer, browser: Any, axe: Any, javascript: bool) -> None:
    with new_page(browser, java_script_enabled=javascript) as page:
        sign_in(page, builder_server, ADMIN_EMAIL)
        for path in ADMIN_PAGES:
            response = page.goto(builder_server(path))
            assert response is not None and response.status == 200, (path, response and response.status)
            axe(page)
        # An invitation with mistakes, then the one-time link page.
        page.goto(builder_server("/builder/admin/users/invite"))
        page.get_by_role("button", name="Create account").click()
        expect(page.locator(".govuk-error-summary")).to_be_visible()
        axe(page)


def test_trying_a_service_passes_axe_to_the_end(builder_server: LiveServer, js_page: Any, axe: Any) -> None:
    """Try it, as a designer walks it: an error, the pages, check answers and the confirmation."""
    page = js_page
    sign_in(page, builder_server)
    page.goto(builder_server("/builder/services/blue-badge/try/"))
    axe(page)
    page.get_by_role("button", name="Start now").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    axe(page)

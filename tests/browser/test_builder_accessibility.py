"""axe-core (WCAG 2.2 A/AA) on the builder's pages, signed in as a designer, with and without JavaScript.

The builder is served as the development server serves it: mounted at /builder/ beside the citizen
runtime, on its own copy of the loaded database.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import LiveServer, new_page, sign_in

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
]


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

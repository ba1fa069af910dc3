"""axe-core (WCAG 2.2 A/AA) on the builder's pages, signed in as a designer, with and without JavaScript.

The builder is served as the development server serves it: mounted at /builder/ beside the citizen
runtime, on its own copy of the loaded database.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime import db as dbmod
from runtime import staff, store
from runtime.settings import Settings
from runtime.web.dev import create_dev_app

from .conftest import ORGANISATION, LiveServer

pytestmark = pytest.mark.browser

EMAIL = "designer@westbridge.example"
PASSWORD = "correct horse battery staple"
SERVICE = "blue-badge"


@pytest.fixture(scope="module")
def builder_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The development app (citizen runtime + builder) on a real port, with one designer."""
    from werkzeug.serving import make_server

    folder = tmp_path_factory.mktemp("builder-browser")
    path = folder / "civicforms.db"
    shutil.copy(sqlite_template, path)
    definitions = folder / "form_definitions"
    definitions.mkdir()
    settings = Settings(
        environment="test",
        secret_key="browser-test-secret-key-" + "x" * 16,
        database_url=f"sqlite:///{path}",
        definitions_dir=definitions,
        secure_cookies=False,
        organisation_name=ORGANISATION,
    ).check()
    engine = dbmod.make_engine(settings.database_url)
    with dbmod.session(engine) as s:
        department = store.find_department(session=s, key="Blue Badge Team, Adult Social Care")
        assert department is not None and department.id is not None
        staff.create_user(
            session=s,
            email=EMAIL,
            name="Dana Designer",
            department_id=department.id,
            role="designer",
            password=PASSWORD,
        )
        s.commit()
    engine.dispose()
    app = create_dev_app({"SETTINGS": settings})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="builder-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def sign_in(page: Any, server: LiveServer) -> None:
    page.goto(server("/builder/sign-in"))
    page.fill('input[name="email"]', EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server("/builder/"))


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
    from .conftest import new_page

    with new_page(browser, java_script_enabled=javascript) as page:
        sign_in(page, builder_server)
        for path in BUILDER_PAGES:
            response = page.goto(builder_server(path))
            assert response is not None and response.status == 200, (path, response and response.status)
            axe(page)

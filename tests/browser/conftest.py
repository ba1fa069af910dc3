"""Browser fixtures: a live citizen app on SQLite, Debian's Chromium through Playwright, and axe-core.

Playwright never downloads a browser here: it drives /usr/bin/chromium. Without it the browser
tests are skipped, unless ``CIVICFORMS_REQUIRE_BROWSER=1`` (CI), when they fail instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from civicforms.dev import create_dev_app
from runtime import db as dbmod
from runtime import staff
from runtime.data import departments
from runtime.settings import PROJECT_ROOT, Settings
from runtime.web import create_citizen_app
from tests.upload_servers import CLAMD, upload_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
STAFF_PATHS = ("/builder/", "/casework/")  # pages that must also pass axe's "region" rule
ORGANISATION = "Westbridge Council"
# The designer that builder_server creates, in the Blue Badge team's department.
DESIGNER_EMAIL = "designer@westbridge.example"
DESIGNER_PASSWORD = "correct horse battery staple"
DESIGNER_DEPARTMENT = "Blue Badge Team, Adult Social Care"
ADMIN_EMAIL = "admin@westbridge.example"  # an admin of the same department, same password


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
    if os.environ.get("CIVICFORMS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (CIVICFORMS_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveServer:
    url: str
    database: Path  # the server's own SQLite file

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture(scope="session")
def live_server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """The citizen app on a real port, with its own copy of the loaded SQLite database, its
    uploads in a folder of its own, scanned by this run's clamd (a file question's page needs one)."""
    clamd = request.getfixturevalue("clamd_address") if os.access(CLAMD, os.X_OK) else ""
    files = upload_settings(tmp_path_factory.mktemp("live-uploads"), clamd_address=clamd)
    with serve_citizen_app(sqlite_template, tmp_path_factory, **files) as server:
        yield server


@contextmanager
def serve_citizen_app(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, **settings_: Any
) -> Iterator[LiveServer]:
    """A citizen app with these settings on a real port, in a thread, with its own database."""
    path = tmp_path_factory.mktemp("browser") / "civicforms.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        environment="test",
        secret_key="browser-test-secret-key-" + "x" * 16,
        database_url=f"sqlite:///{path}",
        secure_cookies=False,
        organisation_name=ORGANISATION,
        **settings_,
    ).check()
    app = create_citizen_app({"SETTINGS": settings})
    try:
        with serve_app(app, path) as server:
            yield server
    finally:
        app.extensions["civicforms.engine"].dispose()


@contextmanager
def serve_app(app: Flask, database: Path, name: str = "live-server") -> Iterator[LiveServer]:
    """``app`` on a real port of 127.0.0.1, in a thread, until the block ends (``database`` is its
    SQLite file, for the tests to read)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", database=database)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class BuilderServer(LiveServer):
    """The development app's address, with its database file and its definitions folder."""

    database: Path
    definitions: Path


@pytest.fixture(scope="module")
def builder_server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[BuilderServer]:
    """The development app (citizen runtime + builder at /builder/) on a real port, with one designer.

    Each test module gets its own copy of the loaded database and an empty definitions folder, where
    publishing writes (the folder is not in git, so publishing only writes the file)."""
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
        # Uploaded files (issue 18) in the module's folder (<folder>/uploads and <folder>/quarantine),
        # scanned by this run's clamd.
        **upload_settings(
            folder, clamd_address=request.getfixturevalue("clamd_address") if os.access(CLAMD, os.X_OK) else ""
        ),
    ).check()
    engine = dbmod.make_engine(settings.database_url)
    with dbmod.session(engine) as s:
        department = departments.find_department(session=s, key=DESIGNER_DEPARTMENT)
        assert department is not None and department.id is not None
        staff.create_user(
            session=s,
            email=DESIGNER_EMAIL,
            name="Dana Designer",
            department_id=department.id,
            role="designer",
            password=DESIGNER_PASSWORD,
        )
        staff.create_user(
            session=s,
            email=ADMIN_EMAIL,
            name="Ada Admin",
            department_id=department.id,
            role="admin",
            password=DESIGNER_PASSWORD,
        )
        s.commit()
    engine.dispose()
    with serve_app(create_dev_app({"SETTINGS": settings}), path, "builder-server") as server:
        yield BuilderServer(server.url, database=path, definitions=definitions)


# The caseworker and manager that casework_server adds, in the council tax service's department.
CASEWORK_DEPARTMENT = "Council Tax"
CASEWORKER_EMAIL = "caseworker@westbridge.example"
CASEWORKER_NAME = "Cas Caseworker"
MANAGER_EMAIL = "manager@westbridge.example"
MANAGER_NAME = "Mo Manager"


@pytest.fixture(scope="module")
def casework_server(builder_server: BuilderServer) -> BuilderServer:
    """builder_server (citizen runtime, /builder/ and the back office at /casework/), with a
    caseworker and a manager in the Council Tax department (same password as the designer)."""
    engine = dbmod.make_engine(f"sqlite:///{builder_server.database}")
    try:
        with dbmod.session(engine) as s:
            department = departments.find_department(session=s, key=CASEWORK_DEPARTMENT)
            assert department is not None and department.id is not None
            for email, name, role in (
                (CASEWORKER_EMAIL, CASEWORKER_NAME, "caseworker"),
                (MANAGER_EMAIL, MANAGER_NAME, "manager"),
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


def casework_sign_in(page: Any, server: LiveServer, email: str, axe: Any = None) -> None:
    """Sign in to the back office at /casework/sign-in, landing on the inbox (``axe``, when given,
    checks the sign-in page first)."""
    page.goto(server("/casework/sign-in"))
    if axe is not None:
        page.wait_for_load_state("load")
        axe(page)
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', DESIGNER_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(server("/casework/"))


def sign_in(page: Any, server: LiveServer, email: str = DESIGNER_EMAIL) -> None:
    """Sign in to the builder as builder_server's designer (or admin), landing on the service list."""
    page.goto(server("/builder/sign-in"))
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', DESIGNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server("/builder/"))


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(PROJECT_ROOT)} is missing: run `npm ci` first", pytrace=False)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Pages whose JavaScript is off. Their timers never fire, even for scripts run through evaluate(),
# so axe-core (which schedules its work with setTimeout) needs the shim below to finish there.
_NO_JS_PAGES: set[int] = set()
_TIMER_SHIM = """() => {
    const soon = (fn, ...args) => { Promise.resolve().then(() => fn(...args)); return 1; };
    window.setTimeout = (fn, _ms, ...args) => soon(fn, ...args);
    window.clearTimeout = () => {};
    window.requestAnimationFrame = fn => soon(fn, performance.now());
}"""


@contextmanager
def new_page(browser: Any, **options: Any) -> Iterator[Any]:
    """A page in a fresh context (its own cookies), closed afterwards."""
    # bypass_csp lets the tests inject axe-core; the app's own pages never need it.
    context = browser.new_context(bypass_csp=True, locale="en-GB", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    if options.get("java_script_enabled") is False:
        _NO_JS_PAGES.add(id(page))
    try:
        yield page
    finally:
        _NO_JS_PAGES.discard(id(page))
        context.close()


@pytest.fixture
def js_page(browser: Any) -> Iterator[Any]:
    """A page with JavaScript on (htmx and GOV.UK Frontend run)."""
    with new_page(browser) as page:
        yield page


@pytest.fixture
def nojs_page(browser: Any) -> Iterator[Any]:
    """A page with JavaScript off: what every page must work without."""
    with new_page(browser, java_script_enabled=False) as page:
        yield page


@pytest.fixture
def axe(axe_source: str) -> Any:
    """``axe(page)`` runs axe-core on the page and fails the test on any WCAG 2.2 A/AA violation."""

    def run(page: Any) -> None:
        # evaluate() runs even when the page's own JavaScript is off, unlike a <script> tag.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            if id(page) in _NO_JS_PAGES:
                page.evaluate(_TIMER_SHIM)
            page.evaluate(axe_source)
        # Staff pages (the builder, the back office) also pass axe's "region" rule (a best
        # practice, not a WCAG tag): all content, the Back link too, inside a landmark.
        on_staff_page = urlsplit(page.url).path.startswith(STAFF_PATHS)
        result = page.evaluate(
            """([tags, staff]) => axe.run(document, {
                    runOnly: {type: "tag", values: tags},
                    rules: staff ? {region: {enabled: true}} : {},
                })
                .then(r => r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(" ") + " :: " + n.html.slice(0, 160)),
                })))""",
            [AXE_TAGS, on_staff_page],
        )
        assert not result, f"axe-core found violations on {page.url}:\n" + format_violations(result)

    return run


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {node}" for node in v["nodes"])
    return "\n".join(lines)

"""Staff single sign-on in Chromium, with the app's real security headers (no bypass_csp) and
JavaScript on and off, through a real OpenID Connect provider (oidc-provider, tests/oidc) that
is another site than the app (localhost against 127.0.0.1): the builder and the back office,
each signing in, signing out at the provider too, and asked to sign in again after."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from civicforms.dev import create_dev_app
from runtime import db as dbmod
from runtime import staff
from runtime.data import departments
from runtime.settings import OidcProvider, Settings
from tests.browser.conftest import (
    CASEWORK_DEPARTMENT,
    DESIGNER_DEPARTMENT,
    ORGANISATION,
    LiveServer,
    serve_app,
)
from tests.oidc import CLIENT_SECRET, OidcServer, client, start_provider

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcServer]:
    with start_provider(clients=[client("civic", "test")]) as started:
        yield started


@pytest.fixture(scope="module")
def sso_server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, provider: OidcServer
) -> Iterator[LiveServer]:
    """The development app (/builder and /casework) with the provider "test" and two staff members
    the provider knows: des (a designer) and cas (a caseworker)."""
    folder = tmp_path_factory.mktemp("sso-browser")
    path = folder / "civicforms.db"
    shutil.copy(sqlite_template, path)
    (folder / "form_definitions").mkdir()
    settings = Settings(
        environment="test",
        secret_key="browser-test-secret-key-" + "x" * 16,
        database_url=f"sqlite:///{path}",
        definitions_dir=folder / "form_definitions",
        secure_cookies=False,
        organisation_name=ORGANISATION,
        oidc_providers=(OidcProvider("test", provider.issuer, "civic", CLIENT_SECRET, "Test ID"),),
    ).check()
    engine = dbmod.make_engine(settings.database_url)
    with dbmod.session(engine) as s:
        for email, department_name, role in (
            ("designer@westbridge.example", DESIGNER_DEPARTMENT, "designer"),
            ("caseworker@westbridge.example", CASEWORK_DEPARTMENT, "caseworker"),
        ):
            department = departments.find_department(session=s, key=department_name)
            assert department is not None and department.id is not None
            staff.create_user(session=s, email=email, name=role.title(), department_id=department.id, role=role)
        s.commit()
    engine.dispose()
    with serve_app(create_dev_app({"SETTINGS": settings}), path, "sso-server") as server:
        yield server


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def real_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context that keeps the app's Content-Security-Policy (no bypass_csp)."""
    context = browser.new_context(locale="en-GB", java_script_enabled=request.param)
    context.set_default_timeout(10_000)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.csp_messages = blocked
    try:
        yield page
    finally:
        context.close()


def sign_in_through_provider(page: Any, server: LiveServer, face: str, login: str) -> None:
    page.goto(server(f"/{face}/sign-in"))
    page.get_by_role("button", name="Sign in with Test ID").click()
    page.wait_for_url("http://localhost:*/interaction/**")
    page.fill("#login", login)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server(f"/{face}/"))


def sign_out_at_provider(page: Any, server: LiveServer, face: str) -> None:
    page.get_by_role("button", name="Sign out").first.click()
    page.wait_for_url("http://localhost:*/session/end**")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(server(f"/{face}/sign-in?status=signed-out**"))
    assert "You have signed out." in page.inner_text("main")


@pytest.mark.parametrize(("face", "login"), [("builder", "des"), ("casework", "cas")])
def test_staff_sign_in_and_out_through_the_provider(
    real_page: Any, sso_server: LiveServer, face: str, login: str
) -> None:
    page = real_page
    sign_in_through_provider(page, sso_server, face, login)
    sign_out_at_provider(page, sso_server, face)
    # Signed out here and at the provider: the next person is asked who they are.
    page.goto(sso_server(f"/{face}/"))
    page.wait_for_url(sso_server(f"/{face}/sign-in**"))
    page.get_by_role("button", name="Sign in with Test ID").click()
    page.wait_for_url("http://localhost:*/interaction/**")
    assert page.get_by_role("heading", name="Sign in to the test provider").is_visible()
    assert page.csp_messages == []


def test_an_unknown_person_at_the_provider_gets_a_clear_page(real_page: Any, sso_server: LiveServer) -> None:
    page = real_page
    page.goto(sso_server("/builder/sign-in"))
    page.get_by_role("button", name="Sign in with Test ID").click()
    page.wait_for_url("http://localhost:*/interaction/**")
    page.fill("#login", "stranger")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(sso_server("/builder/sso/test/callback**"))
    assert "There is no active Civic Forms account for this email address" in page.inner_text("main")

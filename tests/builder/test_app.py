"""The builder's web face on the shared shell: its own app, cookie, layout and error pages,
mounted at /builder/ on the development server, while the citizen runtime runs without it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from itsdangerous import BadSignature
from werkzeug.test import Client

from builder.web import PREFIX, StaffSessionInterface, create_builder_app
from civicforms.dev import create_dev_app
from runtime.settings import PROJECT_ROOT, Settings
from tests.builder.conftest import StaffMembers
from tests.conftest import page
from tests.runtime.helpers import assert_only_our_scripts, csp_nonce, heading, title

ORGANISATION = "Westbridge Council"


def _set_cookie(response: Any, name: str) -> dict[str, Any]:
    """The attributes of one Set-Cookie header, lower-cased: {"value": ..., "path": ..., "httponly": True}."""
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            morsel = cookie[name]
            return {"value": morsel.value, **{k: v for k, v in morsel.items() if v}}
    raise AssertionError(f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}")


def _navigation_texts(response: Any) -> list[str]:
    return [a.get_text(strip=True) for a in page(response).select("#cf-service-navigation a")]


# --- the factory, its templates and its session cookie ------------------------------------------


def test_the_factory_makes_a_builder_that_asks_staff_to_sign_in(builder: FlaskClient) -> None:
    response = builder.get("/")
    assert response.status_code in (302, 303)
    assert response.headers["Location"].startswith(f"{PREFIX}/sign-in")


def test_the_builder_uses_its_own_templates_and_the_runtimes_question_renderer(builder_app: Flask) -> None:
    """Preview is the runtime's own rendering: components/question.html is the citizen's file."""
    env = builder_app.jinja_env
    question = env.get_template("components/question.html")
    assert question.filename == str(PROJECT_ROOT / "runtime" / "web" / "templates" / "components" / "question.html")
    staff_layout = env.get_template("builder/layout.html")
    assert staff_layout.filename is not None and "/builder/web/templates/" in staff_layout.filename
    error = env.get_template("builder/errors/error.html")
    assert error.filename is not None and "/builder/web/templates/" in error.filename


def test_the_staff_session_cookie(builder: FlaskClient) -> None:
    """Its own name and path, so the citizen pages never receive it; HttpOnly and SameSite=Lax."""
    response = builder.get("/sign-in")
    assert response.status_code == 200
    cookie = _set_cookie(response, "civicforms_staff")
    assert cookie["path"] == "/builder"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie.get("secure")  # the test settings allow plain HTTP
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith("civicforms_session=")]


def test_the_staff_cookie_is_secure_in_production(settings: Settings) -> None:
    app = create_builder_app({"SETTINGS": dataclasses.replace(settings, secure_cookies=True), "TESTING": True})
    try:
        response = app.test_client().get("/sign-in", base_url="https://localhost/builder")
        assert _set_cookie(response, "civicforms_staff").get("secure") is True
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.extensions["civicforms.engine"].dispose()


def test_a_citizen_session_cookie_is_no_staff_session(app: Flask, builder_app: Flask, citizen: Any) -> None:
    """Both faces sign with the same secret key; the staff session has a salt of its own."""
    response = citizen.start("blue-badge")
    citizen_cookie = _set_cookie(response, "civicforms_session")["value"]
    assert app.session_interface.get_signing_serializer(app).loads(citizen_cookie)  # type: ignore[attr-defined]
    with pytest.raises(BadSignature):
        StaffSessionInterface().get_signing_serializer(builder_app).loads(citizen_cookie)  # type: ignore[union-attr]


# --- the staff layout ---------------------------------------------------------------------------


def test_builder_pages_have_the_staff_layout_not_the_citizen_one(builder: FlaskClient) -> None:
    response = builder.get("/sign-in")
    soup = page(response)
    assert title(soup).endswith(f" – Civic Forms builder – {ORGANISATION}")
    header_link = soup.select_one("header .govuk-generic-header__homepage-link")
    assert header_link is not None and header_link.get_text(strip=True) == ORGANISATION
    assert header_link["href"] == "/builder/"
    service_name = soup.select_one("#cf-service-navigation .govuk-service-navigation__service-name")
    assert service_name is not None and service_name.get_text(strip=True) == "Civic Forms builder"
    # Nobody is signed in: no sections, no sign-out button, and nothing of a citizen's service.
    assert _navigation_texts(response) == ["Civic Forms builder"]
    assert soup.select("form.cf-sign-out") == []
    assert not [a for a in soup.select("a") if str(a.get("href", "")).startswith("/services/")]


def test_an_htmx_request_gets_the_builder_fragment(builder: FlaskClient) -> None:
    response = builder.get("/sign-in", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    soup = page(response)
    assert soup.select_one("header") is None and soup.select_one("footer") is None
    assert title(soup).endswith(" – Civic Forms builder – Westbridge Council")
    assert _navigation_texts(response) == ["Civic Forms builder"]
    assert soup.select_one("#page main h1") is not None


# --- error pages in the builder's words ---------------------------------------------------------


def _boom_app(settings: Settings) -> Flask:
    """A builder with two extra routes that fail, to see its 500 and 403 pages."""
    app = create_builder_app({"SETTINGS": settings, "TESTING": False})
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    app.add_url_rule("/forbidden", "forbidden", lambda: abort(403))
    return app


def test_builder_error_pages(builder: FlaskClient, settings: Settings) -> None:
    not_found = builder.get("/no/such/page")
    assert not_found.status_code == 404
    soup = page(not_found)
    assert heading(soup) == "Page not found"
    assert "You can only see the services of the departments you belong to." in soup.get_text()
    assert title(soup) == f"Page not found – Civic Forms builder – {ORGANISATION}"
    back = soup.select_one("main a.govuk-link")
    assert back is not None and back["href"] == "/builder/" and back.get_text(strip=True) == "Go to your services"

    unsent = builder.post("/sign-in", data={"email": "someone@example.gov.uk"})
    assert unsent.status_code == 400
    assert heading(page(unsent)) == "Your page could not be sent"
    assert "signed out in another tab" in page(unsent).get_text()

    too_large = builder.post("/sign-in", data={"email": "x" * 100_000})
    assert too_large.status_code == 413
    assert heading(page(too_large)) == "What you sent was too large"

    app = _boom_app(settings)
    try:
        client = app.test_client()
        failed = client.get("/boom")
        assert failed.status_code == 500
        assert heading(page(failed)) == "Sorry, there is a problem with the builder"
        assert "answers" not in page(failed).get_text()  # not the citizen's wording
        forbidden = client.get("/forbidden")
        assert forbidden.status_code == 403
        assert heading(page(forbidden)) == "You do not have permission to do this"
    finally:
        app.extensions["civicforms.engine"].dispose()


def test_citizen_error_pages_keep_the_citizens_words(client: FlaskClient) -> None:
    soup = page(client.get("/no/such/page"))
    assert heading(soup) == "Page not found"
    link = soup.select_one("main a.govuk-link")
    assert link is not None and link["href"] == "/" and link.get_text(strip=True) == "Go to the list of services"
    assert "Civic Forms builder" not in soup.get_text()


# --- security headers on every kind of builder response -----------------------------------------


def test_every_builder_response_carries_the_security_headers(builder: FlaskClient) -> None:
    responses = {
        "home redirect": builder.get("/"),
        "sign-in page": builder.get("/sign-in"),
        "not found": builder.get("/no/such/page"),
        "no csrf token": builder.post("/sign-in", data={}),
        "wrong method": builder.put("/sign-in"),
        "static": builder.get("/static/js/app.js"),
        "health": builder.get("/healthz"),
    }
    nonces = set()
    for name, response in responses.items():
        headers = response.headers
        policy = headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, name
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, name
        assert "form-action 'self'" in policy, name
        nonces.add(csp_nonce(response))
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["X-Frame-Options"] == "DENY", name
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin", name
        if response.mimetype == "text/html":
            assert headers["Cache-Control"] == "no-store", name
            if response.status_code not in (302, 303):
                assert_only_our_scripts(response)
    assert len(nonces) == len(responses), "a nonce was used twice"
    assert "no-store" not in responses["static"].headers.get("Cache-Control", "")
    for response in responses.values():
        response.close()


# --- one development server: citizens at /, the builder at /builder/ -----------------------------


@pytest.fixture
def dev_client(settings: Settings) -> Any:
    app = create_dev_app({"SETTINGS": settings, "TESTING": True})
    yield app.test_client()
    app.extensions["civicforms.engine"].dispose()
    for mounted in app.extensions["civicforms.mounted_faces"].values():
        mounted.extensions["civicforms.engine"].dispose()


def test_the_development_server_mounts_the_builder_at_builder(dev_client: FlaskClient) -> None:
    home = dev_client.get("/")
    assert home.status_code == 200 and "Civic Forms builder" not in home.get_data(as_text=True)
    start = dev_client.get("/services/blue-badge")
    assert start.status_code == 200 and heading(page(start)) == "Apply for a Blue Badge"

    builder_home = dev_client.get("/builder/")
    assert builder_home.status_code in (302, 303)
    assert builder_home.headers["Location"].startswith("/builder/sign-in")
    sign_in = dev_client.get("/builder/sign-in")
    assert sign_in.status_code == 200
    assert title(page(sign_in)).endswith("– Civic Forms builder – Westbridge Council")
    # Stylesheets and fonts: the builder serves its own copies under /builder/, the citizen app /assets/.
    stylesheet = page(sign_in).select_one("link[rel=stylesheet]")
    assert stylesheet is not None and str(stylesheet["href"]).startswith("/builder/static/")
    for url in (str(stylesheet["href"]), "/assets/images/favicon.ico", "/builder/assets/images/favicon.ico"):
        with dev_client.get(url) as asset:
            assert asset.status_code == 200, url

    # The staff cookie stays on /builder: the citizen pages never see it.
    assert dev_client.get_cookie("civicforms_staff", path="/builder") is not None
    assert dev_client.get_cookie("civicforms_staff", path="/") is None
    assert "civicforms_staff" not in dev_client.get("/services/blue-badge").request.headers.get("Cookie", "")
    assert dev_client.get("/builder").status_code in (301, 308)  # to /builder/


def test_the_builder_runs_alone_from_its_wsgi_entry_point(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """``gunicorn builder.wsgi:app``: the builder under /builder/, GOV.UK Frontend's assets at /assets/."""
    monkeypatch.setenv("CIVICFORMS_ENV", "test")
    monkeypatch.setenv("CIVICFORMS_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("CIVICFORMS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CIVICFORMS_SECURE_COOKIES", "false")
    import importlib

    import builder.wsgi

    module = importlib.reload(builder.wsgi)
    client = Client(module.app)
    root = client.get("/")
    assert root.status_code == 303 and root.headers["Location"].endswith("/builder/")
    home = client.get("/builder/")
    assert home.status_code in (302, 303) and "/builder/sign-in" in home.headers["Location"]
    assert client.get("/builder/sign-in").status_code == 200
    font = client.get("/assets/fonts/bold-b542beb274-v2.woff2")
    assert font.status_code == 200
    font.close()
    assert client.get("/services/blue-badge").status_code == 404  # no citizen pages here
    module.app.mounts[PREFIX].extensions["civicforms.engine"].dispose()


def test_the_citizen_runtime_runs_without_the_builder(settings: Settings) -> None:
    """With the builder package missing, the runtime still imports, serves citizens, and mounts nothing."""
    script = """
import json, sys
class NoBuilder:
    def find_spec(self, name, path=None, target=None):
        if name == "builder" or name.startswith("builder."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoBuilder())
from runtime.settings import Settings
from civicforms.dev import create_dev_app
import runtime.wsgi  # noqa: F401  (the citizen entry point, read from the environment)
app = create_dev_app({"SETTINGS": Settings(**json.loads(sys.argv[1])), "TESTING": True})
client = app.test_client()
print(json.dumps({
    "home": client.get("/").status_code,
    "start": client.get("/services/blue-badge").status_code,
    "builder": client.get("/builder/").status_code,
    "mounted": sorted(app.extensions["civicforms.mounted_faces"]),
    "builder_loaded": any(m == "builder" or m.startswith("builder.") for m in sys.modules),
}))
"""
    fields = {
        "environment": "test",
        "secret_key": settings.secret_key,
        "database_url": settings.database_url,
        "secure_cookies": False,
    }
    env = {
        "PATH": "/usr/bin:/bin",
        "CIVICFORMS_ENV": "test",
        "CIVICFORMS_SECRET_KEY": settings.secret_key,
        "CIVICFORMS_DATABASE_URL": settings.database_url,
    }
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(fields)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "home": 200,
        "start": 200,
        "builder": 404,
        "mounted": ["/casework"],
        "builder_loaded": False,
    }


# --- signed in: the staff navigation and the start page ------------------------------------------


def test_a_signed_in_staff_member_sees_their_departments_and_can_sign_out(staff: StaffMembers) -> None:
    highways = staff.department("Highways")
    revenues = staff.department("Revenues")
    member = staff.create(roles=[(highways, "designer"), (highways, "reviewer"), (revenues, "admin")])
    client = staff.sign_in(member)

    home = client.get("/")
    assert home.status_code == 200
    soup = page(home)
    assert heading(soup) == "Your departments"
    rows = {
        row.select_one("dt").get_text(strip=True): row.select_one("dd").get_text(strip=True)  # type: ignore[union-attr]
        for row in soup.select(".cf-departments .govuk-summary-list__row")
    }
    assert rows == {"Highways": "Designer, Reviewer", "Revenues": "Admin"}

    # An admin somewhere: the users page, and a link to the back office (their sharing agreements:
    # one sign-in for both faces, issue 17).
    assert _navigation_texts(home) == ["Civic Forms builder", "Services", "Users", "Back office"]
    services = soup.select_one("#cf-service-navigation .govuk-service-navigation__item--active a")
    assert services is not None and services.get_text(strip=True) == "Services" and services["href"] == "/builder/"
    sign_out = soup.select_one("#cf-service-navigation form.cf-sign-out")
    assert sign_out is not None and sign_out["method"] == "post" and sign_out["action"] == "/builder/sign-out"
    token = sign_out.select_one("input[name=csrf_token]")
    assert token is not None and sign_out.select_one("button").get_text(strip=True) == "Sign out"  # type: ignore[union-attr]

    signed_out = client.post("/sign-out", data={"csrf_token": token["value"]})
    assert signed_out.status_code == 303
    assert client.get("/").headers["Location"].startswith("/builder/sign-in")


def test_a_staff_member_without_a_role_is_told_to_ask_an_admin(staff: StaffMembers) -> None:
    client = staff.sign_in(staff.create(roles=[]))
    soup = page(client.get("/"))
    assert "You do not have a role in any department yet" in soup.get_text()
    assert soup.select(".cf-departments") == []


def test_department_names_are_escaped(staff: StaffMembers) -> None:
    hostile = staff.department("<script>alert(1)</script> Highways")
    client = staff.sign_in(staff.create(roles=[(hostile, "designer")]))
    response = client.get("/")
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Highways" in response.get_data(as_text=True)
    assert_only_our_scripts(response)


def test_signed_in_pages_swap_with_htmx(staff: StaffMembers) -> None:
    client = staff.sign_in(staff.create(roles=[(staff.department("Highways"), "designer")]))
    response = client.get("/", headers={"HX-Request": "true"})
    soup = page(response)
    assert soup.select_one("header") is None
    assert title(soup) == f"Your departments – Civic Forms builder – {ORGANISATION}"
    assert _navigation_texts(response) == ["Civic Forms builder", "Services"]
    assert soup.select_one("#cf-service-navigation form.cf-sign-out") is not None

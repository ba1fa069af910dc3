"""The back office as a face: mounted at /casework by the development server, its own WSGI
entry point, cookie, layout and error pages, and htmx fragments."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from civicforms.dev import create_dev_app
from runtime.settings import PROJECT_ROOT, Settings
from tests.casework.conftest import PASSWORD, Office, case_url
from tests.conftest import page


@pytest.fixture
def dev_client(settings: Settings) -> Iterator[FlaskClient]:
    app = create_dev_app({"SETTINGS": settings, "TESTING": True})
    yield app.test_client()
    app.extensions["civicforms.engine"].dispose()
    for mounted in app.extensions["civicforms.mounted_faces"].values():
        mounted.extensions["civicforms.engine"].dispose()


def _set_cookie(response: Any, name: str) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_the_development_server_mounts_the_back_office(dev_client: FlaskClient, office: Office) -> None:
    user = office.staff("Casey Worker", "caseworker")
    reference = office.new_case()
    response = dev_client.get("/casework/")
    assert response.status_code == 303 and response.headers["Location"].startswith("/casework/sign-in")
    sign_in = dev_client.get("/casework/sign-in")
    assert sign_in.status_code == 200
    soup = page(sign_in)
    assert "Casework" in soup.select_one("#cf-service-navigation").get_text()
    token = soup.select_one("input[name=csrf_token]")["value"]
    response = dev_client.post(
        "/casework/sign-in", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/casework/"
    # One staff cookie, written at the back office's path and the builder's (one sign-in for both).
    cookie = _set_cookie(response, "civicforms_staff")
    assert "Path=/casework" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    inbox = page(dev_client.get("/casework/"))
    assert inbox.title.get_text(strip=True).startswith("Cases – Casework")
    assert reference in inbox.select_one("table.cf-inbox").get_text()
    # The assets the page names are served at the mount's path.
    stylesheet = inbox.select_one("link[rel=stylesheet]")["href"]
    assert stylesheet.startswith("/casework/static/")
    with dev_client.get(stylesheet) as served:
        assert served.status_code == 200
    # The citizens' pages never receive the staff cookie.
    assert dev_client.get_cookie("civicforms_staff", path="/") is None
    assert "civicforms_staff" not in dev_client.get("/services/blue-badge").request.headers.get("Cookie", "")


def test_the_wsgi_entry_point_serves_the_back_office_alone(settings: Settings) -> None:
    script = (
        "import runtime.casework_wsgi as w\n"
        "c = w.app\n"
        "from werkzeug.test import Client\n"
        "client = Client(c)\n"
        "r = client.get('/')\n"
        "s = client.get('/casework/sign-in')\n"
        "print(r.status_code, r.headers['Location'], s.status_code)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "CIVICFORMS_ENV": "test",
        "CIVICFORMS_SECRET_KEY": settings.secret_key,
        "CIVICFORMS_DATABASE_URL": settings.database_url,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["303", "/casework/", "200"]


def test_htmx_requests_get_the_page_content_only(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = client.get(case_url(reference), headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="page"' in html and 'id="cf-service-navigation"' in html
    assert response.headers["HX-Push-Url"] == f"/casework/cases/{reference}"


def test_error_pages_are_the_back_offices_own(office: Office, casework: FlaskClient) -> None:
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = client.get("/no-such-page")
    assert response.status_code == 404
    soup = page(response)
    assert soup.h1.get_text(strip=True) == "Page not found"
    assert "cases of the departments you work in" in soup.select_one("main").get_text()
    assert soup.select_one("main a")["href"] == "/casework/"
    assert response.headers["Cache-Control"] == "no-store"

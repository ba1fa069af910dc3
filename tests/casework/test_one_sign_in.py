"""One staff sign-in for the builder and the back office (issue 17, part E): one cookie written at
both faces' paths (never at /, so the citizen pages never get it), each person landing where they
work, a link to the other face for those who work in both, the set-up link of a caseworker in the
back office, and the Back link inside a landmark on every layout.

Werkzeug's test client keeps cookies by path only roughly: the Set-Cookie headers are checked here,
and tests/browser/test_one_sign_in.py walks the same in Chromium."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from civicforms.dev import create_dev_app
from runtime.models import StaffUser
from runtime.settings import Settings
from tests.casework.conftest import PASSWORD, Office
from tests.conftest import page


@pytest.fixture
def dev_client(settings: Settings) -> Iterator[FlaskClient]:
    app = create_dev_app({"SETTINGS": settings, "TESTING": True})
    yield app.test_client()
    app.extensions["civicforms.engine"].dispose()
    for mounted in app.extensions["civicforms.mounted_faces"].values():
        mounted.extensions["civicforms.engine"].dispose()


def _cookies(response: Any) -> list[dict[str, str]]:
    out = []
    for header in response.headers.getlist("Set-Cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            out.append({"name": name, "value": morsel.value, "path": morsel["path"], "expires": morsel["expires"]})
    return out


def _payload(value: str) -> dict[str, Any]:
    """What a (signed, not encrypted) cookie holds; an emptied cookie holds nothing."""
    if not value:
        return {}
    data = value.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))))


def _sign_in(client: FlaskClient, face: str, email: str, next_: str | None = None) -> Any:
    url = f"/{face}/sign-in" + (f"?next={next_}" if next_ else "")
    token = page(client.get(url)).select_one("input[name=csrf_token]")["value"]
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    if next_:
        data["next"] = next_
    return client.post(url, data=data)


def test_signing_in_on_either_face_writes_one_cookie_at_both_paths(dev_client: FlaskClient, office: Office) -> None:
    user = office.staff("Both Hats", "caseworker", "designer")
    response = _sign_in(dev_client, "builder", user.email)
    assert response.status_code == 303
    staff = [c for c in _cookies(response) if c["name"] == "civicforms_staff"]
    assert sorted(c["path"] for c in staff) == ["/builder", "/casework"]
    assert staff[0]["value"] == staff[1]["value"]
    assert not [c for c in _cookies(response) if c["path"] == "/"]  # never sent to the citizen pages
    # The back office reads the same session: no second sign-in.
    inbox = dev_client.get("/casework/")
    assert inbox.status_code == 200 and page(inbox).select_one("h1").get_text(strip=True) == "Cases"
    assert dev_client.get("/builder/").status_code == 200
    assert "civicforms_staff" not in dev_client.get("/services/blue-badge").request.headers.get("Cookie", "")
    # Signing out on one face empties the cookie at both paths (single sign-on keeps only a note to
    # ask the provider again next time) and ends the session on the server.
    token = page(dev_client.get("/casework/sign-out")).select_one("input[name=csrf_token]")["value"]
    out = dev_client.post("/casework/sign-out", data={"csrf_token": token})
    assert out.status_code == 303
    deleted = [c for c in _cookies(out) if c["name"] == "civicforms_staff"]
    assert sorted(c["path"] for c in deleted) == ["/builder", "/casework"]
    assert len({c["value"] for c in deleted}) == 1
    assert all(_payload(c["value"]) in ({}, {"staff_sso_fresh": True}) for c in deleted), deleted
    assert dev_client.get("/builder/").status_code in (302, 303)


def test_a_copied_cookie_stops_working_on_both_faces_after_signing_out(dev_client: FlaskClient, office: Office) -> None:
    """The cookie names a server-side session: a copy kept from before signing out is useless."""
    user = office.staff("Both Hats", "caseworker", "designer")
    response = _sign_in(dev_client, "casework", user.email)
    value = next(c["value"] for c in _cookies(response) if c["name"] == "civicforms_staff")
    token = page(dev_client.get("/builder/sign-out")).select_one("input[name=csrf_token]")["value"]
    assert dev_client.post("/builder/sign-out", data={"csrf_token": token}).status_code == 303
    for face in ("casework", "builder"):
        dev_client.set_cookie("civicforms_staff", value, path=f"/{face}")
        assert dev_client.get(f"/{face}/").status_code in (302, 303), face


@pytest.mark.parametrize(
    ("roles", "face", "lands"),
    [
        (("caseworker",), "builder", "/casework/"),  # signed in on the builder's page: sent to their cases
        (("manager",), "casework", "/casework/"),
        (("designer",), "casework", "/builder/"),
        (("reviewer",), "builder", "/builder/"),
        (("designer", "manager"), "builder", "/casework/"),  # both: the back office, with a link to the builder
        (("admin",), "builder", "/builder/"),  # an admin works in both: where they signed in
        (("admin",), "casework", "/casework/"),  # (sharing agreements)
        (("designer", "admin"), "casework", "/casework/"),
        (("records",), "builder", "/casework/"),
    ],
)
def test_each_person_lands_where_they_work(
    dev_client: FlaskClient, office: Office, roles: tuple[str, ...], face: str, lands: str
) -> None:
    user = office.staff("Someone", *roles)
    response = _sign_in(dev_client, face, user.email)
    assert response.status_code == 303 and response.headers["Location"] == lands
    # Already signed in: the sign-in page of either face sends them to the same place.
    assert dev_client.get(f"/{face}/sign-in").headers["Location"] == lands


def test_the_page_they_were_going_to_wins(dev_client: FlaskClient, office: Office) -> None:
    user = office.staff("Casey Worker", "caseworker")
    response = _sign_in(dev_client, "casework", user.email, next_="/casework/reports")
    assert response.headers["Location"] == "/casework/reports"
    elsewhere = _sign_in(dev_client.application.test_client(), "builder", user.email, next_="https://evil.example/")
    assert elsewhere.headers["Location"] == "/casework/"  # never another site: where they work


def test_someone_in_both_faces_has_a_link_to_the_other_in_each_header(dev_client: FlaskClient, office: Office) -> None:
    user = office.staff("Both Hats", "designer", "caseworker")
    _sign_in(dev_client, "casework", user.email)
    office_nav = page(dev_client.get("/casework/")).select("#cf-service-navigation a")
    assert {a.get_text(strip=True): a["href"] for a in office_nav}.get("Builder") == "/builder/"
    builder_nav = page(dev_client.get("/builder/")).select("header a")
    assert {a.get_text(strip=True): a["href"] for a in builder_nav}.get("Back office") == "/casework/"


def test_someone_in_one_face_has_no_link_to_the_other(dev_client: FlaskClient, office: Office) -> None:
    user = office.staff("Casey Worker", "caseworker")
    _sign_in(dev_client, "casework", user.email)
    texts = [a.get_text(strip=True) for a in page(dev_client.get("/casework/")).select("header a")]
    assert "Builder" not in texts


def test_a_caseworkers_set_up_link_leads_to_the_back_office(dev_client: FlaskClient, office: Office) -> None:
    admin = office.staff("Ada Admin", "admin")
    _sign_in(dev_client, "builder", admin.email)
    form = page(dev_client.get("/builder/admin/users/invite"))
    data = {
        "csrf_token": form.select_one("input[name=csrf_token]")["value"],
        "email": "new.caseworker@westbridge.example.gov.uk",
        "name": "New Caseworker",
        "department": str(office.department),
        "role": "caseworker",
    }
    response = dev_client.post("/builder/admin/users/invite", data=data)
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    url = page(response).select_one(".cf-setup-link code").get_text(strip=True)
    assert re.fullmatch(r"http://localhost/casework/set-up/[A-Za-z0-9_-]+", url), url
    # The link works in the back office, and choosing a password leads to its sign-in, then the inbox.
    path = url.removeprefix("http://localhost")
    set_up = dev_client.get(path)
    assert set_up.status_code == 200
    token = page(set_up).select_one("input[name=csrf_token]")["value"]
    chosen = "a long enough password for this"
    done = dev_client.post(path, data={"csrf_token": token, "password": chosen, "confirm": chosen})
    assert done.status_code == 303 and done.headers["Location"].startswith("/casework/sign-in")
    with office.session() as s:
        assert s.exec(select(StaffUser).where(StaffUser.email == data["email"])).one().password_hash


def test_a_designers_set_up_link_stays_in_the_builder(dev_client: FlaskClient, office: Office) -> None:
    admin = office.staff("Ada Admin", "admin")
    _sign_in(dev_client, "builder", admin.email)
    form = page(dev_client.get("/builder/admin/users/invite"))
    data = {
        "csrf_token": form.select_one("input[name=csrf_token]")["value"],
        "email": "new.designer@westbridge.example.gov.uk",
        "name": "New Designer",
        "department": str(office.department),
        "role": "designer",
    }
    response = dev_client.post("/builder/admin/users/invite", data=data)
    assert response.status_code == 200
    assert "/builder/set-up/" in page(response).select_one(".cf-setup-link code").get_text()


# -- the landmark around the Back link ------------------------------------------------------------------


def test_the_back_link_is_inside_a_landmark(dev_client: FlaskClient, office: Office) -> None:
    user = office.staff("Mo Manager", "manager", "designer")
    _sign_in(dev_client, "casework", user.email)
    audit = page(dev_client.get("/casework/audit"))
    back = audit.select_one(".govuk-back-link")
    assert back is not None and back.find_parent("nav", attrs={"aria-label": "Back"}) is not None
    # htmx's fragment of the same page keeps it too.
    fragment = page(dev_client.get("/casework/audit", headers={"HX-Request": "true"}))
    assert fragment.select_one('nav[aria-label="Back"] .govuk-back-link') is not None
    # A page with no Back link has no empty landmark.
    assert page(dev_client.get("/casework/reports")).select('nav[aria-label="Back"]') == []
    new = page(dev_client.get("/builder/services/new"))
    assert new.select_one('nav[aria-label="Back"] .govuk-back-link') is not None

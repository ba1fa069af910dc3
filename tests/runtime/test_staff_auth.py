"""Staff sign-in pages (blueprint ``staff``) on a small app: the shared shell, the blueprint and
a few protected views, as the builder and back office use them (make_staff_app in
tests/runtime/helpers.py). Single sign-on is tested against a real OpenID provider in
tests/runtime/test_sso.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from runtime import db as dbmod
from runtime import staff as core
from runtime.data.departments import department_for_name
from runtime.models import StaffUser
from runtime.settings import OidcProvider, Settings
from runtime.web import staff as staff_web
from tests.conftest import STAFF_PASSWORD, StaffFactory, page
from tests.runtime.helpers import staff_clients


@pytest.fixture
def make(settings: Settings) -> Iterator[Any]:
    with staff_clients(settings) as build:
        yield build


@pytest.fixture
def client(make: Any) -> FlaskClient:
    return make(staff_lockout_attempts=3)


def csrf(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    field = page(response).select_one("input[name=csrf_token]")
    assert field is not None
    return str(field["value"])


def sign_in(client: FlaskClient, email: str, password: str = STAFF_PASSWORD, next_path: str = "") -> Any:
    token = csrf(client, "/sign-in")
    data = {"email": email, "password": password, "csrf_token": token}
    if next_path:
        data["next"] = next_path
    return client.post("/sign-in", data=data)


def errors(response: Any) -> list[str]:
    return [a.get_text(strip=True) for a in page(response).select(".govuk-error-summary__list a")]


def user_row(database_url: str, email: str) -> StaffUser:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.email == email)).one()
    engine.dispose()
    return user


# -- signing in with a password ---------------------------------------------------------------------


def test_pages_need_sign_in_and_come_back_after(client: FlaskClient, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk", name="Dana Designer")
    response = client.get("/departments/1/edit?x=1")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/sign-in?next=")
    signin = client.get(response.headers["Location"])
    assert page(signin).select_one("input[name=next]")["value"] == "/departments/1/edit?x=1"  # type: ignore[index]
    done = sign_in(client, "dana@example.gov.uk", next_path="/")
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert client.get("/").get_data(as_text=True) == "Hello Dana Designer"


def test_htmx_requests_are_sent_to_sign_in_as_a_whole_page(client: FlaskClient) -> None:
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/sign-in")


def test_a_wrong_password_keeps_the_email_and_says_what_is_wrong(client: FlaskClient, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk")
    response = sign_in(client, "Dana@example.gov.uk", "not my password")
    assert response.status_code == 400
    assert errors(response) == ["Enter a correct email address and password"]
    assert page(response).select_one("#email")["value"] == "Dana@example.gov.uk"  # type: ignore[index]
    assert "not my password" not in response.get_data(as_text=True)
    assert page(response).title.get_text().startswith("Error: ")  # type: ignore[union-attr]


def test_empty_fields(client: FlaskClient) -> None:
    response = sign_in(client, "", "")
    assert response.status_code == 400
    assert errors(response) == ["Enter your email address", "Enter your password"]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("a" * 10_000 + "@example.gov.uk", "b" * 10_000),
        ("dana\x00@example.gov.uk", "pass\x00word pass"),
        ("' OR 1=1 --", "' OR 1=1 --"),
    ],
)
def test_hostile_input_gets_the_ordinary_error(client: FlaskClient, email: str, password: str) -> None:
    response = sign_in(client, email, password)
    assert response.status_code == 400
    assert errors(response) == ["Enter a correct email address and password"]
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_sign_in_never_sends_anyone_to_another_site(client: FlaskClient, staff: StaffFactory, target: str) -> None:
    staff(email="dana@example.gov.uk")
    response = sign_in(client, "dana@example.gov.uk", next_path=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_lock_out_after_repeated_failures(client: FlaskClient, staff: StaffFactory, database_url: str) -> None:
    staff(email="dana@example.gov.uk")
    for _ in range(2):
        assert errors(sign_in(client, "dana@example.gov.uk", "wrong password 1")) == [core.WRONG_PASSWORD]
    locked = sign_in(client, "dana@example.gov.uk", "wrong password 1")
    [message] = errors(locked)
    assert message.startswith("Your account is locked because of too many failed attempts to sign in.")
    assert "ask an admin in your department to unlock it" in message
    still = sign_in(client, "dana@example.gov.uk")
    assert errors(still) == [message]
    assert client.get("/").status_code == 303
    assert user_row(database_url, "dana@example.gov.uk").locked_until is not None


def test_signing_in_starts_a_new_session(client: FlaskClient, staff: StaffFactory) -> None:
    """The session is cleared at sign-in: a CSRF token from before no longer works."""
    staff(email="dana@example.gov.uk")
    old_token = csrf(client, "/sign-in")
    client.post("/sign-in", data={"email": "dana@example.gov.uk", "password": STAFF_PASSWORD, "csrf_token": old_token})
    assert client.get("/").status_code == 200
    response = client.post("/sign-out", data={"csrf_token": old_token})
    assert response.status_code == 400
    assert client.get("/").status_code == 200, "still signed in: the stale post did nothing"


def test_sign_out(client: FlaskClient, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk")
    sign_in(client, "dana@example.gov.uk")
    token = csrf(client, "/sign-out")
    response = client.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    shown = client.get(response.headers["Location"])
    assert "You have signed out." in page(shown).select_one(".govuk-notification-banner").get_text()  # type: ignore[union-attr]
    assert client.get("/").status_code == 303
    assert client.get("/sign-out").status_code == 303, "nothing to sign out of"


def test_every_post_needs_its_csrf_token(make: Any, staff: StaffFactory) -> None:
    client = make(oidc_providers=(OidcProvider("stub", "http://127.0.0.1:9", "client", "secret", "Stub"),))
    app = client.application
    posts = [
        r
        for r in app.url_map.iter_rules()
        if "POST" in (r.methods or set()) and r.endpoint.startswith(("staff.", "sso."))
    ]
    assert {r.endpoint for r in posts} >= {
        "staff.sign_in",
        "staff.two_factor",
        "staff.set_up_two_factor",
        "staff.sign_out",
        "staff.set_up",
        "sso.start",
    }
    for rule in posts:
        url = rule.rule.replace("<token>", "abc").replace("<provider>", "stub")
        response = client.post(url, data={"email": "dana@example.gov.uk", "password": STAFF_PASSWORD})
        assert response.status_code == 400, url
        assert "Your page could not be sent" in response.get_data(as_text=True), url


def test_every_staff_route_answers_without_sign_in_only_when_marked_public(make: Any) -> None:
    """The sign-in pages are the only staff pages open to everyone; the rest redirect to sign-in."""
    client = make()
    app = client.application
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("staff."):
            assert getattr(app.view_functions[rule.endpoint], "staff_public", False), rule.endpoint
        elif rule.endpoint.startswith("protected."):
            assert getattr(app.view_functions[rule.endpoint], "staff_login_required", False), rule.endpoint
            url = rule.rule.replace("<int:department_id>", "1")
            assert client.get(url).status_code == 303, url


# -- session expiry ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes_later", "reason"),
    [(31, "you had not used it for a while"), (481, "you signed in a long time ago")],
)
def test_sessions_expire(
    client: FlaskClient, staff: StaffFactory, monkeypatch: pytest.MonkeyPatch, minutes_later: int, reason: str
) -> None:
    staff(email="dana@example.gov.uk")
    sign_in(client, "dana@example.gov.uk")
    start = time.time()
    # Busy the whole time (a request every 20 minutes) for the absolute limit; idle otherwise.
    if minutes_later > 400:
        for minute in range(20, minutes_later - 20, 20):
            monkeypatch.setattr(staff_web, "_now", lambda m=minute: start + m * 60)
            assert client.get("/").status_code == 200, minute
    monkeypatch.setattr(staff_web, "_now", lambda: start + minutes_later * 60)
    response = client.get("/")
    assert response.status_code == 303
    shown = client.get(response.headers["Location"])
    assert reason in page(shown).select_one(".govuk-notification-banner").get_text()  # type: ignore[union-attr]
    assert client.get("/").status_code == 303


def test_a_deactivated_account_is_signed_out_at_once(
    client: FlaskClient, staff: StaffFactory, database_url: str
) -> None:
    made = staff(email="dana@example.gov.uk")
    sign_in(client, "dana@example.gov.uk")
    assert client.get("/").status_code == 200
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        core.deactivate(session=s, user_id=made.id or 0)
        s.commit()
    engine.dispose()
    assert client.get("/").status_code == 303


# -- the second factor ------------------------------------------------------------------------------


def test_two_factor_sign_in(client: FlaskClient, staff: StaffFactory) -> None:
    secret = core.new_totp_secret()
    staff(email="dana@example.gov.uk", totp_secret=secret)
    response = sign_in(client, "dana@example.gov.uk")
    assert response.headers["Location"] == "/sign-in/two-factor"
    assert client.get("/").status_code == 303, "not signed in before the code"
    token = csrf(client, "/sign-in/two-factor")
    wrong = client.post("/sign-in/two-factor", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 400
    assert errors(wrong) == [core.WRONG_CODE]
    empty = client.post("/sign-in/two-factor", data={"code": "", "csrf_token": token})
    assert errors(empty) == ["Enter the 6-digit code"]
    code = pyotp.TOTP(secret).now()
    done = client.post("/sign-in/two-factor", data={"code": code, "csrf_token": token})
    assert done.status_code == 303
    assert client.get("/").status_code == 200
    # The same code cannot sign in a second time.
    again = make_second_client(client)
    sign_in(again, "dana@example.gov.uk")
    reused = again.post("/sign-in/two-factor", data={"code": code, "csrf_token": csrf(again, "/sign-in/two-factor")})
    assert errors(reused) == [core.WRONG_CODE]


def make_second_client(client: FlaskClient) -> FlaskClient:
    return client.application.test_client()


def test_the_two_factor_page_needs_a_password_first(client: FlaskClient) -> None:
    assert client.get("/sign-in/two-factor").headers["Location"] == "/sign-in"
    assert client.get("/two-factor/set-up").headers["Location"] == "/sign-in"


def test_mandatory_two_factor_is_set_up_at_first_sign_in(make: Any, staff: StaffFactory, database_url: str) -> None:
    client = make(staff_require_totp=True)
    staff(email="dana@example.gov.uk")
    response = sign_in(client, "dana@example.gov.uk")
    assert response.headers["Location"] == "/two-factor/set-up"
    shown = client.get("/two-factor/set-up")
    secret = page(shown).select_one("#totp-secret").get_text().replace(" ", "")  # type: ignore[union-attr]
    uri = page(shown).select_one("#totp-uri").get_text()  # type: ignore[union-attr]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    token = str(page(shown).select_one("input[name=csrf_token]")["value"])  # type: ignore[index]
    wrong = client.post("/two-factor/set-up", data={"code": "123", "csrf_token": token})
    assert wrong.status_code == 400
    assert errors(wrong) == ["Enter the 6-digit code your authenticator app shows now"]
    assert client.get("/").status_code == 303
    done = client.post("/two-factor/set-up", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert done.status_code == 303
    assert client.get("/").status_code == 200
    assert user_row(database_url, "dana@example.gov.uk").totp_secret == secret


# -- set-up links -------------------------------------------------------------------------------------


def test_set_up_link(client: FlaskClient, staff: StaffFactory, database_url: str) -> None:
    made = staff(email="new@example.gov.uk", name="New Person", password=None)
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        user = s.get(StaffUser, made.id)
        assert user is not None
        link = core.issue_setup_token(session=s, user=user)
        s.commit()
    engine.dispose()
    url = f"/set-up/{link}"
    shown = client.get(url)
    assert shown.status_code == 200
    assert "new@example.gov.uk" in page(shown).select_one("main").get_text()  # type: ignore[union-attr]
    token = csrf(client, url)
    short = client.post(url, data={"password": "short", "confirm": "short", "csrf_token": token})
    assert errors(short) == ["Password must be 12 characters or more"]
    differ = client.post(url, data={"password": STAFF_PASSWORD, "confirm": STAFF_PASSWORD + "x", "csrf_token": token})
    assert errors(differ) == ["The passwords do not match: type the same password twice"]
    done = client.post(url, data={"password": STAFF_PASSWORD, "confirm": STAFF_PASSWORD, "csrf_token": token})
    assert done.status_code == 303
    assert "Your password has been set" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert client.get(url).status_code == 404
    assert sign_in(client, "new@example.gov.uk").status_code == 303


@pytest.mark.parametrize("token", ["nonsense", "x" * 10_000, "%00", "<script>"])
def test_a_bad_set_up_link_is_a_clear_404(client: FlaskClient, token: str) -> None:
    response = client.get(f"/set-up/{token}")
    assert response.status_code == 404
    assert "expired or has already been used" in page(response).select_one("h1").get_text()  # type: ignore[union-attr]


# -- roles --------------------------------------------------------------------------------------------


def department(database_url: str, name: str) -> int:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        found = department_for_name(session=s, name=name)
        s.commit()
        assert found.id is not None
        result = found.id
    engine.dispose()
    return result


def test_roles_decide_what_answers(client: FlaskClient, staff: StaffFactory, database_url: str) -> None:
    highways, revenues = department(database_url, "Highways"), department(database_url, "Revenues")
    staff(email="designer@example.gov.uk", department="Highways", role="designer")
    staff(email="reviewer@example.gov.uk", department="Revenues", role="reviewer", roles={"Highways": ["admin"]})
    sign_in(client, "designer@example.gov.uk")
    assert client.get(f"/departments/{highways}/edit").status_code == 200
    assert client.get(f"/departments/{revenues}/edit").status_code == 404, "another department's things: 404"
    assert client.get("/departments/99999/edit").status_code == 404
    assert client.get("/admin").status_code == 403
    client.post("/sign-out", data={"csrf_token": csrf(client, "/sign-out")})
    sign_in(client, "reviewer@example.gov.uk")
    assert client.get(f"/departments/{revenues}/edit").status_code == 403, "a role that does not allow it: 403"
    assert client.get("/admin").status_code == 200


# -- single sign-on -----------------------------------------------------------------------------------


# Signing in with a provider: tests/runtime/test_sso.py, against a real one (oidc-provider).


def test_no_providers_no_buttons(client: FlaskClient) -> None:
    assert page(client.get("/sign-in")).select("form[action^='/sso/']") == []

"""Staff single sign-on (runtime/web/sso.py) against a real OpenID Connect provider: panva's
oidc-provider, started once for the session by tests/oidc. The app is the staff blueprints on a
small face, driven by Flask's test client; the provider is driven with requests, following its
redirects by hand as a browser would. The browser itself is in tests/browser/test_sso.py."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from joserfc.jwk import RSAKey

from runtime import db as dbmod
from runtime.models import StaffUser
from runtime.settings import OidcProvider, Settings, SettingsError, from_environment
from runtime.staff import SSO_NO_ACCOUNT
from tests.conftest import StaffFactory, page
from tests.oidc import CLIENT_SECRET, TAMPERING, OidcServer, client, start_provider
from tests.runtime.helpers import staff_clients

APP = "http://localhost/"  # where Flask's test client says the app is


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The app's private key for private_key_jwt (a PEM file, as IT would give it) and its public JWK."""
    key = RSAKey.generate_key(2048, parameters={"kid": "civic-app-key"})
    path = tmp_path_factory.mktemp("sso-key") / "client.pem"
    path.write_bytes(key.as_pem(private=True))
    return path, key.as_dict(private=False)


@pytest.fixture(scope="session")
def provider(client_key: tuple[Path, dict[str, Any]]) -> Iterator[OidcServer]:
    """The provider with the spec's default: only sub (and tid/hd) in the ID token, email at userinfo."""
    clients = [
        client("civic", "test"),
        client("civic-pkjwt", "test", token_endpoint_auth_method="private_key_jwt", jwks={"keys": [client_key[1]]}),
        *(client(f"tamper-{how}", "test", tamper=how) for how in TAMPERING),
    ]
    with start_provider(clients=clients) as started:
        yield started


@pytest.fixture(scope="session")
def provider_email_in_id_token() -> Iterator[OidcServer]:
    """A provider that puts the email claims in the ID token too (oidc-provider's conformIdTokenClaims off)."""
    with start_provider(clients=[client("civic", "test")], conform=False) as started:
        yield started


@pytest.fixture
def make(settings: Settings, provider: OidcServer) -> Iterator[Any]:
    """``make(**provider_settings)``: a test client of an app with one provider, "test" ("Test ID")."""
    with staff_clients(settings) as build_client:

        def build(issuer: str = provider.issuer, client_id: str = "civic", settings_: Any = None, **extra: Any) -> Any:
            config = OidcProvider("test", issuer, client_id, CLIENT_SECRET, "Test ID", **extra)
            return build_client(oidc_providers=(config,), **(settings_ or {}))

        yield build


def csrf(app: FlaskClient, url: str = "/sign-in") -> str:
    field = page(app.get(url)).select_one("input[name=csrf_token]")
    assert field is not None
    return str(field["value"])


def start(app: FlaskClient, **form: str) -> Any:
    """Press "Sign in with Test ID"."""
    response = app.post("/sso/test", data={"csrf_token": csrf(app), **form})
    return response


def follow(browser: requests.Session, url: str) -> requests.Response:
    """Follow the provider's redirects until they lead back to the app (or stop at a page)."""
    response = browser.get(url, allow_redirects=False, timeout=10)
    while response.is_redirect:
        location = urljoin(response.url, response.headers["Location"])
        if location.startswith(APP):
            response.headers["Location"] = location
            return response
        response = browser.get(location, allow_redirects=False, timeout=10)
    return response


def sso(app: FlaskClient, login: str | None = "dana", browser: requests.Session | None = None, **form: str) -> Any:
    """Sign in at the provider as ``login`` (login_hint: the test provider signs that account in)
    and come back to the app; the app's answer to the callback."""
    started = start(app, **form)
    assert started.status_code == 303, started.get_data(as_text=True)
    url = started.headers["Location"] + (f"&login_hint={login}" if login else "")
    back = follow(browser or requests.Session(), url)
    assert back.is_redirect, back.text
    callback = urlsplit(back.headers["Location"])
    return app.get(f"{callback.path}?{callback.query}")


def message(response: Any) -> str:
    found = page(response).select_one("#sso")
    return found.get_text(" ", strip=True) if found else ""


def linked(database_url: str, email: str) -> str | None:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        from sqlmodel import select

        user = s.exec(select(StaffUser).where(StaffUser.email == email)).one()
    engine.dispose()
    return user.oidc_subject


# -- signing in -------------------------------------------------------------------------------------


def test_signs_in_with_the_email_from_userinfo_when_the_id_token_has_only_sub(
    make: Any, staff: StaffFactory, database_url: str
) -> None:
    staff(email="dana@example.gov.uk", name="Dana Designer")
    app = make()
    response = sso(app, "dana")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert app.get("/").get_data(as_text=True) == "Hello Dana Designer"
    assert linked(database_url, "dana@example.gov.uk") == "dana"
    # Next time the subject alone is enough, whatever the email.
    assert sso(make(), "dana").status_code == 303


def test_an_email_in_the_id_token_counts_only_when_verified(
    make: Any, staff: StaffFactory, provider_email_in_id_token: OidcServer
) -> None:
    staff(email="dana@example.gov.uk", name="Dana Designer")
    assert sso(make(provider_email_in_id_token.issuer), "unverified").status_code == 403
    app = make(provider_email_in_id_token.issuer)
    assert sso(app, "dana").status_code == 303
    assert app.get("/").get_data(as_text=True) == "Hello Dana Designer"


@pytest.mark.parametrize("login", ["unverified", "unverified-string", "verified-string", "stranger", "no-email"])
@pytest.mark.parametrize("email_in_id_token", [False, True])
def test_no_verified_email_of_an_account_no_sign_in(
    make: Any,
    staff: StaffFactory,
    database_url: str,
    login: str,
    email_in_id_token: bool,
    request: pytest.FixtureRequest,
) -> None:
    """email_verified must be JSON true: "false", "true" (strings) and false link nothing."""
    staff(email="dana@example.gov.uk")
    issuer = request.getfixturevalue("provider_email_in_id_token").issuer if email_in_id_token else None
    app = make(issuer) if issuer else make()
    response = sso(app, login)
    assert response.status_code == 403
    assert "no active Civic Forms account" in message(response)
    assert app.get("/").status_code == 303
    assert linked(database_url, "dana@example.gov.uk") is None


# -- Microsoft Entra ID: no email_verified; xms_edov; TRUST_EMAIL for a pinned tenant ------------------


@pytest.mark.parametrize("email_in_id_token", [False, True])
@pytest.mark.parametrize(
    ("login", "trust", "linked_as"),
    [
        # Entra never sends email_verified: without TRUST_EMAIL a member is refused, tenant pinned or not.
        ("entra-member", False, None),
        ("entra-no-mail", False, None),
        # TRUST_EMAIL with the tenant pinned: the tenant's own email, or its email-shaped UPN.
        ("entra-member", True, "entra-member"),
        ("entra-no-mail", True, "entra-no-mail"),
        ("entra-upn-only", True, "entra-upn-only"),
        # Never, even trusted: a guest from another directory, a guest's #EXT# UPN, an email
        # the provider says is not verified, the string "true" in email_verified or xms_edov,
        # something not an address.
        ("entra-guest", True, None),
        ("entra-guest-upn", True, None),
        ("entra-says-unverified", True, None),
        ("entra-says-true-string", True, None),
        ("entra-not-an-email", True, None),
        ("entra-edov-string", True, None),
    ],
)
def test_trust_email_links_members_of_the_pinned_tenant_only(
    make: Any,
    staff: StaffFactory,
    database_url: str,
    login: str,
    trust: bool,
    linked_as: str | None,
    email_in_id_token: bool,
    request: pytest.FixtureRequest,
) -> None:
    staff(email="dana@example.gov.uk", name="Dana Designer")
    issuer = request.getfixturevalue("provider_email_in_id_token").issuer if email_in_id_token else None
    settings_ = {"tenant": "council-tenant", "trust_email": trust}
    app = make(issuer, **settings_) if issuer else make(**settings_)
    response = sso(app, login)
    if linked_as is None:
        assert response.status_code == 403
        assert message(response) == "Error: " + SSO_NO_ACCOUNT
        assert app.get("/").status_code == 303
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/"
        assert app.get("/").get_data(as_text=True) == "Hello Dana Designer"
    assert linked(database_url, "dana@example.gov.uk") == linked_as


@pytest.mark.parametrize("login", ["entra-other-tenant", "entra-other-tenant-no-mail", "entra-edov"])
def test_trust_email_refuses_a_token_from_another_tenant(
    make: Any, staff: StaffFactory, database_url: str, login: str
) -> None:
    """Another tenant may put any address in its users' email and UPN: the pinned tenant refuses
    it before any email is read, xms_edov or not."""
    staff(email="dana@example.gov.uk")
    app = make(tenant="council-tenant", trust_email=True)
    response = sso(app, login)
    assert response.status_code == 403
    assert (
        message(response) == "Error: You cannot sign in with this Test ID account: it belongs to another organisation."
    )
    assert linked(database_url, "dana@example.gov.uk") is None


@pytest.mark.parametrize("email_in_id_token", [False, True])
def test_xms_edov_true_is_a_verified_email_without_trust_or_a_tenant(
    make: Any, staff: StaffFactory, database_url: str, email_in_id_token: bool, request: pytest.FixtureRequest
) -> None:
    """Entra's xms_edov says the email's domain is verified by the user's own tenant, which no
    other tenant can be: JSON true links; the string "true" and false do not."""
    staff(email="dana@example.gov.uk", name="Dana Designer")
    issuer = request.getfixturevalue("provider_email_in_id_token").issuer if email_in_id_token else None
    build = (lambda: make(issuer)) if issuer else make
    for refused in ("entra-edov-string", "entra-edov-false"):
        response = sso(build(), refused)
        assert response.status_code == 403 and message(response) == "Error: " + SSO_NO_ACCOUNT
    app = build()
    assert sso(app, "entra-edov").status_code == 303
    assert app.get("/").get_data(as_text=True) == "Hello Dana Designer"
    assert linked(database_url, "dana@example.gov.uk") == "entra-edov"


def test_trust_email_without_a_pinned_tenant_is_a_settings_error() -> None:
    env = {**BASE_ENV, **ENTRA, "CIVICFORMS_OIDC_ENTRA_TRUST_EMAIL": "true"}
    with pytest.raises(SettingsError) as raised:
        from_environment(env)
    assert str(raised.value).startswith(
        "CIVICFORMS_OIDC_ENTRA_TRUST_EMAIL=true needs CIVICFORMS_OIDC_ENTRA_TENANT"
        " (or CIVICFORMS_OIDC_ENTRA_HOSTED_DOMAIN)"
    )
    for pin in ("CIVICFORMS_OIDC_ENTRA_TENANT", "CIVICFORMS_OIDC_ENTRA_HOSTED_DOMAIN"):
        pinned = from_environment({**env, pin: "example.gov.uk"}).oidc_providers[0]
        assert pinned.trust_email
    assert not from_environment({**BASE_ENV, **ENTRA}).oidc_providers[0].trust_email
    for value in ("maybe", "true; rm", "\x00"):
        with pytest.raises(SettingsError, match="CIVICFORMS_OIDC_ENTRA_TRUST_EMAIL must be true or false"):
            from_environment({**env, "CIVICFORMS_OIDC_ENTRA_TRUST_EMAIL": value})


def test_signing_in_returns_to_the_page_asked_for(make: Any, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk")
    response = sso(make(), "dana", next="/departments/1/edit")
    assert response.headers["Location"] == "/departments/1/edit"


# -- what goes wrong -------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", TAMPERING)
def test_a_bad_id_token_is_a_clear_400_and_one_log_line(
    make: Any, staff: StaffFactory, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    staff(email="dana@example.gov.uk")
    app = make(client_id=f"tamper-{how}")
    with caplog.at_level(logging.WARNING):
        response = sso(app, "dana")
    assert response.status_code == 400
    assert message(response) == (
        "Error: Signing in with Test ID did not work. Try again, or sign in with your email and password."
    )
    assert app.get("/").status_code == 303
    lines = [r for r in caplog.records if "single sign-on" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_provider_is_a_clear_503(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    app = make(f"http://127.0.0.1:{closed_port()}")
    with caplog.at_level(logging.WARNING):
        response = start(app)
    assert response.status_code == 503
    assert "Test ID did not answer" in message(response)
    assert [r.exc_info for r in caplog.records if "single sign-on" in r.getMessage()] == [None]


def test_a_provider_that_stops_answering_before_the_token_is_a_clear_503(make: Any, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk")
    with start_provider(clients=[client("civic", "test")]) as short_lived:
        app = make(short_lived.issuer)
        started = start(app)
        back = follow(requests.Session(), started.headers["Location"] + "&login_hint=dana")
    callback = urlsplit(back.headers["Location"])
    response = app.get(f"{callback.path}?{callback.query}")  # the token endpoint is gone
    assert response.status_code == 503 and "Test ID did not answer" in message(response)


def test_a_forged_callback_is_refused(make: Any) -> None:
    app = make()
    response = app.get("/sso/test/callback?code=abc&state=forged")
    assert response.status_code == 400 and "Signing in with Test ID did not work" in message(response)
    denied = app.get("/sso/test/callback?error=access_denied&error_description=<script>x</script>")
    assert denied.status_code == 400 and "<script>x" not in denied.get_data(as_text=True)
    # A real code from someone else's attempt does not work in this browser either.
    other = make()
    started = start(other)
    back = follow(requests.Session(), started.headers["Location"] + "&login_hint=dana")
    callback = urlsplit(back.headers["Location"])
    start(app)
    assert app.get(f"{callback.path}?{callback.query}").status_code == 400


def test_start_needs_its_csrf_token_and_a_known_provider(make: Any) -> None:
    app = make()
    assert app.post("/sso/test").status_code == 400
    token = csrf(app)
    assert app.post("/sso/nope", data={"csrf_token": token}).status_code == 404
    assert app.get("/sso/nope/callback?code=a&state=b").status_code == 404


def test_abandoned_attempts_do_not_grow_the_cookie(make: Any, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk", name="Dana Designer")
    app = make()
    sizes = []
    for _ in range(25):
        assert start(app).status_code == 303
        cookie = app.get_cookie("civicforms_session")
        assert cookie is not None
        sizes.append(len(cookie.value))
    assert max(sizes) < 1000 and max(sizes) - min(sizes) < 50, sizes
    assert sso(app, "dana").status_code == 303
    assert app.get("/").get_data(as_text=True) == "Hello Dana Designer"
    cookie = app.get_cookie("civicforms_session")
    assert cookie is not None and len(cookie.value) < 4096


# -- signing out -----------------------------------------------------------------------------------------


def test_sign_out_ends_the_provider_session_and_the_next_sign_in_asks_again(make: Any, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk", name="Dana Designer")
    app, browser = make(), requests.Session()
    assert sso(app, "dana", browser=browser).status_code == 303
    # Signed in at the provider: without prompt=login it would sign Dana in again at once.
    again = follow(browser, start(make()).headers["Location"])
    assert again.is_redirect

    out = app.post("/sign-out", data={"csrf_token": csrf(app, "/sign-out")})
    assert out.status_code == 303
    end = urlsplit(out.headers["Location"])
    query = parse_qs(end.query)
    assert out.headers["Location"].startswith(sso_provider_metadata(app)["end_session_endpoint"])
    assert query["post_logout_redirect_uri"] == ["http://localhost/sign-in?status=signed-out"]
    assert query["id_token_hint"][0].count(".") == 2 and query["client_id"] == ["civic"]
    confirm = browser.get(out.headers["Location"], timeout=10)
    form = BeautifulSoup(confirm.text, "html.parser").select_one("form")
    assert form is not None
    data = {i["name"]: i.get("value", "") for i in form.select("input[name]")}
    done = browser.post(
        urljoin(confirm.url, str(form["action"])), data={**data, "logout": "yes"}, timeout=10, allow_redirects=False
    )
    assert done.headers["Location"].startswith("http://localhost/sign-in?status=signed-out&state=")
    assert app.get("/").status_code == 303

    # The provider's session has ended, and the app asks for a fresh sign-in anyway.
    started = start(app)
    assert parse_qs(urlsplit(started.headers["Location"]).query)["prompt"] == ["login"]
    asks = follow(browser, started.headers["Location"])
    assert asks.status_code == 200 and "Sign in to the test provider" in asks.text
    assert sso(app, "dana", browser=browser).status_code == 303


def sso_provider_metadata(app: FlaskClient) -> dict[str, Any]:
    oauth = app.application.extensions["civicforms.oauth"]
    return dict(oauth.create_client("test").server_metadata)


def test_after_the_8_hours_the_provider_is_asked_to_sign_the_person_in_again(make: Any, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk")
    app, browser = make(), requests.Session()
    assert sso(app, "dana", browser=browser).status_code == 303
    ended = make()
    form = page(ended.get("/sign-in?status=ended")).select_one("form[action='/sso/test']")
    assert form is not None and form.select_one("input[name=fresh]") is not None
    started = start(ended, fresh="1")
    assert parse_qs(urlsplit(started.headers["Location"]).query)["max_age"] == ["0"]
    # The provider still has Dana signed in, and asks all the same.
    assert "Sign in to the test provider" in follow(browser, started.headers["Location"]).text


# -- the provider's settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "refused", "allowed"),
    [
        ({"require_amr": ("mfa",)}, "dana", "mfa"),
        ({"require_acr": ("urn:test:mfa",)}, "dana", "mfa"),
        ({"tenant": "council-tenant"}, "other-tenant", "tenant"),
        ({"hosted_domain": "example.gov.uk"}, "other-tenant", "tenant"),
    ],
)
def test_settings_require_multi_factor_and_pin_the_organisation(
    make: Any, staff: StaffFactory, extra: dict[str, Any], refused: str, allowed: str
) -> None:
    staff(email="dana@example.gov.uk")
    response = sso(make(**extra), refused)
    assert response.status_code == 403 and "You cannot sign in with this Test ID account" in message(response)
    assert sso(make(**extra), allowed).status_code == 303


def test_totp_required_applies_to_single_sign_on_unless_the_token_shows_multi_factor(
    make: Any, staff: StaffFactory
) -> None:
    staff(email="dana@example.gov.uk")
    asked = sso(make(settings_={"staff_require_totp": True}), "mfa")
    assert asked.status_code == 303 and asked.headers["Location"] == "/two-factor/set-up"
    trusted = sso(make(settings_={"staff_require_totp": True}, require_amr=("mfa",)), "mfa")
    assert trusted.status_code == 303 and trusted.headers["Location"] == "/"


def test_private_key_jwt_client_authentication(
    make: Any, staff: StaffFactory, client_key: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    staff(email="dana@example.gov.uk", name="Dana Designer")
    settings_ = {"client_auth": "private_key_jwt", "private_key_file": client_key[0], "private_key_id": "civic-app-key"}
    app = make(client_id="civic-pkjwt", **settings_)
    assert sso(app, "dana").status_code == 303
    assert app.get("/").get_data(as_text=True) == "Hello Dana Designer"
    # Another key: the provider refuses the client, and the app says so plainly.
    other = tmp_path / "other.pem"
    other.write_bytes(RSAKey.generate_key(2048).as_pem(private=True))
    response = sso(make(client_id="civic-pkjwt", **{**settings_, "private_key_file": other}), "dana")
    assert response.status_code == 400 and "did not work" in message(response)


def test_the_sign_in_page_lets_its_forms_reach_the_provider(make: Any, provider: OidcServer) -> None:
    app = make()
    response = app.get("/sign-in")
    policy = response.headers["Content-Security-Policy"]
    assert f"form-action 'self' {provider.issuer};" in policy and "*" not in policy
    form = page(response).select_one("form[action='/sso/test']")
    assert form is not None and form["hx-boost"] == "false"


BASE_ENV = {"CIVICFORMS_SECRET_KEY": "s" * 40, "CIVICFORMS_ENV": "test", "CIVICFORMS_OIDC_PROVIDERS": "entra"}
ENTRA = {
    "CIVICFORMS_OIDC_ENTRA_ISSUER": "https://login.microsoftonline.com/tenant/v2.0",
    "CIVICFORMS_OIDC_ENTRA_CLIENT_ID": "id-1",
    "CIVICFORMS_OIDC_ENTRA_CLIENT_SECRET": "secret-1",
}


def test_provider_settings_are_read(client_key: tuple[Path, dict[str, Any]]) -> None:
    env = {
        **BASE_ENV,
        **ENTRA,
        "CIVICFORMS_OIDC_ENTRA_CLIENT_SECRET": "",
        "CIVICFORMS_OIDC_ENTRA_REQUIRE_AMR": "mfa, hwk",
        "CIVICFORMS_OIDC_ENTRA_TENANT": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "CIVICFORMS_OIDC_ENTRA_CLIENT_AUTH": "private_key_jwt",
        "CIVICFORMS_OIDC_ENTRA_PRIVATE_KEY_FILE": str(client_key[0]),
    }
    entra = from_environment(env).oidc_providers[0]
    assert (entra.require_amr, entra.tenant, entra.client_auth) == (
        ("mfa", "hwk"),
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "private_key_jwt",
    )
    assert entra.requires_mfa and entra.private_key_file == client_key[0]


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"CIVICFORMS_OIDC_ENTRA_CLIENT_AUTH": "password"}, "CIVICFORMS_OIDC_ENTRA_CLIENT_AUTH must be one of"),
        ({"CIVICFORMS_OIDC_ENTRA_CLIENT_AUTH": "private_key_jwt"}, "PRIVATE_KEY_FILE must be set"),
        (
            {"CIVICFORMS_OIDC_ENTRA_CLIENT_AUTH": "private_key_jwt", "CIVICFORMS_OIDC_ENTRA_PRIVATE_KEY_FILE": "/nope"},
            "PRIVATE_KEY_FILE: cannot read '/nope'",
        ),
        (
            {
                "CIVICFORMS_OIDC_ENTRA_CLIENT_AUTH": "private_key_jwt",
                "CIVICFORMS_OIDC_ENTRA_PRIVATE_KEY_FILE": __file__,
            },
            "is not a PEM private key",
        ),
        ({"CIVICFORMS_OIDC_ENTRA_REQUIRE_AMR": "mfa; drop"}, "REQUIRE_AMR: 'mfa; drop' is not a value like mfa"),
        ({"CIVICFORMS_OIDC_ENTRA_REQUIRE_ACR": "x" * 300}, "REQUIRE_ACR"),
        ({"CIVICFORMS_OIDC_ENTRA_TENANT": "a tenant"}, "TENANT must be a tenant id"),
        ({"CIVICFORMS_OIDC_ENTRA_HOSTED_DOMAIN": "example"}, "HOSTED_DOMAIN must be a domain"),
        ({"CIVICFORMS_OIDC_ENTRA_CLIENT_SECRET": ""}, "CLIENT_SECRET must be set"),
    ],
)
def test_bad_provider_settings_are_clear_errors(env: dict[str, str], error: str) -> None:
    with pytest.raises(SettingsError, match=error.replace("(", r"\(")):
        from_environment({**BASE_ENV, **ENTRA, **env})

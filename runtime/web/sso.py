"""Staff single sign-on through OpenID Connect (Authlib): blueprint ``sso``.

Shared by the builder and the back office, beside ``staff`` (sign-in with a password), whose
session helpers it uses: a member of staff signed in here has the same session as one who
typed a password.

The flow is the authorization code flow with PKCE and a nonce. What it keeps in the session
cookie is small on purpose: one attempt at a time (a new one replaces an abandoned one, so the
cookie cannot grow), and after signing in the provider's name and, when short enough, the ID
token that sign-out gives back to the provider's end-session endpoint.

The email that links an account on first use must be one the provider vouches for
(``email_verified`` or Entra's ``xms_edov`` is JSON ``true``; or, for a provider pinned to one
tenant or domain with TRUST_EMAIL, a member's email or email-shaped ``preferred_username``
without ``email_verified``), read from the ID token or, when the ID token has none (the
specification's default), from the userinfo endpoint. Per-provider settings can require
multi-factor authentication in the token (``amr``/``acr``) and pin the tenant (``tid``) or
the Google Workspace domain (``hd``).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, request, session, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response

from .. import staff as core
from ..services import accounts
from ..settings import OidcProvider
from .common import db, settings
from .staff import END_SESSION, PENDING, _now, _page, _safe_next, _sign_in_context, _signed_in, public

bp = Blueprint("sso", __name__)

ATTEMPT = "staff_sso"  # the one attempt under way: provider, state, PKCE verifier, nonce, next, time
SIGNED_IN_WITH = "staff_sso_with"  # {"p": provider, "t": ID token or ""}: for sign-out at the provider
FRESH = "staff_sso_fresh"  # after a sign-out: the next attempt asks the provider to sign the person in again
ATTEMPT_SECONDS = 10 * 60
MAX_ID_TOKEN_KEPT = 2000  # characters; a longer ID token is not kept (sign-out then sends client_id only)
# What an ID token may be signed with: never "none", nor a shared secret (HS*).
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# An address a staff account can have: one @, a dotted domain, no spaces, no "#" (Entra's guests).
EMAIL = re.compile(r"[A-Za-z0-9.!$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
ORIGIN = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?|http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?")


class ProviderUnreachable(Exception):
    """The provider did not answer (discovery, keys, token or userinfo endpoint)."""


class Refused(Exception):
    """The provider answered, but not with a sign-in this app accepts."""

    def __init__(self, reason: str, message: str = "", status: int = 400) -> None:
        super().__init__(reason)
        self.message = message
        self.status = status


def _oauth(app: Flask) -> Any:
    """One Authlib client per configured provider, made once per app."""
    from authlib.integrations.flask_client import OAuth

    oauth = app.extensions.get("civicforms.oauth")
    if oauth is None:
        oauth = OAuth(app)
        for provider in app.extensions["civicforms.settings"].oidc_providers:
            _register(oauth, provider)
        app.extensions["civicforms.oauth"] = oauth
    return oauth


def _register(oauth: Any, provider: OidcProvider) -> None:
    client_kwargs: dict[str, Any] = {
        "scope": "openid email profile",
        "code_challenge_method": "S256",
        "default_timeout": 10,
        "token_endpoint_auth_method": provider.client_auth,
    }
    secret: Any = provider.client_secret
    extra: dict[str, Any] = {}
    if provider.client_auth == "private_key_jwt":
        from authlib.oauth2.rfc7523 import PrivateKeyJWT

        assert provider.private_key_file is not None  # settings check it
        secret = provider.private_key_file.read_text(encoding="utf-8")
        headers = {"kid": provider.private_key_id} if provider.private_key_id else None
        extra["client_auth_methods"] = [PrivateKeyJWT(headers=headers)]
    oauth.register(
        name=provider.name,
        client_id=provider.client_id,
        client_secret=secret,
        server_metadata_url=provider.metadata_url,
        client_kwargs=client_kwargs,
        **extra,
    )


@bp.record_once
def _set_up_oauth(state: Any) -> None:
    app = state.app
    _oauth(app)
    app.extensions["civicforms.form_action_origins"] = lambda: form_action_origins(app)


def form_action_origins(app: Flask) -> list[str]:
    """Where a staff page's forms may lead (CSP form-action, beside 'self'): the configured
    providers' sign-in and sign-out pages. A form that is sent and then redirected is checked
    at each redirect, so without these the "Sign in with ..." button and sign-out do nothing."""
    found: list[str] = []
    oauth = app.extensions.get("civicforms.oauth")
    for provider in app.extensions["civicforms.settings"].oidc_providers:
        urls = [provider.issuer]
        client = oauth.create_client(provider.name) if oauth is not None else None
        metadata = getattr(client, "server_metadata", None) or {}
        urls += [metadata.get("authorization_endpoint"), metadata.get("end_session_endpoint")]
        for url in urls:
            origin = _origin(url)
            if origin and origin not in found:
                found.append(origin)
    return found


def _origin(url: Any) -> str:
    if not isinstance(url, str):
        return ""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if ORIGIN.fullmatch(origin) else ""


def _provider_or_404(name: str) -> tuple[OidcProvider, Any]:
    provider = settings().oidc_provider(name)
    if provider is None:
        abort(404)
    return provider, _oauth(current_app).create_client(name)


def _metadata(client: Any) -> dict[str, Any]:
    """The provider's discovery document, loaded once; ID tokens only with the algorithms above."""
    metadata = cast(dict[str, Any], client.load_server_metadata())
    offered = metadata.get("id_token_signing_alg_values_supported")
    allowed = [a for a in offered if a in ID_TOKEN_ALGORITHMS] if isinstance(offered, list) else []
    metadata["id_token_signing_alg_values_supported"] = allowed or ["RS256"]
    return metadata


def _failed(config: OidcProvider, exc: Exception) -> Any:
    """The sign-in page with a message, and one line in the log (no traceback)."""
    if isinstance(exc, ProviderUnreachable):
        status = 503
        message = (
            f"{config.label} did not answer, so you cannot sign in with it just now. "
            "Try again later, or sign in with your email and password."
        )
    elif isinstance(exc, Refused) and exc.message:
        status, message = exc.status, exc.message
    else:
        status = 400
        message = f"Signing in with {config.label} did not work. Try again, or sign in with your email and password."
    cause = exc.__cause__ or exc
    current_app.logger.warning(
        "single sign-on with %s failed (%s): %s: %s", config.name, status, type(cause).__name__, str(cause)[:300]
    )
    return _page("staff/sign_in.html", status, errors={"sso": message}, **_sign_in_context())


def _talk(step: Callable[[], Any]) -> Any:
    """Run one exchange with the provider; its failures become ProviderUnreachable or Refused."""
    import requests
    from authlib.common.errors import AuthlibBaseError
    from joserfc.errors import JoseError

    try:
        return step()
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise ProviderUnreachable(str(exc)) from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status >= 500 or status == 0:
            raise ProviderUnreachable(str(exc)) from exc
        raise Refused(str(exc)) from exc
    except (AuthlibBaseError, JoseError, requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise Refused(str(exc)) from exc
    except RuntimeError as exc:  # Authlib: the discovery document lacks an endpoint
        raise Refused(str(exc)) from exc


@bp.post("/sso/<provider>")
@public
def start(provider: str) -> Any:
    """Off to the provider's sign-in page (a POST with a CSRF token, from the sign-in page's button)."""
    config, client = _provider_or_404(provider)
    fresh = bool(session.get(FRESH)) or request.form.get("fresh") == "1"
    params: dict[str, Any] = {"nonce": secrets.token_urlsafe(24)}
    if fresh:
        # After a sign-out or the end of the 8 hours: the provider asks the person again,
        # rather than signing in whoever is still signed in to it on this computer.
        params.update(prompt="login", max_age=0)
    if config.require_acr:
        params["acr_values"] = " ".join(config.require_acr)
    redirect_uri = url_for("sso.callback", provider=config.name, _external=True)
    try:
        _talk(lambda: _metadata(client))
        made = _talk(lambda: client.create_authorization_url(redirect_uri, **params))
    except (ProviderUnreachable, Refused) as exc:
        return _failed(config, exc)
    # One attempt at a time: this replaces any abandoned one, so the cookie cannot grow.
    session[ATTEMPT] = {
        "p": config.name,
        "s": made["state"],
        "v": made["code_verifier"],
        "n": params["nonce"],
        "next": _safe_next(request.form.get("next")),
        "at": int(time.time()),
        "fresh": fresh,
    }
    return redirect(made["url"], 303)


@bp.get("/sso/<provider>/callback")
@public
def callback(provider: str) -> Any:
    """Back from the provider: sign in the active account with that identity (linking it on first use)."""
    config, client = _provider_or_404(provider)
    attempt = session.pop(ATTEMPT, None)
    # Nothing says the provider asked for a second factor: ask for this app's, as for a password.
    owed = settings().staff_require_totp and not config.requires_mfa
    try:
        claims, token = _finish(config, client, attempt)
        issuer, subject, email = _identity(config, client, claims, token)
        try:
            signed = accounts.sign_in_with_sso(
                session=db(),
                issuer=issuer,
                subject=subject,
                email=email,
                second_factor_owed=owed,
                max_age_minutes=settings().staff_session_minutes,
            )
        except core.SignInError as exc:
            raise Refused(exc.message, exc.message, 403) from exc
    except (ProviderUnreachable, Refused) as exc:
        return _failed(config, exc)
    assert isinstance(attempt, dict)
    next_path = str(attempt.get("next") or "")
    user = signed.user
    if signed.token is None:
        session.clear()
        session[PENDING] = {"user": user.id, "at": _now(), "next": next_path}
        return redirect(url_for("staff.two_factor" if user.totp_secret else "staff.set_up_two_factor"), 303)
    response = _signed_in(user, signed.token, next_path)
    id_token = str(token.get("id_token") or "")
    session[SIGNED_IN_WITH] = {"p": config.name, "t": id_token if len(id_token) <= MAX_ID_TOKEN_KEPT else ""}
    return response


def _finish(config: OidcProvider, client: Any, attempt: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The code for tokens, and the ID token's claims once checked (signature, issuer, audience,
    expiry, nonce, at_hash; when a fresh sign-in was asked for, its time)."""
    if request.args.get("error"):
        raise Refused(f"the provider answered {request.args.get('error', '')[:100]!r}")
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not isinstance(attempt, dict) or attempt.get("p") != config.name:
        raise Refused("no sign-in attempt with this provider in the session")
    if not state or not secrets.compare_digest(state.encode(), str(attempt.get("s", "")).encode()):
        raise Refused("the state does not match the attempt's")
    started = float(attempt.get("at", 0))
    if time.time() - started > ATTEMPT_SECONDS:
        raise Refused("the attempt is too old")
    if not code:
        raise Refused("no code")
    redirect_uri = url_for("sso.callback", provider=config.name, _external=True)
    _talk(lambda: _metadata(client))
    token = _talk(
        lambda: client.fetch_access_token(redirect_uri=redirect_uri, code=code, code_verifier=attempt.get("v"))
    )
    if not isinstance(token, dict) or not token.get("id_token"):
        raise Refused("the token endpoint sent no ID token")
    claims = dict(_talk(lambda: client.parse_id_token(token, nonce=attempt.get("n"))))
    if attempt.get("fresh"):
        auth_time = claims.get("auth_time")
        if not isinstance(auth_time, int | float) or auth_time < started - 60:
            raise Refused("a fresh sign-in was asked for, and the ID token's auth_time is older")
    return claims, token


def _identity(
    config: OidcProvider, client: Any, claims: dict[str, Any], token: dict[str, Any]
) -> tuple[str, str, str | None]:
    """(issuer, subject, email) of these claims, once the provider's settings are met."""
    subject, issuer = str(claims.get("sub") or ""), str(claims.get("iss") or config.issuer)
    if not subject:
        raise Refused("no subject", core.SSO_NO_ACCOUNT, 403)
    refused = _settings_refuse(config, claims)
    if refused:
        raise Refused(refused, f"You cannot sign in with this {config.label} account: {refused}.", 403)
    email = _verified_email(config, claims, claims)
    userinfo: dict[str, Any] = {}
    if not email and "userinfo_endpoint" in _metadata(client):
        userinfo = _talk(lambda: dict(client.userinfo(token=token)))
        if str(userinfo.get("sub") or "") != subject:
            raise Refused("the userinfo endpoint answered for another subject")
        email = _verified_email(config, userinfo, claims)
    if not email:
        email = _username_email(config, claims) or _username_email(config, userinfo, claims)
    return issuer, subject, email


def _verified_email(config: OidcProvider, found: dict[str, Any], id_claims: dict[str, Any]) -> str:
    """The email in ``found`` (the ID token's claims or the userinfo answer), if the provider
    vouches for it: ``email_verified`` JSON true; or Entra's ``xms_edov`` JSON true (the email's
    domain is verified by the user's own tenant, so no other tenant can send it); or, with
    TRUST_EMAIL (settings: only with a pinned tenant or domain), neither claim at all and not a
    guest. A string ("true"), 1 or false in either claim never counts, trusted or not."""
    email = found.get("email")
    if not isinstance(email, str) or not 0 < len(email) <= 320:
        return ""
    if found.get("email_verified") is True or found.get("xms_edov") is True:
        return email
    if "email_verified" in found or "xms_edov" in found:
        return ""  # the provider said something other than true about this email: it is not vouched for
    if not _trusted(config, id_claims) or not _is_email(email):
        return ""
    return email


def _username_email(config: OidcProvider, found: dict[str, Any], id_claims: dict[str, Any] | None = None) -> str:
    """With TRUST_EMAIL, an Entra user without a mail attribute: their ``preferred_username`` (or
    ``upn``) when it is an email address. Entra only allows a member's user principal name in one
    of the tenant's verified domains; a guest's ("..#EXT#@...") is neither an email nor trusted."""
    if not _trusted(config, found if id_claims is None else id_claims):
        return ""
    for name in ("preferred_username", "upn"):
        value = found.get(name)
        if _is_email(value):
            assert isinstance(value, str)
            return value
    return ""


def _trusted(config: OidcProvider, id_claims: dict[str, Any]) -> bool:
    """Whether this provider's email claims count without ``email_verified``: TRUST_EMAIL is on
    (so the tenant or domain is pinned, and _settings_refuse has checked it) and the person is a
    member of that tenant, not a guest from another directory (Entra's ``idp``, when it is not
    the issuer)."""
    if not config.trust_email or not (config.tenant or config.hosted_domain):
        return False
    idp = id_claims.get("idp")
    return idp is None or idp == id_claims.get("iss")


def _is_email(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 320 and EMAIL.fullmatch(value) is not None


def _settings_refuse(config: OidcProvider, claims: dict[str, Any]) -> str:
    """Why the provider's settings refuse this ID token (multi-factor, tenant, domain), or ''."""
    amr = claims.get("amr")
    if config.require_amr and not (isinstance(amr, list) and set(map(str, amr)) & set(config.require_amr)):
        return "it did not use multi-factor authentication, which this service requires"
    if config.require_acr and claims.get("acr") not in config.require_acr:
        return "it did not use the level of authentication this service requires"
    if config.tenant and claims.get("tid") != config.tenant:
        return "it belongs to another organisation"
    if config.hosted_domain and claims.get("hd") != config.hosted_domain:
        return "it belongs to another organisation"
    return ""


@bp.record_once
def _end_sessions_here(state: BlueprintSetupState) -> None:
    """Staff sign-out (runtime.web.staff) ends the session through ``end_session`` on this app."""
    state.app.extensions[END_SESSION] = end_session


def end_session(signed_out_url: str) -> Response:
    """Sign out here (clear the session) and, for staff who came through a provider that has an
    end-session endpoint, there too (RP-initiated logout, back to ``signed_out_url``). Either
    way the next single sign-on from this browser asks the provider to sign the person in again."""
    signed_in_with = session.get(SIGNED_IN_WITH)
    session.clear()
    session[FRESH] = True
    target = signed_out_url
    if isinstance(signed_in_with, dict):
        config = settings().oidc_provider(str(signed_in_with.get("p")))
        if config is not None:
            target = _end_session_url(config, str(signed_in_with.get("t") or ""), signed_out_url) or target
    if request.headers.get("HX-Request") == "true":
        # htmx would fetch the provider's page in the background (and CSP would stop it): go there whole.
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return cast(Response, redirect(target, 303))


def _end_session_url(config: OidcProvider, id_token: str, signed_out_url: str) -> str:
    client = _oauth(current_app).create_client(config.name)
    try:
        metadata = _talk(lambda: _metadata(client))
        if not metadata.get("end_session_endpoint"):
            return ""
        back = request.host_url.rstrip("/") + signed_out_url  # signed_out_url: a path on this site
        made = _talk(
            lambda: client.create_logout_url(
                post_logout_redirect_uri=back, id_token_hint=id_token or None, client_id=config.client_id
            )
        )
    except (ProviderUnreachable, Refused) as exc:
        cause = exc.__cause__ or exc
        current_app.logger.warning(
            "signing out at %s failed: %s: %s", config.name, type(cause).__name__, str(cause)[:300]
        )
        return ""
    return str(made["url"])

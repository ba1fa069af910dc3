"""Staff single sign-on through OpenID Connect (Authlib): blueprint ``sso``.

Shared by the builder and the back office, beside ``staff`` (sign-in with a password), whose
session helpers it uses: a member of staff signed in here has the same session as one who
typed a password.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, request, session, url_for

from .. import staff as core
from ..settings import OidcProvider
from .common import db, settings
from .staff import _page, _safe_next, _sign_in_context, _start_session, public

bp = Blueprint("sso", __name__)


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
    oauth.register(
        name=provider.name,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        server_metadata_url=provider.metadata_url,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "default_timeout": 10},
    )


@bp.record_once
def _set_up_oauth(state: Any) -> None:
    _oauth(state.app)


def _provider_or_404(name: str) -> tuple[OidcProvider, Any]:
    provider = settings().oidc_provider(name)
    if provider is None:
        abort(404)
    return provider, _oauth(current_app).create_client(name)


@bp.post("/sso/<provider>")
@public
def start(provider: str) -> Any:
    """Off to the provider's sign-in page (a POST with a CSRF token, from the sign-in page's button)."""
    config, client = _provider_or_404(provider)
    next_path = _safe_next(request.form.get("next"))
    session.pop("staff_sso_next", None)
    session["staff_sso_next"] = next_path
    return client.authorize_redirect(url_for("sso.callback", provider=config.name, _external=True))


@bp.get("/sso/<provider>/callback")
@public
def callback(provider: str) -> Any:
    """Back from the provider: sign in the active account with that email (linking it on first use)."""
    from authlib.integrations.base_client import OAuthError

    config, client = _provider_or_404(provider)
    context = _sign_in_context()
    try:
        token = client.authorize_access_token()
    except OAuthError as exc:
        current_app.logger.warning("single sign-on with %s failed: %s", provider, exc)
        message = f"Signing in with {config.label} did not work. Try again, or sign in with your email and password."
        return _page("staff/sign_in.html", 400, errors={"sso": message}, **context)
    claims = token.get("userinfo") or {}
    issuer, subject = str(claims.get("iss") or config.issuer), str(claims.get("sub") or "")
    # An address the provider says it has not verified could be anyone's: it links nothing.
    email = str(claims.get("email") or "") if claims.get("email_verified") is not False else ""
    try:
        if not subject:
            raise core.SignInError(core.SSO_NO_ACCOUNT)
        user = core.user_for_oidc(session=db(), issuer=issuer, subject=subject, email=email)
    except core.SignInError as exc:
        db().rollback()
        return _page("staff/sign_in.html", 403, errors={"sso": exc.message}, **context)
    next_path = session.get("staff_sso_next") or ""
    # The provider checked the person (its own multi-factor rules apply), so no TOTP step here.
    return _start_session(user, next_path)

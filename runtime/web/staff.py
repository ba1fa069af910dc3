"""Staff sign-in, shared by the builder and the back office: blueprint ``staff`` (single sign-on is ``sso``).

Email and password (argon2), a TOTP second factor (mandatory when settings say so), lock-out,
set-up links, idle and absolute session
expiry, and the helpers the faces' views use: ``current_user()``, ``login_required``,
``requires(permission, department=...)``, ``department_roles(department_id)``.

The staff session lives in one signed cookie (``civicforms_staff``, :class:`StaffSessionInterface`)
that both faces read and write, so signing in on either is signing in on both: it is written at
each face's path (``/builder`` and ``/casework``, never ``/``, so the citizen pages never receive
it). Signing in clears it first, so nothing from before sign-in (a CSRF token, a half-finished
sign-in) survives into it. The cookie names a row of staff_session on the server
(runtime.staff.start_session): signing out deletes the row, so a copy of the cookie taken before
stops working at once, on both faces. Signing in with no page to return to lands each person where
they work (:func:`landing`): the back office for caseworkers, managers, records and data
protection officers, the builder for designers, reviewers and admins; both: the back office.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.wrappers import Response

from .. import staff as core
from ..models import StaffUser
from ..services import accounts
from .common import db, render_page, settings

bp = Blueprint("staff", __name__)

F = TypeVar("F", bound=Callable[..., Any])

# Keys in the session cookie.
USER = "staff_user_id"
TOKEN = "staff_session"  # the secret naming the session's staff_session row (stored hashed)
SIGNED_IN_AT = "staff_signed_in_at"
SEEN_AT = "staff_seen_at"
PENDING = "staff_pending"  # {"user": id, "at": time, "next": path}: password right, second factor to come
NEW_SECRET = "staff_new_totp_secret"  # the secret shown while setting up an authenticator app
PENDING_SECONDS = 5 * 60
# app.extensions key: what signing out calls to end the session; single sign-on (runtime.web.sso)
# puts its own there, which signs out at the provider too. (sso imports this module, not the reverse.)
END_SESSION = "staff_end_session"
NOTICES = {
    "signed-out": "You have signed out.",
    "expired": "You were signed out because you had not used it for a while. Sign in again to carry on.",
    "ended": "For your security, you were signed out because you signed in a long time ago. Sign in again.",
    "password-set": "Your password has been set. You can now sign in.",
}


# -- one sign-in for both faces --------------------------------------------------------------------

COOKIE_NAME = "civicforms_staff"
# Where each staff face is served (the same host): the shared cookie is written at each path.
BACK_OFFICE = "/casework"
BUILDER = "/builder"
FACE_PATHS = (BUILDER, BACK_OFFICE)
# Who works where: any of these roles (in any department) is work in that face. An admin's
# work is in both (the users page in the builder, sharing agreements in the back office), the
# builder first.
BACK_OFFICE_ROLES = frozenset({core.CASEWORKER, core.MANAGER, core.RECORDS, core.DPO})
BUILDER_ROLES = frozenset({core.DESIGNER, core.REVIEWER, core.ADMIN})
FACE_NAMES = {BACK_OFFICE: "Back office", BUILDER: "Builder"}


class StaffSessionInterface(SecureCookieSessionInterface):
    """The staff session cookie both faces share: signed with a salt of its own (every face has
    the same secret key, so without it a citizen's session cookie would verify as a staff one),
    and written at every path in ``STAFF_COOKIE_PATHS`` (default: this face's path only), so that
    the builder and the back office, served side by side, always hold the same session."""

    salt = "civicforms-staff-session"

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        paths = app.config.get("STAFF_COOKIE_PATHS") or (self.get_cookie_path(app),)
        options: dict[str, Any] = {
            "domain": self.get_cookie_domain(app),
            "secure": self.get_cookie_secure(app),
            "samesite": self.get_cookie_samesite(app),
            "httponly": self.get_cookie_httponly(app),
        }
        name = self.get_cookie_name(app)
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified:
                for path in paths:
                    response.delete_cookie(name, path=path, **options)
                response.vary.add("Cookie")
            return
        if not self.should_set_cookie(app, session):
            return
        value = self.get_signing_serializer(app).dumps(dict(session))  # type: ignore[union-attr]
        expires = self.get_expiration_time(app, session)
        for path in paths:
            response.set_cookie(name, value, expires=expires, path=path, **options)
        response.vary.add("Cookie")


def shared_cookie_config(prefix: str) -> dict[str, Any]:
    """A staff face's cookie settings: the shared cookie, at its own path and the other face's."""
    return {
        "SESSION_COOKIE_NAME": COOKIE_NAME,
        "SESSION_COOKIE_PATH": prefix,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "STAFF_COOKIE_PATHS": (prefix, *(p for p in FACE_PATHS if p != prefix)),
    }


def workplaces(roles: set[str] | frozenset[str]) -> list[str]:
    """The faces (their paths) where someone with these roles works, where they work most first:
    the back office for casework, records and data protection roles, else the builder."""
    places = [path for path, wanted in ((BACK_OFFICE, BACK_OFFICE_ROLES), (BUILDER, BUILDER_ROLES)) if roles & wanted]
    if core.ADMIN in roles and BACK_OFFICE not in places:
        places.append(BACK_OFFICE)  # sharing agreements
    return places


def _served_faces() -> tuple[str, ...]:
    """The staff faces served beside this one, sharing its sign-in (none: an app of its own)."""
    return tuple(current_app.config.get("STAFF_COOKIE_PATHS") or ())


def all_roles() -> frozenset[str]:
    """Every role of the signed-in staff member, in any department."""
    return frozenset().union(*_roles().values()) if _roles() else frozenset()


def other_faces() -> list[dict[str, str]]:
    """Links to the other face(s) the signed-in staff member works in, for the header."""
    here, served = request.script_root, _served_faces()
    return [
        {"text": FACE_NAMES[path], "href": path + "/"}
        for path in workplaces(all_roles())
        if path != here and path in served
    ]


def landing(user: StaffUser) -> str:
    """Where signing in leads when there was no page to return to: where the person works. Casework
    (and records, data protection) roles lead to the back office, from either sign-in page;
    otherwise the face they signed in on if they work there (an admin), else where they do."""
    assert user.id is not None
    roles = frozenset().union(*core.roles_by_department(db(), user.id).values())
    here = request.script_root
    places = [path for path in workplaces(roles) if path in _served_faces()]
    if not places:
        return _home()
    target = places[0] if roles & BACK_OFFICE_ROLES or here not in places else here
    return _home() if target == here else target + "/"


# -- the signed-in staff member -------------------------------------------------------------------


def _now() -> float:
    return time.time()


def current_user() -> StaffUser | None:
    """The signed-in, active staff member, or None (signed out, expired, deactivated).

    Expiry is checked here, on every request that asks: idle after ``staff_idle_minutes``
    without a request, and absolute ``staff_session_minutes`` after signing in. The session
    must still exist on the server (one query, which loads the user too): signing out, "sign
    out everywhere", a new password, a second-factor reset, a role change or deactivation
    ended it.
    """
    if "staff_user" in g:
        return cast(StaffUser | None, g.staff_user)
    g.staff_user = None
    user_id = session.get(USER)
    if not isinstance(user_id, int):
        return None
    now = _now()
    config = settings()
    signed_in_at = float(session.get(SIGNED_IN_AT, 0))
    seen_at = float(session.get(SEEN_AT, 0))
    if now - signed_in_at > config.staff_session_minutes * 60:
        _end_session("ended")
        return None
    if now - seen_at > config.staff_idle_minutes * 60:
        _end_session("expired")
        return None
    user = core.session_user(session=db(), token=session.get(TOKEN, ""))
    if user is None or user.id != user_id:
        session.clear()
        return None
    # Every signed-in request counts as use: idle time is counted from the last one. (Refreshed
    # only once a minute, a 1-minute idle setting signed out someone busy the whole time.)
    session[SEEN_AT] = now
    g.staff_user = user
    return user


def _end_session(reason: str) -> None:
    accounts.end_session(session=db(), token=session.get(TOKEN, ""))
    session.clear()
    g.staff_session_ended = reason


def department_roles(department_id: int | None) -> frozenset[str]:
    """The signed-in staff member's roles in a department (empty: none, or signed out)."""
    if department_id is None:
        return frozenset()
    return _roles().get(department_id, frozenset())


def _roles() -> dict[int, frozenset[str]]:
    if "staff_roles" not in g:
        user = current_user()
        g.staff_roles = core.roles_by_department(db(), user.id) if user is not None and user.id is not None else {}
    return cast(dict[int, frozenset[str]], g.staff_roles)


def user_department_ids(permission: str | None = None) -> list[int]:
    """The departments the signed-in staff member has a role in (with ``permission``, if given)."""
    return sorted(d for d, roles in _roles().items() if permission is None or core.has_permission(roles, permission))


def can(permission: str, department_id: int | None) -> bool:
    """Whether the signed-in staff member may do this in that department (for showing links)."""
    return core.has_permission(department_roles(department_id), permission)


def is_admin(user: StaffUser | None = None) -> bool:
    """Admin in at least one department (the users page)."""
    if user is None:
        user = current_user()
    if user is None:
        return False
    return bool(user_department_ids(core.MANAGE_USERS))


def require(permission: str, department_id: int | None) -> None:
    """Abort unless the signed-in staff member may do this in the department.

    No role there at all: 404, so nobody learns what other departments have. A role that
    does not allow it: 403.
    """
    roles = department_roles(department_id)
    if not roles:
        abort(404)
    if not core.has_permission(roles, permission):
        abort(403)


def _sign_in_redirect() -> Response:
    reason = g.get("staff_session_ended")
    target = url_for("staff.sign_in", next=_safe_next(request.full_path) or None, status=reason)
    if request.headers.get("HX-Request") == "true":
        # htmx would swap the sign-in page into the middle of the page: load it whole instead.
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return cast(Response, redirect(target, 303))


def login_required(view: F) -> F:
    """Send anyone not signed in to the sign-in page (and back here afterwards)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _sign_in_redirect()
        return view(*args, **kwargs)

    wrapper.staff_login_required = True  # type: ignore[attr-defined]
    return cast(F, wrapper)


def requires(permission: str, department: Callable[..., int | None] | None = None) -> Callable[[F], F]:
    """A view for signed-in staff with ``permission``.

    ``department`` receives the view's keyword arguments and returns the department the
    request is about (None when the thing does not exist): no role there is a 404, a role
    without the permission a 403. Without ``department``, the permission in any department will do
    (e.g. the users page for admins).
    """
    if permission not in core.PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user() is None:
                return _sign_in_redirect()
            if department is None:
                if not user_department_ids(permission):
                    abort(403)
            else:
                require(permission, department(**kwargs))
            return view(*args, **kwargs)

        wrapper.staff_login_required = True  # type: ignore[attr-defined]
        wrapper.staff_permission = permission  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorate


def public(view: F) -> F:
    """Mark a staff view that answers without sign-in (sign-in pages), for the route-table test."""
    view.staff_public = True  # type: ignore[attr-defined]
    return view


# -- helpers ----------------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """A path on this site to return to after signing in; anything else (another site) is dropped."""
    if not target or len(target) > 2000 or any(ord(ch) < 32 for ch in target) or "\\" in target:
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return ""
    target = target.rstrip("?")
    root = request.script_root
    # full_path is relative to the app; a redirect needs the mounted path.
    return target if not root or target.startswith(root + "/") else root + target


def _home() -> str:
    endpoint = current_app.config.get("STAFF_HOME_ENDPOINT")
    return url_for(endpoint) if endpoint else request.script_root + "/"


def _start_session(user: StaffUser, next_path: str = "") -> Response:
    """Signed in: a new session (nothing from before survives), then where they were going."""
    token = accounts.start_session(session=db(), user=user, max_age_minutes=settings().staff_session_minutes)
    return _signed_in(user, token, next_path)


def _signed_in(user: StaffUser, token: str, next_path: str = "") -> Response:
    """The cookie of a session just started (``token``), then where they were going."""
    session.clear()
    now = _now()
    session[USER] = user.id
    session[TOKEN] = token
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now
    return cast(Response, redirect(_safe_next(next_path) or landing(user), 303))


def _pending_user() -> tuple[StaffUser, str] | None:
    """The staff member who gave a right password and still owes the second factor."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or _now() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db().get(StaffUser, pending.get("user"))
    if user is None or not user.active:
        return None
    return user, str(pending.get("next") or "")


def _field(name: str, limit: int) -> str:
    """A posted text field, at most ``limit`` characters (longer is cut: it cannot be right anyway)."""
    return request.form.get(name, "")[:limit]


def _errors_list(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"text": message, "href": f"#{field}"} for field, message in errors.items()]


def _page(template: str, status: int = 200, **context: Any) -> Any:
    errors: dict[str, str] = context.pop("errors", {}) or {}
    return render_page(template, status, errors=_errors_list(errors), field_errors=errors, **context)


# -- sign in ----------------------------------------------------------------------------------------


def _sign_in_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "title": "Sign in",
        "notice": None,
        "next_path": "",
        "providers": settings().oidc_providers,
        "email": "",
        "locked": False,
    }
    context.update(overrides)
    return context


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in() -> Any:
    """Email and password; then the second factor, or setting one up when it is mandatory."""
    signed_in = current_user() if request.method == "GET" else None
    if signed_in is not None:
        return redirect(_safe_next(request.args.get("next")) or landing(signed_in), 303)
    config = settings()
    next_path = _safe_next(request.values.get("next"))
    context = _sign_in_context(notice=NOTICES.get(request.args.get("status", "")), next_path=next_path)
    if request.method == "GET":
        return _page("staff/sign_in.html", **context)
    email = _field("email", 400).strip()
    password = _field("password", core.MAX_PASSWORD + 1)
    context["email"] = email[:320]
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return _page("staff/sign_in.html", 400, errors=errors, **context)
    try:
        user = accounts.sign_in_with_password(
            session=db(),
            email=email,
            password=password,
            max_attempts=config.staff_lockout_attempts,
            lock_minutes=config.staff_lockout_minutes,
        )
    except core.SignInError as exc:
        context["locked"] = exc.locked_until is not None
        return _page("staff/sign_in.html", 400, errors={"email": exc.message}, **context)
    if user.totp_secret or config.staff_require_totp:
        session.clear()
        session[PENDING] = {"user": user.id, "at": _now(), "next": next_path}
        return redirect(url_for("staff.two_factor" if user.totp_secret else "staff.set_up_two_factor"), 303)
    return _start_session(user, next_path)


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
@public
def two_factor() -> Any:
    """The 6-digit code from the staff member's authenticator app."""
    pending = _pending_user()
    if pending is None or not pending[0].totp_secret:
        return redirect(url_for("staff.sign_in"), 303)
    user, next_path = pending
    context: dict[str, Any] = {"title": "Enter the code from your authenticator app"}
    if request.method == "GET":
        return _page("staff/two_factor.html", **context)
    code = _field("code", 20)
    if not code.strip():
        return _page("staff/two_factor.html", 400, errors={"code": "Enter the 6-digit code"}, **context)
    config = settings()
    try:
        accounts.check_second_factor(
            session=db(),
            user=user,
            code=code,
            max_attempts=config.staff_lockout_attempts,
            lock_minutes=config.staff_lockout_minutes,
        )
    except core.SignInError as exc:
        if exc.locked_until is not None:
            session.clear()
            return _page("staff/sign_in.html", 400, errors={"email": exc.message}, **_sign_in_context(locked=True))
        return _page("staff/two_factor.html", 400, errors={"code": exc.message}, **context)
    return _start_session(user, next_path)


@bp.route("/two-factor/set-up", methods=["GET", "POST"])
@public
def set_up_two_factor() -> Any:
    """Set up an authenticator app: when the setting makes it mandatory, or by choice once signed in."""
    user = current_user()
    next_path = ""
    if user is None:
        pending = _pending_user()
        if pending is None:
            return redirect(url_for("staff.sign_in"), 303)
        user, next_path = pending
        if user.totp_secret:
            return redirect(url_for("staff.two_factor"), 303)
    secret = session.get(NEW_SECRET)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = core.new_totp_secret()
        session[NEW_SECRET] = secret
    context: dict[str, Any] = {
        "title": "Set up an authenticator app",
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": core.totp_uri(secret=secret, email=user.email, issuer=settings().organisation_name),
        "mandatory": current_user() is None,
        "replacing": bool(user.totp_secret),
    }
    if request.method == "GET":
        return _page("staff/set_up_two_factor.html", **context)
    code = _field("code", 20)
    try:
        accounts.enrol_second_factor(session=db(), user=user, secret=secret, code=code)
    except core.StaffError as exc:
        return _page("staff/set_up_two_factor.html", 400, errors={exc.field: exc.message}, **context)
    session.pop(NEW_SECRET, None)
    if current_user() is None:
        return _start_session(user, next_path)
    return redirect(_home(), 303)


@bp.route("/sign-out", methods=["GET", "POST"])
@public
def sign_out() -> Any:
    """GET asks (a link can lead here); POST, with its CSRF token, signs out: this session, or
    with ``everywhere`` every session of the staff member (other browsers, the other face)."""
    if request.method == "GET":
        if current_user() is None:
            return redirect(url_for("staff.sign_in"), 303)
        return _page("staff/sign_out.html", title="Sign out")
    user = current_user()
    accounts.sign_out(
        session=db(),
        token=session.get(TOKEN, ""),
        user_id=user.id if user is not None else None,
        everywhere=request.form.get("everywhere") == "yes",
    )
    end_session = current_app.extensions.get(END_SESSION, _end_session_here)
    return end_session(url_for("staff.sign_in", status="signed-out"))


def _end_session_here(signed_out_url: str) -> Response:
    """Signing out of a face without single sign-on: clear the session, then the sign-in page."""
    session.clear()
    return cast(Response, redirect(signed_out_url, 303))


@bp.route("/set-up/<token>", methods=["GET", "POST"])
@public
def set_up(token: str) -> Any:
    """Choose a password through the one-time link an admin (or IT's `civicforms users create`) gave."""
    user = core.setup_token_user(session=db(), token=token)
    if user is None:
        return _page("staff/link_expired.html", 404, title="This link has expired or has already been used")
    context: dict[str, Any] = {"title": "Choose a password", "user": user, "min_length": core.MIN_PASSWORD}
    if request.method == "GET":
        return _page("staff/set_up.html", **context)
    password = _field("password", core.MAX_PASSWORD + 1)
    confirm = _field("confirm", core.MAX_PASSWORD + 1)
    errors: dict[str, str] = {}
    try:
        core.check_password(password, email=user.email, name=user.name)
    except core.StaffError as exc:
        errors["password"] = exc.message
    if not errors and password != confirm:
        errors["confirm"] = "The passwords do not match: type the same password twice"
    if errors:
        return _page("staff/set_up.html", 400, errors=errors, **context)
    try:
        accounts.choose_password(session=db(), token=token, password=password)
    except core.StaffError as exc:
        if exc.field == "token":  # used in another tab a moment ago
            return _page("staff/link_expired.html", 404, title="This link has expired or has already been used")
        return _page("staff/set_up.html", 400, errors={exc.field: exc.message}, **context)
    session.clear()
    return redirect(url_for("staff.sign_in", status="password-set"), 303)

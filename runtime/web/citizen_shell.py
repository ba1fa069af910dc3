"""What the citizen face brings to the shared shell: its error wording, its templates, the
timed-out page for a citizen whose session ended while a form was open, and the abuse limits
(rates per client with Flask-Limiter, the cap on form sessions a client can start).

Only the citizen face is limited this way: the builder and the back office are for staff,
who sign in and are locked out after wrong passwords (runtime/staff.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, redirect, render_template, request, session, url_for
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from limits import RateLimitItem, parse
from limits.errors import ConfigurationError

from .. import abuse
from ..settings import Settings, SettingsError
from .common import SHARED_TEMPLATES, Face, error_page, layout

log = logging.getLogger(__name__)


ERRORS: dict[int, tuple[str, str]] = {
    400: ("There is a problem with the information you sent", "Go back, check your answers and try again."),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. "
        "If you pasted the web address, check you copied the entire address.",
    ),
    405: ("Page not found", "This page cannot be used that way."),
    # A global cap on stored answers (runtime/abuse.py) was reached: nobody is to blame.
    503: (
        "Sorry, the service is unavailable",
        "Too many forms are being filled in at the moment. Try again later. "
        "Answers you have already saved are kept for as long as your session lasts.",
    ),
    413: (
        "The information you sent was too large",
        "Go back and shorten your answers, then try again. Nothing has been saved from the page you sent.",
    ),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. Your answers have been saved for as long as your session lasts.",
    ),
}

CITIZEN_FACE = Face(
    name="citizen",
    # The citizen pages, their layout (layout.html, fragment.html, with the service's name in
    # the navigation) and errors/error.html live in the runtime's own templates folder.
    templates=SHARED_TEMPLATES,
    error_texts=ERRORS,
)


def client_key() -> str:
    """The client a request comes from, for the limits: its address, with X-Forwarded-For
    believed only from the proxies in FORWARDED_ALLOW_IPS (``abuse.client_address``)."""
    trusted = current_app.extensions["civicforms.trusted_proxies"]
    return abuse.client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)


def _retry_after(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))


def too_many_requests(retry_after: int, reason: str) -> Any:
    """The "Too many requests" page (429), with Retry-After in seconds."""
    from flask import make_response

    minutes = max(1, math.ceil(retry_after / 60))
    body = render_template(
        "errors/too_many_requests.html", layout=layout(), minutes=minutes, reason=reason, service=None
    )
    response = make_response(body, 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


class FormsCap:
    """How many form sessions one client may start within the session timeout: counted in the
    rate limiter's storage (memory, or Redis for every process), by starts that made one."""

    def __init__(self, limiter: Limiter, config: Settings):
        self.limiter = limiter
        self.item: RateLimitItem = parse(f"{config.max_forms_per_client} per {config.session_timeout_minutes} minutes")

    def _safely(self, call: Any, default: Any) -> Any:
        try:
            return call()
        except Exception:  # the storage is down: serve citizens rather than refuse them all
            log.warning("rate limit storage unavailable: form sessions per client not counted")
            return default

    def retry_after(self, client: str) -> int | None:
        """None while the client may start another form session; else the seconds to wait."""
        if not self.limiter.enabled:
            return None
        strategy = self.limiter.limiter
        if self._safely(lambda: strategy.test(self.item, "civicforms-forms", client), True):
            return None
        stats = self._safely(lambda: strategy.get_window_stats(self.item, "civicforms-forms", client), None)
        return _retry_after(stats.reset_time) if stats is not None else 60

    def count(self, client: str) -> None:
        if self.limiter.enabled:
            self._safely(lambda: self.limiter.limiter.hit(self.item, "civicforms-forms", client), None)


def forms_cap() -> FormsCap:
    return current_app.extensions["civicforms.forms_cap"]  # type: ignore[no-any-return]


def _init_limits(app: Flask) -> None:
    config: Settings = app.extensions["civicforms.settings"]
    app.extensions["civicforms.trusted_proxies"] = abuse.trusted_networks(config.forwarded_allow_ips)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limits: list[str | Callable[[], str] | ApplicationLimit] = []
    if config.rate_limit_starts != "off":
        # Starting a journey ("Start now"): each start may make a form session.
        limits.append(
            ApplicationLimit(
                config.rate_limit_starts,
                scope="starts",
                exempt_when=lambda: request.method != "POST" or request.endpoint != "citizen.begin",
            )
        )
    if config.rate_limit_posts != "off":
        # Every POST of the citizen face (answers, check answers, starts, a case's replies)
        # counts against one budget per client.
        limits.append(
            ApplicationLimit(config.rate_limit_posts, scope="posts", exempt_when=lambda: request.method != "POST")
        )
    try:
        limiter = Limiter(
            client_key,
            app=app,
            storage_uri=config.rate_limit_storage,
            # Counts from the last window weigh in as it slides: no burst of twice the limit at a
            # window's edge (fixed windows), no timestamp kept per request (moving windows).
            strategy="sliding-window-counter",
            application_limits=limits,
            # Redis down: count in this process's memory meanwhile, and never answer a 500.
            swallow_errors=True,
            in_memory_fallback_enabled=config.rate_limit_storage != "memory://",
            key_prefix="civicforms",
        )
    except ConfigurationError as exc:  # redis:// without the redis package: say so at start
        raise SettingsError(f"CIVICFORMS_RATE_LIMIT_STORAGE: {exc}") from exc
    app.extensions["civicforms.limiter"] = limiter

    @limiter.request_filter
    def _nothing_to_count() -> bool:
        # Every limit counts POSTs only: a page read (or any request, with both rates off) skips
        # Flask-Limiter's per-request work of resolving the limits that would all exempt it.
        return not limits or request.method != "POST"

    app.extensions["civicforms.forms_cap"] = FormsCap(limiter, config)
    app.extensions["civicforms.unsent_answers"] = abuse.UnsentAnswersGauge()

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(error: RateLimitExceeded) -> Any:
        current = limiter.current_limit
        retry_after = _retry_after(current.reset_at) if current is not None else 60
        return too_many_requests(retry_after, "requests")


def init_app(app: Flask) -> None:
    """The abuse limits, and the timed-out page instead of a CSRF error for a citizen whose
    session has gone."""
    _init_limits(app)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        service_id = (request.view_args or {}).get("service_id")
        expired = service_id and request.endpoint != "citizen.begin" and "csrf_token" not in session
        if expired and "citizen.session_expired" in app.view_functions:
            # The session cookie is gone (it lasts as long as the citizen's answers): the
            # citizen needs the timed-out page, not a message about refreshing the form.
            return redirect(url_for("citizen.session_expired", service_id=service_id), 303)
        return error_page(*CITIZEN_FACE.csrf_error, status=400)

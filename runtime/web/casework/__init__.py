"""The back office: caseworkers and their managers decide cases (docs/workflow-design.md, part 3).

``create_casework_app`` builds it on the shared shell (runtime.web.common) with its own
templates, layout and error wording. Staff sign in through the shared staff blueprint, with
the builder's session cookie (``civicforms_staff``, written at ``/casework`` and
``/builder``): signing in on either face is signing in on both (runtime.web.staff). It is
served under ``/casework``: by ``civicforms serve`` (civicforms/dev.py mounts it) and by
``runtime.casework_wsgi`` in production.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, url_for
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.utils import redirect
from werkzeug.wrappers import Request

from .. import sso, staff
from ..common import DIST, SHARED_TEMPLATES, Face, create_base_app
from .navigation import HOME, navigation

PREFIX = "/casework"
PAGE_SIZE = 50

ERRORS: dict[int, tuple[str, str]] = {
    400: ("There is a problem with what you sent", "Go back, check what you entered and try again."),
    403: (
        "You do not have permission to do this",
        "Your role in this department does not allow it. Ask a manager or an admin in your department if you need it.",
    ),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted the web address, check you copied the "
        "entire address. You can only see the cases of the departments you work in.",
    ),
    405: ("Page not found", "This page cannot be used that way."),
    409: (
        "Someone else changed this case",
        "Someone else changed this case while you were looking at it. Nothing has been changed: open the case again.",
    ),
    413: (
        "What you sent was too large",
        "Go back and shorten what you entered, then try again. Nothing from the page you sent has been saved.",
    ),
    500: (
        "Sorry, there is a problem with the casework service",
        "Try again later. Decisions you took before this are kept; the one you were taking may not have been saved.",
    ),
}

CASEWORK_FACE = Face(
    name="casework",
    templates=SHARED_TEMPLATES,
    error_texts=ERRORS,
    csrf_error=(
        "Your page could not be sent",
        "This can happen if you left the page open for a long time, signed out in another tab or your browser "
        "blocked cookies. Nothing has been changed. Go back, refresh the page and try again.",
    ),
    layout="casework/layout.html",
    fragment="casework/fragment.html",
    error_template="casework/errors/error.html",
)


def create_casework_app(config: dict[str, Any] | None = None) -> Flask:
    """The back office, deployable on its own (``gunicorn runtime.casework_wsgi:app``)."""
    from . import email_settings, erasure, escalation, files, inbox, privacy, records, reports, views  # noqa: F401 (inbox: views.bp)

    app = create_base_app(__name__, CASEWORK_FACE, config)
    app.config.setdefault("CASEWORK_PAGE_SIZE", PAGE_SIZE)
    app.config.update(
        # Served under /casework: url_for outside a request and the test client agree with the
        # mounted app. The staff cookie is the builder's too (one sign-in), never sent to the
        # citizen pages.
        APPLICATION_ROOT=PREFIX,
        **staff.shared_cookie_config(PREFIX),
        STAFF_HOME_ENDPOINT=HOME,
    )
    app.session_interface = staff.StaffSessionInterface()
    app.register_blueprint(staff.bp)
    app.register_blueprint(sso.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.outbox_bp)
    app.register_blueprint(escalation.bp)  # issue 17, part D
    app.register_blueprint(email_settings.bp)  # issue 17, part D
    app.register_blueprint(records.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(erasure.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(files.bp)  # issue 18, part F: a case's files
    app.add_template_filter(when, "when")
    app.add_template_filter(day, "day")

    @app.context_processor
    def _staff_navigation() -> dict[str, Any]:
        return {"homepage_url": url_for(HOME), "staff_navigation": navigation()}

    return app


def when(moment: datetime | None) -> str:
    """'1 December 2026 at 09:00' (UTC, as stored)."""
    return "" if moment is None else moment.strftime("%-d %B %Y at %H:%M")


def day(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%-d %B %Y")


def mounted(app: Flask) -> DispatcherMiddleware:
    """The back office under /casework, for running it alone: GOV.UK Frontend's fonts and
    images at /assets/, and a redirect to /casework/ for the root."""

    @Request.application
    def outside(request: Request) -> Any:
        if request.path.rstrip("/") == "":
            return redirect(PREFIX + "/", 303)
        return NotFound()

    root = SharedDataMiddleware(outside, {"/assets": str(DIST / "assets")})
    return DispatcherMiddleware(root, {PREFIX: app})

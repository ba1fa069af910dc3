"""The builder's web face: staff design, preview and publish services in the browser.

``create_builder_app`` builds it on the shared shell (runtime.web.common) with the builder's
own templates, layout, error wording and session cookie. It is served under ``/builder``: by
``civicforms serve`` (civicforms/dev.py mounts it) and by ``builder.wsgi`` in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, url_for
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.utils import redirect
from werkzeug.wrappers import Request

from runtime.services import uploading
from runtime.web import sso, staff
from runtime.web.common import DIST, Face, create_base_app
from runtime.web.upload_pages import UploadRequest

from .navigation import HOME, PREFIX, navigation

TEMPLATES = Path(__file__).parent / "templates"

ERRORS: dict[int, tuple[str, str]] = {
    400: ("There is a problem with what you sent", "Go back, check what you entered and try again."),
    403: (
        "You do not have permission to do this",
        "Your role in this department does not allow it. Ask an admin in your department if you need it.",
    ),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted the web address, check you "
        "copied the entire address. You can only see the services of the departments you belong to.",
    ),
    405: ("Page not found", "This page cannot be used that way."),
    413: (
        "What you sent was too large",
        "Go back and shorten what you entered, then try again. Nothing from the page you sent has been saved.",
    ),
    500: (
        "Sorry, there is a problem with the builder",
        "Try again later. Changes you saved before this are kept; the change you were making may not have been saved.",
    ),
}

BUILDER_FACE = Face(
    name="builder",
    templates=TEMPLATES,
    error_texts=ERRORS,
    csrf_error=(
        "Your page could not be sent",
        "This can happen if you left the page open for a long time, signed out in another tab or your browser "
        "blocked cookies. Go back, refresh the page and try again.",
    ),
    layout="builder/layout.html",
    fragment="builder/fragment.html",
    error_template="builder/errors/error.html",
)


# The staff session cookie, shared with the back office (runtime.web.staff: one sign-in for both).
StaffSessionInterface = staff.StaffSessionInterface


def create_builder_app(config: dict[str, Any] | None = None) -> Flask:
    """The builder face, deployable on its own (``gunicorn builder.wsgi:app``)."""
    from .views import admin, pages, publish, services, try_it, workflow

    app = create_base_app(__name__, BUILDER_FACE, config)
    app.config.update(
        # Served under /builder, so url_for outside a request and the test client agree with
        # the mounted app. The staff cookie is the back office's too (one sign-in), written at
        # /builder and /casework, never sent to the citizen pages.
        APPLICATION_ROOT=PREFIX,
        **staff.shared_cookie_config(PREFIX),
        STAFF_HOME_ENDPOINT=HOME,
    )
    app.session_interface = StaffSessionInterface()
    # "Try it" takes files as a citizen's pages do: streamed into quarantine, checked, scanned.
    app.request_class = UploadRequest
    app.extensions["civicforms.uploads"] = uploading.uploads_for(app.extensions["civicforms.settings"])
    app.register_blueprint(staff.bp)
    app.register_blueprint(sso.bp)
    app.register_blueprint(services.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(publish.bp)
    app.register_blueprint(try_it.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(workflow.bp)

    @app.context_processor
    def _staff_navigation() -> dict[str, Any]:
        return {"homepage_url": url_for(HOME), "staff_navigation": navigation()}

    return app


def mounted(app: Flask) -> DispatcherMiddleware:
    """The builder under /builder, as the development server serves it, for running it alone.

    Outside /builder: GOV.UK Frontend's fonts and images at /assets/ (the stylesheets name
    that path), and a redirect to the builder for everything else.
    """

    @Request.application
    def outside(request: Request) -> Any:
        if request.path.rstrip("/") == "":
            return redirect(PREFIX + "/", 303)
        return NotFound()

    root = SharedDataMiddleware(outside, {"/assets": str(DIST / "assets")})
    return DispatcherMiddleware(root, {PREFIX: app})

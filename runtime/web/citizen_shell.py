"""What the citizen face brings to the shared shell: its error wording, its templates, and the
timed-out page for a citizen whose session ended while a form was open."""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError

from .common import SHARED_TEMPLATES, Face, error_page

ERRORS: dict[int, tuple[str, str]] = {
    400: ("There is a problem with the information you sent", "Go back, check your answers and try again."),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. "
        "If you pasted the web address, check you copied the entire address.",
    ),
    405: ("Page not found", "This page cannot be used that way."),
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


def init_app(app: Flask) -> None:
    """Send a citizen whose session has gone to the timed-out page instead of a CSRF error."""

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        service_id = (request.view_args or {}).get("service_id")
        expired = service_id and request.endpoint != "citizen.begin" and "csrf_token" not in session
        if expired and "citizen.session_expired" in app.view_functions:
            # The session cookie is gone (it lasts as long as the citizen's answers): the
            # citizen needs the timed-out page, not a message about refreshing the form.
            return redirect(url_for("citizen.session_expired", service_id=service_id), 303)
        return error_page(*CITIZEN_FACE.csrf_error, status=400)

"""Where the builder is served and its service navigation: what the face's package
(``create_builder_app``) and its views both need, in a module of their own so that no view
imports the package that imports it."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from runtime.web import staff

PREFIX = "/builder"
SERVICE_NAME = "Civic Forms builder"
# The builder's start page (where signing in leads) and the admins' users page.
HOME = "services.list_services"
USERS = "admin.list_users"


def navigation() -> dict[str, Any]:
    """The builder's service navigation for this request: what the signed-in staff member may open."""
    user = staff.current_user()
    items: list[dict[str, Any]] = []
    if user is not None:
        items.append({"text": "Services", "href": url_for(HOME), "active": request.blueprint == "services"})
        if USERS in current_app.view_functions and staff.is_admin(user):
            items.append({"text": "Users", "href": url_for(USERS), "active": request.blueprint == "admin"})
        # One sign-in: someone who also works in the back office moves there from here.
        items.extend({**face, "active": False} for face in staff.other_faces())
    return {
        "service_name": SERVICE_NAME,
        "items": items,
        "sign_out_url": url_for("staff.sign_out") if user is not None else None,
    }

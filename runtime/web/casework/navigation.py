"""The back office's service navigation and the outbox switch: what the face's package
(``create_casework_app``) and its views both need, in a module of their own so that the views
never import the package that imports them."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from .. import staff
from ..common import settings

SERVICE_NAME = "Casework"
HOME = "cases.inbox"
OUTBOX = "outbox.list_messages"


def outbox_shown() -> bool:
    """The outbox page exists in development and test only: elsewhere it is a 404."""
    return settings().environment in ("development", "test")


def navigation() -> dict[str, Any]:
    """The back office's service navigation for this request."""
    user = staff.current_user()
    items: list[dict[str, Any]] = []
    if user is not None:
        items.append({"text": "Cases", "href": url_for(HOME), "active": request.blueprint == "cases"})
        if outbox_shown() and OUTBOX in current_app.view_functions:
            items.append({"text": "Outbox", "href": url_for(OUTBOX), "active": request.blueprint == "outbox"})
    return {
        "service_name": SERVICE_NAME,
        "items": items,
        "sign_out_url": url_for("staff.sign_out") if user is not None else None,
    }

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
# Each shown to those whose role grants it, once its view exists.
SECTIONS = (
    ("Citizens", "records.search", "records", staff.core.VIEW_RECORDS),
    ("Possible matches", "records.queue", "records", staff.core.REVIEW_RECORDS),
    ("Data protection", "privacy.home", "privacy", None),
    ("Reports", "reports.home", "reports", staff.core.VIEW_REPORTS),
    ("Email settings", "email_settings.edit", "email_settings", staff.core.WORK_CASES),
)


def outbox_shown() -> bool:
    """The outbox page exists in development and test only: elsewhere it is a 404."""
    return settings().environment in ("development", "test")


def navigation() -> dict[str, Any]:
    """The back office's service navigation for this request."""
    user = staff.current_user()
    items: list[dict[str, Any]] = []
    if user is not None:
        if staff.user_department_ids(staff.core.WORK_CASES):
            items.append({"text": "Cases", "href": url_for(HOME), "active": request.blueprint == "cases"})
        for text, endpoint, blueprint, permission in SECTIONS:
            allowed = (
                staff.user_department_ids(permission)
                if permission
                else staff.user_department_ids(staff.core.DATA_PROTECTION)
                or staff.user_department_ids(staff.core.SHARING_AGREEMENTS)
            )
            if allowed and endpoint in current_app.view_functions:
                # The queue's pages are its own item; every other records page is "Citizens".
                in_queue = request.endpoint in (
                    "records.queue",
                    "records.pair",
                    "records.decide",
                    "records.undo_decision",
                )
                active = request.blueprint == blueprint and (endpoint == "records.queue") == in_queue
                items.append({"text": text, "href": url_for(endpoint), "active": active})
        if outbox_shown() and OUTBOX in current_app.view_functions:
            items.append({"text": "Outbox", "href": url_for(OUTBOX), "active": request.blueprint == "outbox"})
        # One sign-in: someone who also works in the builder moves there from here.
        items.extend({**face, "active": False} for face in staff.other_faces())
    return {
        "service_name": SERVICE_NAME,
        "items": items,
        "sign_out_url": url_for("staff.sign_out") if user is not None else None,
    }

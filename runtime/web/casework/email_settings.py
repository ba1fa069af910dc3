"""A member of staff's email settings (issue 17, part D): each message about their cases as it
happens, or one summary a day (runtime.outbox.send_digests writes it)."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, flash, redirect, request, url_for

from ...services import chasing
from ...staff import WORK_CASES
from ..common import db, render_page
from ..staff import requires
from .views import _me, _text

bp = Blueprint("email_settings", __name__)

FIELD = "notify"
CHOICES = ("each", "daily")
REFUSED = "Choose how you want to get emails about cases"


def _page(status: int = 200, chosen: str | None = None, error: str | None = None) -> Any:
    me = _me()
    return render_page(
        "casework/email_settings.html",
        status,
        title="Your email settings",
        chosen=chosen or me.notify,
        error=error,
        errors=[{"text": error, "href": f"#{FIELD}"}] if error else [],
    )


@bp.get("/email-settings")
@requires(WORK_CASES)
def edit() -> Any:
    return _page()


@bp.post("/email-settings")
@requires(WORK_CASES)
def save() -> Any:
    choice = _text(request.form, FIELD, 20)
    if choice not in CHOICES:
        return _page(400, None, REFUSED)
    try:
        chasing.set_notify(session=db(), actor=cast(int, _me().id), notify=choice)
    except ValueError as exc:
        return _page(400, None, str(exc))
    flash(
        "You will get one email a day with a summary of your messages"
        if choice == "daily"
        else "You will get each email as it happens"
    )
    return redirect(url_for("email_settings.edit"), 303)

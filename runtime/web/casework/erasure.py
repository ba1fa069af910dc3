"""Subject access reports and erasure on request, for the data protection officer (docs/citizen-records.md).

Thin views over runtime.services.retention: ``erasure.erase`` shows what erasing a person's
record would erase and what a legal hold keeps (with the hold's reason), and erases on a POST
with a reason; ``erasure.subject_access`` makes the report, as a page to read or print or as a
JSON file, each time logged. Both need DATA_PROTECTION (organisation-wide: a person's record spans
departments). Looking a record up here is a view of it, and is in the access log.
"""

from __future__ import annotations

import tempfile
from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, send_file, url_for
from markupsafe import Markup

from ... import subject_access as report_layout
from ...data import access
from ...erasure_reads import ErasurePlan
from ...models import utcnow
from ...services import case_files
from ...services import retention as privacy
from ...services.access import record_access
from ...staff import DATA_PROTECTION
from ..common import db, render_page
from ..staff import current_user, requires, user_department_ids
from .files import uploads

bp = Blueprint("erasure", __name__, url_prefix="/data-protection")

MAX_POST = 2_000  # what a field keeps of a post (the limits are the use case's)


def _field(name: str, source: Any = None) -> str:
    value = (source if source is not None else request.form).get(name, "")
    return value[:MAX_POST] if isinstance(value, str) else ""


def _me() -> tuple[int, int | None]:
    """The member of staff and the department they act for (their first with the permission)."""
    user = current_user()
    assert user is not None and user.id is not None
    departments = user_department_ids(DATA_PROTECTION)
    return user.id, (departments[0] if departments else None)


def _plan(key: str) -> tuple[ErasurePlan | None, dict[str, str]]:
    """The record a key names and what erasing it would do, logged as a view of the record."""
    if not key:
        return None, {}
    session = db()
    try:
        plan = privacy.erasure_plan(session=session, key=key)
    except privacy.PrivacyError as exc:
        return None, {"key": exc.message}
    staff_id, department_id = _me()
    record_access(
        session=session,
        staff_id=staff_id,
        action=access.VIEW_RECORD,
        citizen_id=plan.citizen.id,
        department_id=department_id,
        detail={"page": request.endpoint},
    )
    return plan, {}


def _error_list(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"text": message, "href": f"#{name}"} for name, message in errors.items()]


@bp.route("/erasure", methods=["GET", "POST"])
@requires(DATA_PROTECTION)
def erase() -> Any:
    """Find a person's record, see what erasing it would do, and erase it (with a reason)."""
    errors: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        key, reason = _field("key").strip(), _field("reason")
        staff_id, department_id = _me()
        try:
            result = privacy.erase_record(
                session=db(),
                key=key,
                reason=reason,
                actor_id=staff_id,
                department_id=department_id,
                files=uploads(),
            )
        except privacy.PrivacyError as exc:
            errors = {exc.field: exc.message}
        else:
            done = len(result.erased_references)
            message = (
                f"Personal data erased from {done} form{'s' if done != 1 else ''} and case{'s' if done != 1 else ''}"
            )
            if result.erased.files:
                message += f" ({result.erased.files} file{'s' if result.erased.files != 1 else ''} deleted)"
            if result.held:
                kept = ", ".join(f"{h.reference} ({h.reason})" for h in result.held)
                message += f". Kept under a legal hold: {kept}"
            elif result.erased.records:
                message += ", and the citizen record"
            flash(message)
            return redirect(url_for("erasure.erase", key=str(result.citizen_id)), 303)
    else:
        key = _field("key", request.args).strip()
    plan, found = _plan(key) if "key" not in errors else (None, {})
    errors = errors or found
    return render_page(
        "casework/erasure/erase.html",
        400 if errors and request.method == "POST" else 200,
        title="Erase a person's data",
        key=key,
        reason=reason,
        plan=plan,
        errors=_error_list(errors),
        error=errors,
    )


@bp.route("/subject-access", methods=["GET", "POST"])
@requires(DATA_PROTECTION)
def subject_access() -> Any:
    """Find a person's record and create their subject access report: a page, a JSON file, or a
    ZIP file holding the report and the files the person sent."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        key = _field("key").strip()
        chosen = _field("format")
        output = chosen if chosen in ("json", "zip") else "html"
        staff_id, department_id = _me()
        try:
            data = privacy.subject_access(
                session=db(), key=key, actor_id=staff_id, department_id=department_id, output=output
            )
        except privacy.PrivacyError as exc:
            errors = {exc.field: exc.message}
        else:
            report = report_layout.build(data, made_at=utcnow())
            if output == "zip":
                # The report and the files themselves; spooled to disk past 16 MB, sent a piece at a time.
                bundle = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
                report_layout.write_bundle(report, case_files.report_files(data, report, uploads().storage), bundle)
                bundle.seek(0)
                name = f"subject-access-record-{report['record']['number']}-{date.today().isoformat()}.zip"
                return send_file(
                    bundle,
                    mimetype="application/zip",
                    as_attachment=True,
                    download_name=name,
                    conditional=False,
                    etag=False,
                    max_age=0,
                )
            if output == "json":
                name = f"subject-access-record-{report['record']['number']}-{date.today().isoformat()}.json"
                return Response(
                    report_layout.as_json(report),
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
                )
            page, status = render_page(
                "casework/erasure/report.html",
                title=report["title"],
                report=report,
                body=Markup(report_layout.html_body(report)),  # noqa: S704  (every value escaped by html_body)
                key=key,
            )
            page.headers["Cache-Control"] = "no-store"
            return page, status
    key = _field("key", request.args if request.method == "GET" else request.form).strip()
    plan, found = _plan(key) if not errors else (None, {})
    errors = errors or found
    return render_page(
        "casework/erasure/subject_access.html",
        400 if errors and request.method == "POST" else 200,
        title="Subject access report",
        key=key,
        plan=plan,
        errors=_error_list(errors),
        error=errors,
    )

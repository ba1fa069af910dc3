"""Data protection in the back office: sharing agreements between departments and the access log.

Thin views: the permission check (SHARING_AGREEMENTS in a department for agreements;
DATA_PROTECTION, organisation-wide, for the access log), the form read and checked for shape,
a use case of runtime.services.sharing (which checks the rest and owns the transaction) or a
read of runtime.data.access or runtime.data.sharing, then a redirect (303) or the page again with the reasons.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, cast

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, stream_with_context, url_for

from ... import case_reads
from ...data import access
from ...data import sharing as sharing_data
from ...models import LAWFUL_BASES, SharingAgreement, StaffUser
from ...references import normalise_reference
from ...services import sharing
from ...services.access import record_access
from ...staff import DATA_PROTECTION, SHARING_AGREEMENTS
from ..common import db, render_page
from ..staff import current_user, requires, user_department_ids

bp = Blueprint("privacy", __name__, url_prefix="/data-protection")

# UK GDPR Article 6(1), in plain words.
LAWFUL_BASIS_WORDS = {
    "consent": ("Consent", "The person has given clear consent for this sharing (Article 6(1)(a))."),
    "contract": ("Contract", "Sharing is needed for a contract with the person (Article 6(1)(b))."),
    "legal_obligation": ("Legal obligation", "Sharing is needed to comply with the law (Article 6(1)(c))."),
    "vital_interests": ("Vital interests", "Sharing is needed to protect someone's life (Article 6(1)(d))."),
    "public_task": (
        "Public task",
        "Sharing is needed to perform a task in the public interest or an official function set out in law "
        "(Article 6(1)(e)).",
    ),
    "legitimate_interests": (
        "Legitimate interests",
        "Sharing is needed for legitimate interests, balanced against the person's rights (Article 6(1)(f)). "
        "Public authorities cannot use this for their public tasks.",
    ),
}
assert set(LAWFUL_BASIS_WORDS) == set(LAWFUL_BASES)
MAX_FIELD = 100
RECORD_PAGE = "records.show"  # a citizen record's page (runtime.web.casework.records), by citizen_id
MAX_PURPOSE_POST = 20_000  # what the page keeps of a post to show again (the rule is services.sharing's)


def _me() -> StaffUser:
    user = current_user()
    assert user is not None and user.id is not None
    return user


def _text(form: Mapping[str, Any], name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _int(text: str) -> int | None:
    text = text.strip()
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit() or int(text) >= 2**31:
        return None
    return int(text)


def _date(form: Mapping[str, Any], name: str) -> tuple[date | None, dict[str, str]]:
    """A GOV.UK date input's three fields: the date (None if not a real one) and what was typed."""
    typed = {part: _text(form, f"{name}-{part}", 10).strip() for part in ("day", "month", "year")}
    numbers = [_int(typed[p]) if len(typed[p]) <= 4 else None for p in ("year", "month", "day")]
    if any(n is None for n in numbers):
        return None, typed
    try:
        return date(*cast(list[int], numbers)), typed
    except ValueError:
        return None, typed


def _errors(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"text": message, "href": f"#{_anchor(field)}"} for field, message in errors.items()]


def _anchor(field: str) -> str:
    """Where the error summary's link goes: a date's first box, a list's first item."""
    if field in (sharing.STARTS, sharing.ENDS):
        return f"{field}-day"
    if field == sharing.LAWFUL_BASIS:
        return "lawful_basis"
    return field


# -- the landing page ------------------------------------------------------------------------------


@bp.get("")
@requires(SHARING_AGREEMENTS)
def home() -> Any:
    """What this member of staff may do here: sharing agreements, and the access log for the DPO."""
    return render_page(
        "casework/privacy/home.html",
        title="Data protection",
        access_log=bool(user_department_ids(DATA_PROTECTION)),
    )


# -- sharing agreements ----------------------------------------------------------------------------


def _visible_agreements() -> list[int] | None:
    """The departments whose agreements this member sees (None: all, for the data protection officer)."""
    return None if user_department_ids(DATA_PROTECTION) else user_department_ids(SHARING_AGREEMENTS)


@bp.get("/sharing-agreements")
@requires(SHARING_AGREEMENTS)
def agreements() -> Any:
    """The sharing agreements to and from the member's departments, newest first."""
    mine = set(user_department_ids(SHARING_AGREEMENTS))
    return render_page(
        "casework/privacy/agreements.html",
        title="Sharing agreements",
        rows=sharing_data.agreement_rows(db(), department_ids=_visible_agreements()),
        today=date.today(),
        may_end=mine,
        bases={k: v[0] for k, v in LAWFUL_BASIS_WORDS.items()},
    )


def _agreement_page(status: int = 200, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None) -> Any:
    mine = sharing.may_share_from(db(), actor=cast(int, _me().id))
    departments = sharing_data.departments(db())
    names = {d.id: d.name for d in departments}
    return render_page(
        "casework/privacy/new_agreement.html",
        status,
        title="Record a sharing agreement",
        from_departments=[(d, names.get(d, "")) for d in mine],
        departments=departments,
        services=sharing_data.services_by_department(db(), mine),
        bases=LAWFUL_BASIS_WORDS,
        max_purpose=sharing.MAX_PURPOSE,
        form=form or {"starts_on": {}, "ends_on": {}, "services": []},
        errors=_errors(errors or {}),
        field_errors=errors or {},
    )


@bp.route("/sharing-agreements/new", methods=["GET", "POST"])
@requires(SHARING_AGREEMENTS)
def new_agreement() -> Any:
    """Record a sharing agreement: from a department where the member may share its data."""
    if request.method == "GET":
        return _agreement_page()
    f = request.form
    starts_on, starts_typed = _date(f, sharing.STARTS)
    ends_on, ends_typed = _date(f, sharing.ENDS)
    from_department = _int(_text(f, sharing.FROM, 20))
    services = [s[:60] for s in f.getlist(f"{sharing.SERVICES}")[:500] if isinstance(s, str)]
    to_department = _int(_text(f, sharing.TO, 20))
    purpose = _text(f, sharing.PURPOSE, MAX_PURPOSE_POST)
    lawful_basis = _text(f, sharing.LAWFUL_BASIS, 40)
    form_values: dict[str, Any] = {
        "from_department": from_department,
        "to_department": to_department,
        "services": services,
        "purpose": purpose,
        "lawful_basis": lawful_basis,
        "starts_on": starts_typed,
        "ends_on": ends_typed,
    }
    form = sharing.AgreementForm(
        from_department_id=from_department,
        to_department_id=to_department,
        service_ids=services,
        purpose=purpose,
        lawful_basis=lawful_basis,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    errors = sharing.check(db(), actor=cast(int, _me().id), form=form, today=date.today())
    if errors:
        return _agreement_page(400, errors, form_values)
    try:
        agreement = sharing.record_agreement(session=db(), actor=cast(int, _me().id), form=form)
    except sharing.Refused as exc:
        return _agreement_page(400, {exc.field: exc.message}, form_values)
    flash(f"Sharing agreement {agreement.id} is recorded")
    return redirect(url_for("privacy.agreements"), 303)


def _agreement(agreement_id: int) -> SharingAgreement:
    found = db().get(SharingAgreement, agreement_id)
    if found is None or found.from_department_id not in user_department_ids(SHARING_AGREEMENTS):
        abort(404)
    return found


@bp.route("/sharing-agreements/<int:agreement_id>/end", methods=["GET", "POST"])
@requires(SHARING_AGREEMENTS)
def end_agreement(agreement_id: int) -> Any:
    """End an agreement from now on, after a confirmation page."""
    agreement = _agreement(agreement_id)
    [row] = [r for r in sharing_data.agreement_rows(db(), department_ids=None) if r.agreement.id == agreement_id]
    if request.method == "GET" or request.form.get("confirm") != "yes":
        if agreement.ended_at is not None:
            flash("This agreement has already been ended")
            return redirect(url_for("privacy.agreements"), 303)
        status = 200 if request.method == "GET" else 400
        errors = {} if request.method == "GET" else {"confirm": "Select yes to end the agreement"}
        return render_page(
            "casework/privacy/end_agreement.html",
            status,
            title="End a sharing agreement",
            row=row,
            errors=_errors(errors),
            field_errors=errors,
        )
    try:
        sharing.end_agreement(session=db(), actor=cast(int, _me().id), agreement_id=agreement_id)
    except sharing.NotFound:
        abort(404)
    except sharing.Refused as exc:
        flash(exc.message)
        return redirect(url_for("privacy.agreements"), 303)
    flash(f"Sharing agreement {agreement_id} has ended: {row.to_name} no longer sees {row.from_name}'s cases under it")
    return redirect(url_for("privacy.agreements"), 303)


# -- the access log -------------------------------------------------------------------------------


def _access_filters(args: Mapping[str, Any]) -> tuple[access.AccessFilters, dict[str, Any], dict[str, str]]:
    """The access log's GET form: the filters, what to show back in the form, and the problems."""
    errors: dict[str, str] = {}
    shown: dict[str, Any] = {
        "staff": _text(args, "staff", 20),
        "record": _text(args, "record", 20).strip(),
        "case": _text(args, "case", 40).strip(),
        "action": _text(args, "action", 40),
    }
    staff_id = _int(shown["staff"]) if shown["staff"] else None
    citizen_id = _int(shown["record"]) if shown["record"] else None
    if shown["record"] and citizen_id is None:
        errors["record"] = "Enter a record number, like 1234"
    nothing = False
    case_id = None
    if shown["case"]:
        key = shown["case"]
        found = case_reads.case_for_reference(db(), normalise_reference(key)) if key.isprintable() else None
        if found is None:
            nothing = True
        else:
            case_id = found.id
    action = shown["action"] if shown["action"] in access.ACTION_WORDS else None
    since, shown["since"] = _date(args, "since")
    until, shown["until"] = _date(args, "until")
    for name, when in (("since", since), ("until", until)):
        typed = shown[name]
        if any(typed.values()) and (when is None or when.year < 2000 or when.year > 9998):
            errors[name] = "Enter a real date, for example 1 12 2026"
    if since and until and until < since and not errors:
        errors["until"] = "The end of the period must be on or after its start"
    filters = access.AccessFilters(
        staff_id=staff_id,
        citizen_id=citizen_id,
        case_id=case_id,
        action=action,
        since=since if "since" not in errors else None,
        until=until if "until" not in errors else None,
        nothing=nothing or bool(errors),
    )
    return filters, shown, errors


def _query_args(shown: dict[str, Any]) -> dict[str, str]:
    out = {k: v for k, v in shown.items() if isinstance(v, str) and v}
    for name in ("since", "until"):
        for part, value in (shown.get(name) or {}).items():
            if value:
                out[f"{name}-{part}"] = value
    return out


@bp.get("/access-log")
@requires(DATA_PROTECTION)
def access_log() -> Any:
    """Who viewed, searched or exported what, newest first, with filters and CSV export."""
    filters, shown, errors = _access_filters(request.args)
    before = _int(_text(request.args, "before", 20))
    found = access.search(db(), filters=filters, before=before)
    args: dict[str, Any] = _query_args(shown)
    return render_page(
        "casework/privacy/access_log.html",
        400 if errors else 200,
        title="Access log",
        rows=found.rows,
        shown=shown,
        staff=access.staff_choices(db()),
        actions=access.ACTION_WORDS,
        next_url=url_for("privacy.access_log", **args, before=found.before) if found.before else None,
        first_url=url_for("privacy.access_log", **args) if before else None,
        csv_url=url_for("privacy.access_log_csv", **args),
        record_endpoint=RECORD_PAGE if RECORD_PAGE in current_app.view_functions else None,
        errors=_errors(errors),
        field_errors=errors,
    )


CSV_COLUMNS = ["When (UTC)", "Member of staff", "Staff id", "Department", "Action", "Record number", "Case"]


def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (csv_download writes every cell
    of every CSV export of the back office through this)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_download(rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """Rows (the header first) as a streamed CSV attachment, every cell through csv_cell, never
    cached: the one way the back office sends a spreadsheet (the access log, the inbox, reports)."""

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        for row in rows:
            writer.writerow([csv_cell(value) for value in row])
            if out.tell() > 64_000:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/access-log.csv")
@requires(DATA_PROTECTION)
def access_log_csv() -> Any:
    """The access log's search as CSV, streamed; the export itself is logged."""
    filters, shown, errors = _access_filters(request.args)
    if errors:
        abort(400)
    record_access(
        session=db(),
        staff_id=cast(int, _me().id),
        action=access.EXPORT,
        detail={"export": "access-log", "filters": sorted(k for k, v in _query_args(shown).items() if v)},
    )

    def rows() -> Iterator[Sequence[Any]]:
        yield CSV_COLUMNS
        for row in access.search_all(db(), filters=filters):
            yield (
                row.at.strftime("%Y-%m-%d %H:%M:%S"),
                row.staff_name,
                row.staff_id,
                row.department_name,
                row.action_words,
                row.citizen_id,
                row.case_reference,
            )

    return csv_download(rows(), f"access-log-{date.today().isoformat()}.csv")

"""Reports a casework manager is asked for, and the audit of every action on the department's cases.

Blueprint ``reports`` (VIEW_REPORTS: managers and admins), over the departments where the signed-in
member of staff has that permission:

- ``/reports``: open cases by step (and how many are overdue), time to decision (median and 90th
  percentile), decisions per member of staff and per week; each as an SVG bar chart (drawn here,
  readable without JavaScript; ``role="img"`` with a title and a description) followed by the same
  figures as a table, and as CSV (``/reports/<part>.csv``). Filters: service and period.
- ``/audit``: every action on the cases, newest first, by member of staff, action, service and
  period (for example every decision by one manager in November), a page at a time, and as CSV
  (``/audit.csv``; the export is in the access log). CSV cells a spreadsheet would run as a formula
  are neutralised by the access log's own rule.

The figures are runtime.report_reads' (SQL, a few queries per page whatever the number of cases).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, cast

from flask import Blueprint, abort, request, url_for

from ... import report_reads as reads
from ...data import access
from ...models import utcnow
from ...services.access import record_access
from ...staff import VIEW_REPORTS
from ..common import db, render_page
from ..staff import current_user, requires, user_department_ids
from . import charts
from .privacy import _date, _int, _text, csv_download

bp = Blueprint("reports", __name__)

DEFAULT_WEEKS = 12
MAX_CSV_ROWS = 100_000  # audit rows in one export
PARTS = {
    "open-cases": "Open cases by step",
    "time-to-decision": "Time to decision",
    "decisions-by-person": "Decisions by member of staff",
    "decisions-by-week": "Decisions by week",
}


def _departments() -> list[int]:
    return user_department_ids(VIEW_REPORTS)


def _service(args: Mapping[str, Any], departments: Sequence[int]) -> tuple[str | None, list[Any], str | None]:
    """The service filter: its id (None: all), the choices, and a problem with what was sent."""
    choices = reads.services(db(), departments)
    chosen = _text(args, "service", 100)
    if not chosen:
        return None, choices, None
    if chosen not in {s.id for s in choices}:
        return None, choices, "Select a service from the list"
    return chosen, choices, None


def _period(
    args: Mapping[str, Any], *, required: bool
) -> tuple[date | None, date | None, dict[str, Any], dict[str, str]]:
    """The period's two GOV.UK date inputs: the dates, what was typed, and the problems."""
    errors: dict[str, str] = {}
    since, typed_since = _date(args, "since")
    until, typed_until = _date(args, "until")
    shown = {"since": typed_since, "until": typed_until}
    for name, when in (("since", since), ("until", until)):
        if any(shown[name].values()) and (when is None or when.year < 2000 or when.year > 9998):
            errors[name] = "Enter a real date, for example 1 11 2026"
    if since and until and not errors:
        if until < since:
            errors["until"] = "The end of the period must be on or after its start"
        elif required and (until - since).days >= reads.MAX_DAYS:
            errors["until"] = f"The period must be {reads.MAX_DAYS // 366} years or shorter"
    return (None if "since" in errors else since), (None if "until" in errors else until), shown, errors


def _query_args(shown: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in shown.items() if isinstance(v, str) and v}
    for name in ("since", "until"):
        for part, value in (shown.get(name) or {}).items():
            if value:
                out[f"{name}-{part}"] = value
    return out


def _errors(errors: dict[str, str]) -> list[dict[str, str]]:
    anchors = {"since": "since-day", "until": "until-day"}
    return [{"text": message, "href": f"#{anchors.get(f, f)}"} for f, message in errors.items()]


def _report_filters(args: Mapping[str, Any]) -> tuple[reads.ReportFilters, dict[str, Any], dict[str, str], list[Any]]:
    departments = _departments()
    service_id, choices, problem = _service(args, departments)
    since, until, shown, errors = _period(args, required=True)
    if problem:
        errors = {"service": problem, **errors}
    today = utcnow().date()
    until = until or (today if since is None or since <= today else since)
    since = since or min(until, today) - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    if since > until:  # only the start was given, after today: a one-day period
        until = since
    if (until - since).days >= reads.MAX_DAYS:
        since = until - timedelta(days=reads.MAX_DAYS - 1)
    shown["service"] = service_id or ""
    filters = reads.ReportFilters(department_ids=departments, since=since, until=until, service_id=service_id)
    return filters, shown, errors, choices


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _short_day(d: date) -> str:
    return f"{d.day} {d:%b}"


def _days(value: float | None) -> str:
    if value is None:
        return "No cases decided"
    return f"{value:,.1f} day" + ("" if value == 1 else "s")


@bp.get("/reports")
@requires(VIEW_REPORTS)
def home() -> Any:
    """The reports page: four charts, each with its table and its CSV."""
    filters, shown, errors, choices = _report_filters(request.args)
    report = reads.report(db(), filters, now=utcnow())
    args = _query_args(shown)
    steps = report.steps
    time_ = report.time
    charts_ = {
        "open-cases": charts.bars(
            [(f"{r.service}: {r.step}" if not filters.service_id else r.step, r.open) for r in steps]
        ),
        "time-to-decision": charts.bars(
            [("Median", time_.median_days or 0.0), ("90th percentile", time_.p90_days or 0.0)], suffix=" days"
        ),
        "decisions-by-person": charts.bars([(r.name, r.decisions) for r in report.people]),
        "decisions-by-week": charts.columns([(_short_day(r.week), r.decisions) for r in report.weeks]),
    }
    descriptions = {
        "open-cases": (
            f"{report.open_total:,} open cases, {report.overdue_total:,} overdue. "
            + "; ".join(f"{r.service}, {r.step}: {r.open:,} ({r.overdue:,} overdue)" for r in steps)
        ),
        "time-to-decision": (
            f"{time_.decided:,} cases decided: median {_days(time_.median_days)}, "
            f"90th percentile {_days(time_.p90_days)}."
            if time_.decided
            else "No cases were decided in this period."
        ),
        "decisions-by-person": (
            "; ".join(f"{r.name}: {r.decisions:,}" for r in report.people) or "No decisions in this period."
        ),
        "decisions-by-week": "; ".join(f"Week of {_day(r.week)}: {r.decisions:,}" for r in report.weeks),
    }
    return render_page(
        "casework/reports/home.html",
        400 if errors else 200,
        title="Reports",
        report=report,
        filters=filters,
        period=f"{_day(filters.since)} to {_day(filters.until)}",
        shown=shown,
        services=choices,
        parts=PARTS,
        charts=charts_,
        descriptions=descriptions,
        csv_urls={part: url_for("reports.report_csv", part=part, **args) for part in PARTS},
        audit_url=url_for("reports.audit"),
        days=_days,
        day=_day,
        errors=_errors(errors),
        field_errors=errors,
    )


@bp.get("/reports/<part>.csv")
@requires(VIEW_REPORTS)
def report_csv(part: str) -> Any:
    """One of the report's tables as CSV, for the same service and period."""
    if part not in PARTS:
        abort(404)
    filters, _shown, errors, _choices = _report_filters(request.args)
    if errors:
        abort(400)
    session = db()
    period = [filters.since.isoformat(), filters.until.isoformat()]
    rows: list[Sequence[Any]]
    if part == "open-cases":
        rows = [["Service", "Step", "Open cases", "Overdue"]]
        rows += [[r.service, r.step, r.open, r.overdue] for r in reads.open_by_step(session, filters, now=utcnow())]
    elif part == "time-to-decision":
        time_ = reads.time_to_decision(session, filters)
        rows = [["From", "To", "Cases decided", "Median (days)", "90th percentile (days)"]]
        rows.append([*period, time_.decided, time_.median_days, time_.p90_days])
    elif part == "decisions-by-person":
        rows = [["From", "To", "Member of staff", "Decisions"]]
        rows += [[*period, r.name, r.decisions] for r in reads.decisions_by_person(session, filters)]
    else:
        rows = [["Week starting", "Decisions"]]
        rows += [[r.week.isoformat(), r.decisions] for r in reads.decisions_by_week(session, filters)]
    return csv_download(rows, f"{part}-{filters.since.isoformat()}-to-{filters.until.isoformat()}.csv")


# -- the audit -------------------------------------------------------------------------------------


def _audit_filters(args: Mapping[str, Any]) -> tuple[reads.AuditFilters, dict[str, Any], dict[str, str]]:
    departments = _departments()
    service_id, _choices, problem = _service(args, departments)
    since, until, shown, errors = _period(args, required=False)
    if problem:
        errors = {"service": problem, **errors}
    shown.update(
        service=service_id or "",
        staff=_text(args, "staff", 20),
        action=_text(args, "action", 60),
        decisions="yes" if _text(args, "decisions", 5) == "yes" else "",
    )
    staff_id = _int(shown["staff"]) if shown["staff"] else None
    if shown["staff"] and staff_id is None:
        errors["staff"] = "Select a member of staff from the list"
    action = shown["action"] or None
    filters = reads.AuditFilters(
        department_ids=departments,
        since=since,
        until=until,
        staff_id=staff_id,
        action=action,
        service_id=service_id,
        decisions_only=bool(shown["decisions"]),
    )
    return filters, shown, errors


@bp.get("/audit")
@requires(VIEW_REPORTS)
def audit() -> Any:
    """Every action on the department's cases, newest first, with filters and CSV export."""
    filters, shown, errors = _audit_filters(request.args)
    before = _int(_text(request.args, "before", 12))
    session = db()
    departments = filters.department_ids
    found = reads.audit(session, filters, before=before) if not errors else reads.AuditPage(rows=[], before=None)
    args = _query_args(shown)
    return render_page(
        "casework/reports/audit.html",
        400 if errors else 200,
        title="Audit of actions on cases",
        rows=found.rows,
        shown=shown,
        staff=reads.audit_staff(session, departments),
        actions=reads.audit_actions(session, departments),
        services=reads.services(session, departments),
        next_url=url_for("reports.audit", **args, before=found.before) if found.before else None,
        first_url=url_for("reports.audit", **args) if before else None,
        csv_url=url_for("reports.audit_csv", **args),
        reports_url=url_for("reports.home"),
        errors=_errors(errors),
        field_errors=errors,
    )


AUDIT_COLUMNS = ["When (UTC)", "Member of staff", "Action", "Case", "Service", "From step", "To step"]


@bp.get("/audit.csv")
@requires(VIEW_REPORTS)
def audit_csv() -> Any:
    """The audit's filter as CSV (at most MAX_CSV_ROWS rows, newest first); the export is logged."""
    filters, shown, errors = _audit_filters(request.args)
    if errors:
        abort(400)
    user = current_user()
    assert user is not None and user.id is not None
    record_access(
        session=db(),
        staff_id=user.id,
        action=access.EXPORT,
        detail={"export": "audit", "filters": sorted(k for k, v in _query_args(shown).items() if v)},
    )
    rows = (
        [r.at.strftime("%Y-%m-%d %H:%M:%S"), r.who, r.action, r.reference, r.service, r.from_step, r.to_step]
        for r in reads.audit_all(db(), filters, limit=MAX_CSV_ROWS)
    )
    return csv_download(
        cast(Iterable[Sequence[Any]], _with_header(AUDIT_COLUMNS, rows)), f"audit-{utcnow().date().isoformat()}.csv"
    )


def _with_header(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield header
    yield from rows

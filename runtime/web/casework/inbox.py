"""The inbox: the cases a member of staff can work on, with filters, search, sorting, a count,
"Needs my action", tags, saved filters, a CSV export of the current filter, and bulk
assignment (managers). Registered on the back office's ``cases`` blueprint (views.bp).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from flask import current_app, flash, redirect, request, url_for
from sqlmodel import col, select

from ... import case_reads, cases, rendering
from ...data import access, published
from ...data import saved_filters as saved_data
from ...models import Service, utcnow
from ...services import casework, saved_filters
from ...services.access import record_access
from ...staff import ASSIGN_OTHERS, WORK_CASES
from ..common import db, error_page, render_page
from ..staff import department_roles, requires, user_department_ids
from .privacy import csv_download
from .views import MAX_CURSOR, MAX_TRAIL, _assignees, _Definitions, _errors, _int, _me, _name, _text, _urls, bp

TAGS = {"replied": "Applicant replied", "escalated": "Escalated", "overdue": "Overdue"}
# govuk-tag colours of the tags (the same words and colours on every row).
TAG_CLASSES = {"Applicant replied": "govuk-tag--green", "Escalated": "govuk-tag--orange", "Overdue": "govuk-tag--red"}
SORT_WORDS = {
    "deadline": "Deadline, soonest first",
    "-deadline": "Deadline, latest first",
    "-received": "Received, newest first",
    "received": "Received, oldest first",
    "reference": "Reference, A to Z",
    "-reference": "Reference, Z to A",
}
STEP_ANY, STEP_CLOSED = "any", "closed"  # the step filter's "Any step, open or closed" and "Closed"
MAX_EXPORT = 50_000  # rows in one CSV export


@dataclass(frozen=True)
class InboxQuery:
    """The inbox's GET form, read and checked: what the filters and the page links carry."""

    service: str = ""
    state: str = ""  # a state id, or STEP_ANY / STEP_CLOSED; "" is any open step
    assigned: str = ""  # "me" | "unassigned" | "" (anyone)
    overdue: bool = False
    replied: bool = False
    escalated: bool = False
    needs: bool = False  # "Needs my action"
    search: str = ""
    sort: str = "deadline"
    after: str = ""
    trail: tuple[str, ...] = ()  # the cursors of the pages before this one ("" is the first page)

    @classmethod
    def read(cls, form: Mapping[str, Any]) -> InboxQuery:
        assigned = _text(form, "assigned")
        trail_text = _text(form, "trail", (MAX_CURSOR + 1) * (MAX_TRAIL + 1))
        trail = tuple(trail_text[1:].split(".")) if trail_text.startswith(".") else ()
        getlist = getattr(form, "getlist", None)
        tags = {t for t in (getlist("tag") if getlist else [form.get("tag", "")]) if isinstance(t, str)}
        sort = _text(form, "sort", 20)
        return cls(
            service=_text(form, "service"),
            state=_text(form, "state"),
            assigned=assigned if assigned in ("me", "unassigned") else "",
            overdue="overdue" in tags or _text(form, "overdue") == "1",
            replied="replied" in tags,
            escalated="escalated" in tags,
            needs=_text(form, "needs") == "1",
            search=" ".join(_text(form, "q", 200).split()),
            sort=sort if sort in case_reads.SORTS else "deadline",
            after=_text(form, "after", MAX_CURSOR + 1),
            trail=tuple(t[:MAX_CURSOR] for t in trail[-MAX_TRAIL:]),
        )

    def filters(self, actionable: tuple[tuple[str, str], ...] = ()) -> case_reads.InboxFilters:
        """The read's filters. "Any step" and a search look through closed cases too."""
        step = self.state if self.state not in (STEP_ANY, STEP_CLOSED) else ""
        return case_reads.InboxFilters(
            service_id=self.service or None,
            state=step or None,
            assigned=self.assigned or None,
            overdue=self.overdue,
            search=self.search or None,
            include_closed=self.state == STEP_ANY or (bool(self.search) and not step),
            closed_only=self.state == STEP_CLOSED,
            replied=self.replied,
            escalated=self.escalated,
            needs_action=self.needs,
            actionable=actionable,
            sort=self.sort,
        )

    @property
    def tags(self) -> list[str]:
        return [t for t in TAGS if getattr(self, t)]

    def args(self, **page: Any) -> dict[str, Any]:
        """The query string of this inbox with the same filters (and ``after``/``trail`` given)."""
        out: dict[str, Any] = {
            "needs": "1" if self.needs else "",
            "q": self.search,
            "service": self.service,
            "state": self.state,
            "assigned": self.assigned,
            "tag": self.tags,
            "sort": self.sort if self.sort != "deadline" else "",
        }
        out.update(page)
        return {k: v for k, v in out.items() if v}

    def query_string(self) -> str:
        """The filter (no page) as a query string: what a saved filter keeps."""
        return urlencode(self.args(), doseq=True)

    @property
    def filtered(self) -> bool:
        return bool(self.args())

    def next_url(self, cursor: str) -> str:
        trail = (*self.trail, self.after)[-MAX_TRAIL:]
        return url_for("cases.inbox", **self.args(after=cursor, trail="." + ".".join(trail)))

    def previous_url(self) -> str | None:
        if not self.trail:
            return None
        *earlier, previous = self.trail
        return url_for("cases.inbox", **self.args(after=previous, trail="." + ".".join(earlier) if earlier else ""))


class _Form(dict[str, Any]):
    """A parsed query string with getlist, as request.args has (for re-reading a saved filter)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        super().__init__()
        self.pairs = pairs
        for key, value in pairs:
            self.setdefault(key, value)

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]


def checked_query_string(text: str) -> str:
    """A query string re-read through InboxQuery: only what the inbox understands survives."""
    pairs = parse_qsl(text[: saved_data.MAX_QUERY], keep_blank_values=False)
    return InboxQuery.read(_Form(pairs[:50])).query_string()


def actionable_states(services: list[Service], definitions: _Definitions) -> tuple[tuple[str, str], ...]:
    """(service id, state) pairs where a role the signed-in person holds in the service's
    department can act, by the service's current workflow: "waiting for my role"."""
    pairs: set[tuple[str, str]] = set()
    for service in services:
        roles = department_roles(service.department_id)
        definition = definitions.get(service.id)
        if definition is None or not roles:
            continue
        for transition in definition.workflow.transitions:
            if set(transition.roles) & roles:
                pairs.add((service.id, transition.from_))
    return tuple(sorted(pairs))


def _services(departments: list[int]) -> list[Service]:
    return list(
        db().exec(select(Service).where(col(Service.department_id).in_(departments)).order_by(col(Service.title)))
    )


def _inbox_page(query: InboxQuery, status: int = 200, errors: dict[str, str] | None = None, **extra: Any) -> Any:
    user = _me()
    departments = user_department_ids(WORK_CASES)
    definitions = _Definitions()
    services = _services(departments)
    states: dict[str, str] = {}
    for service in services:
        if query.service and service.id != query.service:
            continue
        definition = definitions.get(service.id)
        if definition is not None:
            for state in definition.workflow.states.values():
                states.setdefault(state.id, state.label)
    now = utcnow()
    try:
        result = case_reads.inbox(
            db(),
            staff_id=cast(int, user.id),
            now=now,
            department_ids=departments,
            filters=query.filters(actionable_states(services, definitions) if query.needs else ()),
            after=query.after or None,
            limit=int(current_app.config["CASEWORK_PAGE_SIZE"]),
            count=True,
        )
    except case_reads.InvalidCursor:
        title, message = (
            "This page of the inbox does not exist",
            ("The link to this page of cases is broken or out of date. Start again from the first page of your cases."),
        )
        return error_page(title, message, status=400)
    managed = user_department_ids(ASSIGN_OTHERS)
    rows = [
        {
            "row": row,
            "state": definitions.state_label(row.service_id, row.service_version, row.state),
            "tags": [{"text": tag, "classes": TAG_CLASSES[tag]} for tag in row.tags(now)],
            "age": row.age_days(now),
        }
        for row in result.rows
    ]
    total = result.total or 0
    count = f"More than {total:,} cases" if result.more_than else ("1 case" if total == 1 else f"{total:,} cases")
    return render_page(
        "casework/inbox.html",
        status,
        title="Needs my action" if query.needs else "Cases",
        query=query,
        rows=rows,
        count=count,
        services=services,
        states=sorted(states.items(), key=lambda item: item[1].casefold()),
        step_any=STEP_ANY,
        step_closed=STEP_CLOSED,
        sorts=SORT_WORDS,
        next_url=query.next_url(result.next_cursor) if result.next_cursor else None,
        previous_url=query.previous_url(),
        first_url=url_for("cases.inbox", **query.args()) if query.after else None,
        export_url=url_for("cases.export_inbox", **query.args()),
        max_export=MAX_EXPORT,
        more_than_export=result.more_than and total >= MAX_EXPORT,
        saved=saved_data.filters_of(db(), staff_id=cast(int, user.id)),
        max_saved=saved_data.MAX_PER_PERSON,
        bulk=bool(managed),
        current_user_id=user.id,
        assignees=_assignees(managed) if managed else [],
        errors=_errors(errors or {}),
        field_errors=errors or {},
        **extra,
    )


@bp.get("/")
@requires(WORK_CASES)
def inbox() -> Any:
    """The cases the signed-in member can work on, soonest deadline first, with filters."""
    return _inbox_page(InboxQuery.read(request.args))


@bp.post("/assign")
@requires(ASSIGN_OTHERS)
def assign_selected() -> Any:
    """Bulk assignment from the inbox (managers): the ticked cases to one colleague, or to nobody.
    "Select all cases on this page" (``all=page``) picks the page's cases (``page_case``), so that
    it works without JavaScript too."""
    user = _me()
    query = InboxQuery.read(request.form)
    raw = request.form.getlist("page_case") if _text(request.form, "all", 10) == "page" else []
    raw = raw or request.form.getlist("case")
    ids = list(dict.fromkeys(i for i in (_int(v[:20]) for v in raw[: cases.MAX_BULK + 1]) if i is not None))
    choice = _text(request.form, "assignee", 20)
    errors: dict[str, str] = {}
    if not ids:
        errors["case-list"] = "Select the cases to assign"
    elif len(raw) > cases.MAX_BULK:
        errors["case-list"] = f"Select at most {cases.MAX_BULK} cases at a time"
    assignee: int | None = None
    if choice == "nobody":
        assignee = None
    elif choice == "me":
        assignee = user.id
    elif _int(choice) is not None:
        assignee = _int(choice)
    else:
        errors["assignee"] = "Choose who to assign the cases to"
    if errors:
        return _inbox_page(query, 400, errors, chosen_cases=ids)
    try:
        done = casework.assign_many(
            session=db(), actor=cast(int, user.id), case_ids=ids, assignee=assignee, urls=_urls()
        )
    except casework.Refused as exc:
        return _inbox_page(query, 400, {"assignee": exc.message}, chosen_cases=ids)
    who = "nobody" if assignee is None else ("you" if assignee == user.id else _name(assignee))
    count = f"{len(done)} case" if len(done) == 1 else f"{len(done)} cases"
    flash(f"{count} assigned to {who}" if assignee is not None else f"{count} unassigned")
    return redirect(url_for("cases.inbox", **query.args(after=query.after)), 303)


# -- saved filters ------------------------------------------------------------------------------------


@bp.post("/saved-filters")
@requires(WORK_CASES)
def save_filter() -> Any:
    """Save the inbox's current filter (the form's hidden fields) under the name given."""
    user = _me()
    query = InboxQuery.read(request.form)
    name = " ".join(_text(request.form, "name", 1000).split())
    if not query.filtered:
        return _inbox_page(query, 400, {"filter-name": "Choose some filters before saving them"}, filter_name=name)
    try:
        saved = saved_filters.save(
            session=db(), staff_id=cast(int, user.id), name=name, query=checked_query_string(query.query_string())
        )
    except saved_filters.Refused as exc:
        return _inbox_page(query, 400, {"filter-name": exc.message}, filter_name=name[:200])
    flash(f"Filter saved as ‘{saved.name}’")
    return redirect(url_for("cases.inbox", **query.args()), 303)


@bp.post("/saved-filters/<int:filter_id>/delete")
@requires(WORK_CASES)
def delete_filter(filter_id: int) -> Any:
    """Delete one of the signed-in person's saved filters (someone else's does not exist for them)."""
    user = _me()
    name = saved_filters.delete(session=db(), staff_id=cast(int, user.id), filter_id=filter_id)
    # Deleted already (a second click), or not theirs: nothing to delete, and nothing said of whose.
    flash(f"Saved filter ‘{name}’ deleted" if name is not None else "That saved filter does not exist any more")
    return redirect(url_for("cases.inbox"), 303)


# -- the CSV export of the current filter ---------------------------------------------------------------

CSV_COLUMNS = [
    "Reference",
    "Applicant",
    "Service",
    "Step",
    "Assigned to",
    "Received",
    "Age (days)",
    "Deadline",
    "Decide by",
    "Tags",
]


def _day(at: datetime | None) -> str:
    return at.date().isoformat() if at is not None else ""


@bp.get("/export.csv")
@requires(WORK_CASES)
def export_inbox() -> Any:
    """Every case of the inbox's current filter (all pages, at most MAX_EXPORT), as CSV,
    streamed; the export is in the access log (it carries personal data)."""
    user = _me()
    query = InboxQuery.read(request.args)
    departments = user_department_ids(WORK_CASES)
    definitions = _Definitions()
    services = _services(departments)
    filters = query.filters(actionable_states(services, definitions) if query.needs else ())
    record_access(
        session=db(),
        staff_id=cast(int, user.id),
        action=access.EXPORT,
        detail={"export": "inbox", "filters": sorted(query.args())},
    )
    now = utcnow()
    # One service chosen: its answers too, a column a question (an add-another question's a
    # column per item question per item: "People 1: Full name"), read a batch of cases at a time.
    answered = definitions.get(query.service) if any(s.id == query.service for s in services) else None
    # Cases sent on an older version may hold more items than the live one takes: a column each.
    widest = (
        rendering.widest_lists(
            definitions.get(query.service, v.version)
            for v in published.service_versions(session=db(), service_id=query.service)
        )
        if answered is not None and any(answered.widget(n) == "add-another" for _, n in answered.iter_questions())
        else {}
    )

    def lines() -> Iterator[Sequence[Any]]:
        yield [*CSV_COLUMNS, *(rendering.answer_columns(answered, widest) if answered is not None else ())]
        found = case_reads.inbox_rows(
            db(), staff_id=cast(int, user.id), now=now, department_ids=departments, filters=filters, cap=MAX_EXPORT
        )
        for row, answers in case_reads.with_answers(db(), found, wanted=answered is not None):
            cells = rendering.answer_cells(answered, answers, widest) if answered is not None else []
            yield (
                row.reference,
                row.citizen_name or "",
                row.service_title,
                definitions.state_label(row.service_id, row.service_version, row.state),
                row.assignee_name or "Nobody",
                _day(row.created_at),
                row.age_days(now),
                _day(row.deadline_at),
                _day(row.decision_due_at),
                ", ".join(row.tags(now)),
                *cells,
            )

    return csv_download(lines(), f"cases-{date.today().isoformat()}.csv")


__all__ = ["InboxQuery", "actionable_states", "checked_query_string"]

"""The inbox: the cases a member of staff can work on, with filters, search and paging, and
bulk assignment (managers). Registered on the back office's ``cases`` blueprint (views.bp).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from flask import current_app, flash, redirect, request, url_for
from sqlmodel import col, select

from ... import case_reads, cases
from ...models import Service, utcnow
from ...services import casework
from ...staff import ASSIGN_OTHERS, WORK_CASES
from ..common import db, error_page, render_page
from ..staff import requires, user_department_ids
from .views import MAX_CURSOR, MAX_TRAIL, _assignees, _Definitions, _errors, _int, _me, _name, _text, _urls, bp


@dataclass(frozen=True)
class InboxQuery:
    """The inbox's GET form, read and checked: what the filters and the page links carry."""

    service: str = ""
    state: str = ""
    assigned: str = ""  # "me" | "unassigned" | "" (anyone)
    overdue: bool = False
    search: str = ""
    after: str = ""
    trail: tuple[str, ...] = ()  # the cursors of the pages before this one ("" is the first page)

    @classmethod
    def read(cls, form: Mapping[str, Any]) -> InboxQuery:
        assigned = _text(form, "assigned")
        trail_text = _text(form, "trail", (MAX_CURSOR + 1) * (MAX_TRAIL + 1))
        trail = tuple(trail_text[1:].split(".")) if trail_text.startswith(".") else ()
        return cls(
            service=_text(form, "service"),
            state=_text(form, "state"),
            assigned=assigned if assigned in ("me", "unassigned") else "",
            overdue=_text(form, "overdue") == "1",
            search=" ".join(_text(form, "q", 200).split()),
            after=_text(form, "after", MAX_CURSOR + 1),
            trail=tuple(t[:MAX_CURSOR] for t in trail[-MAX_TRAIL:]),
        )

    @property
    def filters(self) -> case_reads.InboxFilters:
        return case_reads.InboxFilters(
            service_id=self.service or None,
            state=self.state or None,
            assigned=self.assigned or None,
            overdue=self.overdue,
            search=self.search or None,
        )

    def args(self, **page: Any) -> dict[str, Any]:
        """The query string of this inbox with the same filters (and ``after``/``trail`` given)."""
        out: dict[str, Any] = {
            "service": self.service,
            "state": self.state,
            "assigned": self.assigned,
            "q": self.search,
        }
        out["overdue"] = "1" if self.overdue else ""
        out.update(page)
        return {k: v for k, v in out.items() if v}

    def next_url(self, cursor: str) -> str:
        trail = (*self.trail, self.after)[-MAX_TRAIL:]
        return url_for("cases.inbox", **self.args(after=cursor, trail="." + ".".join(trail)))

    def previous_url(self) -> str | None:
        if not self.trail:
            return None
        *earlier, previous = self.trail
        return url_for("cases.inbox", **self.args(after=previous, trail="." + ".".join(earlier) if earlier else ""))


def _inbox_page(query: InboxQuery, status: int = 200, errors: dict[str, str] | None = None, **extra: Any) -> Any:
    user = _me()
    departments = user_department_ids(WORK_CASES)
    definitions = _Definitions()
    services = list(
        db().exec(select(Service).where(col(Service.department_id).in_(departments)).order_by(col(Service.title)))
    )
    states: dict[str, str] = {}
    for service in services:
        if query.service and service.id != query.service:
            continue
        definition = definitions.get(service.id)
        if definition is not None:
            for state in definition.workflow.states.values():
                states.setdefault(state.id, state.label)
    try:
        result = case_reads.inbox(
            db(),
            staff_id=cast(int, user.id),
            now=utcnow(),
            department_ids=departments,
            filters=query.filters,
            after=query.after or None,
            limit=int(current_app.config["CASEWORK_PAGE_SIZE"]),
        )
    except case_reads.InvalidCursor:
        title, message = (
            "This page of the inbox does not exist",
            ("The link to this page of cases is broken or out of date. Start again from the first page of your cases."),
        )
        return error_page(title, message, status=400)
    managed = user_department_ids(ASSIGN_OTHERS)
    now = utcnow()
    rows = [
        {
            "row": row,
            "state": definitions.state_label(row.service_id, row.service_version, row.state),
            "overdue": row.overdue(now),
        }
        for row in result.rows
    ]
    return render_page(
        "casework/inbox.html",
        status,
        title="Cases",
        query=query,
        rows=rows,
        services=services,
        states=sorted(states.items(), key=lambda item: item[1].casefold()),
        next_url=query.next_url(result.next_cursor) if result.next_cursor else None,
        previous_url=query.previous_url(),
        first_url=url_for("cases.inbox", **query.args()) if query.after else None,
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
    """Bulk assignment from the inbox (managers): the ticked cases to one colleague, or to nobody."""
    user = _me()
    query = InboxQuery.read(request.form)
    raw = request.form.getlist("case")
    ids = [i for i in (_int(v[:20]) for v in raw[: cases.MAX_BULK + 1]) if i is not None]
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

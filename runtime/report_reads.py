"""The back office's reports and its audit of every action on a department's cases: reads only.

Everything is counted in SQL, a few queries per page whatever the number of cases (no query per
case or per person), the same on SQLite and PostgreSQL:

- **open cases by step** (and how many of them are overdue) now: one ``GROUP BY`` over the open
  cases of the departments;
- **time to decision**: cases closed in the period, from the day they were sent to the day they
  were closed, in days: the median and the 90th percentile (nearest rank: the smallest time that
  half, or nine in ten, of the cases took no longer than), by one window query;
- **decisions**: every time a member of staff moved a case to another step (a decision of the
  service's approval steps; sending a case back or reopening it is a correction, not a decision),
  counted by who took them and by week (Monday to Sunday) in the period: one ``GROUP BY`` per
  person and day, summed here.

A period is whole days, ``since`` to ``until`` inclusive (UTC, as stored). A period with nothing
in it is zeros, never an error.

The audit (:func:`audit`) lists the case events themselves, newest first, by person, action,
service and period, a page at a time (keyset on the event's id), or all of them for the CSV.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, or_
from sqlmodel import Session, col, select

from .cases import workflow_of
from .models import Case, CaseEvent, Service, StaffRole, StaffUser
from .versions import definition as current_definition

MAX_DAYS = 2 * 366  # the longest period a report covers (two years)
AUDIT_PAGE = 50
# The actions of runtime.case_corrections (as it names them): a note is not a decision, and sending
# a case back or reopening it moves it but is a correction, not a decision.
NOTE, SEND_BACK, REOPEN = "note", "send-back", "reopen"
NOT_DECISIONS = (SEND_BACK, REOPEN)
# Words for the actions that are not a transition of the workflow (as the case page's history).
ACTION_WORDS = {
    "submitted": "Sent the application",
    "assign": "Assigned",
    "escalate": "Escalated",
    "information-answered": "Sent the information asked for",
    "state-moved-at-publish": "Moved when a new version was published",
    NOTE: "Internal note",
    SEND_BACK: "Sent back a step",
    REOPEN: "Reopened",
}


@dataclass(frozen=True)
class ReportFilters:
    department_ids: Sequence[int]
    since: date
    until: date  # inclusive
    service_id: str | None = None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)


@dataclass(frozen=True)
class StepRow:
    service: str
    step: str
    open: int
    overdue: int


@dataclass(frozen=True)
class TimeToDecision:
    decided: int
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True)
class PersonRow:
    staff_id: int
    name: str
    decisions: int


@dataclass(frozen=True)
class WeekRow:
    week: date  # its Monday
    decisions: int


@dataclass(frozen=True)
class Report:
    steps: list[StepRow]
    time: TimeToDecision
    people: list[PersonRow]
    weeks: list[WeekRow]

    @property
    def open_total(self) -> int:
        return sum(r.open for r in self.steps)

    @property
    def overdue_total(self) -> int:
        return sum(r.overdue for r in self.steps)

    @property
    def decisions_total(self) -> int:
        return sum(r.decisions for r in self.people)


def services(session: Session, department_ids: Sequence[int]) -> list[Service]:
    """The services of these departments, by title (the report's service filter)."""
    return list(
        session.exec(
            select(Service).where(col(Service.department_id).in_(list(department_ids))).order_by(Service.title)
        )
    )


def _scope(filters: ReportFilters) -> list[Any]:
    where: list[Any] = [col(Case.department_id).in_(list(filters.department_ids))]
    if filters.service_id is not None:
        where.append(Case.service_id == filters.service_id)
    return where


Decisions = list[tuple[int, str, date, int]]  # (staff id, name, day, decisions)


def report(session: Session, filters: ReportFilters, *, now: datetime) -> Report:
    """The whole page: four queries (the decisions are read once for both their tables)."""
    decisions = _decisions_by_person_and_day(session, filters)
    return Report(
        steps=open_by_step(session, filters, now=now),
        time=time_to_decision(session, filters),
        people=decisions_by_person(session, filters, decisions),
        weeks=decisions_by_week(session, filters, decisions),
    )


def open_by_step(session: Session, filters: ReportFilters, *, now: datetime) -> list[StepRow]:
    """Open cases now, by service and step, with how many are overdue (the inbox's "Overdue" tag:
    not waiting for the applicant, and past the step's deadline or the whole-case deadline)."""
    overdue = and_(
        col(Case.waiting_for_citizen).is_(False),
        or_(col(Case.deadline_at) < now, col(Case.decision_due_at) < now),
    )
    rows = session.exec(
        select(
            Case.service_id,
            Case.state,
            func.count(),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        )
        .where(*_scope(filters), col(Case.closed_at).is_(None))
        .group_by(Case.service_id, Case.state)
    ).all()
    titles: dict[str, str] = {}
    labels: dict[str, dict[str, tuple[int, str]]] = {}
    for service_id in {r[0] for r in rows}:
        found = current_definition(session=session, service_id=service_id)
        titles[service_id] = found.title if found is not None else service_id
        order = {}
        if found is not None:
            workflow = workflow_of(found)
            order = {s: (i, state.label) for i, (s, state) in enumerate(workflow.states.items())}
        labels[service_id] = order
    out = [
        StepRow(
            service=titles[service_id],
            step=labels[service_id].get(state, (0, state))[1],
            open=int(count),
            overdue=int(late),
        )
        for service_id, state, count, late in rows
    ]
    # In each service, the steps in the order its approval steps list them.
    position = {(titles[s], labels[s].get(st, (999, st))[1]): labels[s].get(st, (999, st))[0] for s, st, *_ in rows}
    return sorted(out, key=lambda r: (r.service, position[(r.service, r.step)], r.step))


def _days_between(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def time_to_decision(session: Session, filters: ReportFilters) -> TimeToDecision:
    """Cases closed in the period: how many, and the median and 90th percentile of their days
    from being sent to being closed (nearest rank, to one decimal place)."""
    days = _days_between(session, col(Case.closed_at), col(Case.created_at)).label("days")
    ranked = (
        select(
            days,
            func.row_number().over(order_by=days).label("n"),
            func.count().over().label("total"),
        )
        .where(*_scope(filters), col(Case.closed_at) >= filters.start, col(Case.closed_at) < filters.end)
        .subquery()
    )
    total = ranked.c.total
    median_rank = cast((total * 50 + 99) / 100, Integer)
    p90_rank = cast((total * 90 + 99) / 100, Integer)
    rows = session.exec(
        select(ranked.c.n, ranked.c.days, total).where(or_(ranked.c.n == median_rank, ranked.c.n == p90_rank))
    ).all()
    if not rows:
        return TimeToDecision(decided=0, median_days=None, p90_days=None)
    n_total = int(rows[0][2])
    by_rank = {int(n): round(float(d), 1) for n, d, _ in rows}
    return TimeToDecision(
        decided=n_total,
        median_days=by_rank.get((n_total * 50 + 99) // 100),
        p90_days=by_rank.get((n_total * 90 + 99) // 100),
    )


def _decisions_by_person_and_day(session: Session, filters: ReportFilters) -> Decisions:
    at: Any = CaseEvent.at
    if session.get_bind().dialect.name == "postgresql":
        at = func.timezone("UTC", at)  # the day in UTC, whatever the connection's time zone
    day = func.date(at).label("day")
    rows = session.exec(
        select(col(CaseEvent.actor_id), StaffUser.name, day, func.count())
        .join(Case, col(Case.id) == CaseEvent.case_id)
        .join(StaffUser, col(StaffUser.id) == CaseEvent.actor_id)
        .where(
            *_scope(filters),
            CaseEvent.actor_kind == "staff",
            col(CaseEvent.to_state).is_not(None),
            col(CaseEvent.action).not_in(NOT_DECISIONS),
            col(CaseEvent.at) >= filters.start,
            col(CaseEvent.at) < filters.end,
        )
        .group_by(col(CaseEvent.actor_id), StaffUser.name, day)
    ).all()
    return [
        (int(a or 0), str(n), d if isinstance(d, date) else date.fromisoformat(str(d)[:10]), int(c))
        for a, n, d, c in rows
    ]


def decisions_by_person(session: Session, filters: ReportFilters, read: Decisions | None = None) -> list[PersonRow]:
    """Decisions in the period by who took them, most first (then by name)."""
    totals: dict[tuple[int, str], int] = {}
    for staff_id, name, _day, count in read if read is not None else _decisions_by_person_and_day(session, filters):
        totals[(staff_id, name)] = totals.get((staff_id, name), 0) + count
    rows = [PersonRow(staff_id=k[0], name=k[1], decisions=v) for k, v in totals.items()]
    return sorted(rows, key=lambda r: (-r.decisions, r.name.casefold(), r.staff_id))


def weeks_of(since: date, until: date) -> list[date]:
    """The Mondays of the weeks the period touches, in order."""
    first = since - timedelta(days=since.weekday())
    return [first + timedelta(weeks=i) for i in range((until - first).days // 7 + 1)]


def decisions_by_week(session: Session, filters: ReportFilters, read: Decisions | None = None) -> list[WeekRow]:
    """Decisions in each week (Monday to Sunday) the period touches, weeks with none too."""
    totals = dict.fromkeys(weeks_of(filters.since, filters.until), 0)
    for _staff_id, _name, day, count in read if read is not None else _decisions_by_person_and_day(session, filters):
        monday = day - timedelta(days=day.weekday())
        totals[monday] = totals.get(monday, 0) + count
    return [WeekRow(week=w, decisions=c) for w, c in sorted(totals.items())]


# -- the audit -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    department_ids: Sequence[int]
    since: date | None = None
    until: date | None = None  # inclusive
    staff_id: int | None = None
    action: str | None = None
    service_id: str | None = None
    decisions_only: bool = False


@dataclass(frozen=True)
class AuditRow:
    event_id: int
    at: datetime
    who: str
    action: str
    case_id: int
    reference: str
    service: str
    from_step: str
    to_step: str


@dataclass
class AuditPage:
    rows: list[AuditRow]
    before: int | None  # the next (older) page's cursor, if any
    labels: dict[str, Any] = field(default_factory=dict)


def _audit_query(session: Session, filters: AuditFilters) -> Any:
    department: Any = col(Case.department_id)
    if session.get_bind().dialect.name == "sqlite":
        # "+ 0": SQLite then checks the department on each event's case, newest event first (the
        # primary key read backwards, stopping at a page), instead of reading every case of the
        # department and sorting all their events (1.2 s for the first page at 1,000,000 cases).
        # PostgreSQL's planner finds that plan by itself.
        department = department + 0
    query = (
        select(CaseEvent, Case.reference, Case.service_id, StaffUser.name)
        .join(Case, col(Case.id) == CaseEvent.case_id)
        .outerjoin(StaffUser, col(StaffUser.id) == CaseEvent.actor_id)
        .where(department.in_(list(filters.department_ids)))
    )
    if filters.service_id is not None:
        query = query.where(Case.service_id == filters.service_id)
    if filters.staff_id is not None:
        query = query.where(CaseEvent.actor_id == filters.staff_id)
    if filters.action is not None:
        query = query.where(CaseEvent.action == filters.action)
    if filters.decisions_only:
        query = query.where(
            CaseEvent.actor_kind == "staff",
            col(CaseEvent.to_state).is_not(None),
            col(CaseEvent.action).not_in(NOT_DECISIONS),
        )
    if filters.since is not None:
        query = query.where(col(CaseEvent.at) >= datetime.combine(filters.since, time.min, tzinfo=UTC))
    if filters.until is not None:
        query = query.where(
            col(CaseEvent.at) < datetime.combine(filters.until + timedelta(days=1), time.min, tzinfo=UTC)
        )
    return query.order_by(col(CaseEvent.id).desc())


class _Words:
    """Step and action labels of each service's current version, read once per service."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {}

    def of(self, service_id: str) -> tuple[str, dict[str, str], dict[str, str]]:
        if service_id not in self.known:
            found = current_definition(session=self.session, service_id=service_id)
            if found is None:
                self.known[service_id] = (service_id, {}, {})
            else:
                workflow = workflow_of(found)
                steps = {s: state.label for s, state in workflow.states.items()}
                actions = {t.action: t.label for t in workflow.transitions}
                self.known[service_id] = (found.title, steps, actions)
        return self.known[service_id]

    def row(self, event: CaseEvent, reference: str, service_id: str, name: str | None) -> AuditRow:
        title, steps, actions = self.of(service_id)
        detail = event.detail or {}
        if event.action in ACTION_WORDS:
            what = ACTION_WORDS[event.action]
        elif "request_id" in detail:
            what = "Asked the applicant for more information"
        else:
            what = actions.get(event.action, event.action.replace("-", " ").replace("_", " ").capitalize())
        who = name or {"citizen": "The applicant", "system": "Civic Forms"}.get(event.actor_kind, "Someone")
        assert event.id is not None
        return AuditRow(
            event_id=event.id,
            at=event.at,
            who=who,
            action=what,
            case_id=event.case_id,
            reference=reference,
            service=title,
            from_step=steps.get(event.from_state or "", event.from_state or ""),
            to_step=steps.get(event.to_state or "", event.to_state or ""),
        )


def audit(session: Session, filters: AuditFilters, *, before: int | None = None, size: int = AUDIT_PAGE) -> AuditPage:
    """A page of the audit, newest first; ``before``: the cursor of the page before."""
    query = _audit_query(session, filters)
    if before is not None:
        query = query.where(col(CaseEvent.id) < before)
    found = session.exec(query.limit(size + 1)).all()
    words = _Words(session)
    rows = [words.row(*r) for r in found[:size]]
    return AuditPage(rows=rows, before=rows[-1].event_id if len(found) > size else None)


def audit_all(session: Session, filters: AuditFilters, *, limit: int) -> Iterator[AuditRow]:
    """Every event the filters select, newest first, at most ``limit`` (for the CSV), read in batches."""
    words = _Words(session)
    before: int | None = None
    left = limit
    while left > 0:
        query = _audit_query(session, filters)
        if before is not None:
            query = query.where(col(CaseEvent.id) < before)
        batch = session.exec(query.limit(min(1000, left))).all()
        if not batch:
            return
        for r in batch:
            yield words.row(*r)
        left -= len(batch)
        before = batch[-1][0].id


def audit_staff(session: Session, department_ids: Sequence[int]) -> list[StaffUser]:
    """Everyone who has taken an action on these departments' cases or works in them (the audit's
    "Member of staff" list), by name."""
    ids = select(StaffRole.user_id).where(col(StaffRole.department_id).in_(list(department_ids)))
    return list(session.exec(select(StaffUser).where(col(StaffUser.id).in_(ids)).order_by(StaffUser.name)))


def audit_actions(session: Session, department_ids: Sequence[int]) -> dict[str, str]:
    """The actions the audit can filter by: every transition of these departments' services, and
    the actions that are not transitions, each with its words."""
    out: dict[str, str] = {}
    words = _Words(session)
    for service in services(session, department_ids):
        _title, _steps, actions = words.of(service.id)
        for action, label in actions.items():
            out.setdefault(action, label)
    for action, label in ACTION_WORDS.items():
        out.setdefault(action, label)
    return dict(sorted(out.items(), key=lambda kv: kv[1].casefold()))

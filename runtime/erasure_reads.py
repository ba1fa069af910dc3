"""The reads behind retention, erasure and subject access: what a person's record holds across
every service and department, which of it a legal hold keeps, and what retention has made due.

Keyword-only functions with an explicit session; no writes (``runtime.services.retention`` owns
those), no Flask. Every table that can hold a person's data is read here, so that a subject access
report and an erasure see the same things.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, exists
from sqlmodel import Session, col, or_, select

from .data.case_files import count_case_uploads, files_of_submissions, kind_label
from .models import (
    AccessLog,
    Case,
    CaseEvent,
    CaseEventComment,
    Citizen,
    CitizenIdentifier,
    CitizenLink,
    Department,
    InformationRequest,
    LegalHold,
    MatchCandidate,
    OutboxMessage,
    RecordMerge,
    Service,
    ServiceVersion,
    Submission,
    Upload,
)
from .retention import Retention
from .widgets.file import size_in_words

# Messages to staff about a case (new work, an overdue case): not messages to the person.
STAFF_MESSAGE_KINDS = frozenset({"new_work", "escalated"})


@dataclass(frozen=True)
class Hold:
    """A legal hold in force on one of the person's cases: why their data there is kept."""

    case_id: int
    reference: str
    service: str
    reason: str
    placed_at: datetime


@dataclass
class Held:
    """One submission of the person's and its case, with its service's title and department."""

    submission: Submission
    case: Case | None
    service: Service
    department: str


@dataclass
class ErasurePlan:
    """What an erasure of a record would do: the submissions it erases, those a legal hold keeps
    (with the holds' reasons), and those erased already."""

    citizen: Citizen
    erasable: list[Held] = field(default_factory=list)
    held: list[tuple[Held, list[Hold]]] = field(default_factory=list)
    erased: list[Held] = field(default_factory=list)
    identifiers: int = 0
    files: dict[int, int] = field(default_factory=dict)  # files each erasable submission's case holds, by its id

    @property
    def holds(self) -> list[Hold]:
        return [h for _, holds in self.held for h in holds]


def holds_in_force(*, session: Session, case_ids: Iterable[int]) -> dict[int, list[Hold]]:
    """The legal holds in force (not released) on these cases, by case id."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(LegalHold, Case.reference, Service.title)  # type: ignore[call-overload]
        .join(Case, col(Case.id) == LegalHold.case_id)
        .join(Service, col(Service.id) == Case.service_id)
        .where(col(LegalHold.case_id).in_(ids), col(LegalHold.released_at).is_(None))
        .order_by(col(LegalHold.placed_at), col(LegalHold.id))
    ).all()
    found: dict[int, list[Hold]] = {}
    for hold, reference, title in rows:
        found.setdefault(hold.case_id, []).append(Hold(hold.case_id, reference, title, hold.reason, hold.placed_at))
    return found


def merged_records(*, session: Session, citizen_id: int) -> list[int]:
    """The records joined into this one (their rows stay, holding only ids)."""
    return list(session.exec(select(RecordMerge.citizen_id).where(RecordMerge.into_citizen_id == citizen_id)).all())


def held_submissions(*, session: Session, citizen_id: int) -> list[Held]:
    """Every submission filed under the record, with its case, service and department."""
    rows = session.exec(
        select(Submission, Case, Service, Department.name)  # type: ignore[call-overload]
        .join(Service, col(Service.id) == Submission.service_id)
        .join(Department, col(Department.id) == Service.department_id)
        .outerjoin(Case, col(Case.submission_id) == Submission.id)
        .where(Submission.citizen_id == citizen_id)
        .order_by(col(Submission.submitted_at), col(Submission.id))
    ).all()
    return [Held(sub, case, service, department) for sub, case, service, department in rows]


def _holds_leftovers() -> ColumnElement[bool]:
    """Whether a case (correlated: ``Case`` in the enclosing query) still holds what an erasure
    removes although it was erased: a file of its submission or of its requests, or an answer
    to a request (an erasure empties them all). Nothing should put any there after the erasure
    (it closes the case's open request, and the answer page and its files refuse an erased
    case); should anything have, the case is to be erased again."""
    requests = select(InformationRequest.id).where(col(InformationRequest.case_id) == Case.id)
    files = exists().where(
        or_(col(Upload.submission_id) == Case.submission_id, col(Upload.request_id).in_(requests.scalar_subquery()))
    )
    answers = exists().where(
        col(InformationRequest.case_id) == Case.id,
        col(InformationRequest.answers).is_not(None),
        cast(col(InformationRequest.answers), Text) != "null",  # JSON null: what an erasure leaves
    )
    return or_(files, answers)


def _still_holding(session: Session, case_id: int) -> bool:
    return session.exec(select(Case.id).where(col(Case.id) == case_id, _holds_leftovers())).first() is not None


def erasure_plan(*, session: Session, citizen_id: int) -> ErasurePlan | None:
    """What erasing this record on request would erase and what a legal hold keeps (None: no
    such record)."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        return None
    plan = ErasurePlan(citizen)
    items = held_submissions(session=session, citizen_id=citizen_id)
    holds = holds_in_force(session=session, case_ids=[i.case.id for i in items if i.case and i.case.id])
    for item in items:
        case_holds = holds.get(item.case.id, []) if item.case and item.case.id else []
        if case_holds:
            plan.held.append((item, case_holds))
        elif item.submission.erased_at is not None and (
            item.case is None
            or item.case.id is None
            or (item.case.erased_at is not None and not _still_holding(session, item.case.id))
        ):
            plan.erased.append(item)
        else:
            plan.erasable.append(item)
            if item.case is not None and item.submission.id is not None:
                plan.files[item.submission.id] = count_case_uploads(session, case=item.case)
    plan.identifiers = len(
        session.exec(select(CitizenIdentifier.id).where(CitizenIdentifier.citizen_id == citizen_id)).all()
    )
    return plan


# -- retention -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A closed case whose service's retention period is over: its data is to be erased."""

    submission_id: int
    case_id: int
    reference: str
    service_id: str
    why: str  # "6 years after the case is closed (closed 2019-03-01)"


def retention_periods(*, session: Session) -> dict[str, Retention | None]:
    """Each service's retention period, as its live version (the rule in force) sets it."""
    rows = session.exec(
        select(Service.id, ServiceVersion.definition)  # type: ignore[call-overload]
        .join(
            ServiceVersion,
            (col(ServiceVersion.service_id) == Service.id) & (col(ServiceVersion.version) == Service.current_version),
        )
        .order_by(col(Service.id))
    ).all()
    return {service_id: Retention.of(doc.get("retention")) for service_id, doc in rows}


def _end_of(day: date) -> datetime:
    """The first moment after ``day`` (UTC): a date on or before ``day`` is before it."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def due_for_retention(
    *, session: Session, today: date, periods: dict[str, Retention | None]
) -> tuple[list[Due], list[tuple[Due, list[Hold]]]]:
    """Closed, not yet erased cases past their service's retention period (or erased but still
    holding files or answers: ``_holds_leftovers``), and those of them a legal hold keeps. Open
    cases are never due, whatever the period counts from."""
    due: list[Due] = []
    for service_id, period in periods.items():
        if period is None:
            continue
        cutoff = _end_of(period.latest_start(today))
        query = (
            select(Case.id, Case.submission_id, Case.reference, Case.closed_at, Submission.submitted_at)  # type: ignore[call-overload]
            .join(Submission, col(Submission.id) == Case.submission_id)
            .where(
                Case.service_id == service_id,
                col(Case.closed_at).is_not(None),
                or_(col(Case.erased_at).is_(None), col(Submission.erased_at).is_(None), _holds_leftovers()),
            )
            .order_by(col(Case.id))
        )
        if period.after == "case-closed":
            query = query.where(col(Case.closed_at) < cutoff)
        else:
            query = query.where(col(Submission.submitted_at) < cutoff)
        for case_id, submission_id, reference, closed_at, submitted_at in session.exec(query).all():
            start = closed_at if period.after == "case-closed" else submitted_at
            event = "closed" if period.after == "case-closed" else "sent"
            why = f"{period.words} ({event} {start:%Y-%m-%d})"
            due.append(Due(submission_id, case_id, reference, service_id, why))
    holds = holds_in_force(session=session, case_ids=[d.case_id for d in due])
    return [d for d in due if d.case_id not in holds], [(d, holds[d.case_id]) for d in due if d.case_id in holds]


# -- subject access ------------------------------------------------------------------------------


def _files(
    uploads: list[Upload],
    by_submission: dict[int | None, Held],
    requests: Sequence[InformationRequest],
    versions: dict[tuple[str, int], dict[str, Any]],
) -> list[dict[str, Any]]:
    """The files the person sent (clean ones: a file waiting for its scan was never accepted),
    each with the form it was sent in and, for a report that carries the files themselves, the
    key of its bytes in storage."""
    by_case = {i.case.id: i for i in by_submission.values() if i.case is not None}
    case_of_request = {r.id: r.case_id for r in requests}
    out = []
    for upload in uploads:
        held = by_submission.get(upload.submission_id)
        if held is None and upload.request_id is not None:
            held = by_case.get(case_of_request.get(upload.request_id))
        if held is None:
            continue
        submission = held.submission
        out.append(
            {
                "id": upload.id,
                "reference": submission.reference,
                "definition": versions.get((submission.service_id, submission.service_version)) or {},
                "question": upload.question,
                "in_reply": upload.request_id is not None,
                "name": upload.filename,
                "kind": kind_label(upload.content_type),
                "content_type": upload.content_type,
                "size": size_in_words(upload.size_bytes),
                "uploaded_at": upload.created_at,
                "storage_key": upload.storage_key,
            }
        )
    return out


def person_data(*, session: Session, citizen_id: int) -> dict[str, Any]:
    """Everything held on the person whose record this is, as plain data for
    ``runtime.subject_access.build``: the record, its details with where each came from, every
    submission with the definition it answered, cases with their history, comments, information
    requests and messages, links and decisions, and which departments looked at the record."""
    citizen = session.get(Citizen, citizen_id)
    assert citizen is not None
    merged = merged_records(session=session, citizen_id=citizen_id)
    items = held_submissions(session=session, citizen_id=citizen_id)
    submission_ids = [i.submission.id for i in items]
    case_ids = [i.case.id for i in items if i.case is not None]
    departments = dict(session.exec(select(Department.id, Department.name)).all())  # type: ignore[call-overload]
    by_submission = {i.submission.id: i for i in items}
    identifiers = session.exec(
        select(CitizenIdentifier)
        .where(col(CitizenIdentifier.citizen_id).in_([citizen_id, *merged]))
        .order_by(col(CitizenIdentifier.created_at), col(CitizenIdentifier.id))
    ).all()
    versions = {
        (v.service_id, v.version): v.definition
        for v in session.exec(
            select(ServiceVersion).where(
                col(ServiceVersion.service_id).in_(sorted({i.submission.service_id for i in items}))
            )
        ).all()
    }
    events = (
        session.exec(
            select(CaseEvent, CaseEventComment.text)  # type: ignore[call-overload]
            .outerjoin(CaseEventComment, col(CaseEventComment.event_id) == CaseEvent.id)
            .where(col(CaseEvent.case_id).in_(case_ids))
            .order_by(col(CaseEvent.at), col(CaseEvent.id))
        ).all()
        if case_ids
        else []
    )
    requests = (
        session.exec(
            select(InformationRequest)
            .where(col(InformationRequest.case_id).in_(case_ids))
            .order_by(col(InformationRequest.created_at), col(InformationRequest.id))
        ).all()
        if case_ids
        else []
    )
    messages = (
        session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.case_id).in_(case_ids), col(OutboxMessage.kind).not_in(STAFF_MESSAGE_KINDS))
            .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        ).all()
        if case_ids
        else []
    )
    records = [citizen_id, *merged]
    links = session.exec(
        select(CitizenLink)
        .where(
            or_(
                col(CitizenLink.citizen_id).in_(records),
                col(CitizenLink.merged_citizen_id).in_(records),
                col(CitizenLink.submission_id).in_(submission_ids or [-1]),
            )
        )
        .order_by(col(CitizenLink.decided_at), col(CitizenLink.id))
    ).all()
    candidates = session.exec(
        select(MatchCandidate)
        .where(or_(col(MatchCandidate.citizen_id).in_(records), col(MatchCandidate.other_citizen_id).in_(records)))
        .order_by(col(MatchCandidate.created_at), col(MatchCandidate.id))
    ).all()
    looked = session.exec(
        select(AccessLog.department_id, AccessLog.action, AccessLog.at)  # type: ignore[call-overload]
        .where(
            or_(
                col(AccessLog.citizen_id).in_(records),
                col(AccessLog.case_id).in_(case_ids or [-1]),
            )
        )
        .order_by(col(AccessLog.at))
    ).all()
    case_of = {i.case.id: i for i in items if i.case is not None}
    uploads = files_of_submissions(
        session,
        submission_ids=[s for s in submission_ids if s is not None],
        request_ids=[r.id for r in requests if r.id is not None],
    )
    return {
        "record": {
            "id": citizen.id,
            "created_at": citizen.created_at,
            "erased_at": citizen.erased_at,
            "merged": merged,
        },
        "identifiers": [
            {
                "kind": ident.kind,
                "value": ident.value,
                "from": by_submission[ident.submission_id].submission.reference
                if ident.submission_id in by_submission
                else None,
                "department": departments.get(ident.department_id) if ident.department_id else None,
                "at": ident.created_at,
            }
            for ident in identifiers
        ],
        "submissions": [
            {
                "reference": i.submission.reference,
                "service": i.service.title,
                "service_id": i.service.id,
                "department": i.department,
                "submitted_at": i.submission.submitted_at,
                "erased_at": i.submission.erased_at,
                "answers": i.submission.answers,
                "definition": versions.get((i.submission.service_id, i.submission.service_version)) or {},
            }
            for i in items
        ],
        "cases": [
            {
                "reference": i.case.reference,
                "service": i.service.title,
                "department": i.department,
                "state": i.case.state,
                "definition": versions.get((i.case.service_id, i.case.service_version)) or {},
                "opened_at": i.case.created_at,
                "closed_at": i.case.closed_at,
                "erased_at": i.case.erased_at,
                "name": i.case.citizen_name,
                "events": [
                    {
                        "at": e.at,
                        "action": e.action,
                        "by": e.actor_kind,
                        "from_state": e.from_state,
                        "to_state": e.to_state,
                        "comment": text,
                    }
                    for e, text in events
                    if e.case_id == i.case.id
                ],
                "information_requests": [
                    {
                        "asked_at": r.created_at,
                        "questions": list(r.questions),
                        "message": r.message,
                        "answered_at": r.answered_at,
                        "answers": r.answers,
                    }
                    for r in requests
                    if r.case_id == i.case.id
                ],
                "messages": [
                    {
                        "at": m.created_at,
                        "kind": m.kind,
                        "to": m.recipient,
                        "subject": m.subject,
                        "body": m.body,
                        "status": m.status,
                        "sent_at": m.sent_at,
                    }
                    for m in messages
                    if m.case_id == i.case.id
                ],
            }
            for i in items
            if i.case is not None
        ],
        "links": [
            {
                "at": link.decided_at,
                "method": link.method,
                "submission": by_submission[link.submission_id].submission.reference
                if link.submission_id in by_submission
                else None,
                "joined_record": link.merged_citizen_id,
                "record": link.citizen_id,
                "match_weight": link.match_weight,
                "by": "staff" if link.decided_by is not None else "automatic matching",
                "undone_at": link.undone_at,
            }
            for link in links
        ],
        "possible_matches": [
            {
                "record": c.other_citizen_id if c.citizen_id in records else c.citizen_id,
                "probability": c.match_probability,
                "status": c.status,
                "at": c.created_at,
                "decided_at": c.decided_at,
            }
            for c in candidates
        ],
        "access": [
            {"at": at, "department": departments.get(department_id) if department_id else None, "action": action}
            for department_id, action, at in looked
        ],
        "files": _files(uploads, by_submission, requests, versions),
        "_cases_by_id": case_of,  # not in the report: for callers that need the rows
    }

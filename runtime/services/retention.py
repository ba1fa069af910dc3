"""Retention, erasure on request and subject access reports, as use cases (UK GDPR).

One erasure (:func:`_erase`) serves both ``civicforms retention run`` (:func:`run_retention`) and
a person's request (:func:`erase_record`, from ``civicforms citizens erase`` and the back office).
It removes the personal data of one submission and its case and keeps what statistics need: the
rows themselves (service, dates, states), the append-only case and record logs, which never held
personal data. What it does to each table (docs/definition-format.md, "Retention"):

- submission: ``answers`` emptied, ``erased_at`` set; its details (citizen_identifier) deleted;
- case: the name and its search keys emptied, ``erased_at`` set; staff comments emptied;
- information requests: the message emptied, the answers removed (the question names stay);
- messages (outbox): address, subject and text emptied; one not sent yet is marked failed
  ("erased before sending"), never sent: the row stays so that counts of messages still add up;
- form sessions that sent the submission: deleted; a pending matching job: closed;
- files (upload): the rows of the submission's and its requests' files deleted, and their bytes
  and thumbnails deleted from storage before the transaction commits (a failure rolls it back);
- the record (citizen): marked erased once none of its submissions keeps personal data, its
  remaining details deleted and its possible matches waiting for staff superseded.

A case under a legal hold in force is never erased, by retention or on request; an open case is
never erased by retention. On request, everything else of the person is erased and the held cases
are listed with their holds' reasons (a partial erasure the person is told of, as Article 17(3)(e)
allows), and the record stays until the holds are released.

Each use case owns its transaction (``atomic``); retention commits each case alone, so that a run
stopped half way has erased whole cases only and the next run carries on.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from .. import case_search
from .. import citizens as citizen_rules
from .. import erasure_reads as reads
from ..data import access, case_files
from ..data import records as record_data
from ..data.citizens import find_citizen
from ..models import (
    Case,
    CaseEvent,
    CaseEventComment,
    Citizen,
    CitizenIdentifier,
    FormSession,
    InformationRequest,
    LegalHold,
    MatchCandidate,
    MatchingJob,
    OutboxMessage,
    Submission,
    Upload,
    utcnow,
)
from . import uploading
from .unit_of_work import atomic

if TYPE_CHECKING:
    from .uploading import Uploads

RETENTION, REQUEST = "retention", "request"
MAX_KEY = 400  # the longest detail stored (citizen_identifier.value)
MAX_REASON = 500
ERASED_REASON = "(erased with the case's personal data)"
ERASED_BEFORE_SENDING = "personal data erased before sending"


class PrivacyError(Exception):
    """A request refused before anything was read or written; ``field`` says which input, and
    ``message`` why, in plain words."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NoRecord(PrivacyError):
    """No citizen record matches the key (or several do)."""


def check_key(key: Any) -> str:
    """The key as typed, refused when empty, too long or holding control characters."""
    if not isinstance(key, str) or not key.strip():
        raise PrivacyError("key", "Enter a record number, a reference or an email address")
    key = key.strip()
    if len(key) > MAX_KEY:
        raise PrivacyError("key", f"The record number, reference or email address must be {MAX_KEY} characters or less")
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        raise PrivacyError("key", "The record number, reference or email address cannot contain control characters")
    return key


def check_reason(reason: Any, *, personal: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """The reason for an erasure as it goes into the audit log: required, one line, short, and
    without the person's own details (the log keeps no personal data: give the request's reference)."""
    if not isinstance(reason, str) or not reason.strip():
        raise PrivacyError("reason", "Enter why the data is being erased, for example the request's reference")
    text = " ".join(reason.split())
    if len(text) > MAX_REASON:
        raise PrivacyError("reason", f"The reason must be {MAX_REASON} characters or less")
    if any(unicodedata.category(ch) == "Cc" for ch in reason if ch not in "\n\r\t"):
        raise PrivacyError("reason", "The reason cannot contain control characters")
    folded = citizen_rules.search_key(text) or ""
    words = set(folded.split())
    for value in personal:
        # A whole detail (an email, a number), or any word of a name ("Zebedee asked by phone").
        named = {w for w in value.split() if len(w) >= 3} if " " in value else set()
        if (len(value) >= 4 and (value in text.lower() or value in folded)) or named & words:
            raise PrivacyError(
                "reason",
                "The reason must not contain the person's details (it is kept in the audit log): "
                "give the request's reference instead",
            )
    return text


def resolve_record(*, session: Session, key: str) -> Citizen:
    """The record a key names: a record number, a submission reference, or a detail only one
    record holds (two people sharing an email address are never erased by it)."""
    key = check_key(key)
    citizen = find_citizen(session=session, key=key)
    if citizen is None or citizen.id is None:
        raise NoRecord("key", "No citizen record matches that record number, reference or detail")
    if (
        not (key.isascii() and key.isdigit())
        and session.exec(select(Submission.id).where(Submission.reference == key.upper())).first() is None
    ):
        holders = set()
        for kind in ("email", "nhs_number", "ni_number", "phone"):
            value = citizen_rules.normalise(kind, key)
            if value:
                holders |= {
                    record_data.current_record(session, c)
                    for c in session.exec(
                        select(CitizenIdentifier.citizen_id).where(
                            CitizenIdentifier.kind == kind, CitizenIdentifier.value == value
                        )
                    ).all()
                }
                break
        if len(holders) > 1:
            raise NoRecord(
                "key",
                f"{len(holders)} citizen records hold that detail: use the record number or a reference instead",
            )
    return citizen


def _personal_values(session: Session, citizen_id: int) -> set[str]:
    rows = session.exec(select(CitizenIdentifier.value).where(CitizenIdentifier.citizen_id == citizen_id)).all()
    return {str(v).lower() for v in rows}


# -- the erasure itself --------------------------------------------------------------------------


@dataclass
class Counts:
    """What an erasure removed, by kind (ids and numbers only: this goes into the audit log)."""

    submissions: int = 0
    cases: int = 0
    identifiers: int = 0
    comments: int = 0
    information_requests: int = 0
    messages: int = 0
    form_sessions: int = 0
    records: int = 0
    files: int = 0

    def add(self, other: Counts) -> None:
        for name in self.as_json():
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def _rows(result: Any) -> int:
    return max(int(result.rowcount or 0), 0)


def _forget_files(session: Session, files: Uploads | None, removed: list[Upload], queued: list[int]) -> None:
    """Queue the deletion of the bytes of the files whose rows an erasure removed, in its
    transaction (added to ``queued``: the caller deletes them once it has committed, and the
    worker tries again what the storage refuses then)."""
    if not removed:
        return
    if files is None:
        raise RuntimeError("erasing files needs the storage they are kept in (runtime.services.uploading.uploads_for)")
    queued += uploading.queue_deletion(session=session, upload_ids=[upload.id for upload in removed])


def _erase(
    session: Session,
    *,
    submission_id: int,
    why: str,
    actor_id: int | None,
    now: datetime,
    reason: str | None = None,
    files: Uploads | None = None,
    queued: list[int] | None = None,
) -> Counts | None:
    """Erase one submission's and its case's personal data, in the caller's transaction; None
    (nothing written) when its case is under a legal hold in force. The deletion of its files'
    bytes is queued in the same transaction (their ids added to ``queued``): the caller deletes
    them once it has committed (``uploading.delete_queued``), and the worker tries again what
    the storage refuses then, so a storage that fails part way never leaves half an erasure.

    The case row is locked first and the holds read after: a hold placed meanwhile (which locks
    the case too) is either seen here or waits for this erasure to commit."""
    counts = Counts()
    submission = session.get(Submission, submission_id)
    assert submission is not None
    case = session.exec(
        select(Case)
        .where(Case.submission_id == submission_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if case is not None and case.id is not None and reads.holds_in_force(session=session, case_ids=[case.id]):
        return None
    if submission.erased_at is None or submission.answers:
        submission.answers = {}
        submission.erased_at = now
        session.add(submission)
        counts.submissions = 1
    counts.identifiers = _rows(
        session.exec(delete(CitizenIdentifier).where(col(CitizenIdentifier.submission_id) == submission_id))  # type: ignore[call-overload]
    )
    counts.form_sessions = _rows(
        session.exec(delete(FormSession).where(col(FormSession.submission_reference) == submission.reference))  # type: ignore[call-overload]
    )
    session.exec(  # type: ignore[call-overload]
        update(MatchingJob)
        .where(col(MatchingJob.submission_id) == submission_id, col(MatchingJob.status) == "pending")
        .values(status="done", done_at=now, last_error=None)
    )
    if case is not None and case.id is not None:
        removed = case_files.remove_case_uploads(session, case=case)
    else:
        removed = case_files.remove_submission_uploads(session, submission_id=submission_id)
    counts.files = len(removed)
    if case is not None and case.id is not None:
        if case.erased_at is None or case.citizen_name is not None:
            case.citizen_name = case.search_name = case.search_surname = None
            case.erased_at = now
            session.add(case)
            counts.cases = 1
        if case.waiting_for_citizen:
            # Its open request is closed below: the case waits for nobody now, and staff's
            # pages opened before this erasure see that it changed.
            case.waiting_for_citizen = False
            case.lock_version += 1
            session.add(case)
        case_search.erase_terms(session, case_id=case.id)
        counts.comments = _rows(
            session.exec(  # type: ignore[call-overload]
                update(CaseEventComment)
                .where(col(CaseEventComment.case_id) == case.id, col(CaseEventComment.text).is_not(None))
                .values(text=None)
            )
        )
        counts.information_requests = _rows(
            session.exec(  # type: ignore[call-overload]
                update(InformationRequest)
                .where(col(InformationRequest.case_id) == case.id)
                .values(message="", answers=None)
            )
        )
        # A request still open is closed (as a lapse is): its link takes no more files or
        # replies (runtime.services.case_files._answerable, runtime.cases.answer_information).
        session.exec(  # type: ignore[call-overload]
            update(InformationRequest)
            .where(
                col(InformationRequest.case_id) == case.id,
                col(InformationRequest.answered_at).is_(None),
                col(InformationRequest.lapsed_at).is_(None),
            )
            .values(lapsed_at=now)
        )
        # Released holds' reasons may name people (a hold in force stops the erasure before
        # here): the hold stays, for the record that there was one, its reason goes.
        session.exec(  # type: ignore[call-overload]
            update(LegalHold)
            .where(
                col(LegalHold.case_id) == case.id,
                col(LegalHold.released_at).is_not(None),
                col(LegalHold.reason) != ERASED_REASON,
            )
            .values(reason=ERASED_REASON)
        )
        # Not sent yet: never sent now (the worker sends only pending rows). Kept, emptied.
        session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(col(OutboxMessage.case_id) == case.id, col(OutboxMessage.status) == "pending")
            .values(status="failed", last_error=ERASED_BEFORE_SENDING)
        )
        counts.messages = _rows(
            session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.case_id) == case.id, col(OutboxMessage.recipient) != "")
                .values(recipient="", subject="", body="")
            )
        )
        session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(
                col(OutboxMessage.case_id) == case.id,
                col(OutboxMessage.last_error).is_not(None),
                col(OutboxMessage.last_error) != ERASED_BEFORE_SENDING,
            )
            .values(last_error="erased")
        )
        session.add(
            CaseEvent(
                case_id=case.id,
                at=now,
                actor_id=actor_id,
                actor_kind="staff" if actor_id is not None else "system",
                action="personal-data-erased",
                detail={"by": why},
            )
        )
    detail: dict[str, Any] = {"by": why, "submission": submission_id, **counts.as_json()}
    if case is not None:
        detail["case"] = case.id
    if reason:
        detail["reason"] = reason
    record_data.event(
        session, citizen_id=submission.citizen_id, action="erased", actor_id=actor_id, detail=detail, now=now
    )
    _forget_files(session, files, removed, queued if queued is not None else [])
    return counts


def _finish_record(session: Session, *, citizen_id: int, why: str, actor_id: int | None, now: datetime) -> Counts:
    """Mark the record erased when none of its submissions keeps personal data."""
    counts = Counts()
    citizen = session.get(Citizen, citizen_id)
    if citizen is None or citizen.erased_at is not None:
        return counts
    remaining = session.exec(
        select(Submission.id).where(Submission.citizen_id == citizen_id, col(Submission.erased_at).is_(None))
    ).first()
    if remaining is not None:
        return counts
    counts.identifiers = _rows(
        session.exec(delete(CitizenIdentifier).where(col(CitizenIdentifier.citizen_id) == citizen_id))  # type: ignore[call-overload]
    )
    session.exec(  # type: ignore[call-overload]
        update(MatchCandidate)
        .where(
            (col(MatchCandidate.citizen_id) == citizen_id) | (col(MatchCandidate.other_citizen_id) == citizen_id),
            col(MatchCandidate.status) == "pending",
        )
        .values(status="superseded")
    )
    citizen.erased_at = now
    session.add(citizen)
    counts.records = 1
    record_data.event(
        session,
        citizen_id=citizen_id,
        action="record-erased",
        actor_id=actor_id,
        detail={"by": why, "identifiers": counts.identifiers},
        now=now,
    )
    return counts


# -- retention -----------------------------------------------------------------------------------


@dataclass
class RetentionResult:
    """What a run removed (or, dry, would remove), and what a legal hold kept."""

    due: list[reads.Due] = field(default_factory=list)
    held: list[tuple[reads.Due, list[reads.Hold]]] = field(default_factory=list)
    erased: Counts = field(default_factory=Counts)
    without_period: list[str] = field(default_factory=list)  # services that set no retention
    dry_run: bool = True


def run_retention(
    *,
    session: Session,
    today: date,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[reads.Due], None] | None = None,
    files: Uploads | None = None,
) -> RetentionResult:
    """Erase the personal data of every closed case past its service's retention period (its live
    version's), except those under a legal hold; each case in its own transaction, its files'
    bytes deleted (``files``) once it commits. ``dry_run`` reads only."""
    periods = reads.retention_periods(session=session)
    due, held = reads.due_for_retention(session=session, today=today, periods=periods)
    session.rollback()  # end the reads' transaction: each erasure below is its own
    result = RetentionResult(
        due=due, held=held, without_period=[s for s, p in periods.items() if p is None], dry_run=dry_run
    )
    if dry_run:
        return result
    for item in due:
        queued: list[int] = []
        with atomic(session):
            # Read again inside the transaction: a case reopened since the list (_erase checks holds).
            case = session.get(Case, item.case_id)
            if case is None or case.closed_at is None:
                continue
            moment = now or utcnow()
            erased = _erase(
                session,
                submission_id=item.submission_id,
                why=RETENTION,
                actor_id=None,
                now=moment,
                files=files,
                queued=queued,
            )
            if erased is None:
                continue
            result.erased.add(erased)
            result.erased.add(
                _finish_record(session, citizen_id=case.citizen_id, why=RETENTION, actor_id=None, now=moment)
            )
        if queued and files is not None:
            uploading.delete_queued(session=session, files=files, ids=queued)
        if progress is not None:
            progress(item)
    return result


# -- erasure on request --------------------------------------------------------------------------


@dataclass
class ErasureResult:
    """An erasure on request: what it erased, and the cases a legal hold kept with the reasons."""

    citizen_id: int
    erased: Counts
    held: list[reads.Hold]
    erased_references: list[str]

    @property
    def complete(self) -> bool:
        return not self.held


def erasure_plan(*, session: Session, key: str) -> reads.ErasurePlan:
    """What erasing the record a key names would do (reads only)."""
    citizen = resolve_record(session=session, key=key)
    assert citizen.id is not None
    plan = reads.erasure_plan(session=session, citizen_id=citizen.id)
    assert plan is not None
    return plan


def erase_record(
    *,
    session: Session,
    key: str,
    reason: str,
    actor_id: int | None,
    department_id: int | None = None,
    now: datetime | None = None,
    files: Uploads | None = None,
) -> ErasureResult:
    """Erase everything held on the person whose record ``key`` names, across every service and
    department, except cases under a legal hold (listed with their reasons); one transaction.

    ``actor_id`` is the data protection officer (None: IT, from the command line); the erasure is
    in the records' audit log with its counts and reason, and, by a member of staff, in the access
    log. The files' bytes are deleted (``files``) once the transaction commits; what the
    storage refuses then, the worker deletes later. Raises :class:`PrivacyError` (nothing
    written) for a bad key or reason."""
    moment = now or utcnow()
    queued: list[int] = []
    result = _erase_record(
        session,
        key=key,
        reason=reason,
        actor_id=actor_id,
        department_id=department_id,
        now=moment,
        files=files,
        queued=queued,
    )
    if queued and files is not None:
        uploading.delete_queued(session=session, files=files, ids=queued)
    return result


def _erase_record(
    session: Session,
    *,
    key: str,
    reason: str,
    actor_id: int | None,
    department_id: int | None,
    now: datetime,
    files: Uploads | None,
    queued: list[int],
) -> ErasureResult:
    moment = now
    with atomic(session):
        citizen = resolve_record(session=session, key=key)
        assert citizen.id is not None
        text = check_reason(reason, personal=_personal_values(session, citizen.id))
        plan = reads.erasure_plan(session=session, citizen_id=citizen.id)
        assert plan is not None
        counts = Counts()
        erased: list[str] = []
        held = plan.holds
        for item in plan.erasable:
            assert item.submission.id is not None
            done = _erase(
                session,
                submission_id=item.submission.id,
                why=REQUEST,
                actor_id=actor_id,
                now=moment,
                reason=text,
                files=files,
                queued=queued,
            )
            if done is None:  # held since the plan was read
                assert item.case is not None and item.case.id is not None
                held += reads.holds_in_force(session=session, case_ids=[item.case.id]).get(item.case.id, [])
                continue
            counts.add(done)
            erased.append(item.submission.reference)
        counts.add(_finish_record(session, citizen_id=citizen.id, why=REQUEST, actor_id=actor_id, now=moment))
        for merged in reads.merged_records(session=session, citizen_id=citizen.id):
            counts.add(_finish_record(session, citizen_id=merged, why=REQUEST, actor_id=actor_id, now=moment))
        record_data.event(
            session,
            citizen_id=citizen.id,
            action="erasure-request",
            actor_id=actor_id,
            detail={"reason": text, "held_cases": sorted({h.case_id for h in held}), **counts.as_json()},
            now=moment,
        )
        if actor_id is not None:
            access.log_access(
                session,
                staff_id=actor_id,
                action=access.ERASURE,
                citizen_id=citizen.id,
                department_id=department_id,
                detail={"held_cases": sorted({h.case_id for h in held}), **counts.as_json()},
            )
        return ErasureResult(citizen.id, counts, held, erased)


# -- subject access ------------------------------------------------------------------------------


def subject_access(
    *,
    session: Session,
    key: str,
    actor_id: int | None,
    department_id: int | None = None,
    output: str = "json",
) -> dict[str, Any]:
    """Everything held on the person whose record ``key`` names, as plain data for
    ``runtime.subject_access`` to lay out; that it was made goes into the records' audit log and,
    for a member of staff, the access log, in the same transaction."""
    with atomic(session):
        citizen = resolve_record(session=session, key=key)
        assert citizen.id is not None
        data = reads.person_data(session=session, citizen_id=citizen.id)
        record_data.event(
            session,
            citizen_id=citizen.id,
            action="subject-access",
            actor_id=actor_id,
            detail={"format": output, "submissions": len(data["submissions"]), "cases": len(data["cases"])},
        )
        if actor_id is not None:
            access.log_access(
                session,
                staff_id=actor_id,
                action=access.SUBJECT_ACCESS,
                citizen_id=citizen.id,
                department_id=department_id,
                detail={"format": output},
            )
        data.pop("_cases_by_id", None)
        return data

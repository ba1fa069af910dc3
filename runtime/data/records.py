"""Citizen records' writes that keep history: filing a submission under a record, joining two
records, undoing either, candidate pairs for staff, and the records' audit log.

Nothing is destroyed: a join moves the joined record's submissions (their cases follow, by the
cascading foreign key) and details into the other record and remembers exactly what it moved
(``citizen_link.moved``), so that a split moves exactly those back; undoing a submission's link
moves it to a record of its own. Every step writes a ``record_event`` (ids, methods and scores:
no personal data).

Keyword-only functions with an explicit session; the caller (a use case in
runtime/services/records.py or matching) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from ..models import (
    Citizen,
    CitizenIdentifier,
    CitizenLink,
    MatchCandidate,
    RecordEvent,
    RecordMerge,
    Submission,
    utcnow,
)


class RecordError(Exception):
    """A change to records that cannot be made as asked; ``message`` is for staff."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DecidedFirst(RecordError):
    """Another member of staff decided this pair (or undid this link) a moment ago."""

    def __init__(self) -> None:
        super().__init__("Someone decided this first. Nothing was changed: the page now shows their decision.")


def event(
    session: Session,
    *,
    citizen_id: int,
    action: str,
    actor_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Append one entry to the records' audit log (ids, methods and scores only)."""
    session.add(
        RecordEvent(
            citizen_id=citizen_id,
            at=now or utcnow(),
            actor_id=actor_id,
            actor_kind="staff" if actor_id is not None else "system",
            action=action,
            detail=dict(detail) if detail else None,
        )
    )


def current_record(session: Session, citizen_id: int) -> int:
    """The record a record number now stands for: itself, or the record it was joined into."""
    into = session.exec(select(RecordMerge.into_citizen_id).where(RecordMerge.citizen_id == citizen_id)).first()
    return into if into is not None else citizen_id


def link_submission(
    session: Session,
    *,
    submission_id: int,
    citizen_id: int,
    method: str,
    match_weight: float | None = None,
    evidence: Mapping[str, Any] | None = None,
    decided_by: int | None = None,
    now: datetime | None = None,
) -> CitizenLink:
    """Record that a submission was filed under ``citizen_id`` (it already is), and how."""
    link = CitizenLink(
        citizen_id=citizen_id,
        submission_id=submission_id,
        method=method,
        match_weight=match_weight,
        evidence=dict(evidence) if evidence else None,
        decided_by=decided_by,
        decided_at=now or utcnow(),
    )
    session.add(link)
    session.flush()
    event(
        session,
        citizen_id=citizen_id,
        action="record-created" if method == "new" else "submission-linked",
        actor_id=decided_by,
        detail={"submission": submission_id, "link": link.id, "method": method, "weight": match_weight},
        now=now,
    )
    return link


def _move_submissions(session: Session, submission_ids: list[int], to_citizen_id: int) -> None:
    """Move submissions (and so their cases, by the cascading foreign key) and the details they
    gave to another record."""
    if not submission_ids:
        return
    session.execute(update(Submission).where(col(Submission.id).in_(submission_ids)).values(citizen_id=to_citizen_id))
    session.execute(
        update(CitizenIdentifier)
        .where(col(CitizenIdentifier.submission_id).in_(submission_ids))
        .values(citizen_id=to_citizen_id)
    )
    # The ORM's copies of the case rows are stale after the cascade: read them again when used.
    session.expire_all()


def merge_records(
    session: Session,
    *,
    citizen_id: int,
    into_citizen_id: int,
    method: str,
    match_weight: float | None = None,
    evidence: Mapping[str, Any] | None = None,
    decided_by: int | None = None,
    now: datetime | None = None,
) -> CitizenLink:
    """Join record ``citizen_id`` into ``into_citizen_id``: its submissions and details move,
    records joined into it earlier now point at the new one, and the join can be split again."""
    if citizen_id == into_citizen_id:
        raise RecordError("A record cannot be joined to itself")
    for cid in (citizen_id, into_citizen_id):
        if current_record(session, cid) != cid:
            raise RecordError(f"Record {cid} was joined into another record: use that one")
    now = now or utcnow()
    moved = [
        sid for sid in session.exec(select(Submission.id).where(Submission.citizen_id == citizen_id)) if sid is not None
    ]
    link = CitizenLink(
        citizen_id=into_citizen_id,
        merged_citizen_id=citizen_id,
        method=method,
        match_weight=match_weight,
        evidence=dict(evidence) if evidence else None,
        moved=moved,
        decided_by=decided_by,
        decided_at=now,
    )
    session.add(link)
    session.flush()
    assert link.id is not None
    _move_submissions(session, moved, into_citizen_id)
    session.execute(
        update(RecordMerge)
        .where(col(RecordMerge.into_citizen_id) == citizen_id)
        .values(into_citizen_id=into_citizen_id)
    )
    session.add(RecordMerge(citizen_id=citizen_id, into_citizen_id=into_citizen_id, link_id=link.id))
    # Pairs of the joined record are moot: the survivor's own pairs stand.
    session.execute(
        update(MatchCandidate)
        .where(
            col(MatchCandidate.status) == "pending",
            (col(MatchCandidate.citizen_id) == citizen_id) | (col(MatchCandidate.other_citizen_id) == citizen_id),
        )
        .values(status="superseded", decided_at=now)
    )
    detail = {"link": link.id, "method": method, "weight": match_weight, "submissions": len(moved)}
    event(
        session,
        citizen_id=into_citizen_id,
        action="records-joined",
        actor_id=decided_by,
        detail={**detail, "joined": citizen_id},
        now=now,
    )
    event(
        session,
        citizen_id=citizen_id,
        action="joined-into",
        actor_id=decided_by,
        detail={**detail, "into": into_citizen_id},
        now=now,
    )
    return link


def undo_link(session: Session, *, link_id: int, by: int | None, now: datetime | None = None) -> int:
    """Undo a link: a join is split (the joined record gets back exactly the submissions the
    join moved that are still on the survivor), a submission's link moves the submission to a
    record of its own. Returns the record that now holds what was undone. Raises DecidedFirst
    when the link was undone already."""
    now = now or utcnow()
    link = session.get(CitizenLink, link_id)
    if link is None:
        raise RecordError("There is no such link")
    claimed = session.execute(
        update(CitizenLink)
        .where(col(CitizenLink.id) == link_id, col(CitizenLink.undone_at).is_(None))
        .values(undone_at=now, undone_by=by)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DecidedFirst()
    if link.merged_citizen_id is not None:
        back = link.merged_citizen_id
        still_here = [
            sid
            for sid in session.exec(
                select(Submission.id).where(
                    col(Submission.id).in_(link.moved or []), Submission.citizen_id == link.citizen_id
                )
            )
            if sid is not None
        ]
        _move_submissions(session, still_here, back)
        merge = session.get(RecordMerge, back)
        if merge is not None:
            session.delete(merge)
        # Undoing a join says these are different people: the pair is not suggested or joined
        # again (until someone reopens it from the record page).
        _decide_different(session, link.citizen_id, back, by=by, now=now)
        detail = {"link": link_id, "submissions": len(still_here)}
        event(
            session,
            citizen_id=link.citizen_id,
            action="records-split",
            actor_id=by,
            detail={**detail, "split": back},
            now=now,
        )
        event(
            session,
            citizen_id=back,
            action="split-from",
            actor_id=by,
            detail={**detail, "from": link.citizen_id},
            now=now,
        )
        return back
    assert link.submission_id is not None
    record = Citizen(created_at=now)
    session.add(record)
    session.flush()
    assert record.id is not None
    _move_submissions(session, [link.submission_id], record.id)
    session.add(
        CitizenLink(
            citizen_id=record.id, submission_id=link.submission_id, method="staff", decided_by=by, decided_at=now
        )
    )
    detail = {"link": link_id, "submission": link.submission_id}
    event(
        session,
        citizen_id=link.citizen_id,
        action="submission-unlinked",
        actor_id=by,
        detail={**detail, "to": record.id},
        now=now,
    )
    event(
        session,
        citizen_id=record.id,
        action="record-created",
        actor_id=by,
        detail={**detail, "from": link.citizen_id},
        now=now,
    )
    return record.id


def suggest_pair(
    session: Session,
    *,
    citizen_id: int,
    other_citizen_id: int,
    match_weight: float | None,
    match_probability: float | None,
    evidence: Mapping[str, Any],
    submission_id: int | None = None,
    now: datetime | None = None,
) -> MatchCandidate | None:
    """Put a pair of records in front of staff, or update its score if it is still waiting.
    A pair decided (either way) is never suggested again: None."""
    low, high = sorted((citizen_id, other_citizen_id))
    if low == high:
        return None
    found = session.exec(
        select(MatchCandidate).where(MatchCandidate.citizen_id == low, MatchCandidate.other_citizen_id == high)
    ).first()
    if found is not None:
        if found.status != "pending":
            return None
        found.match_weight, found.match_probability, found.evidence = match_weight, match_probability, dict(evidence)
        session.add(found)
        return found
    candidate = MatchCandidate(
        citizen_id=low,
        other_citizen_id=high,
        match_weight=match_weight,
        match_probability=match_probability,
        evidence=dict(evidence),
        submission_id=submission_id,
        created_at=now or utcnow(),
    )
    session.add(candidate)
    session.flush()
    for cid in (low, high):
        event(
            session,
            citizen_id=cid,
            action="possible-match",
            detail={"candidate": candidate.id, "weight": match_weight},
            now=now,
        )
    return candidate


def _decide_different(
    session: Session, citizen_id: int, other_citizen_id: int, *, by: int | None, now: datetime
) -> None:
    """The pair of records is two people, as staff said by undoing their join."""
    low, high = sorted((citizen_id, other_citizen_id))
    found = session.exec(
        select(MatchCandidate).where(MatchCandidate.citizen_id == low, MatchCandidate.other_citizen_id == high)
    ).first()
    if found is None:
        found = MatchCandidate(citizen_id=low, other_citizen_id=high, evidence={}, created_at=now)
    found.status, found.decided_by, found.decided_at = "different", by, now
    session.add(found)


def decided_different(session: Session, citizen_id: int, other_citizen_id: int) -> bool:
    """Staff said these two records are different people."""
    low, high = sorted((citizen_id, other_citizen_id))
    return (
        session.exec(
            select(MatchCandidate.id).where(
                MatchCandidate.citizen_id == low,
                MatchCandidate.other_citizen_id == high,
                MatchCandidate.status == "different",
            )
        ).first()
        is not None
    )


def decide_pair(
    session: Session, *, candidate_id: int, same: bool, by: int, now: datetime | None = None
) -> CitizenLink | None:
    """Staff decide a waiting pair: the same person (the newer record is joined into the older;
    returns the link) or different people (the pair is never suggested again; None). Raises
    DecidedFirst when someone decided it a moment ago: nothing changes."""
    now = now or utcnow()
    status = "same" if same else "different"
    claimed = session.execute(
        update(MatchCandidate)
        .where(col(MatchCandidate.id) == candidate_id, col(MatchCandidate.status) == "pending")
        .values(status=status, decided_by=by, decided_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DecidedFirst()
    candidate = session.get(MatchCandidate, candidate_id)
    assert candidate is not None
    session.refresh(candidate)
    for cid in (candidate.citizen_id, candidate.other_citizen_id):
        event(
            session,
            citizen_id=cid,
            action=f"decided-{status}",
            actor_id=by,
            detail={"candidate": candidate_id},
            now=now,
        )
    if not same:
        return None
    return merge_records(
        session,
        citizen_id=candidate.other_citizen_id,
        into_citizen_id=candidate.citizen_id,
        method="staff",
        match_weight=candidate.match_weight,
        evidence=candidate.evidence,
        decided_by=by,
        now=now,
    )


def reopen_pair(session: Session, *, candidate_id: int, by: int, now: datetime | None = None) -> None:
    """Undo a "different people" decision: the pair waits for staff again."""
    now = now or utcnow()
    claimed = session.execute(
        update(MatchCandidate)
        .where(col(MatchCandidate.id) == candidate_id, col(MatchCandidate.status) == "different")
        .values(status="pending", decided_by=by, decided_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DecidedFirst()
    candidate = session.get(MatchCandidate, candidate_id)
    assert candidate is not None
    for cid in (candidate.citizen_id, candidate.other_citizen_id):
        event(
            session, citizen_id=cid, action="decision-undone", actor_id=by, detail={"candidate": candidate_id}, now=now
        )

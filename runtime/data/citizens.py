"""Citizen records at submit time (the deterministic tier, runtime.citizens), and reading them.

``match_submission`` looks up the records that share a detail with a submission (one probe of
the (kind, value) index per detail) and asks ``citizens.decide`` about each: a record that is
clearly this person gets the submission; otherwise a new record does, and when any record
shared a detail a matching job is written in the same transaction for ``civicforms worker``
(runtime/services/matching.py) to score with Splink. ``file_details`` then keeps the
submission's details on its record, each naming the submission and its department.

Keyword-only functions with an explicit session; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, insert, or_, text
from sqlmodel import Session, col, select

from .. import citizens
from ..models import Citizen, CitizenIdentifier, MatchCandidate, MatchingJob, Service, Submission, utcnow
from . import records


@dataclass
class Filing:
    """Where the deterministic tier filed a submission, and why."""

    citizen_id: int
    method: str  # "exact" (joined a record that is clearly this person) or "new"
    evidence: dict[str, str] = field(default_factory=dict)  # field: agree | close | disagree | missing
    closer_look: bool = False  # some record shared a detail: the worker scores the submission


def identifier_lookup(keys: list[tuple[str, str]]) -> ColumnElement[bool]:
    """``(kind, value)`` is one of ``keys``: an OR of (kind = ... AND value = ...), so that each
    pair is one probe of the (kind, value) index instead of a read of the whole table."""
    return or_(
        *(and_(col(CitizenIdentifier.kind) == kind, col(CitizenIdentifier.value) == value) for kind, value in keys)
    )


def held(session: Session, citizen_ids: list[int]) -> dict[int, dict[str, set[str]]]:
    """The details each of these records holds: record -> kind -> values."""
    out: dict[int, dict[str, set[str]]] = {cid: {} for cid in citizen_ids}
    if citizen_ids:
        for cid, kind, value in session.exec(
            select(CitizenIdentifier.citizen_id, CitizenIdentifier.kind, CitizenIdentifier.value).where(
                col(CitizenIdentifier.citizen_id).in_(citizen_ids)
            )
        ):
            out[cid].setdefault(kind, set()).add(value)
    return out


def _lock(session: Session, keys: list[tuple[str, str]]) -> None:
    """PostgreSQL: one transaction at a time per detail, so that the same new person sending two
    forms at once gets one record (the second waits, then finds the first). SQLite's
    ``BEGIN IMMEDIATE`` (runtime.data.submissions) serialises every submit already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    numbers = sorted(
        {int.from_bytes(hashlib.sha256(f"{k}:{v}".encode()).digest()[:8], "big", signed=True) for k, v in keys}
    )
    # One statement, taking the locks in order (two submits never wait on each other).
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(n)) FROM "
            "(SELECT unnest(CAST(:numbers AS bigint[])) AS n ORDER BY n) AS ordered"
        ),
        {"numbers": numbers},
    )


def match_submission(*, session: Session, found: Mapping[str, str]) -> Filing:
    """The deterministic tier: the record a submission with these details is filed under (made
    here when none is clearly this person), and whether the worker should look closer."""
    keys = citizens.lookup_keys(found)
    shared: dict[int, set[str]] = {}  # record: the kinds it shares with the submission
    if keys:
        _lock(session, keys)
        for cid, kind in session.exec(
            select(CitizenIdentifier.citizen_id, CitizenIdentifier.kind)
            .join(Citizen, col(Citizen.id) == CitizenIdentifier.citizen_id)
            .where(identifier_lookup(keys), col(Citizen.erased_at).is_(None))
        ):
            shared.setdefault(cid, set()).add(kind)
    # Only a record sharing the name and the date of birth can be clearly this person: the rest
    # (some 35 records share any one birthday at a million records) are the worker's to score,
    # and are not read here.
    candidates = sorted(cid for cid, kinds in shared.items() if {"full_name", "date_of_birth"} <= kinds)
    chosen: tuple[int, dict[str, str]] | None = None
    others = len(shared) > len(candidates)
    details = held(session, candidates)
    for cid in candidates:
        verdict, fields = citizens.decide(found, details[cid])
        if verdict == citizens.SAME and chosen is None:
            chosen = (cid, fields)
        else:
            others = True
    if chosen is not None:
        return Filing(chosen[0], "exact", chosen[1], closer_look=others)
    record = Citizen()
    session.add(record)
    session.flush()
    assert record.id is not None
    return Filing(record.id, "new", {}, closer_look=bool(shared))


def file_details(*, session: Session, submission: Submission, found: Mapping[str, str], filing: Filing) -> None:
    """Keep a stored submission's details on its record (naming the submission and its
    department), record how it was filed, and write the matching job if it needs one."""
    assert submission.id is not None
    if found:
        # One statement for every detail, the department read in it (no row objects are needed).
        session.execute(
            insert(CitizenIdentifier).values(
                department_id=select(Service.department_id).where(Service.id == submission.service_id).scalar_subquery()
            ),
            [
                {
                    "citizen_id": filing.citizen_id,
                    "kind": kind,
                    "value": value,
                    "submission_id": submission.id,
                    "created_at": utcnow(),
                }
                for kind, value in found.items()
            ],
        )
    records.link_submission(
        session,
        submission_id=submission.id,
        citizen_id=filing.citizen_id,
        method=filing.method,
        evidence={k: {"level": v} for k, v in filing.evidence.items()} if filing.evidence else None,
    )
    if filing.closer_look:
        session.add(MatchingJob(submission_id=submission.id))


# -- reading ---------------------------------------------------------------------------------


def find_citizen(*, session: Session, key: str) -> Citizen | None:
    """A record by its number, a submission reference, or a strong detail (email, NHS or NI
    number, phone); a record that was joined into another gives that one."""
    key = key.strip()
    if not key or len(key) > 400 or any(ord(ch) < 32 for ch in key):
        return None  # nothing stored looks like that (and PostgreSQL refuses NUL bytes)
    found: int | None = None
    if key.isascii() and key.isdigit() and int(key) < 2**31 and session.get(Citizen, int(key)) is not None:
        found = int(key)
    if found is None:
        found = session.exec(select(Submission.citizen_id).where(Submission.reference == key.upper())).first()
    if found is None:
        for kind in ("email", "nhs_number", "ni_number", "phone"):
            value = citizens.normalise(kind, key)
            if value:
                found = session.exec(
                    select(CitizenIdentifier.citizen_id)
                    .where(CitizenIdentifier.kind == kind, CitizenIdentifier.value == value)
                    .order_by(col(CitizenIdentifier.id))
                ).first()
                if found is not None:
                    break
    return session.get(Citizen, records.current_record(session, found)) if found is not None else None


def citizen_submissions(*, session: Session, citizen_id: int) -> list[tuple[Submission, Service]]:
    rows = session.exec(
        select(Submission, Service)
        .join(Service, col(Service.id) == Submission.service_id)
        .where(Submission.citizen_id == citizen_id)
        .order_by(col(Submission.submitted_at), col(Submission.id))
    ).all()
    return [(s, svc) for s, svc in rows]


def citizen_identifiers(
    *, session: Session, citizen_id: int, department_ids: list[int] | None = None
) -> list[CitizenIdentifier]:
    """A record's details, oldest first; only those given to ``department_ids`` when named."""
    query = select(CitizenIdentifier).where(CitizenIdentifier.citizen_id == citizen_id)
    if department_ids is not None:
        query = query.where(col(CitizenIdentifier.department_id).in_(department_ids))
    return list(session.exec(query.order_by(col(CitizenIdentifier.kind), col(CitizenIdentifier.id))))


def possible_matches(
    *, session: Session, citizen_id: int | None = None, status: str = "pending", limit: int = 100
) -> list[MatchCandidate]:
    """Pairs waiting for staff (or decided ``status``) of one record, or every one; newest first."""
    query = select(MatchCandidate).where(MatchCandidate.status == status)
    if citizen_id is not None:
        query = query.where(
            or_(col(MatchCandidate.citizen_id) == citizen_id, col(MatchCandidate.other_citizen_id) == citizen_id)
        )
    return list(session.exec(query.order_by(col(MatchCandidate.id).desc()).limit(limit)))

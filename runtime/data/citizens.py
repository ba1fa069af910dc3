"""Citizen records: the record a submission joins (the rule is in runtime/citizens.py), the
identifiers each holds, possible matches, and finding a record for staff.

Keyword-only functions with an explicit session; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from .. import citizens
from ..models import Citizen, CitizenIdentifier, Service, Submission
from ..models import PossibleMatch as PossibleMatchRow


def _held(session: Session, citizen_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """The identifiers (kind, value) each of these records holds."""
    held: dict[int, list[tuple[str, str]]] = {cid: [] for cid in citizen_ids}
    if citizen_ids:
        for row in session.exec(select(CitizenIdentifier).where(col(CitizenIdentifier.citizen_id).in_(citizen_ids))):
            held[row.citizen_id].append((row.kind, row.value))
    return held


def _mark_possible_matches(session: Session, citizen_id: int, others: dict[int, str]) -> None:
    """Mark record ``citizen_id`` and each of ``others`` (record: the kind they both claimed) as
    a possible match, once per pair and kind. The rows are added, not flushed: they are written
    with the submission, whose retry on a clash (create_submission) covers two identical marks
    made at the same moment."""
    wanted = {
        (min(citizen_id, other), max(citizen_id, other), kind) for other, kind in others.items() if other != citizen_id
    }
    if not wanted:
        return
    have = set(
        session.exec(
            select(PossibleMatchRow.citizen_id, PossibleMatchRow.other_citizen_id, PossibleMatchRow.kind).where(
                or_(
                    *(
                        and_(
                            col(PossibleMatchRow.citizen_id) == low,
                            col(PossibleMatchRow.other_citizen_id) == high,
                            col(PossibleMatchRow.kind) == kind,
                        )
                        for low, high, kind in wanted
                    )
                )
            )
        )
    )
    for low, high, kind in sorted(wanted - have):
        session.add(PossibleMatchRow(citizen_id=low, other_citizen_id=high, kind=kind))


@dataclass(frozen=True)
class PossibleMatch:
    """Two records that may be one person: ``other_id`` claimed an identifier of kind ``kind``
    that ``citizen_id`` holds, or the other way round, while contradicting it on another."""

    citizen_id: int
    other_id: int
    kind: str
    marked_at: datetime


def possible_matches(*, session: Session, citizen_id: int | None = None, limit: int = 100) -> list[PossibleMatch]:
    """The possible matches of one record, or (``citizen_id`` None) every pair once; newest first."""
    query = select(PossibleMatchRow)
    if citizen_id is not None:
        query = query.where(
            or_(col(PossibleMatchRow.citizen_id) == citizen_id, col(PossibleMatchRow.other_citizen_id) == citizen_id)
        )
    rows = session.exec(query.order_by(col(PossibleMatchRow.id).desc()).limit(limit))
    out = []
    for row in rows:
        if citizen_id is not None and row.other_citizen_id == citizen_id:
            out.append(PossibleMatch(citizen_id, row.citizen_id, row.kind, row.created_at))
        else:
            out.append(PossibleMatch(row.citizen_id, row.other_citizen_id, row.kind, row.created_at))
    return out


def identifier_lookup(keys: list[tuple[str, str]]) -> ColumnElement[bool]:
    """``(kind, value)`` is one of ``keys``: an OR of (kind = ... AND value = ...), so that each
    pair is one probe of the unique (kind, value) index instead of a read of the whole table."""
    return or_(
        *(and_(col(CitizenIdentifier.kind) == kind, col(CitizenIdentifier.value) == value) for kind, value in keys)
    )


def find_or_create_citizen(*, session: Session, found: dict[str, str]) -> Citizen:
    """The record this submission joins, else a new one; adds its identifiers no record holds yet.

    The rule is in runtime/citizens.py: of the records holding one of the submission's
    identifiers, only one that ``citizens.conflicts`` finds no contradiction with may be joined
    (the one sharing the strongest identifier); every other such record is marked as a possible
    match of the one used. Identifiers already pointing at another record are left there: two
    records that look like one person are for staff to review, never merged here.
    """
    keys = citizens.match_order(found)
    citizen: Citizen | None = None
    owners: dict[tuple[str, str], int] = {}
    candidates: dict[int, str] = {}  # record: the strongest kind it shares, strongest first
    if keys:
        rows = session.exec(select(CitizenIdentifier).where(identifier_lookup(keys))).all()
        owners = {(r.kind, r.value): r.citizen_id for r in rows}
        for key in keys:
            if key in owners:
                candidates.setdefault(owners[key], key[0])
        held = _held(session, list(candidates))
        for candidate in candidates:
            if not citizens.conflicts(found, held[candidate]):
                citizen = session.get(Citizen, candidate)
                break
    created = citizen is None
    if citizen is None:
        citizen = Citizen()
        session.add(citizen)
        session.flush()
    citizen_id = citizen.id
    assert citizen_id is not None  # flushed above or loaded
    for kind, value in keys:
        if (kind, value) in owners:
            continue
        try:
            with session.begin_nested():
                session.add(CitizenIdentifier(citizen_id=citizen_id, kind=kind, value=value))
            created = False  # the new record now has an identifier of its own
        except IntegrityError:
            # Another submission claimed this identifier a moment ago. A record made here and
            # still empty is dropped for that one if it may be joined, so that the same person
            # arriving twice at once is still one citizen; otherwise the identifier stays where
            # it is, and the two records are a possible match.
            owner = session.exec(
                select(CitizenIdentifier).where(CitizenIdentifier.kind == kind, CitizenIdentifier.value == value)
            ).first()
            if owner is None or owner.citizen_id == citizen_id:
                continue
            if created and not citizens.conflicts(found, _held(session, [owner.citizen_id])[owner.citizen_id]):
                session.delete(citizen)
                session.flush()
                citizen = session.get(Citizen, owner.citizen_id)
                assert citizen is not None
                citizen_id, created = owner.citizen_id, False
            else:
                candidates.setdefault(owner.citizen_id, kind)
    _mark_possible_matches(session, citizen_id, candidates)
    return citizen


def find_citizen(*, session: Session, key: str) -> Citizen | None:
    """A citizen by record number or by any identifier (email, NHS number, ...)."""
    key = key.strip()
    if not key or len(key) > 400 or any(ord(ch) < 32 for ch in key):
        return None  # nothing stored looks like that (and PostgreSQL refuses NUL bytes)
    if key.isascii() and key.isdigit() and int(key) < 2**31:
        found = session.get(Citizen, int(key))
        if found is not None:
            return found
    for kind in (*citizens.STRONG_KINDS,):
        value = citizens.normalise(kind, key)
        if value:
            row = session.exec(
                select(CitizenIdentifier).where(CitizenIdentifier.kind == kind, CitizenIdentifier.value == value)
            ).first()
            if row is not None:
                return session.get(Citizen, row.citizen_id)
    return None


def citizen_submissions(*, session: Session, citizen_id: int) -> list[tuple[Submission, Service]]:
    rows = session.exec(
        select(Submission, Service)
        .join(Service, col(Service.id) == Submission.service_id)
        .where(Submission.citizen_id == citizen_id)
        .order_by(col(Submission.submitted_at), col(Submission.id))
    ).all()
    return [(s, svc) for s, svc in rows]


def citizen_identifiers(*, session: Session, citizen_id: int) -> list[CitizenIdentifier]:
    return list(
        session.exec(
            select(CitizenIdentifier)
            .where(CitizenIdentifier.citizen_id == citizen_id)
            .order_by(col(CitizenIdentifier.kind))
        )
    )

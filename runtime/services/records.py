"""Citizen records' use cases for the back office: staff decide a possible match, undo a link
or split a join, reopen a "different people" decision; and the access log rows of a search or
a view of a record. Each owns its transaction (``atomic``); runtime.data.records keeps the
history and the records' audit log.

Who may act is checked again here, inside the transaction: the pair (or link) must touch a
department the member of staff reviews for.
"""

from __future__ import annotations

from sqlmodel import Session

from .. import record_reads
from ..data import access
from ..data import records as data
from ..models import CitizenLink
from .access import record_access
from .unit_of_work import atomic

RecordError = data.RecordError
DecidedFirst = data.DecidedFirst


class NotFound(Exception):
    """No such pair or link, or none this member of staff may act on."""


def _department(department_ids: list[int]) -> int | None:
    """The department an access log row is in the name of: the viewer's one, when they have one."""
    return department_ids[0] if len(department_ids) == 1 else None


def log_search(*, session: Session, staff_id: int, fields: list[str], department_ids: list[int]) -> None:
    """One access log row for a search: what it searched by, never what it searched for."""
    record_access(
        session=session,
        staff_id=staff_id,
        action=access.SEARCH,
        department_id=_department(department_ids),
        detail={"by": sorted(fields)},
    )


def log_view(*, session: Session, staff_id: int, citizen_id: int, department_ids: list[int]) -> None:
    """One access log row for a look at a record."""
    record_access(
        session=session,
        staff_id=staff_id,
        action=access.VIEW_RECORD,
        citizen_id=citizen_id,
        department_id=_department(department_ids),
    )


def log_pair_view(
    *, session: Session, staff_id: int, candidate_id: int, citizen_ids: list[int], department_ids: list[int]
) -> None:
    """Access log rows for a look at a pair side by side: it shows both records' details, so it
    is a view of each (the pair's id says where it was seen; no personal data)."""
    with atomic(session):
        for citizen_id in citizen_ids:
            access.log_access(
                session,
                staff_id=staff_id,
                action=access.VIEW_RECORD,
                citizen_id=citizen_id,
                department_id=_department(department_ids),
                detail={"pair": candidate_id},
            )


def decide(*, session: Session, staff_id: int, candidate_id: int, same: bool, department_ids: list[int]) -> int:
    """Decide a waiting pair: the same person (the newer record is joined into the older) or
    different people. Returns the record to show next. DecidedFirst when someone decided it a
    moment ago (nothing changes)."""
    with atomic(session):
        candidate = record_reads.reviewable(session, candidate_id=candidate_id, department_ids=department_ids)
        if candidate is None:
            raise NotFound()
        data.decide_pair(session, candidate_id=candidate_id, same=same, by=staff_id)
        return candidate.citizen_id


def reopen(*, session: Session, staff_id: int, candidate_id: int, department_ids: list[int]) -> None:
    """Undo a "different people" decision: the pair waits for staff again."""
    with atomic(session):
        if record_reads.reviewable(session, candidate_id=candidate_id, department_ids=department_ids) is None:
            raise NotFound()
        data.reopen_pair(session, candidate_id=candidate_id, by=staff_id)


def undo_link(*, session: Session, staff_id: int, link_id: int, citizen_id: int, department_ids: list[int]) -> int:
    """Undo a link of record ``citizen_id``: split a join, or move a submission to a record of
    its own. Returns the record that now holds what was undone. DecidedFirst when it was undone
    a moment ago."""
    with atomic(session):
        link = record_reads.link_of_record(session, link_id=link_id, citizen_id=citizen_id)
        if link is None or not _link_reviewable(session, link, department_ids):
            raise NotFound()
        return data.undo_link(session, link_id=link_id, by=staff_id)


def _link_reviewable(session: Session, link: CitizenLink, department_ids: list[int]) -> bool:
    """A join: either record has a submission in a department this member reviews for. A form
    filed under a record: the form was sent to such a department (another department's filing is
    theirs to judge: this member may not even see the form)."""
    if link.merged_citizen_id is None and link.submission_id is not None:
        return record_reads.submission_in_departments(
            session, submission_id=link.submission_id, department_ids=department_ids
        )
    sides = [link.citizen_id] + ([link.merged_citizen_id] if link.merged_citizen_id is not None else [])
    return record_reads.records_in_departments(session, citizen_ids=sides, department_ids=department_ids)

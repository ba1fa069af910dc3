"""Links between records keep their history: a join moves submissions and can be split again,
undoing a join stops the pair being joined or suggested again, and two decisions on one pair
at once leave one decision (runtime/data/records.py)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from runtime.data import records
from runtime.models import CitizenLink, MatchCandidate, RecordEvent, RecordMerge, Submission
from tests.runtime.helpers import gp_answers, send_answers


def _two_records(db):  # type: ignore[no-untyped-def]
    # The same person twice: another email and a new postcode, no NHS number: two records.
    a = send_answers(db, "register-with-gp", gp_answers("Ann Other", "1980-02-03", "WB1 2AB", "ann@example.com"))
    b = send_answers(db, "register-with-gp", gp_answers("Anne Other", "1980-02-03", "WB9 9ZZ", "ao@work.example"))
    assert a != b
    return a, b


def _records_of(db) -> list[int]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return [s.citizen_id for s in db.exec(select(Submission).order_by(Submission.id))]


def test_a_decided_join_moves_the_submissions_and_a_split_moves_exactly_them_back(db_session) -> None:  # type: ignore[no-untyped-def]
    a, b = _two_records(db_session)
    pair = records.suggest_pair(
        db_session, citizen_id=a, other_citizen_id=b, match_weight=12.5, match_probability=0.99, evidence={}
    )
    assert pair is not None and pair.id is not None
    link = records.decide_pair(db_session, candidate_id=pair.id, same=True, by=None)  # type: ignore[arg-type]
    db_session.commit()
    assert link is not None and _records_of(db_session) == [a, a]
    assert records.current_record(db_session, b) == a
    # A third submission of the joined-in person lands on the survivor; the split leaves it there.
    records.undo_link(db_session, link_id=link.id, by=None)
    db_session.commit()
    assert _records_of(db_session) == [a, b]
    assert db_session.get(RecordMerge, b) is None
    assert db_session.get(CitizenLink, link.id).undone_at is not None
    # Undoing the join is a decision that they are two people: never suggested again.
    stored = db_session.exec(select(MatchCandidate)).one()
    assert stored.status == "different"
    assert records.decided_different(db_session, a, b)
    assert (
        records.suggest_pair(
            db_session, citizen_id=b, other_citizen_id=a, match_weight=30, match_probability=1, evidence={}
        )
        is None
    )
    # ... until someone reopens it.
    records.reopen_pair(db_session, candidate_id=stored.id, by=None)  # type: ignore[arg-type]
    db_session.commit()
    db_session.refresh(stored)
    assert stored.status == "pending"
    actions = [
        e.action
        for e in db_session.exec(select(RecordEvent).where(RecordEvent.citizen_id == a).order_by(RecordEvent.id))
    ]
    assert actions[-4:] == ["decided-same", "records-joined", "records-split", "decision-undone"]


def test_a_second_decision_or_undo_on_the_same_thing_changes_nothing(db_session) -> None:  # type: ignore[no-untyped-def]
    a, b = _two_records(db_session)
    pair = records.suggest_pair(
        db_session, citizen_id=a, other_citizen_id=b, match_weight=9.0, match_probability=0.9, evidence={}
    )
    assert pair is not None and pair.id is not None
    records.decide_pair(db_session, candidate_id=pair.id, same=False, by=None)  # type: ignore[arg-type]
    db_session.commit()
    with pytest.raises(records.DecidedFirst, match="Someone decided this first"):
        records.decide_pair(db_session, candidate_id=pair.id, same=True, by=None)  # type: ignore[arg-type]
    db_session.rollback()
    assert _records_of(db_session) == [a, b]
    link = db_session.exec(select(CitizenLink).where(CitizenLink.submission_id.is_not(None))).first()  # type: ignore[union-attr]
    assert link is not None
    moved_to = records.undo_link(db_session, link_id=link.id, by=None)
    db_session.commit()
    assert moved_to not in (a, b)
    with pytest.raises(records.DecidedFirst):
        records.undo_link(db_session, link_id=link.id, by=None)
    db_session.rollback()

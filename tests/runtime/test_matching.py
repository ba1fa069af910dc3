"""The probabilistic tier in `civicforms worker`: who is joined, who goes to staff, who is left apart."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from runtime.data import records
from runtime.models import CitizenLink, LinkageModel, MatchCandidate, MatchingJob, Submission
from runtime.services import matching
from tests.runtime.helpers import badge_answers, citizen_count, gp_answers, send_answers


def work(db: Session, settings: Any) -> matching.Summary:
    summary = matching.run_jobs(db, limit=50, settings=settings)
    db.expire_all()
    return summary


def pairs(db: Session, status: str = "pending") -> set[tuple[int, int]]:
    return {
        (m.citizen_id, m.other_citizen_id)
        for m in db.exec(select(MatchCandidate).where(MatchCandidate.status == status))
    }


def record_of(db: Session, citizen_id: int) -> int:
    return records.current_record(db, citizen_id)


def test_a_returning_resident_with_a_nickname_and_a_new_email_is_joined_by_the_worker(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("William Henry Smith", "1980-03-07", "WB1 2AB", "will@example.com"),
    )
    second = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Bill Smith", "1980-03-07", "WB1 2AB", "bill.new@example.org"),
    )
    assert first != second  # the exact tier is unsure: a record of its own and a job
    assert db_session.exec(select(MatchingJob.status)).all() == ["pending"]
    summary = work(db_session, settings)
    assert (summary.jobs, summary.done, summary.joined) == (1, 1, 1)
    assert record_of(db_session, second) == first
    assert citizen_count(db_session) == 2  # both rows kept: the join can be split
    assert {s.citizen_id for s in db_session.exec(select(Submission))} == {first}
    link = db_session.exec(select(CitizenLink).where(CitizenLink.merged_citizen_id == second)).one()
    assert link.method == "probabilistic" and link.decided_by is None
    assert link.match_weight is not None and link.match_weight >= settings.match_link_weight
    assert link.evidence["name"]["level"] == "close"
    assert link.evidence["date_of_birth"] == {
        "level": "agree",
        "weight": pytest.approx(link.evidence["date_of_birth"]["weight"]),
    }
    assert link.evidence["email"]["level"] == "disagree"
    assert "value" not in str(link.evidence) and "bill" not in str(link.evidence).lower()
    assert db_session.exec(select(MatchingJob.status)).all() == ["done"]
    assert work(db_session, settings).jobs == 0  # nothing left to do


def test_a_couple_sharing_email_phone_and_address_stay_two_records_with_no_link(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(
        db_session, "register-with-gp", gp_answers("Jane Smith", "1950-07-03", "WB1 2AB", "smiths@example.com")
    )
    second = send_answers(
        db_session, "register-with-gp", gp_answers("John Brown", "1948-11-20", "WB1 2AB", "SMITHS@example.com")
    )
    assert first != second
    work(db_session, settings)
    assert record_of(db_session, second) == second
    assert pairs(db_session) == set()


def test_twins_at_one_address_are_never_joined(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(
        db_session, "register-with-gp", gp_answers("Amy Jones", "2001-05-09", "WB1 2AB", "jones@example.com")
    )
    second = send_answers(
        db_session, "register-with-gp", gp_answers("Beth Jones", "2001-05-09", "WB1 2AB", "jones@example.com")
    )
    summary = work(db_session, settings)
    assert summary.joined == 0
    assert record_of(db_session, second) == second != first
    assert pairs(db_session) <= {(first, second)}  # at most a question for staff


def test_namesakes_are_separate(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(
        db_session, "register-with-gp", gp_answers("Mohammed Khan", "1970-01-01", "WB1 2AB", "mk@example.com")
    )
    answers = gp_answers("Mohammed Khan", "1992-08-30", "ZZ9 9ZZ", "khan.m@example.org")
    answers["phone"] = "07700 900 456"
    second = send_answers(db_session, "register-with-gp", answers)
    work(db_session, settings)
    assert first != second and record_of(db_session, second) == second
    assert pairs(db_session) == set()


def test_someone_typing_another_persons_nhs_number_is_never_joined(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com", "943 476 5919"),
    )
    answers = gp_answers("Mallory Evans", "1990-02-14", "WB9 9XY", "mallory@example.net", "9434765919")
    answers["phone"] = "07700 900 999"
    attacker = send_answers(db_session, "register-with-gp", answers)
    assert attacker != victim
    summary = work(db_session, settings)
    assert summary.joined == 0
    assert record_of(db_session, attacker) == attacker
    assert pairs(db_session) == {(victim, attacker)}  # staff are told the number was given twice
    assert not db_session.exec(select(CitizenLink).where(col(CitizenLink.merged_citizen_id).is_not(None))).all()


def test_a_high_score_with_a_conflicting_nhs_number_goes_to_staff_not_joined(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("William Smith", "1980-03-07", "WB1 2AB", "will@example.com", "943 476 5919"),
    )
    second = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Bill Smith", "1980-03-07", "WB1 2AB", "will@example.com", "401 023 2137"),
    )
    work(db_session, settings)
    assert record_of(db_session, second) == second
    # Either a question for staff or nothing: never a join across two NHS numbers.
    assert pairs(db_session) <= {(first, second)}


def test_the_rule_never_joins_on_one_field_or_across_a_strong_conflict() -> None:
    agree = {"level": "agree", "weight": 8.0}
    missing = {"level": "missing", "weight": 0.0}
    one_field = {"email": agree, "name": missing, "date_of_birth": missing}
    rule = {"link_weight": 20.0, "review_weight": 5.0}
    assert matching.decide(30.0, one_field, **rule).action == "suggest"
    two = {"email": agree, "date_of_birth": agree, "name": missing}
    assert matching.decide(30.0, two, **rule).action == "join"
    assert matching.decide(30.0, two, strong_conflict=True, **rule).action == "suggest"
    assert (
        matching.decide(30.0, {**two, "nhs_number": {"level": "disagree", "weight": -13}}, **rule).action == "suggest"
    )
    # Two agreeing contact details without the name or date of birth: a household, not a person.
    assert matching.decide(30.0, {"email": agree, "phone": agree}, **rule).action == "suggest"
    assert matching.decide(10.0, two, **rule).action == "suggest"
    assert matching.decide(4.9, two, **rule).action == "none"
    # One NHS number given by two people: staff are told, however low the score.
    shared_nhs = {"nhs_number": agree, "name": {"level": "disagree", "weight": -9.0}}
    assert matching.decide(-20.0, shared_nhs, **rule).action == "suggest"


def _review_pair(db: Session, settings: Any) -> tuple[int, int]:
    """Two records scored between the thresholds (the worker asks staff)."""
    first = send_answers(db, "blue-badge", badge_answers("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com"))
    second = send_answers(db, "blue-badge", badge_answers("Jane Smith", "1950-07-03", "QQ1 1QQ", "jane.s@example.org"))
    work(db, settings)
    return first, second


def test_a_pair_decided_different_is_not_suggested_again_by_rematch(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    strict = dataclasses.replace(settings, match_link_weight=90.0, match_review_weight=-20.0)
    neighbours(db_session)
    first, second = _review_pair(db_session, strict)
    assert pairs(db_session) == {(first, second)}
    candidate = db_session.exec(select(MatchCandidate)).one()
    db_session.execute(update(MatchCandidate).where(col(MatchCandidate.id) == candidate.id).values(status="different"))
    db_session.commit()
    summary = matching.rematch(db_session, settings=strict)
    db_session.expire_all()
    assert summary.skipped >= 1 and summary.joined == 0
    assert pairs(db_session) == set()
    assert pairs(db_session, "different") == {(first, second)}
    assert record_of(db_session, second) == second


def neighbours(db: Session, count: int = 24) -> None:
    """Other residents, so that rematch's term frequencies (from the whole population) are real."""
    first = ["Alice", "Bob", "Carol", "Dev", "Erin", "Farah", "Gus", "Hana"]
    last = ["Patel", "Jones", "Williams", "Taylor", "Davies", "Evans", "Wilson", "Thomas"]
    for n in range(count):
        answers = gp_answers(
            f"{first[n % 8]} {last[(n * 3 + n // 8) % 8]}",
            f"19{50 + n}-0{1 + n % 9}-1{n % 10}",
            f"WB{n % 9 + 1} {n % 9 + 1}CD",
            f"resident{n}@example.com",
        )
        answers["phone"] = f"07700 900 {100 + n}"
        send_answers(db, "register-with-gp", answers)


def test_rematch_joins_a_returning_resident_the_worker_missed(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    neighbours(db_session)
    first = send_answers(
        db_session, "register-with-gp", gp_answers("William Smith", "1980-03-07", "WB1 2AB", "will@example.com")
    )
    second = send_answers(
        db_session, "register-with-gp", gp_answers("Bill Smith", "1980-03-07", "WB1 2AB", "bill.new@example.org")
    )
    steps: list[str] = []
    # rematch takes term frequencies from the population it scores: in a street of 26 people a
    # shared postcode weighs less than in the shipped model, hence a lower link weight here.
    settings = dataclasses.replace(settings, match_link_weight=12.0)
    summary = matching.rematch(db_session, settings=settings, progress=lambda step, done, total: steps.append(step))
    db_session.expire_all()
    assert summary.joined == 1 and steps
    assert record_of(db_session, second) == first


class Boom(Exception):
    pass


def test_a_job_that_fails_is_retried_later_and_does_not_block_the_others(db_session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    send_answers(db_session, "register-with-gp", gp_answers("William Smith", "1980-03-07", "WB1 2AB", "w@example.com"))
    bad = send_answers(
        db_session, "register-with-gp", gp_answers("Bill Smith", "1980-03-07", "WB1 2AB", "b@example.org")
    )
    send_answers(db_session, "register-with-gp", gp_answers("Sue Brown", "1960-01-02", "WB3 3AA", "sue@example.com"))
    send_answers(db_session, "register-with-gp", gp_answers("Susan Brown", "1960-01-02", "WB3 3AA", "sb@example.org"))
    bad_submission = db_session.exec(select(Submission.id).where(Submission.citizen_id == bad)).one()
    real = matching._decide_job

    def flaky(session, batch, sid, *args, **kwargs):  # type: ignore[no-untyped-def]
        if sid == bad_submission:
            raise Boom("scoring service unavailable")
        return real(session, batch, sid, *args, **kwargs)

    monkeypatch.setattr(matching, "_decide_job", flaky)
    summary = work(db_session, settings)
    assert (summary.done, summary.retried) == (summary.jobs - 1, 1)
    jobs = {j.submission_id: j for j in db_session.exec(select(MatchingJob))}
    failed = jobs[bad_submission]
    assert failed.status == "pending" and failed.attempts == 1 and "Boom" in (failed.last_error or "")
    assert failed.next_attempt_at > max(j.created_at for j in jobs.values())
    assert {j.status for sid, j in jobs.items() if sid != bad_submission} == {"done"}
    assert record_of(db_session, bad) == bad  # nothing half-done for the failed job
    # Not due yet: a run now leaves it; once due, it runs and succeeds.
    assert work(db_session, settings).jobs == 0
    monkeypatch.setattr(matching, "_decide_job", real)
    later = failed.next_attempt_at
    summary = matching.run_jobs(db_session, limit=50, settings=settings, now=later)
    db_session.expire_all()
    assert summary.done == 1 and summary.joined == 1


def test_a_job_gives_up_after_its_last_attempt(db_session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    send_answers(db_session, "register-with-gp", gp_answers("William Smith", "1980-03-07", "WB1 2AB", "w@example.com"))
    send_answers(db_session, "register-with-gp", gp_answers("Bill Smith", "1980-03-07", "WB1 2AB", "b@example.org"))

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Boom("always")

    monkeypatch.setattr(matching, "_decide_job", broken)
    job = db_session.exec(select(MatchingJob)).one()
    db_session.execute(update(MatchingJob).values(attempts=matching.MAX_ATTEMPTS - 1))
    db_session.commit()
    summary = work(db_session, settings)
    assert summary.failed == 1
    db_session.refresh(job)
    assert job.status == "failed" and job.attempts == matching.MAX_ATTEMPTS


def test_train_keeps_the_model_and_the_worker_uses_the_newest(db_session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from runtime import linkage

    neighbours(db_session, 6)
    monkeypatch.setattr(matching, "MIN_TRAINING_PROFILES", 5)
    monkeypatch.setattr(matching, "_models", {})  # another test's database may have had a model 1
    shipped = linkage.load_model()
    seen: list[int] = []
    monkeypatch.setattr(linkage, "train", lambda profiles, **kwargs: seen.append(len(profiles)) or shipped)
    row = matching.train(db_session, settings=settings)
    assert seen == [6] and row.records == 6 and row.id is not None
    assert matching.model_from_row(row.model).settings == shipped.settings
    assert matching.current_model(db_session) is matching.current_model(db_session)  # kept per process
    assert matching._models.keys() == {row.id}


def test_train_refuses_a_model_that_cannot_score(db_session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from runtime import linkage

    neighbours(db_session, 6)
    monkeypatch.setattr(matching, "MIN_TRAINING_PROFILES", 5)
    broken = linkage.load_model()
    broken = linkage.Model(settings={**broken.settings, "probability_two_random_records_match": 1.0})
    monkeypatch.setattr(linkage, "train", lambda profiles, **kwargs: broken)
    with pytest.raises(ValueError, match="cannot score"):
        matching.train(db_session, settings=settings)
    assert db_session.exec(select(LinkageModel)).all() == []

"""Erasure on request (runtime.services.retention.erase_record and ``civicforms citizens erase``):
afterwards no table holds the person's details, statistics and the audit logs remain, a legal
hold keeps its case and says why, and bad input is refused with exit 2."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import Session, col, select

from runtime.cli import main
from runtime.models import (
    Case,
    CaseEvent,
    Citizen,
    CitizenIdentifier,
    FormSession,
    MatchCandidate,
    OutboxMessage,
    RecordEvent,
    Submission,
)
from runtime.services import retention as privacy
from runtime.settings import Settings
from tests.runtime import privacy_helpers as h


@pytest.fixture
def person(db_session: Session) -> dict[str, Any]:
    """The person's GP registration and blue badge application (two departments), with casework,
    and someone else's application."""
    gp_case = h.send(db_session, "register-with-gp", h.gp())
    badge_case = h.send(db_session, "blue-badge", h.badge())
    h.add_casework(db_session, badge_case)
    other = h.send(
        db_session,
        "blue-badge",
        h.badge(name=h.OTHER["name"], email=h.OTHER["email"], dob=h.OTHER["dob"], postcode=h.OTHER["postcode"]),
    )
    assert gp_case.citizen_id == badge_case.citizen_id, "the two forms are one record"
    return {"gp": gp_case, "badge": badge_case, "other": other, "record": gp_case.citizen_id}


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CIVICFORMS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CIVICFORMS_SECRET_KEY", settings.secret_key)
    return CliRunner()


def test_nothing_of_the_person_is_left_in_any_table(db_session: Session, person: dict[str, Any]) -> None:
    assert {n for _, _, n in h.scan(db_session)} >= {"quistgaard", "zq.person@example.org", "9434765919"}
    events_before = h.count(db_session, CaseEvent)

    result = privacy.erase_record(session=db_session, key=str(person["record"]), reason="DPO-2026-17", actor_id=None)

    assert result.complete and sorted(result.erased_references) == sorted(
        [person["gp"].reference, person["badge"].reference]
    )
    db_session.expire_all()
    assert (left := h.scan(db_session)) == [], left
    # Statistics stay: both cases with service, dates and state; the case log grew, never shrank.
    for case in (person["gp"], person["badge"]):
        kept = db_session.get(Case, case.id)
        assert kept is not None and kept.erased_at is not None and kept.service_id == case.service_id
        assert kept.state == case.state and kept.created_at is not None and kept.citizen_name is None
        sub = db_session.get(Submission, case.submission_id)
        assert sub is not None and sub.answers == {} and sub.erased_at is not None
    assert h.count(db_session, CaseEvent) == events_before + 2
    record = db_session.get(Citizen, person["record"])
    assert record is not None and record.erased_at is not None
    assert (
        db_session.exec(select(CitizenIdentifier).where(CitizenIdentifier.citizen_id == person["record"])).all() == []
    )
    assert [
        f.id for f in db_session.exec(select(FormSession)).all() if f.submission_reference != person["other"].reference
    ] == []
    # The audit entries say what happened, with counts and the reason, and nothing of the person.
    actions = [
        e.action for e in db_session.exec(select(RecordEvent).where(RecordEvent.citizen_id == person["record"])).all()
    ]
    assert actions.count("erased") == 2 and "record-erased" in actions and "erasure-request" in actions
    request = db_session.exec(select(RecordEvent).where(RecordEvent.action == "erasure-request")).one()
    assert request.detail is not None and request.detail["reason"] == "DPO-2026-17"
    assert request.detail["submissions"] == 2 and request.detail["records"] == 1


def test_someone_elses_data_is_untouched(db_session: Session, person: dict[str, Any]) -> None:
    privacy.erase_record(session=db_session, key=person["gp"].reference, reason="DPO-1", actor_id=None)
    db_session.expire_all()
    other = db_session.get(Case, person["other"].id)
    assert other is not None and other.citizen_name == h.OTHER["name"] and other.erased_at is None
    assert h.scan(db_session, ("olwen brightwater", "olwen@example.net")) != []


def test_a_message_not_yet_sent_is_never_sent(db_session: Session, person: dict[str, Any]) -> None:
    privacy.erase_record(session=db_session, key=str(person["record"]), reason="DPO-1", actor_id=None)
    db_session.expire_all()
    rows = db_session.exec(
        select(OutboxMessage).where(col(OutboxMessage.case_id).in_([person["gp"].id, person["badge"].id]))
    ).all()
    assert rows, "the messages stay, for the counts"
    assert all(r.recipient == "" and r.subject == "" and r.body == "" and r.status != "pending" for r in rows)


def test_a_legal_hold_keeps_its_case_and_says_why(db_session: Session, person: dict[str, Any]) -> None:
    h.hold(db_session, person["badge"])
    result = privacy.erase_record(session=db_session, key=str(person["record"]), reason="DPO-3", actor_id=None)
    assert not result.complete
    assert [(x.reference, x.reason) for x in result.held] == [
        (person["badge"].reference, "Tribunal appeal ref TR-2041 pending")
    ]
    db_session.expire_all()
    badge = db_session.get(Case, person["badge"].id)
    assert badge is not None and badge.citizen_name == h.NAME and badge.erased_at is None
    gp = db_session.get(Case, person["gp"].id)
    assert gp is not None and gp.erased_at is not None
    record = db_session.get(Citizen, person["record"])
    assert record is not None and record.erased_at is None  # the held case still needs it
    # What is left is the held case's: its answers and details, nothing of the GP registration.
    left = {table for table, _, needle in h.scan(db_session) if needle == "9434765919"}
    assert left == set()  # the NHS number was given only to the GP service


def test_a_pending_possible_match_of_an_erased_record_is_superseded(
    db_session: Session, person: dict[str, Any]
) -> None:
    low, high = sorted([person["record"], person["other"].citizen_id])
    db_session.add(MatchCandidate(citizen_id=low, other_citizen_id=high, evidence={}))
    db_session.commit()
    privacy.erase_record(session=db_session, key=str(person["record"]), reason="DPO-4", actor_id=None)
    db_session.expire_all()
    assert db_session.exec(select(MatchCandidate.status)).all() == ["superseded"]


def test_a_reason_with_the_persons_details_is_refused(db_session: Session, person: dict[str, Any]) -> None:
    with pytest.raises(privacy.PrivacyError) as refused:
        privacy.erase_record(
            session=db_session, key=str(person["record"]), reason="Request from Zebedee QUISTGAARD", actor_id=None
        )
    assert refused.value.field == "reason"
    db_session.expire_all()
    assert db_session.get(Case, person["gp"].id).erased_at is None  # type: ignore[union-attr]


def test_an_email_two_records_share_is_not_enough(db_session: Session) -> None:
    shared = "household@example.org"
    h.send(db_session, "blue-badge", h.badge(name="Ann Pike", email=shared, dob="1950-01-01", postcode="WB1 1AA"))
    h.send(db_session, "blue-badge", h.badge(name="Bob Pike", email=shared, dob="1952-02-02", postcode="WB1 1AA"))
    with pytest.raises(privacy.NoRecord) as refused:
        privacy.erase_record(session=db_session, key=shared, reason="DPO-5", actor_id=None)
    assert "2 citizen records hold that detail" in refused.value.message


# -- the command --------------------------------------------------------------------------------


def test_the_command_erases_and_says_what(runner: CliRunner, db_session: Session, person: dict[str, Any]) -> None:
    done = runner.invoke(main, ["citizens", "erase", person["gp"].reference, "--reason", "DPO-2026-18"])
    assert done.exit_code == 0, done.output
    assert f"erased {person['badge'].reference}" in done.stdout
    assert "and the record" in done.stderr
    db_session.expire_all()
    assert (left := h.scan(db_session)) == [], left


def test_the_command_dry_run_changes_nothing(runner: CliRunner, db_session: Session, person: dict[str, Any]) -> None:
    h.hold(db_session, person["badge"])
    before = h.scan(db_session)
    done = runner.invoke(main, ["citizens", "erase", str(person["record"]), "--dry-run"])
    assert done.exit_code == 0, done.output
    assert f"would erase {person['gp'].reference}" in done.stdout
    assert f"kept: {person['badge'].reference}\tlegal hold: Tribunal appeal ref TR-2041 pending" in done.stdout
    db_session.expire_all()
    assert h.scan(db_session) == before
    assert db_session.exec(select(RecordEvent).where(RecordEvent.action.startswith("erase"))).all() == []  # type: ignore[attr-defined]


def test_the_command_exits_1_with_the_holds_reason(
    runner: CliRunner, db_session: Session, person: dict[str, Any]
) -> None:
    h.hold(db_session, person["badge"], reason="Litigation hold: claim QB-77")
    done = runner.invoke(main, ["citizens", "erase", str(person["record"]), "--reason", "DPO-6"])
    assert done.exit_code == 1
    assert f"refused: {person['badge'].reference} (Apply for a Blue Badge" in done.stdout or "refused:" in done.stdout
    assert "Litigation hold: claim QB-77" in done.stdout


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "Enter a record number"),
        ("   ", "Enter a record number"),
        ("x" * 10_000, "400 characters or less"),
        ("ab\x00cd", "control characters"),
        ("1\n2", "control characters"),
    ],
)
def test_hostile_keys_exit_2(runner: CliRunner, db_session: Session, key: str, message: str) -> None:
    for command in (["erase", key, "--reason", "DPO-7"], ["erase", key, "--dry-run"], ["export", key]):
        done = runner.invoke(main, ["citizens", *command])
        assert done.exit_code == 2, (command[0], done.output)
        assert message in done.stderr
        assert "Traceback" not in done.output


@pytest.mark.parametrize("reason", [None, "", "r" * 501, "a\x00b"])
def test_a_missing_or_unfit_reason_exits_2(runner: CliRunner, person: dict[str, Any], reason: str | None) -> None:
    args = ["citizens", "erase", str(person["record"])] + (["--reason", reason] if reason is not None else [])
    done = runner.invoke(main, args)
    assert done.exit_code == 2, done.output
    assert "--reason" in done.stderr


def test_no_such_record_exits_1(runner: CliRunner, db_session: Session) -> None:
    done = runner.invoke(main, ["citizens", "erase", "999999", "--reason", "DPO-8"])
    assert done.exit_code == 1
    assert "No citizen record matches" in done.stderr


def test_a_released_holds_reason_goes_with_the_cases_data(db_session: Session, person: dict[str, Any]) -> None:
    """A hold's reason may name the person: once released, erasure empties it (the hold stays)."""
    from runtime.models import LegalHold, utcnow

    h.hold(db_session, person["badge"], reason=f"Tribunal appeal by {h.NAME}")
    held = db_session.exec(select(LegalHold)).one()
    held.released_at = utcnow()
    db_session.add(held)
    db_session.commit()
    result = privacy.erase_record(session=db_session, key=str(person["record"]), reason="DPO-5", actor_id=None)
    assert result.complete
    db_session.expire_all()
    [kept] = db_session.exec(select(LegalHold)).all()
    assert kept.reason == privacy.ERASED_REASON and kept.released_at is not None
    assert [row for row in h.scan(db_session) if row[0] == "legal_hold"] == []

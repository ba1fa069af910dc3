"""``civicforms retention run``: closed cases past their service's retention period lose their
personal data (and nothing else), open cases and cases under a legal hold never do, and --dry-run
lists what would go without changing anything."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from runtime import erasure_reads
from runtime.cli import main
from runtime.models import Case, CaseEvent, Citizen, RecordEvent, Submission
from runtime.retention import Retention
from runtime.services import retention as privacy
from runtime.settings import Settings
from tests.runtime import privacy_helpers as h

TODAY = date(2030, 6, 15)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CIVICFORMS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CIVICFORMS_SECRET_KEY", settings.secret_key)
    return CliRunner()


@pytest.fixture
def cases(db_session: Session) -> dict[str, Any]:
    """Blue badge keeps data 4 years after the case is closed (form_definitions/blue-badge.json)."""
    made: dict[str, Any] = {}
    made["due"] = h.send(db_session, "blue-badge", h.badge(), now=at("2020-01-10T09:00"))
    h.add_casework(db_session, made["due"])
    h.close(db_session, made["due"], at("2026-06-15T17:00"))  # 4 years before TODAY: due today
    other = {"email": h.OTHER["email"], "dob": h.OTHER["dob"], "postcode": h.OTHER["postcode"]}
    made["not_yet"] = h.send(db_session, "blue-badge", h.badge(name="Nia Long", **other), now=at("2020-01-10T09:00"))
    h.close(db_session, made["not_yet"], at("2026-06-16T08:00"))  # due tomorrow, not today
    made["open"] = h.send(db_session, "blue-badge", h.badge(name="Owen Open", **other), now=at("2001-01-01T09:00"))
    made["held"] = h.send(db_session, "blue-badge", h.badge(name="Hal Held", **other), now=at("2001-01-01T09:00"))
    h.close(db_session, made["held"], at("2002-01-01T09:00"))
    h.hold(db_session, made["held"], reason="Insurance claim CL-9 pending")
    return made


def test_the_period_counts_from_the_day_the_case_closed(db_session: Session, cases: dict[str, Any]) -> None:
    result = privacy.run_retention(session=db_session, today=TODAY)
    assert [d.reference for d in result.due] == [cases["due"].reference]
    assert [(d.reference, [x.reason for x in holds]) for d, holds in result.held] == [
        (cases["held"].reference, ["Insurance claim CL-9 pending"])
    ]
    db_session.expire_all()
    assert h.scan(db_session) == []  # the due case was the person's only one: nothing of them is left
    for name in ("not_yet", "open", "held"):
        kept = db_session.get(Case, cases[name].id)
        assert kept is not None and kept.erased_at is None and kept.citizen_name, name
    erased = db_session.get(Case, cases["due"].id)
    assert erased is not None and erased.erased_at is not None and erased.closed_at is not None
    assert erased.state == "closed" and erased.service_id == "blue-badge"  # the statistics stay
    record = db_session.get(Citizen, cases["due"].citizen_id)
    assert record is not None and record.erased_at is not None
    # The logs say it happened, by retention, with no personal data.
    event = db_session.exec(select(CaseEvent).where(CaseEvent.action == "personal-data-erased")).one()
    assert (event.case_id, event.actor_kind, event.detail) == (cases["due"].id, "system", {"by": "retention"})
    logged = db_session.exec(select(RecordEvent).where(RecordEvent.action == "erased")).one()
    assert logged.detail is not None and logged.detail["by"] == "retention" and logged.detail["case"] == cases["due"].id


def test_a_day_later_the_next_case_goes(db_session: Session, cases: dict[str, Any]) -> None:
    privacy.run_retention(session=db_session, today=TODAY)
    result = privacy.run_retention(session=db_session, today=date(2030, 6, 16))
    assert [d.reference for d in result.due] == [cases["not_yet"].reference]  # the first is not erased twice


def test_a_dry_run_lists_and_changes_nothing(runner: CliRunner, db_session: Session, cases: dict[str, Any]) -> None:
    before = h.scan(db_session)
    events = h.count(db_session, CaseEvent), h.count(db_session, RecordEvent)
    done = runner.invoke(main, ["retention", "run", "--dry-run", "--today", TODAY.isoformat()])
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        f"{cases['due'].reference}\tblue-badge\twould erase: 4 years after the case is closed (closed 2026-06-15)",
        f"{cases['held'].reference}\tblue-badge\tkept: legal hold (Insurance claim CL-9 pending)",
    ]
    assert "dry run: 1 case would be erased, 1 kept under a legal hold" in done.stderr
    db_session.expire_all()
    assert h.scan(db_session) == before
    assert (h.count(db_session, CaseEvent), h.count(db_session, RecordEvent)) == events
    assert db_session.get(Submission, cases["due"].submission_id).erased_at is None  # type: ignore[union-attr]


def test_the_command_erases(runner: CliRunner, db_session: Session, cases: dict[str, Any]) -> None:
    done = runner.invoke(main, ["retention", "run", "--today", TODAY.isoformat()])
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"{cases['due'].reference}\tblue-badge\terased: 4 years after the case is closed")
    assert "1 case erased (1 submissions" in done.stderr
    db_session.expire_all()
    assert h.scan(db_session) == []


@pytest.mark.parametrize("today", ["tomorrow", "2030-13-01", "", "2030-01-01\x00"])
def test_a_bad_date_exits_2(runner: CliRunner, db_session: Session, today: str) -> None:
    done = runner.invoke(main, ["retention", "run", "--today", today])
    assert done.exit_code == 2
    assert "--today must be a date" in done.stderr


def test_counted_from_sending_the_form_but_never_while_open(db_session: Session) -> None:
    sent_long_ago = h.send(db_session, "blue-badge", h.badge(), now=at("2020-01-01T12:00"))
    still_open = h.send(
        db_session,
        "blue-badge",
        h.badge(name="Owen Open", email="o@example.net", dob="1980-01-01", postcode="WB1 1AA"),
        now=at("2020-01-01T12:00"),
    )
    h.close(db_session, sent_long_ago, at("2030-06-01T12:00"))  # closed recently
    periods: dict[str, Retention | None] = {"blue-badge": Retention.of({"years": 1, "after": "submitted"})}
    due, held = erasure_reads.due_for_retention(session=db_session, today=TODAY, periods=periods)
    assert [d.reference for d in due] == [sent_long_ago.reference] and held == []
    assert due[0].why == "1 year after the form was sent (sent 2020-01-01)"
    assert still_open.reference not in [d.reference for d in due]
    # The same period counted from closing: not yet.
    periods = {"blue-badge": Retention.of({"years": 1, "after": "case-closed"})}
    assert erasure_reads.due_for_retention(session=db_session, today=TODAY, periods=periods) == ([], [])


def test_a_service_without_a_period_keeps_everything(db_session: Session) -> None:
    case = h.send(db_session, "blue-badge", h.badge(), now=at("2001-01-01T12:00"))
    h.close(db_session, case, at("2001-02-01T12:00"))
    assert erasure_reads.due_for_retention(session=db_session, today=TODAY, periods={"blue-badge": None}) == ([], [])


@pytest.mark.parametrize(
    ("months", "start", "due"),
    [
        (48, date(2026, 6, 14), date(2030, 6, 14)),
        (12, date(2024, 2, 29), date(2025, 2, 28)),  # no 29 February: its last day
        (1, date(2030, 1, 31), date(2030, 2, 28)),
        (6, date(2029, 12, 15), date(2030, 6, 15)),
    ],
)
def test_due_dates(months: int, start: date, due: date) -> None:
    period = Retention(months, "case-closed")
    assert period.due(start) == due
    assert period.latest_start(due) >= start and period.due(period.latest_start(due)) <= due


def test_a_hold_placed_after_the_list_was_read_still_keeps_the_case(
    db_session: Session, cases: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    listed, _ = erasure_reads.due_for_retention(
        session=db_session, today=date(2099, 1, 1), periods=erasure_reads.retention_periods(session=db_session)
    )
    assert cases["held"].reference not in [d.reference for d in listed]
    stale = erasure_reads.Due(cases["held"].submission_id, cases["held"].id, cases["held"].reference, "blue-badge", "x")
    monkeypatch.setattr(erasure_reads, "due_for_retention", lambda **_: ([stale], []))
    result = privacy.run_retention(session=db_session, today=TODAY)
    assert result.erased.submissions == 0
    db_session.expire_all()
    kept = db_session.get(Case, cases["held"].id)
    assert kept is not None and kept.erased_at is None and kept.citizen_name == "Hal Held"


def test_a_database_that_cannot_be_read_exits_1(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICFORMS_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    monkeypatch.setenv("CIVICFORMS_SECRET_KEY", "s" * 48)
    done = CliRunner().invoke(main, ["retention", "run", "--dry-run"])
    assert done.exit_code == 1
    assert done.stderr.startswith("Error: database: OperationalError") and "Traceback" not in done.output

"""The load test with faults (bench/fault_load.py) still runs, and its checks can fail.

A small run (6 citizens, one worker killed, no PostgreSQL restart: the suite's server is shared)
on a database of its own next to the suite's PostgreSQL; no timing is asserted beyond the
script's own recovery limit. The checking function is tested on hand-made rows: a duplicate
submission, a half-written one, a confirmation that was never stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import fault_load
from bench.fault_load import JourneyRecord, check_submissions
from runtime.settings import PROJECT_ROOT
from tests.conftest import PG_URL


@pytest.fixture
def fault_database() -> Iterator[str]:
    """A database of this test's own on the suite's PostgreSQL server, dropped afterwards."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL to run the load test on")
    name = f"{make_url(PG_URL).database}_faults_{os.getpid()}"
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    admin = fault_load.admin_engine(PG_URL)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_small_run_with_a_worker_killed_confirms_every_journey_once(
    fault_database: str, tmp_path: Path, clamd_address: str
) -> None:
    out = tmp_path / "faults.json"
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "fault_load.py"), "--citizens", "6", "--no-restart"]
        + ["--database", fault_database, "--json", str(out), "--clamd-address", clamd_address],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    services = len(list((PROJECT_ROOT / "form_definitions").glob("*.json")))
    journeys = result["journeys"]
    assert journeys["started"] == journeys["confirmed"] == 6 * services and journeys["failed"] == 0
    # Double clicks and sends after the confirmation were made, and each ended on one submission.
    assert journeys["confirmed_by_send"]["double click"] > 0 and journeys["confirmed_by_send"]["sent again"] > 0
    check = result["database_check"]
    assert check["submissions"] == check["exactly_one"] == check["distinct_references"] == 6 * services
    assert check["duplicates"] == check["half_written"] == check["missing"] == check["unknown"] == []
    [fault] = result["faults"]
    assert fault["kind"] == "worker kill" and fault["ok"] and fault["replaced_after"] is not None
    assert fault["recovery_seconds"] <= result["max_recovery_seconds"]
    assert result["passed"] is True and all(ok for _, ok, _ in result["checks"])
    assert f"journeys: started {6 * services}, confirmed {6 * services}, failed 0" in done.stdout
    assert "recovery seconds: worker kill " in done.stdout
    assert "FAIL" not in done.stdout


# -- the checks, on hand-made rows ------------------------------------------------------------


def row(reference: str, session: str | None, **changes: Any) -> dict[str, Any]:
    """A whole submission row as ``submission_rows`` reads it."""
    whole = {
        "id": 1,
        "reference": reference,
        "service_id": "missed-bin-collection",
        "service_version": 1,
        "definition_hash": "a" * 64,
        "version_hash": "a" * 64,
        "citizen_id": 7,
        "citizen_found": 7,
        "answers": {"bin_out_on_time": "yes"},
        "form_session_id": session,
        "case_id": 3,
        "session_reference": reference,
    }
    return whole | changes


def journey(reference: str | None, session: str, failure: str | None = None) -> JourneyRecord:
    return JourneyRecord(0, "missed-bin-collection", form_session_id=session, reference=reference, failure=failure)


def test_whole_submissions_of_confirmed_journeys_pass() -> None:
    found = check_submissions(
        [journey("BIN-AAAA-2222", "s1"), journey("BIN-BBBB-3333", "s2")],
        [row("BIN-AAAA-2222", "s1"), row("BIN-BBBB-3333", "s2")],
    )
    assert found["exactly_one"] == found["confirmed_journeys"] == found["submissions"] == 2
    assert found["duplicates"] == found["half_written"] == found["missing"] == found["unknown"] == []


def test_a_second_submission_of_one_journey_is_a_duplicate() -> None:
    journeys = [journey("BIN-AAAA-2222", "s1")]
    # A second row for the same form session under another reference (as a resubmitted send would make).
    found = check_submissions(journeys, [row("BIN-AAAA-2222", "s1"), row("BIN-CCCC-4444", "s1")])
    assert found["exactly_one"] == 0
    assert any("form session" in d and "stored 2 times" in d for d in found["duplicates"])
    assert any(d.startswith("BIN-CCCC-4444: a second submission") for d in found["duplicates"])
    # The same reference stored twice.
    found = check_submissions(journeys, [row("BIN-AAAA-2222", "s1"), row("BIN-AAAA-2222", None)])
    assert "reference BIN-AAAA-2222 stored 2 times" in found["duplicates"]
    assert found["distinct_references"] == 1 and found["submissions"] == 2


def test_half_written_and_missing_submissions_are_reported() -> None:
    journeys = [journey("BIN-AAAA-2222", "s1"), journey("BIN-BBBB-3333", "s2"), journey(None, "s3", "gave up")]
    rows = [
        row("BIN-AAAA-2222", "s1", answers={}, case_id=None, definition_hash="b" * 64, session_reference=None),
        row("BIN-DDDD-5555", "s3"),  # stored, but its citizen never saw the confirmation
    ]
    found = check_submissions(journeys, rows)
    assert found["missing"] == ["BIN-BBBB-3333"]
    assert found["unconfirmed"] == ["BIN-DDDD-5555"]
    [broken] = found["half_written"]
    assert broken["reference"] == "BIN-AAAA-2222"
    assert set(broken["missing"]) == {"answers", "case", "content hash", "form session marked as sent"}
    assert fault_load.half_written(row("X", "s", citizen_found=None, version_hash=None)) == [
        "citizen record",
        "definition version",
        "content hash",
    ]
    # Two journeys shown the same reference.
    found = check_submissions(
        [journey("BIN-AAAA-2222", "s1"), journey("BIN-AAAA-2222", "s2")], [row("BIN-AAAA-2222", "s1")]
    )
    assert found["duplicate_references"] == ["BIN-AAAA-2222"]


def result_with(check: dict[str, Any], recovery: float | None = 1.0) -> dict[str, Any]:
    return {
        "journeys": {"started": 2, "confirmed": 2, "failed": 0},
        "database_check": check,
        "failed_requests_outside_faults": {},
        "faults": [{"kind": "worker kill", "ok": True, "error": "", "recovery_seconds": recovery}],
        "max_recovery_seconds": 10.0,
    }


def test_the_run_fails_on_a_duplicate_a_half_written_submission_or_a_slow_recovery() -> None:
    journeys = [journey("BIN-AAAA-2222", "s1"), journey("BIN-BBBB-3333", "s2")]
    clean = check_submissions(journeys, [row("BIN-AAAA-2222", "s1"), row("BIN-BBBB-3333", "s2")])
    assert all(ok for _, ok, _ in fault_load.checks(result_with(clean)))

    duplicated = check_submissions(
        journeys, [row("BIN-AAAA-2222", "s1"), row("BIN-BBBB-3333", "s2"), row("BIN-CCCC-4444", "s2")]
    )
    failed = [name for name, ok, _ in fault_load.checks(result_with(duplicated)) if not ok]
    assert "no duplicate submission" in failed

    half = check_submissions(journeys, [row("BIN-AAAA-2222", "s1"), row("BIN-BBBB-3333", "s2", case_id=None)])
    failed = [name for name, ok, _ in fault_load.checks(result_with(half)) if not ok]
    assert failed == ["no half-written submission"]

    failed = [name for name, ok, _ in fault_load.checks(result_with(clean, recovery=30.0)) if not ok]
    assert failed == ["worker kill: made, and the server answered again within 10 s"]
    failed = [name for name, ok, _ in fault_load.checks(result_with(clean, recovery=None)) if not ok]
    assert len(failed) == 1


def test_the_restart_command_names_the_cluster_on_the_urls_port(monkeypatch: pytest.MonkeyPatch) -> None:
    clusters = [
        {"version": 15, "cluster": "main", "port": "5432"},
        {"version": 15, "cluster": "faults", "port": "5433"},
    ]
    listed = SimpleNamespace(stdout=json.dumps(clusters))
    monkeypatch.setattr(fault_load.subprocess, "run", lambda *a, **k: listed)
    url = "postgresql+psycopg://postgres@127.0.0.1:5433/civicforms_faults"
    assert fault_load.restart_command(url) == [
        "pg_ctlcluster",
        "--skip-systemctl-redirect",
        "15",
        "faults",
        "restart",
    ]
    with pytest.raises(SystemExit, match="no cluster on port 5999"):
        fault_load.restart_command(url.replace("5433", "5999"))
    with pytest.raises(SystemExit, match="not on this machine"):
        fault_load.restart_command(url.replace("127.0.0.1", "db.example.org"))

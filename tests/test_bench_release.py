"""The release benchmark (bench/release.py) runs end to end at a tiny size.

No timing is asserted (figures depend on the machine): only that every command it times ran with
the exit code IT relies on (the script checks each run's output too), that the in-process counts
saw the plan and the load it describes, and that a PostgreSQL run drops the databases it made.
docs/performance.md ("Releasing: plan, load and status") has the figures of the full run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from runtime import db as dbmod
from tests.conftest import PG_URL
from tests.test_bench import run_bench

EXIT_CODES = {
    "load, first (N new)": 0,
    "plan, nothing to change": 0,
    "status, in sync": 0,
    "plan, every service changed": 2,
    "plan --ref HEAD": 2,
    "status, every service drifted": 1,
    "diff --ref HEAD~1 --ref HEAD": 0,
    "load, every service changed": 0,
}


def check(figures: dict, kind: str, n: int) -> None:
    run = figures["results"][kind][str(n)]
    assert {label: f["exit_code"] for label, f in run["commands"].items()} == EXIT_CODES
    for f in run["commands"].values():
        assert f["runs"] == (1 if f["command"].endswith("--create-departments") else figures["runs"])
        assert 0 < f["wall_s"]["min"] <= f["wall_s"]["median"] <= f["wall_s"]["max"]
        assert 5 < f["peak_rss_mb"] < 2000
    unchanged, changed = run["counts"]["unchanged"]["plan"], run["counts"]["changed"]
    assert unchanged["services"] == n and unchanged["changes"] == 0 and not unchanged["refused"]
    assert changed["plan"]["changes"] == changed["plan --ref HEAD"]["changes"] == n
    assert changed["load"]["applied"] is True
    # A fixed number of statements and git processes per plan, whatever the number of services.
    assert 0 < unchanged["statements"] <= changed["plan"]["statements"] < changed["load"]["statements"]
    assert 0 < unchanged["git_processes"] <= 6


def test_the_release_benchmark_runs_end_to_end_on_sqlite(tmp_path: Path) -> None:
    figures, printed = run_bench("release.py", "--services", "2", "--runs", "1", json_out=tmp_path / "release.json")
    check(figures, "sqlite", 2)
    assert "plan, every service changed" in printed and "SQL per service" in printed


def release_databases(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'civicforms_bench_release%'"))
        return {name for (name,) in found}


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set: no PostgreSQL to run the benchmark on")
def test_the_release_benchmark_runs_on_postgresql_and_drops_its_databases(tmp_path: Path) -> None:
    server = make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False)
    engine = dbmod.make_engine(server)
    # Another run's databases may be there (one in progress on the same server, or one that was
    # killed): this run must leave none of its own.
    before = release_databases(engine)
    figures, _ = run_bench(
        "release.py",
        "--services",
        "2",
        "--runs",
        "1",
        "--database",
        "postgresql",
        "--postgres",
        PG_URL,
        json_out=tmp_path / "release.json",
    )
    check(figures, "postgresql", 2)
    try:
        assert release_databases(engine) <= before
    finally:
        engine.dispose()

"""The citizen matching benchmark (bench/matching_lookup.py) runs end to end on a few thousand
identifiers in PostgreSQL.

No timing is asserted (figures depend on the machine): only that it fills the database, finds a
known citizen's identifiers through the (kind, value) index and nobody's for unknown ones, and
drops its database. docs/performance.md has the figures of the full run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from runtime import db as dbmod
from tests.conftest import PG_URL
from tests.test_bench import run_bench

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only; set TEST_DATABASE_URL")


def test_the_matching_benchmark_runs_on_postgresql_and_cleans_up(tmp_path: Path) -> None:
    server = make_url(PG_URL).set(database="")
    run, printed = run_bench(
        "matching_lookup.py",
        "--quick",
        "--postgres",
        server.render_as_string(hide_password=False),
        json_out=tmp_path / "matching.json",
    )
    assert run["identifiers"] == 3000 and run["citizens"] == 1000
    timings = run["timings"]
    assert set(timings) == {
        "lookup: a known citizen's 3 identifiers",
        "lookup: 3 identifiers nobody holds",
        "match_submission (rolled back)",
        "before 0006: value IN (...) without kind",
    }
    for name, figures in timings.items():
        assert figures["runs"] >= 5 and 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"], name
    assert run["sequential_scan"] is False
    assert any("Index Cond" in line and "kind" in line for line in run["plan"])
    assert "under the target" in printed or "OVER the target" in printed
    # Its database is gone (others' runs may have theirs).
    assert run["database"].startswith("civicforms_bench_matching_") and run["kept"] is False
    admin = dbmod.make_engine(make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False))
    with admin.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :d"), {"d": run["database"]})
        assert left.scalar_one() == 0
    admin.dispose()

"""The back office benchmark (bench/casework.py) runs end to end on a few thousand cases.

No timing is asserted (figures depend on the machine): only that it fills the database, that
every page it measured answered 200, that each inbox query returned what it should, and that
caseworkers acting at once on the same cases moved each exactly once. docs/performance.md has
the figures of the full run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runtime.settings import PROJECT_ROOT
from tests.conftest import PG_URL


@pytest.fixture(autouse=True)
def _scanner(clamd_address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark sends Blue Badge through the citizen pages: its files are scanned by clamd."""
    monkeypatch.setenv("CIVICFORMS_CLAMD_ADDRESS", clamd_address)


def run_quick(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    json_out = tmp_path / "casework.json"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "casework.py"), "--quick", *args, "--json", str(json_out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-4000:]
    return json.loads(json_out.read_text()), result.stdout


def check_run(run: dict[str, Any]) -> None:
    assert run["cases"] == 3000
    inbox = run["inbox"]
    assert len(inbox) >= 14
    for name, figures in inbox.items():
        assert figures["runs"] >= 10, name
        assert figures["median_ms"] > 0, name
    # Pages of 50 where there are more; the searches find what they look for, or nothing.
    assert inbox["first page"]["rows"] == 50
    assert inbox["unassigned"]["rows"] == 50
    assert inbox["search: whole reference"]["rows"] == 1
    assert inbox["search: common surname (Smith)"]["rows"] > 0
    assert inbox["search: a name nobody has"]["rows"] == 0
    deep = next(v for k, v in inbox.items() if k.startswith("deep page"))
    assert deep["rows"] == 50
    pages = run["pages"]
    assert {"inbox page: first page", "inbox page: search smith", "case page"} <= set(pages)
    for name, figures in pages.items():
        assert figures["extra"]["statuses"] == [200], name
        assert figures["rows"] > 5000, name  # bytes of a whole page, not an error page
    separate = run["transitions"]["separate"]
    assert separate["transitions"] > 0 and separate["threads"] == 4
    assert separate["conflicts"] == 0  # each caseworker on cases of their own
    colliding = run["transitions"]["colliding"]
    assert colliding["cases"] == 8
    assert colliding["won"] == 8  # one caseworker wins each case...
    assert colliding["cases_moved_once"] == 8 and colliding["cases_moved_twice_or_more"] == 0
    # ...and every other attempt is told it lost, as a conflict or as a refusal.
    assert colliding["conflicts"] + colliding["refused"] + colliding["busy"] == colliding["attempts"] - 8
    assert run["plan_problems"] == []


def test_the_casework_benchmark_runs_on_sqlite(tmp_path: Path) -> None:
    report, stdout = run_quick(tmp_path, "--database", "sqlite")
    assert [run["backend"] for run in report["runs"]] == ["sqlite"]
    check_run(report["runs"][0])
    assert report["problems"] == []
    assert "inbox page: first page" in stdout and "transitions" in stdout


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set: no PostgreSQL to run the benchmark on")
def test_the_casework_benchmark_runs_on_postgresql_and_checks_its_plans(tmp_path: Path) -> None:
    server = PG_URL.rsplit("/", 1)[0] + "/"
    # A database of this run's own: another run on the same server (a second checkout, another
    # worker) would otherwise drop the one this run is using (DROP DATABASE ... WITH (FORCE)).
    database = f"civicforms_bench_casework_{os.getpid()}"
    report, stdout = run_quick(
        tmp_path, "--database", "postgresql", "--postgres", server, "--pg-database", database, "--explain"
    )
    check_run(report["runs"][0])
    assert "Index" in stdout  # the plans were printed
    assert "Seq Scan on case_record" not in stdout.split("--- postgresql: first page")[1].split("---")[0]


def test_the_casework_benchmark_refuses_too_few_cases(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "casework.py"), "--cases", "10", "--database", "sqlite"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--cases must be at least 1000" in result.stderr

"""The benchmarks still run end to end, and the large service they edit is a valid one.

No timing is asserted (figures depend on the machine): only that each script finishes, measures
what it says it measures, and writes its JSON. docs/performance.md has the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.large_service import large_service
from builder.conditions import from_schema
from runtime.checker import check
from runtime.definition import Definition, dumps
from runtime.settings import PROJECT_ROOT
from runtime.widgets import WIDGETS


def run_bench(script: str, *args: str, json_out: Path) -> tuple[dict[str, Any], str]:
    """Run bench/``script`` with these arguments, writing its JSON to ``json_out``; it must exit 0.
    The figures it wrote, and what it printed."""
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / script), *args, "--json", str(json_out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # a guard against a hang only: the PostgreSQL release run took 114 s on a loaded machine
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return json.loads(json_out.read_text()), result.stdout


def run_script(script: str, *args: str, json_out: Path) -> dict[str, Any]:
    """run_bench's figures."""
    return run_bench(script, *args, json_out=json_out)[0]


def test_the_large_service_passes_the_checker_and_is_as_large_as_promised() -> None:
    doc = large_service()
    assert check(doc) == []
    assert len(doc["questions"]) == 100
    assert len(doc["pages"]) == 30
    assert {q["widget"] for q in doc["questions"].values()} == set(WIDGETS)
    assert any(q.get("options") for q in doc["questions"].values())
    conditions = [p["show_if"] for p in doc["pages"] if "show_if" in p]
    routes = [rule["if"] for p in doc["pages"] for rule in p.get("next", [])]
    assert len(conditions) >= 4 and len(routes) >= 2
    # Written as the builder writes them: it reads every one back in plain words.
    assert all(from_schema(doc, c) is not None for c in conditions + routes)
    # Answers on conditional pages are required only by if/then rules, never in the root.
    assert len(doc["schema"]["allOf"]) >= len(conditions)
    assert Definition(doc).id == "adult-social-care-support"
    assert dumps(large_service()) == dumps(doc)  # deterministic: every run edits the same file


def test_the_runtime_benchmark_runs_end_to_end(
    tmp_path: Path, clamd_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVICFORMS_CLAMD_ADDRESS", clamd_address)  # Blue Badge's files are scanned
    result = run_script("run.py", "--seconds", "0.05", "--profile-requests", "5", json_out=tmp_path / "run.json")
    assert result["page"]["runtime"]["runs"] > 0
    services = {p.stem for p in (PROJECT_ROOT / "form_definitions").glob("*.json")}
    assert set(result["journeys"]) == services
    assert set(result["validation"]) == services
    profile = {part["part"]: part["share"] for part in result["page"]["profile"]}
    # Each part is found where PROFILE_PARTS says it lives (a refactor that moves one shows as 0%).
    assert profile["Journey.first_incomplete (one validation)"] > 0
    assert profile["rendering.question_view"] > 0


def test_the_builder_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    result = run_script("builder.py", "--seconds", "0.05", "--min-runs", "2", json_out=tmp_path / "builder.json")
    assert result["service"]["questions"] == 100 and result["service"]["pages"] == 30
    assert result["saves"]["operations_module"] is True
    edits = result["saves"]["edits"]
    assert "reword a question" in edits and len(edits) >= 5
    for figures in edits.values():
        assert figures["runs"] >= 2
        assert set(figures["parts_mean_ms"]) == {"operation", "check", "write", "draft"}
    preview = result["page"]["preview"]
    assert preview["runs"] >= 2 and preview["bytes"] > 50_000
    builder_page = result["page"]["builder_page"]  # None until the builder has a pages or task list view
    assert builder_page is None or (builder_page["runs"] >= 2 and builder_page["bytes"] > 0)
    assert isinstance(result["all_pass"], bool)

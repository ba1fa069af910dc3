"""bench/validate_startup.py still runs end to end and measures what it says (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from tests.test_bench import run_script


def test_the_validate_startup_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    result = run_script(
        "validate_startup.py",
        "--runs",
        "2",
        "--file",
        "form_definitions/register-with-gp.json",
        json_out=tmp_path / "v.json",
    )
    assert result["runs"] == 2
    assert result["command"].endswith("validate form_definitions/register-with-gp.json")
    assert result["exit_codes"] == [0] and result["same_output_every_run"] is True
    assert 0 < result["wall_s"]["min"] <= result["wall_s"]["median"] <= result["wall_s"]["max"]
    assert 5 < result["peak_rss_mb"]["median"] < 1000
    assert result["goal_s"] == 0.5
    assert result["heavy_packages_imported"] == []
    assert any(row["module"] == "runtime.cli" for row in result["slowest_imports"])

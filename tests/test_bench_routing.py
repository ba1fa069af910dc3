"""The routing benchmark (bench/routing_scale.py) runs end to end.

No timing is asserted (figures depend on the machine): only that it checks each size's service
and finds nothing wrong, that every builder page it measured answered 200, and that it writes
its JSON. docs/performance.md ("Routing at scale") has the figures of the full run.
"""

from __future__ import annotations

from pathlib import Path

from bench.routing_scale import PAGES_MEASURED
from tests.test_bench import run_bench


def test_the_routing_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    figures, printed = run_bench("routing_scale.py", "--pages", "8", "16", json_out=tmp_path / "routing.json")
    assert set(figures["check"]) == set(figures["builder"]) == {"8", "16"}
    for size in ("8", "16"):
        assert figures["check"][size]["problems"] == []
        assert figures["check"][size]["seconds"] > 0 and figures["check"][size]["peak_mb"] >= 0
        assert set(figures["builder"][size]) == {label for label, _ in PAGES_MEASURED}
        assert {page["status"] for page in figures["builder"][size].values()} == {200}
    assert "check() at  16 pages" in printed

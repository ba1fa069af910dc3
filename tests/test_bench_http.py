"""The HTTP benchmark (bench/http_bench.py) still runs end to end, and refuses to report a rate
of wrong answers.

No timing is asserted (figures depend on the machine): only that a tiny run finishes, that
every response it counted was the page (200) or the stored answer (303), and that a server
answering anything else stops the benchmark with an error instead of a figure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench import http_bench
from runtime.settings import PROJECT_ROOT


def test_a_quick_run_measures_real_pages_and_stored_answers(tmp_path: Path) -> None:
    out = tmp_path / "http.json"
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "http_bench.py"), "--quick", "--client", "python"]
        + ["--json", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Python fallback" in done.stdout  # the report says which client measured
    result = json.loads(out.read_text())
    assert result["client"].startswith("python")
    # The page measured is the address page inside a journey; the bare page is the same size.
    assert result["runtime_bytes"] > 3000
    assert abs(result["bare_bytes"] - result["runtime_bytes"]) <= 0.05 * result["runtime_bytes"]

    targets = result["comparison"]["targets"].values()
    assert {(t["kind"], t["mode"], t["workers"]) for t in targets} == {
        (kind, mode, workers) for kind in ("runtime", "bare") for mode in ("GET", "POST") for workers in (1, 2)
    }
    for t in targets:
        assert t["requests"] > 0 and t["per_second"] > 0
        assert t["expected_status"] == (200 if t["mode"] == "GET" else 303)
        assert t["ok"] == t["requests"] and t["bad"] == 0
        assert 0 < t["p50_ms"] <= t["p95_ms"] <= t["p99_ms"]
    ratios = result["comparison"]["ratios"]
    assert set(ratios) == {"GET 1w sqlite", "GET 2w sqlite", "POST 1w sqlite", "POST 2w sqlite"}
    assert all(r["ratio"] > 0 for r in ratios.values())
    assert set(result["comparison"]["scaling"]) == {
        "runtime GET sqlite",
        "runtime POST sqlite",
        "bare GET -",
        "bare POST -",
    }
    memory = result["memory"]["runtime sqlite 2w"]
    assert memory["processes"] == 3 and memory["master_mb"] > 0 and len(memory["workers_mb"]) == 2
    assert memory["total_mb"] == pytest.approx(memory["master_mb"] + sum(memory["workers_mb"]))
    assert memory["anon_mb"] is None or 0 < memory["anon_mb"] < memory["total_mb"]


class _Refusing(BaseHTTPRequestHandler):
    """A server that answers every request with a fast error page (as a broken CSRF token would)."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"There is a problem"
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


LOAD = http_bench.Load(
    "POST",
    "/services/resident-parking-permit/your-address",
    [http_bench.Session("civicforms_session=a", "address.line1=1&csrf_token=x")],
    303,
)


@pytest.mark.parametrize("client", ["python", "wrk"])
def test_error_pages_stop_the_benchmark_instead_of_being_timed(client: str, refusing_port: int, tmp_path: Path) -> None:
    if client == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (the Python client is checked above)")
    driver = http_bench.Driver(client, connections=2, threads=1, workdir=tmp_path)
    with pytest.raises(SystemExit, match=r"were not 303 \(first: 400\); the benchmark is void"):
        driver.run("runtime POST", refusing_port, LOAD, 0.3)


def test_nothing_answering_is_not_a_result(tmp_path: Path) -> None:
    driver = http_bench.Driver("python", connections=1, threads=1, workdir=tmp_path)
    with pytest.raises(SystemExit, match="no response at all|connection errors"):
        driver.run("runtime GET", http_bench.free_port(), LOAD, 0.2)

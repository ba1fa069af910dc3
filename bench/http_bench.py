"""HTTP benchmark of the citizen runtime under gunicorn, against a bare Flask + Jinja app.

Both run under gunicorn with the project's own ``gunicorn.conf.py`` (the same settings, the
same run, on free ports of 127.0.0.1), driven by wrk where it is installed, otherwise by a
Python load generator with keep-alive connections (slower: its figures are the client's
limit as much as the server's, and the report says so):

- **GET**: the resident-parking-permit address page inside a started journey, for a set of
  citizens (form sessions with their own cookies) taken in turn, so it is not one citizen;
  against the bare app rendering a Jinja page of the same byte size;
- **POST**: a valid answer to that page, with each session's own CSRF token: validated,
  stored, 303 to the next page; against a bare handler that parses the same form and
  answers 303;
- every response's status is checked: a run with any other status stops with an error,
  since a benchmark of error pages measures nothing;
- rounds alternate (runtime, bare, runtime, bare, ...) so that noise on the machine hits both;
- for each worker count (``--workers 1,2``) and database (``--database``, SQLite by default);
- memory: PSS of the gunicorn master and its workers (``/proc/<pid>/smaps_rollup``) after the
  load, and with ``--soak MINUTES`` a soak of the runtime alone, sampled every 30 s.

Run: ``.venv/bin/python bench/http_bench.py [--seconds 10] [--rounds 3] [--json out.json]``.
(Not ``bench/http.py``: a script's folder comes first on ``sys.path``, and a file named
``http.py`` there would stand in for the standard library's ``http`` in every bench script.)
See docs/performance.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"
SERVICE = "resident-parking-permit"
PAGE = "your-address"
NEXT_PAGE = "parking-zone"
PAGE_URL = f"/services/{SERVICE}/{PAGE}"
BARE_URL = "/page"
HOST = "127.0.0.1"
SIZE_TOLERANCE = 0.05
# A form session's cookie is signed for the session timeout (60 minutes by default): a soak
# longer than this starts new citizens.
SESSION_REFRESH_SECONDS = 40 * 60
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def server_env(secret: str, url: str) -> dict[str, str]:
    """The runtime's settings under load from this machine: production, with the abuse limits
    off (every citizen of a load generator comes from 127.0.0.1: they would measure 429 pages)."""
    return {
        "CIVICFORMS_ENV": "production",
        "CIVICFORMS_SECRET_KEY": secret,
        "CIVICFORMS_DATABASE_URL": url,
        "CIVICFORMS_RATE_LIMIT_STARTS": "off",
        "CIVICFORMS_RATE_LIMIT_POSTS": "off",
        "CIVICFORMS_MAX_FORMS_PER_CLIENT": "1000000",
    }


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@functools.cache
def client_bench() -> Any:
    """bench/run.py (the test-client benchmark), for its database setup, baseline page and
    report helpers. Loaded by path: bench/ is not a package and this may run as a script."""
    spec = importlib.util.spec_from_file_location("civicforms_bench_run", PROJECT_ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


# -- the bare app, as gunicorn loads it --------------------------------------------------------


def bare_app() -> Any:
    """The baseline: ``gunicorn -c gunicorn.conf.py 'bench.http_bench:bare_app()'``.

    No database, no session: ``GET /page`` renders one Jinja template (bench/run.py's
    baseline, sized to the runtime's page) and ``POST /page`` parses the form and answers 303.
    The template and its context come from the JSON file named by ``CIVICFORMS_BENCH_BARE``.
    """
    from flask import Flask, redirect, render_template, request
    from jinja2 import DictLoader

    spec = json.loads(Path(os.environ["CIVICFORMS_BENCH_BARE"]).read_text())
    app = Flask("bench_baseline")
    app.jinja_loader = DictLoader({"page.html": spec["template"]})  # type: ignore[assignment]
    context = spec["context"]

    @app.get(BARE_URL)
    def show() -> str:
        return render_template("page.html", **context)

    @app.post(BARE_URL)
    def save() -> Any:
        request.form.to_dict(flat=False)  # parse the post, as a real handler would
        return redirect(BARE_URL, 303)

    return app


# -- gunicorn servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(found)


def pss_kb(pid: int) -> dict[str, int]:
    """Proportional set size in kB: private pages, plus shared pages divided among the processes
    that map them. ``Pss_Anon`` is the process's own memory (heap, shared copy-on-write with the
    gunicorn master); ``Pss_File`` is mapped files (the interpreter, shared libraries), whose
    share changes when other processes on the machine map the same files."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("Pss", "Pss_Anon", "Pss_File", "Pss_Shmem"):
            found[name] = int(value.split()[0])
    if "Pss" not in found:
        raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")
    return found


@dataclass
class Server:
    name: str
    kind: str  # "runtime" or "bare"
    workers: int
    database: str  # label, "-" for the bare app
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    ready_path: str

    def memory(self) -> dict[str, Any]:
        workers = children(self.process.pid)
        master = pss_kb(self.process.pid)
        each = [pss_kb(pid) for pid in workers]
        every = [master, *each]
        return {
            "master_mb": master["Pss"] / 1024,
            "workers_mb": [kb["Pss"] / 1024 for kb in each],
            "total_mb": sum(kb["Pss"] for kb in every) / 1024,
            # None on kernels before 5.14, which do not split PSS.
            "anon_mb": sum(kb["Pss_Anon"] for kb in every) / 1024 if "Pss_Anon" in master else None,
            "file_mb": sum(kb["Pss_File"] for kb in every) / 1024 if "Pss_File" in master else None,
            "processes": len(every),
        }

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str, kind: str, app: str, workers: int, database: str, env: dict[str, str], workdir: Path
) -> Server:
    port = free_port()
    log = workdir / f"{name.replace(' ', '-')}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICFORMS_") and k != "WEB_CONCURRENCY"}
    full_env |= env | {"CIVICFORMS_BIND": f"{HOST}:{port}", "CIVICFORMS_WORKERS": str(workers)}
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), app],
            cwd=PROJECT_ROOT,
            env=full_env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    ready = "/healthz" if kind == "runtime" else BARE_URL
    return Server(name, kind, workers, database, port, process, log, ready)


def wait_ready(server: Server, timeout: float = 60) -> None:
    """Until the server answers and all its workers are up; a server that dies says why."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name}: gunicorn exited ({server.process.returncode}):\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
            conn.request("GET", server.ready_path)
            status = conn.getresponse().status
            conn.close()
            if status == 200 and len(children(server.process.pid)) >= server.workers:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{server.name}: not ready after {timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(0.1)


# -- citizens ------------------------------------------------------------------------------------


def is_file(value: Any) -> bool:
    """A file to upload: tests/journeys.py's UploadFile (name, content, mime), however loaded."""
    return hasattr(value, "content") and hasattr(value, "mime") and hasattr(value, "name")


def multipart(form: dict[str, Any]) -> tuple[bytes, str]:
    """``form`` as multipart/form-data: ``(body, Content-Type)``; lists as repeated fields."""
    parts, content_type = multipart_parts(form)
    return b"".join(parts), content_type


def multipart_parts(form: dict[str, Any]) -> tuple[list[bytes], str]:
    """``multipart``'s body in parts, each file's content a part of its own (not copied), for a
    client that sends a large file as it is (bench/uploads.py)."""
    boundary = f"----civicforms{secrets.token_hex(12)}"
    parts: list[bytes] = []
    for name, value in form.items():
        for one in value if isinstance(value, list) else [value]:
            if is_file(one):
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{one.name}"\r\n'
                    f"Content-Type: {one.mime}\r\n\r\n".encode()
                )
                parts += [one.content, b"\r\n"]
            else:
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{one}\r\n'.encode())
    parts.append(f"--{boundary}--\r\n".encode())
    return parts, f"multipart/form-data; boundary={boundary}"


class Browser:
    """One citizen: a connection and the cookies the site set (their attributes ignored)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def send(self, method: str, path: str, form: dict[str, Any] | None = None) -> tuple[int, str, str]:
        """One request; a ``form`` holding a file (tests/journeys.py's UploadFile) goes multipart,
        as a file question's upload form does (post it to ``upload_url`` of the page)."""
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body: str | bytes | None = None
        if form is not None and any(is_file(value) for value in form.values()):
            body, headers["Content-Type"] = multipart(form)
        elif form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        self.remember(response)
        return response.status, response.headers.get("Location", ""), text

    def remember(self, response: http.client.HTTPResponse) -> None:
        """Keep the cookies ``response`` set (bench/uploads.py sends its own multipart posts)."""
        for raw in response.headers.get_all("Set-Cookie") or []:
            name, _, value = raw.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()

    def close(self) -> None:
        self.conn.close()


@dataclass
class Session:
    """A citizen inside a journey: what a request needs to be theirs."""

    cookie: str
    body: str | None  # the urlencoded POST (answers and this session's CSRF token), or None


def answer() -> dict[str, Any]:
    """The happy-path answer to the address page (tests/journeys.py, through bench/run.py)."""
    page_id, data = client_bench().HAPPY_PATHS[SERVICE][0]
    assert page_id == PAGE, page_id
    return dict(data)


def start_citizens(port: int, count: int, post: bool) -> tuple[list[Session], int]:
    """``count`` citizens who started the service and are on its address page; with ``post``,
    each has answered it once (stored: the page shows the answer) and carries the POST body.
    Returns them and the page's size in bytes."""
    sessions: list[Session] = []
    size = 0
    base = f"/services/{SERVICE}"
    for _ in range(count):
        browser = Browser(port)
        try:
            status, _, text = browser.send("GET", base)
            token = CSRF_FIELD.search(text)
            if status != 200 or token is None:
                raise SystemExit(f"GET {base} gave {status} (CSRF token found: {token is not None})")
            status, location, _ = browser.send("POST", f"{base}/start", {"csrf_token": token.group(1)})
            if status != 303 or not location.endswith(PAGE_URL):
                raise SystemExit(f"POST {base}/start gave {status} -> {location!r}, not {PAGE_URL}")
            status, _, text = browser.send("GET", PAGE_URL)
            token = CSRF_FIELD.search(text)
            if status != 200 or token is None or 'name="address.line1"' not in text:
                raise SystemExit(f"GET {PAGE_URL} gave {status}, not the address page")
            size = len(text.encode())
            body = None
            if post:
                form = answer() | {"csrf_token": token.group(1)}
                status, location, _ = browser.send("POST", PAGE_URL, form)
                if status != 303 or not location.endswith(f"{base}/{NEXT_PAGE}"):
                    raise SystemExit(f"POST {PAGE_URL} gave {status} -> {location!r}, not {base}/{NEXT_PAGE}")
                status, _, text = browser.send("GET", PAGE_URL)
                if status != 200 or 'value="12 Mill Lane"' not in text:
                    raise SystemExit(f"the answer posted to {PAGE_URL} was not stored (GET gave {status})")
                body = urllib.parse.urlencode(form, doseq=True)
            sessions.append(Session(browser.cookie_header(), body))
        finally:
            browser.close()
    return sessions, size


# -- load generators -----------------------------------------------------------------------------


@dataclass
class Load:
    """What one measurement sends: the same method and path, each request as the next session."""

    method: str
    path: str
    sessions: list[Session]
    expect: int  # the only status accepted


@dataclass
class Result:
    requests: int
    seconds: float
    ok: int
    bad: int
    first_bad: int  # the first unexpected status, 0 if none
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def require_expected(name: str, load: Load, result: Result) -> Result:
    """Stop the benchmark on any response that is not the expected one: error pages are fast,
    and a rate of them would look like a result."""
    if result.bad:
        raise SystemExit(
            f"{name}: {result.bad} of {result.requests} responses to {load.method} {load.path} were not "
            f"{load.expect} (first: {result.first_bad or 'no response'}); the benchmark is void"
        )
    if result.requests == 0:
        raise SystemExit(f"{name}: no response at all to {load.method} {load.path}")
    if result.socket_errors > max(5, result.requests // 1000):
        raise SystemExit(f"{name}: {result.socket_errors} connection errors in {result.requests} requests")
    return result


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def python_load(port: int, load: Load, seconds: float, connections: int) -> Result:
    """The fallback client: ``connections`` threads, each with a keep-alive connection
    (http.client reconnects when the server closes it, as gunicorn's sync workers do)."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    counts = [[0, 0, 0, 0] for _ in range(connections)]  # ok, bad, first bad status, socket errors
    barrier = threading.Barrier(connections + 1)
    stop = threading.Event()
    n = len(load.sessions)

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine, count = latencies[index], counts[index]
        i = index * 7
        barrier.wait()
        while not stop.is_set():
            session = load.sessions[i % n]
            i += 1
            headers = {"Cookie": session.cookie}
            if session.body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            t0 = time.perf_counter()
            try:
                conn.request(load.method, load.path, body=session.body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                count[3] += 1
                conn.close()
                continue
            mine.append(time.perf_counter() - t0)
            if response.status == load.expect:
                count[0] += 1
            else:
                count[1] += 1
                count[2] = count[2] or response.status
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(x * 1e3 for xs in latencies for x in xs)
    return Result(
        requests=len(ordered),
        seconds=elapsed,
        ok=sum(c[0] for c in counts),
        bad=sum(c[1] for c in counts),
        first_bad=next((c[2] for c in counts if c[2]), 0),
        socket_errors=sum(c[3] for c in counts),
        p50_ms=_percentile(ordered, 0.50),
        p95_ms=_percentile(ordered, 0.95),
        p99_ms=_percentile(ordered, 0.99),
        mean_ms=statistics.fmean(ordered) if ordered else 0.0,
    )


def _lua(value: str | None) -> str:
    if value is None:
        return "nil"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


WRK_SCRIPT = """
local sessions = {%(sessions)s}
local method, path, expected = %(method)s, %(path)s, %(expect)d
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  n = #sessions
  i = (tid * 7) %% n
  ok, bad, first_bad = 0, 0, 0
end

function request()
  i = i %% n + 1
  local s = sessions[i]
  local headers = {["Cookie"] = s[1]}
  if s[2] then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  return wrk.format(method, path, headers, s[2])
end

function response(status, headers, body)
  if status == expected then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == 0 then first_bad = status end
  end
end

function done(summary, latency, requests)
  local all_ok, all_bad, first = 0, 0, 0
  for _, t in ipairs(threads) do
    all_ok = all_ok + t:get("ok")
    all_bad = all_bad + t:get("bad")
    if first == 0 then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "duration_us": %%d, "ok": %%d, "bad": %%d, "first_bad": %%d, ' ..
    '"socket_errors": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "mean_us": %%f}\\n',
    summary.requests, summary.duration, all_ok, all_bad, first,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""


def wrk_load(port: int, load: Load, seconds: float, connections: int, workdir: Path, threads: int) -> Result:
    """wrk with a Lua script: each request as the next session, every status checked."""
    script = workdir / f"wrk-{load.method.lower()}-{port}.lua"
    rows = ", ".join(f"{{{_lua(s.cookie)}, {_lua(s.body)}}}" for s in load.sessions)
    script.write_text(
        WRK_SCRIPT % {"sessions": rows, "method": _lua(load.method), "path": _lua(load.path), "expect": load.expect}
    )
    duration = max(1, round(seconds))
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://{HOST}:{port}{load.path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        ok=data["ok"],
        bad=data["bad"],
        first_bad=data["first_bad"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1e3,
        p95_ms=data["p95_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        mean_ms=data["mean_us"] / 1e3,
    )


@dataclass
class Driver:
    client: str  # "wrk" or "python"
    connections: int
    threads: int
    workdir: Path

    def run(self, name: str, port: int, load: Load, seconds: float) -> Result:
        if self.client == "wrk":
            result = wrk_load(port, load, seconds, self.connections, self.workdir, self.threads)
        else:
            result = python_load(port, load, seconds, self.connections)
        return require_expected(name, load, result)


def wrk_version() -> str | None:
    if shutil.which("wrk") is None:
        return None
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0].split(" Copyright")[0].strip() if text else "wrk"


# -- the measurement -----------------------------------------------------------------------------


@dataclass
class Target:
    """One server under one load: e.g. the runtime on SQLite with 2 workers, GET."""

    server: Server
    mode: str  # "GET" or "POST"
    load: Load
    rounds: list[Result] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.server.kind} {self.mode} {self.server.workers}w {self.server.database}"

    def summary(self) -> dict[str, Any]:
        requests = sum(r.requests for r in self.rounds)
        seconds = sum(r.seconds for r in self.rounds)
        return {
            "kind": self.server.kind,
            "mode": self.mode,
            "workers": self.server.workers,
            "database": self.server.database,
            "expected_status": self.load.expect,
            "requests": requests,
            "ok": sum(r.ok for r in self.rounds),
            "bad": sum(r.bad for r in self.rounds),
            "socket_errors": sum(r.socket_errors for r in self.rounds),
            "seconds": seconds,
            "per_second": requests / seconds if seconds else 0.0,
            # Latency percentiles: the median over rounds of each round's percentile.
            "p50_ms": statistics.median(r.p50_ms for r in self.rounds),
            "p95_ms": statistics.median(r.p95_ms for r in self.rounds),
            "p99_ms": statistics.median(r.p99_ms for r in self.rounds),
            "rounds_per_second": [r.per_second for r in self.rounds],
        }


def prepare(database: str, workdir: Path) -> tuple[str, str]:
    """(label, URL) of a migrated database with the shipped services loaded."""
    url = client_bench().prepare_database(database, workdir)
    if database == "sqlite":
        return "sqlite", url
    return "postgresql" if url.startswith("postgresql") else url.split(":", 1)[0], url


def bare_spec(size: int, workdir: Path) -> Path:
    """The bare app's template and a context that renders it at ``size`` bytes."""
    run = client_bench()
    context = run.Baseline().context_for(size)
    path = workdir / "bare.json"
    path.write_text(json.dumps({"template": run.BASELINE_TEMPLATE, "context": context}))
    return path


def measure_bare_page(port: int) -> int:
    browser = Browser(port)
    try:
        status, _, text = browser.send("GET", BARE_URL)
        if status != 200:
            raise SystemExit(f"bare app: GET {BARE_URL} gave {status}")
        post_status, _, _ = browser.send("POST", BARE_URL, answer())
        if post_status != 303:
            raise SystemExit(f"bare app: POST {BARE_URL} gave {post_status}")
        return len(text.encode())
    finally:
        browser.close()


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def compare(targets: dict[str, Target]) -> dict[str, Any]:
    """Runtime/bare ratios (overall and per round), scaling over workers, PostgreSQL/SQLite."""
    summaries = {key: t.summary() for key, t in targets.items()}
    ratios: dict[str, Any] = {}
    for key, t in targets.items():
        if t.server.kind != "runtime":
            continue
        bare = targets[f"bare {t.mode} {t.server.workers}w -"]
        per_round = [r.per_second / b.per_second for r, b in zip(t.rounds, bare.rounds, strict=True) if b.per_second]
        ratios[f"{t.mode} {t.server.workers}w {t.server.database}"] = {
            "mode": t.mode,
            "workers": t.server.workers,
            "database": t.server.database,
            "ratio": ratio(summaries[key]["per_second"], summaries[bare.key]["per_second"]),
            "rounds_min": min(per_round, default=None),
            "rounds_max": max(per_round, default=None),
        }
    scaling: dict[str, Any] = {}
    workers = sorted({t.server.workers for t in targets.values()})
    if len(workers) > 1:
        low, high = workers[0], workers[-1]
        for key, t in targets.items():
            if t.server.workers != low:
                continue
            other = key.replace(f" {low}w ", f" {high}w ")
            scaling[f"{t.server.kind} {t.mode} {t.server.database}"] = {
                "from": low,
                "to": high,
                "factor": ratio(summaries[other]["per_second"], summaries[key]["per_second"]),
            }
    databases = {}
    labels = sorted({t.server.database for t in targets.values() if t.server.kind == "runtime"})
    if "sqlite" in labels and "postgresql" in labels:
        for key, t in targets.items():
            if t.server.kind == "runtime" and t.server.database == "postgresql":
                sqlite = key.replace(" postgresql", " sqlite")
                databases[f"{t.mode} {t.server.workers}w"] = ratio(
                    summaries[key]["per_second"], summaries[sqlite]["per_second"]
                )
    return {"targets": summaries, "ratios": ratios, "scaling": scaling, "postgresql_over_sqlite": databases}


def soak(driver: Driver, server: Server, loads: dict[str, Load], minutes: float, interval: float) -> dict[str, Any]:
    """Load the runtime for ``minutes``, GET and POST in turn, sampling PSS every ``interval`` s."""
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    made = started
    modes = ["GET", "POST"]
    chunk = 0
    samples.append({"seconds": 0.0, **server.memory(), "per_second": None, "mode": None})
    while time.monotonic() - started < minutes * 60:
        if time.monotonic() - made > SESSION_REFRESH_SECONDS:
            for mode in modes:
                loads[mode].sessions = start_citizens(server.port, len(loads[mode].sessions), post=mode == "POST")[0]
            made = time.monotonic()
        mode = modes[chunk % 2]
        result = driver.run(f"soak {mode}", server.port, loads[mode], interval)
        chunk += 1
        sample = {"seconds": time.monotonic() - started, **server.memory()}
        sample |= {"per_second": result.per_second, "mode": mode}
        samples.append(sample)
        out(
            f"  soak {sample['seconds'] / 60:5.1f} min  {mode:<4} {result.per_second:8,.0f} req/s  "
            f"PSS {sample['total_mb']:6.1f} MB (anon {_mb(sample['anon_mb'])}, files {_mb(sample['file_mb'])}; "
            f"master {sample['master_mb']:.1f}, workers {' + '.join(f'{w:.1f}' for w in sample['workers_mb'])})"
        )
    loaded = samples[1:] or samples
    return {
        "minutes": minutes,
        "interval_seconds": interval,
        "workers": server.workers,
        "database": server.database,
        "samples": samples,
        "first_mb": loaded[0]["total_mb"],
        "last_mb": loaded[-1]["total_mb"],
        "max_mb": max(s["total_mb"] for s in loaded),
        "growth_mb": loaded[-1]["total_mb"] - loaded[0]["total_mb"],
        "anon_first_mb": loaded[0]["anon_mb"],
        "anon_last_mb": loaded[-1]["anon_mb"],
        "anon_growth_mb": (loaded[-1]["anon_mb"] - loaded[0]["anon_mb"] if loaded[0]["anon_mb"] is not None else None),
    }


def _mb(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


# -- report --------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> None:
    run = client_bench()
    m = result["machine"]
    out(
        f"Civic Forms HTTP benchmark — Python {m['python']} on {m['processor']}, {m['cpus']} CPUs "
        f"({m['cpus_usable']} usable) — gunicorn {result['gunicorn']} with gunicorn.conf.py (sync workers)"
    )
    out(
        f"client: {result['client']}; {result['connections']} connections; {result['sessions']} citizens per load; "
        f"{result['rounds']} rounds x {result['seconds']} s, runtime and bare alternating; "
        f"load average {result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after"
    )
    if result["client"].startswith("python"):
        out("NOTE: wrk was not used; the Python fallback client shares the CPUs and caps the bare app's rate.")
    if result.get("gunicorn_cmd_args"):
        out(f"GUNICORN_CMD_ARGS={result['gunicorn_cmd_args']}")
    out(
        f"GET  {PAGE_URL} inside a journey: {result['runtime_bytes']:,} bytes "
        f"(bare Flask + Jinja page: {result['bare_bytes']:,} bytes)"
    )
    out(f"POST {PAGE_URL}: a valid address, stored, 303 to {NEXT_PAGE} (bare: parse the form, 303)")
    out()
    if result.get("comparison"):
        comparison = result["comparison"]
        rows = [
            [
                t["mode"],
                "runtime" if t["kind"] == "runtime" else "bare Flask + Jinja",
                t["workers"],
                t["database"],
                t["per_second"],
                t["p50_ms"],
                t["p95_ms"],
                t["p99_ms"],
                t["requests"],
                t["expected_status"],
            ]
            for t in sorted(
                comparison["targets"].values(), key=lambda t: (t["mode"], t["workers"], t["kind"] != "runtime")
            )
        ]
        run.table(["", "server", "workers", "database", "req/s", "p50 ms", "p95 ms", "p99 ms", "requests", "all"], rows)
        out("Runtime / bare throughput (same workers, same run; range over rounds):")
        for r in comparison["ratios"].values():
            low, high = r["rounds_min"], r["rounds_max"]
            span = f" ({low:.3f}–{high:.3f})" if low is not None and high is not None else ""
            out(f"  {r['mode']:<4} {r['workers']} worker(s), {r['database']:<10} {r['ratio']:.3f}{span}")
        if comparison["scaling"]:
            out("Scaling (req/s with more workers / fewer):")
            for name, s in comparison["scaling"].items():
                out(f"  {name:<30} {s['from']} -> {s['to']} workers: {s['factor']:.2f}x")
        if comparison["postgresql_over_sqlite"]:
            out("PostgreSQL / SQLite (runtime req/s):")
            for name, value in comparison["postgresql_over_sqlite"].items():
                out(f"  {name:<10} {value:.2f}")
        out()
    if result.get("memory"):
        out("Memory after the load (PSS, MB; /proc/<pid>/smaps_rollup): master and workers together, split into")
        out("anonymous (the processes' own) and file-backed (interpreter and libraries, shared with other processes)")
        rows = [
            [
                name,
                mem["total_mb"],
                _mb(mem["anon_mb"]),
                _mb(mem["file_mb"]),
                mem["master_mb"],
                " + ".join(f"{w:.1f}" for w in mem["workers_mb"]),
            ]
            for name, mem in result["memory"].items()
        ]
        run.table(["server", "total", "anon", "files", "master", "workers"], rows)
    if result.get("soak"):
        s = result["soak"]
        out(
            f"Soak: {s['minutes']} min, runtime with {s['workers']} workers on {s['database']}: PSS "
            f"{s['first_mb']:.1f} MB -> {s['last_mb']:.1f} MB "
            f"(growth {s['growth_mb']:+.1f} MB, max {s['max_mb']:.1f}); "
            f"anonymous {_mb(s['anon_first_mb'])} -> {_mb(s['anon_last_mb'])} MB"
        )
    out(f"Total time: {result['total_seconds']:.1f} s")


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="seconds per measurement (default 10; wrk runs whole seconds)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--connections", type=int, default=10, help="concurrent connections (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", default="1,2", help="gunicorn worker counts to compare (default 1,2)")
    parser.add_argument(
        "--database",
        action="append",
        help="'sqlite' (a temporary file, the default) or a SQLAlchemy URL of a database made for the "
        "purpose (migrated, loaded, left with the bench's form sessions); repeat to compare",
    )
    parser.add_argument("--sessions", type=int, default=20, help="citizens per load, taken in turn (default 20)")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto", help="load generator")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="then load the runtime this long, sampling PSS")
    parser.add_argument("--soak-interval", type=float, default=30.0, help="seconds between PSS samples (default 30)")
    parser.add_argument("--no-compare", action="store_true", help="skip the runtime/bare rounds (with --soak)")
    parser.add_argument("--quick", action="store_true", help="a tiny run that checks the benchmark works")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.sessions = 0.5, 1, 4
        args.connections = min(args.connections, 4)
    args.databases = args.database or ["sqlite"]
    try:
        args.worker_counts = sorted({int(w) for w in args.workers.split(",") if w.strip()})
    except ValueError:
        parser.error("--workers: whole numbers separated by commas, e.g. 1,2")
    if not args.worker_counts or min(args.worker_counts) < 1:
        parser.error("--workers: at least one count, each 1 or more")
    if args.seconds <= 0 or args.rounds < 1 or args.connections < 1 or args.sessions < 1:
        parser.error("--seconds, --rounds, --connections and --sessions must be positive")
    if args.client == "wrk" and shutil.which("wrk") is None:
        parser.error("--client wrk: wrk is not installed")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    workdir = Path(tempfile.mkdtemp(prefix="civicforms-http-bench-"))
    driver = Driver("wrk" if use_wrk else "python", args.connections, args.threads, workdir)
    secret = secrets.token_urlsafe(48)
    servers: list[Server] = []
    try:
        databases = [prepare(database, workdir) for database in args.databases]
        if len({label for label, _ in databases}) != len(databases):
            raise SystemExit("--database: each kind of database once (sqlite, postgresql)")
        for label, url in databases:
            env = server_env(secret, url)
            for w in args.worker_counts:
                servers.append(
                    start_server(f"runtime {label} {w}w", "runtime", "runtime.wsgi:app", w, label, env, workdir)
                )
        for server in servers:
            wait_ready(server)

        # Citizens per database (servers on one database share its form sessions and the secret).
        citizens: dict[str, dict[str, list[Session]]] = {}
        sizes: list[int] = []
        for label, _url in databases:
            first = next(s for s in servers if s.database == label)
            gets, size = start_citizens(first.port, args.sessions, post=False)
            posts, _ = start_citizens(first.port, args.sessions, post=True)
            citizens[label] = {"GET": gets, "POST": posts}
            sizes.append(size)
        runtime_bytes = sizes[0]

        spec = bare_spec(runtime_bytes, workdir)
        bare_env = {"CIVICFORMS_BENCH_BARE": str(spec)}
        bares = [
            start_server(f"bare {w}w", "bare", "bench.http_bench:bare_app()", w, "-", bare_env, workdir)
            for w in args.worker_counts
        ]
        servers += bares
        for server in bares:
            wait_ready(server)
        bare_bytes = measure_bare_page(bares[0].port)
        if abs(bare_bytes - runtime_bytes) > SIZE_TOLERANCE * runtime_bytes:
            raise SystemExit(f"the bare page is {bare_bytes} bytes, the runtime's {runtime_bytes}")

        def load_for(server: Server, mode: str) -> Load:
            # The bare app gets the same requests (cookies and bodies) as the runtime on the
            # first database: the same bytes to read, parse and answer.
            label = server.database if server.kind == "runtime" else databases[0][0]
            path = PAGE_URL if server.kind == "runtime" else BARE_URL
            return Load(mode, path, citizens[label][mode], 200 if mode == "GET" else 303)

        targets: dict[str, Target] = {}
        for mode in ("GET", "POST"):
            for w in args.worker_counts:
                for server in [s for s in servers if s.workers == w]:
                    target = Target(server, mode, load_for(server, mode))
                    targets[target.key] = target

        comparison = None
        memory: dict[str, Any] = {}
        if not args.no_compare:
            warmup = min(2.0, args.seconds / 2)
            out(f"warming up {len(targets)} loads ({warmup} s each) ...")
            for target in targets.values():
                driver.run(f"warm-up {target.key}", target.server.port, target.load, warmup)
            for number in range(1, args.rounds + 1):
                for target in targets.values():
                    measured = driver.run(target.key, target.server.port, target.load, args.seconds)
                    target.rounds.append(measured)
                    out(
                        f"  round {number}: {target.key:<28} {measured.per_second:9,.0f} req/s  "
                        f"p50 {measured.p50_ms:.2f} ms"
                    )
            comparison = compare(targets)
            memory = {server.name: server.memory() for server in servers}

        soak_result = None
        if args.soak:
            server = next(s for s in servers if s.kind == "runtime" and s.workers == args.worker_counts[-1])
            out(f"soak: {args.soak} min on {server.name}, PSS every {args.soak_interval:.0f} s")
            loads = {mode: load_for(server, mode) for mode in ("GET", "POST")}
            for mode, load in loads.items():
                driver.run(f"soak warm-up {mode}", server.port, load, min(2.0, args.soak_interval))
            soak_result = soak(driver, server, loads, args.soak, args.soak_interval)

        run = client_bench()
        try:
            gunicorn_version = metadata.version("gunicorn")
        except metadata.PackageNotFoundError:
            gunicorn_version = "?"
        result = {
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "machine": run.machine(),
            "gunicorn": gunicorn_version,
            "gunicorn_cmd_args": os.environ.get("GUNICORN_CMD_ARGS", ""),
            "client": wrk_version() if use_wrk else "python (fallback: http.client keep-alive threads)",
            "connections": args.connections,
            "sessions": args.sessions,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "workers": args.worker_counts,
            "databases": [label for label, _ in databases],
            "runtime_bytes": runtime_bytes,
            "bare_bytes": bare_bytes,
            "comparison": comparison,
            "memory": memory,
            "soak": soak_result,
            "total_seconds": time.perf_counter() - started,
        }
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        out(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

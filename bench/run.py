"""Benchmark of the citizen runtime against a bare Flask + Jinja app, in one run on this machine.

Measures, in-process through Flask's test client (no network, no WSGI server):

1. page render throughput: GET of a real question page inside a started journey, against a
   bare Flask app rendering a Jinja template whose output is the same size;
2. full submission throughput: complete journeys per second (start page, start, every page
   GET + POST, check answers, submit, confirmation), against the same sequence of requests
   (same methods, same form payloads, same response sizes) on the bare app; SQL statements
   per request;
3. validation time per submission (``CompiledService.validate``) and the cost of compiling a
   definition's validators once against reusing them from the cache;
4. peak memory (maximum resident set size) of the run.

Run: ``.venv/bin/python bench/run.py [--seconds 3] [--database sqlite|URL] [--json out.json]``.
See docs/performance.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import platform
import pstats
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Flask, redirect, render_template, request
from flask.testing import FlaskClient
from jinja2 import DictLoader

from runtime import db as dbmod
from runtime import validation
from runtime.definition import Definition, read_file
from runtime.journey import Journey
from runtime.services import releasing
from runtime.settings import PROJECT_ROOT, Settings
from runtime.web import create_citizen_app

DEFINITIONS = PROJECT_ROOT / "form_definitions"
PAGE_SERVICE = "resident-parking-permit"
PAGE_ID = "vehicle-details"
SIZE_TOLERANCE = 0.05
FIRST_COMPILE_SAMPLES = 5


def _load_happy_paths() -> Any:
    """tests/journeys.py holds the one list of valid journeys; tests/ is not an installed package."""
    spec = importlib.util.spec_from_file_location("bench_journeys", PROJECT_ROOT / "tests" / "journeys.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses (UploadFile) look their module up while it loads
    spec.loader.exec_module(module)
    return module


JOURNEYS = _load_happy_paths()
HAPPY_PATHS: dict[str, list[tuple[str, dict[str, Any]]]] = JOURNEYS.HAPPY_PATHS
UploadFile = JOURNEYS.UploadFile


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# -- timing -----------------------------------------------------------------------------------


@dataclass
class Timing:
    runs: int
    seconds: float
    per_second: float
    mean_ms: float
    p50_ms: float
    p95_ms: float


def percentile(ordered: list[int], fraction: float) -> float:
    """Nearest-rank percentile of sorted nanosecond samples, in nanoseconds."""
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return float(ordered[index])


def _timing(samples: list[int], runs: int | None = None) -> Timing:
    ordered = sorted(samples)
    busy = sum(samples) / 1e9
    runs = runs or len(samples)
    return Timing(
        runs=runs,
        seconds=round(busy * runs / len(samples), 3),
        per_second=len(samples) / busy,
        mean_ms=busy * 1e3 / len(samples),
        p50_ms=percentile(ordered, 0.50) / 1e6,
        p95_ms=percentile(ordered, 0.95) / 1e6,
    )


def _run_for(fn: Callable[[], Any], nanoseconds: float, samples: list[int], min_runs: int = 1) -> None:
    clock = time.perf_counter_ns
    deadline = clock() + nanoseconds
    runs = 0
    while True:
        t0 = clock()
        fn()
        t1 = clock()
        samples.append(t1 - t0)
        runs += 1
        if t1 >= deadline and runs >= min_runs:
            return


def measure(fn: Callable[[], Any], seconds: float, warmup: int = 3, min_runs: int = 5, batch: int = 1) -> Timing:
    """Call ``fn`` repeatedly for about ``seconds`` (after a warm-up); throughput and latency.

    With ``batch``, each sample times that many calls (for calls of a microsecond or so) and
    the figures are per call."""
    for _ in range(warmup):
        fn()
    samples: list[int] = []
    if batch == 1:
        _run_for(fn, seconds * 1e9, samples, min_runs)
        return _timing(samples)

    def batched() -> None:
        for _ in range(batch):
            fn()

    _run_for(batched, seconds * 1e9, samples, min_runs)
    return _timing([round(s / batch) for s in samples], runs=len(samples) * batch)


def measure_pair(
    runtime: Callable[[], Any], baseline: Callable[[], Any], seconds: float, slices: int = 10, warmup: int = 3
) -> tuple[Timing, Timing]:
    """Measure two functions for ``seconds`` each, alternating in slices so that both see the same
    machine: another process busy on a core slows both sides, and the ratio stays fair."""
    for _ in range(warmup):
        runtime()
        baseline()
    a: list[int] = []
    b: list[int] = []
    for _ in range(slices):
        _run_for(runtime, seconds * 1e9 / slices, a)
        _run_for(baseline, seconds * 1e9 / slices, b)
    return _timing(a), _timing(b)


@contextmanager
def postgres_database(postgres: str, name: str, keep: bool) -> Iterator[str]:
    """An empty PostgreSQL database of the run's own at the server of ``postgres``, made afresh
    and dropped afterwards unless ``keep``; yields its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    server = make_url(postgres)
    admin = dbmod.make_engine(server.set(database="postgres").render_as_string(hide_password=False))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")  # type: ignore[assignment]
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            out(f"kept the PostgreSQL database {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# -- the runtime ------------------------------------------------------------------------------


def prepare_database(database: str, workdir: Path) -> str:
    url = f"sqlite:///{workdir / 'bench.db'}" if database == "sqlite" else database
    dbmod.upgrade(url)
    engine = dbmod.make_engine(url)
    with dbmod.session(engine) as s:
        results = releasing.load_folder(session=s, folder=DEFINITIONS, create_departments=True)
    engine.dispose()
    failed = [f"{path.name}: {result}" for path, result in results if isinstance(result, Exception)]
    if failed:
        raise SystemExit(f"could not load the shipped definitions: {failed}")
    return url


def runtime_app(url: str) -> Flask:
    # Blue Badge's files: scanned by the clamd CIVICFORMS_CLAMD_ADDRESS names (tests/test_bench.py
    # passes its own), kept in a folder of this run.
    files = Path(tempfile.mkdtemp(prefix="civicforms-bench-files-"))
    settings = Settings(
        environment="test",
        secret_key="bench-secret-" + "x" * 40,
        database_url=url,
        secure_cookies=False,
        clamd_address=os.environ.get("CIVICFORMS_CLAMD_ADDRESS", ""),
        upload_dir=files / "uploads",
        quarantine_dir=files / "quarantine",
    )
    # CSRF is off so that a journey does not need an extra GET to read each token: the token
    # check itself is an HMAC comparison, small next to what is measured here.
    return create_citizen_app({"SETTINGS": settings, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})


class SqlCounter:
    """Counts statements sent to the database by the app's engines, read at the driver
    (runtime.db.DriverTrace: prepared statements and the ORM's alike), and (while recording a
    journey) calls of CompiledService.validate, which Journey.page_errors also goes through."""

    def __init__(self, app: Flask):
        self.engines = app.extensions["civicforms.engines"]
        self.trace: dbmod.DriverTrace | None = None
        self.validations = 0

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Statements are traced only meanwhile: the timed runs go untraced."""
        with dbmod.DriverTrace(*self.engines) as trace:
            self.trace = trace
            try:
                yield
            finally:
                self.trace = None

    def take(self) -> int:
        """Statements sent since the last take."""
        assert self.trace is not None, "inside recording() only"
        count = len(self.trace.words())
        self.trace.clear()
        return count

    @contextmanager
    def counting_validations(self) -> Iterator[None]:
        original = validation.CompiledService.validate

        def counted(engine: validation.CompiledService, answers: dict[str, Any]) -> dict[str, str]:
            self.validations += 1
            return original(engine, answers)

        validation.CompiledService.validate = counted  # type: ignore[method-assign]
        try:
            yield
        finally:
            validation.CompiledService.validate = original  # type: ignore[method-assign]


@dataclass
class Step:
    method: str
    url: str
    data: dict[str, Any] | None
    status: int
    location: str | None  # where a redirect must go (path only)
    size: int  # response body bytes
    kind: str  # what the request is, for the SQL table


def journey_steps(service_id: str) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    base = f"/services/{service_id}"
    steps: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("GET", base, None, "start page GET"),
        ("POST", f"{base}/start", {}, "start POST"),
    ]
    for page_id, data in HAPPY_PATHS[service_id]:
        steps.append(("GET", f"{base}/{page_id}", None, "question page GET"))
        if any(isinstance(value, UploadFile) for value in data.values()):
            # A file question's page: its upload form, the file and Continue (multipart).
            steps.append(("POST", f"{base}/{page_id}/upload", {**data, "action": "continue"}, "upload POST"))
        else:
            steps.append(("POST", f"{base}/{page_id}", data, "question page POST"))
    steps += [
        ("GET", f"{base}/check-answers", None, "check answers GET"),
        ("POST", f"{base}/check-answers", {}, "submit POST"),
        ("GET", f"{base}/confirmation", None, "confirmation GET"),
    ]
    return steps


def record_journey(app: Flask, counter: SqlCounter, service_id: str) -> tuple[list[Step], list[int], list[int]]:
    """Walk a service once, checking every response: the steps as they happened, and for each
    request the SQL statements sent and the whole-schema validations run."""
    client = app.test_client()
    recorded: list[Step] = []
    sql: list[int] = []
    validations: list[int] = []
    plan = journey_steps(service_id)
    with counter.recording():
        for i, (method, url, data, kind) in enumerate(plan):
            counter.take()
            counter.validations = 0
            with counter.counting_validations():
                response = client.open(url, method=method, data=posted(data))
            sql.append(counter.take())
            validations.append(counter.validations)
            recorded.append(_checked(service_id, plan, i, response, kind))
    return recorded, sql, validations


def _checked(
    service_id: str, plan: list[tuple[str, str, dict[str, Any] | None, str]], i: int, response: Any, kind: str
) -> Step:
    """The step as it happened, or SystemExit when the response is not the journey's next."""
    method, url, data, _ = plan[i]
    location = response.headers.get("Location")
    if method == "POST":
        expected = plan[i + 1][1]
        if response.status_code != 303 or location != expected:
            raise SystemExit(f"{service_id}: POST {url} gave {response.status_code} -> {location}, not {expected}")
    elif response.status_code != 200:
        raise SystemExit(f"{service_id}: GET {url} gave {response.status_code}")
    return Step(method, url, data, response.status_code, location, len(response.data), kind)


def posted(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the test client posts: a file (an UploadFile) as a fresh stream each time."""
    if data is None:
        return None
    return {k: (io.BytesIO(v.content), v.name, v.mime) if isinstance(v, UploadFile) else v for k, v in data.items()}


def replay(client: FlaskClient, steps: list[Step]) -> None:
    """One journey: every request of ``steps`` in order, each response checked."""
    for step in steps:
        response = client.open(step.url, method=step.method, data=posted(step.data))
        if response.status_code != step.status or (step.location and response.headers["Location"] != step.location):
            raise RuntimeError(f"{step.method} {step.url}: {response.status_code} {response.headers.get('Location')}")


# -- the bare Flask baseline ------------------------------------------------------------------

# A plain page with GOV.UK-like markup: a layout, a loop of form groups and a loop of paragraphs,
# all from variables (autoescaped, as a ".html" template is in Flask).
BASELINE_TEMPLATE = """<!DOCTYPE html>
<html lang="en" class="govuk-template">
<head>
  <meta charset="utf-8">
  <title>{{ title }} – {{ organisation }}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="{{ url_for('static', filename='app.css') }}">
</head>
<body class="govuk-template__body">
  <a href="#main-content" class="govuk-skip-link">Skip to main content</a>
  <header class="govuk-header"><div class="govuk-header__container govuk-width-container">
    <a href="/" class="govuk-header__link">{{ organisation }}</a></div></header>
  <div class="govuk-width-container">
    <a href="{{ back_url }}" class="govuk-back-link">Back</a>
    <main class="govuk-main-wrapper" id="main-content">
      <h1 class="govuk-heading-l">{{ title }}</h1>
      <form method="post" novalidate>
      {% for row in rows %}
        <div class="govuk-form-group">
          <label class="govuk-label govuk-label--m" for="{{ row.id }}">{{ row.label }}</label>
          <div id="{{ row.id }}-hint" class="govuk-hint">{{ row.hint }}</div>
          <input class="govuk-input govuk-input--width-20" id="{{ row.id }}" name="{{ row.name }}" type="text" \
value="{{ row.value }}" aria-describedby="{{ row.id }}-hint">
        </div>
      {% endfor %}
      {% for note in notes %}<p class="govuk-body">{{ note }}</p>
      {% endfor %}
        <button type="submit" class="govuk-button" data-module="govuk-button">Continue</button>
      </form>
    </main>
  </div>
  <footer class="govuk-footer"><div class="govuk-width-container"><p class="govuk-body-s">{{ organisation }}</p>
  </div></footer>
</body>
</html>
"""


def _rows(n: int) -> list[dict[str, str]]:
    return [
        {
            "id": f"field-{i}",
            "name": f"field_{i}",
            "label": f"Question number {i} about you",
            "hint": "For example, what you would write on a letter",
            "value": f"Answer {i} & more",
        }
        for i in range(n)
    ]


def _notes(n: int) -> list[str]:
    return [f"Note {i}: read this first." for i in range(n)]


class Baseline:
    """A bare Flask app: no database, no session, one Jinja template sized to match each page."""

    def __init__(self) -> None:
        app = Flask("bench_baseline")
        app.jinja_loader = DictLoader({"page.html": BASELINE_TEMPLATE})  # type: ignore[assignment]
        self.app = app
        self.pages: dict[str, dict[str, Any]] = {}
        self.nexts: dict[str, str] = {}

        @app.get("/page/<key>")
        def show(key: str) -> str:
            return render_template("page.html", **self.pages[key])

        @app.post("/page/<key>")
        def save(key: str) -> Any:
            request.form.to_dict(flat=False)  # parse the post, as a real handler would
            return redirect(self.nexts[key], 303)

    def _render(self, context: dict[str, Any]) -> int:
        with self.app.test_request_context("/"):
            return len(render_template("page.html", **context).encode())

    def context_for(self, size: int) -> dict[str, Any]:
        """A template context whose page is ``size`` bytes (within a few bytes, and at most 5%)."""
        context: dict[str, Any] = {
            "title": "What are your vehicle details?",
            "organisation": "Civic Forms",
            "back_url": "/page/back",
            "rows": [],
            "notes": [],
        }
        empty = self._render(context)
        per_row = self._render({**context, "rows": _rows(1)}) - empty
        rows = max(0, (size - empty) // per_row)
        context["rows"] = _rows(rows)
        filled = self._render(context)
        per_note = self._render({**context, "notes": _notes(1)}) - filled
        context["notes"] = _notes(max(0, round((size - filled) / per_note)))
        actual = self._render(context)
        if abs(actual - size) > SIZE_TOLERANCE * size:
            raise SystemExit(f"baseline page is {actual} bytes, cannot match {size}")
        return context

    def add_page(self, key: str, size: int) -> int:
        self.pages[key] = self.context_for(size)
        return self._render(self.pages[key])

    def mirror(self, name: str, steps: list[Step]) -> list[Step]:
        """The same requests as ``steps``: GETs of same-size pages, POSTs that redirect to the next."""
        mirrored: list[Step] = []
        for i, step in enumerate(steps):
            url = f"/page/{name}-{i}"
            if step.method == "GET":
                self.add_page(f"{name}-{i}", step.size)
                mirrored.append(Step("GET", url, None, 200, None, step.size, step.kind))
            else:
                self.nexts[f"{name}-{i}"] = f"/page/{name}-{i + 1}"
                mirrored.append(Step("POST", url, step.data, 303, f"/page/{name}-{i + 1}", step.size, step.kind))
        return mirrored


# -- measurements -----------------------------------------------------------------------------


# Where a page GET spends its time: (label, file the function is in, function name).
PROFILE_PARTS = [
    ("whole request through the test client", "werkzeug/test.py", "open"),
    ("  the view (citizen.question)", "runtime/web/citizen.py", "question"),
    ("    form session lookup (SELECT)", "runtime/web/citizen.py", "_journey"),
    ("    Journey.first_incomplete (one validation)", "runtime/journey.py", "first_incomplete"),
    ("    CitizenJourney.back_url (path)", "runtime/web/citizen.py", "back_url"),
    ("    rendering.question_view", "runtime/rendering.py", "question_view"),
    ("    render_template (layout, GOV.UK macros)", "flask/templating.py", "render_template"),
    ("  security headers (after_request)", "runtime/web/common.py", "security_headers"),
    ("  session cookie save", "flask/sessions.py", "save_session"),
]


def profile_page(client: FlaskClient, url: str, requests: int) -> list[dict[str, Any]]:
    """Share of a page GET's time in each part, from cProfile (which slows small calls more)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(url)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        for label, where, name in PROFILE_PARTS:
            if function == name and filename.replace(os.sep, "/").endswith(where):
                found[label] = found.get(label, 0.0) + cumulative
    total = found.get(PROFILE_PARTS[0][0]) or 1.0
    return [
        {"part": label.strip(), "indent": len(label) - len(label.lstrip()), "share": found.get(label, 0.0) / total}
        for label, _where, _name in PROFILE_PARTS
    ]


def bench_page(app: Flask, baseline: Baseline, seconds: float, profile_requests: int) -> dict[str, Any]:
    client = app.test_client()
    base = f"/services/{PAGE_SERVICE}"
    if client.post(f"{base}/start").status_code != 303:
        raise SystemExit(f"POST {base}/start did not start a journey")
    for page_id, data in HAPPY_PATHS[PAGE_SERVICE]:
        if page_id == PAGE_ID:
            break
        response = client.post(f"{base}/{page_id}", data=data)
        if response.status_code != 303:
            raise SystemExit(f"POST {base}/{page_id} gave {response.status_code}")
    url = f"{base}/{PAGE_ID}"
    response = client.get(url)
    if response.status_code != 200 or b'name="vehicle_registration"' not in response.data:
        raise SystemExit(f"GET {url} did not show the vehicle details page ({response.status_code})")
    size = len(response.data)
    baseline_size = baseline.add_page("page", size)
    bare = baseline.app.test_client()
    if len(bare.get("/page/page").data) != baseline_size:
        raise SystemExit("the baseline page is not the size it was rendered at")

    def runtime_get() -> None:
        if client.get(url).status_code != 200:
            raise RuntimeError(url)

    def baseline_get() -> None:
        if bare.get("/page/page").status_code != 200:
            raise RuntimeError("baseline")

    runtime, bare_timing = measure_pair(runtime_get, baseline_get, seconds)
    return {
        "url": url,
        "runtime_bytes": size,
        "baseline_bytes": baseline_size,
        "runtime": asdict(runtime),
        "baseline": asdict(bare_timing),
        "ratio": runtime.per_second / bare_timing.per_second,
        "profile": profile_page(client, url, profile_requests) if profile_requests else [],
    }


def bench_journeys(app: Flask, counter: SqlCounter, baseline: Baseline, seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for service_id in sorted(HAPPY_PATHS):
        first, sql_first, _ = record_journey(app, counter, service_id)  # the service's first submission
        steps, sql, validations = record_journey(app, counter, service_id)  # a returning citizen
        mirrored = baseline.mirror(service_id, steps)
        bare = baseline.app.test_client()
        replay(bare, mirrored)

        runtime, bare_timing = measure_pair(
            lambda s=steps: replay(app.test_client(), s), lambda m=mirrored, c=bare: replay(c, m), seconds, warmup=1
        )

        by_kind: dict[str, list[int]] = {}
        validations_by_kind: dict[str, list[int]] = {}
        for step, n, v in zip(steps, sql, validations, strict=True):
            by_kind.setdefault(step.kind, []).append(n)
            validations_by_kind.setdefault(step.kind, []).append(v)
        submit_index = next(i for i, s in enumerate(first) if s.kind == "submit POST")
        results[service_id] = {
            "pages": len(HAPPY_PATHS[service_id]),
            "requests": len(steps),
            "posts": sum(1 for s in steps if s.method == "POST"),
            "runtime": asdict(runtime),
            "baseline": asdict(bare_timing),
            "ratio": runtime.per_second / bare_timing.per_second,
            "sql": {kind: max(counts) for kind, counts in by_kind.items()},
            "sql_min": {kind: min(counts) for kind, counts in by_kind.items()},
            "sql_first_submit": sql_first[submit_index],
            "sql_per_journey": sum(sql),
            "validations": {kind: max(counts) for kind, counts in validations_by_kind.items()},
            "validations_per_journey": sum(validations),
        }
    return results


def answers_for(definition: Definition, service_id: str) -> dict[str, Any]:
    """The answers a happy-path journey stores, built the way the question pages build them."""
    journey = Journey(validation.compiled(definition), {})
    for page_id, data in HAPPY_PATHS[service_id]:
        page, given = JOURNEYS.step_answers(definition, page_id, data, journey.answers)
        if given is None:
            continue  # "Do you need to add another?": no answer
        journey = journey.answer(page, given)
        errors = journey.page_errors(page)
        if errors:
            raise SystemExit(f"{service_id}/{page_id}: happy path does not validate: {errors}")
    return journey.visible_answers


def bench_validation(seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for path in sorted(DEFINITIONS.glob("*.json")):
        doc = read_file(path)
        definition = Definition(doc)
        answers = answers_for(definition, definition.id)

        # A compile is what a cache miss does (jsonschema resolves references lazily, so part of
        # it shows up in the first validate on a new validator). Median of a few, each from cold.
        # Definition(doc) is built once per version too (published_versions.definition caches it): time it alongside.
        firsts: list[tuple[float, float, float]] = []
        fresh_errors: dict[str, str] = {}
        for _ in range(FIRST_COMPILE_SAMPLES):
            t0 = time.perf_counter_ns()
            cold = Definition(doc)
            t1 = time.perf_counter_ns()
            fresh = validation.CompiledService(cold)
            t2 = time.perf_counter_ns()
            fresh_errors |= fresh.validate(answers)
            firsts.append(((t1 - t0) / 1e3, (t2 - t1) / 1e3, (time.perf_counter_ns() - t2) / 1e3))
        definition_us = statistics.median(d for d, _, _ in firsts)
        compile_us = statistics.median(c for _, c, _ in firsts)
        first_validate_us = statistics.median(v for _, _, v in firsts)
        compile_mean = measure(lambda d=definition: validation.CompiledService(d), seconds / 10, warmup=1)
        other = Definition(
            doc
        )  # an equal definition read again, as published_versions.definition would after a restart
        hit = measure(lambda d=other: validation.compiled(d), seconds / 10, warmup=1, batch=100)
        reused = validation.compiled(Definition(doc)) is validation.compiled(definition)

        engine = validation.compiled(definition)
        errors = engine.validate(answers)
        if errors or fresh_errors:
            raise SystemExit(f"{definition.id}: happy path answers do not validate: {errors or fresh_errors}")
        validate = measure(lambda e=engine, a=answers: e.validate(a), seconds / 6)
        journey_path = Journey(engine, answers).path

        def first_incomplete(e: validation.CompiledService = engine, a: dict[str, Any] = answers) -> None:
            # What every question page and check answers run to find where the citizen is: a
            # new Journey each time, as each request builds one (its properties are cached).
            if Journey(e, a).first_incomplete is not None:
                raise RuntimeError("incomplete")

        pages_check = measure(first_incomplete, seconds / 6)
        results[definition.id] = {
            "answers": len(answers),
            "pages_on_path": len(journey_path),
            "validate_us_mean": validate.mean_ms * 1e3,
            "validate_us_p50": validate.p50_ms * 1e3,
            "validate_us_p95": validate.p95_ms * 1e3,
            "validate_runs": validate.runs,
            "definition_build_us": definition_us,
            "first_compile_us": compile_us,
            "first_validate_us": first_validate_us,
            "compile_us_mean": compile_mean.mean_ms * 1e3,
            "cache_hit_us_mean": hit.mean_ms * 1e3,
            "cache_returns_same_object": reused,
            "all_pages_check_us_mean": pages_check.mean_ms * 1e3,
            "all_pages_check_us_p95": pages_check.p95_ms * 1e3,
        }
    return results


# -- report -----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    out("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))))
    out("  ".join("-" * w for w in widths))
    for row in cells:
        out("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    out()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def machine() -> dict[str, Any]:
    versions = {}
    for package in ("flask", "jinja2", "werkzeug", "govuk-frontend-jinja", "sqlalchemy", "jsonschema", "psycopg"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "processor": _cpu_model(),
        "packages": versions,
        "sqlite": sqlite3.sqlite_version,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def report(result: dict[str, Any]) -> None:
    m = result["machine"]
    out(f"Civic Forms benchmark — {result['database']} — Python {m['python']} on {m['processor']}, {m['cpus']} CPUs")
    out(
        f"{result['seconds']} s per measurement; in-process Flask test client, one thread, CSRF off; "
        f"load average {result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after"
    )
    out()

    page = result["page"]
    out(f"1. Page render: GET {page['url']} ({page['runtime_bytes']} bytes; baseline {page['baseline_bytes']} bytes)")
    rows = [
        [name, t["per_second"], t["mean_ms"], t["p50_ms"], t["p95_ms"], t["runs"]]
        for name, t in (("runtime", page["runtime"]), ("bare Flask + Jinja", page["baseline"]))
    ]
    table(["", "req/s", "mean ms", "p50 ms", "p95 ms", "requests"], rows)
    out(f"   ratio runtime/baseline throughput: {page['ratio']:.3f} (baseline is {1 / page['ratio']:.1f}x faster)")
    if page["profile"]:
        out("   where the runtime page's time goes (cProfile, share of the whole request):")
        for part in page["profile"]:
            out(f"   {' ' * part['indent']}{part['part']:<{60 - part['indent']}} {part['share']:6.1%}")
    out()

    journeys = result["journeys"]
    out("2. Full submission: journeys/s (start page, start, each page GET+POST, check answers, submit, confirmation)")
    rows = [
        [
            sid,
            j["requests"],
            j["runtime"]["per_second"],
            j["runtime"]["p95_ms"],
            j["baseline"]["per_second"],
            j["baseline"]["p95_ms"],
            j["ratio"],
        ]
        for sid, j in journeys.items()
    ]
    mean = result["journeys_mean"]
    rows.append(
        ["mean over services", "", mean["runtime_per_second"], "", mean["baseline_per_second"], "", mean["ratio"]]
    )
    table(["service", "requests", "runtime j/s", "p95 ms", "bare j/s", "p95 ms", "ratio"], rows)

    out("   SQL statements per request: most seen on a journey; '1st submit': the service's first submission in")
    out("   this run (the first service's is a new citizen, later ones can add identifiers to that record)")
    kinds = ["start page GET", "start POST", "question page GET", "question page POST", "check answers GET"]
    headers = ["service", "pages", "start", "begin", "page GET", "page POST", "check", "submit", "1st submit"]
    rows = [
        [sid, j["pages"], *(j["sql"][k] for k in kinds), j["sql"]["submit POST"], j["sql_first_submit"]]
        + [j["sql"]["confirmation GET"], j["sql_per_journey"]]
        for sid, j in journeys.items()
    ]
    table([*headers, "confirm", "total"], rows)

    out("   Whole-schema validations (CompiledService.validate calls) per request, most seen")
    kinds = ["question page GET", "question page POST", "check answers GET", "submit POST"]
    rows = [
        [sid, j["pages"], *(j["validations"][k] for k in kinds), j["validations_per_journey"]]
        for sid, j in journeys.items()
    ]
    table(["service", "pages", "page GET", "page POST", "check", "submit", "per journey"], rows)

    out("3. Validation per submission (CompiledService.validate on a full valid answers dict), microseconds")
    rows = [
        [
            sid,
            v["answers"],
            v["validate_us_mean"],
            v["validate_us_p50"],
            v["validate_us_p95"],
            v["all_pages_check_us_mean"],
            v["definition_build_us"],
            v["first_compile_us"],
            v["first_validate_us"],
            v["compile_us_mean"],
            v["cache_hit_us_mean"],
            "yes" if v["cache_returns_same_object"] else "NO",
        ]
        for sid, v in result["validation"].items()
    ]
    headers = ["service", "answers", "validate", "p50", "p95", "all pages", "Definition", "1st compile", "1st validate"]
    table([*headers, "compile", "cache hit", "reused"], rows)
    out("   all pages: Journey(service, answers).first_incomplete on a complete journey (path + one validation)")
    out("   Definition: Definition(doc) with its content hash, cached per version by published_versions.definition")
    out("   1st compile / 1st validate: a new CompiledService and its first validate (median of 5, from cold)")
    out("   compile: CompiledService(definition), what a cache miss costs; cache hit: validation.compiled(definition)")
    web = result["compiled_in_web"]
    out(
        f"   CompiledService objects built during the web measurements: {web['constructed']}"
        f" for {web['requests']:,} requests"
    )
    out()
    mem = result["memory"]
    out(
        f"4. Peak memory (max RSS): {mem['peak_mb']:.0f} MB "
        f"(after setup {mem['after_setup_mb']:.0f} MB, after page render {mem['after_page_mb']:.0f} MB, "
        f"after journeys {mem['after_journeys_mb']:.0f} MB)"
    )
    out(f"Total time: {result['total_seconds']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per throughput measurement (default 3)")
    parser.add_argument(
        "--database", default="sqlite", help="'sqlite' (a temporary file, the default) or a SQLAlchemy database URL"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--profile-requests", type=int, default=200, help="page GETs to profile for the time breakdown (0: none)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="civicforms-bench-"))
    constructed = 0
    original_init = validation.CompiledService.__init__

    def counting_init(self: validation.CompiledService, definition: Definition) -> None:
        nonlocal constructed
        constructed += 1
        original_init(self, definition)

    try:
        url = prepare_database(args.database, workdir)
        app = runtime_app(url)
        counter = SqlCounter(app)
        baseline = Baseline()
        memory = {"after_setup_mb": maxrss_mb()}

        validation.CompiledService.__init__ = counting_init  # type: ignore[method-assign]
        try:
            page = bench_page(app, baseline, args.seconds, args.profile_requests)
            memory["after_page_mb"] = maxrss_mb()
            journeys = bench_journeys(app, counter, baseline, args.seconds)
            memory["after_journeys_mb"] = maxrss_mb()
        finally:
            validation.CompiledService.__init__ = original_init  # type: ignore[method-assign]
        requests = page["runtime"]["runs"] + sum(j["runtime"]["runs"] * j["requests"] for j in journeys.values())

        validation_results = bench_validation(args.seconds)
        for engine in app.extensions["civicforms.engines"]:
            engine.dispose()
        memory["peak_mb"] = maxrss_mb()

        n = len(journeys)
        result = {
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "database": "sqlite (temporary file)" if args.database == "sqlite" else url.split("@")[-1],
            "seconds": args.seconds,
            "machine": machine(),
            "page": page,
            "journeys": journeys,
            "journeys_mean": {
                "runtime_per_second": sum(j["runtime"]["per_second"] for j in journeys.values()) / n,
                "baseline_per_second": sum(j["baseline"]["per_second"] for j in journeys.values()) / n,
                "ratio": sum(j["ratio"] for j in journeys.values()) / n,
            },
            "validation": validation_results,
            "compiled_in_web": {"constructed": constructed, "requests": requests},
            "memory": memory,
            "total_seconds": time.perf_counter() - started,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        out(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the builder on a large service: saving one edit, and rendering the service's pages.

The service is ``bench/large_service.py``: 100 questions on 30 pages, every widget type,
choices, show-if conditions with their if/then required rules, routing. Measured in-process:

1. saving one edit, for several kinds of edit: the builder operation (``builder.operations``),
   ``runtime.checker.check`` of the result, ``builder.publishing.write_definition`` (the
   canonical ``runtime.definition.dumps`` and an atomic, fsync'd write of the file), and the
   draft row saved as the builder saves it (``draft_data.save_draft`` in a SQLite file, committed).
   Median and p95 over many saves, each building on the last, as a designer's saves do;
2. the builder's page for the service: when the builder app has a pages list or task list
   view, a GET of it through Flask's test client, signed in as a designer of the service's
   department, with the service as a draft; and always every page previewed with the runtime's
   own rendering (``Definition(doc)`` of the just-edited draft, ``rendering.question_view`` for
   every question, and the runtime's ``components/question.html`` macro in the citizen app's
   Jinja environment), all 30 pages in one render.

Goals (issue 5, "Speed"): each at most 0.2 s, judged on the p95.

Run: ``.venv/bin/python bench/builder.py [--seconds 3] [--json out.json]``.
See docs/performance.md ("Builder") for what the figures mean.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where this file would stand in for
# the project's "builder" package: look in the project root first instead.
BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == BENCH:
    sys.path.pop(0)
sys.path.insert(0, str(BENCH.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

from bench.large_service import large_service  # noqa: E402
from bench.run import machine, out, percentile, table  # noqa: E402
from builder.publishing import write_definition  # noqa: E402
from runtime import db as dbmod  # noqa: E402
from runtime import rendering, staff  # noqa: E402
from runtime.checker import check  # noqa: E402
from runtime.data import departments  # noqa: E402
from runtime.data import drafts as draft_data  # noqa: E402
from runtime.definition import Definition, dumps  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.web import create_citizen_app  # noqa: E402

GOAL_SECONDS = 0.2
MIN_RUNS = 20
SECRET = "bench-secret-" + "x" * 40
PASSWORD = "correct horse battery staple"
# The builder's pages for one service, heaviest first (docs/builder-design.md, "URLs").
BUILDER_PAGES = ("/services/<>/pages", "/services/<>/")

# Every page of the service, as the builder previews it: the page's heading and intro, then its
# questions through the runtime's own macro (the same parameters a citizen's page gets).
PREVIEW_TEMPLATE = """\
{% from "components/question.html" import render_question %}
{% for page in pages %}
<section class="app-page-preview" id="preview-{{ page.id }}">
  <h2 class="govuk-heading-m">{{ page.title }}</h2>
  {% for paragraph in page.intro %}<p class="govuk-body">{{ paragraph }}</p>{% endfor %}
  {% for view in page.views %}{{ render_question(view) }}{% endfor %}
</section>
{% endfor %}
"""


def _operations_module() -> ModuleType | None:
    """builder/operations.py, or None while it does not exist (the save is then measured without it)."""
    try:
        from builder import operations
    except ImportError:
        return None
    return operations


# -- timing ------------------------------------------------------------------------------------


@dataclass
class Sampled:
    """Wall-clock samples of one measurement, each split into named parts (nanoseconds)."""

    totals: list[int]
    cpu: list[int]  # this thread's CPU time: what other processes on the machine cannot inflate
    parts: dict[str, list[int]]

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.totals)
        p95 = percentile(ordered, 0.95) / 1e6
        cpu = sorted(self.cpu)
        return {
            "runs": len(self.totals),
            "median_ms": percentile(ordered, 0.50) / 1e6,
            "p95_ms": p95,
            "cpu_median_ms": percentile(cpu, 0.50) / 1e6,
            "cpu_p95_ms": percentile(cpu, 0.95) / 1e6,
            "mean_ms": sum(self.totals) / len(self.totals) / 1e6,
            "max_ms": ordered[-1] / 1e6,
            "parts_mean_ms": {name: sum(s) / len(s) / 1e6 for name, s in self.parts.items()},
            "goal_ms": GOAL_SECONDS * 1e3,
            "passes": p95 <= GOAL_SECONDS * 1e3,
        }


def sample(step: Callable[[int], dict[str, int]], seconds: float, min_runs: int, warmup: int = 2) -> Sampled:
    """Call ``step(i)`` (which returns its parts' times) for about ``seconds`` and at least ``min_runs``."""
    for i in range(warmup):
        step(-1 - i)
    totals: list[int] = []
    cpu: list[int] = []
    parts: dict[str, list[int]] = {}
    deadline = time.perf_counter_ns() + seconds * 1e9
    i = 0
    while i < min_runs or time.perf_counter_ns() < deadline:
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        timed = step(i)
        totals.append(time.perf_counter_ns() - t0)
        cpu.append(time.thread_time_ns() - c0)
        for name, ns in timed.items():
            parts.setdefault(name, []).append(ns)
        i += 1
    return Sampled(totals, cpu, parts)


# -- 1. saving one edit ------------------------------------------------------------------------


def edits(ops: ModuleType, doc: dict[str, Any]) -> dict[str, Callable[[dict[str, Any], int], dict[str, Any]]]:
    """Kinds of edit a designer saves, each ``edit(doc, i) -> new doc``; the i-th save differs from the last."""
    from builder.conditions import Clause, Condition

    names = list(doc["questions"])
    labels = {name: doc["questions"][name]["label"] for name in names}

    def reword(d: dict[str, Any], i: int) -> dict[str, Any]:
        name = names[i % len(names)]  # a different question each time, as a designer works down the form
        return ops.update_question(d, name=name, label=f"{labels[name].rstrip('?')} (draft {i})?")

    def required(d: dict[str, Any], i: int) -> dict[str, Any]:
        # A question on a conditional page: the builder rewrites the page's if/then rule.
        return ops.update_question(d, name="current_support", required=i % 2 == 0)

    def condition(d: dict[str, Any], i: int) -> dict[str, Any]:
        shown = Condition((Clause("owns_home", "is", i % 2 == 0),))
        return ops.set_condition(d, "your-partner", shown)

    def choice(d: dict[str, Any], i: int) -> dict[str, Any]:
        return ops.rename_choice(d, "housing_type", "flat", label=f"Flat or maisonette ({i})")

    def move(d: dict[str, Any], i: int) -> dict[str, Any]:
        return ops.move_page(d, "anything-else", direction="up" if i % 2 == 0 else "down")

    return {
        "reword a question": reword,
        "make a question on a conditional page optional or required": required,
        "change a page's condition": condition,
        "rename a choice": choice,
        "move a page": move,
    }


class DraftTable:
    """The service's draft row in a SQLite file, saved the way the builder saves each edit."""

    def __init__(self, folder: Path, doc: dict[str, Any]):
        url = f"sqlite:///{folder / 'builder.db'}"
        dbmod.upgrade(url)
        self.engine = dbmod.make_engine(url)
        self.user_id, self.revision, _ = _new_designer(self.engine, doc)

    def save(self, doc: dict[str, Any]) -> None:
        with dbmod.session(self.engine) as s:
            draft = draft_data.get_draft(session=s, service_id=doc["id"])
            assert draft is not None
            saved = draft_data.save_draft(
                session=s, draft=draft, doc=doc, expected_revision=self.revision, user_id=self.user_id
            )
            s.commit()
            self.revision = saved.revision


def save(
    edit: Callable[[dict[str, Any], int], dict[str, Any]] | None,
    doc: dict[str, Any],
    folder: Path,
    drafts: DraftTable,
    seconds: float,
    min_runs: int,
) -> dict[str, Any]:
    """Successive saves of one kind of edit: operation, checker, canonical write, draft row."""
    current = doc
    clock = time.perf_counter_ns

    def step(i: int) -> dict[str, int]:
        nonlocal current
        t0 = clock()
        new = edit(current, i) if edit is not None else current
        t1 = clock()
        problems = check(new)
        t2 = clock()
        if problems:  # a save the checker refuses is not a save: stop rather than time it
            raise SystemExit(f"the edit made the service invalid: {problems[0].render('large service')}")
        write_definition(folder, new)
        t3 = clock()
        drafts.save(new)
        t4 = clock()
        current = new
        return {"operation": t1 - t0, "check": t2 - t1, "write": t3 - t2, "draft": t4 - t3}

    result = sample(step, seconds, min_runs).summary()
    result["bytes"] = len(dumps(current).encode())
    return result


def bench_saves(doc: dict[str, Any], seconds: float, min_runs: int) -> dict[str, Any]:
    ops = _operations_module()
    folder = Path(tempfile.mkdtemp(prefix="civicforms-bench-builder-"))
    try:
        drafts = DraftTable(folder, doc)
        if ops is None:
            kinds: dict[str, Any] = {"no operation (builder/operations.py is missing): check and write": None}
        else:
            kinds = edits(ops, doc)
        results = {
            name: save(edit, doc, folder / "form_definitions", drafts, seconds, min_runs)
            for name, edit in kinds.items()
        }
        drafts.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    # What the canonical serialisation alone costs, inside "write".
    dumps_sampled = sample(lambda _i: {"dumps": _time(lambda: dumps(doc))}, seconds / 5, min_runs)
    return {
        "operations_module": ops is not None,
        "edits": results,
        "dumps_median_ms": percentile(sorted(dumps_sampled.totals), 0.5) / 1e6,
    }


def _time(fn: Callable[[], Any]) -> int:
    t0 = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - t0


# -- 2. the builder's page for the service -----------------------------------------------------


def _settings(url: str) -> Settings:
    return Settings(environment="test", secret_key=SECRET, database_url=url, secure_cookies=False)


def _new_designer(engine: Any, doc: dict[str, Any], password: str | None = None) -> tuple[int, int, str]:
    """A designer in the service's department, and the service as their draft: (user id, revision, email)."""
    email = "bench.designer@westbridge.example.gov.uk"
    with dbmod.session(engine) as s:
        department = departments.department_for_name(session=s, name=doc["department"])
        assert department.id is not None
        user = staff.create_user(
            session=s,
            email=email,
            name="Bench Designer",
            department_id=department.id,
            role=staff.DESIGNER,
            password=password,
        ).user
        assert user.id is not None
        draft = draft_data.create_draft(session=s, doc=doc, department_id=department.id, user_id=user.id)
        s.commit()
        return user.id, draft.revision, email


def builder_app_page(workdir: Path, doc: dict[str, Any]) -> tuple[str, Callable[[], int], str] | None:
    """The builder's own page for the service, through the test client: (path, get, note), or None.

    None (with nothing measured) while the builder has no pages list or task list view yet.
    """
    from builder.web import create_builder_app

    url = f"sqlite:///{workdir / 'builder-app.db'}"
    dbmod.upgrade(url)
    app = create_builder_app({"SETTINGS": _settings(url)})
    rules = {re.sub(r"<[^>]*>", "<>", rule.rule) for rule in app.url_map.iter_rules()}
    found = next((path for path in BUILDER_PAGES if path in rules), None)
    if found is None:
        app.extensions["civicforms.engine"].dispose()
        return None
    _new_designer(app.extensions["civicforms.engine"], doc, PASSWORD)
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/sign-in").get_data(as_text=True))
    if token is None:
        raise SystemExit("the builder's sign-in page has no CSRF token")
    form = {"email": "bench.designer@westbridge.example.gov.uk", "password": PASSWORD, "csrf_token": token[1]}
    signed_in = client.post("/sign-in", data=form)
    if signed_in.status_code != 303:
        raise SystemExit(f"the bench designer could not sign in to the builder ({signed_in.status_code})")
    path = found.replace("<>", doc["id"])
    response = client.get(path)
    if response.status_code != 200 or doc["title"] not in response.get_data(as_text=True):
        raise SystemExit(f"GET /builder{path} gave {response.status_code}, not the service's page")

    def get() -> int:
        return len(client.get(path).data)

    return path, get, f"GET /builder{path} through the test client, signed in as a designer, the service a draft"


def preview_renderer(workdir: Path) -> Callable[[dict[str, Any]], tuple[str, dict[str, int]]]:
    """Render every page of a draft as the builder previews it, in the citizen app's Jinja environment."""
    # The preview reads no database: the file is never made.
    app = create_citizen_app({"SETTINGS": _settings(f"sqlite:///{workdir / 'unused.db'}"), "RATELIMIT_ENABLED": False})
    template = app.jinja_env.from_string(PREVIEW_TEMPLATE)
    clock = time.perf_counter_ns

    def render(doc: dict[str, Any]) -> tuple[str, dict[str, int]]:
        t0 = clock()
        definition = Definition(doc)  # a draft just edited: a new content hash, nothing cached
        t1 = clock()
        pages = []
        for page in definition.pages:
            as_heading = len(page.questions) == 1
            views = [rendering.question_view(definition, name, {}, {}, as_heading) for name in page.questions]
            pages.append({"id": page.id, "title": page.title, "intro": page.intro, "views": views})
        t2 = clock()
        with app.app_context():
            html = template.render(pages=pages)
        t3 = clock()
        return html, {"definition": t1 - t0, "question views": t2 - t1, "template": t3 - t2}

    return render


def bench_page(doc: dict[str, Any], seconds: float, min_runs: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="civicforms-bench-builder-"))
    try:
        render = preview_renderer(workdir)
        html, _ = render(doc)
        missing = [name for name in doc["questions"] if f'name="{name}' not in html]
        if missing:
            raise SystemExit(f"the preview does not ask {len(missing)} questions, such as {missing[0]}")
        preview = sample(lambda _i: render(doc)[1], seconds, min_runs).summary()
        preview["what"] = (
            "every page's preview: Definition(doc) + rendering.question_view for each question + "
            "components/question.html in the citizen app's Jinja environment"
        )
        preview["bytes"] = len(html.encode())

        app_page = builder_app_page(workdir, doc)
        builder_page = None
        if app_page is not None:
            path, get, what = app_page
            size = get()
            builder_page = sample(lambda _i: {"request": _time(get)}, seconds, min_runs).summary()
            builder_page |= {"what": what, "path": f"/builder{path}", "bytes": size}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"preview": preview, "builder_page": builder_page}


# -- report ------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> None:
    m = result["machine"]
    service = result["service"]
    out(f"Civic Forms builder benchmark — Python {m['python']} on {m['processor']}, {m['cpus']} CPUs")
    out(
        f"{result['seconds']} s per measurement (at least {result['min_runs']} runs); load average "
        f"{result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after"
    )
    out(
        f"Service: {service['questions']} questions on {service['pages']} pages, {service['widgets']} widget types, "
        f"{service['show_if']} show-if conditions, {service['routing']} routing rules, "
        f"{service['if_then']} if/then required rules; canonical file {service['bytes']:,} bytes"
    )
    out()
    saves = result["saves"]
    out("1. Saving one edit: operation + checker + canonical file write (dumps, atomic, fsync) + draft row, ms")
    if not saves["operations_module"]:
        out("   builder/operations.py does not exist yet: measured without the operation")
    headers = ["edit", "runs", "median", "p95", "cpu p95", "operation", "check", "write", "draft", "goal", "result"]
    rows = [
        [
            name,
            s["runs"],
            s["median_ms"],
            s["p95_ms"],
            s["cpu_p95_ms"],
            s["parts_mean_ms"]["operation"],
            s["parts_mean_ms"]["check"],
            s["parts_mean_ms"]["write"],
            s["parts_mean_ms"]["draft"],
            s["goal_ms"],
            "pass" if s["passes"] else "FAIL",
        ]
        for name, s in saves["edits"].items()
    ]
    table(headers, rows)
    out(
        "   operation, check, write (file), draft (draft_data.save_draft, SQLite, committed): mean of each part; "
        f"dumps alone: {saves['dumps_median_ms']:.2f} ms (median)"
    )
    out()
    page = result["page"]
    out("2. The builder's page for the service, ms")
    rows = []
    for label, figures in (("builder page", page["builder_page"]), ("all 30 pages previewed", page["preview"])):
        if figures is None:
            out("   builder page: not measured, the builder has no pages list or task list view yet")
            continue
        out(f"   {label}: {figures['what']} ({figures['bytes']:,} bytes of HTML)")
        parts = ", ".join(f"{name} {ms:.2f}" for name, ms in figures["parts_mean_ms"].items())
        pass_fail = "pass" if figures["passes"] else "FAIL"
        rows.append(
            [label, figures["runs"], figures["median_ms"], figures["p95_ms"], figures["cpu_p95_ms"], parts]
            + [figures["goal_ms"], pass_fail]
        )
    table(["page", "runs", "median", "p95", "cpu p95", "mean of each part", "goal", "result"], rows)
    out(f"Goals: at most {GOAL_SECONDS * 1e3:.0f} ms, judged on the wall-clock p95.")
    out(
        "cpu p95: this thread's CPU time; when the wall-clock p95 is far above it, the machine was busy with other work"
    )
    out(f"Total time: {result['total_seconds']:.1f} s")


def describe(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "questions": len(doc["questions"]),
        "pages": len(doc["pages"]),
        "widgets": len({q["widget"] for q in doc["questions"].values()}),
        "show_if": sum(1 for p in doc["pages"] if "show_if" in p),
        "routing": sum(len(p.get("next", [])) for p in doc["pages"]),
        "if_then": len(doc["schema"].get("allOf", [])),
        "bytes": len(dumps(doc).encode()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument(
        "--min-runs", type=int, default=MIN_RUNS, help=f"at least this many runs per measurement ({MIN_RUNS})"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load_before = os.getloadavg()
    doc = large_service()
    problems = check(doc)
    if problems:
        raise SystemExit(f"the large service does not pass the checker: {problems[0].render('large service')}")
    saves = bench_saves(doc, args.seconds, args.min_runs)
    page = bench_page(doc, args.seconds, args.min_runs)
    result = {
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "seconds": args.seconds,
        "min_runs": args.min_runs,
        "machine": machine(),
        "service": describe(doc),
        "saves": saves,
        "page": page,
        "goal_ms": GOAL_SECONDS * 1e3,
        "all_pass": all(
            figures["passes"]
            for figures in [*saves["edits"].values(), page["preview"], page["builder_page"]]
            if figures is not None
        ),
        "total_seconds": time.perf_counter() - started,
    }
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        out(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

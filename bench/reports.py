"""Benchmark of the back office's reports and audit (issue 17, part E) at 1,000,000 cases, on SQLite
and PostgreSQL.

Fills a fresh database with bench/casework.py's cases (``--cases``, 1,000,000 by default; 30% open,
the rest decided over two years), adds each decided case's decision to the audit log (by its
caseworker, or the department's manager), then times, for the manager of the department with
two fifths of all cases:

- the whole reports page's reads (``runtime.report_reads.report``: open cases by step, time to
  decision, decisions by person and by week) over the last 12 weeks (the page's default), the last
  year, and one service over 12 weeks;
- the audit's first page: everything, one person's decisions over a month, one action;
- the reports page and the audit page through Flask's test client (every response a 200).

Run: ``.venv/bin/python bench/reports.py [--cases N] [--database sqlite|postgresql|both] [--runs N]
[--quick] [--keep]``. See docs/performance.md ("Issue 17: reports").
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == BENCH:
    sys.path.pop(0)
sys.path.insert(0, str(BENCH.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import timedelta  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import text  # noqa: E402

from bench import casework as cw  # noqa: E402
from bench.run import machine, out, table  # noqa: E402
from runtime import db as dbmod  # noqa: E402
from runtime import report_reads as reads  # noqa: E402
from runtime.models import utcnow  # noqa: E402
from runtime.web.casework import create_casework_app  # noqa: E402

GOAL_MS = 1000.0  # the reports page's reads, p95: a page a manager opens a few times a day


def add_decisions(url: str, staff: dict[str, cw.Staff]) -> int:
    """Each decided case's decision in the audit log, at the moment it was closed, by its
    caseworker (or the department's manager when nobody was assigned)."""
    engine = dbmod.make_engine(url)
    managers = {s.department_id: s.manager for s in staff.values()}
    fallback = " ".join(f"WHEN {d} THEN {m}" for d, m in managers.items())
    with engine.begin() as conn:
        made = conn.execute(
            text(
                "INSERT INTO case_event (case_id, at, actor_id, actor_kind, action, from_state, to_state) "
                f"SELECT id, closed_at, COALESCE(assigned_to, CASE department_id {fallback} END), 'staff', "
                "'approve', 'received', state FROM case_record WHERE closed_at IS NOT NULL"
            )
        ).rowcount
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE case_event" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    return int(made)


def run_backend(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    out(f"== {kind}: {args.cases:,} cases (load average {cw.load_average()})")
    result: dict[str, Any] = {"backend": kind, "cases": args.cases}
    with cw.bench_database(kind, args.postgres, workdir, args.keep, "civicforms_bench_reports") as url:
        t0 = time.perf_counter()
        cw.publish_services(url)
        answers = cw.template_answers(url)
        staff = cw.make_staff(url)
        now = utcnow().replace(microsecond=0)
        cw.generate(url, args.cases, staff, answers, now)
        decisions = add_decisions(url, staff)
        result["generate_seconds"] = round(time.perf_counter() - t0, 1)
        out(f"  generated in {result['generate_seconds']} s, {decisions:,} decisions in the audit log")
        mine = staff[cw.DEPARTMENT_SERVICE]
        today = now.date()
        twelve_weeks = reads.ReportFilters([mine.department_id], today - timedelta(weeks=12), today)
        year = reads.ReportFilters([mine.department_id], today - timedelta(days=365), today)
        one_service = reads.ReportFilters(
            [mine.department_id], today - timedelta(weeks=12), today, service_id=cw.DEPARTMENT_SERVICE
        )
        someone = mine.caseworkers[0]
        engine = dbmod.make_engine(url)
        queries: dict[str, Callable[[Any], Any]] = {
            "report, 12 weeks": lambda s: reads.report(s, twelve_weeks, now=now),
            "report, 1 year": lambda s: reads.report(s, year, now=now),
            "report, one service, 12 weeks": lambda s: reads.report(s, one_service, now=now),
            "  open cases by step": lambda s: reads.open_by_step(s, twelve_weeks, now=now),
            "  time to decision, 1 year": lambda s: reads.time_to_decision(s, year),
            "  decisions by person and week, 1 year": lambda s: reads.decisions_by_person(s, year),
            "audit, first page": lambda s: reads.audit(s, reads.AuditFilters([mine.department_id])),
            "audit, one person's decisions in a month": lambda s: reads.audit(
                s,
                reads.AuditFilters(
                    [mine.department_id],
                    since=today - timedelta(days=30),
                    until=today,
                    staff_id=someone,
                    decisions_only=True,
                ),
            ),
            "audit, one action (submitted)": lambda s: reads.audit(
                s, reads.AuditFilters([mine.department_id], action="submitted")
            ),
        }
        figures: dict[str, cw.Figures] = {}
        for name, query in queries.items():
            with dbmod.session(engine) as s:
                samples, _ = cw.timed(lambda q=query, s=s: q(s), args.runs, warmup=1)
            figures[name] = cw.figures(samples)
        engine.dispose()
        # The pages, through the test client, as the manager.
        app = create_casework_app({"SETTINGS": cw.settings_for(url), "TESTING": True})
        client = cw.signed_in(app, mine.emails[mine.manager])
        statuses: dict[str, set[int]] = {}
        for name, path in (("reports page", "/reports"), ("audit page", "/audit")):

            def get(path: str = path, name: str = name) -> int:
                response = client.get(path)
                statuses.setdefault(name, set()).add(response.status_code)
                return len(response.get_data())

            samples, _ = cw.timed(get, max(3, args.runs // 2), warmup=1)
            figures[name + " (test client)"] = cw.figures(samples, statuses=sorted(statuses[name]))
        app.extensions["civicforms.engine"].dispose()
        result["figures"] = {k: v.__dict__ for k, v in figures.items()}
        table(
            ["read", "runs", "median ms", "p95 ms", "max ms"],
            [[k, v.runs, v.median_ms, v.p95_ms, v.max_ms] for k, v in figures.items()],
        )
        bad = {k: v for k, v in statuses.items() if v != {200}}
        result["ok"] = not bad and all(
            v.p95_ms <= GOAL_MS for k, v in figures.items() if k.startswith(("report", "audit"))
        )
        if bad:
            out(f"  pages that did not answer 200: {bad}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a few thousand cases and few runs: checks it works")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.runs = 5_000, 3
    out(json.dumps(machine()))
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
        for kind in kinds:
            results.append(run_backend(kind, args, Path(workdir)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())

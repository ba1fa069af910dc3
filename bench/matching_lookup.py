"""Benchmark of citizen matching with many identifiers (issue 14): a submit's lookup on PostgreSQL.

Fills a PostgreSQL database made for the run with ``--identifiers`` citizen identifiers
(1,000,000 by default: a third each of email addresses, names and dates of birth, one of each
per citizen record, the dates spread over 80 years so that about 35 records share each at
1,000,000) with ``generate_series``, then times, over ``--runs``:

1. the lookup a submit makes (``runtime.data.citizens.identifier_lookup``: each (kind, value) pair
   one probe of the (kind, value) index), with the three identifiers of a known citizen, and
   with three nobody holds (but a date of birth others share);
2. the whole of the deterministic tier, ``runtime.data.citizens.match_submission``, for a
   submission of a known citizen (its details, the date of birth swapped, the records sharing
   any of them and what they hold; rolled back each time);
3. for comparison, the lookup as it was before migration 0006 (``value IN (...)`` without the
   kind, which the index cannot serve), a few runs only.

It prints p50 and p95 in milliseconds, and exits 1 if the plan of the lookup reads
``citizen_identifier`` with a sequential scan. The issue's target: p95 under 20 ms.

Run: ``.venv/bin/python bench/matching_lookup.py [--identifiers N] [--runs N] [--quick] [--keep]
[--json out.json]``. The database (``civicforms_bench_matching_<pid>`` at ``--postgres``) is
dropped afterwards unless ``--keep``. See docs/performance.md ("Citizen matching").
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path: look in the project root first.
BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == BENCH:
    sys.path.pop(0)
sys.path.insert(0, str(BENCH.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import text  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bench.run import machine, out, percentile, postgres_database, table  # noqa: E402
from runtime import db as dbmod  # noqa: E402
from runtime.data import citizens as citizen_data  # noqa: E402
from runtime.models import CitizenIdentifier  # noqa: E402

TARGET_P95_MS = 20.0


DATABASE = f"civicforms_bench_matching_{os.getpid()}"


@contextmanager
def database(postgres: str, keep: bool) -> Iterator[str]:
    """A migrated PostgreSQL database of the run's own, dropped afterwards unless ``keep``."""
    with postgres_database(postgres, DATABASE, keep) as url:
        dbmod.upgrade(url)
        yield url


DAYS = 29_220  # 80 years of birthdays from 1920-01-01


def identifiers_of(n: int) -> dict[str, str]:
    """The identifiers citizen record ``n`` holds, as fill() writes them (normalised forms)."""
    from datetime import date, timedelta

    return {
        "email": f"person{n}@example.com",
        "full_name": f"person {n}",
        "date_of_birth": (date(1920, 1, 1) + timedelta(days=n % DAYS)).isoformat(),
    }


def fill(url: str, citizens: int) -> int:
    """``citizens`` records with three identifiers each; returns the identifier count."""
    engine = dbmod.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO citizen (id, created_at) SELECT g, now() FROM generate_series(1, :n) g"), {"n": citizens}
        )
        conn.execute(
            text(
                "INSERT INTO citizen_identifier (citizen_id, kind, value, created_at) "
                "SELECT g, k.kind, CASE k.kind "
                "  WHEN 'email' THEN 'person' || g || '@example.com' "
                "  WHEN 'full_name' THEN 'person ' || g "
                "  ELSE to_char(DATE '1920-01-01' + (g % :days), 'YYYY-MM-DD') END, now() "
                "FROM generate_series(1, :n) g "
                "CROSS JOIN (VALUES ('email'), ('full_name'), ('date_of_birth')) AS k(kind)"
            ),
            {"n": citizens, "days": DAYS},
        )
        conn.execute(text("SELECT setval(pg_get_serial_sequence('citizen', 'id'), :n)"), {"n": citizens})
        count = int(conn.execute(text("SELECT count(*) FROM citizen_identifier")).scalar_one())
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE citizen_identifier"))
        conn.execute(text("VACUUM ANALYZE citizen"))
    engine.dispose()
    return count


def timed(runs: int, once: Callable[[int], Any]) -> dict[str, Any]:
    samples = []
    for i in range(runs):
        start = time.perf_counter_ns()
        once(i)
        samples.append(time.perf_counter_ns() - start)
    ordered = sorted(samples)
    return {
        "runs": runs,
        "p50_ms": round(percentile(ordered, 0.50) / 1e6, 3),
        "p95_ms": round(percentile(ordered, 0.95) / 1e6, 3),
        "max_ms": round(ordered[-1] / 1e6, 3),
    }


def measure(url: str, citizens: int, runs: int, old_runs: int, seed: int = 14) -> dict[str, Any]:
    engine = dbmod.make_engine(url)
    picks = random.Random(seed)
    known = [picks.randint(1, citizens) for _ in range(runs)]
    results: dict[str, Any] = {}
    with dbmod.session(engine) as session:

        def lookup(keys: list[tuple[str, str]]) -> list[CitizenIdentifier]:
            return list(session.exec(select(CitizenIdentifier).where(citizen_data.identifier_lookup(keys))).all())

        def keys_of(n: int) -> list[tuple[str, str]]:
            return list(identifiers_of(n).items())

        found = lookup(keys_of(known[0]))
        assert {r.citizen_id for r in found if r.kind != "date_of_birth"} == {known[0]}, found
        assert [r for r in found if r.citizen_id == known[0]] and len(found) < 3 + citizens // DAYS + 3, found
        assert all(r.kind == "date_of_birth" for r in lookup(keys_of(citizens + 7)))
        lookup(keys_of(1))  # warm the connection and the statement
        results["lookup: a known citizen's 3 identifiers"] = timed(runs, lambda i: lookup(keys_of(known[i])))
        results["lookup: 3 identifiers nobody holds"] = timed(runs, lambda i: lookup(keys_of(citizens + 1 + i)))

        def match(i: int) -> None:
            filing = citizen_data.match_submission(session=session, found=identifiers_of(known[i]))
            assert filing.citizen_id == known[i] and filing.method == "exact", filing
            session.rollback()

        results["match_submission (rolled back)"] = timed(runs, match)

        def old_lookup(i: int) -> None:
            values = [v for _, v in keys_of(known[i])]
            session.exec(select(CitizenIdentifier).where(col(CitizenIdentifier.value).in_(values))).all()

        results["before 0006: value IN (...) without kind"] = timed(old_runs, old_lookup)
        sql = str(
            select(CitizenIdentifier)
            .where(citizen_data.identifier_lookup(keys_of(known[0])))
            .compile(session.connection(), compile_kwargs={"literal_binds": True})
        )
        plan = [row[0] for row in session.connection().execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))]
        session.rollback()
    engine.dispose()
    return {"timings": results, "plan": plan}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--old-runs", type=int, default=20, help="runs of the lookup as it was before 0006")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    parser.add_argument("--quick", action="store_true", help="3,000 identifiers and 50 runs: checks it works")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.identifiers, args.runs, args.old_runs = 3000, 50, 5
    citizens = max(1, -(-args.identifiers // 3))  # at least --identifiers
    with database(args.postgres, args.keep) as url:
        start = time.perf_counter()
        count = fill(url, citizens)
        filled = time.perf_counter() - start
        out(f"{count:,} citizen identifiers ({citizens:,} records) filled in {filled:.1f} s")
        figures = measure(url, citizens, args.runs, args.old_runs)
    rows = [[name, t["runs"], t["p50_ms"], t["p95_ms"], t["max_ms"]] for name, t in figures["timings"].items()]
    table(["PostgreSQL, ms", "runs", "p50", "p95", "max"], rows)
    out("plan of the lookup:")
    for line in figures["plan"]:
        out("  " + line)
    seq_scan = any("Seq Scan on citizen_identifier" in line for line in figures["plan"])
    p95 = figures["timings"]["lookup: a known citizen's 3 identifiers"]["p95_ms"]
    met = p95 < TARGET_P95_MS
    out(f"lookup p95 {p95} ms: {'under' if met else 'OVER'} the target of {TARGET_P95_MS:g} ms")
    if args.json:
        report = {
            "database": DATABASE,
            "kept": args.keep,
            "identifiers": count,
            "citizens": citizens,
            "fill_seconds": round(filled, 1),
            **figures,
            "sequential_scan": seq_scan,
            "target_p95_ms": TARGET_P95_MS,
            "target_met": met,
            "machine": machine(),
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if seq_scan:
        out("the lookup reads citizen_identifier with a sequential scan")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

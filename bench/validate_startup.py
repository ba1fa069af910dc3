"""Benchmark of ``civicforms validate`` on one file, as a pre-commit hook runs it.

Each run starts the installed ``civicforms`` command in a new process (interpreter start,
imports, checking, exit), as IT's pre-commit hooks and CI do, and measures its wall time and its
peak resident memory (the child's ``ru_maxrss``, from ``os.wait4``). The file is checked with
the same output and exit code every run. The slowest imports of one run are listed from
``python -X importtime``.

Goal (issue 13, finding 9): one file checked in under 0.5 s, wall clock, including start-up.

Run: ``.venv/bin/python bench/validate_startup.py [--runs 10] [--file form_definitions/x.json] [--json out.json]``.
See docs/performance.md ("civicforms validate at start-up") for the figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path: look in the project root first instead.
BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == BENCH:
    sys.path.pop(0)
sys.path.insert(0, str(BENCH.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

# bench.run (its table and machine description) is imported after the runs: a child started by
# fork reports the parent's resident memory as its own peak if that is higher, and bench.run
# imports the web runtime.

PROJECT = BENCH.parent
GOAL_SECONDS = 0.5
DEFAULT_FILE = PROJECT / "form_definitions" / "blue-badge.json"
# Only a command that needs the database or a web face may import these.
NOT_FOR_VALIDATE = ("flask", "werkzeug", "jinja2", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "lark")


def command(file: Path) -> list[str]:
    """The installed ``civicforms`` command beside this interpreter, or the same entry point."""
    script = Path(sys.executable).parent / "civicforms"
    if script.exists():
        return [str(script), "validate", str(file)]
    return [sys.executable, "-c", "from runtime.cli import main; main()", "validate", str(file)]


def one_run(argv: list[str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak RSS in KB, exit code, output) of one run in a new process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return took, int(usage.ru_maxrss), child.returncode, output


def slowest_imports(file: Path, count: int = 10) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``count`` top-level imports taking longest (cumulative), and the heavy packages imported."""
    code = (
        "import sys\nfrom runtime.cli import main\n"
        "try:\n    main(['validate', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        "print('MODULES ' + ' '.join(sorted({m.split('.')[0] for m, v in sys.modules.items() if v})))"
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, str(file)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in result.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if found and not found.group(3):  # imported by the command itself, not by another module
            rows.append({"module": found.group(4), "cumulative_ms": int(found.group(2)) / 1000})
    rows.sort(key=lambda r: -r["cumulative_ms"])
    modules = next((line.split()[1:] for line in result.stdout.splitlines() if line.startswith("MODULES ")), [])
    return rows[:count], sorted(set(modules) & set(NOT_FOR_VALIDATE))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs measured, after one warm-up run (default 10)")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="the definition file to check")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)

    argv_run = command(args.file)
    one_run(argv_run)  # warm-up: the first run after a change also writes .pyc files
    walls, peaks, codes, outputs = [], [], set(), set()
    for _ in range(max(args.runs, 1)):
        took, peak, code, output = one_run(argv_run)
        walls.append(took)
        peaks.append(peak)
        codes.add(code)
        outputs.add(output)
    imports, heavy = slowest_imports(args.file)
    from bench.run import machine, out, table

    ordered = sorted(walls)
    result = {
        "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv_run)),
        "file": str(args.file),
        "runs": len(walls),
        "wall_s": {
            "min": round(ordered[0], 3),
            "median": round(statistics.median(ordered), 3),
            "max": round(ordered[-1], 3),
        },
        "peak_rss_mb": {"median": round(statistics.median(peaks) / 1024, 1), "max": round(max(peaks) / 1024, 1)},
        "exit_codes": sorted(codes),
        "same_output_every_run": len(outputs) == 1,
        "goal_s": GOAL_SECONDS,
        "median_within_goal": statistics.median(ordered) < GOAL_SECONDS,
        "heavy_packages_imported": heavy,
        "slowest_imports": imports,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "machine": machine(),
    }

    out(f"{result['command']}: {len(walls)} runs, each a new process")
    table(
        ["measure", "min", "median", "max"],
        [
            ["wall time (s)", ordered[0], statistics.median(ordered), ordered[-1]],
            ["peak RSS (MB)", min(peaks) / 1024, statistics.median(peaks) / 1024, max(peaks) / 1024],
        ],
    )
    out(f"goal: under {GOAL_SECONDS} s: {'met' if result['median_within_goal'] else 'NOT met'} (median)")
    out(f"exit codes: {sorted(codes)}; the same output every run: {result['same_output_every_run']}")
    out(f"database and web packages imported: {', '.join(heavy) or 'none'}")
    table(["slowest imports (cumulative)", "ms"], [[r["module"], r["cumulative_ms"]] for r in imports])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of IT's release commands as IT runs them: ``civicforms plan``, ``load``, ``status`` and
``diff --ref`` (issue 15; docs/releasing.md).

For each size N (default 20 and 200) it makes N services as copies of the shipped definitions in
``form_definitions/`` (distinct ids and reference prefixes, the shipped departments), in a folder of
a new git repository in a temporary directory, commits them, migrates a fresh database (a SQLite
file, or a PostgreSQL database of the run's own on ``--postgres``'s server) and loads them with
``civicforms load --create-departments`` (timed once). Then, each run starting the installed
``civicforms`` command in a new process, as IT and CI do (wall time, and the child's peak resident
memory from ``os.wait4``, as bench/validate_startup.py measures), it times:

1. ``plan`` with nothing to change (exit 0), and ``status`` in sync (exit 0);
2. after a second commit that changes every service (a title change and a version bump):
   ``plan`` (exit 2), ``plan --ref HEAD`` (exit 2), ``status`` (exit 1, every service drifted),
   ``diff --ref HEAD~1 --ref HEAD`` over the folder, and ``load`` of every change in one
   transaction (exit 0; the database is put back as it was after the first load before each run,
   outside the timing).

Every run's exit code and a line of its output are checked. It also counts, in a process of its
own, the SQL statements one in-process ``plan_release`` (and ``release``) sends through SQLAlchemy
(an engine event listener) and the git processes ``read_source`` starts, so that the figures at
two sizes show what each service costs: statements that grow with N are per-service queries (N+1).

Run: ``.venv/bin/python bench/release.py [--services 20 200] [--runs 5] [--database sqlite]
[--database postgresql] [--postgres URL] [--json out.json]``. See docs/performance.md
("Releasing: plan, load and status").
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/builder.py would stand in for
# the project's "builder" package: look in the project root first instead.
BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == BENCH:
    sys.path.pop(0)
sys.path.insert(0, str(BENCH.parent))

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

# Only light modules here (no SQLAlchemy, Flask, psycopg): a child's peak RSS, as os.wait4 reports
# it, is at least what its parent had when it started it. The database is migrated, loaded and
# counted by child processes; bench.run (the table, the machine) is imported after the runs.
from runtime import git  # noqa: E402
from runtime.definition import dumps, read_file  # noqa: E402

PROJECT = BENCH.parent
SHIPPED = PROJECT / "form_definitions"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/civicforms_bench"
FOLDER = "form_definitions"  # inside the benchmark's repository
SECRET = "bench-release-" + "x" * 40
GIT_IDENTITY = ("-c", "user.name=Release Bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false")


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# -- the services --------------------------------------------------------------------------------


def prefix(i: int) -> str:
    """A distinct reference prefix for service ``i``: "R" and three letters (17,576 of them)."""
    letters = ""
    for _ in range(3):
        i, r = divmod(i, 26)
        letters = chr(ord("A") + r) + letters
    return "R" + letters


def services(n: int) -> list[dict[str, Any]]:
    """N valid services: the shipped definitions in turn, each with its own id and reference prefix."""
    shipped = [read_file(p) for p in sorted(SHIPPED.glob("*.json"))]
    out = []
    for i in range(n):
        doc = copy.deepcopy(shipped[i % len(shipped)])
        doc["id"] = f"{doc['id']}-{i:04d}"
        doc["reference_prefix"] = prefix(i)
        out.append(doc)
    return out


def changed(doc: dict[str, Any]) -> dict[str, Any]:
    """The service with a new title and the next version number."""
    return {**doc, "title": f"{doc['title']} (changed)", "version": doc["version"] + 1}


def commit(repo: Path, docs: list[dict[str, Any]], message: str) -> None:
    folder = repo / FOLDER
    folder.mkdir(exist_ok=True)
    for doc in docs:
        (folder / f"{doc['id']}.json").write_text(dumps(doc), encoding="utf-8")
    git.run(repo, "add", FOLDER)
    git.run(repo, *GIT_IDENTITY, "commit", "--quiet", "-m", message)


@contextmanager
def repository(n: int) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """A new git repository with N services committed in form_definitions/."""
    with tempfile.TemporaryDirectory(prefix="civicforms-bench-release-") as tmp:
        repo = Path(tmp) / "council"
        repo.mkdir()
        git.run(repo, "init", "--quiet", "-b", "main")
        docs = services(n)
        commit(repo, docs, f"{n} services")
        yield repo, docs


# -- the database --------------------------------------------------------------------------------


def _admin(server: str, *statements: str) -> None:
    """Run statements on the PostgreSQL server's ``postgres`` database, in autocommit, in a child
    process (psycopg is not imported here)."""
    code = (
        "import sys, psycopg\n"
        "with psycopg.connect(sys.argv[1], autocommit=True) as c:\n"
        "    for s in sys.argv[2:]:\n"
        "        c.execute(s)\n"
    )
    conninfo = re.sub(r"^postgresql\+\w+://", "postgresql://", _with_database(server, "postgres"))
    done = subprocess.run([sys.executable, "-c", code, conninfo, *statements], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"PostgreSQL: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done}")


def _with_database(url: str, name: str) -> str:
    head, _, rest = url.partition("://")
    authority, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return f"{head}://{authority}/{name}" + (f"?{query}" if query else "")


class Database:
    """A fresh database for one size, and a snapshot of it to put it back as it was."""

    def __init__(self, kind: str, postgres: str, workdir: Path, n: int):
        self.kind = kind
        self.server = postgres
        if kind == "sqlite":
            self.path = workdir / "release.db"
            self.saved = workdir / "release-saved.db"
            self.url = f"sqlite:///{self.path}"
        else:
            self.name = f"civicforms_bench_release_{os.getpid()}_{n}"
            if self.name == "civicforms_test":  # never, but say so: the tests' database is not ours
                raise SystemExit("refusing to use civicforms_test")
            self.url = _with_database(postgres, self.name)
            _admin(postgres, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)", f"CREATE DATABASE {self.name}")

    def save(self) -> None:
        if self.kind == "sqlite":
            shutil.copyfile(self.path, self.saved)
        else:
            _admin(
                self.server,
                f"DROP DATABASE IF EXISTS {self.name}_saved",
                f"CREATE DATABASE {self.name}_saved TEMPLATE {self.name}",
            )

    def restore(self) -> None:
        if self.kind == "sqlite":
            for extra in ("-wal", "-shm"):
                Path(f"{self.path}{extra}").unlink(missing_ok=True)
            shutil.copyfile(self.saved, self.path)
        else:
            _admin(
                self.server,
                f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)",
                f"CREATE DATABASE {self.name} TEMPLATE {self.name}_saved",
            )

    def drop(self) -> None:
        if self.kind != "sqlite":
            _admin(
                self.server,
                f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)",
                f"DROP DATABASE IF EXISTS {self.name}_saved WITH (FORCE)",
            )


# -- running the command -------------------------------------------------------------------------


def civicforms() -> list[str]:
    """The installed ``civicforms`` command beside this interpreter, or the same entry point."""
    script = Path(sys.executable).parent / "civicforms"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from runtime.cli import main; main()"]


def environment(url: str, folder: Path) -> dict[str, str]:
    """The settings the commands run with. An installation has its ``.pyc`` files: a
    PYTHONDONTWRITEBYTECODE in this shell would have every run compile the modules it imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICFORMS_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        CIVICFORMS_ENV="test",
        CIVICFORMS_SECRET_KEY=SECRET,
        CIVICFORMS_DATABASE_URL=url,
        CIVICFORMS_DEFINITIONS_DIR=str(folder),
    )
    return env


def one_run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak RSS in KB, exit code, output) of one run in a new process
    (bench/validate_startup.py's ``one_run``, in the repository and with the database's settings)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return took, int(usage.ru_maxrss), child.returncode, output


@dataclass
class Measure:
    label: str
    args: list[str]
    exit_code: int
    expect: str  # a pattern the output must contain (the command did what is measured)
    restore: bool = False  # put the database back before each run (load)


def measure(m: Measure, runs: int, cwd: Path, env: dict[str, str], db: Database, n: int) -> dict[str, Any]:
    walls, peaks = [], []
    for _ in range(runs):
        if m.restore:
            db.restore()
        took, peak, code, output = one_run([*civicforms(), *m.args], cwd, env)
        if code != m.exit_code or not re.search(m.expect, output):
            raise SystemExit(
                f"civicforms {' '.join(m.args)}: exit {code} (expected {m.exit_code}), "
                f"expected {m.expect!r} in the output:\n{output[-3000:]}"
            )
        walls.append(took)
        peaks.append(peak)
    median = statistics.median(walls)
    return {
        "command": "civicforms " + " ".join(m.args),
        "exit_code": m.exit_code,
        "runs": runs,
        "wall_s": {"min": round(min(walls), 3), "median": round(median, 3), "max": round(max(walls), 3)},
        "ms_per_service": round(median * 1000 / n, 1),
        "peak_rss_mb": round(statistics.median(peaks) / 1024, 1),
    }


# -- counting statements (in a process of its own) -------------------------------------------------


def _shape(statement: str) -> str:
    """A statement with its parameters and whitespace folded, to group repeats."""
    return re.sub(r"\s+", " ", statement).strip()[:160]


def count_queries(url: str, folder: Path, phase: str) -> dict[str, Any]:
    """SQL statements sent (SQLAlchemy's ``before_cursor_execute``, so BEGIN and COMMIT are not
    counted) and git processes started by one in-process plan of ``folder`` (and, for
    ``phase`` "changed", a plan of the folder at HEAD and one ``release``, which applies it)."""
    from sqlalchemy import event

    from runtime import db as dbmod
    from runtime.services import releasing

    engine = dbmod.make_engine(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    git_calls: list[str] = []
    # Every git process, whoever starts it (runtime.git.run, and the streamed ``git log`` of
    # runtime.git.last_commits): subprocess.run starts its processes through subprocess.Popen.
    original = subprocess.Popen

    class CountedPopen(original):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            if isinstance(args, (list, tuple)) and args and Path(str(args[0])).name == "git":
                words = [str(a) for a in args[1:]]
                while words and words[0] in ("-C", "-c"):
                    words = words[2:]
                git_calls.append(words[0] if words else "")
            super().__init__(args, *rest, **kwargs)

    subprocess.Popen = CountedPopen  # type: ignore[misc]
    figures: dict[str, Any] = {}

    def plan(label: str, ref: str | None) -> None:
        git_calls.clear()
        source, files = releasing.read_source(folder, ref)
        read_git = Counter(git_calls)
        statements.clear()
        with dbmod.session(engine) as s:
            made = releasing.plan_release(session=s, source=source, files=files)
        figures[label] = {
            "services": len(made.services),
            "changes": len(made.changes),
            "refused": made.refused,
            "statements": len(statements),
            "repeated": Counter(_shape(x) for x in statements).most_common(8),
            "git_processes": sum(read_git.values()),
            "git_by_command": dict(read_git),
        }

    try:
        plan("plan", None)
        if phase == "changed":
            plan("plan --ref HEAD", "HEAD")
            git_calls.clear()
            statements.clear()
            with dbmod.session(engine) as s:
                made = releasing.release(session=s, folder=folder)
            figures["load"] = {
                "services": len(made.services),
                "applied": made.applied,
                "statements": len(statements),
                "repeated": Counter(_shape(x) for x in statements).most_common(8),
                "git_processes": len(git_calls),
                "git_by_command": dict(Counter(git_calls)),
            }
    finally:
        subprocess.Popen = original  # type: ignore[misc]
        engine.dispose()
    return figures


def counted(url: str, folder: Path, phase: str, cwd: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--count-queries", url, str(folder), phase],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"counting statements failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# -- one size, one database ------------------------------------------------------------------------


def bench_size(kind: str, postgres: str, n: int, runs: int) -> dict[str, Any]:
    with repository(n) as (repo, docs), tempfile.TemporaryDirectory(prefix="civicforms-bench-db-") as tmp:
        folder = repo / FOLDER
        db = Database(kind, postgres, Path(tmp), n)
        try:
            env = environment(db.url, folder)
            took, peak, code, output = one_run([*civicforms(), "db", "upgrade"], repo, env)
            if code != 0:
                raise SystemExit(f"civicforms db upgrade: exit {code}\n{output[-3000:]}")
            result: dict[str, Any] = {"commands": {}}

            def timed(m: Measure, times: int = runs) -> None:
                result["commands"][m.label] = figures = measure(m, times, repo, env, db, n)
                out(f"  {kind}, {n} services: {m.label}: {figures['wall_s']['median']:.2f} s (median)")

            timed(Measure("load, first (N new)", ["load", "--create-departments"], 0, r"published"), 1)
            db.save()
            result["counts"] = {"unchanged": counted(db.url, folder, "unchanged", repo)}
            for m in (
                Measure("plan, nothing to change", ["plan"], 0, r"No changes: live equals the folder"),
                Measure("status, in sync", ["status"], 0, rf"in sync: live equals .* \({n} services\)"),
            ):
                timed(m)
            commit(repo, [changed(d) for d in docs], "Every service changed")
            result["counts"]["changed"] = counted(db.url, folder, "changed", repo)  # its load is undone:
            db.restore()
            for m in (
                Measure("plan, every service changed", ["plan"], 2, rf"Plan: {n} to publish\."),
                Measure("plan --ref HEAD", ["plan", "--ref", "HEAD"], 2, rf"Plan: {n} to publish\."),
                Measure("status, every service drifted", ["status"], 1, r"not loaded yet"),
                Measure(
                    "diff --ref HEAD~1 --ref HEAD", ["diff", "--ref", "HEAD~1", "--ref", "HEAD", FOLDER], 0, r"title"
                ),
                Measure("load, every service changed", ["load"], 0, r"published", restore=True),
            ):
                timed(m)
            return result
        finally:
            db.drop()


def per_service(counts: dict[int, dict[str, Any]], phase: str, label: str) -> float | None:
    """Statements each further service adds, between the smallest and largest size."""
    sizes = sorted(counts)
    if len(sizes) < 2:
        return None
    low, high = sizes[0], sizes[-1]
    return round((counts[high][phase][label]["statements"] - counts[low][phase][label]["statements"]) / (high - low), 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, nargs="+", default=[20, 200], help="sizes (default 20 200)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument(
        "--database", action="append", choices=["sqlite", "postgresql"], help="sqlite (default) and/or postgresql"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES,
        help="a PostgreSQL server URL: the run makes a database of its own there and drops it "
        "(default TEST_DATABASE_URL's server, else " + DEFAULT_POSTGRES + ")",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--count-queries", nargs=3, metavar=("URL", "FOLDER", "PHASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.count_queries:
        url, folder, phase = args.count_queries
        sys.stdout.write(json.dumps(count_queries(url, Path(folder), phase)))
        return 0
    if min(args.services) < 1 or max(args.services) > 17576:
        parser.error("--services must be between 1 and 17576")
    kinds = args.database or ["sqlite"]
    sizes = sorted(set(args.services))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally clauses drop the databases
    # The .pyc files of the project's modules, written once, as an installation has them.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(PROJECT / "runtime")], check=False)
    load_before = os.getloadavg()
    results: dict[str, dict[int, Any]] = {}
    for kind in kinds:
        results[kind] = {}
        for n in sizes:
            results[kind][n] = bench_size(kind, args.postgres, n, max(args.runs, 1))
    parent_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from bench.run import machine, table

    report: dict[str, Any] = {
        "runs": max(args.runs, 1),
        "sizes": sizes,
        "databases": kinds,
        "postgres_server": _with_database(args.postgres, "") if "postgresql" in kinds else None,
        "results": results,
        "per_service_statements": {},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "parent_peak_rss_mb": round(parent_rss_mb, 1),
        "machine": machine(),
    }
    for kind in kinds:
        out()
        out(f"{kind}: each command a new process; wall time best and median of {report['runs']} runs")
        rows = []
        for label in results[kind][sizes[0]]["commands"]:
            for n in sizes:
                f = results[kind][n]["commands"][label]
                rows.append(
                    [
                        label,
                        n,
                        f["exit_code"],
                        f["wall_s"]["min"],
                        f["wall_s"]["median"],
                        f["ms_per_service"],
                        f["peak_rss_mb"],
                    ]
                )
        table(["command", "N", "exit", "best s", "median s", "ms/service", "peak RSS MB"], rows)
        counts = {n: results[kind][n]["counts"] for n in sizes}
        rows = []
        for phase, label in (
            ("unchanged", "plan"),
            ("changed", "plan"),
            ("changed", "plan --ref HEAD"),
            ("changed", "load"),
        ):
            name = f"{label} ({'nothing to change' if phase == 'unchanged' else 'every service changed'})"
            if label == "load":
                name = "load (every service changed)"
            each = per_service(counts, phase, label)
            report["per_service_statements"].setdefault(kind, {})[name] = each
            rows.append(
                [name, *(counts[n][phase][label]["statements"] for n in sizes), "" if each is None else each]
                + [", ".join(str(counts[n][phase][label]["git_processes"]) for n in sizes)]
            )
        table(
            ["in-process (one call)", *(f"SQL at N={n}" for n in sizes), "SQL per service", "git processes"],
            rows,
        )
    out(f"this script's own peak RSS: {parent_rss_mb:.0f} MB (a child's peak is at least this)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

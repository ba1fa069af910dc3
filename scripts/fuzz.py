"""Fuzz every page of every shipped service with hostile posts, many more than the test suite.

Run: ``.venv/bin/python scripts/fuzz.py --cases 10000 [--seed N] [--service ID] [--database URL]``

The same strategies and checks as ``tests/fuzz/`` (``tests/fuzz/strategies.py`` builds the
posts, ``tests/fuzz/harness.py`` reaches each page by a real journey and checks every response),
with the cases shared out over every page of every service (or of ``--service``). Each page's
journey is completed and sent afterwards, and every submission stored is checked against its
version's schema. Runs on a fresh SQLite database in a temporary folder; ``--database`` with a
PostgreSQL URL runs in a new schema of that database, dropped at the end.

Prints the cases run, the count of each status, the count of 5xx and of invalid stored answers
(form session answers after a 303, and submissions), and examples of any problem. Exit status:
0 when nothing was wrong, 1 when there was a 5xx, an invalid stored answer or any other broken
invariant. See docs/security.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # tests/ is not an installed package

from flask.logging import default_handler  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from sqlalchemy import text  # noqa: E402

from runtime import db as dbmod  # noqa: E402
from runtime import versions  # noqa: E402
from runtime.services import releasing  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.web import create_citizen_app  # noqa: E402
from tests.fuzz.harness import PageFuzzer, Tally, invalid_submissions, submission_count  # noqa: E402
from tests.fuzz.strategies import Post, posts, valid_data  # noqa: E402
from tests.journeys import HAPPY_PATHS  # noqa: E402

DEFINITIONS = PROJECT_ROOT / "form_definitions"


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@contextmanager
def scratch_database(url: str | None, workdir: str) -> Iterator[str]:
    """A temporary SQLite file; or, on PostgreSQL, a schema of this run's own, dropped after."""
    if not url:
        yield f"sqlite:///{Path(workdir) / 'fuzz.db'}"
        return
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"cf_fuzz_{os.getpid()}"
    admin = dbmod.make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def prepare_database(url: str) -> None:
    dbmod.upgrade(url)
    engine = dbmod.make_engine(url)
    with dbmod.session(engine) as s:
        results = releasing.load_folder(session=s, folder=DEFINITIONS, create_departments=True)
    engine.dispose()
    failed = [f"{path.name}: {result}" for path, result in results if isinstance(result, Exception)]
    if failed:
        raise SystemExit(f"could not load the shipped definitions: {failed}")


def fuzz_page(fuzzer: PageFuzzer, cases: int, first_seed: int, tally: Tally) -> None:
    """Send ``cases`` generated posts to the fuzzer's page (more rounds if hypothesis stops early)."""
    valid = dict(HAPPY_PATHS[fuzzer.service_id]).get(fuzzer.page.id) or valid_data(fuzzer.definition, fuzzer.page)
    where = f"{fuzzer.service_id}/{fuzzer.page.id}"
    sent = 0
    for round_ in range(10):
        if sent >= cases:
            break
        wanted = cases - sent

        @seed(first_seed + round_)
        @settings(
            max_examples=wanted,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(post=posts(fuzzer.definition, fuzzer.page, valid))
        def one(post: Post) -> None:
            nonlocal sent
            if sent >= cases:
                return
            status, problems = fuzzer.send(post)
            tally.add(status, problems, where, post)
            sent += 1

        one()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="posts to send in all (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0): the same seed, the same posts")
    parser.add_argument("--service", action="append", help="only this service (may be given more than once)")
    parser.add_argument(
        "--database",
        help="a database URL instead of a temporary SQLite file (PostgreSQL: a schema of its own, dropped after)",
    )
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="civicforms-fuzz-") as workdir,
        scratch_database(args.database, workdir) as url,
    ):
        prepare_database(url)
        config = Settings(
            environment="test",
            secret_key="fuzz-secret-key-" + "x" * 32,
            database_url=url,
            secure_cookies=False,
        )
        app = create_citizen_app({"SETTINGS": config, "TESTING": True, "RATELIMIT_ENABLED": False})
        app.logger.removeHandler(default_handler)  # 5xx are counted and shown below, not logged
        app.logger.propagate = False
        engine = app.extensions["civicforms.engine"]
        with dbmod.session(engine) as s:
            services = [d for sid in sorted(HAPPY_PATHS) if (d := versions.definition(session=s, service_id=sid))]
        if args.service:
            unknown = set(args.service) - {d.id for d in services}
            if unknown:
                parser.error(f"no such service: {', '.join(sorted(unknown))}")
            services = [d for d in services if d.id in args.service]
        targets = [(d.id, page.id) for d in services for page in d.pages]
        share, extra = divmod(max(args.cases, len(targets)), len(targets))

        tally = Tally()
        endings: dict[str, int] = {}
        started = time.perf_counter()
        for i, (service_id, page_id) in enumerate(targets):
            fuzzer = PageFuzzer(app, service_id, page_id)
            try:
                fuzz_page(fuzzer, share + (1 if i < extra else 0), args.seed * 100_000 + i * 100, tally)
                ended = fuzzer.finish()
                endings[ended] = endings.get(ended, 0) + 1
            finally:
                fuzzer.close()
        bad_submissions = invalid_submissions(engine)
        submitted = submission_count(engine)
        elapsed = time.perf_counter() - started
        engine.dispose()

    invalid = tally.invalid_stored + len(bad_submissions)
    out(f"services: {len(services)}, pages: {len(targets)}, seed: {args.seed}, database: {url.split(':', 1)[0]}")
    out(f"cases run: {tally.cases} in {elapsed:.0f} s")
    out("status counts: " + ", ".join(f"{status}={n}" for status, n in sorted(tally.statuses.items())))
    out(f"5xx: {tally.server_errors}")
    out(f"invalid stored answers: {invalid} (form sessions {tally.invalid_stored}, submissions {len(bad_submissions)})")
    out(f"other broken invariants: {tally.other}")
    out("journeys after fuzzing: " + ", ".join(f"{k}={n}" for k, n in sorted(endings.items())))
    out(f"submissions checked: {submitted}")
    for example in tally.examples + bad_submissions:
        out("  " + example)
    return 1 if tally.server_errors or invalid or tally.other else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of citizen records at scale (issue 16): the submit's lookup, record search and the
record page on PostgreSQL, and ``civicforms citizens rematch`` on DuckDB.

Fills a PostgreSQL database made for the run with ``--records`` citizen records (1,000,000 by
default): bench/casework.py's fill (services, staff, a quarter more submissions than records,
each with its case, names from common first names and surnames by a falling share) and then,
in bulk SQL, each submission's details as the submit path keeps them (``citizen_identifier``:
the folded name and its surname-first key always; date of birth, postcode, email, phone, NHS
and National Insurance numbers on a share of submissions, over 3 per submission in all), its
``citizen_link`` and its ``record_event``. One record in 40 is a second record of the same
person (the details of its neighbour under the name of its own submission). It then measures:

1. ``runtime.data.citizens.match_submission`` (the deterministic tier, as a submit calls it,
   rolled back each time) for a submission of a known person, and of a new person with a name
   and details drawn like everyone's: p50 and p95;
2. ``runtime.record_reads.search`` as a caseworker of one department sees it, by a surname
   prefix, a whole name, a date of birth, a postcode, an email, a phone, an NHS number and a
   reference;
3. the record page (``GET /citizens/<id>`` of the casework app, through Flask's test client)
   signed in as a caseworker and as a records officer;
4. ``runtime.services.matching.rematch`` (``civicforms citizens rematch``, Splink on DuckDB) over
   ``--rematch-records`` records (100,000) in a second database filled the same way, in a
   process of its own: seconds and peak resident memory.

The issue's targets, on PostgreSQL with 1,000,000 records: the lookup p95 under 20 ms, search and
the record page p95 under 50 ms. It exits 1 when one is missed (at that scale), or when the plan
of any statement measured reads ``citizen_identifier``, ``citizen`` or ``submission`` with a
sequential scan (``EXPLAIN``, from 100,000 records: below that PostgreSQL rightly reads small
tables whole; ``--explain`` prints every plan with ANALYZE). A rematch of no more records than
the first database holds runs on it (``--quick``: 1,000 records, both).

Run: ``.venv/bin/python bench/records_scale.py [--records N] [--rematch-records N] [--runs N]
[--quick] [--explain] [--keep] [--json out.json]``. The databases
(``civicforms_bench_records_<pid>`` and ``..._rematch``) are dropped afterwards unless ``--keep``.
See docs/performance.md ("Citizen records at scale").
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
import re  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import Engine, text  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from bench.casework import (  # noqa: E402
    DEPARTMENT_SERVICE,
    FIRST_NAMES,
    PASSWORD,
    Staff,
    _surname_slots,
    captured,
    generate,
    load_average,
    make_staff,
    publish_services,
    settings_for,
    signed_in,
    template_answers,
)
from bench.run import machine, out, percentile, postgres_database, table  # noqa: E402
from runtime import citizens, record_reads  # noqa: E402
from runtime import db as dbmod  # noqa: E402
from runtime import staff as core  # noqa: E402
from runtime.data import citizens as citizen_data  # noqa: E402
from runtime.data import sharing  # noqa: E402
from runtime.models import CitizenIdentifier, Submission, utcnow  # noqa: E402
from runtime.widgets.identifiers import is_nhs_number  # noqa: E402

TARGETS_MS = {"lookup": 20.0, "search": 50.0, "page": 50.0}  # p95 on PostgreSQL, 1,000,000 records
TARGET_RECORDS = 1_000_000
# Below this many records PostgreSQL rightly reads small tables whole: plans are checked from here.
PLAN_CHECK_RECORDS = 100_000
DATABASE = f"civicforms_bench_records_{os.getpid()}"
SCANNED = re.compile(r"Seq Scan on (citizen_identifier|citizen|submission)(\s|$)")
POSTCODE_LETTERS = "ABDEFGHJ"
# Share of submissions (per thousand) carrying each detail besides the name (always), and the
# multiplier that picks them (a different one per kind, so that the shares are independent).
SHARES = {
    "date_of_birth": (350, 7919),
    "postcode": (500, 104723),
    "email": (400, 15485867),
    "phone": (200, 32452843),
    "nhs_number": (30, 49979687),  # and every submission to register-with-gp
    "ni_number": (20, 67867967),  # and every council tax reduction
}


# -- the database --------------------------------------------------------------------------------


def database(postgres: str, name: str, keep: bool) -> Any:
    """An empty PostgreSQL database of the run's own (bench/run.py), dropped afterwards unless ``keep``."""
    return postgres_database(postgres, name, keep)


def _person() -> str:
    """The person whose details a record holds: its own, or (one record in 40) its neighbour's."""
    return "(CASE WHEN s.citizen_id % 40 = 0 THEN s.citizen_id - 1 ELSE s.citizen_id END)::bigint"


def _nhs_number(p: str) -> str:
    """A 10-digit NHS number for person ``p``: 9 digits and the modulus 11 check digit (where
    the check is 10 there is no valid number: 0 is written, which fails the check, as a typo)."""
    base = f"(400000000 + {p})"
    total = " + ".join(f"(({base} / {10 ** (8 - k)}) % 10) * {10 - k}" for k in range(9))
    return f"({base})::text || ((11 - ({total}) % 11) % 11 % 10)::text"


def _values() -> dict[str, str]:
    p = _person()
    name = "(s.answers->>'full_name')"
    h = f"(({p}::bigint * 2654435761) % 25600)"  # ~25,600 postcodes: ~40 people each at 1,000,000
    letters = POSTCODE_LETTERS
    return {
        "full_name": f"lower({name})",
        "name_key": f"lower(split_part({name}, ' ', 2) || ' ' || split_part({name}, ' ', 1))",
        "date_of_birth": f"to_char(date '1930-01-01' + ({p} * 7919 % 27000)::int, 'YYYY-MM-DD')",
        "postcode": (
            f"'WB' || (1 + {h} % 40)::text || (({h} / 40) % 10)::text || "
            f"substr('{letters}', (1 + ({h} / 400) % 8)::int, 1) || substr('{letters}', (1 + ({h} / 3200) % 8)::int, 1)"
        ),
        "email": f"'person' || {p} || '@example.com'",
        "phone": f"'+447700' || lpad(({p} % 1000000)::text, 6, '0')",
        "nhs_number": _nhs_number(p),
        "ni_number": f"'J' || substr('ABCEGHJKLMNPRSTWXYZ', (1 + ({p} / 1000000) % 19)::int, 1) || "
        f"lpad(({p} % 1000000)::text, 6, '0') || 'C'",
    }


def _where(kind: str) -> str:
    if kind in ("full_name", "name_key"):
        return "true"
    share, step = SHARES[kind]
    picked = f"((s.id::bigint * {step}) % 1000) < {share}"
    if kind == "nhs_number":
        return f"({picked} OR s.service_id = 'register-with-gp')"
    if kind == "ni_number":
        return f"({picked} OR s.service_id = 'council-tax-reduction')"
    return picked


def _indexes(conn: Any, table_: str) -> list[str]:
    """The CREATE INDEX statements of a table's indexes other than its primary key."""
    rows = conn.execute(
        text(
            "SELECT i.indexname, i.indexdef, c.conname FROM pg_indexes i "
            "LEFT JOIN pg_constraint c ON c.conname = i.indexname "
            "WHERE i.tablename = :t AND (c.contype IS NULL OR c.contype <> 'p')"
        ),
        {"t": table_},
    ).all()
    made = []
    for index, definition, constraint in rows:
        if constraint:
            ddl = conn.execute(
                text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :c"), {"c": constraint}
            ).scalar_one()
            conn.execute(text(f"ALTER TABLE {table_} DROP CONSTRAINT {constraint}"))
            made.append(f"ALTER TABLE {table_} ADD CONSTRAINT {constraint} {ddl}")
        else:
            conn.execute(text(f"DROP INDEX {index}"))
            made.append(definition)
    return made


def add_details(url: str) -> dict[str, int]:
    """Each submission's details, link and audit event, as the submit path writes them, in bulk
    (indexes dropped and made again afterwards, foreign key checks off: the rows are consistent
    by construction). Returns the row counts."""
    engine = dbmod.make_engine(url)
    values = _values()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(text("SET LOCAL work_mem = '64MB'"))
        # The submissions made through the citizen pages (bench.casework.template_answers) have theirs.
        done = int(conn.execute(text("SELECT COALESCE(max(submission_id), 0) FROM citizen_link")).scalar_one())
        links = int(conn.execute(text("SELECT COALESCE(max(id), 0) FROM citizen_link")).scalar_one())
        again = [ddl for t in ("citizen_identifier", "citizen_link", "record_event") for ddl in _indexes(conn, t)]
        arms = " UNION ALL ".join(
            f"SELECT s.citizen_id, '{kind}', {expr}, s.id, svc.department_id, s.submitted_at "
            "FROM submission s JOIN service svc ON svc.id = s.service_id "
            f"WHERE {_where(kind)} AND s.id > {done}"
            for kind, expr in values.items()
        )
        conn.execute(
            text(
                "INSERT INTO citizen_identifier (citizen_id, kind, value, submission_id, department_id, created_at) "
                + arms
            )
        )
        # Each citizen's first submission made its record; the others were filed under it (a join,
        # not IN (...) in the select list: that is a subplan, row by row once it outgrows work_mem).
        conn.execute(
            text(
                "INSERT INTO citizen_link (citizen_id, submission_id, method, decided_at) "
                "SELECT s.citizen_id, s.id, CASE WHEN f.id IS NULL THEN 'exact' ELSE 'new' END, s.submitted_at "
                "FROM submission s LEFT JOIN (SELECT min(id) AS id FROM submission GROUP BY citizen_id) f "
                f"ON f.id = s.id WHERE s.id > {done}"
            )
        )
        conn.execute(
            text(
                "INSERT INTO record_event (citizen_id, at, actor_kind, action, detail) "
                "SELECT l.citizen_id, l.decided_at, 'system', "
                "CASE WHEN l.method = 'new' THEN 'record-created' ELSE 'submission-linked' END, "
                "json_build_object('submission', l.submission_id, 'link', l.id, 'method', l.method, 'weight', null) "
                f"FROM citizen_link l WHERE l.id > {links}"
            )
        )
        for ddl in again:
            conn.execute(text(ddl))
        for table_ in ("citizen", "submission", "case_record", "citizen_identifier", "citizen_link", "record_event"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table_}', 'id'), (SELECT max(id) FROM {table_}))")
            )
        counts = {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("citizen", "submission", "citizen_identifier", "citizen_link", "record_event")
        }
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return counts


def records_officer(url: str, department_id: int) -> str:
    """A records officer of the measured department; their email."""
    engine = dbmod.make_engine(url)
    email = f"records.d{department_id}@bench.example.gov.uk"
    with dbmod.session(engine) as s:
        core.create_user(
            session=s, email=email, name="Records Officer", department_id=department_id, role="records",
            password=PASSWORD,
        )  # fmt: skip
        s.commit()
    engine.dispose()
    return email


def fill(url: str, records: int) -> tuple[dict[str, Staff], str, dict[str, int], float]:
    """Services, staff, records with submissions, cases and details; the staff, the records
    officer's email, row counts and the seconds it took."""
    t0 = time.perf_counter()
    publish_services(url)
    answers = template_answers(url)
    staff = make_staff(url)
    total = -(-records * 5 // 4)  # casework.generate makes 4 records for every 5 submissions
    generate(url, total, staff, answers, utcnow().replace(microsecond=0))
    counts = add_details(url)
    officer = records_officer(url, staff[DEPARTMENT_SERVICE].department_id)
    return staff, officer, counts, time.perf_counter() - t0


# -- timing --------------------------------------------------------------------------------------


def timed(runs: int, once: Callable[[int], Any], warmup: int = 3) -> tuple[dict[str, Any], Any]:
    """p50, p95 and max in ms of ``once(i)`` for i in range(runs), after a few warm-up calls."""
    result = None
    for i in range(warmup):
        result = once(i)
    samples = []
    for i in range(runs):
        start = time.perf_counter_ns()
        result = once(i)
        samples.append(time.perf_counter_ns() - start)
    ordered = sorted(samples)
    return {
        "runs": runs,
        "p50_ms": round(percentile(ordered, 0.50) / 1e6, 2),
        "p95_ms": round(percentile(ordered, 0.95) / 1e6, 2),
        "max_ms": round(ordered[-1] / 1e6, 2),
    }, result


def plan_problems(engine: Engine, statements: list[tuple[str, Any]], analyze: bool, label: str) -> list[str]:
    """Statements whose plan reads citizen_identifier, citizen or submission sequentially
    (printed with ANALYZE when ``analyze``)."""
    problems = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            how = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
            plan = "\n".join(str(r[0]) for r in conn.exec_driver_sql(how + statement, parameters).all())
            conn.rollback()
            if analyze:
                out(f"--- {label}\n{statement}\n{plan}\n")
            found = SCANNED.search(plan)
            if found:
                problems.append(f"{label}: a sequential scan of {found.group(1)}")
    return problems


def _details(session: Session, submission_ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {i: {} for i in submission_ids}
    for sid, kind, value in session.exec(
        select(CitizenIdentifier.submission_id, CitizenIdentifier.kind, CitizenIdentifier.value).where(
            col(CitizenIdentifier.submission_id).in_(submission_ids)
        )
    ):
        assert sid is not None
        found[sid][kind] = value
    return found


# -- 1. the submit's lookup ---------------------------------------------------------------------


def measure_lookup(
    engine: Engine, records: int, runs: int, explain: bool
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """match_submission for known people (a submission's own details) and new ones."""
    picks = random.Random(16)
    with dbmod.session(engine) as s:
        top = int(s.exec(select(Submission.id).order_by(col(Submission.id).desc()).limit(1)).one() or 0)
        ids = []
        while len(ids) < runs + 3:  # submissions with a date of birth: the exact tier can file them
            batch = [picks.randint(1, top) for _ in range(runs * 4)]
            with_dob = set(
                s.exec(
                    select(CitizenIdentifier.submission_id).where(
                        col(CitizenIdentifier.submission_id).in_(batch), CitizenIdentifier.kind == "date_of_birth"
                    )
                )
            )
            ids += [i for i in batch if i in with_dob][: runs + 3 - len(ids)]
        known = list(_details(s, ids).values())
    surnames = _surname_slots()
    born = date(1930, 1, 1)

    def new_person(i: int) -> dict[str, str]:
        name = f"{picks.choice(FIRST_NAMES)} {picks.choice(surnames)}".lower()
        surname_first = " ".join(reversed(name.split(" ")))
        return {
            "full_name": name,
            "name_key": surname_first,
            "date_of_birth": (born + timedelta(days=picks.randrange(27000))).isoformat(),
            "email": f"newcomer{i}.{picks.randrange(10**9)}@example.org",
            "postcode": "WB12" + picks.choice(POSTCODE_LETTERS) + picks.choice(POSTCODE_LETTERS),
        }

    newcomers = [new_person(i) for i in range(runs + 3)]
    results: dict[str, Any] = {}
    outcomes: dict[str, dict[str, int]] = {}
    candidates: dict[str, list[int]] = {}
    problems: list[str] = []
    with dbmod.session(engine) as s:
        for label, people in (("known person", known), ("new person", newcomers)):
            seen: dict[str, int] = {}
            counts: list[int] = []

            def once(i: int, people: list[dict[str, str]] = people, seen: dict[str, int] = seen) -> None:
                filing = citizen_data.match_submission(session=s, found=people[i % len(people)])
                key = filing.method + (" (closer look)" if filing.closer_look else "")
                seen[key] = seen.get(key, 0) + 1
                s.rollback()

            results[f"match_submission: {label}"], _ = timed(runs, once)
            outcomes[label] = seen
            for person in people[:20]:
                keys = citizens.lookup_keys(person)
                counts.append(
                    len(
                        set(
                            s.exec(
                                select(CitizenIdentifier.citizen_id).where(citizen_data.identifier_lookup(keys))
                            ).all()
                        )
                    )
                )
                s.rollback()
            candidates[label] = counts
            with captured(engine) as statements:
                citizen_data.match_submission(session=s, found=people[0])
                s.rollback()
            problems += plan_problems(engine, statements, explain, f"match_submission: {label}")
    extra = {
        "outcomes": outcomes,
        "candidate_records": {k: {"median": sorted(v)[len(v) // 2], "max": max(v)} for k, v in candidates.items() if v},
    }
    return results, extra, problems


# -- 2. search ----------------------------------------------------------------------------------


def search_forms(engine: Engine, department_id: int, samples: int) -> dict[str, list[dict[str, str]]]:
    """What a caseworker of the department types into the search, rotating over records of theirs."""
    with dbmod.session(engine) as s:
        rows = s.exec(
            select(Submission.id, Submission.reference, Submission.citizen_id)
            .join(CitizenIdentifier, col(CitizenIdentifier.submission_id) == Submission.id)
            .where(CitizenIdentifier.department_id == department_id, CitizenIdentifier.kind == "full_name")
            .order_by(col(Submission.id).desc())
            .limit(samples * 40)
        ).all()
        details = _details(s, [r[0] for r in rows])

    def pick(kind: str, check: Callable[[str], bool] = lambda v: True) -> list[str]:
        return [d[kind] for d in details.values() if kind in d and check(d[kind])][:samples]

    def dob(value: str) -> dict[str, str]:
        year, month, day = value.split("-")
        return {"date_of_birth-day": day, "date_of_birth-month": month, "date_of_birth-year": year}

    name_dob = [d for d in details.values() if "date_of_birth" in d][:samples]
    return {
        'surname prefix ("smi")': [{"name": "smi"}],
        "whole name (first and surname)": [{"name": n} for n in pick("full_name")],
        "date of birth": [dob(v) for v in pick("date_of_birth")],
        "postcode": [{"postcode": v} for v in pick("postcode")],
        "email": [{"email": v} for v in pick("email")],
        "phone": [{"phone": v} for v in pick("phone")],
        "NHS number": [{"nhs_number": v} for v in pick("nhs_number", is_nhs_number)],
        "reference": [{"reference": r[1]} for r in rows[:samples]],
        "surname and date of birth": [
            {"name": d["name_key"].split(" ")[0], **dob(d["date_of_birth"])} for d in name_dob
        ],
    }


def measure_search(engine: Engine, department_id: int, runs: int, explain: bool) -> tuple[dict[str, Any], list[str]]:
    forms = search_forms(engine, department_id, samples=max(5, min(runs, 50)))
    results: dict[str, Any] = {}
    problems: list[str] = []
    with dbmod.session(engine) as s:
        visible = sharing.visible_to(s, [department_id])
        s.rollback()
        for label, given in forms.items():
            if not given:
                problems.append(f"search {label}: no sample to search for")
                continue
            queries = []
            for form in given:
                query, errors = record_reads.read_search(form)
                if errors:
                    raise SystemExit(f"search {label}: {form} was refused: {errors}")
                queries.append(query)
            rows: list[int] = []

            def once(i: int, queries: list[Any] = queries, rows: list[int] = rows) -> None:
                page = record_reads.search(s, query=queries[i % len(queries)], visible=visible, limit=50)
                rows.append(len(page.rows))
                s.rollback()  # each search its own transaction, as each request has

            figures, _ = timed(runs, once)
            figures["rows_median"] = sorted(rows)[len(rows) // 2]
            figures["found_nothing"] = sum(1 for r in rows if r == 0)
            results[label] = figures
            with captured(engine) as statements:
                record_reads.search(s, query=queries[0], visible=visible, limit=50)
                s.rollback()
            problems += plan_problems(engine, statements, explain, f"search {label}")
    return results, problems


# -- 3. the record page --------------------------------------------------------------------------


def measure_pages(url: str, staff: Staff, officer: str, runs: int, explain: bool) -> tuple[dict[str, Any], list[str]]:
    from runtime.web.casework import create_casework_app

    app = create_casework_app({"SETTINGS": settings_for(url)})
    engine: Engine = app.extensions["civicforms.engine"]
    with dbmod.session(engine) as s:
        # Records with a submission in the department, the larger ones (two submissions) among them.
        ids = sorted(
            set(
                s.exec(
                    select(CitizenIdentifier.citizen_id)
                    .where(
                        CitizenIdentifier.department_id == staff.department_id,
                        CitizenIdentifier.kind == "full_name",
                    )
                    .order_by(col(CitizenIdentifier.id).desc())
                    .limit(runs + 10)
                )
            )
        )
    results: dict[str, Any] = {}
    problems: list[str] = []
    for label, email in (("caseworker", staff.emails[staff.caseworkers[0]]), ("records officer", officer)):
        client = signed_in(app, email)
        sizes: list[int] = []

        def once(i: int, client: Any = client, sizes: list[int] = sizes, label: str = label) -> None:
            response = client.get(f"/citizens/{ids[i % len(ids)]}")
            if response.status_code != 200:
                raise SystemExit(
                    f"record page as a {label}: GET /citizens/{ids[i % len(ids)]} gave {response.status_code}"
                )
            sizes.append(len(response.data))

        figures, _ = timed(runs, once)
        figures["bytes_median"] = sorted(sizes)[len(sizes) // 2]
        results[f"record page: {label}"] = figures
        with captured(engine) as statements:
            once(0)
        problems += plan_problems(engine, statements, explain, f"record page: {label}")
        search = "/citizens?name=smi"
        page = client.get(search)
        if page.status_code != 200:
            raise SystemExit(f"search page as a {label}: GET {search} gave {page.status_code}")
        figures, _ = timed(runs, lambda i, client=client, search=search: client.get(search))
        results[f"search page (smi): {label}"] = figures
    engine.dispose()
    return results, problems


# -- 4. rematch ----------------------------------------------------------------------------------


def rematch_here(url: str) -> dict[str, Any]:
    """``civicforms citizens rematch``'s use case on the database at ``url`` (in this process)."""
    from runtime.services import matching

    engine = dbmod.make_engine(url)
    steps: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(step: str, done: int, total: int) -> None:
        steps[step] = round(time.perf_counter() - t0, 1)

    with dbmod.session(engine) as s:
        summary = matching.rematch(s, settings=settings_for(url), progress=progress)
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {
        "seconds": round(seconds, 1),
        "steps": steps,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **summary.__dict__,
    }


def rematch_in_child(url: str, counts: dict[str, int]) -> dict[str, Any]:
    """The rematch in a process of its own, so that its peak memory is its own."""
    report = Path(f"/tmp/{DATABASE}_rematch.json")
    done = subprocess.run(
        [sys.executable, __file__, "--rematch-only", url, "--json", str(report)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"rematch failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(report.read_text())
    report.unlink()
    result["records"] = counts["citizen"]
    result["details"] = counts["citizen_identifier"]
    return result


def measure_rematch(postgres: str, records: int, keep: bool) -> dict[str, Any]:
    """The rematch over a database of ``records`` records of its own."""
    with database(postgres, f"{DATABASE}_rematch", keep) as url:
        _staff, _officer, counts, seconds = fill(url, records)
        out(f"  rematch database: {counts['citizen']:,} records, {counts['citizen_identifier']:,} details, "
            f"filled in {seconds:.0f} s")  # fmt: skip
        return rematch_in_child(url, counts)


# -- the run -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=TARGET_RECORDS)
    parser.add_argument("--rematch-records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200, help="runs of each lookup and search (pages: a quarter)")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    parser.add_argument("--quick", action="store_true", help="a few thousand records, few runs: checks it works")
    parser.add_argument("--explain", action="store_true", help="print the plan (ANALYZE) of every statement")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--no-rematch", action="store_true", help="skip the rematch")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--rematch-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rematch_only:
        result = rematch_here(args.rematch_only)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        return 0
    if args.quick:
        args.records = min(args.records, 1000)
        args.rematch_records = min(args.rematch_records, 1000)
        args.runs = min(args.runs, 10)
    if args.records < 1000:
        parser.error("--records must be at least 1000")
    report: dict[str, Any] = {
        "machine": machine(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "load_before": load_average(),
        "database": DATABASE,
        "kept": args.keep,
    }
    problems: list[str] = []
    out(f"== PostgreSQL: {args.records:,} citizen records (load average {load_average()})")
    with database(args.postgres, DATABASE, args.keep) as url:
        staff, officer, counts, seconds = fill(url, args.records)
        report["counts"] = counts
        report["fill_seconds"] = round(seconds, 1)
        out(f"  {counts['citizen']:,} records, {counts['submission']:,} submissions with cases, "
            f"{counts['citizen_identifier']:,} details, filled in {seconds:.0f} s "
            f"(load average {load_average()})")  # fmt: skip
        mine = staff[DEPARTMENT_SERVICE]
        engine = dbmod.make_engine(url)
        lookup, lookup_extra, found = measure_lookup(engine, args.records, args.runs, args.explain)
        problems += found
        search, found = measure_search(engine, mine.department_id, args.runs, args.explain)
        problems += found
        engine.dispose()
        pages, found = measure_pages(url, mine, officer, max(5, args.runs // 4), args.explain)
        problems += found
        rematch_here_too = not args.no_rematch and args.rematch_records >= args.records
        if rematch_here_too:  # as large as the rematch asked for: no second database
            out(f"== rematch over these {counts['citizen']:,} records (Splink, DuckDB)")
            report["rematch"] = rematch_in_child(url, counts)
    report["plans_checked"] = args.records >= PLAN_CHECK_RECORDS
    if not report["plans_checked"]:  # kept for reading, not failed on
        report["plan_notes"], problems = problems, []
    report.update(lookup=lookup, lookup_extra=lookup_extra, search=search, pages=pages)
    table(["PostgreSQL, ms", "runs", "p50", "p95", "max"],
          [[k, v["runs"], v["p50_ms"], v["p95_ms"], v["max_ms"]] for k, v in lookup.items()])  # fmt: skip
    out(f"  outcomes: {lookup_extra['outcomes']}; records sharing a detail: {lookup_extra['candidate_records']}")
    table(["search (record_reads.search), ms", "runs", "rows", "p50", "p95", "max"],
          [[k, v["runs"], v["rows_median"], v["p50_ms"], v["p95_ms"], v["max_ms"]]
           for k, v in search.items()])  # fmt: skip
    table(["page (test client), ms", "runs", "p50", "p95", "max"],
          [[k, v["runs"], v["p50_ms"], v["p95_ms"], v["max_ms"]] for k, v in pages.items()])  # fmt: skip
    for label, figures in search.items():
        if figures["found_nothing"]:
            problems.append(f"search {label}: found nothing {figures['found_nothing']} times")
    if not args.no_rematch:
        if not rematch_here_too:
            out(f"== rematch over {args.rematch_records:,} records (Splink, DuckDB)")
            report["rematch"] = measure_rematch(args.postgres, args.rematch_records, args.keep)
        r = report["rematch"]
        out(f"  {r['profiles']:,} profiles, {r['pairs']:,} pairs scored over the review weight: {r['joined']} joined, "
            f"{r['suggested']} for staff, {r['skipped']} skipped; {r['seconds']} s, peak RSS {r['peak_rss_mb']} MB "
            f"(steps at {r['steps']})")  # fmt: skip
    misses = []
    if args.records >= TARGET_RECORDS:
        for group, target in (("lookup", TARGETS_MS["lookup"]), ("search", TARGETS_MS["search"])):
            misses += [f"{group} {k}: p95 {v['p95_ms']} ms over {target:g}" for k, v in report[group].items()
                       if v["p95_ms"] >= target]  # fmt: skip
        misses += [f"{k}: p95 {v['p95_ms']} ms over {TARGETS_MS['page']:g}" for k, v in pages.items()
                   if k.startswith("record page") and v["p95_ms"] >= TARGETS_MS["page"]]  # fmt: skip
    report["target_misses"] = misses
    report["problems"] = problems
    report["load_after"] = load_average()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    for line in problems + misses:
        out(f"PROBLEM: {line}")
    if args.records >= TARGET_RECORDS and not misses:
        out("targets met: lookup p95 < 20 ms, search and record page p95 < 50 ms")
    return 1 if problems or misses else 0


if __name__ == "__main__":
    sys.exit(main())

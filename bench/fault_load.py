"""A load test with faults: citizens finish their journeys while a worker dies and PostgreSQL restarts.

The citizen runtime runs as in production (``gunicorn -c gunicorn.conf.py runtime.wsgi:app``,
sync workers, PostgreSQL, production settings; the abuse limits off, since every citizen comes
from 127.0.0.1). ``--citizens`` threads (200), each a browser of its own (cookies, a keep-alive
connection), go through a complete journey of every shipped service, the answers of
tests/journeys.py: the start page, start, each question page with its CSRF token, check
answers, send, the confirmation page (whose reference is kept). Every fourth send is a double
click (the same POST twice at once, on two connections); every fourth after that is sent again
once the confirmation came back: both must end on the journey's one confirmation.

In the middle of the run (a third and two thirds of the journeys done) one gunicorn worker is
killed with SIGKILL, then PostgreSQL is restarted. A request that fails (connection reset or
refused, 5xx) is tried again after a short back-off, as a citizen pressing refresh would, for up
to ``--give-up`` seconds. A probe measures how long the server takes to answer a page that reads
the database again after each fault (and, after the kill, until gunicorn has replaced the worker).

Then the database is checked directly (SQLAlchemy core over runtime/models.py's tables): every
journey that saw a confirmation has exactly one submission with that reference, for its own
form session and service; every reference is unique; no submission is half-written (citizen,
answers, definition version and its content hash, case, form session marked as sent); no
submission of the run lacks a confirmed journey (a second submission of one journey would).
The counts are printed; the exit status is 1 when any check fails.

Run: ``.venv/bin/python bench/fault_load.py --database postgresql+psycopg://postgres@127.0.0.1:5433/civicforms_faults``.
The database is created if missing, migrated and loaded, and keeps the submissions made. The
restart is ``pg_ctlcluster --skip-systemctl-redirect VERSION CLUSTER restart`` for the cluster
``pg_lsclusters`` lists on the URL's port, or ``--restart-command``: never point it at a
PostgreSQL that others are using. See bench/README.md.
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
import functools  # noqa: E402
import hashlib  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from bench import http_bench  # noqa: E402
from bench.run import HAPPY_PATHS  # noqa: E402
from runtime import models  # noqa: E402, F401 - registers the tables in SQLModel.metadata

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1/civicforms_faults"
SESSION_COOKIE = "civicforms_session"
CSRF_FIELD = http_bench.CSRF_FIELD
REFERENCE = re.compile(r'class="cf-reference">([^<]+)<')
# A request answered 5xx, refused, reset or cut short is tried again; anything else unexpected
# (a 400 for a CSRF token, a 404, a redirect elsewhere) ends the journey as failed.
NETWORK_ERRORS = (OSError, http.client.HTTPException)
PROBE_SERVICE = "missed-bin-collection"
# A failure this long after a fault's recovery is no longer put down to the fault.
FAULT_MARGIN_SECONDS = 5.0


out = http_bench.out


# -- the checks on the database (pure: unit-tested on hand-made rows) ---------------------------


@dataclass
class JourneyRecord:
    """One citizen's journey through one service, as the citizen saw it."""

    citizen: int
    service: str
    form_session_id: str | None = None  # SHA-256 of the token in the session cookie
    reference: str | None = None  # read from the confirmation page; None: never confirmed
    failure: str | None = None  # why the journey was given up
    retries: int = 0
    send: str = "once"  # once | double click | sent again


SUBMISSION_PARTS = {
    "citizen": "citizen record",
    "answers": "answers",
    "version": "definition version",
    "hash": "content hash",
    "case": "case",
    "form_session": "form session marked as sent",
}


def half_written(row: dict[str, Any]) -> list[str]:
    """What a submission row lacks of a whole submission (empty: nothing).

    ``row`` is a submission joined to what it points at: ``citizen_found`` (the citizen row's
    id), ``version_hash`` (its service version's content hash), ``case_id`` (its case) and
    ``session_reference`` (its form session's ``submission_reference``)."""
    missing = []
    if row.get("citizen_id") is None or row.get("citizen_found") is None:
        missing.append(SUBMISSION_PARTS["citizen"])
    if not row.get("answers"):
        missing.append(SUBMISSION_PARTS["answers"])
    if row.get("service_version") is None or row.get("version_hash") is None:
        missing.append(SUBMISSION_PARTS["version"])
    if not row.get("definition_hash") or row.get("definition_hash") != row.get("version_hash"):
        missing.append(SUBMISSION_PARTS["hash"])
    if row.get("case_id") is None:
        missing.append(SUBMISSION_PARTS["case"])
    if row.get("form_session_id") is not None and row.get("session_reference") != row.get("reference"):
        missing.append(SUBMISSION_PARTS["form_session"])
    return missing


def check_submissions(journeys: Iterable[JourneyRecord], rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The submissions made in the run (``rows``, see ``half_written``) against the journeys.

    - ``exactly_one``: confirmed journeys with one submission of their reference, for their
      own service and form session; ``missing`` those with none, ``mismatched`` those whose
      submission is another service's or another form session's;
    - ``duplicates``: a reference or a form session stored more than once, or a submission
      that no confirmed journey accounts for although its form session is a confirmed one's
      (a second submission of one journey);
    - ``duplicate_references``: a reference shown to more than one journey;
    - ``unconfirmed``: submissions of journeys that never saw their confirmation (stored, but
      the citizen was not told), and ``unknown``: submissions of no journey of the run;
    - ``half_written``: submissions lacking any part (``half_written``).
    """
    journeys = list(journeys)
    rows = list(rows)
    by_reference: dict[str, list[dict[str, Any]]] = {}
    by_session: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_reference.setdefault(row["reference"], []).append(row)
        if row.get("form_session_id") is not None:
            by_session.setdefault(row["form_session_id"], []).append(row)
    confirmed = [j for j in journeys if j.reference]
    shown = Counter(j.reference for j in confirmed)
    journey_sessions = {j.form_session_id: j for j in journeys if j.form_session_id}

    exactly_one = 0
    missing: list[str] = []
    mismatched: list[str] = []
    duplicates: list[str] = []
    for journey in confirmed:
        assert journey.reference is not None
        found = by_reference.get(journey.reference, [])
        if not found:
            missing.append(journey.reference)
            continue
        row = found[0]
        if row["service_id"] != journey.service or (
            journey.form_session_id is not None and row.get("form_session_id") != journey.form_session_id
        ):
            mismatched.append(journey.reference)
        elif len(found) == 1 and len(by_session.get(journey.form_session_id or "", found)) == 1:
            exactly_one += 1
    for reference, found in by_reference.items():
        if len(found) > 1:
            duplicates.append(f"reference {reference} stored {len(found)} times")
    for session_id, found in by_session.items():
        if len(found) > 1:
            references = ", ".join(sorted(r["reference"] for r in found))
            duplicates.append(f"form session {session_id[:12]}… stored {len(found)} times ({references})")

    unconfirmed: list[str] = []
    unknown: list[str] = []
    for row in rows:
        if row["reference"] in shown:
            continue
        owner = journey_sessions.get(row.get("form_session_id") or "")
        if owner is None:
            unknown.append(row["reference"])
        elif owner.reference:
            duplicates.append(f"{row['reference']}: a second submission of the journey confirmed as {owner.reference}")
        else:
            unconfirmed.append(row["reference"])

    broken = [{"reference": row["reference"], "missing": lacks} for row in rows if (lacks := half_written(row))]
    return {
        "submissions": len(rows),
        "confirmed_journeys": len(confirmed),
        "exactly_one": exactly_one,
        "missing": missing,
        "mismatched": mismatched,
        "duplicates": duplicates,
        "distinct_references": len(by_reference),
        "duplicate_references": sorted(ref for ref, n in shown.items() if n > 1 and ref is not None),
        "unconfirmed": unconfirmed,
        "unknown": unknown,
        "half_written": broken,
    }


# -- the database ---------------------------------------------------------------------------------


def admin_engine(url: str) -> sa.Engine:
    """An engine on the server's ``postgres`` database, in autocommit (for CREATE DATABASE)."""
    server = make_url(url).set(database="postgres")
    return sa.create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if the server has none of that name; True if made."""
    name = make_url(url).database
    if not name:
        raise SystemExit(f"--database {url}: no database name")
    admin = admin_engine(url)
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if exists is None:
                conn.execute(sa.text(f"CREATE DATABASE {conn.dialect.identifier_preparer.quote(name)}"))
                return True
        return False
    finally:
        admin.dispose()


def table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


def last_submission_id(url: str) -> int:
    """The highest submission id before the run: the run's submissions are the ones after it."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table("submission").c.id), 0))).scalar_one())
    finally:
        engine.dispose()


def submission_rows(url: str, after_id: int) -> list[dict[str, Any]]:
    """The submissions made since ``after_id``, each with what it points at (see ``half_written``)."""
    s, v, c = table("submission"), table("service_version"), table("citizen")
    k, f = table("case_record"), table("form_session")
    query = (
        sa.select(
            s.c.id,
            s.c.reference,
            s.c.service_id,
            s.c.service_version,
            s.c.definition_hash,
            s.c.citizen_id,
            s.c.answers,
            s.c.form_session_id,
            c.c.id.label("citizen_found"),
            v.c.content_hash.label("version_hash"),
            k.c.id.label("case_id"),
            f.c.submission_reference.label("session_reference"),
        )
        .select_from(
            s.outerjoin(v, sa.and_(v.c.service_id == s.c.service_id, v.c.version == s.c.service_version))
            .outerjoin(c, c.c.id == s.c.citizen_id)
            .outerjoin(k, k.c.submission_id == s.c.id)
            .outerjoin(f, f.c.id == s.c.form_session_id)
        )
        .where(s.c.id > after_id)
        .order_by(s.c.id)
    )
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()


def restart_command(url: str) -> list[str]:
    """``pg_ctlcluster --skip-systemctl-redirect VERSION CLUSTER restart`` for the cluster that
    ``pg_lsclusters`` lists on the URL's port (the database must be on this machine)."""
    parsed = make_url(url)
    if parsed.host not in (None, "", "127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"PostgreSQL at {parsed.host} is not on this machine: give --restart-command")
    port = parsed.port or 5432
    try:
        listed = subprocess.run(["pg_lsclusters", "--json"], capture_output=True, text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SystemExit(f"pg_lsclusters failed ({exc}): give --restart-command") from None
    for cluster in json.loads(listed.stdout):
        if str(cluster.get("port")) == str(port):
            return [
                "pg_ctlcluster",
                "--skip-systemctl-redirect",
                str(cluster["version"]),
                cluster["cluster"],
                "restart",
            ]
    raise SystemExit(f"pg_lsclusters lists no cluster on port {port}: give --restart-command")


# -- citizens -------------------------------------------------------------------------------------


class JourneyFailed(Exception):
    """A journey given up: a step still failing after --give-up seconds, or an unexpected answer."""


@dataclass
class Tally:
    """What every citizen did, counted under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, cause)
    done: int = 0
    failed: int = 0

    def request(self) -> None:
        with self.lock:
            self.requests += 1

    def retry(self, cause: str) -> None:
        with self.lock:
            self.retries[cause] += 1
            self.failures.append((time.monotonic(), cause))

    def finished(self, journey: JourneyRecord) -> None:
        with self.lock:
            self.done += 1
            self.failed += journey.failure is not None


@functools.cache
def cookie_serializer(secret_key: str) -> Any:
    """Reads the runtime's session cookie (Flask's signed cookie session, signed with ``secret_key``)."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    app = Flask("fault_load")
    app.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(app)


def form_session_id(cookies: dict[str, str], service: str, secret_key: str) -> str | None:
    """The form session id (SHA-256 of the token) this browser's session cookie holds for a service."""
    serializer = cookie_serializer(secret_key)
    value = cookies.get(SESSION_COOKIE)
    if serializer is None or not value:
        return None
    try:
        data = serializer.loads(value)
    except Exception:  # noqa: BLE001 - a cookie we cannot read is reported as None
        return None
    token = (data.get("forms") or {}).get(service) if isinstance(data, dict) else None
    return hashlib.sha256(token.encode()).hexdigest() if isinstance(token, str) else None


def _path(location: str) -> str:
    return urllib.parse.urlsplit(location).path


class Citizen:
    """One citizen: a browser of their own, going through every service in turn."""

    def __init__(self, number: int, port: int, secret_key: str, tally: Tally, give_up: float):
        self.number = number
        self.port = port
        self.secret_key = secret_key
        self.tally = tally
        self.give_up = give_up
        self.browser = http_bench.Browser(port)
        self.journeys: list[JourneyRecord] = []

    def request(
        self, method: str, path: str, form: dict[str, Any] | None = None, browser: http_bench.Browser | None = None
    ) -> tuple[int, str, str, int]:
        """One step, tried again after a short back-off while it fails (5xx, refused, reset),
        as a citizen pressing refresh would: (status, Location, body, retries)."""
        browser = browser or self.browser
        started = time.monotonic()
        retries = 0
        while True:
            self.tally.request()
            try:
                status, location, text = browser.send(method, path, form)
                if status < 500:
                    return status, location, text, retries
                cause = f"HTTP {status}"
            except NETWORK_ERRORS as exc:
                browser.close()  # a broken connection; the next request opens a new one
                cause = type(exc).__name__
            self.tally.retry(cause)
            retries += 1
            if time.monotonic() - started > self.give_up:
                raise JourneyFailed(f"{method} {_kind(path)}: still failing after {retries} tries ({cause})")
            time.sleep(min(2.0, 0.2 * 2 ** min(retries - 1, 4)) * random.uniform(0.5, 1.5))

    def expect(
        self, journey: JourneyRecord, method: str, path: str, form: dict[str, Any] | None, status: int, to: str = ""
    ) -> tuple[str, str]:
        """A step that must answer ``status`` (and for a redirect, to the path ``to``): (Location, body)."""
        got, location, text, retries = self.request(method, path, form)
        journey.retries += retries
        if got != status or (to and _path(location) != to):
            where = f" -> {_path(location)}" if location else ""
            raise JourneyFailed(f"{method} {_kind(path)} gave {got}{where}, not {status}{' -> ' + to if to else ''}")
        return location, text

    def run(self, services: list[str], resend: Callable[[int], str]) -> None:
        try:
            for index, service in enumerate(services):
                journey = JourneyRecord(self.number, service, send=resend(index))
                self.journeys.append(journey)
                try:
                    self.journey(journey)
                except JourneyFailed as exc:
                    journey.failure = str(exc)
                except Exception as exc:  # noqa: BLE001 - a bug here must not pass for a clean run
                    journey.failure = f"script error: {exc!r}"
                self.tally.finished(journey)
        finally:
            self.browser.close()

    def journey(self, journey: JourneyRecord) -> None:
        base = f"/services/{journey.service}"
        _, text = self.expect(journey, "GET", base, None, 200)
        steps = HAPPY_PATHS[journey.service]
        location, _ = self.expect(
            journey, "POST", f"{base}/start", {"csrf_token": token(text)}, 303, f"{base}/{steps[0][0]}"
        )
        journey.form_session_id = form_session_id(self.browser.cookies, journey.service, self.secret_key)
        for number, (page_id, answers) in enumerate(steps):
            page = f"{base}/{page_id}"
            _, text = self.expect(journey, "GET", page, None, 200)
            following = steps[number + 1][0] if number + 1 < len(steps) else "check-answers"
            target, form = page, dict(answers)
            if any(http_bench.is_file(value) for value in answers.values()):
                # A file question's page: its upload form, the file and Continue, multipart.
                target, form = f"{page}/upload", {**answers, "action": "continue"}
            self.expect(journey, "POST", target, {**form, "csrf_token": token(text)}, 303, f"{base}/{following}")
        check, confirmation = f"{base}/check-answers", f"{base}/confirmation"
        _, text = self.expect(journey, "GET", check, None, 200)
        send = {"csrf_token": token(text)}
        if journey.send == "double click":
            self.send_twice_at_once(journey, check, send, confirmation)
        else:
            self.expect(journey, "POST", check, send, 303, confirmation)
        reference = self.reference(journey, confirmation)
        if journey.send == "sent again":
            # Back, and "Send" once more: the journey's own confirmation, no second submission.
            self.expect(journey, "POST", check, send, 303, confirmation)
            again = self.reference(journey, confirmation)
            if again != reference:
                raise JourneyFailed(f"sent again: the confirmation changed from {reference} to {again}")
        journey.reference = reference

    def reference(self, journey: JourneyRecord, confirmation: str) -> str:
        _, text = self.expect(journey, "GET", confirmation, None, 200)
        found = REFERENCE.search(text)
        if found is None:
            raise JourneyFailed("the confirmation page shows no reference")
        return found.group(1).strip()

    def send_twice_at_once(self, journey: JourneyRecord, check: str, form: dict[str, Any], confirmation: str) -> None:
        """A double click: the same send on two connections at once (the same cookies)."""
        other = http_bench.Browser(self.port)
        other.cookies = dict(self.browser.cookies)
        start = threading.Barrier(2)
        answers: list[Any] = [None, None]

        def send(slot: int, browser: http_bench.Browser) -> None:
            try:
                start.wait(timeout=30)
                answers[slot] = self.request("POST", check, form, browser)
            except Exception as exc:  # noqa: BLE001 - reported below
                answers[slot] = exc

        second = threading.Thread(target=send, args=(1, other))
        second.start()
        send(0, self.browser)
        second.join()
        other.close()
        for answer in answers:
            if isinstance(answer, Exception):
                raise JourneyFailed(f"double click: {answer}")
            status, location, _, retries = answer
            journey.retries += retries
            if status != 303 or _path(location) != confirmation:
                raise JourneyFailed(f"double click: a send gave {status} -> {_path(location)}, not 303 -> confirmation")


def token(page: str) -> str:
    found = CSRF_FIELD.search(page)
    if found is None:
        raise JourneyFailed("no CSRF token on the page")
    return found.group(1)


def _kind(path: str) -> str:
    """A path as reported: the service's pages by kind (start page, question page, ...)."""
    parts = path.strip("/").split("/")
    if len(parts) == 2:
        return "start page"
    last = parts[-1]
    return {"start": "start", "check-answers": "check answers", "confirmation": "confirmation"}.get(
        last, "question page"
    )


# -- faults and recovery --------------------------------------------------------------------------


class Probe:
    """A citizen of its own inside a journey, asking for a question page (which reads the
    database) to tell when the server answers again."""

    def __init__(self, port: int):
        self.browser = http_bench.Browser(port)
        self.browser.conn.timeout = 10
        base = f"/services/{PROBE_SERVICE}"
        status, _, text = self.browser.send("GET", base)
        found = CSRF_FIELD.search(text)
        if status != 200 or found is None:
            raise SystemExit(f"probe: GET {base} gave {status}")
        status, location, _ = self.browser.send("POST", f"{base}/start", {"csrf_token": found.group(1)})
        if status != 303:
            raise SystemExit(f"probe: POST {base}/start gave {status}")
        self.page = _path(location)

    def answers(self) -> bool:
        try:
            status, _, text = self.browser.send("GET", self.page)
            return status == 200 and "csrf_token" in text
        except NETWORK_ERRORS:
            self.browser.close()
            return False

    def close(self) -> None:
        self.browser.close()


@dataclass
class Fault:
    kind: str  # "worker kill" or "PostgreSQL restart"
    detail: str = ""
    at_seconds: float = 0.0  # since the run started
    journeys_done: int = 0
    ok: bool = True  # the fault was made (a worker was killed, the restart command succeeded)
    error: str = ""
    command_seconds: float | None = None  # the restart command's own duration
    replaced_after: float | None = None  # the worker kill: when gunicorn's replacement was up
    recovery_seconds: float | None = None  # until the server answered again (and was whole)
    answer_before_seconds: float | None = None  # the probe's answer time just before the fault
    probes_failed: int = 0
    failed_requests: int = 0  # citizens' requests that failed from the fault until recovery (+ a margin)
    failed_after_recovery: int = 0  # of those, failed after the probe saw the server whole again
    started: float = 0.0  # monotonic
    recovered: float | None = None  # monotonic


def wait_for_recovery(
    probe: Probe, fault: Fault, count_from: float, whole: Callable[[], bool], limit: float = 120.0
) -> None:
    """Probe until a probe sent after ``count_from`` answers and ``whole()`` holds."""
    while time.monotonic() - fault.started < limit:
        sent = time.monotonic()
        ok = probe.answers()
        if not ok:
            fault.probes_failed += 1
        elif sent >= count_from and whole():
            fault.recovered = time.monotonic()
            fault.recovery_seconds = fault.recovered - fault.started
            return
        time.sleep(0.05)
    fault.error = f"the server did not answer again within {limit:.0f} s"


def kill_worker(server: http_bench.Server, probe: Probe, fault: Fault) -> None:
    """SIGKILL to one worker; recovered when gunicorn has replaced it and the server answers."""
    workers = http_bench.children(server.process.pid)
    if not workers:
        fault.ok, fault.error = False, "no worker to kill"
        return
    victim = random.choice(workers)
    fault.detail = f"SIGKILL to worker pid {victim}"
    fault.started = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    replaced = threading.Event()

    def watch() -> None:
        # Apart from the probe, whose answer waits in the queue behind the citizens' requests.
        while time.monotonic() - fault.started < 120:
            now = http_bench.children(server.process.pid)
            if victim not in now and len(now) >= server.workers:
                fault.replaced_after = time.monotonic() - fault.started
                replaced.set()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    wait_for_recovery(probe, fault, fault.started, replaced.is_set)
    watcher.join(timeout=1)


def restart_database(command: list[str], probe: Probe, fault: Fault) -> None:
    """Run the restart command, probing while it runs (the outage as a citizen sees it), then
    until the server answers again."""
    fault.detail = shlex.join(command)
    fault.started = time.monotonic()
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        fault.ok, fault.error = False, f"{fault.detail}: {exc}"
        return
    while process.poll() is None and time.monotonic() - fault.started < 120:
        if not probe.answers():
            fault.probes_failed += 1
        time.sleep(0.05)
    try:
        output, _ = process.communicate(timeout=max(1.0, 120 - (time.monotonic() - fault.started)))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        fault.ok, fault.error = False, f"{fault.detail}: still running after 120 s"
        return
    finished = time.monotonic()
    fault.command_seconds = finished - fault.started
    if process.returncode != 0:
        fault.ok = False
        fault.error = f"{fault.detail} exited {process.returncode}: {(output or '').strip()[-500:]}"
        return
    # Only a probe sent after the command returned counts: before, the database may not yet have stopped.
    wait_for_recovery(probe, fault, finished, lambda: True)


def attribute_failures(faults: list[Fault], failures: list[tuple[float, str]], now: float) -> Counter[str]:
    """Each failed request to the last fault made before it, if it came before that fault's
    recovery and a few seconds more; returns the causes of the rest (failures away from the faults)."""
    made = sorted((f for f in faults if f.started), key=lambda f: f.started)
    outside: Counter[str] = Counter()
    for at, cause in failures:
        fault = next((f for f in reversed(made) if f.started <= at), None)
        recovered = (fault.recovered or now) if fault is not None else now
        if fault is None or at > recovered + FAULT_MARGIN_SECONDS:
            outside[cause] += 1
            continue
        fault.failed_requests += 1
        if at > recovered:
            fault.failed_after_recovery += 1
    return outside


# -- the server's log -----------------------------------------------------------------------------

ACCESS_STATUS = re.compile(r'" (\d{3}) ')
EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(?:Error|Exception|Shutdown|Timeout)\b")
SERVER_ADDRESS = re.compile(r'connection to server at "[^"]*", port \d+ failed: ')


def read_server_log(path: Path) -> dict[str, Any]:
    """5xx responses in the access log, the exceptions the runtime logged (the last of each
    chained traceback, the one the handler saw), and gunicorn's words about its workers."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {"responses_5xx": 0, "statuses_5xx": {}, "exceptions": {}, "worker_messages": []}
    statuses = Counter(m.group(1) for line in lines if (m := ACCESS_STATUS.search(line)) and m.group(1) >= "500")
    exceptions: Counter[str] = Counter()
    last: str | None = None
    for line in [*lines, "["]:
        if line[:1] == "[" or line[:1].isdigit():  # a new log record or an access log line
            if last:
                exceptions[last] += 1
            last = None
        elif EXCEPTION_LINE.match(line):
            last = " ".join(SERVER_ADDRESS.sub("", line).split())[:200]
    workers = [line.strip() for line in lines if "WORKER TIMEOUT" in line or "was sent SIG" in line]
    return {
        "responses_5xx": sum(statuses.values()),
        "statuses_5xx": dict(statuses),
        "exceptions": dict(exceptions.most_common()),
        "worker_messages": workers[-20:],
    }


# -- the run --------------------------------------------------------------------------------------


def resend_plan(citizen: int) -> Callable[[int], str]:
    """Which sends are a double click and which are sent again after the confirmation: one in four each."""

    def plan(index: int) -> str:
        return ("double click", "sent again", "once", "once")[(citizen + index) % 4]

    return plan


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="civicforms-fault-load-"))
    secret = secrets.token_urlsafe(48)
    command = None
    if not args.no_restart:
        command = shlex.split(args.restart_command) if args.restart_command else restart_command(args.database)
    server: http_bench.Server | None = None
    try:
        created = ensure_database(args.database)
        _label, url = http_bench.prepare(args.database, workdir)
        before = last_submission_id(url)
        env = http_bench.server_env(secret, url)
        # Blue Badge's photo and proof of identity: scanned by clamd, kept in the run's folder.
        env["CIVICFORMS_CLAMD_ADDRESS"] = args.clamd_address
        env["CIVICFORMS_UPLOAD_DIR"] = str(workdir / "uploads")
        env["CIVICFORMS_QUARANTINE_DIR"] = str(workdir / "quarantine")
        server = http_bench.start_server(
            "runtime", "runtime", "runtime.wsgi:app", args.workers, "postgresql", env, workdir
        )
        http_bench.wait_ready(server)
        probe = Probe(server.port)

        services = sorted(HAPPY_PATHS)
        total = args.citizens * len(services)
        out(
            f"{args.citizens} citizens x {len(services)} services = {total} journeys; gunicorn with {args.workers} "
            f"sync workers on {make_url(url).render_as_string(hide_password=True)}"
            + (" (database created)" if created else "")
        )
        # Spread over the run: a third and two thirds of the journeys done (one fault: half).
        kinds = (["worker kill"] if not args.no_kill else []) + (["PostgreSQL restart"] if command else [])
        planned = [(kind, (n + 1) / (len(kinds) + 1)) for n, kind in enumerate(kinds)]
        out(
            "faults: "
            + ("; ".join(f"{kind} when {share:.0%} of the journeys are done" for kind, share in planned) or "none")
        )
        if command is not None:
            out(f"restart command: {shlex.join(command)}")

        tally = Tally()
        citizens = [Citizen(n, server.port, secret, tally, args.give_up) for n in range(args.citizens)]
        threads = [
            threading.Thread(
                target=c.run,
                args=(
                    services[c.number % len(services) :] + services[: c.number % len(services)],
                    resend_plan(c.number),
                ),
                name=f"citizen-{c.number}",
                daemon=True,
            )
            for c in citizens
        ]
        load_started = time.monotonic()
        for thread in threads:
            thread.start()

        faults: list[Fault] = []
        last_report = time.monotonic()

        def progress() -> None:
            with tally.lock:
                done, failed, retries = tally.done, tally.failed, sum(tally.retries.values())
            out(
                f"  {time.monotonic() - load_started:6.1f} s: {done}/{total} journeys done, "
                f"{failed} failed, {retries} retries"
            )

        for kind, share in planned:
            while tally.done < share * total and any(t.is_alive() for t in threads):
                time.sleep(0.05)
                if time.monotonic() - last_report > 10:
                    progress()
                    last_report = time.monotonic()
            fault = Fault(kind, at_seconds=time.monotonic() - load_started, journeys_done=tally.done)
            # How long a page takes under this load, for scale: the probe waits behind the citizens.
            asked = time.monotonic()
            if probe.answers():
                fault.answer_before_seconds = time.monotonic() - asked
            if kind == "worker kill":
                kill_worker(server, probe, fault)
            else:
                assert command is not None
                restart_database(command, probe, fault)
            faults.append(fault)
            out(f"  {fault.at_seconds:6.1f} s: {describe(fault)}")
        while any(t.is_alive() for t in threads):
            time.sleep(0.1)
            if time.monotonic() - last_report > 10:
                progress()
                last_report = time.monotonic()
        load_seconds = time.monotonic() - load_started
        progress()
        probe.close()
        journeys = [j for c in citizens for j in c.journeys]
        outside = attribute_failures(faults, tally.failures, time.monotonic())
        log: dict[str, Any] = {}
    finally:
        if server is not None:
            server.stop()
            log = read_server_log(server.log)
            if args.server_log:
                shutil.copy(server.log, args.server_log)
        shutil.rmtree(workdir, ignore_errors=True)

    database = check_submissions(journeys, submission_rows(url, before))
    failures = Counter(j.failure for j in journeys if j.failure)
    sends = Counter(j.send for j in journeys if j.reference)
    return {
        "citizens": args.citizens,
        "services": services,
        "workers": args.workers,
        "database": make_url(url).render_as_string(hide_password=True),
        "restart_command": shlex.join(command) if command else None,
        "journeys": {
            "started": len(journeys),
            "confirmed": sum(1 for j in journeys if j.reference),
            "failed": sum(1 for j in journeys if j.failure),
            "failed_why": dict(failures.most_common()),
            "with_retries": sum(1 for j in journeys if j.retries),
            "confirmed_by_send": dict(sends),
        },
        "requests": tally.requests,
        "retries": sum(tally.retries.values()),
        "retries_by_cause": dict(tally.retries.most_common()),
        "failed_requests_outside_faults": dict(outside),
        "faults": [{k: v for k, v in asdict(f).items() if k not in ("started", "recovered")} for f in faults],
        "max_recovery_seconds": args.max_recovery,
        "database_check": database,
        "server_log": log,
        "load_seconds": load_seconds,
        "total_seconds": time.monotonic() - started,
        "journey_records": [asdict(j) for j in journeys] if args.json else None,
    }


def describe(fault: Fault) -> str:
    if not fault.ok:
        return f"{fault.kind} FAILED: {fault.error}"
    parts = [f"{fault.kind} ({fault.detail})"]
    if fault.command_seconds is not None:
        parts.append(f"command took {fault.command_seconds:.2f} s")
    if fault.replaced_after is not None:
        parts.append(f"replacement worker up after {fault.replaced_after:.2f} s")
    if fault.recovery_seconds is not None:
        parts.append(f"answering again after {fault.recovery_seconds:.2f} s")
        if fault.answer_before_seconds is not None:
            parts[-1] += f" (a page took {fault.answer_before_seconds:.2f} s to answer just before)"
    else:
        parts.append(fault.error or "no recovery measured")
    return ", ".join(parts)


def checks(result: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(check, passed, detail) for everything the run must show."""
    j, d = result["journeys"], result["database_check"]
    found: list[tuple[str, bool, str]] = [
        (
            "every journey started was confirmed",
            j["failed"] == 0 and j["confirmed"] == j["started"],
            f"{j['confirmed']}/{j['started']} confirmed, {j['failed']} failed",
        ),
        (
            "every confirmed journey has exactly one submission (its reference, service and form session)",
            d["exactly_one"] == d["confirmed_journeys"] and not d["missing"] and not d["mismatched"],
            f"{d['exactly_one']}/{d['confirmed_journeys']}; "
            f"missing {len(d['missing'])}, mismatched {len(d['mismatched'])}",
        ),
        (
            "no duplicate submission",
            not d["duplicates"] and not d["unknown"],
            f"{len(d['duplicates'])} duplicates, {len(d['unknown'])} submissions of no journey",
        ),
        (
            "every reference is unique",
            not d["duplicate_references"] and d["distinct_references"] == d["submissions"],
            f"{d['distinct_references']} distinct in {d['submissions']} submissions; "
            f"{len(d['duplicate_references'])} shown to two journeys",
        ),
        ("no half-written submission", not d["half_written"], f"{len(d['half_written'])} half-written"),
        (
            "no request failed away from the faults",
            not result["failed_requests_outside_faults"],
            ", ".join(f"{c} x{n}" for c, n in result["failed_requests_outside_faults"].items()) or "none",
        ),
    ]
    for fault in result["faults"]:
        recovery = fault["recovery_seconds"]
        found.append(
            (
                f"{fault['kind']}: made, and the server answered again within {result['max_recovery_seconds']:g} s",
                fault["ok"] and recovery is not None and recovery <= result["max_recovery_seconds"],
                fault["error"] or (f"{recovery:.2f} s" if recovery is not None else "not measured"),
            )
        )
    return found


def report(result: dict[str, Any]) -> bool:
    j, d, log = result["journeys"], result["database_check"], result["server_log"]
    out()
    out(
        f"Civic Forms fault load: {result['citizens']} citizens x {len(result['services'])} services, gunicorn "
        f"{result['workers']} sync workers, {result['database']}, {result['load_seconds']:.1f} s of load"
    )
    out(
        f"journeys: started {j['started']}, confirmed {j['confirmed']}, failed {j['failed']}; "
        f"{j['with_retries']} needed a retry"
    )
    for why, n in j["failed_why"].items():
        out(f"  failed x{n}: {why}")
    sends = j["confirmed_by_send"]
    out(
        f"sends: {sends.get('once', 0)} once, {sends.get('double click', 0)} double clicks (two at once), "
        f"{sends.get('sent again', 0)} sent again after the confirmation (all confirmed journeys)"
    )
    causes = ", ".join(f"{c} x{n}" for c, n in result["retries_by_cause"].items()) or "none"
    out(f"requests: {result['requests']}, retried {result['retries']} ({causes})")
    for fault in result["faults"]:
        f = Fault(**fault)
        out(
            f"fault at {fault['at_seconds']:.1f} s ({fault['journeys_done']} journeys done): {describe(f)}; "
            f"{fault['probes_failed']} probes and {fault['failed_requests']} citizens' requests failed "
            f"({fault['failed_after_recovery']} of them after the recovery)"
        )
    out(
        "recovery seconds: "
        + (
            ", ".join(
                f"{f['kind']} {f['recovery_seconds']:.2f}" if f["recovery_seconds"] is not None else f"{f['kind']} none"
                for f in result["faults"]
            )
            or "no faults"
        )
    )
    out(
        f"database: {d['submissions']} submissions in the run, {d['distinct_references']} distinct references; "
        f"confirmed journeys with exactly one submission {d['exactly_one']}/{d['confirmed_journeys']}; "
        f"missing {len(d['missing'])}, mismatched {len(d['mismatched'])}, duplicates {len(d['duplicates'])}, "
        f"half-written {len(d['half_written'])}, stored but never confirmed {len(d['unconfirmed'])}, "
        f"of no journey {len(d['unknown'])}"
    )
    for line in d["duplicates"][:10]:
        out(f"  duplicate: {line}")
    for row in d["half_written"][:10]:
        out(f"  half-written: {row['reference']} lacks {', '.join(row['missing'])}")
    for reference in d["missing"][:10]:
        out(f"  missing: {reference} was confirmed but is not stored")
    if log:
        statuses = ", ".join(f"{s} x{n}" for s, n in log.get("statuses_5xx", {}).items()) or "none"
        out(f"server log: {log['responses_5xx']} responses 5xx ({statuses})")
        for name, n in list(log["exceptions"].items())[:8]:
            out(f"  exception x{n}: {name}")
        for line in log["worker_messages"]:
            out(f"  gunicorn: {line[-160:]}")
    out("checks:")
    passed = True
    for name, ok, detail in checks(result):
        passed &= ok
        out(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
    out(f"total time: {result['total_seconds']:.1f} s")
    return passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=200, help="citizens at once (default 200)")
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help=f"PostgreSQL URL (default {DEFAULT_DATABASE}); created if missing, migrated and loaded; "
        "keeps the submissions made",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--no-kill", action="store_true", help="do not kill a worker")
    parser.add_argument("--no-restart", action="store_true", help="do not restart PostgreSQL")
    parser.add_argument(
        "--clamd-address",
        default=os.environ.get("CIVICFORMS_CLAMD_ADDRESS", ""),
        help="clamd's socket or host:port, for the services' uploads (default CIVICFORMS_CLAMD_ADDRESS)",
    )
    parser.add_argument(
        "--restart-command",
        help="how to restart PostgreSQL (default: pg_ctlcluster --skip-systemctl-redirect VERSION CLUSTER restart "
        "for the cluster pg_lsclusters lists on the URL's port)",
    )
    parser.add_argument("--give-up", type=float, default=60.0, help="seconds a citizen retries one step (default 60)")
    parser.add_argument(
        "--max-recovery", type=float, default=10.0, help="seconds the server may take to answer after a fault (10)"
    )
    parser.add_argument("--server-log", type=Path, help="also keep the server's log (access and errors) here")
    parser.add_argument("--json", type=Path, help="also write the results (with every journey) to this JSON file")
    args = parser.parse_args(argv)
    if args.citizens < 1 or args.workers < 1 or args.give_up <= 0 or args.max_recovery <= 0:
        parser.error("--citizens, --workers, --give-up and --max-recovery must be positive")
    if not make_url(args.database).get_backend_name().startswith("postgresql"):
        parser.error("--database: a PostgreSQL URL (postgresql+psycopg://...)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    passed = report(result)
    if args.json:
        args.json.write_text(
            json.dumps(result | {"checks": checks(result), "passed": passed}, indent=2, default=str) + "\n"
        )
        out(f"JSON written to {args.json}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

"""IT's citizen record commands: ``civicforms citizens show``, ``rematch`` and ``train``.

Exit codes (stable; scripts and audits rely on them):

- ``show``: 0 the record was printed, 1 no record matches the key, 2 the key cannot be one (empty,
  longer than 400 characters, or holding control characters) or a usage error.
- ``rematch`` and ``train``: 0 done, 1 an error (settings, the database, too few records to train
  on); nothing is changed on an error.

``rematch`` and ``train`` load Splink and DuckDB (runtime.linkage, about 130 MB): each imports
what it needs when it runs, so that other commands and the web workers never do.

Registered on the ``civicforms`` group by runtime/cli.py.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .cli_common import settings as _settings

SHOW_FOUND, SHOW_NOT_FOUND, SHOW_MALFORMED = 0, 1, 2
MAX_KEY = 400  # citizen_identifier.value


@click.group()
def citizens() -> None:
    """Citizen records, for IT and audits: a record's details and submissions; matching's batch jobs."""


def _malformed(key: str) -> str | None:
    """Why a key cannot name a record, or None."""
    if not key.strip():
        return "the key is empty"
    if len(key) > MAX_KEY:
        return f"the key is longer than {MAX_KEY} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        return "the key holds control characters"
    return None


def record_json(session: Any, citizen_id: int) -> dict[str, Any]:
    """Everything ``citizens show --json`` prints about one record."""
    from sqlmodel import col, select

    from .data.citizens import citizen_identifiers, citizen_submissions, possible_matches
    from .models import Case, Department, Submission

    idents = [i for i in citizen_identifiers(session=session, citizen_id=citizen_id) if i.kind != "name_key"]
    references = dict(
        session.exec(
            select(Submission.id, Submission.reference).where(
                col(Submission.id).in_({i.submission_id for i in idents if i.submission_id is not None})
            )
        ).all()
    )
    departments = dict(session.exec(select(Department.id, Department.slug)).all())
    rows = citizen_submissions(session=session, citizen_id=citizen_id)
    states = dict(
        session.exec(
            select(Case.submission_id, Case.state).where(col(Case.submission_id).in_([s.id for s, _ in rows]))
        ).all()
    )
    matches = []
    for status in ("pending", "same", "different"):
        for pair in possible_matches(session=session, citizen_id=citizen_id, status=status, limit=1000):
            other = pair.other_citizen_id if pair.citizen_id == citizen_id else pair.citizen_id
            matches.append({"record": other, "score": pair.match_weight, "status": pair.status})
    return {
        "record": citizen_id,
        "identifiers": [
            {
                "kind": i.kind,
                "value": i.value,
                "submission": references.get(i.submission_id) if i.submission_id is not None else None,
                "department": departments.get(i.department_id) if i.department_id is not None else None,
                "at": i.created_at.isoformat(),
            }
            for i in idents
        ],
        "submissions": [
            {
                "reference": s.reference,
                "service": service.id,
                "submitted_at": s.submitted_at.isoformat(),
                "case_state": states.get(s.id),
            }
            for s, service in rows
        ],
        "possible_matches": matches,
    }


@citizens.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON (for IT and audits).")
def citizens_show(key: str, as_json: bool) -> None:
    """A citizen record's details, submissions and possible matches, by record number, submission
    reference or email address (NHS, NI and phone numbers work too). Exit 1 when no record
    matches, 2 when KEY cannot be one."""
    from .data.citizens import find_citizen
    from .db import make_engine, session

    problem = _malformed(key)
    if problem:
        click.echo(f"not a record number, reference or email address: {problem}", err=True)
        sys.exit(SHOW_MALFORMED)
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with session(engine) as s:
            citizen = find_citizen(session=s, key=key.strip())
            if citizen is None or citizen.id is None:
                click.echo(f"no citizen record matches {key!r}", err=True)
                sys.exit(SHOW_NOT_FOUND)
            data = record_json(s, citizen.id)
            if as_json:
                click.echo(json.dumps(data, indent=2, ensure_ascii=False))
                return
            click.echo(f"Citizen {citizen.id} (record created {citizen.created_at:%Y-%m-%d %H:%M} UTC)")
            for ident in data["identifiers"]:
                click.echo(f"  {ident['kind']}: {ident['value']}")
            from .data.citizens import citizen_submissions

            rows = citizen_submissions(session=s, citizen_id=citizen.id)
            click.echo(f"{len(rows)} submission{'s' if len(rows) != 1 else ''}:")
            for sub, service in rows:
                when = f"{sub.submitted_at:%Y-%m-%d %H:%M}"
                click.echo(f"  {sub.reference}  {when}  {service.title} (version {sub.service_version})")
            for match in data["possible_matches"]:
                score = "no score" if match["score"] is None else f"weight {match['score']:.1f}"
                click.echo(f"  possible match: record {match['record']} ({score}, {match['status']})")
    finally:
        engine.dispose()


def _progress_bar(label: str) -> tuple[Any, Any]:
    """A progress callback for runtime.linkage (step, done, total) drawing a bar on stderr."""
    state: dict[str, Any] = {"bar": None, "done": 0}

    def report(step: str, done: int, total: int) -> None:
        bar: Any = state["bar"]
        if bar is None:
            bar = state["bar"] = click.progressbar(length=max(1, total), label=label, file=sys.stderr)
            bar.__enter__()
        bar.label = f"{label}: {step}"
        bar.update(max(0, done - state["done"]))
        state["done"] = done

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)

    return report, close


def _database_error(exc: BaseException) -> click.ClickException:
    return click.ClickException(
        f"database: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''} "
        "(is CIVICFORMS_DATABASE_URL right, and has `civicforms db upgrade` run?)"
    )


@citizens.command("rematch")
def citizens_rematch() -> None:
    """Score every record against every other with the newest model (after training, or an
    import) and apply matching's rule: join, a pair for staff, or nothing. Pairs staff decided
    are left as they are. Progress on stderr, a summary on stdout; exit 0 done, 1 an error."""
    from sqlalchemy.exc import SQLAlchemyError

    from .db import make_engine, session
    from .services import matching

    settings = _settings()
    engine = make_engine(settings.database_url)
    report, close = _progress_bar("rematch")
    try:
        with session(engine) as s:
            summary = matching.rematch(s, settings=settings, progress=report)
    except SQLAlchemyError as exc:
        raise _database_error(exc) from exc
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        close()
        engine.dispose()
    click.echo(
        f"{summary.profiles} submissions scored: {summary.pairs} pairs of records above the review weight, "
        f"{summary.joined} joined, {summary.suggested} new for staff, {summary.skipped} already decided"
    )


@citizens.command("train")
def citizens_train() -> None:
    """Estimate matching's parameters from the records (no labels needed) and keep the model,
    which the worker and rematch then use. Progress on stderr, a summary on stdout; exit 0
    done, 1 an error (too few records included)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .db import make_engine, session
    from .services import matching

    settings = _settings()
    engine = make_engine(settings.database_url)
    report, close = _progress_bar("train")
    try:
        with session(engine) as s:
            row = matching.train(s, settings=settings, progress=report)
    except SQLAlchemyError as exc:
        raise _database_error(exc) from exc
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(f"cannot train: {exc}") from exc
    finally:
        close()
        engine.dispose()
    click.echo(f"model {row.id} trained on {row.records} submissions' details; the worker uses it from now on")

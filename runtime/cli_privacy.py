"""The data protection commands: ``civicforms retention run``, ``civicforms citizens erase`` and
``civicforms citizens export`` (docs/definition-format.md, "Retention"; UK GDPR).

Exit codes (stable, for cron and scripts):

- ``retention run``: 0 done (or, with --dry-run, listed), 1 an error (the database), 2 bad usage
  (a --today that is not a date).
- ``citizens erase``: 0 everything of the person erased (or, with --dry-run, listed), 1 not all of
  it: no such record, or cases kept under a legal hold (each listed with the hold's reason), 2 bad
  input (an empty, oversized or control-character key, a missing or unfit reason).
- ``citizens export``: 0 written, 1 no such record, 2 bad input.

Registered by runtime/cli.py. Each command imports what it needs when it runs
(tests/core/test_cli_startup.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click

from .cli_common import settings as _settings

DONE, NOT_ALL, BAD_INPUT = 0, 1, 2


class _BadInput(click.ClickException):
    """``Error: ...`` on stderr, exit 2."""

    exit_code = BAD_INPUT


@contextmanager
def _database() -> Iterator[Any]:
    """A session; a database that cannot be reached or read is a clear error (exit 1), not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from .db import make_engine, session

    engine = make_engine(_settings().database_url)
    try:
        with session(engine) as s:
            yield s
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"database: {type(exc).__name__}: {str(exc).splitlines()[0][:300]} "
            "(is CIVICFORMS_DATABASE_URL right, and has `civicforms db upgrade` run?)"
        ) from exc
    finally:
        engine.dispose()


def _today(value: str | None) -> date:
    from .models import utcnow

    if value is None:
        return utcnow().date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.UsageError(f"--today must be a date like 2026-12-31, not {value[:40]!r}") from None


@click.group()
def retention() -> None:
    """Remove personal data that each service's retention period no longer allows keeping."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be removed (reference, service, why); change nothing.")
@click.option("--today", metavar="DATE", help="Count periods up to this date (YYYY-MM-DD) instead of today.")
def retention_run(dry_run: bool, today: str | None) -> None:
    """Erase the personal data of closed cases past their service's retention period.

    Run it daily from cron, e.g. ``15 2 * * * civicforms retention run``. Open cases and cases under
    a legal hold are never touched; a service without a retention period keeps its data until it is
    erased on request. Statistics (services, dates, states, the case history) are kept, and the
    audit logs say what was erased, without personal data. Exit 0 done, 1 an error, 2 bad usage.
    """
    day = _today(today)
    from .services.retention import run_retention
    from .services.uploading import uploads_for

    with _database() as s:
        result = run_retention(session=s, today=day, dry_run=dry_run, files=uploads_for(_settings()))
    verb = "would erase" if dry_run else "erased"
    for item in result.due:
        click.echo(f"{item.reference}\t{item.service_id}\t{verb}: {item.why}")
    for item, holds in result.held:
        reasons = "; ".join(h.reason for h in holds)
        click.echo(f"{item.reference}\t{item.service_id}\tkept: legal hold ({reasons})")
    if result.without_period:
        click.echo(
            f"no retention period (data kept until erased on request): {', '.join(result.without_period)}", err=True
        )
    noun = "case" if len(result.due) == 1 else "cases"
    if dry_run:
        click.echo(
            f"dry run: {len(result.due)} {noun} would be erased, {len(result.held)} kept under a legal hold", err=True
        )
    else:
        counts = result.erased
        click.echo(
            f"{len(result.due)} {noun} erased ({counts.submissions} submissions, {counts.identifiers} details, "
            f"{counts.messages} messages, {counts.files} files, {counts.records} records), "
            f"{len(result.held)} kept under a legal hold",
            err=True,
        )


def _record(s: Any, key: str) -> Any:
    from .services.retention import NoRecord, PrivacyError, check_key, erasure_plan

    try:
        check_key(key)
        return erasure_plan(session=s, key=key)
    except NoRecord as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(NOT_ALL)
    except PrivacyError as exc:
        raise _BadInput(exc.message) from None


@click.command("erase")
@click.argument("key")
@click.option("--reason", help="Why (for the audit log): the request's reference, not the person's details.")
@click.option("--dry-run", is_flag=True, help="List what would be erased and what a legal hold keeps; change nothing.")
def citizens_erase(key: str, reason: str | None, dry_run: bool) -> None:
    """Erase everything held on a person, on their request (KEY: record number, reference or email).

    Every service and department: answers, details, case names, staff comments, information
    requests, messages and form sessions. A case under a legal hold is kept, and listed with the
    hold's reason. Exit 0 all erased, 1 not all (no such record, or a legal hold), 2 bad input.
    """
    from .services.retention import PrivacyError, check_reason, erase_record
    from .services.uploading import uploads_for

    if not dry_run:
        try:
            check_reason(reason)
        except PrivacyError as exc:
            raise _BadInput(f"--reason: {exc.message}") from None
    with _database() as s:
        plan = _record(s, key)
        click.echo(f"Citizen record {plan.citizen.id}")
        if dry_run:
            for item in plan.erasable:
                click.echo(f"  would erase {item.submission.reference}\t{item.service.title}\t{item.department}")
            for item, holds in plan.held:
                for hold in holds:
                    click.echo(f"  kept: {item.submission.reference}\tlegal hold: {hold.reason}")
            click.echo(
                f"dry run: {len(plan.erasable)} would be erased, {len(plan.held)} kept under a legal hold", err=True
            )
            return
        try:
            result = erase_record(
                session=s, key=key, reason=reason or "", actor_id=None, files=uploads_for(_settings())
            )
        except PrivacyError as exc:
            raise _BadInput(f"--reason: {exc.message}" if exc.field == "reason" else exc.message) from None
    for reference in result.erased_references:
        click.echo(f"  erased {reference}")
    for hold in result.held:
        click.echo(f"  refused: {hold.reference} ({hold.service}) is under a legal hold: {hold.reason}")
    counts = result.erased
    click.echo(
        f"erased {counts.submissions} submissions, {counts.cases} cases, {counts.identifiers} details, "
        f"{counts.messages} messages, {counts.files} files, {counts.form_sessions} form sessions"
        + (", and the record" if counts.records else ""),
        err=True,
    )
    if not result.complete:
        click.echo(f"{len(result.held)} case(s) kept under a legal hold: the record stays until released", err=True)
        sys.exit(NOT_ALL)


@click.command("export")
@click.argument("key")
@click.option(
    "--format",
    "output",
    type=click.Choice(["json", "html", "zip"]),
    default="json",
    show_default=True,
    help="zip: the report (JSON and HTML) and the files the person sent, in one ZIP file (needs --output).",
)
@click.option("--output", "path", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
def citizens_export(key: str, output: str, path: Path | None) -> None:
    """A subject access report: everything held on a person, as JSON, a readable HTML page, or a
    ZIP file holding both and the files the person sent.

    KEY: a record number, a reference or an email address only one record holds. The report is
    logged in the records' audit log. A file is written readable by its owner only.
    Exit 0 written, 1 no such record, 2 bad input.
    """
    from . import subject_access
    from .models import utcnow
    from .services.retention import NoRecord, PrivacyError
    from .services.retention import subject_access as make_report

    if output == "zip" and path is None:
        raise _BadInput("--format zip needs --output FILE (a ZIP file is not written to the terminal)")
    with _database() as s:
        try:
            data = make_report(session=s, key=key, actor_id=None, output=output)
        except NoRecord as exc:
            click.echo(f"Error: {exc.message}", err=True)
            sys.exit(NOT_ALL)
        except PrivacyError as exc:
            raise _BadInput(exc.message) from None
    report = subject_access.build(data, made_at=utcnow())
    if output == "zip":
        from .services.case_files import report_files
        from .storage import storage_for

        assert path is not None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise _BadInput(f"--output: {exc.strerror}: {path}") from None
        with os.fdopen(fd, "wb") as bundle:
            missing = subject_access.write_bundle(report, report_files(data, report, storage_for(_settings())), bundle)
        kept = len(report["files"]) - len(missing)
        click.echo(f"wrote {path} ({kept} file{'' if kept == 1 else 's'})", err=True)
        if missing:
            click.echo(
                f"warning: {len(missing)} of the person's files could not be found in storage and are not in "
                f"the ZIP file; its report says so in their place: {', '.join(missing)}",
                err=True,
            )
        return
    text = subject_access.as_json(report) if output == "json" else subject_access.html_document(report)
    if path is None:
        click.echo(text, nl=False)
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise _BadInput(f"--output: {exc.strerror}: {path}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    click.echo(f"wrote {path}", err=True)

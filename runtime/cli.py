"""The runtime's commands: checks for IT, database and definition loading, the worker.

The ``civicforms`` command is these and ``serve`` (civicforms/cli.py, which mounts every face).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from . import definition as definitions

# Each command imports what it needs when it runs: ``civicforms validate`` runs in pre-commit
# hooks and CI on every push, and must not pay for the database, the web faces or the staff
# modules (tests/core/test_cli_startup.py lists what it may not import).
from .cli_common import settings as _settings  # noqa: E402


@click.group()
def main() -> None:
    """Civic Forms: e-services for the public sector."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--any-file-name",
    is_flag=True,
    help="Do not require each file to be named <id>.json (for a copy checked elsewhere, e.g. a pre-commit hook's).",
)
def validate(paths: tuple[Path, ...], any_file_name: bool) -> None:
    """Check definition files (default: form_definitions/); exit 1 on any problem.

    A folder is checked with its department sub-folders (form_definitions/<department-slug>/<id>.json),
    where each file's "department" must match its folder. Across all the files, service ids and
    reference prefixes must be unique. Each problem prints as ``file: json-path: message``; exit
    2 when there is nothing to check.
    """
    targets = list(paths) or [Path("form_definitions")]
    missing = [p for p in targets if not p.exists()]
    for path in missing:
        click.echo(f"{path}: $: no such file or folder", err=True)
    from .checker import check_file, check_many

    failed = bool(missing)
    checked: dict[Path, dict[str, Any]] = {}
    count = 0
    for target in targets:
        if not target.exists():
            continue
        root = target if target.is_dir() else None
        for path in definitions.definition_files([target]):
            count += 1
            problems = check_file(path, root=root, any_file_name=any_file_name)
            for problem in problems:
                click.echo(problem.render(str(path)))
            failed = failed or bool(problems)
            if not problems:
                checked[path] = definitions.read_file(path)
    if not count and not missing:
        click.echo("no definition files found", err=True)
        sys.exit(2)
    for path, problem in check_many(checked):
        click.echo(problem.render(str(path)))
        failed = True
    if failed:
        sys.exit(1)
    click.echo(f"{count} definition{'s' if count != 1 else ''} OK", err=True)


@main.command("format")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Only report files that are not canonical; exit 1 if any.")
def format_(paths: tuple[Path, ...], check: bool) -> None:
    """Rewrite definition files canonically (stable key order, 2-space indent, final newline)."""
    changed = 0
    for path in definitions.definition_files(list(paths) or [Path("form_definitions")]):
        try:
            doc = definitions.read_file(path)
        except definitions.DefinitionError as exc:
            click.echo(f"{path}: $: {exc}", err=True)
            sys.exit(1)
        text = definitions.dumps(doc)
        if path.read_text(encoding="utf-8") != text:
            changed += 1
            if check:
                click.echo(f"{path}: not canonical (run civicforms format)")
            else:
                path.write_text(text, encoding="utf-8")
                click.echo(f"{path}: formatted")
    if check and changed:
        sys.exit(1)


# Exit codes of `civicforms diff --exit-code` (git's convention), for CI.
DIFF_SAME = 0
DIFF_CHANGED = 1
DIFF_PROBLEM = 2  # a file unreadable or refused by the checker, a bad ref; always, with or without --exit-code


@main.command()
@click.argument("sides", nargs=-1, metavar="[OLD NEW | FOLDER]")
@click.option(
    "--ref",
    "refs",
    multiple=True,
    metavar="REF",
    help="Compare every definition under FOLDER (default form_definitions/) at REF with the work tree; "
    "give it twice to compare two refs.",
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when something changed, 0 when nothing did (as git diff).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON object of changes and problems instead of sentences."
)
def diff(sides: tuple[str, ...], refs: tuple[str, ...], exit_code: bool, as_json: bool) -> None:
    """Print the changes between two versions of definitions in plain words, one sentence a line.

    \b
    civicforms diff OLD NEW                 two files; either may be REF:PATH (the file at a
                                            git ref, PATH from the current folder) or /dev/null
                                            (no file: a new or removed service)
    civicforms diff --ref main              every file under form_definitions/ at main against
                                            the work tree, department folders included
    civicforms diff --ref v1 --ref v2 DIR   every file under DIR between two refs

    Files are matched by service id, so a file moved into a department folder is not a new
    service. A new service has every part described; a removed one is named. Changes print as
    sentences (with a "service-id (file):" heading when comparing folders); --json prints
    {"changes": [{"service", "file", "path", "old", "new", "sentence"}], "problems": [{"file",
    "path", "message"}]}, "path" being the JSON path of the part, "old" and "new" its full values
    (null when absent). Problems print as ``file: json-path: message`` on standard error.

    \b
    Exit codes: 0 nothing changed (or, without --exit-code, success); 1 something changed (only
    with --exit-code); 2 a problem: an unreadable or malformed file, a bad ref, a definition the
    checker refuses (no changes are printed for that service).
    """
    from .diffing import DiffError, diff_files, diff_refs

    try:
        if refs:
            if len(refs) > 2 or len(sides) > 1:
                raise click.UsageError("give --ref once or twice, and at most one FOLDER")
            result = diff_refs(
                refs[0], refs[1] if len(refs) == 2 else None, Path(sides[0] if sides else "form_definitions")
            )
        else:
            if len(sides) != 2:
                raise click.UsageError("give two files (OLD NEW), or --ref REF to compare a folder")
            result = diff_files(sides[0], sides[1])
    except DiffError as exc:
        if as_json:
            click.echo(
                json.dumps({"changes": [], "problems": [{"file": exc.where, "path": "$", "message": exc.message}]})
            )
        else:
            click.echo(f"{exc.where}: {exc.message}", err=True)
        sys.exit(DIFF_PROBLEM)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    else:
        for file, problem in result.problems:
            click.echo(problem.render(file), err=True)
        for line in result.lines(headings=bool(refs)):
            click.echo(line)
    if result.problems:
        sys.exit(DIFF_PROBLEM)
    if exit_code and result.changes:
        sys.exit(DIFF_CHANGED)


@main.command()
@click.option("--folder", type=click.Path(path_type=Path), default=None, help="Default: form_definitions/.")
@click.option(
    "--by-department",
    is_flag=True,
    help="Write each service to <folder>/<department-slug>/<id>.json (moving a file already in the folder).",
)
def export(folder: Path | None, by_department: bool) -> None:
    """Write every service's current published version canonically, one <service-id>.json each.

    A service whose file is already in the folder (flat or in a department sub-folder) is written
    where it is; with --by-department, in its department's sub-folder, so that CODEOWNERS can give
    each department its own reviewers.
    """
    from sqlmodel import select

    from .db import make_engine, session
    from .models import Service
    from .slugs import slug
    from .versions import definition

    settings = _settings()
    folder = folder or settings.definitions_dir
    if folder.exists() and not folder.is_dir():
        raise click.ClickException(f"{folder}: not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    present = {p.stem: p for p in definitions.definition_files([folder])}
    engine = make_engine(settings.database_url)
    try:
        with session(engine) as s:
            services = list(s.exec(select(Service).order_by(Service.id)))
            for service in services:
                published = definition(session=s, service_id=service.id)
                if published is None:  # a service row always has its current version; say so if not
                    click.echo(f"{service.id}: version {service.current_version} is missing", err=True)
                    continue
                department = published.doc.get("department")
                path = present.get(service.id, folder / f"{service.id}.json")
                if by_department:
                    sub = slug(department) if isinstance(department, str) else ""
                    path = folder / sub / f"{service.id}.json" if sub else folder / f"{service.id}.json"
                    path.parent.mkdir(exist_ok=True)
                text = definitions.dumps(published.doc)
                old = present.get(service.id)
                moved = old is not None and old != path
                if not moved and path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
                    click.echo(f"{path}: {service.id} version {published.version} unchanged")
                    continue
                # Written beside the file then renamed, so a reader never sees half a definition.
                partial = path.with_name(f".{path.name}.partial")
                partial.write_text(text, encoding="utf-8")
                partial.replace(path)
                if moved and old is not None:
                    old.unlink()
                    click.echo(f"{path}: {service.id} version {published.version} written (moved from {old})")
                else:
                    click.echo(f"{path}: {service.id} version {published.version} written")
    finally:
        engine.dispose()
    if not services:
        click.echo("no published services to export", err=True)


@main.group()
def db() -> None:
    """Database commands."""


@db.command()
def upgrade() -> None:
    """Apply every migration (alembic upgrade head)."""
    from .db import upgrade as do_upgrade

    settings = _settings()
    do_upgrade(settings.database_url)
    click.echo("database is up to date")


# ``civicforms load``, ``plan`` and ``status`` (making live what the folder or a git ref says) are
# runtime/cli_release.py's, registered at the end of this module.


# ``civicforms serve`` (every face on one development server) is civicforms/cli.py's: it mounts
# the builder, which nothing in runtime/ imports.


@main.group()
def sessions() -> None:
    """Citizens' unsent answers."""


@sessions.command("purge")
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Sessions deleted per transaction: each batch commits, so no lock is held for long.",
)
def sessions_purge(batch_size: int) -> None:
    """Delete unsent answers whose session has expired (run it from cron, e.g. hourly), the
    builder's "try it" answers left idle as long, and the files of both."""
    from .abuse import purge_expired, purge_idle_previews
    from .db import make_engine, session
    from .services import uploading

    settings = _settings()
    minutes = settings.session_timeout_minutes
    engine = make_engine(settings.database_url)
    try:
        count = purge_expired(engine, batch_size=batch_size)
        previews = purge_idle_previews(engine, minutes=minutes, batch_size=batch_size)
        # Their files too, and files left behind by forms sent without them (docs/uploads.md).
        files = uploading.purge_forgotten(
            session_factory=lambda: session(engine),
            files=uploading.uploads_for(settings),
            batch_size=batch_size,
            preview_minutes=minutes,
        )
    finally:
        engine.dispose()
    # The builder's idle "try it" preview sessions are named when there were some.
    tried = f", {previews} idle preview session{'s' if previews != 1 else ''}" if previews else ""
    click.echo(
        f"deleted {count} expired session{'s' if count != 1 else ''}{tried}"
        f" and {files} unsent file{'s' if files != 1 else ''}"
    )


# The builder's mount point on the web server: set-up links printed here open its pages.
BUILDER_PATH = "/builder"


@main.group()
def users() -> None:
    """Staff accounts for the builder and back office."""


def _read_password() -> str:
    """The new password: typed twice at a terminal (hidden), or the first line piped in."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline(2000)
    return line.rstrip("\r\n")


@users.command("create")
@click.option("--email", required=True, help="Their work email address (they sign in with it).")
@click.option("--name", required=True, help="Their full name, shown beside their changes.")
@click.option("--department", required=True, help="Department name or slug, e.g. Highways or adult-social-care.")
@click.option("--role", required=True, help="designer, reviewer or admin.")
@click.option(
    "--setup-link",
    is_flag=True,
    help="Print a one-time link (valid 7 days) for them to choose a password, instead of reading one.",
)
@click.option("--create-department", is_flag=True, help="Make the department if it does not exist yet.")
def users_create(email: str, name: str, department: str, role: str, setup_link: bool, create_department: bool) -> None:
    """Add a staff member with one role in one department.

    The password is read from standard input (echo ... | civicforms users create ...), or
    typed twice when run at a terminal; with --setup-link, a one-time link is printed instead.
    """
    from .data.departments import department_slug
    from .db import make_engine, session
    from .services import accounts
    from .staff import StaffError, check_email, check_name, check_password, check_role

    settings = _settings()
    try:
        clean_email, clean_name, clean_role = check_email(email), check_name(name), check_role(role)
    except StaffError as exc:
        raise click.ClickException(f"--{exc.field}: {exc.message}") from exc
    if not department_slug(department) or len(department) > 200 or any(ord(ch) < 32 for ch in department):
        raise click.ClickException("--department: enter a department name, like Highways")
    if setup_link and not settings.base_url:
        raise click.ClickException(
            "set CIVICFORMS_BASE_URL (e.g. https://forms.example.gov.uk) so that the set-up link can be printed"
        )
    password = None
    if not setup_link:
        password = _read_password()
        if not password:
            raise click.ClickException("no password given on standard input: pipe one in, or use --setup-link")
        try:
            check_password(password, email=clean_email, name=clean_name)
        except StaffError as exc:
            raise click.ClickException(f"password: {exc.message}") from exc
    engine = make_engine(settings.database_url)
    try:
        with session(engine) as s:
            try:
                done = accounts.create_user(
                    session=s,
                    actor=None,
                    email=clean_email,
                    name=clean_name,
                    department=department,
                    role=clean_role,
                    password=password,
                    create_department=create_department,
                )
            except accounts.NoSuchDepartment as exc:
                raise click.ClickException(
                    f"no department called {department!r}: check the name (civicforms users list shows them) "
                    "or add --create-department to make it"
                ) from exc
            except StaffError as exc:
                raise click.ClickException(f"--{exc.field}: {exc.message}") from exc
            created = done.created
            click.echo(f"created {created.user.email}: {clean_role} in {done.department.name}")
            if created.setup_token:
                click.echo("Send them this one-time link to choose a password (it works once, for 7 days):")
                click.echo(settings.url(f"{BUILDER_PATH}/set-up/{created.setup_token}"))
    finally:
        engine.dispose()


@users.command("list")
def users_list() -> None:
    """Every staff account: email, name, state and roles per department."""
    from .db import make_engine, session
    from .staff import list_users

    engine = make_engine(_settings().database_url)
    try:
        with session(engine) as s:
            rows = list_users(session=s)
    finally:
        engine.dispose()
    if not rows:
        click.echo("no staff accounts yet: add one with civicforms users create", err=True)
        return
    for row in rows:
        state = "deactivated" if not row.active else "locked" if row.locked else "active"
        if row.active and not row.has_password and not row.sso:
            state = "invited"
        roles = "; ".join(f"{department}: {', '.join(names)}" for department, names in row.roles.items())
        click.echo(f"{row.email}\t{row.name}\t{state}\t{roles or 'no roles'}")


# Exit codes of `civicforms worker --once`, for cron and monitoring.
WORKER_OK = 0  # every due message sent, or waiting for its next try
WORKER_GAVE_UP = 3  # a message or a matching job failed for the last time in this run (status "failed")


@main.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit (for cron); default: run until stopped.")
def worker(once: bool) -> None:
    """Escalate overdue cases (and lapse unanswered requests past their reply-by date), remind
    applicants three days before a reply-by date, warn assignees the day before a deadline, write
    the daily digests, send the outbox (messages to citizens and staff), and run matching
    jobs (submissions to score against the citizen records), with retries and back-off.

    Delivery is chosen by CIVICFORMS_MAIL_BACKEND (log, smtp, notify). With --once the exit
    code is 0 when every due message was sent and every due matching job ran, or will be
    retried; 3 when one failed for the last time; 1 when the settings or the database are not usable.
    """
    import time

    from sqlalchemy.exc import SQLAlchemyError

    from . import cases, outbox
    from .db import make_engine, session
    from .services import casework, chasing, matching, uploading  # matching loads Splink only when a job needs scoring

    settings = _settings()
    try:
        sender = outbox.sender_from_settings(settings)
    except RuntimeError as exc:
        raise click.ClickException(f"settings: {exc}") from exc
    engine = make_engine(settings.database_url)
    files = uploading.uploads_for(settings)
    gave_up = False
    try:
        while True:
            try:
                # Overdue cases first, so that their escalation messages go out in this same run.
                escalated = casework.escalate_overdue(
                    session_factory=lambda: session(engine),
                    urls=cases.CaseUrls(settings.base_url),
                    holidays=settings.holidays,
                )
                if escalated:
                    click.echo(f"escalated {escalated} overdue case{'s' if escalated != 1 else ''}")
                # Reminders, tomorrow's deadlines and the daily digests, before the sending below.
                chased = chasing.chase(
                    session_factory=lambda: session(engine),
                    secret_key=settings.secret_key,
                    urls=cases.CaseUrls(settings.base_url),
                )
                if chased.reminded or chased.warned or chased.digests:
                    click.echo(
                        f"reminded {chased.reminded} applicant{'s' if chased.reminded != 1 else ''}, "
                        f"warned {chased.warned} of a deadline tomorrow, wrote {chased.digests} daily "
                        f"digest{'s' if chased.digests != 1 else ''}"
                    )
                # Uploads whose virus scan could not run (clamd was down): scanned again.
                rescanned = uploading.rescan_waiting(
                    session_factory=lambda: session(engine), files=files, limit=settings.worker_batch_size
                )
                if rescanned.clean or rescanned.infected:
                    click.echo(
                        f"scanned {len(rescanned.clean) + len(rescanned.infected)} waiting upload(s): "
                        f"{len(rescanned.infected)} infected and deleted, {len(rescanned.waiting)} still waiting"
                    )
                # The bytes of files whose rows went while the storage refused to delete them.
                gone = uploading.delete_due(
                    session_factory=lambda: session(engine), files=files, limit=settings.worker_batch_size
                )
                if gone.deleted or gone.left:
                    click.echo(
                        f"deleted the stored bytes of {gone.deleted} removed file{'s' if gone.deleted != 1 else ''}"
                        f", {gone.left} to try again"
                    )
                result = outbox.run_once(lambda: session(engine), sender, limit=settings.worker_batch_size)
                with session(engine) as s:
                    matched = matching.run_jobs(s, limit=settings.worker_batch_size, settings=settings)
            except SQLAlchemyError as exc:
                if once:
                    raise click.ClickException(
                        f"database: {type(exc).__name__}: {str(exc).splitlines()[0][:300]} "
                        "(is CIVICFORMS_DATABASE_URL right, and has `civicforms db upgrade` run?)"
                    ) from exc
                click.echo(f"database error, trying again shortly: {type(exc).__name__}", err=True)
                time.sleep(settings.worker_interval_seconds)
                continue
            gave_up = gave_up or bool(result.failed) or bool(matched.failed)
            if result.handled or once:
                click.echo(
                    f"sent {result.sent}, to retry {result.retried}, failed for good {result.failed} "
                    f"(delivery: {settings.mail_backend})"
                )
            if matched.jobs or once:
                click.echo(
                    f"matched {matched.done} submission{'s' if matched.done != 1 else ''} "
                    f"({matched.joined} joined, {matched.suggested} for staff), to retry {matched.retried}, "
                    f"failed for good {matched.failed} in {matched.seconds:.2f} s"
                )
            if once:
                break
            if max(result.handled, matched.jobs) < settings.worker_batch_size:  # caught up: wait for more
                time.sleep(settings.worker_interval_seconds)
    except KeyboardInterrupt:
        click.echo("worker stopped", err=True)
    finally:
        engine.dispose()
    if gave_up:
        sys.exit(WORKER_GAVE_UP)


from .cli_citizens import citizens  # noqa: E402  (registered here, after main exists)
from .cli_release import load, plan, status  # noqa: E402

main.add_command(citizens)
main.add_command(load)
main.add_command(plan)
main.add_command(status)

from .cli_privacy import citizens_erase, citizens_export, retention  # noqa: E402  (registered here, after main exists)

main.add_command(retention)
citizens.add_command(citizens_erase)
citizens.add_command(citizens_export)

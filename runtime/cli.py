"""The ``civicforms`` command: checks for IT, database and definition loading, a dev server."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import definition as definitions
from .checker import check_file
from .settings import SettingsError, from_environment


def _settings():  # type: ignore[no-untyped-def]
    try:
        return from_environment()
    except SettingsError as exc:
        raise click.ClickException(f"settings: {exc}") from exc


@click.group()
def main() -> None:
    """Civic Forms: e-services for the public sector."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check definition files (default: form_definitions/); exit 1 on any problem.

    Each problem prints as ``file: json-path: message``.
    """
    targets = list(paths) or [Path("form_definitions")]
    missing = [p for p in targets if not p.exists()]
    for path in missing:
        click.echo(f"{path}: $: no such file or folder", err=True)
    files = definitions.definition_files([p for p in targets if p.exists()])
    if not files and not missing:
        click.echo("no definition files found", err=True)
        sys.exit(2)
    failed = bool(missing)
    for path in files:
        problems = check_file(path)
        for problem in problems:
            click.echo(problem.render(str(path)))
        failed = failed or bool(problems)
    if failed:
        sys.exit(1)
    click.echo(f"{len(files)} definition{'s' if len(files) != 1 else ''} OK", err=True)


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


@main.command()
@click.option("--folder", type=click.Path(path_type=Path), default=None, help="Default: form_definitions/.")
def load(folder: Path | None) -> None:
    """Publish every definition in the folder: new versions are added, same ones left alone."""
    from .db import make_engine, session
    from .store import PublishError, load_folder

    settings = _settings()
    folder = folder or settings.definitions_dir
    if not folder.is_dir():
        raise click.ClickException(f"{folder}: no such folder")
    engine = make_engine(settings.database_url)
    failed = False
    try:
        with session(engine) as s:
            for path, result in load_folder(session=s, folder=folder):
                if isinstance(result, PublishError):
                    failed = True
                    for problem in result.problems:
                        click.echo(problem.render(str(path)), err=True)
                else:
                    click.echo(f"{path}: {result.service_id} version {result.version} {result.outcome}")
    finally:
        engine.dispose()
    if failed:
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve every face of the product on one development server."""
    import os

    from werkzeug.serving import run_simple

    from .web.dev import create_dev_app

    os.environ.setdefault("CIVICFORMS_ENV", "development")
    app = create_dev_app()
    click.echo(f"Civic Forms on http://{host}:{port}/")
    run_simple(host, port, app, use_reloader=False, threaded=True)


@main.group()
def sessions() -> None:
    """Citizens' unsent answers."""


@sessions.command("purge")
def sessions_purge() -> None:
    """Delete unsent answers whose session has expired (run it from cron, e.g. hourly)."""
    from .db import make_engine, session
    from .store import delete_expired_form_sessions

    engine = make_engine(_settings().database_url)
    try:
        with session(engine) as s:
            count = delete_expired_form_sessions(session=s)
            s.commit()
    finally:
        engine.dispose()
    click.echo(f"deleted {count} expired session{'s' if count != 1 else ''}")


@main.group()
def citizens() -> None:
    """Citizen records (until the back office exists)."""


@citizens.command("show")
@click.argument("key")
def citizens_show(key: str) -> None:
    """List a citizen's submissions across every service, by record number or email."""
    from .db import make_engine, session
    from .store import citizen_identifiers, citizen_submissions, find_citizen

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with session(engine) as s:
            citizen = find_citizen(session=s, key=key.strip())
            if citizen is None or citizen.id is None:
                click.echo(f"no citizen record matches {key!r}", err=True)
                sys.exit(1)
            click.echo(f"Citizen {citizen.id} (record created {citizen.created_at:%Y-%m-%d %H:%M} UTC)")
            for ident in citizen_identifiers(session=s, citizen_id=citizen.id):
                if ident.kind != "name_dob_postcode":
                    click.echo(f"  {ident.kind}: {ident.value}")
            rows = citizen_submissions(session=s, citizen_id=citizen.id)
            click.echo(f"{len(rows)} submission{'s' if len(rows) != 1 else ''}:")
            for sub, service in rows:
                when = f"{sub.submitted_at:%Y-%m-%d %H:%M}"
                click.echo(f"  {sub.reference}  {when}  {service.title} (version {sub.service_version})")
    finally:
        engine.dispose()

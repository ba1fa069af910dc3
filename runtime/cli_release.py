"""``civicforms load``: make live what the definitions folder says (IT's release step).

Registered on the ``civicforms`` group by runtime/cli.py. Like every command, each imports what it
needs when it runs (tests/core/test_cli_startup.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_common import settings as _settings


def _moves(given: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``SERVICE:OLD=NEW`` options as {service: {old state: new state}}."""
    moves: dict[str, dict[str, str]] = {}
    for text in given:
        service, _, rest = text.partition(":")
        old, _, new = rest.partition("=")
        if not (service and old and new) or len(text) > 200:
            raise click.BadParameter(f"{text[:80]!r}: write SERVICE:OLD-STATE=NEW-STATE", param_hint="--move-cases")
        moves.setdefault(service, {})[old] = new
    return moves


@click.command()
@click.option("--folder", type=click.Path(path_type=Path), default=None, help="Default: form_definitions/.")
@click.option(
    "--move-cases",
    "move_cases",
    multiple=True,
    metavar="SERVICE:OLD=NEW",
    help="Where a service's open cases go when the new version removes the state they are in.",
)
@click.option(
    "--create-departments",
    is_flag=True,
    help="Make each department a file names that does not exist yet (a first deployment); else such a file fails.",
)
def load(folder: Path | None, move_cases: tuple[str, ...], create_departments: bool) -> None:
    """Publish every definition in the folder: new versions are added, same ones left alone.

    A file's `department` must name an existing department (it may move its service to another
    one); an unknown name fails that file unless --create-departments is given.
    """
    from .data.drafts import get_draft
    from .data.published import PublishError
    from .db import make_engine, session
    from .services.releasing import load_folder

    moves = _moves(move_cases)
    settings = _settings()
    folder = folder or settings.definitions_dir
    if not folder.is_dir():
        raise click.ClickException(f"{folder}: no such folder")
    engine = make_engine(settings.database_url)
    failed = False
    try:
        with session(engine) as s:
            results = load_folder(session=s, folder=folder, moves=moves, create_departments=create_departments)
            for path, result in results:
                if isinstance(result, PublishError):
                    failed = True
                    for problem in result.problems:
                        click.echo(problem.render(str(path)), err=True)
                else:
                    click.echo(f"{path}: {result.service_id} version {result.version} {result.outcome}")
                    if result.created_department:
                        click.echo(f"{path}: created the department {result.department!r}")
                    if result.moved_from is not None:
                        moved = f"moved from {result.moved_from!r} to {result.department!r}"
                        click.echo(f"{path}: {result.service_id} {moved}")
                    draft = get_draft(session=s, service_id=result.service_id)
                    if draft is not None and (draft.base_version or 0) < result.version:
                        # The builder's draft is left alone: the designer decides what to keep.
                        if draft.review_branch == f"service/{result.service_id}-v{result.version}":
                            based = f"sent for review as version {result.version}"
                        elif draft.base_version is not None:
                            based = f"based on version {draft.base_version}"
                        else:
                            based = "of a new service"
                        click.echo(
                            f"{result.service_id}: builder draft {based}; version {result.version} loaded "
                            "from the file; the draft was left as it is"
                        )
    finally:
        engine.dispose()
    if failed:
        sys.exit(1)

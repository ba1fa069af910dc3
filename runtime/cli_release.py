"""IT's release commands: ``civicforms plan``, ``load`` and ``status`` (docs/releasing.md).

``plan`` says what ``load`` would do to the live database, changing nothing; ``load`` makes the
same plan and applies all of it in one transaction or nothing; ``status`` reports where git and
live disagree. All three read the definitions folder, or the folder at a git ref (``--ref``).

Exit codes (stable; CI relies on them):

- ``plan``: 0 no changes, 2 changes to apply, 1 refused (a problem) or an error.
- ``load``: 0 applied (or nothing to apply), 1 refused or an error (nothing changed).
- ``status``: 0 git and live agree, 1 drift, 2 an error (a file or ref that cannot be read).

Registered on the ``civicforms`` group by runtime/cli.py. Like every command, each imports what it
needs when it runs (tests/core/test_cli_startup.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli_common import settings as _settings

if TYPE_CHECKING:
    from .services.releasing import Plan, ServicePlan

PLAN_NO_CHANGES, PLAN_REFUSED, PLAN_CHANGES = 0, 1, 2
STATUS_IN_SYNC, STATUS_DRIFT, STATUS_ERROR = 0, 1, 2


class _PlanCommand(click.Command):
    """``plan`` exits 2 for "changes to apply", so its usage errors (an unknown option, a bad
    --move-cases) exit 1, as its other errors do, never 2 (terraform's -detailed-exitcode)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            setattr(exc, "exit_code", PLAN_REFUSED)  # noqa: B010 - this error's, not the class's
            raise

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            setattr(exc, "exit_code", PLAN_REFUSED)  # noqa: B010
            raise


class _StatusError(click.ClickException):
    """A clear error (``Error: ...``) with status's exit code for errors."""

    exit_code = STATUS_ERROR


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


_folder_option = click.option(
    "--folder", type=click.Path(path_type=Path), default=None, help="Default: the settings' form_definitions/."
)
_ref_option = click.option(
    "--ref", default=None, metavar="REF", help="Read the folder at this git branch, tag or commit, not from disk."
)
_moves_option = click.option(
    "--move-cases",
    "move_cases",
    multiple=True,
    metavar="SERVICE:OLD=NEW",
    help="Where a service's open cases go when the new version removes the state they are in.",
)
_close_option = click.option(
    "--allow-close", is_flag=True, help="Close live services that have no file (else the release is refused)."
)
_departments_option = click.option(
    "--create-departments",
    is_flag=True,
    help="Make each department a file names that does not exist yet (a first deployment); else such a file fails.",
)


def _plan(
    session: Any,
    folder: Path,
    ref: str | None,
    moves: dict[str, dict[str, str]],
    allow_close: bool,
    create_departments: bool,
) -> Plan:
    from .services.releasing import plan_folder

    return plan_folder(
        session=session,
        folder=folder,
        ref=ref,
        moves=moves,
        allow_close=allow_close,
        create_departments=create_departments,
    )


def _run(work: Any) -> Any:
    """Run ``work(session, settings)`` against the live database; SourceError as a clear error."""
    from sqlalchemy.exc import SQLAlchemyError

    from .db import make_engine, session
    from .services.releasing import SourceError

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with session(engine) as s:
            return work(s, settings)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:  # nothing was changed: the transaction never committed
        first = str(exc).splitlines()[0][:300]
        raise click.ClickException(
            f"database: {type(exc).__name__}: {first} "
            "(is CIVICFORMS_DATABASE_URL right, and has `civicforms db upgrade` run?)"
        ) from exc
    finally:
        engine.dispose()


# -- plan -------------------------------------------------------------------------------------------


@click.command(cls=_PlanCommand)
@_folder_option
@_ref_option
@_moves_option
@_close_option
@_departments_option
@click.option("--json", "as_json", is_flag=True, help="The plan as JSON (docs/releasing.md), same as --format json.")
@click.option(
    "--format", "format_", type=click.Choice(["text", "json", "markdown"]), default="text", help="Output format."
)
def plan(
    folder: Path | None,
    ref: str | None,
    move_cases: tuple[str, ...],
    allow_close: bool,
    create_departments: bool,
    as_json: bool,
    format_: str,
) -> None:
    """Say what `civicforms load` would do to the live database, changing nothing.

    Per service: the version that would go live (or unchanged, rolled back, closed), the changes
    in plain words, open cases a removed state would strand and where they would go, citizens
    part way through a form of the old version, and every problem that would refuse the release.

    Exit 0: no changes; 2: changes to apply; 1: refused, or an error.
    """
    moves = _moves(move_cases)

    def work(s: Any, settings: Any) -> Plan:
        return _plan(s, folder or settings.definitions_dir, ref, moves, allow_close, create_departments)

    made: Plan = _run(work)  # an error exits 1 (PLAN_REFUSED), as click's errors do
    format_ = "json" if as_json else format_
    if format_ == "json":
        click.echo(json.dumps(made.as_json(), indent=2, ensure_ascii=False))
    elif format_ == "markdown":
        click.echo(plan_markdown(made))
    else:
        click.echo(plan_text(made))
        for file, problem in made.problems:
            click.echo(problem.render(file), err=True)
    sys.exit(PLAN_REFUSED if made.refused else PLAN_CHANGES if made.changes else PLAN_NO_CHANGES)


def _headline(s: ServicePlan) -> str:
    if s.action == "new":
        return f"new service, version {s.version}"
    if s.action == "publish":
        return f"version {s.live_version} -> version {s.version}"
    if s.action == "rollback":
        return (
            f"version {s.live_version} -> version {s.version}, rolled back to the content of version {s.rolled_back_to}"
        )
    if s.action == "close":
        return f"closed (version {s.live_version} stays as it is; no file in the folder)"
    if s.action == "reopen":
        return f"reopened at version {s.version}"
    if s.action == "unchanged":
        return f"unchanged (version {s.version})"
    if s.live_version is None:
        return f"REFUSED (new service, version {s.version})"
    return f"REFUSED (live: version {s.live_version})"


def _details(s: ServicePlan) -> list[str]:
    lines = list(s.summary)
    if s.create_department:
        lines.append(f'Creates the department "{s.department}"')
    if s.moved_from is not None:
        lines.append(f'Moves from the department "{s.moved_from}" to "{s.department}"')
    for group in s.stranded:
        many = group.count != 1
        cases = f'{group.count} open case{"s" if many else ""} in the state "{group.state}"'
        if group.move_to is not None and not any(p.path == "$.workflow.states" for p in s.problems):
            lines.append(f'{cases} move{"" if many else "s"} to "{group.move_to}" ({", ".join(group.references)})')
        else:
            lines.append(f"{cases} would be stranded, which refuses the release ({', '.join(group.references)})")
    if s.action == "close" and s.open_cases:
        lines.append(f"{s.open_cases} open case{'s carry' if s.open_cases != 1 else ' carries'} on")
    if s.mid_journey and s.action in ("publish", "rollback", "close", "refused"):
        who = f"{s.mid_journey} citizen{'s are' if s.mid_journey != 1 else ' is'}"
        lines.append(f"{who} part way through a form of version {s.live_version}; they finish on it")
    return lines


def plan_text(made: Plan) -> str:
    """The plan as IT reads it in a terminal."""
    out = [f"Plan for {made.source.label} against the live database:", ""]
    quiet = []
    for s in made.services:
        if s.action == "unchanged":
            quiet.append(s.service_id)
            continue
        out.append(f"{s.service_id}: {_headline(s)}" + (f"  [{s.file}]" if s.file else ""))
        out.extend(f"  - {line}" for line in _details(s))
        out.extend(f"  ! {p.path}: {p.message}" for p in s.problems)
    if quiet:
        out.append(f"Unchanged: {', '.join(quiet)}")
    out.append("")
    out.append(_verdict(made))
    return "\n".join(out)


def _verdict(made: Plan) -> str:
    counts: dict[str, int] = {}
    for s in made.services:
        counts[s.action] = counts.get(s.action, 0) + 1
    words = {
        "new": "new",
        "publish": "to publish",
        "rollback": "to roll back",
        "reopen": "to reopen",
        "close": "to close",
        "unchanged": "unchanged",
        "refused": "refused",
    }
    parts = [f"{counts[a]} {w}" for a, w in words.items() if counts.get(a)]
    if made.refused:
        n = len(made.problems)
        return (
            f"Refused: {n} problem{'s' if n != 1 else ''}; nothing would go live. ({', '.join(parts) or 'no services'})"
        )
    if not made.changes:
        return f"No changes: live equals the folder. ({', '.join(parts) or 'no services'})"
    return f"Plan: {', '.join(parts)}."


def _md(text: str) -> str:
    """Text in a Markdown table cell or list item, not read as Markdown or HTML."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for c in "<>*_`[]#":
        out = out.replace(c, "\\" + c)
    return out


def plan_markdown(made: Plan) -> str:
    """The plan for a CI job's summary ($GITHUB_STEP_SUMMARY, a GitLab merge request report)."""
    icon = "❌ Refused" if made.refused else "✅ No changes" if not made.changes else "📝 Changes to apply"
    out = [f"## civicforms plan: {icon}", "", f"Source: `{made.source.label}`", ""]
    out.append(_md(_verdict(made)))
    out.append("")
    shown = [s for s in made.services if s.action != "unchanged"]
    if shown:
        out += ["| Service | Action | File |", "| --- | --- | --- |"]
        for s in shown:
            out.append(f"| {_md(s.service_id)} | {_md(_headline(s))} | {_md(s.file or '(none)')} |")
        out.append("")
        for s in shown:
            lines = _details(s)
            if not lines and not s.problems:
                continue
            out.append(f"### {_md(s.service_id)}")
            out.extend(f"- {_md(line)}" for line in lines)
            out.extend(f"- ❌ `{p.path}`: {_md(p.message)}" for p in s.problems)
            out.append("")
    file_problems = made.file_problems
    if file_problems:
        out.append("### Files that cannot be read")
        out.extend(f"- ❌ {_md(f)} `{p.path}`: {_md(p.message)}" for f, p in file_problems)
        out.append("")
    unchanged = [s.service_id for s in made.services if s.action == "unchanged"]
    if unchanged:
        out.append(f"Unchanged: {_md(', '.join(unchanged))}")
    return "\n".join(out)


# -- load -------------------------------------------------------------------------------------------


@click.command()
@_folder_option
@_ref_option
@_moves_option
@_close_option
@_departments_option
@click.option("--json", "as_json", is_flag=True, help="What was done as JSON (the plan's format, with applied).")
def load(
    folder: Path | None,
    ref: str | None,
    move_cases: tuple[str, ...],
    allow_close: bool,
    create_departments: bool,
    as_json: bool,
) -> None:
    """Make live exactly what the folder says: all of it in one transaction, or nothing.

    A newer file is published; an older one (a git revert) goes live as a new version with its
    content; a live service with no file is closed with --allow-close (else nothing is loaded).
    Every problem of every file prints as `file: json-path: message` and nothing goes live (exit 1).
    A file's `department` must name an existing department (it may move its service to another
    one) unless --create-departments is given. Run `civicforms plan` first to see what this does.
    """
    from .data.drafts import get_draft
    from .services.releasing import ReleaseRefused, release

    moves = _moves(move_cases)

    def work(s: Any, settings: Any) -> Plan:
        try:
            made = release(
                session=s,
                folder=folder or settings.definitions_dir,
                ref=ref,
                moves=moves,
                allow_close=allow_close,
                create_departments=create_departments,
            )
        except ReleaseRefused as exc:
            made = exc.plan
        if made.applied and not as_json:
            _print_loaded(made)
            for sp in made.changes:
                _draft_notice(get_draft(session=s, service_id=sp.service_id), sp)
        return made

    made: Plan = _run(work)
    if as_json:
        click.echo(json.dumps(made.as_json(), indent=2, ensure_ascii=False))
    if not made.applied:
        for file, problem in made.problems:
            click.echo(problem.render(file), err=True)
        n = len(made.problems)
        click.echo(f"nothing was loaded: {n} problem{'s' if n != 1 else ''}", err=True)
        sys.exit(1)


def _print_loaded(made: Plan) -> None:
    for s in made.services:
        where = s.file or str(made.source.folder)
        if s.action == "close":
            click.echo(f"{s.service_id}: closed (no file in {made.source.folder}); version {s.live_version} kept")
            continue
        outcome = {
            "new": "published",
            "publish": "published",
            "unchanged": "unchanged",
            "reopen": "reopened",
            "rollback": f"published (rolled back to the content of version {s.rolled_back_to})",
        }[s.action]
        click.echo(f"{where}: {s.service_id} version {s.version} {outcome}")
        if s.create_department:
            click.echo(f"{where}: created the department {s.department!r}")
        if s.moved_from is not None:
            click.echo(f"{where}: {s.service_id} moved from {s.moved_from!r} to {s.department!r}")


def _draft_notice(draft: Any, s: ServicePlan) -> None:
    """What became of the builder's draft: settled (its changes are live), or asked to update."""
    if s.settled_draft:
        click.echo(f"{s.service_id}: the builder's draft held only what is now live, so it was closed")
        return
    if draft is None or s.version is None or s.action == "close":
        return
    click.echo(
        f"{s.service_id}: a builder draft has changes not in version {s.version}; its designer will be asked to "
        f"update it with version {s.version} (changes to other parts merge, clashes are shown side by side) "
        "before it can be published"
    )


# -- status -----------------------------------------------------------------------------------------


@click.command()
@_folder_option
@_ref_option
@click.option("--json", "as_json", is_flag=True, help="The drift as JSON (docs/releasing.md).")
def status(folder: Path | None, ref: str | None, as_json: bool) -> None:
    """Report where the folder (or --ref) and the live database disagree, in either direction.

    Exit 0: in sync; 1: drift; 2: an error (a file or ref that cannot be read).
    """
    from .services.releasing import drift

    def work(s: Any, settings: Any) -> Plan:
        return _plan(s, folder or settings.definitions_dir, ref, {}, True, False)

    try:
        made: Plan = _run(work)
    except click.ClickException as exc:
        raise _StatusError(exc.message) from exc
    found = drift(made)
    errors = made.file_problems
    if as_json:
        click.echo(
            json.dumps(
                {
                    "format": "civicforms-status/1",
                    "source": {"folder": str(made.source.folder), "ref": made.source.ref, "commit": made.source.commit},
                    "in_sync": not found and not errors,
                    "drift": [
                        {
                            "service": s.service_id,
                            "file": s.file,
                            "kind": s.state,
                            "file_version": s.rolled_back_to or (s.version if s.file else None),
                            "live_version": s.live_version,
                            "message": words,
                        }
                        for s, words in found
                    ],
                    "errors": [{"file": f, "path": p.path, "message": p.message} for f, p in errors],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for s, words in found:
            click.echo(f"{s.service_id}: {words}" + (f"  [{s.file}]" if s.file else ""))
        for file, problem in errors:
            click.echo(problem.render(file), err=True)
        if not found and not errors:
            click.echo(f"in sync: live equals {made.source.label} ({len(made.services)} services)")
    sys.exit(STATUS_ERROR if errors else STATUS_DRIFT if found else STATUS_IN_SYNC)

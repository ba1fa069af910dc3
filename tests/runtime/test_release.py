"""Issue 15, findings 4 and 5: live equals git (``load``, rollback by ``git revert``, closing,
``status``) and ``civicforms plan``, as IT runs them: exit codes, printed text, JSON, stored rows."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlmodel import col, select

from runtime import db as dbmod
from runtime.cli import main
from runtime.data import published
from runtime.definition import dumps, read_file
from runtime.models import Case, Service, ServiceVersion
from tests.builder.test_publishing import git, isolated_git, make_repo  # noqa: F401 - isolated_git is a fixture
from tests.conftest import DEFINITIONS, Citizen
from tests.runtime.helpers import walk

SERVICE = "missed-bin-collection"


def run(*args: str, url: str) -> Result:
    env = {"CIVICFORMS_DATABASE_URL": url, "CIVICFORMS_SECRET_KEY": "r" * 40, "CIVICFORMS_ENV": "test"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """IT's repository: the shipped definitions (as live in the test database), committed."""
    top = make_repo(tmp_path / "council")
    shutil.copytree(DEFINITIONS, top / "form_definitions")
    git(top, "add", "form_definitions")
    git(top, "commit", "--quiet", "-m", "The shipped services")
    return top


def shipped(version_change: int = 1, **changes: Any) -> dict[str, Any]:
    doc = read_file(DEFINITIONS / f"{SERVICE}.json")
    doc = copy.deepcopy(doc) | changes
    doc["version"] += version_change
    return doc


def commit(repo: Path, doc: dict[str, Any], message: str) -> str:
    (repo / "form_definitions" / f"{doc['id']}.json").write_text(dumps(doc), encoding="utf-8")
    git(repo, "commit", "--quiet", "-am", message)
    return git(repo, "rev-parse", "HEAD")


def versions(url: str) -> list[ServiceVersion]:
    engine = dbmod.make_engine(url)
    with dbmod.session(engine) as s:
        rows = list(s.exec(select(ServiceVersion).where(ServiceVersion.service_id == SERVICE)))
        s.expunge_all()
    engine.dispose()
    return sorted(rows, key=lambda v: v.version)


def service(url: str, service_id: str = SERVICE) -> Service:
    engine = dbmod.make_engine(url)
    with dbmod.session(engine) as s:
        found = s.get(Service, service_id)
        assert found is not None
        s.expunge(found)
    engine.dispose()
    return found


# -- live equals git: a revert -------------------------------------------------------------------


def test_a_git_revert_then_load_puts_the_old_content_live_as_a_new_version(repo: Path, database_url: str) -> None:
    folder = str(repo / "form_definitions")
    v1 = versions(database_url)[-1].version
    reworded = shipped(description="Tell us when we missed your bin.")
    changed_at = commit(repo, reworded, "Reword the description")
    result = run("load", "--folder", folder, url=database_url)
    assert result.exit_code == 0, result.output
    assert f"{SERVICE} version {v1 + 1} published" in result.stdout
    git(repo, "revert", "--no-edit", "HEAD")
    reverted_at = git(repo, "rev-parse", "HEAD")

    # Before: loading an older file printed "unchanged", exited 0 and left the newer version live.
    planned = run("plan", "--folder", folder, url=database_url)
    assert planned.exit_code == 2, planned.output
    assert (
        f"{SERVICE}: version {v1 + 1} -> version {v1 + 2}, rolled back to the content of version {v1}" in planned.stdout
    )
    assert versions(database_url)[-1].version == v1 + 1  # plan changed nothing

    result = run("load", "--folder", folder, url=database_url)
    assert result.exit_code == 0, result.output
    assert (
        f"{folder}/{SERVICE}.json: {SERVICE} version {v1 + 2} published (rolled back to the content of version {v1})"
        in result.stdout.splitlines()
    )
    rows = versions(database_url)
    assert [v.version for v in rows][-3:] == [v1, v1 + 1, v1 + 2]
    newest = rows[-1]
    assert newest.definition == read_file(DEFINITIONS / f"{SERVICE}.json") | {"version": v1 + 2}
    assert newest.change_summary is not None
    assert newest.change_summary[0] == f"Rolled back to the content of version {v1} (from git)"
    assert any("description" in line for line in newest.change_summary[1:])
    assert newest.source_commit == reverted_at and newest.source_path == f"form_definitions/{SERVICE}.json"
    assert rows[-2].source_commit == changed_at and rows[-2].change_summary
    assert service(database_url).current_version == v1 + 2

    # Now git and live agree: load again is "unchanged", and status is in sync.
    again = run("load", "--folder", folder, url=database_url)
    assert again.exit_code == 0 and f"{SERVICE} version {v1 + 2} unchanged" in again.stdout
    status = run("status", "--folder", folder, url=database_url)
    assert status.exit_code == 0, status.output
    assert status.stdout.startswith("in sync: live equals ")
    plan = run("plan", "--folder", folder, url=database_url)
    assert plan.exit_code == 0 and "No changes: live equals the folder." in plan.stdout

    # The builder's history names the commit and shows the summary.
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        history = published.service_versions(session=s, service_id=SERVICE)
    engine.dispose()
    assert history[0].short_commit == reverted_at[:7] and history[0].change_summary == newest.change_summary


def test_reusing_a_published_version_number_with_other_content_is_still_refused(repo: Path, database_url: str) -> None:
    folder = str(repo / "form_definitions")
    live = versions(database_url)[-1].version
    commit(repo, shipped(version_change=0, title="Report a bin we missed"), "Edit without a bump")
    result = run("load", "--folder", folder, url=database_url)
    assert result.exit_code == 1
    assert f"{folder}/{SERVICE}.json: $.version: version {live} of {SERVICE} is already published" in result.stderr
    assert result.stderr.splitlines()[-1] == "nothing was loaded: 1 problem"
    assert versions(database_url)[-1].version == live


# -- closing ---------------------------------------------------------------------------------------


def test_a_missing_file_closes_the_service_only_with_allow_close(
    repo: Path, database_url: str, app: Flask, citizen: Citizen
) -> None:
    walk(citizen, SERVICE)
    assert citizen.submit(SERVICE).status_code == 303  # an open case
    folder = str(repo / "form_definitions")
    git(repo, "rm", "--quiet", f"form_definitions/{SERVICE}.json")
    git(repo, "commit", "--quiet", "-m", "Retire the missed bin service")

    refused = run("load", "--folder", folder, url=database_url)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[0] == (
        f"{SERVICE}: $: the live service {SERVICE} has no file in {folder}: restore its file, or run with "
        "--allow-close to close it (1 open cases carry on)"
    )
    assert service(database_url).live

    plan = run("plan", "--folder", folder, "--allow-close", "--json", url=database_url)
    assert plan.exit_code == 2, plan.output
    closing = [s for s in json.loads(plan.stdout)["services"] if s["action"] == "close"]
    assert closing == [
        {
            "service": SERVICE,
            "file": None,
            "action": "close",
            "live_version": service(database_url).current_version,
            "version": service(database_url).current_version,
            "rolled_back_to": None,
            "summary": ["Closed: the service has no file in the folder; citizens can no longer start it"],
            "department": None,
            "moved_from": None,
            "create_department": False,
            "stranded_cases": [],
            "open_cases": 1,
            "citizens_mid_journey": 0,
            "source_commit": None,
            "problems": [],
        }
    ]

    closed = run("load", "--folder", folder, "--allow-close", url=database_url)
    assert closed.exit_code == 0, closed.output
    assert f"{SERVICE}: closed (no file in {folder}); version" in closed.stdout
    assert not service(database_url).live
    assert citizen.client.get(f"/services/{SERVICE}/").status_code == 404  # nobody can start it
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        assert s.exec(select(Case).where(col(Case.closed_at).is_(None))).one()  # the open case carries on
    engine.dispose()
    assert run("status", "--folder", folder, url=database_url).exit_code == 0

    git(repo, "revert", "--no-edit", "HEAD")  # the file is back: status says so, load reopens
    status = run("status", "--folder", folder, url=database_url)
    assert status.exit_code == 1
    assert f"{SERVICE}: closed, but has a file" in status.stdout
    reopened = run("load", "--folder", folder, url=database_url)
    assert reopened.exit_code == 0 and f"{SERVICE} version" in reopened.stdout and "reopened" in reopened.stdout
    assert service(database_url).live


# -- plan ------------------------------------------------------------------------------------------


NEW_STEPS = {
    "initial": "checking",
    "states": {
        "checking": {"label": "Checking", "citizen_text": "We are checking your report"},
        "done": {"label": "Done", "final": True, "citizen_text": "We have sorted it out"},
    },
    "transitions": [
        {"from": "checking", "action": "close", "label": "Close", "to": "done", "roles": ["caseworker"]},
    ],
}


def test_plan_of_a_release_that_strands_cases(repo: Path, database_url: str, app: Flask, citizen: Citizen) -> None:
    walk(citizen, SERVICE)
    assert citizen.submit(SERVICE).status_code == 303
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        reference = s.exec(select(Case.reference)).one()
    engine.dispose()
    walk(Citizen(app.test_client()), SERVICE)  # a second citizen, part way through
    live = versions(database_url)[-1].version
    folder = str(repo / "form_definitions")
    commit(repo, shipped(workflow=NEW_STEPS), "New approval steps")

    text = run("plan", "--folder", folder, url=database_url)
    assert text.exit_code == 1, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == f"Plan for {folder} against the live database:"
    assert f"{SERVICE}: REFUSED (live: version {live})  [{folder}/{SERVICE}.json]" in lines
    assert (
        f'  - 1 open case in the state "received" would be stranded, which refuses the release ({reference})' in lines
    )
    assert f"  - 1 citizen is part way through a form of version {live}; they finish on it" in lines
    assert lines[-1].startswith("Refused: 1 problem; nothing would go live.")
    assert text.stderr == (
        f'{folder}/{SERVICE}.json: $.workflow.states: 1 open case is in the state "received", which version '
        f"{live + 1} removes ({reference}): keep the state, or choose the state it moves to "
        f"(--move-cases {SERVICE}:received=STATE)\n"
    )

    moved = run("plan", "--folder", folder, "--move-cases", f"{SERVICE}:received=checking", "--json", url=database_url)
    assert moved.exit_code == 2, moved.output
    report = json.loads(moved.stdout)
    assert report["format"] == "civicforms-plan/1" and report["result"] == "changes" and not report["applied"]
    assert report["problems"] == []
    (planned,) = [s for s in report["services"] if s["service"] == SERVICE]
    assert planned["action"] == "publish"
    assert (planned["live_version"], planned["version"]) == (live, live + 1)
    assert planned["stranded_cases"] == [
        {"state": "received", "count": 1, "references": [reference], "move_to": "checking"}
    ]
    assert planned["citizens_mid_journey"] == 1
    assert planned["summary"] and planned["source_commit"] == git(repo, "rev-parse", "HEAD")
    assert {s["action"] for s in report["services"] if s["service"] != SERVICE} == {"unchanged"}

    markdown = run("plan", "--folder", folder, "--format", "markdown", url=database_url)
    assert markdown.exit_code == 1
    assert markdown.stdout.startswith("## civicforms plan: ❌ Refused")
    assert "would be stranded" in markdown.stdout

    nowhere = run("plan", "--folder", folder, "--move-cases", f"{SERVICE}:received=lost", url=database_url)
    assert nowhere.exit_code == 1 and 'has no state "lost"' in nowhere.stderr
    assert versions(database_url)[-1].version == live  # no plan changed anything

    done = run("load", "--folder", folder, "--move-cases", f"{SERVICE}:received=checking", url=database_url)
    assert done.exit_code == 0, done.output
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        assert s.exec(select(Case.state)).one() == "checking"
    engine.dispose()


def test_plan_at_a_git_ref_and_status_drift_both_ways(repo: Path, database_url: str) -> None:
    folder = str(repo / "form_definitions")
    live = versions(database_url)[-1].version
    assert run("status", "--folder", folder, url=database_url).exit_code == 0
    commit(repo, shipped(title="Report a bin we missed"), "Retitle")

    # The file is newer than live (not loaded yet).
    status = run("status", "--folder", folder, url=database_url)
    assert status.exit_code == 1
    assert status.stdout == (
        f"{SERVICE}: the file has version {live + 1}, live has {live}: not loaded yet  [{folder}/{SERVICE}.json]\n"
    )
    at_main = run("plan", "--folder", folder, "--ref", "main", url=database_url)
    assert at_main.exit_code == 2 and f"{SERVICE}: version {live} -> version {live + 1}" in at_main.stdout
    at_parent = run("plan", "--folder", folder, "--ref", "HEAD~1", url=database_url)
    assert at_parent.exit_code == 0, at_parent.output
    assert run("status", "--folder", folder, "--ref", "HEAD~1", url=database_url).exit_code == 0

    # Live is newer than the file: published from the builder, never in git.
    git(repo, "revert", "--no-edit", "HEAD")
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        published.publish(session=s, doc=shipped(description="Published in the builder only."))
        s.commit()
    engine.dispose()
    status = run("status", "--folder", folder, "--json", url=database_url)
    assert status.exit_code == 1
    report = json.loads(status.stdout)
    assert report["in_sync"] is False and report["errors"] == []
    assert report["drift"] == [
        {
            "service": SERVICE,
            "file": f"{folder}/{SERVICE}.json",
            "kind": "live-newer",
            "file_version": live,
            "live_version": live + 1,
            "message": (
                f"live has version {live + 1}, published from the builder and not in git; the file has version {live}"
            ),
        }
    ]


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["nope", "--upload-pack=x", "main..HEAD", ""])
def test_a_wrong_ref_is_one_clear_message(repo: Path, database_url: str, ref: str) -> None:
    folder = str(repo / "form_definitions")
    before = versions(database_url)
    for command, code in (("plan", 1), ("load", 1), ("status", 2)):
        result = run(command, "--folder", folder, "--ref", ref, url=database_url)
        assert result.exit_code == code, (command, result.output)
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("Error: ") and repr(ref)[1:-1][:20] in line, line
        assert "Traceback" not in result.output
    assert versions(database_url) == before


def test_a_malformed_file_and_an_unknown_department_name_the_file(repo: Path, database_url: str) -> None:
    folder = repo / "form_definitions"
    (folder / "broken.json").write_text('{"id": "broken",', encoding="utf-8")
    elsewhere = shipped(id="pothole", title="Report a pothole", department="Highways", reference_prefix="POT")
    (folder / "pothole.json").write_text(dumps(elsewhere), encoding="utf-8")
    for command in ("plan", "load"):
        result = run(command, "--folder", str(folder), url=database_url)
        assert result.exit_code == 1, result.output
        problems = [line for line in result.stderr.splitlines() if not line.startswith("nothing was loaded")]
        assert problems[0].startswith(f"{folder}/broken.json: $: not valid JSON")
        assert problems[1].startswith(f'{folder}/pothole.json: $.department: there is no department called "Highways"')
        assert len(problems) == 2
    status = run("status", "--folder", str(folder), url=database_url)
    assert status.exit_code == 2 and f"{folder}/broken.json: $: not valid JSON" in status.stderr
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        assert s.get(Service, "pothole") is None
    engine.dispose()


def test_a_reference_prefix_of_another_live_service_is_refused(repo: Path, database_url: str) -> None:
    folder = repo / "form_definitions"
    other = next(p for p in sorted(folder.glob("*.json")) if p.stem != SERVICE)
    prefix = read_file(other)["reference_prefix"]
    (folder / other.name).unlink()  # the other service stays live in the database (and is refused: no file)
    commit(repo, shipped(reference_prefix=prefix), "Same prefix")
    result = run("plan", "--folder", str(folder), "--allow-close", url=database_url)
    assert result.exit_code == 2  # closing the other frees nothing: it is not live after the release ...
    result = run("plan", "--folder", str(folder), url=database_url)
    assert result.exit_code == 1
    assert f'{folder}/{SERVICE}.json: $.reference_prefix: reference prefix "{prefix}" is also used by the live ' in (
        result.stderr
    )


def test_a_database_that_was_never_migrated_is_one_clear_message(repo: Path, tmp_path: Path) -> None:
    """An empty database (``civicforms db upgrade`` not run): a message saying so, no traceback."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    folder = str(repo / "form_definitions")
    for command, code in (("plan", 1), ("load", 1), ("status", 2)):  # status: 2 is its "error"
        result = run(command, "--folder", folder, url=url)
        assert result.exit_code == code, (command, result.output)
        (line,) = result.stderr.splitlines()
        assert line.startswith("Error: database: OperationalError: ") and "civicforms db upgrade" in line, line
        assert "Traceback" not in result.output


# -- planning costs a fixed number of queries, and checks only what changed -------------------------


def copies(repo: Path, n: int) -> list[dict[str, Any]]:
    """``n`` more services in the folder (copies of the shipped one, each its own id and prefix), committed."""
    docs = [
        shipped(version_change=0, id=f"{SERVICE}-copy-{i}", reference_prefix=f"CP{chr(ord('A') + i)}") for i in range(n)
    ]
    for doc in docs:
        (repo / "form_definitions" / f"{doc['id']}.json").write_text(dumps(doc), encoding="utf-8")
    git(repo, "add", "form_definitions")
    git(repo, "commit", "--quiet", "-m", f"{n} more services")
    return docs


def planned(url: str, folder: Path, ref: str | None = None) -> tuple[Any, list[str]]:
    """An in-process plan of ``folder`` and the SQL statements it sent."""
    from sqlalchemy import event

    from runtime.services import releasing

    engine = dbmod.make_engine(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    source, files = releasing.read_source(folder, ref)
    with dbmod.session(engine) as s:
        made = releasing.plan_release(session=s, source=source, files=files)
    engine.dispose()
    return made, statements


def test_a_plan_sends_the_same_number_of_queries_for_2_and_6_changed_services(repo: Path, database_url: str) -> None:
    from runtime.services import releasing

    folder = repo / "form_definitions"
    docs = copies(repo, 6)
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        assert releasing.release(session=s, folder=folder).applied
    engine.dispose()
    nothing, idle = planned(database_url, folder)
    assert nothing.changes == [] and not nothing.refused

    counts = {}
    for n in (2, 6):
        for doc in docs[:n]:
            bumped = {**doc, "title": f"{doc['title']} ({n})", "version": doc["version"] + 1}
            (folder / f"{doc['id']}.json").write_text(dumps(bumped), encoding="utf-8")
        made, statements = planned(database_url, folder)
        assert [s.action for s in made.changes] == ["publish"] * n and not made.refused
        counts[n] = len(statements)
    # Before: 5 statements more per changed service (its version hashes, its newest version, its
    # department, its stranded cases, its citizens part way through a form).
    assert counts[2] == counts[6] <= len(idle) + 2, (counts, len(idle))


def test_a_file_that_is_the_live_version_is_not_checked_again(
    repo: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker, the slow part of a plan, runs on the files that change and no others; the
    cheap checks (the id its file name) still run on every file."""
    from runtime import checker
    from runtime.problems import Problem

    checked: list[str] = []

    def stricter(doc: dict[str, Any]) -> list[Problem]:  # as if the checker had a new rule since
        checked.append(doc["id"])
        return [Problem("$.title", "refused by a stricter checker")]

    monkeypatch.setattr(checker, "check", stricter)
    folder = repo / "form_definitions"
    for ref in (None, "HEAD"):
        made, _ = planned(database_url, folder, ref)
        assert checked == [] and made.changes == [] and not made.refused
        assert {s.action for s in made.services} == {"unchanged"}

    commit(repo, shipped(description="Tell us when we missed your bin."), "Reword the description")
    for ref in (None, "HEAD"):
        made, _ = planned(database_url, folder, ref)
        assert checked == [SERVICE]
        assert (f"{SERVICE}.json", "$.title", "refused by a stricter checker") in [
            (Path(f).name, p.path, p.message) for f, p in made.problems
        ]
        checked.clear()
    result = run("load", "--folder", str(folder), url=database_url)
    assert result.exit_code == 1 and "refused by a stricter checker" in result.stderr

    # A live file under another file name is still told its id must match it.
    shutil.copy(folder / "blue-badge.json", folder / "blue-badge-copy.json")
    made, _ = planned(database_url, folder)
    assert ("$.id", '"blue-badge" must match the file name "blue-badge-copy"') in [
        (p.path, p.message) for _, p in made.problems
    ]

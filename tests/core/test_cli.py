"""The ``civicforms`` command as IT runs it: exit codes and ``file: path: message`` lines."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlmodel import select

from runtime import db as dbmod
from runtime import versions as published_versions
from runtime.cli import main
from runtime.data import form_sessions
from runtime.definition import content_hash, dumps, read_file
from runtime.models import ServiceVersion
from tests.conftest import DEFINITIONS, SERVICE_IDS
from tests.core.sample import sample_doc

SECRET = "k" * 40


def run(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def db_env(url: str) -> dict[str, str | None]:
    return {"CIVICFORMS_DATABASE_URL": url, "CIVICFORMS_SECRET_KEY": SECRET, "CIVICFORMS_ENV": "test"}


def write(folder: Path, doc: Any, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or doc['id']}.json"
    path.write_text(dumps(doc) if isinstance(doc, dict) else doc, encoding="utf-8")
    return path


def shipped(folder: Path) -> Path:
    """A definitions folder with the shipped definitions in it, as the database has them: ``load``
    makes live exactly what a folder says, so a folder without them would close them."""
    shutil.copytree(DEFINITIONS, folder, dirs_exist_ok=True)
    return folder


def mine(result: Result) -> str:
    """``load``'s output without the shipped definitions' "unchanged" lines."""
    return "".join(
        line
        for line in result.stdout.splitlines(keepends=True)
        if not (line.endswith(" unchanged\n") and any(f"/{sid}.json: {sid} version" in line for sid in SERVICE_IDS))
    )


# -- validate ----------------------------------------------------------------------------------


def test_validate_the_shipped_folder() -> None:
    result = run("validate", str(DEFINITIONS))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert re.fullmatch(r"\d+ definitions OK\n", result.stderr)


def test_validate_a_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, sample_doc())
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr == "1 definition OK\n"


def test_validate_a_broken_file_prints_file_path_and_message(tmp_path: Path) -> None:
    doc = sample_doc()
    doc["pages"][7]["questions"].append("nhs_numbr")
    doc["schema"]["properties"]["notes"].pop("maxLength")
    path = write(tmp_path, doc)
    good = write(tmp_path, sample_doc() | {"id": "another-licence"})
    result = run("validate", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f'{path}: $.pages[7].questions[3]: "nhs_numbr" is not a property of the schema',
        f'{path}: $.schema.properties.notes: free text "notes" needs a "maxLength"',
    ]
    assert str(good) not in result.output
    assert "OK" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "civicforms/1", "id": ', "$: not valid JSON: Expecting value (line 1, column 34)"),
        ("", "$: not valid JSON"),
        ("[1, 2, 3]", "$: a definition must be a JSON object"),
        ("[" * 50_000 + "]" * 50_000, "$: nested more than"),
    ],
    ids=["invalid JSON", "empty", "array", "deeply nested"],
)
def test_validate_an_unreadable_file(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, content, name="pet-licence")
    result = run("validate", str(path))
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{path}: {message}")


def test_validate_a_huge_file_quickly(tmp_path: Path) -> None:
    doc = sample_doc()
    doc["start"]["body"] = ["A paragraph of text that is not very long at all."] * 100_000
    path = write(tmp_path, json.dumps(doc), name="pet-licence")
    assert path.stat().st_size > 5_000_000
    started = time.thread_time()  # CPU: the same on a loaded machine
    result = run("validate", str(path))
    assert time.thread_time() - started < 2
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{path}: $: file is too large")


def test_validate_a_file_with_a_huge_value_prints_a_short_line(tmp_path: Path) -> None:
    doc = sample_doc()
    doc["title"] = "x" * 400_000
    path = write(tmp_path, doc)
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == f"{path}: $.title: must be 2000 characters or less\n"


def test_html_in_labels_is_just_text_to_validate(tmp_path: Path) -> None:
    doc = sample_doc()
    doc["title"] = "<script>alert('x')</script> Apply"
    doc["questions"]["full_name"]["label"] = '<img src=x onerror="alert(1)"> Name?'
    doc["confirmation"]["next_steps"] = ["</html>\u0000\u202e"]
    path = write(tmp_path, doc)
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output


def test_validate_a_file_named_differently_from_its_id(tmp_path: Path) -> None:
    path = write(tmp_path, sample_doc(), name="pets")
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert result.stdout == f'{path}: $.id: "pet-licence" must match the file name "pets"\n'


def test_validate_a_path_that_does_not_exist(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'nowhere'}: $: no such file or folder" in result.stderr


def test_validate_a_folder_without_definitions(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a definition")
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2
    assert "no definition files found" in result.stderr


# -- format ----------------------------------------------------------------------------------


def test_format_check_then_format_then_check(tmp_path: Path) -> None:
    messy = json.dumps(dict(reversed(sample_doc().items())), indent=4)
    path = write(tmp_path, messy, name="pet-licence")
    result = run("format", "--check", str(path))
    assert result.exit_code == 1
    assert result.stdout == f"{path}: not canonical (run civicforms format)\n"
    assert path.read_text() == messy  # --check changes nothing

    result = run("format", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: formatted\n"
    assert path.read_text() == dumps(sample_doc())

    result = run("format", "--check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_format_check_on_the_shipped_folder() -> None:
    result = run("format", "--check", str(DEFINITIONS))
    assert result.exit_code == 0, result.output


def test_format_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = write(tmp_path, "{not json", name="pet-licence")
    result = run("format", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}: $: not valid JSON")
    assert path.read_text() == "{not json"


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["db", "upgrade"], ["load"], ["citizens", "show", "jane@example.com"]])
def test_a_missing_secret_key_in_production_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    result = CliRunner().invoke(
        main,
        command,
        env={
            "CIVICFORMS_ENV": "production",
            "CIVICFORMS_SECRET_KEY": None,
            "CIVICFORMS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        },
    )
    assert result.exit_code == 1
    assert "Error: settings: CIVICFORMS_SECRET_KEY must be set" in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "x.db").exists()


def test_a_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    env = db_env(f"sqlite:///{tmp_path / 'x.db'}") | {"CIVICFORMS_BRAND_COLOUR": "#ffff00"}
    result = CliRunner().invoke(main, ["load"], env=env)
    assert result.exit_code == 1
    assert "Error: settings: CIVICFORMS_BRAND_COLOUR #ffff00 is too light" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- db upgrade and load -------------------------------------------------------------------------


def test_db_upgrade_and_load_a_fresh_sqlite_database(tmp_path: Path) -> None:
    env = db_env(f"sqlite:///{tmp_path / 'fresh.db'}")
    result = run("db", "upgrade", **env)
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.stdout

    # A first deployment: the departments the files name do not exist yet, and load makes none by itself.
    result = run("load", "--folder", str(DEFINITIONS), **env)
    assert result.exit_code == 1
    assert result.stdout == ""
    council_tax = DEFINITIONS / "council-tax-single-person-discount.json"
    assert f'{council_tax}: $.department: there is no department called "Council Tax"' in result.stderr
    assert result.stderr.count("--create-departments") == len(list(DEFINITIONS.glob("*.json")))

    result = run("load", "--folder", str(DEFINITIONS), "--create-departments", **env)
    assert result.exit_code == 0, result.output
    made = [line for line in result.stdout.splitlines() if ": created the department " in line]
    assert f"{DEFINITIONS / 'council-tax-single-person-discount.json'}: created the department 'Council Tax'" in made
    lines = [line for line in result.stdout.splitlines() if line not in made]
    assert len(lines) == len(list(DEFINITIONS.glob("*.json")))
    assert all(line.endswith(" published") for line in lines), lines
    blue_badge = read_file(DEFINITIONS / "blue-badge.json")["version"]
    assert f"{DEFINITIONS / 'blue-badge.json'}: blue-badge version {blue_badge} published" in lines

    result = run("load", "--folder", str(DEFINITIONS), **env)
    assert result.exit_code == 0, result.output
    assert all(line.endswith("unchanged") for line in result.stdout.splitlines())
    assert "published" not in result.stdout

    result = run("db", "upgrade", **env)  # a second upgrade is a no-op
    assert result.exit_code == 0, result.output


@pytest.mark.usefixtures("housing")
def test_load_takes_the_folder_from_the_settings(tmp_path: Path, database_url: str) -> None:
    write(shipped(tmp_path / "defs"), sample_doc())
    env = db_env(database_url) | {"CIVICFORMS_DEFINITIONS_DIR": str(tmp_path / "defs")}
    result = run("load", **env)
    assert result.exit_code == 0, result.output
    assert mine(result) == f"{tmp_path / 'defs' / 'pet-licence.json'}: pet-licence version 1 published\n"


def test_load_a_folder_that_does_not_exist(tmp_path: Path, database_url: str) -> None:
    result = CliRunner().invoke(main, ["load", "--folder", str(tmp_path / "nowhere")], env=db_env(database_url))
    assert result.exit_code == 1
    assert "no such folder" in result.stderr


@pytest.mark.usefixtures("housing")
def test_load_publishes_then_leaves_alone_then_refuses_a_changed_version(tmp_path: Path, database_url: str) -> None:
    env = db_env(database_url)
    folder = shipped(tmp_path / "defs")
    path = write(folder, sample_doc())
    result = run("load", "--folder", str(folder), **env)
    assert result.exit_code == 0, result.output
    assert mine(result) == f"{path}: pet-licence version 1 published\n"

    result = run("load", "--folder", str(folder), **env)
    assert result.exit_code == 0, result.output
    assert f"{path}: pet-licence version 1 unchanged\n" in result.stdout

    changed = sample_doc()
    changed["questions"]["full_name"]["label"] = "What is your name?"
    write(folder, changed)
    result = run("load", "--folder", str(folder), **env)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}: $.version: version 1 of pet-licence is already published")
    assert "new version number" in result.stderr

    write(folder, changed | {"version": 2})
    result = run("load", "--folder", str(folder), **env)
    assert result.exit_code == 0, result.output
    assert mine(result) == f"{path}: pet-licence version 2 published\n"

    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        versions = s.exec(select(ServiceVersion).where(ServiceVersion.service_id == "pet-licence")).all()
        assert sorted(v.version for v in versions) == [1, 2]
        assert {v.version: v.content_hash for v in versions} == {
            1: content_hash(sample_doc()),
            2: content_hash(changed | {"version": 2}),
        }
    engine.dispose()


def _departments_and_services(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    from runtime.models import Department, Service

    engine = dbmod.make_engine(url)
    with dbmod.session(engine) as s:
        names = {d.id: d.name for d in s.exec(select(Department))}
        services = [(svc.id, names[svc.department_id]) for svc in s.exec(select(Service).order_by(Service.id))]
    engine.dispose()
    return sorted(names.values()), services


@pytest.mark.parametrize(
    "name", ["Housing Services", "<script>alert(1)</script>", "Tenancy\u202e Services", "x" * 199], ids=str.__len__
)
def test_load_never_makes_a_department_by_itself(tmp_path: Path, database_url: str, name: str) -> None:
    """Issue 13, finding 3: an unknown department fails the file with the file, the JSON path and
    what to do, and nothing is made; --create-departments (IT's deliberate choice) makes it."""
    folder = shipped(tmp_path / "defs")
    path = write(folder, sample_doc() | {"department": name})
    before = _departments_and_services(database_url)
    result = run("load", "--folder", str(folder), **db_env(database_url))
    assert result.exit_code == 1
    assert result.stdout == ""
    shown = " ".join(name.split())[:79]
    assert result.stderr.startswith(f'{path}: $.department: there is no department called "{shown}')
    assert "civicforms load --create-departments" in result.stderr
    assert "civicforms users create --department NAME --create-department" in result.stderr
    assert len(result.stderr) < 600
    assert _departments_and_services(database_url) == before

    result = run("load", "--folder", str(folder), "--create-departments", **db_env(database_url))
    assert result.exit_code == 0, result.output
    assert f"{path}: created the department " in result.stdout
    departments, services = _departments_and_services(database_url)
    assert len(departments) == len(before[0]) + 1 and ("pet-licence", " ".join(name.split())) in services


@pytest.mark.usefixtures("housing")
def test_load_moves_a_service_to_an_existing_department_and_says_so(tmp_path: Path, database_url: str) -> None:
    """The reviewed folder is IT's: a file may move its service to a department that exists."""
    folder = shipped(tmp_path / "defs")
    path = write(folder, sample_doc())
    assert run("load", "--folder", str(folder), **db_env(database_url)).exit_code == 0
    write(folder, sample_doc() | {"version": 2, "department": "council tax"})
    result = run("load", "--folder", str(folder), **db_env(database_url))
    assert result.exit_code == 0, result.output
    assert mine(result).splitlines() == [
        f"{path}: pet-licence version 2 published",
        f"{path}: pet-licence moved from 'Housing' to 'Council Tax'",
    ]
    assert ("pet-licence", "Council Tax") in _departments_and_services(database_url)[1]


@pytest.mark.usefixtures("housing")
def test_load_with_broken_files_loads_nothing_and_names_every_problem(tmp_path: Path, database_url: str) -> None:
    """Issue 15, finding 5: one bad file means nothing goes live (not a partial release), and
    every problem of every file is printed."""
    folder = shipped(tmp_path / "defs")
    good = write(folder, sample_doc())
    broken_doc = sample_doc() | {"id": "broken-licence"}
    broken_doc["pages"][7]["questions"].append("nhs_numbr")
    broken = write(folder, broken_doc)
    not_json = write(folder, "{oops", name="a-not-json")
    misnamed = write(folder, sample_doc() | {"id": "other-licence"}, name="misnamed")
    result = run("load", "--folder", str(folder), **db_env(database_url))
    assert result.exit_code == 1
    assert result.stdout == ""
    errors = result.stderr.splitlines()
    assert f'{broken}: $.pages[7].questions[3]: "nhs_numbr" is not a property of the schema' in errors
    assert any(line.startswith(f"{not_json}: $: not valid JSON") for line in errors), errors
    assert any(line.startswith(f"{misnamed}: $.id: ") and "must match the file name" in line for line in errors)
    assert not any(line.startswith(f"{good}:") for line in errors)
    assert errors[-1] == f"nothing was loaded: {len(errors) - 1} problems"

    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        assert published_versions.definition(session=s, service_id="pet-licence") is None  # not even the good one
        assert published_versions.definition(session=s, service_id="broken-licence") is None
        assert published_versions.definition(session=s, service_id="other-licence") is None
    engine.dispose()

    for bad in (broken, not_json, misnamed):
        bad.unlink()
    result = run("load", "--folder", str(folder), **db_env(database_url))
    assert result.exit_code == 0, result.output
    assert mine(result) == f"{good}: pet-licence version 1 published\n"


@pytest.mark.usefixtures("housing")
def test_a_published_definition_reads_back_as_published(tmp_path: Path, database_url: str) -> None:
    folder = shipped(tmp_path / "defs")
    write(folder, sample_doc())
    assert run("load", "--folder", str(folder), **db_env(database_url)).exit_code == 0
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        published = published_versions.definition(session=s, service_id="pet-licence")
        assert published is not None
        assert published.hash == content_hash(sample_doc())
        assert [o.value for o in published.questions["pet_kind"].options] == ["cat", "dog", "other"]
    engine.dispose()


# citizens show: tests/core/test_cli_citizens.py


def test_validate_runs_without_a_database_or_settings(tmp_path: Path) -> None:
    # IT runs validate in CI, where there is no secret key and no database.
    shutil.copy(DEFINITIONS / "blue-badge.json", tmp_path / "blue-badge.json")
    result = run("validate", str(tmp_path), CIVICFORMS_ENV="production", CIVICFORMS_SECRET_KEY=None)
    assert result.exit_code == 0, result.output


# -- sessions purge ---------------------------------------------------------------------------------


def test_sessions_purge_deletes_only_expired_answers(database_url: str, tmp_path: Path) -> None:
    from datetime import timedelta

    from runtime.models import FormSession, utcnow

    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        service = published_versions.definition(session=s, service_id="missed-bin-collection")
        assert service is not None
        old = form_sessions.start_form_session(session=s, service=service, minutes=60)
        live = form_sessions.start_form_session(session=s, service=service, minutes=60)
        row = form_sessions.get_form_session(session=s, token=old)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        s.commit()

    # Their files go too (docs/uploads.md): kept in the test's folders, never the repository's.
    env = db_env(database_url) | {
        "CIVICFORMS_UPLOAD_DIR": str(tmp_path / "uploads"),
        "CIVICFORMS_QUARANTINE_DIR": str(tmp_path / "quarantine"),
    }
    result = run("sessions", "purge", **env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "deleted 1 expired session and 0 unsent files\n"
    with dbmod.session(engine) as s:
        assert form_sessions.get_form_session(session=s, token=live) is not None
        assert len(s.exec(select(FormSession)).all()) == 1
    assert run("sessions", "purge", **env).stdout == "deleted 0 expired sessions and 0 unsent files\n"
    engine.dispose()

"""``civicforms diff``, ``civicforms export`` and ``load`` reporting builder drafts that moved on."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from runtime import db as dbmod
from runtime import staff as staff_accounts
from runtime.cli import main
from runtime.data import drafts
from runtime.data.departments import department_for_name
from runtime.definition import dumps, read_file
from tests.conftest import DEFINITIONS, SERVICE_IDS
from tests.core.sample import sample_doc

SECRET = "k" * 40


def run(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def db_env(url: str) -> dict[str, str | None]:
    return {"CIVICFORMS_DATABASE_URL": url, "CIVICFORMS_SECRET_KEY": SECRET, "CIVICFORMS_ENV": "test"}


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(doc) if isinstance(doc, dict) else doc, encoding="utf-8")
    return path


def shipped(folder: Path) -> Path:
    """A definitions folder with the shipped definitions in it, as the database has them: ``load``
    makes live exactly what a folder says, so a folder without them would close them."""
    shutil.copytree(DEFINITIONS, folder, dirs_exist_ok=True)
    return folder


def mine(result: Result) -> str:
    """``load``'s output without the "unchanged" lines."""
    return "".join(line for line in result.stdout.splitlines(keepends=True) if not line.endswith(" unchanged\n"))


def changed_doc() -> dict[str, Any]:
    doc = sample_doc()
    doc["version"] = 2
    doc["questions"]["full_name"]["label"] = "What is your name?"
    doc["questions"]["full_name"]["hint"] = "As on your tenancy agreement"
    return doc


# -- diff -------------------------------------------------------------------------------------


def test_diff_prints_one_sentence_a_line(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", sample_doc())
    new = write(tmp_path / "new.json", changed_doc())
    result = run("diff", str(old), str(new))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "Reworded question 'What is your full name?' to 'What is your name?'" in lines
    assert any("hint" in line for line in lines)
    assert result.stderr == ""


def test_diff_of_identical_files_prints_nothing(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", sample_doc())
    # The same definition written differently (key order, spacing) is still the same.
    new = write(tmp_path / "new.json", json.dumps(sample_doc()))
    result = run("diff", str(old), str(new))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_diff_of_the_shipped_definitions_with_themselves(tmp_path: Path) -> None:
    for service_id in SERVICE_IDS:
        path = DEFINITIONS / f"{service_id}.json"
        result = run("diff", str(path), str(path))
        assert (result.exit_code, result.stdout) == (0, ""), service_id


def test_diff_refuses_unreadable_files(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", sample_doc())
    cases = {
        "empty.json": "",
        "malformed.json": '{"id": "pet-licence",',
        "list.json": "[1, 2, 3]",
        "nul.json": "\x00" * 10,
        "deep.json": "[" * 10_000 + "]" * 10_000,
    }
    for name, text in cases.items():
        bad = write(tmp_path / name, text)
        result = run("diff", str(good), str(bad))
        assert result.exit_code == 2, name  # a problem, never "changed" (1)
        assert result.stdout == "", name
        assert result.stderr.startswith(f"{bad}: $: "), (name, result.stderr)
    result = run("diff", str(tmp_path / "missing.json"), str(good))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"{tmp_path / 'missing.json'}: no such file (use /dev/null for a service that is new or removed)\n"
    )


def test_diff_refuses_a_definition_the_checker_rejects(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", sample_doc())
    doc = sample_doc()
    doc["title"] = "<script>alert(1)</script>" * 500
    del doc["schema"]
    bad = write(tmp_path / "bad.json", doc)
    result = run("diff", str(bad), str(good))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert all(line.startswith(f"{bad}: $") for line in result.stderr.splitlines())
    assert "schema" in result.stderr


def test_diff_of_hostile_text_is_printed_as_it_is(tmp_path: Path) -> None:
    doc = changed_doc()
    doc["questions"]["full_name"]["label"] = "<b>Name</b>?"
    result = run("diff", str(write(tmp_path / "a.json", sample_doc())), str(write(tmp_path / "b.json", doc)))
    assert result.exit_code == 0, result.output
    assert "Reworded question 'What is your full name?' to '<b>Name</b>?'" in result.stdout.splitlines()


# -- export -----------------------------------------------------------------------------------


def test_export_writes_every_service_canonically(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "out"
    result = run("export", "--folder", str(folder), **db_env(database_url))
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in folder.glob("*.json")) == SERVICE_IDS
    for service_id in SERVICE_IDS:
        written = (folder / f"{service_id}.json").read_text(encoding="utf-8")
        assert written == dumps(read_file(DEFINITIONS / f"{service_id}.json"))
        assert f"{folder / service_id}.json: {service_id} version " in result.stdout
    assert not list(folder.glob(".*"))  # no partial files left behind
    again = run("export", "--folder", str(folder), **db_env(database_url))
    assert again.exit_code == 0
    assert again.stdout.count("unchanged") == len(SERVICE_IDS)


@pytest.mark.usefixtures("housing")
def test_export_writes_the_current_version_to_the_settings_folder(tmp_path: Path, database_url: str) -> None:
    folder = shipped(tmp_path / "defs")
    write(folder / "pet-licence.json", sample_doc())
    env = db_env(database_url) | {"CIVICFORMS_DEFINITIONS_DIR": str(folder)}
    assert run("load", **env).exit_code == 0
    write(folder / "pet-licence.json", changed_doc())
    assert run("load", **env).exit_code == 0
    (folder / "pet-licence.json").write_text("hand edited, not loaded", encoding="utf-8")
    result = run("export", **env)
    assert result.exit_code == 0, result.output
    assert (folder / "pet-licence.json").read_text(encoding="utf-8") == dumps(changed_doc())
    assert f"{folder / 'pet-licence.json'}: pet-licence version 2 written" in result.stdout


def test_export_to_a_file_instead_of_a_folder(tmp_path: Path, database_url: str) -> None:
    target = write(tmp_path / "file.json", "{}")
    result = CliRunner().invoke(main, ["export", "--folder", str(target)], env=db_env(database_url))
    assert result.exit_code == 1
    assert "not a folder" in result.stderr
    assert target.read_text(encoding="utf-8") == "{}"


# -- load and builder drafts ------------------------------------------------------------------


def make_draft(database_url: str, base_version: int | None, doc: dict[str, Any]) -> None:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        department = department_for_name(session=s, name="Housing")
        assert department.id is not None
        user = staff_accounts.create_user(
            session=s,
            email="dana@example.gov.uk",
            name="Dana Designer",
            department_id=department.id,
            role="designer",
            password=None,
        ).user
        assert user.id is not None
        drafts.create_draft(session=s, doc=doc, department_id=department.id, user_id=user.id, base_version=base_version)
        s.commit()
    engine.dispose()


def draft_definition(database_url: str) -> dict[str, Any] | None:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        draft = drafts.get_draft(session=s, service_id="pet-licence")
        found = copy.deepcopy(draft.definition) if draft is not None else None
    engine.dispose()
    return found


@pytest.mark.usefixtures("housing")
def test_load_reports_a_draft_that_moved_on_and_leaves_it_for_its_designer_to_update(
    tmp_path: Path, database_url: str
) -> None:
    env = db_env(database_url)
    folder = shipped(tmp_path / "defs")
    write(folder / "pet-licence.json", sample_doc())
    assert run("load", "--folder", str(folder), **env).exit_code == 0
    draft_doc = sample_doc()
    draft_doc["title"] = "Apply for a pet licence (draft)"
    make_draft(database_url, 1, draft_doc)
    write(folder / "pet-licence.json", changed_doc())
    result = run("load", "--folder", str(folder), **env)
    assert result.exit_code == 0, result.output
    assert mine(result).splitlines() == [
        f"{folder / 'pet-licence.json'}: pet-licence version 2 published",
        "pet-licence: a builder draft has changes not in version 2; its designer will be asked to update it with "
        "version 2 (changes to other parts merge, clashes are shown side by side) before it can be published",
    ]
    assert draft_definition(database_url) == draft_doc


@pytest.mark.usefixtures("housing")
def test_load_says_nothing_of_a_draft_based_on_the_loaded_version(tmp_path: Path, database_url: str) -> None:
    env = db_env(database_url)
    folder = shipped(tmp_path / "defs")
    write(folder / "pet-licence.json", sample_doc())
    assert run("load", "--folder", str(folder), **env).exit_code == 0
    make_draft(database_url, 1, sample_doc())
    result = run("load", "--folder", str(folder), **env)
    assert result.exit_code == 0
    assert mine(result) == ""  # every file unchanged, pet-licence's too
    assert f"{folder / 'pet-licence.json'}: pet-licence version 1 unchanged\n" in result.stdout


def test_load_closes_a_new_service_draft_that_a_file_now_publishes_as_it_is(tmp_path: Path, database_url: str) -> None:
    env = db_env(database_url)
    make_draft(database_url, None, sample_doc())
    folder = shipped(tmp_path / "defs")
    write(folder / "pet-licence.json", sample_doc())
    result = run("load", "--folder", str(folder), **env)
    assert result.exit_code == 0, result.output
    assert "pet-licence: the builder's draft held only what is now live, so it was closed" in result.stdout
    assert draft_definition(database_url) is None


@pytest.mark.usefixtures("housing")
def test_load_closes_a_draft_whose_review_it_merged_and_loaded(tmp_path: Path, database_url: str) -> None:
    env = db_env(database_url)
    folder = shipped(tmp_path / "defs")
    write(folder / "pet-licence.json", sample_doc())
    assert run("load", "--folder", str(folder), **env).exit_code == 0
    make_draft(database_url, 1, changed_doc())
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        draft = drafts.get_draft(session=s, service_id="pet-licence")
        assert draft is not None
        drafts.mark_draft(session=s, draft=draft, review_branch="service/pet-licence-v2")
        s.commit()
    engine.dispose()
    write(folder / "pet-licence.json", changed_doc())
    result = run("load", "--folder", str(folder), **env)
    assert result.exit_code == 0, result.output
    assert "pet-licence: the builder's draft held only what is now live, so it was closed" in result.stdout
    assert draft_definition(database_url) is None


def test_export_by_department_writes_the_department_folder_layout(tmp_path: Path, database_url: str) -> None:
    from runtime.slugs import slug

    folder = tmp_path / "out"
    assert run("export", "--folder", str(folder), **db_env(database_url)).exit_code == 0
    result = run("export", "--folder", str(folder), "--by-department", **db_env(database_url))
    assert result.exit_code == 0, result.output
    assert not list(folder.glob("*.json"))  # every shipped service has a department: all moved
    for service_id in SERVICE_IDS:
        department = read_file(DEFINITIONS / f"{service_id}.json")["department"]
        path = folder / slug(department) / f"{service_id}.json"
        assert path.read_text(encoding="utf-8") == dumps(read_file(DEFINITIONS / f"{service_id}.json"))
        version = read_file(DEFINITIONS / f"{service_id}.json")["version"]
        assert (
            f"{path}: {service_id} version {version} written (moved from {folder / service_id}.json)" in result.stdout
        )
    assert run("validate", str(folder)).exit_code == 0  # the layout validate accepts
    again = run("export", "--folder", str(folder), **db_env(database_url))  # files stay where they are
    assert again.stdout.count("unchanged") == len(SERVICE_IDS)
    assert not list(folder.glob("*.json"))

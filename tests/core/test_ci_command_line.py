"""The command line IT runs in CI (issue 15, finding 6): ``diff`` between files and git refs with
``--exit-code`` and ``--json``, every change named with its old and new text, all problems at
once, unique reference prefixes, "$schema" for editors, department folders, ``--any-file-name``."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from runtime.changes import changes, summarise
from runtime.checker import check, check_file, check_many
from runtime.cli import main
from runtime.definition import content_hash, definition_files, dumps, read_file
from runtime.problems import Problem
from tests.conftest import DEFINITIONS, SERVICE_IDS
from tests.core.sample import sample_doc


def run(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(doc) if isinstance(doc, dict) else doc, encoding="utf-8")
    return path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A git repository with the shipped definitions committed on main, as the working folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    top = tmp_path / "repo"
    folder = top / "form_definitions"
    folder.mkdir(parents=True)
    for service_id in SERVICE_IDS:
        write(folder / f"{service_id}.json", read_file(DEFINITIONS / f"{service_id}.json"))
    git(top, "init", "-q", "-b", "main")
    git(top, "config", "user.email", "it@example.gov.uk")
    git(top, "config", "user.name", "IT")
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "shipped")
    old = Path.cwd()
    os.chdir(top)
    try:
        yield top
    finally:
        os.chdir(old)


def edit(path: Path, change: Any) -> dict[str, Any]:
    doc = read_file(path)
    change(doc)
    write(path, doc)
    return doc


LONG_HINT = "We will use this to send you updates about your application. " * 3


def reword(doc: dict[str, Any]) -> None:
    doc["version"] += 1
    doc["start"]["body"] = ["A new first paragraph."]
    doc["questions"]["email"]["hint"] = LONG_HINT


# -- diff: exit codes, refs, JSON ---------------------------------------------------------------


def test_diff_exit_code_says_whether_anything_changed(tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", sample_doc())
    b = write(tmp_path / "b.json", json.dumps(sample_doc()))  # written differently, the same
    assert run("diff", "--exit-code", str(a), str(b)).exit_code == 0
    changed = sample_doc()
    changed["title"] = "Apply for a pet permit"
    c = write(tmp_path / "c.json", changed)
    result = run("diff", "--exit-code", str(a), str(c))
    assert result.exit_code == 1
    assert result.stdout == "Changed the title from 'Apply for a pet licence' to 'Apply for a pet permit'\n"
    assert run("diff", str(a), str(c)).exit_code == 0  # without --exit-code: success


def test_diff_a_file_against_a_git_ref(repo: Path) -> None:
    edit(repo / "form_definitions" / "blue-badge.json", reword)
    result = run("diff", "--exit-code", "main:form_definitions/blue-badge.json", "form_definitions/blue-badge.json")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("Changed the text of the start page from 'A Blue Badge") for line in lines), lines
    assert "to 'A new first paragraph.'" in result.stdout
    assert "Changed the hint of 'Email address' from 'We will use this to contact you" in result.stdout


def test_diff_json_carries_the_full_old_and_new_values(repo: Path) -> None:
    path = repo / "form_definitions" / "blue-badge.json"
    before = read_file(path)
    edit(path, reword)
    result = run("diff", "--json", "main:form_definitions/blue-badge.json", "form_definitions/blue-badge.json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["problems"] == []
    hint = next(c for c in out["changes"] if c["path"] == "$.questions.email.hint")
    assert hint["old"] == before["questions"]["email"]["hint"]
    assert hint["new"] == LONG_HINT  # in full, though the sentence shortens it
    assert hint["sentence"].endswith("…'") and len(LONG_HINT) > 80
    assert set(hint) == {"service", "file", "path", "old", "new", "sentence"}
    assert hint["service"] == "blue-badge"
    assert hint["file"] == "form_definitions/blue-badge.json"


def test_diff_of_two_refs_names_added_changed_and_removed_services(repo: Path) -> None:
    folder = repo / "form_definitions"
    edit(folder / "blue-badge.json", reword)
    new = sample_doc()
    new["department"] = "Housing"
    write(folder / "housing" / "pet-licence.json", new)
    (folder / "missed-bin-collection.json").unlink()
    # A service moved into its department's folder is the same service, not a new one.
    (folder / "gp").mkdir()
    (folder / "register-with-gp.json").rename(folder / "gp" / "register-with-gp.json")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "second")
    result = run("diff", "--exit-code", "--ref", "main~1", "--ref", "main")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "blue-badge (main:form_definitions/blue-badge.json):\n  Changed the text of the start page" in out
    assert "pet-licence (main:form_definitions/housing/pet-licence.json):\n  First version: " in out
    # every part of a new service is described, with its condition in plain words
    assert "Added a condition to page 'You cannot apply': show it only if 'Do you live in Westbridge?' is No" in out
    assert "missed-bin-collection (main~1:form_definitions/missed-bin-collection.json):\n  Removed the service" in out
    assert "register-with-gp" not in out
    json_out = json.loads(run("diff", "--json", "--ref", "main~1", "--ref", "main").stdout)
    assert {c["service"] for c in json_out["changes"]} == {"blue-badge", "pet-licence", "missed-bin-collection"}


def test_diff_of_a_ref_and_the_work_tree(repo: Path) -> None:
    assert run("diff", "--exit-code", "--ref", "main").exit_code == 0
    edit(repo / "form_definitions" / "blue-badge.json", reword)
    result = run("diff", "--exit-code", "--ref", "main", "form_definitions")
    assert result.exit_code == 1
    assert result.stdout.startswith("blue-badge (form_definitions/blue-badge.json):\n")


def test_diff_of_a_new_file(repo: Path, tmp_path: Path) -> None:
    new = write(repo / "form_definitions" / "pet-licence.json", sample_doc())
    for old in ("main:form_definitions/pet-licence.json", "/dev/null"):
        result = run("diff", "--exit-code", old, str(new.relative_to(repo)))
        assert result.exit_code == 1, result.output
        assert result.stdout.startswith("First version: ")
        assert "Added the title: 'Apply for a pet licence'" in result.stdout
    removed = run("diff", "--exit-code", str(new.relative_to(repo)), "/dev/null")
    assert (removed.exit_code, removed.stdout) == (1, "Removed the service 'Apply for a pet licence'\n")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--ref", "no-such-branch"], "no-such-branch: no such branch, tag or commit"),
        (["--ref", "--upload-pack=touch /tmp/x"], "is not a git ref"),
        (["--ref", "main..HEAD"], "is not a git ref"),
        (["nope:form_definitions/blue-badge.json", "form_definitions/blue-badge.json"], "nope: no such branch"),
        (
            ["form_definitions/missing.json", "form_definitions/blue-badge.json"],
            "form_definitions/missing.json: no such",
        ),
    ],
)
def test_diff_with_a_bad_ref_or_file_says_so_in_one_line(repo: Path, args: list[str], named: str) -> None:
    result = run("diff", "--exit-code", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and named in result.stderr, result.stderr
    as_json = run("diff", "--json", *args)
    assert as_json.exit_code == 2
    [problem] = json.loads(as_json.stdout)["problems"]
    assert named in f"{problem['file']}: {problem['message']}"


def test_diff_with_a_malformed_file_at_a_ref_exits_2(repo: Path) -> None:
    (repo / "form_definitions" / "blue-badge.json").write_text("{not json", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "broken")
    result = run("diff", "--exit-code", "--ref", "main~1", "--ref", "main")
    assert result.exit_code == 2
    assert result.stderr.startswith("main:form_definitions/blue-badge.json: $: not valid JSON")
    assert "blue-badge" not in result.stdout


# -- every change named with its old and new text --------------------------------------------


def test_a_new_page_s_condition_hint_and_required_rule_are_named() -> None:
    old = sample_doc()
    new = copy.deepcopy(old)
    first = new["pages"][0]["questions"][0]
    new["pages"].insert(
        1,
        {
            "id": "more",
            "title": "More",
            "show_if": {"properties": {first: {"const": "x"}}, "required": [first]},
            "questions": ["extra"],
        },
    )
    new["questions"]["extra"] = {"label": "Anything else?", "hint": "Tell us more", "widget": "text"}
    new["schema"]["properties"]["extra"] = {"type": "string", "maxLength": 100}
    new["schema"].setdefault("required", []).append("extra")
    lines = summarise(old, new)
    assert (
        "Added question 'Anything else?' on new page 'More', which must be answered, with the hint 'Tell us more'"
        in lines
    )
    assert any(line.startswith("Added a condition to page 'More': show it only if ") for line in lines), lines


def test_summaries_read_conditions_in_plain_words_without_the_builder() -> None:
    old = read_file(DEFINITIONS / "blue-badge.json")
    new = copy.deepcopy(old)
    page = next(p for p in new["pages"] if "show_if" in p)
    page.pop("show_if")
    [line] = [c for c in changes(old, new) if c.path.endswith(".show_if")]
    assert line.sentence.startswith(f"Removed the condition on page '{page['title']}' (was: 'Do you get a benefit")
    assert line.old is not None and line.new is None


# -- all problems at once ---------------------------------------------------------------------


def test_a_meta_schema_problem_no_longer_hides_deeper_ones() -> None:
    doc = sample_doc()
    doc["title"] = "x" * 5000  # meta-schema: too long
    doc["pages"][0]["questions"].append("no_such_question")  # deeper: not a property
    problems = check(doc)
    assert Problem("$.title", "must be 120 characters or less") in problems or any(
        p.path == "$.title" for p in problems
    )
    assert any(p.path.startswith("$.pages[0].questions") and "no_such_question" in p.message for p in problems), (
        problems
    )
    assert len(problems) == len(set(problems))


def test_a_malformed_section_does_not_crash_the_deeper_rules_of_the_others() -> None:
    doc = sample_doc()
    doc["questions"][next(iter(doc["questions"]))] = "not an object"  # meta-schema problem in questions
    doc["identity"] = {"email": "no_such_field"}  # deeper problem in a well-formed section
    problems = check(doc)
    assert any(p.path.startswith("$.questions.") for p in problems)
    assert Problem("$.identity.email", '"no_such_field" is not a field of the schema') in problems


# -- reference prefixes unique across services -------------------------------------------------


def test_check_many_finds_shared_reference_prefixes_and_ids(tmp_path: Path) -> None:
    a, b = sample_doc(), sample_doc()
    b["id"] = "dog-licence"
    c = sample_doc()
    c["reference_prefix"] = "ZZZ"
    found = check_many({Path("a.json"): a, Path("b.json"): b, Path("c.json"): c})
    prefixes = [(path, p) for path, p in found if p.path == "$.reference_prefix"]
    assert [str(path) for path, _ in prefixes] == ["a.json", "b.json"]
    assert "also used by b.json" in prefixes[0][1].message
    ids = [str(path) for path, p in found if p.path == "$.id"]
    assert ids == ["a.json", "c.json"]


def test_validate_refuses_two_services_with_one_reference_prefix(tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    write(folder / "pet-licence.json", sample_doc())
    other = sample_doc()
    other["id"] = "dog-licence"
    write(folder / "dog-licence.json", other)
    result = run("validate", str(folder))
    assert result.exit_code == 1
    prefix = sample_doc()["reference_prefix"]
    assert (
        f'{folder / "dog-licence.json"}: $.reference_prefix: reference prefix "{prefix}" is also used by'
        in result.stdout
    )


# -- "$schema" for editors --------------------------------------------------------------------


def test_a_top_level_schema_key_is_allowed_first_and_changes_nothing(tmp_path: Path) -> None:
    doc = sample_doc()
    with_schema = {**doc, "$schema": "https://forms.example.gov.uk/schema/definition.schema.json"}
    assert check(with_schema) == []
    assert dumps(with_schema).startswith('{\n  "$schema": ')
    assert content_hash(with_schema) == content_hash(doc)  # no new version
    assert summarise(doc, with_schema) == []
    assert check({**doc, "$schema": 5}) != []


def test_the_meta_schema_is_served_for_editors(client: Any) -> None:
    response = client.get("/schema/definition.schema.json")
    assert response.status_code == 200
    assert response.mimetype == "application/schema+json"
    assert "max-age" in response.headers["Cache-Control"]
    assert response.get_json(force=True)["properties"]["$schema"]["type"] == "string"
    again = client.get("/schema/definition.schema.json", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


# -- department folders ------------------------------------------------------------------------


def test_definition_files_finds_department_folders(tmp_path: Path) -> None:
    folder = tmp_path / "form_definitions"
    flat = write(folder / "pet-licence.json", sample_doc())
    nested = write(folder / "housing" / "dog-licence.json", "{}")
    write(folder / "housing" / "deeper" / "too-deep.json", "{}")
    write(folder / ".git" / "x.json", "{}")
    write(folder / "housing" / ".dog-licence.json.partial", "{}")
    assert definition_files([folder]) == [nested, flat] or definition_files([folder]) == [flat, nested]


def test_a_file_in_another_department_s_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "form_definitions"
    doc = sample_doc()  # department "Housing"
    good = write(folder / "housing" / "pet-licence.json", doc)
    assert check_file(good, root=folder) == []
    assert check_file(good) == []  # named on its own: form_definitions/<department>/ is recognised
    wrong = write(tmp_path / "other" / "form_definitions" / "highways" / "pet-licence.json", doc)
    [problem] = check_file(wrong)
    assert problem.path == "$.department"
    assert '"Housing" belongs in the folder "housing", not "highways"' in problem.message
    result = run("validate", str(tmp_path / "other" / "form_definitions"))
    assert result.exit_code == 1
    assert "$.department" in result.stdout


# -- any file name ------------------------------------------------------------------------------


def test_validate_any_file_name_for_a_hook_s_temporary_copy(tmp_path: Path) -> None:
    copy_ = write(tmp_path / "tmp1234.json", sample_doc())
    assert run("validate", str(copy_)).exit_code == 1
    result = run("validate", "--any-file-name", str(copy_))
    assert result.exit_code == 0, result.output
    assert "--any-file-name" in run("validate", "--help").stdout

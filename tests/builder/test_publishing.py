"""Publishing to files and git: the canonical file, direct commits and review branches, in a real repository."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from builder.publishing import (
    SERVICE_ID,
    SERVICE_ID_MAX_LENGTH,
    PublishingError,
    PublishOutcome,
    commit_message,
    publish_file,
    repository_of,
    review_status,
    write_definition,
)
from runtime.definition import dumps, read_file
from runtime.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "form_definitions" / "missed-bin-collection.json"
SUMMARY = [
    "Added question 'What colour is your front door?' on new page 'Front door'",
    "Removed choice 'Something else' from 'Where was your bin?'",
]
AUTHOR = {"author_name": "Asha Patel", "author_email": "asha.patel@example.gov.uk"}


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Git sees only the test repository's own configuration, never the machine's or the user's."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_repo(path: Path, *, identity: bool = True, initial_commit: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    if identity:
        git(path, "config", "user.name", "IT Repository")
        git(path, "config", "user.email", "it@example.gov.uk")
    if initial_commit:
        (path / "README.md").write_text("Council services\n")
        git(path, "add", "README.md")
        git(path, "commit", "--quiet", "-m", "Start")
    return path


def service(version: int = 1, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(read_file(SHIPPED))
    doc["version"] = version
    doc.update(changes)
    return doc


def hand_formatted(doc: dict[str, Any]) -> str:
    """The definition as IT might have typed it: sorted keys, four spaces, no final newline."""
    return json.dumps(doc, indent=4, sort_keys=True)


def publish(folder: Path, doc: dict[str, Any], mode: str, message: Any = SUMMARY, **author: str) -> PublishOutcome:
    return publish_file(folder=folder, doc=doc, mode=mode, message=message, **{**AUTHOR, **author})  # type: ignore[arg-type]


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain=v1", "--untracked-files=all")


def files_in(commit: str, repo: Path) -> list[str]:
    return git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", commit).splitlines()


# --- the canonical file ------------------------------------------------------------------------


def test_service_id_rule_is_the_definition_schemas() -> None:
    schema = json.loads((PROJECT_ROOT / "runtime" / "schemas" / "definition.schema.json").read_text())
    rule = schema["properties"]["id"]
    assert rule["maxLength"] == SERVICE_ID_MAX_LENGTH
    for candidate in ("a", "missed-bin-collection", "a1-b2", "a-", "-a", "a--b", "A", "1a", "a_b", "a.b"):
        assert bool(SERVICE_ID.fullmatch(candidate)) == bool(re.fullmatch(rule["pattern"], candidate)), candidate


def test_write_definition_writes_the_canonical_file(tmp_path: Path) -> None:
    folder = tmp_path / "form_definitions"
    doc = json.loads(hand_formatted(service()))

    path = write_definition(folder, doc)

    assert path == folder / "missed-bin-collection.json"
    assert path.read_text(encoding="utf-8") == dumps(doc)
    assert path.read_text(encoding="utf-8").startswith(
        '{\n  "format": "civicforms/1",\n  "id": "missed-bin-collection"'
    )
    assert sorted(p.name for p in folder.iterdir()) == ["missed-bin-collection.json"], "no temporary file is left"


def test_write_definition_replaces_the_old_file_and_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "missed-bin-collection.json"
    path.write_text(hand_formatted(service()))
    path.chmod(0o664)

    write_definition(tmp_path, service(version=2, title="Report a missed bin"))

    assert read_file(path)["version"] == 2
    assert read_file(path)["title"] == "Report a missed bin"
    assert path.stat().st_mode & 0o777 == 0o664
    assert [p.name for p in tmp_path.iterdir()] == ["missed-bin-collection.json"]


def test_write_definition_keeps_unicode_readable(tmp_path: Path) -> None:
    path = write_definition(tmp_path, service(title="Gwasanaeth biniau – Cymraeg ✓"))
    assert "Gwasanaeth biniau – Cymraeg ✓" in path.read_text(encoding="utf-8")


HOSTILE_IDS = [
    "../evil",
    "../../etc/passwd",
    "a/b",
    "..",
    ".hidden",
    "/tmp/abs",
    "",
    "Bins",
    "bins\x00.json",
    "bins\n",
    "a--b",
    "x" * 61,
    None,
    42,
    ["bins"],
]


@pytest.mark.parametrize("service_id", HOSTILE_IDS, ids=repr)
def test_a_hostile_service_id_is_refused_and_nothing_is_written(tmp_path: Path, service_id: Any) -> None:
    folder = tmp_path / "deep" / "form_definitions"
    folder.mkdir(parents=True)

    with pytest.raises(PublishingError, match="service id .* is not valid"):
        write_definition(folder, service(id=service_id))
    with pytest.raises(PublishingError, match="service id .* is not valid"):
        publish(folder, service(id=service_id), "direct")

    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_definition_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishingError, match="JSON object"):
        write_definition(tmp_path, ["not", "a", "definition"])  # type: ignore[arg-type]


# --- which repository ---------------------------------------------------------------------------


def test_repository_of_finds_the_work_tree_even_for_a_folder_not_made_yet(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "services")
    (repo / "form_definitions").mkdir()

    assert repository_of(repo / "form_definitions") == repo.resolve()
    assert repository_of(repo / "not" / "made" / "yet") == repo.resolve()
    assert repository_of(tmp_path / "elsewhere") is None


def test_a_folder_outside_any_repository_is_just_written_and_live(tmp_path: Path) -> None:
    folder = tmp_path / "form_definitions"

    for mode in ("direct", "review", "file"):
        outcome = publish(folder, service(), mode)
        assert outcome == PublishOutcome(
            mode="file", path=folder / "missed-bin-collection.json", commit=None, branch=None, live=True
        )
    assert (folder / "missed-bin-collection.json").read_text() == dumps(service())


def test_without_git_installed_only_a_folder_outside_a_repository_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))

    outcome = publish(tmp_path / "plain" / "form_definitions", service(), "direct")
    assert outcome.mode == "file" and outcome.live

    with pytest.raises(PublishingError, match="git is not installed"):
        publish(repo / "form_definitions", service(), "direct")
    assert not (repo / "form_definitions").exists()


def test_file_mode_inside_a_repository_writes_without_committing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")

    outcome = publish(repo / "form_definitions", service(), "file")

    assert outcome.mode == "file" and outcome.live and outcome.commit is None
    assert git(repo, "rev-parse", "HEAD") == head
    assert status(repo) == "?? form_definitions/missed-bin-collection.json"


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishingError, match="Unknown publishing mode 'auto'"):
        publish(tmp_path, service(), "auto")
    assert list(tmp_path.iterdir()) == []


# --- direct -------------------------------------------------------------------------------------


def test_direct_commits_only_the_definition_with_the_staff_member_as_author(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    folder = repo / "form_definitions"
    folder.mkdir()
    # IT has work in progress: a staged change and an unstaged one, neither the builder's to commit.
    (repo / "README.md").write_text("Council services, staged\n")
    git(repo, "add", "README.md")
    (repo / "notes.txt").write_text("tracked\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "--quiet", "-m", "Notes", "--", "notes.txt")
    (repo / "notes.txt").write_text("tracked, edited\n")
    before = git(repo, "rev-parse", "HEAD")

    outcome = publish(folder, service(), "direct")

    assert outcome.mode == "direct" and outcome.live is True and outcome.branch == "main"
    assert outcome.commit == git(repo, "rev-parse", "HEAD")
    assert git(repo, "rev-parse", "HEAD^") == before
    assert files_in(outcome.commit, repo) == ["form_definitions/missed-bin-collection.json"]
    assert git(repo, "log", "-1", "--format=%an <%ae>") == "Asha Patel <asha.patel@example.gov.uk>"
    assert git(repo, "log", "-1", "--format=%cn <%ce>") == "IT Repository <it@example.gov.uk>"
    assert git(repo, "log", "-1", "--format=%B") == (
        "Publish Report a missed bin collection version 1\n\n"
        "- Added question 'What colour is your front door?' on new page 'Front door'\n"
        "- Removed choice 'Something else' from 'Where was your bin?'"
    )
    # The committed file and the work tree file are both the canonical text.
    assert git(repo, "show", "HEAD:form_definitions/missed-bin-collection.json") + "\n" == dumps(service())
    assert (folder / "missed-bin-collection.json").read_text() == dumps(service())
    # IT's own changes are exactly as they were: still staged, still unstaged.
    assert status(repo).splitlines() == ["M  README.md", " M notes.txt"]


def test_direct_replaces_a_hand_formatted_file_with_the_canonical_one(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    folder = repo / "form_definitions"
    folder.mkdir()
    (folder / "missed-bin-collection.json").write_text(hand_formatted(service()))
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "IT's hand-written version")

    outcome = publish(folder, service(version=2), "direct")

    assert outcome.commit is not None
    assert (folder / "missed-bin-collection.json").read_text() == dumps(service(version=2))
    assert status(repo) == ""


def test_direct_publishing_the_same_file_again_makes_no_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    first = publish(repo / "form_definitions", service(), "direct")

    again = publish(repo / "form_definitions", service(), "direct")

    assert again.commit is None and again.live
    assert git(repo, "rev-parse", "HEAD") == first.commit


def test_direct_in_an_empty_repository_makes_the_first_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", initial_commit=False)
    (repo / "draft.txt").write_text("staged but not the builder's\n")
    git(repo, "add", "draft.txt")

    outcome = publish(repo / "form_definitions", service(), "direct")

    assert outcome.commit == git(repo, "rev-parse", "HEAD")
    assert git(repo, "rev-list", "--count", "HEAD") == "1"
    assert files_in(outcome.commit, repo) == ["form_definitions/missed-bin-collection.json"]
    assert status(repo) == "A  draft.txt"


def test_direct_without_a_configured_identity_commits_as_the_builder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", identity=False, initial_commit=False)

    publish(repo / "form_definitions", service(), "direct")

    assert git(repo, "log", "-1", "--format=%an <%ae>") == "Asha Patel <asha.patel@example.gov.uk>"
    assert git(repo, "log", "-1", "--format=%cn <%ce>") == "Civic Forms builder <builder@localhost>"


def test_direct_on_a_detached_head_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "--quiet", "--detach")

    with pytest.raises(PublishingError, match="detached HEAD"):
        publish(repo / "form_definitions", service(), "direct")

    assert not (repo / "form_definitions" / "missed-bin-collection.json").exists()


def test_direct_with_a_locked_index_says_so_and_restores_the_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    folder = repo / "form_definitions"
    publish(folder, service(), "direct")
    head = git(repo, "rev-parse", "HEAD")
    (repo / ".git" / "index.lock").write_text("")

    with pytest.raises(PublishingError) as caught:
        publish(folder, service(version=2), "direct")

    message = str(caught.value)
    assert "Could not stage form_definitions/missed-bin-collection.json" in message
    assert "index.lock" in message and "File exists" in message, "git's own words are passed on"
    assert git(repo, "rev-parse", "HEAD") == head
    assert (folder / "missed-bin-collection.json").read_text() == dumps(service())


def test_direct_refused_by_a_hook_leaves_the_work_tree_and_index_as_they_were(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    folder = repo / "form_definitions"
    publish(folder, service(), "direct")
    head = git(repo, "rev-parse", "HEAD")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'Definitions are frozen this week' >&2\nexit 1\n")
    hook.chmod(0o755)

    with pytest.raises(PublishingError, match="Definitions are frozen this week"):
        publish(folder, service(version=2), "direct")
    with pytest.raises(PublishingError, match="Definitions are frozen this week"):
        publish(folder, service(id="new-service"), "direct")

    assert git(repo, "rev-parse", "HEAD") == head
    assert status(repo) == ""
    assert (folder / "missed-bin-collection.json").read_text() == dumps(service())
    assert not (folder / "new-service.json").exists()


def test_shell_characters_in_the_title_and_summary_are_only_text(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    title = 'Bins $(touch pwned) `touch pwned2`; rm -rf / "quoted" \\ <b>bold</b>'
    summary = ["Changed the hint of 'Where?' to '$(id)'", "Line one\nline two\x00 and\ttabs", "#not a comment"]

    publish(repo / "form_definitions", service(title=title), "direct", message=summary)

    assert git(repo, "log", "-1", "--format=%B") == (
        f"Publish {title} version 1\n\n"
        "- Changed the hint of 'Where?' to '$(id)'\n"
        "- Line one line two and tabs\n"
        "- #not a comment"
    )
    assert not list(tmp_path.rglob("pwned*"))


def test_a_complete_message_can_be_given_instead_of_a_summary(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")

    publish(repo / "form_definitions", service(), "direct", message="Roll back to version 1\n\nAs asked by IT.  \n")

    assert git(repo, "log", "-1", "--format=%B") == "Roll back to version 1\n\nAs asked by IT."
    with pytest.raises(PublishingError, match="NUL"):
        publish(repo / "form_definitions", service(version=2), "direct", message="Roll back\x00")


def test_commit_message_without_changes_is_the_title_line() -> None:
    assert commit_message(service(version=3), []) == "Publish Report a missed bin collection version 3\n"


# --- review -------------------------------------------------------------------------------------


def test_review_commits_to_a_branch_and_leaves_the_work_tree_alone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    folder = repo / "form_definitions"
    publish(folder, service(), "direct")
    (repo / "README.md").write_text("IT's staged edit\n")
    git(repo, "add", "README.md")
    (repo / "scratch.txt").write_text("untracked\n")
    head, before = git(repo, "rev-parse", "HEAD"), status(repo)
    index = (repo / ".git" / "index").read_bytes()

    outcome = publish(folder, service(version=2, title="Report a missed bin"), "review")

    assert outcome == PublishOutcome(
        mode="review",
        path=folder / "missed-bin-collection.json",
        commit=git(repo, "rev-parse", "service/missed-bin-collection-v2"),
        branch="service/missed-bin-collection-v2",
        live=False,
    )
    assert outcome.commit is not None and outcome.branch is not None
    # Work tree, index, current branch: untouched.
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert status(repo) == before
    assert (repo / ".git" / "index").read_bytes() == index
    assert (folder / "missed-bin-collection.json").read_text() == dumps(service())
    # The branch: one commit on top of HEAD, changing only the definition, by the staff member.
    assert git(repo, "rev-parse", f"{outcome.commit}^") == head
    assert files_in(outcome.commit, repo) == ["form_definitions/missed-bin-collection.json"]
    shown = git(repo, "show", f"{outcome.branch}:form_definitions/missed-bin-collection.json")
    assert shown + "\n" == dumps(service(version=2, title="Report a missed bin"))
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", outcome.branch) == (
        "Asha Patel <asha.patel@example.gov.uk>|IT Repository <it@example.gov.uk>"
    )
    assert git(repo, "log", "-1", "--format=%s", outcome.branch) == "Publish Report a missed bin version 2"
    # The rest of HEAD's tree is carried over, so merging changes nothing else.
    assert git(repo, "diff", "--name-only", head, outcome.branch) == "form_definitions/missed-bin-collection.json"


def test_a_version_is_published_for_review_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    first = publish(repo / "form_definitions", service(version=2), "review")

    with pytest.raises(
        PublishingError, match="service/missed-bin-collection-v2 already exists.*published for review once"
    ):
        publish(repo / "form_definitions", service(version=2, title="Changed my mind"), "review")

    assert git(repo, "rev-parse", "service/missed-bin-collection-v2") == first.commit


def test_review_status_follows_the_branch_until_it_is_merged(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    folder = repo / "form_definitions"
    outcome = publish(folder, service(version=2), "review")
    assert outcome.branch is not None

    assert review_status(folder, outcome.branch) == "waiting"
    # IT carries on with other work; the review is still waiting.
    (repo / "CHANGELOG").write_text("other work\n")
    git(repo, "add", "CHANGELOG")
    git(repo, "commit", "--quiet", "-m", "Other work")
    assert review_status(folder, outcome.branch) == "waiting"

    git(repo, "merge", "--quiet", "--no-ff", "--no-edit", outcome.branch)

    assert review_status(folder, outcome.branch) == "merged"
    assert (folder / "missed-bin-collection.json").read_text() == dumps(service(version=2))
    assert review_status(folder, "service/missed-bin-collection-v9") == "missing"


def test_review_status_counts_a_squash_merge_as_merged(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    folder = repo / "form_definitions"
    outcome = publish(folder, service(version=2), "review")
    assert outcome.branch is not None

    git(repo, "merge", "--quiet", "--squash", outcome.branch)
    git(repo, "commit", "--quiet", "-m", "Squashed: missed bins version 2")

    assert review_status(folder, outcome.branch) == "merged"


def test_review_in_an_empty_repository_starts_the_branch_from_a_root_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", initial_commit=False)
    folder = repo / "form_definitions"

    outcome = publish(folder, service(), "review")

    assert outcome.branch == "service/missed-bin-collection-v1" and outcome.commit is not None
    assert git(repo, "rev-list", "--count", outcome.branch) == "1"
    assert files_in(outcome.commit, repo) == ["form_definitions/missed-bin-collection.json"]
    assert not folder.exists()
    assert review_status(folder, outcome.branch) == "waiting"
    git(repo, "merge", "--quiet", outcome.branch)
    assert review_status(folder, outcome.branch) == "merged"


def test_review_works_while_the_index_is_locked_and_on_a_detached_head(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "--quiet", "--detach")
    (repo / ".git" / "index.lock").write_text("")
    head = git(repo, "rev-parse", "HEAD")

    outcome = publish(repo / "form_definitions", service(), "review")

    assert git(repo, "rev-parse", f"{outcome.commit}^") == head
    assert (repo / ".git" / "index.lock").read_text() == ""


def test_review_without_a_configured_identity_commits_as_the_builder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", identity=False, initial_commit=False)

    outcome = publish(repo / "form_definitions", service(), "review")

    assert git(repo, "log", "-1", "--format=%an|%cn <%ce>", str(outcome.branch)) == (
        "Asha Patel|Civic Forms builder <builder@localhost>"
    )


def test_a_branch_name_that_git_cannot_make_is_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    # A branch called "service" blocks every "service/..." branch (git stores refs as files).
    git(repo, "branch", "service")

    with pytest.raises(
        PublishingError, match="Could not create the branch service/missed-bin-collection-v1. Git said: "
    ):
        publish(repo / "form_definitions", service(), "review")


@pytest.mark.parametrize(
    "branch", ["main", "service/../../x-v1", "service/Bins-v1", "service/bins-v0", "refs/heads/service/a-v1", "", None]
)
def test_review_status_refuses_what_is_not_a_review_branch(tmp_path: Path, branch: Any) -> None:
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(PublishingError, match="is not a review branch"):
        review_status(repo / "form_definitions", branch)


def test_review_status_outside_a_repository_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PublishingError, match="not in a git repository"):
        review_status(tmp_path, "service/missed-bin-collection-v1")


@pytest.mark.parametrize("version", [None, 0, -1, "2", 1.5, True])
def test_a_version_that_is_not_a_whole_number_is_refused(tmp_path: Path, version: Any) -> None:
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(PublishingError, match="version must be a whole number"):
        publish(repo / "form_definitions", service(version=version), "review")
    assert git(repo, "branch", "--list", "service/*") == ""


# --- the author ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "email", "reason"),
    [
        ("Eve\nCommitter: Mallory", "eve@example.gov.uk", "line break"),
        ("Eve <eve@evil.example>", "eve@example.gov.uk", "angle bracket"),
        ("Eve", "eve@example.gov.uk> \nSigned-off-by: it", "angle bracket"),
        ("Eve\x00", "eve@example.gov.uk", "control character"),
        ("Eve", "eve@example.gov.uk\r", "line break"),
        ("", "eve@example.gov.uk", "name is missing"),
        ("   ", "eve@example.gov.uk", "name is missing"),
        ("Eve", "", "email address is missing"),
        ("Eve", "not-an-address", "must look like"),
        ("Eve", "eve @example.gov.uk", "must look like"),
        ("E" * 201, "eve@example.gov.uk", "longer than 200"),
        (None, "eve@example.gov.uk", "name is missing"),
    ],
)
def test_an_author_git_would_misrecord_is_refused(tmp_path: Path, name: Any, email: Any, reason: str) -> None:
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")

    for mode in ("direct", "review"):
        with pytest.raises(PublishingError, match=reason):
            publish(repo / "form_definitions", service(), mode, author_name=name, author_email=email)

    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "branch", "--list", "service/*") == ""
    assert not (repo / "form_definitions").exists()


def test_an_author_with_accents_and_apostrophes_is_recorded_as_typed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")

    publish(
        repo / "form_definitions",
        service(),
        "direct",
        author_name="Siân O'Brien-Łukasz",
        author_email="sian@example.gov.uk",
    )

    assert git(repo, "log", "-1", "--format=%an <%ae>") == "Siân O'Brien-Łukasz <sian@example.gov.uk>"

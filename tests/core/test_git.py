"""runtime/git.py's batch readers (issue 15's release benchmark: read_source started two git
processes per file): blob ids without git, one ls-tree, one cat-file --batch, one streamed git log;
against a real repository, with hostile file names."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from runtime import git as gitmod
from tests.builder.test_publishing import git, isolated_git, make_repo  # noqa: F401 - isolated_git is a fixture

pytestmark = pytest.mark.usefixtures("isolated_git")

HOSTILE = ["form_definitions/with space.json", "form_definitions/new\nline.json", "form_definitions/café-ü.json"]


def write(repo: Path, name: str, text: str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def per_file_last_commit(repo: Path, commit: str, path: str) -> str:
    """What read_source asked git before: one ``git log -1`` per file."""
    done = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%H", commit, "--", path], capture_output=True)
    return done.stdout.decode().strip()


@pytest.mark.parametrize("data", [b"", b"{}\n", "café\n".encode(), bytes(range(256)) * 40])
def test_blob_id_is_git_hash_object(tmp_path: Path, data: bytes) -> None:
    repo = make_repo(tmp_path / "r")
    (repo / "f").write_bytes(data)
    assert gitmod.blob_id(data) == git(repo, "hash-object", "f")


def test_tree_blobs_and_read_blobs_read_a_folder_in_two_processes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    contents = {name: f'{{"n": "{i}"}}\n' for i, name in enumerate([*HOSTILE, "form_definitions/roads/pothole.json"])}
    for name, text in contents.items():
        write(repo, name, text)
    write(repo, "form_definitions/notes.txt", "not a definition")
    write(repo, "elsewhere/other.json", "{}")
    head = commit_all(repo, "Definitions")

    blobs = gitmod.tree_blobs(repo, head, "form_definitions")
    assert set(blobs) == set(contents)  # .json only, under the folder only, names exactly as stored
    for name, blob in blobs.items():
        assert blob == gitmod.blob_id(contents[name].encode())

    missing = "0" * 40
    read = gitmod.read_blobs(repo, [*blobs.values(), missing, "not-an-id"])
    assert missing not in read and "not-an-id" not in read
    assert {name: read[blob].decode() for name, blob in blobs.items()} == contents
    assert gitmod.read_blobs(repo, []) == {}
    assert gitmod.files_at(repo, head, "form_definitions") == {n: t.encode() for n, t in contents.items()}
    assert gitmod.tree_blobs(repo, head, "no-such-folder") == {}


def test_read_blobs_keeps_bytes_with_newlines_and_empty_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    write(repo, "a.json", "")
    (repo / "b.json").write_bytes(b"\n\n line\r\n\x00 binary\n")
    head = commit_all(repo, "Odd files")
    blobs = gitmod.tree_blobs(repo, head, ".")
    read = gitmod.read_blobs(repo, blobs.values())
    assert read[blobs["a.json"]] == b""
    assert read[blobs["b.json"]] == b"\n\n line\r\n\x00 binary\n"


def test_last_commits_matches_git_log_per_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    write(repo, "form_definitions/old.json", "1")
    write(repo, "form_definitions/moved.json", "m")
    for name in HOSTILE:
        write(repo, name, "h")
    first = commit_all(repo, "First")
    write(repo, "form_definitions/other.json", "2")
    second = commit_all(repo, "Second")
    (repo / "form_definitions/roads").mkdir()
    git(repo, "mv", "form_definitions/moved.json", "form_definitions/roads/moved.json")
    moved = commit_all(repo, "Move a file into a department folder")
    write(repo, "form_definitions/with space.json", "changed")
    write(repo, "outside.json", "not in the folder")
    last = commit_all(repo, "Change one hostile name, and a file outside")

    names = list(gitmod.tree_blobs(repo, last, "form_definitions"))
    found = gitmod.last_commits(repo, last, names, "form_definitions")
    assert found == {name: per_file_last_commit(repo, last, name) for name in names}
    assert found["form_definitions/old.json"] == first  # changed only in an older commit
    assert found["form_definitions/other.json"] == second
    assert found["form_definitions/roads/moved.json"] == moved  # a move is a change of the new path
    assert found["form_definitions/with space.json"] == last
    assert found["form_definitions/new\nline.json"] == found["form_definitions/café-ü.json"] == first

    # At an older commit, and with the blob each path must have been left with.
    at_first = gitmod.tree_blobs(repo, first, "form_definitions")
    assert gitmod.last_commits(repo, first, at_first, "form_definitions") == dict.fromkeys(at_first, first)
    assert gitmod.last_commits(repo, last, {"form_definitions/old.json": "0" * 40}, "form_definitions") == {}
    assert gitmod.last_commits(repo, last, ["form_definitions/never.json"], "form_definitions") == {}
    assert gitmod.last_commits(repo, last, [], "form_definitions") == {}


def commit_dated(repo: Path, message: str, date: str) -> str:
    git(repo, "add", "-A")
    env = {**os.environ, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
    subprocess.run(["git", "-C", str(repo), "commit", "--quiet", "-m", message], env=env, check=True)
    return git(repo, "rev-parse", "HEAD")


def test_last_commits_passes_over_a_side_branch_change_the_merge_did_not_keep(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    write(repo, "defs/a.json", "1")
    write(repo, "defs/b.json", "1")
    commit_dated(repo, "Start", "2026-01-01T10:00:00Z")
    git(repo, "branch", "side")
    write(repo, "defs/a.json", "main")
    kept = commit_dated(repo, "Main changes a", "2026-01-02T10:00:00Z")
    git(repo, "checkout", "--quiet", "side")
    write(repo, "defs/a.json", "side")
    write(repo, "defs/b.json", "side")
    side = commit_dated(repo, "Side changes both, later", "2026-01-03T10:00:00Z")
    git(repo, "checkout", "--quiet", "main")
    git(repo, "merge", "--quiet", "--no-edit", "-X", "ours", "side")  # keeps main's a, takes side's b
    head = git(repo, "rev-parse", "HEAD")

    blobs = gitmod.tree_blobs(repo, head, "defs")
    found = gitmod.last_commits(repo, head, blobs, "defs")
    assert found["defs/a.json"] == kept == per_file_last_commit(repo, head, "defs/a.json")
    assert found["defs/b.json"] == side == per_file_last_commit(repo, head, "defs/b.json")
    # Without the blobs, the side branch's newer change of a.json (which the merge dropped) would be taken.
    assert gitmod.last_commits(repo, head, list(blobs), "defs")["defs/a.json"] == side


def test_last_commits_stops_reading_once_every_path_is_found(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r")
    write(repo, "defs/a.json", "0")
    commit_all(repo, "Start")
    for i in range(1, 30):
        write(repo, "defs/a.json", str(i))
        commit_all(repo, f"Change {i}")
    head = git(repo, "rev-parse", "HEAD")
    assert gitmod.last_commits(repo, head, ["defs/a.json"], "defs") == {"defs/a.json": head}

"""Review mode in the builder's own clone (builder/publishing.py with a GitConfig): branches from the
configured base as fetched from the remote, pushed to a bare repository made in the test, signed
commits, co-author trailers, refused pushes and two publishes at once. Real git throughout."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from builder.publishing import (
    AlreadyInReview,
    GitConfig,
    PublishingError,
    PublishOutcome,
    base_file,
    publish_file,
    read_base,
    review_status,
)
from runtime.definition import dumps
from tests.builder.test_publishing import AUTHOR, SUMMARY, git, isolated_git, make_repo, service  # noqa: F401

BRANCH = "service/missed-bin-collection-v2"
FILE = "form_definitions/missed-bin-collection.json"


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """IT's repository: a bare repository whose main holds version 1 of the service."""
    seed = make_repo(tmp_path / "seed")
    (seed / "form_definitions").mkdir()
    (seed / FILE).write_text(dumps(service(version=1)))
    git(seed, "add", FILE)
    git(seed, "commit", "--quiet", "-m", "Version 1")
    bare = tmp_path / "it.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(seed), str(bare))
    return bare


def config(tmp_path: Path, remote: Path | str, **changes: Any) -> GitConfig:
    settings: dict[str, Any] = {
        "mode": "review",
        "folder": tmp_path / "live" / "form_definitions",
        "workdir": tmp_path / "instance" / "git-working-copy",
        "remote": str(remote),
    }
    return GitConfig(**{**settings, **changes})


def publish(cfg: GitConfig, doc: dict[str, Any], **extra: Any) -> PublishOutcome:
    return publish_file(folder=cfg.folder, doc=doc, mode=cfg.mode, git=cfg, **{"message": SUMMARY, **AUTHOR, **extra})


def add_to_main(remote: Path, tmp_path: Path, relative: str, text: str, message: str) -> str:
    """IT commits on main in their own clone and pushes."""
    clone = tmp_path / f"it-clone-{len(list(tmp_path.iterdir()))}"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    git(clone, "config", "user.name", "IT Lead")
    git(clone, "config", "user.email", "it.lead@example.gov.uk")
    (clone / relative).parent.mkdir(parents=True, exist_ok=True)
    (clone / relative).write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "-m", message)
    git(clone, "push", "--quiet", "origin", "HEAD:main")
    return git(clone, "rev-parse", "HEAD")


def it_moves_into_a_department_folder(remote: Path, tmp_path: Path, department: str) -> None:
    """IT moves the service's file into ``form_definitions/<department>/`` on main and pushes."""
    clone = tmp_path / f"layout-{department}"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    git(clone, "config", "user.name", "IT Lead")
    git(clone, "config", "user.email", "it.lead@example.gov.uk")
    (clone / "form_definitions" / department).mkdir()
    git(clone, "mv", FILE, f"form_definitions/{department}/missed-bin-collection.json")
    git(clone, "commit", "--quiet", "-m", "Department folders")
    git(clone, "push", "--quiet", "origin", "HEAD:main")


# -- finding 2: the branch starts from the base, never from what the server has checked out ----------


def test_a_branch_starts_from_the_fetched_base_not_the_servers_checked_out_branch(tmp_path: Path) -> None:
    # The server's checkout is the repository (no separate remote), on a branch with an unreviewed commit.
    server = make_repo(tmp_path / "server")
    folder = server / "form_definitions"
    folder.mkdir()
    (folder / "missed-bin-collection.json").write_text(dumps(service(version=1)))
    git(server, "add", "-A")
    git(server, "commit", "--quiet", "-m", "Version 1")
    main = git(server, "rev-parse", "main")
    git(server, "checkout", "--quiet", "-b", "experiment")
    (server / "unreviewed.txt").write_text("not reviewed by anyone\n")
    git(server, "add", "unreviewed.txt")
    git(server, "commit", "--quiet", "-m", "Unreviewed change")
    cfg = GitConfig(mode="review", folder=folder, workdir=tmp_path / "instance" / "git-working-copy")

    outcome = publish(cfg, service(version=2))

    assert outcome.branch == BRANCH and outcome.live is False
    assert git(server, "rev-parse", f"{BRANCH}^") == main, "the branch's parent is main's tip"
    assert git(server, "ls-tree", "--name-only", "-r", BRANCH).splitlines() == [
        "README.md",
        "form_definitions/missed-bin-collection.json",
    ], "the unreviewed commit does not ride along"
    assert git(server, "symbolic-ref", "--short", "HEAD") == "experiment", "the server's checkout is untouched"
    assert git(server, "status", "--porcelain") == ""


def test_the_branch_starts_from_the_base_as_fetched_now_and_keeps_its_edits(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)
    publish(cfg, service(version=2, title="First"))  # makes the clone
    it_commit = add_to_main(
        remote, tmp_path, "CODEOWNERS", "form_definitions/ @council/it\n", "IT: code owners after the clone was made"
    )

    outcome = publish(cfg, service(version=3))

    assert git(remote, "rev-parse", f"{outcome.branch}^") == it_commit
    assert git(remote, "show", f"{outcome.branch}:{FILE}") + "\n" == dumps(service(version=3))


def test_a_configured_base_other_than_main(remote: Path, tmp_path: Path) -> None:
    git(remote, "branch", "release", "main")
    add_to_main(remote, tmp_path, "later.txt", "on main only\n", "Main moves on")
    cfg = config(tmp_path, remote, base="release")

    outcome = publish(cfg, service(version=2))

    assert git(remote, "rev-parse", f"{outcome.branch}^") == git(remote, "rev-parse", "release")


def test_a_base_branch_the_remote_does_not_have_is_named(remote: Path, tmp_path: Path) -> None:
    with pytest.raises(
        PublishingError, match=r"The base branch trunk \(CIVICFORMS_GIT_BASE\) is not in the repository"
    ):
        publish(config(tmp_path, remote, base="trunk"), service(version=2))


# -- the push ---------------------------------------------------------------------------------------


def test_publishing_pushes_the_branch_with_the_staff_member_as_author(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)

    outcome = publish(cfg, service(version=2, title="Report a missed bin"))

    assert outcome.mode == "review" and outcome.branch == BRANCH and not outcome.live
    assert outcome.path == cfg.folder / "missed-bin-collection.json"
    assert git(remote, "rev-parse", BRANCH) == outcome.commit
    assert git(remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", BRANCH) == (
        "Asha Patel <asha.patel@example.gov.uk>|Civic Forms builder <builder@localhost>|"
        "Publish Report a missed bin version 2"
    )
    assert git(remote, "diff", "--name-only", "main", BRANCH) == FILE
    assert not (tmp_path / "live").exists(), "the definitions folder is not written in review mode"
    assert git(cfg.workdir, "config", "--get", "civicforms.workingcopy") == "true"


def test_a_file_in_a_department_folder_is_updated_where_it_is(remote: Path, tmp_path: Path) -> None:
    it_moves_into_a_department_folder(remote, tmp_path, "waste")
    cfg = config(tmp_path, remote)

    outcome = publish(cfg, service(version=2))

    assert git(remote, "diff", "--name-only", "main", BRANCH) == "form_definitions/waste/missed-bin-collection.json"
    assert outcome.path == cfg.folder / "waste" / "missed-bin-collection.json"
    found = base_file(cfg, "missed-bin-collection")
    assert found is not None and found.path == "form_definitions/waste/missed-bin-collection.json"
    assert found.doc["version"] == 1


def test_a_remote_that_refuses_the_push_is_named_and_no_branch_is_left(remote: Path, tmp_path: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'Branches need a ticket number' >&2\nexit 1\n")
    hook.chmod(0o755)
    cfg = config(tmp_path, remote)

    with pytest.raises(PublishingError) as refused:
        publish(cfg, service(version=2))

    message = str(refused.value)
    assert message.startswith(f"The repository {remote} refused the branch {BRANCH} (pre-receive hook declined)")
    assert "nothing was sent for review" in message and "Branches need a ticket number" in message
    assert git(cfg.workdir, "for-each-ref", "refs/heads/service") == "", "no local branch is left"
    assert git(remote, "for-each-ref", "refs/heads/service") == ""

    hook.unlink()
    assert publish(cfg, service(version=2)).branch == BRANCH, "a retry works"


def test_a_remote_that_cannot_be_reached_is_named(tmp_path: Path) -> None:
    cfg = config(tmp_path, tmp_path / "nowhere.git")

    with pytest.raises(PublishingError, match=r"Could not clone .*nowhere\.git into the builder's working copy"):
        publish(cfg, service(version=2))


def test_a_version_already_in_review_gets_a_clear_message(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)
    first = publish(cfg, service(version=2))

    with pytest.raises(AlreadyInReview) as again:
        publish(cfg, service(version=2, title="Changed"), author_name="Ben Okafor", author_email="ben@example.gov.uk")

    assert str(again.value).startswith(
        f"Version 2 of Changed was sent for review a moment ago by Asha Patel (branch {BRANCH})"
    )
    assert again.value.commit == first.commit
    assert git(remote, "rev-parse", BRANCH) == first.commit


def test_two_publishes_at_once_make_one_branch_and_one_clear_message(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)
    publish(cfg, service(version=2))  # the clone exists, so both threads race on the branch itself
    outcomes: list[Any] = []
    start = threading.Barrier(2)

    def click(name: str, email: str) -> None:
        start.wait()
        try:
            outcomes.append(
                publish(cfg, service(version=3), author_name=name, author_email=email, message=["Reworded"])
            )
        except PublishingError as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=click, args=("Asha Patel", "asha.patel@example.gov.uk")),
        threading.Thread(target=click, args=("Ben Okafor", "ben@example.gov.uk")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    published = [o for o in outcomes if isinstance(o, PublishOutcome)]
    refused = [o for o in outcomes if isinstance(o, PublishingError)]
    assert len(published) == 1 and len(refused) == 1, outcomes
    winner = git(remote, "log", "-1", "--format=%an", "service/missed-bin-collection-v3")
    assert str(refused[0]).startswith(
        "Version 3 of Report a missed bin collection was sent for review a moment ago by " + winner
    )
    assert "lock" not in str(refused[0]) and "fatal" not in str(refused[0])
    assert git(remote, "for-each-ref", "--format=%(refname)", "refs/heads/service").splitlines() == [
        f"refs/heads/{BRANCH}",
        "refs/heads/service/missed-bin-collection-v3",
    ]


def test_a_folder_the_builder_did_not_make_is_never_used_as_its_clone(remote: Path, tmp_path: Path) -> None:
    checkout = make_repo(tmp_path / "server-checkout")
    cfg = config(tmp_path, remote, workdir=checkout)

    with pytest.raises(PublishingError, match="is not the builder's working copy"):
        publish(cfg, service(version=2))

    assert git(checkout, "for-each-ref", "refs/heads/service") == ""


# -- co-authors and signing ---------------------------------------------------------------------------


def test_co_authors_get_trailers_once_each_and_never_the_author(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)

    publish(
        cfg,
        service(version=2),
        co_authors=[
            ("Ben Okafor", "ben@example.gov.uk"),
            ("Asha Patel", "Asha.Patel@example.gov.uk"),
            ("Ben O.", "ben@example.gov.uk"),
            ("Chloé O'Neill", "chloe@example.gov.uk"),
        ],
    )

    trailers = git(remote, "log", "-1", "--format=%(trailers:key=Co-authored-by,valueonly)", BRANCH)
    assert trailers.splitlines() == ["Ben Okafor <ben@example.gov.uk>", "Chloé O'Neill <chloe@example.gov.uk>"]
    body = git(remote, "log", "-1", "--format=%B", BRANCH)
    assert body.startswith("Publish Report a missed bin collection version 2\n\n- Added question")


@pytest.mark.parametrize(
    "co_author", [("Eve", "eve@example.gov.uk>\nCo-authored-by: x <y@z>"), ("", "a@b.c"), ("Eve",)]
)
def test_a_co_author_git_would_misrecord_is_refused(remote: Path, tmp_path: Path, co_author: Any) -> None:
    with pytest.raises(PublishingError):
        publish(config(tmp_path, remote), service(version=2), co_authors=[co_author])
    assert git(remote, "for-each-ref", "refs/heads/service") == ""


def ssh_key(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "keys" / "builder"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "builder", "-f", str(key)], check=True)
    allowed = tmp_path / "keys" / "allowed_signers"
    allowed.write_text("builder@localhost " + key.with_suffix(".pub").read_text())
    return key, allowed


def test_a_signed_commit_verifies_with_the_builders_key(remote: Path, tmp_path: Path) -> None:
    key, allowed = ssh_key(tmp_path)
    cfg = config(tmp_path, remote, signing_key=key)

    outcome = publish(cfg, service(version=2))

    checked = subprocess.run(
        ["git", "-C", str(remote), "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", str(outcome.commit)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert 'Good "git" signature for builder@localhost' in checked.stderr


def test_an_unsigned_commit_does_not_verify(remote: Path, tmp_path: Path) -> None:
    _, allowed = ssh_key(tmp_path)
    outcome = publish(config(tmp_path, remote), service(version=2))
    checked = subprocess.run(
        ["git", "-C", str(remote), "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", str(outcome.commit)],
        capture_output=True,
    )
    assert checked.returncode != 0


def test_direct_commits_are_signed_too(tmp_path: Path) -> None:
    key, allowed = ssh_key(tmp_path)
    repo = make_repo(tmp_path / "server")
    cfg = GitConfig(mode="direct", folder=repo / "form_definitions", workdir=tmp_path / "wc", signing_key=key)

    outcome = publish(cfg, service(version=1))

    assert outcome.live and outcome.commit == git(repo, "rev-parse", "HEAD")
    git(repo, "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", "HEAD")


def test_a_signing_key_that_is_not_a_key_is_reported(remote: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-key"
    bogus.write_text("hello\n")
    with pytest.raises(PublishingError, match="Could not make the commit signed with"):
        publish(config(tmp_path, remote, signing_key=bogus), service(version=2))
    assert git(remote, "for-each-ref", "refs/heads/service") == ""


# -- what is live in git, and following the review -----------------------------------------------------


def test_read_base_is_the_base_branch_as_fetched_now(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)
    assert read_base(cfg, "missed-bin-collection") == service(version=1)
    it_version = service(version=2, title="IT's title")
    add_to_main(remote, tmp_path, FILE, dumps(it_version), "IT: version 2")

    assert read_base(cfg, "missed-bin-collection") == it_version
    found = base_file(cfg, "missed-bin-collection")
    assert found is not None and found.commit == git(remote, "rev-parse", "main") and found.path == FILE
    assert read_base(cfg, "no-such-service") is None


def test_read_base_names_a_file_that_is_not_json(remote: Path, tmp_path: Path) -> None:
    add_to_main(remote, tmp_path, FILE, "{ not json", "Broken")
    with pytest.raises(PublishingError, match=r"form_definitions/missed-bin-collection.json on main is not valid JSON"):
        read_base(config(tmp_path, remote), "missed-bin-collection")


def test_read_base_refuses_a_service_in_two_places(remote: Path, tmp_path: Path) -> None:
    add_to_main(remote, tmp_path, "form_definitions/waste/missed-bin-collection.json", "{}", "A copy")
    with pytest.raises(PublishingError, match="has more than one file on main"):
        read_base(config(tmp_path, remote), "missed-bin-collection")


def test_read_base_in_direct_mode_is_the_folder_flat_or_in_a_department(tmp_path: Path) -> None:
    folder = tmp_path / "form_definitions"
    cfg = GitConfig(mode="direct", folder=folder, workdir=tmp_path / "wc")
    assert read_base(cfg, "missed-bin-collection") is None
    (folder / "waste").mkdir(parents=True)
    (folder / "waste" / "missed-bin-collection.json").write_text(json.dumps(service(version=4)))
    assert read_base(cfg, "missed-bin-collection") == service(version=4)
    with pytest.raises(PublishingError, match="not valid"):
        read_base(cfg, "../etc")


def test_review_status_judges_merged_against_the_fetched_base(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)
    outcome = publish(cfg, service(version=2))
    assert review_status(cfg.folder, BRANCH, cfg) == "waiting"

    # IT merges on main in their own clone, and deletes the branch, as GitHub does after a merge.
    clone = tmp_path / "merge"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    git(clone, "merge", "--quiet", "--ff-only", f"origin/{BRANCH}")
    git(clone, "push", "--quiet", "origin", "HEAD:main", f":{BRANCH}")

    assert review_status(cfg.folder, BRANCH, cfg) == "merged"
    assert outcome.commit is not None


def test_review_status_of_a_squash_merge_and_of_a_branch_deleted_unmerged(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)
    publish(cfg, service(version=2))
    add_to_main(remote, tmp_path, FILE, dumps(service(version=2)), "Squashed: version 2")
    assert review_status(cfg.folder, BRANCH, cfg) == "merged"

    publish(cfg, service(version=3))
    git(remote, "branch", "-D", "service/missed-bin-collection-v3")
    assert review_status(cfg.folder, "service/missed-bin-collection-v3", cfg) == "missing"
    assert review_status(cfg.folder, "service/missed-bin-collection-v9", cfg) == "missing"


def test_direct_updates_a_file_in_a_department_folder_where_it_is(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "server")
    folder = repo / "form_definitions"
    (folder / "waste").mkdir(parents=True)
    (folder / "waste" / "missed-bin-collection.json").write_text(dumps(service(version=1)))
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "Version 1")
    cfg = GitConfig(mode="direct", folder=folder, workdir=tmp_path / "wc")

    outcome = publish(cfg, service(version=2))

    assert outcome.path == folder / "waste" / "missed-bin-collection.json"
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == "form_definitions/waste/missed-bin-collection.json"
    assert not (folder / "missed-bin-collection.json").exists()


def test_a_version_merged_and_its_branch_deleted_is_not_sent_again(remote: Path, tmp_path: Path) -> None:
    cfg = config(tmp_path, remote)
    first = publish(cfg, service(version=2))
    clone = tmp_path / "merge"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    git(clone, "merge", "--quiet", "--ff-only", f"origin/{BRANCH}")
    git(clone, "push", "--quiet", "origin", "HEAD:main", f":{BRANCH}")

    with pytest.raises(AlreadyInReview, match="Version 2 of Again was sent for review a moment ago by Asha Patel"):
        publish(cfg, service(version=2, title="Again"))

    assert git(remote, "for-each-ref", "refs/heads/service") == ""
    assert git(remote, "rev-parse", "main") == first.commit


def test_a_new_service_goes_in_its_departments_folder_when_the_folder_is_laid_out_so(
    remote: Path, tmp_path: Path
) -> None:
    """With department folders (for CODEOWNERS), a new service's first branch puts its file where its
    department's reviewers own it, and civicforms validate accepts it there."""
    add_to_main(remote, tmp_path, "form_definitions/waste/.keep.json", "{}", "unrelated")  # hidden: not a layout
    cfg = config(tmp_path, remote)
    flat = publish(cfg, {**service(version=1), "id": "fly-tipping", "reference_prefix": "FLY"})
    assert flat.path == cfg.folder / "fly-tipping.json"

    it_moves_into_a_department_folder(remote, tmp_path, "waste-and-recycling")

    doc = {**service(version=1), "id": "bulky-waste", "reference_prefix": "BLK", "department": "Waste and Recycling"}
    outcome = publish(cfg, doc)

    placed = "form_definitions/waste-and-recycling/bulky-waste.json"
    assert git(remote, "diff", "--name-only", "main", "service/bulky-waste-v1") == placed
    assert outcome.path == cfg.folder / "waste-and-recycling" / "bulky-waste.json"


def test_direct_puts_a_new_service_in_its_departments_folder_when_the_folder_is_laid_out_so(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "server")
    folder = repo / "form_definitions"
    (folder / "waste-and-recycling").mkdir(parents=True)
    (folder / "waste-and-recycling" / "missed-bin-collection.json").write_text(dumps(service(version=1)))
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "Version 1")
    cfg = GitConfig(mode="direct", folder=folder, workdir=tmp_path / "wc")
    doc = {**service(version=1), "id": "bulky-waste", "reference_prefix": "BLK", "department": "Waste and Recycling"}

    outcome = publish(cfg, doc)

    assert outcome.path == folder / "waste-and-recycling" / "bulky-waste.json"
    assert (
        git(repo, "show", "--name-only", "--format=", "HEAD") == "form_definitions/waste-and-recycling/bulky-waste.json"
    )

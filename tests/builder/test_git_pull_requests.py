"""Opening a pull request (GitHub) or merge request (GitLab) after pushing a review branch.

No GitHub or GitLab server (nor a compatible one such as Gitea or Forgejo) can run on this machine,
so these tests check the request the builder would send, what it does with the commit's subject and
summary, and that a failure after the push keeps the pushed branch and says so. They do not imitate
either API with a fake server."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from builder import publishing
from builder.publishing import GitConfig, PublishingError, pull_request_request
from tests.builder.test_git_review import BRANCH, config, publish, remote  # noqa: F401 - remote is a fixture
from tests.builder.test_publishing import git, isolated_git, service  # noqa: F401 - isolated_git is a fixture

GITHUB = {
    "pull_requests": "github",
    "api_url": "https://api.github.com",
    "api_project": "council/forms",
    "api_token": "ghp_token",
}
GITLAB = {
    "pull_requests": "gitlab",
    "api_url": "https://gitlab.example.gov.uk/api/v4/",
    "api_project": "digital/civic-forms",
    "api_token": "glpat-token",
}


def made(tmp_path: Path, **changes: Any) -> GitConfig:
    return GitConfig(folder=tmp_path / "defs", workdir=tmp_path / "wc", remote="/srv/git/forms.git", **changes)


def test_a_github_pull_request_is_a_post_to_the_repositorys_pulls(tmp_path: Path) -> None:
    request = pull_request_request(
        made(tmp_path, base="release", **GITHUB), branch=BRANCH, title="Publish X version 2", body="- Changed"
    )

    assert request.get_method() == "POST"
    assert request.full_url == "https://api.github.com/repos/council/forms/pulls"
    assert request.get_header("Authorization") == "Bearer ghp_token"
    assert request.get_header("Accept") == "application/vnd.github+json"
    assert request.get_header("Content-type") == "application/json"
    assert json.loads(request.data) == {  # type: ignore[arg-type]
        "head": BRANCH,
        "base": "release",
        "title": "Publish X version 2",
        "body": "- Changed",
    }


def test_a_gitlab_merge_request_is_a_post_to_the_projects_merge_requests(tmp_path: Path) -> None:
    request = pull_request_request(made(tmp_path, **GITLAB), branch=BRANCH, title="Publish X version 2", body="- A")

    assert request.full_url == "https://gitlab.example.gov.uk/api/v4/projects/digital%2Fcivic-forms/merge_requests"
    assert request.get_header("Private-token") == "glpat-token"
    assert request.get_header("Authorization") is None
    assert json.loads(request.data) == {  # type: ignore[arg-type]
        "source_branch": BRANCH,
        "target_branch": "main",
        "title": "Publish X version 2",
        "description": "- A",
    }


def test_without_pull_requests_configured_there_is_no_request(tmp_path: Path) -> None:
    with pytest.raises(PublishingError, match="No pull requests are configured"):
        pull_request_request(made(tmp_path), branch=BRANCH, title="t", body="b")


def test_the_request_carries_the_commits_subject_and_summary(
    remote: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: dict[str, Any] = {}

    def opened(cfg: GitConfig, *, branch: str, title: str, body: str) -> str:
        sent.update(branch=branch, title=title, body=body)
        return "https://github.com/council/forms/pull/7"

    monkeypatch.setattr(publishing, "open_pull_request", opened)

    outcome = publish(config(tmp_path, remote, **GITHUB), service(version=2))

    assert outcome.pull_request == "https://github.com/council/forms/pull/7" and outcome.warning is None
    assert sent["branch"] == BRANCH
    assert sent["title"] == "Publish Report a missed bin collection version 2"
    assert sent["body"] == git(remote, "log", "-1", "--format=%b", BRANCH).strip()
    assert sent["body"].startswith("- Added question 'What colour is your front door?'")


def test_a_pull_request_that_cannot_be_opened_leaves_the_pushed_branch_and_says_so(
    remote: Path,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = config(tmp_path, remote, **{**GITHUB, "api_url": f"http://127.0.0.1:{port}"})

    outcome = publish(cfg, service(version=2))

    assert outcome.branch == BRANCH and outcome.pull_request is None
    assert git(remote, "rev-parse", BRANCH) == outcome.commit, "the branch stays pushed"
    assert outcome.warning is not None
    assert outcome.warning.startswith(
        f"The branch {BRANCH} was pushed to {remote}, but the pull request could not be opened: "
        f"GitHub could not be reached at http://127.0.0.1:{port}"
    )
    assert "ghp_token" not in outcome.warning

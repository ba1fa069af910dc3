"""The git settings (CIVICFORMS_GIT_*): defaults, GitConfig.from_settings, and values refused with a
message naming the variable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from builder.publishing import GitConfig, PublishingError
from runtime.settings import SettingsError, from_environment

REVIEW = {
    "CIVICFORMS_PUBLISH_MODE": "review",
    "CIVICFORMS_GIT_REMOTE": "git@github.com:council/forms.git",
    "CIVICFORMS_GIT_PULL_REQUESTS": "github",
    "CIVICFORMS_GIT_API_PROJECT": "council/forms",
    "CIVICFORMS_GIT_API_TOKEN": "ghp_secret_token_value",
}


def settings_from(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return from_environment(
        {
            "CIVICFORMS_SECRET_KEY": "x" * 40,
            "CIVICFORMS_INSTANCE_DIR": str(tmp_path / "instance"),
            "CIVICFORMS_DEFINITIONS_DIR": str(tmp_path / "form_definitions"),
            **env,
        }
    )


def test_defaults_are_main_the_folders_own_repository_and_a_clone_in_the_instance_folder(tmp_path: Path) -> None:
    settings = settings_from(tmp_path)
    config = GitConfig.from_settings(settings)

    assert (settings.git_base, settings.git_remote, settings.git_pull_requests) == ("main", "", "")
    assert config.workdir == tmp_path / "instance" / "git-working-copy"
    assert config.mode == "direct" and config.folder == tmp_path / "form_definitions"
    assert config.signing_key is None


def test_a_github_review_setup_is_read_and_its_token_never_shown(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, **REVIEW, CIVICFORMS_GIT_BASE="release/2026")
    config = GitConfig.from_settings(settings)

    assert config.mode == "review" and config.base == "release/2026"
    assert config.api_url == "https://api.github.com" and config.api_project == "council/forms"
    assert config.api_token == "ghp_secret_token_value"
    assert "ghp_secret" not in repr(config) and "ghp_secret" not in repr(settings)


def test_gitlab_has_its_own_default_api(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path, **{**REVIEW, "CIVICFORMS_GIT_PULL_REQUESTS": "gitlab", "CIVICFORMS_GIT_API_PROJECT": "42"}
    )
    assert settings.git_api_url == "https://gitlab.com/api/v4"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CIVICFORMS_GIT_BASE": "--upload-pack=x"}, "CIVICFORMS_GIT_BASE must be a branch name like main"),
        ({"CIVICFORMS_GIT_BASE": "main..evil"}, "CIVICFORMS_GIT_BASE must be a branch name"),
        ({"CIVICFORMS_GIT_BASE": "main~1"}, "CIVICFORMS_GIT_BASE must be a branch name"),
        ({"CIVICFORMS_GIT_BASE": "heads/x.lock"}, "CIVICFORMS_GIT_BASE must be a branch name"),
        ({"CIVICFORMS_GIT_REMOTE": "--upload-pack=touch /tmp/x"}, "CIVICFORMS_GIT_REMOTE must be one repository"),
        ({"CIVICFORMS_GIT_REMOTE": "--upload-pack=x"}, "CIVICFORMS_GIT_REMOTE must be a repository URL"),
        ({"CIVICFORMS_GIT_REMOTE": "ext::sh -c touch% /tmp/pwned"}, "CIVICFORMS_GIT_REMOTE must be one repository"),
        ({"CIVICFORMS_GIT_REMOTE": "ext::sh"}, "CIVICFORMS_GIT_REMOTE must be a repository URL"),
        ({"CIVICFORMS_GIT_REMOTE": "relative/path.git"}, "CIVICFORMS_GIT_REMOTE must be a repository URL"),
        ({"CIVICFORMS_GIT_REMOTE": "http://git.example.gov.uk/forms.git"}, "must use https://"),
        ({"CIVICFORMS_GIT_REMOTE": "https://bot:s3cret@github.com/council/forms.git"}, "must not contain a password"),
        ({"CIVICFORMS_GIT_FOLDER": "../elsewhere"}, "CIVICFORMS_GIT_FOLDER must be a folder inside the repository"),
        ({"CIVICFORMS_GIT_WORKDIR": "{defs}/clone"}, "CIVICFORMS_GIT_WORKDIR must be a folder of its own"),
        ({"CIVICFORMS_GIT_WORKDIR": "{defs}"}, "CIVICFORMS_GIT_WORKDIR must be a folder of its own"),
        ({**REVIEW, "CIVICFORMS_GIT_PULL_REQUESTS": "bitbucket"}, "must be github, gitlab or empty"),
        ({**REVIEW, "CIVICFORMS_PUBLISH_MODE": "direct"}, "needs CIVICFORMS_PUBLISH_MODE=review"),
        ({**REVIEW, "CIVICFORMS_GIT_REMOTE": ""}, "needs CIVICFORMS_GIT_REMOTE"),
        ({**REVIEW, "CIVICFORMS_GIT_API_TOKEN": ""}, "CIVICFORMS_GIT_API_TOKEN must be set"),
        ({**REVIEW, "CIVICFORMS_GIT_API_PROJECT": "council"}, "CIVICFORMS_GIT_API_PROJECT must be owner/repository"),
        ({**REVIEW, "CIVICFORMS_GIT_API_PROJECT": "../../user"}, "CIVICFORMS_GIT_API_PROJECT must be"),
        ({**REVIEW, "CIVICFORMS_GIT_API_URL": "http://github.example"}, "CIVICFORMS_GIT_API_URL must be an https://"),
        ({"CIVICFORMS_GIT_SIGNING_KEY": "{tmp}/missing-key"}, "CIVICFORMS_GIT_SIGNING_KEY: cannot read"),
        ({"CIVICFORMS_GIT_SIGNING_KEY": "{tmp}/not-a-key"}, "is not an SSH private key"),
        ({"CIVICFORMS_GIT_SIGNING_KEY": "{tmp}/loose/key"}, "can be read by other users"),
    ],
)
def test_bad_git_settings_are_refused_naming_the_variable(tmp_path: Path, env: dict[str, str], message: str) -> None:
    (tmp_path / "not-a-key").write_text("hello\n")
    (tmp_path / "loose").mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "loose" / "key")], check=True)
    (tmp_path / "loose" / "key").chmod(0o644)
    env = {k: v.format(tmp=tmp_path, defs=tmp_path / "form_definitions") for k, v in env.items()}

    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("+", r"\+")):
        settings_from(tmp_path, **env)


@pytest.mark.parametrize(
    "remote",
    [
        "https://github.com/council/forms.git",
        "ssh://git@gitlab.example.gov.uk:2222/council/forms.git",
        "git@github.com:council/forms.git",
        "/srv/git/forms.git",
        "file:///srv/git/forms.git",
        "http://127.0.0.1:3000/council/forms.git",
    ],
)
def test_repository_urls_and_paths_are_accepted(tmp_path: Path, remote: str) -> None:
    assert settings_from(tmp_path, CIVICFORMS_GIT_REMOTE=remote).git_remote == remote


def test_a_private_ssh_key_is_accepted(tmp_path: Path) -> None:
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    assert settings_from(tmp_path, CIVICFORMS_GIT_SIGNING_KEY=str(key)).git_signing_key == key


def test_a_git_config_made_by_hand_is_checked_too(tmp_path: Path) -> None:
    with pytest.raises(PublishingError, match="CIVICFORMS_GIT_BASE must be a branch name"):
        GitConfig(folder=tmp_path, workdir=tmp_path / "wc", base="-x")
    with pytest.raises(PublishingError, match="CIVICFORMS_GIT_REMOTE must be a repository URL"):
        GitConfig(folder=tmp_path, workdir=tmp_path / "wc", remote="--upload-pack=x")

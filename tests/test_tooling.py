"""The code passes its own linters, so CI enforces what the before-stop hook reports."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from runtime.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", "--quiet", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted() -> None:
    result = run(str(BIN / "ruff"), "format", "--check", "--quiet", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_the_core() -> None:
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


LOCK = PROJECT_ROOT / "requirements.lock"


def _pyproject() -> dict[str, Any]:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _locked() -> dict[str, tuple[str, list[str]]]:
    """Each locked package's canonical name: (version, hashes), read from requirements.lock.

    The lock is universal: a package may be pinned at one version per Python range (an
    environment marker after ";"); only the pin for this interpreter counts, and at most one may.
    """
    locked: dict[str, tuple[str, list[str]]] = {}
    hashes: list[str] = []
    for line in LOCK.read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
        if pin:
            hashes = []
            if pin[3] and not Marker(pin[3]).evaluate():
                continue  # another Python's pin: its hashes are collected, then dropped
            name = canonicalize_name(pin[1])
            assert name not in locked or locked[name][0] == pin[2], f"{name} locked at two versions"
            locked[name] = (pin[2], hashes)
        elif line.strip().startswith("--hash=sha256:"):
            hashes.append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return locked


def test_every_locked_package_has_hashes() -> None:
    locked = _locked()
    assert len(locked) > 20
    for name, (_, hashes) in locked.items():
        assert hashes, f"{name} has no hash in requirements.lock"
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_the_lock_holds_every_dependency_at_a_version_pyproject_allows() -> None:
    """A dependency added to pyproject.toml without ./manage.sh lock fails here, not on a fresh install."""
    project = _pyproject()["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    locked = _locked()
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is in pyproject.toml but not in requirements.lock: run ./manage.sh lock"
        assert requirement.specifier.contains(locked[name][0], prereleases=True), (
            f"requirements.lock has {name}=={locked[name][0]}, pyproject.toml wants {requirement.specifier}"
        )


def test_the_tools_are_pinned_exactly() -> None:
    """A new ruff or mypy release must not turn CI red on its own."""
    for text in _pyproject()["project"]["optional-dependencies"]["dev"]:
        specifiers = list(Requirement(text).specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{text}: pin the dev tools with =="


@pytest.mark.parametrize("tool", ["ruff", "mypy", "pytest"])
def test_the_tools_that_judge_the_code_are_the_locked_ones(tool: str) -> None:
    """./manage.sh installs from the lock: the linters running these tests are the locked versions."""
    assert version(tool) == _locked()[tool][0]

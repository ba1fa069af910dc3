"""Publishing a service definition: the canonical file, and a commit IT can review in git.

``form_definitions/<service-id>.json`` is the source of truth IT reviews. When that folder sits
in a git work tree, a setting chooses ``direct`` (commit the file on the current branch, the
version goes live) or ``review`` (commit to a branch ``service/<id>-v<version>`` without
touching the work tree; the version goes live after IT merges it and runs ``civicforms load``).

Git is driven through its command line with argument lists (never a shell), so what the builder
does is exactly what IT could type. Every failure becomes a :class:`PublishingError` whose
message includes git's own explanation.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from runtime import git as gitcli
from runtime.definition import dumps

Mode = Literal["file", "direct", "review"]
ReviewStatus = Literal["waiting", "merged", "missing"]

# The definition schema's pattern for a service id ("id" in definition.schema.json): lower-case
# words joined by single hyphens, so an id can never name another folder or a hidden file.
SERVICE_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
SERVICE_ID_MAX_LENGTH = 60
REVIEW_BRANCH = re.compile(r"service/(?P<id>[a-z][a-z0-9]*(?:-[a-z0-9]+)*)-v(?P<version>[1-9][0-9]*)")

# The identity that commits when the repository has none configured; the staff member is
# always the author, so IT's log says who published.
FALLBACK_COMMITTER_NAME = "Civic Forms builder"
FALLBACK_COMMITTER_EMAIL = "builder@localhost"

AUTHOR_NAME_MAX_LENGTH = 200
AUTHOR_EMAIL_MAX_LENGTH = 254
# Git would silently rewrite these (or, for NUL, truncate the header), so a commit would carry
# an identity other than the one the builder showed; refuse them instead.
_IDENTITY_FORBIDDEN = re.compile(r"[<>\x00-\x1f\x7f]")


class PublishingError(Exception):
    """Publishing could not be done; the message says why in words a staff member can pass on."""


@dataclass(frozen=True)
class PublishOutcome:
    """What publishing did: where the file is, which commit and branch, and whether it is live."""

    mode: Mode
    path: Path
    commit: str | None
    branch: str | None
    live: bool


def check_service_id(service_id: Any) -> str:
    """Return ``service_id`` if it is a valid service id, else raise :class:`PublishingError`."""
    if (
        not isinstance(service_id, str)
        or len(service_id) > SERVICE_ID_MAX_LENGTH
        or not SERVICE_ID.fullmatch(service_id)
    ):
        shown = repr(service_id)[:80]
        raise PublishingError(
            f"The service id {shown} is not valid: use lower-case letters, numbers and single hyphens, "
            f"starting with a letter, at most {SERVICE_ID_MAX_LENGTH} characters"
        )
    return service_id


def definition_path(folder: Path, doc: Mapping[str, Any]) -> Path:
    """The file a definition is published to: ``folder/<id>.json``."""
    return Path(folder) / f"{check_service_id(doc.get('id'))}.json"


def write_definition(folder: Path, doc: dict[str, Any]) -> Path:
    """Write ``doc`` canonically to ``folder/<id>.json`` atomically and return the path."""
    if not isinstance(doc, dict):
        raise PublishingError("A definition must be a JSON object")
    path = definition_path(folder, doc)
    _write_atomically(path, dumps(doc).encode("utf-8"))
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old file or the new one, never half."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            # mkstemp makes the file private; keep the mode the published file had (or 0644).
            os.chmod(temp_name, mode)
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise PublishingError(f"Could not write {path}: {exc.strerror or exc}") from exc


# --- git ------------------------------------------------------------------------------------


def _run(
    repo: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    action: str = "",
) -> gitcli.Result:
    """``runtime.git.run`` with failures as :class:`PublishingError`."""
    return gitcli.run(repo, *args, stdin=stdin, env=env, check=check, action=action, error=PublishingError)


def repository_of(folder: Path) -> Path | None:
    """The top of the git work tree containing ``folder``, or None when it is not in one."""
    start = Path(folder).absolute()
    if shutil.which("git") is None:
        # Without git a folder outside any repository still publishes as a plain file; one inside
        # a repository must not, or the commit IT expects would silently not happen.
        if any((parent / ".git").exists() for parent in (start, *start.parents)):
            raise PublishingError(f"{folder} is in a git repository, but git is not installed on the server")
        return None
    # The folder may not exist yet (a first publish creates it): ask from its nearest ancestor.
    while not start.is_dir():
        if start.parent == start:
            return None
        start = start.parent
    result = _run(start, "rev-parse", "--show-toplevel", check=False)
    if result.returncode == 0 and result.stdout:
        return Path(result.stdout)
    if "not a git repository" in result.stderr or "must be run in a work tree" in result.stderr:
        return None
    # A repository git refuses to use (unsafe ownership, a broken .git) is not "no repository":
    # writing the file without committing would skip the review IT asked for.
    raise PublishingError(gitcli.failure(f"Could not use the git repository around {folder}", result))


def _relative_path(repo: Path, path: Path) -> str:
    try:
        relative = path.resolve().relative_to(repo.resolve())
    except ValueError as exc:
        raise PublishingError(f"{path} is not inside the git work tree {repo}") from exc
    return str(PurePosixPath(*relative.parts))


def _head_commit(repo: Path) -> str | None:
    result = _run(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    return result.stdout if result.returncode == 0 and result.stdout else None


def _branch_exists(repo: Path, branch: str) -> bool:
    ref = f"refs/heads/{branch}"
    return _run(repo, "rev-parse", "--verify", "--quiet", ref, check=False).returncode == 0


def _committer_env(repo: Path) -> dict[str, str]:
    """Keep the repository's own identity as committer; fall back to the builder's when none is set."""
    env: dict[str, str] = {}
    for key, variable, fallback in (
        ("user.name", "GIT_COMMITTER_NAME", FALLBACK_COMMITTER_NAME),
        ("user.email", "GIT_COMMITTER_EMAIL", FALLBACK_COMMITTER_EMAIL),
    ):
        configured = _run(repo, "config", "--get", key, check=False).stdout
        if not configured and not os.environ.get(variable):
            env[variable] = fallback
    return env


def check_author(name: Any, email: Any) -> tuple[str, str]:
    """Return the author's name and email stripped, refusing any git would rewrite or misread."""
    checked = []
    for what, value, limit in (
        ("name", name, AUTHOR_NAME_MAX_LENGTH),
        ("email address", email, AUTHOR_EMAIL_MAX_LENGTH),
    ):
        if not isinstance(value, str) or not value.strip():
            raise PublishingError(f"The author's {what} is missing, so the commit cannot say who published")
        # Checked before stripping, so a trailing line break is refused rather than quietly dropped.
        if _IDENTITY_FORBIDDEN.search(value):
            raise PublishingError(
                f"The author's {what} contains a line break, an angle bracket or a control character, "
                "which git cannot record"
            )
        value = value.strip()
        if len(value) > limit:
            raise PublishingError(f"The author's {what} is longer than {limit} characters")
        checked.append(value)
    if "@" not in checked[1] or any(c.isspace() for c in checked[1]):
        raise PublishingError("The author's email address must look like name@example.gov.uk")
    return checked[0], checked[1]


def _one_line(text: Any) -> str:
    return " ".join(str(text).replace("\x00", " ").split())


def commit_message(doc: Mapping[str, Any], summary: Sequence[str]) -> str:
    """``Publish <title> version <n>``, a blank line, then one bullet per change sentence."""
    title = _one_line(doc.get("title") or doc.get("id") or "service")
    lines = [f"Publish {title} version {doc.get('version')}"]
    bullets = [f"- {sentence}" for sentence in (_one_line(s) for s in summary) if sentence]
    if bullets:
        lines += ["", *bullets]
    return "\n".join(lines) + "\n"


def _message_text(doc: Mapping[str, Any], message: str | Sequence[str]) -> str:
    if isinstance(message, str):
        if "\x00" in message:
            raise PublishingError("The commit message contains a NUL character")
        text = "\n".join(line.rstrip() for line in message.strip().splitlines())
        return (text or commit_message(doc, []).strip()) + "\n"
    return commit_message(doc, message)


def _version_of(doc: Mapping[str, Any]) -> int:
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PublishingError(f"The definition's version must be a whole number from 1, not {version!r}")
    return version


def review_branch(doc: Mapping[str, Any]) -> str:
    """The branch a version is proposed on for review: ``service/<id>-v<version>``."""
    return f"service/{check_service_id(doc.get('id'))}-v{_version_of(doc)}"


def publish_file(
    *,
    folder: Path,
    doc: dict[str, Any],
    mode: Mode,
    author_name: str,
    author_email: str,
    message: str | Sequence[str],
) -> PublishOutcome:
    """Publish ``doc`` to ``folder`` and, when the folder is in a git work tree, commit it.

    ``message`` is either the change summary (a list of sentences, as ``runtime.changes.summarise``
    gives), made into ``Publish <title> version <n>`` and one bullet per sentence, or a complete
    commit message. ``mode`` is the setting: ``direct`` commits on the current branch and the
    version is live; ``review`` commits to ``service/<id>-v<version>`` without touching the work
    tree, and the version waits for review; ``file`` only writes the file.
    """
    if mode not in ("file", "direct", "review"):
        raise PublishingError(f"Unknown publishing mode {mode!r}: use 'direct' or 'review'")
    if not isinstance(doc, dict):
        raise PublishingError("A definition must be a JSON object")
    folder = Path(folder)
    path = definition_path(folder, doc)
    _version_of(doc)
    name, email = check_author(author_name, author_email)
    text = _message_text(doc, message)
    repo = repository_of(folder) if mode != "file" else None
    if repo is None:
        write_definition(folder, doc)
        return PublishOutcome(mode="file", path=path, commit=None, branch=None, live=True)
    if mode == "direct":
        return _publish_direct(repo, path, doc, name, email, text)
    return _publish_for_review(repo, path, doc, name, email, text)


def _publish_direct(repo: Path, path: Path, doc: dict[str, Any], name: str, email: str, text: str) -> PublishOutcome:
    branch_ref = _run(repo, "symbolic-ref", "--quiet", "HEAD", check=False)
    if branch_ref.returncode != 0:
        raise PublishingError(
            f"The git work tree {repo} is not on a branch (detached HEAD), so the builder cannot commit "
            "there. Check out a branch, or use the 'review' setting"
        )
    branch = branch_ref.stdout.removeprefix("refs/heads/")
    relative = _relative_path(repo, path)
    env = _committer_env(repo)
    data = dumps(doc).encode("utf-8")

    previous = path.read_bytes() if path.is_file() else None
    staged = _run(repo, "ls-files", "--stage", "-z", "--", relative).stdout.rstrip("\x00")
    if _head_commit(repo):
        at_head = _run(repo, "rev-parse", "--verify", "--quiet", f"HEAD:{relative}", check=False).stdout
        if at_head and at_head == _run(repo, "hash-object", "--stdin", stdin=data).stdout:
            # The branch already holds exactly this file: nothing to commit, and the version is live.
            if previous != data:
                _write_atomically(path, data)
            return PublishOutcome(mode="direct", path=path, commit=None, branch=branch, live=True)

    _write_atomically(path, data)
    try:
        _run(repo, "add", "--", relative, action=f"Could not stage {relative}")
        _run(
            repo,
            "commit",
            "--quiet",
            "--only",
            "--cleanup=whitespace",
            f"--author={name} <{email}>",
            "--file=-",
            "--",
            relative,
            stdin=text.encode("utf-8"),
            env=env,
            action=f"Could not commit {relative}",
        )
    except PublishingError:
        _undo_direct(repo, path, relative, previous, staged)
        raise
    commit = _run(repo, "rev-parse", "--verify", "HEAD").stdout
    return PublishOutcome(mode="direct", path=path, commit=commit, branch=branch, live=True)


def _undo_direct(repo: Path, path: Path, relative: str, previous: bytes | None, staged: str) -> None:
    """Put the file and its index entry back as they were, so a failed publish changes nothing."""
    try:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            _write_atomically(path, previous)
        entries = [entry for entry in staged.split("\x00") if entry]
        if len(entries) == 1:
            # "<mode> <sha> <stage>\t<path>"; a conflicted file (stages 1-3) is left as git add made it.
            mode, sha, stage = entries[0].partition("\t")[0].split(" ")
            if stage == "0":
                _run(repo, "update-index", "--cacheinfo", f"{mode},{sha},{relative}", check=False)
        elif not entries:
            _run(repo, "update-index", "--force-remove", "--", relative, check=False)
    except (OSError, PublishingError, ValueError):
        # The commit error is the one to report; the state left behind is visible in git status.
        pass


def _publish_for_review(
    repo: Path, path: Path, doc: dict[str, Any], name: str, email: str, text: str
) -> PublishOutcome:
    branch = review_branch(doc)
    if _branch_exists(repo, branch):
        raise PublishingError(
            f"The branch {branch} already exists: version {doc['version']} has been published for review once. "
            "A published version cannot change; publish the change as a new version"
        )
    relative = _relative_path(repo, path)
    head = _head_commit(repo)
    data = dumps(doc).encode("utf-8")
    env = {
        **_committer_env(repo),
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
    }
    # A private index, so neither the staff's work tree nor anything IT staged is touched.
    with tempfile.TemporaryDirectory(prefix="civicforms-index-") as temp:
        index_env = {**env, "GIT_INDEX_FILE": str(Path(temp) / "index")}
        if head:
            _run(repo, "read-tree", head, env=index_env, action="Could not read the current commit")
        blob = _run(repo, "hash-object", "-w", "--stdin", stdin=data, action="Could not store the definition")
        _run(
            repo,
            "update-index",
            "--add",
            "--cacheinfo",
            f"100644,{blob.stdout},{relative}",
            env=index_env,
            action=f"Could not add {relative}",
        )
        tree = _run(repo, "write-tree", env=index_env, action="Could not write the tree").stdout
    # With no commit yet (an empty repository) the branch starts from a root commit.
    parents = ["-p", head] if head else []
    commit = _run(
        repo,
        "commit-tree",
        tree,
        *parents,
        "-F",
        "-",
        stdin=text.encode("utf-8"),
        env=env,
        action="Could not make the commit",
    ).stdout
    # The empty old value makes git refuse if someone created the branch meanwhile.
    _run(
        repo,
        "update-ref",
        "-m",
        f"civicforms: publish {branch} for review",
        f"refs/heads/{branch}",
        commit,
        "",
        action=f"Could not create the branch {branch}",
    )
    return PublishOutcome(mode="review", path=path, commit=commit, branch=branch, live=False)


def review_status(folder: Path, branch: str) -> ReviewStatus:
    """Whether a review branch is still ``waiting``, has been ``merged`` into HEAD, or is ``missing``.

    Merged means the branch's commit is part of HEAD's history, or (for a squash merge) HEAD's
    file holds exactly the branch's version of it.
    """
    repo = repository_of(folder)
    if repo is None:
        raise PublishingError(f"{folder} is not in a git repository, so there is no review to follow")
    if not isinstance(branch, str) or not REVIEW_BRANCH.fullmatch(branch):
        raise PublishingError(f"{branch!r} is not a review branch (service/<id>-v<version>)")
    ref = f"refs/heads/{branch}"
    tip = _run(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if tip.returncode != 0:
        return "missing"
    head = _head_commit(repo)
    if head is None:
        return "waiting"
    ancestor = _run(repo, "merge-base", "--is-ancestor", tip.stdout, head, check=False)
    if ancestor.returncode == 0:
        return "merged"
    if ancestor.returncode != 1:
        raise PublishingError(gitcli.failure(f"Could not compare {branch} with the current commit", ancestor))
    match = REVIEW_BRANCH.fullmatch(branch)
    assert match is not None
    relative = _relative_path(repo, Path(folder) / f"{match['id']}.json")
    proposed = _run(repo, "rev-parse", "--verify", "--quiet", f"{tip.stdout}:{relative}", check=False)
    current = _run(repo, "rev-parse", "--verify", "--quiet", f"{head}:{relative}", check=False)
    if proposed.returncode == 0 and current.returncode == 0 and proposed.stdout == current.stdout:
        return "merged"
    return "waiting"

"""Publishing a service definition: the canonical file, and a commit IT can review in git.

``form_definitions/<service-id>.json`` (or ``form_definitions/<department>/<service-id>.json``) is
the source of truth IT reviews. When that folder sits in a git work tree, a setting chooses
``direct`` (commit the file on the current branch, the version goes live) or ``review`` (commit to
a branch ``service/<id>-v<version>``; the version goes live after IT merges it and runs
``civicforms load``).

With a :class:`GitConfig` (the ``CIVICFORMS_GIT_*`` settings), review happens in the builder's own
clone of the remote IT reviews in (never the server's checkout): the base branch is fetched, the
branch starts from its tip, the commit is signed when a key is configured, the branch is pushed,
and a pull or merge request is opened when configured. One publish at a time holds the clone's
lock, so two at once give one branch and a clear message.

Git is driven through ``runtime.git.run`` with argument lists (never a shell), so what the builder
does is exactly what IT could type. Every failure becomes a :class:`PublishingError` whose
message says what failed in words, then quotes git's own explanation.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from runtime import git as gitcli
from runtime.definition import DEFINITIONS_FOLDER_NAME, dumps
from runtime.settings import Settings, SettingsError, check_git_branch, check_git_remote
from runtime.slugs import slug

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
    pull_request: str | None = None  # the pull or merge request opened for the branch
    warning: str | None = None  # e.g. pushed, but the pull request could not be opened


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
        # Set explicitly, since a review commit is made in the builder's clone, not in ``repo``.
        if not os.environ.get(variable):
            env[variable] = configured or fallback
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
    git: GitConfig | None = None,
    co_authors: Sequence[tuple[str, str]] = (),
) -> PublishOutcome:
    """Publish ``doc`` to ``folder`` and, when the folder is in a git work tree, commit it.

    ``message`` is either the change summary (a list of sentences, as ``runtime.changes.summarise``
    gives), made into ``Publish <title> version <n>`` and one bullet per sentence, or a complete
    commit message; each of ``co_authors`` (name, email) gets a ``Co-authored-by:`` trailer.
    ``mode`` is the setting: ``direct`` commits on the current branch and the version is live;
    ``review`` commits to ``service/<id>-v<version>`` and the version waits for review; ``file``
    only writes the file.

    With ``git`` (:meth:`GitConfig.from_settings`), review mode works in the builder's own clone:
    the branch starts from the base branch as just fetched from the remote and is pushed there
    (then a pull or merge request is opened when configured); commits are signed when a key is
    configured; a file in a department folder is updated where it is. Without it, review mode
    commits the branch in the definitions folder's own repository from its HEAD, as before.
    """
    if mode not in ("file", "direct", "review"):
        raise PublishingError(f"Unknown publishing mode {mode!r}: use 'direct' or 'review'")
    if not isinstance(doc, dict):
        raise PublishingError("A definition must be a JSON object")
    folder = Path(folder)
    path = definition_path(folder, doc)
    _version_of(doc)
    name, email = check_author(author_name, author_email)
    text = with_co_authors(_message_text(doc, message), email, co_authors)
    if git is not None and mode == "review":
        return _publish_to_remote(git, doc, name, email, text)
    if git is not None:
        department = _new_file_department(doc, any(p.is_dir() for p in _department_folders(folder)))
        path = _existing_file(folder, doc["id"]) or (folder / department / path.name if department else path)
    repo = repository_of(folder) if mode != "file" else None
    if repo is None:
        _write_atomically(path, dumps(doc).encode("utf-8"))
        return PublishOutcome(mode="file", path=path, commit=None, branch=None, live=True)
    signing_key = git.signing_key if git is not None else None
    if mode == "direct":
        return _publish_direct(repo, path, doc, name, email, text, signing_key)
    return _publish_for_review(repo, path, doc, name, email, text, signing_key)


def with_co_authors(text: str, author_email: str, co_authors: Sequence[tuple[str, str]]) -> str:
    """``text`` with a ``Co-authored-by: name <email>`` trailer for each co-author (each once, and
    never the author), so IT's log credits everyone whose changes the commit carries."""
    trailers: list[str] = []
    seen = {author_email.lower()}
    for entry in co_authors:
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise PublishingError("Each co-author must be a name and an email address")
        name, email = check_author(*entry)
        if email.lower() not in seen:
            seen.add(email.lower())
            trailers.append(f"Co-authored-by: {name} <{email}>")
    if not trailers:
        return text
    return text.rstrip("\n") + "\n\n" + "\n".join(trailers) + "\n"


def _department_folders(folder: Path) -> list[Path]:
    """The department sub-folders of a definitions folder (``form_definitions/<department>/``)."""
    if not folder.is_dir():
        return []
    return [
        p
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any(not f.name.startswith(".") for f in p.glob("*.json"))
    ]


def _new_file_department(doc: Mapping[str, Any], by_department: bool) -> str | None:
    """The folder a new service's file goes in: its department's (``runtime.slugs.slug`` of the name,
    as ``civicforms validate`` checks) when the folder is laid out by department, else none."""
    department = doc.get("department")
    if not by_department or not isinstance(department, str) or not department.strip():
        return None
    return slug(department) or None


def _existing_file(folder: Path, service_id: str) -> Path | None:
    """The service's file in ``folder``: ``<id>.json`` or ``<department>/<id>.json`` (None: neither).
    Two is an error, since ``civicforms load`` would not know which is the service."""
    found = [p for p in (folder / f"{service_id}.json", *sorted(folder.glob(f"*/{service_id}.json"))) if p.is_file()]
    found = [p for p in found if not p.parent.name.startswith(".")]
    if len(found) > 1:
        raise PublishingError(
            f"The service {service_id} has more than one file: {', '.join(str(p) for p in found)}. "
            "Keep one and remove the others"
        )
    return found[0] if found else None


def _publish_direct(
    repo: Path, path: Path, doc: dict[str, Any], name: str, email: str, text: str, signing_key: Path | None = None
) -> PublishOutcome:
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
            *_signing_config(signing_key),
            "commit",
            *(["-S"] if signing_key else []),
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
    repo: Path, path: Path, doc: dict[str, Any], name: str, email: str, text: str, signing_key: Path | None = None
) -> PublishOutcome:
    branch = review_branch(doc)
    if _branch_exists(repo, branch):
        raise PublishingError(
            f"The branch {branch} already exists: version {doc['version']} has been published for review once. "
            "A published version cannot change; publish the change as a new version"
        )
    relative = _relative_path(repo, path)
    head = _head_commit(repo)
    env = {
        **_committer_env(repo),
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
    }
    # With no commit yet (an empty repository) the branch starts from a root commit.
    commit = _commit_file(repo, head, relative, dumps(doc).encode("utf-8"), text, env, signing_key)
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


def _commit_file(
    repo: Path,
    parent: str | None,
    relative: str,
    data: bytes,
    text: str,
    env: Mapping[str, str],
    signing_key: Path | None = None,
) -> str:
    """A commit of ``parent``'s tree with ``relative`` holding ``data``, made without touching any
    work tree or index (a private one), signed when ``signing_key`` is given; its id."""
    with tempfile.TemporaryDirectory(prefix="civicforms-index-") as temp:
        index_env = {**env, "GIT_INDEX_FILE": str(Path(temp) / "index")}
        if parent:
            _run(repo, "read-tree", parent, env=index_env, action="Could not read the current commit")
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
    parents = ["-p", parent] if parent else []
    return _run(
        repo,
        *_signing_config(signing_key),
        "commit-tree",
        *(["-S"] if signing_key else []),
        tree,
        *parents,
        "-F",
        "-",
        stdin=text.encode("utf-8"),
        env=env,
        action="Could not make the commit" + (f" signed with {signing_key}" if signing_key else ""),
    ).stdout


def _signing_config(signing_key: Path | None) -> list[str]:
    """Git options that sign with an SSH key (``gpg.format=ssh``), or none."""
    if signing_key is None:
        return []
    return ["-c", "gpg.format=ssh", "-c", f"user.signingKey={Path(signing_key).absolute()}"]


def review_status(folder: Path, branch: str, git: GitConfig | None = None) -> ReviewStatus:
    """Whether a review branch is still ``waiting``, has been ``merged``, or is ``missing``.

    Merged means the branch's commit is part of the base's history, or (for a squash merge) the
    base's file holds exactly the branch's version of it. With ``git`` the base is the configured
    base branch as just fetched from the remote, and a branch IT deleted after merging it still
    counts as merged (the builder's clone keeps what it pushed); without it, the base is HEAD of
    the definitions folder's repository.
    """
    if not isinstance(branch, str) or not REVIEW_BRANCH.fullmatch(branch):
        raise PublishingError(f"{branch!r} is not a review branch (service/<id>-v<version>)")
    if git is not None:
        return _review_status_remote(git, branch)
    repo = repository_of(folder)
    if repo is None:
        raise PublishingError(f"{folder} is not in a git repository, so there is no review to follow")
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


# --- review in the builder's own clone, pushed to a remote -----------------------------------------

PullRequests = Literal["", "github", "gitlab"]
# The builder's clone is marked so that a folder it did not make (the server's checkout, say)
# is never used as one.
_WORKING_COPY_MARK = "civicforms.workingcopy"
LOCK_TIMEOUT_SECONDS = 120
API_TIMEOUT_SECONDS = 20
MAX_DEFINITION_BYTES = 512 * 1024
# "A moment ago" in the message a second publish of the same version gets.
_RECENT_SECONDS = 15 * 60


@dataclass(frozen=True, kw_only=True)
class GitConfig:
    """How the builder uses git: the mode, and for review the base branch, the remote, its own clone,
    pull or merge requests and the signing key. Build it with :meth:`from_settings`."""

    mode: Literal["direct", "review"] = "review"
    folder: Path  # the definitions folder (CIVICFORMS_DEFINITIONS_DIR)
    workdir: Path  # the builder's own clone (CIVICFORMS_GIT_WORKDIR)
    base: str = "main"
    remote: str = ""  # "": the definitions folder's own repository
    path: str = ""  # the definitions folder's path in the repository; "": worked out
    pull_requests: PullRequests = ""
    api_url: str = ""
    api_project: str = ""
    api_token: str = field(repr=False, default="")
    signing_key: Path | None = None

    def __post_init__(self) -> None:
        try:
            check_git_branch("CIVICFORMS_GIT_BASE", self.base)
            if self.remote:
                check_git_remote("CIVICFORMS_GIT_REMOTE", self.remote)
        except SettingsError as exc:
            raise PublishingError(str(exc)) from None
        if self.mode not in ("direct", "review"):
            raise PublishingError(f"Unknown publishing mode {self.mode!r}: use 'direct' or 'review'")
        if self.pull_requests not in ("", "github", "gitlab"):
            raise PublishingError("Pull requests can be opened on github or gitlab")

    @classmethod
    def from_settings(cls, settings: Settings) -> GitConfig:
        return cls(
            mode="review" if settings.publish_mode == "review" else "direct",
            folder=Path(settings.definitions_dir),
            workdir=Path(settings.git_workdir),
            base=settings.git_base,
            remote=settings.git_remote,
            path=settings.git_folder,
            pull_requests=settings.git_pull_requests,  # type: ignore[arg-type]
            api_url=settings.git_api_url,
            api_project=settings.git_api_project,
            api_token=settings.git_api_token,
            signing_key=settings.git_signing_key,
        )

    def remote_repository(self) -> str:
        """The repository review branches are pushed to: the setting, or the definitions folder's own."""
        if self.remote:
            return self.remote
        top = repository_of(self.folder)
        if top is None:
            raise PublishingError(
                f"Review needs a git repository: {self.folder} is not in one and CIVICFORMS_GIT_REMOTE is not set"
            )
        return str(top)

    def folder_in_repository(self) -> str:
        """The definitions folder's path inside the repository ("" for its top)."""
        if self.path:
            return "" if self.path == "." else self.path.strip("/")
        if not self.remote:
            top = repository_of(self.folder)
            if top is not None:
                inside = _relative_path(top, self.folder)
                return "" if inside == "." else inside
        return DEFINITIONS_FOLDER_NAME


class AlreadyInReview(PublishingError):
    """This version was sent for review already (by another publish, perhaps a moment ago)."""

    def __init__(self, message: str, *, branch: str, commit: str | None, author: str | None) -> None:
        super().__init__(message)
        self.branch = branch
        self.commit = commit
        self.author = author


@dataclass(frozen=True)
class BaseFile:
    """A service's definition as it is on the base branch (review) or in the folder (direct)."""

    path: str  # in the repository (review), or the file's path (direct)
    commit: str | None
    doc: dict[str, Any]


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (one publish at a time in the builder's clone, across
    threads and processes); a clear error if another holds it for longer than the time limit."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+b")  # noqa: SIM115 - closed below, after the lock is released
    except OSError as exc:
        raise PublishingError(f"Could not open the lock file {lock_path}: {exc.strerror or exc}") from exc
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PublishingError(
                        "Another publish has been running for over two minutes, so this one was not sent. "
                        "Try again in a minute"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


@contextmanager
def _working_copy(config: GitConfig) -> Iterator[tuple[Path, str]]:
    """The builder's own clone of the remote, locked for this thread: (its folder, the remote)."""
    remote = config.remote_repository()
    workdir = Path(config.workdir).absolute()
    with _locked(workdir.parent / f".{workdir.name}.lock"):
        _ensure_clone(workdir, remote)
        yield workdir, remote


def _ensure_clone(workdir: Path, remote: str) -> None:
    if not workdir.exists() or (workdir.is_dir() and not any(workdir.iterdir())):
        workdir.parent.mkdir(parents=True, exist_ok=True)
        _run(
            workdir.parent,
            "clone",
            "--bare",
            "--quiet",
            "--no-tags",
            "--",
            remote,
            str(workdir),
            action=f"Could not clone {remote} into the builder's working copy {workdir}",
        )
        _run(workdir, "config", _WORKING_COPY_MARK, "true")
        return
    # Asked of the folder itself: a folder inside another repository would otherwise answer for it.
    own = _run(workdir, "rev-parse", "--absolute-git-dir", check=False).stdout
    marked = _run(workdir, "config", "--local", "--get", _WORKING_COPY_MARK, check=False).stdout
    if not own or Path(own).resolve() != workdir.resolve() or marked != "true":
        raise PublishingError(
            f"{workdir} (CIVICFORMS_GIT_WORKDIR) is not the builder's working copy: the builder makes its own "
            "clone there and uses no other. Point CIVICFORMS_GIT_WORKDIR at a new folder"
        )
    if _run(workdir, "remote", "get-url", "origin", check=False).stdout != remote:
        _run(workdir, "remote", "set-url", "origin", remote, action="Could not change the working copy's remote")


def _fetch_base(workdir: Path, config: GitConfig, remote: str) -> str:
    """Fetch the base branch from the remote; its tip as fetched now."""
    tracking = f"refs/remotes/origin/{config.base}"
    fetched = _run(
        workdir, "fetch", "--quiet", "--no-tags", "origin", f"+refs/heads/{config.base}:{tracking}", check=False
    )
    if fetched.returncode != 0:
        if "couldn't find remote ref" in fetched.stderr:
            raise PublishingError(
                f"The base branch {config.base} (CIVICFORMS_GIT_BASE) is not in the repository {remote}"
            )
        raise PublishingError(gitcli.failure(f"Could not fetch {config.base} from {remote}", fetched))
    return _run(workdir, "rev-parse", "--verify", f"{tracking}^{{commit}}").stdout


def _remote_branch(workdir: Path, remote: str, branch: str) -> str | None:
    """The commit ``branch`` is at in the remote (fetched into the clone), or None when it has none."""
    listed = _run(workdir, "ls-remote", "--exit-code", "origin", f"refs/heads/{branch}", check=False)
    if listed.returncode == 2:
        return None
    if listed.returncode != 0:
        raise PublishingError(gitcli.failure(f"Could not read the branches of {remote}", listed))
    _run(
        workdir,
        "fetch",
        "--quiet",
        "--no-tags",
        "origin",
        f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
        action=f"Could not fetch {branch} from {remote}",
    )
    return _run(workdir, "rev-parse", "--verify", f"refs/remotes/origin/{branch}^{{commit}}").stdout


def _definition_names(workdir: Path, commit: str, folder: str) -> list[str]:
    """The definition files at ``commit`` (paths from the top): ``<folder>/<id>.json`` and
    ``<folder>/<department>/<id>.json``, hidden files and folders left out (one ``git ls-tree``)."""
    prefix = f"{folder}/" if folder else ""
    try:
        names = gitcli.tree_blobs(workdir, commit, folder or ".")
    except gitcli.GitError as exc:
        raise PublishingError(f"Could not list {folder or 'the repository'} at {commit[:12]}: {exc}") from exc
    depth = prefix.count("/")
    return sorted(
        n
        for n in names
        if n.count("/") in (depth, depth + 1) and not any(part.startswith(".") for part in n[len(prefix) :].split("/"))
    )


def _files_named(workdir: Path, commit: str, folder: str, service_id: str) -> list[str]:
    """Where the service's file is at ``commit``: ``<folder>/<id>.json`` and ``<folder>/<department>/<id>.json``."""
    return [n for n in _definition_names(workdir, commit, folder) if n.rsplit("/", 1)[-1] == f"{service_id}.json"]


def _uses_department_folders(workdir: Path, commit: str, folder: str) -> bool:
    """Whether the definitions at ``commit`` are kept in department sub-folders (any file is)."""
    depth = (f"{folder}/" if folder else "").count("/")
    return any(n.count("/") == depth + 1 for n in _definition_names(workdir, commit, folder))


def _one_file(names: list[str], service_id: str, where: str) -> str | None:
    if len(names) > 1:
        raise PublishingError(
            f"The service {service_id} has more than one file on {where}: {', '.join(names)}. "
            "Keep one and remove the others"
        )
    return names[0] if names else None


def _parse(data: bytes, where: str) -> dict[str, Any]:
    if len(data) > MAX_DEFINITION_BYTES:
        raise PublishingError(f"{where} is too large ({len(data)} bytes)")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PublishingError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PublishingError(f"{where} is not a definition (a JSON object)")
    return doc


def _in_review_message(doc: Mapping[str, Any], branch: str, workdir: Path, commit: str) -> AlreadyInReview:
    author, _, when = _run(workdir, "log", "-1", "--format=%an%x00%ct", commit, check=False).stdout.partition("\x00")
    try:
        age = time.time() - int(when)
    except ValueError:
        age = float("inf")
    moment = "a moment ago" if age < _RECENT_SECONDS else "earlier"
    title = _one_line(doc.get("title") or doc.get("id"))
    by = f" by {author}" if author else ""
    return AlreadyInReview(
        f"Version {doc.get('version')} of {title} was sent for review {moment}{by} (branch {branch}). "
        "A version sent for review cannot change: publish your change as a new version",
        branch=branch,
        commit=commit,
        author=author or None,
    )


def _publish_to_remote(config: GitConfig, doc: dict[str, Any], name: str, email: str, text: str) -> PublishOutcome:
    branch = review_branch(doc)
    service_id = doc["id"]
    folder = config.folder_in_repository()
    data = dumps(doc).encode("utf-8")
    identity = repository_of(config.folder) if not config.remote else None
    with _working_copy(config) as (workdir, remote):
        base_tip = _fetch_base(workdir, config, remote)
        existing = _remote_branch(workdir, remote, branch)
        if existing is not None:
            raise _in_review_message(doc, branch, workdir, existing)
        # Pushed before, merged, and the branch deleted: that version is taken. (A kept branch that
        # is not in the base, from a crash before its push, is simply made again.)
        kept = _run(workdir, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
        if (
            kept.returncode == 0
            and _run(workdir, "merge-base", "--is-ancestor", kept.stdout, base_tip, check=False).returncode == 0
        ):
            raise _in_review_message(doc, branch, workdir, kept.stdout)
        where = f"{config.base} in {remote}"
        relative = _one_file(_files_named(workdir, base_tip, folder, service_id), service_id, where)
        if relative is None:  # a new service: in its department's folder when IT keeps that layout
            department = _new_file_department(doc, _uses_department_folders(workdir, base_tip, folder))
            relative = (
                (f"{folder}/" if folder else "") + (f"{department}/" if department else "") + f"{service_id}.json"
            )
        env = {**_committer_env(identity or workdir), "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email}
        commit = _commit_file(workdir, base_tip, relative, data, text, env, config.signing_key)
        # Kept after the push, so the review can be followed after IT deletes the merged branch.
        _run(workdir, "update-ref", f"refs/heads/{branch}", commit, action=f"Could not make the branch {branch}")
        pushed = _run(workdir, "push", "--porcelain", "origin", f"refs/heads/{branch}:refs/heads/{branch}", check=False)
        if pushed.returncode != 0:
            _run(workdir, "update-ref", "-d", f"refs/heads/{branch}", check=False)
            raced = _remote_branch(workdir, remote, branch)
            if raced is not None:
                raise _in_review_message(doc, branch, workdir, raced)
            raise PublishingError(_refused(remote, branch, pushed))
    path = config.folder / PurePosixPath(relative[len(folder) + 1 :] if folder else relative)
    outcome = PublishOutcome(mode="review", path=path, commit=commit, branch=branch, live=False)
    if not config.pull_requests:
        return outcome
    subject, _, body = text.partition("\n")
    try:
        url = open_pull_request(config, branch=branch, title=subject.strip(), body=body.strip())
    except PublishingError as exc:
        return replace(
            outcome,
            warning=f"The branch {branch} was pushed to {remote}, but the pull request could not be opened: {exc}",
        )
    return replace(outcome, pull_request=url)


def _refused(remote: str, branch: str, pushed: gitcli.Result) -> str:
    """Why the remote refused the push, in one sentence, then git's own words."""
    reason = ""
    for line in pushed.stdout.splitlines():
        if line.startswith("!"):
            found = re.search(r"\(([^()]*)\)\s*$", line)
            reason = found.group(1) if found else line.split("\t")[-1]
    said = pushed.stderr or pushed.stdout or f"exit status {pushed.returncode}"
    return (
        f"The repository {remote} refused the branch {branch}"
        + (f" ({reason})" if reason else "")
        + f", so nothing was sent for review. Git said: {said}"
    )


def base_file(config: GitConfig, service_id: str) -> BaseFile | None:
    """The service's definition as it is live in git right now: on the base branch just fetched
    from the remote (review), or in the definitions folder (direct); None when there is none."""
    check_service_id(service_id)
    if config.mode == "direct":
        found = _existing_file(Path(config.folder), service_id)
        if found is None:
            return None
        try:
            data = found.read_bytes()
        except OSError as exc:
            raise PublishingError(f"Could not read {found}: {exc.strerror or exc}") from exc
        top = repository_of(found.parent)
        commit = gitcli.last_commit(top, _relative_path(top, found)) if top is not None else None
        return BaseFile(path=str(found), commit=commit, doc=_parse(data, str(found)))
    folder = config.folder_in_repository()
    with _working_copy(config) as (workdir, remote):
        tip = _fetch_base(workdir, config, remote)
        where = f"{config.base} in {remote}"
        relative = _one_file(_files_named(workdir, tip, folder, service_id), service_id, where)
        if relative is None:
            return None
        blob = gitcli.show(workdir, tip, relative)
    if blob is None:
        return None
    return BaseFile(path=relative, commit=tip, doc=_parse(blob, f"{relative} on {config.base}"))


def read_base(config: GitConfig, service_id: str) -> dict[str, Any] | None:
    """The definition as it is live in git right now (see :func:`base_file`), or None."""
    found = base_file(config, service_id)
    return found.doc if found is not None else None


def _review_status_remote(config: GitConfig, branch: str) -> ReviewStatus:
    match = REVIEW_BRANCH.fullmatch(branch)
    assert match is not None
    folder = config.folder_in_repository()
    with _working_copy(config) as (workdir, remote):
        base_tip = _fetch_base(workdir, config, remote)
        pushed = _remote_branch(workdir, remote, branch)
        kept = _run(workdir, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}", check=False)
        tip = pushed or (kept.stdout if kept.returncode == 0 else None)
        if tip is None:
            return "missing"
        ancestor = _run(workdir, "merge-base", "--is-ancestor", tip, base_tip, check=False)
        if ancestor.returncode == 0:
            return "merged"
        if ancestor.returncode != 1:
            raise PublishingError(gitcli.failure(f"Could not compare {branch} with {config.base}", ancestor))
        # A squash or rebase merge: the base holds exactly the branch's file.
        proposed = _files_named(workdir, tip, folder, match["id"])
        current = _files_named(workdir, base_tip, folder, match["id"])
        if len(proposed) == 1 and len(current) == 1:
            blobs = [
                _run(workdir, "rev-parse", "--verify", "--quiet", f"{commit}:{name}", check=False).stdout
                for commit, name in ((tip, proposed[0]), (base_tip, current[0]))
            ]
            if blobs[0] and blobs[0] == blobs[1]:
                return "merged"
    return "waiting" if pushed else "missing"


# --- pull and merge requests ---------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is refused, so the token is never sent on to another address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def pull_request_request(config: GitConfig, *, branch: str, title: str, body: str) -> urllib.request.Request:
    """The HTTP request that opens a pull request (GitHub) or merge request (GitLab) for ``branch``."""
    api = config.api_url.rstrip("/")
    if config.pull_requests == "github":
        url = f"{api}/repos/{config.api_project}/pulls"
        payload = {"head": branch, "base": config.base, "title": title, "body": body}
        headers = {
            "Authorization": f"Bearer {config.api_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
    elif config.pull_requests == "gitlab":
        url = f"{api}/projects/{urllib.parse.quote(config.api_project, safe='')}/merge_requests"
        payload = {"source_branch": branch, "target_branch": config.base, "title": title, "description": body}
        headers = {"PRIVATE-TOKEN": config.api_token}
    else:
        raise PublishingError("No pull requests are configured (CIVICFORMS_GIT_PULL_REQUESTS)")
    headers |= {"Content-Type": "application/json", "User-Agent": "civicforms-builder"}
    return urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST")


def open_pull_request(config: GitConfig, *, branch: str, title: str, body: str) -> str:
    """Open the pull or merge request; its web address. PublishingError says why it could not be."""
    request = pull_request_request(config, branch=branch, title=title, body=body)
    service = "GitHub" if config.pull_requests == "github" else "GitLab"
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=API_TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read(1024 * 1024).decode("utf-8") or "{}")
    except urllib.error.HTTPError as exc:
        raise PublishingError(f"{service} answered {exc.code} {exc.reason}{_api_message(exc)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PublishingError(f"{service} could not be reached at {config.api_url} ({reason})") from None
    except ValueError:
        raise PublishingError(f"{service} answered with something that is not JSON") from None
    url = answer.get("html_url") or answer.get("web_url") if isinstance(answer, dict) else None
    return str(url) if url else ""


def _api_message(exc: urllib.error.HTTPError) -> str:
    try:
        answer = json.loads(exc.read(64 * 1024).decode("utf-8"))
    except (OSError, ValueError):
        return ""
    said = answer.get("message") if isinstance(answer, dict) else None
    errors = answer.get("errors") if isinstance(answer, dict) else None
    text = " ".join(str(part) for part in (said, errors) if part)
    return f": {_one_line(text)[:300]}" if text else ""

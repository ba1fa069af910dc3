"""Git, through its command line with argument lists (never a shell): reading definition files at a
ref for ``civicforms diff``, ``plan`` and ``load``, and the runner the builder commits with.

Every failure is a :class:`GitError` whose message names the ref or file and quotes git's own
explanation. Nothing here imports Flask or the database.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

GIT_TIMEOUT_SECONDS = 60

# Variables that would point git at another repository, index or identity than the one we
# mean (set, for example, when we run inside a git hook).
ENV_CLEARED = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
)

# A ref as IT would type one: a branch, tag, commit, ``HEAD~2``, ``origin/main``, ``v1.2^``. No
# leading "-" (it would be read as an option), no spaces, no ".." ranges, no ":" (a path).
_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@{}~^+-]{0,199}")
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class GitError(Exception):
    """Git could not do it; the message says what, naming the ref or file, with git's own words."""


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str
    raw: bytes = b""


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_CLEARED}
    # Never wait for a password or an editor: nothing here has a terminal.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_EDITOR"] = "true"
    # Git's messages in English, as the error texts quote them.
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    env.update(extra or {})
    return env


def failure(action: str, result: Result) -> str:
    said = result.stderr or result.stdout or f"exit status {result.returncode}"
    return f"{action}. Git said: {said}"


def run(
    repo: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    action: str = "",
    error: type[Exception] = GitError,
    timeout: int = GIT_TIMEOUT_SECONDS,
) -> Result:
    """Run ``git -C repo args...``; raise ``error`` (with git's message) when it fails and ``check``."""
    command = ["git", "-C", str(repo), *args]
    try:
        done = subprocess.run(
            command,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=environment(env),
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise error("Git is not installed on this machine") from exc
    except subprocess.TimeoutExpired as exc:
        raise error(f"Git did not finish within {timeout} seconds ({' '.join(args[:2])})") from exc
    result = Result(
        done.returncode,
        done.stdout.decode("utf-8", "replace").strip(),
        done.stderr.decode("utf-8", "replace").strip(),
        done.stdout,
    )
    if check and result.returncode != 0:
        raise error(failure(action or f"git {args[0]} failed", result))
    return result


def toplevel(folder: Path) -> Path | None:
    """The top of the git work tree containing ``folder`` (None: not in one, or no git installed)."""
    if shutil.which("git") is None:
        return None
    start = Path(folder).absolute()
    while not start.is_dir():
        if start.parent == start:
            return None
        start = start.parent
    result = run(start, "rev-parse", "--show-toplevel", check=False)
    return Path(result.stdout) if result.returncode == 0 and result.stdout else None


def check_ref(ref: str) -> str:
    """``ref`` if it looks like a git ref, else GitError (refusing options and ranges)."""
    if not isinstance(ref, str) or not _REF.fullmatch(ref) or ".." in ref:
        raise GitError(f"{str(ref)[:80]!r} is not a git ref (a branch, tag or commit, like main or HEAD~1)")
    return ref


def resolve(repo: Path, ref: str) -> str:
    """The commit ``ref`` names, or GitError naming the ref."""
    check_ref(ref)
    result = run(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
    if result.returncode != 0 or not result.stdout:
        raise GitError(f"{ref}: no such branch, tag or commit in {repo}")
    return result.stdout


def relative(repo: Path, path: Path) -> str:
    """``path`` relative to the work tree's top, in git's form (forward slashes)."""
    try:
        inside = Path(path).absolute().resolve().relative_to(Path(repo).resolve())
    except ValueError as exc:
        raise GitError(f"{path} is not inside the git work tree {repo}") from exc
    return str(PurePosixPath(*inside.parts)) if inside.parts else "."


def show(repo: Path, commit: str, path: str) -> bytes | None:
    """The bytes of ``path`` (relative to the top) at ``commit``; None when it has no such file."""
    result = run(repo, "cat-file", "blob", f"{commit}:{path}", check=False)
    return result.raw if result.returncode == 0 else None


def files_at(repo: Path, commit: str, folder: str, suffix: str = ".json") -> dict[str, bytes]:
    """Every file ending ``suffix`` under ``folder`` (relative to the top) at ``commit``, recursively:
    {path relative to the top: bytes}. Empty when the folder is not there. Two git processes
    whatever the number of files (``tree_blobs``, ``read_blobs``)."""
    blobs = tree_blobs(repo, commit, folder, suffix)
    data = read_blobs(repo, blobs.values())
    return {name: data[blob] for name, blob in blobs.items() if blob in data}


def blob_id(data: bytes) -> str:
    """Git's object id of a file holding ``data`` (``git hash-object``), without starting git: a
    file on disk compares with a commit's file by this alone."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()  # noqa: S324 - git's object name, not security


def tree_blobs(repo: Path, commit: str, folder: str, suffix: str = ".json") -> dict[str, str]:
    """Every file ending ``suffix`` under ``folder`` (relative to the top) at ``commit``, recursively:
    {path relative to the top: blob id}, from one ``git ls-tree``. Empty when the folder is not there."""
    prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
    listing = run(
        repo,
        "ls-tree",
        "-r",
        "-z",
        "--full-tree",
        commit,
        "--",
        prefix or ".",
        action=f"Could not list {folder} at {commit}",
    )
    found: dict[str, str] = {}
    for entry in listing.raw.split(b"\x00"):
        if not entry:
            continue
        meta, _, name_bytes = entry.partition(b"\t")
        name = name_bytes.decode("utf-8", "replace")
        fields = meta.split(b" ")
        if len(fields) != 3 or fields[1] != b"blob" or not name.endswith(suffix) or not name.startswith(prefix):
            continue
        found[name] = fields[2].decode("ascii")
    return found


def read_blobs(repo: Path, blob_ids: Iterable[str]) -> dict[str, bytes]:
    """The bytes of each blob, from one ``git cat-file --batch``: {blob id: bytes}; an id git does
    not have (or that is not a blob) is left out."""
    wanted = list(dict.fromkeys(b for b in blob_ids if _OBJECT_ID.fullmatch(b)))
    if not wanted:
        return {}
    result = run(
        repo,
        "cat-file",
        "--batch",
        stdin="".join(f"{b}\n" for b in wanted).encode("ascii"),
        action="Could not read files",
    )
    out: dict[str, bytes] = {}
    raw, at = result.raw, 0
    for asked in wanted:
        end = raw.index(b"\n", at)
        header = raw[at:end].split(b" ")
        at = end + 1
        if len(header) != 3:  # "<id> missing" (or "ambiguous")
            continue
        size = int(header[2])
        if header[1] == b"blob":
            out[asked] = raw[at : at + size]
        at += size + 1  # the object, then a newline
    return out


def last_commits(repo: Path, commit: str, paths: Mapping[str, str] | Iterable[str], folder: str) -> dict[str, str]:
    """The newest commit of ``commit``'s history that changed each path (relative to the top) under
    ``folder``: {path: commit}, as ``git log -1 <commit> -- <path>`` says for each, from one
    ``git log`` of the folder, read as it comes and stopped once every path is found. With
    ``paths`` a mapping {path: blob id}, the commit must have left the path with that blob (a
    change on a side branch that a merge did not keep is passed over). A path no commit changed
    is left out."""
    blobs = dict(paths) if isinstance(paths, Mapping) else dict.fromkeys(paths, "")
    if not blobs:
        return {}
    command = [
        "git",
        "-C",
        str(repo),
        "-c",
        "log.follow=false",
        "-c",
        "log.showSignature=false",
        "log",
        "--format=%H",
        "-z",
        "--raw",
        "-c",
        "--no-renames",
        "--no-abbrev",
    ]
    command += ["--no-color", "--no-ext-diff", "--end-of-options", commit, "--", folder or "."]
    found: dict[str, str] = {}
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment()
        )
    except FileNotFoundError as exc:
        raise GitError("Git is not installed on this machine") from exc
    assert process.stdout is not None
    try:
        current, meta, rest = "", None, b""
        while len(found) < len(blobs):
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            *tokens, rest = (rest + chunk).split(b"\x00")
            for token in tokens:
                text = token.decode("utf-8", "replace")
                if meta is not None:  # the path of a change line
                    wanted = blobs.get(text)
                    if wanted is not None and text not in found and (not wanted or meta.split(" ")[-2] == wanted):
                        found[text] = current
                    meta = None
                elif text.lstrip("\n").startswith(":"):
                    meta = text.lstrip("\n")
                elif text.strip():
                    current = text.strip()
    finally:
        if process.poll() is None:
            process.terminate()
        process.stdout.close()
        try:
            process.wait(timeout=GIT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return found


def last_commit(repo: Path, path: str) -> str | None:
    """The newest commit of HEAD that changed ``path`` (relative to the top); None if none did."""
    result = run(repo, "log", "-1", "--format=%H", "--", path, check=False)
    return result.stdout or None if result.returncode == 0 else None


def head(repo: Path) -> str | None:
    result = run(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    return result.stdout if result.returncode == 0 and result.stdout else None

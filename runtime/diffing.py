"""What ``civicforms diff`` compares: two files, a file at a git ref, or every definition in a folder
between two refs (or a ref and the work tree), as change records with their service and file.

Pure: files, git (through ``runtime.git``), the checker and ``runtime.changes``; no database, no Flask.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import git
from .changes import Change, changes, wording
from .checker import check
from .definition import DefinitionError, definition_files, read_bytes, read_file
from .problems import Problem

NO_FILE = "/dev/null"  # git's name for the missing side of a new or deleted file


class DiffError(Exception):
    """Nothing can be compared: a bad ref, a missing file. ``where`` names the ref or file."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass
class Side:
    """One version of one service: where it comes from, and its document (None: no such file)."""

    label: str
    doc: dict[str, Any] | None
    broken: bool = False  # unreadable or refused by the checker: its problems are reported instead


@dataclass
class ServiceDiff:
    service: str
    file: str
    changes: list[Change]


@dataclass
class DiffResult:
    services: list[ServiceDiff] = field(default_factory=list)
    problems: list[tuple[str, Problem]] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        return [c for s in self.services for c in s.changes]

    def lines(self, *, headings: bool) -> Iterator[str]:
        for service in self.services:
            if not service.changes:
                continue
            if headings:
                yield f"{service.service} ({service.file}):"
            indent = "  " if headings else ""
            for change in service.changes:
                yield f"{indent}{change.sentence}"
                full = wording(change)  # a wording the sentence shortened: both texts in full
                if full is not None:
                    for word, text in (("was", full[0]), ("now", full[1])):
                        lines = text.splitlines() or ["(none)"]
                        yield f"{indent}    {word}: {lines[0]}"
                        yield from (f"{indent}         {line}" for line in lines[1:])

    def as_json(self) -> dict[str, Any]:
        return {
            "changes": [
                {"service": s.service, "file": s.file, **c.as_json()} for s in self.services for c in s.changes
            ],
            "problems": [{"file": file, "path": p.path, "message": p.message} for file, p in self.problems],
        }


def _repo() -> Path:
    repo = git.toplevel(Path.cwd())
    if repo is None:
        raise DiffError(str(Path.cwd()), "not inside a git work tree (needed to read files at a ref)")
    return repo


def _commit(repo: Path, ref: str) -> str:
    try:
        return git.resolve(repo, ref)
    except git.GitError as exc:
        raise DiffError(ref[:80], str(exc).removeprefix(f"{ref}: ")) from exc


def read_side(spec: str) -> tuple[Side, list[Problem]]:
    """A side as the command line names it: a path, ``REF:PATH`` or ``/dev/null``."""
    if spec == NO_FILE:
        return Side(NO_FILE, None), []
    path = Path(spec)
    if path.exists() or ":" not in spec:
        if not path.is_file():
            raise DiffError(spec, "no such file (use /dev/null for a service that is new or removed)")
        return _parsed(spec, lambda: read_file(path))
    ref, _, name = spec.partition(":")
    repo = _repo()
    commit = _commit(repo, ref)
    try:
        inside = git.relative(repo, Path(name))
    except git.GitError as exc:
        raise DiffError(spec, str(exc)) from exc
    data = git.show(repo, commit, inside)
    if data is None:
        return Side(spec, None), []  # not there at that ref: a new (or removed) service
    return _parsed(spec, lambda: read_bytes(data))


def _parsed(label: str, read: Any) -> tuple[Side, list[Problem]]:
    try:
        doc = read()
    except DefinitionError as exc:
        return Side(label, None), [Problem("$", str(exc))]
    return Side(label, doc), check(doc)


def _service_id(side: Side, fallback: str) -> str:
    value = side.doc.get("id") if side.doc else None
    return value if isinstance(value, str) else fallback


def _compare(old: Side, new: Side, result: DiffResult) -> None:
    if old.doc is None and new.doc is None:
        return
    shown = new if new.doc is not None else old
    service = _service_id(shown, Path(shown.label.partition(":")[2] or shown.label).stem)
    found = changes(old.doc, new.doc, every_part=True)
    result.services.append(ServiceDiff(service, shown.label, found))


def diff_files(old_spec: str, new_spec: str) -> DiffResult:
    """Two sides, each a path, ``REF:PATH`` or ``/dev/null``."""
    result = DiffResult()
    sides = []
    for spec in (old_spec, new_spec):
        side, problems = read_side(spec)
        result.problems.extend((spec, p) for p in problems)
        sides.append(side)
    if sides[0].doc is None and sides[1].doc is None and not result.problems:
        raise DiffError(f"{old_spec} {new_spec}", "neither side is a definition file")
    if not result.problems:
        _compare(sides[0], sides[1], result)
    return result


def _folder_at(repo: Path, ref: str, folder: Path) -> dict[str, tuple[bytes | None, str]]:
    commit = _commit(repo, ref)
    try:
        inside = git.relative(repo, folder)
    except git.GitError as exc:
        raise DiffError(str(folder), str(exc)) from exc
    try:
        found = git.files_at(repo, commit, inside)
    except git.GitError as exc:
        raise DiffError(ref, str(exc)) from exc
    prefix = "" if inside == "." else inside + "/"
    out: dict[str, tuple[bytes | None, str]] = {}
    for name, data in found.items():
        rest = name[len(prefix) :]
        if rest.count("/") <= 1 and not any(part.startswith(".") for part in rest.split("/")):  # one level down
            out[name] = (data, f"{ref}:{name}")
    return out


def diff_refs(old_ref: str, new_ref: str | None, folder: Path) -> DiffResult:
    """Every definition under ``folder`` at ``old_ref`` against ``new_ref`` (None: the work tree),
    matched by service id."""
    repo = _repo()
    result = DiffResult()

    def sides(files: dict[str, tuple[bytes | None, str]], worktree: bool) -> dict[str, Side]:
        out: dict[str, Side] = {}
        for name, (data, label) in sorted(files.items()):
            if worktree:
                side, problems = _parsed(label, lambda name=name: read_file(Path(name)))
            else:
                side, problems = _parsed(label, lambda data=data: read_bytes(data or b""))
            result.problems.extend((label, p) for p in problems)
            key = _service_id(side, Path(name).stem)
            if key in out:
                result.problems.append((label, Problem("$.id", f'service id "{key}" is also used by {out[key].label}')))
            out[key] = Side(label, side.doc, broken=bool(problems))
        return out

    before = sides(_folder_at(repo, old_ref, folder), False)
    if new_ref is None:
        if not folder.is_dir():
            raise DiffError(str(folder), "no such folder")
        after_files: dict[str, tuple[bytes | None, str]] = {str(p): (None, str(p)) for p in definition_files([folder])}
        after = sides(after_files, True)
    else:
        after = sides(_folder_at(repo, new_ref, folder), False)
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key, Side(NO_FILE, None)), after.get(key, Side(NO_FILE, None))
        if old.broken or new.broken:
            continue  # its problems are reported; its changes would be guesses
        _compare(old, new, result)
    return result

"""Releasing what the definitions folder says: ``civicforms plan``, ``load`` and ``status``.

The folder (or a git ref) is the source of truth that IT reviews; these use cases make the live
database match it. One planning function, :func:`plan_release`, reads the definitions and the
live database and says, per service, what a release would do and what would refuse it, changing
nothing. ``civicforms plan`` prints it; :func:`release` (``civicforms load``) makes the same plan
and applies it in one transaction, all of it or none, so that plan and load never disagree;
``civicforms status`` words the same comparison as drift between git and live.

Live equals git: a file older than the live version (a ``git revert``) goes live as a new version
numbered above the newest (history is never rewritten); a file whose content, version number
aside, is the live one is unchanged; a live service with no file is closed (``allow_close``) or
the release is refused naming it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from .. import cases, git, slugs
from ..data import drafts, published
from ..data.departments import GENERAL_DEPARTMENT, department_slug, shown
from ..definition import DefinitionError, content_hash, definition_files, folder_department, read_file
from ..models import Case, Department, FormSession, Service, ServiceDraft, ServiceVersion, utcnow
from ..problems import Problem
from .unit_of_work import atomic

Action = Literal["new", "publish", "rollback", "unchanged", "reopen", "close", "refused"]
CHANGING: frozenset[str] = frozenset({"new", "publish", "rollback", "reopen", "close"})


class SourceError(Exception):
    """The definitions could not be read at all (no such folder, not a git work tree, a bad ref)."""


@dataclass(frozen=True)
class Source:
    """Where the definitions came from: a folder, or a folder at a git ref."""

    folder: Path
    ref: str | None = None
    commit: str | None = None  # the commit the ref names

    @property
    def label(self) -> str:
        if self.ref is None:
            return str(self.folder)
        return f"{self.folder} at {self.ref} (commit {(self.commit or '')[:12]})"


@dataclass
class SourceFile:
    """One definition file as read: its document, or why it could not be read."""

    path: str  # as shown in messages: the file's path, or its path in the repository at the ref
    stem: str
    doc: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    source_commit: str | None = None  # the last commit of the file (None: not committed as it is)
    source_path: str | None = None  # its path from the top of the git work tree
    checked: bool = False  # the full checker has run (or the file is the live version: not needed)


@dataclass
class Stranded:
    """Open cases in a state the new version removes, and where they would go."""

    state: str
    count: int
    references: list[str]
    move_to: str | None  # None: nowhere chosen (the release is refused)


@dataclass
class ServicePlan:
    """What a release does to one service, and what would refuse it."""

    service_id: str
    file: str | None  # None: the live service has no file
    action: Action
    live_version: int | None  # the version live now (None: a new service)
    version: int | None  # the version that would be live afterwards
    rolled_back_to: int | None = None  # a rollback: the published version whose content comes back
    summary: list[str] = field(default_factory=list)
    department: str | None = None
    moved_from: str | None = None  # the department it leaves
    create_department: bool = False
    stranded: list[Stranded] = field(default_factory=list)
    open_cases: int = 0  # a closing service's open cases (they carry on)
    mid_journey: int = 0  # citizens part way through a form of a version that stops being live
    problems: list[Problem] = field(default_factory=list)
    live_loaded_from_git: bool = False  # the live version came from git (not the builder)
    doc: dict[str, Any] | None = field(default=None, repr=False)  # what publish is given
    source_commit: str | None = None
    source_path: str | None = None
    state: str = ""  # how file and live compare, for ``status`` (see DRIFT)
    settled_draft: bool = False  # load: the builder's draft held nothing more than what went live

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service_id,
            "file": self.file,
            "action": self.action,
            "live_version": self.live_version,
            "version": self.version,
            "rolled_back_to": self.rolled_back_to,
            "summary": self.summary,
            "department": self.department,
            "moved_from": self.moved_from,
            "create_department": self.create_department,
            "stranded_cases": [
                {"state": s.state, "count": s.count, "references": s.references, "move_to": s.move_to}
                for s in self.stranded
            ],
            "open_cases": self.open_cases,
            "citizens_mid_journey": self.mid_journey,
            "source_commit": self.source_commit,
            "problems": [{"path": p.path, "message": p.message} for p in self.problems],
        }


@dataclass
class Plan:
    """Everything a release would do, per service, and every problem that would refuse it."""

    source: Source
    services: list[ServicePlan]
    file_problems: list[tuple[str, Problem]] = field(default_factory=list)  # files naming no service
    applied: bool = False

    @property
    def problems(self) -> list[tuple[str, Problem]]:
        """Every problem as (file, problem), in file order; a missing file is named by its service."""
        out = list(self.file_problems)
        for s in self.services:
            out.extend((s.file or s.service_id, p) for p in s.problems)
        return sorted(out, key=lambda fp: fp[0])

    @property
    def refused(self) -> bool:
        return bool(self.problems)

    @property
    def changes(self) -> list[ServicePlan]:
        return [s for s in self.services if s.action in CHANGING]

    def as_json(self) -> dict[str, Any]:
        return {
            "format": "civicforms-plan/1",
            "source": {"folder": str(self.source.folder), "ref": self.source.ref, "commit": self.source.commit},
            "result": "refused" if self.refused else "changes" if self.changes else "no-changes",
            "applied": self.applied,
            "services": [s.as_json() for s in self.services],
            "problems": [{"file": f, "path": p.path, "message": p.message} for f, p in self.problems],
        }


# -- reading the definitions --------------------------------------------------------------------


def read_source(folder: Path, ref: str | None = None) -> tuple[Source, list[SourceFile]]:
    """The definition files of ``folder`` (``<id>.json``, or ``<department-slug>/<id>.json``), on
    disk or at the git ``ref``; SourceError when they cannot be read at all. Each file gets the
    cheap checks of ``runtime.checker.check_file`` here (readable JSON, the id its file name, a
    department folder its department); the full checker runs in :func:`plan_release`, on every
    file whose content is not already the live version of its service (``checked`` False until
    then). A ref's files are read as written to a temporary folder, so that a file is judged alike
    on disk and at a ref. A fixed number of git processes whatever the number of files."""
    repo = git.toplevel(folder)
    if ref is None:
        if not folder.is_dir():
            raise SourceError(f"{folder}: no such folder")
        paths = definition_files([folder])
        files = _read_folder(folder, lambda path: str(path))
        if repo is not None:
            for found, (commit, name) in zip(files, _committed(repo, folder, paths), strict=True):
                found.source_commit, found.source_path = commit, name
        return Source(folder), files
    if repo is None:
        raise SourceError(f"{folder}: not in a git work tree, so --ref {shown(ref)} cannot be read")
    try:
        commit = git.resolve(repo, ref)
        inside = git.relative(repo, folder)
        blob_of = git.tree_blobs(repo, commit, inside)
        data_of = git.read_blobs(repo, blob_of.values())
    except git.GitError as exc:
        raise SourceError(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="civicforms-ref-") as scratch:
        top = Path(scratch)
        names: dict[Path, str] = {}
        for name, blob in blob_of.items():
            below = PurePosixPath(name).relative_to(inside) if inside != "." else PurePosixPath(name)
            if len(below.parts) > 2 or any(part.startswith(".") or part == ".." for part in below.parts):
                continue  # only <id>.json and <department>/<id>.json, as on disk
            if blob not in data_of:
                continue
            path = top.joinpath(*below.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data_of[blob])
            names[path] = name
        files = _read_folder(top, lambda path: names[path])
    last = git.last_commits(repo, commit, {f.path: blob_of[f.path] for f in files}, inside)
    for found in files:
        found.source_path = found.path
        found.source_commit = last.get(found.path)
    return Source(folder, ref, commit), files


def _read_folder(folder: Path, label: Callable[[Path], str]) -> list[SourceFile]:
    """Each file read, with the cheap checks of ``runtime.checker.check_file`` (in its order)."""
    from ..checker import _department_folder_problems  # no public function checks the folder alone

    files = []
    for path in definition_files([folder]):
        found = SourceFile(path=label(path), stem=path.stem, doc=None)
        try:
            doc = read_file(path)
        except DefinitionError as exc:
            found.problems, found.checked = [Problem("$", str(exc))], True
            files.append(found)
            continue
        found.doc = doc
        if isinstance(doc.get("id"), str) and path.stem != doc["id"]:
            found.problems.append(Problem("$.id", f'"{doc["id"]}" must match the file name "{path.stem}"'))
        department = folder_department(path, folder)
        if department is not None:
            found.problems[:0] = _department_folder_problems(doc, department)
        files.append(found)
    return files


def finish_checks(files: list[SourceFile], live: dict[str, dict[str, Any]]) -> None:
    """Run the full checker (``runtime.checker.check``) on every file not yet checked, except a
    file whose content, version number aside, is the live definition of its service (``live``:
    {service id: live definition}): that was checked when it went live, and stays as it is."""
    from ..checker import check

    for f in files:
        if f.checked or f.doc is None:
            continue
        f.checked = True
        service_id = f.doc.get("id")
        same = live.get(service_id) if isinstance(service_id, str) else None
        if same is not None and _without_version(f.doc) == _without_version(same):
            continue
        f.problems.extend(check(f.doc))


def _committed(repo: Path, folder: Path, paths: list[Path]) -> list[tuple[str | None, str | None]]:
    """Each file's last commit and its path in the repository, the commit only when the file is as
    committed (its blob is HEAD's for that path): three git processes at most, whatever the number."""
    names: list[str | None] = []
    blobs: list[str | None] = []
    for path in paths:
        try:
            names.append(git.relative(repo, path))
            blobs.append(git.blob_id(path.read_bytes()))
        except (git.GitError, OSError):
            names.append(None)
            blobs.append(None)
    head = git.head(repo)
    try:
        at_head = git.tree_blobs(repo, head, git.relative(repo, folder)) if head is not None else {}
        committed = {n: b for n, b in zip(names, blobs, strict=True) if n is not None and b and at_head.get(n) == b}
        last = git.last_commits(repo, head, committed, git.relative(repo, folder)) if head and committed else {}
    except git.GitError:
        return [(None, n) for n in names]
    return [(last.get(n) if n is not None else None, n) for n in names]


# -- planning -----------------------------------------------------------------------------------


def _without_version(doc: dict[str, Any]) -> str:
    """A document's content hash, its version number aside."""
    return content_hash({**doc, "version": 0})


@dataclass
class _Live:
    """What planning reads from the live database, for every file at once (a fixed number of
    queries whatever the number of services)."""

    services: dict[str, Service]
    current: dict[str, ServiceVersion]  # each service's current version
    hashes: dict[str, dict[int, str]]  # every published version's content hash, per service
    departments: list[Department]
    open_cases: dict[str, dict[str, int]]  # open cases per service, per state
    mid_journey: dict[str, dict[int, int]]  # unsent, unexpired form sessions per service, per version

    @classmethod
    def read(cls, session: Session, service_ids: set[str]) -> _Live:
        services = {s.id: s for s in session.exec(select(Service))}
        current = {
            row.service_id: row
            for row in session.exec(
                select(ServiceVersion).join(
                    Service,
                    (col(Service.id) == ServiceVersion.service_id)
                    & (col(Service.current_version) == ServiceVersion.version),
                )
            )
        }
        hashes: dict[str, dict[int, str]] = {}
        named = sorted(service_ids & set(services))
        if named:
            for service_id, version, stored in session.exec(  # type: ignore[call-overload]
                select(ServiceVersion.service_id, ServiceVersion.version, ServiceVersion.content_hash).where(
                    col(ServiceVersion.service_id).in_(named)
                )
            ):
                hashes.setdefault(service_id, {})[version] = stored
        open_cases: dict[str, dict[str, int]] = {}
        for service_id, state, count in session.exec(  # type: ignore[call-overload]
            select(Case.service_id, Case.state, func.count())
            .where(col(Case.closed_at).is_(None))
            .group_by(col(Case.service_id), col(Case.state))
        ):
            open_cases.setdefault(service_id, {})[state] = int(count)
        mid_journey: dict[str, dict[int, int]] = {}
        for service_id, version, count in session.exec(  # type: ignore[call-overload]
            select(FormSession.service_id, FormSession.service_version, func.count())
            .where(col(FormSession.expires_at) > utcnow(), col(FormSession.submission_reference).is_(None))
            .group_by(col(FormSession.service_id), col(FormSession.service_version))
        ):
            mid_journey.setdefault(service_id, {})[version] = int(count)
        departments = list(session.exec(select(Department)))
        return cls(services, current, hashes, departments, open_cases, mid_journey)

    def department_named(self, name: Any) -> Department | None:
        """``runtime.data.departments.named_department``, matched against the departments read."""
        if name is not None and not isinstance(name, str):
            return None
        clean = " ".join((name or "").split())[:200]
        key = clean if department_slug(clean) else GENERAL_DEPARTMENT
        by_slug = {d.slug: d for d in self.departments}
        candidates = [slug for slug in dict.fromkeys((slugs.legacy_department_slug(key), department_slug(key))) if slug]
        return next((by_slug[slug] for slug in candidates if slug in by_slug), None)

    def department(self, department_id: int) -> Department | None:
        return next((d for d in self.departments if d.id == department_id), None)

    def mid_journey_off(self, service_id: str, version: int | None) -> int:
        """Citizens part way through a form of the service on a version other than ``version``."""
        return sum(n for v, n in self.mid_journey.get(service_id, {}).items() if v != version)


def plan_release(
    *,
    session: Session,
    source: Source,
    files: list[SourceFile],
    moves: dict[str, dict[str, str]] | None = None,
    allow_close: bool = False,
    create_departments: bool = False,
) -> Plan:
    """What releasing ``files`` would do to the live database, per service; changes nothing.

    The files not yet fully checked (``read_source``) are, unless they hold their service's live
    definition. A fixed number of queries whatever the number of services (and one more per
    state a new version removes that has open cases, for their references)."""
    moves = moves or {}
    plan = Plan(source, [])
    ids = {f.doc["id"] for f in files if f.doc is not None and isinstance(f.doc.get("id"), str)}
    live = _Live.read(session, ids)
    services, current = live.services, live.current
    finish_checks(files, {i: row.definition for i, row in current.items() if i in services and services[i].live})
    by_id: dict[str, SourceFile] = {}
    for f in files:
        if f.problems or f.doc is None:
            plan.file_problems.extend((f.path, p) for p in f.problems)
        else:
            by_id.setdefault(f.doc["id"], f)
    for service_id, f in sorted(by_id.items()):
        assert f.doc is not None
        service = services.get(service_id)
        plan.services.append(
            _plan_file(session, live, f, service, current.get(service_id), moves.get(service_id), create_departments)
        )
    named = {s.service_id for s in plan.services} | set(by_id)
    for service_id, service in sorted(services.items()):
        if service_id in named or not service.live:
            continue
        row = current.get(service_id)
        closing = ServicePlan(
            service_id=service_id,
            file=None,
            action="close",
            live_version=service.current_version,
            version=service.current_version,
            summary=["Closed: the service has no file in the folder; citizens can no longer start it"],
            open_cases=sum(live.open_cases.get(service_id, {}).values()),
            mid_journey=live.mid_journey_off(service_id, None),
            live_loaded_from_git=row is not None and row.source_commit is not None,
            state="no-file",
        )
        if not allow_close:
            closing.action = "refused"
            closing.problems.append(
                Problem(
                    "$",
                    f"the live service {service_id} has no file in {source.folder}: restore its file, or run with "
                    f"--allow-close to close it ({closing.open_cases} open cases carry on)",
                )
            )
        plan.services.append(closing)
    _check_across(plan, files, services, current)
    for s in plan.services:
        if s.problems and s.action != "close":
            s.action = "refused"
    return plan


def _plan_file(
    session: Session,
    live: _Live,
    f: SourceFile,
    service: Service | None,
    live_row: ServiceVersion | None,
    moves: dict[str, str] | None,
    create_departments: bool,
) -> ServicePlan:
    from ..changes import summarise

    doc = f.doc
    assert doc is not None
    version = doc["version"]
    s = ServicePlan(
        service_id=doc["id"],
        file=f.path,
        action="new",
        live_version=service.current_version if service is not None else None,
        version=version,
        source_commit=f.source_commit,
        source_path=f.source_path,
        live_loaded_from_git=live_row is not None and live_row.source_commit is not None,
    )
    new_doc = doc
    if service is None or live_row is None:
        s.summary = summarise(None, doc)
        s.state = "not-loaded"
    else:
        live_doc = live_row.definition
        if _without_version(doc) == _without_version(live_doc):
            s.version = service.current_version
            s.doc = {**doc, "version": service.current_version}
            wants_live = doc.get("live", True) is not False
            if wants_live and not service.live:
                s.action, s.state = "reopen", "closed-with-file"
                s.summary = ["Reopened: citizens can start the service again"]
            else:
                s.action, s.state = "unchanged", "same" if version == service.current_version else "same-content"
            return s
        published_hashes = live.hashes.get(doc["id"], {})
        stored = published_hashes.get(version)
        newest = int(max(published_hashes, default=0) or service.current_version)
        if stored is not None and stored != content_hash(doc):
            s.state = "version-conflict"
            s.problems.append(
                Problem(
                    "$.version",
                    f"version {version} of {doc['id']} is already published with different content; give the "
                    f"changed definition a new version number (the newest is {newest}, live is "
                    f"{service.current_version})",
                )
            )
            return s
        if version > newest:
            s.action, s.state = "publish", "not-loaded"
            s.summary = summarise(live_doc, doc)
        elif stored is not None:  # an older version's exact file: a rollback, as a new version
            s.action, s.rolled_back_to = "rollback", version
            s.state = "rollback-not-loaded" if s.live_loaded_from_git else "live-newer"
            s.version = newest + 1
            new_doc = {**doc, "version": newest + 1}
            s.summary = [f"Rolled back to the content of version {version} (from git)", *summarise(live_doc, new_doc)]
        else:
            s.state = "version-conflict"
            s.problems.append(
                Problem(
                    "$.version",
                    f"version {version} of {doc['id']} was never published and is lower than the newest "
                    f"published version {newest}: give it version {newest + 1}",
                )
            )
            return s
    s.doc = new_doc
    _plan_department(live, s, new_doc, service, create_departments)
    if service is not None:
        _plan_cases(session, live, s, new_doc, moves or {})
        s.mid_journey = live.mid_journey_off(s.service_id, s.version)
    return s


def _plan_department(live: _Live, s: ServicePlan, doc: dict[str, Any], service: Service | None, create: bool) -> None:
    found = live.department_named(doc.get("department"))
    wanted = shown(doc.get("department") or GENERAL_DEPARTMENT)
    if found is None:
        if create:
            s.department, s.create_department = wanted, True
        else:
            s.problems.append(
                Problem(
                    "$.department",
                    f'there is no department called "{wanted}": correct the name, or create the department first '
                    "(civicforms load --create-departments makes every department the files name; civicforms "
                    "users create --department NAME --create-department makes one with its first member of staff)",
                )
            )
        return
    s.department = found.name
    if service is not None and service.department_id != found.id:
        old = live.department(service.department_id)
        s.moved_from = old.name if old is not None else None


def _plan_cases(session: Session, live: _Live, s: ServicePlan, doc: dict[str, Any], moves: dict[str, str]) -> None:
    from ..definition import Definition

    workflow = Definition(doc).workflow
    for group in _stranded(session, live, s.service_id, workflow.states):
        target = moves.get(group.state)
        s.stranded.append(Stranded(group.state, group.count, group.references, target))
        listed = ", ".join(group.references) + (", ..." if group.count > len(group.references) else "")
        many = group.count != 1
        if target is None:
            s.problems.append(
                Problem(
                    "$.workflow.states",
                    f'{group.count} open case{"s are" if many else " is"} in the state "{group.state}", which '
                    f"version {s.version} removes ({listed}): keep the state, or choose the state "
                    f"{'they move' if many else 'it moves'} to (--move-cases {s.service_id}:{group.state}=STATE)",
                )
            )
        elif target not in workflow.states:
            s.problems.append(
                Problem(
                    "$.workflow.states",
                    f"--move-cases {s.service_id}:{group.state}={shown(target)}: version {s.version} has no state "
                    f'"{shown(target)}" (its states: {", ".join(workflow.states)})',
                )
            )


def _stranded(session: Session, live: _Live, service_id: str, states: Iterable[str], shown: int = 10) -> list[Stranded]:
    """``runtime.cases.stranded`` from the open-case counts read: open cases of the service in a
    state not among ``states``, by state, with their first ``shown`` references (a query per such
    state, and none when there is none)."""
    keep = set(states)
    out = []
    for state, count in sorted(live.open_cases.get(service_id, {}).items()):
        if state in keep:
            continue
        references = cases.open_references(session, service_id=service_id, state=state, shown=shown)
        out.append(Stranded(state, count, references, None))
    return out


def _check_across(
    plan: Plan, files: list[SourceFile], services: dict[str, Service], current: dict[str, ServiceVersion]
) -> None:
    """Problems between definitions (``runtime.checker.check_many``): two files with one service id,
    or a reference prefix that another file or another live service has (references would clash)."""
    from ..checker import check_many

    planned = {s.service_id: s for s in plan.services}
    docs: dict[Path, dict[str, Any]] = {}
    for f in files:
        if f.doc is not None and not f.problems:
            docs[Path(f.path)] = f.doc
    for service_id, service in services.items():
        staying = service_id not in planned or (
            planned[service_id].file is None and planned[service_id].action != "close"
        )
        if service.live and staying and service_id in current:
            docs[Path(f"the live service {service_id}")] = current[service_id].definition
    by_file = {s.file: s for s in plan.services if s.file}
    for path, problem in check_many(docs):
        owner = by_file.get(str(path))
        if owner is not None:
            owner.problems.append(problem)
        elif str(path) in {f.path for f in files}:  # a second file with the same id: not planned
            plan.file_problems.append((str(path), problem))


# -- applying -----------------------------------------------------------------------------------


def plan_folder(
    *,
    session: Session,
    folder: Path,
    ref: str | None = None,
    moves: dict[str, dict[str, str]] | None = None,
    allow_close: bool = False,
    create_departments: bool = False,
) -> Plan:
    """``civicforms plan`` and ``status``: read the folder (or the folder at ``ref``) and plan its
    release against the live database, changing nothing. SourceError when it cannot be read."""
    source, files = read_source(folder, ref)
    return plan_release(
        session=session,
        source=source,
        files=files,
        moves=moves,
        allow_close=allow_close,
        create_departments=create_departments,
    )


def release(
    *,
    session: Session,
    folder: Path,
    ref: str | None = None,
    moves: dict[str, dict[str, str]] | None = None,
    allow_close: bool = False,
    create_departments: bool = False,
) -> Plan:
    """``civicforms load``: plan, then apply the whole plan in one transaction, or nothing.

    A refused plan changes nothing (``applied`` False). SourceError when the folder or ref cannot
    be read at all.
    """
    with atomic(session):
        plan = plan_folder(
            session=session,
            folder=folder,
            ref=ref,
            moves=moves,
            allow_close=allow_close,
            create_departments=create_departments,
        )
        if plan.refused:
            return plan
        try:
            for s in plan.services:
                _apply(session, s, (moves or {}).get(s.service_id), create_departments)
        except published.PublishError as exc:  # something changed since the plan: nothing is kept
            raise ReleaseRefused(plan, s, exc.problems) from exc
        # A builder draft whose changes are now live (the version it sent for review, or the
        # same content) has nothing left to publish: it goes, in this same transaction. Any other
        # draft stays; the builder asks its designer to update it with what arrived. (One query
        # finds which published services have a draft at all.)
        published_now = [s for s in plan.services if s.action in ("new", "publish", "rollback", "reopen")]
        with_drafts = (
            set(
                session.exec(
                    select(ServiceDraft.service_id).where(
                        col(ServiceDraft.service_id).in_([s.service_id for s in published_now])
                    )
                )
            )
            if published_now
            else set()
        )
        for s in published_now:
            if s.service_id in with_drafts and drafts.settle_draft(session=session, service_id=s.service_id):
                s.settled_draft = True
        plan.applied = True
    return plan


class ReleaseRefused(Exception):
    """Applying found a problem the plan did not (the database changed under it); nothing applied."""

    def __init__(self, plan: Plan, service: ServicePlan, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        service.problems.extend(problems)
        service.action = "refused"
        self.plan = plan


def _apply(session: Session, s: ServicePlan, moves: dict[str, str] | None, create_departments: bool) -> None:
    if s.action == "close":
        published.close_service(session=session, service_id=s.service_id)
        return
    if s.action not in ("new", "publish", "rollback", "reopen"):
        return
    assert s.doc is not None
    result = published.publish(
        session=session,
        doc=s.doc,
        change_summary=s.summary if s.action != "reopen" else None,
        state_mapping=moves,
        create_departments=create_departments,
        source_commit=s.source_commit,
        source_path=s.source_path,
    )
    s.moved_from = result.moved_from
    s.department = result.department


def load_folder(
    *,
    session: Session,
    folder: Path,
    moves: dict[str, dict[str, str]] | None = None,
    create_departments: bool = False,
    allow_close: bool = False,
) -> list[tuple[Path, published.PublishResult | published.PublishError]]:
    """The release of a folder as (file, result) pairs, for scripts and fixtures: every file's
    PublishResult when the release went live, else every file's PublishError (a file with no
    problem of its own names the release as refused)."""
    plan = release(
        session=session, folder=folder, moves=moves, allow_close=allow_close, create_departments=create_departments
    )
    problems: dict[str, list[Problem]] = {}
    for file, problem in plan.problems:
        problems.setdefault(file, []).append(problem)
    out: list[tuple[Path, published.PublishResult | published.PublishError]] = []
    paths = sorted({f for f, _ in plan.problems} | {s.file for s in plan.services if s.file})
    planned = {s.file: s for s in plan.services if s.file}
    for file in paths:
        if not plan.applied:
            found = problems.get(file) or [Problem("$", "not loaded: the release was refused (see the other files)")]
            out.append((Path(file), published.PublishError(found)))
            continue
        s = planned[file]
        outcome = "unchanged" if s.action == "unchanged" else "published"
        out.append((Path(file), published.PublishResult(s.service_id, s.version or 0, outcome, s.department or "")))
    return out


def drift(plan: Plan) -> list[tuple[ServicePlan, str]]:
    """Where git and live disagree, per service, in words (``civicforms status``)."""
    out = []
    for s in plan.services:
        words = _DRIFT.get(s.state)
        if words is not None:
            out.append((s, words.format(s=s)))
    return out


_DRIFT = {
    "not-loaded": "the file has version {s.version}, live has {s.live_version}: not loaded yet",
    "rollback-not-loaded": (
        "the file has the content of version {s.rolled_back_to}, live has version {s.live_version} "
        "(loaded from git): a rollback not loaded yet"
    ),
    "live-newer": (
        "live has version {s.live_version}, published from the builder and not in git; the file has "
        "version {s.rolled_back_to}"
    ),
    "no-file": "live (version {s.live_version}) but has no file in the folder",
    "version-conflict": "the file and live disagree about a version number: {s.problems[0].message}",
    "closed-with-file": "closed, but has a file (version {s.version}): loading would reopen it",
}

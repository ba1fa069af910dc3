"""Published services: publishing a checked definition as a new version (moving open cases a
version strands), the live services, a service's versions and the builder's list of services.

Keyword-only functions with an explicit session; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from .. import cases
from ..checker import check
from ..definition import Definition, content_hash
from ..models import Department, Service, ServiceDraft, ServiceVersion, StaffUser, utcnow
from ..problems import Problem
from .departments import GENERAL_DEPARTMENT, MOVE_HINT, department_for_name, department_problem, named_department, shown


class PublishError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class PublishResult:
    service_id: str
    version: int
    outcome: str  # "published", "unchanged"
    department: str = ""  # the department the service is in now
    moved_from: str | None = None  # the department it was in, when this publish moved it
    created_department: bool = False  # the department was made (``create_departments``)


def publish(
    *,
    session: Session,
    doc: dict[str, Any],
    published_by: int | None = None,
    change_summary: list[str] | None = None,
    state_mapping: dict[str, str] | None = None,
    department_id: int | None = None,
    moved_from: int | None = None,
    create_departments: bool = False,
    source_commit: str | None = None,
    source_path: str | None = None,
) -> PublishResult:
    """Publish a checked definition as a new immutable version (idempotent for a same file).

    A version number that is already published with different content is refused: a
    submission must always be able to find the exact definition it was made against.
    ``published_by`` is the staff member who published from the builder (None for files that
    `civicforms load` brought in); ``change_summary`` the sentences shown in the history.
    Publishing never makes a department unless ``create_departments`` says so (IT's
    ``civicforms load --create-departments``). A file (``department_id`` None: ``civicforms
    load``, run by IT from the reviewed folder) puts the service in the department it names,
    which must exist. A member of staff publishes a draft of department ``department_id``: the
    definition must name that department (or none), and the service must already be in it
    unless the draft was moved there from the service's department (``moved_from``, see
    ``move_draft``). ``source_commit`` and ``source_path``: the git commit and file a version
    ``civicforms load`` brought in came from (shown in the builder's history).

    Open cases follow the current version's approval steps, so a version that removes a state
    some open cases are in is refused, naming them, unless ``state_mapping`` says where each
    such state's cases go (the moves are written to the audit log).
    """
    problems = check(doc)
    if problems:
        raise PublishError(problems)
    digest = content_hash(doc)
    service = session.get(Service, doc["id"])
    department, created = _publishing_department(
        session, doc, service, department_id=department_id, moved_from=moved_from, create=create_departments
    )
    before = service.department_id if service is not None else None
    assert department.id is not None  # found, or made in a savepoint
    if service is None:
        service = Service(
            id=doc["id"],
            title=doc["title"],
            description=doc["description"],
            live=doc.get("live", True),
            current_version=doc["version"],
            department_id=department.id,
        )
        session.add(service)
        session.flush()  # the version row refers to it
    existing = session.exec(
        select(ServiceVersion).where(ServiceVersion.service_id == doc["id"], ServiceVersion.version == doc["version"])
    ).first()
    if existing is not None:
        if existing.content_hash != digest:
            raise PublishError(
                [
                    Problem(
                        "$.version",
                        (
                            f"version {doc['version']} of {doc['id']} is already published with different "
                            "content; give the changed definition a new version number"
                        ),
                    )
                ]
            )
        outcome = "unchanged"
    else:
        session.add(
            ServiceVersion(
                service_id=doc["id"],
                version=doc["version"],
                content_hash=digest,
                definition=doc,
                published_by=published_by,
                change_summary=list(change_summary) if change_summary is not None else None,
                source_commit=source_commit,
                source_path=source_path,
            )
        )
        outcome = "published"
        if doc["version"] >= service.current_version:
            _move_open_cases(session, doc, state_mapping or {}, published_by)
    moved = None
    if doc["version"] >= service.current_version:
        if before is not None and before != department.id:
            old = session.get(Department, before)
            moved = old.name if old is not None else None
        service.department_id = department.id
        service.title, service.description = doc["title"], doc["description"]
        service.live = doc.get("live", True)
        service.current_version = doc["version"]
        service.updated_at = utcnow()
    session.flush()
    return PublishResult(doc["id"], doc["version"], outcome, department.name, moved, created)


def check_staff_publish(*, session: Session, doc: dict[str, Any], department_id: int, moved_from: int | None) -> None:
    """Refuse (PublishError) what ``publish`` would refuse of a draft of department ``department_id``
    for its department: for the builder's review mode, which commits to git and leaves the
    database to ``civicforms load``."""
    service = session.get(Service, doc.get("id")) if isinstance(doc.get("id"), str) else None
    _publishing_department(session, doc, service, department_id=department_id, moved_from=moved_from, create=False)


def _publishing_department(
    session: Session,
    doc: dict[str, Any],
    service: Service | None,
    *,
    department_id: int | None,
    moved_from: int | None,
    create: bool,
) -> tuple[Department, bool]:
    """The department a publish puts the service in, and whether it was made; PublishError if refused."""
    if department_id is not None:  # a member of staff publishing their department's draft
        problem = department_problem(session=session, doc=doc, department_id=department_id)
        if problem is not None:
            raise PublishError([problem])
        department = session.get(Department, department_id)
        assert department is not None
        if (
            service is not None
            and service.department_id not in (None, department_id)
            and moved_from != service.department_id
        ):
            current = session.get(Department, service.department_id)
            raise PublishError(
                [
                    Problem(
                        "$.department",
                        f'the service is published in "{current.name if current else "another department"}", but '
                        f'this draft is in "{department.name}" and was not moved there. {MOVE_HINT}',
                    )
                ]
            )
        return department, False
    named = named_department(session=session, name=doc.get("department"))
    if named is not None:
        return named, False
    wanted = shown(doc.get("department") or GENERAL_DEPARTMENT)
    if not create:
        raise PublishError(
            [
                Problem(
                    "$.department",
                    f'there is no department called "{wanted}": correct the name, or create the department first '
                    "(civicforms load --create-departments makes every department the files name; civicforms "
                    "users create --department NAME --create-department makes one with its first member of staff)",
                )
            ]
        )
    return department_for_name(session=session, name=doc.get("department")), True


def _move_open_cases(session: Session, doc: dict[str, Any], mapping: dict[str, str], by: int | None) -> None:
    """Refuse a version that strands open cases, or move them as the publisher said."""
    workflow = Definition(doc).workflow
    stuck = cases.stranded(session, service_id=doc["id"], states=workflow.states)
    if not stuck:
        return
    problems = []
    for group in stuck:
        target = mapping.get(group.state)
        if target in workflow.states:
            continue
        shown = ", ".join(group.references) + (", ..." if group.count > len(group.references) else "")
        problems.append(
            Problem(
                "$.workflow.states",
                f'{group.count} open case{"s are" if group.count != 1 else " is"} in the state "{group.state}", '
                f"which this version removes ({shown}): keep the state, or choose the state "
                f"{'they move' if group.count != 1 else 'it moves'} to",
            )
        )
    if problems:
        raise PublishError(problems)
    cases.move_stranded(
        session,
        service_id=doc["id"],
        mapping={group.state: mapping[group.state] for group in stuck},
        workflow=workflow,
        now=utcnow(),
        by=by,
    )


def close_service(*, session: Session, service_id: str) -> None:
    """Close a service (``civicforms load --allow-close``, its file gone from git): citizens can no
    longer start it; citizens part way through and its open cases carry on. No version changes."""
    service = session.get(Service, service_id)
    if service is None:
        raise PublishError([Problem("$.id", f"there is no service {service_id}")])
    service.live = False
    service.updated_at = utcnow()
    session.flush()


def live_services(*, session: Session) -> list[Service]:
    return list(session.exec(select(Service).where(col(Service.live)).order_by(Service.title)))


@dataclass(frozen=True)
class VersionSummary:
    """One published version, for the service's history page."""

    version: int
    published_at: datetime
    published_by: str | None  # the staff member's name; None: loaded from a file by IT
    change_summary: list[str] | None
    content_hash: str
    current: bool
    source_commit: str | None = None  # loaded by ``civicforms load`` from this git commit
    source_path: str | None = None  # ... and this file

    @property
    def short_commit(self) -> str | None:
        return self.source_commit[:7] if self.source_commit else None


def service_versions(*, session: Session, service_id: str) -> list[VersionSummary]:
    """Every published version of a service, newest first, with who published it (one query)."""
    rows = session.exec(
        select(  # type: ignore[call-overload]
            ServiceVersion.version,
            ServiceVersion.published_at,
            StaffUser.name,
            ServiceVersion.change_summary,
            ServiceVersion.content_hash,
            Service.current_version,
            ServiceVersion.source_commit,
            ServiceVersion.source_path,
        )
        .join(Service, col(Service.id) == ServiceVersion.service_id)
        .outerjoin(StaffUser, col(StaffUser.id) == ServiceVersion.published_by)
        .where(ServiceVersion.service_id == service_id)
        .order_by(col(ServiceVersion.version).desc())
    ).all()
    return [
        VersionSummary(
            version, at, by, list(summary) if summary is not None else None, digest, version == current, commit, path
        )
        for version, at, by, summary, digest, current, commit, path in rows
    ]


class ServiceStatus(StrEnum):
    """Where a service of the builder's list stands; the builder words each."""

    DRAFT = "draft"  # never published
    LIVE = "live"
    CHANGED = "changed"  # live, with a draft not yet published
    ARCHIVED = "archived"


@dataclass(frozen=True)
class ServiceSummary:
    """One row of the builder's service list: a published service, a draft, or both."""

    service_id: str
    title: str
    department_id: int
    department_name: str
    status: ServiceStatus
    current_version: int | None  # None: never published
    draft_revision: int | None  # None: no draft
    last_change_at: datetime
    last_change_by: str | None  # a staff member's name; None: loaded from a file by IT


def department_services(*, session: Session, department_ids: list[int]) -> list[ServiceSummary]:
    """The services and drafts of these departments, by title, with status and last change.

    Two queries whatever the number of services (published services with their drafts, then
    drafts never published), each reading only the columns the list shows.
    """
    if not department_ids:
        return []
    editor = aliased(StaffUser)
    publisher = aliased(StaffUser)
    draft_department = aliased(Department)
    title = ServiceDraft.definition["title"].as_string()  # type: ignore[index]
    published = session.exec(
        select(  # type: ignore[call-overload]
            Service.id,
            Service.title,
            Service.live,
            Service.current_version,
            Service.department_id,
            Department.name,
            ServiceVersion.published_at,
            publisher.name,
            ServiceDraft.revision,
            ServiceDraft.department_id,
            draft_department.name,
            ServiceDraft.updated_at,
            editor.name,
        )
        .outerjoin(Department, col(Department.id) == Service.department_id)
        .outerjoin(
            ServiceVersion,
            (col(ServiceVersion.service_id) == Service.id) & (col(ServiceVersion.version) == Service.current_version),
        )
        .outerjoin(publisher, col(publisher.id) == ServiceVersion.published_by)
        .outerjoin(ServiceDraft, col(ServiceDraft.service_id) == Service.id)
        .outerjoin(draft_department, col(draft_department.id) == ServiceDraft.department_id)
        .outerjoin(editor, col(editor.id) == ServiceDraft.updated_by)
        .where(func.coalesce(ServiceDraft.department_id, Service.department_id).in_(department_ids))
    ).all()
    summaries: list[ServiceSummary] = []
    for (
        service_id,
        service_title,
        live,
        version,
        department_id,
        department_name,
        published_at,
        published_by,
        revision,
        draft_department_id,
        draft_department_name,
        edited_at,
        edited_by,
    ) in published:
        has_draft = revision is not None
        status = ServiceStatus.ARCHIVED if not live else ServiceStatus.CHANGED if has_draft else ServiceStatus.LIVE
        changed_at, changed_by = published_at or utcnow(), published_by
        if has_draft and (published_at is None or edited_at >= published_at):
            changed_at, changed_by = edited_at, edited_by
        summaries.append(
            ServiceSummary(
                service_id=service_id,
                title=service_title,
                department_id=draft_department_id if has_draft else department_id,
                department_name=draft_department_name if has_draft else department_name,
                status=status,
                current_version=version,
                draft_revision=revision,
                last_change_at=changed_at,
                last_change_by=changed_by,
            )
        )
    drafts_only = session.exec(
        select(  # type: ignore[call-overload]
            ServiceDraft.service_id,
            title,
            ServiceDraft.department_id,
            Department.name,
            ServiceDraft.revision,
            ServiceDraft.updated_at,
            editor.name,
        )
        .join(Department, col(Department.id) == ServiceDraft.department_id)
        .outerjoin(editor, col(editor.id) == ServiceDraft.updated_by)
        .outerjoin(Service, col(Service.id) == ServiceDraft.service_id)
        .where(col(Service.id).is_(None), col(ServiceDraft.department_id).in_(department_ids))
    ).all()
    for service_id, draft_title, department_id, department_name, revision, edited_at, edited_by in drafts_only:
        summaries.append(
            ServiceSummary(
                service_id=service_id,
                title=draft_title or service_id,
                department_id=department_id,
                department_name=department_name,
                status=ServiceStatus.DRAFT,
                current_version=None,
                draft_revision=revision,
                last_change_at=edited_at,
                last_change_by=edited_by,
            )
        )
    summaries.sort(key=lambda s: (s.title.casefold(), s.service_id))
    return summaries

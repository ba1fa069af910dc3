"""Data functions: departments, publishing definitions, builder drafts and versions, form
sessions, submissions and citizen records.

Every function takes the session explicitly and keyword-only arguments; callers own the
transaction unless a function says it commits.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from . import cases, citizens, slugs
from .checker import check
from .db import Prepared
from .definition import Definition, content_hash
from .models import (
    Citizen,
    CitizenIdentifier,
    Department,
    FormSession,
    PreviewSession,
    Service,
    ServiceDraft,
    ServiceVersion,
    StaffUser,
    Submission,
    utcnow,
)
from .models import (
    PossibleMatch as PossibleMatchRow,
)
from .problems import Problem
from .references import new_reference
from .versions import definition as definition  # re-exported: published versions live in runtime.versions
from .versions import forget_definitions as forget_definitions

# -- departments --------------------------------------------------------------------------

# A service whose definition names no department belongs here, so that some admin can always
# see it in the builder (a service in no department would be invisible to every member of staff).
GENERAL_DEPARTMENT = "General"


def department_slug(name: str) -> str:
    """The slug of a department name: lower-case words joined by hyphens ("adult-social-care")."""
    return slugs.slug(name)


def find_department(*, session: Session, key: str) -> Department | None:
    """A department by its slug or its name (any case, any spacing); a slug stored before the one
    slug rule ("caf-and-leisure-services") is found first, as it always was."""
    candidates = [slug for slug in dict.fromkeys((slugs.legacy_department_slug(key), department_slug(key))) if slug]
    if not candidates:
        return None
    found = {d.slug: d for d in session.exec(select(Department).where(col(Department.slug).in_(candidates)))}
    return next((found[slug] for slug in candidates if slug in found), None)


def department_for_name(*, session: Session, name: str | None) -> Department:
    """The department with this name (matched by slug), made if missing; no name: "General"."""
    clean = " ".join((name or "").split())[:200]
    if not department_slug(clean):
        clean = GENERAL_DEPARTMENT
    found = find_department(session=session, key=clean)
    if found is not None:
        return found
    department = Department(slug=department_slug(clean), name=clean)
    try:
        with session.begin_nested():
            session.add(department)
    except IntegrityError:
        # Made a moment ago by another request loading the same name.
        found = find_department(session=session, key=clean)
        assert found is not None
        return found
    return department


def named_department(*, session: Session, name: Any) -> Department | None:
    """The department a definition's ``department`` text names (no text: "General"); never made.

    Publishing, the builder and ``civicforms load`` find departments with this: only
    ``department_for_name`` (``civicforms users create --create-department``, ``civicforms load
    --create-departments``) makes one.
    """
    if name is not None and not isinstance(name, str):
        return None
    clean = " ".join((name or "").split())[:200]
    return find_department(session=session, key=clean if department_slug(clean) else GENERAL_DEPARTMENT)


def _shown(text: Any, limit: int = 80) -> str:
    """A definition's text as quoted in a message: one line, at most ``limit`` characters."""
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


MOVE_HINT = (
    'To move the service, someone who is an admin or designer in both departments uses "Move to another '
    "department\" on the service's page in the builder"
)


def department_problem(*, session: Session, doc: dict[str, Any], department_id: int) -> Problem | None:
    """Why ``doc`` may not be saved or published as a service of department ``department_id``
    (None: it may). A definition without a department is taken to be in its draft's department
    (the builder writes the name in when it publishes)."""
    if "department" not in doc:
        return None
    department = session.get(Department, department_id)
    assert department is not None, "a draft's department always exists (a foreign key)"
    named = named_department(session=session, name=doc["department"])
    if named is not None and named.id == department_id:
        return None
    return Problem(
        "$.department",
        f'must stay "{department.name}", the department this service belongs to: editing the definition '
        f"cannot move a service. {MOVE_HINT}",
    )


def departments(*, session: Session, ids: list[int] | None = None) -> list[Department]:
    """Every department (or those with these ids), by name."""
    query = select(Department).order_by(col(Department.name))
    if ids is not None:
        query = query.where(col(Department.id).in_(ids))
    return list(session.exec(query))


# -- definitions --------------------------------------------------------------------------


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
    ``move_draft``).

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
    wanted = _shown(doc.get("department") or GENERAL_DEPARTMENT)
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


def live_services(*, session: Session) -> list[Service]:
    return list(session.exec(select(Service).where(col(Service.live)).order_by(Service.title)))


# -- builder drafts, versions and the service list -------------------------------------------


class DraftError(Exception):
    """A draft cannot be made or changed; the message says why in words for staff."""


class DepartmentError(DraftError):
    """A draft's definition names another department than the draft's own, or a move is refused."""

    def __init__(self, problem: Problem):
        super().__init__(f"{problem.path}: {problem.message}")
        self.problem = problem


class EditConflict(DraftError):
    """A colleague saved the draft after this edit began: their work is never overwritten."""

    def __init__(self, current: ServiceDraft | None):
        who = "someone" if current is None else "a colleague"
        super().__init__(f"{who} changed this service while you were editing it")
        self.current = current  # the draft as it is now (None: it was published or deleted)


def create_draft(
    *,
    session: Session,
    doc: dict[str, Any],
    department_id: int,
    user_id: int,
    base_version: int | None = None,
) -> ServiceDraft:
    """Start the builder's working copy of a service (blank, from a template, or from a live version).

    ``base_version`` names the published version the draft starts from; a new service
    (None) must not take the id of a service that is already published.
    """
    service_id = doc.get("id")
    if not isinstance(service_id, str) or not service_id:
        raise DraftError("the definition has no service id")
    if base_version is None and session.get(Service, service_id) is not None:
        raise DraftError(f"a service called {service_id!r} already exists: choose another id")
    already = f"{service_id!r} already has a draft: open it from the service list"
    if session.get(ServiceDraft, service_id) is not None:
        raise DraftError(already)
    service = session.get(Service, service_id) if base_version is not None else None
    if service is not None and service.department_id not in (None, department_id):
        raise DepartmentError(
            Problem("$.department", f"a draft of this service belongs to its department. {MOVE_HINT}")
        )
    problem = department_problem(session=session, doc=doc, department_id=department_id)
    if problem is not None:
        raise DepartmentError(problem)
    now = utcnow()
    draft = ServiceDraft(
        service_id=service_id,
        department_id=department_id,
        definition=doc,
        revision=1,
        base_version=base_version,
        task_status={},
        created_by=user_id,
        updated_by=user_id,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(draft)
    except IntegrityError:  # a colleague started one a moment ago
        raise DraftError(already) from None
    return draft


def get_draft(*, session: Session, service_id: str) -> ServiceDraft | None:
    return session.get(ServiceDraft, service_id)


def save_draft(
    *,
    session: Session,
    draft: ServiceDraft,
    doc: dict[str, Any],
    expected_revision: int,
    user_id: int,
    task_status: dict[str, Any] | None = None,
) -> ServiceDraft:
    """Save an edit made to revision ``expected_revision``; raises EditConflict if the draft moved on.

    One UPDATE ... WHERE revision = expected: of two colleagues saving the same revision,
    exactly one wins, on every database, with no lock held between page loads. A definition
    naming another department than the draft's is refused (DepartmentError): only
    ``move_draft`` moves a draft.
    """
    problem = department_problem(session=session, doc=doc, department_id=draft.department_id)
    if problem is not None:
        raise DepartmentError(problem)
    values: dict[str, Any] = {
        "definition": doc,
        "revision": ServiceDraft.revision + 1,  # type: ignore[operator]
        "updated_by": user_id,
        "updated_at": utcnow(),
    }
    if task_status is not None:
        values["task_status"] = dict(task_status)
    result = session.exec(  # type: ignore[call-overload]
        update(ServiceDraft)
        .where(
            col(ServiceDraft.service_id) == draft.service_id,
            col(ServiceDraft.revision) == expected_revision,
            col(ServiceDraft.department_id) == draft.department_id,  # checked above against this department
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if draft in session:
        session.expire(draft)  # the UPDATE went past the ORM: read the row as it now is
    current = session.get(ServiceDraft, draft.service_id)
    if result.rowcount != 1:
        raise EditConflict(current)
    assert current is not None
    return current


# The draft's record of a move to another department (in ``task_status``, beside the tasks'
# statuses): {"from": department id, "to": department id, "by": staff id, "at": ISO time}.
# "from" is the department the service was in before its first move; publishing checks it.
DEPARTMENT_MOVE = "department_move"


@dataclass(frozen=True)
class DepartmentMove:
    """A draft moved to another department: from where (the service's department), to where, by whom."""

    from_id: int
    to_id: int
    by: int | None
    at: str


def draft_move(draft: ServiceDraft) -> DepartmentMove | None:
    """The move recorded on a draft, if it still holds (None: never moved, or moved back)."""
    found = (draft.task_status or {}).get(DEPARTMENT_MOVE)
    if not isinstance(found, dict):
        return None
    origin, target = found.get("from"), found.get("to")
    if not isinstance(origin, int) or target != draft.department_id or origin == target:
        return None
    by = found.get("by")
    return DepartmentMove(origin, target, by if isinstance(by, int) else None, str(found.get("at", "")))


def move_draft(
    *, session: Session, service_id: str, department_id: Any, user_id: int, expected_revision: int
) -> ServiceDraft:
    """Move a service's draft to another department: the one way a service changes department.

    The staff member needs a role that may move services (admin or designer) in the department
    the service is in now and in the one it goes to; the draft's definition then names the new
    department, and the service itself moves when the draft is published (straight away, or
    after IT's review). A live service with no draft gets one here. The move is recorded on the
    draft (``draft_move``) and in the change summary of the version that publishes it.
    Raises DepartmentError (refused, with the reason), EditConflict (the draft changed since
    ``expected_revision``; 0 means "no draft yet") or DraftError (no such service).
    """
    from .staff import MOVE_SERVICES, has_permission, roles_by_department  # staff's hashing is not needed at import

    usable = isinstance(department_id, int) and not isinstance(department_id, bool) and 0 < department_id < 2**31
    target = session.get(Department, department_id) if usable else None  # PostgreSQL refuses a bigger key
    if target is None or target.id is None:
        raise DepartmentError(Problem("department", "Select the department to move the service to"))
    draft = session.get(ServiceDraft, service_id)
    service = session.get(Service, service_id)
    if draft is None and (service is None or service.department_id is None):
        raise DraftError(f"there is no service called {_shown(service_id)!r}")
    current_id = draft.department_id if draft is not None else service.department_id  # type: ignore[union-attr]
    assert current_id is not None
    roles = roles_by_department(session, user_id)
    if not (
        has_permission(roles.get(current_id, frozenset()), MOVE_SERVICES)
        and has_permission(roles.get(target.id, frozenset()), MOVE_SERVICES)
    ):
        raise DepartmentError(
            Problem(
                "department",
                "You can only move a service between departments where you are an admin or designer in both",
            )
        )
    if target.id == current_id:
        raise DepartmentError(
            Problem("department", f"The service is already in {target.name}: select another department")
        )
    if draft is None:
        assert service is not None
        live = definition(session=session, service_id=service_id)
        if live is None:
            raise DraftError(f"version {service.current_version} of {service_id!r} is missing")
        if expected_revision != 0:
            raise EditConflict(None)
        draft = create_draft(
            session=session,
            doc=copy.deepcopy(live.doc),
            department_id=current_id,
            user_id=user_id,
            base_version=service.current_version,
        )
        expected_revision = draft.revision
    doc = copy.deepcopy(draft.definition)
    doc["department"] = target.name
    statuses = dict(draft.task_status or {})
    earlier = draft_move(draft)
    origin = earlier.from_id if earlier is not None else (service.department_id if service is not None else None)
    origin = origin if origin is not None else current_id
    if origin == target.id:
        statuses.pop(DEPARTMENT_MOVE, None)  # moved back where it is published: nothing to record
    else:
        statuses[DEPARTMENT_MOVE] = {"from": origin, "to": target.id, "by": user_id, "at": utcnow().isoformat()}
    result = session.exec(  # type: ignore[call-overload]
        update(ServiceDraft)
        .where(
            col(ServiceDraft.service_id) == service_id,
            col(ServiceDraft.revision) == expected_revision,
            col(ServiceDraft.department_id) == current_id,
        )
        .values(
            department_id=target.id,
            definition=doc,
            task_status=statuses,
            revision=ServiceDraft.revision + 1,  # type: ignore[operator]
            updated_by=user_id,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(draft)
    current = session.get(ServiceDraft, service_id)
    if result.rowcount != 1:
        raise EditConflict(current)
    assert current is not None
    return current


def mark_draft(
    *,
    session: Session,
    draft: ServiceDraft,
    task_status: dict[str, Any] | None = None,
    preview_visited: bool = False,
    review_branch: str | None = None,
) -> None:
    """Record progress that is not an edit of the definition (task status, preview visited, review branch).

    The revision is left alone: these never conflict with a colleague's edit.
    """
    if task_status is not None:
        draft.task_status = dict(task_status)  # a new object, so the JSON column is written
    if preview_visited:
        draft.preview_visited_at = utcnow()
    if review_branch is not None:
        draft.review_branch = review_branch
    session.add(draft)
    session.flush()


def delete_draft(*, session: Session, service_id: str) -> bool:
    """Remove a draft (discarded, or published) and everyone's "try it" answers for it."""
    session.exec(delete(PreviewSession).where(col(PreviewSession.service_id) == service_id))  # type: ignore[call-overload]
    result = session.exec(delete(ServiceDraft).where(col(ServiceDraft.service_id) == service_id))  # type: ignore[call-overload]
    return bool(result.rowcount)


@dataclass(frozen=True)
class VersionSummary:
    """One published version, for the service's history page."""

    version: int
    published_at: datetime
    published_by: str | None  # the staff member's name; None: loaded from a file by IT
    change_summary: list[str] | None
    content_hash: str
    current: bool


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
        )
        .join(Service, col(Service.id) == ServiceVersion.service_id)
        .outerjoin(StaffUser, col(StaffUser.id) == ServiceVersion.published_by)
        .where(ServiceVersion.service_id == service_id)
        .order_by(col(ServiceVersion.version).desc())
    ).all()
    return [
        VersionSummary(version, at, by, list(summary) if summary is not None else None, digest, version == current)
        for version, at, by, summary, digest, current in rows
    ]


STATUS_DRAFT = "draft"
STATUS_LIVE = "live"
STATUS_CHANGED = "live with unpublished changes"
STATUS_ARCHIVED = "archived"


@dataclass(frozen=True)
class ServiceSummary:
    """One row of the builder's service list: a published service, a draft, or both."""

    service_id: str
    title: str
    department_id: int
    department_name: str
    status: str  # STATUS_DRAFT, STATUS_LIVE, STATUS_CHANGED or STATUS_ARCHIVED
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
        status = STATUS_ARCHIVED if not live else STATUS_CHANGED if has_draft else STATUS_LIVE
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
                status=STATUS_DRAFT,
                current_version=None,
                draft_revision=revision,
                last_change_at=edited_at,
                last_change_by=edited_by,
            )
        )
    summaries.sort(key=lambda s: (s.title.casefold(), s.service_id))
    return summaries


# -- the builder's "try it" -------------------------------------------------------------------


def get_preview_session(*, session: Session, user_id: int, service_id: str) -> PreviewSession | None:
    return session.exec(
        select(PreviewSession).where(PreviewSession.user_id == user_id, PreviewSession.service_id == service_id)
    ).first()


def save_preview_session(*, session: Session, user_id: int, service_id: str, answers: dict[str, Any]) -> PreviewSession:
    """Keep a staff member's "try it" answers for a draft (one row per staff member and service)."""
    row = get_preview_session(session=session, user_id=user_id, service_id=service_id)
    if row is None:
        row = PreviewSession(user_id=user_id, service_id=service_id)
    row.answers = dict(answers)  # a new object, so the JSON column is written
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def clear_preview_session(*, session: Session, user_id: int, service_id: str) -> None:
    """Start "try it" again from the beginning."""
    session.exec(  # type: ignore[call-overload]
        delete(PreviewSession).where(
            col(PreviewSession.user_id) == user_id, col(PreviewSession.service_id) == service_id
        )
    )


# -- form sessions ------------------------------------------------------------------------


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_form_session(*, session: Session, service: Definition, minutes: int) -> str:
    """Start a journey; returns the secret token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        FormSession(
            id=_token_id(token),
            service_id=service.id,
            service_version=service.version,
            answers={},
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return token


def get_form_session(*, session: Session, token: str | None) -> FormSession | None:
    """The live form session for a token, or None when unknown or expired: the ORM row, tracked
    by ``session`` (changes to it are written on commit). Pages use ``read_form_session``."""
    if not token or len(token) > 100:
        return None
    row = session.get(FormSession, _token_id(token))
    if row is None or row.expires_at <= utcnow():
        return None
    return row


@dataclass(slots=True)
class FormSessionState:
    """A form session as read for one request: the columns, without the ORM's tracking.

    Nothing set on it is written by itself; ``save_answers`` and ``keep_alive`` write it with
    one ``UPDATE`` each (they take a tracked ``FormSession`` row too).
    """

    id: str
    service_id: str
    service_version: int
    answers: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    submission_reference: str | None


_FORM_SESSION = FormSession.__table__  # type: ignore[attr-defined]
_READ_FORM_SESSION = Prepared(
    core_select(*(_FORM_SESSION.c[f.name] for f in fields(FormSessionState))).where(
        _FORM_SESSION.c.id == bindparam("id")
    )
)


def read_form_session(*, session: Session, token: str | None) -> FormSessionState | None:
    """The live form session for a token, or None when unknown or expired, read by one core
    ``SELECT`` on the primary key (no identity map, no ORM instance: the page's hot path; a
    prepared statement, straight on the connection of a StatementSession)."""
    if not token or len(token) > 100:
        return None
    rows, _ = _READ_FORM_SESSION.run(session, {"id": _token_id(token)})
    if not rows:
        return None
    state = FormSessionState(*rows[0])
    return state if state.expires_at > utcnow() else None


_FORM_SESSION_UPDATES: dict[tuple[tuple[str, ...], bool], Prepared] = {}


def _write_form_session(
    session: Session, form_session: FormSession | FormSessionState, *, unsent_only: bool = False, **values: Any
) -> None:
    """One core ``UPDATE`` of the form session's row; then the object shows the new values
    (a tracked ORM row as already written, so that its next flush does not write them again).
    The session is flushed first, as the ORM would before its own ``UPDATE``."""
    session.flush()
    names = tuple(sorted(values))
    prepared = _FORM_SESSION_UPDATES.get((names, unsent_only))
    if prepared is None:  # built once per set of columns: its SQL is compiled once per dialect
        statement = (
            update(_FORM_SESSION)
            .where(_FORM_SESSION.c.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}", type_=_FORM_SESSION.c[name].type) for name in names})
        )
        if unsent_only:
            statement = statement.where(_FORM_SESSION.c.submission_reference.is_(None))
        prepared = _FORM_SESSION_UPDATES[(names, unsent_only)] = Prepared(statement)
    prepared.run(session, {"row_id": form_session.id, **{f"new_{k}": v for k, v in values.items()}})
    for name, value in values.items():
        if isinstance(form_session, FormSession):
            set_committed_value(form_session, name, value)
        else:
            setattr(form_session, name, value)


def save_answers(
    *, session: Session, form_session: FormSession | FormSessionState, answers: dict[str, Any], minutes: int
) -> None:
    """Store a form session's answers and push its expiry back (its ``submission_reference``,
    which a submission sets on the object, is written too).

    Without a reference (a question page), the row is written only while it is unsent: a page
    posted in one tab after the form was sent in another, from what it read before, changes
    nothing (it neither clears the reference nor puts answers back into a sent form session)."""
    now = utcnow()
    expires = now + timedelta(minutes=minutes)
    values: dict[str, Any] = {"answers": dict(answers), "updated_at": now, "expires_at": expires}
    if form_session.submission_reference is not None:
        _write_form_session(session, form_session, submission_reference=form_session.submission_reference, **values)
    else:
        _write_form_session(session, form_session, unsent_only=True, **values)


def keep_alive(*, session: Session, form_session: FormSession | FormSessionState, minutes: int) -> bool:
    """Push a session's expiry back while the citizen reads pages; at most one write a minute."""
    now = utcnow()
    if now - form_session.updated_at < timedelta(minutes=1):
        return False
    _write_form_session(session, form_session, updated_at=now, expires_at=now + timedelta(minutes=minutes))
    return True


# -- submissions and citizens -------------------------------------------------------------


def submission_for_form_session(*, session: Session, form_session_id: str) -> Submission | None:
    return session.exec(select(Submission).where(Submission.form_session_id == form_session_id)).first()


def _held(session: Session, citizen_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """The identifiers (kind, value) each of these records holds."""
    held: dict[int, list[tuple[str, str]]] = {cid: [] for cid in citizen_ids}
    if citizen_ids:
        for row in session.exec(select(CitizenIdentifier).where(col(CitizenIdentifier.citizen_id).in_(citizen_ids))):
            held[row.citizen_id].append((row.kind, row.value))
    return held


def _mark_possible_matches(session: Session, citizen_id: int, others: dict[int, str]) -> None:
    """Mark record ``citizen_id`` and each of ``others`` (record: the kind they both claimed) as
    a possible match, once per pair and kind. The rows are added, not flushed: they are written
    with the submission, whose retry on a clash (create_submission) covers two identical marks
    made at the same moment."""
    wanted = {
        (min(citizen_id, other), max(citizen_id, other), kind) for other, kind in others.items() if other != citizen_id
    }
    if not wanted:
        return
    have = set(
        session.exec(
            select(PossibleMatchRow.citizen_id, PossibleMatchRow.other_citizen_id, PossibleMatchRow.kind).where(
                or_(
                    *(
                        and_(
                            col(PossibleMatchRow.citizen_id) == low,
                            col(PossibleMatchRow.other_citizen_id) == high,
                            col(PossibleMatchRow.kind) == kind,
                        )
                        for low, high, kind in wanted
                    )
                )
            )
        )
    )
    for low, high, kind in sorted(wanted - have):
        session.add(PossibleMatchRow(citizen_id=low, other_citizen_id=high, kind=kind))


@dataclass(frozen=True)
class PossibleMatch:
    """Two records that may be one person: ``other_id`` claimed an identifier of kind ``kind``
    that ``citizen_id`` holds, or the other way round, while contradicting it on another."""

    citizen_id: int
    other_id: int
    kind: str
    marked_at: datetime


def possible_matches(*, session: Session, citizen_id: int | None = None, limit: int = 100) -> list[PossibleMatch]:
    """The possible matches of one record, or (``citizen_id`` None) every pair once; newest first."""
    query = select(PossibleMatchRow)
    if citizen_id is not None:
        query = query.where(
            or_(col(PossibleMatchRow.citizen_id) == citizen_id, col(PossibleMatchRow.other_citizen_id) == citizen_id)
        )
    rows = session.exec(query.order_by(col(PossibleMatchRow.id).desc()).limit(limit))
    out = []
    for row in rows:
        if citizen_id is not None and row.other_citizen_id == citizen_id:
            out.append(PossibleMatch(citizen_id, row.citizen_id, row.kind, row.created_at))
        else:
            out.append(PossibleMatch(row.citizen_id, row.other_citizen_id, row.kind, row.created_at))
    return out


def identifier_lookup(keys: list[tuple[str, str]]) -> ColumnElement[bool]:
    """``(kind, value)`` is one of ``keys``: an OR of (kind = ... AND value = ...), so that each
    pair is one probe of the unique (kind, value) index instead of a read of the whole table."""
    return or_(
        *(and_(col(CitizenIdentifier.kind) == kind, col(CitizenIdentifier.value) == value) for kind, value in keys)
    )


def find_or_create_citizen(*, session: Session, found: dict[str, str]) -> Citizen:
    """The record this submission joins, else a new one; adds its identifiers no record holds yet.

    The rule is in runtime/citizens.py: of the records holding one of the submission's
    identifiers, only one that ``citizens.conflicts`` finds no contradiction with may be joined
    (the one sharing the strongest identifier); every other such record is marked as a possible
    match of the one used. Identifiers already pointing at another record are left there: two
    records that look like one person are for staff to review, never merged here.
    """
    keys = citizens.match_order(found)
    citizen: Citizen | None = None
    owners: dict[tuple[str, str], int] = {}
    candidates: dict[int, str] = {}  # record: the strongest kind it shares, strongest first
    if keys:
        rows = session.exec(select(CitizenIdentifier).where(identifier_lookup(keys))).all()
        owners = {(r.kind, r.value): r.citizen_id for r in rows}
        for key in keys:
            if key in owners:
                candidates.setdefault(owners[key], key[0])
        held = _held(session, list(candidates))
        for candidate in candidates:
            if not citizens.conflicts(found, held[candidate]):
                citizen = session.get(Citizen, candidate)
                break
    created = citizen is None
    if citizen is None:
        citizen = Citizen()
        session.add(citizen)
        session.flush()
    citizen_id = citizen.id
    assert citizen_id is not None  # flushed above or loaded
    for kind, value in keys:
        if (kind, value) in owners:
            continue
        try:
            with session.begin_nested():
                session.add(CitizenIdentifier(citizen_id=citizen_id, kind=kind, value=value))
            created = False  # the new record now has an identifier of its own
        except IntegrityError:
            # Another submission claimed this identifier a moment ago. A record made here and
            # still empty is dropped for that one if it may be joined, so that the same person
            # arriving twice at once is still one citizen; otherwise the identifier stays where
            # it is, and the two records are a possible match.
            owner = session.exec(
                select(CitizenIdentifier).where(CitizenIdentifier.kind == kind, CitizenIdentifier.value == value)
            ).first()
            if owner is None or owner.citizen_id == citizen_id:
                continue
            if created and not citizens.conflicts(found, _held(session, [owner.citizen_id])[owner.citizen_id]):
                session.delete(citizen)
                session.flush()
                citizen = session.get(Citizen, owner.citizen_id)
                assert citizen is not None
                citizen_id, created = owner.citizen_id, False
            else:
                candidates.setdefault(owner.citizen_id, kind)
    _mark_possible_matches(session, citizen_id, candidates)
    return citizen


class SubmissionClash(Exception):
    """Storing a submission hit a unique constraint: its reference was drawn already, or its
    form session was sent already (another tab), or a concurrent submission marked the same
    records. Nothing of this function's is kept, and the transaction can only be rolled back:
    its owner (``runtime.services.submitting``) rolls it back, looks for the form session's
    submission and tries again."""


def _begin_writing(session: Session) -> None:
    """Make sure the transaction has begun in the database before the first savepoint.

    pysqlite begins a transaction only at the first INSERT, UPDATE or DELETE: a savepoint
    opened before that (``find_or_create_citizen`` puts each new identifier in one) would run
    outside any transaction, and its release would commit on its own. ``BEGIN IMMEDIATE`` takes
    the write lock now, so the reads that follow see the database the writes will change (a
    deferred BEGIN followed by reads could not then write if another submission committed
    meanwhile). It is the one BEGIN the transaction would have had. PostgreSQL: nothing to do."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_submission(
    *,
    session: Session,
    service: Definition,
    answers: dict[str, Any],
    form_session_id: str | None = None,
    prefix: str | None = None,
) -> Submission:
    """Store a validated submission against its citizen record and give it a reference.

    Runs in the caller's transaction and never ends it (no commit, no rollback): a clash raises
    :class:`SubmissionClash`, after which the caller rolls back and may try again (the use case
    ``runtime.services.submitting.submit`` does). No savepoint is used for the submission, so
    that sending a form costs no more statements than it must; on SQLite the transaction is
    begun first (``_begin_writing``), so that an identifier's savepoint stays inside it.
    """
    _begin_writing(session)
    citizen = find_or_create_citizen(session=session, found=citizens.identifiers(service.doc["identity"], answers))
    assert citizen.id is not None
    submission = Submission(
        reference=new_reference(prefix or service.doc["reference_prefix"]),
        service_id=service.id,
        service_version=service.version,
        definition_hash=service.hash,
        citizen_id=citizen.id,
        answers=answers,
        form_session_id=form_session_id,
    )
    session.add(submission)
    try:
        session.flush()
    except IntegrityError as exc:
        raise SubmissionClash() from exc
    return submission


def find_citizen(*, session: Session, key: str) -> Citizen | None:
    """A citizen by record number or by any identifier (email, NHS number, ...)."""
    key = key.strip()
    if not key or len(key) > 400 or any(ord(ch) < 32 for ch in key):
        return None  # nothing stored looks like that (and PostgreSQL refuses NUL bytes)
    if key.isascii() and key.isdigit() and int(key) < 2**31:
        found = session.get(Citizen, int(key))
        if found is not None:
            return found
    for kind in (*citizens.STRONG_KINDS,):
        value = citizens.normalise(kind, key)
        if value:
            row = session.exec(
                select(CitizenIdentifier).where(CitizenIdentifier.kind == kind, CitizenIdentifier.value == value)
            ).first()
            if row is not None:
                return session.get(Citizen, row.citizen_id)
    return None


def citizen_submissions(*, session: Session, citizen_id: int) -> list[tuple[Submission, Service]]:
    rows = session.exec(
        select(Submission, Service)
        .join(Service, col(Service.id) == Submission.service_id)
        .where(Submission.citizen_id == citizen_id)
        .order_by(col(Submission.submitted_at), col(Submission.id))
    ).all()
    return [(s, svc) for s, svc in rows]


def citizen_identifiers(*, session: Session, citizen_id: int) -> list[CitizenIdentifier]:
    return list(
        session.exec(
            select(CitizenIdentifier)
            .where(CitizenIdentifier.citizen_id == citizen_id)
            .order_by(col(CitizenIdentifier.kind))
        )
    )

"""The builder's drafts: making, saving (one winner of two colleagues' saves), moving a draft to
another department, recording progress, deleting; and each staff member's "try it" answers.

Keyword-only functions with an explicit session; the caller owns the transaction.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from ..definition import content_hash
from ..merging import parts, same_content
from ..models import Department, DraftChange, PreviewSession, Service, ServiceDraft, utcnow
from ..problems import Problem
from ..versions import definition
from .departments import MOVE_HINT, department_problem, shown


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

    ``base_version`` names the published version the draft starts from (its definition is kept
    as the draft's ``base_definition``, the base of a later merge); a new service (None) must not
    take the id of a service that is already published. The making is recorded as the
    ``user_id``'s change (``draft_change``) of the parts ``doc`` differs from its base in.
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
    base = definition(session=session, service_id=service_id, version=base_version) if base_version else None
    now = utcnow()
    draft = ServiceDraft(
        service_id=service_id,
        department_id=department_id,
        definition=doc,
        revision=1,
        base_version=base_version,
        base_definition=copy.deepcopy(base.doc) if base is not None else None,
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
    record_change(
        session=session, service_id=service_id, revision=1, user_id=user_id, before=draft.base_definition, after=doc
    )
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
    before = copy.deepcopy(draft.definition)  # revision ``expected_revision``'s document, if the save wins
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
    record_change(
        session=session,
        service_id=current.service_id,
        revision=current.revision,
        user_id=user_id,
        before=before,
        after=doc,
    )
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
    from ..staff import MOVE_SERVICES, has_permission, roles_by_department  # staff's hashing is not needed at import

    usable = isinstance(department_id, int) and not isinstance(department_id, bool) and 0 < department_id < 2**31
    target = session.get(Department, department_id) if usable else None  # PostgreSQL refuses a bigger key
    if target is None or target.id is None:
        raise DepartmentError(Problem("department", "Select the department to move the service to"))
    draft = session.get(ServiceDraft, service_id)
    service = session.get(Service, service_id)
    if draft is None and (service is None or service.department_id is None):
        raise DraftError(f"there is no service called {shown(service_id)!r}")
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
    session.add(DraftChange(service_id=service_id, revision=current.revision, user_id=user_id, parts=["department"]))
    session.flush()
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
    """Remove a draft (discarded, or published), its record of changes and everyone's "try it" answers for it."""
    session.exec(delete(DraftChange).where(col(DraftChange.service_id) == service_id))  # type: ignore[call-overload]
    session.exec(delete(PreviewSession).where(col(PreviewSession.service_id) == service_id))  # type: ignore[call-overload]
    result = session.exec(delete(ServiceDraft).where(col(ServiceDraft.service_id) == service_id))  # type: ignore[call-overload]
    return bool(result.rowcount)


# -- who changed what, and what the draft is based on ---------------------------------------------


def record_change(
    *,
    session: Session,
    service_id: str,
    revision: int,
    user_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    """Record that ``user_id`` saved revision ``revision``, changing the parts ``after`` differs from ``before`` in."""
    changed = parts(before, after)
    if changed:
        session.add(DraftChange(service_id=service_id, revision=revision, user_id=user_id, parts=changed))
        session.flush()


def draft_changes(*, session: Session, service_id: str) -> list[DraftChange]:
    """The draft's recorded changes since it was made or last sent for review, oldest first."""
    return list(
        session.exec(
            select(DraftChange)
            .where(DraftChange.service_id == service_id)
            .order_by(col(DraftChange.revision), col(DraftChange.id))
        ).all()
    )


def draft_base(*, session: Session, draft: ServiceDraft) -> dict[str, Any] | None:
    """The definition the draft started from (its last base), or None for a service never published.

    A draft made before the base was recorded falls back to its base version's definition."""
    if draft.base_definition is not None:
        return draft.base_definition
    if draft.base_version:
        found = definition(session=session, service_id=draft.service_id, version=draft.base_version)
        return found.doc if found is not None else None
    return None


# The draft's record of its last sending for review (in ``task_status``, like a move):
# {"by": staff id, "version": n, "at": ISO time, "from": content hash of what it replaced}.
SENT = "sent"


def behind(*, session: Session, draft: ServiceDraft, upstream: dict[str, Any] | None) -> bool:
    """Whether ``upstream`` (the live version, or the file on the git base branch) holds content the
    draft has not seen: it is neither the draft's base nor, while a sent version waits for review,
    what that version replaced."""
    if upstream is None:
        return False
    base = draft_base(session=session, draft=draft)
    if base is not None and same_content(upstream, base):
        return False
    return not replaced_by_sent(draft, upstream)


def replaced_by_sent(draft: ServiceDraft, doc: dict[str, Any] | None) -> bool:
    """Whether ``doc`` is what the draft's version waiting for review replaced (its merge base,
    when git moves on before that version is merged)."""
    sent = (draft.task_status or {}).get(SENT)
    return doc is not None and isinstance(sent, dict) and sent.get("from") == content_hash(_unversioned(doc))


def _unversioned(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "version"}


def rebase_draft(
    *,
    session: Session,
    draft: ServiceDraft,
    doc: dict[str, Any],
    expected_revision: int,
    base_version: int | None,
    base_definition: dict[str, Any],
) -> ServiceDraft:
    """Bring a draft up to date with a newer version: ``doc`` (the merge), based on ``base_definition``.

    Like a save, one conditional UPDATE on ``expected_revision`` (EditConflict when a colleague
    saved first). No ``draft_change`` is recorded: what arrived is not the staff member's change.
    """
    result = session.exec(  # type: ignore[call-overload]
        update(ServiceDraft)
        .where(col(ServiceDraft.service_id) == draft.service_id, col(ServiceDraft.revision) == expected_revision)
        .values(
            definition=doc,
            base_version=base_version,
            base_definition=base_definition,
            revision=ServiceDraft.revision + 1,  # type: ignore[operator]
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if draft in session:
        session.expire(draft)
    current = session.get(ServiceDraft, draft.service_id)
    if result.rowcount != 1:
        raise EditConflict(current)
    assert current is not None
    return current


def claim_draft(*, session: Session, service_id: str, expected_revision: int) -> ServiceDraft | None:
    """Take the draft at ``expected_revision`` for publishing (None: it moved on, or is gone).

    One UPDATE ... WHERE revision = expected, bumping the revision: of two publishes of the same
    revision exactly one proceeds (the other waits for its row lock, then finds no row), and a
    Publish button left on a page after a publish claims nothing.
    """
    result = session.exec(  # type: ignore[call-overload]
        update(ServiceDraft)
        .where(col(ServiceDraft.service_id) == service_id, col(ServiceDraft.revision) == expected_revision)
        .values(revision=ServiceDraft.revision + 1)  # type: ignore[operator]
        .execution_options(synchronize_session=False)
    )
    found = session.get(ServiceDraft, service_id)
    if found is not None:
        session.refresh(found)
    return found if result.rowcount == 1 else None


def mark_sent(
    *,
    session: Session,
    draft: ServiceDraft,
    doc: dict[str, Any],
    branch: str | None,
    user_id: int,
    replaced: dict[str, Any] | None,
) -> None:
    """A draft's version ``doc`` went to IT for review on ``branch``: the draft is now based on it
    (so the same changes are never offered again), and its changes so far are credited."""
    statuses = dict(draft.task_status or {})
    statuses[SENT] = {
        "by": user_id,
        "version": doc.get("version"),
        "at": utcnow().isoformat(),
        "from": content_hash(_unversioned(replaced)) if replaced is not None else None,
    }
    draft.task_status = statuses
    draft.base_definition = copy.deepcopy(doc)
    if branch is not None:
        draft.review_branch = branch
    session.add(draft)
    session.exec(delete(DraftChange).where(col(DraftChange.service_id) == draft.service_id))  # type: ignore[call-overload]
    session.flush()


def settle_draft(*, session: Session, service_id: str) -> bool:
    """Delete a draft with nothing left to publish: its content is what is live, or IT loaded the
    version it sent and nobody changed it since. True if deleted."""
    draft = session.get(ServiceDraft, service_id)
    service = session.get(Service, service_id)
    if draft is None or service is None:
        return False
    live = definition(session=session, service_id=service_id)
    if live is None:
        return False
    sent_unchanged = (
        isinstance((draft.task_status or {}).get(SENT), dict)
        and draft.base_definition is not None
        and not draft_changes(session=session, service_id=service_id)
    )
    if same_content(live.doc, draft.definition) or (sent_unchanged and same_content(live.doc, draft.base_definition)):
        return delete_draft(session=session, service_id=service_id)
    return False


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


# A preview session idle (``updated_at``) longer than the citizens' session timeout
# (``settings.session_timeout_minutes``) has expired, like a citizen's form session: its
# answers are deleted (by "try it" itself, or ``civicforms sessions purge``), and its files are
# forgotten (``uploads.forgotten_uploads``), their rows and bytes deleted by the purge.


def _aware(moment: datetime) -> datetime:
    """A time read back without its zone (SQLite) is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


KEEP_ALIVE_EVERY = timedelta(minutes=1)


def preview_session_idle(preview_session: PreviewSession, *, idle_since: datetime) -> bool:
    """Whether the preview session has not been used since ``idle_since`` (expired)."""
    return _aware(preview_session.updated_at) <= idle_since


def keep_preview_session(*, session: Session, preview_session: PreviewSession, now: datetime) -> bool:
    """Push a preview session's ``updated_at`` to ``now`` while "try it"'s pages are used (at
    most one write a minute; nothing for one deleted meanwhile). True if it was written."""
    if now - _aware(preview_session.updated_at) < KEEP_ALIVE_EVERY:
        return False
    result = session.connection().execute(
        update(PreviewSession)
        .where(col(PreviewSession.id) == preview_session.id, col(PreviewSession.updated_at) < now - KEEP_ALIVE_EVERY)
        .values(updated_at=now)
    )
    if not result.rowcount:
        return False
    set_committed_value(preview_session, "updated_at", now)
    return True


def delete_idle_preview_sessions(
    *, session: Session, idle_since: datetime, limit: int, user_id: int | None = None, service_id: str | None = None
) -> int:
    """Delete at most ``limit`` preview sessions not used since ``idle_since`` (expired; only
    ``user_id``'s for ``service_id`` when given), the oldest first, each checked again as it is
    deleted (one used meanwhile is kept). Returns how many."""
    query = select(col(PreviewSession.id)).where(col(PreviewSession.updated_at) <= idle_since)
    if user_id is not None:
        query = query.where(col(PreviewSession.user_id) == user_id)
    if service_id is not None:
        query = query.where(col(PreviewSession.service_id) == service_id)
    ids = list(session.connection().execute(query.order_by(col(PreviewSession.updated_at)).limit(limit)).scalars())
    if not ids:
        return 0
    result = session.connection().execute(
        delete(PreviewSession).where(col(PreviewSession.id).in_(ids), col(PreviewSession.updated_at) <= idle_since)
    )
    return int(result.rowcount or 0)


def delete_preview_sessions_of(*, session: Session, user_id: int) -> int:
    """Delete every preview session of a staff member (deactivated): their "try it" answers, and
    so their files at the next purge. Returns how many."""
    result = session.connection().execute(delete(PreviewSession).where(col(PreviewSession.user_id) == user_id))
    return int(result.rowcount or 0)

"""Publishing as use cases: a draft or a rollback from the builder, a folder from ``civicforms load``,
and moving a service to another department.

Each public function takes an explicit session, keyword arguments and ``actor`` (the staff
member's id; None for IT at the command line), owns its transaction, and raises
:class:`runtime.data.published.PublishError` (problems, each with a JSON path and a message),
:class:`runtime.data.drafts.DraftError` or :class:`runtime.data.drafts.DepartmentError` with nothing written.

Writing the reviewed definition file (and its git commit) is the caller's: the builder passes it
in as ``record``, run after the database change is made and before it is committed, so that a
failure to record rolls the database back and the database and the folder always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, col, select

from ..data import drafts, published
from ..models import Service, ServiceDraft, ServiceVersion, StaffUser
from ..versions import definition
from .unit_of_work import atomic


class AlreadyPublished(drafts.DraftError):
    """The draft at the revision the staff member saw was published (or sent) already, or changed:
    nothing was published, and the message says what happened instead."""


class DraftBehind(drafts.DraftError):
    """A newer version arrived since the draft's base: the draft must take it in before it is published."""

    def __init__(self) -> None:
        super().__init__(
            "A newer version of this service was published since your draft was started. "
            "Update your draft with it before you publish."
        )


class Recorded(Protocol):
    """What recording the file did: whether the version is live now, or waits on a review branch."""

    @property
    def live(self) -> bool: ...

    @property
    def branch(self) -> str | None: ...


R = TypeVar("R", bound=Recorded)


def _publish(
    session: Session,
    *,
    actor: int | None,
    doc: dict[str, Any],
    summary: list[str],
    state_mapping: dict[str, str] | None,
    department_id: int,
    moved_from: int | None,
    for_review: bool,
) -> None:
    if for_review:  # the database follows when IT merges and runs civicforms load
        published.check_staff_publish(session=session, doc=doc, department_id=department_id, moved_from=moved_from)
    else:
        published.publish(
            session=session,
            doc=doc,
            published_by=actor,
            change_summary=summary,
            state_mapping=state_mapping,
            department_id=department_id,
            moved_from=moved_from,
        )


def publish_draft(
    *,
    session: Session,
    actor: int,
    service_id: str,
    expected_revision: int,
    doc: dict[str, Any],
    summary: list[str],
    state_mapping: dict[str, str] | None = None,
    department_id: int,
    moved_from: int | None = None,
    for_review: bool,
    upstream: dict[str, Any] | None = None,
    record: Callable[[], R],
) -> R:
    """Publish a draft's definition ``doc`` (live, or for IT's review), then settle the draft.

    The draft is claimed first at ``expected_revision`` (the revision the page showed): of two
    publishes at once exactly one proceeds, and a Publish button left over after a publish makes
    nothing; both raise AlreadyPublished saying what became of the draft. A draft behind the live
    version, or behind ``upstream`` (the file on the git base branch, in review mode), is refused
    (DraftBehind): publishing it would put back what the newer version changed.

    Live: the new version (open cases of removed states moved by ``state_mapping``), and the draft
    is gone. For review: the database is only checked, and the draft is now based on what it
    sent (so the same changes are not offered again) and remembers the review branch.
    ``record`` writes the file; it raises (PublishingError) with nothing changed.
    """
    with atomic(session):
        claimed = drafts.claim_draft(session=session, service_id=service_id, expected_revision=expected_revision)
        if claimed is None:
            raise AlreadyPublished(what_happened(session, service_id))
        live = definition(session=session, service_id=service_id)
        live_doc = live.doc if live is not None else None
        if drafts.behind(session=session, draft=claimed, upstream=live_doc) or drafts.behind(
            session=session, draft=claimed, upstream=upstream
        ):
            raise DraftBehind()
        _publish(
            session,
            actor=actor,
            doc=doc,
            summary=summary,
            state_mapping=state_mapping,
            department_id=department_id,
            moved_from=moved_from,
            for_review=for_review,
        )
        outcome = record()
        if outcome.live:
            drafts.delete_draft(session=session, service_id=service_id)
        else:
            drafts.mark_sent(
                session=session,
                draft=claimed,
                doc=doc,
                branch=outcome.branch,
                user_id=actor,
                replaced=upstream if upstream is not None else live_doc,
            )
    return outcome


def what_happened(session: Session, service_id: str) -> str:
    """Why a claim found nothing: published a moment ago, sent for review, or changed by a colleague."""
    draft = drafts.get_draft(session=session, service_id=service_id)
    if draft is not None:
        session.refresh(draft)
    service = session.get(Service, service_id)
    if draft is None and service is not None:
        row = session.exec(
            select(ServiceVersion)
            .where(ServiceVersion.service_id == service_id)
            .order_by(col(ServiceVersion.version).desc())
        ).first()
        by = session.get(StaffUser, row.published_by) if row is not None and row.published_by else None
        who = f" by {by.name}" if by is not None else ""
        return (
            f"This service was published a moment ago{who} as version {service.current_version}. "
            "Nothing more was published."
        )
    if draft is None:
        return "This draft was discarded a moment ago. Nothing was published."
    sent = (draft.task_status or {}).get(drafts.SENT)
    if isinstance(sent, dict) and not drafts.draft_changes(session=session, service_id=service_id):
        by = session.get(StaffUser, sent.get("by")) if isinstance(sent.get("by"), int) else None
        who = f" by {by.name}" if by is not None else ""
        return (
            f"These changes were sent to IT for review a moment ago{who} as version {sent.get('version')}. "
            "Nothing more was sent."
        )
    return "A colleague changed this service while you were looking at it. Check the changes below."


def update_draft(
    *,
    session: Session,
    actor: int,
    draft: ServiceDraft,
    expected_revision: int,
    doc: dict[str, Any],
    base_version: int | None,
    base_definition: dict[str, Any],
) -> ServiceDraft:
    """Take a newer version into a draft: ``doc`` is the merge (conflicts chosen by the staff
    member), now based on ``base_definition``. EditConflict when a colleague saved first."""
    with atomic(session):
        return drafts.rebase_draft(
            session=session,
            draft=draft,
            doc=doc,
            expected_revision=expected_revision,
            base_version=base_version,
            base_definition=base_definition,
        )


def roll_back(
    *,
    session: Session,
    actor: int,
    doc: dict[str, Any],
    summary: list[str],
    department_id: int,
    for_review: bool,
    record: Callable[[], R],
) -> R:
    """Publish an earlier version's content ``doc`` as a new version of the service (live, or
    for review), in the department it is in. The draft, if any, is left as it is."""
    with atomic(session):
        _publish(
            session,
            actor=actor,
            doc=doc,
            summary=summary,
            state_mapping=None,
            department_id=department_id,
            moved_from=None,
            for_review=for_review,
        )
        return record()


def move_service(
    *, session: Session, actor: int, service_id: str, department_id: Any, expected_revision: int | None
) -> ServiceDraft:
    """Move a service (its draft now, the live service when that is published) to another department.

    ``expected_revision`` is the draft revision the staff member saw (None: the form had none).
    Raises DepartmentError (refused, with the reason), EditConflict or DraftError."""
    with atomic(session):
        if expected_revision is None:
            raise drafts.EditConflict(None)
        return drafts.move_draft(
            session=session,
            service_id=service_id,
            department_id=department_id,
            user_id=actor,
            expected_revision=expected_revision,
        )

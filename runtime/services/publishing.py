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

from sqlmodel import Session

from ..data import drafts, published
from ..models import ServiceDraft
from .unit_of_work import atomic


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
    doc: dict[str, Any],
    summary: list[str],
    state_mapping: dict[str, str] | None = None,
    department_id: int,
    moved_from: int | None = None,
    for_review: bool,
    record: Callable[[], R],
) -> R:
    """Publish a draft's definition ``doc`` (live, or for IT's review), then settle the draft.

    Live: the new version (open cases of removed states moved by ``state_mapping``), and the draft
    is gone. For review: the database is only checked, and the draft remembers the review branch.
    ``record`` writes the file; it raises (PublishingError) with nothing changed.
    """
    with atomic(session):
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
            current = drafts.get_draft(session=session, service_id=service_id)
            assert current is not None
            drafts.mark_draft(session=session, draft=current, review_branch=outcome.branch)
    return outcome


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

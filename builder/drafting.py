"""The builder's own writes as use cases: drafts, their task list, and "try it" answers.

Like ``runtime.services``: an explicit session, keyword arguments and ``actor`` (the staff
member's id); each function owns its transaction, committing what it wrote or rolling it all
back and raising the store's error (``DraftError``: a conflict or a clash; ``DepartmentError``:
refused, with a problem naming the field). Publishing and moving a service are in
``runtime.services.publishing``; the builder's views call both and never commit themselves.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from runtime.data import drafts
from runtime.models import ServiceDraft
from runtime.services.unit_of_work import atomic


def create_service(*, session: Session, actor: int, doc: dict[str, Any], department_id: int) -> ServiceDraft:
    """A new service: its first draft, in ``department_id``. DraftError when the id is taken."""
    with atomic(session):
        return drafts.create_draft(session=session, doc=doc, department_id=department_id, user_id=actor)


def save_draft(
    *,
    session: Session,
    actor: int,
    draft: ServiceDraft | None,
    doc: dict[str, Any],
    department_id: int,
    base_version: int | None,
    expected_revision: int,
    task_status: dict[str, Any] | None = None,
) -> ServiceDraft:
    """Save an edited definition against the revision the staff member saw.

    With no ``draft`` yet (a live service's first edit) the draft is made, with ``task_status``
    if given. Raises DepartmentError (the definition names another department: never saved),
    EditConflict (a colleague saved since) or DraftError (a colleague made the first draft a
    moment ago).
    """
    with atomic(session):
        if draft is None:
            made = drafts.create_draft(
                session=session, doc=doc, department_id=department_id, user_id=actor, base_version=base_version
            )
            if task_status:
                drafts.mark_draft(session=session, draft=made, task_status=task_status)
            return made
        return drafts.save_draft(
            session=session,
            draft=draft,
            doc=doc,
            expected_revision=expected_revision,
            user_id=actor,
            task_status=task_status,
        )


def mark_previewed(*, session: Session, actor: int, draft: ServiceDraft) -> None:
    """The draft was previewed or tried (the publish checklist's item); never a conflict."""
    with atomic(session):
        drafts.mark_draft(session=session, draft=draft, preview_visited=True)


def save_try_it_answers(*, session: Session, actor: int, service_id: str, answers: dict[str, Any]) -> None:
    """Keep the staff member's answers while they try the draft."""
    with atomic(session):
        drafts.save_preview_session(session=session, user_id=actor, service_id=service_id, answers=answers)


def forget_try_it_answers(*, session: Session, actor: int, service_id: str) -> None:
    """Start trying the draft again from nothing."""
    with atomic(session):
        drafts.clear_preview_session(session=session, user_id=actor, service_id=service_id)

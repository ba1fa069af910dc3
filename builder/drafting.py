"""The builder's own writes as use cases: drafts, their task list, and "try it" answers.

Like ``runtime.services``: an explicit session, keyword arguments and ``actor`` (the staff
member's id); each function owns its transaction, committing what it wrote or rolling it all
back and raising the store's error (``DraftError``: a conflict or a clash; ``DepartmentError``:
refused, with a problem naming the field). Publishing and moving a service are in
``runtime.services.publishing``; the builder's views call both and never commit themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from runtime.data import drafts
from runtime.data import uploads as upload_data
from runtime.data.uploads import preview_holder
from runtime.models import ServiceDraft, utcnow
from runtime.services import uploading
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


@dataclass
class PreviewAnswers:
    """A staff member's "try it" answers, where the runtime's use cases that write answers piece
    by piece (an add-another item, a file) keep them: ``runtime.services.answer_stores.AnswerStore``.

    ``id`` is what its files are held under (``runtime.data.uploads.preview_holder``): apart from
    citizens' files, never sent, and forgotten with the preview session.
    """

    user_id: int
    service_id: str
    id: str
    answers: dict[str, Any]
    updated_at: datetime
    expires_at: datetime
    submission_reference: str | None = field(default=None)

    def save_answers(self, *, session: Session, answers: dict[str, Any], minutes: int) -> None:
        drafts.save_preview_session(session=session, user_id=self.user_id, service_id=self.service_id, answers=answers)
        self.answers = dict(answers)
        self.updated_at = utcnow()
        self.expires_at = self.updated_at + timedelta(minutes=minutes)


def preview_answers(
    *, session: Session, actor: int, service_id: str, minutes: int, files: uploading.Uploads | None = None
) -> PreviewAnswers:
    """The staff member's "try it" answers for a service (their preview session, made now if
    they have none yet: its files need an id to be held under).

    Each page of "try it" they use keeps it alive (its ``updated_at``, at most one write a
    minute); one left idle longer than ``minutes`` (the citizens' session timeout) has expired,
    as ``civicforms sessions purge`` would find it: it is deleted with its files (their rows
    now, their bytes through the deletion queue: at once given ``files``, else by the worker)
    and a new one begun."""
    queued: list[int] = []
    row = drafts.get_preview_session(session=session, user_id=actor, service_id=service_id)
    if row is not None and row.id is not None:
        now = utcnow()
        idle_since = now - timedelta(minutes=minutes)
        with atomic(session):
            if drafts.preview_session_idle(row, idle_since=idle_since) and drafts.delete_idle_preview_sessions(
                session=session, idle_since=idle_since, limit=1, user_id=actor, service_id=service_id
            ):
                queued = _drop_files(session, preview_holder(row.id))
                session.expunge(row)
                row = None
            else:
                drafts.keep_preview_session(session=session, preview_session=row, now=now)
    if row is None:
        try:
            with atomic(session):
                made = drafts.save_preview_session(session=session, user_id=actor, service_id=service_id, answers={})
                assert made.id is not None
                # SQLite may give it the id of a preview session deleted since (a draft discarded,
                # a staff member deactivated): never that one's files, were any still there.
                queued += _drop_files(session, preview_holder(made.id))
        except IntegrityError:
            pass  # made a moment ago by another of their requests
        row = drafts.get_preview_session(session=session, user_id=actor, service_id=service_id)
    if files is not None:
        uploading.delete_queued(session=session, files=files, ids=queued)
    assert row is not None and row.id is not None
    answers = row.answers if isinstance(row.answers, dict) else {}
    return PreviewAnswers(
        user_id=actor,
        service_id=service_id,
        id=preview_holder(row.id),
        answers=dict(answers),
        updated_at=row.updated_at,
        expires_at=utcnow() + timedelta(minutes=minutes),
    )


def _drop_files(session: Session, holder: str) -> list[int]:
    """In the caller's transaction: delete the rows of the files held under ``holder`` and
    queue the deletion of their bytes (the queued deletions' ids)."""
    ids = [row.id for row in upload_data.unsent_uploads(session=session, form_session_id=holder)]
    upload_data.delete_rows(session=session, ids=ids)
    return uploading.queue_deletion(session=session, upload_ids=ids)


def save_try_it_answers(*, session: Session, actor: int, service_id: str, answers: dict[str, Any]) -> None:
    """Keep the staff member's answers while they try the draft."""
    with atomic(session):
        drafts.save_preview_session(session=session, user_id=actor, service_id=service_id, answers=answers)


def forget_try_it_answers(
    *, session: Session, actor: int, service_id: str, files: uploading.Uploads | None = None
) -> None:
    """Start trying the draft again from nothing: the answers, and the files uploaded while
    trying it (deleted with their bytes; without ``files``, the next purge of forgotten files
    deletes them, as it does those of a draft discarded or published)."""
    with atomic(session):
        row = drafts.get_preview_session(session=session, user_id=actor, service_id=service_id)
        held = preview_holder(row.id) if row is not None and row.id is not None else None
        drafts.clear_preview_session(session=session, user_id=actor, service_id=service_id)
    if held is not None and files is not None:
        uploading.discard(session=session, files=files, form_session_id=held)

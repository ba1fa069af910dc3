"""Where a journey's answers are kept while it is walked: the seam between the use cases that
write a page's answers piece by piece (``runtime.services.repeating``: an add-another item;
``runtime.services.uploading``: a file) and the row that holds them.

For a citizen that is their form session (``runtime.models.FormSession``, or the
``FormSessionState`` a request read). The builder's "try it" keeps a staff member's answers in
their preview session instead (``builder.drafting.PreviewAnswers``): anything with the shape of
:class:`AnswerStore`. Its ``id`` is what its files are held under (``upload.form_session_id``),
so it must never be a form session's id (``builder.drafting.preview_holder``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlmodel import Session

from ..data import form_sessions
from ..models import FormSession
from . import submitting

__all__ = ["AnswerStore", "Holder", "keep_alive", "save_answers"]


@runtime_checkable
class AnswerStore(Protocol):
    """Answers kept somewhere other than a form session."""

    id: str
    answers: dict[str, Any]
    expires_at: datetime
    updated_at: datetime
    submission_reference: str | None

    def save_answers(self, *, session: Session, answers: dict[str, Any], minutes: int) -> None:
        """Write ``answers`` in ``session``'s transaction (the caller commits)."""
        ...


Holder = form_sessions.FormSessionState | FormSession | AnswerStore


def save_answers(*, session: Session, holder: Holder, answers: dict[str, Any], minutes: int) -> None:
    """Store ``answers`` where ``holder`` keeps them, in the caller's transaction."""
    if isinstance(holder, FormSession | form_sessions.FormSessionState):
        form_sessions.save_answers(session=session, form_session=holder, answers=answers, minutes=minutes)
    else:
        holder.save_answers(session=session, answers=answers, minutes=minutes)


def keep_alive(*, session: Session, holder: Holder, minutes: int) -> bool:
    """Push a form session's expiry back while its pages are read (``submitting.keep_alive``);
    another store has nothing to push back."""
    if isinstance(holder, FormSession | form_sessions.FormSessionState):
        return submitting.keep_alive(session=session, form_session=holder, minutes=minutes)
    return False

"""Submissions: storing a validated submission against its citizen record, and finding the one
a form session sent.

Keyword-only functions with an explicit session; the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .. import citizens
from ..definition import Definition
from ..models import Submission
from ..references import new_reference
from .citizens import file_details, match_submission


def submission_for_form_session(*, session: Session, form_session_id: str) -> Submission | None:
    return session.exec(select(Submission).where(Submission.form_session_id == form_session_id)).first()


class SubmissionClash(Exception):
    """Storing a submission hit a unique constraint: its reference was drawn already, or its
    form session was sent already (another tab), or a concurrent submission marked the same
    records. Nothing of this function's is kept, and the transaction can only be rolled back:
    its owner (``runtime.services.submitting``) rolls it back, looks for the form session's
    submission and tries again."""


def _begin_writing(session: Session) -> None:
    """Make sure the transaction has begun in the database before the first savepoint.

    pysqlite begins a transaction only at the first INSERT, UPDATE or DELETE: a savepoint
    opened before that would run
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
    found = citizens.identifiers(service.doc["identity"], answers)
    filing = match_submission(session=session, found=found)
    submission = Submission(
        reference=new_reference(prefix or service.doc["reference_prefix"]),
        service_id=service.id,
        service_version=service.version,
        definition_hash=service.hash,
        citizen_id=filing.citizen_id,
        answers=answers,
        form_session_id=form_session_id,
    )
    session.add(submission)
    try:
        session.flush()
    except IntegrityError as exc:
        raise SubmissionClash() from exc
    file_details(session=session, submission=submission, found=found, filing=filing)
    return submission

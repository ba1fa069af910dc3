"""What staff read of a case's files, and what an erasure removes of them (docs/uploads.md, "Staff").

A case's files are the uploads of its submission (the file questions' answers) and those the
applicant sent in answer to its requests for information. Staff are only ever given a file that
is ``clean`` (scanned, and kept in storage): a file still waiting for its scan lives in the
quarantine folder and is shown to nobody.

Keyword-only functions with an explicit session; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func
from sqlmodel import Session, col, or_, select

from ..models import Case, InformationRequest, Upload
from ..uploads import KINDS

CLEAN = "clean"
UPLOAD_ID_LENGTH = 32  # random hex, the file's name in storage and in every URL


def valid_upload_id(text: str) -> bool:
    """Whether ``text`` can be an upload's id (32 lower-case hex characters): anything else is
    refused before a query is made."""
    return len(text) == UPLOAD_ID_LENGTH and all(c in "0123456789abcdef" for c in text)


def kind_label(content_type: str) -> str:
    """The kind of a file as staff and citizens call it ("JPG", "PDF"), from its content type."""
    return next((k.label for k in KINDS.values() if k.mime == content_type), content_type)


def _request_ids(session: Session, case_id: int, *, answered: bool) -> list[int]:
    query = select(InformationRequest.id).where(InformationRequest.case_id == case_id)
    if answered:
        query = query.where(col(InformationRequest.answered_at).is_not(None))
    return [i for i in session.exec(query).all() if i is not None]


def _of_case(session: Session, case: Case, *, sent: bool = True) -> ColumnElement[bool]:
    """The case's uploads: its submission's, and those of its requests for information (with
    ``sent``, only of requests the applicant has answered: a file uploaded for a document is
    theirs until they press Send)."""
    assert case.id is not None
    owners = [col(Upload.submission_id) == case.submission_id]
    requests = _request_ids(session, case.id, answered=sent)
    if requests:
        owners.append(col(Upload.request_id).in_(requests))
    return or_(*owners)


def case_files(session: Session, *, case: Case) -> list[Upload]:
    """The case's clean files, in the order they were uploaded (a file question's, then any sent
    in answer to a request, by time)."""
    return list(
        session.exec(
            select(Upload)
            .where(_of_case(session, case), col(Upload.status) == CLEAN, col(Upload.storage_key).is_not(None))
            .order_by(col(Upload.created_at), col(Upload.id))
        )
    )


def case_file(session: Session, *, case: Case, upload_id: str) -> Upload | None:
    """One clean file of the case (None: no such file, another case's, or not clean yet)."""
    if not valid_upload_id(upload_id):
        return None
    return session.exec(
        select(Upload).where(
            col(Upload.id) == upload_id,
            _of_case(session, case),
            col(Upload.status) == CLEAN,
            col(Upload.storage_key).is_not(None),
        )
    ).first()


def files_of_submissions(
    session: Session, *, submission_ids: Sequence[int], request_ids: Sequence[int]
) -> list[Upload]:
    """The clean files of these submissions and requests for information (a subject access report)."""
    owners = []
    if submission_ids:
        owners.append(col(Upload.submission_id).in_(list(submission_ids)))
    if request_ids:
        owners.append(col(Upload.request_id).in_(list(request_ids)))
    if not owners:
        return []
    return list(
        session.exec(
            select(Upload)
            .where(or_(*owners), col(Upload.status) == CLEAN, col(Upload.storage_key).is_not(None))
            .order_by(col(Upload.created_at), col(Upload.id))
        )
    )


def count_case_uploads(session: Session, *, case: Case) -> int:
    """How many files the case holds, whatever their state (what an erasure would delete)."""
    return int(session.exec(select(func.count()).select_from(Upload).where(_of_case(session, case, sent=False))).one())


def remove_case_uploads(session: Session, *, case: Case) -> list[Upload]:
    """Delete every upload row of the case, whatever its state, and return them (detached) so
    that the caller deletes their bytes (storage and quarantine) before it commits."""
    rows = list(session.exec(select(Upload).where(_of_case(session, case, sent=False))))
    if rows:
        session.exec(delete(Upload).where(col(Upload.id).in_([r.id for r in rows])))  # type: ignore[call-overload]
        for row in rows:
            session.expunge(row)
    return rows


def remove_submission_uploads(session: Session, *, submission_id: int) -> list[Upload]:
    """Delete every upload row of a submission that has no case (never the case: use
    :func:`remove_case_uploads`) and return them."""
    rows = list(session.exec(select(Upload).where(col(Upload.submission_id) == submission_id)))
    if rows:
        session.exec(delete(Upload).where(col(Upload.id).in_([r.id for r in rows])))  # type: ignore[call-overload]
        for row in rows:
            session.expunge(row)
    return rows

"""A citizen filling in and sending a form, as use cases: start a form session, save a page's
answers, keep the form alive, and send it (the submission, the citizen record, the case and its
messages, and the emptied form session, in one transaction).

Every public function takes the session explicitly and keyword arguments, owns its transaction
(commits what it wrote, or rolls all of it back and re-raises) and raises a
:class:`SubmitError` (a field and a message) for what the citizen must put right. The citizen
face turns those into its own pages; a partner API or a CLI would turn them into its own words.

The question pages' fast path is kept: ``save_page``, ``keep_alive`` and ``forget_expired``
each write at most one row, so they work as they are on the autocommit ``StatementSession`` a
question page uses (``runtime.web.common.one_statement_at_a_time``): its ``commit`` with
nothing begun sends nothing, and no statement is added to the page's one ``SELECT`` and one
``UPDATE``. Each transaction is ``unit_of_work.atomic``'s, but for ``keep_alive`` and
``forget_expired``, which commit only when they wrote: a page that wrote nothing goes on
reading in the transaction it had (no ``COMMIT``, nothing it loaded expired).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from .. import abuse, cases
from ..data import form_sessions, submissions
from ..data import uploads as upload_data
from ..definition import Definition, Page
from ..journey import Journey
from ..models import Case, FormSession, Submission, utcnow
from ..validation import compiled
from .unit_of_work import atomic

MAX_TRIES = 5  # a new reference drawn on each clash; a clash is one in millions


class SubmitError(Exception):
    """Something the citizen must put right; nothing was written. ``field`` is the answer's
    path (``""`` for the form as a whole) and ``message`` the product's plain words for it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class AnswersInvalid(SubmitError):
    """The answers break the service's rules: ``errors`` by field path (the first is ``field``)."""

    def __init__(self, errors: dict[str, str]):
        field, message = next(iter(errors.items()))
        super().__init__(field, message)
        self.errors = dict(errors)


class NotReady(SubmitError):
    """A page of the journey is still to be answered (or ends it: a stop page): ``page``."""

    def __init__(self, page: Page):
        super().__init__(page.questions[0] if page.questions else "", "Answer every question before sending")
        self.page = page


class AnswersTooLarge(SubmitError):
    """One form's answers, all pages together, are over CIVICFORMS_MAX_ANSWERS_BYTES."""

    def __init__(self, limit: int):
        super().__init__("", f"The answers to this form must be {limit:,} bytes or less")
        self.limit = limit


class FilesWaiting(SubmitError):
    """A file of the form is still waiting for its virus scan: ``page`` asks for it."""

    def __init__(self, page: Page):
        first = page.questions[0] if page.questions else ""
        super().__init__(first, "Wait until your files have been checked for viruses")
        self.page = page


class AlreadySent(SubmitError):
    """This form session was sent already (another tab, a double click): ``reference``."""

    def __init__(self, reference: str):
        super().__init__("", "This form has already been sent")
        self.reference = reference


def _nothing_pending(session: Session) -> None:
    """A use case commits or rolls back the session it is given: refuse one that holds writes of
    its caller's, which would otherwise be committed (or thrown away) with the use case's own."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("the session holds unsaved changes of its caller's: commit or roll them back first")


# -- starting ----------------------------------------------------------------------------------------


def start(
    *,
    session: Session,
    service: Definition,
    minutes: int,
    replacing: str | None = None,
    expired_token: str | None = None,
) -> str:
    """A new form session for ``service``; returns its secret token (for the citizen's cookie).

    ``replacing`` (a form session's id) is deleted in the same transaction, with its answers:
    the citizen chose to start again, or the browser held an empty form. ``expired_token``'s
    form session is deleted too if it has expired. Nothing is written when this raises."""
    _nothing_pending(session)
    with atomic(session):
        if replacing is not None:
            abuse.delete_form_session(session=session, form_session_id=replacing)
        if expired_token is not None:
            abuse.delete_if_expired(session=session, token=expired_token)
        token = form_sessions.start_form_session(session=session, service=service, minutes=minutes)
    return token


def forget_expired(*, session: Session, token: str | None) -> bool:
    """Delete the form session of ``token`` now if it has expired (the timed-out page says its
    answers are deleted); True if one was. At most one ``DELETE``."""
    try:
        deleted = abuse.delete_if_expired(session=session, token=token)
        if deleted:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return deleted


def keep_alive(*, session: Session, form_session: form_sessions.FormSessionState | FormSession, minutes: int) -> bool:
    """Push the form session's expiry back while the citizen reads its pages (at most one
    ``UPDATE`` a minute); True if it was written."""
    try:
        written = form_sessions.keep_alive(session=session, form_session=form_session, minutes=minutes)
        if written:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return written


# -- answering a page --------------------------------------------------------------------------------


def save_page(
    *,
    session: Session,
    journey: Journey,
    form_session: form_sessions.FormSessionState | FormSession,
    page: Page,
    given: dict[str, Any],
    minutes: int,
    max_answers_bytes: int,
) -> Journey:
    """Answer ``page`` of ``journey`` (the form session's answers) with ``given``, and store
    the answers with one ``UPDATE``; returns the journey as it is now.

    Raises :class:`AnswersInvalid` (this page's errors, nothing written) or
    :class:`AnswersTooLarge`. A form sent meanwhile from another tab is left as it is."""
    if page.stop:
        raise NotReady(page)
    # Answers on pages now hidden are kept until the submission, so that changing an answer
    # back (or a misclick that reaches a stop page) loses nothing (see Journey.answer).
    answered = journey.answer(page, given)
    errors = answered.page_errors(page)
    if errors:
        raise AnswersInvalid(errors)
    if abuse.answers_size(answered.answers) > max_answers_bytes:
        raise AnswersTooLarge(max_answers_bytes)
    with atomic(session):
        form_sessions.save_answers(
            session=session, form_session=form_session, answers=answered.answers, minutes=minutes
        )
    return answered


# -- sending -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    submission: Submission
    case: Case

    @property
    def reference(self) -> str:
        return self.submission.reference


def submit(
    *,
    session: Session,
    service: Definition,
    form_session: form_sessions.FormSessionState | FormSession,
    minutes: int,
    secret_key: str,
    urls: cases.CaseUrls | None = None,
    holidays: frozenset[date] = frozenset(),
    now: datetime | None = None,
) -> Sent:
    """Send the form session's answers to ``service`` (the version it was started on).

    In one transaction: the submission against its citizen record (found or made), its case in
    the workflow's first step with the messages to the citizen and staff, and the form session
    emptied and marked sent. On a clash (a reference drawn twice) the whole transaction is
    rolled back and tried again; if another tab sent this form session first, raises
    :class:`AlreadySent` with that reference. Raises :class:`NotReady` or
    :class:`AnswersInvalid` before writing anything when the answers cannot be sent. On any
    failure nothing is written, and ``form_session`` is as it was.
    """
    if form_session.submission_reference:
        raise AlreadySent(form_session.submission_reference)
    journey = Journey(compiled(service), form_session.answers)
    gap = journey.first_incomplete
    if gap is not None:
        raise NotReady(gap)
    if journey.errors:  # only an error no page owns (a definition fault) gets here
        raise AnswersInvalid(journey.errors)
    _nothing_pending(session)
    answers = journey.visible_answers
    files = _file_ids(service, answers)
    if service.file_questions:
        _no_file_waiting(session, service, form_session.id)
    before = (form_session.answers, form_session.updated_at, form_session.expires_at)
    for _attempt in range(MAX_TRIES):
        try:
            with atomic(session):
                submission = submissions.create_submission(
                    session=session, service=service, answers=answers, form_session_id=form_session.id
                )
                # The case starts in the same transaction: no submission without its case.
                case = cases.open_case(
                    session,
                    submission=submission,
                    definition=service,
                    now=now or utcnow(),
                    secret_key=secret_key,
                    urls=urls,
                    holidays=holidays,
                )
                if files:
                    # The files its answers name become the submission's, no longer expiring.
                    assert submission.id is not None
                    attached = upload_data.attach_to_submission(
                        session=session, form_session_id=form_session.id, submission_id=submission.id, ids=files
                    )
                    if attached != len(files):
                        raise AnswersInvalid({"": "A file of this form has been removed: check your answers"})
                form_session.submission_reference = submission.reference
                form_sessions.save_answers(session=session, form_session=form_session, answers={}, minutes=minutes)
            return Sent(submission, case)
        except submissions.SubmissionClash:  # rolled back whole: draw another reference
            _restore(form_session, before)
            done = submissions.submission_for_form_session(session=session, form_session_id=form_session.id)
            if done is not None:
                session.rollback()  # the read above: end it, as every other path does
                raise AlreadySent(done.reference) from None
        except BaseException:  # rolled back whole
            _restore(form_session, before)
            raise
    raise RuntimeError(f"could not find a free reference number in {MAX_TRIES} tries")


def _file_ids(service: Definition, answers: dict[str, Any]) -> list[str]:
    """The ids of the uploaded files ``answers`` name (runtime.widgets.file)."""
    return [
        item["id"]
        for name in service.file_questions
        if isinstance(answers.get(name), list)
        for item in answers[name]
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


def _no_file_waiting(session: Session, service: Definition, form_session_id: str) -> None:
    """Nothing is sent while a file waits for its virus scan."""
    waiting = [
        row
        for row in upload_data.unsent_uploads(session=session, form_session_id=form_session_id)
        if row.status == upload_data.WAITING
    ]
    session.rollback()  # the read's transaction: sending begins its own
    if waiting:
        raise FilesWaiting(service.page_of_question[waiting[0].question])


def _restore(
    form_session: form_sessions.FormSessionState | FormSession, before: tuple[Any, datetime, datetime]
) -> None:
    """The form session's fields as read, after a rolled-back try wrote them on the object."""
    answers, updated_at, expires_at = before
    if isinstance(form_session, FormSession):
        return  # a tracked row: the rollback expired it, and it is read again when used
    form_session.submission_reference = None
    form_session.answers, form_session.updated_at, form_session.expires_at = answers, updated_at, expires_at


def record_submission(
    *,
    session: Session,
    service: Definition,
    answers: dict[str, Any],
    form_session_id: str | None = None,
    prefix: str | None = None,
) -> Submission:
    """Store a submission of ``answers`` (already validated) against its citizen record, with
    no case: for loading data and for tests of matching. One transaction, tried again on a
    reference clash; raises :class:`AlreadySent` if ``form_session_id`` was sent already."""
    _nothing_pending(session)
    for _attempt in range(MAX_TRIES):
        try:
            with atomic(session):
                submission = submissions.create_submission(
                    session=session, service=service, answers=answers, form_session_id=form_session_id, prefix=prefix
                )
            return submission
        except submissions.SubmissionClash:  # rolled back whole: draw another reference
            if form_session_id is not None:
                done = submissions.submission_for_form_session(session=session, form_session_id=form_session_id)
                if done is not None:
                    session.rollback()
                    raise AlreadySent(done.reference) from None
    raise RuntimeError(f"could not find a free reference number in {MAX_TRIES} tries")

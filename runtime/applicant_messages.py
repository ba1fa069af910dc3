"""What the applicant is told beyond the service's own message templates (issue 17, part C).

A decision's reason and how to ask for a review or appeal (the decision email and the status
page), and a request for information's message, questions and reply-by date (in the email
itself, not only behind its link). The service's templates (``workflow.messages``) stay as
written; these paragraphs follow them.

Pure: plain values in, plain text out; the store (runtime.cases) and the status page's read
(runtime.case_reads) call it. The reply-by rules live here too, so that the back office's form
and the store say the same thing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from . import workflow as wf
from .definition import Definition
from .widgets.date import long_date

DEFAULT_REPLY_DAYS = 14
MAX_REPLY_DAYS = wf.MAX_REPLY_DAYS
DEFAULT_REPLY = wf.Duration(text=f"P{DEFAULT_REPLY_DAYS}D", days=DEFAULT_REPLY_DAYS)


# -- reply-by dates -------------------------------------------------------------------------------


def default_reply_by(
    transition: wf.Transition, now: datetime, working_days: bool, holidays: frozenset[date] = frozenset()
) -> date:
    """The date a request's form offers: the transition's ``reply_within`` (14 days when it has
    none) from now, in working days when the service counts them."""
    return wf.due(now, transition.reply_within or DEFAULT_REPLY, working_days, holidays).date()


def latest_reply_by(today: date) -> date:
    return today + timedelta(days=MAX_REPLY_DAYS)


def reply_by_problem(day: date | None, today: date) -> str | None:
    """Why ``day`` cannot be a request's reply-by date (None when it can): after today, and at
    most 90 days ahead."""
    if day is None:
        return "Enter the date the applicant must reply by, for example " + long_date(today + timedelta(days=14))
    if day <= today:
        return "The date to reply by must be in the future"
    if day > latest_reply_by(today):
        return (
            f"The date to reply by must be within {MAX_REPLY_DAYS} days: {long_date(latest_reply_by(today))} or earlier"
        )
    return None


def read_date(day: str, month: str, year: str) -> date | None:
    """The date typed in a GOV.UK date input's three boxes; None unless they make a real one
    (ASCII digits only, a four-digit year)."""
    parts = (day.strip(), month.strip(), year.strip())
    if len(parts[2]) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except (ValueError, OverflowError):
        return None


def end_of(day: date) -> datetime:
    """What is stored for a reply-by date: the last second of that day (UTC), so that an answer
    sent on the day is in time."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


# -- a decision -----------------------------------------------------------------------------------


def appeal_paragraphs(state: wf.State, definition: Definition, reasoned: bool) -> list[str]:
    """How to ask for a review or appeal of a decision that ends in ``state``: the state's own
    ``appeal`` text; else, for a decision given with a reason, the service's contact details;
    else nothing (an approval needs no appeal)."""
    if not state.final:
        return []
    if state.appeal.strip():
        return _paragraphs(state.appeal)
    contact = definition.contact
    if not reasoned or contact is None or not (contact.email or contact.phone or contact.address):
        return []
    who = definition.department or "us"
    lines = [f"If you think our decision is wrong, contact {who} and ask us to look at it again."]
    if contact.email:
        lines.append(f"Email: {contact.email}")
    if contact.phone:
        lines.append(f"Telephone: {contact.phone}" + (f" ({contact.hours})" if contact.hours else ""))
    if contact.address:
        lines.append("Write to: " + ", ".join(contact.address))
    return ["\n".join(lines)]


def decision_text(reason: str, appeal: Sequence[str]) -> str:
    """The paragraphs the decision email gets after the service's own message."""
    out: list[str] = []
    if reason.strip():
        out.append("Why we made this decision:\n" + reason.strip())
    if appeal:
        out.append("If you disagree with our decision:\n" + "\n\n".join(appeal))
    return "\n\n".join(out)


# -- a request for information --------------------------------------------------------------------


def request_text(message: str, questions: Sequence[str], reply_by: date | None, documents: Sequence[str] = ()) -> str:
    """The paragraphs the request's email gets after the service's own message: what the
    caseworker wrote, the questions asked again (by their labels), the documents asked for, and
    the date to reply by."""
    out = ["What we need:\n" + message.strip()]
    if questions:
        out.append("We will ask you to answer again:\n" + "\n".join(f"- {label}" for label in questions))
    if documents:
        out.append("We will ask you to upload:\n" + "\n".join(f"- {document}" for document in documents))
    if questions or documents:
        out.append("You can also write anything else you want to tell us.")
    if reply_by is not None:
        out.append(f"Reply by {long_date(reply_by)}.")
    return "\n\n".join(out)


MAX_DOCUMENTS = 5  # documents one request may ask for (each answered with up to MAX_FILES_EACH files)
MAX_DOCUMENT = 200  # characters in one document's description


def read_documents(text: str) -> list[str]:
    """The documents a request asks for, as typed in its box: one on each line, blank lines and
    repeats left out, spaces tidied."""
    lines = (" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n"))
    return list(dict.fromkeys(line for line in lines if line))


def documents_problem(documents: Sequence[str]) -> str | None:
    """Why these documents cannot be asked for, in the caseworker's words (None: they can)."""
    if len(documents) > MAX_DOCUMENTS:
        return f"Ask for at most {MAX_DOCUMENTS} documents in one request"
    for document in documents:
        if len(document) > MAX_DOCUMENT:
            return f"Each document you ask for must be {MAX_DOCUMENT} characters or less"
        if any(unicodedata.category(c)[0] == "C" for c in document):
            return "The documents to ask for cannot contain control characters"
    return None


def question_labels(definition: Definition, names: Sequence[str]) -> list[str]:
    """The questions' labels as the applicant read them on the form."""
    out = []
    for name in names:
        question = definition.questions.get(name)
        out.append(" ".join(str(question.label).split()) if question is not None else name)
    return out


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


__all__ = [
    "DEFAULT_REPLY_DAYS",
    "MAX_DOCUMENT",
    "MAX_DOCUMENTS",
    "MAX_REPLY_DAYS",
    "appeal_paragraphs",
    "decision_text",
    "default_reply_by",
    "documents_problem",
    "end_of",
    "latest_reply_by",
    "question_labels",
    "read_date",
    "read_documents",
    "reply_by_problem",
    "request_text",
]

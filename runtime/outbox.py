"""The outbox: messages written in the same transaction as the action they tell of, sent later.

A decision is committed with its messages or not at all, so a failing mail server can never
lose or block one. ``civicforms worker`` calls :func:`run_once`, which sends what is due.

Delivery is **at least once**, not exactly once. Each message is sent inside its own short
transaction that holds its row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers
never take the same message; on SQLite the claiming UPDATE holds the database's write lock),
and the row is marked ``sent`` in that transaction after the sender returns. If the sender
delivers and then fails to say so (a network drop after the mail server accepted the message,
a crash before the commit), the message is tried again later and may arrive twice. The other
choice, marking it sent first, would lose messages instead; for a decision letter a duplicate
is the lesser harm. Nothing here ever sends a message whose row is already ``sent``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from .email_format import build_email
from .models import OutboxMessage, StaffUser, utcnow

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger("civicforms.outbox")

PENDING, SENT, FAILED = "pending", "sent", "failed"
HELD, DIGESTED = "held", "digested"  # a staff message waiting for, and gone in, a daily digest
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(minutes=1)
MAX_SUBJECT = 500
MAX_BODY = 100_000


@dataclass(frozen=True)
class Message:
    """What a sender gets: never the database row."""

    id: int
    kind: str
    recipient: str
    subject: str
    body: str


class Sender(Protocol):
    def send(self, message: Message) -> None:
        """Deliver the message or raise; returning means it was handed over."""


def enqueue(
    session: Session,
    *,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    now: datetime,
    case_id: int | None = None,
    department_id: int | None = None,
    staff_id: int | None = None,
    held: bool = False,
) -> OutboxMessage:
    """Write a message to send, in the caller's transaction (nothing is sent here).

    ``department_id`` is whose message it is (the outbox page shows each department its own);
    ``staff_id`` the member of staff it is for; ``held`` keeps it for their daily digest."""
    recipient = recipient.strip()
    if not recipient or len(recipient) > 320 or any(ord(ch) < 32 for ch in recipient):
        raise ValueError("a message needs one recipient address (at most 320 characters)")
    # A header cannot hold a line break: a subject is one line.
    subject = " ".join(subject.split())[:MAX_SUBJECT]
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        subject=subject,
        body=body[:MAX_BODY],
        case_id=case_id,
        department_id=department_id,
        staff_id=staff_id,
        created_at=now,
        status=HELD if held else PENDING,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(message)
    session.flush()
    return message


def claim(session: Session, *, limit: int, now: datetime) -> list[OutboxMessage]:
    """Pending messages that are due, oldest first, locked for this transaction.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so another worker skips them rather than waits.
    SQLite has no row locks: a plain select; :func:`run_once` then claims each row with a
    conditional UPDATE before sending it, which holds SQLite's single write lock.
    """
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, col(OutboxMessage.next_attempt_at) <= now)
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(max(1, limit))
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try (1 min, 2, 4, ... 256 min)."""
    return FIRST_RETRY * 2 ** max(0, attempts - 1)


def _error_text(exc: BaseException, recipient: str) -> str:
    """What went wrong, without the recipient's address (an error may quote it)."""
    text = f"{type(exc).__name__}: {exc}".replace(recipient, "<recipient>")
    return " ".join(text.split())[:500]


@dataclass
class RunResult:
    sent: int = 0
    retried: int = 0  # failed this time, will be tried again
    failed: int = 0  # failed for the last time: status "failed"

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


def run_once(
    session_factory: Callable[[], Session],
    sender: Sender,
    now: datetime | None = None,
    limit: int = 50,
) -> RunResult:
    """Send up to ``limit`` due messages, one transaction each; returns what happened."""
    result = RunResult()
    for _ in range(max(1, limit)):
        moment = now or utcnow()
        with session_factory() as session:
            candidates = claim(session, limit=1, now=moment)
            if not candidates:
                session.rollback()
                break
            row = candidates[0]
            assert row.id is not None
            seen = row.attempts
            # Take the row: on SQLite this write holds the database until the commit below, so a
            # second worker that read the same row finds it taken (rowcount 0) and moves on.
            taken = session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row.id,
                    col(OutboxMessage.status) == PENDING,
                    col(OutboxMessage.attempts) == seen,
                )
                .values(attempts=seen + 1)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:
                session.rollback()
                continue
            message = Message(row.id, row.kind, row.recipient, row.subject, row.body)
            values: dict[str, Any]
            try:
                sender.send(message)
            except Exception as exc:  # noqa: BLE001 - any failure of any sender means "try again later"
                error = _error_text(exc, row.recipient)
                if seen + 1 >= MAX_ATTEMPTS:
                    values = {"status": FAILED, "last_error": error}
                    result.failed += 1
                    log.error("outbox: message %s failed for good after %s attempts: %s", row.id, seen + 1, error)
                else:
                    values = {"next_attempt_at": moment + backoff(seen + 1), "last_error": error}
                    result.retried += 1
                    log.warning("outbox: message %s failed (attempt %s), will retry: %s", row.id, seen + 1, error)
            else:
                values = {"status": SENT, "sent_at": moment, "last_error": None}
                result.sent += 1
            session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            session.commit()
    return result


def recent(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages first."""
    return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(max(1, limit))))


def for_departments(
    session: Session, *, department_ids: Iterable[int], staff_id: int, before: int | None = None, limit: int = 50
) -> list[OutboxMessage]:
    """The outbox page's messages, newest first: those of these departments (citizens' and staff
    messages about their cases) and this member of staff's own (their daily digests), a page of
    ``limit`` with ids below ``before`` (keyset pagination)."""
    ids = list(department_ids)
    query = select(OutboxMessage).where(
        or_(col(OutboxMessage.department_id).in_(ids), col(OutboxMessage.staff_id) == staff_id)
        if ids
        else col(OutboxMessage.staff_id) == staff_id
    )
    if before is not None:
        query = query.where(col(OutboxMessage.id) < before)
    return list(session.exec(query.order_by(col(OutboxMessage.id).desc()).limit(max(1, limit))))


# -- daily digests ----------------------------------------------------------------------------------

DIGEST = "digest"
DIGEST_HOUR = 7  # UTC: a digest goes out on the first worker pass after 07:00
MAX_DIGESTED = 200  # messages in one digest; the rest go in the next one


def digest_due_since(now: datetime) -> datetime:
    """The latest digest time at or before ``now``: someone whose last digest is older gets one."""
    cutoff = now.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    return cutoff if cutoff <= now else cutoff - timedelta(days=1)


def release_held(session: Session, *, now: datetime, staff_id: int | None = None) -> int:
    """Send as usual the held messages of people who now want each message as it happens
    (of ``staff_id`` only, when given); returns how many were released."""
    each = select(StaffUser.id).where(StaffUser.notify != "daily")
    if staff_id is not None:
        each = each.where(StaffUser.id == staff_id)
    result = session.exec(  # type: ignore[call-overload]
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == HELD, col(OutboxMessage.staff_id).in_(each.scalar_subquery()))
        .values(status=PENDING, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def digest_body(messages: list[OutboxMessage]) -> tuple[str, str]:
    """The subject and body of a digest of these messages (oldest first)."""
    count = len(messages)
    subject = f"Your daily summary: {count} message{'s' if count != 1 else ''} about cases"
    parts = [
        "Here is what happened on your cases since your last summary. You chose one email a day: "
        "you can change this on the Email settings page of the back office.",
    ]
    for number, message in enumerate(messages, 1):
        parts.append(f"{number}. {message.subject}\n\n{message.body}")
    return subject, "\n\n---\n\n".join(parts)


def send_digests(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Gather each daily-digest person's held messages into one message, once a day, and mark
    them digested; held messages of people who switched back to each message are released.
    Returns how many digests were written (they are sent like any other message)."""
    release_held(session, now=now)
    since = digest_due_since(now)
    people = session.exec(
        select(StaffUser)
        .where(
            StaffUser.notify == "daily",
            col(StaffUser.active),
            or_(col(StaffUser.digest_sent_at).is_(None), col(StaffUser.digest_sent_at) < since),
            select(OutboxMessage.id)
            .where(col(OutboxMessage.staff_id) == col(StaffUser.id), col(OutboxMessage.status) == HELD)
            .exists(),
        )
        .order_by(col(StaffUser.id))
        .limit(max(1, limit))
    ).all()
    written = 0
    for person in people:
        assert person.id is not None
        taken = session.exec(  # type: ignore[call-overload]
            update(StaffUser)
            .where(
                col(StaffUser.id) == person.id,
                or_(col(StaffUser.digest_sent_at).is_(None), col(StaffUser.digest_sent_at) < since),
            )
            .values(digest_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            continue  # another worker wrote it
        held = list(
            session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.staff_id) == person.id, col(OutboxMessage.status) == HELD)
                .order_by(col(OutboxMessage.id))
                .limit(MAX_DIGESTED)
            )
        )
        if not held:
            continue
        subject, body = digest_body(held)
        enqueue(session, kind=DIGEST, recipient=person.email, subject=subject, body=body, now=now, staff_id=person.id)
        session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_([m.id for m in held]), col(OutboxMessage.status) == HELD)
            .values(status=DIGESTED, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        written += 1
    session.flush()
    return written


# -- senders ------------------------------------------------------------------------------------


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "?"


class LogSender:
    """Development: writes one line per message to the log (recipient's domain and subject,
    never the body or the whole address)."""

    def __init__(self, logger: logging.Logger | None = None):
        self.log = logger or log

    def send(self, message: Message) -> None:
        self.log.info(
            "outbox: %s message %s to someone at %s: %s",
            message.kind,
            message.id,
            _domain(message.recipient),
            message.subject,
        )


class SmtpSender:
    """Sends through an SMTP server (smtplib), with STARTTLS, implicit TLS, or neither for a
    relay on localhost; one connection per message."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        security: str = "starttls",
        timeout: float = 30.0,
        organisation: str = "Civic Forms",
    ):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.security, self.timeout = security, timeout
        self.organisation = organisation

    def send(self, message: Message) -> None:
        email = build_email(
            sender=self.sender,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            organisation=self.organisation,
        )
        smtp_class = smtplib.SMTP_SSL if self.security == "tls" else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
            if self.security == "starttls":
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(email)


class NotifySender:
    """Sends through GOV.UK Notify: one email template with ``((subject))`` and ``((body))``."""

    def __init__(self, *, api_key: str, template_id: str, client: Any = None):
        if client is None:
            from notifications_python_client.notifications import NotificationsAPIClient

            try:
                client = NotificationsAPIClient(api_key)
            except (AssertionError, ValueError, IndexError) as exc:  # the client checks the key's shape
                raise RuntimeError(
                    "CIVICFORMS_NOTIFY_API_KEY is not a GOV.UK Notify API key "
                    "(copy the whole key from Notify's API integration page)"
                ) from exc
        self.client, self.template_id = client, template_id

    def send(self, message: Message) -> None:
        self.client.send_email_notification(
            email_address=message.recipient,
            template_id=self.template_id,
            personalisation={"subject": message.subject, "body": message.body},
            reference=f"civicforms-outbox-{message.id}",
        )


def sender_from_settings(settings: Settings) -> Sender:
    """The sender the settings choose (checked settings: the fields each one needs are there)."""
    if settings.mail_backend == "smtp":
        return SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
            organisation=settings.organisation_name,
        )
    if settings.mail_backend == "notify":
        return NotifySender(api_key=settings.notify_api_key, template_id=settings.notify_template_id)
    return LogSender()

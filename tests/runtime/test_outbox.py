"""The outbox: messages written with the action, sent by `civicforms worker` with retries and
back-off; a failing sender loses nothing and a sent message is never sent again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import col, select

from runtime import db as dbmod
from runtime import outbox
from runtime.cli import main
from runtime.models import OutboxMessage
from runtime.settings import Settings

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = dbmod.make_engine(database_url)
    yield engine
    engine.dispose()


def _factory(engine: Engine) -> Any:
    return lambda: dbmod.session(engine)


def _enqueue(engine: Engine, n: int = 1, **kw: Any) -> list[int]:
    ids = []
    with dbmod.session(engine) as s:
        for i in range(n):
            message = outbox.enqueue(
                s,
                kind=kw.get("kind", "decision"),
                recipient=kw.get("recipient", f"citizen{i}@example.com"),
                subject=kw.get("subject", f"Your application {i}"),
                body=kw.get("body", "Secret body text"),
                now=kw.get("now", NOW),
            )
            ids.append(message.id)
        s.commit()
    return [i for i in ids if i is not None]


def _rows(engine: Engine) -> list[OutboxMessage]:
    with dbmod.session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


class Recording:
    """A sender that fails ``fail`` times, then delivers; ``deliver_then_fail`` delivers and then raises."""

    def __init__(self, fail: int = 0, deliver_then_fail: int = 0):
        self.fail, self.deliver_then_fail = fail, deliver_then_fail
        self.delivered: list[int] = []
        self.calls = 0
        self.lock = threading.Lock()

    def send(self, message: outbox.Message) -> None:
        with self.lock:
            self.calls += 1
            if self.fail:
                self.fail -= 1
                raise ConnectionError(f"mail server down while sending to {message.recipient}")
            self.delivered.append(message.id)
            if self.deliver_then_fail:
                self.deliver_then_fail -= 1
                raise TimeoutError("no reply after DATA")


def test_enqueue_writes_in_the_callers_transaction(engine: Engine) -> None:
    with dbmod.session(engine) as s:
        outbox.enqueue(s, kind="decision", recipient="a@example.com", subject="Hi", body="b", now=NOW)
        s.rollback()  # the action failed: so did its message
    assert _rows(engine) == []


@pytest.mark.parametrize("recipient", ["", "   ", "a@b\nBcc: evil@example.com", "x" * 400 + "@example.com"])
def test_enqueue_refuses_a_bad_recipient(engine: Engine, recipient: str) -> None:
    with dbmod.session(engine) as s, pytest.raises(ValueError):
        outbox.enqueue(s, kind="decision", recipient=recipient, subject="Hi", body="b", now=NOW)


def test_a_subject_is_one_line(engine: Engine) -> None:
    _enqueue(engine, subject="Decision\r\nBcc: evil@example.com")
    assert _rows(engine)[0].subject == "Decision Bcc: evil@example.com"


def test_a_failing_sender_retries_with_back_off_then_sends_once(engine: Engine) -> None:
    [message_id] = _enqueue(engine)
    sender = Recording(fail=2)
    factory = _factory(engine)
    assert outbox.run_once(factory, sender, now=NOW) == outbox.RunResult(retried=1)
    row = _rows(engine)[0]
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, NOW + timedelta(minutes=1))
    assert row.last_error == "ConnectionError: mail server down while sending to <recipient>"
    # Not due yet: nothing happens.
    assert outbox.run_once(factory, sender, now=NOW + timedelta(seconds=59)).handled == 0
    assert outbox.run_once(factory, sender, now=NOW + timedelta(minutes=1)) == outbox.RunResult(retried=1)
    row = _rows(engine)[0]
    assert (row.attempts, row.next_attempt_at) == (2, NOW + timedelta(minutes=3))  # then 2 minutes
    assert outbox.run_once(factory, sender, now=NOW + timedelta(minutes=3)) == outbox.RunResult(sent=1)
    row = _rows(engine)[0]
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 3, NOW + timedelta(minutes=3), None)
    assert sender.delivered == [message_id]
    # Sent is sent: later runs never send it again.
    assert outbox.run_once(factory, sender, now=NOW + timedelta(days=30)).handled == 0
    assert sender.delivered == [message_id] and sender.calls == 3


def test_after_ten_attempts_a_message_is_failed_but_kept(engine: Engine) -> None:
    _enqueue(engine)
    sender = Recording(fail=100)
    at = NOW
    waits = []
    for _ in range(10):
        result = outbox.run_once(_factory(engine), sender, now=at)
        assert result.handled == 1
        row = _rows(engine)[0]
        waits.append(row.next_attempt_at - at)
        at = row.next_attempt_at
    assert result == outbox.RunResult(failed=1)
    assert waits[:9] == [timedelta(minutes=2**i) for i in range(9)]
    row = _rows(engine)[0]
    assert (row.status, row.attempts) == ("failed", 10)
    assert row.body == "Secret body text"  # nothing lost: staff can see and resend it
    assert outbox.run_once(_factory(engine), sender, now=at + timedelta(days=1)).handled == 0
    assert sender.calls == 10


def test_delivery_is_at_least_once_when_a_sender_fails_after_delivering(engine: Engine) -> None:
    """Exactly once is not possible: a server that took the message but whose reply was lost
    looks like a failure, so the message is tried again (documented in runtime/outbox.py)."""
    [message_id] = _enqueue(engine)
    sender = Recording(deliver_then_fail=1)
    outbox.run_once(_factory(engine), sender, now=NOW)
    outbox.run_once(_factory(engine), sender, now=NOW + timedelta(minutes=1))
    assert sender.delivered == [message_id, message_id]
    assert _rows(engine)[0].status == "sent"


def test_one_bad_message_does_not_block_the_others(engine: Engine) -> None:
    _enqueue(engine, 3)

    class FailsForOne(Recording):
        def send(self, message: outbox.Message) -> None:
            if message.recipient == "citizen1@example.com":
                raise ConnectionError("refused")
            super().send(message)

    result = outbox.run_once(_factory(engine), FailsForOne(), now=NOW)
    assert result == outbox.RunResult(sent=2, retried=1)


def test_two_workers_at_once_send_every_message_exactly_once(engine: Engine) -> None:
    ids = _enqueue(engine, 30)
    sender = Recording()
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait(timeout=10)
        outbox.run_once(_factory(engine), sender, now=NOW, limit=100)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(sender.delivered) == ids
    assert {r.status for r in _rows(engine)} == {"sent"}


def test_claim_takes_only_due_pending_messages_oldest_first(engine: Engine) -> None:
    later = _enqueue(engine, now=NOW + timedelta(hours=1))
    first = _enqueue(engine, 2)
    with dbmod.session(engine) as s:
        assert [m.id for m in outbox.claim(s, limit=10, now=NOW)] == first
        assert [m.id for m in outbox.claim(s, limit=1, now=NOW + timedelta(hours=2))] == first[:1]
        s.rollback()
    assert later


# -- senders --------------------------------------------------------------------------------------

MESSAGE = outbox.Message(7, "decision", "ada.lovelace@example.com", "Your blue badge", "Dear Ada, the body")


def test_log_sender_logs_the_domain_and_subject_never_the_body(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="civicforms.outbox"):
        outbox.LogSender().send(MESSAGE)
    text = caplog.text
    assert "example.com" in text and "Your blue badge" in text
    assert "ada.lovelace" not in text and "Dear Ada" not in text


class FakeSMTP:
    instances: list[FakeSMTP] = []
    fail = False

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.calls: list[Any] = []
        FakeSMTP.instances.append(self)

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append("quit")

    def starttls(self) -> None:
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", user, password))

    def send_message(self, email: Any) -> None:
        if FakeSMTP.fail:
            raise OSError("451 try again later")
        self.calls.append(
            ("send", email["From"], email["To"], email["Subject"], email.get_body(("plain",)).get_content())
        )


@pytest.fixture
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    FakeSMTP.instances, FakeSMTP.fail = [], False
    monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
    return FakeSMTP


def test_smtp_sender_uses_starttls_and_logs_in(fake_smtp: type[FakeSMTP]) -> None:
    sender = outbox.SmtpSender(
        host="smtp.example.gov.uk", port=587, sender="noreply@example.gov.uk", username="u", password="p"
    )
    sender.send(MESSAGE)
    [smtp] = fake_smtp.instances
    assert (smtp.host, smtp.port) == ("smtp.example.gov.uk", 587)
    assert smtp.calls == [
        "starttls",
        ("login", "u", "p"),
        ("send", "noreply@example.gov.uk", "ada.lovelace@example.com", "Your blue badge", "Dear Ada, the body\n"),
        "quit",
    ]


def test_notify_sender_needs_its_package_and_sends_through_the_client() -> None:
    try:
        import notifications_python_client  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="notifications-python-client is not installed"):
            outbox.NotifySender(api_key="key", template_id="tpl")
    calls: list[dict[str, Any]] = []

    class Client:
        def send_email_notification(self, **kw: Any) -> None:
            calls.append(kw)

    outbox.NotifySender(api_key="key", template_id="tpl", client=Client()).send(MESSAGE)
    assert calls == [
        {
            "email_address": "ada.lovelace@example.com",
            "template_id": "tpl",
            "personalisation": {"subject": "Your blue badge", "body": "Dear Ada, the body"},
            "reference": "civicforms-outbox-7",
        }
    ]


def test_settings_choose_the_sender() -> None:
    base = Settings(secret_key="k" * 40)
    assert isinstance(outbox.sender_from_settings(base), outbox.LogSender)
    smtp = Settings(secret_key="k" * 40, mail_backend="smtp", smtp_host="h", mail_from="a@b.c")
    assert isinstance(outbox.sender_from_settings(smtp), outbox.SmtpSender)


# -- civicforms worker ------------------------------------------------------------------------------


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "CIVICFORMS_ENV": "test",
        "CIVICFORMS_SECRET_KEY": "w" * 40,
        "CIVICFORMS_DATABASE_URL": database_url,
        **{f"CIVICFORMS_{k}": v for k, v in extra.items()},
    }


def test_worker_once_sends_to_the_log_by_default(engine: Engine, database_url: str) -> None:
    _enqueue(engine, 2, now=datetime.now(UTC) - timedelta(seconds=1))
    result = CliRunner().invoke(main, ["worker", "--once"], env=_env(database_url))
    assert result.exit_code == 0, result.output
    assert "sent 2, to retry 0, failed for good 0 (delivery: log)" in result.output
    assert {r.status for r in _rows(engine)} == {"sent"}
    again = CliRunner().invoke(main, ["worker", "--once"], env=_env(database_url))
    assert (again.exit_code, "sent 0" in again.output) == (0, True)


def test_worker_once_through_smtp_retries_and_exits_3_when_it_gives_up(
    engine: Engine, database_url: str, fake_smtp: type[FakeSMTP]
) -> None:
    [first, last_try] = _enqueue(engine, 2, now=datetime.now(UTC) - timedelta(seconds=1))
    with dbmod.session(engine) as s:
        row = s.get(OutboxMessage, last_try)
        assert row is not None
        row.attempts = 9
        s.add(row)
        s.commit()
    fake_smtp.fail = True
    env = _env(database_url, MAIL_BACKEND="smtp", SMTP_HOST="smtp.example.gov.uk", MAIL_FROM="noreply@example.gov.uk")
    result = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert result.exit_code == 3, result.output
    assert "sent 0, to retry 1, failed for good 1 (delivery: smtp)" in result.output
    statuses = {r.id: (r.status, r.attempts) for r in _rows(engine)}
    assert statuses == {first: ("pending", 1), last_try: ("failed", 10)}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"MAIL_BACKEND": "pigeon"}, "CIVICFORMS_MAIL_BACKEND must be log, smtp or notify"),
        ({"MAIL_BACKEND": "smtp"}, "CIVICFORMS_SMTP_HOST must be set"),
        ({"MAIL_BACKEND": "smtp", "SMTP_HOST": "h", "MAIL_FROM": "nope"}, "CIVICFORMS_MAIL_FROM must be an email"),
        ({"MAIL_BACKEND": "smtp", "SMTP_HOST": "h", "MAIL_FROM": "a@b.c", "SMTP_PORT": "x"}, "whole number"),
        ({"MAIL_BACKEND": "notify"}, "CIVICFORMS_NOTIFY_API_KEY and CIVICFORMS_NOTIFY_TEMPLATE_ID must be set"),
        ({"HOLIDAYS": "25/12/2026"}, "CIVICFORMS_HOLIDAYS: '25/12/2026' is not a date"),
        ({"WORKER_BATCH_SIZE": "0"}, "must be 1 or more"),
    ],
)
def test_worker_with_bad_settings_says_what_is_wrong(database_url: str, extra: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(main, ["worker", "--once"], env=_env(database_url, **extra))
    assert result.exit_code == 1
    assert "settings: " in result.output and message in result.output


def test_worker_with_a_malformed_notify_key_says_so(database_url: str) -> None:
    env = _env(database_url, MAIL_BACKEND="notify", NOTIFY_API_KEY="k", NOTIFY_TEMPLATE_ID="t")
    result = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert result.exit_code == 1
    assert "CIVICFORMS_NOTIFY_API_KEY is not a GOV.UK Notify API key" in result.output
    assert "Traceback" not in result.output


def test_worker_on_a_database_without_tables_exits_1(tmp_path: Any) -> None:
    result = CliRunner().invoke(main, ["worker", "--once"], env=_env(f"sqlite:///{tmp_path / 'empty.db'}"))
    assert result.exit_code == 1
    assert "database: " in result.output and "civicforms db upgrade" in result.output


def test_worker_escalates_overdue_cases_and_sends_the_message(engine: Engine, database_url: str) -> None:
    from tests.runtime.test_cases import QUORUM_WORKFLOW, World

    world = World(engine)
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case(now=datetime(2020, 1, 6, 9, 0, tzinfo=UTC))
    for _ in range(2):  # the second run finds nothing new to escalate
        result = CliRunner().invoke(main, ["worker", "--once"], env=_env(database_url))
        assert result.exit_code == 0, result.output
    assert world.case(case_id).escalated
    escalated = world.outbox("escalated_to_you")
    assert sorted(m.recipient for m in escalated) == ["max@council.gov.uk", "mona@council.gov.uk"]
    assert {m.status for m in escalated} == {"sent"}
    assert [e[0] for e in world.events(case_id)] == ["submitted", "escalate"]

"""Emails sent through a real SMTP server (aiosmtpd, started here) and read as a mail client reads them."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup

from runtime import outbox
from runtime.settings import Settings

BODY = (
    "Dear Ada,\n\n"
    "Your application BB-2024-0042 has been approved.\n"
    "See its status at https://forms.example.gov.uk/status/BB-2024-0042?x=1&y=2.\n\n"
    "Not a link: javascript:alert(1) or mailto:someone@example.com\n\n"
    "<script>alert('hi')</script>"
)


class Keeper:
    """An aiosmtpd handler that keeps each message's bytes exactly as they arrived."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Controller, Keeper]]:
    keeper = Keeper()
    controller = Controller(keeper, hostname="127.0.0.1", port=_free_port(), ready_timeout=5)
    controller.start()
    try:
        yield controller, keeper
    finally:
        controller.stop()


@pytest.fixture
def keeper(smtp_server: tuple[Controller, Keeper]) -> Keeper:
    smtp_server[1].received.clear()
    return smtp_server[1]


@pytest.fixture
def sender(smtp_server: tuple[Controller, Keeper]) -> outbox.SmtpSender:
    controller = smtp_server[0]
    settings = Settings(
        secret_key="k" * 40,
        mail_backend="smtp",
        smtp_host=controller.hostname,
        smtp_port=controller.port,
        smtp_security="none",
        mail_from="noreply@council.example.gov.uk",
        organisation_name="Example Borough Council",
    )
    built = outbox.sender_from_settings(settings)
    assert isinstance(built, outbox.SmtpSender)
    built.timeout = 5.0
    return built


def _send(sender: outbox.SmtpSender, keeper: Keeper, subject: str, body: str = BODY) -> tuple[list[str], EmailMessage]:
    sender.send(outbox.Message(7, "decision", "ada.lovelace@example.com", subject, body))
    rcpt, raw = keeper.received[-1]
    parsed = BytesParser(policy=default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return rcpt, parsed


def _plain(mail: EmailMessage) -> str:
    """The plain-text part as a reader sees it (lines end in CRLF on the wire)."""
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n").rstrip("\n")


def test_an_email_has_the_headers_mail_providers_expect(sender: outbox.SmtpSender, keeper: Keeper) -> None:
    before = time.time()
    rcpt, mail = _send(sender, keeper, "Your blue badge")
    assert rcpt == ["ada.lovelace@example.com"]
    assert mail["From"] == "noreply@council.example.gov.uk"
    assert mail["To"] == "ada.lovelace@example.com"
    assert mail["Subject"] == "Your blue badge"
    assert mail["MIME-Version"] == "1.0"
    assert mail["Auto-Submitted"] == "auto-generated"
    sent_at = parsedate_to_datetime(mail["Date"])
    assert sent_at.utcoffset() is not None and sent_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert before - 2 <= sent_at.timestamp() <= time.time() + 1
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith("@council.example.gov.uk>")


def test_each_email_has_its_own_message_id(sender: outbox.SmtpSender, keeper: Keeper) -> None:
    _, first = _send(sender, keeper, "One")
    _, second = _send(sender, keeper, "Two")
    assert first["Message-ID"] and second["Message-ID"]
    assert first["Message-ID"] != second["Message-ID"]


def test_the_plain_text_part_is_the_body_and_the_html_part_reads_like_notify(
    sender: outbox.SmtpSender, keeper: Keeper
) -> None:
    _, mail = _send(sender, keeper, "Your blue badge")
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert _plain(mail) == BODY

    html_part = mail.get_body(("html",))
    assert html_part is not None
    markup = html_part.get_content()
    soup = BeautifulSoup(markup, "html.parser")
    html_tag = soup.find("html")
    assert html_tag is not None and html_tag.get("lang") == "en"
    assert "Example Borough Council" in soup.get_text()
    assert [a["href"] for a in soup.find_all("a")] == ["https://forms.example.gov.uk/status/BB-2024-0042?x=1&y=2"]
    # The body's markup is text, never markup; no scripts, images or stylesheets of its own.
    assert soup.find("script") is None and soup.find("img") is None and soup.find("link") is None
    assert "&lt;script&gt;" in markup and "<script>alert('hi')</script>" in soup.get_text()
    assert "javascript:alert(1)" in soup.get_text()
    assert len(soup.find_all("p")) == 4  # the body's four paragraphs


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("\n  Case BB-1 was\r\n sent   to you\t", "Case BB-1 was sent to you"),
        ("", "A message from Example Borough Council"),
        (" \r\n\t ", "A message from Example Borough Council"),
    ],
)
def test_a_subject_is_one_line_and_never_empty(
    sender: outbox.SmtpSender, keeper: Keeper, subject: str, expected: str
) -> None:
    _, mail = _send(sender, keeper, subject)
    assert mail["Subject"] == expected
    raw_header = keeper.received[-1][1].split(b"\r\n\r\n", 1)[0]
    assert b"Subject: " + expected.encode() in raw_header


def test_a_hostile_subject_cannot_add_a_header(sender: outbox.SmtpSender, keeper: Keeper) -> None:
    rcpt, mail = _send(sender, keeper, "Hello\r\nBcc: x@example.com\r\n\r\n<b>body</b>")
    assert mail["Bcc"] is None
    assert rcpt == ["ada.lovelace@example.com"]
    assert mail["Subject"] == "Hello Bcc: x@example.com <b>body</b>"
    assert _plain(mail) == BODY


def test_an_empty_body_still_makes_a_readable_email(sender: outbox.SmtpSender, keeper: Keeper) -> None:
    _, mail = _send(sender, keeper, "Nothing to say", body="")
    html_part = mail.get_body(("html",))
    assert html_part is not None and "Example Borough Council" in html_part.get_content()

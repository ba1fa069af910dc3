"""A daily digest sent through a real SMTP server (aiosmtpd, started in the test) and read as a
mail client reads it (issue 17, part D)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

import pytest
from bs4 import BeautifulSoup

from runtime import db as dbmod
from runtime import outbox
from runtime.services import chasing
from tests.runtime.test_cases import NOW, QUORUM_WORKFLOW, World
from tests.runtime.test_smtp_real import Keeper, keeper, sender, smtp_server  # noqa: F401  (fixtures)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    engine = dbmod.make_engine(database_url)
    yield World(engine)
    engine.dispose()


def test_a_daily_digest_arrives_as_one_readable_email(
    world: World,
    sender: outbox.SmtpSender,  # noqa: F811
    keeper: Keeper,  # noqa: F811
) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    with world.session() as s:
        chasing.set_notify(session=s, actor=world.colleague, notify="daily", now=NOW)
    first, second = world.new_case(now=NOW), world.new_case(name="Bo Brown", now=NOW)
    references = [world.case(first).reference, world.case(second).reference]
    later = NOW + timedelta(minutes=10)
    with world.session() as s:
        assert outbox.send_digests(s, now=later) == 1
        s.commit()
    result = outbox.run_once(world.session, sender, now=later)
    assert result.failed == 0 and result.retried == 0
    to_colin = [raw for rcpt, raw in keeper.received if rcpt == ["colin@council.gov.uk"]]
    assert len(to_colin) == 1  # one digest, never the held messages one by one
    mail = BytesParser(policy=default).parsebytes(to_colin[0])
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == "Your daily summary: 2 messages about cases"
    assert mail["Date"] and mail["Message-ID"] and mail["Auto-Submitted"] == "auto-generated"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    text = str(plain.get_content())
    for case_id, reference in zip((first, second), references, strict=True):
        assert f"{reference}: new Apply for a Blue Badge case" in text
        assert f"https://forms.example.gov.uk/casework/cases/{case_id}" in text
    links = [a["href"] for a in BeautifulSoup(html.get_content(), "html.parser").find_all("a")]
    assert links == [
        f"https://forms.example.gov.uk/casework/cases/{first}",
        f"https://forms.example.gov.uk/casework/cases/{second}",
    ]
    # Casey chose each message: hers arrived one by one.
    assert len([r for r, _ in keeper.received if r == ["casey@council.gov.uk"]]) == 2

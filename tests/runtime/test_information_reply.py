"""The applicant's answer page (issue 17, part C): a written reply is always offered beside the
questions asked (optional then, required when none were asked), the date to reply by is shown
there and on the status page, and bad or hostile replies are refused or shown as text."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask
from sqlmodel import select

from runtime.models import Case, InformationRequest, utcnow
from tests.conftest import Citizen, page
from tests.runtime.helpers import error_summary
from tests.runtime.test_case_status import _request_information, _send, _session, _status_link


def test_a_written_reply_is_offered_beside_the_questions_and_is_optional(app: Flask, citizen: Citizen) -> None:
    link = _status_link(_send(citizen))
    token = _request_information(app, ["phone"], "We could not reach you.")
    url = f"/information/{token}"
    soup = page(citizen.client.get(url))
    assert soup.select_one("input[name=phone]") is not None
    reply = soup.select_one("textarea[name=reply]")
    assert reply is not None
    assert soup.select_one("label[for=reply]").get_text(strip=True) == "Anything else you want to tell us (optional)"
    # The default reply-by date: 14 days from today (this service gives none of its own).
    expected = utcnow().date() + timedelta(days=14)
    shown = f"Reply by {expected.day} {expected:%B %Y}."
    assert soup.select_one(".cf-reply-by").get_text() == shown
    status = page(citizen.client.get(link))
    assert status.select_one(".cf-reply-by").get_text() == shown

    # Too long a reply: refused by the reply box, the answer to the question kept.
    response = citizen.post(url, {"phone": "01632 960 123", "reply": "x" * 5001})
    assert response.status_code == 200
    soup = page(response)
    assert [a["href"] for a in soup.select(".govuk-error-summary__list a")] == ["#reply"]
    assert soup.select_one("input[name=phone]")["value"] == "01632 960 123"
    # A bad answer and a fine reply: the question's error, the reply kept (as text).
    response = citizen.post(url, {"phone": "nope", "reply": "<b>My mobile</b>"})
    soup = page(response)
    assert error_summary(soup) and soup.select_one("textarea[name=reply]").get_text() == "<b>My mobile</b>"
    assert "<b>My mobile</b>" not in response.get_data(as_text=True)

    # The question answered, the reply left empty: accepted, and no empty reply stored.
    assert citizen.post(url, {"phone": "01632 960 123", "reply": "  "}).status_code == 303
    with _session(app) as s:
        assert s.exec(select(InformationRequest)).one().answers == {"phone": "01632 960 123"}
        assert s.exec(select(Case)).one().replied_at is not None


def test_a_written_reply_is_stored_beside_the_answers(app: Flask, citizen: Citizen) -> None:
    link = _status_link(_send(citizen))
    _request_information(app, ["phone"], "We could not reach you.")
    url = urlsplit(link).path + "/information"
    response = citizen.post(url, {"phone": "01632 960 123", "reply": "  Evenings are best.  "})
    assert response.status_code == 303
    with _session(app) as s:
        assert s.exec(select(InformationRequest)).one().answers == {
            "phone": "01632 960 123",
            "reply": "Evenings are best.",
        }


def test_with_no_questions_the_written_reply_is_required(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    token = _request_information(app, [], "Tell us which bins were missed.")
    url = f"/information/{token}"
    soup = page(citizen.client.get(url))
    assert soup.select_one("label[for=reply]").get_text(strip=True) == "Your reply"
    response = citizen.post(url, {})
    assert response.status_code == 200
    assert [a.get_text(strip=True) for a in page(response).select(".govuk-error-summary__list a")] == [
        "Enter your reply"
    ]
    with _session(app) as s:
        assert s.exec(select(Case)).one().waiting_for_citizen

"""After sending: the case starts with the submission, the citizen follows it on a status page
reached by an unguessable link, and answers a caseworker's request for more information."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlmodel import Session, col, func, select

from runtime import cases, staff
from runtime.data import departments
from runtime.db import session as new_session
from runtime.models import Case, CaseEvent, InformationRequest, OutboxMessage, Submission, utcnow
from tests.conftest import Citizen, page
from tests.runtime.helpers import error_summary, inline_errors, walk

SERVICE = "missed-bin-collection"


def _send(citizen: Citizen) -> Any:
    walk(citizen, SERVICE)
    response = citizen.submit(SERVICE)
    assert response.status_code == 303
    return citizen.client.get(f"/services/{SERVICE}/confirmation")


def _status_link(confirmation: Any) -> str:
    link = page(confirmation).find("a", string="check the progress of your application")
    assert link is not None, confirmation.get_data(as_text=True)
    return str(link["href"])


def _session(app: Flask) -> Session:
    return new_session(app.extensions["civicforms.engine"])


def _caseworker(app: Flask) -> int:
    with _session(app) as s:
        department = departments.find_department(session=s, key="Waste and Recycling")
        assert department is not None and department.id is not None
        created = staff.create_user(
            session=s,
            email="casey@westbridge.example",
            name="Casey Worker",
            department_id=department.id,
            role=staff.CASEWORKER,
            password="correct horse battery staple",
        )
        s.commit()
        assert created.user.id is not None
        return created.user.id


def _request_information(app: Flask, questions: list[str], message: str, documents: tuple[str, ...] = ()) -> str:
    staff_id = _caseworker(app)
    with _session(app) as s:
        case = s.exec(select(Case)).one()
        assert case.id is not None
        _, _, token = cases.request_information(
            s,
            case_id=case.id,
            seen_lock_version=case.lock_version,
            staff_id=staff_id,
            questions=questions,
            message=message,
            now=utcnow(),
            documents=documents,  # issue 18, part F: documents to answer with a file
        )
        s.commit()
    return token


def test_sending_opens_a_case_in_the_same_transaction_and_links_to_its_status(app: Flask, citizen: Citizen) -> None:
    confirmation = _send(citizen)
    link = _status_link(confirmation)
    with _session(app) as s:
        submission = s.exec(select(Submission)).one()
        case = s.exec(select(Case)).one()
        assert (case.submission_id, case.reference, case.state) == (submission.id, submission.reference, "received")
        assert [e.action for e in s.exec(select(CaseEvent))] == ["submitted"]
        told = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "submitted")).one()
        assert told.recipient.lower() == "jane.smith@example.com"
        assert submission.reference in told.body
    # No personal data in the link: only a signed case number.
    path = urlsplit(link).path
    assert path.startswith("/status/")
    for personal in ("Jane", "Smith", "example.com", "01632"):
        assert personal.lower() not in path.lower()
    status = citizen.client.get(link)
    assert status.status_code == 200
    soup = page(status)
    assert soup.select_one(".cf-reference").get_text(strip=True) == case.reference
    assert "We are checking your application" in soup.select_one(".cf-status").get_text(" ", strip=True)
    assert "In progress" in soup.select_one(".cf-status").get_text(" ", strip=True)


def test_the_status_link_works_without_the_citizen_s_session(app: Flask, citizen: Citizen) -> None:
    link = _status_link(_send(citizen))
    stranger = app.test_client()  # another browser: the emailed link is the only credential
    assert stranger.get(link).status_code == 200


@pytest.mark.parametrize(
    "token",
    ["x", "eyJjYXNlIjoxfQ.forged", "a" * 5000, "%00", "<script>alert(1)</script>", "1"],
)
def test_forged_or_malformed_status_links_are_not_found(client: Any, token: str) -> None:
    assert client.get(f"/status/{token}").status_code == 404
    assert client.get(f"/status/{token}/information").status_code == 404
    assert client.get(f"/information/{token}").status_code == 404


def test_a_decision_shows_on_the_status_page_in_the_service_s_words(app: Flask, citizen: Citizen) -> None:
    link = _status_link(_send(citizen))
    staff_id = _caseworker(app)
    with _session(app) as s:
        case = s.exec(select(Case)).one()
        assert case.id is not None
        cases.act(
            s,
            case_id=case.id,
            seen_lock_version=case.lock_version,
            staff_id=staff_id,
            action="reject",
            comment="Internal note: <b>not for the citizen</b>",
            now=utcnow(),
            secret_key="unused",
        )
        s.commit()
    soup = page(citizen.client.get(link))
    status = soup.select_one(".cf-status").get_text(" ", strip=True)
    assert "Decided" in status and "Your application has been turned down" in status
    text = soup.get_text(" ", strip=True)
    assert "Internal note" not in text and "Casey" not in text  # no staff comments or names
    timeline = [li.get_text(" ", strip=True) for li in soup.select(".cf-timeline li")]
    assert len(timeline) == 2 and "turned down" in timeline[0] and "checking" in timeline[1]


def test_answering_a_request_for_information_returns_the_case_to_its_step(app: Flask, citizen: Citizen) -> None:
    link = _status_link(_send(citizen))
    token = _request_information(app, ["phone"], "We could not reach you.\n\nWhat is a good phone number?")
    soup = page(citizen.client.get(link))
    assert "We need more information from you" in soup.select_one(".cf-status").get_text(" ", strip=True)
    assert [p.get_text() for p in soup.select(".cf-request-message")] == [
        "We could not reach you.",
        "What is a good phone number?",
    ]
    button = soup.find("a", string=lambda s: s and "Answer our questions" in s)
    assert button is not None and str(button["href"]).startswith(urlsplit(link).path)

    url = f"/information/{token}"
    form = page(citizen.client.get(url))
    assert form.select_one("input[name=phone]") is not None
    # Bad input: a GOV.UK error, nothing stored, the case still waiting.
    response = citizen.post(url, {"phone": "not a phone number <script>"})
    assert response.status_code == 200
    assert error_summary(page(response)) and inline_errors(page(response))
    assert "<script>" not in response.get_data(as_text=True).replace("&lt;script&gt;", "")
    with _session(app) as s:
        assert s.exec(select(Case)).one().waiting_for_citizen

    response = citizen.post(url, {"phone": "01632 960 123"})
    assert response.status_code == 303
    sent = citizen.client.get(response.headers["Location"])
    assert "Information sent" in page(sent).select_one("h1").get_text()
    with _session(app) as s:
        case = s.exec(select(Case)).one()
        assert (case.state, case.waiting_for_citizen) == ("received", False)
        request = s.exec(select(InformationRequest)).one()
        assert request.answers == {"phone": "01632 960 123"} and request.answered_at is not None
        assert s.exec(select(CaseEvent.action).order_by(col(CaseEvent.id))).all()[-1] == "information-answered"
    # The link used again: nothing changes, and the citizen is told so.
    again = citizen.client.get(url)
    assert "You have already sent this information" in page(again).select_one("h1").get_text()
    replay = citizen.client.post(url, data={"phone": "0000", "csrf_token": "x"})
    assert replay.status_code == 400  # a forged form is refused before anything else
    with _session(app) as s:
        assert s.exec(select(InformationRequest)).one().answers == {"phone": "01632 960 123"}


def test_a_free_text_reply_through_the_status_page(app: Flask, citizen: Citizen) -> None:
    link = _status_link(_send(citizen))
    _request_information(app, [], "Tell us which bins were missed.")
    url = urlsplit(link).path + "/information"
    assert citizen.post(url, {"reply": "   "}).status_code == 200  # empty: an error, nothing stored
    too_long = citizen.post(url, {"reply": "x" * 10_001})
    assert too_long.status_code == 200 and "characters or less" in too_long.get_data(as_text=True)
    response = citizen.post(url, {"reply": "The green one <b>and</b> the blue one"})
    assert response.status_code == 303
    with _session(app) as s:
        assert s.exec(select(InformationRequest)).one().answers == {"reply": "The green one <b>and</b> the blue one"}
        assert s.exec(select(func.count()).select_from(Case)).one() == 1
    # Nothing left to answer: the status page's link goes back to the status page.
    done = citizen.client.get(url)
    assert done.status_code == 303 and done.headers["Location"] == urlsplit(link).path


def test_answers_to_questions_not_asked_are_refused(app: Flask, citizen: Citizen) -> None:
    _send(citizen)
    token = _request_information(app, ["phone"], "Your phone number, please.")
    response = citizen.post(f"/information/{token}", {"phone": "01632 960 123", "email": "evil@example.com"})
    # The extra field is not one of the page's questions: it is never read.
    assert response.status_code == 303
    with _session(app) as s:
        assert s.exec(select(InformationRequest)).one().answers == {"phone": "01632 960 123"}

"""Telling the applicant (issue 17, part C): a refusal's reason and how to appeal reach the
decision email and the status page; a request for information carries its message, questions
and reply-by date in the email itself; the reply-by date is checked, stored and shown; an answer
tags the case "Applicant replied" and tells the assignee (else the team), and asking again
clears the tag."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from runtime import cases
from runtime.models import CaseEvent, InformationRequest, OutboxMessage, StaffUser, utcnow
from tests.casework.conftest import Office, action_form, case_form, case_url, errors_of
from tests.conftest import page

COUNCIL_TAX = "council-tax-single-person-discount"
# A council tax application as the runtime stores it (the same as tests/casework/test_case_corrections.py's).
ANSWERS: dict[str, Any] = {
    "account_number": "12345678",
    "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
    "reason": "adult_moved_out",
    "other_adult_name": "John Smith",
    "sole_adult_date": "2024-02-01",
    "phone": "01632 960 001",
}
REASON = "Our records show <b>John Smith</b> still lives at the property.\n\nHe is on the electoral register."
HOSTILE = "<script>alert('x')</script>"


def _team(office: Office) -> tuple[StaffUser, StaffUser]:
    department = office.department_of(COUNCIL_TAX)
    return (
        office.staff("Casey Worker", "caseworker", department=department),
        office.staff("Colin Worker", "caseworker", department=department),
    )


def _case(office: Office) -> str:
    return office.new_case(service_id=COUNCIL_TAX, answers=ANSWERS)


def _status(client: FlaskClient, office: Office, reference: str) -> Any:
    response = client.get(f"/status/{cases.status_token(office.case(reference), office.secret)}")
    assert response.status_code == 200
    return page(response)


def _ask(client: FlaskClient, reference: str, **data: Any) -> Any:
    form = case_form(client, reference, "form.cf-request-information")
    return client.post(case_url(reference, "request-information"), data={**form, **data})


def _date(day: Any) -> dict[str, str]:
    return {"reply-by-day": str(day.day), "reply-by-month": str(day.month), "reply-by-year": str(day.year)}


# -- a refusal -------------------------------------------------------------------------------------


def test_a_refusal_tells_the_applicant_the_reason_and_how_to_appeal(office: Office, client: FlaskClient) -> None:
    reference = _case(office)
    casey, _ = _team(office)
    staff = office.sign_in(casey)
    soup = page(staff.get(case_url(reference)))
    reject = next(f for f in soup.select("form.cf-case-action") if f.select_one("input[value=reject]"))
    assert reject.select_one("label").get_text(strip=True) == "Reason (the applicant will see this)"
    assert "decision email and on their status page" in reject.get_text(" ", strip=True)

    # Empty, blank and oversized reasons are refused; nothing changes and nobody is told.
    for bad in ("", "   \n ", "x" * 5001):
        form = action_form(staff, reference, "reject")
        response = staff.post(case_url(reference, "act"), data={**form, "comment": bad})
        assert response.status_code == 400
        assert office.case(reference).state == "received"
    assert errors_of(page(response)) == ["Reason must be 5,000 characters or less"]
    assert not office.outbox("decision")

    form = action_form(staff, reference, "reject")
    assert staff.post(case_url(reference, "act"), data={**form, "comment": REASON}).status_code == 303
    assert office.case(reference).state == "rejected"
    with office.session() as s:
        event = s.exec(select(CaseEvent).where(CaseEvent.action == "reject")).one()
        assert event.detail == {"reason": True}
    assert office.events(reference)[-1][3] == REASON.strip()

    [email] = office.outbox("decision")
    assert email.recipient == "ada@example.com"
    assert "Why we made this decision:\n" + REASON.strip() in email.body
    assert "If you disagree with our decision:\nIf you think our decision is wrong, write to us" in email.body
    assert "Valuation Tribunal" in email.body and "/status/" in email.body

    status = _status(client, office, reference)
    shown = status.select_one(".cf-decision-reason")
    assert shown is not None and shown.find("b") is None  # the reason is text, never markup
    assert [p.get_text() for p in shown.select("p")] == [
        "Our records show <b>John Smith</b> still lives at the property.",
        "He is on the electoral register.",
    ]
    appeal = status.select_one(".cf-appeal").get_text(" ", strip=True)
    assert "Valuation Tribunal" in appeal and "within 2 months" in appeal
    headings = [h.get_text(strip=True) for h in status.select("h2")]
    assert "Why we made this decision" in headings and "If you disagree with our decision" in headings


def test_an_approval_and_a_plain_comment_are_not_shown_to_the_applicant(office: Office, client: FlaskClient) -> None:
    """A transition without "reason" keeps its comment in the staff history only (blue badge's
    default workflow: reject with a required comment); an approval has no appeal text."""
    reference = office.new_case()
    staff = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = action_form(staff, reference, "reject")
    label = page(staff.get(case_url(reference))).select_one("form.cf-case-action label").get_text(strip=True)
    assert label.startswith("Comment")
    assert staff.post(case_url(reference, "act"), data={**form, "comment": "Internal: " + HOSTILE}).status_code == 303
    [email] = office.outbox("decision")
    assert "Internal" not in email.body and "Why we made this decision" not in email.body
    status = _status(client, office, reference)
    assert status.select_one(".cf-decision-reason") is None and status.select_one(".cf-appeal") is None
    assert "Internal" not in status.get_text()


# -- a request for information ----------------------------------------------------------------------


def test_the_request_form_offers_a_reply_by_date_and_the_email_carries_everything(office: Office) -> None:
    reference = _case(office)
    casey, _ = _team(office)
    staff = office.sign_in(casey)
    soup = page(staff.get(case_url(reference)))
    form = soup.select_one("form.cf-request-information")
    offered = {f: form.select_one(f"input[name=reply-by-{f}]")["value"] for f in ("day", "month", "year")}
    # The council tax service gives 10 working days (its reply_within): never a weekend day.
    default = date(int(offered["year"]), int(offered["month"]), int(offered["day"]))
    today = utcnow().date()

    def ten_working_days_after(day: date) -> date:  # the tests set no bank holidays
        counted = 0
        while counted < 10:
            day += timedelta(days=1)
            counted += day.weekday() < 5
        return day

    # 12 to 14 days on, by the day of the week (12 from a Sunday); the page may have been made the
    # day before, at midnight.
    assert default in {ten_working_days_after(today), ten_working_days_after(today - timedelta(days=1))}
    assert default.weekday() < 5
    assert form.select_one("legend").get_text(strip=True) == "Questions to ask again (optional)"

    message = "Send us a copy of the tenancy agreement.\n\nWe also need the date again: " + HOSTILE
    reply_by = today + timedelta(days=20)
    response = _ask(staff, reference, questions=["sole_adult_date"], message=message, **_date(reply_by))
    assert response.status_code == 303
    with office.session() as s:
        request = s.exec(select(InformationRequest)).one()
        assert request.reply_by is not None and request.reply_by.date() == reply_by
        assert request.asked_by == casey.id
    [email] = office.outbox("information_requested")
    long = f"{reply_by.day} {reply_by:%B %Y}"
    assert "What we need:\n" + message in email.body
    assert "We will ask you to answer again:\n- When did you become the only adult" in email.body
    assert f"Reply by {long}." in email.body and "/information/" in email.body
    # The case page shows the date too.
    shown = page(staff.get(case_url(reference))).select_one(".cf-information-request").get_text(" ", strip=True)
    assert f"reply by {long}" in shown


@pytest.mark.parametrize(
    ("date_fields", "error"),
    [
        ({"reply-by-day": "", "reply-by-month": "", "reply-by-year": ""}, "Enter the date the applicant must reply by"),
        ({"reply-by-day": "31", "reply-by-month": "2", "reply-by-year": "2030"}, "must be a real date"),
        ({"reply-by-day": "banana", "reply-by-month": "1", "reply-by-year": "2030"}, "must be a real date"),
        ({"reply-by-day": "1", "reply-by-month": "1", "reply-by-year": "9" * 20}, "must be a real date"),
        ({"reply-by-day": "१", "reply-by-month": "1", "reply-by-year": "2030"}, "must be a real date"),
        ({"reply-by-day": HOSTILE, "reply-by-month": "1", "reply-by-year": "2030"}, "must be a real date"),
        ("yesterday", "must be in the future"),
        ("today", "must be in the future"),
        ("91 days", "within 90 days"),
    ],
)
def test_a_bad_reply_by_date_is_refused_and_the_form_kept(office: Office, date_fields: Any, error: str) -> None:
    reference = _case(office)
    casey, _ = _team(office)
    staff = office.sign_in(casey)
    today = utcnow().date()
    if isinstance(date_fields, str):
        days = {"yesterday": -1, "today": 0, "91 days": 91}[date_fields]
        date_fields = _date(today + timedelta(days=days))
    response = _ask(staff, reference, questions=["phone"], message="Your phone number, please", **date_fields)
    assert response.status_code == 400
    soup = page(response)
    assert len(errors_of(soup)) == 1 and error in errors_of(soup)[0]
    assert soup.select_one(".govuk-error-summary__list a")["href"] == "#reply-by-day"
    assert (
        soup.select_one("#reply-by-day").get("class")
        and "govuk-input--error" in soup.select_one("#reply-by-day")["class"]
    )
    # What was typed is kept: the message, the question, the date as typed (escaped).
    assert soup.select_one("#request-message").get_text() == "Your phone number, please"
    assert soup.select_one("input[name=questions][value=phone]").has_attr("checked")
    assert soup.select_one("#reply-by-day")["value"] == date_fields["reply-by-day"][:20]  # kept, cut to 20
    assert HOSTILE not in response.get_data(as_text=True)
    assert not office.case(reference).waiting_for_citizen
    assert not office.outbox("information_requested")


def test_a_request_without_a_csrf_token_is_refused(office: Office) -> None:
    reference = _case(office)
    casey, _ = _team(office)
    staff = office.sign_in(casey)
    form = {k: v for k, v in case_form(staff, reference, "form.cf-request-information").items() if k != "csrf_token"}
    data = {**form, "message": "Hello", **_date(utcnow().date() + timedelta(days=5))}
    assert staff.post(case_url(reference, "request-information"), data=data).status_code == 400
    assert not office.case(reference).waiting_for_citizen


def test_an_answer_tags_the_case_and_tells_the_assignee_else_the_team(office: Office, client: FlaskClient) -> None:
    casey, colin = _team(office)
    staff = office.sign_in(casey)
    today = utcnow().date()

    # Unassigned: everyone who can act at the step hears, once each.
    reference = _case(office)
    assert _ask(staff, reference, message="Tell us more", **_date(today + timedelta(days=7))).status_code == 303
    status_path = f"/status/{cases.status_token(office.case(reference), office.secret)}/information"
    soup = page(client.get(status_path))
    assert "Reply by" in soup.select_one(".cf-reply-by").get_text()
    csrf = soup.select_one("input[name=csrf_token]")["value"]
    assert client.post(status_path, data={"reply": "It was my son.", "csrf_token": csrf}).status_code == 303
    case = office.case(reference)
    assert case.replied_at is not None and not case.waiting_for_citizen
    told = office.outbox("applicant_replied")
    assert sorted(m.recipient for m in told) == sorted([casey.email, colin.email])
    assert all(m.staff_id in (casey.id, colin.id) and m.department_id == case.department_id for m in told)
    assert not [m for m in office.outbox() if m.kind == "new_work" and m.case_id == case.id]
    # Asking again clears the tag.
    assert _ask(staff, reference, message="And the date?", **_date(today + timedelta(days=7))).status_code == 303
    assert office.case(reference).replied_at is None

    # Assigned: only the assignee hears.
    other = _case(office)
    office.update_case(other, assigned_to=colin.id)
    colin_client = office.sign_in(colin)
    assert _ask(colin_client, other, message="Tell us more", **_date(today + timedelta(days=7))).status_code == 303
    path = f"/status/{cases.status_token(office.case(other), office.secret)}/information"
    csrf = page(client.get(path)).select_one("input[name=csrf_token]")["value"]
    assert client.post(path, data={"reply": "Here it is", "csrf_token": csrf}).status_code == 303
    with office.session() as s:
        rows = s.exec(
            select(OutboxMessage).where(
                OutboxMessage.kind == "applicant_replied", OutboxMessage.case_id == office.case(other).id
            )
        ).all()
        assert [m.recipient for m in rows] == [colin.email]
        assert other in rows[0].subject


def test_a_late_answer_after_the_request_lapsed_is_taken_on_the_applicants_page(
    office: Office, client: FlaskClient
) -> None:
    casey, _colin = _team(office)
    staff = office.sign_in(casey)
    reference = _case(office)
    reply_by = utcnow().date() + timedelta(days=7)
    assert _ask(staff, reference, message="Tell us more", **_date(reply_by)).status_code == 303
    with office.session() as s:  # the worker's pass, the day after the reply-by date
        assert cases.escalate_overdue(s, now=utcnow() + timedelta(days=9)) == 1
        s.commit()
    assert not office.case(reference).waiting_for_citizen
    path = f"/status/{cases.status_token(office.case(reference), office.secret)}/information"
    soup = page(client.get(path))
    assert soup.select_one("textarea[name=reply]") is not None  # the form, not "already answered"
    csrf = soup.select_one("input[name=csrf_token]")["value"]
    assert client.post(path, data={"reply": "Sorry, I was away", "csrf_token": csrf}).status_code == 303
    case = office.case(reference)
    assert case.replied_at is not None and case.escalated and case.closed_at is None
    with office.session() as s:
        request = s.exec(select(InformationRequest).where(InformationRequest.case_id == case.id)).one()
        assert request.answers == {"reply": "Sorry, I was away"} and request.lapsed_at is not None

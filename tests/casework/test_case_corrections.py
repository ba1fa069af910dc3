"""Issue 17, part A: putting a case right with audit (internal notes, send back a step, reopen a
closed case) and the case page's layout (answers as they are now, before the decision controls;
decision buttons that tell a refusal from an approval; a conflict keeps what was typed), with
empty, oversized, forged and hostile input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlmodel import select

from runtime import case_corrections, case_reads, cases
from runtime import workflow as wf
from runtime.models import Case, InformationRequest, StaffUser, utcnow
from tests.casework.conftest import Office, action_form, banner, case_form, case_url, csrf, errors_of
from tests.conftest import page

COUNCIL_TAX = "council-tax-single-person-discount"
COUNCIL_TAX_ANSWERS: dict[str, Any] = {
    "account_number": "12345678",
    "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
    "reason": "adult_moved_out",
    "other_adult_name": "John Smith",
    "sole_adult_date": "2024-02-01",
    "phone": "01632 960 001",
}


def council_tax_case(office: Office) -> str:
    return office.new_case(service_id=COUNCIL_TAX, answers=COUNCIL_TAX_ANSWERS)


def council_tax_staff(office: Office, name: str, role: str) -> StaffUser:
    """A member of the council tax team (the service's own department)."""
    return office.staff(name, role, department=office.department_of(COUNCIL_TAX))


def post(client: FlaskClient, reference: str, path: str, selector: str, **data: str) -> Any:
    return client.post(case_url(reference, path), data={**case_form(client, reference, selector), **data})


def history(soup: BeautifulSoup) -> list[str]:
    return [tr.get_text(" | ", strip=True) for tr in soup.select(".cf-history tbody tr")]


# -- internal notes --------------------------------------------------------------------------------


def test_a_note_is_in_the_history_not_a_decision_and_never_shown_to_the_citizen(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = post(client, reference, "notes", "form.cf-add-note", note="Phoned the GP surgery: letter to follow")
    assert response.status_code == 303
    soup = page(client.get(case_url(reference)))
    assert "note is added" in banner(soup)
    last = history(soup)[-1]
    assert "Casey Worker" in last and "Internal note" in last and "Phoned the GP surgery" in last
    case = office.case(reference)
    assert (case.state, case.lock_version) == ("received", 1)  # not a decision: nothing moved
    assert office.events(reference)[-1] == ("note", None, None, "Phoned the GP surgery: letter to follow")
    assert not office.outbox("decision")
    with office.session() as s:
        found = s.exec(select(Case).where(Case.reference == reference)).one()
        status = case_reads.citizen_status(s, found)
    assert all("GP surgery" not in text and "note" not in text.lower() for _, text in status.timeline)
    # A colleague who opened the page before the note can still decide: a note moves no lock.
    form = action_form(client, reference, "approve")
    assert client.post(case_url(reference, "act"), data=form).status_code == 303


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Enter a note"), ("   \n ", "Enter a note"), ("x" * 5_001, "A note must be 5,000 characters or less")],
)
def test_an_empty_or_oversized_note_is_refused_and_kept(office: Office, text: str, message: str) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = post(client, reference, "notes", "form.cf-add-note", note=text)
    assert response.status_code == 400
    soup = page(response)
    assert errors_of(soup) == [message]
    assert soup.select_one(".govuk-error-summary__list a")["href"] == "#note"
    assert soup.select_one("textarea#note").get_text() == text.strip("\n") or text.strip() == ""
    assert [e[0] for e in office.events(reference)] == ["submitted"]


def test_a_hostile_note_is_stored_as_typed_and_shown_escaped(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    hostile = '<script>alert("x")</script> =HYPERLINK("http://evil")'
    assert post(client, reference, "notes", "form.cf-add-note", note=hostile).status_code == 303
    response = client.get(case_url(reference))
    assert "<script>alert" not in response.get_data(as_text=True)
    assert hostile in history(page(response))[-1]


def test_a_note_without_a_csrf_token_or_on_another_departments_case_is_refused(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    assert client.post(case_url(reference, "notes"), data={"note": "hello"}).status_code == 400
    waste = office.sign_in(office.staff("Wes Waste", "caseworker", department=office.other_department))
    response = waste.post(case_url(reference, "notes"), data={"csrf_token": csrf(waste, "/"), "note": "hello"})
    assert response.status_code == 404
    assert [e[0] for e in office.events(reference)] == ["submitted"]


# -- send back a step ------------------------------------------------------------------------------


def _recommended(office: Office) -> tuple[str, FlaskClient, FlaskClient]:
    reference = council_tax_case(office)
    caseworker = office.sign_in(council_tax_staff(office, "Casey Worker", "caseworker"))
    manager = office.sign_in(council_tax_staff(office, "Mona Manager", "manager"))
    assert (
        caseworker.post(case_url(reference, "act"), data=action_form(caseworker, reference, "recommend")).status_code
        == 303
    )
    return reference, caseworker, manager


def test_a_manager_sends_a_recommended_case_back_with_a_reason(office: Office) -> None:
    reference, caseworker, manager = _recommended(office)
    assert not page(caseworker.get(case_url(reference))).select("form.cf-send-back")  # not theirs to decide now
    soup = page(manager.get(case_url(reference)))
    assert soup.select_one("form.cf-send-back h3").get_text(strip=True) == "Send back to: Received"
    office.update_case(reference, escalated=True, escalated_at=utcnow(), replied_at=utcnow())
    before = utcnow()
    response = post(manager, reference, "send-back", "form.cf-send-back", reason="Check the date against our records")
    assert response.status_code == 303
    soup = page(manager.get(case_url(reference)))
    assert "back at: Received" in banner(soup)
    case = office.case(reference)
    assert case.state == "received" and case.lock_version == 3
    assert not case.escalated and case.escalated_at is None and case.replied_at is None
    assert case.deadline_at is not None and case.deadline_at > before + timedelta(days=9)  # 10 working days again
    assert office.events(reference)[-1] == (
        "send-back",
        "recommended",
        "received",
        "Check the date against our records",
    )
    assert "Sent back a step" in history(soup)[-1] and "Mona Manager" in history(soup)[-1]
    # Back at the first step there is nowhere earlier to go (a send-back is not a way forward).
    assert not page(caseworker.get(case_url(reference))).select("form.cf-send-back")


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Enter why you are sending the case back"),
        ("  ", "Enter why you are sending the case back"),
        ("x" * 5_001, "The reason must be 5,000 characters or less"),
    ],
)
def test_sending_back_needs_a_reason(office: Office, reason: str, message: str) -> None:
    reference, _, manager = _recommended(office)
    response = post(manager, reference, "send-back", "form.cf-send-back", reason=reason)
    assert response.status_code == 400
    soup = page(response)
    assert errors_of(soup) == [message]
    assert soup.select_one(".govuk-error-summary__list a")["href"] == "#send-back-reason"
    assert office.case(reference).state == "recommended"


def test_sending_back_on_a_stale_page_keeps_the_reason(office: Office) -> None:
    reference, caseworker, manager = _recommended(office)
    form = case_form(manager, reference, "form.cf-send-back")
    assert manager.post(case_url(reference, "act"), data=action_form(manager, reference, "approve")).status_code == 303
    response = manager.post(case_url(reference, "send-back"), data={**form, "reason": "Too late now"})
    assert response.status_code == 409
    soup = page(response)
    assert errors_of(soup)[0].startswith("Someone else changed this case")
    assert office.case(reference).state == "approved"
    for forged in ("", "abc", "-1"):
        response = manager.post(case_url(reference, "send-back"), data={**form, "lock_version": forged, "reason": "x"})
        assert response.status_code == 400


def test_a_caseworker_cannot_send_back_by_a_forged_post(office: Office) -> None:
    reference, caseworker, manager = _recommended(office)
    form = case_form(manager, reference, "form.cf-send-back")
    form["csrf_token"] = case_form(caseworker, reference, "form.cf-add-note")["csrf_token"]
    response = caseworker.post(case_url(reference, "send-back"), data={**form, "reason": "I changed my mind"})
    assert response.status_code == 400
    assert errors_of(page(response)) == [
        "Only someone who can decide at this step, or a manager, can send the case back"
    ]
    assert office.case(reference).state == "recommended"


def test_a_new_case_cannot_be_sent_back(office: Office) -> None:
    reference = council_tax_case(office)
    manager = office.sign_in(council_tax_staff(office, "Mona Manager", "manager"))
    assert not page(manager.get(case_url(reference))).select("form.cf-send-back")
    form = case_form(manager, reference, "form.cf-add-note")
    response = manager.post(case_url(reference, "send-back"), data={**form, "lock_version": "1", "reason": "Why not"})
    assert response.status_code == 400
    assert errors_of(page(response)) == ["This case has no earlier step to go back to"]


# -- reopen a closed case --------------------------------------------------------------------------


def test_a_manager_reopens_a_closed_case_with_a_reason_and_the_citizen_sees_it(office: Office) -> None:
    reference, caseworker, manager = _recommended(office)
    assert manager.post(case_url(reference, "act"), data=action_form(manager, reference, "approve")).status_code == 303
    assert office.case(reference).closed_at is not None
    assert not page(caseworker.get(case_url(reference))).select("form.cf-reopen")  # managers only
    response = post(manager, reference, "reopen", "form.cf-reopen", reason="Approved in error: wrong account")
    assert response.status_code == 303
    soup = page(manager.get(case_url(reference)))
    assert "reopened at: Recommended for approval" in banner(soup)
    case = office.case(reference)
    assert case.state == "recommended" and case.closed_at is None and case.deadline_at is not None
    assert office.events(reference)[-1] == ("reopen", "approved", "recommended", "Approved in error: wrong account")
    assert "Reopened the case" in history(soup)[-1]
    # It can be decided again: by another manager (nobody takes two decisions on one case).
    other = office.sign_in(council_tax_staff(office, "Max Manager", "manager"))
    assert [
        b.get_text(strip=True) for b in page(other.get(case_url(reference))).select("form.cf-case-action button")
    ] == [
        "Approve",
        "Reject",
    ]
    with office.session() as s:
        status = case_reads.citizen_status(s, s.exec(select(Case).where(Case.reference == reference)).one())
    assert "wrong account" not in str(status.timeline)
    assert status.timeline[0][1] == "We are looking at your application again"
    # And then it can be sent back from there to the first step.
    assert (
        page(manager.get(case_url(reference)))
        .select_one("form.cf-send-back h3")
        .get_text(strip=True)
        .endswith("Received")
    )


def test_a_caseworker_cannot_reopen_and_an_open_case_is_not_reopened(office: Office) -> None:
    reference = office.new_case()
    caseworker = office.sign_in(office.staff("Casey Worker", "caseworker"))
    manager = office.sign_in(office.staff("Mona Manager", "manager"))
    form = case_form(manager, reference, "form.cf-add-note")
    response = manager.post(case_url(reference, "reopen"), data={**form, "lock_version": "1", "reason": "x"})
    assert response.status_code == 400 and errors_of(page(response)) == ["This case is open"]
    assert (
        caseworker.post(case_url(reference, "act"), data=action_form(caseworker, reference, "approve")).status_code
        == 303
    )
    csrf_token = case_form(caseworker, reference, "form.cf-add-note")["csrf_token"]
    response = caseworker.post(
        case_url(reference, "reopen"), data={"csrf_token": csrf_token, "lock_version": "2", "reason": "x"}
    )
    assert response.status_code == 403
    response = post(manager, reference, "reopen", "form.cf-reopen", reason="")
    assert response.status_code == 400 and errors_of(page(response)) == ["Enter why you are reopening the case"]
    assert office.case(reference).closed_at is not None


def test_reopening_rules_without_the_web(office: Office) -> None:
    reference = office.new_case()
    worker = office.staff("Casey Worker", "caseworker")
    manager = office.staff("Mona Manager", "manager")
    case_id = office.case(reference).id
    assert case_id is not None
    with office.session() as s:
        cases.act(
            s,
            case_id=case_id,
            seen_lock_version=1,
            staff_id=worker.id,
            action="reject",
            comment="No",
            now=utcnow(),
            secret_key=office.secret,
        )
        s.commit()
    with office.session() as s, pytest.raises(cases.CaseError, match="Only a manager"):
        case_corrections.reopen(s, case_id=case_id, seen_lock_version=2, staff_id=worker.id, reason="x", now=utcnow())
    with office.session() as s, pytest.raises(cases.Conflict):
        case_corrections.reopen(s, case_id=case_id, seen_lock_version=1, staff_id=manager.id, reason="x", now=utcnow())
    with office.session() as s:
        moved = case_corrections.reopen(
            s, case_id=case_id, seen_lock_version=2, staff_id=manager.id, reason="Wrong letter", now=utcnow()
        )
        s.commit()
    assert (moved.from_state, moved.to_state) == ("rejected", "received")


# -- the case page's layout --------------------------------------------------------------------------


def test_the_answers_come_before_the_decision_controls(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    soup = page(client.get(case_url(reference)))
    headings = [h.get_text(strip=True) for h in soup.select(".govuk-grid-column-two-thirds h2")]
    assert headings.index("The application") < headings.index("What you can do")
    everything = soup.select(".cf-answers, form.cf-case-action")
    assert everything[0]["class"] == ["govuk-summary-list", "cf-answers"]


def test_a_refusal_button_is_red_an_approval_green_and_a_step_grey(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    soup = page(client.get(case_url(reference)))
    buttons = {b.get_text(strip=True): b["class"] for b in soup.select("form.cf-case-action button")}
    assert "govuk-button--warning" in buttons["Reject"]
    assert "govuk-button--warning" not in buttons["Approve"] and "govuk-button--secondary" not in buttons["Approve"]
    tax = council_tax_case(office)
    client = office.sign_in(council_tax_staff(office, "Tess Tax", "caseworker"))
    soup = page(client.get(case_url(tax)))
    buttons = {b.get_text(strip=True): b["class"] for b in soup.select("form.cf-case-action button")}
    assert "govuk-button--secondary" in buttons["Recommend approval"]
    assert "govuk-button--warning" in buttons["Reject"]


def test_decision_style_reads_the_target_state() -> None:
    section = {
        "initial": "new",
        "states": {
            "new": {"label": "New"},
            "granted": {"label": "Granted", "final": True},
            "not_eligible": {"label": "Not eligible", "final": True},
            "declined": {"label": "Closed", "final": True},
            "refused_permit": {"label": "Permit refused", "final": True},
        },
        "transitions": [
            {"from": "new", "action": a, "label": a, "to": to, "roles": ["caseworker"]}
            for a, to in (("g", "granted"), ("n", "not_eligible"), ("d", "declined"), ("r", "refused_permit"))
        ],
    }
    workflow = wf.Workflow.from_section(section)
    styles = {t.action: case_reads.decision_style(workflow, t) for t in workflow.transitions}
    assert styles == {"g": "primary", "n": "warning", "d": "warning", "r": "warning"}


def _answered(office: Office, reference: str, questions: list[str], answers: dict[str, Any], days_ago: int) -> None:
    case_id = office.case(reference).id
    assert case_id is not None
    at = utcnow() - timedelta(days=days_ago)
    with office.session() as s:
        s.add(
            InformationRequest(
                case_id=case_id,
                token_hash=f"{reference}-{days_ago}".ljust(64, "0")[:64],
                questions=questions,
                message="Please check",
                created_at=at - timedelta(hours=1),
                answered_at=at,
                answers=answers,
                return_state="received",
            )
        )
        s.commit()


def test_the_case_page_shows_the_answers_as_they_are_now_with_what_changed(office: Office) -> None:
    reference = office.new_case()
    _answered(office, reference, ["walking_distance"], {"walking_distance": "20_to_50_metres"}, days_ago=3)
    _answered(office, reference, ["walking_distance"], {"walking_distance": "50_to_100_metres"}, days_ago=1)
    _answered(office, reference, [], {"reply": "I also use a stick"}, days_ago=0)  # a reply changes no answer
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    soup = page(client.get(case_url(reference)))
    rows = {r.dt.get_text(strip=True): r.dd for r in soup.select(".cf-answers .govuk-summary-list__row")}
    walking = rows["Walking distance"]
    assert walking.get_text(" ", strip=True).startswith("50 to 100 metres")
    changes = [p.get_text(" ", strip=True) for p in walking.select(".cf-answer-changed")]
    first, second = (utcnow() - timedelta(days=d) for d in (3, 1))
    assert changes == [
        f"Changed on {first.day} {first:%B %Y} after your request: was Less than 20 metres",
        f"Changed on {second.day} {second:%B %Y} after your request: was 20 to 50 metres",
    ]
    assert not rows["Full name"].select(".cf-answer-changed")


def test_answers_now_applies_requests_in_order_and_ignores_what_was_not_asked() -> None:
    at = utcnow()
    requests = [
        InformationRequest(
            id=2,
            case_id=1,
            token_hash="b",
            questions=["a"],
            message="m",
            return_state="s",
            answered_at=at,
            answers={"a": 3},
        ),
        InformationRequest(
            id=1,
            case_id=1,
            token_hash="a",
            questions=["a", "b"],
            message="m",
            return_state="s",
            answered_at=at - timedelta(days=1),
            answers={"a": 2, "b": 1, "zz": "forged"},
        ),
        InformationRequest(id=3, case_id=1, token_hash="c", questions=["a"], message="m", return_state="s"),
    ]
    now = case_reads.answers_now({"a": 1, "b": 1}, requests, {"a", "b"})
    assert now.answers == {"a": 3, "b": 1}
    assert [c.was for c in now.changes["a"]] == [1, 2]
    assert "b" not in now.changes and "zz" not in now.answers


def test_a_conflict_keeps_what_the_caseworker_typed(office: Office) -> None:
    reference = office.new_case()
    first = office.sign_in(office.staff("Casey Worker", "caseworker"))
    second = office.sign_in(office.staff("Colin Colleague", "caseworker"))
    stale = action_form(second, reference, "reject")
    assert first.post(case_url(reference, "act"), data=action_form(first, reference, "approve")).status_code == 303
    office.update_case(reference, state="received", closed_at=None)  # still open, but changed since Colin looked
    typed = "A long explanation that took ten minutes to write"
    response = second.post(case_url(reference, "act"), data={**stale, "comment": typed})
    assert response.status_code == 409
    soup = page(response)
    assert errors_of(soup)[0].startswith("Someone else changed this case")
    assert soup.select_one("textarea#comment-reject").get_text() == typed

"""Issue 17, part A: colleagues never overwrite each other silently. Deciding on, or taking, a
case assigned to someone else asks first ("This case is assigned to [their name]. Continue?"),
keeps what was typed, and tells the person who loses it; the case page says who holds it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from runtime import cases
from runtime.models import StaffUser, utcnow
from tests.casework.conftest import Office, action_form, banner, case_form, case_url, errors_of
from tests.casework.test_case_corrections import council_tax_case, council_tax_staff
from tests.conftest import page


def _assign(client: FlaskClient, reference: str) -> None:
    form = case_form(client, reference, "form:has(input[name=assignee][value=me]):not(:has(select))")
    assert client.post(case_url(reference, "assign"), data=form).status_code == 303


def _people(office: Office) -> tuple[StaffUser, FlaskClient, StaffUser, FlaskClient]:
    casey = office.staff("Casey Worker", "caseworker")
    colin = office.staff("Colin Colleague", "caseworker")
    return casey, office.sign_in(casey), colin, office.sign_in(colin)


def _confirmation(response: Any) -> dict[str, str]:
    soup = page(response)
    form = soup.select_one("form.cf-take-over")
    assert form is not None, response.get_data(as_text=True)[:3000]
    fields = {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}
    comment = form.select_one("textarea")
    if comment is not None:
        fields["comment"] = comment.get_text()
    return fields


def test_the_case_page_says_who_holds_the_case(office: Office) -> None:
    reference = office.new_case()
    casey, casey_client, _, colin_client = _people(office)
    _assign(casey_client, reference)
    soup = page(colin_client.get(case_url(reference)))
    notice = soup.select_one(".cf-assigned-elsewhere").get_text(" ", strip=True)
    assert "Assigned to Casey Worker" in notice and "asked first" in notice
    assert soup.select_one(".cf-case-assignee").get_text(strip=True) == "Casey Worker"
    mine = page(casey_client.get(case_url(reference)))
    assert mine.select(".cf-assigned-elsewhere") == []
    assert mine.select_one(".cf-case-assignee").get_text(strip=True) == "Casey Worker (you)"


def test_deciding_on_a_colleagues_case_asks_first_keeps_the_comment_and_tells_them(office: Office) -> None:
    reference = office.new_case()
    casey, casey_client, colin, colin_client = _people(office)
    _assign(casey_client, reference)
    typed = "Not eligible: the benefit letter is for someone else"
    form = action_form(colin_client, reference, "reject")
    response = colin_client.post(case_url(reference, "act"), data={**form, "comment": typed})
    assert response.status_code == 200
    soup = page(response)
    assert soup.h1.get_text(" ", strip=True) == "This case is assigned to Casey Worker. Continue?"
    confirm = _confirmation(response)
    assert confirm["comment"] == typed and confirm["take_over"] == str(casey.id) and confirm["action"] == "reject"
    assert "govuk-button--warning" in soup.select_one("form.cf-take-over button")["class"]
    # Nothing was written yet; nobody was told.
    case = office.case(reference)
    assert (case.state, case.assigned_to, case.lock_version) == ("received", casey.id, 1)
    assert not office.outbox("taken_from_you")
    response = colin_client.post(case_url(reference, "act"), data=confirm)
    assert response.status_code == 303
    case = office.case(reference)
    assert case.state == "rejected" and case.assigned_to == colin.id
    assert office.events(reference)[-2:] == [("assign", None, None, None), ("reject", "received", "rejected", typed)]
    [told] = office.outbox("taken_from_you")
    assert told.recipient == casey.email and told.staff_id == casey.id and told.department_id == office.department
    assert "Colin Colleague has taken over" in told.subject and reference in told.subject
    assert "Casey" not in told.body.split("Open the case")[0].replace("Casey Worker", "")  # no stray names


def test_cancel_leaves_the_case_with_the_colleague(office: Office) -> None:
    reference = office.new_case()
    casey, casey_client, _, colin_client = _people(office)
    _assign(casey_client, reference)
    response = colin_client.post(case_url(reference, "act"), data=action_form(colin_client, reference, "approve"))
    cancel = page(response).select_one("form.cf-take-over a.govuk-link")
    assert cancel.get_text(strip=True) == "Cancel" and cancel["href"].endswith(case_url(reference))
    assert office.case(reference).assigned_to == casey.id


def test_a_forged_or_outdated_take_over_asks_again(office: Office) -> None:
    reference = office.new_case()
    casey, casey_client, colin, colin_client = _people(office)
    _assign(casey_client, reference)
    form = action_form(colin_client, reference, "approve")
    for forged in ("", "abc", "-1", str(colin.id), "999999", "9" * 30):
        response = colin_client.post(case_url(reference, "act"), data={**form, "take_over": forged})
        assert response.status_code == 200, forged
        assert page(response).h1.get_text(" ", strip=True).startswith("This case is assigned to Casey Worker")
    # Casey hands it to Mona between the question and the answer: Colin is asked about Mona.
    mona = office.staff("Mona Manager", "manager")
    confirm = _confirmation(colin_client.post(case_url(reference, "act"), data=form))
    office.update_case(reference, assigned_to=mona.id)
    response = colin_client.post(case_url(reference, "act"), data=confirm)
    assert response.status_code == 200
    assert page(response).h1.get_text(" ", strip=True) == "This case is assigned to Mona Manager. Continue?"
    assert _confirmation(response)["comment"] == ""
    assert office.case(reference).state == "received" and not office.outbox("taken_from_you")


def test_taking_a_colleagues_case_asks_first_and_tells_them(office: Office) -> None:
    reference = office.new_case()
    casey, casey_client, colin, colin_client = _people(office)
    _assign(casey_client, reference)
    response = colin_client.post(
        case_url(reference, "assign"),
        data=case_form(colin_client, reference, "form:has(input[name=assignee][value=me]):not(:has(select))"),
    )
    assert response.status_code == 200
    assert page(response).h1.get_text(" ", strip=True) == "This case is assigned to Casey Worker. Continue?"
    assert office.case(reference).assigned_to == casey.id
    response = colin_client.post(case_url(reference, "assign"), data=_confirmation(response))
    assert response.status_code == 303
    assert "assigned to you" in banner(page(colin_client.get(case_url(reference))))
    assert office.case(reference).assigned_to == colin.id
    [told] = office.outbox("taken_from_you")
    assert told.recipient == casey.email


def test_a_manager_giving_a_case_to_someone_else_tells_both(office: Office) -> None:
    reference = office.new_case()
    casey, casey_client, colin, _ = _people(office)
    _assign(casey_client, reference)
    manager = office.sign_in(office.staff("Mona Manager", "manager"))
    form = case_form(manager, reference, "form:has(select[name=assignee])")
    assert manager.post(case_url(reference, "assign"), data={**form, "assignee": str(colin.id)}).status_code == 303
    assert [m.recipient for m in office.outbox("taken_from_you")] == [casey.email]
    [sent] = office.outbox("sent_to_you")
    assert sent.recipient == colin.email and "Mona Manager assigned" in sent.body
    # Only the person concerned: no message to every caseworker in the department.
    assert not [m for m in office.outbox() if m.kind in ("new_work", "sent_to_you") and m.recipient == casey.email]


def test_a_recommendation_goes_back_to_the_team_for_a_managers_approval(office: Office) -> None:
    reference = council_tax_case(office)
    casey = council_tax_staff(office, "Casey Worker", "caseworker")
    casey_client = office.sign_in(casey)
    mona = council_tax_staff(office, "Mona Manager", "manager")
    _assign(casey_client, reference)
    form = action_form(casey_client, reference, "recommend")
    assert casey_client.post(case_url(reference, "act"), data=form).status_code == 303
    case = office.case(reference)
    assert case.state == "recommended" and case.assigned_to is None  # Casey cannot approve: back to the team
    # So the manager's approval asks nobody.
    mona_client = office.sign_in(mona)
    assert (
        mona_client.post(case_url(reference, "act"), data=action_form(mona_client, reference, "approve")).status_code
        == 303
    )
    assert not office.outbox("taken_from_you")


def test_acting_on_my_own_or_an_unassigned_case_asks_nothing(office: Office) -> None:
    mine, unassigned = office.new_case(), office.new_case()
    _, casey_client, _, _ = _people(office)
    _assign(casey_client, mine)
    for reference in (mine, unassigned):
        response = casey_client.post(case_url(reference, "act"), data=action_form(casey_client, reference, "approve"))
        assert response.status_code == 303


def test_the_rules_without_the_web(office: Office) -> None:
    reference = office.new_case()
    casey, _, colin, _ = _people(office)
    case_id = office.case(reference).id
    assert case_id is not None
    office.update_case(reference, assigned_to=casey.id)
    common: dict[str, Any] = {"case_id": case_id, "now": utcnow()}
    with office.session() as s, pytest.raises(cases.Assigned) as raised:
        cases.act(s, seen_lock_version=1, staff_id=colin.id, action="approve", comment="", secret_key="k", **common)
    assert (raised.value.assignee_id, raised.value.assignee_name) == (casey.id, "Casey Worker")
    with office.session() as s, pytest.raises(cases.Assigned):
        cases.assign(s, assignee_id=colin.id, staff_id=colin.id, **common)
    with office.session() as s:
        cases.assign(s, assignee_id=colin.id, staff_id=colin.id, take_over=casey.id, **common)
        s.commit()
    assert office.case(reference).assigned_to == colin.id


def test_the_stale_question_is_refused_with_csrf(office: Office) -> None:
    reference = office.new_case()
    casey, casey_client, _, colin_client = _people(office)
    _assign(casey_client, reference)
    confirm = _confirmation(
        colin_client.post(case_url(reference, "act"), data=action_form(colin_client, reference, "approve"))
    )
    del confirm["csrf_token"]
    assert colin_client.post(case_url(reference, "act"), data=confirm).status_code == 400
    assert office.case(reference).state == "received"
    assert not errors_of(page(colin_client.get(case_url(reference))))

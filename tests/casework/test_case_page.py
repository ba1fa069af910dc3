"""The case page and what staff do on it: decide, request information, assign; with the
pages and the rows stored for each, and with stale, forged and hostile input."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

from flask.testing import FlaskClient

from runtime.data import published
from runtime.models import utcnow
from runtime.services import matching
from runtime.settings import PROJECT_ROOT, Settings
from tests.casework.conftest import (
    Office,
    action_form,
    banner,
    case_form,
    case_url,
    errors_of,
)
from tests.conftest import page


def test_the_case_page_shows_the_answers_the_citizen_and_the_history(office: Office) -> None:
    reference = office.new_case(name="Ada Lovelace", email="ada@example.com")
    office.new_case(name="Ada Lovelace", email="ada@example.com")  # her other case
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    response = client.get(case_url(reference))
    assert response.status_code == 200
    soup = page(response)
    assert soup.h1.get_text(strip=True) == f"Case {reference}"
    answers = {
        row.dt.get_text(strip=True): row.dd.get_text(" ", strip=True)
        for row in soup.select(".cf-answers .govuk-summary-list__row")
    }
    assert "Ada Lovelace" in answers.values()
    assert "ada@example.com" in answers.values()
    assert soup.select_one(".cf-case-state").get_text(" ", strip=True).startswith("Received")
    assert soup.select_one(".cf-case-assignee").get_text(strip=True) == "Nobody"
    citizen = soup.select_one(".cf-citizen").get_text(" ", strip=True)
    assert "Ada Lovelace" in citizen and "ada@example.com" in citizen and "AB123456C" in citizen
    assert "|" not in citizen  # the matching key (name, date of birth, postcode) is not shown
    [other] = soup.select(".cf-other-cases li")
    assert "Apply for a Blue Badge" in other.get_text() and "Received" in other.get_text()
    assert soup.select(".cf-possible-match") == []
    history = [tr.get_text(" | ", strip=True) for tr in soup.select(".cf-history tbody tr")]
    assert len(history) == 1 and "The applicant" in history[0] and "Sent the application" in history[0]
    buttons = [b.get_text(strip=True) for b in soup.select("form.cf-case-action button")]
    assert buttons == ["Approve", "Reject"]
    assert soup.select_one("form.cf-request-information") is not None
    # Reject needs a comment, and its label says so.
    labels = [label.get_text(strip=True) for label in soup.select("form.cf-case-action label")]
    assert labels == ["Comment (optional)", "Comment"]
    # The citizen's name is never in a URL.
    assert all("Ada" not in (a.get("href") or "") for a in soup.select("a, form"))
    assert all("Ada" not in (f.get("action") or "") for f in soup.select("form"))


def test_a_record_that_may_be_the_same_person_is_flagged_with_its_cases(office: Office, settings: Settings) -> None:
    """Issue 8: a submission that gives someone's National Insurance number with another name
    and email gets a record of its own (it cannot hijack hers); once the worker has scored the
    pair, staff see it on both cases, and it is never joined."""
    hers = office.new_case(name="Ada Lovelace", email="ada@example.com")
    theirs = office.new_case(name="Eve Mallory", email="eve@evil.example")
    her_record, their_record = office.case(hers).citizen_id, office.case(theirs).citizen_id
    assert her_record != their_record
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    assert page(client.get(case_url(hers))).select(".cf-possible-match") == []  # not scored yet
    with office.session() as s:
        summary = matching.run_jobs(s, limit=10, settings=settings)
    assert (summary.done, summary.joined, summary.suggested) == (1, 0, 1)
    assert office.case(theirs).citizen_id == their_record  # never joined
    for reference, other_record, other_reference in ((hers, their_record, theirs), (theirs, her_record, hers)):
        soup = page(client.get(case_url(reference)))
        [warning] = soup.select(".cf-possible-match")
        text = warning.get_text(" ", strip=True)
        assert f"Record {other_record} gave the same " in text and "National Insurance number" in text
        assert "check before you decide" in text
        assert [a.get_text(strip=True) for a in warning.select("a")] == [other_reference]
        assert soup.select(".cf-other-cases li") == []  # not their own case: another record's


def test_approve_changes_the_state_records_it_and_tells_the_citizen(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = action_form(client, reference, "approve")
    response = client.post(case_url(reference, "act"), data={**form, "comment": "All in order"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/casework/cases/{reference}")
    soup = page(client.get(case_url(reference)))
    assert "now: Approved" in banner(soup)
    assert soup.select_one(".cf-case-state").get_text(" ", strip=True).startswith("Approved")
    assert not soup.select("form.cf-case-action")
    case = office.case(reference)
    assert case.state == "approved" and case.closed_at is not None and case.lock_version == 2
    assert office.events(reference)[-1] == ("approve", "received", "approved", "All in order")
    assert [m.recipient for m in office.outbox("decision")] == ["ada@example.com"]
    history = soup.select(".cf-history tbody tr")[-1].get_text(" | ", strip=True)
    assert "Casey Worker" in history and "Approve" in history and "All in order" in history


def test_a_required_comment_left_empty_is_refused_and_nothing_changes(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = action_form(client, reference, "reject")
    response = client.post(case_url(reference, "act"), data={**form, "comment": "   "})
    assert response.status_code == 400
    soup = page(response)
    assert errors_of(soup) == ["Enter a comment to reject"]
    assert soup.select_one(".govuk-error-summary__list a")["href"] == "#comment-reject"
    assert soup.select_one("#comment-reject") is not None
    assert office.case(reference).state == "received"
    assert office.case(reference).lock_version == 1
    assert [e[0] for e in office.events(reference)] == ["submitted"]
    assert not office.outbox("decision")


def test_a_comment_too_long_is_refused_and_kept_for_editing(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = action_form(client, reference, "reject")
    response = client.post(case_url(reference, "act"), data={**form, "comment": "x" * 10_000})
    assert response.status_code == 400
    soup = page(response)
    assert errors_of(soup) == ["Comment must be 5,000 characters or less"]
    assert soup.select_one("#comment-reject").get_text() == "x" * 10_000
    assert office.case(reference).state == "received"


def test_a_second_caseworker_on_a_stale_page_is_told_and_nothing_changes(office: Office) -> None:
    reference = office.new_case()
    first = office.sign_in(office.staff("Casey Worker", "caseworker"))
    second = office.sign_in(office.staff("Colin Colleague", "caseworker"))
    stale = action_form(second, reference, "reject")  # Colin opens the page ...
    form = action_form(first, reference, "approve")
    assert first.post(case_url(reference, "act"), data=form).status_code == 303  # ... Casey approves ...
    response = second.post(case_url(reference, "act"), data={**stale, "comment": "Not eligible"})  # ... Colin rejects
    assert response.status_code == 409
    soup = page(response)
    assert errors_of(soup)[0].startswith("Someone else changed this case")
    assert soup.select_one(".cf-case-state").get_text(" ", strip=True).startswith("Approved")
    case = office.case(reference)
    assert case.state == "approved" and case.lock_version == 2
    assert [e[0] for e in office.events(reference)] == ["submitted", "approve"]
    assert len(office.outbox("decision")) == 1


def test_a_forged_lock_version_is_refused(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = action_form(client, reference, "approve")
    for forged, status in (("0", 409), ("99", 409), ("-1", 400), ("abc", 400), ("", 400), ("9" * 40, 400)):
        response = client.post(case_url(reference, "act"), data={**form, "lock_version": forged})
        assert response.status_code == status, forged
        assert errors_of(page(response)), forged
    assert office.case(reference).state == "received"
    assert [e[0] for e in office.events(reference)] == ["submitted"]


def test_an_unknown_or_forbidden_action_is_refused_with_its_message(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = action_form(client, reference, "approve")
    for action in ("launch-rockets", "", "<script>alert(1)</script>", "a" * 500):
        response = client.post(case_url(reference, "act"), data={**form, "action": action})
        assert response.status_code == 400, action
        assert errors_of(page(response)) == ["That action is not possible while the case is 'Received'"]
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert office.case(reference).state == "received"


def test_a_refused_action_shows_the_engines_message(office: Office) -> None:
    """The citizen's own email on a staff account: nobody decides their own case."""
    reference = office.new_case(email="casey@westbridge.example.gov.uk")
    user = office.staff("Casey Worker", "caseworker", email="casey@westbridge.example.gov.uk")
    client = office.sign_in(user)
    soup = page(client.get(case_url(reference)))
    assert not soup.select("form.cf-case-action")  # no buttons for what is not allowed
    # A form made by hand (or kept from before the rule applied), with a valid CSRF token.
    form = {"csrf_token": csrf_token_of(client), "action": "approve", "lock_version": "1"}
    response = client.post(case_url(reference, "act"), data=form)
    assert response.status_code == 400
    assert errors_of(page(response)) == ["You cannot act on your own case: ask a colleague to"]
    assert office.case(reference).state == "received"


def test_a_manager_only_step_is_refused_to_a_caseworker(office: Office) -> None:
    reference = office.new_case()
    manager = office.sign_in(office.staff("Mona Manager", "manager"))
    soup = page(manager.get(case_url(reference)))
    assert not soup.select("form.cf-case-action")  # the default workflow lets caseworkers decide
    form = {"csrf_token": csrf_token_of(manager), "action": "approve", "lock_version": "1"}
    response = manager.post(case_url(reference, "act"), data=form)
    assert response.status_code == 400
    assert errors_of(page(response)) == ["Only a caseworker can approve here"]
    assert office.case(reference).state == "received"


def test_hostile_answers_and_comments_show_as_text(office: Office) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    reference = office.new_case(name=payload)
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = action_form(client, reference, "reject")
    client.post(case_url(reference, "act"), data={**form, "comment": payload})
    response = client.get(case_url(reference))
    html = response.get_data(as_text=True)
    assert payload not in html
    assert "&lt;script&gt;" in html
    soup = page(response)
    assert not soup.select("main script") and not soup.select("main img")
    assert payload in soup.select_one(".cf-answers").get_text()
    assert payload in soup.select_one(".cf-history").get_text()
    inbox = client.get("/?q=" + reference).get_data(as_text=True)
    assert payload not in inbox


def test_request_information_waits_for_the_applicant(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = case_form(client, reference, "form.cf-request-information")
    data = {**form, "questions": ["email", "phone"], "message": "Please check your contact details"}
    response = client.post(case_url(reference, "request-information"), data=data)
    assert response.status_code == 303
    soup = page(client.get(case_url(reference)))
    assert "Waiting for the applicant" in soup.select_one(".cf-case-state").get_text(" ", strip=True)
    assert "waiting for the applicant" in banner(soup)
    assert not soup.select("form.cf-case-action") and not soup.select("form.cf-request-information")
    request_text = soup.select_one(".cf-information-request").get_text(" ", strip=True)
    assert "Please check your contact details" in request_text and "not answered yet" in request_text
    case = office.case(reference)
    assert case.waiting_for_citizen and case.state == "received"
    assert office.events(reference)[-1] == (
        "request-information",
        "received",
        None,
        "Please check your contact details",
    )
    [message] = office.outbox("information_requested")
    assert message.recipient == "ada@example.com" and "/information/" in message.body
    # And the inbox says so too.
    inbox = page(client.get("/"))
    assert "Waiting for the applicant" in inbox.select_one("table.cf-inbox").get_text(" ", strip=True)


def test_request_information_needs_a_message_and_real_questions(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = case_form(client, reference, "form.cf-request-information")
    url = case_url(reference, "request-information")
    response = client.post(url, data={**form, "questions": ["email"], "message": " "})
    assert response.status_code == 400
    soup = page(response)
    assert errors_of(soup) == ["Enter a message to tell the applicant what you need"]
    assert soup.select_one(".govuk-error-summary__list a")["href"] == "#request-message"
    assert soup.select_one("input[name=questions][value=email]").has_attr("checked")
    response = client.post(url, data={**form, "questions": ["<b>salary</b>"], "message": "Tell us"})
    assert response.status_code == 400
    assert "is not a question in this service" in errors_of(page(response))[0]
    assert "<b>salary</b>" not in response.get_data(as_text=True)
    response = client.post(url, data={**form, "message": "y" * 10_000})
    assert response.status_code == 400
    assert not office.case(reference).waiting_for_citizen
    assert not office.outbox("information_requested")


def test_assign_to_me_then_unassign(office: Office) -> None:
    reference = office.new_case()
    user = office.staff("Casey Worker", "caseworker")
    client = office.sign_in(user)
    form = case_form(client, reference, "form[action$='/assign']")
    assert form["assignee"] == "me"
    assert client.post(case_url(reference, "assign"), data=form).status_code == 303
    soup = page(client.get(case_url(reference)))
    assert soup.select_one(".cf-case-assignee").get_text(strip=True) == "Casey Worker (you)"
    assert office.case(reference).assigned_to == user.id
    assert soup.select_one("select#assignee") is None  # a caseworker cannot give it to a colleague
    form = case_form(client, reference, "form[action$='/assign']")
    assert form["assignee"] == "nobody"
    assert client.post(case_url(reference, "assign"), data=form).status_code == 303
    assert office.case(reference).assigned_to is None
    assert [e[0] for e in office.events(reference)] == ["submitted", "assign", "assign"]
    history = page(client.get(case_url(reference))).select(".cf-history tbody tr")
    assert "Assigned to Casey Worker" in history[1].get_text() and "Unassigned" in history[2].get_text()


def test_a_manager_assigns_to_a_colleague_who_hears_of_it(office: Office) -> None:
    reference = office.new_case()
    colleague = office.staff("Colin Colleague", "caseworker")
    outsider = office.staff("Otto Outsider", "caseworker", department=office.other_department)
    client = office.sign_in(office.staff("Mona Manager", "manager"))
    soup = page(client.get(case_url(reference)))
    names = [o.get_text(strip=True) for o in soup.select("select#assignee option")]
    assert "Colin Colleague" in names and "Otto Outsider" not in names
    form = case_form(client, reference, "form:has(select#assignee)")
    before = len(office.outbox("sent_to_you"))
    response = client.post(case_url(reference, "assign"), data={**form, "assignee": str(colleague.id)})
    assert response.status_code == 303
    assert office.case(reference).assigned_to == colleague.id
    # Issue 17: the staff message of its own ("assigned to you"), to that colleague only.
    assert [m.recipient for m in office.outbox("sent_to_you")[before:]] == [colleague.email]
    # Someone of another department cannot be given the case, even by a forged form.
    response = client.post(case_url(reference, "assign"), data={**form, "assignee": str(outsider.id)})
    assert response.status_code in (400, 409)
    assert office.case(reference).assigned_to == colleague.id


def test_a_caseworker_cannot_assign_a_colleague_by_forging_the_form(office: Office) -> None:
    reference = office.new_case()
    colleague = office.staff("Colin Colleague", "caseworker")
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    form = case_form(client, reference, "form[action$='/assign']")
    response = client.post(case_url(reference, "assign"), data={**form, "assignee": str(colleague.id)})
    assert response.status_code == 400
    assert errors_of(page(response)) == ["Only a manager can assign cases to colleagues"]
    assert office.case(reference).assigned_to is None
    for bad in ("", "someone", "-3", "9" * 30):
        response = client.post(case_url(reference, "assign"), data={**form, "assignee": bad})
        assert response.status_code == 400, bad
    assert office.case(reference).assigned_to is None


def test_assigning_a_case_a_colleague_took_meanwhile_is_a_conflict(office: Office) -> None:
    reference = office.new_case()
    casey, colin = office.staff("Casey Worker", "caseworker"), office.staff("Colin Colleague", "caseworker")
    first, second = office.sign_in(casey), office.sign_in(colin)
    stale = case_form(second, reference, "form[action$='/assign']")
    assert first.post(case_url(reference, "assign"), data=case_form(first, reference, "form[action$='/assign']"))
    response = second.post(case_url(reference, "assign"), data=stale)
    assert response.status_code == 409
    assert office.case(reference).assigned_to == casey.id


def test_the_overdue_tag_and_the_deadline(office: Office) -> None:
    reference = office.new_case()
    office.update_case(reference, deadline_at=utcnow() - timedelta(days=2))
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    soup = page(client.get(case_url(reference)))
    assert "Overdue" in soup.select_one(".cf-case-deadline").get_text()


def test_a_forged_or_unknown_reference_is_a_404(office: Office) -> None:
    office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    for forged in ("BB-ZZZZ-ZZZZ", "x" * 300, "0", "99999999999999", "%00", "..%2F..%2Fetc", "<script>"):
        assert client.get(case_url(forged)).status_code == 404, forged
    token = csrf_token_of(client)
    for forged in ("BB-ZZZZ-ZZZZ", "12345"):
        response = client.post(case_url(forged, "act"), data={"csrf_token": token, "action": "approve"})
        assert response.status_code == 404


def test_a_case_is_found_by_its_id_or_a_reference_typed_loosely(office: Office) -> None:
    """The staff emails link to /casework/cases/<id>: that redirects to the reference."""
    reference = office.new_case()
    client = office.sign_in(office.staff("Casey Worker", "caseworker"))
    case_id = office.case(reference).id
    response = client.get(case_url(str(case_id)))
    assert response.status_code == 303 and response.headers["Location"].endswith(case_url(reference))
    response = client.get(case_url(reference.lower().replace("-", " ")))
    assert response.status_code == 303 and response.headers["Location"].endswith(case_url(reference))


def test_a_caseworker_of_another_department_gets_404(office: Office) -> None:
    reference = office.new_case()
    outsider = office.staff("Otto Outsider", "caseworker", department=office.other_department)
    client = office.sign_in(outsider)
    assert client.get(case_url(reference)).status_code == 404
    assert client.get(case_url(str(office.case(reference).id))).status_code == 404
    token = csrf_token_of(client)
    data = {"csrf_token": token, "action": "approve", "lock_version": "1", "assignee": "me", "message": "x"}
    for action in ("act", "assign", "request-information"):
        assert client.post(case_url(reference, action), data=data).status_code == 404, action
    assert office.case(reference).state == "received" and office.case(reference).assigned_to is None
    assert [e[0] for e in office.events(reference)] == ["submitted"]


def test_a_designer_of_the_same_department_may_not_see_cases(office: Office) -> None:
    reference = office.new_case()
    client = office.sign_in(office.staff("Dana Designer", "designer"))
    assert client.get(case_url(reference)).status_code == 403
    assert client.get("/").status_code == 403


def csrf_token_of(client) -> str:  # type: ignore[no-untyped-def]
    """A CSRF token from a page the signed-in member can open (the inbox)."""
    field = page(client.get("/")).select_one("input[name=csrf_token]")
    assert field is not None
    return str(field["value"])


QUORUM = {
    "initial": "received",
    "states": {
        "received": {"label": "Received"},
        "second-approval": {"label": "Waiting for a manager"},
        "approved": {"label": "Approved", "final": True},
        "rejected": {"label": "Rejected", "final": True},
    },
    "transitions": [
        {"from": "received", "action": "approve", "label": "Approve", "to": "second-approval", "roles": ["caseworker"]},
        {
            "from": "received",
            "action": "reject",
            "label": "Reject",
            "to": "rejected",
            "roles": ["caseworker"],
            "comment": "required",
        },
        {
            "from": "second-approval",
            "action": "approve",
            "label": "Approve",
            "to": "approved",
            "roles": ["manager"],
            "approvals": {"mode": "quorum", "count": 2},
        },
        {
            "from": "second-approval",
            "action": "reject",
            "label": "Reject",
            "to": "rejected",
            "roles": ["manager"],
            "comment": "required",
        },
    ],
}


def _publish_new_version(office: Office) -> None:
    """blue-badge with the steps above and the name question relabelled."""
    doc = copy.deepcopy(json.loads((PROJECT_ROOT / "form_definitions" / "blue-badge.json").read_text()))
    doc["version"] += 1
    doc["workflow"] = QUORUM
    doc["questions"]["full_name"]["short_label"] = "Applicant's name"
    with office.session() as s:
        published.publish(session=s, doc=doc)
        s.commit()


def test_answers_show_with_their_version_and_a_quorum_counts_approvals(office: Office) -> None:
    old = office.new_case(name="Ada Lovelace")
    _publish_new_version(office)
    new = office.new_case(name="Grace Hopper")
    caseworker = office.sign_in(office.staff("Casey Worker", "caseworker"))

    def answer_keys(client: FlaskClient, reference: str) -> list[str]:
        soup = page(client.get(case_url(reference)))
        return [dt.get_text(strip=True) for dt in soup.select(".cf-answers dt")]

    assert "Full name" in answer_keys(caseworker, old) and "Applicant's name" not in answer_keys(caseworker, old)
    assert "Applicant's name" in answer_keys(caseworker, new)
    # The old case follows the current steps: approving it leads to a manager.
    assert caseworker.post(case_url(old, "act"), data=action_form(caseworker, old, "approve")).status_code == 303
    assert office.case(old).state == "second-approval"
    first = office.sign_in(office.staff("Mona Manager", "manager"))
    second = office.sign_in(office.staff("Max Manager", "manager"))
    assert first.post(case_url(old, "act"), data=action_form(first, old, "approve")).status_code == 303
    soup = page(first.get(case_url(old)))
    assert "1 of 2 needed" in banner(soup)
    assert soup.select_one(".cf-case-state").get_text(" ", strip=True).startswith("Waiting for a manager")
    assert not soup.select("form.cf-case-action")  # nobody decides twice
    assert "(1 of 2 approvals)" in soup.select(".cf-history tbody tr")[-1].get_text()
    assert office.case(old).state == "second-approval"
    assert second.post(case_url(old, "act"), data=action_form(second, old, "approve")).status_code == 303
    assert office.case(old).state == "approved"
    assert [e[:3] for e in office.events(old)][1:] == [
        ("approve", "received", "second-approval"),
        ("approve", "second-approval", None),
        ("approve", "second-approval", "approved"),
    ]
    inbox = page(caseworker.get("/?state=second-approval"))
    assert "Waiting for a manager" in inbox.select_one("select#state").get_text()

"""The builder's approval steps, issue 17 part G: the whole-case deadline, reasons the applicant is told,
review or appeal wording on final states, and warnings in plain words (no "transition", no ids)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from builder import workflow_diagram, workflow_editing, workflow_words
from builder.conditions import EditError
from runtime import workflow as engine
from runtime.checker import check
from runtime.problems import Problem
from tests.builder.street_party import street_party
from tests.builder.test_workflow_views import BASE, _doc, _error, _hidden, _post, _words, app, department, designer
from tests.conftest import page

__all__ = ["app", "department", "designer"]  # the fixtures, shared with the other workflow screens


# -- the operations -------------------------------------------------------------------------------


def test_decide_within_is_written_as_the_format_says_and_removed_when_empty() -> None:
    doc = street_party()
    doc["workflow"].pop("decide_within")
    new = workflow_editing.set_workflow_settings(doc, decide_within_days="10")
    assert new["workflow"]["decide_within"] == "P10D"
    assert engine.Workflow.from_section(new["workflow"]).decide_within is not None  # the runtime reads it
    assert check(new) == []
    assert "decide_within" not in workflow_editing.set_workflow_settings(new, decide_within_days="")["workflow"]
    kept = copy.deepcopy(new)
    kept["workflow"]["decide_within"] = "P2W"
    assert workflow_editing.set_workflow_settings(kept, decide_within_days="14")["workflow"]["decide_within"] == "P2W"


@pytest.mark.parametrize("value", ["0", "-3", "ten", "1.5", "9" * 40, "P10D", "<b>"])
def test_a_nonsense_time_to_decide_is_refused(value: str) -> None:
    with pytest.raises(EditError) as caught:
        workflow_editing.set_workflow_settings(street_party(), decide_within_days=value)
    assert caught.value.field == "decide_within_days"
    assert "time to decide" in caught.value.message.lower()


def test_a_reason_for_the_applicant_on_an_action() -> None:
    doc = street_party()
    refuse = next(i for i, t in enumerate(doc["workflow"]["transitions"]) if t["action"] == "withdraw")
    new = workflow_editing.edit_transition(doc, refuse, reason="optional")
    assert new["workflow"]["transitions"][refuse]["reason"] == "optional"
    new = workflow_editing.edit_transition(new, refuse, reason="none")
    assert "reason" not in new["workflow"]["transitions"][refuse]
    with pytest.raises(EditError) as caught:
        workflow_editing.edit_transition(doc, refuse, reason="sometimes")
    assert caught.value.field == "reason"
    added = workflow_editing.add_transition(
        doc, from_state="manager", label="Turn down", to_state="refused", roles=["manager"], reason="required"
    )
    assert added["workflow"]["transitions"][-1]["reason"] == "required"
    assert check(added) == []


def test_asking_for_information_never_gets_a_reason() -> None:
    doc = street_party()
    asks = next(i for i, t in enumerate(doc["workflow"]["transitions"]) if t.get("request_information"))
    new = workflow_editing.edit_transition(doc, asks, reason="required")
    assert "reason" not in new["workflow"]["transitions"][asks]


def test_appeal_wording_on_a_final_state_only() -> None:
    doc = street_party()
    new = workflow_editing.edit_state(doc, "approved", appeal="  Write to us\r\nwithin 28 days.\n\n\n\nThank you ")
    assert new["workflow"]["states"]["approved"]["appeal"] == "Write to us\nwithin 28 days.\n\nThank you"
    assert check(new) == []
    assert "appeal" not in workflow_editing.edit_state(new, "approved", appeal="")["workflow"]["states"]["approved"]
    with pytest.raises(EditError) as caught:
        workflow_editing.edit_state(doc, "highways", appeal="Write to us")
    assert caught.value.field == "appeal" and "Only a final state" in caught.value.message
    with pytest.raises(EditError) as caught:
        workflow_editing.edit_state(doc, "refused", final=False)  # its appeal text stays: say so
    assert caught.value.field == "appeal"
    with pytest.raises(EditError) as caught:
        workflow_editing.edit_state(doc, "refused", appeal="x" * 2001)
    assert caught.value.message == "How to ask for a review or appeal must be 2,000 characters or less"


def test_the_steps_in_words_say_the_deadline_reasons_and_appeals() -> None:
    words = workflow_diagram.text_alternative(street_party())
    assert words[0] == "Every case is decided within 10 working days of the application arriving"
    assert "State: Refused (final: the case is closed; the applicant is told how to ask for a review)" in words
    assert any(w.startswith("From Received: Refuse → Refused (caseworker)") and "staff must give" in w for w in words)


# -- plain words in warnings ------------------------------------------------------------------------


def _broken(change: Any) -> dict[str, Any]:
    doc = street_party()
    change(doc["workflow"])
    return doc


BROKEN = [
    lambda w: w["states"].update({"orphan": {"label": "Nobody gets here"}}),
    lambda w: (
        w["transitions"].append(
            {"from": "received", "action": "park", "label": "Park it", "to": "parked", "roles": ["caseworker"]}
        )
        or w["states"].update({"parked": {"label": "Parked"}})
    ),
    lambda w: w.update({"initial": "approved"}),
    lambda w: w["states"]["highways"].update({"escalate_to": "wizard"}),
    lambda w: w["states"]["highways"].pop("deadline") and w["states"]["highways"].update({"escalate_to": "manager"}),
    lambda w: w["transitions"].append(
        {"from": "approved", "action": "x", "label": "Undo", "to": "received", "roles": ["caseworker"]}
    ),
    lambda w: w["transitions"][4].update({"to": "approved"}),
    lambda w: w["transitions"].append({"from": "received", "action": "y", "label": "Nowhere", "roles": ["manager"]}),
    lambda w: w["transitions"][2].update({"approvals": {"mode": "quorum", "count": 1}}),
    lambda w: w["transitions"][2].update({"approvals": {"mode": "all"}, "roles": ["caseworker", "manager"]}),
    lambda w: (
        w["transitions"].insert(0, {**w["transitions"][2], "guard": None} | {"label": "Refuse first"})
        or w["transitions"][0].pop("guard")
    ),
    lambda w: w["transitions"][0].update({"guard": {"properties": {"gone": {"const": True}}, "required": ["gone"]}}),
    lambda w: w["states"]["highways"].update({"appeal": "Write to us"}),
]


@pytest.mark.parametrize("change", BROKEN)
def test_every_workflow_problem_reads_in_plain_words(change: Any) -> None:
    doc = _broken(change)
    found = list(engine.problems(doc))
    assert found, "the change should have broken the steps"
    for problem in found:
        text = workflow_words.problem_words(doc, problem)
        lowered = text.lower()
        assert "transition" not in lowered and "guard" not in lowered and "quorum" not in lowered
        assert '"' not in text and "$." not in text
        for sid in ("highways", "manager", "received", "refused", "orphan", "parked"):
            # ids appear only as part of a name ("Waiting for a manager"), never on their own in quotes
            assert f"‘{sid}’" not in text
        assert text[:1].isupper()


def test_a_problem_names_the_action_and_state_by_their_names() -> None:
    doc = street_party()
    assert (
        workflow_words.problem_words(
            doc,
            Problem("$.workflow.transitions[5].roles[0]", '"wizard" is not a role; the roles are caseworker, manager'),
        )
        == "The action ‘Recommend the road closure’ from ‘Waiting for Highways to check the road closure’: "
        "‘wizard’ is not a role. The roles are caseworker, manager"
    )
    assert workflow_words.problem_words(
        doc, Problem("$.workflow.states.manager", 'no transition leads out of "manager": add one, or make it final')
    ) == ("No action leaves ‘Waiting for a manager to approve the road closure’. Add one, or make it a final state")


# -- the pages -------------------------------------------------------------------------------------


def test_the_settings_page_sets_the_time_to_decide(app: Flask, designer: FlaskClient) -> None:
    soup = page(designer.get(f"{BASE}/settings"))
    assert soup.select_one("label[for=decide-within-days]").get_text(strip=True) == (  # type: ignore[union-attr]
        "Decide every case within (optional)"
    )
    response = _post(
        designer,
        f"{BASE}/settings",
        {"initial": "received", "working_days": "yes", "one_decision_per_person": "yes", "decide_within_days": "10"},
    )
    assert response.status_code == 303
    assert _doc(app)["workflow"]["decide_within"] == "P10D"
    overview = page(designer.get(BASE))
    assert "decided within 10 working days" in overview.select_one(".cf-decide-within").get_text()  # type: ignore[union-attr]
    assert _words(designer)[0] == "Every case is decided within 10 working days of the application arriving"
    assert page(designer.get(f"{BASE}/settings")).select_one("#decide-within-days")["value"] == "10"  # type: ignore[index]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "The time to decide must be 1 or more"),
        ("banana", "The time to decide must be a whole number"),
        ("1" * 5000, "The time to decide must be a whole number"),
        ("<script>alert(1)</script>", "The time to decide must be a whole number"),
    ],
)
def test_a_bad_time_to_decide_is_shown_next_to_the_field(
    app: Flask, designer: FlaskClient, value: str, message: str
) -> None:
    response = _post(
        designer,
        f"{BASE}/settings",
        {"initial": "received", "working_days": "no", "one_decision_per_person": "yes", "decide_within_days": value},
        form_url=f"{BASE}/settings",
    )
    assert response.status_code == 400
    soup = page(response)
    assert message.split(" must")[0] in _error(soup, "decide-within-days")
    assert "<script>" not in response.get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0].replace(
        "&lt;script&gt;", ""
    )
    assert "decide_within" not in _doc(app).get("workflow", {})


def test_the_settings_form_needs_its_csrf_token(app: Flask, designer: FlaskClient) -> None:
    data = {k: v for k, v in _hidden(designer, f"{BASE}/settings").items() if k != "csrf_token"}
    response = designer.post(f"{BASE}/settings", data={**data, "initial": "received", "decide_within_days": "5"})
    assert response.status_code == 400
    assert "decide_within" not in _doc(app).get("workflow", {})


def test_a_reason_on_the_action_page(app: Flask, designer: FlaskClient) -> None:
    soup = page(designer.get(f"{BASE}/actions/1/"))  # the standard step's "Reject"
    legend = [leg.get_text(strip=True) for leg in soup.select("legend")]
    assert "Is the applicant told the reason for this decision?" in legend
    form = _hidden(designer, f"{BASE}/actions/1/")
    values = {
        "from_state": "received",
        "label": "Reject",
        "to_state": "rejected",
        "roles": "caseworker",
        "comment": "required",
        "approvals": "any",
    }
    response = designer.post(f"{BASE}/actions/1/", data={**form, **values, "reason": "required"})
    assert response.status_code == 303
    saved = _doc(app)["workflow"]["transitions"][1]
    assert saved["reason"] == "required" and saved["label"] == "Reject"
    assert page(designer.get(f"{BASE}/actions/1/")).select_one("#reason")["checked"] is not None  # type: ignore[index]
    bad = designer.post(
        f"{BASE}/actions/1/", data={**_hidden(designer, f"{BASE}/actions/1/"), **values, "reason": "<i>maybe</i>"}
    )
    assert bad.status_code == 400
    assert "Select whether the applicant is told the reason" in _error(page(bad), "reason")


def test_appeal_wording_on_the_state_page(app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/states/rejected/"
    base = {"label": "Rejected", "final": "yes", "working_days": "no", "escalate_to": "", "deadline_days": ""}
    appeal = "Email appeals@westbridge.gov.uk within 28 days <b>please</b>"
    response = _post(designer, url, {**base, "appeal": appeal})
    assert response.status_code == 303
    assert _doc(app)["workflow"]["states"]["rejected"]["appeal"] == appeal
    soup = page(designer.get(url))
    assert soup.select_one("textarea#appeal").get_text() == appeal  # type: ignore[union-attr]
    assert "<b>please</b>" not in designer.get(url).get_data(as_text=True)
    too_long = _post(designer, url, {**base, "appeal": "x" * 2001})
    assert too_long.status_code == 400
    assert "2,000 characters or less" in _error(page(too_long), "appeal")
    assert page(too_long).select_one("textarea#appeal").get_text() == "x" * 2001  # nothing typed is lost
    not_final = _post(
        designer, f"{BASE}/states/received/", {**base, "label": "Received", "final": "no", "appeal": "Write to us"}
    )
    assert not_final.status_code == 400
    assert "Only a final state" in _error(page(not_final), "appeal")

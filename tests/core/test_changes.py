"""The change summary behind publishing, version history, git messages and `civicforms diff`."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runtime.changes import summarise

SHIPPED = sorted(Path("form_definitions").glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads(Path(f"form_definitions/{name}.json").read_text(encoding="utf-8"))


def const(name: str, value: Any) -> dict[str, Any]:
    return {"properties": {name: {"const": value}}, "required": [name]}


def test_first_version() -> None:
    doc = load("blue-badge")  # 10 pages and 14 questions since its photo and proof of identity
    pages, questions = len(doc["pages"]), len(doc["questions"])
    assert (pages, questions) >= (10, 14)
    assert summarise(None, doc) == [f"First version: {pages} pages, {questions} questions"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_identical_documents_have_no_changes(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert summarise(doc, copy.deepcopy(doc)) == []
    reordered = dict(reversed(list(doc.items())))  # key order is not a change
    assert summarise(doc, reordered) == []


def test_the_version_number_alone_is_not_a_change() -> None:
    doc = load("blue-badge")
    assert summarise(doc, {**doc, "version": 3}) == []


def test_added_question_on_a_new_page() -> None:
    old = load("missed-bin-collection")
    new = copy.deepcopy(old)
    new["pages"].append({"id": "front-door", "title": "Front door", "questions": ["door_colour"]})
    new["questions"]["door_colour"] = {"label": "What colour is your front door?", "widget": "text"}
    new["schema"]["properties"]["door_colour"] = {"type": "string", "maxLength": 50}
    assert summarise(old, new) == ["Added question 'What colour is your front door?' on new page 'Front door'"]


def test_question_wording_hint_and_choices() -> None:
    old = load("blue-badge")
    new = copy.deepcopy(old)
    new["questions"]["lives_in_area"]["label"] = "Do you live in Westbridge now?"
    new["questions"]["email"]["hint"] = "We will email you."
    del new["questions"]["walking_difficulties"]["options"]["something_else"]
    new["schema"]["properties"]["walking_difficulties"]["items"]["enum"].remove("something_else")
    new["questions"]["walking_difficulties"]["options"]["pain"]["label"] = "Pain or aching"
    assert summarise(old, new) == [
        "Reworded question 'Do you live in Westbridge?' to 'Do you live in Westbridge now?'",
        "Removed choice 'Something else' from 'What makes walking difficult for you?'",
        "Renamed choice 'Pain' to 'Pain or aching' in 'What makes walking difficult for you?'",
        "Changed the hint of 'Email address' from 'We will use this to contact you about the application. "
        "If you are applying for…' to 'We will email you.'",
    ]


def test_validation_and_required_changes() -> None:
    old = load("blue-badge")
    new = copy.deepcopy(old)
    new["schema"]["properties"]["full_name"]["maxLength"] = 200
    new["schema"]["properties"]["date_of_birth"]["dateAfter"] = "1900-01-01"
    new["schema"]["required"].remove("email")
    new["schema"]["required"].append("phone")
    assert summarise(old, new) == [
        "Changed the maximum length of 'Full name' from 100 to 200 characters",
        "'Date of birth' must now be after 1 January 1900",
        "Made 'Email address' optional",
        "Made 'Phone number' required",
    ]


def test_pages_added_removed_moved_renamed_and_conditions() -> None:
    old = load("council-tax-single-person-discount")
    new = copy.deepcopy(old)
    new["pages"][0]["title"] = "Your council tax account"
    new["pages"][1], new["pages"][2] = new["pages"][2], new["pages"][1]
    new["pages"][3]["show_if"] = const("reason", "something_else")
    new["pages"][4].pop("show_if")
    new["schema"]["allOf"][0]["if"] = const("reason", "something_else")
    new["schema"]["allOf"].pop(1)
    new["schema"]["required"].append("reason_details")
    new["pages"].insert(5, {"id": "sorry", "title": "Sorry", "questions": [], "stop": True})
    assert summarise(old, new) == [
        "Renamed page 'Council tax account number' to 'Your council tax account'",
        "Moved page 'Property address' after page 'Why you are the only adult'",
        "Changed when page 'The adult who moved out' is shown: only if 'Why are you now the only adult living at "
        "the property?' is Something else (was: only if 'Why are you now the only adult living at the property?' "
        "is Another adult moved out)",
        "Removed the condition on page 'Tell us more' "
        "(was: 'Why are you now the only adult living at the property?' is Something else)",
        "Added stop page 'Sorry'",
    ]


def test_a_condition_change_is_described_in_plain_words_when_a_reader_is_given() -> None:
    old = load("register-with-gp")
    new = copy.deepcopy(old)
    new["pages"][3]["show_if"] = const("knows_nhs_number", False)
    new["schema"]["allOf"][0]["if"] = const("knows_nhs_number", False)
    words = summarise(old, new, describe_condition=lambda doc, c: "Show this page only if 'X' is No")
    title = old["pages"][3]["title"]
    assert words == [f"Changed when page '{title}' is shown: only if 'X' is No (was: only if 'X' is No)"]


def test_removed_question_and_page() -> None:
    old = load("register-with-gp")
    new = copy.deepcopy(old)
    new["pages"] = [p for p in new["pages"] if p["id"] != "previous-gp"]
    del new["questions"]["previous_gp"]
    del new["schema"]["properties"]["previous_gp"]
    label = old["questions"]["previous_gp"]["label"]
    title = next(p["title"] for p in old["pages"] if p["id"] == "previous-gp")
    assert summarise(old, new) == [f"Removed question '{label}' with its page '{title}'"]


def test_service_texts_identity_and_messages() -> None:
    old = load("blue-badge")
    new = copy.deepcopy(old)
    new["title"] = "Get a Blue Badge"
    new["reference_prefix"] = "BBX"
    new["start"]["button"] = "Begin"
    new["check_answers"]["declaration"] = ["I promise."]
    new["confirmation"]["title"] = "Sent"
    new["contact"]["phone"] = "01632 960 999"
    del new["identity"]["phone"]
    new["messages"]["full_name"] = {"required": "Enter your name"}
    assert summarise(old, new) == [
        "Changed the title from 'Apply for a Blue Badge' to 'Get a Blue Badge'",
        "Changed the reference prefix from 'BB' to 'BBX'",
        "Changed the start button text from 'Start now' to 'Begin'",
        "Added the error message for 'Full name' when it is not answered: 'Enter your name'",
        "Changed the declaration from 'By sending this application you confirm that the information you have "
        "given is…' to 'I promise.'",
        "Changed the confirmation title from 'Application complete' to 'Sent'",
        "Changed the contact phone number from '01632 960 456' to '01632 960 999'",
        "The citizen's phone number is no longer used to identify them",
    ]


def test_anything_else_is_reported_by_its_json_path() -> None:
    old = load("blue-badge")
    new = copy.deepcopy(old)
    new["schema"]["$defs"]["uk_address"]["properties"]["line1"]["maxLength"] = 50
    new["schema"]["allOf"].append({"if": {"required": ["phone"]}, "then": {"properties": {"phone": {"minLength": 11}}}})
    new["schema"]["additionalProperties"] = True
    assert summarise(old, new) == [
        "Changed $.schema.additionalProperties",
        "Changed $.schema.$defs.uk_address.properties.line1.maxLength",
        "Changed $.schema.allOf",
    ]


def test_the_summary_is_deterministic() -> None:
    old = load("resident-parking-permit")
    new = copy.deepcopy(old)
    new["pages"].reverse()
    assert summarise(old, new) == summarise(copy.deepcopy(old), copy.deepcopy(new))


# -- approval steps (the workflow section) -------------------------------------------------------


def _grant_doc() -> dict[str, Any]:
    from tests.core.sample import sample_doc
    from tests.core.test_workflow import grant_section

    doc = sample_doc()
    doc["workflow"] = grant_section()
    return doc


def test_adding_a_workflow_is_described_against_the_default() -> None:
    from tests.core.sample import sample_doc

    old = sample_doc()
    new = _grant_doc()
    lines = summarise(old, new)
    assert lines[0] == "Replaced the default review step with the service's own approval steps"
    assert "Deadlines now count working days only" in lines
    assert "Added state 'Waiting for a manager'" in lines
    assert (
        "Changed the text the applicant sees in 'Received' from 'We are checking your application' to "
        "'We have received your application'" in lines
    )
    assert "Set the deadline of 'Received' to 10 working days" in lines
    assert "Overdue cases in 'Received' now go to the manager" in lines
    assert "Action 'Approve' in 'Received' now leads to 'Waiting for a manager' instead of 'Approved'" in lines
    assert "Added a condition to action 'Approve' in 'Received'" in lines
    assert not any(line.startswith("Changed $") for line in lines), lines
    back = summarise(new, old)
    assert back[0] == "Removed the service's approval steps: the default review step applies"
    assert "Removed state 'Waiting for a manager'" in back


def test_workflow_changes_in_plain_words() -> None:
    old = _grant_doc()
    new = copy.deepcopy(old)
    wf = new["workflow"]
    wf["states"]["received"]["deadline"] = "P5D"
    wf["working_days"] = True
    wf["states"]["second-approval"]["label"] = "With a manager"
    wf["states"]["on-hold"] = {"label": "On hold"}
    wf["transitions"][1]["roles"] = ["manager"]
    wf["transitions"][2]["comment"] = "optional"
    wf["transitions"][3]["approvals"] = {"mode": "all"}
    wf["transitions"][0]["guard"] = {"properties": {"pet_count": {"minimum": 4}}, "required": ["pet_count"]}
    wf["transitions"].append(
        {"from": "received", "action": "hold", "label": "Put on hold", "to": "on-hold", "roles": ["caseworker"]}
    )
    wf["transitions"].append(
        {"from": "on-hold", "action": "resume", "label": "Resume", "to": "received", "roles": ["caseworker"]}
    )
    del wf["transitions"][4]  # managers can no longer reject at the second step
    wf["one_decision_per_person"] = False
    wf["messages"] = {"decision": {"subject": "Decision on {reference}", "body": "{state}"}}
    assert summarise(old, new) == [
        "One person may now take several decisions on a case",
        "Changed the deadline of 'Received' from 10 to 5 working days",
        "Renamed state 'Waiting for a manager' to 'With a manager'",
        "Added state 'On hold'",
        "Changed when action 'Approve' in 'Received' applies",
        "Changed who can 'Approve' in 'Received' from caseworker to manager",
        "'Reject' in 'Received' no longer needs a comment",
        "Changed who must agree to 'Approve' in 'With a manager' from 2 people to every manager",
        "Added action 'Put on hold' in 'Received': it leads to 'On hold', for caseworker",
        "Added action 'Resume' in 'On hold': it leads to 'Received', for caseworker",
        "Removed action 'Reject' in 'Waiting for a manager'",
        "Wrote the message telling the applicant the decision (instead of the standard one)",
    ]


def test_deadline_changes_between_units_and_to_calendar_days() -> None:
    old = _grant_doc()
    new = copy.deepcopy(old)
    new["workflow"]["states"]["received"]["deadline"] = "PT48H"
    assert summarise(old, new) == ["Changed the deadline of 'Received' from 10 working days to 48 hours"]
    new["workflow"]["states"]["received"]["deadline"] = "P2W"
    new["workflow"]["working_days"] = False
    assert summarise(old, new) == [
        "Deadlines now count every day",
        "Changed the deadline of 'Received' from 10 working days to 14 days",
    ]
    same = copy.deepcopy(old)
    same["workflow"]["states"]["received"]["deadline"] = "P1W3D"  # 10 days, written differently
    assert summarise(old, same) == []


def test_reordering_transitions_is_a_change_because_the_first_match_wins() -> None:
    old = _grant_doc()
    new = copy.deepcopy(old)
    ts = new["workflow"]["transitions"]
    ts[2], ts[5] = ts[5], ts[2]
    assert summarise(old, new) == ["Changed the order in which actions are tried"]


def test_every_workflow_change_is_reported() -> None:
    old = _grant_doc()
    for change in (
        lambda wf: wf.update(initial="second-approval"),
        lambda wf: wf["states"]["approved"].update(final=False),
        lambda wf: wf["states"]["received"].pop("escalate_to"),
        lambda wf: wf["transitions"][5].update(label="Ask for more"),
        lambda wf: wf["transitions"][1].update(to="rejected"),
        lambda wf: wf["transitions"][0].pop("guard"),
        lambda wf: wf["transitions"][1].update(request_information=True),
    ):
        new = copy.deepcopy(old)
        change(new["workflow"])
        lines = summarise(old, new)
        assert lines and not any(line.startswith("Changed $") for line in lines), lines


def test_civicforms_diff_prints_workflow_changes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from runtime.cli import main
    from runtime.definition import dumps

    old = _grant_doc()
    new = copy.deepcopy(old)
    new["version"] = 2
    new["workflow"]["states"]["second-approval"]["label"] = "<b>With a manager</b>"
    new["workflow"]["transitions"][3]["roles"] = ["manager", "caseworker"]
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "pet-licence.json").write_text(dumps(old), encoding="utf-8")
    (tmp_path / "new" / "pet-licence.json").write_text(dumps(new), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["diff", str(tmp_path / "old" / "pet-licence.json"), str(tmp_path / "new" / "pet-licence.json")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Renamed state 'Waiting for a manager' to '<b>With a manager</b>'",
        "Changed who can 'Approve' in '<b>With a manager</b>' from manager to manager or caseworker",
    ]

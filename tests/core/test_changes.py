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
    assert summarise(None, load("blue-badge")) == ["First version: 8 pages, 12 questions"]


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
        "Changed the hint of 'Email address'",
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
        "Changed when page 'The adult who moved out' is shown",
        "Removed the condition on page 'Tell us more'",
        "Added stop page 'Sorry'",
    ]


def test_a_condition_change_is_described_in_plain_words_when_a_reader_is_given() -> None:
    old = load("register-with-gp")
    new = copy.deepcopy(old)
    new["pages"][3]["show_if"] = const("knows_nhs_number", False)
    new["schema"]["allOf"][0]["if"] = const("knows_nhs_number", False)
    words = summarise(old, new, describe_condition=lambda doc, c: "Show this page only if 'X' is No")
    assert words == [f"Changed when page '{old['pages'][3]['title']}' is shown: Show this page only if 'X' is No"]


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
        "Added the error message for 'Full name' when it is not answered",
        "Changed the declaration",
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

"""The change summary (builder, git messages, ``civicforms diff``) for the keys of issue 18: file
questions, add-another sections and their item questions, money, time, UK phone, address lookup."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from runtime.changes import Change, changes, summarise, wording
from runtime.cli import main
from runtime.definition import dumps
from tests.core.sample import sample_doc


def with_new_types() -> dict[str, Any]:
    """The sample service with a photo page and a household page (the contract in design18.md)."""
    doc = sample_doc()
    props = doc["schema"]["properties"]
    props["photo"] = {"type": "array", "items": {"type": "object", "format": "upload"}, "maxItems": 1}
    props["household"] = {
        "type": "array",
        "minItems": 1,
        "maxItems": 10,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["full_name", "relationship"],
            "properties": {
                "full_name": {"type": "string", "maxLength": 100},
                "relationship": {"type": "string", "enum": ["partner", "child", "other"]},
                "date_of_birth": {"type": "string", "format": "date"},
            },
        },
    }
    props["rent"] = {"type": "integer", "minimum": 0, "maximum": 500000}
    doc["questions"]["photo"] = {
        "label": "Upload a photo of your face",
        "widget": "file",
        "accept": ["jpeg", "png"],
        "max_size_mb": 10,
    }
    doc["questions"]["household"] = {
        "label": "People who live with you",
        "widget": "add-another",
        "singular": "person",
        "plural": "people",
        "summary": "full_name",
        "questions": {
            "full_name": {"label": "Full name", "widget": "text"},
            "relationship": {
                "label": "How are they related to you?",
                "widget": "radios",
                "options": {
                    "partner": {"label": "Partner"},
                    "child": {"label": "Child"},
                    "other": {"label": "Other"},
                },
            },
            "date_of_birth": {"label": "Date of birth", "widget": "date"},
        },
    }
    doc["questions"]["rent"] = {"label": "How much rent do you pay each month?", "widget": "money"}
    doc["pages"][1:1] = [
        {"id": "photo", "title": "Photo", "questions": ["photo"]},
        {"id": "household-members", "title": "People who live with you", "questions": ["household"]},
        {"id": "rent", "title": "Rent", "questions": ["rent"]},
    ]
    doc["schema"].setdefault("required", []).extend(["photo", "household"])
    return doc


def by_path(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Change]:
    return {c.path: c for c in changes(old, new)}


def test_a_new_file_question_says_its_limits_in_plain_words() -> None:
    old = sample_doc()
    new = with_new_types()
    found = by_path(old, new)
    assert found["$.questions.photo"].sentence == (
        "Added question 'Upload a photo of your face' on new page 'Photo', which must be answered: "
        "1 file, a JPG or PNG, smaller than 10MB"
    )
    assert found["$.questions.household"].sentence == (
        "Added question 'People who live with you' on new page 'People who live with you', "
        "which must be answered: 1 to 10 people"
    )
    # each item question is said too, with whether each person must answer it
    assert found["$.questions.household.questions.full_name"].sentence == (
        "Added question 'Full name' to each person in 'People who live with you', which must be answered"
    )
    assert found["$.questions.household.questions.date_of_birth"].sentence == (
        "Added question 'Date of birth' to each person in 'People who live with you'"
    )
    # nothing is left over as a bare JSON path
    assert not [c.sentence for c in changes(old, new) if c.sentence.startswith("Changed $")]


def test_file_limits_kinds_size_and_how_many() -> None:
    old = with_new_types()
    new = copy.deepcopy(old)
    new["questions"]["photo"]["accept"] = ["jpeg", "png", "pdf"]
    new["questions"]["photo"]["max_size_mb"] = 5
    new["schema"]["properties"]["photo"]["maxItems"] = 3
    found = by_path(old, new)
    accept = found["$.questions.photo.accept"]
    assert accept.sentence == (
        "Changed the kinds of file 'Upload a photo of your face' takes from JPG or PNG to JPG, PNG or PDF"
    )
    assert (accept.old, accept.new) == (["jpeg", "png"], ["jpeg", "png", "pdf"])
    assert found["$.questions.photo.max_size_mb"].sentence == (
        "Changed the largest file 'Upload a photo of your face' takes from 10MB to 5MB"
    )
    assert "'Upload a photo of your face' now takes up to 3 files (was 1)" in summarise(old, new)
    assert not any(s.startswith("Changed $") for s in summarise(old, new))


def test_the_default_size_written_out_is_said_as_no_change_of_limit() -> None:
    old = with_new_types()
    del old["questions"]["photo"]["max_size_mb"]
    new = copy.deepcopy(old)
    new["questions"]["photo"]["max_size_mb"] = 10
    assert summarise(old, new) == ["Wrote out the largest file 'Upload a photo of your face' takes: 10MB, as before"]


def test_add_another_names_numbers_and_the_answer_that_names_each_item() -> None:
    old = with_new_types()
    new = copy.deepcopy(old)
    q = new["questions"]["household"]
    q["singular"], q["plural"] = "resident", "residents"
    q["summary"] = "relationship"
    new["schema"]["properties"]["household"]["minItems"] = 2
    new["schema"]["properties"]["household"]["maxItems"] = 8
    sentences = summarise(old, new)
    assert "Changed the name of one item of 'People who live with you' from 'person' to 'resident'" in sentences
    assert "Changed the name of several items of 'People who live with you' from 'people' to 'residents'" in sentences
    assert (
        "Each resident in the list of 'People who live with you' is now named by its answer to "
        "'How are they related to you?' (was 'Full name')"
    ) in sentences
    assert "'People who live with you' now takes up to 8 residents (was 10)" in sentences
    assert "'People who live with you' now needs at least 2 residents (was 1)" in sentences
    assert not any(s.startswith("Changed $") for s in sentences)
    # the summary key names a question: it is not a wording to print in full under the sentence
    summary = by_path(old, new)["$.questions.household.summary"]
    assert wording(summary) is None


def test_item_questions_added_removed_changed_and_reordered() -> None:
    old = with_new_types()
    new = copy.deepcopy(old)
    items = new["questions"]["household"]["questions"]
    props = new["schema"]["properties"]["household"]["items"]
    # reworded, a new hint, a new choice, made optional, a longer limit
    items["full_name"]["label"] = "Their full name"
    items["full_name"]["hint"] = "As on their passport"
    props["properties"]["full_name"]["maxLength"] = 200
    items["relationship"]["options"]["parent"] = {"label": "Parent"}
    props["properties"]["relationship"]["enum"].append("parent")
    props["required"] = ["full_name"]
    # removed one, added one, and the order changed
    del items["date_of_birth"]
    del props["properties"]["date_of_birth"]
    items["email"] = {"label": "Their email address", "widget": "email"}
    props["properties"]["email"] = {"type": "string", "format": "email", "maxLength": 254}
    new["questions"]["household"]["questions"] = {k: items[k] for k in ("relationship", "full_name", "email")}
    where = "in each person in 'People who live with you'"
    found = by_path(old, new)
    sentences = summarise(old, new)
    assert found["$.questions.household.questions.full_name.label"].sentence == (
        f"Reworded question 'Full name' to 'Their full name', {where}"
    )
    assert found["$.questions.household.questions.full_name.hint"].new == "As on their passport"
    assert found["$.questions.household.questions.relationship.options.parent"].sentence == (
        f"Added choice 'Parent' to 'How are they related to you?', {where}"
    )
    assert f"Changed the maximum length of 'Their full name' from 100 to 200 characters, {where}" in sentences
    assert f"Made 'How are they related to you?' optional, {where}" in sentences
    assert "Removed question 'Date of birth' from each person in 'People who live with you'" in sentences
    assert "Added question 'Their email address' to each person in 'People who live with you'" in sentences
    assert "Reordered the questions of each person in 'People who live with you'" in sentences
    assert not any(s.startswith("Changed $") for s in sentences)


def test_an_item_setting_no_sentence_covers_is_still_reported_by_its_path() -> None:
    old = with_new_types()
    new = copy.deepcopy(old)
    new["questions"]["household"]["questions"]["full_name"]["future_key"] = True
    new["schema"]["properties"]["household"]["items"]["properties"]["full_name"]["x-note"] = "kept"
    found = {c.path: c for c in changes(old, new) if c.sentence.startswith("Changed $")}
    assert found["$.questions.household"].new == {"questions": {"full_name": {"future_key": True}}}
    assert found["$.schema.properties.household"].new == {"items": {"properties": {"full_name": {"x-note": "kept"}}}}


def test_money_limits_are_said_in_pounds() -> None:
    old = with_new_types()
    new = copy.deepcopy(old)
    new["schema"]["properties"]["rent"]["maximum"] = 125050
    new["schema"]["properties"]["rent"]["minimum"] = 100
    sentences = summarise(old, new)
    assert (
        "Changed the maximum value of 'How much rent do you pay each month?' from £5,000.00 to £1,250.50" in sentences
    )
    assert "Changed the minimum value of 'How much rent do you pay each month?' from £0.00 to £1.00" in sentences


def test_a_number_made_money_says_its_old_limit_as_a_number() -> None:
    old = with_new_types()
    old["questions"]["rent"]["widget"] = "number"
    old["schema"]["properties"]["rent"]["maximum"] = 2000  # pounds, as a plain number
    new = with_new_types()
    sentences = summarise(old, new)
    assert "Changed the maximum value of 'How much rent do you pay each month?' from 2000 to £5,000.00" in sentences
    back = summarise(new, old)
    assert "Changed the maximum value of 'How much rent do you pay each month?' from £5,000.00 to 2000" in back


def test_address_lookup_on_and_off() -> None:
    old = sample_doc()
    new = copy.deepcopy(old)
    new["questions"]["address"]["lookup"] = True
    label = old["questions"]["address"]["short_label"]
    assert summarise(old, new) == [f"'{label}' now finds the address by postcode first (typing it is still possible)"]
    assert summarise(new, old) == [f"'{label}' no longer finds the address by postcode: people type it"]


def test_new_widgets_are_named_by_their_palette_words_when_a_question_changes_type() -> None:
    old = with_new_types()
    new = copy.deepcopy(old)
    new["questions"]["rent"]["widget"] = "number"
    assert "Changed 'How much rent do you pay each month?' from" in summarise(old, new)[0]


def test_hostile_text_in_the_new_keys_is_quoted_as_it_is() -> None:
    old = with_new_types()
    new = copy.deepcopy(old)
    new["questions"]["household"]["singular"] = "<script>alert(1)</script>"
    new["questions"]["photo"]["accept"] = ["jpeg", "exe"]
    sentences = summarise(old, new)
    assert (
        "Changed the name of one item of 'People who live with you' from 'person' to '<script>alert(1)</script>'"
        in sentences
    )
    assert "Changed the kinds of file 'Upload a photo of your face' takes from JPG or PNG to JPG or EXE" in sentences


def test_a_whole_new_service_with_the_new_types_describes_every_part() -> None:
    new = with_new_types()
    sentences = [c.sentence for c in changes(None, new, every_part=True)]
    assert sentences[0].startswith("First version:")
    assert any("to each person in 'People who live with you'" in s for s in sentences)
    leftovers = [s for s in sentences if s.startswith("Changed $")]  # the sample's own $defs and the like
    assert not [s for s in leftovers if any(name in s for name in ("photo", "household", "rent"))]


# -- civicforms diff -------------------------------------------------------------------------------


def household() -> dict[str, Any]:
    return json.loads(Path("form_definitions/household-members.json").read_text(encoding="utf-8"))


def test_civicforms_diff_says_a_list_s_changes_in_plain_words(tmp_path: Path) -> None:
    old = household()
    new = copy.deepcopy(old)
    new["version"] = old["version"] + 1
    q = new["questions"]["household"]
    q["plural"] = "household members"
    q["questions"]["email"] = {"label": "Their email address", "widget": "email"}
    items = new["schema"]["properties"]["household"]["items"]
    items["properties"]["email"] = {"type": "string", "format": "email", "maxLength": 254}
    new["schema"]["properties"]["household"]["maxItems"] = 12
    (tmp_path / "old.json").write_text(dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(dumps(new), encoding="utf-8")
    args = ["diff", "--exit-code", str(tmp_path / "old.json"), str(tmp_path / "new.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output  # changed
    label = old["questions"]["household"].get("short_label") or old["questions"]["household"]["label"]
    one = old["questions"]["household"]["singular"]
    assert result.stdout.splitlines() == [
        f"'{label}' now takes up to 12 household members (was 10)",
        f"Changed the name of several items of '{label}' from '{old['questions']['household']['plural']}' "
        "to 'household members'",
        f"Added question 'Their email address' to each {one} in '{label}'",
    ]
    result = CliRunner().invoke(main, ["diff", "--json", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 0, result.output
    found = {c["path"]: c for c in json.loads(result.stdout)["changes"]}
    assert found["$.questions.household.questions.email"]["new"] == {
        "label": "Their email address",
        "widget": "email",
    }
    assert found["$.questions.household.plural"]["old"] == old["questions"]["household"]["plural"]


def test_civicforms_diff_of_a_file_question_s_limits(tmp_path: Path) -> None:
    old = with_new_types()
    old["pages"] = [p for p in old["pages"] if p["id"] not in ("household-members", "rent")]
    for name in ("household", "rent"):
        del old["questions"][name]
        del old["schema"]["properties"][name]
    old["schema"]["required"].remove("household")
    new = copy.deepcopy(old)
    new["questions"]["photo"]["accept"] = ["pdf"]
    new["questions"]["photo"]["max_size_mb"] = 20
    (tmp_path / "old.json").write_text(dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(dumps(new), encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Changed the kinds of file 'Upload a photo of your face' takes from JPG or PNG to PDF",
        "Changed the largest file 'Upload a photo of your face' takes from 10MB to 20MB",
    ]

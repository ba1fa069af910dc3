"""Canonical formatting and hashing: a one-word change is a one-line diff."""

from __future__ import annotations

import difflib
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from runtime.definition import (
    PAGE_ORDER,
    QUESTION_ORDER,
    TOP_LEVEL_ORDER,
    Contact,
    Definition,
    Privacy,
    StartPage,
    canonical,
    content_hash,
    dumps,
    resolve_ref,
)
from runtime.questions import Option, Question
from tests.conftest import DEFINITIONS
from tests.core.sample import sample_doc

SHIPPED = sorted(DEFINITIONS.glob("*.json"))


def shuffle_keys(obj: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    items = list(obj.items())
    rng.shuffle(items)
    return dict(items)


def shuffled(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same definition with the keys canonical formatting orders in a random order.

    The order of properties, questions, options and messages is the author's, so it stays.
    """
    doc = shuffle_keys(doc, rng)
    doc["schema"] = shuffle_keys(doc["schema"], rng)
    doc["schema"]["properties"] = {k: shuffle_keys(v, rng) for k, v in doc["schema"]["properties"].items()}
    doc["questions"] = {k: shuffle_keys(v, rng) for k, v in doc["questions"].items()}
    doc["pages"] = [shuffle_keys(p, rng) for p in doc["pages"]]
    for page in doc["pages"]:
        if "next" in page:
            page["next"] = [shuffle_keys(r, rng) for r in page["next"]]
    return doc


def test_dumps_is_stable() -> None:
    text = dumps(sample_doc())
    assert dumps(json.loads(text)) == text


@pytest.mark.parametrize("seed", range(5))
def test_key_order_in_the_file_does_not_matter(seed: int) -> None:
    assert dumps(shuffled(sample_doc(), random.Random(seed))) == dumps(sample_doc())


def test_top_level_keys_come_in_the_canonical_order() -> None:
    doc = dict(reversed(list(sample_doc().items())))
    keys = list(json.loads(dumps(doc)))
    assert keys == [k for k in TOP_LEVEL_ORDER if k in doc]
    assert keys[:3] == ["format", "id", "version"]


def test_unknown_keys_keep_their_place_after_the_known_ones() -> None:
    doc = {"zebra": 1, "format": "civicforms/1", "aardvark": 2, "id": "x"}
    assert list(canonical(doc)) == ["format", "id", "zebra", "aardvark"]


def test_question_and_page_keys_come_in_the_canonical_order() -> None:
    doc = sample_doc()
    doc["questions"]["full_name"] = dict(reversed(list(doc["questions"]["full_name"].items())))
    doc["pages"][1] = dict(reversed(list(doc["pages"][1].items())))
    out = json.loads(dumps(doc))
    question = list(out["questions"]["full_name"])
    assert question == [k for k in QUESTION_ORDER if k in question]
    assert question[0] == "label"
    page = list(out["pages"][1])
    assert page == [k for k in PAGE_ORDER if k in page]
    assert page[0] == "id"


def test_the_order_of_questions_pages_and_options_is_the_author_s() -> None:
    doc = sample_doc()
    doc["questions"]["pet_kind"]["options"] = dict(reversed(list(doc["questions"]["pet_kind"]["options"].items())))
    out = json.loads(dumps(doc))
    assert list(out["questions"]["pet_kind"]["options"]) == ["other", "dog", "cat"]
    assert list(out["questions"]) == list(sample_doc()["questions"])
    assert [p["id"] for p in out["pages"]] == [p["id"] for p in sample_doc()["pages"]]


def test_schema_keywords_are_ordered_but_property_names_are_not() -> None:
    doc = sample_doc()
    # A property named like a schema keyword stays where the author put it.
    doc["schema"]["properties"] = {"type": {"maxLength": 5, "type": "string"}, **doc["schema"]["properties"]}
    out = json.loads(dumps(doc))
    assert list(out["schema"])[:2] == ["type", "properties"]
    assert list(out["schema"]["properties"])[0] == "type"
    assert list(out["schema"]["properties"]["type"]) == ["type", "maxLength"]


def test_format_is_two_space_indented_with_a_final_newline() -> None:
    text = dumps(sample_doc())
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    lines = text.splitlines()
    assert lines[1] == '  "format": "civicforms/1",'
    assert all((len(line) - len(line.lstrip(" "))) % 2 == 0 for line in lines)
    assert "\t" not in text


def test_non_ascii_text_is_written_as_is() -> None:
    doc = sample_doc()
    doc["title"] = "Gwneud cais am drwydded anifail anwes – Côr"
    assert "Côr" in dumps(doc)
    assert "\\u" not in dumps(doc)


def test_a_one_word_label_change_is_a_one_line_diff() -> None:
    before = sample_doc()
    after = sample_doc()
    after["questions"]["full_name"]["label"] = "What is your legal name?"
    diff = [
        line
        for line in difflib.unified_diff(dumps(before).splitlines(), dumps(after).splitlines(), n=0, lineterm="")
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert diff == [
        '-      "label": "What is your full name?",',
        '+      "label": "What is your legal name?",',
    ]


def test_content_hash_is_stable_and_ignores_key_order() -> None:
    digest = content_hash(sample_doc())
    assert len(digest) == 64
    assert content_hash(sample_doc()) == digest
    assert content_hash(shuffled(sample_doc(), random.Random(1))) == digest
    assert Definition(sample_doc()).hash == digest


def test_content_hash_changes_with_the_content() -> None:
    changed = sample_doc()
    changed["pages"][2]["title"] = "About yourself"
    assert content_hash(changed) != content_hash(sample_doc())
    reordered = sample_doc()
    reordered["pages"][2]["questions"].reverse()  # the order of questions is content
    assert content_hash(reordered) != content_hash(sample_doc())


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_definition_is_already_canonical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert dumps(json.loads(text)) == text, f"run: civicforms format {path}"


# -- the typed view ------------------------------------------------------------------------------


def test_resolve_ref_follows_local_references() -> None:
    schema = sample_doc()["schema"]
    address = resolve_ref(schema, schema["properties"]["address"])
    assert address["required"] == ["line1", "town", "postcode"]


def test_resolve_ref_refuses_remote_and_circular_references() -> None:
    with pytest.raises(KeyError, match="only references inside the file"):
        resolve_ref({}, {"$ref": "https://example.com/schema.json"})
    with pytest.raises(KeyError, match="circular"):
        resolve_ref({"$defs": {"a": {"$ref": "#/$defs/a"}}}, {"$ref": "#/$defs/a"})


def test_fields_labels_and_optional_questions() -> None:
    definition = Definition(sample_doc())
    assert [f.path for f in definition.fields_of("address")] == [
        "address.line1",
        "address.line2",
        "address.town",
        "address.county",
        "address.postcode",
    ]
    assert definition.fields_of("address")[4].html_id == "address-postcode"
    assert definition.short_label("full_name") == "Full name"
    assert definition.error_name("full_name") == "your full name"
    assert definition.error_name("date_of_birth") == "date of birth"
    assert definition.error_name("address.postcode") == "postcode"
    assert definition.is_optional("notes")
    assert not definition.is_optional("full_name")
    assert not definition.is_optional("pet_kind")  # required in an if/then block
    assert not definition.is_optional("address.town")
    assert definition.is_optional("address.line2")
    assert definition.option_label("pet_kind", "other") == "Something else"


# -- typed views and their defaults ------------------------------------------------------------


def test_questions_are_typed_with_their_defaults() -> None:
    definition = Definition(sample_doc())
    q = definition.question("pet_kind")
    assert isinstance(q, Question)
    assert (q.label, q.short_label, q.error_name, q.widget) == (
        "What kind of pet is it?",
        "Kind of pet",
        "the kind of pet",
        "radios",
    )
    assert q.options == (Option("cat", "Cat"), Option("dog", "Dog"), Option("other", "Something else"))
    assert q.option_label("dog") == "Dog" and q.option_label("ferret") == "ferret"
    notes = definition.question("notes")
    assert (notes.hint, notes.rows, notes.width, notes.spellcheck) == (None, 5, None, None)
    has_pet = definition.question("has_pet")
    assert (has_pet.yes_label, has_pet.no_label, has_pet.error_name) == ("Yes", "No", "has a pet")
    # Without a short label, the label; an acronym keeps its capitals in the error name.
    assert definition.question("work_postcode").short_label == "What is the postcode of your work?"
    assert definition.question("nhs_number").error_name == "NHS number"


def test_pages_start_check_answers_and_confirmation_have_defaults_in_python() -> None:
    doc = sample_doc()
    definition = Definition(doc)
    assert definition.start == StartPage(
        body=("Use this service to apply for a pet licence.",), you_will_need=("your tenancy number",)
    )
    assert definition.start.button == "Start now"
    assert definition.check_answers.title == "Check your answers before sending your application"
    assert definition.check_answers.declaration == ("The information I have given is correct.",)
    assert definition.check_answers.button == "Send application"
    assert definition.check_answers.send_heading == "Now send your application"
    assert definition.confirmation.next_steps == ("We will email you within 10 working days.",)
    assert definition.department == "Housing"
    assert definition.privacy is None and definition.contact is None

    del doc["check_answers"]
    doc["title"] = "Report a missed bin"
    bare = Definition(doc).check_answers
    assert bare.button == "Accept and send"
    assert bare.declaration[0].startswith("By sending this you are confirming")
    assert bare.send_heading == "Now send your form"


def test_privacy_and_contact() -> None:
    doc = sample_doc() | {
        "contact": {"phone": "01632 960 000", "hours": "Monday to Friday, 9am to 5pm", "address": ["Town Hall"]},
        "privacy": {"url": "https://example.gov.uk/privacy"},
    }
    definition = Definition(doc)
    assert definition.contact == Contact(
        email=None, phone="01632 960 000", hours="Monday to Friday, 9am to 5pm", address=("Town Hall",)
    )
    assert definition.privacy == Privacy(url="https://example.gov.uk/privacy", summary=())


def test_privacy_and_contact_come_last_in_their_canonical_order() -> None:
    doc = {
        "contact": {"address": ["Town Hall"], "hours": "9 to 5", "phone": "01632 960 000", "email": "a@b.gov.uk"},
        "privacy": {"summary": ["We keep it safe."], "url": "https://example.gov.uk/privacy"},
    } | sample_doc()
    out = canonical(doc)
    assert list(out)[-2:] == ["privacy", "contact"]
    assert list(out["contact"]) == ["email", "phone", "hours", "address"]
    assert list(out["privacy"]) == ["url", "summary"]


def test_no_template_reads_the_raw_document() -> None:
    """No template reads a definition's raw document (``service.doc``, ``definition.doc["..."]``);
    a name that merely starts with "doc" (``form.documents``) is not it."""
    templates = Path(__file__).parents[2] / "runtime" / "web" / "templates"
    raw = re.compile(r"\.doc\b")
    for path in templates.rglob("*.html"):
        assert not raw.search(path.read_text(encoding="utf-8")), path
    assert raw.search("{{ service.doc['title'] }}") and raw.search("{{ definition.doc.title }}")
    assert not raw.search("{{ form.documents }}")

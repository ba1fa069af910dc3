"""The definition checker: a valid sample, broken one way at a time, gives one clear problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.checker import check, check_file
from runtime.problems import Problem
from tests.core.sample import sample_doc

Doc = dict[str, Any]


def props(doc: Doc) -> dict[str, Any]:
    return doc["schema"]["properties"]


def page(doc: Doc, page_id: str) -> dict[str, Any]:
    return next(p for p in doc["pages"] if p["id"] == page_id)


def test_the_sample_is_valid() -> None:
    assert check(sample_doc()) == []


def test_check_file_accepts_the_sample(tmp_path: Path) -> None:
    path = tmp_path / "pet-licence.json"
    path.write_text(json.dumps(sample_doc()), encoding="utf-8")
    assert check_file(path) == []


def _remove_postcode(doc: Doc) -> None:
    address = doc["schema"]["$defs"]["uk_address"]
    del address["properties"]["postcode"]
    address["required"].remove("postcode")
    del doc["identity"]["postcode"]
    del doc["messages"]["address.postcode"]


def _unknown_address_part(doc: Doc) -> None:
    doc["schema"]["$defs"]["uk_address"]["properties"]["flat"] = {"type": "string", "maxLength": 10}


# (id, how to break the sample, the JSON path of the problem, a part of its message)
BROKEN: list[tuple[str, Callable[[Doc], Any], str, str]] = [
    # -- the meta-schema -------------------------------------------------------------------
    ("missing key", lambda d: d.pop("title"), "$", "'title' is a required property"),
    ("unknown key", lambda d: d.update(colour="red"), "$", "unknown key ('colour' was unexpected)"),
    ("bad id", lambda d: d.update(id="Pet_Licence"), "$.id", "'Pet_Licence' is not in the expected form"),
    (
        "bad prefix",
        lambda d: d.update(reference_prefix="pet"),
        "$.reference_prefix",
        "'pet' is not in the expected form",
    ),
    (
        "bad widget",
        lambda d: d["questions"]["notes"].update(widget="slider"),
        "$.questions.notes.widget",
        "'slider' is not one of",
    ),
    ("bad page id", lambda d: d["pages"][0].update(id="Where You Live"), "$.pages[0].id", "not in the expected form"),
    (
        "unknown question key",
        lambda d: d["questions"]["notes"].update(placeholder="Type here"),
        "$.questions.notes",
        "unknown key ('placeholder' was unexpected)",
    ),
    ("stop page with questions", lambda d: d["pages"][1].update(questions=["notes"]), "$.pages[1].questions", "empty"),
    ("empty page", lambda d: d["pages"][2].update(questions=[]), "$.pages[2].questions", "non-empty"),
    ("blank label", lambda d: d["questions"]["notes"].update(label="   "), "$.questions.notes.label", "expected form"),
    # -- the schema itself -----------------------------------------------------------------
    (
        "schema not JSON Schema",
        lambda d: props(d)["notes"].update(type="strong"),
        "$.schema.properties.notes.type",
        "not valid JSON Schema",
    ),
    (
        "negative maxLength",
        lambda d: props(d)["notes"].update(maxLength=-1),
        "$.schema.properties.notes.maxLength",
        "not valid JSON Schema: -1 is less than the minimum of 0",
    ),
    (
        "pattern with a lookahead (RE2 cannot run it)",
        lambda d: props(d)["notes"].update(pattern="^(?=\\w)\\w+$"),
        "$.schema.properties.notes.pattern",
        "not supported: lookahead",
    ),
    (
        "pattern with a backreference",
        lambda d: props(d)["notes"].update(pattern="^(a)\\1$"),
        "$.schema.properties.notes.pattern",
        "not supported: backreferences",
    ),
    (
        "a question named csrf_token",
        lambda d: (
            props(d).update(csrf_token=props(d).pop("notes")),
            d["questions"].update(csrf_token=d["questions"].pop("notes")),
        ),
        "$.schema.properties",
        "csrf_token",
    ),
    (
        "two fields with one element id",
        lambda d: (
            props(d).update(address_line1={"type": "string", "maxLength": 10}),
            d["questions"].update(address_line1={"label": "Line", "widget": "text"}),
            page(d, "contact")["questions"].append("address_line1"),
        ),
        "$.questions.address_line1",
        'would share the page element id "address-line1"',
    ),
    (
        "root anyOf",
        lambda d: d["schema"].update(anyOf=[{"required": ["email"]}, {"required": ["phone"]}]),
        "$.schema.anyOf",
        'use "allOf" with "if"/"then" blocks',
    ),
    (
        "$ref in a condition",
        lambda d: page(d, "pet-details").update(show_if={"$ref": "#/$defs/uk_address"}),
        "$.pages[4].show_if.$ref",
        "conditions cannot use $ref",
    ),
    (
        "remote $ref in a condition",
        lambda d: page(d, "pet-details").update(show_if={"allOf": [{"$ref": "https://example.com/c.json"}]}),
        "$.pages[4].show_if.allOf[0].$ref",
        "conditions cannot use $ref",
    ),
    (
        "$dynamicRef to another document",
        lambda d: props(d)["notes"].update({"$dynamicRef": "https://example.com/x"}),
        "$.schema.properties.notes.$dynamicRef",
        "is not allowed: a definition is one self-contained file",
    ),
    (
        "$id naming another document",
        lambda d: props(d)["notes"].update({"$id": "https://other.example/a.json"}),
        "$.schema.properties.notes.$id",
        "is not allowed",
    ),
    (
        "$ref that is not a JSON pointer",
        lambda d: props(d).update(address={"$ref": "#$defs/uk_address"}),
        "$.schema.properties.address.$ref",
        "only references inside the file are allowed",
    ),
    (
        "pattern RE2 cannot run in a condition",
        lambda d: page(d, "pet-details").update(
            show_if={"properties": {"full_name": {"pattern": "(?<=a)b"}}, "required": ["full_name"]}
        ),
        "$.pages[4].show_if.properties.full_name.pattern",
        "not supported: lookbehind",
    ),
    (
        "unresolved $ref",
        lambda d: props(d).update(address={"$ref": "#/$defs/adress"}),
        "$.schema.properties.address.$ref",
        "#/$defs/adress does not resolve",
    ),
    (
        "remote $ref",
        lambda d: props(d).update(address={"$ref": "https://example.com/address.json"}),
        "$.schema.properties.address.$ref",
        "only references inside the file are allowed",
    ),
    # -- questions, properties and pages ---------------------------------------------------
    (
        "property without question",
        lambda d: d["questions"].pop("notes"),
        "$.schema.properties.notes",
        'property "notes" has no entry in questions',
    ),
    (
        "question without property",
        lambda d: d["questions"].update(nickname={"label": "Nickname?", "widget": "text"}),
        "$.questions.nickname",
        '"nickname" is not a property of the schema',
    ),
    (
        "property on no page",
        lambda d: page(d, "contact")["questions"].remove("notes"),
        "$.questions.notes",
        '"notes" is not asked on any page',
    ),
    (
        "property on two pages",
        lambda d: page(d, "about-you")["questions"].append("notes"),
        "$.pages[7].questions[2]",
        '"notes" is already asked on page "about-you"',
    ),
    (
        "page question not a property",
        lambda d: page(d, "contact")["questions"].append("nhs_numbr"),
        "$.pages[7].questions[3]",
        '"nhs_numbr" is not a property of the schema',
    ),
    (
        "duplicate page id",
        lambda d: page(d, "contact").update(id="about-you"),
        "$.pages[7].id",
        'page id "about-you" is used twice',
    ),
    # -- widgets ---------------------------------------------------------------------------
    (
        "radios without enum",
        lambda d: props(d)["pet_kind"].pop("enum"),
        "$.questions.pet_kind.widget",
        'widget "radios" needs an "enum"',
    ),
    (
        "date without format",
        lambda d: props(d)["date_of_birth"].pop("format"),
        "$.questions.date_of_birth.widget",
        'widget "date" needs "format": "date"',
    ),
    (
        "email without format",
        lambda d: props(d)["email"].pop("format"),
        "$.questions.email.widget",
        'widget "email" needs "format": "email"',
    ),
    (
        "checkboxes without uniqueItems",
        lambda d: props(d)["pet_colours"].pop("uniqueItems"),
        "$.schema.properties.pet_colours",
        'checkboxes need "uniqueItems": true',
    ),
    (
        "checkboxes without items enum",
        lambda d: props(d)["pet_colours"]["items"].pop("enum"),
        "$.questions.pet_colours.widget",
        'widget "checkboxes" needs "items" with an "enum"',
    ),
    (
        "number widget on a string",
        lambda d: props(d).update(pet_count={"type": "string", "maxLength": 3}),
        "$.questions.pet_count.widget",
        'widget "number" needs a property of type number, but "pet_count" has string',
    ),
    (
        "yes-no on a string",
        lambda d: d["questions"]["notes"].update(widget="yes-no"),
        "$.questions.notes.widget",
        'widget "yes-no" needs a property of type boolean',
    ),
    (
        "option missing for an enum value",
        lambda d: d["questions"]["pet_kind"]["options"].pop("dog"),
        "$.questions.pet_kind.options",
        "no label for dog",
    ),
    (
        "extra option",
        lambda d: d["questions"]["pet_kind"]["options"].update(fish={"label": "Fish"}),
        "$.questions.pet_kind.options",
        "fish not in the enum",
    ),
    (
        "radios without options",
        lambda d: d["questions"]["pet_kind"].pop("options"),
        "$.questions.pet_kind",
        'widget "radios" needs "options"',
    ),
    (
        "options on a text question",
        lambda d: d["questions"]["full_name"].update(options={"a": {"label": "A"}}),
        "$.questions.full_name.options",
        'widget "text" takes no options',
    ),
    ("uk-address without postcode", _remove_postcode, "$.schema.$defs.uk_address", 'needs a "postcode" property'),
    (
        "uk-address unknown part",
        _unknown_address_part,
        "$.schema.$defs.uk_address",
        '"flat" is not part of a uk-address',
    ),
    (
        "free text without maxLength",
        lambda d: props(d)["notes"].pop("maxLength"),
        "$.schema.properties.notes",
        'free text "notes" needs a "maxLength"',
    ),
    (
        "tel without maxLength",
        lambda d: props(d)["phone"].pop("maxLength"),
        "$.schema.properties.phone",
        'free text "phone" needs a "maxLength"',
    ),
    (
        "address part without maxLength",
        lambda d: d["schema"]["$defs"]["uk_address"]["properties"]["town"].pop("maxLength"),
        "$.schema.$defs.uk_address.properties.town",
        'free text "address.town" needs a "maxLength"',
    ),
    # -- conditions and routing ------------------------------------------------------------
    (
        "show_if not JSON Schema",
        lambda d: page(d, "cat-colours").update(show_if={"type": 12}),
        "$.pages[5].show_if",
        "not a valid JSON Schema condition",
    ),
    (
        "show_if names an unknown property",
        lambda d: page(d, "cat-colours").update(show_if={"properties": {"pet_knd": {"const": "cat"}}}),
        "$.pages[5].show_if",
        'condition uses "pet_knd", which is not a property of the schema',
    ),
    (
        "show_if requires an unknown property",
        lambda d: page(d, "cat-colours").update(show_if={"anyOf": [{"required": ["pet_knd"]}]}),
        "$.pages[5].show_if",
        'condition uses "pet_knd"',
    ),
    (
        "show_if uses a later answer",
        lambda d: page(d, "cat-colours").update(show_if={"required": ["email"]}),
        "$.pages[5].show_if",
        'condition uses "email", which is not asked on an earlier page',
    ),
    (
        "routing uses a later answer",
        lambda d: page(d, "your-pet")["next"][0].update({"if": {"required": ["pet_kind"]}}),
        "$.pages[3].next[0].if",
        'condition uses "pet_kind", which is not asked on an earlier page',
    ),
    (
        "routing condition not JSON Schema",
        lambda d: page(d, "your-pet")["next"][0].update({"if": {"required": "has_pet"}}),
        "$.pages[3].next[0].if",
        "not a valid JSON Schema condition",
    ),
    (
        "routing to an unknown page",
        lambda d: page(d, "your-pet")["next"][0].update(goto="your-adress"),
        "$.pages[3].next[0].goto",
        'no page has the id "your-adress"',
    ),
    (
        "routing backward",
        lambda d: page(d, "your-pet")["next"][0].update(goto="about-you"),
        "$.pages[3].next[0].goto",
        'routing can only jump forward, and "about-you" is not after this page',
    ),
    (
        "routing to itself",
        lambda d: page(d, "your-pet")["next"][0].update(goto="your-pet"),
        "$.pages[3].next[0].goto",
        "routing can only jump forward",
    ),
    (
        "root-required property on a show_if page",
        lambda d: d["schema"]["required"].append("pet_colours"),
        "$.pages[5].questions[0]",
        '"pet_colours" is in the root "required" but its page is not always asked',
    ),
    (
        "root-required property on a page routing skips",
        lambda d: d["schema"]["required"].append("pet_count"),
        "$.pages[4].questions[1]",
        '"pet_count" is in the root "required" but its page is not always asked',
    ),
    # -- identity and messages -------------------------------------------------------------
    (
        "identity path not a field",
        lambda d: d["identity"].update(postcode="address.post_code"),
        "$.identity.postcode",
        '"address.post_code" is not a field of the schema',
    ),
    (
        "identity kind unknown",
        lambda d: d["identity"].update(passport="full_name"),
        "$.identity",
        "unknown key ('passport' was unexpected)",
    ),
    (
        "messages key not a field",
        lambda d: d["messages"].update(nickname={"required": "Enter your nickname"}),
        "$.messages.nickname",
        '"nickname" is not a field of the schema',
    ),
    (
        "messages nested key not a field",
        lambda d: d["messages"].update({"address.post_code": {"pattern": "Enter a real postcode"}}),
        "$.messages.address.post_code",
        '"address.post_code" is not a field of the schema',
    ),
]


@pytest.mark.parametrize(("break_it", "path", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_each_broken_rule_gives_a_problem_at_its_path(break_it: Callable[[Doc], Any], path: str, message: str) -> None:
    doc = sample_doc()
    break_it(doc)
    problems = check(doc)
    assert problems, "the broken definition was accepted"
    assert any(p.path == path and message in p.message for p in problems), problems


@pytest.mark.parametrize(("break_it", "path", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_each_problem_is_reported_once(break_it: Callable[[Doc], Any], path: str, message: str) -> None:
    doc = sample_doc()
    break_it(doc)
    rendered = [p.render("x.json") for p in check(doc)]
    assert len(rendered) == len(set(rendered)), rendered


def test_radios_without_enum_do_not_also_say_radios_take_no_options() -> None:
    doc = sample_doc()
    props(doc)["pet_kind"].pop("enum")
    assert check(doc) == [Problem("$.questions.pet_kind.widget", 'widget "radios" needs an "enum" on the property')]


def test_meta_schema_problems_are_reported_alone_and_in_document_order() -> None:
    doc = sample_doc()
    doc["questions"]["notes"]["widget"] = "slider"
    doc["pages"][0]["id"] = "Bad Id"
    doc["schema"]["properties"]["notes"].pop("maxLength")  # a deeper rule: not reported yet
    assert [p.path for p in check(doc)] == ["$.pages[0].id", "$.questions.notes.widget"]


def test_a_long_value_does_not_make_a_long_message() -> None:
    doc = sample_doc()
    doc["title"] = "x" * 100_000
    [problem] = check(doc)
    assert problem.path == "$.title"
    assert "2000 characters" in problem.message
    assert len(problem.message) < 300


def test_many_unknown_keys_make_one_short_message() -> None:
    doc = sample_doc() | {f"key{i}": i for i in range(5000)}
    [problem] = check(doc)
    assert problem.path == "$"
    assert problem.message.startswith("unknown key")
    assert len(problem.message) < 300


# -- files ----------------------------------------------------------------------------------


def test_file_name_must_match_the_id(tmp_path: Path) -> None:
    path = tmp_path / "pet-licence-v2.json"
    path.write_text(json.dumps(sample_doc()), encoding="utf-8")
    assert check_file(path) == [Problem("$.id", '"pet-licence" must match the file name "pet-licence-v2"')]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "civicforms/1",', "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "a definition must be a JSON object"),
        ('"just a string"', "a definition must be a JSON object"),
        ("null", "a definition must be a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested"),
        ('{"a": ' * 200 + "1" + "}" * 200, "nested"),
    ],
    ids=["truncated", "empty", "array", "string", "null", "deep array", "deep object"],
)
def test_unreadable_files_give_one_problem_at_the_root(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "pet-licence.json"
    path.write_text(content, encoding="utf-8")
    [problem] = check_file(path)
    assert problem.path == "$"
    assert message in problem.message


def test_invalid_json_says_where(tmp_path: Path) -> None:
    path = tmp_path / "pet-licence.json"
    path.write_text('{\n  "format": "civicforms/1",\n  "id": pet\n}\n', encoding="utf-8")
    [problem] = check_file(path)
    assert problem.message.startswith("not valid JSON")
    assert "line 3" in problem.message


def test_a_file_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "pet-licence.json"
    path.write_bytes(b'{"title": "caf\xe9"}')
    [problem] = check_file(path)
    assert problem.path == "$"
    assert "cannot read file" in problem.message


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "pet-licence.json"
    doc = sample_doc()
    doc["pages"] = [{"id": f"page-{i}", "title": "A page", "questions": ["notes"]} for i in range(80_000)]
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    [problem] = check_file(path)
    assert problem.path == "$"
    assert "too large" in problem.message


# -- privacy and contact ----------------------------------------------------------------------


def test_privacy_and_contact_are_optional_and_accepted_when_well_formed() -> None:
    doc = sample_doc() | {
        "privacy": {"url": "https://www.westbridge.gov.uk/privacy", "summary": ["We keep your answers safe."]},
        "contact": {
            "email": "pets@westbridge.gov.uk",
            "phone": "01632 960 000",
            "hours": "Monday to Friday, 9am to 5pm",
            "address": ["Town Hall", "Westbridge", "WB1 1AA"],
        },
    }
    assert check(doc) == []


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("privacy", {"url": "http://www.westbridge.gov.uk/privacy"}, "$.privacy.url"),
        ("privacy", {"url": "javascript:alert(1)"}, "$.privacy.url"),
        ("privacy", {"url": 'https://x.gov.uk/" onclick="alert(1)'}, "$.privacy.url"),
        ("privacy", {"summary": "one paragraph, not a list"}, "$.privacy.summary"),
        ("contact", {"email": "not an email"}, "$.contact.email"),
        ("contact", {"phone": "call us"}, "$.contact.phone"),
        ("contact", {"hours": ""}, "$.contact.hours"),
        ("contact", {"fax": "01632 960 000"}, "$.contact"),
    ],
)
def test_privacy_and_contact_refuse_bad_values(key: str, value: Any, path: str) -> None:
    problems = check(sample_doc() | {key: value})
    assert {p.path for p in problems} == {path}, problems

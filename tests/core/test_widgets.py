"""The widget registry, and the UK identifier question types: postcode, NHS and NI numbers."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from runtime.answers import display, parse_question, to_raw
from runtime.checker import check, meta_schema
from runtime.citizens import normalise
from runtime.definition import Definition
from runtime.rendering import question_view
from runtime.validation import compiled
from runtime.widgets import (
    WIDGETS,
    format_nhs_number,
    format_ni_number,
    is_nhs_number,
    is_ni_number,
    is_postcode,
    normalise_nhs_number,
    normalise_ni_number,
    normalise_postcode,
)
from tests.core.sample import complete_answers, sample_doc

DEFINITION = Definition(sample_doc())

# -- the registry ------------------------------------------------------------------------------


def test_the_meta_schema_lists_exactly_the_registered_widgets() -> None:
    enum = meta_schema()["$defs"]["question"]["properties"]["widget"]["enum"]
    assert enum == list(WIDGETS)


def test_the_palette_is_in_the_builder_s_order_and_words() -> None:
    assert [(w.palette_label, name) for name, w in WIDGETS.items()] == [
        ("Short text", "text"),
        ("Long text", "textarea"),
        ("Number", "number"),
        ("Date", "date"),
        ("Email address", "email"),
        ("Phone number", "tel"),
        ("UK postcode", "postcode"),
        ("UK address", "uk-address"),
        ("Yes or no", "yes-no"),
        ("Single choice", "radios"),
        ("Multiple choice", "checkboxes"),
        ("Select list", "select"),
        ("National Insurance number", "ni-number"),
        ("NHS number", "nhs-number"),
        ("Declaration", "declaration"),
        ("Add another", "add-another"),
        ("Time", "time"),
        ("Money", "money"),
        ("UK phone number", "uk-phone"),
        ("File upload", "file"),
    ]
    assert {n for n, w in WIDGETS.items() if w.takes_options} == {"radios", "checkboxes", "select"}


def _one_question_doc(widget: str) -> dict[str, Any]:
    doc = sample_doc()
    w = WIDGETS[widget]
    doc["schema"]["properties"]["fresh"] = w.new_property()
    doc["questions"]["fresh"] = w.new_question("What is it?")
    doc["pages"].append({"id": "fresh", "questions": ["fresh"]})
    return doc


@pytest.mark.parametrize("widget", list(WIDGETS))
def test_a_fresh_question_of_every_type_passes_the_checker(widget: str) -> None:
    doc = _one_question_doc(widget)
    assert check(doc) == []
    # ... and renders, and its property is new each time (the builder may change it).
    definition = Definition(doc)
    assert question_view(definition, "fresh", {}, {}, True)["params"]
    assert WIDGETS[widget].new_property() is not WIDGETS[widget].new_property()


@pytest.mark.parametrize("widget", ["text", "textarea", "email", "tel"])
def test_free_text_needs_a_max_length(widget: str) -> None:
    doc = _one_question_doc(widget)
    del doc["schema"]["properties"]["fresh"]["maxLength"]
    assert [p.message for p in check(doc)] == ['free text "fresh" needs a "maxLength"']


@pytest.mark.parametrize(
    ("widget", "fmt"), [("postcode", "uk-postcode"), ("nhs-number", "nhs-number"), ("ni-number", "ni-number")]
)
def test_identifier_widgets_need_their_format_and_no_max_length(widget: str, fmt: str) -> None:
    doc = _one_question_doc(widget)
    assert "maxLength" not in doc["schema"]["properties"]["fresh"]  # the format bounds the length
    doc["schema"]["properties"]["fresh"] = {"type": "string", "maxLength": 20}
    problems = check(doc)
    assert [(p.path, p.message) for p in problems] == [
        ("$.questions.fresh.widget", f'widget "{widget}" needs "format": "{fmt}" on the property')
    ]


def test_identifier_widgets_need_a_string() -> None:
    doc = _one_question_doc("nhs-number")
    doc["schema"]["properties"]["fresh"] = {"type": "integer"}
    assert [p.message for p in check(doc)] == [
        'widget "nhs-number" needs a property of type string, but "fresh" has integer'
    ]


def test_identifier_widgets_take_no_options() -> None:
    doc = _one_question_doc("ni-number")
    doc["questions"]["fresh"]["options"] = {"a": {"label": "A"}}
    assert [p.message for p in check(doc)] == ['widget "ni-number" takes no options']


def test_an_address_postcode_with_the_postcode_format_needs_no_max_length() -> None:
    doc = sample_doc()
    doc["schema"]["$defs"]["uk_address"]["properties"]["postcode"] = {"type": "string", "format": "uk-postcode"}
    assert check(doc) == []


# -- normalisers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" SW1A   1aa ", "SW1A 1AA"),
        ("wb12ab", "WB1 2AB"),
        ("M1 1AE", "M1 1AE"),
        ("not a postcode", "not a postcode"),
    ],
)
def test_postcodes_are_normalised(typed: str, stored: str) -> None:
    assert normalise_postcode(typed) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("485 777 3456", "4857773456"),
        ("485-777-3456", "4857773456"),
        (" 4857773456 ", "4857773456"),
        ("485 777", "485 777"),
    ],
)
def test_nhs_numbers_are_normalised(typed: str, stored: str) -> None:
    assert normalise_nhs_number(typed) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("qq 12 34 56 c", "QQ123456C"), ("AB-12-34-56-D", "AB123456D"), ("ab123456", "AB123456"), ("12345", "12345")],
)
def test_ni_numbers_are_normalised(typed: str, stored: str) -> None:
    assert normalise_ni_number(typed) == stored


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("9434765919", True),
        ("4010232137", True),
        ("4857773456", False),  # the NHS's own example fails its check digit, on purpose
        ("9434765918", False),  # one digit wrong
        ("1000000010", False),  # the check digit would be 10: never issued
        ("943476591", False),
        ("94347659190", False),
        ("943 476 5919", False),  # validity is of the stored, normalised form
    ],
)
def test_nhs_numbers_carry_a_modulus_11_check_digit(value: str, valid: bool) -> None:
    assert is_nhs_number(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("AB123456C", True),
        ("JT123456A", True),
        ("QQ123456C", False),  # Q is never used: GOV.UK's example is not a real number
        ("DA123456A", False),  # D never first
        ("AO123456A", False),  # O never second
        ("GB123456A", False),  # never allocated
        ("AB123456E", False),  # suffix A to D only
        ("AB123456", False),  # the suffix is part of the number
        ("ab123456c", False),
    ],
)
def test_ni_numbers_follow_hmrc_s_rules(value: str, valid: bool) -> None:
    assert is_ni_number(value) is valid


def test_postcode_validity_is_of_the_stored_form() -> None:
    assert is_postcode("SW1A 1AA")
    assert not is_postcode("SW1A1AA")
    assert not is_postcode("sw1a 1aa")


def test_display_formats() -> None:
    assert format_nhs_number("9434765919") == "943 476 5919"
    assert format_ni_number("AB123456C") == "AB 12 34 56 C"
    assert format_nhs_number("123") == "123"  # anything else as it is


def test_citizen_matching_uses_the_same_normalisers() -> None:
    assert normalise("nhs_number", "943 476 5919") == normalise_nhs_number("943 476 5919")
    assert normalise("ni_number", "ab 12 34 56 c") == normalise_ni_number("ab 12 34 56 c")
    assert normalise("postcode", "sw1a1aa") == normalise_postcode("sw1a1aa").replace(" ", "")


# -- answers through the definition ------------------------------------------------------------


def parse(name: str, typed: str) -> Any:
    value, _raw = parse_question(DEFINITION, name, MultiDict({name: typed}))
    return value


def test_answers_are_normalised_when_parsed_and_formatted_when_shown() -> None:
    assert parse("work_postcode", "wb12ab") == "WB1 2AB"
    assert parse("nhs_number", "943 476 5919") == "9434765919"
    assert parse("ni_number", "ab 12 34 56 c") == "AB123456C"
    assert display(DEFINITION, "nhs_number", "9434765919") == ["943 476 5919"]
    assert display(DEFINITION, "ni_number", "AB123456C") == ["AB 12 34 56 C"]
    assert display(DEFINITION, "work_postcode", "WB1 2AB") == ["WB1 2AB"]
    assert to_raw(DEFINITION, "nhs_number", "9434765919") == {"nhs_number": "943 476 5919"}
    assert parse("nhs_number", to_raw(DEFINITION, "nhs_number", "9434765919")["nhs_number"]) == "9434765919"


def test_hostile_input_stays_text_and_fails_validation() -> None:
    for name in ("work_postcode", "nhs_number", "ni_number"):
        for typed in ("<script>alert(1)</script>", "x" * 10_000, "12\x0034"):
            value = parse(name, typed)
            assert isinstance(value, str)
            errors = compiled(DEFINITION).validate(complete_answers() | {name: value})
            assert list(errors) == [name]


@pytest.mark.parametrize(
    ("name", "typed", "message"),
    [
        ("work_postcode", "WB1", "Enter a real postcode"),
        ("work_postcode", "12345", "Enter a real postcode"),
        ("nhs_number", "485 777 345", "NHS number must be 10 digits, like 485 777 3456"),
        ("nhs_number", "485 777 3456", "Enter a real NHS number"),
        ("ni_number", "12345", "Enter a National Insurance number in the correct format"),
        ("ni_number", "QQ 12 34 56 C", "Enter a real National Insurance number"),
        ("ni_number", "AB 12 34 56", "Enter a National Insurance number in the correct format"),
    ],
)
def test_gov_uk_error_messages(name: str, typed: str, message: str) -> None:
    errors = compiled(DEFINITION).validate(complete_answers() | {name: parse(name, typed)})
    assert errors == {name: message}


def test_valid_identifiers_pass() -> None:
    answers = complete_answers() | {"work_postcode": "WB1 2AB", "nhs_number": "9434765919", "ni_number": "AB123456C"}
    assert compiled(DEFINITION).validate(answers) == {}


def test_required_identifiers_use_the_error_name() -> None:
    doc = copy.deepcopy(sample_doc())
    doc["schema"]["required"].append("nhs_number")
    assert compiled(Definition(doc)).validate(complete_answers())["nhs_number"] == "Enter NHS number"


def test_identifier_inputs_are_narrow_and_not_spellchecked() -> None:
    for name in ("work_postcode", "nhs_number", "ni_number"):
        params = question_view(DEFINITION, name, {}, {}, True)["params"]
        assert params["classes"] == "govuk-input--width-10"
        assert params["spellcheck"] is False
    assert question_view(DEFINITION, "nhs_number", {}, {}, True)["params"]["inputmode"] == "numeric"
    assert question_view(DEFINITION, "work_postcode", {}, {}, True)["params"]["autocomplete"] == "postal-code"

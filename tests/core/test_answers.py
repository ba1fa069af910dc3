"""Posted form fields to typed answers, and answers back to form fields and display lines."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from runtime.answers import display, normalise_postcode, parse_page, parse_question, to_raw
from runtime.definition import Definition
from runtime.validation import compiled
from tests.core.sample import ADDRESS, complete_answers, sample_doc

DEFINITION = Definition(sample_doc())


def parse(name: str, data: dict[str, Any] | list[tuple[str, str]]) -> Any:
    value, _raw = parse_question(DEFINITION, name, MultiDict(data))
    return value


def date_post(day: str, month: str, year: str) -> dict[str, str]:
    return {"date_of_birth-day": day, "date_of_birth-month": month, "date_of_birth-year": year}


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("3", "7", "1950"), "1950-07-03"),
        (("03", "07", "1950"), "1950-07-03"),
        ((" 3 ", " 7 ", " 1950 "), "1950-07-03"),
        (("29", "2", "2024"), "2024-02-29"),
    ],
)
def test_a_real_date_becomes_iso(parts: tuple[str, str, str], expected: str) -> None:
    assert parse("date_of_birth", date_post(*parts)) == expected


@pytest.mark.parametrize(
    "parts",
    [
        ("", "7", "1950"),  # partial
        ("3", "", ""),  # partial
        ("31", "2", "2020"),  # impossible
        ("29", "2", "2023"),  # not a leap year
        ("3", "13", "1950"),  # no 13th month
        ("3", "7", "50"),  # 2-digit year
        ("3", "7", "19500"),  # 5-digit year
        ("three", "July", "1950"),  # not numbers
        ("3.5", "7", "1950"),
    ],
)
def test_a_date_that_is_not_real_fails_validation_as_not_real(parts: tuple[str, str, str]) -> None:
    value = parse("date_of_birth", date_post(*parts))
    assert isinstance(value, str)
    errors = compiled(DEFINITION).validate(complete_answers() | {"date_of_birth": value})
    assert errors == {"date_of_birth": "Date of birth must be a real date"}


def test_a_date_with_all_boxes_empty_is_unanswered() -> None:
    value, raw = parse_question(DEFINITION, "date_of_birth", MultiDict(date_post(" ", "", "")))
    assert value is None
    assert raw == date_post("", "", "")


def test_date_raw_values_are_kept_as_typed_for_the_page() -> None:
    _value, raw = parse_question(DEFINITION, "date_of_birth", MultiDict(date_post("31", "2", "2020")))
    assert raw == date_post("31", "2", "2020")


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("3", 3),
        (" 3 ", 3),
        ("1,200", 1200),
        ("1 200", 1200),
        ("£5", 5),
        ("-2", -2),
        ("12.0", 12),
        ("12.5", 12.5),
    ],
)
def test_numbers(typed: str, expected: float) -> None:
    value = parse("pet_count", {"pet_count": typed})
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "typed",
    ["abc", "nan", "NaN", "inf", "-inf", "1e3", "0x10", "1_000", "--1", "1.2.3", "1" * 5000, "9" * 400 + ".5"],
)
def test_things_that_are_not_numbers_stay_text_and_fail_validation(typed: str) -> None:
    value = parse("pet_count", {"pet_count": typed})
    assert value == typed
    errors = compiled(DEFINITION).validate(complete_answers() | {"pet_count": value})
    assert errors == {"pet_count": "The number of pets must be a whole number"}


def test_a_decimal_for_a_whole_number_question_fails_validation() -> None:
    value = parse("pet_count", {"pet_count": "12.5"})
    errors = compiled(DEFINITION).validate(complete_answers() | {"pet_count": value})
    assert errors == {"pet_count": "The number of pets must be a whole number"}


def test_an_empty_number_is_unanswered() -> None:
    assert parse("pet_count", {"pet_count": "  "}) is None


# -- yes/no, choices ------------------------------------------------------------------------------


@pytest.mark.parametrize(("posted", "expected"), [("yes", True), ("no", False), ("Yes", "Yes"), ("true", "true")])
def test_yes_no(posted: str, expected: Any) -> None:
    assert parse("has_pet", {"has_pet": posted}) == expected


def test_a_yes_no_value_that_is_not_yes_or_no_fails_validation() -> None:
    value = parse("has_pet", {"has_pet": "maybe"})
    assert compiled(DEFINITION).validate(complete_answers() | {"has_pet": value}) == {"has_pet": "Select has a pet"}


def test_no_yes_no_answer_is_unanswered() -> None:
    assert parse("has_pet", {}) is None


def test_checkboxes_are_deduplicated_in_the_order_posted() -> None:
    posted = [("pet_colours", "white"), ("pet_colours", "black"), ("pet_colours", "white"), ("pet_colours", "")]
    assert parse("pet_colours", posted) == ["white", "black"]


def test_no_checkbox_ticked_is_unanswered() -> None:
    value, raw = parse_question(DEFINITION, "pet_colours", MultiDict([]))
    assert value is None
    assert raw == {"pet_colours": []}


def test_radios_keep_the_value() -> None:
    assert parse("pet_kind", {"pet_kind": "dog"}) == "dog"


# -- text ----------------------------------------------------------------------------------------


def test_text_collapses_whitespace() -> None:
    assert parse("full_name", {"full_name": "  Jane \t  Mary\n Smith  "}) == "Jane Mary Smith"


def test_control_characters_are_stripped() -> None:
    assert parse("full_name", {"full_name": "Jane\x00 Sm\x07ith\x1b[31m\x7f\x9b"}) == "Jane Smith[31m"


def test_textarea_keeps_newlines_and_unifies_line_endings() -> None:
    posted = "  First line\r\nSecond  line\rThird\x00 line\n\n"
    assert parse("notes", {"notes": posted}) == "First line\nSecond  line\nThird line"


def test_whitespace_only_text_is_unanswered() -> None:
    assert parse("full_name", {"full_name": " \t\x00 "}) is None


def test_only_the_first_value_of_a_repeated_text_field_is_read() -> None:
    assert parse("full_name", [("full_name", "Jane"), ("full_name", "Mallory")]) == "Jane"


# -- addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" sw1a  1aa ", "SW1A 1AA"),
        ("WB1 2AB", "WB1 2AB"),
        ("m11ae", "M1 1AE"),
        ("not a postcode", "not a postcode"),
    ],
)
def test_postcode_normalisation(typed: str, expected: str) -> None:
    assert normalise_postcode(typed) == expected


def test_an_address_keeps_only_the_parts_given() -> None:
    posted = {"address.line1": " 12 Mill Lane ", "address.line2": "", "address.town": "Westbridge"}
    posted["address.postcode"] = "wb12ab"
    value, raw = parse_question(DEFINITION, "address", MultiDict(posted))
    assert value == {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"}
    assert raw["address.postcode"] == "wb12ab"  # shown back as typed


def test_an_empty_address_is_unanswered() -> None:
    assert parse("address", {"address.line1": " ", "address.town": ""}) is None


# -- a page ---------------------------------------------------------------------------------------


def test_parse_page_reads_only_the_page_s_questions() -> None:
    posted = MultiDict(
        {
            "full_name": "Jane Smith",
            **date_post("3", "7", "1950"),
            "email": "mallory@example.com",  # a question on another page
            "is_admin": "yes",  # no question at all
            "csrf_token": "abc",
        }
    )
    answers, raw = parse_page(DEFINITION, ["full_name", "date_of_birth"], posted)
    assert answers == {"full_name": "Jane Smith", "date_of_birth": "1950-07-03"}
    assert set(raw) == {"full_name", "date_of_birth-day", "date_of_birth-month", "date_of_birth-year"}


def test_parse_page_leaves_unanswered_questions_out() -> None:
    answers, _raw = parse_page(DEFINITION, ["email", "phone", "notes"], MultiDict({"email": "jane@example.com"}))
    assert answers == {"email": "jane@example.com"}


# -- back to the page, and to check answers ---------------------------------------------------------


def _post(raw: dict[str, Any]) -> MultiDict[str, str]:
    form: MultiDict[str, str] = MultiDict()
    for key, value in raw.items():
        for one in value if isinstance(value, list) else [value]:
            form.add(key, one)
    return form


ROUND_TRIP = complete_answers() | {"phone": "01632 960 001", "notes": "Line one\nLine two", "pet_count": 1200}


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_to_raw_then_parse_gives_the_answer_back(name: str) -> None:
    value = ROUND_TRIP[name]
    assert parse_question(DEFINITION, name, _post(to_raw(DEFINITION, name, value)))[0] == value


def test_to_raw_of_false_shows_no_ticked() -> None:
    assert to_raw(DEFINITION, "has_pet", False) == {"has_pet": "no"}


def test_to_raw_of_nothing_is_empty() -> None:
    assert to_raw(DEFINITION, "full_name", None) == {}


def test_to_raw_of_a_date_that_is_not_real_shows_nothing() -> None:
    assert to_raw(DEFINITION, "date_of_birth", "2020-2-31") == {}


@pytest.mark.parametrize(
    ("name", "value", "lines"),
    [
        ("full_name", "Jane Smith", ["Jane Smith"]),
        ("date_of_birth", "1950-07-03", ["3 July 1950"]),
        ("has_pet", True, ["Yes"]),
        ("has_pet", False, ["No"]),
        ("pet_kind", "other", ["Something else"]),
        ("pet_count", 1200, ["1,200 pets"]),
        ("pet_colours", ["ginger", "white"], ["Ginger", "White"]),
        ("address", ADDRESS | {"county": "Westshire"}, ["12 Mill Lane", "Westbridge", "Westshire", "WB1 2AB"]),
        ("notes", "Line one\nLine two", ["Line one", "Line two"]),
        ("phone", None, []),
    ],
)
def test_display(name: str, value: Any, lines: list[str]) -> None:
    assert display(DEFINITION, name, value) == lines


def test_display_uses_the_yes_no_labels_and_prefix() -> None:
    doc = sample_doc()
    doc["questions"]["has_pet"] |= {"yes_label": "Yes, I have a pet", "no_label": "No, not yet"}
    doc["questions"]["pet_count"] |= {"prefix": "£"}
    doc["questions"]["pet_count"].pop("suffix")
    definition = Definition(doc)
    assert display(definition, "has_pet", True) == ["Yes, I have a pet"]
    assert display(definition, "has_pet", False) == ["No, not yet"]
    assert display(definition, "pet_count", 5) == ["£5"]

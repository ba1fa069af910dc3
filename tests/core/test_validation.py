"""Validation errors become one GOV.UK-style message per field, on the field the citizen fixes."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import chain
from typing import Any

import pytest

from runtime.definition import Definition
from runtime.validation import compiled, error_messages
from tests.core.sample import ADDRESS, complete_answers, sample_doc

Doc = dict[str, Any]


def errors_for(answers: dict[str, Any], doc: Doc | None = None) -> dict[str, str]:
    return compiled(Definition(doc or sample_doc())).validate(answers)


def with_change(**changes: Any) -> dict[str, Any]:
    return complete_answers() | changes


def test_complete_answers_are_valid() -> None:
    assert errors_for(complete_answers()) == {}


# -- required -----------------------------------------------------------------------------


def test_required_lands_on_each_missing_top_level_field() -> None:
    answers = complete_answers()
    del answers["full_name"], answers["email"]
    assert errors_for(answers) == {"full_name": "Enter your full name", "email": "Enter your email address"}


def test_required_inside_an_address_lands_on_the_missing_part() -> None:
    # jsonschema reports it on "address"; the citizen has to fix the postcode box.
    errors = errors_for(with_change(address={"line1": "12 Mill Lane", "town": "Westbridge"}))
    assert errors == {"address.postcode": "Enter postcode"}


def test_a_wholly_missing_address_is_reported_on_each_required_part() -> None:
    answers = complete_answers()
    del answers["address"]
    assert errors_for(answers) == {
        "address.line1": "Enter building and street",
        "address.town": "Enter town or city",
        "address.postcode": "Enter postcode",
    }


def test_required_in_a_then_block_lands_on_the_field() -> None:
    answers = complete_answers()
    del answers["pet_kind"]
    assert errors_for(answers) == {"pet_kind": "Select the kind of pet"}


def test_a_then_block_that_does_not_apply_requires_nothing() -> None:
    answers = complete_answers() | {"has_pet": False}
    for name in ("pet_kind", "pet_count", "pet_colours"):
        del answers[name]
    assert errors_for(answers) == {}


def test_dependent_required_lands_on_the_field() -> None:
    doc = sample_doc()
    doc["schema"]["dependentRequired"] = {"phone": ["notes"]}
    assert errors_for(with_change(phone="01632 960 001"), doc) == {"notes": "Enter notes"}


def test_dependent_required_only_for_the_triggers_answered() -> None:
    doc = sample_doc()
    doc["schema"]["dependentRequired"] = {"phone": ["notes"], "pet_count": ["pet_colours"]}
    answers = with_change(phone="01632 960 001")
    for name in ("pet_count", "pet_colours"):
        answers.pop(name, None)
    assert "pet_colours" not in errors_for(answers, doc)
    assert errors_for(answers, doc)["notes"] == "Enter notes"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("full_name", "Enter your full name"),  # text
        ("email", "Enter your email address"),  # email
        ("date_of_birth", "Enter date of birth"),  # date: the short label in lower case
        ("lives_in_area", "Select lives in Westbridge"),  # yes-no
        ("pet_kind", "Select the kind of pet"),  # radios
        ("pet_count", "Enter the number of pets"),  # number
        ("pet_colours", "Select the colours of your cat"),  # checkboxes
    ],
)
def test_default_required_wording_depends_on_the_widget(name: str, message: str) -> None:
    doc = sample_doc()
    doc["schema"]["required"] = [name]
    doc["schema"].pop("allOf")
    answers = complete_answers()
    del answers[name]
    assert errors_for(answers, doc) == {name: message}


# -- the definition's own messages ---------------------------------------------------------


def test_definition_messages_override_the_defaults() -> None:
    doc = sample_doc()
    doc["messages"]["full_name"] = {"required": "Enter your name as it appears on your tenancy"}
    doc["messages"]["address.town"] = {"required": "Enter the town"}
    answers = complete_answers() | {"address": {"line1": "1 High St", "postcode": "WB1 2AB"}}
    del answers["full_name"]
    assert errors_for(answers, doc) == {
        "full_name": "Enter your name as it appears on your tenancy",
        "address.town": "Enter the town",
    }


def test_a_nested_message_overrides_the_default_for_that_part_only() -> None:
    errors = errors_for(with_change(address=ADDRESS | {"postcode": "nowhere"}))
    assert errors == {"address.postcode": "Enter a real postcode, like SW1A 1AA"}


def test_a_required_message_is_used_when_no_checkbox_is_ticked() -> None:
    doc = sample_doc()
    doc["messages"]["pet_colours"] = {"required": "Select the colour of your cat"}
    assert errors_for(with_change(pet_colours=[]), doc) == {"pet_colours": "Select the colour of your cat"}


# -- GOV.UK default wording per keyword ------------------------------------------------------

_yesterday = date.today() - timedelta(days=1)
_tomorrow = date.today() + timedelta(days=1)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"pet_count": "abc"}, "pet_count", "The number of pets must be a whole number"),
        ({"pet_count": 1.5}, "pet_count", "The number of pets must be a whole number"),
        # Both limits, saying the ends are allowed (issue 17: "from 1 to 500").
        ({"pet_count": 0}, "pet_count", "The number of pets must be from 1 to 5"),
        ({"pet_count": 6}, "pet_count", "The number of pets must be from 1 to 5"),
        ({"email": "jane@example"}, "email", "Enter your email address in the correct format, like name@example.com"),
        (
            {"email": "jane example.com"},
            "email",
            "Enter your email address in the correct format, like name@example.com",
        ),
        ({"date_of_birth": "2023-02-29"}, "date_of_birth", "Date of birth must be a real date"),
        ({"date_of_birth": "1950-7-"}, "date_of_birth", "Date of birth must be a real date"),
        ({"phone": "call me"}, "phone", "Enter phone number in the correct format"),
        ({"full_name": "J" * 101}, "full_name", "Your full name must be 100 characters or less"),
        ({"notes": "x" * 501}, "notes", "Notes must be 500 characters or less"),
        ({"pet_colours": []}, "pet_colours", "Select the colours of your cat"),
        ({"pet_colours": ["purple"]}, "pet_colours", "Select the colours of your cat"),
        ({"pet_colours": [3]}, "pet_colours", "Select the colours of your cat"),
        ({"pet_kind": "fish"}, "pet_kind", "Select the kind of pet"),
        ({"has_pet": "maybe"}, "has_pet", "Select has a pet"),
        (
            {"address": ADDRESS | {"line1": "x" * 101}},
            "address.line1",
            "Building and street must be 100 characters or less",
        ),
    ],
)
def test_default_messages(change: dict[str, Any], field: str, message: str) -> None:
    assert errors_for(with_change(**change)) == {field: message}


def test_a_number_widget_on_a_decimal_asks_for_a_number() -> None:
    doc = sample_doc()
    doc["schema"]["properties"]["pet_count"]["type"] = "number"
    assert errors_for(with_change(pet_count="lots"), doc) == {"pet_count": "The number of pets must be a number"}


def test_min_items_above_one_asks_for_that_many() -> None:
    doc = sample_doc()
    doc["schema"]["properties"]["pet_colours"]["minItems"] = 2
    assert errors_for(with_change(pet_colours=["black"]), doc) == {
        "pet_colours": "Select at least 2 options for the colours of your cat"
    }


def _dates(before: str | None = None, after: str | None = None) -> Doc:
    doc = sample_doc()
    dob = {"type": "string", "format": "date"}
    if before:
        dob["dateBefore"] = before
    if after:
        dob["dateAfter"] = after
    doc["schema"]["properties"]["date_of_birth"] = dob
    doc["messages"].pop("date_of_birth")
    return doc


@pytest.mark.parametrize(
    ("doc_args", "answer", "message"),
    [
        ({"before": "today"}, date.today().isoformat(), "Date of birth must be in the past"),
        ({"before": "today"}, _tomorrow.isoformat(), "Date of birth must be in the past"),
        ({"after": "today"}, date.today().isoformat(), "Date of birth must be in the future"),
        ({"after": "today"}, _yesterday.isoformat(), "Date of birth must be in the future"),
        ({"before": "2000-01-01"}, "2000-01-01", "Date of birth must be before 1 January 2000"),
        ({"after": "1900-12-31"}, "1900-06-15", "Date of birth must be after 31 December 1900"),
    ],
)
def test_date_limits(doc_args: dict[str, str], answer: str, message: str) -> None:
    assert errors_for(with_change(date_of_birth=answer), _dates(**doc_args)) == {"date_of_birth": message}


@pytest.mark.parametrize(
    ("doc_args", "answer"),
    [
        ({"before": "today"}, _yesterday.isoformat()),
        ({"after": "today"}, _tomorrow.isoformat()),
        ({"before": "2000-01-01"}, "1999-12-31"),
        ({"after": "1900-12-31", "before": "2000-01-01"}, "1950-01-01"),
    ],
)
def test_dates_inside_their_limits_are_valid(doc_args: dict[str, str], answer: str) -> None:
    assert errors_for(with_change(date_of_birth=answer), _dates(**doc_args)) == {}


def test_a_date_limit_message_from_the_definition_wins() -> None:
    assert errors_for(with_change(date_of_birth=_tomorrow.isoformat())) == {
        "date_of_birth": "Date of birth must be in the past"
    }
    doc = sample_doc()
    doc["messages"]["date_of_birth"]["dateBefore"] = "Your date of birth must be before today"
    assert errors_for(with_change(date_of_birth=_tomorrow.isoformat()), doc) == {
        "date_of_birth": "Your date of birth must be before today"
    }


def test_an_impossible_date_is_not_also_out_of_range() -> None:
    # "format" reports it; the date keywords stay quiet instead of crashing on it.
    assert errors_for(with_change(date_of_birth="2999-13-45")) == {"date_of_birth": "Date of birth must be a real date"}


# -- order and one message per field ----------------------------------------------------------


def test_errors_follow_the_order_of_the_pages_not_the_schema() -> None:
    doc = sample_doc()
    schema = doc["schema"]
    schema["properties"] = dict(reversed(schema["properties"].items()))
    schema["required"] = list(reversed(schema["required"]))
    errors = errors_for({"address": {"postcode": "WB1 2AB"}, "has_pet": True, "pet_count": 0}, doc)
    assert list(errors) == [
        "lives_in_area",
        "full_name",
        "date_of_birth",
        "pet_kind",
        "pet_count",
        "address.line1",
        "address.town",
        "email",
    ]


def test_one_message_per_field_and_format_beats_length() -> None:
    errors = errors_for(with_change(email="x" * 300))
    assert errors == {"email": "Enter your email address in the correct format, like name@example.com"}


def test_required_beats_any_other_message_for_the_same_field() -> None:
    definition = Definition(sample_doc())
    validator = compiled(definition).validator
    too_long = validator.iter_errors(with_change(full_name="x" * 200))
    missing = validator.iter_errors({k: v for k, v in complete_answers().items() if k != "full_name"})
    # Whatever order jsonschema reports them in, "required" wins.
    assert error_messages(definition, chain(too_long, missing)) == {"full_name": "Enter your full name"}
    too_long = validator.iter_errors(with_change(full_name="x" * 200))
    missing = validator.iter_errors({k: v for k, v in complete_answers().items() if k != "full_name"})
    assert error_messages(definition, chain(missing, too_long)) == {"full_name": "Enter your full name"}


def test_validators_never_fetch_a_remote_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a definition that slipped past the checker cannot make the server fetch a URL."""
    import urllib.request

    from runtime.definition import Definition
    from runtime.validation import CompiledService, UnsafeDefinition

    fetched: list[object] = []

    def no_network(*args: object, **kwargs: object) -> None:
        fetched.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    doc = sample_doc()
    doc["schema"]["properties"]["notes"] = {"$ref": "https://example.com/notes.json"}
    # Refused when compiled (the cost estimate cannot follow it), before any validation.
    with pytest.raises(UnsafeDefinition, match="only references inside the file are allowed"):
        CompiledService(Definition(doc)).validate({"notes": "hello"})
    assert fetched == []

"""Citizen identifiers: normalised so that the same person matches across services."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.citizens import COMPOSITE_KIND, identifiers, match_order, normalise


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("email", " Jane.Smith@Example.COM ", "jane.smith@example.com"),
        ("email", "no at sign", None),
        ("email", "   ", None),
        ("nhs_number", "943 476 5919", "9434765919"),
        ("nhs_number", "943-476-5919", "9434765919"),
        ("nhs_number", "12345", None),
        ("nhs_number", "94347659190", None),
        ("ni_number", "qq 12 34 56 c", "QQ123456C"),
        ("ni_number", "QQ123456C", "QQ123456C"),
        ("ni_number", "QQ 123456", "QQ123456"),
        ("ni_number", "Q1234567C", None),
        ("ni_number", "QQ123456E", None),
        ("postcode", " wb1  2ab ", "WB12AB"),
        ("postcode", "WB12AB", "WB12AB"),
        ("postcode", "  ", None),
        ("phone", "01632 960 001", "01632960001"),
        ("phone", "+44 1632 960001", "01632960001"),
        ("phone", "(01632) 960-001", "01632960001"),
        ("date_of_birth", "1950-07-03", "1950-07-03"),
        ("date_of_birth", "3/7/1950", None),
        ("full_name", "  Jane   SMITH ", "jane smith"),
        ("full_name", "José Álvarez", "jose alvarez"),
        ("full_name", "Zoë  Brontë", "zoe bronte"),
        ("full_name", "Jane\u00a0Smith", "jane smith"),
        ("full_name", "Ann-Marie O'Neill", "ann-marie o'neill"),
        ("full_name", "Ann\u2011Marie O\u2019Neill", "ann-marie o'neill"),  # as a phone types them
        ("full_name", "Łukasz Øster", "lukasz oster"),
        ("full_name", "Jürgen Groß", "jurgen gross"),
        ("full_name", "Иван Петров", "иван петров"),
        ("full_name", "Dr. Jane Smith, PhD", "dr jane smith phd"),
        ("full_name", "123", None),
    ],
)
def test_normalise(kind: str, value: str, expected: str | None) -> None:
    assert normalise(kind, value) == expected


@pytest.mark.parametrize("value", [None, 5, ["a@b.c"], {"a": 1}])
def test_normalise_ignores_values_that_are_not_text(value: Any) -> None:
    assert normalise("email", value) is None


def test_the_same_person_typed_differently_gives_the_same_identifiers() -> None:
    identity = {"full_name": "name", "date_of_birth": "dob", "email": "email", "postcode": "address.postcode"}
    one = {"name": "José Álvarez", "dob": "1980-03-27", "email": "Jose@Example.com", "address": {"postcode": "WB1 2AB"}}
    two = {
        "name": "jose  alvarez",
        "dob": "1980-03-27",
        "email": " jose@example.COM",
        "address": {"postcode": "wb12ab"},
    }
    assert identifiers(identity, one) == identifiers(identity, two)


def test_identifiers_read_nested_paths_and_build_the_composite_key() -> None:
    identity = {"full_name": "full_name", "date_of_birth": "date_of_birth", "postcode": "address.postcode"}
    answers = {"full_name": "Jane Smith", "date_of_birth": "1950-07-03", "address": {"postcode": "wb1 2ab"}}
    assert identifiers(identity, answers) == {
        "full_name": "jane smith",
        "date_of_birth": "1950-07-03",
        "postcode": "WB12AB",
        COMPOSITE_KIND: "jane smith|1950-07-03|WB12AB",
    }


def test_no_composite_key_without_all_three_parts() -> None:
    identity = {"full_name": "full_name", "date_of_birth": "date_of_birth", "postcode": "address.postcode"}
    found = identifiers(identity, {"full_name": "Jane Smith", "date_of_birth": "1950-07-03"})
    assert found == {"full_name": "jane smith", "date_of_birth": "1950-07-03"}


def test_identifiers_skip_missing_and_malformed_answers() -> None:
    identity = {"email": "email", "nhs_number": "nhs", "postcode": "address.postcode"}
    assert identifiers(identity, {"email": "not an email", "nhs": "123", "address": "not an object"}) == {}


def test_match_order_is_strongest_first_and_leaves_weak_identifiers_out() -> None:
    found = {
        "phone": "01632960001",
        COMPOSITE_KIND: "jane smith|1950-07-03|WB12AB",
        "email": "jane@example.com",
        "full_name": "jane smith",
        "ni_number": "QQ123456C",
        "postcode": "WB12AB",
        "nhs_number": "9434765919",
    }
    assert match_order(found) == [
        ("nhs_number", "9434765919"),
        ("ni_number", "QQ123456C"),
        ("email", "jane@example.com"),
        (COMPOSITE_KIND, "jane smith|1950-07-03|WB12AB"),
    ]


def test_match_order_of_nothing_is_empty() -> None:
    assert match_order({"full_name": "jane smith", "phone": "01632960001"}) == []

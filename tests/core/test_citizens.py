"""Citizen identifiers normalised so that the same person matches across services, and the
deterministic tier's decision (runtime/citizens.py)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import citizens
from runtime.citizens import CONFLICT, MAYBE, SAME, decide, identifiers, lookup_keys, normalise


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
        ("nhs_number", "9" * 200, None),  # absurd: never reaches matching
        ("phone", "01632 960 001", "+441632960001"),
        ("phone", "+44 1632 960001", "+441632960001"),
        ("phone", "(01632) 960-001", "+441632960001"),
        ("phone", "+33 1 23 45 67 89", "+33123456789"),
        ("phone", "12", None),
        ("phone", "1" * 200, None),
        ("date_of_birth", "1950-07-03", "1950-07-03"),
        ("date_of_birth", "1890-01-01", "1890-01-01"),
        ("date_of_birth", "3/7/1950", None),
        ("date_of_birth", "2090-01-01", None),  # in the future
        ("date_of_birth", "1889-12-31", None),  # before 1890
        ("date_of_birth", "1950-02-30", None),
        ("full_name", "  Jane   SMITH ", "jane smith"),
        ("full_name", "José Álvarez", "jose alvarez"),
        ("full_name", "Zoë  Brontë", "zoe bronte"),
        ("full_name", "Jane\u00a0Smith", "jane smith"),
        ("full_name", "Ann-Marie O'Neill", "annmarie oneill"),
        ("full_name", "Ann\u2011Marie O\u2019Neill", "annmarie oneill"),  # as a phone types them
        ("full_name", "Łukasz Øster", "łukasz øster"),  # letters NFKD does not split stay (migration 0004)
        ("full_name", "Jürgen Groß", "jurgen gross"),
        ("full_name", "Иван Петров", "иван петров"),
        ("full_name", "Dr. Jane Smith, PhD", "dr jane smith phd"),
        ("full_name", "  ,.  ", None),
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


def test_identifiers_read_nested_paths_and_add_the_surname_first_key() -> None:
    identity = {"full_name": "full_name", "date_of_birth": "date_of_birth", "postcode": "address.postcode"}
    answers = {"full_name": "Jane Ann Smith", "date_of_birth": "1950-07-03", "address": {"postcode": "wb1 2ab"}}
    assert identifiers(identity, answers) == {
        "full_name": "jane ann smith",
        "date_of_birth": "1950-07-03",
        "postcode": "WB12AB",
        "name_key": "smith jane ann",
    }


def test_identifiers_skip_missing_malformed_and_absurd_answers() -> None:
    identity = {"email": "email", "nhs_number": "nhs", "postcode": "address.postcode", "date_of_birth": "dob"}
    answers = {"email": "not an email", "nhs": "9" * 200, "address": "not an object", "dob": "2090-01-01"}
    assert identifiers(identity, answers) == {}


def test_lookup_keys_are_strong_identifiers_contacts_name_and_both_readings_of_the_date() -> None:
    found = {
        "phone": "+441632960001",
        "email": "jane@example.com",
        "full_name": "jane smith",
        "name_key": "smith jane",
        "postcode": "WB12AB",
        "nhs_number": "9434765919",
        "date_of_birth": "1950-07-03",
    }
    assert lookup_keys(found) == [
        ("nhs_number", "9434765919"),
        ("email", "jane@example.com"),
        ("phone", "+441632960001"),
        ("full_name", "jane smith"),
        ("date_of_birth", "1950-07-03"),
        ("date_of_birth", "1950-03-07"),  # day and month swapped
    ]
    assert lookup_keys({"date_of_birth": "1950-07-07"}) == [("date_of_birth", "1950-07-07")]
    assert lookup_keys({}) == []


JANE = {"full_name": "jane smith", "date_of_birth": "1950-07-03", "email": "jane@example.com", "postcode": "WB12AB"}


def held(**details: str) -> dict[str, set[str]]:
    return {kind: {value} for kind, value in details.items()}


def test_the_same_name_and_date_of_birth_with_one_more_detail_is_the_same_person() -> None:
    verdict, fields = decide(JANE, held(**JANE))
    assert verdict == SAME and fields["email"] == "agree"
    assert decide(JANE, held(full_name="jane smith", date_of_birth="1950-07-03", postcode="WB12AB"))[0] == SAME


def test_one_shared_identifier_alone_never_decides() -> None:
    # A couple sharing an email address and a postcode.
    partner = held(full_name="john smith", date_of_birth="1948-11-20", email="jane@example.com", postcode="WB12AB")
    assert decide(JANE, partner)[0] == MAYBE
    # The same name and date of birth and nothing else agreeing: a namesake, maybe.
    assert decide(JANE, held(full_name="jane smith", date_of_birth="1950-07-03"))[0] == MAYBE
    # Day and month swapped: close, for the probabilistic tier.
    verdict, fields = decide(JANE, held(**{**JANE, "date_of_birth": "1950-03-07"}))
    assert verdict == MAYBE and fields["date_of_birth"] == "close"


def test_a_strong_identifier_that_disagrees_or_is_claimed_by_another_person_is_a_conflict() -> None:
    mine = {**JANE, "nhs_number": "9434765919"}
    assert decide(mine, held(**{**JANE, "nhs_number": "4010232137"}))[0] == CONFLICT
    # Someone else's NHS number typed with one's own name and date of birth.
    other = held(full_name="mallory evans", date_of_birth="1990-02-14", nhs_number="9434765919")
    assert decide(mine, other)[0] == CONFLICT
    assert citizens.STRONG == ("nhs_number", "ni_number")


def test_a_stored_phone_number_reads_as_people_write_it() -> None:
    from runtime.citizens import display_phone

    assert display_phone(normalise("phone", "+44 (0)7700 900123") or "") == "07700 900123"
    assert display_phone(normalise("phone", "020 7946 0018") or "") == "020 7946 0018"
    assert display_phone(normalise("phone", "+33 1 23 45 67 89") or "") == "+33 1 23 45 67 89"
    assert display_phone("not a number") == "not a number"

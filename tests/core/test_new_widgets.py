"""The question types of issue 18, part D: time, money and UK phone number (and a uk-address's
"lookup" as the checker sees it): read as typed, stored in one form, shown as GOV.UK writes
them, and worded in GOV.UK's style when they are wrong."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from runtime.answers import display, parse_question, to_raw
from runtime.checker import check
from runtime.definition import Definition
from runtime.rendering import question_view
from runtime.validation import compiled
from runtime.widgets import (
    WIDGETS,
    format_phone,
    format_time,
    is_time_of_day,
    is_uk_phone,
    normalise_time,
    normalise_uk_phone,
    pounds,
)
from runtime.widgets.money import parse_pounds
from tests.core.sample import complete_answers, sample_doc


def _doc() -> dict[str, Any]:
    """The sample service with one page asking a time, an amount and a phone number."""
    doc = sample_doc()
    doc["schema"]["properties"].update(
        collection_time={"type": "string", "format": "time-of-day"},
        rent={"type": "integer", "minimum": 100, "maximum": 500000},
        mobile={"type": "string", "format": "uk-phone"},
    )
    doc["questions"].update(
        collection_time={"label": "What time was the collection due?", "widget": "time"},
        rent={"label": "How much rent do you pay each month?", "short_label": "Monthly rent", "widget": "money"},
        mobile={"label": "What is your mobile number?", "short_label": "Mobile number", "widget": "uk-phone"},
    )
    doc["pages"].append({"id": "more", "title": "More about you", "questions": ["collection_time", "rent", "mobile"]})
    return doc


DEFINITION = Definition(_doc())


def parse(name: str, typed: str) -> Any:
    value, raw = parse_question(DEFINITION, name, MultiDict({name: typed}))
    assert raw == {name: typed.strip() if "\x00" not in typed else raw[name]}
    return value


def errors_for(**answers: Any) -> dict[str, str]:
    return compiled(DEFINITION).validate(complete_answers() | answers)


def test_the_definition_with_the_new_types_passes_the_checker() -> None:
    assert check(_doc()) == []
    assert errors_for(collection_time="07:30", rent=95000, mobile="+447700900982") == {}


# -- time ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("9am", "09:00"),
        ("9:30am", "09:30"),
        ("9.30 PM", "21:30"),
        ("2 p.m.", "14:00"),
        ("12am", "00:00"),
        ("12pm", "12:00"),
        ("12:45 am", "00:45"),
        ("14:30", "14:30"),
        ("1430", "14:30"),
        ("09:05", "09:05"),
        ("9:30", "09:30"),  # no am or pm: the 24-hour clock
        ("0:15", "00:15"),
        ("14", "14:00"),  # an hour alone only where it cannot be morning or evening
        ("midday", "12:00"),
        ("Noon", "12:00"),
        ("midnight", "00:00"),
        ("１４：３０", "14:30"),  # full-width, as a Japanese keyboard types it
    ],
)
def test_times_are_read_in_12_and_24_hour_forms(typed: str, stored: str) -> None:
    assert normalise_time(typed) == stored
    assert parse("collection_time", typed) == stored


@pytest.mark.parametrize("typed", ["9", "25:00", "13pm", "0am", "9:75", "24:00", "9:5", "half nine", "12:30:15", "-1"])
def test_what_is_not_a_time_stays_as_typed(typed: str) -> None:
    assert normalise_time(typed) == typed
    assert not is_time_of_day(typed)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("09:00", "9am"),
        ("09:30", "9:30am"),
        ("14:05", "2:05pm"),
        ("12:00", "midday"),
        ("00:00", "midnight"),
        ("00:30", "12:30am"),
        ("12:30", "12:30pm"),
        ("23:59", "11:59pm"),
    ],
)
def test_times_are_shown_as_gov_uk_writes_them(stored: str, shown: str) -> None:
    assert format_time(stored) == shown
    assert display(DEFINITION, "collection_time", stored) == [shown]
    # ... and the box shows the same, which reads back as the answer.
    assert to_raw(DEFINITION, "collection_time", stored) == {"collection_time": shown}
    assert parse("collection_time", shown) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("9", "Enter what time was the collection due with am or pm, like 9am or 9pm"),
        ("25:00", "What time was the collection due must be a real time"),
        ("13pm", "What time was the collection due must be a real time"),
        ("half nine", "Enter what time was the collection due in the correct format, like 9:30am or 14:30"),
        (
            "<script>alert(1)</script>",
            "Enter what time was the collection due in the correct format, like 9:30am or 14:30",
        ),
    ],
)
def test_time_errors(typed: str, message: str) -> None:
    assert errors_for(collection_time=parse("collection_time", typed)) == {"collection_time": message}


def test_a_time_is_one_box_with_its_pattern_as_the_hint() -> None:
    params = question_view(DEFINITION, "collection_time", {}, {}, True)["params"]
    assert params["hint"] == {"text": "For example, 9:30am or 14:30"}
    assert params["classes"] == "govuk-input--width-10" and params["spellcheck"] is False


# -- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "pence"),
    [
        ("12", 1200),
        ("12.50", 1250),
        ("12.5", 1250),
        ("1,200.00", 120000),
        ("£5", 500),
        ("£ 1,200.05", 120005),
        (".50", 50),
        ("0", 0),
        ("-5", -500),
        ("１２", 1200),
    ],
)
def test_amounts_are_stored_in_pence(typed: str, pence: int) -> None:
    assert parse_pounds(typed) == pence
    assert parse("rent", typed) == pence


@pytest.mark.parametrize("typed", ["12.505", "1,20", "12,0000", "£", ".", "twelve", "12p", "1e5", "9" * 14, "0x10"])
def test_what_is_not_an_amount_stays_as_typed(typed: str) -> None:
    assert parse_pounds(typed) is None
    assert parse("rent", typed) == typed


@pytest.mark.parametrize(
    ("pence", "shown", "typed"),
    [(120000, "£1,200", "1200"), (1250, "£12.50", "12.50"), (5, "£0.05", "0.05"), (0, "£0", "0")],
)
def test_amounts_are_shown_in_pounds(pence: int, shown: str, typed: str) -> None:
    assert pounds(pence) == shown
    assert display(DEFINITION, "rent", pence) == [shown]
    assert to_raw(DEFINITION, "rent", pence) == {"rent": typed}
    assert parse("rent", typed) == pence


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("twelve", "Monthly rent must be an amount of money, like 600 or 193.54"),
        ("12.505", "Monthly rent must be an amount of money, like 600 or 193.54"),
        ("x" * 10_000, "Monthly rent must be an amount of money, like 600 or 193.54"),
        ("5000.01", "Monthly rent must be £5,000 or less"),
        ("99,999,999,999", "Monthly rent must be £5,000 or less"),
        ("0.99", "Monthly rent must be £1 or more"),
        ("-5", "Monthly rent must be £1 or more"),
    ],
)
def test_money_errors_are_in_pounds(typed: str, message: str) -> None:
    assert errors_for(rent=parse("rent", typed)) == {"rent": message}


@pytest.mark.parametrize(
    "bounds",
    [
        {"minimum": 50000, "maximum": 10000},
        {"exclusiveMinimum": 100, "maximum": 100},
        {"minimum": 100, "exclusiveMaximum": 100},
    ],
)
def test_money_no_amount_could_answer_is_refused(bounds: dict[str, int]) -> None:
    doc = _doc()
    rent = doc["schema"]["properties"]["rent"]
    for keyword in ("minimum", "maximum"):
        rent.pop(keyword)
    rent.update(bounds)
    assert [(p.path, p.message) for p in check(doc)] == [
        (
            "$.schema.properties.rent",
            "no amount is both at least the minimum and at most the maximum: no one could answer it",
        )
    ]


@pytest.mark.parametrize(
    ("name", "keyword", "value"),
    [
        ("mobile", "maxLength", 11),
        ("mobile", "pattern", "^07"),
        ("collection_time", "maxLength", 4),
        ("collection_time", "minLength", 5),
    ],
)
def test_a_phone_or_a_time_takes_no_length_or_pattern(name: str, keyword: str, value: Any) -> None:
    # "07700900982" is 13 characters stored (+447700900982): a maxLength of 11 refused every number.
    doc = _doc()
    doc["schema"]["properties"][name][keyword] = value
    [problem] = check(doc)
    assert problem.path == f"$.schema.properties.{name}.{keyword}"
    assert problem.message.startswith(f'remove "{keyword}": ')


def test_money_is_asked_with_a_pound_sign_before_the_box() -> None:
    params = question_view(DEFINITION, "rent", {}, {}, True)["params"]
    assert params["prefix"] == {"text": "£"} and params["inputmode"] == "decimal"


def test_the_checker_wants_money_in_whole_pence_with_a_maximum() -> None:
    doc = _doc()
    del doc["schema"]["properties"]["rent"]["maximum"]
    assert [(p.path, p.message) for p in check(doc)] == [
        ("$.schema.properties.rent", 'a money question needs a "maximum", in pence (500000 is £5,000)')
    ]
    doc = _doc()
    doc["schema"]["properties"]["rent"]["minimum"] = 1.5
    assert [(p.path, p.message) for p in check(doc)] == [
        ("$.schema.properties.rent.minimum", '"minimum" of a money question is in pence: a whole number, like 500000')
    ]
    doc = _doc()
    doc["schema"]["properties"]["rent"]["type"] = "number"
    assert [p.message for p in check(doc)] == ['widget "money" needs a property of type integer, but "rent" has number']
    doc = _doc()
    doc["questions"]["rent"]["prefix"] = "$"
    assert [p.message for p in check(doc)] == ['a money question always shows "£" before the box: remove "prefix"']


def test_a_money_question_may_say_what_the_amount_is_per() -> None:
    doc = _doc()
    doc["questions"]["rent"]["suffix"] = "per month"
    assert check(doc) == []
    definition = Definition(doc)
    assert question_view(definition, "rent", {}, {}, True)["params"]["suffix"] == {"text": "per month"}
    assert display(definition, "rent", 95000) == ["£950 per month"]


# -- UK phone number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("07700 900 982", "+447700900982"),
        ("07700900982", "+447700900982"),
        ("+44 (0)7700 900982", "+447700900982"),
        ("0044 7700 900982", "+447700900982"),
        ("01632 960 001", "+441632960001"),  # Ofcom's drama numbers: GOV.UK's own examples
        ("+44 808 157 0192", "+448081570192"),
        ("020-7946-0018", "+442079460018"),
        ("0118 496 0000", "+441184960000"),
        ("0800 1111", "+448001111"),
        ("07911 123456", "+447911123456"),  # Guernsey shares +44
    ],
)
def test_uk_phone_numbers_are_stored_in_e164(typed: str, stored: str) -> None:
    assert normalise_uk_phone(typed) == stored
    assert is_uk_phone(stored)
    assert parse("mobile", typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "01234",
        "999",
        "07700 900 98",
        "0770090098200",
        "+33 1 23 45 67 89",
        "call me",
        "1" * 50,
        "07700 900982 ext 123",  # an extension is refused, never dropped: E.164 has no place for it
        "020 7946 0018 x123",
        "01632 960001 extension 4455",
    ],
)
def test_what_is_not_a_uk_phone_number_stays_as_typed(typed: str) -> None:
    assert normalise_uk_phone(typed) == typed
    assert not is_uk_phone(typed)


def test_phone_numbers_are_shown_as_people_write_them() -> None:
    assert format_phone("+447700900982") == "07700 900982"
    assert format_phone("+442079460018") == "020 7946 0018"
    assert format_phone("+33123456789") == "+33 1 23 45 67 89"
    assert format_phone("not a number") == "not a number"
    assert display(DEFINITION, "mobile", "+447700900982") == ["07700 900982"]
    assert to_raw(DEFINITION, "mobile", "+447700900982") == {"mobile": "07700 900982"}


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("+33 1 23 45 67 89", "Enter a UK phone number, like 01632 960 001 or 07700 900 982"),
        ("07700 900982 ext 123", "Enter mobile number without an extension"),
        ("020 7946 0018 x123", "Enter mobile number without an extension"),
        (
            "07700 900 98",
            "Enter mobile number in the correct format, like 01632 960 001, 07700 900 982 or +44 808 157 0192",
        ),
        (
            "<script>",
            "Enter mobile number in the correct format, like 01632 960 001, 07700 900 982 or +44 808 157 0192",
        ),
        (
            "0" * 10_000,
            "Enter mobile number in the correct format, like 01632 960 001, 07700 900 982 or +44 808 157 0192",
        ),
    ],
)
def test_uk_phone_errors(typed: str, message: str) -> None:
    assert errors_for(mobile=parse("mobile", typed)) == {"mobile": message}


def test_citizen_matching_reads_a_stored_uk_phone_number() -> None:
    from runtime.citizens import normalise

    assert normalise("phone", "+447700900982") == "+447700900982"


# -- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["collection_time", "rent", "mobile"])
@pytest.mark.parametrize("typed", ["<script>alert(1)</script>", "x" * 10_000, "12\x0034x", "\u202e12:30", "９" * 5000])
def test_hostile_input_stays_text_and_fails_validation(name: str, typed: str) -> None:
    value, _ = parse_question(DEFINITION, name, MultiDict({name: typed}))
    assert isinstance(value, str)
    assert list(errors_for(**{name: value})) == [name]


# -- the checker -------------------------------------------------------------------------------


@pytest.mark.parametrize(("widget", "fmt"), [("time", "time-of-day"), ("uk-phone", "uk-phone")])
def test_time_and_uk_phone_need_their_format(widget: str, fmt: str) -> None:
    doc = _doc()
    name = {"time": "collection_time", "uk-phone": "mobile"}[widget]
    doc["schema"]["properties"][name] = {"type": "string"}
    assert [p.message for p in check(doc)] == [f'widget "{widget}" needs "format": "{fmt}" on the property']


def test_only_a_uk_address_takes_lookup() -> None:
    doc = _doc()
    doc["questions"]["address"]["lookup"] = True
    assert check(doc) == []
    doc["questions"]["mobile"]["lookup"] = True
    assert [(p.path, p.message) for p in check(doc)] == [
        ("$.questions.mobile.lookup", 'only a question with widget "uk-address" takes a "lookup"')
    ]


def test_a_uk_phone_number_can_identify_the_citizen() -> None:
    doc = _doc()
    doc["identity"]["phone"] = "mobile"
    assert check(doc) == []  # E.164 bounds its length: no maxLength needed


def test_the_new_types_are_in_the_palette_after_the_others() -> None:
    names = list(WIDGETS)
    assert names.index("time") < names.index("money") < names.index("uk-phone")
    assert (WIDGETS["time"].palette_label, WIDGETS["money"].palette_label, WIDGETS["uk-phone"].palette_label) == (
        "Time",
        "Money",
        "UK phone number",
    )


def test_a_uk_address_with_lookup_shows_the_step_its_page_names() -> None:
    from runtime.address_lookup import FoundAddress
    from runtime.widgets.address import CHOOSE, FIND, MANUAL, lookup_key

    doc = _doc()
    doc["questions"]["address"]["lookup"] = True
    definition = Definition(doc)
    plain = question_view(definition, "address", {}, {}, True)
    assert plain["macro"] == "address" and "lookup" not in plain["params"]  # no provider: the form alone

    find = question_view(definition, "address", {lookup_key("address"): FIND}, {}, True)
    assert find["macro"] == "address_lookup" and find["own_button"] is True  # in place of Continue
    assert find["params"]["input"]["name"] == "address-lookup-postcode"
    # Beside other questions, Continue stays and Find address is a secondary button.
    beside = question_view(definition, "address", {lookup_key("address"): FIND}, {}, False)
    assert beside["own_button"] is False and beside["params"]["secondary"] is True

    found = [FoundAddress("10 Mill Lane", "", "Westbridge", "WB1 2AB", "1")]
    choose = question_view(
        definition,
        "address",
        {
            lookup_key("address"): CHOOSE,
            lookup_key("address", "addresses"): found,
            lookup_key("address", "address"): "1",
        },
        {lookup_key("address", "address"): "Select an address"},
        True,
    )
    assert choose["params"]["select"]["items"] == [
        {"value": "", "text": "1 address found"},
        {"value": "1", "text": "10 Mill Lane, Westbridge, WB1 2AB", "selected": True},
    ]
    assert choose["params"]["select"]["errorMessage"] == {"text": "Select an address"}

    manual = question_view(
        definition, "address", {lookup_key("address"): MANUAL, "address.line1": "10 Mill Lane"}, {}, True
    )
    assert manual["macro"] == "address" and manual["params"]["lookup"]["stage"] == MANUAL
    # A question without "lookup" ignores a step in the post.
    assert question_view(DEFINITION, "address", {lookup_key("address"): FIND}, {}, True)["macro"] == "address"

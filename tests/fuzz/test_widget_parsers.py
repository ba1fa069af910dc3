"""Every widget's parser, fed arbitrary text in every one of its form fields (hypothesis).

Whatever a citizen types (a date part too large for the platform, a number of 5,000 digits,
"NaN", "1e999999", Arabic-Indic or full-width digits, a NUL, a lone surrogate), a question's
parser gives an answer, and validation either accepts it or says why in the widget's own
GOV.UK-style words; the page and check answers then show it. Nothing raises: an exception
here is a 500 page for the citizen (issue 13, finding 7: ``collection_date-day=2147483648``
was an OverflowError in the date widget).

Each widget type is tried in a one-question definition built from the builder's fresh
property for it (``Widget.new_property``), so a new widget type is fuzzed as soon as it is
registered, and in every question of the sample service (bounds, patterns, dateBefore).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from runtime.answers import display, parse_question, to_raw
from runtime.definition import Definition
from runtime.rendering import question_view
from runtime.validation import compiled
from runtime.web.journey_pages import MAX_FIELD
from runtime.widgets import WIDGETS, clean_text
from tests.core.sample import sample_doc

from .strategies import HOSTILE_TEXT, field_names

# The inputs the second security test and the issue name, and their neighbours.
PLATFORM_LIMITS = [
    str(2**31),
    str(2**31 - 1),
    str(2**63),
    str(-(2**31)),
    "1" + "0" * 5000,  # 10**5000, past Python's 4,300-digit limit for int(): a ValueError since 3.11
    "9" * 4301,
    "0" * 5000 + "1",
    "-0",
    "+0",
    "-0.0",
    "NaN",
    "nan",
    "-NaN",
    "Infinity",
    "-inf",
    "1e999999",
    "1e-999999",
    "1E5",
    "0x10",
    "1_000",
    "\u0663",  # Arabic-Indic three: int() reads it
    "\u0661\u0662",
    "\u0662\u0660\u0662\u0660",
    "\uff13",  # full-width three
    "\uff12\uff10\uff12\uff10",
    "\u00b2",  # superscript two: a digit to isdigit(), not to int()
    "\u2460",  # circled one
    "\x00",
    "1\x002",
    "\ud800",  # a lone surrogate
    "\udfff1",
    "\ufeff1",
    " 1 ",
    "1.",
    ".5",
    "1,2",
    "£1,000.50",
]
SPECIAL = PLATFORM_LIMITS + HOSTILE_TEXT

# Ordinary answers, so that one hostile field is often beside valid ones (a real day and month
# with a hostile year reach code that a hostile everything stops before).
PLAIN = ["1", "7", "12", "31", "1950", "2024", "yes", "no", "option_1", "SW1A 1AA", "Jane Smith", "a@b.co"]

TEXTS = st.one_of(
    st.sampled_from(PLAIN),
    st.sampled_from(SPECIAL),
    st.text(max_size=30),
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=12),  # digits of any script
    st.integers().map(str),
    st.floats().map(repr),
)

WIDGET_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _one_question(widget: str) -> Definition:
    """The sample service with one more page asking a fresh question of this type."""
    doc = sample_doc()
    w = WIDGETS[widget]
    doc["schema"]["properties"]["fresh"] = w.new_property()
    doc["questions"]["fresh"] = w.new_question("The answer")
    doc["pages"].append({"id": "fresh", "questions": ["fresh"]})
    return Definition(doc)


FRESH = {name: _one_question(name) for name in WIDGETS}
SAMPLE = Definition(sample_doc())


def fresh_errors(definition: Definition, value: Any) -> dict[str, str]:
    """The messages validation gives the fresh question (the sample's other questions unanswered)."""
    errors = compiled(definition).validate({"fresh": value})
    return {path: message for path, message in errors.items() if path == "fresh"}


def _fields(definition: Definition, name: str) -> list[str]:
    return field_names(definition, definition.page_of_question[name])


def parses_or_says_why(definition: Definition, name: str, form: MultiDict[str, str]) -> None:
    """Parse, validate, show the page again and the answer: an answer or a message, no exception."""
    value, raw = parse_question(definition, name, form)
    errors = compiled(definition).validate({name: value} if value is not None else {})
    mine = {path: message for path, message in errors.items() if path.split(".")[0] == name}
    for message in mine.values():
        assert isinstance(message, str) and message and not message.startswith("Check "), mine
    page_id = definition.page_of_question[name].id
    assert question_view(definition, name, raw, mine, True)["params"] is not None, page_id
    if value is not None and not mine:
        # Accepted: stored as JSON, shown on check answers and put back in its fields.
        assert display(definition, name, value)
        to_raw(definition, name, value)
        if definition.widget(name) == "date":
            assert date.fromisoformat(value).isoformat() == value and value.isascii()


def _form(fields: list[str], texts: list[str]) -> MultiDict[str, str]:
    # As the web layer hands it over: each value cut at MAX_FIELD characters (CappedForm).
    return MultiDict([(f, t[:MAX_FIELD]) for f, t in zip(fields, texts, strict=True)])


def _plausible(field: str) -> str:
    """An ordinary value for a field, to put beside a hostile one."""
    if field.endswith("-year"):
        return "2024"
    if field.endswith(("-day", "-month")):
        return "1"
    return {"fresh": "option_1", "fresh.postcode": "SW1A 1AA"}.get(field, "Jane Smith")


@pytest.mark.parametrize("widget", list(WIDGETS))
def test_every_widget_parses_any_text_into_an_answer_or_its_message(widget: str) -> None:
    definition = FRESH[widget]
    fields = _fields(definition, "fresh")
    # Each special value in each field, the others ordinary: every one is tried, not sampled.
    for hostile in fields:
        for text in SPECIAL:
            texts = [text if f == hostile else _plausible(f) for f in fields]
            parses_or_says_why(definition, "fresh", _form(fields, texts))

    @WIDGET_SETTINGS
    @given(texts=st.lists(TEXTS, min_size=len(fields), max_size=len(fields)))
    def fuzz(texts: list[str]) -> None:
        parses_or_says_why(definition, "fresh", _form(fields, texts))

    fuzz()


@pytest.mark.parametrize("name", list(SAMPLE.questions))
def test_every_sample_question_parses_any_text_into_an_answer_or_its_message(name: str) -> None:
    fields = _fields(SAMPLE, name)

    @settings(WIDGET_SETTINGS, max_examples=60)
    @given(texts=st.lists(TEXTS, min_size=len(fields), max_size=len(fields)))
    def fuzz(texts: list[str]) -> None:
        parses_or_says_why(SAMPLE, name, _form(fields, texts))

    fuzz()


@given(day=st.sampled_from(PLATFORM_LIMITS), month=st.sampled_from(["1", "13", str(2**31)]))
@example(day=str(2**31), month="1")
@example(day="1", month="1" + "0" * 5000)
@settings(WIDGET_SETTINGS, max_examples=100)
def test_a_date_part_too_large_for_the_platform_is_not_a_real_date(day: str, month: str) -> None:
    definition = FRESH["date"]
    form = MultiDict({"fresh-day": day, "fresh-month": month, "fresh-year": "2024"})
    value, _ = parse_question(definition, "fresh", form)
    errors = fresh_errors(definition, value)
    typed = clean_text(day)
    valid = typed.isdecimal() and len(typed) <= 4 and month == "1" and 1 <= int(typed) <= 31
    assert errors.get("fresh") == (None if valid else "The answer must be a real date")


@pytest.mark.parametrize(
    ("day", "month", "year", "stored"),
    [
        ("\u0663", "\u0667", "\u0661\u0669\u0665\u0660", "1950-07-03"),  # Arabic-Indic digits
        ("\uff13", "\uff17", "\uff11\uff19\uff15\uff10", "1950-07-03"),  # full-width digits
        ("03", "07", "1950", "1950-07-03"),
        ("+3", "7", "1950", None),  # a sign, an underscore, an exponent: not a date
        ("1_0", "7", "1950", None),
        ("3", "7", "1_950", None),
        ("3e0", "7", "1950", None),
        ("-0", "7", "1950", None),
        ("0003", "07", "1950", "1950-07-03"),
        ("00003", "07", "1950", None),
    ],
)
def test_dates_are_read_from_digits_of_any_script_and_nothing_else(
    day: str, month: str, year: str, stored: str | None
) -> None:
    definition = FRESH["date"]
    form = MultiDict({"fresh-day": day, "fresh-month": month, "fresh-year": year})
    value, _ = parse_question(definition, "fresh", form)
    errors = fresh_errors(definition, value)
    if stored is None:
        assert errors == {"fresh": "The answer must be a real date"}
    else:
        assert (value, errors) == (stored, {})


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("-0", 0), ("\u0661\u0662", 12), ("\uff11\uff12", 12), ("1,000", 1000), ("NaN", "NaN"), ("1e999999", "1e999999")],
)
def test_numbers_never_become_nan_or_infinity(typed: str, stored: Any) -> None:
    value, _ = parse_question(FRESH["number"], "fresh", MultiDict({"fresh": typed}))
    assert value == stored and type(value) is type(stored)
    errors = fresh_errors(FRESH["number"], value)
    assert errors == ({} if isinstance(stored, int) else {"fresh": "The answer must be a number"})


def test_nul_and_lone_surrogates_are_dropped_from_typed_text() -> None:
    value, raw = parse_question(FRESH["text"], "fresh", MultiDict({"fresh": "Ada\x00 \ud800Lovelace"}))
    assert value == "Ada Lovelace" and raw == {"fresh": "Ada Lovelace"}
    assert value.encode("utf-8")

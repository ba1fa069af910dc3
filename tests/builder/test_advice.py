"""GOV.UK content advice: shown beside a field, never blocking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from builder import operations as ops
from builder.advice import advise, count_syllables, hint_advice, label_advice, question_advice, reading_age


def load(name: str) -> dict[str, Any]:
    return json.loads(Path(f"form_definitions/{name}.json").read_text(encoding="utf-8"))


def messages(advice: list[tuple[str, str]]) -> str:
    return " | ".join(text for _, text in advice)


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("bin", 1),
        ("make", 1),
        ("used", 1),
        ("apple", 2),
        ("table", 2),
        ("question", 2),
        ("collection", 3),
        ("beautiful", 4),
        ("university", 5),
        ("rhythm", 1),
        ("", 0),
    ],
)
def test_count_syllables(word: str, syllables: int) -> None:
    assert count_syllables(word) == syllables


def test_reading_age_of_plain_and_dense_text() -> None:
    assert reading_age("Is your bin out?") is None  # too short to tell
    plain = reading_age("We will send you a letter. It tells you what to do next. Keep it safe.")
    dense = reading_age(
        "Notwithstanding the aforementioned considerations, applicants demonstrating eligibility "
        "requirements necessitate comprehensive documentation substantiating residential circumstances."
    )
    assert plain is not None and plain <= 9
    assert dense is not None and dense > 20


def test_question_text_advice() -> None:
    assert label_advice("What is your name?") == []
    assert label_advice("Tell us about your condition") == []  # an instruction, not a question
    assert "end with a question mark" in messages(label_advice("Your name"))
    assert "Avoid 'please'" in messages(label_advice("Please enter your name?"))
    assert "sentence case" in messages(label_advice("What Is Your Full Name?"))
    assert "sentence case" not in messages(label_advice("What is your National Insurance number?"))


def test_hint_advice() -> None:
    assert hint_advice("For example, 27 3 2007") == []
    long = hint_advice("x " * 120)
    assert long[0] == ("hint", "Keep hints under 200 characters (this one has 240)")


def test_duplicate_question_text_in_the_service() -> None:
    doc = ops.add_question(load("blue-badge"), page="your-details", widget="text", label="What is your full name?")
    assert "same text" in messages(question_advice(doc, "full_name_2"))
    assert "same text" in messages(question_advice(doc, "full_name"))
    assert "same text" not in messages(question_advice(doc, "email"))


def test_advise_a_whole_service_by_field_and_never_blocks() -> None:
    doc = ops.add_question(load("blue-badge"), page="your-details", widget="text", label="Please Give Your Shoe Size")
    advice = advise(doc)
    fields = {field for field, _ in advice}
    assert "questions.shoe_size.label" in fields
    assert "questions.gets_qualifying_benefit.hint" in fields  # 239 characters
    assert len(advice) == len(set(advice))
    assert ops.update_question(doc, "shoe_size", hint="Please") is not None  # advice never refuses

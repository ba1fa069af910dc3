"""Plain-words conditions: written as the format's JSON Schema, read back exactly, described."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from builder import operations as ops
from builder.conditions import (
    Clause,
    Condition,
    EditError,
    describe,
    from_schema,
    operators_for,
    questions_for_condition,
    to_schema,
    validate_clause,
)
from runtime.definition import Definition
from runtime.validation import compiled

SHIPPED = sorted(Path("form_definitions").glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads(Path(f"form_definitions/{name}.json").read_text(encoding="utf-8"))


def with_number_and_date() -> dict[str, Any]:
    """The parking permit service with a number and a date question on its first page."""
    doc = load("resident-parking-permit")
    doc = ops.add_question(doc, page="your-address", widget="number", label="How many cars do you have?")
    doc = ops.add_question(doc, page="your-address", widget="date", label="When did you move in?")
    doc = ops.add_question(doc, page="your-address", widget="checkboxes", label="Which days do you park?")
    return doc


# Every operator on a real shipped service: (question, operator, value).
EVERY_OPERATOR = [
    ("vehicle_keeper", "is", "company_car"),
    ("vehicle_keeper", "is_not", "company_car"),
    ("vehicle_keeper", "is_one_of", ["company_car", "lease_car"]),
    ("how_many_cars_do_you_have", "is", 2),
    ("how_many_cars_do_you_have", "more_than", 1),
    ("how_many_cars_do_you_have", "less_than", 2.5),
    ("when_did_you_move_in", "before", "2020-01-01"),
    ("when_did_you_move_in", "after", "today"),
    ("which_days_do_you_park", "is", "option_1"),
    ("which_days_do_you_park", "is_one_of", ["option_1", "option_2"]),
    ("vehicle_keeper", "answered", None),
]


@pytest.mark.parametrize(("question", "operator", "value"), EVERY_OPERATOR)
def test_every_operator_round_trips(question: str, operator: str, value: Any) -> None:
    doc = with_number_and_date()
    condition = Condition([Clause(question, operator, value)])
    schema = to_schema(doc, condition)
    assert from_schema(doc, schema) == condition
    assert from_schema(doc, json.loads(json.dumps(schema))) == condition


def test_combined_conditions_round_trip() -> None:
    doc = with_number_and_date()
    for combine in ("all", "any"):
        condition = Condition(
            [Clause("vehicle_keeper", "is", "company_car"), Clause("how_many_cars_do_you_have", "more_than", 3)],
            combine,
        )
        schema = to_schema(doc, condition)
        assert list(schema) == ["allOf" if combine == "all" else "anyOf"]
        assert from_schema(doc, schema) == condition


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_condition_reads_back_and_writes_back_unchanged(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for page in doc["pages"]:
        for schema in [page.get("show_if"), *(rule["if"] for rule in page.get("next", []))]:
            if schema is None:
                continue
            condition = from_schema(doc, schema)
            assert condition is not None, page["id"]
            assert to_schema(doc, condition) == schema


@pytest.mark.parametrize(
    "schema",
    [
        {"properties": {"reason": {"const": "adult_moved_out"}}},  # no "required"
        {"properties": {"reason": {"const": "not_an_option"}}, "required": ["reason"]},
        {"properties": {"reason": {"pattern": "^a"}}, "required": ["reason"]},
        {"properties": {"reason": {"const": "adult_moved_out"}, "email": {"const": "x"}}, "required": ["reason"]},
        {"allOf": [{"required": ["reason"]}]},
        {"not": {"required": ["reason"]}},
        {"required": ["no_such_question"]},
        True,
    ],
)
def test_anything_else_is_a_custom_condition(schema: Any) -> None:
    assert from_schema(load("council-tax-single-person-discount"), schema) is None


def test_true_is_not_one() -> None:
    doc = with_number_and_date()
    written = to_schema(doc, Condition([Clause("how_many_cars_do_you_have", "is", 1)]))
    assert from_schema(doc, written) is not None
    assert from_schema(doc, {"properties": {"how_many_cars_do_you_have": {"const": True}}, "required": ["x"]}) is None


def test_describe_in_plain_english() -> None:
    doc = load("blue-badge")
    partner = Condition([Clause("gets_qualifying_benefit", "is", True)])
    assert (
        describe(doc, partner)
        == "Show this page only if 'Do you get a benefit that means you qualify automatically?' is Yes"
    )
    doc = with_number_and_date()
    condition = Condition(
        [
            Clause("vehicle_keeper", "is_one_of", ["company_car", "lease_car"]),
            Clause("when_did_you_move_in", "before", "2020-01-31"),
            Clause("which_days_do_you_park", "is", "option_2"),
        ],
        "any",
    )
    assert describe(doc, condition, prefix="If") == (
        "If 'Who is the registered keeper of the vehicle?' is one of My employer or A lease or hire company"
        " or 'When did you move in?' is before 31 January 2020"
        " or 'Which days do you park?' includes Option 2"
    )
    assert describe(doc, Condition([Clause("vehicle_keeper", "answered")]), prefix="") == (
        "'Who is the registered keeper of the vehicle?' is answered"
    )


def test_operators_fit_the_widget() -> None:
    doc = with_number_and_date()
    assert operators_for(doc, "vehicle_keeper") == ["is", "is_not", "is_one_of", "answered"]
    assert operators_for(doc, "how_many_cars_do_you_have") == ["is", "more_than", "less_than", "answered"]
    assert operators_for(doc, "when_did_you_move_in") == ["before", "after", "answered"]
    assert operators_for(doc, "which_days_do_you_park") == ["is", "is_one_of", "answered"]
    assert operators_for(doc, "full_name") == ["answered"]
    assert operators_for(load("blue-badge"), "lives_in_area") == ["is", "answered"]


def test_values_are_typed_from_form_text() -> None:
    doc = with_number_and_date()
    assert validate_clause(doc, Clause("how_many_cars_do_you_have", "more_than", "1,000")).value == 1000
    assert validate_clause(doc, Clause("how_many_cars_do_you_have", "less_than", "2.5")).value == 2.5
    assert validate_clause(doc, Clause("when_did_you_move_in", "after", "Today")).value == "today"
    assert validate_clause(load("blue-badge"), Clause("lives_in_area", "is", "no")).value is False
    assert validate_clause(doc, Clause("vehicle_keeper", "is_one_of", ["lease_car", "company_car"])).value == [
        "company_car",
        "lease_car",
    ]


@pytest.mark.parametrize(
    ("clause", "field", "message"),
    [
        (Clause("", "is", "x"), "question", "Select a question"),
        (Clause("deleted", "is", "x"), "question", "deleted"),
        (Clause("vehicle_keeper", "more_than", 1), "operator", "Select how to compare the answer"),
        (Clause("vehicle_keeper", "is", "bicycle"), "value", "Select one of the question's choices"),
        (Clause("vehicle_keeper", "is_one_of", []), "value", "Select at least one choice"),
        (Clause("how_many_cars_do_you_have", "more_than", "lots"), "value", "Enter a number"),
        (Clause("how_many_cars_do_you_have", "more_than", "nan"), "value", "Enter a number"),
        (Clause("when_did_you_move_in", "before", "2023-02-30"), "value", "Enter a real date"),
        (Clause("when_did_you_move_in", "before", "<script>"), "value", "Enter a real date"),
    ],
)
def test_bad_clauses_are_refused_next_to_the_field(clause: Clause, field: str, message: str) -> None:
    with pytest.raises(EditError) as error:
        validate_clause(with_number_and_date(), clause)
    assert error.value.field == field
    assert message in error.value.message


def test_yes_no_needs_yes_or_no() -> None:
    with pytest.raises(EditError, match="Select yes or no"):
        validate_clause(load("blue-badge"), Clause("lives_in_area", "is", "maybe"))


def test_conditions_only_use_questions_on_earlier_pages() -> None:
    doc = load("blue-badge")
    with pytest.raises(EditError, match="Select a question from an earlier page"):
        validate_clause(doc, Clause("lives_in_area", "is", True), "where-you-live")
    assert validate_clause(doc, Clause("lives_in_area", "is", True), "where-you-live", routing=True).value is True
    with pytest.raises(EditError, match="this page or an earlier page"):
        validate_clause(doc, Clause("full_name", "answered"), "where-you-live", routing=True)
    assert questions_for_condition(doc, "qualifying-benefit") == ["lives_in_area"]
    assert questions_for_condition(doc, "qualifying-benefit", routing=True) == [
        "lives_in_area",
        "gets_qualifying_benefit",
    ]


@pytest.mark.parametrize(
    ("question", "operator", "value", "answer", "holds"),
    [
        ("how_many_cars_do_you_have", "more_than", 1, 2, True),
        ("how_many_cars_do_you_have", "more_than", 1, 1, False),
        ("how_many_cars_do_you_have", "less_than", 2, 1.5, True),
        ("when_did_you_move_in", "before", "2020-01-01", "2019-12-31", True),
        ("when_did_you_move_in", "before", "2020-01-01", "2020-01-01", False),
        ("when_did_you_move_in", "after", "2020-01-01", "2020-01-02", True),
        ("when_did_you_move_in", "after", "today", "2000-01-01", False),
        ("which_days_do_you_park", "is", "option_1", ["option_2", "option_1"], True),
        ("which_days_do_you_park", "is_one_of", ["option_1"], ["option_2"], False),
        ("vehicle_keeper", "is_not", "company_car", "lease_car", True),
        ("vehicle_keeper", "is_not", "company_car", None, False),
        ("vehicle_keeper", "answered", None, "lease_car", True),
    ],
)
def test_written_conditions_mean_what_they_say_to_the_runtime(
    question: str, operator: str, value: Any, answer: Any, holds: bool
) -> None:
    """The runtime's own compiled page condition (with dateBefore/dateAfter) agrees with the words."""
    doc = with_number_and_date()
    doc = ops.set_condition(doc, "proof-of-address", Condition([Clause(question, operator, value)]))
    service = compiled(Definition(doc))
    answers = {} if answer is None else {question: answer}
    assert service.page_conditions["proof-of-address"].is_valid(answers) is holds


def test_the_change_summary_describes_conditions_the_builder_can_read() -> None:
    from builder.conditions import describe_schema
    from runtime.changes import summarise

    old = load("register-with-gp")
    new = ops.set_condition(old, "nhs-number", Condition([Clause("knows_nhs_number", "is", False)]))
    assert summarise(old, new, describe_condition=describe_schema) == [
        "Changed when page 'Your NHS number' is shown: only if 'Do you know your NHS number?' is No "
        "(was: only if 'Do you know your NHS number?' is Yes)"
    ]
    assert describe_schema(old, {"not": {"required": ["surgery"]}}) is None

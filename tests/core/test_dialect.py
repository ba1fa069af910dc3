"""The schema dialect's shared rules: the one "names a condition reads" rule and JSON equality."""

from __future__ import annotations

from runtime.checker import check
from runtime.dialect import names_in_condition
from runtime.problems import json_equal
from tests.core.sample import sample_doc


def test_a_condition_reads_dependent_required_names_too() -> None:
    condition = {
        "properties": {"a": {"const": 1}},
        "required": ["b", 7],
        "dependentRequired": {"c": ["d"]},
        "anyOf": [{"required": ["e"]}, "not a schema"],
        "not": {"if": {"required": ["f"]}, "then": {"properties": {"g": {}}}},
    }
    assert list(names_in_condition(condition)) == ["a", "b", "c", "e", "f", "g"]
    assert list(names_in_condition(["a"])) == list(names_in_condition({"properties": ["a"]})) == []


def test_the_checker_reports_an_unknown_answer_a_condition_names_in_dependent_required() -> None:
    doc = sample_doc()
    page = next(p for p in doc["pages"] if p["id"] == "pet-details")
    page["show_if"] = {"dependentRequired": {"has_pett": ["pet_name"]}}
    assert [(p.path, p.message) for p in check(doc) if "has_pett" in p.message] == [
        ("$.pages[4].show_if", 'condition uses "has_pett", which is not a property of the schema')
    ]


def test_json_equality_tells_true_from_one_but_not_key_order() -> None:
    assert json_equal({"a": 1, "b": [True]}, {"b": [True], "a": 1})
    assert not json_equal(True, 1)
    assert not json_equal({"a": 1}, {"a": 1.0})

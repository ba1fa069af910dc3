"""When pages are asked, and the proof that no required answer can trap a citizen."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runtime.checker import check
from runtime.definition import Definition
from runtime.journey import Journey
from runtime.validation import compiled
from runtime.visibility import implies, trap_problems, visibility_condition

SHIPPED = sorted(Path("form_definitions").glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads(Path(f"form_definitions/{name}.json").read_text(encoding="utf-8"))


def const(name: str, value: Any) -> dict[str, Any]:
    return {"properties": {name: {"const": value}}, "required": [name]}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_definition_is_free_of_traps(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert trap_problems(doc) == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_visibility_matches_the_journey_for_every_shipped_definition(path: Path) -> None:
    """For many answer sets, a page is on the journey's path exactly when its condition holds."""
    from runtime.dialect import CivicValidator

    doc = json.loads(path.read_text(encoding="utf-8"))
    service = compiled(Definition(doc))
    values: dict[str, list[Any]] = {}
    for name, q in doc["questions"].items():
        if q["widget"] == "yes-no":
            values[name] = [True, False, None]
        elif q["widget"] in ("radios", "select"):
            values[name] = [*q["options"], None]
    names = sorted(values)
    combos: list[dict[str, Any]] = [{}]
    for name in names:
        combos = [{**c, name: v} for c in combos for v in values[name]][:400]
    conditions = {p["id"]: visibility_condition(doc, p["id"]) for p in doc["pages"]}
    for combo in combos:
        answers = {k: v for k, v in combo.items() if v is not None}
        journey = Journey(service, answers)
        if journey.path[-1].stop:
            continue  # a journey that stops never reaches check answers
        shown = {p.id for p in journey.path}
        for page_id, condition in conditions.items():
            if doc["pages"][[p["id"] for p in doc["pages"]].index(page_id)].get("stop"):
                continue
            holds = condition is None or CivicValidator(condition).is_valid(journey.visible_answers)
            assert holds == (page_id in shown), (page_id, answers)


def test_a_page_with_show_if_is_asked_when_it_holds() -> None:
    doc = load("register-with-gp")
    assert visibility_condition(doc, "nhs-number") == const("knows_nhs_number", True)
    assert visibility_condition(doc, "about-you") is None


def test_a_page_jumped_over_by_routing_is_asked_when_the_rule_does_not_hold() -> None:
    doc = load("blue-badge")
    assert visibility_condition(doc, "walking-difficulty") == {"not": const("gets_qualifying_benefit", True)}
    # A stop page ends the journey, so pages after it are not conditional on it.
    assert visibility_condition(doc, "your-details") is None


def test_show_if_and_routing_combine() -> None:
    doc = load("blue-badge")
    doc["pages"][3]["show_if"] = const("lives_in_area", True)
    assert visibility_condition(doc, "walking-difficulty") == {
        "allOf": [const("lives_in_area", True), {"not": const("gets_qualifying_benefit", True)}]
    }


def test_routing_from_a_page_that_may_be_hidden_only_counts_when_that_page_is_asked() -> None:
    doc = load("council-tax-single-person-discount")
    # "reason-details" is asked only for "something_else"; give it a rule on an earlier answer.
    rule = {
        "if": {"properties": {"account_number": {"const": "1"}}, "required": ["account_number"]},
        "goto": "your-details",
    }
    doc["pages"][4]["next"] = [rule]
    assert visibility_condition(doc, "date-only-adult") == {"not": {"allOf": [doc["pages"][4]["show_if"], rule["if"]]}}


def test_an_earlier_rule_that_lands_before_the_page_stops_a_later_rule_jumping_over_it() -> None:
    doc = load("blue-badge")
    first = {"if": const("gets_qualifying_benefit", False), "goto": "walking-difficulty"}
    second = {"if": {"required": ["gets_qualifying_benefit"]}, "goto": "your-details"}
    doc["pages"][2]["next"] = [first, second]
    assert visibility_condition(doc, "which-benefit") == {
        "allOf": [doc["pages"][4]["show_if"], {"not": {"allOf": [second["if"], {"not": first["if"]}]}}]
    }


def test_an_unknown_page_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        visibility_condition(load("blue-badge"), "no-such-page")


def test_root_required_on_a_conditional_page_is_a_trap() -> None:
    doc = load("register-with-gp")
    doc["schema"]["required"].append("nhs_number")
    problems = trap_problems(doc)
    assert [p.path for p in problems] == [f"$.schema.required[{len(doc['schema']['required']) - 1}]"]
    assert "not always asked" in problems[0].message


def test_a_then_required_under_another_condition_is_a_trap() -> None:
    doc = load("council-tax-single-person-discount")
    doc["schema"]["allOf"][1]["if"] = const("reason", "adult_moved_out")  # reason_details is asked for something_else
    problems = trap_problems(doc)
    assert [p.path for p in problems] == ["$.schema.allOf[1].then.required[0]"]
    assert "reason_details" in problems[0].message and "reason-details" in problems[0].message


def test_a_page_skipped_by_routing_traps_a_root_required_answer() -> None:
    doc = load("blue-badge")
    doc["schema"]["required"].append("walking_distance")
    doc["schema"]["allOf"][0]["then"]["required"].remove("walking_distance")
    added = len(doc["schema"]["required"]) - 1  # the answer just made required at the root, last
    assert [p.path for p in trap_problems(doc)] == [f"$.schema.required[{added}]"]


def test_dependent_required_on_a_conditional_page_is_a_trap() -> None:
    doc = load("register-with-gp")
    doc["schema"]["dependentRequired"] = {"full_name": ["nhs_number"]}
    assert [p.path for p in trap_problems(doc)] == ["$.schema.dependentRequired.full_name[0]"]


def test_an_if_that_contains_the_page_condition_is_safe() -> None:
    doc = load("register-with-gp")
    shown = doc["pages"][3]["show_if"]
    doc["schema"]["allOf"][0]["if"] = {"allOf": [shown, {"required": ["full_name"]}]}
    assert trap_problems(doc) == []


def test_an_else_branch_is_checked_against_the_negated_if() -> None:
    doc = load("register-with-gp")
    doc["schema"]["allOf"][0] = {"if": const("knows_nhs_number", False), "else": {"required": ["nhs_number"]}}
    # "not (knows = false)" holds when the answer is missing too, so this can trap.
    assert [p.path for p in trap_problems(doc)] == ["$.schema.allOf[0].else.required[0]"]


def test_a_trap_is_also_a_real_stuck_journey() -> None:
    """The crafted trap really stops a citizen: the journey never completes."""
    doc = load("register-with-gp")
    doc["schema"]["required"].append("nhs_number")
    journey = Journey(
        compiled(Definition(doc)),
        {
            "surgery": next(iter(doc["questions"]["surgery"]["options"])),
            "full_name": "Ann Smith",
            "date_of_birth": "1970-01-01",
            "knows_nhs_number": False,
            "address": {"line1": "1 High Street", "town": "Westbridge", "postcode": "WB1 1AA"},
            "phone": "01632 960 001",
        },
    )
    # Sending fails on an answer the citizen was never asked for, on a page they cannot visit.
    assert "nhs_number" in journey.errors
    assert not journey.can_visit(journey.definition.page_by_id["nhs-number"])
    assert trap_problems(doc)


def test_the_checker_still_accepts_the_shipped_files() -> None:
    for path in SHIPPED:
        assert check(json.loads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (const("x", 1), const("x", 1), True),
        (const("x", False), {"not": const("x", True)}, True),
        (const("x", "a"), {"properties": {"x": {"enum": ["a", "b"]}}, "required": ["x"]}, True),
        ({"properties": {"x": {"enum": ["a", "b"]}}, "required": ["x"]}, const("x", "a"), False),
        ({"required": ["x"]}, {"not": const("x", True)}, False),
        ({"allOf": [const("x", 1), const("y", 2)]}, const("y", 2), True),
        (const("x", 1), {"allOf": [const("x", 1), {"not": const("y", 2)}]}, False),
        ({"properties": {"x": {"const": 1}}}, const("x", 1), False),  # x may be missing
        (const("x", 1), True, True),
        (const("x", True), const("x", 1), False),  # true is not 1
    ],
)
def test_implies(a: Any, b: Any, expected: bool) -> None:
    assert implies(copy.deepcopy(a), copy.deepcopy(b)) is expected

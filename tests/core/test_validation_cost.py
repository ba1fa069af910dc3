"""What one validation can cost: the worst schema shapes are refused, or one validation is timed.

Issue 13, finding 1: twenty levels of ``{"allOf": [previous level], "unevaluatedProperties": true}``
(7 KB) passed every check, and each validation then doubled in cost per level. Each shape here is
either refused by the checker (and by the runtime, for a definition stored before the rule), or
accepted and one validation of a hostile answers document is timed.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runtime.checker import check
from runtime.cli import main
from runtime.definition import Definition, dumps
from runtime.dialect import (
    MAX_EVALUATION_COST,
    MAX_EXPANDED_SIZE,
    MAX_ITEMS,
    UnsafeDefinition,
    _Cost,
    _validator,
    answer_bounds,
    expansion_problems,
)
from runtime.validation import CompiledService, forget_results
from tests.core.sample import sample_doc

Doc = dict[str, Any]
BOUND = 0.5  # seconds for one validation of a hostile answers document


def hostile_answers() -> dict[str, Any]:
    """As large and as wrong as a citizen's posts can make them (each post is at most 64 KB)."""
    return {
        "lives_in_area": "maybe",
        "full_name": "x" * 60_000,
        "date_of_birth": "2" * 60_000,
        "has_pet": True,
        "pet_kind": "y" * 60_000,
        "pet_colours": [f"c{i}" for i in range(16_000)],  # a 64 KB post of checkbox values
        "address": {"line1": "z" * 60_000, "town": "", "postcode": "!" * 60_000, "county": "w" * 60_000},
        "email": "@" * 60_000,
        "phone": "9" * 60_000,
        "notes": "n" * 60_000,
        "work_postcode": "SW1A 1AA" * 7_000,
        "nhs_number": "1" * 60_000,
        "ni_number": "Q" * 60_000,
    }


def timed(service: CompiledService, answers: Any) -> tuple[float, dict[str, str]]:
    """The CPU time of one validation in this process: the best of three. Not the wall clock: on a
    loaded machine, or beside another test worker, 0.1 s of work took 0.55 to 0.64 s of it."""
    took = []
    for _ in range(3):
        forget_results()  # a cached result would time nothing
        start = time.process_time()
        errors = service.validate(answers)
        took.append(time.process_time() - start)
    return min(took), errors


# -- the shapes ----------------------------------------------------------------------------------


def nested(keyword: str, levels: int, wrap: Callable[[Any], Doc], base: Any = None) -> Any:
    node = base if base is not None else {"type": "object", "properties": {"full_name": {"type": "string"}}}
    for _ in range(levels):
        node = {**wrap(node), keyword: True}
    return node


def ref(name: str) -> Doc:
    return {"$ref": f"#/$defs/{name}"}


def on_root(shape: Any, **defs: Any) -> Callable[[Doc], list[Any]]:
    """The shape in the root allOf, where it is evaluated against the whole answers document.

    ``defs`` go in "$defs": a shape used many times through $ref is large for the runtime and
    small in the file (the meta-schema check of a file with 10,000 schema objects takes seconds).
    """

    def make(doc: Doc) -> list[Any]:
        doc["schema"]["$defs"].update(defs)
        doc["schema"]["allOf"].append(shape)
        return ["schema", "allOf", 1]

    return make


def on_colours(shape: Any) -> Callable[[Doc], list[Any]]:
    """The shape on the checkbox answer, of MAX_ITEMS options: an answer of up to MAX_ITEMS items."""

    def make(doc: Doc) -> list[Any]:
        values = [f"c{i}" for i in range(MAX_ITEMS)]
        doc["schema"]["properties"]["pet_colours"]["items"]["enum"] = values
        doc["questions"]["pet_colours"]["options"] = {value: {"label": value} for value in values}
        doc["schema"]["properties"]["pet_colours"]["allOf"] = [shape]
        return ["schema", "properties", "pet_colours", "allOf", 0]

    return make


def ref_chain(keyword: str, levels: int) -> Callable[[Doc], list[Any]]:
    """Each level a $defs entry referring to the one before: the nesting hidden behind $ref."""

    def make(doc: Doc) -> list[Any]:
        defs = doc["schema"]["$defs"]
        defs["u0"] = {"type": "object"}
        for i in range(1, levels + 1):
            defs[f"u{i}"] = {"allOf": [{"$ref": f"#/$defs/u{i - 1}"}], keyword: True}
        doc["schema"]["allOf"].append({"$ref": f"#/$defs/u{levels}"})
        return ["schema", "$defs"]

    return make


def wide(keyword: str, width: int, depth: int, leaf: Any) -> Any:
    node = leaf
    for _ in range(depth):
        node = {keyword: [copy.deepcopy(node) for _ in range(width)]}
    return node


def chain(wrap: Callable[[Any], Any], depth: int, leaf: Any) -> Any:
    node = leaf
    for _ in range(depth):
        node = wrap(copy.deepcopy(node))
    return node


def fan_out(width: int, levels: int, leaf: Any) -> Callable[[Doc], list[Any]]:
    """One definition referred to from many places, each level ``width`` times the next."""

    def make(doc: Doc) -> list[Any]:
        defs = doc["schema"]["$defs"]
        for i in range(levels):
            defs[f"n{i}"] = {"anyOf": [{"$ref": f"#/$defs/n{i + 1}"}] * width}
        defs[f"n{levels}"] = leaf
        doc["schema"]["allOf"].append({"$ref": "#/$defs/n0"})
        return ["schema", "$defs"]

    return make


def show_if(shape: Any) -> Callable[[Doc], list[Any]]:
    def make(doc: Doc) -> list[Any]:
        page = next(i for i, p in enumerate(doc["pages"]) if "show_if" in p)
        doc["pages"][page]["show_if"] = shape
        return ["pages", page, "show_if"]

    return make


def routing_rule(shape: Any) -> Callable[[Doc], list[Any]]:
    def make(doc: Doc) -> list[Any]:
        page = next(i for i, p in enumerate(doc["pages"]) if p.get("next"))
        doc["pages"][page]["next"][0]["if"] = shape
        return ["pages", page, "next", 0, "if"]

    return make


FAILING = {"type": "string"}  # fails on an object: every branch makes an error

REFUSED = {
    # the issue's shape, and the same nesting through every keyword that re-descends
    "unevaluatedProperties through allOf, 20 levels": on_root(
        nested("unevaluatedProperties", 20, lambda n: {"allOf": [n]})
    ),
    "unevaluatedProperties through anyOf": on_root(nested("unevaluatedProperties", 20, lambda n: {"anyOf": [n]})),
    "unevaluatedProperties through oneOf": on_root(nested("unevaluatedProperties", 20, lambda n: {"oneOf": [n]})),
    "unevaluatedProperties through $ref": ref_chain("unevaluatedProperties", 15),
    "unevaluatedProperties in a show_if": show_if(
        nested("unevaluatedProperties", 20, lambda n: {"allOf": [n]}, {"type": "object"})
    ),
    "unevaluatedProperties in a routing rule": routing_rule(
        nested("unevaluatedProperties", 20, lambda n: {"anyOf": [n]}, {"type": "object"})
    ),
    "unevaluatedItems through allOf": on_colours(
        nested("unevaluatedItems", 20, lambda n: {"allOf": [n]}, {"type": "array"})
    ),
    "unevaluatedItems through if/then": on_colours(
        nested("unevaluatedItems", 20, lambda n: {"if": {"type": "array"}, "then": n}, {"type": "array"})
    ),
    "unevaluatedItems through $ref": ref_chain("unevaluatedItems", 15),
    # per-item schemas: evaluated once for each item of the answer
    "a large schema under items": on_colours({"items": wide("allOf", 100, 1, {"type": "string"})}),
    "a large schema under contains": on_colours({"contains": wide("anyOf", 100, 1, {"type": "integer"})}),
    "contains with minContains inside unevaluatedItems": on_colours(
        {"contains": wide("anyOf", 30, 1, {"type": "integer"}), "minContains": 2, "unevaluatedItems": False}
    ),
    "wide anyOf of anyOf under items": on_colours({"items": wide("anyOf", 10, 2, {"type": "integer"})}),
    # 44 failing branches for each of 1,000 items: 44,000 errors made and thrown away
    "a failing anyOf under items": on_colours({"items": {"anyOf": [{"type": "integer"}] * 44}}),
    "a failing anyOf under contains": on_colours({"contains": {"anyOf": [{"type": "integer"}] * 44}}),
    # expansion through references, as before
    "$ref fan-out of 10**6": fan_out(10, 6, FAILING),
}

BOUNDED = {
    "one unevaluatedProperties: false at the root": on_root({"unevaluatedProperties": False}),
    "unevaluatedProperties nested 5 deep": on_root(nested("unevaluatedProperties", 5, lambda n: {"allOf": [n]})),
    # find_evaluated_property_keys_by_schema searches then/else/dependentSchemas without
    # validating them again: quadratic in the nesting, not exponential
    "unevaluatedProperties through if/then, 20 levels": on_root(
        nested("unevaluatedProperties", 20, lambda n: {"if": {"type": "object"}, "then": n})
    ),
    "unevaluatedProperties through else, 20 levels": on_root(
        nested("unevaluatedProperties", 20, lambda n: {"if": {"type": "string"}, "else": n})
    ),
    "unevaluatedProperties through dependentSchemas, 20 levels": on_root(
        nested("unevaluatedProperties", 20, lambda n: {"dependentSchemas": {"full_name": n}})
    ),
    "wide anyOf of anyOf, every branch failing": on_root({"anyOf": [ref("row")] * 96}, row={"anyOf": [FAILING] * 99}),
    "oneOf of oneOf, every branch failing": on_root({"oneOf": [ref("row")] * 96}, row={"oneOf": [FAILING] * 99}),
    "9,700 failing checks on the whole answers document": on_root(
        {"allOf": [ref("hundred")] * 97}, hundred={"allOf": [FAILING] * 100}
    ),
    "$ref fan-out just under the limit": fan_out(14, 3, FAILING),
    "not nested 60 deep": on_root(chain(lambda n: {"not": n}, 60, FAILING)),
    "if/then/else nested 10 deep through $ref, 1,000 branches": on_root(
        ref("ite10"),
        ite0=FAILING,
        **{
            f"ite{i}": {"if": {"required": ["has_pet"]}, "then": ref(f"ite{i - 1}"), "else": ref(f"ite{i - 1}")}
            for i in range(1, 11)
        },
    ),
    "a small schema under items and contains": on_colours(
        {"items": {"allOf": [{"type": "string"}] * 10}, "contains": {"const": "c1"}, "maxContains": 1}
    ),
    "the largest failing anyOf under items": on_colours({"items": {"anyOf": [{"type": "integer"}] * 8}}),
    "uniqueItems on the longest answer": on_colours({"uniqueItems": True, "items": {"type": "string"}}),
    "dependentSchemas on every answer": on_root(
        {"dependentSchemas": {name: ref("many") for name in hostile_answers()}}, many={"allOf": [FAILING] * 500}
    ),
    "unevaluatedItems: false beside items": on_colours({"items": {"type": "string"}, "unevaluatedItems": False}),
}


def with_shape(make: Callable[[Doc], list[Any]]) -> tuple[Doc, list[Any]]:
    doc = sample_doc()
    where = make(doc)
    return doc, where


def json_path(parts: list[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


@pytest.mark.parametrize("name", list(REFUSED))
def test_the_worst_shapes_are_refused_by_the_checker_and_the_runtime(name: str) -> None:
    doc, where = with_shape(REFUSED[name])
    start = time.thread_time()
    problems = check(doc)
    assert time.thread_time() - start < 2
    assert len(problems) == 1, problems
    [problem] = problems
    assert problem.path.startswith(json_path(where)), problem
    assert f"{MAX_EVALUATION_COST:,}" in problem.message or f"{MAX_EXPANDED_SIZE:,}" in problem.message, problem
    # A definition stored before the rule: refused when compiled, in milliseconds (of CPU, as timed()).
    start = time.process_time()
    with pytest.raises(UnsafeDefinition, match="pet-licence version 1"):
        CompiledService(Definition(doc))
    assert time.process_time() - start < 0.5


@pytest.mark.parametrize("name", list(BOUNDED))
def test_accepted_shapes_validate_a_hostile_answers_document_in_bounded_time(name: str) -> None:
    doc, _ = with_shape(BOUNDED[name])
    assert check(doc) == []
    service = CompiledService(Definition(doc))
    took, errors = timed(service, hostile_answers())
    print(f"{name}: {took * 1000:.0f} ms")  # noqa: T201
    assert errors["full_name"] == "Your full name must be 100 characters or less"
    assert took < BOUND


def test_the_issues_definition_is_refused_by_validate_naming_the_path_and_what_to_change(tmp_path: Path) -> None:
    doc, _ = with_shape(REFUSED["unevaluatedProperties through allOf, 20 levels"])
    path = tmp_path / "pet-licence.json"
    path.write_text(dumps(doc), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 1
    [line] = result.stdout.strip().splitlines()
    file, where, message = line.split(": ", 2)
    assert file == str(path)
    assert where.startswith("$.schema.allOf[1].allOf[0]") and where.endswith(".unevaluatedProperties"), where
    assert message.startswith('"unevaluatedProperties" validates the answers again against every allOf')
    assert f"{MAX_EVALUATION_COST:,}" in message
    assert 'use "additionalProperties" instead, or "unevaluatedProperties" only at the outermost level' in message


def test_a_large_item_schema_is_refused_at_its_keyword() -> None:
    doc, _ = with_shape(REFUSED["a large schema under items"])
    [problem] = check(doc)
    assert problem.path == "$.schema.properties.pet_colours.allOf[0].items"
    assert problem.message.startswith(f'"items" is evaluated for each item of an answer (up to {MAX_ITEMS:,})')


def test_a_workflow_guard_or_any_schema_compiled_is_refused_too() -> None:
    # Guards are compiled through the same entry point as every schema.
    with pytest.raises(UnsafeDefinition, match="unevaluatedProperties"):
        _validator(nested("unevaluatedProperties", 30, lambda n: {"allOf": [n]}))


def test_unevaluated_properties_over_pattern_properties_is_never_run() -> None:
    # jsonschema matches patternProperties with Python's re (backtracking) when it looks for
    # evaluated keys: "^(a|aa)+$" on a 40-character key took minutes.
    shape = {"allOf": [{"patternProperties": {"^(a|aa)+$": True}}], "unevaluatedProperties": False}
    doc, _ = with_shape(on_root(shape))
    assert [(p.path, p.message) for p in check(doc)] == [
        (
            "$.schema.allOf[1].allOf[0].patternProperties",
            '"patternProperties" is not supported: name each answer in "properties"',
        )
    ]
    with pytest.raises(UnsafeDefinition, match="patternProperties"):
        CompiledService(Definition(doc))
    with pytest.raises(UnsafeDefinition, match="patternProperties"):
        _validator(shape)


def test_an_answer_of_more_items_than_any_question_has_options_is_refused_not_evaluated() -> None:
    doc = sample_doc()
    # An array answer with no bound of its own (no uniqueItems over an enum, no maxItems):
    # cut at MAX_ITEMS, with its own error.
    del doc["schema"]["properties"]["pet_colours"]["uniqueItems"]
    service = CompiledService(Definition(doc))
    values = ["black"] + [f"c{i}" for i in range(16_000)]
    took, errors = timed(service, {"pet_colours": values})
    assert errors["pet_colours"] == f"Select no more than {MAX_ITEMS} options for the colours of your cat"
    assert took < BOUND
    # At the limit the answer is checked as before: a value that is not an option.
    assert service.validate({"pet_colours": values[:MAX_ITEMS]})["pet_colours"] == "Select the colours of your cat"
    # A checkbox answer (3 options, each at most once) is cut at 4 items: the real error shows.
    service = CompiledService(Definition(sample_doc()))
    took, errors = timed(service, {"pet_colours": values})
    assert errors["pet_colours"] == "Select the colours of your cat"
    assert took < BOUND


def test_the_shipped_definitions_stay_well_under_the_limit() -> None:
    for path in sorted(Path("form_definitions").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert check(doc) == [], path
        # As the checker and the runtime count it: the whole answers document, each top-level
        # array answer cut to its bound (an add-another question's items to maxItems + 1).
        assert _Cost(doc["schema"], answers=True).total() < MAX_EVALUATION_COST / 10, path


def test_a_schema_too_large_to_check_is_refused_before_the_meta_schema_reads_it() -> None:
    # 30,000 objects fit in a 512 KB file; the draft 2020-12 meta-schema took 10 s to read them.
    doc = sample_doc()
    doc["schema"]["$defs"]["unused"] = {"allOf": [{"type": "string"} for _ in range(30_000)]}
    start = time.thread_time()
    [problem] = check(doc)
    assert time.thread_time() - start < 1
    assert problem.path == "$.schema"
    count, rest = problem.message.split(" ", 1)
    assert 30_000 < int(count.replace(",", "")) < 30_100
    assert rest == (
        f"schema objects is too many; the limit is {MAX_EXPANDED_SIZE:,}: "
        "split the service, or put a schema used in many places in $defs once"
    )


def test_unique_items_is_one_pass_and_keeps_json_equality() -> None:
    # jsonschema compares items it cannot sort (objects, mixed types) pair by pair: 0.9 s for 1,000.
    validator = _validator({"uniqueItems": True})
    many = [{"a": i, "b": [i, str(i)]} for i in range(MAX_ITEMS)]
    # CPU time of this process, not the wall clock: a loaded CI machine (seen: 1.2 s of wall time)
    # must not fail a one-pass check, while pair by pair still costs seconds of CPU.
    start = time.process_time()
    assert validator.is_valid(many)
    assert not validator.is_valid([*many, {"b": [7, "7"], "a": 7}])
    assert time.process_time() - start < 0.5  # pair by pair: 0.9 s for each of the two
    assert not validator.is_valid([1, 1.0])
    assert validator.is_valid([1, True]) and validator.is_valid([0, False]) and validator.is_valid([None, False])
    assert validator.is_valid([[1], [True]]) and not validator.is_valid([[1], [1.0]])
    assert validator.is_valid(["1", 1]) and not validator.is_valid(["a", "b", "a"])


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"$dynamicRef": "#x", "$dynamicAnchor": "x"}, "$dynamicRef"),
        ({"allOf": [{"$anchor": "a"}, {"$ref": "#a"}]}, "$anchor"),
        ({"properties": {"a": {"$ref": "https://example.org/s.json"}}}, "$ref"),
    ],
)
def test_references_the_estimate_cannot_follow_are_never_compiled(schema: Doc, where: str) -> None:
    # A stored definition that skipped the checker: the runtime refuses it rather than guess.
    with pytest.raises(UnsafeDefinition, match=re.escape(where)):
        _validator(schema)


def test_a_workflow_guard_is_checked_for_its_cost() -> None:
    from tests.core.test_workflow import grant_section

    doc = sample_doc()
    doc["workflow"] = grant_section()
    guard = nested("unevaluatedProperties", 20, lambda n: {"allOf": [n]}, {"type": "object"})
    doc["workflow"]["transitions"][0]["guard"] = guard
    problems = [p for p in check(doc) if p.path.startswith("$.workflow.transitions[0].guard")]
    assert len(problems) == 1, problems
    assert problems[0].path.endswith(".unevaluatedProperties")
    assert f"{MAX_EVALUATION_COST:,}" in problems[0].message


# -- checkbox answers cut to what their question allows -------------------------------------------
# Each checkbox question's item schema used to count MAX_ITEMS times, so about 48 of them went
# over the limit. A checkbox answer longer than its options (each chosen once) is invalid, and so
# is one longer than its maxItems: cut to one more than that, it stays invalid, and its item
# schema counts that many times.


def survey(questions: int, options: int = 5) -> Doc:
    """The sample service with ``questions`` checkbox questions of ``options`` options each."""
    doc = sample_doc()
    names = [f"q{i:03}" for i in range(questions)]
    for i, name in enumerate(names):
        values = [f"o{k}" for k in range(options)]
        doc["schema"]["properties"][name] = {
            "type": "array",
            "items": {"type": "string", "enum": values},
            "uniqueItems": True,
        }
        doc["questions"][name] = {
            "label": f"Question {i}?",
            "error_name": f"the answer to question {i}",
            "widget": "checkboxes",
            "options": {value: {"label": f"Option {value}"} for value in values},
        }
    for start in range(0, questions, 10):
        doc["pages"].append({"id": f"survey-{start}", "questions": names[start : start + 10]})
    return doc


def test_a_long_survey_of_checkbox_questions_is_accepted_and_a_hostile_post_validates_quickly() -> None:
    doc = survey(200)
    assert check(doc) == []
    service = CompiledService(Definition(doc))
    assert _Cost(doc["schema"], answers=True).total() <= MAX_EVALUATION_COST
    answers = hostile_answers()
    for i in range(200):
        # 1,000 values each: duplicates of an option, or values that are not options.
        answers[f"q{i:03}"] = ["o1"] * MAX_ITEMS if i % 2 else [f"x{k}" for k in range(MAX_ITEMS)]
    took, errors = timed(service, answers)
    print(f"200 checkbox questions: {took * 1000:.0f} ms")  # noqa: T201
    assert took < BOUND
    assert errors["full_name"] == "Your full name must be 100 characters or less"
    assert errors["pet_colours"] == "Select the colours of your cat"
    for i in range(200):
        if i % 2:
            assert errors[f"q{i:03}"] == f"Check the answer to question {i}", i  # a duplicate
        else:
            assert errors[f"q{i:03}"] == f"Select the answer to question {i}", i  # not an option
    # The same answers, each within its question's options, are accepted on those questions.
    fine = {f"q{i:03}": [f"o{k}" for k in range(i % 6)] for i in range(200)}
    errors = service.validate(fine)
    assert not [name for name in errors if name.startswith("q")], errors


def test_a_checkbox_answer_of_a_thousand_duplicates_is_cut_and_refused_with_the_normal_message() -> None:
    service = CompiledService(Definition(sample_doc()))
    assert answer_bounds(service.definition.schema) == {"pet_colours": 4}
    errors = service.validate({"pet_colours": ["ginger"] * MAX_ITEMS})
    assert errors["pet_colours"] == service.validate({"pet_colours": ["ginger", "ginger"]})["pet_colours"]
    assert errors["pet_colours"] == "Check the colours of your cat"
    # Three distinct options pass: the cut never refuses what the question allows.
    assert "pet_colours" not in service.validate({"pet_colours": ["ginger", "black", "white"]})


def test_max_items_bounds_an_array_without_options() -> None:
    doc = sample_doc()
    colours = doc["schema"]["properties"]["pet_colours"]
    colours["items"] = {"type": "string", "maxLength": 20}
    colours["maxItems"] = 2
    del colours["uniqueItems"]
    assert answer_bounds(doc["schema"]) == {"pet_colours": 3}
    service = CompiledService(Definition(doc))
    errors = service.validate({"pet_colours": [f"c{i}" for i in range(16_000)]})
    assert errors["pet_colours"] == "Select no more than 2 options for the colours of your cat"
    assert "pet_colours" not in service.validate({"pet_colours": ["a", "b"]})
    # Its per-item schema counts 3 times, not MAX_ITEMS: a large one is accepted there, by the
    # estimate the checker refuses by (not a checkbox question: no enum) and by the runtime.
    colours["items"] = {"allOf": [{"type": "string", "maxLength": 20}] * 400}
    assert expansion_problems(doc["schema"], answers=True) == []
    CompiledService(Definition(doc))
    colours["maxItems"] = 200  # 201 x 400: over the limit, named at its keyword
    [(where, message)] = expansion_problems(doc["schema"], answers=True)
    assert where == ["properties", "pet_colours", "items"]
    assert message.startswith('"items" is evaluated for each item of an answer (up to 201)')
    with pytest.raises(UnsafeDefinition, match="pet_colours"):
        CompiledService(Definition(doc))


# A schema under "items" costing 400: 400 x 4 for a top-level checkbox question, but 400 x 1,000
# wherever the answer is not cut to its options.
EXPENSIVE_ITEMS = {"type": "string", "enum": ["black", "white", "ginger"], "allOf": [{"maxLength": 20}] * 400}
CHECKBOX = {"type": "array", "uniqueItems": True, "items": EXPENSIVE_ITEMS}


@pytest.mark.parametrize(
    "place",
    [
        "a top-level property",
        "inside allOf at the root",
        "under $defs through $ref",
        "a top-level property through $ref",
        "a show_if",
        "a routing rule",
    ],
)
def test_only_a_top_level_answer_cut_to_its_options_counts_its_items_fewer_times(place: str) -> None:
    doc = sample_doc()
    schema = doc["schema"]
    if place == "a top-level property":
        schema["properties"]["pet_colours"] = copy.deepcopy(CHECKBOX)
    elif place == "inside allOf at the root":
        # The same answer, but a cut only applies to what the top-level property schema sees.
        schema["allOf"].append({"properties": {"pet_colours": copy.deepcopy(CHECKBOX)}})
    elif place == "under $defs through $ref":
        schema["$defs"]["colours"] = copy.deepcopy(CHECKBOX)
        schema["properties"]["address"] = {"allOf": [{"$ref": "#/$defs/uk_address"}], "properties": {}}
        schema["properties"]["address"]["properties"]["colours"] = {"$ref": "#/$defs/colours"}
    elif place == "a top-level property through $ref":
        schema["$defs"]["colours"] = copy.deepcopy(CHECKBOX)
        schema["properties"]["pet_colours"] = {"$ref": "#/$defs/colours"}
    elif place == "a show_if":
        show_if({"properties": {"pet_colours": copy.deepcopy(CHECKBOX)}})(doc)
    else:
        routing_rule({"properties": {"pet_colours": copy.deepcopy(CHECKBOX)}})(doc)
    if place == "a top-level property":
        assert check(doc) == []
        CompiledService(Definition(doc))
        return
    problems = check(doc)
    assert problems and f"{MAX_EVALUATION_COST:,}" in problems[0].message, problems
    assert "(up to 1,000)" in problems[0].message, problems
    with pytest.raises(UnsafeDefinition):
        CompiledService(Definition(doc))


def test_a_top_level_checkbox_schema_also_used_elsewhere_counts_in_full_there() -> None:
    # One object reached two ways (possible in a schema built in Python): the top-level use is cut,
    # the use through allOf sees the same answers cut too, but a nested array is not: MAX_ITEMS.
    doc = sample_doc()
    shared = copy.deepcopy(CHECKBOX)
    doc["schema"]["properties"]["pet_colours"] = shared
    doc["schema"]["properties"]["address"] = {"properties": {"colours": shared}}
    with pytest.raises(UnsafeDefinition):
        CompiledService(Definition(doc))
    assert _Cost(doc["schema"], answers=True).total() > MAX_EVALUATION_COST

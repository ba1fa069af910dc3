"""Routing on every page stays cheap to check, and the trap prover stays sound within its budget.

Issue 13, finding 2: with "if the previous page's answer is yes, go to the end" on every page,
page conditions were expanded into a tree that doubled with each page (check() 31 s at 20
pages). These tests build 100 such pages; each finishes in well under a second.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from bench.routing_scale import no_earlier_yes, routed_service, yes
from builder import operations
from builder.conditions import EditError
from runtime.checker import check
from runtime.definition import Definition, dumps, read_file
from runtime.dialect import CivicValidator
from runtime.journey import Journey
from runtime.validation import compiled
from runtime.visibility import (
    STEPS,
    ConditionTooLarge,
    Prover,
    condition_size,
    page_conditions,
    trap_problems,
    visibility_condition,
)

PAGES = 100
DETAILS = "$.schema.allOf[0].then.required[0]"


def skipping(pages: int, skip: int, **kwargs: Any) -> dict[str, Any]:
    """The routed service, but each page's rule jumps ``skip`` pages ahead rather than to the end."""
    doc = routed_service(pages, **kwargs)
    for i in range(1, pages):
        goto = f"page-{i + skip}" if i + skip < pages else "your-details"
        doc["pages"][i]["next"] = [{"if": yes(f"answer_{i - 1}"), "goto": goto}]
    return doc


def test_a_hundred_pages_routed_to_the_end_pass_the_checker(tmp_path: Path) -> None:
    doc = routed_service(PAGES)
    # Each page's condition is "no earlier answer is yes", written out in a line per page.
    assert visibility_condition(doc, "page-99") == no_earlier_yes(98)
    assert visibility_condition(doc, "page-2") == {"not": yes("answer_0")}
    assert visibility_condition(doc, "page-1") is None and visibility_condition(doc, "your-details") is None
    assert condition_size(page_conditions(doc)["page-99"]) == (2 + 98 * 7, 7)
    assert check(doc) == []
    # The definition is a file that loads (within the file size and nesting limits).
    file = tmp_path / f"{doc['id']}.json"
    file.write_text(dumps(doc), encoding="utf-8")
    assert read_file(file) == doc


def test_a_real_trap_among_a_hundred_routed_pages_is_still_found() -> None:
    """Required unless one of the first 97 answers is yes: but a yes to the 98th skips the page too."""
    doc = routed_service(PAGES, required_if=no_earlier_yes(97))
    problems = check(doc)
    assert [p.path for p in problems] == [DETAILS]
    assert '"details" is required when its page "page-99" may not be asked' in problems[0].message
    assert "make the if match the page's condition" in problems[0].message

    # And it is a real trap: the citizen who answers yes on page 98 is sent to the end, never
    # sees "details", and cannot send the form.
    answers: dict[str, Any] = {f"answer_{k}": False for k in range(97)} | {"answer_97": True, "full_name": "Ann"}
    journey = Journey(compiled(Definition(doc)), answers)
    assert [p.id for p in journey.path][-3:] == ["page-97", "page-98", "your-details"]
    assert "details" in journey.errors


def test_the_journey_over_a_hundred_routed_pages() -> None:
    service = compiled(Definition(routed_service(PAGES)))
    every_no = {f"answer_{k}": False for k in range(PAGES)} | {"full_name": "Ann", "details": "More"}
    assert len(Journey(service, every_no).path) == PAGES + 1
    assert Journey(service, every_no).complete
    yes_at_50 = every_no | {"answer_50": True}
    journey = Journey(service, yes_at_50)
    assert [p.id for p in journey.path] == [f"page-{i}" for i in range(52)] + ["your-details"]
    # Page 99 was not asked, so its required answer is not needed and not kept.
    assert journey.complete and "details" not in journey.visible_answers


def adversarial() -> dict[str, Any]:
    """True, but only after more steps than the budget: every page has a show-if, and the if
    lists 300 conditions that do not help before the ones that do."""
    first = {"properties": {"answer_0": {"const": False}}, "required": ["answer_0"]}
    noise = [
        {"not": {"properties": {f"answer_{k % PAGES}": {"const": f"maybe {k}"}}, "required": [f"answer_{k % PAGES}"]}}
        for k in range(300)
    ]
    doc = routed_service(PAGES, required_if={"allOf": [*noise, *no_earlier_yes(98)["allOf"], first]})  # type: ignore[index]
    for page in doc["pages"][1:PAGES]:
        page["show_if"] = first
    return doc


def test_past_its_budget_the_prover_answers_not_proven_with_what_to_change() -> None:
    doc = adversarial()
    problems = trap_problems(doc)  # what check() reports once the rest is right (check_file too)
    assert [p.path for p in problems] == [DETAILS]
    assert problems[0].message == (
        f'"details" is required, but the checker could not prove within its limit of {STEPS:,} steps that its '
        'page "page-99" is always asked when it is; make the if match the page\'s condition, or simplify the '
        "routing before the page"
    )
    # Not a false trap report: given steps enough, it is proven; the budget decides, not the shape.
    prover = Prover(steps=10**7, total=10**7)
    requirement = doc["schema"]["allOf"][0]["if"]
    assert prover.implies(requirement, page_conditions(doc)["page-99"])
    assert prover.left < 10**7 - STEPS
    # The cure the message gives works: the page's own condition as the if.
    doc["schema"]["allOf"][0]["if"] = visibility_condition(doc, "page-99")
    assert trap_problems(doc) == []


def test_a_condition_chained_deeper_than_a_file_can_hold_is_proven_but_not_written() -> None:
    """Each rule skips one page: page 99's condition nests through every page before it."""
    doc = skipping(PAGES, 2)
    with pytest.raises(ConditionTooLarge, match='the routing before page "page-99" is too complex'):
        visibility_condition(doc, "page-99")
    assert condition_size(page_conditions(doc)["page-99"])[1] > 64  # deeper than a definition file may nest
    # "No earlier answer is yes" still implies the page is asked, and the prover sees it.
    assert trap_problems(doc) == []
    doc["schema"]["allOf"][0]["if"] = no_earlier_yes(97)
    assert [p.path for p in trap_problems(doc)] == [DETAILS]
    # The builder says why it cannot require an answer on that page; other edits still work.
    doc["schema"]["allOf"] = []
    with pytest.raises(EditError) as refused:
        operations.add_question(doc, page="page-99", widget="text", label="Your reason")
    assert refused.value.field == "page"
    assert "The routing before page 'Page 100' is too complex" in refused.value.message
    added = operations.add_question(doc, page="page-99", widget="text", label="Your reason", required=False)
    assert "your_reason" in added["questions"]


def test_a_longer_chain_of_routing_answers_not_proven_rather_than_failing() -> None:
    """300 pages chained: too deep to reason about on the stack, and that is "not proven", not a crash."""
    problems = trap_problems(skipping(300, 2))
    assert [p.path for p in problems] == [DETAILS]
    assert "could not prove" in problems[0].message


# -- the shared conditions mean what the journey does -----------------------------------------


def random_service(rng: random.Random, pages: int) -> dict[str, Any]:
    """Small services with random show-ifs and routing (several rules a page, any forward target)."""
    doc = routed_service(pages)
    doc["schema"]["allOf"] = []
    for i in range(pages):
        page = doc["pages"][i]
        page.pop("next", None)
        earlier = [f"answer_{k}" for k in range(i)]
        if earlier and rng.random() < 0.3:
            page["show_if"] = {"properties": {rng.choice(earlier): {"const": rng.random() < 0.5}}}
            page["show_if"]["required"] = list(page["show_if"]["properties"])
        rules = []
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            asked = rng.choice([*earlier, f"answer_{i}"])
            target = rng.randint(i + 1, pages)
            rules.append(
                {
                    "if": {"properties": {asked: {"const": rng.random() < 0.5}}, "required": [asked]},
                    "goto": f"page-{target}" if target < pages else "your-details",
                }
            )
        if rules:
            page["next"] = rules
    return doc


@pytest.mark.parametrize("seed", range(8))
def test_page_conditions_match_the_journey_for_random_routing(seed: int) -> None:
    rng = random.Random(seed)
    pages = 6
    doc = random_service(rng, pages)
    service = compiled(Definition(doc))
    written = {p["id"]: visibility_condition(doc, p["id"]) for p in doc["pages"]}
    conditions = {page_id: None if c is None else CivicValidator(c) for page_id, c in written.items()}
    for values in itertools.product([True, False, None], repeat=pages):
        answers = {f"answer_{k}": v for k, v in enumerate(values) if v is not None}
        journey = Journey(service, answers)
        shown = {p.id for p in journey.path}
        for page_id, condition in conditions.items():
            holds = condition is None or condition.is_valid(journey.visible_answers)
            assert holds == (page_id in shown), (seed, page_id, answers)


def test_routing_it_cannot_read_is_passed_over_not_a_crash() -> None:
    """Drafts are read before they are checked: odd routing counts for nothing, and nothing fails."""
    rule = {"if": {"required": ["x"]}, "goto": "d"}
    doc = {
        "pages": [
            {"id": "a", "questions": ["x"], "next": "nonsense"},
            {"id": "b", "next": [None, {"goto": "c"}, {"if": True, "goto": ["c"]}, {"if": True, "goto": "?"}, rule]},
            "not a page",
            {"id": "c", "show_if": {}},
            {"id": "d", "show_if": True},
        ],
        "schema": {"required": ["x"]},
    }
    assert page_conditions(doc) == {"a": None, "b": None, "c": {"not": {"required": ["x"]}}, "d": None}
    assert trap_problems(doc) == []
    assert page_conditions({}) == {} and page_conditions({"pages": "none"}) == {}
    with pytest.raises(KeyError):
        visibility_condition(doc, "not a page")

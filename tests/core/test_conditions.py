"""Page conditions and routing: which pages a citizen is asked, and which answers survive.

All of it through the pure ``runtime.journey.Journey``.
"""

from __future__ import annotations

from typing import Any

from runtime.definition import Definition
from runtime.journey import Journey
from runtime.validation import CompiledService, compiled
from tests.core.sample import complete_answers, sample_doc

ALL_PAGES = [
    "where-you-live",
    "about-you",
    "your-pet",
    "pet-details",
    "cat-colours",
    "your-address",
    "contact",
    "numbers",
]


def service() -> CompiledService:
    return compiled(Definition(sample_doc()))


def journey(answers: dict[str, Any], cs: CompiledService | None = None) -> Journey:
    return Journey(cs or service(), answers)


def path_ids(answers: dict[str, Any]) -> list[str]:
    return [p.id for p in journey(answers).path]


def test_with_no_answers_only_unconditional_pages_and_the_default_route() -> None:
    # Conditions that need an answer not given yet are false; routing rules do not match.
    assert path_ids({}) == [p for p in ALL_PAGES if p != "cat-colours"]


def test_show_if_true_asks_the_page() -> None:
    assert path_ids(complete_answers()) == ALL_PAGES


def test_show_if_false_skips_the_page() -> None:
    assert path_ids(complete_answers() | {"pet_kind": "dog"}) == [p for p in ALL_PAGES if p != "cat-colours"]


def test_routing_skips_the_pages_in_between() -> None:
    answers = {"lives_in_area": True, "has_pet": False}
    assert path_ids(answers) == ["where-you-live", "about-you", "your-pet", "your-address", "contact", "numbers"]


def test_the_first_matching_rule_wins() -> None:
    doc = sample_doc()
    doc["pages"][3]["next"] = [
        {"if": {"properties": {"has_pet": {"const": True}}, "required": ["has_pet"]}, "goto": "contact"},
        {"if": True, "goto": "your-address"},
    ]
    cs = compiled(Definition(doc))
    assert [p.id for p in journey({"has_pet": True}, cs).path][-3:] == ["your-pet", "contact", "numbers"]
    assert [p.id for p in journey({"has_pet": False}, cs).path][-4:] == [
        "your-pet",
        "your-address",
        "contact",
        "numbers",
    ]


def test_a_stop_page_ends_the_path() -> None:
    assert path_ids(complete_answers() | {"lives_in_area": False}) == ["where-you-live", "not-in-area"]


def test_a_stale_answer_on_a_skipped_page_does_not_steer() -> None:
    # The citizen said "cat" and then went back and said they have no pet: routing skips
    # pet-details, so the old "cat" must not bring back the cat-colours page.
    answers = complete_answers() | {"has_pet": False}
    assert path_ids(answers) == ["where-you-live", "about-you", "your-pet", "your-address", "contact", "numbers"]


def test_a_stale_answer_behind_a_stop_page_does_not_count() -> None:
    answers = complete_answers() | {"lives_in_area": False}
    assert journey(answers).visible_answers == {"lives_in_area": False}


def test_visible_answers_removes_answers_of_hidden_pages() -> None:
    answers = complete_answers() | {"has_pet": False}
    visible = journey(answers).visible_answers
    assert visible == {k: v for k, v in answers.items() if k not in ("pet_kind", "pet_count", "pet_colours")}
    # ... and what is left is a valid submission.
    assert service().validate(visible) == {}


def test_visible_answers_keeps_everything_on_the_path() -> None:
    assert journey(complete_answers()).visible_answers == complete_answers()


def test_visible_answers_drops_answers_to_no_question() -> None:
    assert "is_admin" not in journey(complete_answers() | {"is_admin": True}).visible_answers


# -- page_errors ------------------------------------------------------------------------------


def test_page_errors_reports_only_the_page_s_own_fields() -> None:
    cs = service()
    about_you = cs.definition.page_by_id["about-you"]
    # Everything else is missing too, but only this page's questions are the citizen's to fix now.
    assert Journey(cs, {"full_name": "Jane Smith"}).page_errors(about_you) == {"date_of_birth": "Enter date of birth"}


def test_page_errors_respects_cross_field_rules_from_earlier_pages() -> None:
    cs = service()
    details = cs.definition.page_by_id["pet-details"]
    assert Journey(cs, {"has_pet": True}).page_errors(details) == {
        "pet_kind": "Select the kind of pet",
        "pet_count": "Enter the number of pets",
    }
    assert Journey(cs, {"has_pet": True, "pet_kind": "dog", "pet_count": 2}).page_errors(details) == {}


def test_page_errors_ignores_a_then_block_whose_condition_is_on_a_hidden_page() -> None:
    doc = sample_doc()
    # Require a phone number of those who have a pet; then hide the has_pet answer behind a stop page.
    doc["schema"]["allOf"].append(
        {"if": {"properties": {"has_pet": {"const": True}}, "required": ["has_pet"]}, "then": {"required": ["phone"]}}
    )
    cs = compiled(Definition(doc))
    contact = cs.definition.page_by_id["contact"]
    answers = {"lives_in_area": True, "has_pet": True, "email": "jane@example.com"}
    assert Journey(cs, answers).page_errors(contact) == {"phone": "Enter phone number"}
    # After a stop page, the has_pet answer is not "visible": the rule no longer applies.
    answers = {"lives_in_area": False, "has_pet": True, "email": "jane@example.com"}
    assert Journey(cs, answers).page_errors(contact) == {}


def test_page_errors_checks_the_page_s_own_answers_as_posted() -> None:
    cs = service()
    contact = cs.definition.page_by_id["contact"]
    assert Journey(cs, {"email": "nope", "phone": "01632 960 001"}).page_errors(contact) == {
        "email": "Enter your email address in the correct format, like name@example.com"
    }


# -- the compiled cache ----------------------------------------------------------------------------


def test_compiled_is_cached_per_definition_version_and_content() -> None:
    first = compiled(Definition(sample_doc()))
    assert compiled(Definition(sample_doc())) is first

    changed = sample_doc()
    changed["questions"]["full_name"]["label"] = "What is your name?"
    other = compiled(Definition(changed))
    assert other is not first
    assert other.definition.hash != first.definition.hash
    # The first one is still there for submissions made against it.
    assert compiled(Definition(sample_doc())) is first


def test_compiled_keys_on_the_version_too() -> None:
    bumped = sample_doc() | {"version": 2}
    assert compiled(Definition(bumped)) is not compiled(Definition(sample_doc()))

"""The journey: next and previous page, can-visit, the first gap, computed once per answers."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.definition import Definition, Page
from runtime.journey import Journey
from runtime.validation import CompiledService, compiled
from tests.core.sample import complete_answers, sample_doc


def service() -> CompiledService:
    return compiled(Definition(sample_doc()))


def page(page_id: str) -> Page:
    return service().definition.page_by_id[page_id]


def ids(pages: list[Page | None]) -> list[str | None]:
    return [p.id if p is not None else None for p in pages]


def test_next_and_previous_follow_the_path() -> None:
    journey = Journey(service(), complete_answers() | {"has_pet": False})
    assert ids([journey.next_page(page("your-pet"))]) == ["your-address"]  # routing skips the pet pages
    assert ids([journey.previous_page(page("your-address"))]) == ["your-pet"]
    assert journey.previous_page(page("where-you-live")) is None  # the start page comes before
    assert journey.next_page(page("numbers")) is None  # check answers comes next
    assert journey.last_page.id == "numbers"


def test_a_page_off_the_path_has_no_neighbours_and_cannot_be_visited() -> None:
    journey = Journey(service(), complete_answers() | {"has_pet": False})
    hidden = page("pet-details")
    assert not journey.on_path(hidden)
    assert not journey.can_visit(hidden)
    assert journey.next_page(hidden) is None
    assert journey.previous_page(hidden) is None


def test_pages_up_to_the_first_gap_can_be_visited() -> None:
    journey = Journey(service(), {"lives_in_area": True, "full_name": "Jane Smith"})
    assert journey.first_incomplete is not None and journey.first_incomplete.id == "about-you"
    assert not journey.complete
    assert journey.can_visit(page("where-you-live"))
    assert journey.can_visit(page("about-you"))
    assert not journey.can_visit(page("your-pet"))  # not reached yet


def test_complete_answers_leave_no_gap() -> None:
    journey = Journey(service(), complete_answers())
    assert journey.first_incomplete is None
    assert journey.complete
    assert all(journey.can_visit(p) for p in journey.path)


def test_a_stop_page_is_always_the_gap() -> None:
    journey = Journey(service(), complete_answers() | {"lives_in_area": False})
    assert journey.first_incomplete is not None and journey.first_incomplete.id == "not-in-area"


def test_answering_a_page_replaces_its_answers_and_keeps_hidden_ones() -> None:
    journey = Journey(service(), complete_answers())
    answered = journey.answer(page("your-pet"), {"has_pet": False})
    assert answered is not journey and journey.answers["has_pet"] is True  # the original is untouched
    # The cat is kept (changing back loses nothing), but is neither visible nor on the path.
    assert answered.answers["pet_kind"] == "cat"
    assert "pet_kind" not in answered.visible_answers
    assert "pet-details" not in ids(answered.path)
    # A question the citizen clears is gone.
    assert "phone" not in journey.answer(page("contact"), {"email": "a@example.com"}).answers


def test_the_path_and_the_validation_are_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    cs = service()
    calls: list[Any] = []
    original = cs.validate
    monkeypatch.setattr(cs, "validate", lambda answers: calls.append(answers) or original(answers))
    journey = Journey(cs, complete_answers())
    for _ in range(3):
        assert journey.first_incomplete is None
        assert journey.errors == {}
        assert journey.path is journey.path
        assert journey.can_visit(page("contact"))
    assert len(calls) == 1


def test_the_journey_is_pure_and_takes_any_mapping() -> None:
    answers = complete_answers()
    journey = Journey(service(), answers)
    journey.answers["full_name"] = "Someone Else"
    assert answers["full_name"] == "Jane Smith"

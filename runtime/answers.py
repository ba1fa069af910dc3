"""Turning posted form fields into typed answers, and answers back into what a page shows.

Only the fields of the page's own questions are read: anything else a tampered post sends
is ignored, and values that do not fit are kept as given so that validation can say why.
Each widget type knows its own way (``runtime.widgets``); these functions dispatch to it.
"""

from __future__ import annotations

from typing import Any

from .definition import Definition
from .questions import Question
from .widgets import FormData, clean_text, normalise_postcode

__all__ = ["FormData", "clean_text", "display", "normalise_postcode", "parse_page", "parse_question", "to_raw"]


def parse_question(definition: Definition, name: str, form: FormData) -> tuple[Any, dict[str, Any]]:
    """Read one question from a post: ``(value or None when unanswered, raw form values)``."""
    return definition.widget_of(name).parse(_question(definition, name), form)


def parse_page(definition: Definition, questions: list[str], form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a page's questions: ``(answers, raw)``; unanswered questions are left out."""
    answers: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for name in questions:
        value, raw_one = parse_question(definition, name, form)
        raw.update(raw_one)
        if value is not None:
            answers[name] = value
    return answers, raw


def to_raw(definition: Definition, name: str, value: Any) -> dict[str, Any]:
    """The form values that show a stored answer again (the inverse of parse_question)."""
    if value is None:
        return {}
    return definition.widget_of(name).to_raw(_question(definition, name), value)


def display(definition: Definition, name: str, value: Any) -> list[str]:
    """An answer as lines of text for "Check your answers" and the back office."""
    if value is None:
        return []
    return definition.widget_of(name).display(_question(definition, name), value)


def _question(definition: Definition, name: str) -> Question:
    """The question a widget reads; a name the definition does not ask is read as plain text."""
    if name in definition.questions:
        return definition.question(name)
    return Question(name=name, label=name, widget="text")

"""Rendering decisions: which GOV.UK Frontend component asks each question, with what params.

This is the one place where a definition's questions become component parameters (each
widget type's ``view``, in ``runtime.widgets``); the Jinja macro ``components/question.html``
only passes them on to govuk-frontend-jinja, so the runtime and the builder's preview render
alike.
"""

from __future__ import annotations

from typing import Any

from .definition import Definition
from .widgets import WIDTHS, html_id

__all__ = ["WIDTHS", "anchor", "error_summary", "html_id", "question_view"]


def anchor(definition: Definition, path: str) -> str:
    """Where an error summary link for a field path should land."""
    name = path.split(".")[0]
    if name not in definition.questions:
        return f"#{html_id(path)}"
    return definition.widget_of(name).anchor(name, path)


def error_summary(definition: Definition, errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"text": message, "href": anchor(definition, path)} for path, message in errors.items()]


def question_view(
    definition: Definition, name: str, raw: dict[str, Any], errors: dict[str, str], as_heading: bool
) -> dict[str, Any]:
    """``{"macro": <govuk macro name>, "params": {...}}`` for one question."""
    return definition.widget_of(name).view(definition, name, raw, errors, as_heading)

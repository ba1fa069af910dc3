"""Rendering decisions: which GOV.UK Frontend component asks each question, with what params.

This is the one place where a definition's questions become component parameters (each
widget type's ``view``, in ``runtime.widgets``); the Jinja macro ``components/question.html``
only passes them on to govuk-frontend-jinja, so the runtime and the builder's preview render
alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import answers as answer_forms
from .definition import Definition, Page
from .questions import Question
from .widgets import WIDTHS, html_id

__all__ = ["WIDTHS", "anchor", "error_summary", "html_id", "question_view"]


def anchor(definition: Definition, path: str) -> str:
    """Where an error summary link for a field path should land (an add-another item's field:
    where it is on the item's own page)."""
    item = definition.item_field(path)
    if item is not None:
        return anchor(definition.item_definition(item[0]), item[2])
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
    return definition.widget_of(name).view(definition.question(name), raw, errors, as_heading)


def summary_rows(
    definition: Definition,
    pages: Iterable[Page],
    answers: Mapping[str, Any],
    change_url: Callable[[Page], str] | None = None,
) -> list[dict[str, Any]]:
    """The GOV.UK summary list rows of a journey's answers, page by page, as the citizen gave them.

    With ``change_url`` each row links back to its question (check answers); without, the rows
    only show the answers (staff reading a case).
    """
    rows = []
    for page in pages:
        for name in page.questions:
            lines = answer_forms.display(definition, name, answers.get(name))
            row: dict[str, Any] = {
                "key": {"text": definition.short_label(name)},
                "value": {"lines": lines or ["Not answered"]},
            }
            if change_url is None:
                row["table"] = item_table(definition, name, answers.get(name))
            if change_url is not None:
                row["href"] = change_url(page) + anchor(definition, name)
                row["visually_hidden"] = definition.short_label(name).lower()
            rows.append(row)
    return rows


# -- add another: the items as a table, and as spreadsheet columns ----------------------------------


def _items(definition: Definition, name: str) -> list[Question]:
    return list(definition.question(name).items) if definition.widget(name) == "add-another" else []


def item_table(definition: Definition, name: str, value: Any) -> dict[str, Any] | None:
    """An add-another answer as a table for staff (None for any other question, or no item): a
    column per item question, a row per item."""
    asked = _items(definition, name) if name in definition.questions else []
    if not asked or not isinstance(value, list) or not value:
        return None
    each = definition.item_definition(name)
    rows = []
    for item in value:
        values = item if isinstance(item, dict) else {}
        rows.append([", ".join(answer_forms.display(each, q.name, values.get(q.name))) for q in asked])
    return {"caption": definition.short_label(name), "head": [q.short_label for q in asked], "rows": rows}


def _item_slots(definition: Definition, name: str, widest: Mapping[str, int] | None) -> int:
    """How many items' columns an add-another question gets: its ``maxItems``, or more when an
    older version took more (``widest``), so no case's items are left out."""
    most = definition.question(name).schema.get("maxItems")
    slots = most if isinstance(most, int) and not isinstance(most, bool) else 1
    return max(slots, (widest or {}).get(name, 0))


def widest_lists(definitions: Iterable[Definition | None]) -> dict[str, int]:
    """The most items each add-another question took in any of these definitions (a service's
    versions): for ``answer_columns`` and ``answer_cells``."""
    widest: dict[str, int] = {}
    for definition in definitions:
        if definition is None:
            continue
        for _, name in definition.iter_questions():
            if _items(definition, name):
                widest[name] = max(widest.get(name, 0), _item_slots(definition, name, None))
    return widest


def answer_columns(definition: Definition, widest: Mapping[str, int] | None = None) -> list[str]:
    """The answers' column headings of a spreadsheet of ``definition``'s submissions: a column a
    question, and an add-another question's a column per item question per item it can take
    ("People 1: Full name", ...), or any version took (``widest``: ``widest_lists``)."""
    headings = []
    for _, name in definition.iter_questions():
        asked = _items(definition, name)
        if not asked:
            headings.append(definition.short_label(name))
            continue
        question = definition.question(name)
        plural = question.plural[:1].upper() + question.plural[1:]
        for number in range(1, _item_slots(definition, name, widest) + 1):
            headings.extend(f"{plural} {number}: {q.short_label}" for q in asked)
    return headings


def answer_cells(
    definition: Definition, answers: Mapping[str, Any], widest: Mapping[str, int] | None = None
) -> list[str]:
    """One submission's answers under ``answer_columns(definition, widest)``: each as displayed,
    lines joined with ", "; an item not added leaves its columns empty."""
    cells = []
    for _, name in definition.iter_questions():
        asked = _items(definition, name)
        if not asked:
            cells.append(", ".join(answer_forms.display(definition, name, answers.get(name))))
            continue
        each = definition.item_definition(name)
        given = answers.get(name)
        items = given if isinstance(given, list) else []
        for index in range(_item_slots(definition, name, widest)):
            item = items[index] if index < len(items) and isinstance(items[index], dict) else {}
            cells.extend(", ".join(answer_forms.display(each, q.name, item.get(q.name))) for q in asked)
    return cells

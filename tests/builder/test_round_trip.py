"""Round trips on the shipped services: one edit is one line of diff, and every edit stays valid."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from builder import operations as ops
from builder.conditions import Clause, Condition, from_schema
from runtime.checker import check
from runtime.definition import dumps
from runtime.visibility import trap_problems
from runtime.widgets import WIDGETS

SHIPPED = sorted(Path("form_definitions").glob("*.json"))


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def changed_lines(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    diff = difflib.unified_diff(dumps(before).splitlines(), dumps(after).splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_shipped_file_is_canonical_and_a_label_edit_is_one_line(path: Path) -> None:
    doc = read(path)
    assert dumps(doc) == path.read_text(encoding="utf-8")
    name = next(iter(doc["questions"]))
    edited = ops.update_question(doc, name, label="A new label?")
    lines = changed_lines(doc, edited)
    assert len(lines) == 2  # one line out, one line in
    assert lines[0].startswith("-") and lines[1] == '+      "label": "A new label?",'


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_edit_of_a_hint_choice_or_page_title_is_one_line(path: Path) -> None:
    doc = read(path)
    page = next(p for p in doc["pages"] if p.get("title"))
    assert len(changed_lines(doc, ops.set_page(doc, page["id"], title="A new page title"))) == 2
    choice = next((n for n, q in doc["questions"].items() if q.get("options")), None)
    if choice:
        value = next(iter(doc["questions"][choice]["options"]))
        renamed = ops.rename_choice(doc, choice, value, label="A new choice")
        assert len(changed_lines(doc, renamed)) == 2


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_question_of_every_type_and_a_condition_with_every_operator_stays_valid(path: Path) -> None:
    doc = read(path)
    last = next(p["id"] for p in reversed(doc["pages"]) if not p.get("stop"))
    doc = ops.add_page(doc, title="Every question type", after=last)
    for widget in WIDGETS:
        target = "every-question-type"
        if widget in ops.ALONE_ON_PAGE:  # a file upload or a list: on a page of its own, before the others
            doc = ops.add_page(doc, title=f"A {widget} page", after=last)
            target = next(p["id"] for p in doc["pages"] if p.get("title") == f"A {widget} page")
        doc = ops.add_question(doc, page=target, widget=widget, label=f"A {widget} question?")
        assert check(doc) == [] and trap_problems(doc) == [], widget
    by_widget = {q["widget"]: n for n, q in doc["questions"].items() if str(q.get("label", "")).startswith("A ")}
    clauses = [
        Clause(by_widget["yes-no"], "is", True),
        Clause(by_widget["radios"], "is", "option_1"),
        Clause(by_widget["select"], "is_not", "option_2"),
        Clause(by_widget["radios"], "is_one_of", ["option_1", "option_2"]),
        Clause(by_widget["checkboxes"], "is", "option_2"),
        Clause(by_widget["number"], "more_than", 3),
        Clause(by_widget["number"], "less_than", 10),
        Clause(by_widget["date"], "before", "today"),
        Clause(by_widget["date"], "after", "2000-01-01"),
        Clause(by_widget["text"], "answered"),
        Clause(by_widget["add-another"], "at_least", 2),
        Clause(by_widget["add-another"], "any_item", Clause("name", "answered")),
    ]
    doc = ops.add_page(doc, title="Only sometimes", after="every-question-type")
    doc = ops.add_question(doc, page="only-sometimes", widget="text", label="Only asked sometimes?")
    for clause in clauses:
        for combine in ("all", "any"):
            condition = Condition([clause, Clause(by_widget["email"], "answered")], combine)
            edited = ops.set_condition(doc, "only-sometimes", condition)
            assert check(edited) == [] and trap_problems(edited) == [], clause
            page = next(p for p in edited["pages"] if p["id"] == "only-sometimes")
            assert from_schema(edited, page["show_if"]) == condition
            routed = ops.set_routing(edited, "every-question-type", [(Condition([clause]), "only-sometimes")])
            assert check(routed) == [] and trap_problems(routed) == [], clause

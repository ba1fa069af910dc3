"""What a condition's "Answer to compare with" offers and says (issue 17, part G).

The help names only the comparisons the questions on offer allow (no "a date like ..." when no
date question can be chosen), and a question with choices (radios, a select list, checkboxes,
yes or no) has its answer chosen from those choices instead of typed.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.conditions import item_doc, operators_for
from runtime.limits import MAX_FIELD

__all__ = ["posted_rows", "row_help", "value_hint", "value_items"]


def _kind(doc: dict[str, Any], question: str) -> str:
    widget = doc.get("questions", {}).get(question, {}).get("widget")
    return str(widget) if widget in ("yes-no", "radios", "select", "checkboxes", "number", "date") else "other"


def _labels(doc: dict[str, Any], question: str) -> list[tuple[str, str]]:
    q = doc.get("questions", {}).get(question, {})
    if q.get("widget") == "yes-no":  # the condition reads "yes" or "no"; the designer sees the labels
        return [("yes", str(q.get("yes_label") or "Yes")), ("no", str(q.get("no_label") or "No"))]
    options = q.get("options") if isinstance(q.get("options"), dict) else {}
    labels = [str(o.get("label", value)) for value, o in options.items() if isinstance(o, dict)]
    return [(label, label) for label in labels]  # a choice is posted by its words, as typed ones are


def value_items(doc: dict[str, Any], question: str) -> list[tuple[str, str]] | None:
    """The answers to choose from for this question, as (what is posted, what is shown); None when it has none."""
    if _kind(doc, question) not in ("yes-no", "radios", "select", "checkboxes"):
        return None
    return _labels(doc, question) or None


def value_hint(doc: dict[str, Any], questions: list[str], selected: str = "") -> str:
    """What to put in "Answer to compare with", naming only what the offered questions allow."""
    names = [selected] if selected in doc.get("questions", {}) else questions
    kinds = {_kind(doc, n) for n in names}
    operators = {op for n in names for op in operators_for(doc, n)}
    parts = []
    if "yes-no" in kinds:
        parts.append("yes or no")
    if kinds & {"radios", "select", "checkboxes"}:
        several = " (several separated by commas for ‘is one of’)" if "is_one_of" in operators else ""
        parts.append(f"the words of one of the question's choices{several}")
    if "number" in kinds:
        parts.append("a number, like 500")
    if "date" in kinds:
        parts.append("a date, like 2027-03-27")
    text = ""
    if parts:
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
        text = f"Enter {listed}."
    if "answered" in operators:
        text += (" " if text else "") + "Leave this empty for ‘is answered’."
    return text


def _with_choices(doc: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """A question's item of the "Question" select list, carrying its answers to choose from (as
    JSON [[posted, shown], ...]) for app.js, which offers them as soon as the question is chosen."""
    items = value_items(doc, str(item.get("value") or ""))
    if items is None:
        return item
    return {**item, "attributes": {"data-cf-choices": json.dumps(items, ensure_ascii=False)}}


def row_help(doc: dict[str, Any], questions: list[str], row: dict[str, Any]) -> dict[str, Any]:
    """A clause row with its value's help: the hint, and the choices to pick from when the question has them."""
    question = str(row.get("question") or "")
    items = value_items(doc, question) if question in questions else None
    if row.get("operator") == "any_item" and question in questions and row.get("item"):
        items = value_items(item_doc(doc, question), str(row["item"]))  # the answer about each item
    chosen = [v.strip().casefold() for v in str(row.get("value") or "").split(",") if v.strip()]
    choices = None
    if items is not None:
        choices = [{"value": value, "text": text, "checked": value.casefold() in chosen} for value, text in items]
    return {
        **row,
        "questions": [_with_choices(doc, item) for item in row.get("questions", [])],
        "value_hint": value_hint(doc, questions, question if question in questions else ""),
        "value_choices": choices,
        # The same choices as a select list's items (one answer: "is", "is not").
        "value_select": [{"value": c["value"], "text": c["text"], "selected": c["checked"]} for c in choices or []],
        "operator_values": operators_for(doc, question) if question in questions else [],
        "several": row.get("operator") == "is_one_of"
        or (row.get("operator") == "any_item" and row.get("item_operator") == "is_one_of"),
    }


def posted_rows(form: Any, count: int, prefix: str = "clauses") -> list[dict[str, str]]:
    """The clause rows a form posted (empty rows left out), several ticked answers joined with commas.

    ``form`` is the request's form (a MultiDict): "is one of" posts one ``clauses.<n>.value`` per
    ticked answer, which the condition reads as "Cat, Dog", as if typed.
    """
    rows = []
    for i in range(count):
        row = {k: str(form.get(f"{prefix}.{i}.{k}", ""))[:MAX_FIELD] for k in ("question", "operator")}
        values = [str(v)[:MAX_FIELD].strip() for v in form.getlist(f"{prefix}.{i}.value")[:100]]
        row["value"] = ", ".join(v for v in values if v)[:MAX_FIELD]
        for key in ("item", "item_operator"):  # a list's "has any item where" (issue 18)
            row[key] = str(form.get(f"{prefix}.{i}.{key}", ""))[:MAX_FIELD]
        if any(row.values()):
            rows.append(row)
    return rows

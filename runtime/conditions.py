"""Conditions in plain words, and the JSON Schema conditions the definition format stores.

Pure (no Flask, no database): the builder edits conditions with it, and ``runtime.changes`` reads
them back in plain words for ``civicforms diff``, commit messages and the publish page.

"Show this page only if 'Do you have a partner?' is Yes" is a ``Condition`` of one ``Clause``;
``to_schema`` writes it as the format's JSON Schema and ``from_schema`` reads back exactly what
``to_schema`` writes (anything else is a "custom condition, edited in the file": None).

``EditError`` lives here, the lowest module that refuses a designer's entry; ``builder.conditions``
re-exports it and ``builder.operations`` raises the same class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .problems import json_equal
from .widgets import long_date
from .wording import lower_first


class EditError(ValueError):
    """A designer's entry the builder refuses: ``message`` belongs next to the form ``field``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


OPERATORS = (
    "is",
    "is_not",
    "is_one_of",
    "more_than",
    "less_than",
    "before",
    "after",
    "answered",
    "at_least",  # an add-another question: at least this many items added
    "any_item",  # an add-another question: any item's answer meets a clause (its value)
)

# How each operator reads in a sentence; checkboxes read "includes" instead of "is".
OPERATOR_WORDS = {
    "is": "is",
    "is_not": "is not",
    "is_one_of": "is one of",
    "more_than": "is more than",
    "less_than": "is less than",
    "before": "is before",
    "after": "is after",
    "answered": "is answered",
    "at_least": "has at least",
    "any_item": "has any item where",
}
_MULTI_WORDS = {"is": "includes", "is_one_of": "includes any of"}

_BY_KIND = {
    "yes-no": ("is", "answered"),
    "choice": ("is", "is_not", "is_one_of", "answered"),
    "multi": ("is", "is_one_of", "answered"),
    "number": ("is", "more_than", "less_than", "answered"),
    "date": ("before", "after", "answered"),
    "items": ("at_least", "any_item", "answered"),
    "other": ("answered",),
}


@dataclass(frozen=True)
class Clause:
    """'<question> <operator> <value>': value is a bool, option value, list of them, number or ISO date."""

    question: str
    operator: str
    value: Any = None


@dataclass(frozen=True)
class Condition:
    """Clauses combined: "all" must hold, or "any" one of them."""

    clauses: tuple[Clause, ...] = field(default_factory=tuple)
    combine: str = "all"

    def __post_init__(self) -> None:
        # Accept a list for convenience; store a tuple so the condition stays hashable.
        object.__setattr__(self, "clauses", tuple(self.clauses))


def _kind(doc: dict[str, Any], question: str) -> str:
    widget = doc.get("questions", {}).get(question, {}).get("widget")
    if widget in ("radios", "select"):
        return "choice"
    if widget == "checkboxes":
        return "multi"
    if widget in ("yes-no", "number", "date"):
        return str(widget)
    if widget == "add-another":
        return "items"
    return "other"


def operators_for(doc: dict[str, Any], question: str) -> list[str]:
    """The operators that make sense for a question's widget, in the order the builder offers them."""
    return list(_BY_KIND[_kind(doc, question)])


def operator_label(doc: dict[str, Any], question: str, operator: str) -> str:
    """How an operator reads for this question: "is", or "includes" for a multiple choice."""
    if _kind(doc, question) == "multi" and operator in _MULTI_WORDS:
        return _MULTI_WORDS[operator]
    return OPERATOR_WORDS[operator]


def _page_index(doc: dict[str, Any]) -> dict[str, int]:
    return {
        name: i
        for i, page in enumerate(doc.get("pages", []))
        for name in page.get("questions", [])
        if isinstance(name, str)
    }


def _page_position(doc: dict[str, Any], page_id: str) -> int:
    for i, page in enumerate(doc.get("pages", [])):
        if page.get("id") == page_id:
            return i
    raise EditError("page", "This page no longer exists")


def _options(doc: dict[str, Any], question: str) -> dict[str, Any]:
    options = doc["questions"][question].get("options", {})
    return options if isinstance(options, dict) else {}


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("a yes or no is not a number")
    if isinstance(value, int | float):
        number: int | float = value
    else:
        text = str(value).strip().replace(",", "")
        number = float(text) if any(c in text.lower() for c in ".e") else int(text)
    if isinstance(number, float):
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        if number.is_integer() and abs(number) < 2**53:
            number = int(number)
    return number


def _date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if text.lower() == "today":
        return "today"
    if len(text) != 10:  # fromisoformat also takes "20070327", which nobody types as a date
        raise ValueError(text)
    return date.fromisoformat(text).isoformat()


def validate_clause(
    doc: dict[str, Any], clause: Clause, page_id: str | None = None, *, routing: bool = False
) -> Clause:
    """The clause with its value typed, or ``EditError`` next to the field that is wrong.

    With ``page_id``, the question must be on an earlier page (for routing: this page or an
    earlier one), since a condition can only use answers the citizen has already given.
    """
    question = clause.question
    if not question:
        raise EditError("question", "Select a question")
    if question not in doc.get("questions", {}):
        raise EditError("question", "The question this condition used has been deleted; select another question")
    if page_id is not None:
        here = _page_position(doc, page_id)
        asked = _page_index(doc).get(question)
        if asked is None or asked > here or (asked == here and not routing):
            where = "this page or an earlier page" if routing else "an earlier page"
            raise EditError("question", f"Select a question from {where}")
    allowed = operators_for(doc, question)
    if clause.operator not in allowed:
        raise EditError("operator", "Select how to compare the answer")
    op = clause.operator
    kind = _kind(doc, question)
    value = clause.value
    if op == "answered":
        return Clause(question, op, None)
    if kind == "items":
        return _validate_items_clause(doc, clause)
    if kind == "yes-no":
        if isinstance(value, bool):
            return Clause(question, op, value)
        word = str(value or "").strip().lower()
        if word in ("yes", "true"):
            return Clause(question, op, True)
        if word in ("no", "false"):
            return Clause(question, op, False)
        raise EditError("value", "Select yes or no")
    if kind in ("choice", "multi"):
        options = _options(doc, question)
        if op == "is_one_of":
            values = [value] if isinstance(value, str) else list(value or [])
            if not values:
                raise EditError("value", "Select at least one choice")
            if any(str(v) not in options for v in values):
                raise EditError("value", "Select from the question's choices")
            ordered = [v for v in options if v in {str(x) for x in values}]  # the question's order
            return Clause(question, op, ordered)
        if not isinstance(value, str) or not value:
            raise EditError("value", "Select a choice")
        if value not in options:
            raise EditError("value", "Select one of the question's choices")
        return Clause(question, op, value)
    if kind == "number":
        try:
            return Clause(question, op, _number(value))
        except (TypeError, ValueError, OverflowError):
            raise EditError("value", "Enter a number, like 5 or 12.5") from None
    if kind == "date":
        try:
            return Clause(question, op, _date(value))
        except (TypeError, ValueError):
            raise EditError("value", "Enter a real date, like 27 3 2007") from None
    raise EditError("operator", "Select how to compare the answer")


def item_doc(doc: dict[str, Any], question: str) -> dict[str, Any]:
    """The questions an add-another question asks of each item, as a document the clause
    functions read (its conditions are about one item's answers)."""
    q = doc.get("questions", {}).get(question, {})
    asked = q.get("questions") if isinstance(q, dict) else None
    return {"questions": asked if isinstance(asked, dict) else {}, "pages": []}


def _validate_items_clause(doc: dict[str, Any], clause: Clause) -> Clause:
    """ "at least 2 people added" (value: a whole number from 1), or "any person's
    relationship is Partner" (value: a Clause on one item question)."""
    if clause.operator == "at_least":
        try:
            count = _number(clause.value)
        except (TypeError, ValueError, OverflowError):
            count = None
        if not isinstance(count, int) or count < 1:
            raise EditError("value", "Enter a whole number of 1 or more, like 2")
        return Clause(clause.question, "at_least", count)
    inner = clause.value
    if not isinstance(inner, Clause):
        raise EditError("value", "Select a question asked of each item")
    items = item_doc(doc, clause.question)
    if inner.question not in items["questions"]:
        raise EditError("value", "Select a question asked of each item")
    if inner.operator not in operators_for(items, inner.question):
        raise EditError("operator", "Select how to compare the answer")
    return Clause(clause.question, "any_item", validate_clause(items, inner))


def validate_condition(
    doc: dict[str, Any], condition: Condition, page_id: str | None = None, *, routing: bool = False
) -> Condition:
    """Every clause checked and typed (see ``validate_clause``)."""
    if condition.combine not in ("all", "any"):
        raise EditError("combine", "Select whether all or any of the conditions must be true")
    if not condition.clauses:
        raise EditError("clauses", "Add at least one condition")
    clauses = tuple(validate_clause(doc, c, page_id, routing=routing) for c in condition.clauses)
    return Condition(clauses, condition.combine if len(clauses) > 1 else "all")


def _clause_schema(doc: dict[str, Any], clause: Clause) -> dict[str, Any]:
    q, op, value = clause.question, clause.operator, clause.value
    if op == "answered":
        return {"required": [q]}
    if op == "at_least":
        return {"properties": {q: {"minItems": value}}, "required": [q]}
    if op == "any_item":
        return {"properties": {q: {"contains": _clause_schema(item_doc(doc, q), value)}}, "required": [q]}
    multi = _kind(doc, q) == "multi"
    sub: dict[str, Any]
    if op == "is":
        sub = {"contains": {"const": value}} if multi else {"const": value}
    elif op == "is_not":
        sub = {"not": {"const": value}}
    elif op == "is_one_of":
        sub = {"contains": {"enum": list(value)}} if multi else {"enum": list(value)}
    elif op == "more_than":
        sub = {"exclusiveMinimum": value}
    elif op == "less_than":
        sub = {"exclusiveMaximum": value}
    elif op == "before":
        sub = {"dateBefore": value}
    else:
        sub = {"dateAfter": value}
    return {"properties": {q: sub}, "required": [q]}


def to_schema(doc: dict[str, Any], condition: Condition) -> dict[str, Any]:
    """The JSON Schema condition the format stores for a plain-words condition."""
    condition = validate_condition(doc, condition)
    parts = [_clause_schema(doc, c) for c in condition.clauses]
    if len(parts) == 1:
        return parts[0]
    return {"allOf": parts} if condition.combine == "all" else {"anyOf": parts}


def _read_clause(schema: Any) -> Clause | None:
    if not isinstance(schema, dict):
        return None
    required = schema.get("required")
    if not isinstance(required, list) or len(required) != 1 or not isinstance(required[0], str):
        return None
    q = required[0]
    if set(schema) == {"required"}:
        return Clause(q, "answered")
    props = schema.get("properties")
    if set(schema) != {"properties", "required"} or not isinstance(props, dict) or set(props) != {q}:
        return None
    sub = props[q]
    if not isinstance(sub, dict) or len(sub) != 1:
        return None
    ((key, value),) = sub.items()
    if key == "minItems":
        return Clause(q, "at_least", value)
    if key == "contains" and isinstance(value, dict) and "required" in value:
        inner = _read_clause(value)  # about one item: "any person's relationship is Partner"
        return Clause(q, "any_item", inner) if inner is not None else None
    if key == "contains" and isinstance(value, dict) and len(value) == 1:
        ((inner, inner_value),) = value.items()
        return Clause(q, {"const": "is", "enum": "is_one_of"}.get(inner, "?"), inner_value)
    if key == "not" and isinstance(value, dict) and set(value) == {"const"}:
        return Clause(q, "is_not", value["const"])
    simple = {
        "const": "is",
        "enum": "is_one_of",
        "exclusiveMinimum": "more_than",
        "exclusiveMaximum": "less_than",
        "dateBefore": "before",
        "dateAfter": "after",
    }
    return Clause(q, simple[key], value) if key in simple else None


def from_schema(doc: dict[str, Any], schema: Any) -> Condition | None:
    """The plain-words condition ``to_schema`` would write as ``schema``; None for anything else."""
    if not isinstance(schema, dict):
        return None
    combine = "all"
    if set(schema) == {"allOf"} or set(schema) == {"anyOf"}:
        combine = "all" if "allOf" in schema else "any"
        parts = schema["allOf" if combine == "all" else "anyOf"]
        if not isinstance(parts, list) or len(parts) < 2:
            return None
    else:
        parts = [schema]
    clauses = [_read_clause(part) for part in parts]
    if any(c is None for c in clauses):
        return None
    condition = Condition(tuple(c for c in clauses if c is not None), combine)
    try:
        written = to_schema(doc, condition)
    except EditError:
        return None
    # Read back only what would be written back unchanged, so saving never rewrites IT's file.
    return condition if json_equal(written, schema) else None


def _value_words(doc: dict[str, Any], clause: Clause) -> str:
    q = doc["questions"][clause.question]
    kind = _kind(doc, clause.question)
    value = clause.value
    if clause.operator == "answered":
        return ""
    if kind == "yes-no":
        return str(q.get("yes_label") or "Yes") if value else str(q.get("no_label") or "No")
    if kind in ("choice", "multi"):
        options = _options(doc, clause.question)

        def label(v: Any) -> str:
            option = options.get(str(v))
            return str(option.get("label", v)) if isinstance(option, dict) else str(v)

        if isinstance(value, list):
            labels = [label(v) for v in value]
            return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]
        return label(value)
    if kind == "date":
        return "today" if value == "today" else long_date(date.fromisoformat(str(value)))
    if kind == "number":
        prefix, suffix = q.get("prefix", ""), q.get("suffix", "")
        return f"{prefix}{value}{' ' + suffix if suffix else ''}"
    return str(value)


def describe_clause(doc: dict[str, Any], clause: Clause) -> str:
    """ "'Do you have a partner?' is Yes"; of an add-another question, "2 or more people added"
    and "any person's relationship is Partner"."""
    if clause.operator in ("at_least", "any_item"):
        q = doc.get("questions", {}).get(clause.question, {})
        singular, plural = str(q.get("singular") or "item"), str(q.get("plural") or "items")
        if clause.operator == "at_least":
            return f"at least one {singular} added" if clause.value == 1 else f"{clause.value} or more {plural} added"
        inner: Clause = clause.value
        items = item_doc(doc, clause.question)
        asked = items["questions"].get(inner.question, {})
        words = operator_label(items, inner.question, inner.operator)
        value = _value_words(items, inner)
        label = str(asked.get("short_label") or asked.get("label") or inner.question)
        if not label.rstrip().endswith("?"):  # a noun phrase: "any person's relationship is Partner"
            return f"any {singular}'s {lower_first(label)} {words} {value}".rstrip()
        # A question with no short label, quoted as a page's own question is: "any person's answer
        # to 'How are they related to you?' is Partner" (never "any person's how are they ... is").
        return f"any {singular}'s answer to '{label}' {words} {value}".rstrip()
    label = doc.get("questions", {}).get(clause.question, {}).get("label", clause.question)
    words = operator_label(doc, clause.question, clause.operator)
    value = _value_words(doc, clause)
    return f"'{label}' {words} {value}".rstrip()


def describe(doc: dict[str, Any], condition: Condition, prefix: str = "Show this page only if") -> str:
    """The condition as a sentence: "Show this page only if 'Do you have a partner?' is Yes"."""
    joiner = " and " if condition.combine == "all" else " or "
    text = joiner.join(describe_clause(doc, c) for c in condition.clauses)
    return f"{prefix} {text}" if prefix else text


def questions_for_condition(doc: dict[str, Any], page_id: str, *, routing: bool = False) -> list[str]:
    """The questions a condition on this page may use: those on earlier pages (routing: this one too)."""
    here = _page_position(doc, page_id)
    pages = doc.get("pages", [])
    last = here + 1 if routing else here
    return [name for page in pages[:last] for name in page.get("questions", [])]


def describe_schema(doc: dict[str, Any], schema: Any, prefix: str = "Show this page only if") -> str | None:
    """A stored condition in plain words, or None for a custom one (fits ``runtime.changes.summarise``)."""
    condition = from_schema(doc, schema)
    return describe(doc, condition, prefix) if condition is not None else None

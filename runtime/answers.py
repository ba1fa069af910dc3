"""Turning posted form fields into typed answers, and answers back into what a page shows.

Only the fields of the page's own questions are read: anything else a tampered post sends
is ignored, and values that do not fit are kept as given so that validation can say why.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Protocol

from .definition import Definition

# At most 15 digits before the point and 10 after: beyond any amount a form asks for, inside
# what a float holds exactly enough, and far from Python's int-parsing limit. Longer numbers
# stay text, so validation says "must be a number" rather than the page failing.
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,10})?$")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


class FormData(Protocol):
    """What a posted form offers: werkzeug's MultiDict fits, and so does a test double."""

    def getlist(self, key: str) -> list[str]: ...


def _one(form: FormData, key: str) -> str:
    values = form.getlist(key)
    return values[0] if values else ""


def clean_text(value: str) -> str:
    """Strip outer space, unify line endings, drop control characters other than newlines."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch == "\n" or ch == "\t" or unicodedata.category(ch) != "Cc")
    return value.strip()


def normalise_postcode(value: str) -> str:
    """'sw1a1aa' -> 'SW1A 1AA'; anything that is not postcode-shaped is left as typed."""
    squashed = re.sub(r"\s+", "", value).upper()
    match = _POSTCODE.match(squashed)
    return f"{match.group(1)} {match.group(2)}" if match else value.strip()


def parse_question(definition: Definition, name: str, form: FormData) -> tuple[Any, dict[str, Any]]:
    """Read one question from a post: ``(value or None when unanswered, raw form values)``."""
    widget = definition.widget(name)
    if widget == "date":
        parts = {p: clean_text(_one(form, f"{name}-{p}")) for p in ("day", "month", "year")}
        raw = {f"{name}-{p}": v for p, v in parts.items()}
        if not any(parts.values()):
            return None, raw
        return _parse_date(parts["day"], parts["month"], parts["year"]), raw
    if widget == "uk-address":
        raw = {}
        value: dict[str, str] = {}
        for field in definition.fields_of(name):
            part = field.path.split(".")[1]
            text = clean_text(_one(form, field.path))
            raw[field.path] = text
            if text:
                value[part] = normalise_postcode(text) if part == "postcode" else text
        return (value or None), raw
    if widget == "checkboxes":
        chosen = list(dict.fromkeys(v for v in form.getlist(name) if v))
        return (chosen or None), {name: chosen}
    text = clean_text(_one(form, name))
    raw = {name: text}
    if not text:
        return None, raw
    if widget == "number":
        squashed = re.sub(r"[,\s£]", "", text)
        if _NUMBER.match(squashed):
            if "." not in squashed:
                return int(squashed), raw
            number = float(squashed)
            return (int(number) if number.is_integer() else number), raw
        return text, raw
    if widget == "yes-no":
        return {"yes": True, "no": False}.get(text, text), raw
    if widget == "textarea":
        return text, raw
    return " ".join(text.split()) if widget in ("text", "email", "tel") else text, raw


def _parse_date(day: str, month: str, year: str) -> str:
    """An ISO date when the parts make a real one; otherwise a string that fails ``format``."""
    try:
        if len(year) == 4:
            return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        pass
    return f"{year}-{month}-{day}"


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
    widget = definition.widget(name)
    if value is None:
        return {}
    if widget == "date":
        try:
            d = date.fromisoformat(value)
        except (TypeError, ValueError):
            return {}
        return {f"{name}-day": str(d.day), f"{name}-month": str(d.month), f"{name}-year": str(d.year)}
    if widget == "uk-address" and isinstance(value, dict):
        return {f"{name}.{part}": text for part, text in value.items()}
    if widget == "checkboxes":
        return {name: list(value)}
    if widget == "yes-no":
        return {name: "yes" if value is True else "no" if value is False else ""}
    return {name: str(value)}


def display(definition: Definition, name: str, value: Any) -> list[str]:
    """An answer as lines of text for "Check your answers" and the back office."""
    widget = definition.widget(name)
    question = definition.questions[name]
    if value is None:
        return []
    if widget == "date":
        try:
            d = date.fromisoformat(value)
            return [f"{d.day} {d.strftime('%B')} {d.year}"]
        except (TypeError, ValueError):
            return [str(value)]
    if widget == "uk-address" and isinstance(value, dict):
        return [str(value[p]) for p in ("line1", "line2", "town", "county", "postcode") if value.get(p)]
    if widget == "checkboxes":
        return [definition.option_label(name, v) for v in value]
    if widget in ("radios", "select"):
        return [definition.option_label(name, value)]
    if widget == "yes-no":
        return [str(question.get("yes_label", "Yes") if value else question.get("no_label", "No"))]
    if widget == "number":
        return [f"{question.get('prefix', '')}{value:,}{(' ' + question['suffix']) if question.get('suffix') else ''}"]
    if widget == "textarea":
        return str(value).split("\n")
    return [str(value)]

"""Answers chosen from a list: yes or no, one of several (radios, select), several (checkboxes)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import FormData, Resolve, Widget, clean_text, error_param, heading, html_id, one

if TYPE_CHECKING:
    from ..questions import Question

# What a fresh choice question offers until the designer names the choices.
NEW_OPTIONS = {"option_1": "Option 1", "option_2": "Option 2"}


def _items(q: Question, chosen: Any) -> list[dict[str, Any]]:
    chosen_values = set(chosen) if isinstance(chosen, list) else {chosen}
    return [
        {
            "value": option.value,
            "text": option.label,
            **({"hint": {"text": option.hint}} if option.hint else {}),
            "checked": option.value in chosen_values,
        }
        for option in q.options
    ]


@dataclass(frozen=True)
class Choice(Widget):
    """Shared by radios and select: one value out of the property's ``enum``."""

    def new_property(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(NEW_OPTIONS)}

    def new_question(self, label: str) -> dict[str, Any]:
        options = {value: {"label": text} for value, text in NEW_OPTIONS.items()}
        return {"label": label, "widget": self.name, "options": options}

    def enum(self, schema: dict[str, Any], resolve: Resolve) -> list[Any] | None:
        enum = schema.get("enum")
        return enum if isinstance(enum, list) else None

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        if not self.enum(schema, resolve):
            yield f"$.questions.{name}.widget", f'widget "{self.name}" needs an "enum" on the property'

    def normalise(self, text: str) -> Any:
        return text

    def display(self, q: Question, value: Any) -> list[str]:
        return [] if value is None else [q.option_label(value)]


def _fieldset_view(
    macro: str, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool
) -> dict[str, Any]:
    """Radios and checkboxes: a fieldset whose legend is the question, one item per option."""
    name = q.name
    return {
        "macro": macro,
        "params": {
            "name": name,
            "idPrefix": html_id(name),
            "fieldset": {"legend": heading(q.label_text, as_heading, legend=True)},
            "hint": {"text": q.hint} if q.hint else None,
            "errorMessage": error_param(errors, name),
            "items": _items(q, raw.get(q.name)),
        },
    }


@dataclass(frozen=True)
class Radios(Choice):
    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        return _fieldset_view("govukRadios", q, raw, errors, as_heading)


@dataclass(frozen=True)
class Select(Choice):
    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        name = q.name
        current = raw.get(name, "")
        items = [{"value": "", "text": "Choose an option", "selected": current == ""}] + [
            {"value": option.value, "text": option.label, "selected": option.value == current} for option in q.options
        ]
        return {
            "macro": "govukSelect",
            "params": {
                "id": html_id(name),
                "name": name,
                "label": heading(q.label_text, as_heading),
                "hint": {"text": q.hint} if q.hint else None,
                "errorMessage": error_param(errors, name),
                "items": items,
            },
        }


@dataclass(frozen=True)
class Checkboxes(Widget):
    """Several values out of the ``enum`` of the property's ``items``; each at most once."""

    def new_property(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string", "enum": list(NEW_OPTIONS)}, "uniqueItems": True}

    def new_question(self, label: str) -> dict[str, Any]:
        options = {value: {"label": text} for value, text in NEW_OPTIONS.items()}
        return {"label": label, "widget": self.name, "options": options}

    def enum(self, schema: dict[str, Any], resolve: Resolve) -> list[Any] | None:
        items = resolve(schema.get("items", {}))
        enum = items.get("enum") if isinstance(items, dict) else None
        return enum if isinstance(enum, list) else None

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        if not self.enum(schema, resolve):
            yield f"$.questions.{name}.widget", 'widget "checkboxes" needs "items" with an "enum"'
        if not schema.get("uniqueItems"):
            yield f"$.schema.properties.{name}", 'checkboxes need "uniqueItems": true'

    def parse(self, q: Question, form: FormData) -> tuple[Any, dict[str, Any]]:
        name = q.name
        chosen = list(dict.fromkeys(v for v in form.getlist(name) if v))
        return (chosen or None), {name: chosen}

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        name = q.name
        return {} if value is None else {name: list(value)}

    def display(self, q: Question, value: Any) -> list[str]:
        if value is None:
            return []
        return [q.option_label(v) for v in value]

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        return _fieldset_view("govukCheckboxes", q, raw, errors, as_heading)


@dataclass(frozen=True)
class YesNo(Widget):
    """A yes or no question: a boolean, asked as two inline radios."""

    def new_property(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def parse(self, q: Question, form: FormData) -> tuple[Any, dict[str, Any]]:
        name = q.name
        text = clean_text(one(form, name))
        if not text:
            return None, {name: text}
        # Anything but "yes" or "no" stays text, so that validation says "Select ...".
        return {"yes": True, "no": False}.get(text, text), {name: text}

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        name = q.name
        if value is None:
            return {}
        return {name: "yes" if value is True else "no" if value is False else ""}

    def display(self, q: Question, value: Any) -> list[str]:
        if value is None:
            return []
        return [q.yes_label if value else q.no_label]

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        name = q.name
        chosen = raw.get(name)
        return {
            "macro": "govukRadios",
            "params": {
                "name": name,
                "idPrefix": html_id(name),
                "fieldset": {"legend": heading(q.label_text, as_heading, legend=True)},
                "hint": {"text": q.hint} if q.hint else None,
                "errorMessage": error_param(errors, name),
                "items": [
                    {"value": "yes", "text": q.yes_label, "checked": chosen == "yes"},
                    {"value": "no", "text": q.no_label, "checked": chosen == "no"},
                ],
                "classes": "govuk-radios--inline",
            },
        }


YES_NO = YesNo("yes-no", "Yes or no", frozenset({"boolean"}), choose=True)
RADIOS = Radios("radios", "Single choice", frozenset({"string"}), takes_options=True, choose=True)
CHECKBOXES = Checkboxes("checkboxes", "Multiple choice", frozenset({"array"}), takes_options=True, choose=True)
SELECT = Select("select", "Select list", frozenset({"string"}), takes_options=True, choose=True)

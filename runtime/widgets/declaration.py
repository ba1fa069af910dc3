"""A declaration: one required tick box with its own wording ("I confirm ...").

The question's ``label`` is the legend (the page heading when it is the page's only question),
its ``statement`` the words beside the box. The answer is ``true``: the property is
``{"type": "boolean", "const": true}``, so nothing else validates, and the question is required
(the builder always requires it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import FormData, Resolve, Widget, error_param, heading, html_id

if TYPE_CHECKING:
    from ..questions import Question

# What a fresh declaration says until the designer words it.
NEW_STATEMENT = "I confirm that the information I have given is correct"
_TICKED = "yes"


@dataclass(frozen=True)
class Declaration(Widget):
    def new_property(self) -> dict[str, Any]:
        return {"type": "boolean", "const": True}

    def new_question(self, label: str) -> dict[str, Any]:
        return {"label": label, "widget": self.name, "statement": NEW_STATEMENT}

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        if schema.get("const") is not True:
            yield f"$.schema.properties.{name}", 'a declaration needs "const": true, so that only a ticked box is taken'
        if not question.get("statement"):
            yield f"$.questions.{name}", 'a declaration needs a "statement": the words beside the box ("I confirm ...")'

    def parse(self, q: Question, form: FormData) -> tuple[Any, dict[str, Any]]:
        name = q.name
        values = [v for v in form.getlist(name) if v]
        if not values:
            return None, {name: []}
        # Anything but the box's own value stays text, so that validation refuses it.
        return (True if values == [_TICKED] else values[0][:100]), {name: values[:1]}

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        return {q.name: [_TICKED]} if value is True else {}

    def display(self, q: Question, value: Any) -> list[str]:
        if value is None:
            return []
        return [q.statement or "Confirmed"] if value is True else [str(value)]

    def anchor(self, name: str, path: str) -> str:
        return f"#{html_id(name)}"

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        name = q.name
        return {
            "macro": "govukCheckboxes",
            "params": {
                "name": name,
                "idPrefix": html_id(name),
                "fieldset": {"legend": heading(q.label, as_heading, legend=True)},
                "hint": {"text": q.hint} if q.hint else None,
                "errorMessage": error_param(errors, name),
                "items": [
                    {
                        "value": _TICKED,
                        "text": q.statement or q.label,
                        "checked": _TICKED in (raw.get(name) or []),
                    }
                ],
            },
        }

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword in ("required", "const", "type", "enum"):
            return f"Select the box to confirm {name}"
        return super().message(keyword, limit, name, cap, instance)


DECLARATION = Declaration("declaration", "Declaration", frozenset({"boolean"}), choose=True)

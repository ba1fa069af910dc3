"""A number: an amount, a count."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import Widget

if TYPE_CHECKING:
    from ..questions import Question

# At most 15 digits before the point and 10 after: beyond any amount a form asks for, inside
# what a float holds exactly enough, and far from Python's int-parsing limit. Longer numbers
# stay text, so validation says "must be a number" rather than the page failing.
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,10})?$")


@dataclass(frozen=True)
class Number(Widget):
    def new_property(self) -> dict[str, Any]:
        return {"type": "number", "minimum": 0}

    def new_question(self, label: str) -> dict[str, Any]:
        return {"label": label, "widget": self.name, "width": "10"}

    def types_fit(self, types: set[str]) -> bool:
        return bool(types) and types <= {"number", "integer"}

    def normalise(self, text: str) -> Any:
        squashed = re.sub(r"[,\s£]", "", text)
        if not _NUMBER.match(squashed):
            return text
        if "." not in squashed:
            return int(squashed)
        number = float(squashed)
        return int(number) if number.is_integer() else number

    def display(self, q: Question, value: Any) -> list[str]:
        if value is None:
            return []
        suffix = f" {q.suffix}" if q.suffix else ""
        shown = f"{value:,}" if isinstance(value, int | float) else str(value)
        return [f"{q.prefix or ''}{shown}{suffix}"]

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        params = self.input_params(q, raw, errors, as_heading)
        params["inputmode"] = "decimal" if q.schema.get("type") == "number" else "numeric"
        params["spellcheck"] = False
        if q.prefix:
            params["prefix"] = {"text": q.prefix}
        if q.suffix:
            params["suffix"] = {"text": q.suffix}
        return {"macro": "govukInput", "params": params}

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "type":
            whole = "integer" in (limit if isinstance(limit, list) else [limit])
            return f"{cap} must be a {'whole number' if whole else 'number'}"
        return super().message(keyword, limit, name, cap, instance)


NUMBER = Number("number", "Number", frozenset({"number", "integer"}))

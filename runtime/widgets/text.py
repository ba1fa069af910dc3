"""Typed answers: short text, long text, email address, phone number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import Widget

if TYPE_CHECKING:
    from ..questions import Question

STRING = frozenset({"string"})


@dataclass(frozen=True)
class Text(Widget):
    """One line of text (a name, a reference, an account number)."""

    def new_property(self) -> dict[str, Any]:
        # GOV.UK Forms' short answer; room for a long name or a full address line.
        return {"type": "string", "maxLength": 200}


@dataclass(frozen=True)
class Textarea(Widget):
    """Several lines of text; line breaks are kept."""

    def new_property(self) -> dict[str, Any]:
        # About 200 words: enough to describe a problem, short enough to read in a case.
        return {"type": "string", "maxLength": 1200}

    def normalise(self, text: str) -> Any:
        return text

    def display(self, q: Question, value: Any) -> list[str]:
        return [] if value is None else str(value).split("\n")

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        params = self.input_params(q, raw, errors, as_heading)
        params.pop("classes", None)
        params["rows"] = q.rows
        return {"macro": "govukTextarea", "params": params}


@dataclass(frozen=True)
class Email(Widget):
    """An email address; the ``email`` format catches a typo early."""

    def new_property(self) -> dict[str, Any]:
        return {"type": "string", "format": "email", "maxLength": 254}

    def new_question(self, label: str) -> dict[str, Any]:
        return {"label": label, "widget": self.name, "autocomplete": "email"}

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        params = self.input_params(q, raw, errors, as_heading)
        params.update(type="email", spellcheck=False)
        return {"macro": "govukInput", "params": params}

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "format":
            return f"Enter {name} in the correct format, like name@example.com"
        return super().message(keyword, limit, name, cap, instance)


@dataclass(frozen=True)
class Tel(Widget):
    """A phone number, UK or international."""

    def new_property(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[0-9+() -]{10,20}$", "maxLength": 20}

    def new_question(self, label: str) -> dict[str, Any]:
        return {"label": label, "widget": self.name, "width": "20", "autocomplete": "tel"}

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        params = self.input_params(q, raw, errors, as_heading)
        params["type"] = "tel"
        return {"macro": "govukInput", "params": params}


TEXT = Text("text", "Short text", STRING, free_text=True)
TEXTAREA = Textarea("textarea", "Long text", STRING, free_text=True)
EMAIL = Email("email", "Email address", STRING, format="email", free_text=True)
TEL = Tel("tel", "Phone number", STRING, free_text=True)

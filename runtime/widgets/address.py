"""A UK address: building and street, town, postcode (the GOV.UK address pattern)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import (
    FormData,
    Resolve,
    Widget,
    check_max_length,
    clean_text,
    error_param,
    heading,
    html_id,
    one,
)
from .identifiers import POSTCODE, normalise_postcode
from .text import TEXT

if TYPE_CHECKING:
    from ..questions import Question

# part -> (label, autocomplete token, error name)
ADDRESS_PARTS = {
    "line1": ("Address line 1", "address-line1", "building and street"),
    "line2": ("Address line 2 (optional)", "address-line2", "address line 2"),
    "town": ("Town or city", "address-level2", "town or city"),
    "county": ("County (optional)", "", "county"),
    "postcode": ("Postcode", "postal-code", "postcode"),
}
REQUIRED_PARTS = ("line1", "town", "postcode")
_WIDTHS = {
    "town": "govuk-!-width-two-thirds",
    "county": "govuk-!-width-two-thirds",
    "postcode": "govuk-input--width-10",
}


@dataclass(frozen=True)
class UkAddress(Widget):
    def new_property(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "line1": {"type": "string", "maxLength": 100},
                "line2": {"type": "string", "maxLength": 100},
                "town": {"type": "string", "maxLength": 60},
                "county": {"type": "string", "maxLength": 60},
                "postcode": {"type": "string", "format": "uk-postcode"},
            },
            "required": list(REQUIRED_PARTS),
            "additionalProperties": False,
        }

    def part_widget(self, part: str) -> Widget:
        """The widget whose wording a part's errors use."""
        return POSTCODE if part == "postcode" else TEXT

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        # Report where the address schema is written: usually a shared #/$defs entry.
        ref = prop.get("$ref") if isinstance(prop, dict) else None
        at = "$.schema." + ".".join(ref[1:].split("/")[1:]) if ref else f"$.schema.properties.{name}"
        parts = schema.get("properties", {})
        for part in REQUIRED_PARTS:
            if part not in parts:
                yield at, f'a uk-address needs a "{part}" property'
        for part, sub in parts.items():
            if part not in ADDRESS_PARTS:
                yield at, f'"{part}" is not part of a uk-address (use {", ".join(ADDRESS_PARTS)})'
                continue
            sub = resolve(sub)
            fmt = sub.get("format") if isinstance(sub, dict) else None
            if part == "postcode" and fmt == POSTCODE.format:
                continue  # the format bounds its length
            yield from check_max_length(f"{name}.{part}", sub, f"{at}.properties.{part}")

    def parse(self, q: Question, form: FormData) -> tuple[Any, dict[str, Any]]:
        raw = {}
        value: dict[str, str] = {}
        for field in q.fields:
            part = field.path.split(".")[1]
            text = clean_text(one(form, field.path))
            raw[field.path] = text
            if text:
                value[part] = normalise_postcode(text) if part == "postcode" else text
        return (value or None), raw

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        name = q.name
        if not isinstance(value, dict):
            return {}
        return {f"{name}.{part}": text for part, text in value.items()}

    def display(self, q: Question, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, dict):
            return [str(value)]
        return [str(value[p]) for p in ADDRESS_PARTS if value.get(p)]

    def anchor(self, name: str, path: str) -> str:
        return f"#{html_id(name)}-line1" if "." not in path else f"#{html_id(path)}"

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        name = q.name
        inputs = []
        for field in q.fields:
            part = field.path.split(".")[1]
            text, autocomplete, _ = ADDRESS_PARTS[part]
            inputs.append(
                {
                    "macro": "govukInput",
                    "params": {
                        "id": html_id(field.path),
                        "name": field.path,
                        "label": {"text": text},
                        "value": raw.get(field.path, ""),
                        "autocomplete": autocomplete or None,
                        "classes": _WIDTHS.get(part),
                        "errorMessage": error_param(errors, field.path),
                    },
                }
            )
        return {
            "macro": "address",
            "params": {
                "id": html_id(name),
                "legend": heading(q.label_text, as_heading, legend=True),
                "hint": {"text": q.hint} if q.hint else None,
                "errorMessage": error_param(errors, name),
                "inputs": inputs,
            },
        }


UK_ADDRESS = UkAddress("uk-address", "UK address", frozenset({"object"}), parts=tuple(ADDRESS_PARTS))

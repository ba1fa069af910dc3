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

# Finding the address by postcode (a question with "lookup": true; runtime.web.address_finder):
# the step the question is at, in the page's raw values under lookup_key(name). Without it (no
# provider configured, the builder's preview) the question is the address form alone.
FIND, CHOOSE, MANUAL = "find", "choose", "manual"


def lookup_key(name: str, what: str = "") -> str:
    """A raw value or form field of the lookup: ``address-lookup``, ``address-lookup-postcode``.
    Property names have no "-", so none is a question's field."""
    return f"{name}-lookup-{what}" if what else f"{name}-lookup"


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
        stage = raw.get(lookup_key(q.name)) if q.lookup else None
        if stage in (FIND, CHOOSE):
            return _lookup_view(q, raw, errors, as_heading, stage)
        view = self._form_view(q, raw, errors, as_heading)
        if stage == MANUAL:
            view["params"]["lookup"] = {
                "stage": MANUAL,
                "field": lookup_key(q.name),
                "find_url": raw.get(lookup_key(q.name, "find-url")),
                "message": raw.get(lookup_key(q.name, "message")),
            }
        return view

    def _form_view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
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


def _lookup_view(
    q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool, stage: str
) -> dict[str, Any]:
    """The address found by postcode: the postcode and "Find address" (FIND), then the list of
    the postcode's addresses and "Use this address" (CHOOSE). When the question is the page's
    only one its button is the page's, in place of Continue (``own_button``)."""
    name = q.name
    qid = html_id(name)
    postcode = raw.get(lookup_key(name, "postcode"), "")
    params: dict[str, Any] = {
        "id": qid,
        "stage": stage,
        "field": lookup_key(name),
        "legend": heading(q.label_text, as_heading, legend=True),
        "hint": {"text": q.hint} if q.hint else None,
        "manual_url": raw.get(lookup_key(name, "manual-url")),
        "find_url": raw.get(lookup_key(name, "find-url")),
        "postcode": postcode,
        "button_name": lookup_key(name, "action"),
        "secondary": not as_heading,
    }
    if stage == FIND:
        params["input"] = {
            "id": f"{qid}-lookup-postcode",
            "name": lookup_key(name, "postcode"),
            "label": {"text": "Postcode"},
            "value": postcode,
            "autocomplete": "postal-code",
            "spellcheck": False,
            "classes": "govuk-input--width-10",
            "errorMessage": error_param(errors, lookup_key(name, "postcode")),
        }
    else:
        found = raw.get(lookup_key(name, "addresses")) or []
        count = f"{len(found)} address found" if len(found) == 1 else f"{len(found)} addresses found"
        chosen = raw.get(lookup_key(name, "address"), "")
        params["select"] = {
            "id": f"{qid}-lookup-address",
            "name": lookup_key(name, "address"),
            "label": {"text": "Select an address"},
            "items": [{"value": "", "text": count}]
            + [{"value": a.uprn, "text": a.text, "selected": a.uprn == chosen} for a in found],
            "errorMessage": error_param(errors, lookup_key(name, "address")),
        }
    return {"macro": "address_lookup", "params": params, "own_button": as_heading}

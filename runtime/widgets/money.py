"""An amount of money in pounds and pence, stored as a whole number of pence.

Typed with a "£" before the box (HMRC's currency input): "12", "12.50", "1,200.00", "£5" are all
understood. The property is ``{"type": "integer", "minimum": 0, "maximum": 500000}``: pence, so
that no amount is ever a float, and the checker requires a ``maximum``. Shown and worded in
pounds as GOV.UK's style guide writes money: "£1,200", "£12.50" (no ".00" on whole pounds).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import Resolve, Widget

if TYPE_CHECKING:
    from ..questions import Question

__all__ = ["MONEY", "MAX_PENCE", "parse_pounds", "pounds"]

# A limit no form needs (£10 trillion), below 2**53: every amount is exact in JavaScript too.
MAX_PENCE = 10**15
_LONGEST = 40  # nothing longer is an amount, however it is spaced
# At most 13 digits of pounds (commas between groups of three allowed), and 1 or 2 of pence
# (".50" is 50p).
_AMOUNT = re.compile(r"(-?)([0-9]{1,13}|[0-9]{1,3}(?:,[0-9]{3}){1,4})?(?:\.([0-9]{1,2}))?", re.ASCII)


def parse_pounds(text: str) -> int | None:
    """Pence from an amount as people type it ("£1,200.50" -> 120050); None when it is not one."""
    squashed = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text[:_LONGEST]))
    squashed = re.sub(r"^(-?)£", r"\1", squashed)
    match = _AMOUNT.fullmatch(squashed)
    if match is None or (match.group(2) is None and match.group(3) is None) or len(text) > _LONGEST:
        return None
    whole = int((match.group(2) or "0").replace(",", ""))
    pence = int((match.group(3) or "0").ljust(2, "0"))
    total = whole * 100 + pence
    return -total if match.group(1) else total


def pounds(pence: int) -> str:
    """Pence in pounds as GOV.UK writes money: 120000 -> "£1,200", 1250 -> "£12.50"."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}" if part == 0 else f"{sign}£{whole:,}.{part:02d}"


def _typed(pence: int) -> str:
    """Pence as the box shows them again: "1200", "12.50"."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}" if part == 0 else f"{sign}{whole}.{part:02d}"


def _pence_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bounds(schema: dict[str, Any]) -> tuple[int | None, int | None]:
    """The least and the most pence a money property allows (None: no bound, or not in pence)."""
    lows = [
        schema[k] + (1 if k == "exclusiveMinimum" else 0)
        for k in ("minimum", "exclusiveMinimum")
        if _pence_int(schema.get(k))
    ]
    highs = [
        schema[k] - (1 if k == "exclusiveMaximum" else 0)
        for k in ("maximum", "exclusiveMaximum")
        if _pence_int(schema.get(k))
    ]
    return (max(lows) if lows else None), (min(highs) if highs else None)


@dataclass(frozen=True)
class Money(Widget):
    def new_property(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 0, "maximum": 500000}

    def new_question(self, label: str) -> dict[str, Any]:
        return {"label": label, "widget": self.name}

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        yield from super().check(name, question, schema, prop, resolve)
        at = f"$.schema.properties.{name}"
        if "maximum" not in schema and "exclusiveMaximum" not in schema:
            yield at, 'a money question needs a "maximum", in pence (500000 is £5,000)'
        for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
            if keyword not in schema:
                continue
            value = schema[keyword]
            if not _pence_int(value):
                yield f"{at}.{keyword}", f'"{keyword}" of a money question is in pence: a whole number, like 500000'
            elif abs(value) > MAX_PENCE:
                yield f"{at}.{keyword}", f'"{keyword}" may be at most {MAX_PENCE:,} pence'
        if "prefix" in question:
            yield f"$.questions.{name}.prefix", 'a money question always shows "£" before the box: remove "prefix"'
        lowest, highest = _bounds(schema)
        if lowest is not None and highest is not None and lowest > highest:
            yield at, "no amount is both at least the minimum and at most the maximum: no one could answer it"

    def types_fit(self, types: set[str]) -> bool:
        return types == {"integer"}

    def normalise(self, text: str) -> Any:
        pence = parse_pounds(text)
        return text if pence is None else pence

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        return {q.name: _typed(value) if _pence_int(value) else str(value)}

    def display(self, q: Question, value: Any) -> list[str]:
        if value is None:
            return []
        shown = pounds(value) if _pence_int(value) else str(value)
        return [f"{shown} {q.suffix}" if q.suffix else shown]  # "£95 per week"

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        params = self.input_params(q, raw, errors, as_heading)
        params.update(prefix={"text": "£"}, inputmode="decimal", spellcheck=False)
        if q.suffix:
            params["suffix"] = {"text": q.suffix}
        return {"macro": "govukInput", "params": params}

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "type":
            return f"{cap} must be an amount of money, like 600 or 193.54"
        if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and _pence_int(limit):
            words = {
                "minimum": "{} or more",
                "maximum": "{} or less",
                "exclusiveMinimum": "more than {}",
                "exclusiveMaximum": "less than {}",
            }
            return f"{cap} must be {words[keyword].format(pounds(limit))}"
        if keyword == "multipleOf" and _pence_int(limit):
            return f"{cap} must be a multiple of {pounds(limit)}"
        return super().message(keyword, limit, name, cap, instance)


MONEY = Money("money", "Money", frozenset({"integer"}), default_width="10")

"""A date, asked as day, month and year boxes (the GOV.UK date input)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ..date_rules import long_date, rule_problems
from .base import FormData, Resolve, Widget, clean_text, error_param, heading, html_id, one

if TYPE_CHECKING:
    from ..questions import Question

__all__ = ["DATE", "Date", "long_date"]

_PARTS = (("day", 2), ("month", 2), ("year", 4))


# A day or month longer than this is never part of a real date ("0003" is the longest kept).
_MAX_PART = 4


def _parse_date(day: str, month: str, year: str) -> str:
    """An ISO date when the parts make a real one; otherwise a string that fails ``format``.

    Only digits count (any script's: int() reads Arabic-Indic and full-width digits as well),
    never a sign, an underscore or space inside; a part too large for the platform
    (``2147483648`` is an OverflowError in ``date``) is not a real date either. So whatever is
    typed, the answer is a date or text that validation reports as "must be a real date".
    """
    parts = (day, month, year)
    if len(year) == 4 and all(p.isdecimal() and len(p) <= _MAX_PART for p in parts):
        try:
            return date(int(year), int(month), int(day)).isoformat()
        except (ValueError, OverflowError):
            pass
    return f"{year}-{month}-{day}"


@dataclass(frozen=True)
class Date(Widget):
    def new_property(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        yield from super().check(name, question, schema, prop, resolve)
        if "date_rule" in question:
            for at, message in rule_problems(question["date_rule"]):
                yield ".".join([f"$.questions.{name}.date_rule", *at]), message

    def parse(self, q: Question, form: FormData) -> tuple[Any, dict[str, Any]]:
        name = q.name
        parts = {p: clean_text(one(form, f"{name}-{p}")) for p, _ in _PARTS}
        raw = {f"{name}-{p}": v for p, v in parts.items()}
        if not any(parts.values()):
            return None, raw
        return _parse_date(parts["day"], parts["month"], parts["year"]), raw

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        name = q.name
        try:
            d = date.fromisoformat(value)
        except (TypeError, ValueError):
            return {}
        return {f"{name}-day": str(d.day), f"{name}-month": str(d.month), f"{name}-year": str(d.year)}

    def display(self, q: Question, value: Any) -> list[str]:
        if value is None:
            return []
        try:
            return [long_date(date.fromisoformat(value))]
        except (TypeError, ValueError):
            return [str(value)]

    def anchor(self, name: str, path: str) -> str:
        return f"#{html_id(name)}-day"

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        name = q.name
        qid = html_id(name)
        error = error_param(errors, name)
        err_cls = " govuk-input--error" if error else ""
        return {
            "macro": "govukDateInput",
            "params": {
                "id": qid,
                "namePrefix": name,
                "fieldset": {"legend": heading(q.label_text, as_heading, legend=True)},
                "hint": {"text": q.hint or "For example, 27 3 2007"},
                "errorMessage": error,
                "items": [
                    {
                        "id": f"{qid}-{part}",
                        "name": part,
                        "label": part.capitalize(),
                        "classes": f"govuk-input--width-{width}{err_cls}",
                        "value": raw.get(f"{name}-{part}", ""),
                        **({"autocomplete": f"bday-{part}"} if q.autocomplete == "bday" else {}),
                    }
                    for part, width in _PARTS
                ],
            },
        }

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "format":
            return f"{cap} must be a real date"
        if keyword in ("earliest", "latest") and isinstance(limit, date):
            # A relative date rule (runtime.date_rules): the date it names today, both ends allowed.
            return f"{cap} must be {'on or after' if keyword == 'earliest' else 'on or before'} {long_date(limit)}"
        if keyword in ("dateBefore", "dateAfter") and limit == "today":
            return f"{cap} must be in the {'past' if keyword == 'dateBefore' else 'future'}"
        if keyword in ("dateBefore", "dateAfter"):
            try:
                shown = long_date(date.fromisoformat(limit))
            except (TypeError, ValueError):
                shown = str(limit)
            return f"{cap} must be {'before' if keyword == 'dateBefore' else 'after'} {shown}"
        return super().message(keyword, limit, name, cap, instance)


DATE = Date("date", "Date", frozenset({"string"}), format="date")

"""A time of day, typed in one box as people write it: "9:30am", "2pm", "14:30", "midday".

The pattern (docs/definition-format.md, "Time"): one text input with the hint "For example,
9:30am or 14:30", rather than hour and minute boxes with an am/pm choice: one box is one thing
to type, to read back and to put right, and it takes both the 12-hour clock most people write
and the 24-hour clock timetables use. What is understood:

- 12-hour, with am or pm: "9am", "9:30am", "9.30 pm", "12am" (midnight), "12pm" (midday),
  "a.m."/"p.m." and capitals too;
- 24-hour, with minutes: "09:30", "9:30", "14.30", "1430", "00:15"; an hour alone only from 13
  to 23 ("14"): "9" alone could be morning or evening, so it is asked again with am or pm;
- "midday", "noon" and "midnight".

The answer is stored as "HH:MM" on the 24-hour clock (format "time-of-day"), and shown as
GOV.UK's style guide writes times: "9:30am", "2pm", "midday", "midnight".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import Resolve, Widget, check_stored_form

if TYPE_CHECKING:
    from ..questions import Question

__all__ = ["TIME", "format_time", "is_time_of_day", "normalise_time"]

_STORED = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# Typed forms, after lower case and without spaces. ASCII digits only (re.ASCII).
_TWELVE = re.compile(r"([0-9]{1,2})(?:[:.]([0-9]{2}))?(am|pm)", re.ASCII)
_TWENTY_FOUR = re.compile(r"([0-9]{1,2})[:.h]([0-9]{2})|([0-9]{2})([0-9]{2})|([0-9]{1,2})", re.ASCII)
_WORDS = {
    "midday": "12:00",
    "noon": "12:00",
    "12noon": "12:00",
    "12midday": "12:00",
    "midnight": "00:00",
    "12midnight": "00:00",
}
_LONGEST = 20  # nothing longer can be a time ("12:30 p.m." is 10)


def _squashed(text: str) -> str:
    """Lower case, no spaces, "a.m." and "p.m." as "am" and "pm"."""
    text = unicodedata.normalize("NFKC", text)  # full-width digits and colons as ASCII
    return re.sub(r"([ap])\.m\.?", r"\1m", re.sub(r"\s+", "", text.lower()))


def normalise_time(text: str) -> str:
    """A typed time as stored ("HH:MM", 24-hour); anything else is returned as typed (stripped),
    so that validation says why."""
    if len(text) > _LONGEST:
        return text.strip()
    typed = _squashed(text)
    if typed in _WORDS:
        return _WORDS[typed]
    match = _TWELVE.fullmatch(typed)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if 1 <= hour <= 12 and minute <= 59:
            hour = hour % 12 + (12 if match.group(3) == "pm" else 0)
            return f"{hour:02d}:{minute:02d}"
        return text.strip()
    match = _TWENTY_FOUR.fullmatch(typed)
    if match:
        if match.group(5) is not None:  # an hour alone: only where it cannot be morning or evening
            hour, minute = int(match.group(5)), 0
            if not 13 <= hour <= 23:
                return text.strip()
        else:
            hour = int(match.group(1) or match.group(3))
            minute = int(match.group(2) or match.group(4))
        if hour <= 23 and minute <= 59:
            return f"{hour:02d}:{minute:02d}"
    return text.strip()


def is_time_of_day(value: str) -> bool:
    """A time in its stored form: "HH:MM", 24-hour, "00:00" to "23:59"."""
    return _STORED.fullmatch(value) is not None


def format_time(value: str) -> str:
    """A stored time as GOV.UK writes it: "09:30" -> "9:30am", "14:00" -> "2pm", "12:00" ->
    "midday", "00:00" -> "midnight"; anything else unchanged."""
    if not is_time_of_day(value):
        return value
    hour, minute = int(value[:2]), int(value[3:])
    if minute == 0 and hour in (0, 12):
        return "midnight" if hour == 0 else "midday"
    suffix = "am" if hour < 12 else "pm"
    shown = hour % 12 or 12
    return f"{shown}{suffix}" if minute == 0 else f"{shown}:{minute:02d}{suffix}"


def _out_of_range(value: str) -> bool:
    """Typed like a time but not one: "25:00", "13pm", "9:75", "0am"."""
    typed = _squashed(value)
    return bool(_TWELVE.fullmatch(typed) or re.fullmatch(r"[0-9]{1,2}[:.h][0-9]{2}|[0-9]{4}", typed, re.ASCII))


@dataclass(frozen=True)
class Time(Widget):
    def new_property(self) -> dict[str, Any]:
        return {"type": "string", "format": "time-of-day"}

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        yield from super().check(name, question, schema, prop, resolve)
        yield from check_stored_form(name, schema, "a time", '"HH:MM" ("09:30")')

    def normalise(self, text: str) -> Any:
        return normalise_time(text)

    def display_text(self, value: Any) -> str:
        return format_time(str(value))

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        params = self.input_params(q, raw, errors, as_heading)
        params["hint"] = {"text": q.hint or "For example, 9:30am or 14:30"}
        return {"macro": "govukInput", "params": params}

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "format":
            typed = _squashed(instance) if isinstance(instance, str) else ""
            if re.fullmatch(r"(0?[1-9]|1[0-2])", typed, re.ASCII):
                return f"Enter {name} with am or pm, like {int(typed)}am or {int(typed)}pm"
            if isinstance(instance, str) and _out_of_range(instance):
                return f"{cap} must be a real time"
            return f"Enter {name} in the correct format, like 9:30am or 14:30"
        return super().message(keyword, limit, name, cap, instance)


TIME = Time("time", "Time", frozenset({"string"}), format="time-of-day", default_width="10", default_spellcheck=False)

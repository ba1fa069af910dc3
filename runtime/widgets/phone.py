"""A UK phone number, stored in E.164 ("+447700900123") and shown as people write it ("07700 900123").

Read with libphonenumber (``phonenumbers``), as a UK number unless it starts with another
country's code: "07700 900 982", "+44 (0)7700 900982", "0044 7700 900982", "020-7946-0018" are
one number. Valid means a number in the UK's numbering plan (the Channel Islands and the Isle of
Man share +44), or in one of Ofcom's ranges kept for drama and examples, which GOV.UK's own
examples use ("01632 960 001", "07700 900 982"): libphonenumber calls those invalid, but a
service must accept the number its hint shows. The "tel" question type stays for any number,
UK or not, as typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers

from .base import Resolve, Widget, check_stored_form

if TYPE_CHECKING:
    from ..questions import Question

__all__ = ["UK_PHONE", "format_phone", "is_uk_phone", "normalise_uk_phone"]

# E.164 as stored: +44 and 7 to 10 digits (the UK's national numbers are 7, 9 or 10 digits long).
_STORED = re.compile(r"\+44[1-9][0-9]{6,9}", re.ASCII)
# Ofcom's numbers for TV, radio and examples (national significant numbers, without the 0).
_OFCOM_DRAMA = re.compile(
    r"(?:11[3-8]4960|1[2-6]14960|1914980|2079460|2890180|2920180|1632960|7700900|"
    r"8081570|9098790|3069990)[0-9]{3}",
    re.ASCII,
)
_LONGEST = 40  # nothing longer is a phone number, however it is spaced


def _parse(text: str) -> phonenumbers.PhoneNumber | None:
    if len(text) > _LONGEST:
        return None
    try:
        return phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None


def normalise_uk_phone(text: str) -> str:
    """A typed phone number in E.164 when it is a UK number; anything else as typed (stripped),
    so that validation says why."""
    number = _parse(text)
    if number is None or number.country_code != 44 or number.extension:
        return text.strip()  # an extension ("ext 123") has no place in E.164: refused, not dropped
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164 if is_uk_phone(e164) else text.strip()


def is_uk_phone(value: str) -> bool:
    """A UK phone number in its stored form (E.164, "+44...")."""
    if _STORED.fullmatch(value) is None:
        return False
    if _OFCOM_DRAMA.fullmatch(value[3:]):
        return True
    number = _parse(value)
    return number is not None and phonenumbers.is_valid_number(number)


def format_phone(e164: str) -> str:
    """A stored phone number as people write it: "07700 900123" for a UK number, the
    international form ("+33 1 23 45 67 89") for another; text that is not a number unchanged."""
    number = _parse(e164)
    if number is None or not e164.startswith("+"):
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 44
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def _with_extension(value: Any) -> bool:
    """A UK number typed with an extension: "07700 900982 ext 123", "... x123"."""
    number = _parse(value) if isinstance(value, str) else None
    return number is not None and number.country_code == 44 and bool(number.extension)


def _abroad(value: Any) -> bool:
    """A number of another country, typed with its code: "+33 1 23 45 67 89"."""
    number = _parse(value) if isinstance(value, str) else None
    return number is not None and number.country_code != 44 and phonenumbers.is_possible_number(number)


@dataclass(frozen=True)
class UkPhone(Widget):
    def new_property(self) -> dict[str, Any]:
        # The format bounds the length (13 characters stored), so no maxLength is needed.
        return {"type": "string", "format": "uk-phone"}

    def new_question(self, label: str) -> dict[str, Any]:
        return {"label": label, "widget": self.name, "autocomplete": "tel"}

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        yield from super().check(name, question, schema, prop, resolve)
        yield from check_stored_form(name, schema, "a UK phone number", 'E.164 ("+447700900982")')

    def normalise(self, text: str) -> Any:
        return normalise_uk_phone(text)

    def display_text(self, value: Any) -> str:
        return format_phone(str(value))

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        params = self.input_params(q, raw, errors, as_heading)
        params["type"] = "tel"
        return {"macro": "govukInput", "params": params}

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "format":
            if _with_extension(instance):
                return f"Enter {name} without an extension"
            if _abroad(instance):
                return "Enter a UK phone number, like 01632 960 001 or 07700 900 982"
            return f"Enter {name} in the correct format, like 01632 960 001, 07700 900 982 or +44 808 157 0192"
        return super().message(keyword, limit, name, cap, instance)


UK_PHONE = UkPhone(
    "uk-phone",
    "UK phone number",
    frozenset({"string"}),
    format="uk-phone",
    default_width="20",
    default_autocomplete="tel",
    default_spellcheck=False,
)

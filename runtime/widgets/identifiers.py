"""UK identifiers: postcode, NHS number, National Insurance number.

Each has one normaliser (the one way to write it, used when an answer is parsed, by the
``FORMATS`` checks in ``runtime.validation`` and by citizen matching in ``runtime.citizens``)
and one validity check. Answers are normalised before validation, so a format checks the one
stored form: ``SW1A 1AA``, ``4857773456``, ``QQ123456C``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import Widget

if TYPE_CHECKING:
    from ..questions import Question

STRING = frozenset({"string"})

# -- postcode ------------------------------------------------------------------------------

_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})")
_POSTCODE_STORED = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}")


def normalise_postcode(value: str) -> str:
    """'sw1a1aa' -> 'SW1A 1AA'; anything that is not postcode-shaped is left as typed (stripped)."""
    squashed = re.sub(r"\s+", "", value).upper()
    match = _POSTCODE.fullmatch(squashed)
    return f"{match.group(1)} {match.group(2)}" if match else value.strip()


def is_postcode(value: str) -> bool:
    """A UK postcode in its stored form: outward code, one space, inward code, capitals."""
    return _POSTCODE_STORED.fullmatch(value) is not None


# -- NHS number ----------------------------------------------------------------------------


def normalise_nhs_number(value: str) -> str:
    """'485 777 3456' or '485-777-3456' -> '4857773456'; other text is left as typed (stripped)."""
    digits = re.sub(r"[\s-]", "", value)
    return digits if re.fullmatch(r"[0-9]{10}", digits) else value.strip()


def looks_like_nhs_number(value: str) -> bool:
    """Ten digits, check digit or not: what a record made before the widget may hold."""
    return re.fullmatch(r"[0-9]{10}", value) is not None


def is_nhs_number(value: str) -> bool:
    """Ten digits whose last is the modulus 11 check digit of the first nine."""
    if re.fullmatch(r"[0-9]{10}", value) is None:
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(value[9])


def format_nhs_number(value: str) -> str:
    """'4857773456' -> '485 777 3456', as the NHS writes it; other text unchanged."""
    return f"{value[:3]} {value[3:6]} {value[6:]}" if re.fullmatch(r"[0-9]{10}", value) else value


# -- National Insurance number -------------------------------------------------------------

_NI_SHAPE = re.compile(r"[A-Z]{2}[0-9]{6}[A-D]?")
# HMRC's rules for the prefix: D, F, I, Q, U and V are never used, O never second, and some
# pairs are never allocated. QQ 12 34 56 C is the example GOV.UK shows precisely because it
# can never be real.
_NI_VALID = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]")


def normalise_ni_number(value: str) -> str:
    """'qq 12 34 56 c' -> 'QQ123456C'; other text is left as typed (stripped)."""
    squashed = re.sub(r"[\s-]", "", value).upper()
    return squashed if _NI_SHAPE.fullmatch(squashed) else value.strip()


def looks_like_ni_number(value: str) -> bool:
    """Two letters, six digits and perhaps a suffix letter A to D (in the stored form)."""
    return _NI_SHAPE.fullmatch(value) is not None


def is_ni_number(value: str) -> bool:
    """A National Insurance number HMRC could have issued, in the stored form."""
    return _NI_VALID.fullmatch(value) is not None


def format_ni_number(value: str) -> str:
    """'QQ123456C' -> 'QQ 12 34 56 C', as GOV.UK writes it; other text unchanged."""
    if not _NI_SHAPE.fullmatch(value):
        return value
    return " ".join([value[:2], value[2:4], value[4:6], value[6:8], value[8:]]).strip()


# -- the widgets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Postcode(Widget):
    """A UK postcode on its own (an address has its own postcode box)."""

    def new_property(self) -> dict[str, Any]:
        # The format bounds the length (8 characters at most), so no maxLength is needed.
        return {"type": "string", "format": "uk-postcode"}

    def normalise(self, text: str) -> Any:
        return normalise_postcode(text)

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "format":
            return "Enter a real postcode"
        return super().message(keyword, limit, name, cap, instance)


@dataclass(frozen=True)
class NhsNumber(Widget):
    def new_property(self) -> dict[str, Any]:
        return {"type": "string", "format": "nhs-number"}

    def normalise(self, text: str) -> Any:
        return normalise_nhs_number(text)

    def display_text(self, value: Any) -> str:
        return format_nhs_number(str(value))

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        params = self.input_params(q, raw, errors, as_heading)
        params["inputmode"] = "numeric"
        return {"macro": "govukInput", "params": params}

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "format":
            if isinstance(instance, str) and re.fullmatch(r"[0-9]{10}", instance):
                return "Enter a real NHS number"
            return "NHS number must be 10 digits, like 485 777 3456"
        return super().message(keyword, limit, name, cap, instance)


@dataclass(frozen=True)
class NiNumber(Widget):
    def new_property(self) -> dict[str, Any]:
        return {"type": "string", "format": "ni-number"}

    def new_question(self, label: str) -> dict[str, Any]:
        return {"label": label, "hint": "For example, QQ 12 34 56 C", "widget": self.name}

    def normalise(self, text: str) -> Any:
        return normalise_ni_number(text)

    def display_text(self, value: Any) -> str:
        return format_ni_number(str(value))

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        if keyword == "format":
            if isinstance(instance, str) and re.fullmatch(r"[A-Z]{2}[0-9]{6}[A-D]", instance):
                return "Enter a real National Insurance number"
            return "Enter a National Insurance number in the correct format"
        return super().message(keyword, limit, name, cap, instance)


POSTCODE = Postcode(
    "postcode",
    "UK postcode",
    STRING,
    format="uk-postcode",
    default_width="10",
    default_autocomplete="postal-code",
    default_spellcheck=False,
)
NHS_NUMBER = NhsNumber(
    "nhs-number", "NHS number", STRING, format="nhs-number", default_width="10", default_spellcheck=False
)
NI_NUMBER = NiNumber(
    "ni-number", "National Insurance number", STRING, format="ni-number", default_width="10", default_spellcheck=False
)

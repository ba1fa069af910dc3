"""Citizen matching, first version: exact matches on normalised identifiers.

A later issue adds scored fuzzy candidates and a staff review queue; nothing here ever
merges two records.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .widgets.identifiers import (
    looks_like_nhs_number,
    looks_like_ni_number,
    normalise_nhs_number,
    normalise_ni_number,
    normalise_postcode,
)

# Strongest first: the first of these a submission shares with a record decides the match.
STRONG_KINDS = ("nhs_number", "ni_number", "email")
COMPOSITE_KIND = "name_dob_postcode"
# Letters NFKD does not split into a base letter and an accent, and the apostrophes and
# hyphens phones type instead of ' and -.
_NAME_FOLD = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
    | dict.fromkeys("\u2018\u2019\u02bc\u0060\u00b4", "'")
    | dict.fromkeys("\u2010\u2011\u2012\u2013\u2014", "-")
)


def _get(answers: dict[str, Any], path: str) -> Any:
    value: Any = answers
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


MAX_IDENTIFIER = 400  # citizen_identifier.value


def normalise(kind: str, value: Any) -> str | None:
    """The comparable form of an identifier, or None when it is empty or malformed."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if kind == "email":
        text = text.lower()
        return text if "@" in text else None
    if kind == "nhs_number":
        digits = normalise_nhs_number(text)
        return digits if looks_like_nhs_number(digits) else None
    if kind == "ni_number":
        squashed = normalise_ni_number(text)
        return squashed if looks_like_ni_number(squashed) else None
    if kind == "postcode":
        # Compared without the space, so "SW1A 1AA" and a hand-typed "SW1A1AA" match.
        return normalise_postcode(text).replace(" ", "").upper() or None
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        if digits.startswith("44"):
            digits = "0" + digits[2:]
        return digits or None
    if kind == "full_name":
        # Accents go (José = Jose), letters never do: Ł, Ø and non-Latin scripts are kept.
        decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_NAME_FOLD))
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return " ".join(re.sub(r"[^\w\s'-]|[\d_]", " ", folded).split()) or None
    if kind == "date_of_birth":
        return text if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    return text or None


def identifiers(identity: dict[str, str], answers: dict[str, Any]) -> dict[str, str]:
    """The normalised identifiers a submission carries, by kind (plus the composite key)."""
    found = {}
    for kind, path in identity.items():
        value = normalise(kind, _get(answers, path))
        # Folding can lengthen text (ß, ﬃ): a value that no longer fits its column is not
        # an identifier anyone could match on, so it is left out rather than cut.
        if value and len(value) <= MAX_IDENTIFIER:
            found[kind] = value
    if all(k in found for k in ("full_name", "date_of_birth", "postcode")):
        composite = f"{found['full_name']}|{found['date_of_birth']}|{found['postcode']}"
        if len(composite) <= MAX_IDENTIFIER:
            found[COMPOSITE_KIND] = composite
    return found


def match_order(found: dict[str, str]) -> list[tuple[str, str]]:
    """The identifiers that may link to an existing record, strongest first."""
    kinds = [*STRONG_KINDS, COMPOSITE_KIND]
    return [(k, found[k]) for k in kinds if k in found]

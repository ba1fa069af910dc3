"""Citizen matching: exact matches on normalised identifiers, and when they must not link.

Nothing a citizen types is verified today (no email confirmation, no accounts yet), so every
identifier is a claim. The rule that keeps one person's submissions out of another's record:

1. A submission's identifiers are looked up (``STRONG_KINDS`` and the name-date-postcode
   key, ``match_order``); every record holding one of them is a *candidate*.
2. A candidate is joined only when it is *consistent* with the submission: it holds no other
   value of a kind a person has one of (``ONE_PER_PERSON``: NHS number, National Insurance
   number, email), and no name-date-postcode key with another date of birth (``conflicts``).
   Names and postcodes change, so those never conflict. Of the consistent candidates the one
   sharing the strongest identifier is joined, as before.
3. Otherwise the submission gets a new record. An identifier already on another record stays
   there (one owner per identifier); the new or joined record and every candidate it was not
   joined to are marked as a *possible match* for staff, on both records. Nothing here ever
   merges two records.

So a submission with the victim's NHS number and the attacker's email makes a record; the
victim's own later submission (their NHS number, their email) finds it but does not join it,
because it holds another email: the victim gets a record of their own and staff see the pair.
The reverse (the victim's email with the attacker's NHS number or date of birth) does not join
the victim's record either. A submission whose only identifier is one value (an email alone)
has nothing to contradict a record with and still joins the record holding it.

The price: a person who gives a second email address with the same NHS number gets a second
record, marked as a possible match, until staff join them. Marks are rows of their own
(``possible_match``, one per pair of records and kind shared, with a foreign key to each).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from .widgets.identifiers import (
    looks_like_nhs_number,
    looks_like_ni_number,
    normalise_nhs_number,
    normalise_ni_number,
    normalise_postcode,
)

# Strongest first: of the records a submission may join (``conflicts``), the one sharing the
# first of these decides.
STRONG_KINDS = ("nhs_number", "ni_number", "email")
COMPOSITE_KIND = "name_dob_postcode"
# Kinds a person has one value of, as far as linking goes: a record that holds another value of
# one of these is somebody else until staff decide otherwise. (A person may well have two email
# addresses; then they get two records marked as a possible match, never one shared by mistake.)
ONE_PER_PERSON = ("nhs_number", "ni_number", "email")
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


def _date_of_birth(composite: str) -> str | None:
    # The name is folded without "|" and the date is digits and hyphens: the second part is the date.
    parts = composite.split("|")
    return parts[1] if len(parts) >= 3 else None


def conflicts(found: dict[str, str], held: Iterable[tuple[str, str]]) -> list[str]:
    """The kinds on which a record's identifiers ``held`` (kind, value) contradict a submission's
    ``found``: why the submission must not join that record (empty: it may)."""
    held = list(held)
    clashes = [
        kind for kind in ONE_PER_PERSON if kind in found and any(k == kind and v != found[kind] for k, v in held)
    ]
    born = found.get("date_of_birth")
    if born and any(k == COMPOSITE_KIND and _date_of_birth(v) not in (None, born) for k, v in held):
        clashes.append("date_of_birth")
    return clashes

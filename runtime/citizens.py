"""Citizen matching's pure core: the one way each detail is normalised, and the deterministic tier.

A submission's details (``identifiers``: NHS and National Insurance numbers with their checks,
email, phone in E.164, postcode, name, date of birth) are compared with each record that shares
one of them (``lookup_keys``), field by field (``compare``). The deterministic tier
(``decide``) then says at once:

- ``SAME``: the record is clearly this person: the same name and date of birth, at least one
  identifier agreeing (NHS or NI number), or another detail agreeing (email, phone, postcode)
  with no email or phone contradicting; never another NHS or NI number. Filed there, with the
  evidence. A new email or phone with the same name, birthday and address is likely the same
  person, but not clearly: the worker weighs it.
- ``CONFLICT``: a strong identifier contradicts (the record holds another NHS or NI number, or
  this NHS number with another name and date of birth): never joined automatically.
- ``MAYBE``: anything else that shares a detail: a closer look by the probabilistic tier
  (runtime.linkage, in ``civicforms worker``), which links, asks staff, or leaves it.

No single identifier ever joins two people: an email shared by a couple, a phone shared by
twins, or someone else's NHS number typed with one's own name all leave the name or the date
of birth disagreeing, so the submission gets a record of its own and the worker scores the pair.
Nothing is verified (no accounts yet), so every detail is a claim.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import phonenumbers

from .validation import EARLIEST_BIRTH
from .widgets.identifiers import (
    is_nhs_number,
    normalise_nhs_number,
    normalise_ni_number,
    normalise_postcode,
)
from .widgets.phone import format_phone

# The kinds a submission's details are kept as (models.IDENTIFIER_KINDS): name_key is the name
# surname first, kept for search.
KINDS = ("nhs_number", "ni_number", "email", "phone", "postcode", "date_of_birth", "full_name", "name_key")
# A person has one of each: a record holding another value is somebody else until staff decide.
STRONG = ("nhs_number", "ni_number")
# Details that, beside the same name and date of birth, make a record clearly this person.
CONFIRMING = ("nhs_number", "ni_number", "email", "phone", "postcode")
# What the deterministic tier looks up: each is one probe of the (kind, value) index.
LOOKED_UP = ("nhs_number", "ni_number", "email", "phone", "full_name", "date_of_birth")

SAME, CONFLICT, MAYBE = "same", "conflict", "maybe"
AGREE, CLOSE, DISAGREE, MISSING = "agree", "close", "disagree", "missing"

MAX_IDENTIFIER = 400  # citizen_identifier.value
MAX_NAME_KEY = 200

# Apostrophes and hyphens join (O'Brien = OBrien, Smith-Jones = SmithJones). Letters NFKD does
# not split (Ł, Ø) stay as they are: the keys stored by migration 0004 were made so.
_JOINERS = dict.fromkeys(map(ord, "'`\u2018\u2019\u02bc-\u2010\u2011\u2012\u2013\u2014"), None)


def search_key(text: str) -> str:
    """A name as compared and searched: lower case (casefold), accents taken off ("José" ->
    "jose"), apostrophes and hyphens joined, other punctuation made spaces, whitespace
    collapsed, at most MAX_NAME_KEY characters. Applied alike to names stored and to what staff
    type, so both compare as plain text."""
    folded = unicodedata.normalize("NFKD", text.translate(_JOINERS).casefold())
    kept = "".join(
        ch if ch.isalnum() or unicodedata.category(ch) in ("Mc", "Me") else " "
        for ch in folded
        if unicodedata.category(ch) != "Mn"
    )
    return " ".join(kept.split())[:MAX_NAME_KEY].rstrip()


def name_keys(name: str | None) -> tuple[str | None, str | None]:
    """The two search keys of a name: as written ("jane ann smith") and surname (the last
    word) first ("smith jane ann"); (None, None) without a name."""
    full = search_key(name or "")
    if not full:
        return None, None
    words = full.split(" ")
    return full, " ".join([words[-1], *words[:-1]])


def _get(answers: Mapping[str, Any], path: str) -> Any:
    value: Any = answers
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def normalise_phone(text: str) -> str | None:
    """A phone number in E.164 ("+447700900123"), read as a UK number unless it says otherwise;
    None when it cannot be a phone number."""
    if len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """A stored phone number as people write it: "07700 900123" for a UK number, the
    international form ("+33 1 23 45 67 89") for another (as the uk-phone question shows it)."""
    return format_phone(e164)


def birth_date_problem(text: str, today: date | None = None) -> str | None:
    """Why a date of birth cannot be one (in the future, or before 1890), or None."""
    try:
        born = date.fromisoformat(text)
    except ValueError:
        return "Enter a real date of birth"
    if born > (today or date.today()):
        return "Date of birth must be in the past"
    if born < EARLIEST_BIRTH:
        return f"Date of birth must be after {EARLIEST_BIRTH.year}"
    return None


def normalise(kind: str, value: Any, today: date | None = None) -> str | None:
    """The comparable form of a detail, or None when it is empty or cannot be one of its kind
    (an NHS number failing its check digit, a date of birth in 2090): such a value never
    reaches matching."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_IDENTIFIER:
        return None
    if kind == "email":
        text = text.lower()
        return text if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) else None
    if kind == "nhs_number":
        digits = normalise_nhs_number(text)
        return digits if is_nhs_number(digits) else None
    if kind == "ni_number":
        squashed = normalise_ni_number(text)
        return squashed if re.fullmatch(r"[A-Z]{2}[0-9]{6}[A-D]?", squashed) else None
    if kind == "postcode":
        # Compared without the space, so "SW1A 1AA" and a hand-typed "SW1A1AA" match.
        code = normalise_postcode(text).replace(" ", "").upper()
        return code if re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}", code) else None
    if kind == "phone":
        return normalise_phone(text)
    if kind == "full_name":
        return search_key(text) or None
    if kind == "date_of_birth":
        return text if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) and birth_date_problem(text, today) is None else None
    return None


def identifiers(identity: Mapping[str, str], answers: Mapping[str, Any]) -> dict[str, str]:
    """The normalised details a submission carries, by kind (with the name's surname-first key)."""
    found = {}
    for kind, path in identity.items():
        value = normalise(kind, _get(answers, path))
        if value:
            found[kind] = value
    if "full_name" in found:
        _full, surname_first = name_keys(found["full_name"])
        if surname_first:
            found["name_key"] = surname_first
    return found


def swapped(born: str) -> str | None:
    """The date of birth with day and month swapped, when that is a date and another one."""
    year, month, day = born.split("-")
    if month == day:
        return None
    try:
        return date(int(year), int(day), int(month)).isoformat()
    except ValueError:
        return None


def lookup_keys(found: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (kind, value) pairs to look up for records that share a detail with the submission:
    strong identifiers, email, phone, the name, and the date of birth as given and swapped."""
    keys = [(kind, found[kind]) for kind in LOOKED_UP if kind in found]
    born = found.get("date_of_birth")
    other = swapped(born) if born else None
    if other:
        keys.append(("date_of_birth", other))
    return keys


Held = Mapping[str, Iterable[str]]


def compare(found: Mapping[str, str], held: Held) -> dict[str, str]:
    """Field by field, whether a record's details (``held``: kind -> the values its submissions
    gave) agree with the submission's: agree, close (the date of birth with day and month
    swapped), disagree, or missing (one side has none)."""
    out = {}
    for kind in ("full_name", "date_of_birth", *CONFIRMING):
        mine = found.get(kind)
        theirs = set(held.get(kind, ()))
        if not mine or not theirs:
            out[kind] = MISSING
        elif mine in theirs:
            out[kind] = AGREE
        elif kind == "date_of_birth" and swapped(mine) in theirs:
            out[kind] = CLOSE
        else:
            out[kind] = DISAGREE
    return out


def decide(found: Mapping[str, str], held: Held) -> tuple[str, dict[str, str]]:
    """The deterministic tier's answer for one record: SAME, CONFLICT or MAYBE, with the
    field-by-field comparison it rests on."""
    fields = compare(found, held)
    if any(fields[kind] == DISAGREE for kind in STRONG):
        return CONFLICT, fields
    person = fields["full_name"] == AGREE and fields["date_of_birth"] == AGREE
    if any(fields[kind] == AGREE for kind in STRONG) and not person:
        # Someone's NHS number with another name or date of birth: a typo, or a claim on
        # another person's record. Either way not for a machine to join.
        return CONFLICT, fields
    if person and any(fields[kind] == AGREE for kind in STRONG):
        return SAME, fields
    contradicted = any(fields[kind] == DISAGREE for kind in ("email", "phone"))
    if person and not contradicted and any(fields[kind] == AGREE for kind in CONFIRMING):
        return SAME, fields
    return MAYBE, fields


def held_by_kind(rows: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """(kind, value) rows as kind -> values."""
    out: dict[str, set[str]] = {}
    for kind, value in rows:
        out.setdefault(kind, set()).add(value)
    return out

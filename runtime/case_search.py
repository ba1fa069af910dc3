"""What a case can be found by beyond its reference and name (issue 17, "Finding work").

When a case opens, :func:`index_case` writes one ``case_search_term`` row per detail: the
applicant's email, phone (E.164) and postcode, read through the definition's ``identity`` and
normalised as citizen matching normalises them (runtime.citizens), and every answer of a
question marked ``"searchable": true`` (an account number), folded as names are folded
(runtime.citizens.search_key). Erasure deletes them with the rest of the case's personal data.

:func:`term_arms` turns what a caseworker typed into prefix ranges of the value index (one arm
per kind of detail it could be), normalised the same way, so "sw1a 1aa", "SW1A1AA" and
"07700 900123" find what "SW1A 1AA" and "+447700900123" stored.

Pure rules and writes in the caller's transaction: nothing here commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, delete, or_
from sqlmodel import Session, col

from . import citizens
from .checker import SEARCHABLE_WIDGETS
from .definition import Definition
from .models import Case, CaseSearchTerm

MAX_VALUE = 400  # case_search_term.value
ANSWER = "answer:"  # kind prefix of a searchable answer: "answer:account_number"
# The shortest prefix searched among the terms: shorter ones would match a large share of them.
MIN_ANSWER = 3
MIN_EMAIL = 3
MIN_PHONE_DIGITS = 6

# A postcode down to its sector at least ("SW1A 1", "M1 1"): an outward code alone would be a
# district of thousands of cases.
_POSTCODE_PREFIX = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{0,2}")
_PHONE_TEXT = re.compile(r"\+?[0-9 ()\-.]+")


def searchable_questions(definition: Definition) -> list[str]:
    """The names of the questions marked searchable, of a type that may be."""
    return [
        name
        for name, question in definition.doc.get("questions", {}).items()
        if isinstance(question, dict)
        and question.get("searchable") is True
        and question.get("widget", "text") in SEARCHABLE_WIDGETS
    ]


def answer_key(value: Any) -> str | None:
    """A searchable answer as stored and searched: folded as names are; None when empty."""
    if not isinstance(value, str):
        return None
    key = citizens.search_key(value)[:MAX_VALUE]
    return key or None


def stored(family: str, value: str) -> str:
    """A term's value as stored: its family first ("email:", "phone:", "postcode:", "answer:"),
    so that each family is a range of its own in the value index (a search for "jac" among the
    answers must not read every email address starting with "jac")."""
    return f"{family}:{value}"[:MAX_VALUE]


def terms_of(definition: Definition, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (kind, stored value) pairs a case with these answers is found by, each once."""
    found = citizens.identifiers(definition.identity, answers)
    terms: list[tuple[str, str]] = [
        (kind, stored(kind, found[kind])) for kind in ("email", "phone", "postcode") if found.get(kind)
    ]
    for name in searchable_questions(definition):
        key = answer_key(answers.get(name))
        if key:
            terms.append((ANSWER + name, stored("answer", key)))
    return list(dict.fromkeys(terms))


def index_case(session: Session, *, case: Case, definition: Definition, answers: Mapping[str, Any]) -> int:
    """Write the search terms of a newly opened case (flushed with the caller's work); how many."""
    assert case.id is not None
    terms = terms_of(definition, answers)
    for kind, value in terms:
        session.add(CaseSearchTerm(case_id=case.id, kind=kind, value=value))
    return len(terms)


def erase_terms(session: Session, *, case_id: int) -> int:
    """Delete a case's search terms (erasure of its personal data); how many were deleted."""
    result = session.exec(delete(CaseSearchTerm).where(col(CaseSearchTerm.case_id) == case_id))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


def phone_prefix(text: str) -> str | None:
    """What a typed phone number (or its beginning) is in E.164: "07700 900" -> "+447700900"."""
    if not _PHONE_TEXT.fullmatch(text):
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    if text.lstrip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+44" + digits[1:]
    if digits.startswith("44"):
        return "+" + digits
    return None


def search_prefixes(text: str) -> list[tuple[str, str]]:
    """What ``text`` could be the beginning of, as (kind, prefix of the stored value): kind is
    "email", "phone", "postcode" or "answer:" (any searchable answer). Empty when it is too
    short or too vague to be any of them."""
    text = " ".join(text.split())[:MAX_VALUE]
    prefixes: list[tuple[str, str]] = []
    if "@" in text and len(text) >= MIN_EMAIL and " " not in text:
        prefixes.append(("email", text.lower()))
    phone = phone_prefix(text)
    if phone:
        prefixes.append(("phone", phone))
    postcode = text.replace(" ", "").upper()
    if _POSTCODE_PREFIX.fullmatch(postcode):
        prefixes.append(("postcode", postcode))
    key = answer_key(text)
    if key and len(key) >= MIN_ANSWER:
        prefixes.append((ANSWER, key))
    return prefixes


def term_arms(
    text: str,
    starts_with: Any,  # (column, prefix) -> a prefix range of the column's index
) -> ColumnElement[bool] | None:
    """The ``case_search_term`` rows ``text`` finds (a condition to select their case_id by),
    each arm a range of the value index; None when nothing could match."""
    arms = [
        starts_with(col(CaseSearchTerm.value), stored(kind.rstrip(":"), prefix))
        for kind, prefix in search_prefixes(text)
    ]
    return or_(*arms) if arms else None


__all__ = [
    "ANSWER",
    "SEARCHABLE_WIDGETS",
    "answer_key",
    "erase_terms",
    "index_case",
    "phone_prefix",
    "search_prefixes",
    "stored",
    "searchable_questions",
    "term_arms",
    "terms_of",
]

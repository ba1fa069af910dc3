"""GOV.UK content advice for what a designer writes: shown beside the field, never blocking.

Question text ends with a question mark, no "please", sentence case, hints under 200
characters, no two questions with the same text, and a plain-English reading age (the
Flesch-Kincaid grade plus 5, with syllables counted here).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

HINT_LIMIT = 200
# GOV.UK aims for a reading age of 9; Flesch-Kincaid is rough on short texts, so advise only
# when a text of some length reads well above that.
READING_AGE_LIMIT = 12
MIN_WORDS_FOR_READING_AGE = 8

# A question can be an instruction rather than a question: "Tell us about your condition".
_INSTRUCTIONS = {"tell", "describe", "give", "enter", "list", "upload", "select", "choose", "explain", "add"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with", "your"}

Advice = tuple[str, str]  # (field, advice)


def count_syllables(word: str) -> int:
    """Syllables in an English word, by vowel groups with the usual corrections (at least 1)."""
    word = re.sub(r"[^a-z]", "", word.lower())
    if not word:
        return 0
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", word)  # silent endings: "makes", "used", "make"
    word = re.sub(r"^y", "", word)
    groups = re.findall(r"[aeiouy]{1,2}", word)
    return max(1, len(groups))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[.!?]+(?:\s+|$)|\n+", text) if _WORD.search(s)]


def reading_age(text: str) -> int | None:
    """The reading age a text needs (Flesch-Kincaid grade + 5); None for a text too short to tell."""
    words = _WORD.findall(text)
    if len(words) < MIN_WORDS_FOR_READING_AGE:
        return None
    sentences = max(1, len(_sentences(text)))
    syllables = sum(count_syllables(w) for w in words)
    grade = 0.39 * (len(words) / sentences) + 11.8 * (syllables / len(words)) - 15.59
    return max(5, round(grade + 5))


def _has_please(text: str) -> bool:
    return re.search(r"\bplease\b", text, re.IGNORECASE) is not None


def _title_case(text: str) -> bool:
    """Most words after the first start with a capital: "What Is Your Full Name?"."""
    words = _WORD.findall(text)[1:]
    capitals = [w for w in words if w[:1].isupper() and not w.isupper()]
    # Names ("Blue Badge", "National Insurance") are capitalised in sentence case too; a
    # capitalised small word ("Of", "Your") or three capitals in a row of words are not.
    small = any(w.lower() in _SMALL_WORDS for w in capitals)
    return (small or len(capitals) >= 3) and len(capitals) * 2 >= len(words)


def _reading(field: str, text: str) -> Iterator[Advice]:
    age = reading_age(text)
    if age is not None and age > READING_AGE_LIMIT:
        yield (
            field,
            f"This needs a reading age of about {age}. GOV.UK aims for 9: use shorter sentences and everyday words",
        )


def text_advice(field: str, text: str, *, heading: bool = False) -> list[Advice]:
    """Advice on any text: "please", reading age, and sentence case for headings."""
    out: list[Advice] = []
    if not text:
        return out
    if _has_please(text):
        out.append((field, "Avoid 'please': GOV.UK services say what to do, plainly"))
    if heading and _title_case(text):
        out.append((field, "Use sentence case: only the first word and names start with a capital letter"))
    out.extend(_reading(field, text))
    return out


def label_advice(label: str, field: str = "label") -> list[Advice]:
    """Advice on question text as the designer types it."""
    out: list[Advice] = []
    text = label.strip()
    words = _WORD.findall(text)
    if text and not text.endswith("?") and (not words or words[0].lower() not in _INSTRUCTIONS):
        out.append((field, "Question text should end with a question mark"))
    out.extend(text_advice(field, text, heading=True))
    return out


def hint_advice(hint: str, field: str = "hint") -> list[Advice]:
    out: list[Advice] = []
    if len(hint) >= HINT_LIMIT:
        out.append((field, f"Keep hints under {HINT_LIMIT} characters (this one has {len(hint)})"))
    out.extend(text_advice(field, hint))
    return out


def question_advice(doc: dict[str, Any], name: str) -> list[Advice]:
    """Advice on one question, keyed by the fields of the question's form: label, hint, choices."""
    question = doc.get("questions", {}).get(name, {})
    label = str(question.get("label", ""))
    # A declaration's heading and statement are not questions: no "should end with a question mark".
    declaration = question.get("widget") == "declaration"
    out = text_advice("label", label, heading=True) if declaration else label_advice(label)
    if declaration and isinstance(question.get("statement"), str):
        out.extend(text_advice("statement", question["statement"]))
    hint = question.get("hint")
    if isinstance(hint, str):
        out.extend(hint_advice(hint))
    same = [
        other
        for other, q in doc.get("questions", {}).items()
        if other != name and str(q.get("label", "")).strip().casefold() == label.strip().casefold()
    ]
    if label and same:
        out.append(("label", "Another question in this service has the same text: make each question distinct"))
    for value, option in (question.get("options") or {}).items():
        if isinstance(option, dict):
            out.extend(text_advice(f"options.{value}.label", str(option.get("label", ""))))
    return out


def advise(doc: dict[str, Any]) -> list[Advice]:
    """All advice for a service, with fields as paths: ``questions.<name>.label``, ``pages.<id>.title``."""
    out: list[Advice] = [
        (f"questions.{name}.{field}", advice)
        for page in doc.get("pages", [])
        for name in page.get("questions", [])
        for field, advice in question_advice(doc, name)
    ]
    for page in doc.get("pages", []):
        where = f"pages.{page.get('id')}"
        out.extend(text_advice(f"{where}.title", str(page.get("title", "")), heading=True))
        for paragraph in page.get("intro", []):
            out.extend(text_advice(f"{where}.intro", str(paragraph)))
    out.extend(text_advice("title", str(doc.get("title", "")), heading=True))
    for key, part in (("start", "body"), ("check_answers", "declaration"), ("confirmation", "next_steps")):
        for paragraph in (doc.get(key) or {}).get(part, []):
            out.extend(text_advice(f"{key}.{part}", str(paragraph)))
    seen: set[Advice] = set()
    return [a for a in out if not (a in seen or seen.add(a))]  # type: ignore[func-returns-value]

"""Words made from a definition's own text for the messages citizens read.

Pure and dependency-free (``runtime.questions`` uses it, and imports nothing of the engine).

``error_noun`` turns a question's label into the noun phrase of GOV.UK-style error messages:
"Have you told all the neighbours?" gives "whether you have told all the neighbours" (so that
"Select whether you have told all the neighbours"), "What is your name?" gives "your name".
``number_range`` says a number question's limits with whether their ends are allowed
("from 1 to 500", "more than 0 and less than 1").
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["confirmation_noun", "error_noun", "lower_first", "number_range", "number_text"]

# The verbs that open a yes/no question ("Have you ...?"), as they read after their subject.
_AUXILIARIES = {
    "am": "am",
    "are": "are",
    "is": "is",
    "was": "was",
    "were": "were",
    "have": "have",
    "has": "has",
    "had": "had",
    "will": "will",
    "would": "would",
    "can": "can",
    "could": "could",
    "should": "should",
    "shall": "shall",
    "may": "may",
    "might": "might",
    "must": "must",
    "do": "",  # "Do you live here?" -> "whether you live here"
}
# Subjects that are one word, so the verb can be put after them without guessing.
_PRONOUNS = {"you", "we", "they", "i", "it", "he", "she", "there", "this", "that", "anyone", "someone"}
_WH = {"when", "where", "why", "how", "which", "who", "what"}
_WHAT_IS = re.compile(r"^(?:what|which)(?:\s+is|\s+are|'s)\s+(.+)$", re.IGNORECASE)


def lower_first(text: str) -> str:
    """'Full name' -> 'full name', but 'NHS number' stays: an acronym keeps its capitals."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():  # "NHS number" keeps its capitals
        return text
    return text[:1].lower() + text[1:]


def _invert(words: list[str]) -> list[str] | None:
    """["have", "you", "told", ...] -> ["you", "have", "told", ...]; None when the subject is not one word."""
    if len(words) < 3 or words[0].lower() not in _AUXILIARIES or words[1].lower() not in _PRONOUNS:
        return None
    verb = _AUXILIARIES[words[0].lower()]
    subject = words[1] if words[1] == "I" else words[1].lower()
    return [subject, *([verb] if verb else []), *words[2:]]


def error_noun(label: str) -> str:
    """The noun phrase that names a question in its error messages, made from its label.

    A statement ("Full name") is lowered ("full name"); a question loses its question mark and
    reads as part of a sentence: "Have you told all the neighbours?" -> "whether you have told
    all the neighbours", "When will you hold it?" -> "when you will hold it", "What is your
    name?" -> "your name". A question that cannot be turned round without guessing (its
    subject is more than one word) is quoted: "an answer to ‘Is the road closed?’".
    """
    text = " ".join(str(label).split())
    if not text.endswith("?"):
        return lower_first(text)
    body = text.rstrip("?").strip()
    if not body:
        return lower_first(text)
    what = _WHAT_IS.match(body)
    if what:
        return lower_first(what.group(1))
    words = body.split(" ")
    first = words[0].lower()
    plural = ("you", "we", "they", "i")
    if first in _AUXILIARIES:
        inverted = _invert(words)
        if inverted is not None and (first != "do" or words[1].lower() in plural):
            return "whether " + " ".join(inverted)
    elif first in _WH and len(words) > 2:
        second = words[1].lower()
        if second not in _AUXILIARIES or first == "who":  # "How many people will come?" reads as it is
            return lower_first(body)
        inverted = _invert(words[1:])
        if inverted is not None and (second != "do" or words[2].lower() in plural):
            return " ".join([first, *inverted])
    elif first not in _WH and first not in ("does", "did"):
        return lower_first(body)  # "Your postcode?" and other clipped questions
    return f"an answer to ‘{text}’"


_I_CONFIRM = re.compile(r"^I\s+confirm\s+(.+?)[.!]?$", re.IGNORECASE | re.DOTALL)
# The applicant's own words turned to the service's: "I have told my neighbours" -> "you have told your neighbours".
_SECOND_PERSON = {
    "i": "you",
    "i'm": "you're",
    "i’m": "you’re",
    "i've": "you've",
    "i’ve": "you’ve",
    "am": "are",
    "was": "were",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
}


def confirmation_noun(statement: str) -> str | None:
    """What a declaration's statement confirms, in the service's words, for its error message:
    "I confirm I have told all the neighbours" -> "you have told all the neighbours" (so "Select the
    box to confirm you have told all the neighbours"); None when it does not start "I confirm"."""
    found = _I_CONFIRM.match(" ".join(str(statement).split()))
    if found is None:
        return None
    words = found.group(1).split(" ")
    out = []
    for i, word in enumerate(words):
        bare = word.rstrip(",;:").lower()
        tail = word[len(word.rstrip(",;:")) :]
        if bare in ("am", "was") and (i == 0 or words[i - 1].lower() != "i"):
            out.append(word)  # "am"/"was" change only after "I"
        elif bare in _SECOND_PERSON:
            out.append(_SECOND_PERSON[bare] + tail)
        else:
            out.append(word)
    return " ".join(out)


def number_text(value: Any) -> str:
    """A limit as people write it: 10,000 and 2.5, never 10000.0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def number_range(schema: dict[str, Any]) -> str | None:
    """A number's limits in words, saying whether the ends are allowed; None without limits.

    {"minimum": 1, "maximum": 500} -> "from 1 to 500"; {"exclusiveMinimum": 0} -> "more than 0";
    {"minimum": 1} -> "1 or more"; {"exclusiveMinimum": 0, "maximum": 1} -> "more than 0 and 1 or less".
    """

    def limit(key: str) -> Any:
        value = schema.get(key)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    low, low_out = limit("minimum"), limit("exclusiveMinimum")
    high, high_out = limit("maximum"), limit("exclusiveMaximum")
    if low_out is not None and (low is None or low_out >= low):
        low, low_open = low_out, True
    else:
        low_open = False
    if high_out is not None and (high is None or high_out <= high):
        high, high_open = high_out, True
    else:
        high_open = False
    if low is not None and high is not None:
        if not low_open and not high_open:
            return f"from {number_text(low)} to {number_text(high)}"
        lower = f"more than {number_text(low)}" if low_open else f"{number_text(low)} or more"
        upper = f"less than {number_text(high)}" if high_open else f"{number_text(high)} or less"
        return f"{lower} and {upper}"
    if low is not None:
        return f"more than {number_text(low)}" if low_open else f"{number_text(low)} or more"
    if high is not None:
        return f"less than {number_text(high)}" if high_open else f"{number_text(high)} or less"
    return None

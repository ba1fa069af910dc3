"""The one slug rule: ASCII lower-case words joined by a separator ("adult-social-care").

Department slugs (stored, matched by name), the service id the builder suggests from a title, and
the ids the builder makes for pages, questions, options, states and actions all come from here.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """The ASCII lower-case words of a text: apostrophes dropped ("partner's" -> "partners"),
    accents folded ("Café" -> "cafe"), everything else a separator."""
    text = text.replace("'", "").replace("\u2019", "")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _WORD.findall(ascii_text.lower())


def slug(text: str, sep: str = "-", limit: int = 60) -> str:
    """Whole words joined by ``sep``, as many as fit in ``limit`` characters ('Café – opening
    hours' -> 'cafe-opening-hours'); a first word longer than that is cut."""
    out = ""
    for word in words(text):
        candidate = f"{out}{sep}{word}" if out else word
        if len(candidate) > limit:
            return out or word[:limit]
        out = candidate
    return out


def legacy_department_slug(name: str) -> str:
    """How department slugs were made before this rule ("Café" -> "caf"): rows stored then keep
    theirs, and a name is looked up by both."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")

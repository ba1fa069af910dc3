"""Three-way merge of service definitions, and the parts of a definition an edit touched.

A builder draft starts from a published version (its *base*). When a newer version arrives (IT
edited the file in git and ran ``civicforms load``, or a colleague rolled back), the draft is
brought up to date by merging the designer's changes (*ours*: base to draft) with the arrived
ones (*theirs*: base to the newer version):

- objects merge key by key, recursively; a key one side changed takes that side's value;
- ``pages`` merges page by page, matched by ``id``: theirs' order, with pages only we added
  placed after the page before them in our draft;
- every other list (a ``required`` list, routing rules) and every condition is one value;
- a part both sides changed to different values is a :class:`Conflict`, named in plain words
  for a designer ("the question 'Your name': its hint"). Until chosen, the merged document
  holds theirs (the live version) there; ``merge(..., choose=...)`` takes a side per conflict.

``version`` is never a conflict: the merged document carries theirs' number when both changed it.
``parts(old, new)`` lists the top-level parts an edit changed (``question:name``,
``page:address``, ``workflow``...), which the builder records to credit each designer.

Pure: no Flask, no database.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .changes import quoted_label, quoted_title, same_definition
from .problems import json_equal


class _Missing:
    """A key one side does not have (removed, or never there)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
Side = Literal["ours", "theirs"]
Path = tuple[str, ...]


@dataclass(frozen=True)
class Conflict:
    """One part both sides changed differently: where (``path``, pages by id), in words, and the three values.

    A value is ``MISSING`` where that side removed the part (or never had it).
    """

    path: Path
    words: str
    base: Any
    ours: Any
    theirs: Any

    @property
    def key(self) -> str:
        """A stable name for the conflict (a form field's name): the path joined by '/'."""
        return "/".join(self.path)


@dataclass
class Merged:
    """The merged definition and the conflicts met (where ``doc`` holds the chosen side, theirs by default)."""

    doc: dict[str, Any]
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


Choose = Callable[[Conflict], Side]


def merge(
    base: dict[str, Any] | None,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    *,
    choose: Mapping[str, Side] | Choose | None = None,
) -> Merged:
    """Merge ``ours`` (base to our draft) with ``theirs`` (base to the newer version).

    ``choose`` resolves conflicts: a mapping of ``Conflict.key`` to ``"ours"``/``"theirs"``, or a
    function of the conflict; a conflict it does not name takes theirs.
    """
    if callable(choose):
        pick: Choose = choose
    else:
        chosen = dict(choose or {})

        def pick(conflict: Conflict) -> Side:
            return "ours" if chosen.get(conflict.key) == "ours" else "theirs"

    merger = _Merger(ours, theirs, pick)
    doc = merger.value((), base if base is not None else {}, ours, theirs)
    return Merged(doc if isinstance(doc, dict) else {}, merger.conflicts)


def without_version(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The definition without its ``version`` number: what the content comparisons compare."""
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k != "version"}


def same_content(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two definitions say the same thing, whatever their version numbers (and the order of
    the questions about each item counts: ``changes.same_definition``)."""
    if a is None or b is None:
        return a is b
    return same_definition(without_version(a), without_version(b))


class _Merger:
    def __init__(self, ours: dict[str, Any], theirs: dict[str, Any], pick: Choose):
        self.ours_doc, self.theirs_doc = ours, theirs
        self.pick = pick
        self.conflicts: list[Conflict] = []

    def value(self, path: Path, b: Any, o: Any, t: Any) -> Any:
        if _equal(o, t):
            return copy.deepcopy(o)
        if _equal(o, b):
            return copy.deepcopy(t)
        if _equal(t, b):
            return copy.deepcopy(o)
        if path == ("version",):
            return copy.deepcopy(t)
        if isinstance(o, dict) and isinstance(t, dict) and path[-1:] not in _ATOMIC:
            return self.objects(path, b if isinstance(b, dict) else {}, o, t)
        if path == ("pages",) and all(_pages_by_id(x) is not None for x in (b if b else [], o, t)):
            return self.pages(b if b else [], o, t)
        conflict = Conflict(path, words(path, self.ours_doc, self.theirs_doc), b, o, t)
        self.conflicts.append(conflict)
        return copy.deepcopy(o if self.pick(conflict) == "ours" else t)

    def objects(self, path: Path, b: dict[str, Any], o: dict[str, Any], t: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in [*t, *(k for k in o if k not in t), *(k for k in b if k not in t and k not in o)]:
            merged = self.value((*path, key), b.get(key, MISSING), o.get(key, MISSING), t.get(key, MISSING))
            if merged is not MISSING:
                out[key] = merged
        return out

    def pages(self, b: list[Any], o: list[Any], t: list[Any]) -> list[Any]:
        base, ours, theirs = (_pages_by_id(x) or {} for x in (b, o, t))
        merged: dict[str, Any] = {}
        for page_id in [
            *theirs,
            *(i for i in ours if i not in theirs),
            *(i for i in base if i not in theirs and i not in ours),
        ]:
            value = self.value(
                ("pages", page_id), base.get(page_id, MISSING), ours.get(page_id, MISSING), theirs.get(page_id, MISSING)
            )
            if value is not MISSING:
                merged[page_id] = value
        order_b = [i for i in base if i in merged]
        order_o = [i for i in ours if i in merged]
        order_t = [i for i in theirs if i in merged]
        # The side that reordered the pages leads; theirs when both did (or neither).
        lead, other = (
            (order_o, order_t)
            if order_t == [i for i in order_b if i in theirs] and order_o != [i for i in order_b if i in ours]
            else (order_t, order_o)
        )
        order = list(lead)
        for position, page_id in enumerate(other):
            if page_id in order:
                continue
            before = next((p for p in reversed(other[:position]) if p in order), None)
            order.insert(order.index(before) + 1 if before is not None else 0, page_id)
        order += [i for i in merged if i not in order]
        return [merged[i] for i in order]


# Conditions are one value: half of one side's condition and half of the other's would be a rule
# nobody wrote.
_ATOMIC = {("show_if",), ("if",), ("then",), ("else",), ("not",)}


def _equal(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    return json_equal(a, b)


def _pages_by_id(pages: Any) -> dict[str, Any] | None:
    """Pages keyed by id, or None when they cannot be matched by id (not a list, no id, a repeated id)."""
    if not isinstance(pages, list):
        return None
    out: dict[str, Any] = {}
    for page in pages:
        if not isinstance(page, dict) or not isinstance(page.get("id"), str) or page["id"] in out:
            return None
        out[page["id"]] = page
    return out


# -- plain words ----------------------------------------------------------------------------------

_SECTIONS = {
    "title": "the service's name",
    "description": "the service's description",
    "department": "the department",
    "live": "whether the service is open",
    "reference_prefix": "the reference number's prefix",
    "start": "the start page",
    "identity": "how citizens are identified",
    "schema": "the answer rules",
    "questions": "the questions",
    "pages": "the pages",
    "messages": "the error messages",
    "check_answers": "the check answers page",
    "confirmation": "the confirmation page",
    "privacy": "the privacy notice",
    "contact": "the contact details",
    "workflow": "the approval steps",
    "format": "the definition's format",
}
_PART_WORDS = {
    "label": "question text",
    "hint": "hint",
    "short_label": "short label",
    "error_name": "name in error messages",
    "widget": "type of answer",
    "options": "choices",
    "title": "title",
    "intro": "introduction",
    "show_if": "condition",
    "questions": "questions",
    "next": "routing",
    "stop": "stop",
    "body": "text",
    "you_will_need": "'you will need' list",
    "button": "button",
    "declaration": "declaration",
    "next_steps": "'what happens next' text",
    "url": "link",
    "summary": "summary",
    "email": "email address",
    "phone": "phone number",
    "hours": "opening hours",
    "address": "postal address",
    "required": "required answers",
    "properties": "answer rules",
    "states": "steps",
    "transitions": "decisions",
}


def _rest(rest: tuple[str, ...]) -> str:
    return " ".join(_PART_WORDS.get(part, part.replace("_", " ")) for part in rest)


def _page_title(doc: dict[str, Any], page_id: str) -> str | None:
    for page in doc.get("pages", []) if isinstance(doc.get("pages"), list) else []:
        if isinstance(page, dict) and page.get("id") == page_id:
            return quoted_title(page)
    return None


def words(path: Path, ours: dict[str, Any], theirs: dict[str, Any] | None = None) -> str:
    """A part of a definition in plain words: "the question 'Your name': its hint"."""
    docs = [d for d in (ours, theirs) if isinstance(d, dict)]
    if not path:
        return "the whole service"
    head, rest = path[0], path[1:]
    if head in ("questions",) and rest:
        name = rest[0]
        label = next((quoted_label(d, name) for d in docs if name in (d.get("questions") or {})), f"'{name}'")
        return f"the question {label}" + (f": its {_rest(rest[1:])}" if rest[1:] else "")
    if head == "schema" and len(rest) >= 2 and rest[0] == "properties":
        name = rest[1]
        label = next((quoted_label(d, name) for d in docs if name in (d.get("questions") or {})), f"'{name}'")
        return f"the question {label}: its answer rules"
    if head == "pages" and rest:
        title = next((t for d in docs if (t := _page_title(d, rest[0])) is not None), f"'{rest[0]}'")
        return f"the page {title}" + (f": its {_rest(rest[1:])}" if rest[1:] else "")
    section = _SECTIONS.get(head, f"'{head}'")
    return section + (f": its {_rest(rest)}" if rest else "")


# -- the parts an edit touched ----------------------------------------------------------------------


def parts(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """The top-level parts ``new`` changed from ``old``: ``question:<name>``, ``page:<id>``, ``pages``
    (their order), ``schema`` (rules not of one question) or a section's key (``workflow``,
    ``confirmation``...). ``version`` is not a part."""
    old = old or {}
    return list(dict.fromkeys(_parts(old, new)))


def _parts(old: dict[str, Any], new: dict[str, Any]) -> Iterator[str]:
    for key in [*new, *(k for k in old if k not in new)]:
        a, b = old.get(key, MISSING), new.get(key, MISSING)
        if key == "version" or _equal(a, b):
            continue
        if key == "questions" and isinstance(a, dict | _Missing) and isinstance(b, dict | _Missing):
            qa: dict[str, Any] = a if isinstance(a, dict) else {}
            qb: dict[str, Any] = b if isinstance(b, dict) else {}
            yield from (
                f"question:{n}"
                for n in [*qb, *(k for k in qa if k not in qb)]
                if not _equal(qa.get(n, MISSING), qb.get(n, MISSING))
            )
        elif key == "pages" and _pages_by_id(a or []) is not None and _pages_by_id(b or []) is not None:
            pa, pb = _pages_by_id(a or []) or {}, _pages_by_id(b or []) or {}
            yield from (
                f"page:{i}"
                for i in [*pb, *(k for k in pa if k not in pb)]
                if not _equal(pa.get(i, MISSING), pb.get(i, MISSING))
            )
            if [i for i in pa if i in pb] != [i for i in pb if i in pa]:
                yield "pages"
        elif key == "schema" and isinstance(a, dict) and isinstance(b, dict):
            props_a, props_b = a.get("properties") or {}, b.get("properties") or {}
            if isinstance(props_a, dict) and isinstance(props_b, dict):
                for name in [*props_b, *(k for k in props_a if k not in props_b)]:
                    if not _equal(props_a.get(name, MISSING), props_b.get(name, MISSING)):
                        yield f"question:{name}"
                rest_a = {k: v for k, v in a.items() if k != "properties"}
                rest_b = {k: v for k, v in b.items() if k != "properties"}
                if not json_equal(rest_a, rest_b):
                    yield "schema"
            else:
                yield "schema"
        else:
            yield key


def part_words(part: str, doc: dict[str, Any]) -> str:
    """One of ``parts``' names in plain words: "the question 'Your name'", "the confirmation page"."""
    kind, _, name = part.partition(":")
    if kind == "question" and name:
        return words(("questions", name), doc)
    if kind == "page" and name:
        return words(("pages", name), doc)
    if part == "pages":
        return "the order of the pages"
    return words((part,), doc)

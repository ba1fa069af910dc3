"""A human-readable summary of the changes between two versions of a definition.

Used by the builder's publish page and version history, git commit messages and
``civicforms diff``. Sentences come in a fixed order (details, start page, pages and questions
in page order, required answers, error messages, check answers, confirmation, privacy and
contact, identity, approval steps, retention), and anything no sentence covers is reported by its JSON path, so that no
change is ever missed. The ``version`` number itself is not a change of content and is left out,
and so is a top-level "$schema" (it only tells an editor where the meta-schema is).

``changes`` gives each sentence with the JSON path of the part it is about and that part's full
old and new values (``civicforms diff --json``); ``summarise`` gives the sentences alone. A text
longer than 80 characters is shortened in a sentence ("…"), never in the values.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from .conditions import describe_schema
from .date_rules import rule_words
from .definition import canonical, without_editor_keys
from .problems import json_equal
from .retention import short_words as retention_words
from .uploads import KINDS
from .visibility import ConditionTooLarge, requirements, visibility_condition
from .widgets import WIDGETS, long_date
from .widgets.file import DEFAULT_MAX_SIZE_MB
from .workflow import DEFAULT_SECTION, parse_duration

# The plain-words reader for conditions: (doc, condition) -> "Show this page only if ..." or None
# when it cannot read it. ``runtime.conditions.describe_schema`` unless a caller gives another.
DescribeCondition = Callable[[dict[str, Any], Any], str | None]

_SHORT = 80  # texts up to this long are quoted in full in a sentence; longer ones are shortened


@dataclass(frozen=True)
class Change:
    """One change: its sentence, the JSON path of the part it is about (in the new document, or
    the old one for a part removed) and that part's full old and new values (None: absent)."""

    sentence: str
    path: str = "$"
    old: Any = None
    new: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new, "sentence": self.sentence}


def _words(value: Any) -> str:
    """A value as text for a sentence: paragraphs joined by " / ", other JSON compactly."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " / ".join(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _quote(value: Any) -> str:
    text = _words(value)
    if len(text) > _SHORT:
        text = text[: _SHORT - 1].rstrip() + "…"
    return f"'{text}'"


def _change(what: str, old: Any, new: Any, path: str = "$") -> Change | None:
    """ "Added the X: 'b'", "Removed the X (was 'a')", "Changed the X from 'a' to 'b'"."""
    if json_equal(old, new):
        return None
    if old is None:
        return Change(f"Added the {what}: {_quote(new)}", path, old, new)
    if new is None:
        return Change(f"Removed the {what} (was {_quote(old)})", path, old, new)
    return Change(f"Changed the {what} from {_quote(old)} to {_quote(new)}", path, old, new)


def _at(doc: dict[str, Any], *keys: Any) -> Any:
    """The value at ``keys`` in ``doc``, None when any step is missing."""
    node: Any = doc
    for key in keys:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
        else:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def _page_path(doc: dict[str, Any], page_id: str) -> str:
    for i, page in enumerate(doc.get("pages", []) if isinstance(doc.get("pages"), list) else []):
        if isinstance(page, dict) and page.get("id") == page_id:
            return f"$.pages[{i}]"
    return "$.pages"


def _section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _pages(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in doc.get("pages", []) if isinstance(p, dict) and isinstance(p.get("id"), str)]


def _questions(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    questions = doc.get("questions")
    return {k: v for k, v in questions.items() if isinstance(v, dict)} if isinstance(questions, dict) else {}


def quoted_title(page: dict[str, Any]) -> str:
    return _quote(page.get("title") or page["id"])


def quoted_label(doc: dict[str, Any], name: str) -> str:
    return _quote(_questions(doc).get(name, {}).get("label") or name)


def _short(doc: dict[str, Any], name: str) -> str:
    q = _questions(doc).get(name, {})
    return _quote(q.get("short_label") or q.get("label") or name)


def _kept_order(old: list[str], new: list[str]) -> list[str]:
    """The items of ``new`` that keep their relative order from ``old`` (a longest common subsequence)."""
    common_old = [x for x in old if x in set(new)]
    common_new = [x for x in new if x in set(old)]
    n, m = len(common_old), len(common_new)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if common_old[i] == common_new[j]:
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    kept, i, j = [], 0, 0
    while i < n and j < m:
        if common_old[i] == common_new[j]:
            kept.append(common_new[j])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def summarise(
    old: dict[str, Any] | None, new: dict[str, Any], *, describe_condition: DescribeCondition | None = None
) -> list[str]:
    """The changes from ``old`` to ``new`` as sentences; ``[]`` when nothing changed."""
    return [change.sentence for change in changes(old, new, describe_condition=describe_condition)]


def changes(
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    *,
    describe_condition: DescribeCondition | None = None,
    every_part: bool = False,
) -> list[Change]:
    """The changes from ``old`` to ``new``, each with its path and full old and new values.

    ``old`` None is a first version: one sentence, or with ``every_part`` (``civicforms diff`` of
    a new file) every part of the service described as added. ``new`` None is a removed service."""
    describe_condition = describe_condition or describe_schema
    if new is None:
        title = old.get("title") if isinstance(old, dict) else None
        return [Change(f"Removed the service {_quote(title or (old or {}).get('id'))}", "$", old, None)]
    new = without_editor_keys(new)
    if old is None:
        pages = _pages(new)
        questions = sum(len(p.get("questions", [])) for p in pages)
        first = Change(f"First version: {_count(len(pages), 'page')}, {_count(questions, 'question')}", "$", None, new)
        if not every_part:
            return [first]
        return [first, *_changes(_empty_like(new), new, describe_condition)]
    old = without_editor_keys(old)
    if same_definition(canonical(old), canonical(new)):
        return []
    return _changes(old, new, describe_condition)


def item_question_orders(doc: dict[str, Any]) -> dict[str, list[str]]:
    """The order of the questions about each item, for every add-another question.

    That order is only the key order of the add-another's ``questions``, which ``json_equal``
    does not see."""
    return {
        name: list(q["questions"])
        for name, q in _questions(doc).items()
        if q.get("widget") == "add-another" and isinstance(q.get("questions"), dict)
    }


def same_definition(a: Any, b: Any) -> bool:
    """Whether two definitions say the same thing: equal as JSON, and with the questions about each
    item in the same order. The one rule for ``changes`` and ``merging.same_content`` (publishing)."""
    if not json_equal(a, b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return item_question_orders(a) == item_question_orders(b)
    return True


def _empty_like(doc: dict[str, Any]) -> dict[str, Any]:
    """A service with nothing in it yet, as a base to describe every part of ``doc`` as added."""
    return {
        "id": doc.get("id"),
        "schema": {"type": "object", "properties": {}},
        "questions": {},
        "pages": [],
        "identity": {},
    }


def _changes(old: dict[str, Any], new: dict[str, Any], describe_condition: DescribeCondition | None) -> list[Change]:
    out: list[Change] = []
    for part, where in (
        (_details(old, new), "$"),
        (_start(old, new), "$.start"),
        (_pages_and_questions(old, new, describe_condition), "$.pages"),
        (_required(old, new, describe_condition), "$.schema"),
        (_messages(old, new), "$.messages"),
        (_end_pages(old, new), "$"),
        (_identity(old, new), "$.identity"),
        (_workflow(old, new), "$.workflow"),
        (_retention(old, new), "$.retention"),
        (_leftovers(old, new), "$"),
    ):
        out.extend(_as_change(line, where) for line in part if line)
    return out


# The last part of the path of every wording a citizen or member of staff reads.
_WORDING_KEYS = {
    "title",
    "description",
    "body",
    "you_will_need",
    "button",
    "declaration",
    "next_steps",
    "summary",
    "hours",
    "address",
    "label",
    "hint",
    "intro",
    "short_label",
    "error_name",
    "statement",
    "yes_label",
    "no_label",
    "citizen_text",
    "appeal",
    "subject",
    "singular",
    "plural",
}


def wording(change: Change) -> tuple[str, str] | None:
    """A changed wording's whole old and new text ("" for none), when the sentence had to shorten either.

    ``civicforms diff`` prints them under the sentence, so that every changed wording (a hint, an
    introduction, a choice, a message) can be read in full, old and new (issue 17)."""

    def text(value: Any) -> str | None:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "\n".join(value)
        return None

    last = change.path.rsplit(".", 1)[-1]
    if last not in _WORDING_KEYS and not change.path.startswith("$.messages."):
        return None  # not a wording: a setting, an id, a rule
    if last == "summary" and change.path.startswith("$.questions."):
        return None  # an add-another's summary names an item question: its sentence says which
    before, after = text(change.old), text(change.new)
    if before is None or after is None or (not before and not after):
        return None
    if all(_quote(value) in change.sentence for value in (before, after) if value):
        shortened = any(len(_words(v)) > _SHORT for v in (change.old, change.new) if v)
        if not shortened:
            return None  # the sentence already says both in full
    return before, after


def _as_change(line: str | Change, where: str) -> Change:
    return line if isinstance(line, Change) else Change(line, where)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- service details, start page, end pages ---------------------------------------------------


def _details(old: dict[str, Any], new: dict[str, Any]) -> Iterator[str | Change | None]:
    if old.get("id") != new.get("id") and old.get("id") is not None:
        yield Change(
            f"Changed the service id from {_quote(old.get('id'))} to {_quote(new.get('id'))}",
            "$.id",
            old.get("id"),
            new.get("id"),
        )
    for key, words in (("title", "title"), ("description", "description"), ("department", "department")):
        yield _change(words, old.get(key), new.get(key), f"$.{key}")
    if old.get("live", True) != new.get("live", True):
        sentence = "Put the service online" if new.get("live", True) else "Took the service offline"
        yield Change(sentence, "$.live", old.get("live"), new.get("live"))
    yield _change("reference prefix", old.get("reference_prefix"), new.get("reference_prefix"), "$.reference_prefix")


def _start(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change | None]:
    a, b = _section(old, "start"), _section(new, "start")
    yield _change("text of the start page", a.get("body"), b.get("body"), "$.start.body")
    yield _change(
        "list of what you will need on the start page",
        a.get("you_will_need"),
        b.get("you_will_need"),
        "$.start.you_will_need",
    )
    yield _change("start button text", a.get("button"), b.get("button"), "$.start.button")


_END_PAGES = (
    ("check_answers", "title", "title of check answers"),
    ("check_answers", "declaration", "declaration"),
    ("check_answers", "button", "send button text"),
    ("confirmation", "title", "confirmation title"),
    ("confirmation", "next_steps", "text of what happens next on the confirmation page"),
    ("privacy", "url", "privacy notice link"),
    ("privacy", "summary", "privacy summary"),
    ("contact", "email", "contact email address"),
    ("contact", "phone", "contact phone number"),
    ("contact", "hours", "contact opening hours"),
    ("contact", "address", "contact postal address"),
)


def _end_pages(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change | None]:
    for section, key, words in _END_PAGES:
        yield _change(words, _section(old, section).get(key), _section(new, section).get(key), f"$.{section}.{key}")


_IDENTITY_WORDS = {
    "full_name": "full name",
    "date_of_birth": "date of birth",
    "email": "email address",
    "phone": "phone number",
    "postcode": "postcode",
    "nhs_number": "NHS number",
    "ni_number": "National Insurance number",
}


def _field_words(doc: dict[str, Any], path: Any) -> str:
    name, _, part = str(path).partition(".")
    return f"{_short(doc, name)} ({part})" if part else _short(doc, name)


def _retention(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    """ "Retention: 6 years after the case is closed → 2 years after the form was sent"."""
    before, after = old.get("retention"), new.get("retention")
    if json_equal(before, after):
        return
    was, now = retention_words(before), retention_words(after)
    if was == now:  # the same period written another way (72 months for 6 years)
        yield Change(f"Retention: {now} (now written as {_quote(after)})", "$.retention", before, after)
    else:
        yield Change(f"Retention: {was} → {now}", "$.retention", before, after)


def _identity(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    a, b = _section(old, "identity"), _section(new, "identity")
    for kind in [*a, *(k for k in b if k not in a)]:
        words = _IDENTITY_WORDS.get(kind, kind)
        path, before_value, after_value = f"$.identity.{kind}", a.get(kind), b.get(kind)
        if kind not in b:
            yield Change(f"The citizen's {words} is no longer used to identify them", path, before_value, None)
        elif kind not in a:
            sentence = f"The citizen's {words} now identifies them, from {_field_words(new, b[kind])}"
            yield Change(sentence, path, None, after_value)
        elif a[kind] != b[kind]:
            now, before = _field_words(new, b[kind]), _field_words(old, a[kind])
            yield Change(
                f"The citizen's {words} now comes from {now} instead of {before}", path, before_value, after_value
            )


# -- pages and questions ---------------------------------------------------------------------


def _pages_and_questions(
    old: dict[str, Any], new: dict[str, Any], describe_condition: DescribeCondition | None
) -> Iterator[str | Change | None]:
    old_pages, new_pages = _pages(old), _pages(new)
    old_by_id = {p["id"]: p for p in old_pages}
    new_by_id = {p["id"]: p for p in new_pages}
    old_q, new_q = _questions(old), _questions(new)
    old_page_of = {q: p["id"] for p in old_pages for q in p.get("questions", [])}

    # A page whose id changed but which asks the same questions is the same page.
    renamed_ids: dict[str, str] = {}  # new id -> old id
    gone = [p for p in old_pages if p["id"] not in new_by_id]
    for page in new_pages:
        if page["id"] in old_by_id or not page.get("questions"):
            continue
        for candidate in gone:
            if candidate.get("questions") == page.get("questions") and candidate["id"] not in renamed_ids.values():
                renamed_ids[page["id"]] = candidate["id"]
                break
    matched_old = set(renamed_ids.values())

    def old_of(page_id: str) -> dict[str, Any] | None:
        return old_by_id.get(renamed_ids.get(page_id, page_id))

    # Pages in the new order, then what happened to each.
    kept = _kept_order([p["id"] for p in old_pages], [renamed_ids.get(p["id"], p["id"]) for p in new_pages])
    previous: dict[str, Any] | None = None
    for page in new_pages:
        before = old_of(page["id"])
        if before is None:
            path = _page_path(new, page["id"])
            if not page.get("questions"):
                kind = "stop page" if page.get("stop") else "page"
                yield Change(f"Added {kind} {quoted_title(page)}", path, None, page)
            for name in page.get("questions", []):
                if name not in old_q:
                    yield from _added_question(new, name, f"new page {quoted_title(page)}", describe_condition)
                elif name in old_page_of:
                    was = quoted_title(old_by_id[old_page_of[name]])
                    yield Change(
                        f"Moved question {quoted_label(new, name)} from page {was} to new page {quoted_title(page)}",
                        path,
                        old_page_of[name],
                        page["id"],
                    )
            yield from _page_changes(old, new, {"id": page["id"], "title": page.get("title")}, page, describe_condition)
            previous = page
            continue
        if before["id"] != page["id"]:
            yield f"Changed the id of page {quoted_title(page)} from {_quote(before['id'])} to {_quote(page['id'])}"
        if before["id"] not in kept:
            where = f"after page {quoted_title(previous)}" if previous else "to the start"
            yield f"Moved page {quoted_title(page)} {where}"
        yield from _page_changes(old, new, before, page, describe_condition)
        for name in page.get("questions", []):
            if name not in old_q:
                yield from _added_question(new, name, f"page {quoted_title(page)}", describe_condition)
            elif name in old_page_of and old_page_of[name] != before["id"]:
                source = quoted_title(old_by_id[old_page_of[name]])
                yield f"Moved question {quoted_label(new, name)} from page {source} to page {quoted_title(page)}"
        common = [q for q in before.get("questions", []) if q in page.get("questions", [])]
        if common != [q for q in page.get("questions", []) if q in common]:
            yield f"Reordered the questions on page {quoted_title(page)}"
        previous = page
    for page in old_pages:
        if page["id"] in new_by_id or page["id"] in matched_old:
            continue
        if not page.get("questions"):
            yield f"Removed {'stop page' if page.get('stop') else 'page'} {quoted_title(page)}"
        for name in page.get("questions", []):
            if name not in new_q:
                yield f"Removed question {quoted_label(old, name)} with its page {quoted_title(page)}"
    for page in new_pages:
        before = old_of(page["id"])
        if before is None:
            continue
        for name in before.get("questions", []):
            if name not in new_q:
                yield f"Removed question {quoted_label(old, name)} from page {quoted_title(page)}"
    for name in new_q:
        if name in old_q:
            yield from _question_changes(old, new, name)


_PAGE_CONDITION_PREFIX = "Show this page only if "


def _condition_words(doc: dict[str, Any], condition: Any, describe_condition: DescribeCondition | None) -> str:
    """ "'Do you have a partner?' is Yes", or "a custom condition (see the file)"."""
    try:
        words = describe_condition(doc, condition) if describe_condition else None
    except (KeyError, TypeError, ValueError, AttributeError):  # a condition on a question since removed
        words = None
    if not words:
        return "a custom condition (see the file)"
    return words.removeprefix(_PAGE_CONDITION_PREFIX)


def _routing_words(doc: dict[str, Any], rules: Any, describe_condition: DescribeCondition | None) -> str:
    """ "if 'Do you have a partner?' is No, go to 'Your income'; ..."."""
    targets = {p["id"]: p for p in _pages(doc)}
    words = []
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        target = targets.get(str(rule.get("goto")))
        where = quoted_title(target) if target else _quote(rule.get("goto"))
        words.append(f"if {_condition_words(doc, rule.get('if'), describe_condition)}, go to {where}")
    return "; ".join(words) or "none"


def _page_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    a: dict[str, Any],
    b: dict[str, Any],
    describe_condition: DescribeCondition | None,
) -> Iterator[Change | None]:
    """What changed on a page (``a`` is a stand-in with only its id for a page just added)."""
    path = _page_path(new, b["id"])
    if (a.get("title") or a["id"]) != (b.get("title") or b["id"]):
        yield Change(
            f"Renamed page {quoted_title(a)} to {quoted_title(b)}", f"{path}.title", a.get("title"), b.get("title")
        )
    if not json_equal(a.get("intro"), b.get("intro")):
        before, after = a.get("intro"), b.get("intro")
        if not after:
            sentence = f"Removed the introduction of page {quoted_title(b)} (was {_quote(before)})"
        elif not before:
            sentence = f"Added an introduction to page {quoted_title(b)}: {_quote(after)}"
        else:
            sentence = f"Changed the introduction of page {quoted_title(b)} from {_quote(before)} to {_quote(after)}"
        yield Change(sentence, f"{path}.intro", before, after)
    if bool(a.get("stop")) != bool(b.get("stop")) and "questions" in a:
        sentence = (
            f"Made page {quoted_title(b)} a stop page"
            if b.get("stop")
            else f"Page {quoted_title(b)} is no longer a stop page"
        )
        yield Change(sentence, f"{path}.stop", a.get("stop"), b.get("stop"))
    if not json_equal(a.get("show_if"), b.get("show_if")):
        before, after = a.get("show_if"), b.get("show_if")
        if after is None:
            was = _condition_words(old, before, describe_condition)
            yield Change(
                f"Removed the condition on page {quoted_title(b)} (was: {was})", f"{path}.show_if", before, None
            )
        else:
            words = _condition_words(new, after, describe_condition)
            if before is None:
                sentence = f"Added a condition to page {quoted_title(b)}: show it only if {words}"
            else:
                was = _condition_words(old, before, describe_condition)
                sentence = f"Changed when page {quoted_title(b)} is shown: only if {words} (was: only if {was})"
            yield Change(sentence, f"{path}.show_if", before, after)
    if not json_equal(a.get("next"), b.get("next")):
        before, after = a.get("next"), b.get("next")
        if not after:
            was = _routing_words(old, before, describe_condition)
            sentence = f"Removed the routing from page {quoted_title(b)} (was: {was})"
        elif not before:
            sentence = f"Added routing from page {quoted_title(b)}: {_routing_words(new, after, describe_condition)}"
        else:
            now, was = _routing_words(new, after, describe_condition), _routing_words(old, before, describe_condition)
            sentence = f"Changed the routing from page {quoted_title(b)}: {now} (was: {was})"
        yield Change(sentence, f"{path}.next", before, after)


def _added_question(
    doc: dict[str, Any], name: str, where: str, describe_condition: DescribeCondition | None
) -> Iterator[Change]:
    """ "Added question 'X' on page 'Y', which must be answered, with the hint 'Z'"; a file
    question's limits and an add-another's numbers follow, then each of its item questions."""
    question = _questions(doc).get(name, {})
    sentence = f"Added question {quoted_label(doc, name)} on {where}"
    rule = _required_words(doc, name, describe_condition)
    if rule != "optional":
        sentence += ", which must be answered" + rule.removeprefix("required")
    if question.get("hint"):
        sentence += f", with the hint {_quote(question['hint'])}"
    prop = _property(doc, name) or {}
    if question.get("widget") == "file":
        sentence += f": {file_limits_words(question, prop)}"
    elif question.get("widget") == "add-another":
        sentence += f": {_items_range_words(question, prop)}"
    elif question.get("lookup") is True:
        sentence += ", found by postcode first"
    yield Change(sentence, f"$.questions.{name}", None, question)
    if question.get("widget") == "add-another":
        yield from _item_changes(_empty_like(doc), doc, name)


_QUESTION_WORDS = {
    "width": "width",
    "rows": "number of rows",
    "prefix": "prefix",
    "suffix": "suffix",
    "autocomplete": "autocomplete setting",
    "spellcheck": "spellcheck setting",
    "yes_label": "'yes' answer",
    "no_label": "'no' answer",
}


def _property(doc: dict[str, Any], name: str) -> Any:
    schema = doc.get("schema", {})
    prop = schema.get("properties", {}).get(name)
    return prop if isinstance(prop, dict) else None


def _question_changes(old: dict[str, Any], new: dict[str, Any], name: str) -> Iterator[str | Change | None]:
    a, b = _questions(old)[name], _questions(new)[name]
    short = _short(new, name)
    path = f"$.questions.{name}"
    if a.get("label") != b.get("label"):
        sentence = f"Reworded question {quoted_label(old, name)} to {quoted_label(new, name)}"
        yield Change(sentence, f"{path}.label", a.get("label"), b.get("label"))
    if a.get("hint") != b.get("hint"):
        before, after = a.get("hint"), b.get("hint")
        if before is None:
            sentence = f"Added a hint to {short}: {_quote(after)}"
        elif after is None:
            sentence = f"Removed the hint of {short} (was {_quote(before)})"
        else:
            sentence = f"Changed the hint of {short} from {_quote(before)} to {_quote(after)}"
        yield Change(sentence, f"{path}.hint", before, after)
    if a.get("short_label") != b.get("short_label"):
        sentence = f"Changed the short label of {_short(old, name)} to {short}"
        yield Change(sentence, f"{path}.short_label", a.get("short_label"), b.get("short_label"))
    if a.get("error_name") != b.get("error_name"):
        yield _change(
            f"name used in error messages for {short}", a.get("error_name"), b.get("error_name"), f"{path}.error_name"
        )
    widget_changed = a.get("widget") != b.get("widget")
    if widget_changed:
        before = WIDGETS[a["widget"]].palette_label if a.get("widget") in WIDGETS else a.get("widget")
        after = WIDGETS[b["widget"]].palette_label if b.get("widget") in WIDGETS else b.get("widget")
        yield f"Changed {short} from {before} to {after}"
    for key, words in _QUESTION_WORDS.items():
        yield _change(f"{words} of {short}", a.get(key), b.get(key), f"{path}.{key}")
    yield from _declaration_and_date_rule(a, b, short, path)
    yield from _choice_changes(a, b, quoted_label(new, name), path)
    yield from _property_changes(_property(old, name), _property(new, name), short, widget_changed, b, a)
    yield from _new_type_changes(old, new, name, short, path)
    if b.get("widget") == "add-another" or a.get("widget") == "add-another":
        yield from _item_changes(old, new, name)


def _declaration_and_date_rule(a: dict[str, Any], b: dict[str, Any], short: str, path: str) -> Iterator[Change | None]:
    """A declaration's tick box wording, and a date's relative rule, old and new (issue 17, part F)."""
    statement = a.get("statement"), b.get("statement")
    yield _change(f"wording of the tick box of {short}", *statement, f"{path}.statement")
    before, after = a.get("date_rule"), b.get("date_rule")
    if not json_equal(before, after):
        if before is None:
            sentence = f"{short} must now be {rule_words(after)}"
        elif after is None:
            sentence = f"{short} no longer has to be {rule_words(before)}"
        else:
            sentence = f"{short} must now be {rule_words(after)} (was {rule_words(before)})"
        yield Change(sentence, f"{path}.date_rule", before, after)


def _choice_changes(a: dict[str, Any], b: dict[str, Any], label: str, path: str = "$") -> Iterator[str | Change]:
    old: dict[str, Any] = a["options"] if isinstance(a.get("options"), dict) else {}
    new: dict[str, Any] = b["options"] if isinstance(b.get("options"), dict) else {}

    def text(options: dict[str, Any], value: str) -> str:
        option = options[value]
        return _quote(option.get("label", value) if isinstance(option, dict) else value)

    for value in new:
        if value not in old:
            yield Change(f"Added choice {text(new, value)} to {label}", f"{path}.options.{value}", None, new[value])
    for value in old:
        if value not in new:
            yield Change(f"Removed choice {text(old, value)} from {label}", f"{path}.options.{value}", old[value], None)
    for value in new:
        if value in old and isinstance(old[value], dict) and isinstance(new[value], dict):
            where = f"{path}.options.{value}"
            before, after = old[value].get("label"), new[value].get("label")
            if before != after:
                sentence = f"Renamed choice {text(old, value)} to {text(new, value)} in {label}"
                yield Change(sentence, f"{where}.label", before, after)
            before, after = old[value].get("hint"), new[value].get("hint")
            if before != after:  # old and new text, as for a question's hint (issue 17)
                choice = text(new, value)
                if before is None:
                    sentence = f"Added a hint to choice {choice} in {label}: {_quote(after)}"
                elif after is None:
                    sentence = f"Removed the hint of choice {choice} in {label} (was {_quote(before)})"
                else:
                    was, now = _quote(before), _quote(after)
                    sentence = f"Changed the hint of choice {choice} in {label} from {was} to {now}"
                yield Change(sentence, f"{where}.hint", before, after)
    common = [v for v in old if v in new]
    if common != [v for v in new if v in old]:
        yield f"Reordered the choices of {label}"


# -- file questions, add-another sections and the other question types of issue 18 -------------


def or_words(words: list[str]) -> str:
    """ "JPG", "JPG or PNG", "JPG, PNG or PDF"."""
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def kinds_words(kinds: Any) -> str:
    """A file question's ``accept`` in the citizen's words: "JPG, PNG or PDF"."""
    listed = [str(k) for k in kinds] if isinstance(kinds, list) else []
    return or_words([KINDS[k].label if k in KINDS else k.upper() for k in listed]) or "no kind of file"


def file_limits_words(question: dict[str, Any], prop: Any) -> str:
    """ "up to 2 files, each a JPG, PNG or PDF, smaller than 10MB" (or "1 file, a JPG, ...")."""
    most = prop.get("maxItems") if isinstance(prop, dict) else None
    size = question.get("max_size_mb", DEFAULT_MAX_SIZE_MB)
    kinds = kinds_words(question.get("accept"))
    if most == 1:
        return f"1 file, a {kinds}, smaller than {size}MB"
    count = f"up to {most} files" if isinstance(most, int) else "any number of files"
    return f"{count}, each a {kinds}, smaller than {size}MB"


def pounds(pence: int | float) -> str:
    """A money answer's limit, stored in pence, as people read it: 500000 -> "£5,000.00"."""
    return f"£{pence / 100:,.2f}"


def _items_words(question: dict[str, Any], n: Any) -> str:
    """ "1 person", "3 people" (an add-another's own names for its items)."""
    one = str(question.get("singular") or "item")
    many = str(question.get("plural") or f"{one}s")
    return f"{n} {one if n == 1 else many}"


def _items_range_words(question: dict[str, Any], prop: Any) -> str:
    """ "1 to 10 people", "up to 10 people"."""
    prop = prop if isinstance(prop, dict) else {}
    fewest, most = prop.get("minItems"), prop.get("maxItems")
    if isinstance(fewest, int) and fewest > 0 and isinstance(most, int):
        return f"{fewest} to {_items_words(question, most)}"
    if isinstance(most, int):
        return f"up to {_items_words(question, most)}"
    return f"any number of {question.get('plural') or 'items'}"


def _count_changes(a: dict[str, Any], b: dict[str, Any], short: str, question: dict[str, Any]) -> Iterator[str]:
    """How many files a file question takes, or how many items an add-another section."""
    many = "files" if question.get("widget") == "file" else str(question.get("plural") or "items")

    def words(n: Any) -> str:
        if question.get("widget") == "file":
            return f"{n} file" if n == 1 else f"{n} files"
        return _items_words(question, n)

    before, after = a.get("maxItems"), b.get("maxItems")
    if not json_equal(before, after):
        if after is None:
            yield f"{short} no longer has a largest number of {many}"
        else:
            yield f"{short} now takes up to {words(after)}" + (f" (was {before})" if before is not None else "")
    before, after = a.get("minItems"), b.get("minItems")
    if not json_equal(before, after):
        if not after:
            yield f"{short} no longer needs at least {words(before)}"
        else:
            yield f"{short} now needs at least {words(after)}" + (f" (was {before})" if before else "")


def _new_type_changes(
    old: dict[str, Any], new: dict[str, Any], name: str, short: str, path: str
) -> Iterator[Change | None]:
    """A file question's kinds and largest size, an add-another's names for its items and the
    answer that names each in the list, an address found by postcode (issue 18)."""
    a, b = _questions(old)[name], _questions(new)[name]
    if not json_equal(a.get("accept"), b.get("accept")):
        before, after = a.get("accept"), b.get("accept")
        if before is None:
            sentence = f"{short} now takes a {kinds_words(after)}"
        elif after is None:
            sentence = f"{short} no longer lists the kinds of file it takes (was {kinds_words(before)})"
        else:
            sentence = f"Changed the kinds of file {short} takes from {kinds_words(before)} to {kinds_words(after)}"
        yield Change(sentence, f"{path}.accept", before, after)
    if not json_equal(a.get("max_size_mb"), b.get("max_size_mb")) and "file" in (a.get("widget"), b.get("widget")):
        before, after = a.get("max_size_mb"), b.get("max_size_mb")
        was, now = before or DEFAULT_MAX_SIZE_MB, after or DEFAULT_MAX_SIZE_MB
        sentence = (
            f"Changed the largest file {short} takes from {was}MB to {now}MB"
            if was != now
            else f"Wrote out the largest file {short} takes: {now}MB, as before"
        )
        yield Change(sentence, f"{path}.max_size_mb", before, after)
    for key, words in (("singular", "name of one item"), ("plural", "name of several items")):
        yield _change(f"{words} of {short}", a.get(key), b.get(key), f"{path}.{key}")
    if a.get("summary") != b.get("summary") and "add-another" in (a.get("widget"), b.get("widget")):
        one = b.get("singular") or "item"
        now, was = _item_label(new, name, b.get("summary")), _item_label(old, name, a.get("summary"))
        yield Change(
            f"Each {one} in the list of {short} is now named by its answer to {now} (was {was})",
            f"{path}.summary",
            a.get("summary"),
            b.get("summary"),
        )
    if bool(a.get("lookup")) != bool(b.get("lookup")):
        sentence = (
            f"{short} now finds the address by postcode first (typing it is still possible)"
            if b.get("lookup")
            else f"{short} no longer finds the address by postcode: people type it"
        )
        yield Change(sentence, f"{path}.lookup", a.get("lookup"), b.get("lookup"))


def _item_doc(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """An add-another's item questions as a service of their own: the same sentences describe them."""
    question = _questions(doc).get(name, {})
    items = (_property(doc, name) or {}).get("items")
    items = items if isinstance(items, dict) else {}
    props = items.get("properties")
    required = items.get("required")
    sub_questions = question.get("questions")
    return {
        "questions": sub_questions if isinstance(sub_questions, dict) else {},
        "schema": {
            "type": "object",
            "properties": props if isinstance(props, dict) else {},
            "required": required if isinstance(required, list) else [],
        },
        "pages": [],
    }


def _item_label(doc: dict[str, Any], name: str, item: Any) -> str:
    """The item question that names each item in the list: the one chosen, or the first."""
    questions = _item_doc(doc, name)["questions"]
    item = item if item in questions else next(iter(questions), None)
    return quoted_label(_item_doc(doc, name), item) if item is not None else "'(none)'"


def _item_changes(old: dict[str, Any], new: dict[str, Any], name: str) -> Iterator[Change]:
    """The item questions of an add-another section: added, removed, changed, reordered."""
    a, b = _item_doc(old, name), _item_doc(new, name)
    question = _questions(new).get(name) or _questions(old).get(name, {})
    where = f"each {question.get('singular') or 'item'} in {_short(new if name in _questions(new) else old, name)}"
    base = f"$.questions.{name}.questions"
    for item, q in b["questions"].items():
        if item in a["questions"]:
            continue
        sentence = f"Added question {quoted_label(b, item)} to {where}"
        if item in b["schema"]["required"]:
            sentence += ", which must be answered"
        if isinstance(q, dict) and q.get("hint"):
            sentence += f", with the hint {_quote(q['hint'])}"
        yield Change(sentence, f"{base}.{item}", None, q)
    for item, q in a["questions"].items():
        if item not in b["questions"]:
            yield Change(f"Removed question {quoted_label(a, item)} from {where}", f"{base}.{item}", q, None)
    for item in b["questions"]:
        if item not in a["questions"] or not isinstance(a["questions"][item], dict):
            continue
        for line in _question_changes(a, b, item):
            if line is None:
                continue
            change = _as_change(line, f"{base}.{item}")
            path = change.path
            if path == f"$.questions.{item}" or path.startswith(f"$.questions.{item}."):
                path = base + path.removeprefix("$.questions")
            yield Change(f"{change.sentence}, in {where}", path, change.old, change.new)
        was, now = item in a["schema"]["required"], item in b["schema"]["required"]
        if was != now:
            short = _short(b, item)
            sentence = f"Made {short} required, in {where}" if now else f"Made {short} optional, in {where}"
            yield Change(
                sentence, f"{base}.{item}", "required" if was else "optional", "required" if now else "optional"
            )
    common = [i for i in a["questions"] if i in b["questions"]]
    if common != [i for i in b["questions"] if i in a["questions"]]:
        yield Change(f"Reordered the questions of {where}", base, list(a["questions"]), list(b["questions"]))


def _date_words(value: Any) -> str:
    if value == "today":
        return "today"
    try:
        return long_date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


# (keyword, words, unit) of the property keywords a sentence covers.
_LIMITS = (
    ("minLength", "minimum length", " characters"),
    ("maxLength", "maximum length", " characters"),
    ("minimum", "minimum value", ""),
    ("maximum", "maximum value", ""),
    ("exclusiveMinimum", "value it must be more than", ""),
    ("exclusiveMaximum", "value it must be less than", ""),
    ("minItems", "minimum number of choices", ""),
    ("maxItems", "maximum number of choices", ""),
)
_COVERED_KEYWORDS = {k for k, _, _ in _LIMITS} | {"type", "format", "pattern", "dateBefore", "dateAfter", "enum"}


def _property_changes(
    a: Any,
    b: Any,
    short: str,
    widget_changed: bool,
    question: dict[str, Any] | None = None,
    old_question: dict[str, Any] | None = None,
) -> Iterator[str]:
    if a is None or b is None or "$ref" in a or "$ref" in b:
        return  # a shared $defs schema: reported by its path among the other changes
    widget = (question or {}).get("widget")
    # Each side's limits as its own widget reads them: pence for money, a plain number otherwise
    # (a Number question made Money had a maximum of 2000 pounds, not £20.00).
    old_widget = (old_question if old_question is not None else question or {}).get("widget")
    counted = widget in ("file", "add-another")
    if counted:
        yield from _count_changes(a, b, short, question or {})
    for key, words, unit in _LIMITS:
        before, after = a.get(key), b.get(key)
        if json_equal(before, after) or (counted and key in ("minItems", "maxItems")):
            continue
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if old_widget == "money" and isinstance(before, int | float):
                before = pounds(before)
            if widget == "money" and isinstance(after, int | float):
                after = pounds(after)
        if before is None:
            yield f"Set the {words} of {short} to {after}{unit}"
        elif after is None:
            yield f"Removed the {words} of {short}"
        else:
            yield f"Changed the {words} of {short} from {before} to {after}{unit}"
    if a.get("type") != b.get("type") and not widget_changed:
        if {a.get("type"), b.get("type")} == {"number", "integer"}:
            yield (
                f"{short} now takes whole numbers only" if b.get("type") == "integer" else f"{short} now takes decimals"
            )
        else:
            yield f"Changed the type of answer {short} takes"
    if a.get("format") != b.get("format") and not widget_changed:
        yield f"Changed the format of {short} from {a.get('format')} to {b.get('format')}"
    if a.get("pattern") != b.get("pattern"):
        yield f"Changed the pattern that {short} must match"
    for key, word in (("dateBefore", "before"), ("dateAfter", "after")):
        before, after = a.get(key), b.get(key)
        if before != after:
            if after is None:
                yield f"{short} no longer has to be {word} {_date_words(before)}"
            else:
                yield f"{short} must now be {word} {_date_words(after)}"


# -- required answers and messages ---------------------------------------------------------


def _requirement_conditions(doc: dict[str, Any]) -> dict[str, list[str]]:
    schema = doc.get("schema")
    if not isinstance(schema, dict):
        return {}
    out: dict[str, list[str]] = {}
    for req in requirements(schema):
        out.setdefault(req.name, []).append(json.dumps(req.condition, sort_keys=True))
    return {k: sorted(v) for k, v in out.items()}


def _page_visibility(doc: dict[str, Any], name: str) -> str | None:
    for page in _pages(doc):
        if name in page.get("questions", []):
            try:
                return json.dumps(visibility_condition(doc, page["id"]) or True, sort_keys=True)
            except (KeyError, ConditionTooLarge):  # too large for any rule to match it
                return None
    return None


def _required_words(doc: dict[str, Any], name: str, describe_condition: DescribeCondition | None) -> str:
    """ "optional", "required", or "required when 'X' is Yes" (or "... in some cases")."""
    schema = doc.get("schema")
    if not isinstance(schema, dict):
        return "optional"
    whens: list[str] = []
    for req in requirements(schema):
        if req.name != name:
            continue
        if not req.conditions:
            return "required"
        if json.dumps(req.condition, sort_keys=True) == _page_visibility(doc, name):
            return "required"  # exactly when its page is shown: the builder's way
        parts = [_condition_words(doc, c, describe_condition) for c in req.conditions]
        whens.append(" and ".join(parts))
    if not whens:
        return "optional"
    return "required when " + " or ".join(dict.fromkeys(whens))


def _required(
    old: dict[str, Any], new: dict[str, Any], describe_condition: DescribeCondition | None
) -> Iterator[Change]:
    a, b = _requirement_conditions(old), _requirement_conditions(new)
    old_q, new_q = _questions(old), _questions(new)
    for name in new_q:
        if name not in old_q:
            continue
        short = _short(new, name)
        path = f"$.questions.{name}"
        if bool(a.get(name)) != bool(b.get(name)):
            before, after = (
                _required_words(old, name, describe_condition),
                _required_words(new, name, describe_condition),
            )
            was = "" if before == "required" else f" (was {before})"
            sentence = f"Made {short} {after}" if b.get(name) else f"Made {short} optional{was}"
            yield Change(sentence, path, before, after)
        elif a.get(name) != b.get(name):
            # The builder requires an answer exactly when its page is shown; a change that only
            # follows the page's own condition is already reported as that.
            follows_page = a.get(name) == [_page_visibility(old, name)] and b.get(name) == [_page_visibility(new, name)]
            if not follows_page:
                before = _required_words(old, name, describe_condition)
                after = _required_words(new, name, describe_condition)
                sentence = f"Changed when {short} must be answered from {_quote(before)} to {_quote(after)}"
                yield Change(sentence, path, before, after)


_KEYWORD_WORDS = {
    "required": "when it is not answered",
    "type": "when the answer is the wrong type",
    "format": "when it is not in the right format",
    "pattern": "when it is not in the right format",
    "enum": "when the answer is not one of the choices",
    "minLength": "when it is too short",
    "maxLength": "when it is too long",
    "minimum": "when it is too small",
    "maximum": "when it is too big",
    "exclusiveMinimum": "when it is too small",
    "exclusiveMaximum": "when it is too big",
    "minItems": "when too few choices are selected",
    "maxItems": "when too many choices are selected",
    "dateBefore": "when the date is too late",
    "dateAfter": "when the date is too early",
}


def _messages(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    a, b = _section(old, "messages"), _section(new, "messages")
    for path in [*b, *(p for p in a if p not in b)]:
        before: dict[str, Any] = a[path] if isinstance(a.get(path), dict) else {}
        after: dict[str, Any] = b[path] if isinstance(b.get(path), dict) else {}
        doc = new if path in b else old
        for keyword in [*after, *(k for k in before if k not in after)]:
            if before.get(keyword) == after.get(keyword):
                continue
            verb = "Added" if keyword not in before else "Removed" if keyword not in after else "Changed"
            when = _KEYWORD_WORDS.get(keyword, f"for {keyword}")
            sentence = f"{verb} the error message for {_field_words(doc, path)} {when}"
            if keyword in before and keyword in after:
                sentence += f" from {_quote(before[keyword])} to {_quote(after[keyword])}"
            elif keyword in after:
                sentence += f": {_quote(after[keyword])}"
            yield Change(sentence, f"$.messages.{path}.{keyword}", before.get(keyword), after.get(keyword))


# -- approval steps (the workflow section) ----------------------------------------------------


def _workflow_section(doc: dict[str, Any]) -> dict[str, Any] | None:
    section = doc.get("workflow")
    return section if isinstance(section, dict) else None


def _dicts(value: Any) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in value.items() if isinstance(v, dict)} if isinstance(value, dict) else {}


def _state_words(section: dict[str, Any], state_id: Any) -> str:
    state = _dicts(section.get("states")).get(str(state_id), {})
    return _quote(state.get("label") or state_id)


def _roles_words(roles: Any) -> str:
    roles = roles if isinstance(roles, list) else []
    if not roles:
        return "nobody"
    return ", ".join(str(r) for r in roles[:-1]) + (" or " if len(roles) > 1 else "") + str(roles[-1])


def _deadline_words(value: Any, working_days: bool) -> str | None:
    try:
        return parse_duration(value).words(working_days)
    except ValueError:
        return _quote(value)


def _deadline_change(label: str, before: Any, after: Any, a_working: bool, b_working: bool) -> str | None:
    if (before == after and a_working == b_working) or (before is None and after is None):
        return None
    if before is None:
        return f"Set the deadline of {label} to {_deadline_words(after, b_working)}"
    if after is None:
        return f"Removed the deadline of {label}"
    old_words, new_words = _deadline_words(before, a_working), _deadline_words(after, b_working)
    if old_words == new_words:
        return None  # the same time, written differently (P1W and P7D)
    old_n, _, old_unit = str(old_words).partition(" ")
    new_n, _, new_unit = str(new_words).partition(" ")
    if old_unit.rstrip("s") == new_unit.rstrip("s") and old_n.isdigit() and new_n.isdigit() and " and " not in old_unit:
        return f"Changed the deadline of {label} from {old_n} to {new_words}"
    return f"Changed the deadline of {label} from {old_words} to {new_words}"


def _approvals_words(t: dict[str, Any]) -> str:
    approvals: dict[str, Any] = t["approvals"] if isinstance(t.get("approvals"), dict) else {}
    mode = approvals.get("mode", "any")
    if mode == "quorum":
        return f"{approvals.get('count')} people"
    if mode == "all":
        return f"every {_roles_words(t.get('roles'))}"
    return "one person"


def _transition_keys(transitions: Any) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Transitions keyed by (from, action, n): the n-th transition of that action from that state."""
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    seen: dict[tuple[str, str], int] = {}
    for t in transitions if isinstance(transitions, list) else []:
        if not isinstance(t, dict):
            continue
        pair = (str(t.get("from")), str(t.get("action")))
        seen[pair] = seen.get(pair, -1) + 1
        out[(*pair, seen[pair])] = t
    return out


_MESSAGE_WORDS = {
    "submitted": "message sent when an application arrives",
    "information_requested": "message asking the applicant for more information",
    "decision": "message telling the applicant the decision",
    "new_work": "message telling staff of new work",
    "escalated": "message telling staff of an overdue case",
}


def _workflow(old: dict[str, Any], new: dict[str, Any]) -> Iterator[str | Change | None]:
    own_a, own_b = _workflow_section(old), _workflow_section(new)
    if own_a is None and own_b is None:
        return
    if own_a is None:
        yield "Replaced the default review step with the service's own approval steps"
    elif own_b is None:
        yield "Removed the service's approval steps: the default review step applies"
    a: dict[str, Any] = own_a if own_a is not None else DEFAULT_SECTION
    b: dict[str, Any] = own_b if own_b is not None else DEFAULT_SECTION
    if a.get("initial") != b.get("initial"):
        yield f"Cases now start at {_state_words(b, b.get('initial'))} instead of {_state_words(a, a.get('initial'))}"
    a_working, b_working = bool(a.get("working_days")), bool(b.get("working_days"))
    if a_working != b_working:
        yield "Deadlines now count working days only" if b_working else "Deadlines now count every day"
    yield _decide_within_change(a, b, a_working, b_working)
    if a.get("one_decision_per_person", True) != b.get("one_decision_per_person", True):
        yield (
            "One person may now take only one decision on a case"
            if b.get("one_decision_per_person", True)
            else "One person may now take several decisions on a case"
        )
    states_a, states_b = _dicts(a.get("states")), _dicts(b.get("states"))
    for sid, s in states_b.items():
        if sid not in states_a:
            yield f"Added {'final ' if s.get('final') else ''}state {_quote(s.get('label') or sid)}"
            if s.get("appeal"):
                yield Change(
                    f"Added the words on asking for a review or appeal in {_quote(s.get('label') or sid)}: "
                    f"{_quote(s['appeal'])}",
                    f"$.workflow.states.{sid}.appeal",
                    None,
                    s["appeal"],
                )
            continue
        before = states_a[sid]
        label = _quote(s.get("label") or sid)
        if before.get("label") != s.get("label"):
            yield f"Renamed state {_quote(before.get('label') or sid)} to {label}"
        if bool(before.get("final")) != bool(s.get("final")):
            yield f"Made state {label} final" if s.get("final") else f"State {label} is no longer final"
        yield _change(
            f"text the applicant sees in {label}",
            before.get("citizen_text"),
            s.get("citizen_text"),
            f"$.workflow.states.{sid}.citizen_text",
        )
        yield _change(
            f"words on asking for a review or appeal in {label}",
            before.get("appeal"),
            s.get("appeal"),
            f"$.workflow.states.{sid}.appeal",
        )
        yield _deadline_change(label, before.get("deadline"), s.get("deadline"), a_working, b_working)
        if before.get("escalate_to") != s.get("escalate_to"):
            if s.get("escalate_to") is None:
                yield f"Overdue cases in {label} are no longer escalated"
            else:
                yield f"Overdue cases in {label} now go to the {s.get('escalate_to')}" + (
                    f" instead of the {before['escalate_to']}" if before.get("escalate_to") else ""
                )
    for sid, s in states_a.items():
        if sid not in states_b:
            yield f"Removed state {_quote(s.get('label') or sid)}"
    if list(states_a) != list(states_b) and [k for k in states_a if k in states_b] != [
        k for k in states_b if k in states_a
    ]:
        yield "Reordered the states"
    yield from _transition_changes(a, b)
    messages_a, messages_b = _dicts(a.get("messages")), _dicts(b.get("messages"))
    for kind in [*messages_b, *(k for k in messages_a if k not in messages_b)]:
        words = _MESSAGE_WORDS.get(kind, f"{kind} message")
        if kind not in messages_a:
            yield f"Wrote the {words} (instead of the standard one)"
        elif kind not in messages_b:
            yield f"The {words} is now the standard one"
        elif not json_equal(messages_a[kind], messages_b[kind]):
            for part in ("subject", "body"):  # old and new text of each part that changed (issue 17)
                yield _change(
                    f"{part} of the {words}",
                    messages_a[kind].get(part),
                    messages_b[kind].get(part),
                    f"$.workflow.messages.{kind}.{part}",
                )
            rest_a = {k: v for k, v in messages_a[kind].items() if k not in ("subject", "body")}
            rest_b = {k: v for k, v in messages_b[kind].items() if k not in ("subject", "body")}
            if not json_equal(rest_a, rest_b):
                yield Change(f"Changed the {words}", f"$.workflow.messages.{kind}", messages_a[kind], messages_b[kind])


def _decide_within_change(a: dict[str, Any], b: dict[str, Any], a_working: bool, b_working: bool) -> Change | None:
    """The whole-case deadline (``decide_within``), old and new in words."""
    before, after = a.get("decide_within"), b.get("decide_within")
    if before == after and (before is None or a_working == b_working):
        return None
    now = _deadline_words(after, b_working) if after else None
    was = _deadline_words(before, a_working) if before else None
    if now == was:
        return None  # the same time, written differently
    if now is None:
        sentence = f"Cases no longer have a time to be decided in (was {was})"
    elif was is None:
        sentence = f"Every case must now be decided within {now} of the application arriving"
    else:
        sentence = f"Every case must now be decided within {now} (was {was})"
    return Change(sentence, "$.workflow.decide_within", before, after)


def _reason_words(what: str, reason: Any) -> str:
    if reason == "required":
        return f"{what} now tells the applicant the reason, which staff must give"
    if reason == "optional":
        return f"{what} now tells the applicant the reason, if staff give one"
    return f"{what} no longer tells the applicant a reason"


def _transition_changes(a: dict[str, Any], b: dict[str, Any]) -> Iterator[str | None]:
    old, new = _transition_keys(a.get("transitions")), _transition_keys(b.get("transitions"))

    def name(section: dict[str, Any], t: dict[str, Any]) -> str:
        return f"{_quote(t.get('label') or t.get('action'))} in {_state_words(section, t.get('from'))}"

    def leads(section: dict[str, Any], t: dict[str, Any]) -> str:
        if t.get("request_information"):
            return "asks the applicant for more information"
        return f"leads to {_state_words(section, t.get('to'))}"

    for key, t in new.items():
        if key not in old:
            yield f"Added action {name(b, t)}: it {leads(b, t)}, for {_roles_words(t.get('roles'))}"
            if t.get("reason"):
                yield _reason_words(name(b, t), t.get("reason"))
            continue
        before = old[key]
        what = name(b, t)
        if before.get("label") != t.get("label"):
            yield f"Renamed action {name(a, before)} to {_quote(t.get('label'))}"
        if before.get("to") != t.get("to") or bool(before.get("request_information")) != bool(
            t.get("request_information")
        ):
            if before.get("request_information") or t.get("request_information"):
                yield f"Action {what} now {leads(b, t)}"
            else:
                yield f"Action {what} now {leads(b, t)} instead of {_state_words(a, before.get('to'))}"
        if not json_equal(before.get("roles"), t.get("roles")):
            yield (f"Changed who can {what} from {_roles_words(before.get('roles'))} to {_roles_words(t.get('roles'))}")
        if before.get("reason") != t.get("reason"):
            yield _reason_words(what, t.get("reason"))
        if before.get("reply_within") != t.get("reply_within"):
            now = _deadline_words(t.get("reply_within"), False) if t.get("reply_within") else None
            was = _deadline_words(before.get("reply_within"), False) if before.get("reply_within") else None
            if now is None:
                yield f"{what} no longer gives the applicant a standard time to reply (was {was})"
            else:
                yield f"{what} now gives the applicant {now} to reply" + (f" (was {was})" if was else "")
        if (before.get("comment") == "required") != (t.get("comment") == "required"):
            yield (
                f"{what} now needs a comment" if t.get("comment") == "required" else f"{what} no longer needs a comment"
            )
        if not json_equal(before.get("guard"), t.get("guard")):
            if "guard" not in before:
                yield f"Added a condition to action {what}"
            elif "guard" not in t:
                yield f"Removed the condition on action {what}"
            else:
                yield f"Changed when action {what} applies"
        if _approvals_words(before) != _approvals_words(t):
            yield f"Changed who must agree to {what} from {_approvals_words(before)} to {_approvals_words(t)}"
    for key, t in old.items():
        if key not in new:
            yield f"Removed action {name(a, t)}"
    common_old = [k for k in old if k in new]
    if common_old != [k for k in new if k in old]:
        yield "Changed the order in which actions are tried"


# -- everything else, by JSON path --------------------------------------------------------------

_QUESTION_KEYS = {
    "label",
    "hint",
    "short_label",
    "error_name",
    "widget",
    "options",
    "statement",
    "date_rule",
    "accept",
    "max_size_mb",
    "singular",
    "plural",
    "summary",
    "questions",
    "lookup",
    *_QUESTION_WORDS,
}
_PAGE_KEYS = {"id", "title", "intro", "show_if", "questions", "next", "stop"}


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without everything a sentence above already covers."""
    doc = copy.deepcopy(canonical(doc))
    for key in ("version", "id", "title", "description", "department", "live", "reference_prefix", "identity"):
        doc.pop(key, None)
    for key, parts in (
        ("start", ("body", "you_will_need", "button")),
        ("check_answers", ("title", "declaration", "button")),
        ("confirmation", ("title", "next_steps")),
        ("privacy", ("url", "summary")),
        ("contact", ("email", "phone", "hours", "address")),
    ):
        section = doc.get(key)
        if isinstance(section, dict):
            for part in parts:
                section.pop(part, None)
            if not section:
                doc.pop(key)
    doc.pop("messages", None)
    doc.pop("workflow", None)  # every part of it has a sentence (_workflow)
    doc.pop("retention", None)  # _retention
    questions = _questions(doc)
    doc["questions"] = {n: _strip_question(q) for n, q in questions.items()}
    doc["questions"] = {n: q for n, q in doc["questions"].items() if q}
    doc["pages"] = {p["id"]: {k: v for k, v in p.items() if k not in _PAGE_KEYS} for p in _pages(doc)}
    doc["pages"] = {i: p for i, p in doc["pages"].items() if p}
    schema = doc.get("schema")
    if isinstance(schema, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            _strip_properties(props, questions)
        _strip_requirements(schema)
    return doc


def _strip_question(question: dict[str, Any]) -> dict[str, Any]:
    """A question without the keys a sentence covers; an add-another's item questions likewise."""
    rest = {k: v for k, v in question.items() if k not in _QUESTION_KEYS}
    items = question.get("questions")
    if isinstance(items, dict):
        stripped = {n: _strip_question(q) for n, q in items.items() if isinstance(q, dict)}
        stripped = {n: q for n, q in stripped.items() if q}
        if stripped:
            rest["questions"] = stripped
    return rest


def _strip_properties(props: dict[str, Any], questions: dict[str, Any]) -> None:
    """Properties without the keywords a sentence covers (in place); an add-another's items too."""
    for name, prop in list(props.items()):
        if name not in questions:
            props.pop(name)  # a question added or removed: said above
        elif isinstance(prop, dict) and "$ref" not in prop:
            rest = {k: v for k, v in prop.items() if k not in _COVERED_KEYWORDS}
            items = rest.get("items")
            if isinstance(items, dict):
                items = {k: v for k, v in items.items() if k not in ("enum", "type", "format")}
                item_questions = questions[name].get("questions") if isinstance(questions[name], dict) else None
                if isinstance(item_questions, dict):  # an add-another: its item questions have sentences
                    items.pop("required", None)
                    if items.get("additionalProperties") is False:  # as the contract writes it
                        items.pop("additionalProperties")
                    if isinstance(items.get("properties"), dict):
                        _strip_properties(items["properties"], item_questions)
                        if not items["properties"]:
                            items.pop("properties")
                rest["items"] = items
                if not items:
                    rest.pop("items")
            rest.pop("uniqueItems", None)
            if rest:
                props[name] = rest
            else:
                props.pop(name)


def _strip_requirements(node: Any) -> None:
    """Remove required lists and if/then blocks that only require answers (said above)."""
    if not isinstance(node, dict):
        return
    node.pop("required", None)
    node.pop("dependentRequired", None)
    for key in ("then", "else"):
        _strip_requirements(node.get(key))
        if node.get(key) == {}:
            node.pop(key)
    if set(node) == {"if"}:
        node.pop("if")
    subs = node.get("allOf")
    if isinstance(subs, list):
        for sub in subs:
            _strip_requirements(sub)
        node["allOf"] = [sub for sub in subs if sub != {}]
        if not node["allOf"]:
            node.pop("allOf")


def _paths(a: Any, b: Any, where: str) -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            part = f"{where}.{key}"
            if key not in a or key not in b:
                yield part
            else:
                yield from _paths(a[key], b[key], part)
    elif not json_equal(a, b):
        yield where


def _leftovers(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    a, b = _strip(old), _strip(new)
    for path in _paths(a, b, "$"):
        keys = path[2:].split(".") if path != "$" else []
        yield Change(f"Changed {path}", path, _at(a, *keys), _at(b, *keys))

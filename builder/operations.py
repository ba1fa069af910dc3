"""The builder's editing operations: each takes a definition and returns a new one.

Every operation is ``op(doc, **keyword_args) -> new doc``: the input is never changed (the
result is a deep copy), keys the builder has no editor for stay where they are, and bad input
raises ``EditError(field, message)`` with a GOV.UK-style message for the named form field.

Whenever a page's condition or routing, its questions or their required flag change, the
``allOf`` if/then rules that require answers on conditional pages are rewritten from
``runtime.visibility``, so that no citizen is ever asked for an answer on a page they never
see. Rules that IT wrote by hand stay, unless they would now trap a citizen.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from runtime import retention, slugs
from runtime.changes import quoted_label, quoted_title
from runtime.checker import SEARCHABLE_WIDGETS
from runtime.date_rules import SIDES, UNIT_WORDS, UNITS, DateRule
from runtime.definition import FORMAT, lower_first
from runtime.dialect import names_in_condition
from runtime.limits import (
    MAX_EMAIL,
    MAX_NAME,
    MAX_PAGE_ID,
    MAX_SERVICE_ID,
    MAX_TEXT,
)
from runtime.problems import json_equal
from runtime.uploads import KINDS
from runtime.visibility import implies, written_conditions
from runtime.widgets import WIDGETS, WIDTHS, clean_text, html_id
from runtime.widgets.add_another import MOST_ITEMS, NOT_IN_ITEMS
from runtime.widgets.file import MAX_FILES, MAX_SIZE_MB

from .conditions import Condition, EditError, to_schema, validate_condition

__all__ = [
    "KEEP",
    "EditError",
    "add_choice",
    "add_item_question",
    "add_page",
    "add_question",
    "copy_service",
    "delete_item_question",
    "delete_page",
    "delete_question",
    "edit_items",
    "item_service",
    "move_choice",
    "move_item_question",
    "move_page",
    "move_question",
    "new_blank_service",
    "new_page_id",
    "new_question_name",
    "remove_choice",
    "rename_choice",
    "rename_page",
    "set_condition",
    "set_confirmation",
    "set_declaration",
    "set_details",
    "set_identity",
    "set_page",
    "set_privacy_and_contact",
    "set_reference_prefix",
    "set_routing",
    "set_start_page",
    "set_stop_page",
    "update_item_question",
    "update_question",
]

MAX_TEXT_LENGTH = 100_000  # the largest maxLength a designer may set on a free-text answer
# Question types asked on a page of their own: a file upload (its page is a form that sends
# files) and an add-another section (its page is the list of what has been added).
ALONE_ON_PAGE = {"file": "A file upload", "add-another": "An add-another section"}
MAX_AMOUNT_PENCE = 100_000_000_000  # £1,000,000,000.00: beyond any amount a council form asks for
RESERVED_PAGE_IDS = {"start", "check-answers", "confirmation", "session-expired", "submit", "continue-or-start-again"}
_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PREFIX = re.compile(r"^[A-Z]{2,5}$")
_URL = re.compile(r'^https://[^\s<>"]+$')
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE = re.compile(r"^[0-9+() -]{3,30}$")
IDENTITY_KINDS = ("full_name", "date_of_birth", "email", "phone", "postcode", "nhs_number", "ni_number")


class _Keep:
    """The default of an optional change: leave the value as it is (None clears it)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


# -- small helpers ---------------------------------------------------------------------------


def _text(field: str, value: Any, what: str, *, optional: bool = False, one_line: bool = True) -> str | None:
    """A designer's text, cleaned; None when optional and empty.

    HTML and script are kept as typed: the templates escape every text, and silently changing
    what a designer wrote would hide the problem.
    """
    text = clean_text(str(value)) if value is not None else ""
    if one_line:
        text = " ".join(text.split())
    if not text:
        if optional:
            return None
        raise EditError(field, f"Enter {what}")
    if len(text) > MAX_TEXT:
        raise EditError(field, f"{what[:1].upper()}{what[1:]} must be {MAX_TEXT:,} characters or less")
    return text


def _paragraphs(field: str, value: Any, what: str, *, optional: bool = True) -> list[str]:
    """Paragraphs from a list, or from one text with blank lines between paragraphs."""
    if value is None:
        items: list[Any] = []
    elif isinstance(value, str):
        items = re.split(r"\n\s*\n", clean_text(value))
    else:
        items = list(value)
    out = [t for t in (_text(field, item, what, optional=True, one_line=False) for item in items) if t]
    if not out and not optional:
        raise EditError(field, f"Enter {what}")
    return out


def _slug(text: str, sep: str) -> str:
    """ASCII lower-case words joined by ``sep``: 'Café – opening hours' -> 'cafe-opening-hours'
    (runtime.slugs, with room for a "_2" suffix)."""
    return slugs.slug(text, sep, MAX_NAME - 4)


def _unique(base: str, taken: set[str], sep: str) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}{sep}{n}" in taken:
        n += 1
    return f"{base}{sep}{n}"


def _find_page(doc: dict[str, Any], page_id: str, field: str = "page") -> tuple[int, dict[str, Any]]:
    for i, page in enumerate(doc["pages"]):
        if page.get("id") == page_id:
            return i, page
    raise EditError(field, "This page no longer exists")


def _question(doc: dict[str, Any], name: str) -> dict[str, Any]:
    question = doc.get("questions", {}).get(name)
    if not isinstance(question, dict):
        raise EditError("question", "This question no longer exists")
    return question


def _page_of(doc: dict[str, Any], name: str) -> dict[str, Any] | None:
    for page in doc["pages"]:
        if name in page.get("questions", []):
            return page
    return None


def _property(doc: dict[str, Any], name: str, field: str = "question") -> dict[str, Any]:
    """A question's own property schema; a shared ``$ref`` one is IT's to change, in the file."""
    prop = doc["schema"]["properties"].get(name)
    if not isinstance(prop, dict):
        raise EditError("question", "This question no longer exists")
    if "$ref" in prop:
        raise EditError(field, "This is set by IT in the definition file")
    return prop


def _names_read(condition: Any) -> set[str]:
    """Top-level property names a condition reads (runtime.dialect.names_in_condition's rule)."""
    return set(names_in_condition(condition))


def _uses(doc: dict[str, Any], names: set[str]) -> Iterator[str]:
    """Where conditions, routing or identity use any of ``names``, in words."""
    for page in doc["pages"]:
        used = sorted(_names_read(page.get("show_if")) & names)
        if used:
            yield f"the condition on page {quoted_title(page)} uses {quoted_label(doc, used[0])}"
        for rule in page.get("next", []):
            used = sorted(_names_read(rule.get("if")) & names)
            if used:
                yield f"the routing from page {quoted_title(page)} uses {quoted_label(doc, used[0])}"
                break
    for i, entry in enumerate(doc["schema"].get("allOf", [])):
        used = sorted(_names_read(entry.get("if")) & names) if isinstance(entry, dict) else []
        if used:
            yield f"a rule set by IT in the definition file ($.schema.allOf[{i}]) uses {quoted_label(doc, used[0])}"
    for trigger in doc["schema"].get("dependentRequired", {}):
        if trigger in names:
            used_by = quoted_label(doc, trigger)
            yield f"a rule set by IT in the definition file ($.schema.dependentRequired) uses {used_by}"
    for kind, path in doc.get("identity", {}).items():
        if str(path).split(".")[0] in names:
            words = kind.replace("_", " ").replace("nhs", "NHS").replace("ni number", "National Insurance number")
            yield f"{quoted_label(doc, str(path).split('.')[0])} identifies the citizen ({words})"


def _order_problem(doc: dict[str, Any]) -> str | None:
    """Why this page order breaks a condition or routing rule, or None when it is fine."""
    where = {name: i for i, page in enumerate(doc["pages"]) for name in page.get("questions", [])}
    index = {page["id"]: i for i, page in enumerate(doc["pages"])}
    for i, page in enumerate(doc["pages"]):
        for name in sorted(_names_read(page.get("show_if"))):
            if where.get(name, -1) >= i:
                return (
                    f"the condition on page {quoted_title(page)} uses {quoted_label(doc, name)}, "
                    "which must be asked on an earlier page"
                )
        for rule in page.get("next", []):
            for name in sorted(_names_read(rule.get("if"))):
                if where.get(name, -1) > i:
                    return (
                        f"the routing from page {quoted_title(page)} uses {quoted_label(doc, name)}, "
                        "which would come after it"
                    )
            if index.get(rule.get("goto"), i + 1) <= i:
                target = doc["pages"][index[rule["goto"]]]
                return (
                    f"the routing from page {quoted_title(page)} goes to page {quoted_title(target)}, "
                    "which would come before it"
                )
    return None


# -- keeping required answers reachable ---------------------------------------------------------


def _required_names(schema: dict[str, Any]) -> set[str]:
    return {name for lst, _ in _places(schema) for name in lst}


def _places(schema: dict[str, Any]) -> Iterator[tuple[list[Any], Any]]:
    """The required lists the builder may edit, each with the condition it applies under."""
    if isinstance(schema.get("required"), list):
        yield schema["required"], True
    for trigger, names in (schema.get("dependentRequired") or {}).items():
        if isinstance(names, list):
            yield names, {"required": [trigger]}
    for entry in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
        if not isinstance(entry, dict) or "if" not in entry:
            continue
        then, other = entry.get("then"), entry.get("else")
        if isinstance(then, dict) and isinstance(then.get("required"), list):
            yield then["required"], entry["if"]
        if isinstance(then, dict):
            for trigger, names in (then.get("dependentRequired") or {}).items():
                if isinstance(names, list):
                    yield names, {"allOf": [entry["if"], {"required": [trigger]}]}
        if isinstance(other, dict) and isinstance(other.get("required"), list):
            yield other["required"], {"not": entry["if"]}


def _builder_rule(entry: Any) -> bool:
    """The shape of the rules the builder writes: ``{"if": ..., "then": {"required": [...]}}``."""
    return (
        isinstance(entry, dict)
        and set(entry) == {"if", "then"}
        and isinstance(entry["then"], dict)
        and set(entry["then"]) == {"required"}
        and isinstance(entry["then"]["required"], list)
    )


def _sync_required(before: dict[str, Any], doc: dict[str, Any], wanted: set[str] | None = None) -> None:
    """Require each wanted answer exactly where its page is asked (changes ``doc`` in place).

    ``before`` is the document before the edit: a rule the builder wrote then (an if/then whose
    ``if`` was the visibility condition of the page of the answers it requires) is kept in its
    place and re-aimed at the page's condition now, so a changed condition is a small diff.
    """
    schema = doc["schema"]
    if wanted is None:
        wanted = _required_names(schema)
    wanted &= set(doc["questions"])
    old_page_of = {n: p["id"] for p in before["pages"] for n in p.get("questions", [])}
    new_page_of = {n: p["id"] for p in doc["pages"] for n in p.get("questions", [])}
    old_vis = written_conditions(before)
    new_vis = written_conditions(doc)  # pages left out: routing too complex to write their condition
    rules = schema.get("allOf") if isinstance(schema.get("allOf"), list) else []
    owned: dict[str, dict[str, Any]] = {}  # page id -> the builder's rule for it
    for entry in list(rules):
        if not _builder_rule(entry):
            continue
        pages = {old_page_of.get(n) for n in entry["then"]["required"]}
        page_id = pages.pop() if len(pages) == 1 else None
        if page_id is None or old_vis.get(page_id) is None or not json_equal(entry["if"], old_vis[page_id]):
            continue
        shown = new_vis.get(page_id)
        kept = [n for n in entry["then"]["required"] if new_page_of.get(n) == page_id]
        if shown is None or page_id in owned:
            if page_id in owned:
                merged = owned[page_id]["then"]["required"]
                merged.extend(n for n in kept if n not in merged)
            entry["then"]["required"] = []  # emptied rules are dropped below
            continue
        entry["if"] = copy.deepcopy(shown)
        entry["then"]["required"] = kept
        owned[page_id] = entry

    for page in doc["pages"]:
        if page["id"] not in new_vis and wanted.intersection(page.get("questions", [])):
            raise EditError(
                "page",
                f"The routing before page {quoted_title(page)} is too complex for the builder to write down when "
                "the page is asked, so its questions cannot be required. Simplify the routing (for example, "
                "send more rules to the same page) or make the questions on this page optional",
            )
        shown = new_vis.get(page["id"])
        for name in page.get("questions", []):
            places = [(lst, cond) for lst, cond in _places(schema) if name in lst]
            if name not in wanted:
                for lst, _ in places:
                    lst.remove(name)
            elif shown is None:
                if not places:
                    schema.setdefault("required", []).append(name)
            else:
                safe = False
                for lst, cond in places:
                    if cond is True or not implies(cond, shown):
                        lst.remove(name)
                    else:
                        safe = True
                if not safe:
                    rule = owned.get(page["id"])
                    if rule is None:
                        rule = {"if": copy.deepcopy(shown), "then": {"required": []}}
                        schema.setdefault("allOf", []).append(rule)
                        owned[page["id"]] = rule
                    rule["then"]["required"].append(name)

    # Tidy what the edits emptied: rules that no longer require anything, empty dependencies.
    for holder in [schema, *(e.get("then") for e in schema.get("allOf", []) if isinstance(e, dict))]:
        if isinstance(holder, dict) and isinstance(holder.get("dependentRequired"), dict):
            holder["dependentRequired"] = {k: v for k, v in holder["dependentRequired"].items() if v != []}
            if not holder["dependentRequired"]:
                del holder["dependentRequired"]
    if isinstance(schema.get("allOf"), list):
        schema["allOf"] = [
            e
            for e in schema["allOf"]
            if not (isinstance(e, dict) and set(e) <= {"if", "then", "else"} and _empty_requirement(e))
        ]
        if not schema["allOf"]:
            del schema["allOf"]


def _empty_requirement(entry: dict[str, Any]) -> bool:
    """An if/then whose then (and else) only required answers, and now requires none."""
    parts = [entry.get(k) for k in ("then", "else") if k in entry]
    return bool(parts) and all(p == {"required": []} or p == {} for p in parts)


def _edit(doc: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(doc)


# -- services ----------------------------------------------------------------------------------


def _check_id(value: Any) -> str:
    service_id = str(value or "").strip()
    if not service_id:
        raise EditError("id", "Enter a service ID")
    if len(service_id) > MAX_SERVICE_ID or not _ID.match(service_id):
        raise EditError(
            "id",
            f"Service ID must be {MAX_SERVICE_ID} characters or less, and use only lower-case letters, numbers and "
            "hyphens, starting with a letter",
        )
    return service_id


def _check_prefix(value: Any) -> str:
    prefix = str(value or "").strip().upper()
    if not prefix:
        raise EditError("reference_prefix", "Enter a reference prefix")
    if not _PREFIX.match(prefix):
        raise EditError("reference_prefix", "Reference prefix must be 2 to 5 letters, like PRK")
    return prefix


def new_blank_service(
    *,
    id: str,
    title: str,
    reference_prefix: str,
    department: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """A new service with one page asking the citizen's name and email address (which identify them)."""
    service_id = _check_id(id)
    title_text = _text("title", title, "the name of the service")
    assert title_text is not None
    doc: dict[str, Any] = {
        "format": FORMAT,
        "id": service_id,
        "version": 1,
        "title": title_text,
        "description": _text("description", description, "a description", optional=True) or title_text,
    }
    dept = _text("department", department, "the department", optional=True)
    if dept:
        doc["department"] = dept
    doc["live"] = True  # open to citizens once published; the details page can close it
    doc["reference_prefix"] = _check_prefix(reference_prefix)
    doc["start"] = {"body": [f"Use this service to {lower_first(title_text).rstrip('.')}."]}
    doc["identity"] = {"full_name": "full_name", "email": "email"}
    doc["schema"] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"full_name": {"type": "string", "maxLength": 100}, "email": WIDGETS["email"].new_property()},
        "required": ["full_name", "email"],
        "additionalProperties": False,
    }
    doc["questions"] = {
        "full_name": {
            "label": "What is your full name?",
            "short_label": "Full name",
            "widget": "text",
            "autocomplete": "name",
            "spellcheck": False,
        },
        "email": {
            "label": "What is your email address?",
            "hint": "We will use this to send you a confirmation.",
            "short_label": "Email address",
            "widget": "email",
            "autocomplete": "email",
            "spellcheck": False,
        },
    }
    doc["pages"] = [{"id": "your-details", "title": "Your details", "questions": ["full_name", "email"]}]
    doc["confirmation"] = {"title": "Form sent", "next_steps": ["We will contact you if we need more information."]}
    return doc


def copy_service(source: dict[str, Any], *, id: str, title: str | None = None) -> dict[str, Any]:
    """A new draft service copied from a template or a live service, under a new id, at version 1."""
    doc = _edit(source)
    service_id = _check_id(id)
    if service_id == source.get("id"):
        raise EditError("id", "Enter a service ID that is different from the service you are copying")
    doc["id"] = service_id
    doc["version"] = 1
    if title is not None:
        doc["title"] = _text("title", title, "the name of the service")
    if "live" in doc:
        doc["live"] = True  # a copy of an archived service opens once published, like a new one
    return doc


def set_details(
    doc: dict[str, Any], *, title: str, description: str, department: str | None = KEEP, live: bool | None = KEEP
) -> dict[str, Any]:
    """The service's name, its one-sentence description, the team that runs it."""
    new = _edit(doc)
    new["title"] = _text("title", title, "the name of the service")
    new["description"] = _text("description", description, "a description of the service")
    if department is not KEEP:
        dept = _text("department", department, "the department", optional=True)
        if dept:
            new["department"] = dept
        else:
            new.pop("department", None)
    if live is not KEEP and live is not None and bool(live) != bool(new.get("live", True)):
        new["live"] = bool(live)  # only a change writes the key: a file without it keeps its shape
    return new


def set_reference_prefix(doc: dict[str, Any], *, reference_prefix: str) -> dict[str, Any]:
    new = _edit(doc)
    new["reference_prefix"] = _check_prefix(reference_prefix)
    return new


# -- pages -------------------------------------------------------------------------------------


def new_page_id(doc: dict[str, Any], title: str) -> str:
    """A page id from its title: unique, lower-case words joined by hyphens."""
    base = _slug(title, "-") or "page"
    if not base[0].isalpha():
        base = f"page-{base}"
    taken = {p["id"] for p in doc["pages"]} | RESERVED_PAGE_IDS
    return _unique(base, taken, "-")


def _check_page_title(doc: dict[str, Any], title: Any, page_id: str | None) -> str:
    text = _text("title", title, "a page name")
    assert text is not None
    for page in doc["pages"]:
        if page["id"] != page_id and str(page.get("title", "")).casefold() == text.casefold():
            raise EditError("title", f"There is already a page called '{page['title']}'")
    return text


def add_page(
    doc: dict[str, Any],
    *,
    title: str,
    page_id: str | None = None,
    after: str | None = None,
    intro: Any = None,
    stop: bool = False,
) -> dict[str, Any]:
    """A new page (at the end, or after ``after``); its id comes from ``new_page_id`` unless given."""
    new = _edit(doc)
    text = _check_page_title(new, title, None)
    pid = page_id or new_page_id(new, text)
    taken = {p["id"] for p in new["pages"]}
    if pid in taken or pid in RESERVED_PAGE_IDS or not _ID.match(pid) or len(pid) > MAX_PAGE_ID:
        raise EditError("title", "Enter a different page name")
    page: dict[str, Any] = {"id": pid, "title": text}
    paragraphs = _paragraphs("intro", intro, "the introduction")
    if paragraphs:
        page["intro"] = paragraphs
    page["questions"] = []
    if stop:
        page["stop"] = True
    at = len(new["pages"]) if after is None else _find_page(new, after, "after")[0] + 1
    new["pages"].insert(at, page)
    _sync_required(doc, new)
    return new


def set_page(doc: dict[str, Any], page: str, *, title: str, intro: Any = KEEP) -> dict[str, Any]:
    """A page's name and its introduction paragraphs (None or "" removes the introduction)."""
    new = _edit(doc)
    _, target = _find_page(new, page)
    target["title"] = _check_page_title(new, title, page)
    if intro is not KEEP:
        paragraphs = _paragraphs("intro", intro, "the introduction")
        if paragraphs:
            target["intro"] = paragraphs
        else:
            target.pop("intro", None)
    return new


def rename_page(doc: dict[str, Any], page: str, *, title: str) -> dict[str, Any]:
    return set_page(doc, page, title=title)


def move_page(doc: dict[str, Any], page: str, *, direction: str) -> dict[str, Any]:
    """Move a page one place up or down, refusing moves that break a condition or routing."""
    new = _edit(doc)
    i, target = _find_page(new, page)
    if direction not in ("up", "down"):
        raise EditError("direction", "Select up or down")
    j = i - 1 if direction == "up" else i + 1
    if j < 0 or j >= len(new["pages"]):
        return new
    new["pages"][i], new["pages"][j] = new["pages"][j], new["pages"][i]
    problem = _order_problem(new)
    if problem:
        raise EditError("page", f"You cannot move page {quoted_title(target)} {direction}: {problem}")
    _sync_required(doc, new)
    return new


def _drop_questions(doc: dict[str, Any], names: set[str]) -> None:
    """Remove questions, their properties, messages and required entries (in place)."""
    schema = doc["schema"]
    for name in names:
        doc["questions"].pop(name, None)
        schema["properties"].pop(name, None)
    for lst, _ in list(_places(schema)):
        lst[:] = [n for n in lst if n not in names]
    messages = doc.get("messages")
    if isinstance(messages, dict):
        for path in list(messages):
            if path.split(".")[0] in names:
                del messages[path]
        if not messages:
            del doc["messages"]
    for page in doc["pages"]:
        if any(n in names for n in page.get("questions", [])):
            page["questions"] = [n for n in page["questions"] if n not in names]


def delete_page(doc: dict[str, Any], page: str) -> dict[str, Any]:
    """Delete a page and its questions; refused while a condition, routing or identity uses them."""
    new = _edit(doc)
    i, target = _find_page(new, page)
    names = set(target.get("questions", []))
    others = {**new, "pages": [p for p in new["pages"] if p["id"] != page]}
    for use in _uses(others, names):
        raise EditError("page", f"You cannot delete page {quoted_title(target)} because {use}. Change that first")
    for other in new["pages"]:
        if any(rule.get("goto") == page for rule in other.get("next", [])):
            raise EditError(
                "page",
                f"You cannot delete page {quoted_title(target)} because the routing from page "
                f"{quoted_title(other)} goes to it. "
                "Change that first",
            )
    del new["pages"][i]
    _drop_questions(new, names)
    _sync_required(doc, new)
    return new


def set_stop_page(doc: dict[str, Any], page: str, *, stop: bool) -> dict[str, Any]:
    """Make a page a stop page ("You cannot apply online"), or a page of questions again."""
    new = _edit(doc)
    _, target = _find_page(new, page)
    if stop:
        if target.get("questions"):
            raise EditError("stop", "Move or delete the questions on this page before making it a stop page")
        if not target.get("title"):
            raise EditError("title", "Enter a page name")
        target["stop"] = True
        target.pop("next", None)
    else:
        target.pop("stop", None)
    _sync_required(doc, new)
    return new


# -- questions -------------------------------------------------------------------------------

_LEADING_WORDS = re.compile(
    r"^(?:please\s+)?(?:what is|what's|what are|what was|which is|enter|tell us about|tell us|give|do you have|"
    r"do you|are you|have you|did you|is your|is the)\s+(?:your|the|a|an)?\s*",
    re.IGNORECASE,
)


def _field_ids(doc: dict[str, Any]) -> set[str]:
    ids = set()
    for name in doc["schema"]["properties"]:
        ids.add(html_id(name))
        widget = WIDGETS.get(doc["questions"].get(name, {}).get("widget", ""))
        for part in widget.parts if widget else ():
            ids.add(html_id(f"{name}.{part}"))
    return ids


def new_question_name(doc: dict[str, Any], label: str) -> str:
    """A property name from the question text: 'What is your full name?' -> 'full_name'."""
    base = _slug(_LEADING_WORDS.sub("", label), "_") or _slug(label, "_") or "question"
    if not base[0].isalpha():
        base = f"q_{base}"
    taken = set(doc["schema"]["properties"]) | set(doc["questions"]) | {"csrf_token"}
    ids = _field_ids(doc)
    name, n = base, 1
    while name in taken or html_id(name) in ids:
        n += 1
        name = f"{base}_{n}"
    return name


def add_question(
    doc: dict[str, Any],
    *,
    page: str,
    widget: str,
    label: str,
    hint: str | None = None,
    required: bool = True,
    name: str | None = None,
) -> dict[str, Any]:
    """A new question from the palette at the end of a page; its name comes from the label."""
    new = _edit(doc)
    _, target = _find_page(new, page)
    if target.get("stop"):
        raise EditError("page", "A stop page cannot have questions")
    kind = WIDGETS.get(widget)
    if kind is None:
        raise EditError("widget", "Select the type of question")
    _check_alone(new, target, kind.name, "page")
    text = _text("label", label, "the question text")
    assert text is not None
    prop_name = name or new_question_name(new, text)
    if (
        prop_name in new["schema"]["properties"]
        or prop_name in new["questions"]
        or not re.fullmatch(r"[a-z][a-z0-9_]*", prop_name)
        or len(prop_name) > MAX_NAME
        or prop_name == "csrf_token"
    ):
        raise EditError("name", "Enter a different name for the answer")
    new["schema"]["properties"][prop_name] = kind.new_property()
    question = kind.new_question(text)
    hint_text = _text("hint", hint, "a hint", optional=True, one_line=False)
    if hint_text:
        question = {
            "label": question["label"],
            "hint": hint_text,
            **{k: v for k, v in question.items() if k not in ("label", "hint")},
        }
    new["questions"][prop_name] = question
    target["questions"].append(prop_name)
    required = required or kind.name == "declaration"  # a tick box nobody must tick confirms nothing
    wanted = _required_names(new["schema"]) | ({prop_name} if required else set())
    _sync_required(doc, new, wanted)
    return new


def _check_alone(doc: dict[str, Any], target: dict[str, Any], widget: str, field: str) -> None:
    """A file upload or an add-another section is the only question on its page."""
    if widget in ALONE_ON_PAGE and target.get("questions"):
        raise EditError(
            field,
            f"{ALONE_ON_PAGE[widget]} must be the only question on its page. Add a new page for it, then add it there",
        )
    for other in target.get("questions", []):
        kind = doc["questions"].get(other, {}).get("widget")
        if kind in ALONE_ON_PAGE:
            raise EditError(
                field,
                f"Page {quoted_title(target)} asks {quoted_label(doc, other)}, which must be the only question "
                f"on its page. Add this question to another page",
            )


def _int(field: str, value: Any, what: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    try:
        number = int(str(value).strip().replace(",", "")) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise EditError(field, f"{what} must be a whole number, like 100")
    if number < minimum:
        raise EditError(field, f"{what} must be {minimum} or more")
    if maximum is not None and number > maximum:
        raise EditError(field, f"{what} must be {maximum:,} or less")
    return number


def _num(field: str, value: Any, what: str) -> int | float:
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int | float):
            number: int | float = value
        else:
            text = str(value).strip().replace(",", "")
            number = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        if isinstance(number, float):
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            if number.is_integer():
                number = int(number)
    except (TypeError, ValueError):
        raise EditError(field, f"{what} must be a number, like 10") from None
    return number


def _date_bound(field: str, value: Any, what: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if text.lower() == "today":
        return "today"
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise EditError(field, f"{what} must be a real date") from None


def _bound_date(value: str) -> date:
    return date.today() if value == "today" else date.fromisoformat(value)


_MESSAGE_KEYWORDS = {
    "required",
    "type",
    "format",
    "pattern",
    "enum",
    "items",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "dateBefore",
    "dateAfter",
    "earliest",
    "latest",
}

# The relative date rule's fields on the question form: "At least [14] [days] [from today]".
DATE_RULE_DIRECTIONS = ("from", "before")
_SIDE_WORDS = {"earliest": "The earliest date", "latest": "The latest date"}


def _date_rule_side(side: str, value: Any) -> dict[str, int] | None:
    """One side of a relative date rule from the form: ``{"amount": "14", "unit": "days",
    "direction": "from"}`` -> ``{"days": 14}``; an empty amount -> None (no rule on that side)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise EditError(f"date_rule.{side}.amount", f"{_SIDE_WORDS[side]} must be a number of days, weeks or months")
    amount = str(value.get("amount", "")).strip()
    if not amount:
        return None
    what = _SIDE_WORDS[side]
    if not re.fullmatch(r"[0-9]{1,6}", amount.replace(",", "")):
        raise EditError(
            f"date_rule.{side}.amount",
            f"{what} must be a whole number of days, weeks or months from today, like 14",
        )
    unit = str(value.get("unit", ""))
    if unit not in UNITS:
        raise EditError(f"date_rule.{side}.unit", "Select days, working days, weeks or months")
    direction = str(value.get("direction", "from"))
    if direction not in DATE_RULE_DIRECTIONS:
        raise EditError(f"date_rule.{side}.direction", "Select from today or before today")
    number = int(amount.replace(",", ""))
    if number > UNITS[unit]:
        raise EditError(
            f"date_rule.{side}.amount", f"{what} can be at most {UNITS[unit]:,} {UNIT_WORDS[unit]}s from today"
        )
    return {unit: -number if direction == "before" and number else number}


def _set_date_rule(question: dict[str, Any], widget: str, date_rule: Any) -> None:
    if widget != "date":
        raise EditError("date_rule.earliest.amount", "Only date answers can have a date rule")
    if date_rule is None:
        question.pop("date_rule", None)
        return
    if not isinstance(date_rule, dict) or set(date_rule) - set(SIDES):
        raise EditError("date_rule.earliest.amount", "Enter the earliest date, the latest date or both")
    rule = {side: found for side in SIDES if (found := _date_rule_side(side, date_rule.get(side))) is not None}
    if not rule:
        question.pop("date_rule", None)
        return
    read = DateRule.read(rule)
    assert read is not None
    earliest, latest = read.bounds(date.today())
    if earliest is not None and latest is not None and earliest > latest:
        raise EditError("date_rule.latest.amount", "The latest date must be the same as or after the earliest date")
    question["date_rule"] = rule


def update_question(
    doc: dict[str, Any],
    name: str,
    *,
    label: str = KEEP,
    hint: str | None = KEEP,
    short_label: str | None = KEEP,
    error_name: str | None = KEEP,
    required: bool = KEEP,
    width: str | None = KEEP,
    min_length: int | None = KEEP,
    max_length: int | None = KEEP,
    min_value: float | None = KEEP,
    max_value: float | None = KEEP,
    whole_numbers: bool = KEEP,
    date_after: str | None = KEEP,
    date_before: str | None = KEEP,
    date_rule: dict[str, Any] | None = KEEP,
    statement: str | None = KEEP,
    searchable: bool = KEEP,
    messages: dict[str, str | None] = KEEP,
    max_files: int | str = KEEP,
    accept: list[str] = KEEP,
    max_size_mb: int | str = KEEP,
    singular: str = KEEP,
    plural: str = KEEP,
    min_items: int | str | None = KEEP,
    max_items: int | str = KEEP,
    summary: str | None = KEEP,
    lookup: bool = KEEP,
) -> dict[str, Any]:
    """Change a question: its texts, whether it is required, and its validation in plain words.

    ``KEEP`` (the default) leaves a setting as it is; None clears it. Dates take an ISO date
    or "today": "in the past" is ``date_before="today"``, "in the future" ``date_after="today"``.
    ``date_rule`` is the relative rule as the form posts it (``_date_rule_side``):
    ``{"earliest": {"amount": "14", "unit": "working_days", "direction": "from"}, "latest": ...}``.
    ``statement`` is a declaration's tick box wording; ``searchable`` lets caseworkers search
    cases by a text-like answer.

    A file upload's limits: ``max_files`` (how many), ``accept`` (kinds of file, runtime.uploads.KINDS),
    ``max_size_mb``. An add-another section's ``singular`` and ``plural`` names, ``min_items`` and
    ``max_items``, and ``summary`` (the item question naming each item; None: the first). A UK
    address's ``lookup`` (find it by postcode first). A money answer's ``min_value`` and
    ``max_value`` are amounts in pounds ("1,200.50"), stored in pence.
    """
    new = _edit(doc)
    question = _question(new, name)
    widget = WIDGETS.get(question.get("widget", ""))
    kind_name = widget.name if widget else ""
    if any(v is not KEEP for v in (max_files, accept, max_size_mb)):
        _set_file_limits(new, name, kind_name, max_files=max_files, accept=accept, max_size_mb=max_size_mb)
    if any(v is not KEEP for v in (singular, plural, min_items, max_items, summary)):
        _set_items(
            new,
            name,
            kind_name,
            singular=singular,
            plural=plural,
            min_items=min_items,
            max_items=max_items,
            summary=summary,
        )
    if lookup is not KEEP:
        if kind_name != "uk-address":
            raise EditError("lookup", "Only a UK address can be found by postcode")
        if lookup:
            question["lookup"] = True
        else:
            question.pop("lookup", None)
    if label is not KEEP:
        question["label"] = _text("label", label, "the question text")
    for key, value, what in (
        ("hint", hint, "a hint"),
        ("short_label", short_label, "a short name for check answers"),
        ("error_name", error_name, "a name for error messages"),
    ):
        if value is KEEP:
            continue
        text = _text(key, value, what, optional=True, one_line=key != "hint")
        if text:
            question[key] = text
        else:
            question.pop(key, None)
    if statement is not KEEP:
        if widget is None or widget.name != "declaration":
            raise EditError("statement", "Only a declaration has the words beside its tick box")
        text = _text("statement", statement, "the words beside the tick box")
        question["statement"] = text
    if date_rule is not KEEP:
        _set_date_rule(question, widget.name if widget else "", date_rule)
    if searchable is not KEEP:
        if searchable and (widget is None or widget.name not in SEARCHABLE_WIDGETS):
            raise EditError("searchable", "Only answers typed as one line of text can be searched")
        if searchable:
            question["searchable"] = True
        else:
            question.pop("searchable", None)
    if width is not KEEP:
        if width in (None, ""):
            question.pop("width", None)
        elif str(width) not in WIDTHS:
            raise EditError("width", "Select a width")
        else:
            question["width"] = str(width)

    validation = (min_length, max_length, min_value, max_value, whole_numbers, date_after, date_before)
    if any(v is not KEEP for v in validation):
        _set_validation(
            new,
            name,
            widget.name if widget else "",
            min_length=min_length,
            max_length=max_length,
            min_value=min_value,
            max_value=max_value,
            whole_numbers=whole_numbers,
            date_after=date_after,
            date_before=date_before,
        )

    if messages is not KEEP:
        own = new.setdefault("messages", {}).setdefault(name, {})
        for keyword, text in messages.items():
            if keyword not in _MESSAGE_KEYWORDS:
                raise EditError(f"messages.{keyword}", "Select a kind of error")
            value = _text(f"messages.{keyword}", text, "an error message", optional=True)
            if value:
                own[keyword] = value
            else:
                own.pop(keyword, None)
        if not own:
            del new["messages"][name]
        if not new["messages"]:
            del new["messages"]

    if required is not KEEP:
        if widget is not None and widget.name == "declaration" and not required:
            raise EditError("required", "A declaration must always be confirmed")
        wanted = _required_names(new["schema"])
        wanted = wanted | {name} if required else wanted - {name}
        _sync_required(doc, new, wanted)
    return new


def _set_validation(doc: dict[str, Any], name: str, widget: str, **kw: Any) -> None:
    prop = _property(doc, name, "validation")
    text_widgets = {"text", "textarea", "email", "tel"}
    if kw["min_length"] is not KEEP or kw["max_length"] is not KEEP:
        if widget not in text_widgets:
            raise EditError("max_length", "Only text answers have a length")
        for key, field, what in (
            ("minLength", "min_length", "Minimum length"),
            ("maxLength", "max_length", "Maximum length"),
        ):
            value = kw[field]
            if value is KEEP:
                continue
            if value in (None, ""):
                if key == "maxLength":
                    raise EditError(field, "Enter a maximum length, so that no one can send unlimited text")
                prop.pop(key, None)
            else:
                prop[key] = _int(field, value, what, minimum=1 if key == "maxLength" else 0, maximum=MAX_TEXT_LENGTH)
        if prop.get("minLength", 0) > prop.get("maxLength", MAX_TEXT_LENGTH):
            raise EditError("max_length", "Maximum length must be the same as or more than the minimum length")
    if widget == "money" and (kw["min_value"] is not KEEP or kw["max_value"] is not KEEP):
        _set_amounts(prop, kw["min_value"], kw["max_value"])
    elif kw["min_value"] is not KEEP or kw["max_value"] is not KEEP or kw["whole_numbers"] is not KEEP:
        if widget != "number":
            raise EditError("max_value", "Only number answers have a minimum or maximum value")
        for key, field, what in (("minimum", "min_value", "Minimum value"), ("maximum", "max_value", "Maximum value")):
            value = kw[field]
            if value is KEEP:
                continue
            if value in (None, ""):
                prop.pop(key, None)
            else:
                prop[key] = _num(field, value, what)
        if kw["whole_numbers"] is not KEEP:
            prop["type"] = "integer" if kw["whole_numbers"] else "number"
        if "minimum" in prop and "maximum" in prop and prop["minimum"] > prop["maximum"]:
            raise EditError("max_value", "Maximum value must be the same as or more than the minimum value")
    if kw["date_after"] is not KEEP or kw["date_before"] is not KEEP:
        if widget != "date":
            raise EditError("date_before", "Only date answers can be limited to the past or the future")
        for key, field, what in (
            ("dateAfter", "date_after", "The earliest date"),
            ("dateBefore", "date_before", "The latest date"),
        ):
            value = kw[field]
            if value is KEEP:
                continue
            if value in (None, ""):
                prop.pop(key, None)
            else:
                prop[key] = _date_bound(field, value, what)
        if "dateAfter" in prop and "dateBefore" in prop:
            if _bound_date(prop["dateAfter"]) >= _bound_date(prop["dateBefore"]):
                raise EditError("date_before", "The latest date must be after the earliest date")


def move_question(
    doc: dict[str, Any], name: str, *, direction: str | None = None, to_page: str | None = None
) -> dict[str, Any]:
    """Move a question up or down on its page, or to the end of another page."""
    new = _edit(doc)
    _question(new, name)
    source = _page_of(new, name)
    if source is None:
        raise EditError("question", "This question is not on a page")
    if to_page is not None and to_page != source["id"]:
        _, target = _find_page(new, to_page, "to_page")
        if target.get("stop"):
            raise EditError("to_page", "A stop page cannot have questions")
        _check_alone(new, target, str(new["questions"][name].get("widget", "")), "to_page")
        source["questions"].remove(name)
        target["questions"].append(name)
        problem = _order_problem(new)
        if problem:
            raise EditError(
                "to_page", f"You cannot move {quoted_label(new, name)} to page {quoted_title(target)}: {problem}"
            )
    elif direction is not None:
        if direction not in ("up", "down"):
            raise EditError("direction", "Select up or down")
        names = source["questions"]
        i = names.index(name)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(names):
            names[i], names[j] = names[j], names[i]
    _sync_required(doc, new)
    return new


def delete_question(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """Delete a question and its answer; refused while a condition, routing or identity uses it."""
    new = _edit(doc)
    _question(new, name)
    for use in _uses(new, {name}):
        raise EditError("question", f"You cannot delete {quoted_label(new, name)} because {use}. Change that first")
    _drop_questions(new, {name})
    _sync_required(doc, new)
    return new


# -- file uploads, add-another sections, money (issue 18) --------------------------------------


def _count(field: str, value: Any, what: str, *, minimum: int, maximum: int) -> int:
    """A number of things the designer typed: a clear message when empty or out of range."""
    if value is None or not str(value).strip():
        raise EditError(field, f"Enter {what}")
    return _int(field, value, what[:1].upper() + what[1:], minimum=minimum, maximum=maximum)


def _set_file_limits(doc: dict[str, Any], name: str, widget: str, **kw: Any) -> None:
    """How many files, which kinds, and the largest size, for a file upload (in place)."""
    if widget != "file":
        raise EditError("max_files", "Only a file upload has these limits")
    question = doc["questions"][name]
    prop = _property(doc, name, "max_files")
    if kw["max_files"] is not KEEP:
        prop["maxItems"] = _count(
            "max_files", kw["max_files"], "how many files people can upload", minimum=1, maximum=MAX_FILES
        )
    if kw["accept"] is not KEEP:
        chosen = [str(k) for k in kw["accept"]] if isinstance(kw["accept"], list | tuple) else []
        if any(k not in KINDS for k in chosen):
            raise EditError("accept", "Select the kinds of file people can upload from the list")
        if not chosen:
            raise EditError("accept", "Select at least one kind of file people can upload")
        question["accept"] = [k for k in KINDS if k in chosen]  # in the list's order, each once
    if kw["max_size_mb"] is not KEEP:
        question["max_size_mb"] = _count(
            "max_size_mb", kw["max_size_mb"], "the largest file size in megabytes", minimum=1, maximum=MAX_SIZE_MB
        )


def _set_items(doc: dict[str, Any], name: str, widget: str, **kw: Any) -> None:
    """An add-another section's names for its items, how many, and the answer naming each (in place)."""
    if widget != "add-another":
        raise EditError("singular", "Only an add-another section has these settings")
    question = doc["questions"][name]
    prop = _property(doc, name, "max_items")
    for key, what in (("singular", "what one item is called"), ("plural", "what several items are called")):
        if kw[key] is not KEEP:
            text = _text(key, kw[key], what)
            assert text is not None
            if len(text) > MAX_ITEM_NAME:
                raise EditError(key, f"{what[:1].upper()}{what[1:]} must be {MAX_ITEM_NAME} characters or less")
            question[key] = text
    if kw["max_items"] is not KEEP:
        prop["maxItems"] = _count(
            "max_items",
            kw["max_items"],
            f"the most {question.get('plural') or 'items'} that can be added",
            minimum=1,
            maximum=MOST_ITEMS,
        )
    if kw["min_items"] is not KEEP:
        if kw["min_items"] is None or not str(kw["min_items"]).strip():
            prop.pop("minItems", None)
        else:
            what = f"The fewest {question.get('plural') or 'items'} that must be added"
            prop["minItems"] = _int("min_items", kw["min_items"], what, minimum=0, maximum=MOST_ITEMS)
    if prop.get("minItems", 0) > prop.get("maxItems", MOST_ITEMS):
        raise EditError(
            "min_items", f"The fewest {question.get('plural') or 'items'} must be the same as or less than the most"
        )
    if kw["summary"] is not KEEP:
        asked = question.get("questions") if isinstance(question.get("questions"), dict) else {}
        if kw["summary"] in (None, ""):
            question.pop("summary", None)
        elif kw["summary"] not in asked:
            raise EditError("summary", "Select one of the questions asked about each item")
        else:
            question["summary"] = kw["summary"]


_AMOUNT = re.compile(r"^(\d{1,12})(?:\.(\d{2}))?$")


def _pence(field: str, value: Any, what: str) -> int:
    """An amount in pounds as typed ("£1,200.50", "12") -> pence (120050, 1200)."""
    text = re.sub(r"[£,\s]", "", str(value))
    found = _AMOUNT.match(text)
    if not found:
        raise EditError(field, f"{what} must be an amount in pounds, like 1,200 or 12.50")
    pence = int(found.group(1)) * 100 + int(found.group(2) or 0)
    if pence > MAX_AMOUNT_PENCE:
        raise EditError(field, f"{what} must be £{MAX_AMOUNT_PENCE // 100:,} or less")
    return pence


def _set_amounts(prop: dict[str, Any], smallest: Any, largest: Any) -> None:
    """A money answer's limits in pounds, stored in pence; a largest amount is always needed."""
    if smallest is not KEEP:
        if smallest in (None, ""):
            prop["minimum"] = 0
        else:
            prop["minimum"] = _pence("min_value", smallest, "The smallest amount")
    if largest is not KEEP:
        if largest in (None, ""):
            raise EditError("max_value", "Enter the largest amount people can give")
        prop["maximum"] = _pence("max_value", largest, "The largest amount")
    if prop.get("minimum", 0) > prop.get("maximum", MAX_AMOUNT_PENCE):
        raise EditError("max_value", "The largest amount must be the same as or more than the smallest amount")


# -- the questions asked about each item of an add-another section ------------------------------

ITEMS_PAGE = "items"
MAX_ITEM_NAME = 40  # "person", "vehicle", "previous address": one or two words


def _items_of(doc: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An add-another question and the items schema its item questions live in."""
    question = _question(doc, name)
    if question.get("widget") != "add-another":
        raise EditError("question", "Only an add-another section has questions about each item")
    items = _property(doc, name).get("items")
    if not isinstance(items, dict) or "$ref" in items or not isinstance(items.get("properties"), dict):
        raise EditError("question", "This is set by IT in the definition file")
    if not isinstance(question.get("questions"), dict):
        question["questions"] = {}
    return question, items


def item_service(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """An add-another section's item questions as a service of one page, so that the question
    operations above (add, update, choices, move, delete) edit them as they edit any question."""
    question, items = _items_of(doc, name)
    required = [n for n in items.get("required", []) if isinstance(n, str)]
    schema: dict[str, Any] = {"type": "object", "properties": copy.deepcopy(items["properties"])}
    if required:
        schema["required"] = required
    prefix = f"{name}."  # an item question's messages are the service's "<name>.<item question>" ones
    messages: dict[str, Any] = doc["messages"] if isinstance(doc.get("messages"), dict) else {}
    own = {path[len(prefix) :]: copy.deepcopy(m) for path, m in messages.items() if path.startswith(prefix)}
    return {
        "schema": schema,
        **({"messages": own} if own else {}),
        "questions": copy.deepcopy(question["questions"]),
        "pages": [
            {"id": ITEMS_PAGE, "title": str(question.get("label", name)), "questions": list(question["questions"])}
        ],
        "identity": {},
    }


def edit_items(doc: dict[str, Any], name: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """Apply ``edit`` (an operation on ``item_service``'s service) to an add-another's item questions."""
    new = _edit(doc)
    question, items = _items_of(new, name)
    before = item_service(new, name)
    changed = edit(item_service(new, name))
    _check_choices_in_use(new, name, before, changed)
    order = list(changed["pages"][0]["questions"])
    question["questions"] = {n: changed["questions"][n] for n in order if n in changed["questions"]}
    props = changed["schema"]["properties"]
    items["properties"] = {
        **{n: props[n] for n in order if n in props},
        **{n: p for n, p in props.items() if n not in order},
    }
    required = [n for n in changed["schema"].get("required", []) if n in question["questions"]]
    if required:
        items["required"] = required
    else:
        items.pop("required", None)
    if question.get("summary") not in question["questions"]:
        question.pop("summary", None)  # the first question names each item now
    prefix = f"{name}."
    messages = {k: v for k, v in new.get("messages", {}).items() if not k.startswith(prefix)}
    messages.update({f"{prefix}{k}": v for k, v in changed.get("messages", {}).items() if k in question["questions"]})
    if messages:
        new["messages"] = messages
    else:
        new.pop("messages", None)
    return new


def _about(condition: Any, name: str) -> list[Any]:
    """What a condition says of answer ``name`` (its ``properties.<name>`` schemas, at any depth)."""
    found: list[Any] = []
    if isinstance(condition, dict):
        props = condition.get("properties")
        if isinstance(props, dict) and name in props:
            found.append(props[name])
        for value in condition.values():
            found.extend(_about(value, name))
    elif isinstance(condition, list):
        for item in condition:
            found.extend(_about(item, name))
    return found


def _check_choices_in_use(doc: dict[str, Any], name: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    """A choice of a question about each item stays while a condition on the list compares with it."""
    for where, condition in _conditions_of(doc):
        if name not in _names_read(condition):
            continue
        about_list = _about(condition, name)
        for item, q in before["questions"].items():
            used = _condition_values(about_list, item) & _literal_values(before["schema"]["properties"].get(item))
            kept = _literal_values(after["schema"]["properties"].get(item)) if item in after["questions"] else set()
            gone = sorted(used - kept)
            if gone:
                options: dict[str, Any] = (
                    q["options"] if isinstance(q, dict) and isinstance(q.get("options"), dict) else {}
                )
                option = options.get(gone[0])
                label = option.get("label", gone[0]) if isinstance(option, dict) else gone[0]
                raise EditError("choices", f"You cannot remove '{label}' because {where} uses it. Change that first")


def add_item_question(
    doc: dict[str, Any],
    name: str,
    *,
    widget: str,
    label: str,
    hint: str | None = None,
    required: bool = True,
) -> dict[str, Any]:
    """A new question asked about each item of an add-another section, at the end of its list."""
    if widget in NOT_IN_ITEMS:
        raise EditError("widget", "Select a type of question that can be asked about each item")

    def add(items: dict[str, Any]) -> dict[str, Any]:
        return add_question(items, page=ITEMS_PAGE, widget=widget, label=label, hint=hint, required=required)

    return edit_items(doc, name, add)


def update_item_question(doc: dict[str, Any], name: str, item: str, **kw: Any) -> dict[str, Any]:
    """``update_question`` for a question asked about each item."""
    if kw.get("searchable"):
        raise EditError("searchable", "Caseworkers cannot search cases by an answer about each item")
    if kw.get("lookup"):
        raise EditError("lookup", "An address asked about each item cannot be found by postcode: people type it")
    return edit_items(doc, name, lambda items: update_question(items, item, **kw))


def move_item_question(doc: dict[str, Any], name: str, item: str, *, direction: str) -> dict[str, Any]:
    return edit_items(doc, name, lambda items: move_question(items, item, direction=direction))


def delete_item_question(doc: dict[str, Any], name: str, item: str) -> dict[str, Any]:
    """Delete a question asked about each item; never the last one, nor one a condition reads."""
    question, _ = _items_of(doc, name)
    if item not in question["questions"]:
        raise EditError("question", "This question no longer exists")
    one = str(question.get("singular") or "item")
    if len(question["questions"]) == 1:
        raise EditError(
            "question", f"Each {one} needs at least one question. Add another question before you delete this one"
        )
    for where, condition in _conditions_of(doc):
        if name in _names_read(condition) and f'"{item}"' in json.dumps(condition):
            label = quoted_label(item_service(doc, name), item)
            raise EditError("question", f"You cannot delete {label} because {where} uses it. Change that first")
    return edit_items(doc, name, lambda items: delete_question(items, item))


def _conditions_of(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every condition in the service, with where it is in words."""
    for page in doc["pages"]:
        if page.get("show_if") is not None:
            yield f"the condition on page {quoted_title(page)}", page["show_if"]
        for rule in page.get("next", []):
            yield f"the routing from page {quoted_title(page)}", rule.get("if")
    for i, entry in enumerate(doc["schema"].get("allOf", [])):
        if isinstance(entry, dict):
            yield f"a rule set by IT in the definition file ($.schema.allOf[{i}])", entry.get("if")
    workflow = doc.get("workflow")
    transitions = workflow.get("transitions") if isinstance(workflow, dict) else None
    for t in transitions if isinstance(transitions, list) else []:
        if isinstance(t, dict) and t.get("guard") is not None:
            yield f"the condition on action '{t.get('label') or t.get('action')}'", t["guard"]


# -- choices ------------------------------------------------------------------------------------


def _choices(doc: dict[str, Any], name: str) -> tuple[dict[str, Any], list[Any]]:
    """A choice question's options and the enum list they mirror (both edited in place)."""
    question = _question(doc, name)
    widget = WIDGETS.get(question.get("widget", ""))
    if widget is None or not widget.takes_options:
        raise EditError("question", "Only choice questions have choices")
    prop = _property(doc, name, "choices")
    holder = prop.get("items") if question["widget"] == "checkboxes" else prop
    if not isinstance(holder, dict) or not isinstance(holder.get("enum"), list) or "$ref" in holder:
        raise EditError("choices", "This is set by IT in the definition file")
    options = question.setdefault("options", {})
    return options, holder["enum"]


def _check_choice_label(options: dict[str, Any], label: Any, value: str | None) -> str:
    text = _text("label", label, "the text of the choice")
    assert text is not None
    for other, option in options.items():
        if other != value and str(option.get("label", "")).casefold() == text.casefold():
            raise EditError("label", f"There is already a choice called '{text}'")
    return text


def add_choice(doc: dict[str, Any], name: str, *, label: str, hint: str | None = None) -> dict[str, Any]:
    """A new choice at the end; its stored value comes from the text and never changes after."""
    new = _edit(doc)
    options, enum = _choices(new, name)
    text = _check_choice_label(options, label, None)
    value = _unique(_slug(text, "_") or "option", set(options) | {str(v) for v in enum}, "_")
    option: dict[str, Any] = {"label": text}
    hint_text = _text("hint", hint, "a hint", optional=True)
    if hint_text:
        option["hint"] = hint_text
    options[value] = option
    enum.append(value)
    return new


def rename_choice(doc: dict[str, Any], name: str, value: str, *, label: str, hint: str | None = KEEP) -> dict[str, Any]:
    """Change a choice's text (its stored value stays, so earlier answers still match)."""
    new = _edit(doc)
    options, _ = _choices(new, name)
    if value not in options:
        raise EditError("choice", "This choice no longer exists")
    options[value]["label"] = _check_choice_label(options, label, value)
    if hint is not KEEP:
        hint_text = _text("hint", hint, "a hint", optional=True)
        if hint_text:
            options[value]["hint"] = hint_text
        else:
            options[value].pop("hint", None)
    return new


def move_choice(doc: dict[str, Any], name: str, value: str, *, direction: str) -> dict[str, Any]:
    new = _edit(doc)
    options, enum = _choices(new, name)
    if value not in options:
        raise EditError("choice", "This choice no longer exists")
    if direction not in ("up", "down"):
        raise EditError("direction", "Select up or down")
    order = list(options)
    i = order.index(value)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
    reordered = {v: options[v] for v in order}
    options.clear()
    options.update(reordered)
    position = {v: k for k, v in enumerate(order)}
    enum.sort(key=lambda v: position.get(str(v), len(order)))
    return new


def _condition_values(condition: Any, name: str) -> set[str]:
    """The values of ``name`` a condition compares with (const and enum, at any depth)."""
    found: set[str] = set()
    if isinstance(condition, dict):
        props = condition.get("properties")
        if isinstance(props, dict) and name in props:
            found |= _literal_values(props[name])
        for key, value in condition.items():
            if key != "properties":
                found |= _condition_values(value, name)
    elif isinstance(condition, list):
        for item in condition:
            found |= _condition_values(item, name)
    return found


def _literal_values(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        if "const" in schema:
            found.add(str(schema["const"]))
        if isinstance(schema.get("enum"), list):
            found.update(str(v) for v in schema["enum"])
        for value in schema.values():
            found |= _literal_values(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _literal_values(item)
    return found


def remove_choice(doc: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    """Remove a choice; refused while a condition uses it, or when it is the last one."""
    new = _edit(doc)
    options, enum = _choices(new, name)
    if value not in options:
        raise EditError("choice", "This choice no longer exists")
    if len(options) == 1:
        raise EditError("choice", "A question needs at least one choice")
    label = options[value].get("label", value)
    for page in new["pages"]:
        conditions = [page.get("show_if"), *(r.get("if") for r in page.get("next", []))]
        if value in _condition_values(conditions, name):
            raise EditError(
                "choice",
                f"You cannot remove '{label}' because page {quoted_title(page)} uses it in a condition. "
                "Change that first",
            )
    for i, entry in enumerate(new["schema"].get("allOf", [])):
        if value in _condition_values(entry, name):
            raise EditError(
                "choice",
                f"You cannot remove '{label}' because a rule set by IT in the definition file ($.schema.allOf[{i}]) "
                "uses it",
            )
    del options[value]
    enum[:] = [v for v in enum if str(v) != value]
    return new


# -- conditions and routing -----------------------------------------------------------------------


def set_condition(doc: dict[str, Any], page: str, condition: Condition | None) -> dict[str, Any]:
    """Show the page only when the condition holds (None: always, as far as routing allows)."""
    new = _edit(doc)
    _, target = _find_page(new, page)
    if condition is None:
        target.pop("show_if", None)
    else:
        checked = validate_condition(new, condition, page)
        target["show_if"] = to_schema(new, checked)  # the canonical writer puts it in its place
    _sync_required(doc, new)
    return new


def set_routing(doc: dict[str, Any], page: str, rules: list[tuple[Condition, str]]) -> dict[str, Any]:
    """Routing: "If <condition>, go to <page>", rules tried in order; an empty list removes it."""
    new = _edit(doc)
    at, target = _find_page(new, page)
    if target.get("stop"):
        raise EditError("page", "A stop page ends the form, so it cannot go to another page")
    written = []
    for k, (condition, goto) in enumerate(rules):
        checked = validate_condition(new, condition, page, routing=True)
        index = {p["id"]: i for i, p in enumerate(new["pages"])}
        if goto not in index:
            raise EditError(f"goto-{k}", "Select the page to go to")
        if index[goto] <= at:
            raise EditError(f"goto-{k}", "Select a page after this one")
        written.append({"if": to_schema(new, checked), "goto": goto})
    if written:
        target["next"] = written
    else:
        target.pop("next", None)
    _sync_required(doc, new)
    return new


# -- start page, check answers, confirmation, privacy and contact --------------------------------


def set_start_page(
    doc: dict[str, Any], *, body: Any, you_will_need: Any = KEEP, button: str | None = KEEP
) -> dict[str, Any]:
    new = _edit(doc)
    start = new.setdefault("start", {})
    start["body"] = _paragraphs("body", body, "what the service is for", optional=False)
    if you_will_need is not KEEP:
        items = _paragraphs("you_will_need", you_will_need, "what the citizen will need")
        if items:
            start["you_will_need"] = items
        else:
            start.pop("you_will_need", None)
    if button is not KEEP:
        text = _text("button", button, "the button text", optional=True)
        if text:
            start["button"] = text
        else:
            start.pop("button", None)
    return new


def set_declaration(
    doc: dict[str, Any], *, declaration: Any, title: str | None = KEEP, button: str | None = KEEP
) -> dict[str, Any]:
    """The check answers page: its declaration paragraphs, title and send button (empty: the default)."""
    new = _edit(doc)
    check = new.setdefault("check_answers", {})
    for key, value, what in (("title", title, "a title"), ("button", button, "the button text")):
        if value is KEEP:
            continue
        text = _text(key, value, what, optional=True)
        if text:
            check[key] = text
        else:
            check.pop(key, None)
    paragraphs = _paragraphs("declaration", declaration, "the declaration")
    if paragraphs:
        check["declaration"] = paragraphs
    else:
        check.pop("declaration", None)
    if not check:
        del new["check_answers"]
    return new


def set_confirmation(doc: dict[str, Any], *, title: str, next_steps: Any) -> dict[str, Any]:
    new = _edit(doc)
    confirmation = new.setdefault("confirmation", {})
    confirmation["title"] = _text("title", title, "the confirmation title")
    confirmation["next_steps"] = _paragraphs("next_steps", next_steps, "what happens next", optional=False)
    return new


def set_retention(doc: dict[str, Any], *, amount: Any, unit: Any, after: Any) -> dict[str, Any]:
    """How long applicants' personal data is kept: a number of years or months after the case is
    closed or the form was sent; ``after`` empty removes the period (kept until erased on request)."""
    new = _edit(doc)
    if after in (None, ""):
        new.pop("retention", None)
        return new
    if after not in retention.AFTER:
        raise EditError("after", "Choose when the period starts")
    if unit not in ("years", "months"):
        raise EditError("unit", "Choose years or months")
    text = str(amount or "").strip()
    most = retention.MAX_YEARS if unit == "years" else retention.MAX_MONTHS
    if not text:
        raise EditError("amount", f"Enter how many {unit} to keep personal data for")
    if not (text.isascii() and text.isdigit()) or len(text) > 4 or not 1 <= int(text) <= most:
        raise EditError("amount", f"Enter a whole number of {unit} from 1 to {most}")
    new["retention"] = {unit: int(text), "after": after}
    return new


def set_privacy_and_contact(
    doc: dict[str, Any],
    *,
    privacy_url: str | None = None,
    privacy_summary: Any = None,
    email: str | None = None,
    phone: str | None = None,
    hours: str | None = None,
    address: Any = None,
) -> dict[str, Any]:
    """How the service uses the citizen's information, and how to contact the team (all optional)."""
    new = _edit(doc)
    privacy: dict[str, Any] = {}
    url = _text("privacy_url", privacy_url, "the link", optional=True)
    if url:
        if not _URL.match(url):
            raise EditError("privacy_url", "Enter a link to the privacy notice that starts with https://")
        privacy["url"] = url
    summary = _paragraphs("privacy_summary", privacy_summary, "a summary")
    if summary:
        privacy["summary"] = summary
    contact: dict[str, Any] = {}
    mail = _text("email", email, "an email address", optional=True)
    if mail:
        if not _EMAIL.match(mail) or len(mail) > MAX_EMAIL:
            raise EditError("email", "Enter an email address in the correct format, like name@example.com")
        contact["email"] = mail
    number = _text("phone", phone, "a phone number", optional=True)
    if number:
        if not _PHONE.match(number):
            raise EditError("phone", "Enter a phone number, like 01632 960 001")
        contact["phone"] = number
    opening = _text("hours", hours, "opening hours", optional=True)
    if opening:
        contact["hours"] = opening
    if isinstance(address, str):
        address = address.splitlines()
    lines = [t for t in (_text("address", line, "an address line", optional=True) for line in address or []) if t]
    if lines:
        contact["address"] = lines
    for key, value in (("privacy", privacy), ("contact", contact)):
        if value:
            new[key] = value
        else:
            new.pop(key, None)
    return new


def _fields(doc: dict[str, Any]) -> set[str]:
    out = set()
    for name in doc["questions"]:
        out.add(name)
        widget = WIDGETS.get(doc["questions"][name].get("widget", ""))
        for part in widget.parts if widget else ():
            out.add(f"{name}.{part}")
    return out


def set_identity(doc: dict[str, Any], *, identity: dict[str, str | None]) -> dict[str, Any]:
    """Which answers identify the citizen: ``{kind: field path or None}`` (None removes the kind)."""
    new = _edit(doc)
    current = dict(new.get("identity", {}))
    fields = _fields(new)
    for kind, path in identity.items():
        if kind not in IDENTITY_KINDS:
            raise EditError(f"identity.{kind}", "Select what the answer identifies")
        if path in (None, ""):
            current.pop(kind, None)
        elif path not in fields:
            raise EditError(f"identity.{kind}", "Select a question from this service")
        else:
            current[kind] = path
    if not current:
        raise EditError("identity", "Select at least one answer that identifies the citizen")
    new["identity"] = {k: current[k] for k in [*IDENTITY_KINDS, *current] if k in current}
    return new

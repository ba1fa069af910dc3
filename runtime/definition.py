"""Service definitions: reading, canonical writing, hashing and a typed view for the engine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .dialect import resolve_ref
from .problems import json_depth
from .questions import Field, Question
from .questions import lower_first as lower_first  # the builder's too
from .widgets import ADDRESS_PARTS, WIDGETS, Widget
from .workflow import DEFAULT as DEFAULT_WORKFLOW
from .workflow import Workflow

FORMAT = "civicforms/1"

# Canonical key order: the keys a reader looks for first come first. Keys not listed keep
# their order after the listed ones, so unknown keys never reorder a diff.
TOP_LEVEL_ORDER = [
    "$schema",  # for editors only (see EDITOR_KEYS): first, where an editor looks for it
    "format",
    "id",
    "version",
    "title",
    "description",
    "department",
    "live",
    "reference_prefix",
    "start",
    "identity",
    "schema",
    "questions",
    "pages",
    "messages",
    "check_answers",
    "confirmation",
    "privacy",
    "contact",
]
SCHEMA_ORDER = [
    "$schema",
    "$id",
    "$ref",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "dateBefore",
    "dateAfter",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "properties",
    "required",
    "dependentRequired",
    "additionalProperties",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "$defs",
]
QUESTION_ORDER = [
    "label",
    "hint",
    "short_label",
    "error_name",
    "widget",
    "width",
    "rows",
    "prefix",
    "suffix",
    "autocomplete",
    "spellcheck",
    "yes_label",
    "no_label",
    "options",
]
START_ORDER = ["body", "you_will_need", "button"]
IDENTITY_ORDER = ["full_name", "date_of_birth", "email", "phone", "postcode", "nhs_number", "ni_number"]
CHECK_ANSWERS_ORDER = ["title", "declaration", "button"]
CONFIRMATION_ORDER = ["title", "next_steps"]
PRIVACY_ORDER = ["url", "summary"]
CONTACT_ORDER = ["email", "phone", "hours", "address"]
PAGE_ORDER = ["id", "title", "intro", "show_if", "questions", "next", "stop", "body"]
OPTION_ORDER = ["label", "hint"]
RULE_ORDER = ["if", "goto"]

# Maps (context) -> key order. Contexts are decided by position in the document, never by
# guessing from the keys, so a property named "label" inside a schema stays a schema key.
_SCHEMA_MAP_KEYWORDS = {"properties", "$defs", "dependentRequired", "patternProperties"}
_SCHEMA_KEYWORDS = {"items", "not", "if", "then", "else", "additionalProperties", "contains"}
_SCHEMA_LIST_KEYWORDS = {"allOf", "anyOf", "oneOf", "prefixItems"}


class DefinitionError(Exception):
    """A definition file could not be read at all (not JSON, not an object)."""


def _ordered(obj: dict[str, Any], order: list[str]) -> dict[str, Any]:
    known = {k: obj[k] for k in order if k in obj}
    rest = {k: v for k, v in obj.items() if k not in known}
    return {**known, **rest}


def _canonical_schema(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in _ordered(node, SCHEMA_ORDER).items():
        if key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            out[key] = {k: _canonical_schema(v) for k, v in value.items()}
        elif key in _SCHEMA_KEYWORDS:
            out[key] = _canonical_schema(value)
        elif key in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
            out[key] = [_canonical_schema(v) for v in value]
        else:
            out[key] = value
    return out


def canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """Return ``doc`` with keys in the canonical order (values unchanged)."""
    out = _ordered(doc, TOP_LEVEL_ORDER)
    for key, order in (
        ("start", START_ORDER),
        ("identity", IDENTITY_ORDER),
        ("check_answers", CHECK_ANSWERS_ORDER),
        ("confirmation", CONFIRMATION_ORDER),
        ("privacy", PRIVACY_ORDER),
        ("contact", CONTACT_ORDER),
    ):
        if isinstance(out.get(key), dict):
            out[key] = _ordered(out[key], order)
    if isinstance(out.get("schema"), dict):
        out["schema"] = _canonical_schema(out["schema"])
    questions = out.get("questions")
    if isinstance(questions, dict):
        out["questions"] = {name: _canonical_question(q) if isinstance(q, dict) else q for name, q in questions.items()}
    pages = out.get("pages")
    if isinstance(pages, list):
        out["pages"] = [_canonical_page(p) if isinstance(p, dict) else p for p in pages]
    return out


def _canonical_question(q: dict[str, Any]) -> dict[str, Any]:
    q = _ordered(q, QUESTION_ORDER)
    if isinstance(q.get("options"), dict):
        q["options"] = {k: _ordered(v, OPTION_ORDER) if isinstance(v, dict) else v for k, v in q["options"].items()}
    return q


def _canonical_page(p: dict[str, Any]) -> dict[str, Any]:
    p = _ordered(p, PAGE_ORDER)
    if "show_if" in p:
        p["show_if"] = _canonical_schema(p["show_if"])
    if isinstance(p.get("next"), list):
        p["next"] = [_canonical_rule(r) for r in p["next"]]
    return p


def _canonical_rule(rule: Any) -> Any:
    if not isinstance(rule, dict):
        return rule
    rule = _ordered(rule, RULE_ORDER)
    if "if" in rule:
        rule["if"] = _canonical_schema(rule["if"])
    return rule


# Keys that only tell an editor where the meta-schema is: allowed at the top of a file, kept by
# ``dumps``, but no part of the service, so they never change its content hash (adding "$schema"
# to a file makes no new version) and are not reported as changes.
EDITOR_KEYS = ("$schema",)


def without_editor_keys(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` without the keys that are only for editors (the same object when it has none)."""
    if not any(key in doc for key in EDITOR_KEYS):
        return doc
    return {k: v for k, v in doc.items() if k not in EDITOR_KEYS}


def dumps(doc: dict[str, Any]) -> str:
    """Serialise a definition canonically: stable key order, 2-space indent, final newline."""
    return json.dumps(canonical(doc), indent=2, ensure_ascii=False) + "\n"


def content_hash(doc: dict[str, Any]) -> str:
    """SHA-256 of the canonical serialisation: the same definition always hashes the same.

    A top-level "$schema" (for editors) is left out: adding or changing it makes no new version."""
    return hashlib.sha256(dumps(without_editor_keys(doc)).encode("utf-8")).hexdigest()


# Far above any real service (the shipped ones are under 20 KB and 10 levels deep), low
# enough that a hostile file is refused at once instead of keeping the checker busy.
MAX_FILE_BYTES = 512 * 1024
MAX_DEPTH = 64


def read_file(path: Path) -> dict[str, Any]:
    """Parse a definition file, raising :class:`DefinitionError` with a readable reason."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DefinitionError(f"file is too large ({size} bytes; the limit is {MAX_FILE_BYTES // 1024} KB)")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"cannot read file: {exc}") from exc
    return parse(text)


def read_bytes(data: bytes) -> dict[str, Any]:
    """Parse a definition from bytes (a file at a git ref), with ``read_file``'s limits and reasons."""
    if len(data) > MAX_FILE_BYTES:
        raise DefinitionError(f"file is too large ({len(data)} bytes; the limit is {MAX_FILE_BYTES // 1024} KB)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"cannot read file: {exc}") from exc
    return parse(text)


def parse(text: str) -> dict[str, Any]:
    """A definition document from JSON text, or :class:`DefinitionError` saying why not."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    except RecursionError as exc:
        raise DefinitionError(f"nested more than {MAX_DEPTH} levels deep") from exc
    if not isinstance(doc, dict):
        raise DefinitionError("a definition must be a JSON object")
    if json_depth(doc) > MAX_DEPTH:
        raise DefinitionError(f"nested more than {MAX_DEPTH} levels deep")
    return doc


def definition_files(paths: list[Path]) -> list[Path]:
    """Expand folders to the ``*.json`` files inside them and in their department sub-folders
    (one level: ``form_definitions/<department-slug>/<id>.json``), sorted; files stay as given.

    Hidden files and folders (".git", an editor's ".x.json.partial") are skipped."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [p for p in path.glob("*.json") if p.is_file()]
            found += [p for p in path.glob("*/*.json") if p.is_file() and not p.parent.name.startswith(".")]
            files.extend(sorted((p for p in found if not p.name.startswith(".")), key=lambda p: p.parts))
        else:
            files.append(path)
    return files


DEFINITIONS_FOLDER_NAME = "form_definitions"


def folder_department(path: Path, root: Path | None = None) -> str | None:
    """The department slug a file's folder names, or None for a flat file.

    With ``root`` (the folder being checked), a file in a sub-folder of it is in that department's
    folder. Without it (a file named on its own), a file whose folder's folder is called
    ``form_definitions`` is: ``form_definitions/highways/pothole.json`` is in "highways"."""
    parent = path.absolute().parent
    if root is not None:
        top = root.absolute()
        return parent.name if parent != top and parent.parent == top else None
    return parent.name if parent.parent.name == DEFINITIONS_FOLDER_NAME else None


# -- typed views, with the format's defaults ---------------------------------------------------
# The defaults live here, once: templates, the builder's preview and the back office read
# these views and never the raw document.

START_BUTTON = "Start now"
CHECK_ANSWERS_TITLE = "Check your answers before sending your application"
CHECK_ANSWERS_BUTTON = "Accept and send"
DECLARATION = (
    "By sending this you are confirming that, to the best of your knowledge, "
    "the details you are providing are correct.",
)


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class StartPage:
    body: tuple[str, ...] = ()
    you_will_need: tuple[str, ...] = ()
    button: str = START_BUTTON


@dataclass(frozen=True)
class CheckAnswers:
    title: str = CHECK_ANSWERS_TITLE
    declaration: tuple[str, ...] = DECLARATION
    button: str = CHECK_ANSWERS_BUTTON
    send_heading: str = "Now send your application"


@dataclass(frozen=True)
class Confirmation:
    title: str
    next_steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Privacy:
    """How the service uses the citizen's information: a link to the notice and a summary."""

    url: str | None = None
    summary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    """How to contact the team that runs the service."""

    email: str | None = None
    phone: str | None = None
    hours: str | None = None
    address: tuple[str, ...] = ()


@dataclass
class Page:
    id: str
    title: str
    questions: list[str]
    intro: list[str] = field(default_factory=list)
    show_if: dict[str, Any] | None = None
    next: list[dict[str, Any]] = field(default_factory=list)
    stop: bool = False


class Definition:
    """A checked definition, with typed views and the lookups the engine needs, built once.

    ``doc`` stays the stored document (hashing, storage, the builder's edits); everything
    else reads the typed views.
    """

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self.id: str = doc["id"]
        self.version: int = doc["version"]
        self.title: str = doc["title"]
        self.description: str = str(doc.get("description", ""))
        self.department: str | None = _text(doc.get("department"))
        self.reference_prefix: str = str(doc.get("reference_prefix", ""))
        self.identity: dict[str, str] = dict(doc.get("identity", {}))
        self.schema: dict[str, Any] = doc["schema"]
        self.questions: dict[str, Question] = {name: Question.from_doc(name, q) for name, q in doc["questions"].items()}
        self.messages: dict[str, dict[str, str]] = doc.get("messages", {})
        self.pages = [
            Page(
                id=p["id"],
                title=p.get("title", ""),
                questions=list(p.get("questions", [])),
                intro=list(p.get("intro", [])),
                show_if=p.get("show_if"),
                next=list(p.get("next", [])),
                stop=bool(p.get("stop", False)),
            )
            for p in doc["pages"]
        ]
        start = doc.get("start") or {}
        self.start = StartPage(
            body=_texts(start.get("body")),
            you_will_need=_texts(start.get("you_will_need")),
            button=_text(start.get("button")) or START_BUTTON,
        )
        check = doc.get("check_answers") or {}
        self.check_answers = CheckAnswers(
            title=_text(check.get("title")) or CHECK_ANSWERS_TITLE,
            declaration=_texts(check.get("declaration")) or DECLARATION,
            button=_text(check.get("button")) or CHECK_ANSWERS_BUTTON,
            send_heading="Now send your application" if "pply" in self.title else "Now send your form",
        )
        confirmation = doc.get("confirmation") or {}
        self.confirmation = Confirmation(
            title=_text(confirmation.get("title")) or "Form sent",
            next_steps=_texts(confirmation.get("next_steps")),
        )
        privacy = doc.get("privacy")
        self.privacy: Privacy | None = (
            Privacy(url=_text(privacy.get("url")), summary=_texts(privacy.get("summary")))
            if isinstance(privacy, dict) and privacy
            else None
        )
        contact = doc.get("contact")
        self.contact: Contact | None = (
            Contact(
                email=_text(contact.get("email")),
                phone=_text(contact.get("phone")),
                hours=_text(contact.get("hours")),
                address=_texts(contact.get("address")),
            )
            if isinstance(contact, dict) and contact
            else None
        )
        self.hash = content_hash(doc)
        self._asked: dict[str, Question] = {}
        self._items: dict[str, Definition] = {}

    @property
    def live(self) -> bool:
        return bool(self.doc.get("live", True))

    @cached_property
    def workflow(self) -> Workflow:
        """The approval steps (``runtime.workflow.DEFAULT`` when the file has none), built once."""
        section = self.doc.get("workflow")
        return DEFAULT_WORKFLOW if section is None else Workflow.from_section(section)

    @cached_property
    def page_by_id(self) -> dict[str, Page]:
        return {p.id: p for p in self.pages}

    @cached_property
    def page_of_question(self) -> dict[str, Page]:
        return {q: p for p in self.pages for q in p.questions}

    @cached_property
    def file_questions(self) -> tuple[str, ...]:
        """The questions that take uploaded files (widget "file"), in the order they are asked."""
        return tuple(
            q for p in self.pages for q in p.questions if q in self.questions and self.questions[q].widget == "file"
        )

    @cached_property
    def field_order(self) -> dict[str, int]:
        """Field paths in the order a citizen meets them: the order of an error summary."""
        fields = [f.path for _, name in self.iter_questions() for f in self.fields_of(name)]
        return {path: i for i, path in enumerate(fields)}

    def property_schema(self, name: str) -> dict[str, Any]:
        """The resolved schema of a top-level property."""
        return resolve_ref(self.schema, self.schema.get("properties", {}).get(name, {}))

    @cached_property
    def required_somewhere(self) -> set[str]:
        """Dotted paths required anywhere in the schema (root, if/then, dependentRequired)."""
        found: set[str] = set()

        def walk(node: Any, prefix: str) -> None:
            node = resolve_ref(self.schema, node) if isinstance(node, dict) else node
            if not isinstance(node, dict):
                return
            for name in node.get("required", []):
                found.add(prefix + name)
            for names in node.get("dependentRequired", {}).values():
                found.update(prefix + n for n in names)
            for key in ("then", "else"):
                walk(node.get(key), prefix)
            for sub in node.get("allOf", []) + node.get("anyOf", []) + node.get("oneOf", []):
                walk(sub, prefix)
            for name, sub in node.get("properties", {}).items():
                walk(sub, f"{prefix}{name}.")

        walk(self.schema, "")
        return found

    def is_optional(self, path: str) -> bool:
        return path not in self.required_somewhere

    def question(self, name: str) -> Question:
        """The question with what the schema says about it: what its widget reads (built once)."""
        asked = self._asked.get(name)
        if asked is None:
            asked = replace(
                self.questions[name],
                optional=self.is_optional(name),
                schema=self.property_schema(name),
                fields=tuple(self.fields_of(name)),
            )
            if asked.widget == "add-another":
                each = self.item_definition(name)
                asked = replace(asked, items=tuple(each.question(item) for item in each.questions))
            self._asked[name] = asked
        return asked

    # -- add another: each item's questions are a small definition of their own ----------------

    def item_definition(self, name: str) -> Definition:
        """The questions an add-another question asks of each item, as a definition of one page
        (id ``name``) whose schema is the items' schema: parsing, rendering, validating and
        wording an item's answers is then what any page's is. Its messages are this definition's
        ``"<name>.<item question>"`` ones. Built once."""
        found = self._items.get(name)
        if found is None:
            question = self.doc["questions"][name]
            items = resolve_ref(self.schema, self.property_schema(name).get("items", {}))
            schema = {**items, "$defs": self.schema["$defs"]} if "$defs" in self.schema else dict(items)
            asked = question.get("questions", {})
            prefix = f"{name}."
            found = Definition(
                {
                    "id": self.id,
                    "version": self.version,
                    "title": self.title,
                    "schema": schema,
                    "questions": asked,
                    "pages": [{"id": name, "title": question.get("label", name), "questions": list(asked)}],
                    "messages": {k[len(prefix) :]: v for k, v in self.messages.items() if k.startswith(prefix)},
                }
            )
            self._items[name] = found
        return found

    def item_field(self, path: str) -> tuple[str, int, str] | None:
        """``("household", 1, "full_name")`` for ``household.1.full_name``: a field of the second
        item of an add-another question (None for any other path)."""
        name, _, rest = path.partition(".")
        index, _, field_path = rest.partition(".")
        question = self.questions.get(name)
        if question is None or question.widget != "add-another" or not index.isdecimal() or not field_path:
            return None
        return name, int(index), field_path

    def field_rank(self, path: str) -> tuple[int, int, int]:
        """Where a field path comes in the order a citizen meets them (an error summary's order):
        an item's fields by item, then in the item's question order."""
        order = self.field_order
        item = self.item_field(path)
        if item is None:
            return order.get(path, len(order)), 0, 0
        name, index, rest = item
        inner = self.item_definition(name).field_order
        return order.get(name, len(order)), index, inner.get(rest, len(inner))

    def widget(self, name: str) -> str:
        return self.questions[name].widget

    def widget_of(self, path: str) -> Widget:
        """The widget that owns a field path: a question's, or an address part's own."""
        item = self.item_field(path)
        if item is not None:
            return self.item_definition(item[0]).widget_of(item[2])
        name, _, part = path.partition(".")
        question = self.questions.get(name)
        widget = WIDGETS.get(question.widget, WIDGETS["text"]) if question else WIDGETS["text"]
        if part:
            return widget.part_widget(part) or WIDGETS["text"]
        return widget

    def fields_of(self, name: str) -> list[Field]:
        """The fields a question posts: one, or one per part of a compound answer."""
        schema = self.property_schema(name)
        parts = WIDGETS[self.widget(name)].parts
        if parts:
            props = schema.get("properties", {})
            return [
                Field(f"{name}.{part}", resolve_ref(self.schema, props[part]), name) for part in parts if part in props
            ]
        return [Field(name, schema, name)]

    def short_label(self, path: str) -> str:
        item = self.item_field(path)
        if item is not None:
            return self.item_definition(item[0]).short_label(item[2])
        name, _, part = path.partition(".")
        if part:
            return ADDRESS_PARTS.get(part, (part,))[0].replace(" (optional)", "")
        q = self.questions.get(name)
        return q.short_label if q else name

    def error_name(self, path: str) -> str:
        item = self.item_field(path)
        if item is not None:
            return self.item_definition(item[0]).error_name(item[2])
        name, _, part = path.partition(".")
        if part:
            return ADDRESS_PARTS.get(part, (part, "", part))[2]
        q = self.questions.get(name)
        return q.error_name if q else name

    def option_label(self, name: str, value: Any) -> str:
        q = self.questions.get(name)
        return q.option_label(value) if q else str(value)

    def iter_questions(self) -> Iterator[tuple[Page, str]]:
        for page in self.pages:
            for name in page.questions:
                yield page, name

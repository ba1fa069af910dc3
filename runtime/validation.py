"""The one validator entry point: compiled per definition version, errors as {field: message}.

A definition's JSON Schema, its page conditions and its routing rules are compiled once per
(service, version, content hash) and reused for every request.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import date
from threading import Lock
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry
from referencing.exceptions import NoSuchResource

from .definition import Definition
from .widgets import is_nhs_number, is_ni_number, is_postcode

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def _bound(value: str) -> date:
    return date.today() if value == "today" else date.fromisoformat(value)


def _date_keyword(before: bool) -> Any:
    def check(validator: Any, limit: str, instance: Any, schema: dict[str, Any]) -> Any:
        if not isinstance(instance, str):
            return
        try:
            value = date.fromisoformat(instance)
        except ValueError:
            return  # "format" reports dates that are not real
        bound = _bound(limit)
        if (before and value >= bound) or (not before and value <= bound):
            word = "before" if before else "after"
            yield ValidationError(f"{instance} is not {word} {limit}")

    return check


# Draft 2020-12 plus two date keywords that standard validators ignore as annotations.
CivicValidator = validators.extend(
    Draft202012Validator,
    {"dateBefore": _date_keyword(True), "dateAfter": _date_keyword(False)},
)

FORMATS = FormatChecker()


def _refuse(uri: str) -> Any:
    """Never fetch a schema from anywhere: a definition is one self-contained file."""
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


# An empty registry that retrieves nothing: a remote $ref fails instead of making the server
# fetch a URL chosen by whoever wrote the definition (the checker refuses them first).
OFFLINE: Registry[Any] = Registry(retrieve=_refuse)  # type: ignore[call-arg]


def _validator(schema: Any, **kwargs: Any) -> Any:
    return CivicValidator(schema, registry=OFFLINE, **kwargs)


@FORMATS.checks("email")
def _is_email(instance: object) -> bool:
    # jsonschema's own check only looks for an "@"; citizens deserve a typo caught early.
    return not isinstance(instance, str) or bool(_EMAIL.match(instance))


@FORMATS.checks("uk-postcode")
def _is_postcode(instance: object) -> bool:
    return not isinstance(instance, str) or is_postcode(instance)


@FORMATS.checks("nhs-number")
def _is_nhs_number(instance: object) -> bool:
    return not isinstance(instance, str) or is_nhs_number(instance)


@FORMATS.checks("ni-number")
def _is_ni_number(instance: object) -> bool:
    return not isinstance(instance, str) or is_ni_number(instance)


class CompiledService:
    """A definition with its validators compiled: build once, use for every request.

    The journey through it (which pages a citizen is asked, given their answers) is
    ``runtime.journey.Journey``; this class only compiles and validates.
    """

    def __init__(self, definition: Definition):
        self.definition = definition
        self.validator = _validator(definition.schema, format_checker=FORMATS)
        self.page_conditions: dict[str, Any] = {
            page.id: _validator(page.show_if) for page in definition.pages if page.show_if is not None
        }
        self.routes: dict[str, list[tuple[Any, str]]] = {
            page.id: [(_validator(rule["if"]), rule["goto"]) for rule in page.next] for page in definition.pages
        }
        self.index = {page.id: i for i, page in enumerate(definition.pages)}

    def validate(self, answers: dict[str, Any]) -> dict[str, str]:
        """Validate a whole submission: ``{field path: message}``, empty when valid."""
        return error_messages(self.definition, self.validator.iter_errors(answers))


# The one cache of compiled definitions in the process, keyed by content hash (the hash covers
# the id and version, which are in the document). runtime.store maps published versions to
# their hashes and keeps no definitions of its own.
_cache: OrderedDict[str, CompiledService] = OrderedDict()
_cache_lock = Lock()
CACHE_SIZE = 256


def cached(content_hash: str) -> CompiledService | None:
    """The compiled definition with this content hash, if the cache holds it."""
    with _cache_lock:
        hit = _cache.get(content_hash)
        if hit is not None:
            _cache.move_to_end(content_hash)
        return hit


def compiled(definition: Definition) -> CompiledService:
    """The compiled form of a definition, from a small LRU keyed by its content hash."""
    hit = cached(definition.hash)
    if hit is not None:
        return hit
    built = CompiledService(definition)
    with _cache_lock:
        built = _cache.setdefault(definition.hash, built)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return built


# -- messages ---------------------------------------------------------------------------

_PRIORITY = {"required": 0, "type": 1, "format": 2}


def error_messages(definition: Definition, errors: Any) -> dict[str, str]:
    """Map jsonschema errors to ``{field path: message}``, one message per field.

    The definition's own messages come first, GOV.UK-style defaults after. ``required`` is
    reported by jsonschema on the parent object; here it lands on the missing field itself.
    """
    found: list[tuple[int, str, str, ValidationError]] = []
    for error in errors:
        for path, keyword in _locate(error):
            for where in _spread(definition, path, keyword):
                found.append((_PRIORITY.get(keyword, 3), where, keyword, error))
    out: dict[str, str] = {}
    for _, path, keyword, error in sorted(found, key=lambda f: f[0]):
        if path not in out:
            out[path] = message_for(definition, path, keyword, error.validator_value, error.instance)
    # Keep the order the citizen meets the fields in, for the error summary.
    order = definition.field_order
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def _locate(error: ValidationError) -> list[tuple[str, str]]:
    parent = [str(p) for p in error.absolute_path if isinstance(p, str)]
    keyword = str(error.validator)
    value: Any = error.validator_value
    schema: Any = error.schema
    if keyword == "required" and isinstance(error.instance, dict):
        return [(".".join([*parent, n]), "required") for n in value if n not in error.instance]
    if keyword == "dependentRequired" and isinstance(error.instance, dict):
        # Only the dependencies whose trigger was answered: jsonschema reports each one.
        missing = {
            n for trigger, names in value.items() if trigger in error.instance for n in names if n not in error.instance
        }
        return [(".".join([*parent, n]), "required") for n in sorted(missing)]
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        return [(".".join([*parent, n]), "additionalProperties") for n in error.instance if n not in allowed]
    if keyword in ("enum", "type") and any(isinstance(p, int) for p in error.absolute_path):
        keyword = "items"  # a checkbox value that is not an option
    return [(".".join(parent), keyword)]


def _spread(definition: Definition, path: str, keyword: str) -> list[str]:
    """A missing address is reported on each of its required lines, as GOV.UK pages do."""
    question = definition.questions.get(path)
    if keyword != "required" or question is None or not question.widget_type.parts:
        return [path]
    required = definition.property_schema(path).get("required", [])
    return [f"{path}.{part}" for part in required] or [path]


# GOV.UK-style defaults for the keywords whose wording does not depend on the widget.
DEFAULT_MESSAGES = {
    "pattern": "Enter {name} in the correct format",
    "maxLength": "{cap} must be {limit} characters or less",
    "minLength": "{cap} must be {limit} characters or more",
    "minimum": "{cap} must be {limit} or more",
    "maximum": "{cap} must be {limit} or less",
    "exclusiveMinimum": "{cap} must be more than {limit}",
    "exclusiveMaximum": "{cap} must be less than {limit}",
    "minItems": "Select at least {limit} options for {name}",
    "maxItems": "Select no more than {limit} options for {name}",
    "additionalProperties": "{cap} is not a question in this service",
}


def message_for(definition: Definition, path: str, keyword: str, limit: Any, instance: Any = None) -> str:
    """The message for one failed keyword on one field.

    The definition's own message first; then the widget's wording (``runtime.widgets``);
    then the generic GOV.UK-style default.
    """
    own = definition.messages.get(path, {})
    if keyword in own:
        return own[keyword]
    if keyword == "minItems" and limit == 1 and "required" in own:
        return own["required"]
    name = definition.error_name(path)
    cap = name[:1].upper() + name[1:]
    worded = definition.widget_of(path).message(keyword, limit, name, cap, instance)
    if worded is not None:
        return worded
    template = DEFAULT_MESSAGES.get(keyword)
    if template:
        return template.format(name=name, cap=cap, limit=limit)
    return f"Check {name}"

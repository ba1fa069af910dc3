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

from .definition import Definition, Page

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


class CompiledService:
    """A definition with its validators compiled: build once, use for every request."""

    def __init__(self, definition: Definition):
        self.definition = definition
        self.validator = _validator(definition.schema, format_checker=FORMATS)
        self._page_conditions = {
            page.id: _validator(page.show_if) for page in definition.pages if page.show_if is not None
        }
        self._routes = {
            page.id: [(_validator(rule["if"]), rule["goto"]) for rule in page.next] for page in definition.pages
        }
        self._index = {page.id: i for i, page in enumerate(definition.pages)}

    # -- conditions -----------------------------------------------------------------------

    def path(self, answers: dict[str, Any]) -> list[Page]:
        """The pages this citizen is asked, in order, given their answers so far.

        Conditions see only answers from pages already on the path, so an answer left over
        from a page that is now hidden can never steer the journey.
        """
        pages = self.definition.pages
        seen: dict[str, Any] = {}
        path: list[Page] = []
        i = 0
        while i < len(pages):
            page = pages[i]
            condition = self._page_conditions.get(page.id)
            if condition is not None and not condition.is_valid(seen):
                i += 1
                continue
            path.append(page)
            if page.stop:
                break
            seen.update({q: answers[q] for q in page.questions if q in answers})
            i += 1
            for rule, goto in self._routes[page.id]:
                if rule.is_valid(seen):
                    i = self._index[goto]
                    break
        return path

    def visible_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Answers with those on hidden pages removed: what is validated and stored."""
        return {q: answers[q] for page in self.path(answers) for q in page.questions if q in answers}

    # -- validation -----------------------------------------------------------------------

    def first_incomplete(self, answers: dict[str, Any]) -> Page | None:
        """The first page on the path that still has an error, or is a stop page.

        None means every page is answered and the citizen can check and send. One full
        validation serves every page, rather than one per page.
        """
        wrong = {path.split(".")[0] for path in self.validate(self.visible_answers(answers))}
        for page in self.path(answers):
            if page.stop or wrong.intersection(page.questions):
                return page
        return None

    def validate(self, answers: dict[str, Any]) -> dict[str, str]:
        """Validate a whole submission: ``{field path: message}``, empty when valid."""
        return error_messages(self.definition, self.validator.iter_errors(answers))

    def validate_page(self, page: Page, answers: dict[str, Any]) -> dict[str, str]:
        """Validate one page's answers in the context of the rest of the journey.

        Cross-field rules (``if``/``then``) see every visible answer; only the errors about
        this page's questions are reported.
        """
        errors = self.validate(self.visible_answers(answers) | {q: answers[q] for q in page.questions if q in answers})
        own = set(page.questions)
        return {path: msg for path, msg in errors.items() if path.split(".")[0] in own}


_cache: OrderedDict[tuple[str, int, str], CompiledService] = OrderedDict()
_cache_lock = Lock()
CACHE_SIZE = 256


def compiled(definition: Definition) -> CompiledService:
    """The compiled form of a definition, from a small LRU keyed by id, version and hash."""
    key = (definition.id, definition.version, definition.hash)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    built = CompiledService(definition)
    with _cache_lock:
        _cache[key] = built
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
            out[path] = message_for(definition, path, keyword, error.validator_value)
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
    if keyword != "required" or not question or question.get("widget") != "uk-address":
        return [path]
    required = definition.property_schema(path).get("required", [])
    return [f"{path}.{part}" for part in required] or [path]


def _long_date(value: str) -> str:
    bound = _bound(value)
    return f"{bound.day} {bound.strftime('%B')} {bound.year}"


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
    "dateBefore": "{cap} must be before {limit}",
    "dateAfter": "{cap} must be after {limit}",
    "additionalProperties": "{cap} is not a question in this service",
}


def message_for(definition: Definition, path: str, keyword: str, limit: Any) -> str:
    """The message for one failed keyword on one field."""
    own = definition.messages.get(path, {})
    if keyword in own:
        return own[keyword]
    if keyword == "minItems" and limit == 1 and "required" in own:
        return own["required"]
    name = definition.error_name(path)
    cap = name[:1].upper() + name[1:]
    question = path.split(".")[0]
    widget = definition.questions.get(question, {}).get("widget", "text") if "." not in path else "text"
    choose = widget in ("radios", "select", "checkboxes", "yes-no")
    if keyword == "required" or (keyword == "minItems" and limit == 1):
        return f"Select {name}" if choose else f"Enter {name}"
    if keyword in ("enum", "items", "const") or (keyword == "type" and choose):
        return f"Select {name}"
    if keyword == "type":
        if widget == "number":
            whole = "integer" in (limit if isinstance(limit, list) else [limit])
            return f"{cap} must be a {'whole number' if whole else 'number'}"
        return f"Enter {name}"
    if keyword == "format":
        if limit == "email":
            return f"Enter {name} in the correct format, like name@example.com"
        if limit == "date":
            return f"{cap} must be a real date"
        return f"Enter {name} in the correct format"
    if keyword in ("dateBefore", "dateAfter") and limit == "today":
        return f"{cap} must be in the {'past' if keyword == 'dateBefore' else 'future'}"
    if keyword in ("dateBefore", "dateAfter"):
        limit = _long_date(limit)
    template = DEFAULT_MESSAGES.get(keyword)
    if template:
        return template.format(name=name, cap=cap, limit=limit)
    return f"Check {name}"

"""The one validator entry point: compiled per definition version, errors as {field: message}.

A definition's JSON Schema, its page conditions and its routing rules are compiled once per
(service, version, content hash) and reused for every request; so is its workflow (guards
included), which the compiled service holds. What a schema may say and how it is compiled is
``runtime.dialect``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import deque
from datetime import date
from typing import Any

from jsonschema import ValidationError

from .date_rules import DateRule
from .definition import Definition
from .dialect import FORMATS, MAX_ERRORS, MAX_ITEMS, UnsafeDefinition, _validator, answer_bounds, compile_problems
from .lru import LRU
from .widgets.add_another import ADD_ANOTHER
from .widgets.date import Date
from .wording import number_range
from .workflow import Workflow

# The earliest date of birth taken (runtime.citizens.EARLIEST_BIRTH: the same year).
EARLIEST_BIRTH = date(1890, 1, 1)


class CompiledService:
    """A definition with its validators compiled: build once, use for every request.

    The journey through it (which pages a citizen is asked, given their answers) is
    ``runtime.journey.Journey``; this class only compiles and validates.
    """

    def __init__(self, definition: Definition):
        self.definition = definition
        schemas: list[tuple[list[Any], Any]] = [(["schema"], definition.schema)]
        for i, page in enumerate(definition.pages):
            if page.show_if is not None:
                schemas.append((["pages", i, "show_if"], page.show_if))
            schemas.extend((["pages", i, "next", k, "if"], rule["if"]) for k, rule in enumerate(page.next))
        for at, schema in schemas:
            unsafe = compile_problems(schema, answers=at == ["schema"])
            if unsafe:
                # Refused in milliseconds, instead of a worker pinned or a RecursionError per request.
                where, message = unsafe[0]
                raise UnsafeDefinition(f"{definition.id} version {definition.version}: {[*at, *where]}: {message}")
        self.validator = _validator(definition.schema, answers=True, format_checker=FORMATS)
        # The answers' top-level array answers are cut to these lengths before validating,
        # as the estimate above assumed.
        self.bounds = answer_bounds(definition.schema)
        self.page_conditions: dict[str, Any] = {
            page.id: _Bounded(_validator(page.show_if)) for page in definition.pages if page.show_if is not None
        }
        self.routes: dict[str, list[tuple[Any, str]]] = {
            page.id: [(_Bounded(_validator(rule["if"])), rule["goto"]) for rule in page.next]
            for page in definition.pages
        }
        self.index = {page.id: i for i, page in enumerate(definition.pages)}
        # Dates of birth (the service's identity date_of_birth, and any date question marked
        # autocomplete "bday"): refused in the future or before EARLIEST_BIRTH when the schema
        # sets no limit of its own on that side, so that an absurd one is refused where it is
        # typed (issue 16). A limit the definition sets is the author's and stands.
        self.birth_dates = sorted(
            path
            for path in {definition.identity.get("date_of_birth"), *definition.questions}
            if path
            and isinstance(definition.widget_of(path), Date)
            and (path == definition.identity.get("date_of_birth") or _autocomplete(definition, path) == "bday")
        )
        # Relative date rules ("at least 14 days from today"): runtime.date_rules.
        self.date_rules = {
            name: rule
            for name, question in definition.questions.items()
            if isinstance(definition.widget_of(name), Date) and (rule := DateRule.read(question.date_rule)) is not None
        }

    @property
    def workflow(self) -> Workflow:
        """The definition's approval steps, guards compiled: built once, with the rest of it."""
        return self.definition.workflow

    def validate(self, answers: dict[str, Any]) -> dict[str, str]:
        """Validate a whole submission: ``{field path: message}``, empty when valid.

        The result for the same definition and the same answers (``validation_key``) is kept in
        a small LRU: a citizen's next page view validates the answers their POST just did.
        """
        key = validation_key(self.definition.hash, answers)
        if key is None:
            return self._validate(answers)
        hit = _results.get(key)
        if hit is not None:
            return dict(hit)
        found = self._validate(answers)
        _results.replace(key, dict(found))
        return found

    def _validate(self, answers: dict[str, Any]) -> dict[str, str]:
        answers, too_long = _trimmed(answers, bounds=self.bounds)
        errors = itertools.chain(too_long, self.validator.iter_errors(answers))
        # Each error costs far more than a keyword that holds; MAX_ERRORS is more than any real
        # service makes (one a field, one an item of a checkbox answer), and stopping there stops
        # the evaluation: the answers are refused all the same, with the first problems shown.
        found = error_messages(self.definition, itertools.islice(errors, MAX_ERRORS))
        added = False
        for path in self.birth_dates:
            if path not in found:
                problem = _birth_date_problem(
                    self.definition, path, _answer_at(answers, path), self.definition.property_schema(path)
                )
                if problem:
                    found[path], added = problem, True
        for path, rule in self.date_rules.items():
            if path not in found:
                problem = _date_rule_problem(self.definition, path, answers.get(path), rule)
                if problem:
                    found[path], added = problem, True
        if added:
            found = dict(sorted(found.items(), key=lambda kv: self.definition.field_rank(kv[0])))
        return found


def _autocomplete(definition: Definition, path: str) -> str | None:
    question = definition.questions.get(path)
    return question.autocomplete if question is not None else None


def _answer_at(answers: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(answers, dict):
            return None
        answers = answers.get(part)
    return answers


def _future(limit: Any) -> bool:
    """A dateAfter of today or later: the author asks for a date in the future."""
    if limit == "today":
        return True
    try:
        return isinstance(limit, str) and date.fromisoformat(limit) >= date.today()
    except ValueError:
        return False


def _date_rule_problem(definition: Definition, path: str, value: Any, rule: DateRule) -> str | None:
    """Why an answered date breaks its question's relative rule, naming the date as a date."""
    if not isinstance(value, str):
        return None
    try:
        given = date.fromisoformat(value)
    except ValueError:
        return None  # "format" says it is not a real date
    broken = rule.problem(given, date.today())
    return None if broken is None else message_for(definition, path, *broken)


def _birth_date_problem(definition: Definition, path: str, value: Any, schema: dict[str, Any]) -> str | None:
    """Why an answered date of birth cannot be one: in the future (unless ``schema``, the
    question's, sets a dateBefore, or asks for a future date), or before EARLIEST_BIRTH (unless
    it sets a dateAfter)."""
    if not isinstance(value, str):
        return None
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return None  # "format" says it is not a real date
    if born > date.today() and "dateBefore" not in schema and not _future(schema.get("dateAfter")):
        return message_for(definition, path, "dateBefore", "today")
    if born < EARLIEST_BIRTH and "dateAfter" not in schema:
        name = definition.error_name(path)
        return f"{name[:1].upper() + name[1:]} must be in {EARLIEST_BIRTH.year} or later"
    return None


def _trimmed(
    value: Any, path: tuple[Any, ...] = (), bounds: dict[str, int] | None = None
) -> tuple[Any, list[ValidationError]]:
    """``value`` with each array cut to MAX_ITEMS items, and a "maxItems" error for each one cut.

    The validation cost the checker bounds assumes no array answer is longer (a checkbox
    question has at most MAX_ITEMS options, each chosen once); a POST of 16,000 values would
    otherwise run the item schema 16 times over that bound. Unchanged values are not copied.

    ``bounds`` (``answer_bounds``, for the whole answers document only): the top-level answers
    named there are cut shorter, without an error of their own: an answer that long is invalid
    and stays invalid cut, and the validator says why (a duplicate, not an option, too many).
    """
    if bounds and isinstance(value, dict):
        cut = {
            key: value[key][: bounds[key]]
            for key in bounds
            if key in value and isinstance(value[key], list) and len(value[key]) > bounds[key]
        }
        value = {**value, **cut} if cut else value
    if isinstance(value, list):
        errors = []
        if len(value) > MAX_ITEMS:
            value = value[:MAX_ITEMS]
            errors.append(
                ValidationError(
                    f"has more than {MAX_ITEMS} items",
                    validator="maxItems",
                    validator_value=MAX_ITEMS,
                    instance=value,
                    path=deque(path),
                )
            )
        trimmed = [_trimmed(item, (*path, i)) for i, item in enumerate(value)]
        errors.extend(e for _, found in trimmed for e in found)
        if any(new is not old for (new, _), old in zip(trimmed, value, strict=True)):
            value = [new for new, _ in trimmed]
        return value, errors
    if isinstance(value, dict):
        errors = []
        changed = {}
        for key, item in value.items():
            new, found = _trimmed(item, (*path, key))
            errors.extend(found)
            if new is not item:
                changed[key] = new
        return ({**value, **changed} if changed else value), errors
    return value, []


class _Bounded:
    """A condition's validator that sees each array answer cut to MAX_ITEMS items (see _trimmed)."""

    def __init__(self, validator: Any):
        self.validator = validator

    def is_valid(self, instance: Any) -> bool:
        return bool(self.validator.is_valid(_trimmed(instance)[0]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.validator, name)  # the schema, evolve, ...: the validator's own


# Validation results, keyed by (content hash, today's date, a SHA-256 of the answers exactly as
# JSON): a result is a pure function of the definition, the answers and the day ("today" in
# dateBefore/dateAfter), so a hit is what validating again would give. Bounded; results are
# copied in and out, so no caller can change what another is given.
RESULTS_SIZE = 1024
_results: LRU[tuple[str, str, bytes], dict[str, str]] = LRU(RESULTS_SIZE)
_JSON_SCALARS = (str, int, bool, type(None))


def _plain_json(value: Any, depth: int = 0) -> bool:
    """Only dict (string keys), list, str, int, finite float, bool and None, of exactly those
    types: json.dumps writes a tuple as it writes a list, which jsonschema does not take for an
    array, and a subclass may validate as something else."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return True
    if kind is float:
        return math.isfinite(value)
    if depth > 8:
        return False
    if kind is list:
        return all(_plain_json(item, depth + 1) for item in value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v, depth + 1) for k, v in value.items())
    return False


def validation_key(content_hash: str, answers: Any) -> tuple[str, str, bytes] | None:
    """The cache key of a validation, or None when ``answers`` is not plain JSON.

    The JSON keeps the answers' key order, and tells 1 from 1.0, true and "1" apart."""
    if not _plain_json(answers):
        return None
    text = json.dumps(answers, ensure_ascii=True, allow_nan=False)
    return content_hash, date.today().isoformat(), hashlib.sha256(text.encode()).digest()


def forget_results() -> None:
    _results.clear()


# The one cache of compiled definitions in the process, keyed by content hash (the hash covers
# the id and version, which are in the document). runtime.versions maps published versions to
# their hashes and keeps no definitions of its own.
CACHE_SIZE = 256
_cache: LRU[str, CompiledService] = LRU(CACHE_SIZE)


def cached(content_hash: str) -> CompiledService | None:
    """The compiled definition with this content hash, if the cache holds it."""
    return _cache.get(content_hash)


def compiled(definition: Definition) -> CompiledService:
    """The compiled form of a definition, from a small LRU keyed by its content hash."""
    hit = cached(definition.hash)
    if hit is not None:
        return hit
    return _cache.put(definition.hash, CompiledService(definition))


# -- messages ---------------------------------------------------------------------------

_PRIORITY = {"required": 0, "type": 1, "format": 2}


def error_messages(definition: Definition, errors: Any) -> dict[str, str]:
    """Map jsonschema errors to ``{field path: message}``, one message per field.

    The definition's own messages come first, GOV.UK-style defaults after. ``required`` is
    reported by jsonschema on the parent object; here it lands on the missing field itself.
    """
    found: list[tuple[int, str, str, ValidationError]] = []
    for error in errors:
        for path, keyword in _locate(error, definition):
            for where in _spread(definition, path, keyword):
                found.append((_PRIORITY.get(keyword, 3), where, keyword, error))
    out: dict[str, str] = {}
    for _, path, keyword, error in sorted(found, key=lambda f: f[0]):
        if path not in out:
            out[path] = message_for(definition, path, keyword, error.validator_value, error.instance)
    # Keep the order the citizen meets the fields in, for the error summary.
    return dict(sorted(out.items(), key=lambda kv: definition.field_rank(kv[0])))


def _locate(error: ValidationError, definition: Definition) -> list[tuple[str, str]]:
    where = list(error.absolute_path)
    # An add-another answer's items keep their index: "household.1.full_name" is a field of the
    # second item (runtime.definition.Definition.item_field).
    items = bool(where) and where[0] in definition.questions and definition.widget(str(where[0])) == "add-another"
    parent = [str(p) for p in where if items or isinstance(p, str)]
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
    if items:
        if len(parent) <= 2:  # the list itself (too few, too many), or an item not an object
            return [(parent[0], keyword if len(parent) == 1 else "type")]
        if len(parent) > 3 and _compound_item(definition, parent):
            return [(".".join(parent[:4]), keyword)]  # a line of an item's address
        # Deeper than an item question: one of its checkbox values is not an option.
        return [(".".join(parent[:3]), "items" if len(parent) > 3 else keyword)]
    if keyword in ("enum", "type") and any(isinstance(p, int) for p in error.absolute_path):
        keyword = "items"  # a checkbox value that is not an option
    return [(".".join(parent), keyword)]


def _compound_item(definition: Definition, parent: list[str]) -> bool:
    """An item field with parts of its own (a uk-address): its parts are fields too."""
    return bool(definition.widget_of(".".join(parent[:3])).parts)


def _spread(definition: Definition, path: str, keyword: str) -> list[str]:
    """A missing address is reported on each of its required lines, as GOV.UK pages do."""
    item = definition.item_field(path)
    if item is not None:
        name, index, rest = item
        return [f"{name}.{index}.{p}" for p in _spread(definition.item_definition(name), rest, keyword)]
    question = definition.questions.get(path)
    if keyword != "required" or question is None or not definition.widget_of(question.name).parts:
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
    item = definition.item_field(path)
    if item is not None:  # an item's field: worded as its own page words it
        return message_for(definition.item_definition(item[0]), item[2], keyword, limit, instance)
    if path in definition.questions and definition.widget(path) == "add-another":
        counted = ADD_ANOTHER.count_message(definition.question(path), keyword, limit)
        if counted is not None and keyword not in definition.messages.get(path, {}):
            return counted
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
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        span = number_range(definition.property_schema(path))  # "from 1 to 500": both ends, and whether allowed
        if span is not None:
            return f"{cap} must be {span}"
    template = DEFAULT_MESSAGES.get(keyword)
    if template:
        return template.format(name=name, cap=cap, limit=limit)
    return f"Check {name}"

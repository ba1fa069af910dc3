"""The schema dialect of a definition: which JSON Schema a service may use, and its compiler.

Patterns run with RE2, ``enum`` is a set lookup, error messages never quote a whole answer, the
formats are the ones Civic Forms checks, and a schema whose validation could pin a worker is
refused before it is compiled. Nothing here reads a ``Definition``: the checker, the compiled
service (``runtime.validation``) and the workflow's guards all compile through :func:`_validator`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema._utils import (
    equal,
    find_evaluated_item_indexes_by_schema,
    find_evaluated_property_keys_by_schema,
)
from referencing import Registry
from referencing.exceptions import NoSuchResource

from .lru import LRU
from .problems import Problem, json_path
from .widgets import is_nhs_number, is_ni_number, is_postcode, is_time_of_day, is_uk_phone, is_upload

# -- patterns: RE2, never Python's re ------------------------------------------------------------
# A definition's "pattern" runs on every citizen's answer, whatever its length ("maxLength"
# does not stop it: every keyword is evaluated). Python's re backtracks, and patterns such as
# "^(a|aa)+$" or "^\d*\d*\d*x$" take hours on a few thousand characters. RE2 takes time linear
# in the answer for any pattern, and refuses the features that need backtracking
# (backreferences, lookaround), which ``civicforms validate`` reports.
#
# JSON Schema patterns are ECMA-262 regular expressions. With RE2 they behave as ECMA-262 does
# in what matters here: "\d" and "\w" are ASCII only (Python's re matched any Unicode digit),
# and "$" matches only at the very end (Python's re also before a final newline). "\uXXXX" is
# rewritten to RE2's "\x{XXXX}". Known differences that remain: RE2's "\s" is ASCII whitespace
# (ECMA-262's includes non-breaking and other Unicode spaces, which answers rarely keep: one-line
# answers have their whitespace squashed) and "." does not stop at "\r", U+2028 or U+2029.

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # reasons are reported by the checker, not printed by RE2
_RE2_OPTIONS.never_capture = True  # only "does it match" is ever asked

_ECMA_UNICODE_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|(.))", re.DOTALL)

# RE2's words for what it refuses, and the plain reason shown to designers.
_UNSUPPORTED = (
    ("(?=", "lookahead"),
    ("(?!", "lookahead"),
    ("(?<=", "lookbehind"),
    ("(?<!", "lookbehind"),
    ("(?>", "atomic groups"),
    ("invalid repetition size", "a repetition count above 1000 (use maxLength or minLength for lengths)"),
    ("bad repetition operator: ++", "possessive repetition"),
    ("bad repetition operator: *+", "possessive repetition"),
    ("bad repetition operator: ?+", "possessive repetition"),
    ("pattern too large", "a pattern this large"),
)


class PatternError(ValueError):
    """A pattern RE2 cannot run; ``args[0]`` says why in words for designers."""


def ecma_to_re2(pattern: str) -> str:
    """An ECMA-262 pattern in RE2's syntax: only "\\uXXXX" escapes differ in spelling."""

    def swap(match: re.Match[str]) -> str:
        return f"\\x{{{match.group(1)}}}" if match.group(1) else match.group(0)

    return _ECMA_UNICODE_ESCAPE.sub(swap, pattern)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 form of a definition's pattern, cached (patterns repeat across versions).

    Raises :class:`PatternError` with the reason when RE2 cannot run it.
    """
    try:
        return re2.compile(ecma_to_re2(pattern), _RE2_OPTIONS)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        for needle, reason in _UNSUPPORTED:
            if needle in detail:
                raise PatternError(f"not supported: {reason}") from None
        if re.match(r"invalid escape sequence: \\[1-9k]", detail):
            raise PatternError("not supported: backreferences") from None
        raise PatternError(f"not a pattern Civic Forms can check ({detail[:120]})") from None


def pattern_problem(pattern: Any) -> str | None:
    """Why a ``pattern`` value cannot be used; None when RE2 runs it."""
    if not isinstance(pattern, str):
        return "must be a string"
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def pattern_search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text`` (JSON Schema's "pattern"), in linear time.

    A pattern RE2 cannot run (only in a definition that skipped the checker) matches nothing:
    the answer is refused rather than checked with a backtracking engine.
    """
    try:
        compiled = compile_pattern(pattern)
    except PatternError:
        return False
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8: compare it as the replacement character.
        return compiled.search(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")) is not None


def _pattern(validator: Any, patrn: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and isinstance(patrn, str) and not pattern_search(patrn, instance):
        # The answer is not quoted: it may be 60 KB long, and messages come from the definition.
        yield ValidationError(f"does not match {patrn!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    if not validator.is_type(instance, "object") or not isinstance(patterns, dict):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if pattern_search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """jsonschema's own, with "patternProperties" matched by RE2."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [key for key in instance if key not in properties and not any(pattern_search(p, key) for p in patterns)]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        shown = ", ".join(repr(e) for e in sorted(extras)[:20])
        verb = "was" if len(extras) == 1 else "were"
        yield ValidationError(f"Additional properties are not allowed ({shown} {verb} unexpected)")


# -- enum: a set lookup, not a scan -------------------------------------------------------------
# jsonschema compares an answer with each enum value in turn, so 15,000 ticked checkboxes
# against 15,000 options made 100 million comparisons. Enums of plain values are looked up in a
# set built once per enum list of a compiled schema.

_enum_sets: LRU[int, tuple[list[Any], frozenset[Any] | None]] = LRU(4096)


def _enum_key(value: Any) -> Any:
    # JSON equality: true is not 1 (Python's == says it is), 1 is 1.0.
    return ("bool", value) if isinstance(value, bool) else value


def _enum_set(enums: list[Any]) -> frozenset[Any] | None:
    hit = _enum_sets.get(id(enums))
    if hit is not None and hit[0] is enums:
        return hit[1]
    scalar = all(v is None or isinstance(v, str | int | float | bool) for v in enums)
    built = frozenset(_enum_key(v) for v in enums) if scalar else None
    _enum_sets.replace(id(enums), (enums, built))  # holding the list keeps its id from being reused
    return built


def _enum(validator: Any, enums: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    found = None
    if isinstance(enums, list) and (instance is None or isinstance(instance, str | int | float | bool)):
        values = _enum_set(enums)
        if values is not None:
            found = _enum_key(instance) in values
    if found is None:
        found = any(equal(each, instance) for each in enums)
    if not found:
        yield ValidationError(f"{_short(instance)} is not one of the options")


def _short(value: Any) -> str:
    """A short repr, in time bounded by the length shown: never the whole of a 60 KB answer."""
    if isinstance(value, dict):
        return f"{{...}} ({len(value)} properties)"
    if isinstance(value, list):
        return f"[...] ({len(value)} items)"
    if isinstance(value, str) and len(value) > 60:
        value = value[:60]
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- dateBefore and dateAfter -------------------------------------------------------------------

DATE_BOUND = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_bound_problem(value: Any) -> str | None:
    """Why a dateBefore/dateAfter value is not "today" or a real date written YYYY-MM-DD."""
    if value == "today":
        return None
    if isinstance(value, str) and DATE_BOUND.fullmatch(value):
        try:
            date.fromisoformat(value)
            return None
        except ValueError:
            pass
    shown = _short(value)
    return f'must be "today" or a date written YYYY-MM-DD, like "2024-04-01", not {shown}'


def _bound(value: Any) -> date | None:
    if date_bound_problem(value) is not None:
        return None
    return date.today() if value == "today" else date.fromisoformat(value)


def _date_keyword(before: bool) -> Any:
    def check(validator: Any, limit: Any, instance: Any, schema: dict[str, Any]) -> Any:
        if not isinstance(instance, str):
            return
        try:
            value = date.fromisoformat(instance)
        except ValueError:
            return  # "format" reports dates that are not real
        bound = _bound(limit)
        if bound is None:
            # Only in a definition that skipped the checker: a rule that cannot be read is not
            # applied, rather than failing every citizen's date with a server error.
            return
        if (before and value >= bound) or (not before and value <= bound):
            word = "before" if before else "after"
            yield ValidationError(f"{instance} is not {word} {limit}")

    return check


# -- error messages that never quote a whole answer --------------------------------------------
# jsonschema writes the instance into each error's message ("{instance!r} is not of type ..."),
# and error_messages() consumes every error: 19,000 failing "type" keywords on a 60 KB answers
# document made 1.2 GB of messages and took 7 s. Citizens never see these messages (they come
# from runtime.widgets and the definition), so these keywords, otherwise jsonschema's own, quote
# a bounded repr. "unevaluatedProperties" and "unevaluatedItems" also look keys and indexes up
# in a set (jsonschema scans a list: quadratic in the items of a long array).


def _type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if isinstance(types, str):  # the usual case, without a generator per check
        types = [types]
        holds = validator.is_type(instance, types[0])
    else:
        holds = any(validator.is_type(instance, kind) for kind in types)
    if not holds:
        yield ValidationError(f"{_short(instance)} is not of type {', '.join(repr(k) for k in types)}")


def _const(validator: Any, const: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not equal(instance, const):
        yield ValidationError(f"{_short(const)} was expected")


def _sized(kind: str, more: bool, word: str) -> Any:
    def check(validator: Any, limit: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
        if validator.is_type(instance, kind) and (len(instance) > limit if more else len(instance) < limit):
            yield ValidationError(f"{_short(instance)} {word} {limit}")

    return check


def _json_key(value: Any) -> Any:
    """A hashable key equal for values JSON Schema calls equal: 1 is 1.0, true is not 1, key order
    does not count. jsonschema compares unsortable items (objects, mixed types) pair by pair:
    1,000 objects took 0.9 s; with these keys a set does it in one pass."""
    if value is None or isinstance(value, bool):
        return ("literal", value)
    if isinstance(value, float) and value.is_integer():
        return ("number", int(value))
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_json_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _json_key(item)) for key, item in value.items()))
    return ("other", id(value))  # not JSON: equal only to itself


def _all_unique(items: list[Any]) -> bool:
    seen: set[Any] = set()
    for item in items:
        key = _json_key(item)
        if key in seen:
            return False
        seen.add(key)
    return True


def _unique_items(validator: Any, unique: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if unique and validator.is_type(instance, "array") and not _all_unique(instance):
        yield ValidationError(f"{_short(instance)} has non-unique elements")


def _contains(validator: Any, contains: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "array"):
        return
    matches = 0
    least = schema.get("minContains", 1)
    most = schema.get("maxContains", len(instance))
    each_validator = validator.evolve(schema=contains)
    for each in instance:
        if each_validator.is_valid(each):
            matches += 1
            if matches > most:
                yield ValidationError(
                    f"Too many items match the given schema (expected at most {most})",
                    validator="maxContains",
                    validator_value=most,
                )
                return
    if matches < least:
        if not matches:
            yield ValidationError(f"{_short(instance)} does not contain items matching the given schema")
        else:
            yield ValidationError(
                f"Too few items match the given schema (expected at least {least} but only {matches} matched)",
                validator="minContains",
                validator_value=least,
            )


def _not(validator: Any, not_schema: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.evolve(schema=not_schema).is_valid(instance):
        yield ValidationError(f"{_short(instance)} should not be valid under {_short(not_schema)}")


def _first_error(validator: Any, instance: Any, subschema: Any, index: int) -> ValidationError | None:
    # A branch stops at its first error (jsonschema lists them all, for "context" only, which
    # nothing here reads): a failing branch costs what finding one problem costs.
    return next(iter(validator.descend(instance, subschema, schema_path=index)), None)


def _any_of(validator: Any, any_of: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    all_errors = []
    for index, subschema in enumerate(any_of):
        error = _first_error(validator, instance, subschema, index)
        if error is None:
            return
        all_errors.append(error)
    yield ValidationError(f"{_short(instance)} is not valid under any of the given schemas", context=all_errors)


def _one_of(validator: Any, one_of: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    rest = iter(enumerate(one_of))
    all_errors = []
    for index, subschema in rest:
        error = _first_error(validator, instance, subschema, index)
        if error is None:
            break
        all_errors.append(error)
    else:
        yield ValidationError(f"{_short(instance)} is not valid under any of the given schemas", context=all_errors)
    if any(validator.evolve(schema=each).is_valid(instance) for _, each in rest):
        yield ValidationError(f"{_short(instance)} is valid under more than one of the given schemas")


def _format(validator: Any, fmt: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.format_checker is not None and not validator.format_checker.conforms(instance, fmt):
        yield ValidationError(f"{_short(instance)} is not a {fmt!r}")


def _items(validator: Any, items: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "array"):
        return
    prefix = len(schema.get("prefixItems", []))
    if len(instance) <= prefix:
        return
    if items is False:
        yield ValidationError(f"Expected at most {prefix} items but found {len(instance) - prefix} extra")
        return
    for index in range(prefix, len(instance)):
        yield from validator.descend(instance=instance[index], schema=items, path=index)


def _unevaluated_items(validator: Any, rest: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "array"):
        return
    evaluated = set(find_evaluated_item_indexes_by_schema(validator, instance, schema))
    unevaluated = [item for index, item in enumerate(instance) if index not in evaluated]
    if unevaluated:
        yield ValidationError(f"Unevaluated items are not allowed ({_short(unevaluated)} unexpected)")


def _unevaluated_properties(
    validator: Any, rest: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    evaluated = set(find_evaluated_property_keys_by_schema(validator, instance, schema))
    invalid = [
        key
        for key in instance
        if key not in evaluated
        and next(iter(validator.descend(instance[key], rest, path=key, schema_path=key)), None) is not None
    ]
    if invalid:
        shown = _short(sorted(invalid, key=str))
        if rest is False:
            yield ValidationError(f"Unevaluated properties are not allowed ({shown} unexpected)")
        else:
            yield ValidationError(f"Unevaluated properties are not valid under the given schema ({shown})")


# Draft 2020-12 with patterns run by RE2, enums looked up in sets, and two date keywords that
# standard validators ignore as annotations.
CivicValidator = validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "enum": _enum,
        "dateBefore": _date_keyword(True),
        "dateAfter": _date_keyword(False),
        "type": _type,
        "const": _const,
        "minItems": _sized("array", False, "has fewer items than"),
        "maxItems": _sized("array", True, "has more items than"),
        "minLength": _sized("string", False, "is shorter than"),
        "maxLength": _sized("string", True, "is longer than"),
        "minProperties": _sized("object", False, "has fewer properties than"),
        "maxProperties": _sized("object", True, "has more properties than"),
        "uniqueItems": _unique_items,
        "contains": _contains,
        "not": _not,
        "anyOf": _any_of,
        "oneOf": _one_of,
        "format": _format,
        "items": _items,
        "unevaluatedItems": _unevaluated_items,
        "unevaluatedProperties": _unevaluated_properties,
    },
)

# The definition meta-schema's checker (runtime.checker): jsonschema's own wording, patterns by RE2.
MetaValidator = validators.extend(Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties})

# The formats answers are checked against. Any other format (iri, regex, idn-hostname, ...) is
# refused by the checker; one that slipped through is an annotation, never run: some of
# jsonschema's checkers are slow or need optional packages on long input.
ALLOWED_FORMATS = ("date", "email", "uk-postcode", "nhs-number", "ni-number", "time-of-day", "uk-phone", "upload")
FORMATS = FormatChecker(formats=["date"])

_EMAIL = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"

# The meta-schema's own format checks when a definition's schema is checked, but "regex" (which
# compiles with Python's re): patterns are checked with RE2 by the checker, with the reason.
_META_FORMATS = FormatChecker(formats=[f for f in Draft202012Validator.FORMAT_CHECKER.checkers if f != "regex"])


def check_schema(schema: Any) -> None:
    """Raise jsonschema's SchemaError when ``schema`` is not valid draft 2020-12 (patterns aside)."""
    Draft202012Validator.check_schema(schema, format_checker=_META_FORMATS)


def _refuse(uri: str) -> Any:
    """Never fetch a schema from anywhere: a definition is one self-contained file."""
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


# An empty registry that retrieves nothing: a remote $ref fails instead of making the server
# fetch a URL chosen by whoever wrote the definition (the checker refuses them first).
OFFLINE: Registry[Any] = Registry(retrieve=_refuse)  # type: ignore[call-arg]


def _validator(schema: Any, answers: bool = False, **kwargs: Any) -> Any:
    """The one way a schema is compiled; one whose validation could pin a worker is refused
    (UnsafeDefinition): a workflow guard stored before the checker's rules, for example.

    ``answers``: only for CompiledService, which cuts each answer as ``answer_bounds`` says
    before this validator sees it."""
    unsafe = compile_problems(schema, answers)
    if unsafe:
        where, message = unsafe[0]
        raise UnsafeDefinition(f"{where}: {message}")
    return CivicValidator(schema, registry=OFFLINE, **kwargs)


@FORMATS.checks("email")
def _is_email(instance: object) -> bool:
    # jsonschema's own check only looks for an "@"; citizens deserve a typo caught early.
    return not isinstance(instance, str) or pattern_search(_EMAIL, instance)


@FORMATS.checks("uk-postcode")
def _is_postcode(instance: object) -> bool:
    return not isinstance(instance, str) or is_postcode(instance)


@FORMATS.checks("nhs-number")
def _is_nhs_number(instance: object) -> bool:
    return not isinstance(instance, str) or is_nhs_number(instance)


@FORMATS.checks("ni-number")
def _is_ni_number(instance: object) -> bool:
    return not isinstance(instance, str) or is_ni_number(instance)


@FORMATS.checks("upload")
def _is_upload(instance: object) -> bool:
    # One uploaded file as the upload use case stores it (runtime.widgets.file).
    return not isinstance(instance, dict) or is_upload(instance)


@FORMATS.checks("time-of-day")
def _is_time_of_day(instance: object) -> bool:
    return not isinstance(instance, str) or is_time_of_day(instance)


@FORMATS.checks("uk-phone")
def _is_uk_phone(instance: object) -> bool:
    return not isinstance(instance, str) or is_uk_phone(instance)


# -- the size of a schema once its references are followed ---------------------------------------
# A "$ref" is followed each time it is met, so "$defs" that each refer twice to the next make a
# schema of a few lines that is evaluated a billion times, and one that refers to itself never
# ends (RecursionError). The checker refuses both; CompiledService refuses to compile them.

MAX_REF_DEPTH = 16  # references followed inside references
# Schema objects evaluated, references followed; the shipped services use under 300. One that fails
# costs about 20 microseconds (an error is made, even inside an anyOf): 10,000 is about 0.2 s.
MAX_EXPANDED_SIZE = 10_000

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SUBSCHEMA = (
    "items",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


def _children(node: dict[str, Any], where: list[Any], defs: bool = True) -> Iterator[tuple[Any, list[Any]]]:
    for key in _SUBSCHEMA_MAPS:
        value = node.get(key)
        if isinstance(value, dict) and (defs or key != "$defs"):
            for name, sub in value.items():
                yield sub, [*where, key, name]
    for key in _SUBSCHEMA:
        if key in node:
            yield node[key], [*where, key]
    for key in _SUBSCHEMA_LISTS:
        value = node.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield sub, [*where, key, i]


def subschemas(node: Any, where: list[Any]) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    """Every schema object in ``node`` (itself included) with its path: keywords, never data."""
    if not isinstance(node, dict):
        return
    yield node, where
    for sub, at in _children(node, where):
        yield from subschemas(sub, at)


def _pointer(root: Any, ref: str) -> Any:
    target = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            return None
        target = target[part]
    return target


def expansion_problems(root: dict[str, Any], answers: bool = False) -> list[tuple[list[Any], str]]:
    """Circular references, references nested too deep, schemas too large once expanded, and
    schemas whose worst-case validation costs too much (cost_problems).

    ``answers``: ``root`` is a definition's schema, validated only by CompiledService against
    the whole answers document cut by ``answer_bounds`` (conditions and guards are not).
    ``(path parts under the schema, message)``; empty when the schema is safe to evaluate.
    """
    sizes: dict[str, int] = {}
    following: list[str] = []
    problems: list[tuple[list[Any], str]] = []

    def size(node: Any, where: list[Any]) -> int:
        # Definitions count where they are used ($ref), not where they are written.
        if problems or not isinstance(node, dict):
            return 0
        total = 1
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            total += follow(ref, [*where, "$ref"])
        for sub, at in _children(node, where, defs=False):
            total += size(sub, at)
            if total > MAX_EXPANDED_SIZE * 2:
                break  # far enough over to say so; no need to count the rest
        return total

    def follow(ref: str, at: list[Any]) -> int:
        if ref in following:
            chain = " -> ".join([*following[following.index(ref) :], ref])
            problems.append((at, f"circular reference ({chain}): a schema cannot refer to itself"))
            return 0
        if ref in sizes:
            return sizes[ref]
        if len(following) >= MAX_REF_DEPTH:
            problems.append((at, f"references nested more than {MAX_REF_DEPTH} deep"))
            return 0
        target = _pointer(root, ref)
        if target is None:
            return 0  # reported by the checker as a reference that does not resolve
        following.append(ref)
        try:
            # Problems inside the target are reported where they are written.
            sizes[ref] = size(target, [p.replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/") if p])
        finally:
            following.pop()
        if sizes[ref] > MAX_EXPANDED_SIZE and not problems:
            problems.append((at, _too_large(sizes[ref])))
        return sizes[ref]

    try:
        total = size(root, [])
    except RecursionError:
        return [([], f"references nested more than {MAX_REF_DEPTH} deep")]
    if total > MAX_EXPANDED_SIZE and not problems:
        problems.append(([], _too_large(total)))
    return problems or cost_problems(root, answers)


def _too_large(total: int) -> str:
    shown = f"{total:,}" if total < 10**12 else "more than a trillion"
    return (
        f"the schema is {shown} schema objects once its references are followed (allOf/anyOf/oneOf through "
        f"$defs multiply); the limit is {MAX_EXPANDED_SIZE:,}: refer to each definition fewer times"
    )


# -- what one validation can cost ----------------------------------------------------------------
# Most keywords are evaluated once per schema object reached, so a validation costs about the
# schema's size once references are followed (above), times the items of an array answer under
# "items", "contains" and "unevaluatedItems". Two keywords are not linear: to find what was
# already evaluated, "unevaluatedProperties" and "unevaluatedItems" (jsonschema._utils,
# find_evaluated_property_keys_by_schema and find_evaluated_item_indexes_by_schema) validate the
# answers again against every allOf/anyOf/oneOf branch and the "if", and search again through
# each of those, then/else, $ref and dependentSchemas beneath them; nested inside one another
# they double the work per level (twenty levels of 7 KB pinned a worker for hours). So the
# checker estimates the worst-case evaluations of one validation over the schema as a graph
# ($ref targets counted once, used many times) and refuses a schema above the limit, and the
# runtime refuses to compile one (a definition stored before this rule).

MAX_ITEMS = 1000  # items of one array answer: the most options a question may have (checker.MAX_OPTIONS)
MAX_EVALUATION_COST = 50_000  # the estimated cost of one validation (_Cost): about 0.15 s
PATTERN_PROPERTIES = '"patternProperties" is not supported: name each answer in "properties"'
MAX_ERRORS = 5_000  # errors read from one validation (CompiledService._validate)
_PER_ITEM = ("items", "contains", "unevaluatedItems")
# Where jsonschema makes errors only to throw them away: the branches of anyOf and oneOf, "not",
# "if", "contains", and the searches of unevaluated*. An error costs about five times a keyword
# that holds (a ValidationError and its path), and these errors are not capped by MAX_ERRORS.
_QUIET = ("anyOf", "oneOf", "not", "if", "contains", "unevaluatedProperties", "unevaluatedItems")
QUIET_WEIGHT = 5
_CAP = 10**15


def _limit(value: Any) -> int | None:
    """A whole number of at least 0 (JSON Schema's 3.0 is 3), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if value >= 0 else None


def _options(items: Any, root: Any) -> int | None:
    """How many values ``items`` allows at most: an "enum" of k values or a "const", in the
    schema itself or behind one "$ref" (both must hold); None when it does not say."""
    found = []
    for node in (items, _pointer(root, items["$ref"]) if isinstance(items, dict) and _is_local(items) else None):
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("enum"), list):
            found.append(len(node["enum"]))
        if "const" in node:
            found.append(1)
    return min(found) if found else None


def _is_local(node: dict[str, Any]) -> bool:
    ref = node.get("$ref")
    return isinstance(ref, str) and ref.startswith("#")


def answer_bounds(schema: Any) -> dict[str, int]:
    """The most items of each top-level array answer that validation needs to see, when under
    MAX_ITEMS: {name: bound}. The one source of these lengths, for CompiledService's cut
    (_trimmed) and for the estimate of its cost (_Cost) that the checker and the runtime refuse by.

    Read from ``schema["properties"][name]`` itself (not through a "$ref"): an array longer than
    its "maxItems" is invalid, and so, by pigeonhole, is one longer than k under "uniqueItems"
    with "items" of k allowed values (a checkbox question); cut to maxItems + 1 or k + 1 items it
    stays invalid, so the cut changes no answer's validity.
    """
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    bounds = {}
    for name, node in properties.items():
        if not isinstance(node, dict):
            continue
        bound = MAX_ITEMS
        most = _limit(node.get("maxItems"))
        if most is not None:
            bound = min(bound, most + 1)
        options = None if "prefixItems" in node else _options(node.get("items"), schema)
        if node.get("uniqueItems") is True and options is not None:
            bound = min(bound, options + 1)
        if bound < MAX_ITEMS:
            bounds[name] = bound
    return bounds


class _Cost:
    """Worst-case schema objects evaluated, memoised per schema object (a $ref target is one)."""

    def __init__(self, root: Any, answers: bool = False):
        self.root = root
        # answers: the root validates the whole answers document, cut as answer_bounds says
        # (CompiledService._validate). Only the top-level property schema objects reached as
        # root["properties"][name] count their per-item schemas fewer times; the same object
        # reached any other way ($ref, a shared object) counts MAX_ITEMS (its own memo).
        self.bounds: dict[int, int] = {}
        if answers and isinstance(root, dict) and isinstance(root.get("properties"), dict):
            self.bounds = {id(root["properties"][name]): n for name, n in answer_bounds(root).items()}
        self.memo: dict[tuple[Any, int], int] = {}
        self.active: set[tuple[Any, int]] = set()

    def _target(self, node: dict[str, Any]) -> Any:
        ref = node.get("$ref")
        return _pointer(self.root, ref) if isinstance(ref, str) and ref.startswith("#") else None

    def _memo(self, kind: Any, node: Any, compute: Any) -> int:
        if not isinstance(node, dict):
            return 1
        key = (kind, id(node))
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            return 0  # a circular reference: refused by expansion_problems
        self.active.add(key)
        try:
            total = min(compute(node), _CAP)
        finally:
            self.active.discard(key)
        self.memo[key] = total
        return total

    def total(self) -> int:
        """One validation against the root."""
        return self._memo("top", self.root, lambda n: self._value(n, False, MAX_ITEMS, top=True))

    def value(self, node: Any, quiet: bool = False, per_item: int = MAX_ITEMS) -> int:
        """Evaluating ``node`` (jsonschema's descend); ``quiet``: where its errors are discarded;
        ``per_item``: the most items of an array its per-item schemas are evaluated for."""
        kind = ("quiet" if quiet else "value", per_item)
        return self._memo(kind, node, lambda n: self._value(n, quiet, per_item))

    def _per_item(self, sub: Any, at: list[Any], top: bool) -> int:
        """The per_item of ``sub``, a child of the node at ``at[:-1]`` (the root when ``top``)."""
        return self.bounds.get(id(sub), MAX_ITEMS) if top and at[0] == "properties" else MAX_ITEMS

    def _value(self, node: dict[str, Any], quiet: bool, per_item: int, top: bool = False) -> int:
        total = QUIET_WEIGHT if quiet else 1
        if "$ref" in node:
            total += self.value(self._target(node), quiet)
        for sub, at in _children(node, [], defs=False):
            inner = self._per_item(sub, at, top)
            total += self.value(sub, quiet or at[0] in _QUIET, inner) * (per_item if at[0] in _PER_ITEM else 1)
        if "unevaluatedProperties" in node:
            total += self.properties(node)
        if "unevaluatedItems" in node:
            total += self.items(node)
        return total

    def properties(self, node: Any) -> int:
        """find_evaluated_property_keys_by_schema on ``node``."""
        return self._memo("properties", node, self._properties)

    def _properties(self, node: dict[str, Any]) -> int:
        total = 1 + self.properties(self._target(node)) if "$ref" in node else 1
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if keyword in node:
                total += self.value(node[keyword], True)
        dependent = node.get("dependentSchemas")
        if isinstance(dependent, dict):
            total += sum(self.properties(sub) for sub in dependent.values())
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in _list(node, keyword):
                total += self.value(sub, True) + self.properties(sub)
        if "if" in node:
            total += self.value(node["if"], True) + self.properties(node["if"])
            total += sum(self.properties(node[k]) for k in ("then", "else") if k in node)
        return total

    def items(self, node: Any) -> int:
        """find_evaluated_item_indexes_by_schema on ``node``: lists of up to MAX_ITEMS indexes."""
        return self._memo("items", node, self._items)

    def _items(self, node: dict[str, Any]) -> int:
        if "items" in node:
            return MAX_ITEMS
        total = MAX_ITEMS + self.items(self._target(node)) if "$ref" in node else MAX_ITEMS
        for keyword in ("contains", "unevaluatedItems"):
            if keyword in node:
                total += self.value(node[keyword], True) * MAX_ITEMS
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in _list(node, keyword):
                total += self.value(sub, True) + self.items(sub)
        if "if" in node:
            total += self.value(node["if"], True) + self.items(node["if"])
            total += sum(self.items(node[k]) for k in ("then", "else") if k in node)
        return total

    def culprit(self) -> tuple[list[Any], str]:
        """Where the cost comes from: down the costliest branch to the last object over the limit."""
        node: Any = self.root
        where: list[Any] = []
        quiet = False
        per_item = MAX_ITEMS
        seen: set[tuple[int, bool, int]] = set()
        while (id(node), quiet, per_item) not in seen:
            top = not seen
            seen.add((id(node), quiet, per_item))
            branches: list[tuple[Any, list[Any], bool, int, int]] = [
                (
                    sub,
                    at,
                    quiet or at[len(where)] in _QUIET,
                    per_item if at[len(where)] in _PER_ITEM else 1,
                    self._per_item(sub, at[len(where) :], top),
                )
                for sub, at in _children(node, where, defs=False)
            ]
            target = self._target(node) if "$ref" in node else None
            if isinstance(target, dict):
                parts = [p.replace("~1", "/").replace("~0", "~") for p in node["$ref"][1:].split("/") if p]
                branches.append((target, parts, quiet, 1, MAX_ITEMS))
            costs = [
                (self.value(sub, q, inner), sub, at, q, times, inner)
                for sub, at, q, times, inner in branches
                if isinstance(sub, dict)
            ]
            over = [b for b in costs if b[0] * b[4] > MAX_EVALUATION_COST]
            if not over:
                break
            cost, sub, at, q, times, inner = max(over, key=lambda b: b[0] * b[4])
            if cost <= MAX_EVALUATION_COST:
                keyword = at[len(where)]
                return at[: len(where) + 1], (
                    f'"{keyword}" is evaluated for each item of an answer (up to {times:,}), and its schema costs '
                    f"{cost:,}: {cost * times:,} in all, above the limit of {MAX_EVALUATION_COST:,} for one "
                    'validation; keep the schema of an item small (a "type" and an "enum")'
                )
            node, where, quiet, per_item = sub, at, q, inner
        total = _count(self.total() if node is self.root and not where else self.value(node, quiet, per_item))
        for keyword, instead in (("unevaluatedProperties", "additionalProperties"), ("unevaluatedItems", "items")):
            if keyword in node:
                return [*where, keyword], (
                    f'"{keyword}" validates the answers again against every allOf, anyOf, oneOf, if/then/else, '
                    f'dependentSchemas and $ref beneath it, and again for each "{keyword}" nested there: this schema '
                    f"alone would cost {total} to evaluate, and one validation may cost {MAX_EVALUATION_COST:,}; "
                    f'use "{instead}" instead, or "{keyword}" only at the outermost level'
                )
        return where, (
            f"one validation would cost {total}, above the limit of {MAX_EVALUATION_COST:,} (each schema object "
            f"evaluated costs 1, or {QUIET_WEIGHT} inside anyOf, oneOf, not, if and contains, and a schema for "
            f"array items counts {MAX_ITEMS:,} times): refer to each definition fewer times, or split the schema"
        )


def _list(node: dict[str, Any], keyword: str) -> list[Any]:
    value = node.get(keyword)
    return value if isinstance(value, list) else []


def _count(total: int) -> str:
    return f"{total:,}" if total < 10**12 else "more than a trillion"


def cost_problems(root: Any, answers: bool = False) -> list[tuple[list[Any], str]]:
    """Schemas whose worst-case validation would evaluate more than MAX_EVALUATION_COST objects.

    ``answers``: as for expansion_problems. ``(path parts under the schema, message)``; run
    after expansion_problems found none.
    """
    # find_evaluated_property_keys_by_schema matches "patternProperties" with Python's re, which
    # backtracks (the runtime's own patternProperties uses RE2): never beside unevaluatedProperties.
    nodes = list(subschemas(root, []))
    if any("unevaluatedProperties" in node for node, _ in nodes):
        for node, at in nodes:
            if "patternProperties" in node:
                return [([*at, "patternProperties"], PATTERN_PROPERTIES)]
    cost = _Cost(root, answers)
    try:
        if cost.total() <= MAX_EVALUATION_COST:
            return []
        return [cost.culprit()]
    except RecursionError:
        return [([], f"references nested more than {MAX_REF_DEPTH} deep")]


# Keywords that point outside the schema's own JSON pointers, which the estimates above do not
# follow (the checker refuses them with the same words, check_refs, below).
FOREIGN_KEYWORDS = ("$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor")


def compile_problems(schema: Any, answers: bool = False) -> list[tuple[list[Any], str]]:
    """Why the runtime will not compile ``schema`` (a definition that never passed the checker);
    ``answers`` as for expansion_problems."""
    if not isinstance(schema, dict):
        return []
    for node, at in subschemas(schema, []):
        for keyword in FOREIGN_KEYWORDS:
            if keyword in node:
                return [([*at, keyword], f"{keyword} is not allowed: a definition is one self-contained file")]
        ref = node.get("$ref")
        if ref is not None and not (isinstance(ref, str) and ref.startswith("#/")):
            return [([*at, "$ref"], f"only references inside the file are allowed (#/$defs/...), not {_short(ref)}")]
    return expansion_problems(schema, answers)


class UnsafeDefinition(ValueError):
    """A definition the runtime will not compile (one that never passed the checker)."""


# -- local references ---------------------------------------------------------------------------


def resolve_ref(root: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers (``#/$defs/...``) until a schema without one."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise KeyError(f"only references inside the file are allowed, not {ref!r}")
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise KeyError(f"{ref} does not resolve")
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
        if seen > 20:
            raise KeyError(f"{ref} is circular")
    return node


# -- the checker's rules for any schema of a definition (its schema, conditions, guards) --------


def check_refs(node: Any, where: list[Any], root: dict[str, Any] | None) -> Iterator[Problem]:
    """Every $ref is a JSON pointer inside the schema; no keyword can name another document.

    ``root`` is None for a condition, where no $ref is allowed at all.
    """
    # Under "properties" the keys are property names, not keywords.
    if isinstance(node, dict) and where[-1:] != ["properties"]:
        for keyword in FOREIGN_KEYWORDS:
            if keyword in node:
                yield Problem(
                    json_path([*where, keyword]), f"{keyword} is not allowed: a definition is one self-contained file"
                )
        ref = node.get("$ref")
        if ref is not None and root is None:
            yield Problem(json_path([*where, "$ref"]), "conditions cannot use $ref")
        elif ref is not None and not str(ref).startswith("#/"):
            yield Problem(
                json_path([*where, "$ref"]), f"only references inside the file are allowed (#/$defs/...), not {ref!r}"
            )
        elif ref is not None and root is not None:
            try:
                resolve_ref(root, {"$ref": ref})
            except KeyError as exc:
                yield Problem(json_path([*where, "$ref"]), str(exc.args[0]))
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in ("enum", "const"):
                yield from check_refs(value, [*where, key], root)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from check_refs(value, [*where, i], root)


def short_message(message: str) -> str:
    return message if len(message) <= 200 else message[:197] + "..."


def check_keywords(node: Any, where: list[Any], *, alone: bool = True) -> Iterator[Problem]:
    """Keywords whose values the runtime must be able to evaluate quickly, in any schema object.

    Patterns run with RE2 (linear time, see runtime.validation), so a pattern RE2 cannot compile
    is refused with the reason. There is no rule against nested repetition: with RE2 it costs
    nothing, and the old rule both refused safe patterns and missed others ("^(a|a?)+$").

    ``alone``: ``node`` is validated on its own (a condition or a guard), so what one validation
    against it can cost is checked here too; the definition's schema has it checked with its
    references.
    """
    if alone and isinstance(node, dict):
        yield from (Problem(json_path([*where, *at]), message) for at, message in expansion_problems(node))
    for sub, at in subschemas(node, where):
        pattern = sub.get("pattern")
        if pattern is not None:
            problem = pattern_problem(pattern)
            if problem:
                yield Problem(json_path([*at, "pattern"]), f"{short_message(repr(pattern))} is {problem}")
        if "patternProperties" in sub:
            yield Problem(
                json_path([*at, "patternProperties"]),
                PATTERN_PROPERTIES,
            )
        fmt = sub.get("format")
        if fmt is not None and fmt not in ALLOWED_FORMATS:
            yield Problem(
                json_path([*at, "format"]),
                f"{short_message(repr(fmt))} is not a format Civic Forms checks; "
                f"use one of {', '.join(ALLOWED_FORMATS)}, "
                'or a "pattern" with a "maxLength"',
            )
        for keyword in ("dateBefore", "dateAfter"):
            if keyword in sub:
                problem = date_bound_problem(sub[keyword])
                if problem:
                    yield Problem(json_path([*at, keyword]), f"{keyword} {problem}")


def names_in_condition(cond: Any) -> Iterator[str]:
    """Top-level property names a condition reads, in order (a name may come more than once):
    its ``properties``, ``required`` and ``dependentRequired``, through allOf/anyOf/oneOf/not and
    if/then/else too. The one rule for the checker and the builder."""
    if not isinstance(cond, dict):
        return
    properties = cond.get("properties")
    if isinstance(properties, dict):
        yield from properties
    required = cond.get("required")
    yield from (name for name in required if isinstance(name, str)) if isinstance(required, list) else ()
    dependent = cond.get("dependentRequired")
    if isinstance(dependent, dict):
        yield from dependent
    for key in ("allOf", "anyOf", "oneOf"):
        subs = cond.get(key)
        for sub in subs if isinstance(subs, list) else ():
            yield from names_in_condition(sub)
    for key in ("not", "if", "then", "else"):
        yield from names_in_condition(cond.get(key))

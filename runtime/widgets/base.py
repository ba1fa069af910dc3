"""The ``Widget`` base: what every question type knows, with the behaviour most of them share.

A widget type is one class (in one module of this package) holding everything about it: the
JSON types its property may have, the checker's rules, how a post becomes an answer and back,
how an answer is displayed, which GOV.UK Frontend component asks it, and its default error
wording. A widget reads a ``runtime.questions.Question``: nothing here imports Flask or
``runtime.definition`` (which imports this package).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..questions import Question

WIDTHS = {
    "2": "govuk-input--width-2",
    "3": "govuk-input--width-3",
    "4": "govuk-input--width-4",
    "5": "govuk-input--width-5",
    "10": "govuk-input--width-10",
    "20": "govuk-input--width-20",
    "30": "govuk-input--width-30",
    "full": "govuk-!-width-full",
    "three-quarters": "govuk-!-width-three-quarters",
    "two-thirds": "govuk-!-width-two-thirds",
    "one-half": "govuk-!-width-one-half",
    "one-third": "govuk-!-width-one-third",
    "one-quarter": "govuk-!-width-one-quarter",
}

# What the checker hands a widget: a resolver for local $ref pointers (the checker's own).
Resolve = Callable[[Any], Any]


class FormData(Protocol):
    """What a posted form offers: werkzeug's MultiDict fits, and so does a test double."""

    def getlist(self, key: str) -> list[str]: ...


def one(form: FormData, key: str) -> str:
    """The first value posted for ``key``, or an empty string."""
    values = form.getlist(key)
    return values[0] if values else ""


# Control characters (NUL among them), and lone surrogates: no browser sends one (a post that is
# not UTF-8 is refused before parsing), none can be stored as UTF-8 or in PostgreSQL's jsonb.
_DROPPED = frozenset({"Cc", "Cs"})


def clean_text(value: str) -> str:
    """Strip outer space, unify line endings, drop control characters (but newlines and tabs)
    and lone surrogates."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch == "\n" or ch == "\t" or unicodedata.category(ch) not in _DROPPED)
    return value.strip()


def squash_spaces(value: str) -> str:
    """One space between words: what a one-line answer is stored as."""
    return " ".join(value.split())


def html_id(path: str) -> str:
    """The element id of a field: ``address.postcode`` -> ``address-postcode``."""
    return path.replace(".", "-").replace("_", "-")


def heading(text: str, as_heading: bool, legend: bool = False) -> dict[str, Any]:
    """A label or legend; the page's ``h1`` when the page asks only this question."""
    if as_heading:
        return {
            "text": text,
            "isPageHeading": True,
            "classes": "govuk-fieldset__legend--l" if legend else "govuk-label--l",
        }
    return {"text": text, "classes": "govuk-fieldset__legend--m" if legend else "govuk-label--m"}


def error_param(errors: dict[str, str], path: str) -> dict[str, str] | None:
    return {"text": errors[path]} if path in errors else None


def json_types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema allows (an untyped ``enum`` counts by its values)."""
    t = schema.get("type")
    if isinstance(t, list):
        return set(t)
    if t is None and "enum" in schema:
        names = {str: "string", bool: "boolean", int: "integer", float: "number"}
        return {names.get(type(v), type(v).__name__) for v in schema["enum"]}
    return {t} if isinstance(t, str) else set()


@dataclass(frozen=True)
class Widget:
    """One question type. Subclasses override the parts where they differ."""

    name: str  # the definition's "widget" value: "text", "nhs-number", ...
    palette_label: str  # the builder's word: "Short text", "NHS number", ...
    json_types: frozenset[str]
    takes_options: bool = False  # radios, select, checkboxes
    format: str | None = None  # the "format" the property must carry ("date", "nhs-number", ...)
    free_text: bool = False  # the checker requires a "maxLength"
    choose: bool = False  # the citizen picks rather than types: errors say "Select ..."
    parts: tuple[str, ...] = ()  # a compound answer's own fields (uk-address)
    default_width: str | None = None  # an input's width when the question sets none
    default_autocomplete: str | None = None
    default_spellcheck: bool | None = None  # None: the browser decides

    # -- the builder ---------------------------------------------------------------------

    def new_property(self) -> dict[str, Any]:
        """The JSON Schema property the builder writes for a fresh question of this type."""
        raise NotImplementedError

    def new_question(self, label: str) -> dict[str, Any]:
        """The ``questions`` entry the builder writes for a fresh question of this type."""
        return {"label": label, "widget": self.name}

    # -- the checker ---------------------------------------------------------------------

    def types_fit(self, types: set[str]) -> bool:
        return types == set(self.json_types)

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        """Rules beyond the JSON type: ``(json path, message)`` for each problem.

        ``schema`` is the property resolved; ``prop`` as written (a ``$ref`` perhaps).
        """
        where = f"$.questions.{name}.widget"
        if self.format is not None and schema.get("format") != self.format:
            yield where, f'widget "{self.name}" needs "format": "{self.format}" on the property'
        if self.free_text:
            yield from check_max_length(name, schema)

    def part_widget(self, part: str) -> Widget | None:
        """The widget whose wording a part's errors use (compound answers only)."""
        return None

    def enum(self, schema: dict[str, Any], resolve: Resolve) -> list[Any] | None:
        """The values a choice widget offers (None for widgets without options)."""
        return None

    # -- answers -------------------------------------------------------------------------

    def parse(self, q: Question, form: FormData) -> tuple[Any, dict[str, Any]]:
        """Read one question from a post: ``(value or None when unanswered, raw form values)``."""
        name = q.name
        text = clean_text(one(form, name))
        raw = {name: text}
        if not text:
            return None, raw
        return self.normalise(text), raw

    def normalise(self, text: str) -> Any:
        """A non-empty, cleaned one-field answer as stored: typed, in its one written form."""
        return squash_spaces(text)

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        """The form values that show a stored answer again (the inverse of ``parse``)."""
        name = q.name
        if value is None:
            return {}
        return {name: self.display_text(value)}

    def display(self, q: Question, value: Any) -> list[str]:
        """An answer as lines of text, for check answers and the back office."""
        if value is None:
            return []
        return [self.display_text(value)]

    def display_text(self, value: Any) -> str:
        return str(value)

    # -- rendering -----------------------------------------------------------------------

    def anchor(self, name: str, path: str) -> str:
        """Where an error summary link for a field of this question lands."""
        return f"#{html_id(path)}"

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        """``{"macro": <govuk macro name>, "params": {...}}``: the component that asks it."""
        params = self.input_params(q, raw, errors, as_heading)
        return {"macro": "govukInput", "params": params}

    def input_params(
        self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool
    ) -> dict[str, Any]:
        """The parameters of a one-line ``govukInput``: the shared part of text-like widgets."""
        params: dict[str, Any] = {
            "id": html_id(q.name),
            "name": q.name,
            "label": heading(q.label_text, as_heading),
            "hint": {"text": q.hint} if q.hint else None,
            "errorMessage": error_param(errors, q.name),
            "value": raw.get(q.name, ""),
            "autocomplete": q.autocomplete or self.default_autocomplete,
        }
        spellcheck = q.spellcheck if q.spellcheck is not None else self.default_spellcheck
        if spellcheck is not None:
            params["spellcheck"] = spellcheck
        params["classes"] = WIDTHS.get(q.width or self.default_width or "")
        return params

    # -- errors --------------------------------------------------------------------------

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        """This widget's default wording for a failed keyword; None for the generic wording.

        ``name`` is the question's error name ("your full name"), ``cap`` the same capitalised.
        """
        if keyword == "required" or (keyword == "minItems" and limit == 1):
            return f"Select {name}" if self.choose else f"Enter {name}"
        if keyword in ("enum", "items", "const") or (keyword == "type" and self.choose):
            return f"Select {name}"
        if keyword == "type":
            return f"Enter {name}"
        if keyword == "format":
            return f"Enter {name} in the correct format"
        return None


def check_max_length(path: str, schema: Any, at: str | None = None) -> Iterator[tuple[str, str]]:
    """Free text needs a ``maxLength``, so no citizen can send unbounded text."""
    if isinstance(schema, dict) and "enum" not in schema and "maxLength" not in schema:
        yield at or f"$.schema.properties.{path}", f'free text "{path}" needs a "maxLength"'


def check_stored_form(name: str, schema: Any, what: str, stored: str) -> Iterator[tuple[str, str]]:
    """A question whose answer is stored in a form of its own (``stored``: a UK phone number in
    E.164, a time as "HH:MM"): length and pattern keywords would be checked against that form,
    not what the citizen typed ("07700900982" is 13 characters stored), so no answer might pass."""
    if not isinstance(schema, dict):
        return
    for keyword in ("minLength", "maxLength", "pattern"):
        if keyword in schema:
            yield (
                f"$.schema.properties.{name}.{keyword}",
                f'remove "{keyword}": {what} is checked by its format and stored as {stored}, '
                "so the keyword would be checked against that, not what was typed",
            )


def matches(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None

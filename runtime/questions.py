"""A question as the engine asks it: typed, with the format's defaults filled in.

The widgets read these and nothing else of a definition, so this module imports nothing of the
engine: ``runtime.definition`` builds them, ``runtime.widgets`` takes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .wording import confirmation_noun, error_noun, lower_first

TEXTAREA_ROWS = 5


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None


def _confirmed(q: dict[str, Any]) -> str | None:
    """A declaration's error names what its statement confirms ("Select the box to confirm you have
    told all the neighbours"), not its heading ("... to confirm declaration")."""
    statement = q.get("statement")
    if q.get("widget") != "declaration" or not isinstance(statement, str):
        return None
    return confirmation_noun(statement)


__all__ = ["Field", "Option", "Question", "lower_first"]


@dataclass(frozen=True)
class Field:
    """One answerable field: a question's property, or a part of a nested question."""

    path: str  # dotted: "address.postcode"
    schema: dict[str, Any]
    question: str  # the top-level property it belongs to

    @property
    def html_id(self) -> str:
        return self.path.replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class Option:
    """One choice of a radios, select or checkboxes question."""

    value: str
    label: str
    hint: str | None = None


@dataclass(frozen=True)
class Question:
    """How one property is asked, with every default filled in.

    ``Definition.questions`` holds each question as its file writes it; ``Definition.question``
    gives the same with what the schema says about it (``optional``, the property's resolved
    ``schema`` and the ``fields`` it posts), which is what a widget reads.
    """

    name: str
    label: str
    widget: str
    hint: str | None = None
    short_label: str = ""  # the key on check answers; the label when the file gives none
    error_name: str = ""  # the noun phrase in default error messages
    width: str | None = None
    rows: int = TEXTAREA_ROWS
    prefix: str | None = None
    suffix: str | None = None
    autocomplete: str | None = None
    spellcheck: bool | None = None
    yes_label: str = "Yes"
    no_label: str = "No"
    options: tuple[Option, ...] = ()
    statement: str | None = None  # a declaration's tick box wording: "I confirm ..."
    date_rule: dict[str, Any] | None = field(default=None, compare=False, hash=False)  # runtime.date_rules
    accept: tuple[str, ...] = ()  # a file question's kinds of file ("jpeg", "pdf")
    max_size_mb: int | None = None  # a file question's largest file (runtime.widgets.file)
    lookup: bool = False  # a uk-address question: found by postcode first (runtime.web.address_finder)
    # An add-another question (runtime.widgets.add_another): what one item and several are called,
    # the item question that names an item in the list, and the questions asked of each item.
    singular: str = ""
    plural: str = ""
    summary: str | None = None
    items: tuple[Question, ...] = field(default=(), compare=False, hash=False)
    # From the schema (Definition.question fills them in):
    optional: bool = True
    schema: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    fields: tuple[Field, ...] = ()

    @classmethod
    def from_doc(cls, name: str, q: dict[str, Any]) -> Question:
        label = str(q.get("label") or name)
        short = _text(q.get("short_label")) or label
        options = q.get("options")
        return cls(
            name=name,
            label=label,
            widget=str(q.get("widget", "text")),
            hint=_text(q.get("hint")),
            short_label=short,
            error_name=_text(q.get("error_name")) or _confirmed(q) or error_noun(short),
            width=str(q["width"]) if q.get("width") else None,
            rows=int(q.get("rows", TEXTAREA_ROWS)),
            prefix=_text(q.get("prefix")),
            suffix=_text(q.get("suffix")),
            autocomplete=_text(q.get("autocomplete")),
            spellcheck=q["spellcheck"] if isinstance(q.get("spellcheck"), bool) else None,
            yes_label=_text(q.get("yes_label")) or "Yes",
            no_label=_text(q.get("no_label")) or "No",
            options=tuple(
                Option(str(value), str(o.get("label", value)), _text(o.get("hint")))
                for value, o in (options.items() if isinstance(options, dict) else ())
                if isinstance(o, dict)
            ),
            statement=_text(q.get("statement")),
            date_rule=q["date_rule"] if isinstance(q.get("date_rule"), dict) else None,
            accept=tuple(str(k) for k in q["accept"]) if isinstance(q.get("accept"), list) else (),
            max_size_mb=q["max_size_mb"] if isinstance(q.get("max_size_mb"), int) else None,
            lookup=q.get("lookup") is True,
            singular=_text(q.get("singular")) or "item",
            plural=_text(q.get("plural")) or "items",
            summary=_text(q.get("summary")),
            items=tuple(
                cls.from_doc(str(item), sub)
                for item, sub in (q["questions"].items() if isinstance(q.get("questions"), dict) else ())
                if isinstance(sub, dict)
            ),
        )

    @property
    def label_text(self) -> str:
        """The label, marked "(optional)" when nothing requires the question."""
        return f"{self.label} (optional)" if self.optional else self.label

    @cached_property
    def _labels(self) -> dict[str, str]:
        return {option.value: option.label for option in self.options}

    def option_label(self, value: Any) -> str:
        """The label of a chosen value; the value itself when no option has it."""
        return self._labels.get(str(value), str(value))

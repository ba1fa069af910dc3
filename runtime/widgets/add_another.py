"""Add another: a group of questions asked once for each item of a list (the GOV.UK "add to a
list" pattern), such as everyone who lives with the applicant.

The property is a JSON Schema array of objects with ``minItems``/``maxItems``; the question
names an item (``singular``, ``plural``), the item question that names it in the list
(``summary``, default the first) and the ``questions`` asked of each item, keyed by the item's
property names. Items are answered on pages of their own (runtime/web/add_another.py) and
stored as a list of objects, each holding its item questions' answers as their widgets store
them. The answer is never parsed from the list page's post.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .base import FormData, Resolve, Widget, clean_text, error_param, heading, one

if TYPE_CHECKING:
    from ..questions import Question

__all__ = ["ADD_ANOTHER", "MOST_ITEMS", "AddAnother", "article", "count_words", "fingerprint", "summary_question"]

# The most items an add-another question may take (its "maxItems"): each is a page of answers.
MOST_ITEMS = 50
# Item questions ask for one value each: a file is uploaded on a page of its own, and a list
# inside a list has no page pattern.
NOT_IN_ITEMS = frozenset({"file", "add-another"})
# The list page's yes or no field: no question's field has a "-" in its name.
ANOTHER = "add-another"


def article(noun: str) -> str:
    """ "a person", "an adult"."""
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def count_words(q: Question, count: int) -> str:
    """ "1 person", "2 people"."""
    return f"{count} {q.singular if count == 1 else q.plural}"


def fingerprint(value: Any) -> str:
    """A short digest of an item (or of the whole list) as a page showed it: a change or remove
    form carries it, so that a post about an item that has since changed or gone is refused."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def summary_question(q: Question) -> Question | None:
    """The item question whose answer names an item in the list: ``summary``, else the first."""
    for item in q.items:
        if item.name == q.summary:
            return item
    return q.items[0] if q.items else None


@dataclass(frozen=True)
class AddAnother(Widget):
    # The registry its item questions' widgets come from (runtime.widgets fills it in: this
    # module cannot import the package that imports it).
    widgets: dict[str, Widget] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def item_widget(self, q: Question) -> Widget:
        return self.widgets.get(q.widget) or self.widgets["text"]

    def item_name(self, q: Question, item: Any, number: int) -> str:
        """What the list calls one item: its summary answer as displayed ("Ann Smith"), or
        "Person 2" when that is unanswered."""
        summary = summary_question(q)
        if summary is not None and isinstance(item, dict):
            lines = self.item_widget(summary).display(summary, item.get(summary.name))
            if lines:
                return ", ".join(lines)
        return f"{q.singular[:1].upper()}{q.singular[1:]} {number}"

    def item_lines(self, q: Question, item: Any) -> list[tuple[Question, list[str]]]:
        """Each item question with its answer as lines (empty when unanswered)."""
        values = item if isinstance(item, dict) else {}
        return [(iq, self.item_widget(iq).display(iq, values.get(iq.name))) for iq in q.items]

    def new_property(self) -> dict[str, Any]:
        return {
            "type": "array",
            "minItems": 1,
            "maxItems": 10,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"name": {"type": "string", "maxLength": 100}},
                "required": ["name"],
            },
        }

    def new_question(self, label: str) -> dict[str, Any]:
        return {
            "label": label,
            "widget": self.name,
            "singular": "item",
            "plural": "items",
            "questions": {"name": {"label": "Name", "widget": "text"}},
        }

    def check(
        self, name: str, question: dict[str, Any], schema: dict[str, Any], prop: Any, resolve: Resolve
    ) -> Iterator[tuple[str, str]]:
        at_schema = f"$.schema.properties.{name}"
        at = f"$.questions.{name}"
        most = schema.get("maxItems")
        if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= MOST_ITEMS:
            yield at_schema, f'an add-another question needs a "maxItems" from 1 to {MOST_ITEMS}'
        least = schema.get("minItems", 0)
        if isinstance(most, int) and isinstance(least, int) and least > most:
            yield f"{at_schema}.minItems", f'"minItems" ({least}) is more than "maxItems" ({most})'
        for key, what in (
            ("singular", 'one item is called, like "person"'),
            ("plural", 'several are called, like "people"'),
        ):
            if not question.get(key):
                yield at, f'an add-another question needs "{key}": what {what}'
        items = resolve(schema.get("items"))
        props = items.get("properties") if isinstance(items, dict) else None
        if not isinstance(items, dict) or items.get("type") != "object" or not isinstance(props, dict) or not props:
            yield f"{at_schema}.items", 'an add-another question\'s "items" must be an object with "properties"'
            return
        asked = question.get("questions")
        if not isinstance(asked, dict) or not asked:
            yield at, 'an add-another question needs "questions": the questions asked of each item'
            return
        for item in props:
            if item not in asked:
                where = f"{at_schema}.items.properties.{item}"
                yield where, f'item property "{item}" has no entry in {name}\'s questions'
        for item, sub in asked.items():
            if item not in props:
                yield f"{at}.questions.{item}", f'"{item}" is not a property of the items of "{name}"'
            elif isinstance(sub, dict) and sub.get("widget") in NOT_IN_ITEMS:
                widget = sub["widget"]
                yield (
                    f"{at}.questions.{item}.widget",
                    f"an add-another question cannot ask {article(widget)} question of each item",
                )
        summary = question.get("summary")
        if summary is not None and summary not in asked:
            yield f"{at}.summary", f'"{summary}" is not one of {name}\'s questions'

    # -- answers: items are written by their own pages, never parsed from the list page ---------

    def parse(self, q: Question, form: FormData) -> tuple[Any, dict[str, Any]]:
        """The list page's "Do you need to add another?" choice, as raw form values only."""
        return None, {ANOTHER: clean_text(one(form, ANOTHER))}

    def to_raw(self, q: Question, value: Any) -> dict[str, Any]:
        return {}

    def display(self, q: Question, value: Any) -> list[str]:
        """One line per item: its name, then its other answers ("Ann Smith: Partner, 1 May 1980")."""
        if not isinstance(value, list):
            return []
        lines = []
        summary = summary_question(q)
        for number, item in enumerate(value, start=1):
            name = self.item_name(q, item, number)
            rest = [", ".join(answer) for iq, answer in self.item_lines(q, item) if answer and iq is not summary]
            lines.append(f"{name}: {', '.join(rest)}" if rest else name)
        return lines

    def anchor(self, name: str, path: str) -> str:
        return f"#{ANOTHER}"  # the list page's "Do you need to add another?"

    def view(self, q: Question, raw: dict[str, Any], errors: dict[str, str], as_heading: bool) -> dict[str, Any]:
        """The question as a preview shows it (the builder, a page test): its label, hint and
        error over the list page's yes or no; the citizen's own pages are runtime/web/add_another.py's."""
        params = {
            "idPrefix": ANOTHER,  # where its errors link (the list page's question)
            "name": q.name,
            "classes": "govuk-radios--inline",
            "fieldset": {"legend": heading(q.label_text, as_heading, legend=True)},
            "hint": {"text": q.hint} if q.hint else None,
            "errorMessage": error_param(errors, q.name),
            "items": [{"value": "yes", "text": "Yes"}, {"value": "no", "text": "No"}],
        }
        return {"macro": "govukRadios", "params": params}

    def message(self, keyword: str, limit: Any, name: str, cap: str, instance: Any = None) -> str | None:
        return None  # worded by count_message, which knows the item's names

    def count_message(self, q: Question, keyword: str, limit: Any) -> str | None:
        """The list's own errors, in its words: "Add at least 2 people"."""
        if keyword == "required" or (keyword == "minItems" and limit == 1):
            return f"Add at least one {q.singular}"
        if keyword == "minItems":
            return f"Add at least {limit} {q.plural}"
        if keyword == "maxItems":
            return f"You can add up to {limit} {q.plural}" if limit != 1 else f"You can add only one {q.singular}"
        if keyword == "type":
            return f"Add at least one {q.singular}"
        return None


ADD_ANOTHER = AddAnother("add-another", "Add another", frozenset({"array"}))

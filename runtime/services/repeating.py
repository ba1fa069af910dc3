"""Answering an add-another question one item at a time: add, change and remove an item.

Each write is checked against what the citizen was shown: the item's page carries a fingerprint
of the item as it was (or, to add one, of the whole list), and a post made from a page that is
out of date (another tab changed the list, the back button re-posts a removal) is refused with
nothing written. An item is validated alone, by its own questions' rules
(``Definition.item_definition``): the list's rules (how many, conditions on the others) are
checked when the citizen says they have added everyone, as any page's are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from .. import abuse
from ..definition import Definition, Page
from ..journey import Journey
from ..validation import compiled
from ..widgets.add_another import fingerprint
from .answer_stores import Holder, save_answers
from .submitting import AnswersTooLarge, NotReady
from .unit_of_work import atomic

__all__ = [
    "ItemChanged",
    "ItemError",
    "ItemInvalid",
    "ListFull",
    "NoSuchItem",
    "ADD",
    "item_token",
    "items_of",
    "remove_item",
    "save_item",
]


class ItemError(Exception):
    """A post about an item that cannot be taken: nothing was written."""


class NoSuchItem(ItemError):
    """The item number is not in the list (nor the next one to add)."""


class ListFull(ItemError):
    """The list already holds as many items as the question takes."""


class ItemChanged(ItemError):
    """The item (or the list) has changed or gone since the page that posted was shown."""


class ItemInvalid(ItemError):
    """The item's answers have errors: ``{item field: message}``."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Items:
    """One add-another question's answer in a journey."""

    name: str
    items: list[dict[str, Any]]
    most: int  # its maxItems

    @property
    def full(self) -> bool:
        return len(self.items) >= self.most


def items_of(definition: Definition, answers: dict[str, Any], name: str) -> Items:
    """The items answered so far (an answer that is not a list of objects counts as none)."""
    value = answers.get(name)
    items = [item if isinstance(item, dict) else {} for item in value] if isinstance(value, list) else []
    most = definition.property_schema(name).get("maxItems")
    return Items(name, items, most if isinstance(most, int) and not isinstance(most, bool) else len(items))


def item_token(items: Items, index: int) -> str:
    """What the page about item ``index`` (from 0) carries: the item as shown, where, and how
    many the list held. With the count, a removal posted twice (a double click, the back button)
    is refused even when the next item is the same as the removed one (Amy added twice by
    mistake): the list is shorter by then."""
    return fingerprint([index, len(items.items), items.items[index]])


# What the page adding an item carries. Where it adds is in its address (item n of a list of
# n - 1), so posting it again finds the item there and is refused as a change without the item's
# fingerprint; a walker that posts no hidden field ("") adds too.
ADD = "new"


def _checked(journey: Journey, page: Page, name: str, index: int, token: str, adding: bool) -> Items:
    if page.stop or name not in page.questions:
        raise NotReady(page)
    items = items_of(journey.definition, journey.answers, name)
    if index < 0 or index > len(items.items) or (not adding and index == len(items.items)):
        raise NoSuchItem(index)
    if index == len(items.items):
        if token not in (ADD, ""):
            raise ItemChanged(index)  # the page of an item that has gone since
        if items.full:
            raise ListFull(index)
    elif token != item_token(items, index):
        raise ItemChanged(index)
    return items


def _store(
    *,
    session: Session,
    journey: Journey,
    form_session: Holder,
    answers: dict[str, Any],
    minutes: int,
    max_answers_bytes: int | None,
) -> Journey:
    if max_answers_bytes is not None and abuse.answers_size(answers) > max_answers_bytes:
        raise AnswersTooLarge(max_answers_bytes)
    with atomic(session):
        save_answers(session=session, holder=form_session, answers=answers, minutes=minutes)
    return Journey(journey.service, answers)


def save_item(
    *,
    session: Session,
    journey: Journey,
    form_session: Holder,
    page: Page,
    name: str,
    index: int,
    given: dict[str, Any],
    token: str,
    minutes: int,
    max_answers_bytes: int,
) -> Journey:
    """Store ``given`` as item ``index`` (from 0) of add-another question ``name`` on ``page``:
    a change of that item, or a new one when ``index`` is the list's length. ``token`` is what
    the page posted (``item_token`` when it was shown, or ``ADD``).

    Raises NoSuchItem, ListFull, ItemChanged or ItemInvalid (nothing written), or
    AnswersTooLarge."""
    items = _checked(journey, page, name, index, token, adding=True)
    errors = compiled(journey.definition.item_definition(name)).validate(given)
    if errors:
        raise ItemInvalid(errors)
    new = list(items.items)
    if index == len(new):
        new.append(dict(given))
    else:
        new[index] = dict(given)
    answers = {**journey.answers, name: new}
    return _store(
        session=session,
        journey=journey,
        form_session=form_session,
        answers=answers,
        minutes=minutes,
        max_answers_bytes=max_answers_bytes,
    )


def remove_item(
    *,
    session: Session,
    journey: Journey,
    form_session: Holder,
    page: Page,
    name: str,
    index: int,
    token: str,
    minutes: int,
) -> Journey:
    """Remove item ``index`` (from 0); the answer is removed with its last item (an empty list
    is never stored). Raises NoSuchItem or ItemChanged (a removal posted again: nothing written)."""
    items = _checked(journey, page, name, index, token, adding=False)
    new = [item for i, item in enumerate(items.items) if i != index]
    answers = {k: v for k, v in journey.answers.items() if k != name}
    if new:
        answers[name] = new
    return _store(
        session=session,
        journey=journey,
        form_session=form_session,
        answers=answers,
        minutes=minutes,
        max_answers_bytes=None,
    )

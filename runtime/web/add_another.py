"""The citizen's pages of an add-another question (the GOV.UK "add to a list" pattern), without
JavaScript: the list page (what has been added, each with Change and Remove, "Do you need to
add another person?"), an item's page (its questions) and the removal page ("Are you sure you
want to remove Ann Smith?").

URLs, for a page ``household-members``: ``/services/<s>/household-members`` (the list; with no
item yet, item 1's page), ``.../household-members/<n>`` (item n, from 1; the list's length + 1
adds one) and ``.../household-members/<n>/remove``. A number that is not an item, or a post from
a page showing an item that has since changed or gone, brings the citizen back to the list with
a message saying so; nothing is written. The writes are ``runtime.services.repeating``'s; the
routes are the citizen blueprint's (``runtime.web.citizen``), which hands each request here once
it has found the citizen's journey; the builder's "try it" hands its own (a staff member's
answers, kept in their preview session: ``runtime.services.answer_stores``), with its endpoints.
"""

from __future__ import annotations

from typing import Any, Protocol

from flask import abort, redirect, request, url_for
from werkzeug.wrappers import Response

from .. import answers as answer_forms
from .. import rendering
from ..definition import Definition, Page
from ..journey import Journey
from ..questions import Question
from ..services import answer_stores, repeating
from ..services.submitting import AnswersTooLarge
from ..widgets.add_another import ADD_ANOTHER, ANOTHER, article, count_words
from .common import db, settings
from .journey_pages import JourneyPages, page_fields

__all__ = ["ITEM_ENDPOINT", "REMOVE_ENDPOINT", "asks_list", "item_page", "list_page", "remove_page"]

ITEM_ENDPOINT = "citizen.add_another_item"
REMOVE_ENDPOINT = "citizen.add_another_remove"
# The hidden field of an item's page and of the removal page (no question's field has a "-").
TOKEN = "item-fingerprint"
REMOVE = "remove-item"
# What brought the citizen back to the list (a query argument naming one of these: no text from
# the request is ever shown).
PROBLEMS = {
    "no-such-item": "There is no {singular} with that number in your list. Nothing has been changed.",
    "full": "You cannot add more than {most} {plural}.",
    "changed": (
        "Your list of {plural} changed after that page was shown (perhaps in another tab or window), "
        "so nothing has been saved from it. Check your list and try again."
    ),
}


class CitizenPages(Protocol):
    """What these pages need of the journey (``runtime.web.citizen.CitizenJourney``, or the
    builder's ``Trial``): where its answers are kept, its endpoints and how it renders a page."""

    service: Definition
    journey: Journey

    @property
    def form_session(self) -> answer_stores.Holder: ...

    @property
    def item_endpoint(self) -> str | None: ...

    @property
    def remove_endpoint(self) -> str | None: ...

    @property
    def url_args(self) -> dict[str, Any]: ...

    def render(self, template: str, status: int = 200, **context: Any) -> Any: ...

    def page_url(self, page: Page | None, **args: Any) -> str: ...

    def back_url(self, page: Page, change: bool = False) -> str: ...

    def after_answer_url(self, page: Page, answered: Journey, change: bool) -> str: ...


def asks_list(service: Definition, page: Page) -> str | None:
    """The add-another question ``page`` asks (it is alone on its page), if any."""
    if len(page.questions) == 1 and service.widget(page.questions[0]) == "add-another":
        return page.questions[0]
    return None


def _change() -> dict[str, Any]:
    return {"change": "1"} if request.args.get("change") == "1" else {}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def item_url(pages: JourneyPages | CitizenPages, page: Page, number: int, **args: Any) -> str:
    return url_for(pages.item_endpoint or ITEM_ENDPOINT, page_id=page.id, number=number, **pages.url_args, **args)


def _remove_url(pages: CitizenPages, page: Page, number: int, **args: Any) -> str:
    return url_for(pages.remove_endpoint or REMOVE_ENDPOINT, page_id=page.id, number=number, **pages.url_args, **args)


def _list_url(pages: CitizenPages, page: Page, **args: Any) -> str:
    return pages.page_url(page, **_change(), **args)


def _back_to_list(pages: CitizenPages, page: Page, problem: str) -> Response:
    return redirect(_list_url(pages, page, problem=problem), 303)


def _refused(pages: CitizenPages, page: Page, refused: repeating.ItemError) -> Response:
    """Back to the list, saying why a post about an item was not taken (nothing was written)."""
    if isinstance(refused, repeating.ListFull):
        return _back_to_list(pages, page, "full")
    if isinstance(refused, repeating.NoSuchItem):
        return _back_to_list(pages, page, "no-such-item")
    return _back_to_list(pages, page, "changed")


def _number(text: str) -> int | None:
    """An item number as the URL gives it: digits only, and not absurdly long."""
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 4 else None


def posted_fields(service: Definition, name: str, form: Any) -> list[tuple[str, str]]:
    """What a post to list ``name``'s page or one of its item pages sent that the page reads, as
    sent: the item's fields, its fingerprint and "Do you need to add another?". Carried through
    the choice asked of a form left idle (runtime.web.citizen), so Continue saves what was typed."""
    each = service.item_definition(name)
    own = [(key, value) for key in (TOKEN, ANOTHER) for value in form.getlist(key)]
    return [*page_fields(each, each.pages[0], form), *own]


def _keep_alive(pages: CitizenPages) -> None:
    answer_stores.keep_alive(session=db(), holder=pages.form_session, minutes=settings().session_timeout_minutes)


def error_links(
    pages: JourneyPages | CitizenPages, page: Page, errors: dict[str, str], **args: Any
) -> list[dict[str, str]]:
    """An error summary for the list page: an item's field links to its place on the item's own
    page (``household.1.full_name``: item 2's page, ``#full-name``); the list's own to its
    question."""
    links = []
    for path, message in errors.items():
        item = pages.service.item_field(path)
        if item is not None:
            href = item_url(pages, page, item[1] + 1, **args) + rendering.anchor(pages.service, path)
        else:
            href = rendering.anchor(pages.service, path)
        links.append({"text": message, "href": href})
    return links


def _list_context(pages: CitizenPages, page: Page, question: Question, items: repeating.Items) -> dict[str, Any]:
    change = _change()
    rows = []
    for number, item in enumerate(items.items, start=1):
        name = ADD_ANOTHER.item_name(question, item, number)
        rows.append(
            {
                "name": name,
                "details": [
                    (iq.short_label, lines)
                    for iq, lines in ADD_ANOTHER.item_lines(question, item)
                    if lines and iq.name != (question.summary or question.items[0].name)
                ],
                "change_url": item_url(pages, page, number, **change),
                "remove_url": _remove_url(pages, page, number, **change),
            }
        )
    problem = PROBLEMS.get(request.args.get("problem", ""))
    return {
        "service": pages.service,
        "page": page,
        "question": question,
        "rows": rows,
        "count": count_words(question, len(items.items)),
        "full": items.full,
        "most": items.most,
        "another": f"Do you need to add {'another' if items.items else article(question.singular).split()[0]} "
        f"{question.singular}?",
        "problem": problem.format(singular=question.singular, plural=question.plural, most=items.most)
        if problem
        else None,
        "removed": f"{_capital(question.singular)} removed" if request.args.get("removed") == "1" else None,
        "back_url": pages.page_url(None) if change else pages.back_url(page),
        "field": ANOTHER,
        "errors": [],
        "error": None,
    }


def list_page(pages: CitizenPages, page: Page, name: str, max_answers_bytes: int) -> Any:
    """The list: GET shows it (with no item yet, a required question asks item 1's questions
    here at once, and takes their post); POST takes "Do you need to add another?"."""
    question = pages.service.question(name)
    items = repeating.items_of(pages.service, pages.journey.answers, name)
    first = not items.items and not question.optional
    if request.method == "GET":
        if first and "problem" not in request.args:
            return _item(pages, page, name, 0, max_answers_bytes)  # nothing to list: item 1's questions
        _keep_alive(pages)
        return pages.render("citizen/add_another_list.html", **_list_context(pages, page, question, items))
    if ANOTHER not in request.form:
        if first:
            return _item(pages, page, name, 0, max_answers_bytes)  # item 1's questions, posted here
        if TOKEN in request.form:
            return _back_to_list(pages, page, "changed")  # item 1's questions posted again
    choice = request.form.get(ANOTHER, "")
    if choice == "yes" and not items.full:
        return redirect(item_url(pages, page, len(items.items) + 1, **_change()), 303)
    context = _list_context(pages, page, question, items)
    if choice not in ("yes", "no") and not items.full:
        message = f"Select yes if you need to add {'another' if items.items else 'a'} {question.singular}"
        context["errors"] = [{"text": message, "href": f"#{ANOTHER}"}]
        context["error"] = message
        return pages.render("citizen/add_another_list.html", **context)
    errors = pages.journey.page_errors(page)
    if errors:
        context["errors"] = error_links(pages, page, errors, **_change())
        context["error"] = errors.get(name)
        return pages.render("citizen/add_another_list.html", **context)
    _keep_alive(pages)
    return redirect(pages.after_answer_url(page, pages.journey, change=bool(_change())), 303)


def _item_context(
    pages: CitizenPages,
    page: Page,
    question: Question,
    items: repeating.Items,
    index: int,
    raw: dict[str, Any],
    errors: dict[str, str],
    token: str,
) -> dict[str, Any]:
    each = pages.service.item_definition(question.name)
    adding = index == len(items.items)
    change = _change()
    if adding:
        title = f"Add {article(question.singular)}" if not items.items else f"Add another {question.singular}"
    else:
        title = f"Change the details of {ADD_ANOTHER.item_name(question, items.items[index], index + 1)}"
    if items.items:
        back = _list_url(pages, page)
    else:
        back = pages.page_url(None) if change else pages.back_url(page)
    return {
        "service": pages.service,
        "page": page,
        "question": question,
        "title": title,
        "caption": question.label,
        "questions": [rendering.question_view(each, n, raw, errors, False) for n in each.pages[0].questions],
        "errors": rendering.error_summary(each, errors),
        "token_field": TOKEN,
        "token": token,
        "back_url": back,
    }


def item_page(pages: CitizenPages, page: Page, name: str, number: str, max_answers_bytes: int) -> Any:
    """Item ``number``'s questions (from 1; the list's length + 1 adds an item)."""
    items = repeating.items_of(pages.service, pages.journey.answers, name)
    n = _number(number)
    if n is None or not 1 <= n <= len(items.items) + 1:
        return _back_to_list(pages, page, "no-such-item")
    if n == len(items.items) + 1 and items.full:
        return _back_to_list(pages, page, "full")
    return _item(pages, page, name, n - 1, max_answers_bytes)


def _item(pages: CitizenPages, page: Page, name: str, index: int, max_answers_bytes: int) -> Any:
    question = pages.service.question(name)
    items = repeating.items_of(pages.service, pages.journey.answers, name)
    adding = index == len(items.items)
    token = repeating.ADD if adding else repeating.item_token(items, index)
    each = pages.service.item_definition(name)
    if request.method == "GET":
        _keep_alive(pages)
        raw: dict[str, Any] = {}
        if not adding:
            for item_question in each.pages[0].questions:
                raw.update(answer_forms.to_raw(each, item_question, items.items[index].get(item_question)))
        context = _item_context(pages, page, question, items, index, raw, {}, token)
        return pages.render("citizen/add_another_item.html", **context)
    given, raw = answer_forms.parse_page(each, each.pages[0].questions, request.form)
    try:
        repeating.save_item(
            session=db(),
            journey=pages.journey,
            form_session=pages.form_session,
            page=page,
            name=name,
            index=index,
            given=given,
            token=request.form.get(TOKEN, ""),
            minutes=settings().session_timeout_minutes,
            max_answers_bytes=max_answers_bytes,
        )
    except repeating.ItemInvalid as invalid:
        context = _item_context(pages, page, question, items, index, raw, invalid.errors, token)
        return pages.render("citizen/add_another_item.html", **context)
    except repeating.ItemError as refused:
        return _refused(pages, page, refused)
    except AnswersTooLarge:
        abort(413)  # one form's answers, all pages together, are capped, as a question page's post
    return redirect(_list_url(pages, page), 303)


def remove_page(pages: CitizenPages, page: Page, name: str, number: str) -> Any:
    """ "Are you sure you want to remove Ann Smith?"; Yes removes item ``number``."""
    question = pages.service.question(name)
    items = repeating.items_of(pages.service, pages.journey.answers, name)
    n = _number(number)
    if n is None or not 1 <= n <= len(items.items):
        return _back_to_list(pages, page, "no-such-item")
    index = n - 1
    shown = ADD_ANOTHER.item_name(question, items.items[index], n)
    context: dict[str, Any] = {
        "service": pages.service,
        "page": page,
        "title": f"Are you sure you want to remove {shown}?",
        "field": REMOVE,
        "token_field": TOKEN,
        "token": repeating.item_token(items, index),
        "back_url": _list_url(pages, page),
        "errors": [],
        "error": None,
    }
    if request.method == "GET":
        _keep_alive(pages)
        return pages.render("citizen/add_another_remove.html", **context)
    posted = request.form.get(TOKEN, "")
    if posted != context["token"]:
        return _back_to_list(pages, page, "changed")
    choice = request.form.get(REMOVE, "")
    if choice == "no":
        return redirect(_list_url(pages, page), 303)
    if choice != "yes":
        message = f"Select yes if you want to remove {shown}"
        context["errors"] = [{"text": message, "href": f"#{REMOVE}"}]
        context["error"] = message
        return pages.render("citizen/add_another_remove.html", **context)
    try:
        repeating.remove_item(
            session=db(),
            journey=pages.journey,
            form_session=pages.form_session,
            page=page,
            name=name,
            index=index,
            token=posted,
            minutes=settings().session_timeout_minutes,
        )
    except repeating.ItemError as refused:
        return _refused(pages, page, refused)
    return redirect(_list_url(pages, page, removed="1"), 303)

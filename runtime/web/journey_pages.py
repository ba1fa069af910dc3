"""The web side of walking a journey, shared by the citizen runtime and the builder's "try it".

``runtime.journey.Journey`` decides the path; this class turns it into URLs and the context of
the citizen templates (question page, check answers), so that both faces render the same pages
from the same code. A subclass names its endpoints and keeps its answers where it likes (a form
session for citizens, a preview session for staff).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, url_for
from jinja2 import Environment
from markupsafe import Markup

from .. import answers as answer_forms
from .. import rendering
from ..definition import Definition, Page
from ..journey import Journey
from ..limits import MAX_FIELD
from ..lru import LRU


class CappedForm:
    """A posted form with each value cut to MAX_FIELD characters (``runtime.widgets.FormData``)."""

    def __init__(self, form: Any):
        self.form = form

    def getlist(self, key: str) -> list[str]:
        return [str(value)[:MAX_FIELD] for value in self.form.getlist(key)]


class ReadingForm:
    """A posted form that notes each field a page's questions read (``runtime.widgets.FormData``)."""

    def __init__(self, form: Any):
        self.form = form
        self.read: dict[str, None] = {}

    def getlist(self, key: str) -> list[str]:
        self.read[key] = None
        return [str(value) for value in self.form.getlist(key)]


def page_fields(definition: Definition, page: Page, form: Any) -> list[tuple[str, str]]:
    """The fields of a post that ``page`` reads when posted, as posted (every value of a
    multi-valued field, in order; nothing cut or cleaned): the rest of the post is left out.
    What a page asks for is read by the same parser a normal post goes through."""
    reading = ReadingForm(form)
    answer_forms.parse_page(definition, page.questions, reading)
    return [(key, value) for key in reading.read for value in reading.form.getlist(key)]


def hidden_inputs(fields: list[tuple[str, str]]) -> Markup:
    """``fields`` as hidden inputs, escaped; line breaks as character references, which an
    HTML parser keeps exactly (a raw CR LF in an attribute would be read as LF)."""

    def attribute(text: str) -> str:
        return str(Markup.escape(text)).replace("\r", "&#13;").replace("\n", "&#10;")

    return Markup("").join(
        Markup(f'<input type="hidden" name="{attribute(name)}" value="{attribute(value)}">\n') for name, value in fields
    )


class BlankQuestions:
    """The HTML of questions as they are shown before anything is typed in them.

    A question with no answer and no error renders from its definition alone, so it is rendered
    once per definition version (keyed by the definition's content hash: a new version is a new
    key, served at once) and question, and kept in a bounded LRU. What is kept is rendered from
    ``question_view(definition, name, {}, {}, ...)`` itself: it cannot hold an answer, an error,
    a CSRF token or a nonce (those are outside the question). A question is served from here only
    when its view for this citizen is equal to that blank view; any answer or error makes it
    differ, and it is rendered for the citizen as before.
    """

    TEMPLATE = "components/question.html"

    def __init__(self, size: int = 1024):
        self._items: LRU[tuple[str, str, bool], tuple[dict[str, Any], Markup]] = LRU(size)

    def __len__(self) -> int:
        return len(self._items)

    def fragments(self) -> list[Markup]:
        """Everything kept (for tests)."""
        return [html for _view, html in self._items.values()]

    def html(
        self, environment: Environment, definition: Definition, view: dict[str, Any], name: str, as_heading: bool
    ) -> Markup | None:
        """The question's HTML if ``view`` is its blank view, else None (render it yourself)."""
        key = (definition.hash, name, as_heading)
        hit = self._items.get(key)
        if hit is None:
            blank = rendering.question_view(definition, name, {}, {}, as_heading)
            macro = environment.get_template(self.TEMPLATE).module.render_question  # type: ignore[attr-defined]
            hit = self._items.put(key, (blank, Markup(macro(blank))))
        blank, html = hit
        return html if view == blank else None


class ReusedPages:
    """Whole pages that are the same for everyone who is shown them now, rendered once.

    A question page whose questions are all blank and that shows no error depends only on the
    definition version, the page, its Back link and whether the citizen is changing an answer
    (``JourneyPages.reuse_key``), and on the app and its mount point. It is rendered once per
    such key (``runtime.web.common.render_page``) with marks where the request's CSRF token and
    script nonce go, so what is kept never holds either, nor any answer; each request gets a
    copy with its own filled in. Bounded (LRU); the marks are random per process, so no text in
    a definition can be one.
    """

    def __init__(self, size: int = 512):
        self.pages: LRU[tuple[Any, ...], str] = LRU(size)
        mark = secrets.token_hex(16)
        self.token_mark = f"cf-token-{mark}"
        self.nonce_mark = f"cf-nonce-{mark}"

    def fill(self, page: str, *, token: str, nonce: str) -> str:
        return page.replace(self.token_mark, token).replace(self.nonce_mark, nonce)


def blank_questions() -> BlankQuestions | None:
    """This app's cache of blank questions (None in an app made without create_base_app)."""
    return current_app.extensions.get("civicforms.blank_questions")


class JourneyPages:
    start_endpoint: str
    question_endpoint: str
    check_answers_endpoint: str
    item_endpoint: str | None = None  # an add-another question's item page (runtime.web.add_another)
    remove_endpoint: str | None = None  # and its removal page
    upload_endpoint = "uploads.upload_file"  # a file question's posts (runtime.web.uploads)
    remove_file_endpoint = "uploads.remove_file"

    service: Definition
    journey: Journey

    def render(self, template: str, status: int = 200, **context: Any) -> Any:
        """A page of the journey (a citizen template, ``citizen/*.html``), as this face shows it:
        each subclass says how (``runtime.web.common.render_page`` for citizens)."""
        raise NotImplementedError

    @property
    def url_args(self) -> dict[str, Any]:
        """What every URL of the journey needs besides the page (the service's id)."""
        return {"service_id": self.service.id}

    def page_url(self, page: Page | None, **args: Any) -> str:
        """A question page; None: check answers."""
        if page is None:
            return url_for(self.check_answers_endpoint, **self.url_args)
        return url_for(self.question_endpoint, page_id=page.id, **self.url_args, **args)

    def back_url(self, page: Page, change: bool = False) -> str:
        previous = self.journey.previous_page(page)
        if previous is None:
            return url_for(self.start_endpoint, **self.url_args)
        return self.page_url(previous, change="1") if change else self.page_url(previous)

    def raw_answers(self, page: Page) -> dict[str, Any]:
        """The page's form fields filled from the answers so far."""
        raw: dict[str, Any] = {}
        for name in page.questions:
            raw.update(answer_forms.to_raw(self.service, name, self.journey.answers.get(name)))
        return raw

    def question_context(self, page: Page, raw: dict[str, Any], errors: dict[str, str], change: bool) -> dict[str, Any]:
        """What citizen/question.html needs to show ``page``."""
        as_heading = len(page.questions) == 1
        cache = blank_questions()
        questions = []
        for name in page.questions:
            view = rendering.question_view(self.service, name, raw, errors, as_heading)
            if cache is not None:
                # Rendered already, when blank; the template renders the view itself otherwise.
                view["html"] = cache.html(current_app.jinja_env, self.service, view, name, as_heading)
            questions.append(view)
        return {
            "service": self.service,
            "page": page,
            "questions": questions,
            "as_heading": as_heading,
            "errors": rendering.error_summary(self.service, errors),
            # Changing an answer from check answers: "Back" returns there, as Continue does.
            # A stop page reached from a change goes back to the page being changed instead.
            "back_url": self.page_url(None) if change and not page.stop else self.back_url(page, change=change),
            "change": change,
        }

    def reuse_key(self, context: dict[str, Any]) -> tuple[Any, ...] | None:
        """What a question page shown with ``context`` (``question_context``) depends on, when
        it is the same for everyone (``ReusedPages``): no error, every question blank."""
        if context["errors"] or any(view.get("html") is None for view in context["questions"]):
            return None
        return (self.service.hash, context["page"].id, context["back_url"], context["change"])

    def after_answer_url(self, page: Page, answered: Journey, change: bool) -> str:
        """Where Continue leads once ``page`` is answered."""
        if change:
            # Back to check answers, unless the change revealed a question: ask it, still in
            # change mode, so that answering it returns to check answers too.
            gap = answered.first_incomplete
            return self.page_url(gap, change="1") if gap is not None else self.page_url(None)
        return self.page_url(answered.next_page(page))

    def error_url(self, path: str) -> str:
        """Where check answers' error summary sends the citizen for ``path``: its page, or an
        add-another item's own page at the field (``household.1.full_name``: item 2's)."""
        page = self.service.page_of_question.get(path.split(".")[0])
        if page is None:
            return "#main-content"  # an error no question owns (a definition fault) still gets an entry
        item = self.service.item_field(path)
        if item is not None and self.item_endpoint is not None:
            number = item[1] + 1
            at = rendering.anchor(self.service, path)
            return url_for(self.item_endpoint, page_id=page.id, number=number, change="1", **self.url_args) + at
        return self.page_url(page, change="1")

    def check_answers_context(self, errors: dict[str, str]) -> dict[str, Any]:
        """What citizen/check_answers.html needs: the answers with change links, and any errors."""
        summary = [{"text": message, "href": self.error_url(path)} for path, message in errors.items()]
        rows = rendering.summary_rows(
            self.service, self.journey.path, self.journey.answers, lambda page: self.page_url(page, change="1")
        )
        return {
            "service": self.service,
            "rows": rows,
            "errors": summary,
            "back_url": self.page_url(self.journey.last_page),
        }

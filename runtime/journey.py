"""A citizen's way through a service, given their answers: pure, and computed once.

``Journey(compiled_service, answers)`` answers every question a page needs (which pages are
asked, which comes next or before, whether a page can be visited yet, where the first gap
is, which answers count) from one pass over the conditions and one full validation, cached
on the instance. The citizen views, the builder's "try it" and the back office all use it;
none of them decides these things for themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from .definition import Definition, Page
from .validation import CompiledService


class Journey:
    """The pages one set of answers leads through; build a new one when the answers change."""

    def __init__(self, service: CompiledService, answers: Mapping[str, Any]):
        self.service = service
        self.answers: dict[str, Any] = dict(answers)

    @property
    def definition(self) -> Definition:
        return self.service.definition

    @cached_property
    def path(self) -> list[Page]:
        """The pages this citizen is asked, in order, given their answers so far.

        Conditions see only answers from pages already on the path, so an answer left over
        from a page that is now hidden can never steer the journey.
        """
        pages = self.definition.pages
        conditions = self.service.page_conditions
        seen: dict[str, Any] = {}
        path: list[Page] = []
        i = 0
        while i < len(pages):
            page = pages[i]
            condition = conditions.get(page.id)
            if condition is not None and not condition.is_valid(seen):
                i += 1
                continue
            path.append(page)
            if page.stop:
                break
            seen.update({q: self.answers[q] for q in page.questions if q in self.answers})
            i += 1
            for rule, goto in self.service.routes[page.id]:
                if rule.is_valid(seen):
                    i = self.service.index[goto]
                    break
        return path

    @cached_property
    def _position(self) -> dict[str, int]:
        return {page.id: i for i, page in enumerate(self.path)}

    @cached_property
    def visible_answers(self) -> dict[str, Any]:
        """Answers with those on hidden pages removed: what is validated and stored."""
        return {q: self.answers[q] for page in self.path for q in page.questions if q in self.answers}

    @cached_property
    def errors(self) -> dict[str, str]:
        """Every problem with the visible answers: ``{field path: message}``."""
        return self.service.validate(self.visible_answers)

    @cached_property
    def first_incomplete(self) -> Page | None:
        """The first page on the path that still has an error, or is a stop page.

        None means every page is answered and the citizen can check and send. One full
        validation serves every page, rather than one per page.
        """
        wrong = {path.split(".")[0] for path in self.errors}
        for page in self.path:
            if page.stop or wrong.intersection(page.questions):
                return page
        return None

    @property
    def complete(self) -> bool:
        """Every page asked is answered: the citizen can check their answers and send."""
        return self.first_incomplete is None

    def on_path(self, page: Page) -> bool:
        return page.id in self._position

    def can_visit(self, page: Page) -> bool:
        """Asked on this journey and reached: not after the first page still to answer."""
        if not self.on_path(page):
            return False
        gap = self.first_incomplete
        return gap is None or self._position[page.id] <= self._position[gap.id]

    def next_page(self, page: Page) -> Page | None:
        """The page after ``page`` on the path; None means check answers comes next."""
        at = self._position.get(page.id)
        if at is None or at + 1 >= len(self.path):
            return None
        return self.path[at + 1]

    def previous_page(self, page: Page) -> Page | None:
        """The page before ``page`` on the path; None means the start page comes before."""
        at = self._position.get(page.id)
        return self.path[at - 1] if at else None

    @property
    def last_page(self) -> Page:
        return self.path[-1]

    # -- answering a page -------------------------------------------------------------------

    def answer(self, page: Page, given: Mapping[str, Any]) -> Journey:
        """The journey once ``page`` is answered with ``given`` (its unanswered questions cleared).

        Answers on pages that become hidden are kept, so that changing an answer back loses
        nothing; they are never shown, validated or stored, since all of that works on
        ``visible_answers``.
        """
        merged = {k: v for k, v in self.answers.items() if k not in page.questions} | dict(given)
        return Journey(self.service, merged)

    def page_errors(self, page: Page) -> dict[str, str]:
        """Problems with one page's answers, in the context of the rest of the journey.

        Cross-field rules (``if``/``then``) see every visible answer; only the errors about
        this page's questions are reported.
        """
        own = set(page.questions)
        if self.on_path(page):
            # The visible answers already hold this page's answers, in the same order: this is
            # the validation ``errors`` is, done once for both (and for ``first_incomplete``).
            errors = self.errors
        else:
            answers = self.visible_answers | {q: self.answers[q] for q in page.questions if q in self.answers}
            errors = self.service.validate(answers)
        return {path: msg for path, msg in errors.items() if path.split(".")[0] in own}

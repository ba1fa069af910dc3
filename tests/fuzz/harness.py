"""Sending hostile posts to one page of a service and checking what a citizen would notice.

``PageFuzzer(app, service_id, page_id)`` starts a journey with its own client, answers the
earlier pages validly (the happy path of ``tests/journeys.py``, or a variation of it that
reaches a page the happy path skips), then ``send(post)`` sends one post to the target page
and returns the problems found:

- never a 5xx;
- 200 only as the page again with a GOV.UK error summary (title starting "Error:");
- 303 only to a page of this site, and then the page's stored answers valid against the
  schema (``Journey.page_errors``, the runtime's own compiled validator), no key stored that is
  not a question, no control character other than a line break or tab stored;
- 4xx with an error page (a heading), a wrong or missing CSRF token always 400, a body over the
  size limit 413, a post to a stop page 405;
- anything but a 303 leaves the stored answers as they were.

``finish()`` then completes the journey validly where it can and sends it, and
``invalid_submissions(engine)`` checks every stored submission against its version's schema.
Used by ``tests/fuzz/test_fuzz_pages.py`` and ``scripts/fuzz.py``; no pytest import here.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlmodel import select

from runtime import db as dbmod
from runtime import versions
from runtime.data import form_sessions
from runtime.definition import Definition, Page
from runtime.journey import Journey
from runtime.models import Submission
from runtime.validation import CompiledService, compiled
from tests.journeys import HAPPY_PATHS, has_files, multipart_fields, step_answers, upload_url

from .strategies import REFUSED_CSRF, WRONG_TYPES, Post, valid_data

Steps = list[tuple[str, dict[str, Any]]]

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.S)


class _Capture(logging.Handler):
    """Keeps the last unhandled error the app logged, for the report of a 5xx."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.last: str = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            self.last = f"{type(error).__name__}: {str(error)[:300]}"


def _has_control(value: Any) -> bool:
    if isinstance(value, str):
        return any(ord(ch) < 32 and ch not in "\n\t" or 0x7F <= ord(ch) < 0xA0 for ch in value)
    if isinstance(value, dict):
        return any(_has_control(k) or _has_control(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_control(v) for v in value)
    return False


def _variations(definition: Definition, steps: Steps) -> Iterator[Steps]:
    """The happy path, then the happy path with one choice answered differently."""
    yield steps
    for i, (page_id, data) in enumerate(steps):
        page = definition.page_by_id[page_id.partition("/")[0]]  # "household-members/2": an item's page
        for name in page.questions:
            question = definition.question(name)
            values = ["yes", "no"] if question.widget == "yes-no" else [o.value for o in question.options]
            for value in values:
                changed = {**data, name: [value] if question.widget == "checkboxes" else value}
                yield [*steps[:i], (page_id, changed), *steps[i + 1 :]]


def route_to(service: CompiledService, service_id: str, page_id: str) -> Steps:
    """Valid answers to the earlier pages, the fewest after which ``page_id`` can be visited.

    Worked out with the pure ``Journey`` (no requests), from the happy path and its variations.
    """
    definition = service.definition
    target = definition.page_by_id[page_id]
    for steps in _variations(definition, HAPPY_PATHS[service_id]):
        journey = Journey(service, {})
        for i in range(len(steps) + 1):
            if journey.can_visit(target):
                return steps[:i]
            if i == len(steps):
                break
            step_id, data = steps[i]
            page, given = step_answers(definition, step_id, data, journey.answers)
            if not journey.can_visit(page):
                break
            if given is not None:  # None: "Do you need to add another?"
                journey = journey.answer(page, given)
    raise LookupError(f"{service_id}: no valid answers found that reach {target.id}")


@dataclass
class Tally:
    """What a run saw: statuses, problems, and one example of each kind of problem."""

    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: int = 0
    invalid_stored: int = 0
    other: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, status: int, problems: list[str], where: str, post: Post) -> None:
        self.cases += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if not problems:
            return
        if status >= 500:
            self.server_errors += 1
        elif any(p.startswith("stored") for p in problems):
            self.invalid_stored += 1
        else:
            self.other += 1
        if len(self.examples) < 20:
            self.examples.append(f"{where} {status}: {'; '.join(problems)}\n    {post.describe()}")


class PageFuzzer:
    """One citizen, a journey up to one page, and hostile posts to that page."""

    def __init__(self, app: Flask, service_id: str, page_id: str, route: Steps | None = None):
        """``route``: the steps posted first (default ``route_to``'s); ``page_id`` may be an
        add-another item's page ("household-members/2"), then reached by the steps given."""
        self.app = app
        self.engine = app.extensions["civicforms.engine"]
        self.max_post_bytes: int = app.extensions["civicforms.settings"].max_post_bytes
        self.service_id = service_id
        with dbmod.session(self.engine) as s:
            found = versions.definition(session=s, service_id=service_id)
        assert found is not None, service_id
        self.definition: Definition = found
        self.service = compiled(found)
        self.page: Page = found.page_by_id[page_id.partition("/")[0]]
        self.listed = next((q for q in self.page.questions if found.widget(q) == "add-another"), None)
        self.url = f"/services/{service_id}/{page_id}"
        self.capture = _Capture()
        app.logger.addHandler(self.capture)
        self.client = app.test_client()
        self.token = self._token(f"/services/{service_id}")
        self._post(f"/services/{service_id}/start", {})
        for step_id, data in route if route is not None else route_to(self.service, service_id, page_id):
            response = self._post(f"/services/{service_id}/{step_id}", data)
            assert response.status_code == 303, (service_id, step_id, response.status_code)
        response = self.client.get(self.url)
        assert response.status_code == 200, (self.url, response.status_code, response.headers.get("Location"))

    def close(self) -> None:
        self.app.logger.removeHandler(self.capture)

    # -- requests -----------------------------------------------------------------------

    def _token(self, url: str) -> str:
        found = _CSRF_FIELD.search(self.client.get(url).get_data(as_text=True))
        assert found is not None, f"no CSRF token on {url}"
        return found.group(1)

    def _post(self, url: str, data: dict[str, Any]) -> Any:
        if has_files(data):  # a file question's page: its upload form, with Continue
            fields, files = multipart_fields(data)
            uploads = {name: (io.BytesIO(f.content), f.name, f.mime) for name, f in files.items()}
            return self.client.post(upload_url(url), data={**fields, **uploads, "csrf_token": self.token})
        return self.client.post(url, data={**data, "csrf_token": self.token})

    def stored(self) -> dict[str, Any] | None:
        """The answers of this citizen's form session for the service, as committed."""
        with self.client.session_transaction() as cookie:
            tokens = cookie.get("forms") or {}
        with dbmod.session(self.engine) as s:
            row = form_sessions.get_form_session(session=s, token=tokens.get(self.service_id))
            return None if row is None else dict(row.answers)

    # -- one case -----------------------------------------------------------------------

    def expected(self, post: Post, size: int) -> set[int]:
        """The statuses a post may get, from what it is (not from what the runtime does)."""
        if size > self.max_post_bytes and post.encoding not in WRONG_TYPES:
            return {413}
        if post.csrf in REFUSED_CSRF or post.encoding in WRONG_TYPES:
            return {400, 413}
        if self.page.stop:
            return {405} if post.encoding == "urlencoded" else {400, 405}
        if post.encoding == "urlencoded":
            return {200, 303}
        return {200, 303, 400}  # raw bytes, multipart or another charset that are not UTF-8: refused

    def send(self, post: Post) -> tuple[int, list[str]]:
        """Send one post; ``(status, problems)``, no problems when every invariant holds."""
        before = self.stored()
        body, content_type = post.body(self.token)
        headers = {"Content-Type": content_type} if content_type else {}
        self.capture.last = ""
        response = self.client.post(self.url + post.query, data=body, headers=headers)
        status = response.status_code
        html = response.get_data(as_text=True)
        problems: list[str] = []
        if status >= 500:
            problems.append(f"server error {status} ({self.capture.last or 'no exception logged'})")
        elif status not in self.expected(post, len(body)):
            problems.append(f"unexpected status {status}, expected {sorted(self.expected(post, len(body)))}")
        title = _TITLE.search(html)
        if status == 200:
            if "govuk-error-summary" not in html or not (title and title.group(1).startswith("Error:")):
                problems.append("a 200 without a GOV.UK error summary")
        elif status == 303:
            problems += self._check_saved(response.headers.get("Location", ""))
        elif 400 <= status < 500 and "<h1" not in html:
            problems.append(f"a {status} without an error page")
        if status != 303 and self.stored() != before:
            problems.append("stored answers changed by a post that was not accepted")
        return status, problems

    def _check_saved(self, location: str) -> list[str]:
        problems: list[str] = []
        if not location.startswith(f"/services/{self.service_id}/"):
            problems.append(f"a 303 to {location[:100]!r}")
        answers = self.stored()
        if answers is None:
            return [*problems, "stored: the form session is gone after a 303"]
        errors = self._item_errors(answers) if self.listed else Journey(self.service, answers).page_errors(self.page)
        if errors:
            problems.append(f"stored answers the schema rejects: {errors}")
        junk = set(answers) - set(self.definition.questions)
        if junk:
            problems.append(f"stored keys that are not questions: {sorted(junk)[:5]}")
        own = {q: answers[q] for q in self.page.questions if q in answers}
        if _has_control(own):
            problems.append(f"stored a control character: {own!r:.200}")
        return problems

    def _item_errors(self, answers: dict[str, Any]) -> dict[str, str]:
        """An add-another list's page stores one item at a time, each checked alone by its own
        questions (how many there are is checked when the citizen says they have added everyone)."""
        assert self.listed is not None
        value = answers.get(self.listed, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return {self.listed: f"not a list of items: {value!r:.100}"}
        each = compiled(self.definition.item_definition(self.listed))
        return {f"{self.listed}.{i}.{k}": v for i, item in enumerate(value) for k, v in each.validate(item).items()}

    # -- the end of the journey -----------------------------------------------------------

    def finish(self) -> str:
        """Complete the journey with valid answers and send it; says how it ended."""
        happy = dict(HAPPY_PATHS[self.service_id])
        check = f"/services/{self.service_id}/check-answers"
        for _ in range(2 * len(self.definition.pages) + 2):
            response = self.client.get(check)
            if response.status_code == 200:
                sent = self._post(check, {})
                return "sent" if sent.status_code == 303 else f"not sent ({sent.status_code})"
            location = response.headers.get("Location", "")
            page_id = location.rsplit("/", 1)[-1]
            page = self.definition.page_by_id.get(page_id)
            if response.status_code != 303 or page is None:
                return f"check answers gave {response.status_code} {location[:80]}"
            if page.stop:
                return "stopped"
            listed = next((q for q in page.questions if self.definition.widget(q) == "add-another"), None)
            if listed is not None:  # its first item's questions, then "No" once it has one
                added = (self.stored() or {}).get(listed)
                first = next(d for step, d in HAPPY_PATHS[self.service_id] if step == page_id)
                data = {"add-another": "no"} if added else first
            else:
                data = happy.get(page_id) or valid_data(self.definition, page)
            self._post(location, data)
        return "not complete"


def submission_count(engine: Any) -> int:
    with dbmod.session(engine) as s:
        return len(s.exec(select(Submission.id)).all())


def invalid_submissions(engine: Any) -> list[str]:
    """Every submission whose answers its own version's schema rejects."""
    bad: list[str] = []
    with dbmod.session(engine) as s:
        for row in s.exec(select(Submission)):
            definition = versions.definition(session=s, service_id=row.service_id, version=row.service_version)
            errors = {"definition": "missing"} if definition is None else compiled(definition).validate(row.answers)
            if errors:
                bad.append(f"{row.reference} ({row.service_id}): {errors}")
    return bad


__all__ = ["PageFuzzer", "Tally", "invalid_submissions", "route_to", "submission_count"]

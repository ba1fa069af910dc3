"""Property-based fuzzing of every page of every shipped service (hypothesis, seeded and small).

Each page is reached by a real journey (earlier pages answered validly), then sent hostile
posts built from its definition (``tests/fuzz/strategies.py``); ``tests/fuzz/harness.py``
checks what comes back: a 200 with a GOV.UK error summary, a 303 with answers the schema
accepts, or a 4xx error page, and never a 5xx. ``scripts/fuzz.py`` runs the same with
10,000 cases or more; see docs/security.md.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings

from runtime.data import form_sessions
from runtime.definition import Definition, read_file
from runtime.validation import compiled
from runtime.web import citizen as citizen_views
from tests.conftest import DEFINITIONS, SERVICE_IDS
from tests.journeys import HAPPY_PATHS

from .harness import PageFuzzer, invalid_submissions, route_to
from .strategies import Post, posts, valid_data

SHIPPED = {sid: Definition(read_file(DEFINITIONS / f"{sid}.json")) for sid in SERVICE_IDS}
# A file question's page takes no typed fields: its posts (files of every kind, hostile names,
# sizes, EICAR, no token) are tested in tests/runtime/test_uploads_pages.py.
FILE_PAGES = [(sid, p.id) for sid, d in SHIPPED.items() for p in d.pages if set(p.questions) & set(d.file_questions)]
TARGETS = [(sid, page.id) for sid, d in SHIPPED.items() for page in d.pages if (sid, page.id) not in FILE_PAGES]
EXAMPLES_PER_PAGE = 12

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_PAGE,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def test_every_shipped_page_is_a_target() -> None:
    # Every page, the ones the happy path skips (stop pages, other branches) too, can be reached.
    assert len(TARGETS) + len(FILE_PAGES) == sum(len(d.pages) for d in SHIPPED.values()) >= 37
    for service_id, page_id in TARGETS:
        route_to(compiled(SHIPPED[service_id]), service_id, page_id)


@pytest.mark.parametrize(("service_id", "page_id"), TARGETS, ids=[f"{s}:{p}" for s, p in TARGETS])
def test_hostile_posts_get_an_error_page_or_valid_stored_answers(app: Flask, service_id: str, page_id: str) -> None:
    fuzzer = PageFuzzer(app, service_id, page_id)
    page = fuzzer.page
    valid = dict(dict(HAPPY_PATHS[service_id]).get(page_id) or valid_data(fuzzer.definition, page))
    seen: set[int] = set()

    @FUZZ_SETTINGS
    @given(post=posts(fuzzer.definition, page, valid))
    def hostile(post: Post) -> None:
        status, problems = fuzzer.send(post)
        seen.add(status)
        assert not problems, (status, problems, post.describe())

    try:
        hostile()
    finally:
        fuzzer.close()
    assert seen, "no post was sent"
    assert max(seen) < 500
    # Whatever was stored, the journey still completes and its submission is valid.
    ended = fuzzer.finish()
    assert ended in {"sent", "stopped"}, ended
    assert invalid_submissions(fuzzer.engine) == []


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_the_valid_answer_of_each_page_is_accepted_by_the_harness(app: Flask, service_id: str) -> None:
    # The harness's own check: an honest post gets a 303 and no problems, a forged token a 400,
    # or the fuzz tests above could pass by refusing everything.
    path = HAPPY_PATHS[service_id]
    for i, (page_id, data) in enumerate(path):
        if (service_id, page_id) in FILE_PAGES:
            continue  # its form is multipart: tests/runtime/test_uploads_pages.py
        fuzzer = PageFuzzer(app, service_id, page_id, route=path[:i])  # the happy path so far
        try:
            assert fuzzer.send(Post.of(data)) == (303, []), page_id
            assert fuzzer.send(Post.of(data, csrf="wrong")) == (400, []), page_id
        finally:
            fuzzer.close()


def test_the_harness_reports_a_server_error_and_a_stored_answer_the_schema_rejects(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The harness's other check: it must notice the two faults the fuzz tests look for.
    fuzzer = PageFuzzer(app, "blue-badge", "where-you-live")
    honest = Post.of({"lives_in_area": "yes"})
    real_save = form_sessions.save_answers

    def save_something_else(**kwargs: Any) -> None:
        real_save(**{**kwargs, "answers": {**kwargs["answers"], "lives_in_area": "maybe", "is_admin": True}})

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a fault put here by the test")

    try:
        with monkeypatch.context() as patch:
            patch.setattr(form_sessions, "save_answers", save_something_else)
            status, problems = fuzzer.send(honest)
        assert status == 303
        assert any(p.startswith("stored answers the schema rejects: {'lives_in_area'") for p in problems), problems
        assert "stored keys that are not questions: ['is_admin']" in problems
        with monkeypatch.context() as patch:
            patch.setattr(citizen_views.answer_forms, "parse_page", broken)
            status, problems = fuzzer.send(honest)
        assert status == 500
        assert problems == ["server error 500 (RuntimeError: a fault put here by the test)"]
    finally:
        fuzzer.close()

"""Patterns run with RE2: no pattern can pin a worker, and validate refuses what RE2 cannot run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema._keywords
import jsonschema._utils
import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session

from runtime.checker import check
from runtime.cli import main
from runtime.data import published
from runtime.definition import Definition, dumps
from runtime.dialect import _validator, compile_pattern
from runtime.validation import CompiledService
from runtime.workflow import Workflow
from tests.conftest import DEFINITIONS, Citizen, page
from tests.core.sample import sample_doc

Doc = dict[str, Any]

# The worst patterns known for a backtracking engine: Python's re takes hours on 10,000
# characters of the right input (0.2 s on 33 characters of "a" followed by "!", doubling for
# every two more).
WORST = ["^(a|aa)+$", "^(a|a?)+$", "^(.*a){12}$", "^\\d*\\d*\\d*\\d*x$"]
HOSTILE = ["a" * 9_999 + "!", "1" * 10_000, "a" * 10_000]
BOUND = 0.5  # seconds of this thread's CPU (the same on a loaded machine); RE2 takes about a millisecond


def validate(tmp_path: Path, doc: Doc) -> Result:
    path = tmp_path / f"{doc['id']}.json"
    path.write_text(dumps(doc), encoding="utf-8")
    return CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)


def with_pattern(pattern: str) -> Doc:
    doc = sample_doc()
    doc["schema"]["properties"]["notes"]["pattern"] = pattern
    return doc


class _NoPythonRe:
    """Stands in for the re module inside jsonschema: any call fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"jsonschema called Python's re.{name} on a definition pattern")


@pytest.fixture
def no_python_re(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonschema._keywords, "re", _NoPythonRe())
    monkeypatch.setattr(jsonschema._utils, "re", _NoPythonRe())


# -- refused at validate, with the reason -------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("^(?=.*[0-9])[a-z0-9]+$", "not supported: lookahead"),
        ("^(?!admin)[a-z]+$", "not supported: lookahead"),
        ("(?<=£)[0-9]+", "not supported: lookbehind"),
        ("(?<!x)y", "not supported: lookbehind"),
        ("^(a)\\1$", "not supported: backreferences"),
        ("^(?<q>['\"]).*\\k<q>$", "not supported: backreferences"),
        ("^(?>a+)b$", "not supported: atomic groups"),
        ("^a++$", "not supported: possessive repetition"),
        ("^.{0,5000}$", "not supported: a repetition count above 1000"),
        ("^(ab$", "not a pattern Civic Forms can check (missing )"),
    ],
)
def test_validate_refuses_a_pattern_re2_cannot_run_with_the_reason(tmp_path: Path, pattern: str, reason: str) -> None:
    result = validate(tmp_path, with_pattern(pattern))
    assert result.exit_code == 1
    line = result.stdout.strip()
    assert "$.schema.properties.notes.pattern: " in line, line
    assert reason in line, line
    assert len(line.splitlines()) == 1, line


@pytest.mark.parametrize(
    ("where", "place"),
    [
        ("show_if", lambda d: d["pages"][4].update(show_if={"properties": {"full_name": {"pattern": "(?=a)"}}})),
        (
            "next",
            lambda d: d["pages"][0].update(
                next=[{"if": {"properties": {"full_name": {"pattern": "(a)\\1"}}}, "goto": "contact"}]
            ),
        ),
    ],
)
def test_patterns_in_conditions_and_routing_are_checked_too(where: str, place: Any) -> None:
    doc = sample_doc()
    place(doc)
    problems = [p for p in check(doc) if p.path.endswith(".pattern")]
    assert len(problems) == 1, check(doc)
    assert problems[0].path.startswith(f"$.pages[{4 if where == 'show_if' else 0}]")
    assert "not supported" in problems[0].message


def test_a_guard_with_a_lookahead_is_refused_at_its_path() -> None:
    doc = sample_doc()
    doc["workflow"] = json.loads(json.dumps(DEFAULT_GUARDED))
    problems = check(doc)
    assert [(p.path, p.message) for p in problems] == [
        (
            "$.workflow.transitions[0].guard.properties.notes.pattern",
            "'^(?=x)' is not supported: lookahead",
        )
    ]


DEFAULT_GUARDED: Doc = {
    "initial": "received",
    "states": {"received": {"label": "Received"}, "done": {"label": "Done", "final": True}},
    "transitions": [
        {
            "from": "received",
            "action": "approve",
            "label": "Approve",
            "to": "done",
            "roles": ["caseworker"],
            "guard": {"properties": {"notes": {"pattern": "^(?=x)"}}},
        },
        {"from": "received", "action": "approve", "label": "Approve", "to": "done", "roles": ["caseworker"]},
    ],
}


def test_nested_repetition_is_no_longer_refused_since_re2_runs_it_in_linear_time(tmp_path: Path) -> None:
    for pattern in ["^(\\w+\\s?)*$", "^(a{1,5}){2,}$", *WORST]:
        result = validate(tmp_path, with_pattern(pattern))
        assert result.exit_code == 0, (pattern, result.stdout)


def test_every_shipped_definition_still_validates() -> None:
    shipped = sorted(DEFINITIONS.glob("*.json"))
    assert len(shipped) == 6
    result = CliRunner().invoke(main, ["validate", *map(str, shipped)], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout


# -- the runtime: linear time everywhere a pattern is evaluated ----------------------------------


def _timed(run: Any) -> float:
    start = time.thread_time()
    run()
    return time.thread_time() - start


@pytest.mark.parametrize("pattern", WORST)
def test_the_compiled_validator_takes_milliseconds_on_the_worst_patterns(pattern: str, no_python_re: None) -> None:
    doc = with_pattern(pattern)
    doc["schema"]["properties"]["notes"]["maxLength"] = 500  # every keyword is evaluated all the same
    service = CompiledService(Definition(doc))
    for text in HOSTILE:
        took = _timed(lambda text=text: service.validate({"notes": text}))
        print(f"{pattern!r} on {len(text):,} characters: {took * 1000:.1f} ms")  # noqa: T201
        assert took < BOUND, (pattern, took)


@pytest.mark.parametrize("pattern", WORST)
def test_conditions_routing_and_guards_take_milliseconds_too(pattern: str, no_python_re: None) -> None:
    condition = {"properties": {"full_name": {"pattern": pattern}}, "required": ["full_name"]}
    doc = sample_doc()
    doc["pages"][4]["show_if"] = condition
    doc["pages"][0]["next"] = [{"if": condition, "goto": "contact"}]
    service = CompiledService(Definition(doc))
    section = json.loads(json.dumps(DEFAULT_GUARDED))
    section["transitions"][0]["guard"] = condition
    workflow = Workflow.from_section(section)
    for text in HOSTILE:
        answers = {"full_name": text}
        took = _timed(lambda answers=answers: service.page_conditions[doc["pages"][4]["id"]].is_valid(answers))
        took += _timed(
            lambda answers=answers: [rule.is_valid(answers) for rule, _ in service.routes[doc["pages"][0]["id"]]]
        )
        took += _timed(lambda answers=answers: workflow.actions("received", answers))
        print(f"conditions with {pattern!r} on {len(text):,} characters: {took * 1000:.1f} ms")  # noqa: T201
        assert took < BOUND, (pattern, took)


def test_patterns_match_as_ecma_262_does() -> None:
    digits = _validator({"pattern": "^\\d+$"})
    assert digits.is_valid("2024")
    assert not digits.is_valid("١٢٣")  # Arabic-Indic digits: \d is ASCII in ECMA-262 (Python's re took them)
    assert not _validator({"pattern": "^abc$"}).is_valid("abc\n")  # $ is the very end
    assert _validator({"pattern": "^caf\\u00e9$"}).is_valid("café")  # \uXXXX escapes
    assert _validator({"pattern": "b"}).is_valid("abc")  # search, not a full match, as JSON Schema says
    assert not _validator({"pattern": "^\\w+$"}).is_valid("naïve")  # \w is ASCII
    assert _validator({"pattern": "^a"}).is_valid("a\ud800")  # a lone surrogate is no crash


def test_compiled_patterns_are_cached() -> None:
    assert compile_pattern("^[A-Z]{2}[0-9]{6}$") is compile_pattern("^[A-Z]{2}[0-9]{6}$")


def test_a_pattern_re2_cannot_run_refuses_the_answer_at_runtime_instead_of_backtracking() -> None:
    # Only a definition that skipped the checker can hold one: it is never run by Python's re.
    validator = _validator({"type": "string", "pattern": "^(a)\\1$"})
    assert not validator.is_valid("aa")


# -- through the citizen runtime ----------------------------------------------------------------


def _crew_notes(pattern: str) -> Doc:
    return {
        "format": "civicforms/1",
        "id": "crew-notes",
        "version": 1,
        "title": "Send notes to the crew",
        "description": "Notes for the waste collection crew.",
        "reference_prefix": "CRW",
        "start": {"body": ["Send notes to the crew."]},
        "identity": {"full_name": "full_name"},
        "schema": {
            "type": "object",
            "properties": {
                "full_name": {"type": "string", "maxLength": 100},
                "crew_notes": {"type": "string", "maxLength": 20_000, "pattern": pattern},
            },
            "required": ["full_name", "crew_notes"],
            "additionalProperties": False,
        },
        "questions": {
            "full_name": {"label": "What is your full name?", "widget": "text"},
            "crew_notes": {"label": "Notes for the crew", "widget": "textarea"},
        },
        "pages": [{"id": "notes", "title": "Your notes", "questions": ["full_name", "crew_notes"]}],
        "confirmation": {"title": "Notes sent", "next_steps": ["The crew will read them."]},
    }


@pytest.mark.parametrize("pattern", WORST)
def test_a_10000_character_answer_to_the_worst_patterns_is_answered_in_milliseconds(
    pattern: str, citizen: Citizen, db_session: Session, no_python_re: None
) -> None:
    doc = _crew_notes(pattern)
    assert check(doc) == []  # RE2 runs any pattern it compiles in linear time: nothing to refuse
    published.publish(session=db_session, doc=doc, create_departments=True)
    db_session.commit()
    assert citizen.start("crew-notes").status_code == 303
    url = "/services/crew-notes/notes"
    for text in HOSTILE:
        token = citizen.csrf(url)
        form = {"full_name": "Ada Lovelace", "crew_notes": text, "csrf_token": token}
        start = time.thread_time()  # the test client answers in this thread
        response = citizen.client.post(url, data=form)
        took = time.thread_time() - start
        print(f"POST with {pattern!r} and {len(text):,} characters: {took * 1000:.1f} ms, {response.status_code}")  # noqa: T201
        assert took < BOUND, (pattern, took)
        matches = compile_pattern(pattern).search(text) is not None
        if matches:
            assert response.status_code == 303
        else:
            assert response.status_code == 200
            errors = [a.get_text(" ", strip=True) for a in page(response).select(".govuk-error-summary a")]
            assert errors == ["Enter notes for the crew in the correct format"]

"""`civicforms validate` on the workflow section: each bad case gives one `file: json-path: message` line."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from runtime.checker import check
from runtime.cli import main
from runtime.definition import dumps
from runtime.workflow import DEFAULT_SECTION, known_roles, problems
from tests.conftest import DEFINITIONS
from tests.core.sample import sample_doc
from tests.core.test_workflow import grant_section

Doc = dict[str, Any]


def with_workflow() -> Doc:
    doc = sample_doc()
    doc["workflow"] = grant_section()
    return doc


def validate(tmp_path: Path, doc: Doc) -> Result:
    path = tmp_path / f"{doc['id']}.json"
    path.write_text(dumps(doc), encoding="utf-8")
    return CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)


def wf(doc: Doc) -> dict[str, Any]:
    return doc["workflow"]  # type: ignore[no-any-return]


def states(doc: Doc) -> dict[str, Any]:
    return wf(doc)["states"]  # type: ignore[no-any-return]


def transitions(doc: Doc) -> list[dict[str, Any]]:
    return wf(doc)["transitions"]  # type: ignore[no-any-return]


def test_a_good_workflow_passes_validate(tmp_path: Path) -> None:
    result = validate(tmp_path, with_workflow())
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_the_default_workflow_is_itself_valid() -> None:
    doc = sample_doc()
    doc["workflow"] = DEFAULT_SECTION
    assert check(doc) == []


def test_every_shipped_definition_passes_with_its_own_or_the_default_workflow() -> None:
    shipped = sorted(DEFINITIONS.glob("*.json"))
    assert len(shipped) == 6
    with_steps = [path.stem for path in shipped if "workflow" in json.loads(path.read_text(encoding="utf-8"))]
    assert with_steps == ["council-tax-single-person-discount"]  # the others get the default review step
    result = CliRunner().invoke(main, ["validate", *map(str, shipped)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr == "6 definitions OK\n"


def _unreachable(doc: Doc) -> None:
    states(doc)["archived"] = {"label": "Archived", "final": True}


def _stuck(doc: Doc) -> None:
    states(doc)["on-hold"] = {"label": "On hold"}
    transitions(doc).append(
        {"from": "received", "action": "hold", "label": "Put on hold", "to": "on-hold", "roles": ["caseworker"]}
    )


def _loop(doc: Doc) -> None:
    states(doc)["a"] = {"label": "A"}
    states(doc)["b"] = {"label": "B"}
    transitions(doc).extend(
        [
            {"from": "received", "action": "to-a", "label": "A", "to": "a", "roles": ["caseworker"]},
            {"from": "a", "action": "to-b", "label": "B", "to": "b", "roles": ["caseworker"]},
            {"from": "b", "action": "to-a", "label": "A", "to": "a", "roles": ["caseworker"]},
        ]
    )


def _only_information(doc: Doc) -> None:
    states(doc)["waiting"] = {"label": "Waiting"}
    transitions(doc).extend(
        [
            {"from": "received", "action": "wait", "label": "Wait", "to": "waiting", "roles": ["caseworker"]},
            {"from": "waiting", "action": "ask", "label": "Ask", "roles": ["caseworker"], "request_information": True},
        ]
    )


def _shadowed(doc: Doc) -> None:
    transitions(doc).insert(
        0, {"from": "received", "action": "approve", "label": "Approve", "to": "approved", "roles": ["caseworker"]}
    )


def _guard(guard: Any) -> Callable[[Doc], None]:
    return lambda d: transitions(d)[0].update(guard=guard)


# (id, how to break the workflow, the JSON path of the problem, a part of its message)
BROKEN: list[tuple[str, Callable[[Doc], Any], str, str]] = [
    ("unknown initial", lambda d: wf(d).update(initial="start"), "$.workflow.initial", 'no state has the id "start"'),
    (
        "final initial",
        lambda d: wf(d).update(initial="approved"),
        "$.workflow.initial",
        'the first state "approved" cannot be final',
    ),
    (
        "unknown from",
        lambda d: transitions(d)[2].update({"from": "recieved"}),
        "$.workflow.transitions[2].from",
        'no state has the id "recieved"',
    ),
    (
        "unknown to",
        lambda d: transitions(d)[1].update(to="aproved"),
        "$.workflow.transitions[1].to",
        'no state has the id "aproved"',
    ),
    ("missing to", lambda d: transitions(d)[1].pop("to"), "$.workflow.transitions[1]", 'a transition needs "to"'),
    (
        "to on a request for information",
        lambda d: transitions(d)[5].update(to="approved"),
        "$.workflow.transitions[5].to",
        'returns the case to "from"',
    ),
    (
        "approvals on a request for information",
        lambda d: transitions(d)[5].update(approvals={"mode": "any"}),
        "$.workflow.transitions[5].approvals",
        "not a decision",
    ),
    (
        "unreachable state",
        _unreachable,
        "$.workflow.states.archived",
        'state "archived" cannot be reached from the first state "received"',
    ),
    ("non-final state with no way out", _stuck, "$.workflow.states.on-hold", 'no transition leads out of "on-hold"'),
    (
        "only a request for information out",
        _only_information,
        "$.workflow.states.waiting",
        'no transition leads out of "waiting"',
    ),
    ("a loop that never closes", _loop, "$.workflow.states.a", 'no final state can be reached from "a"'),
    (
        "transition out of a final state",
        lambda d: transitions(d).append(
            {"from": "approved", "action": "reopen", "label": "Reopen", "to": "received", "roles": ["manager"]}
        ),
        "$.workflow.transitions[6].from",
        '"approved" is a final state',
    ),
    (
        "unknown role",
        lambda d: transitions(d)[3].update(roles=["manager", "boss"]),
        "$.workflow.transitions[3].roles[1]",
        '"boss" is not a role; the roles are designer, reviewer, admin',
    ),
    (
        "unknown escalation role",
        lambda d: states(d)["received"].update(escalate_to="supervisor"),
        "$.workflow.states.received.escalate_to",
        '"supervisor" is not a role',
    ),
    (
        "escalation without a deadline",
        lambda d: states(d)["received"].pop("deadline"),
        "$.workflow.states.received.escalate_to",
        'escalation needs a "deadline"',
    ),
    (
        "years in a deadline",
        lambda d: states(d)["received"].update(deadline="P1Y"),
        "$.workflow.states.received.deadline",
        "years and months are not allowed",
    ),
    (
        "absurd deadline",
        lambda d: states(d)["received"].update(deadline="P99999999D"),
        "$.workflow.states.received.deadline",
        "too long: a deadline can be at most 366 days",
    ),
    (
        "negative deadline",
        lambda d: states(d)["received"].update(deadline="-P1D"),
        "$.workflow.states.received.deadline",
        "cannot be negative",
    ),
    (
        "garbage deadline",
        lambda d: states(d)["received"].update(deadline="ten days"),
        "$.workflow.states.received.deadline",
        "is not a duration like P10D",
    ),
    (
        "deadline on a final state",
        lambda d: states(d)["approved"].update(deadline="P1D"),
        "$.workflow.states.approved.deadline",
        "a final state has no deadline",
    ),
    (
        "quorum without a count",
        lambda d: transitions(d)[3].update(approvals={"mode": "quorum"}),
        "$.workflow.transitions[3].approvals",
        'a quorum needs "count", 2 or more',
    ),
    (
        "quorum of one",
        lambda d: transitions(d)[3].update(approvals={"mode": "quorum", "count": 1}),
        "$.workflow.transitions[3].approvals.count",
        'a quorum needs "count", 2 or more',
    ),
    (
        "count without a quorum",
        lambda d: transitions(d)[3].update(approvals={"mode": "any", "count": 3}),
        "$.workflow.transitions[3].approvals.count",
        '"count" only goes with "quorum"',
    ),
    (
        "all of two roles",
        lambda d: transitions(d)[3].update(approvals={"mode": "all"}, roles=["manager", "caseworker"]),
        "$.workflow.transitions[3].approvals.mode",
        "name exactly one",
    ),
    ("shadowed transition", _shadowed, "$.workflow.transitions[2]", "never used: transition 0"),
    (
        "guard names an unknown answer",
        _guard({"properties": {"amount": {"minimum": 10000}}, "required": ["amount"]}),
        "$.workflow.transitions[0].guard",
        'the guard uses "amount", which is not an answer in this service',
    ),
    (
        "guard names an unknown answer deep in allOf",
        _guard({"allOf": [{"not": {"required": ["salary"]}}]}),
        "$.workflow.transitions[0].guard",
        'the guard uses "salary"',
    ),
    (
        "guard not JSON Schema",
        _guard({"properties": {"pet_count": {"minimum": "ten"}}}),
        "$.workflow.transitions[0].guard",
        "not a valid JSON Schema guard",
    ),
    (
        "guard with a $ref",
        _guard({"$ref": "#/$defs/uk_address"}),
        "$.workflow.transitions[0].guard.$ref",
        "conditions cannot use $ref",
    ),
    (
        "guard with a pattern RE2 cannot run",
        _guard({"properties": {"notes": {"pattern": "(?=a)$"}}}),
        "$.workflow.transitions[0].guard.properties.notes.pattern",
        "not supported: lookahead",
    ),
    (
        "unknown message placeholder",
        lambda d: wf(d).update(messages={"decision": {"subject": "Hi {name}", "body": "Ref {reference}"}}),
        "$.workflow.messages.decision.subject",
        '"{name}" is not a placeholder; use {link}, {reference}, {service}, {state}',
    ),
    (
        "attribute access in a message",
        lambda d: wf(d).update(messages={"decision": {"subject": "Hi", "body": "{reference.__class__}"}}),
        "$.workflow.messages.decision.body",
        "is not a placeholder",
    ),
    (
        "unbalanced brace in a message",
        lambda d: wf(d).update(messages={"submitted": {"subject": "Hi", "body": "Ref {reference"}}),
        "$.workflow.messages.submitted.body",
        "write a literal brace as {{ or }}",
    ),
    # -- the meta-schema -----------------------------------------------------------------------
    ("missing states", lambda d: wf(d).pop("states"), "$.workflow", "'states' is a required property"),
    (
        "unknown workflow key",
        lambda d: wf(d).update(deadline="P1D"),
        "$.workflow",
        "unknown key ('deadline' was unexpected)",
    ),
    (
        "unknown state key",
        lambda d: states(d)["received"].update(colour="red"),
        "$.workflow.states.received",
        "unknown key ('colour' was unexpected)",
    ),
    (
        "unknown transition key",
        lambda d: transitions(d)[0].update(when="always"),
        "$.workflow.transitions[0]",
        "unknown key ('when' was unexpected)",
    ),
    ("states as a list", lambda d: wf(d).update(states=[]), "$.workflow.states", "[] is not of type 'object'"),
    (
        "roles as a string",
        lambda d: transitions(d)[0].update(roles="caseworker"),
        "$.workflow.transitions[0].roles",
        "'caseworker' is not of type 'array'",
    ),
    (
        "no roles",
        lambda d: transitions(d)[0].update(roles=[]),
        "$.workflow.transitions[0].roles",
        "should be non-empty",
    ),
    (
        "final as a string",
        lambda d: states(d)["approved"].update(final="yes"),
        "$.workflow.states.approved.final",
        "'yes' is not of type 'boolean'",
    ),
    (
        "bad comment setting",
        lambda d: transitions(d)[2].update(comment="always"),
        "$.workflow.transitions[2].comment",
        "'always' is not one of ['required', 'optional']",
    ),
    (
        "bad approvals mode",
        lambda d: transitions(d)[3].update(approvals={"mode": "most"}),
        "$.workflow.transitions[3].approvals.mode",
        "'most' is not one of ['all', 'any', 'quorum']",
    ),
    (
        "bad state id",
        lambda d: states(d).update({"Second Approval": {"label": "X"}}),
        "$.workflow.states",
        "'Second Approval' is not in the expected form",
    ),
    (
        "bad action slug",
        lambda d: transitions(d)[0].update(action="Approve it"),
        "$.workflow.transitions[0].action",
        "not in the expected form",
    ),
    (
        "blank label",
        lambda d: states(d)["received"].update(label="  "),
        "$.workflow.states.received.label",
        "not in the expected form",
    ),
    (
        "10,000-character state label",
        lambda d: states(d)["received"].update(label="x" * 10_000),
        "$.workflow.states.received.label",
        "must be 200 characters or less",
    ),
    (
        "10,000-character action label",
        lambda d: transitions(d)[0].update(label="<b>" * 3_400),
        "$.workflow.transitions[0].label",
        "must be 200 characters or less",
    ),
    (
        "10,000-character deadline",
        lambda d: states(d)["received"].update(deadline="P" * 10_000),
        "$.workflow.states.received.deadline",
        "must be 40 characters or less",
    ),
    (
        "unknown message kind",
        lambda d: wf(d).update(messages={"reminder": {"subject": "a", "body": "b"}}),
        "$.workflow.messages",
        "unknown key ('reminder' was unexpected)",
    ),
]


# Cases that are rightly reported in more than one place.
SEVERAL = {
    "a loop that never closes": 2,  # both "a" and "b"
    "shadowed transition": 2,  # the guarded approve and the old unguarded one, both behind the new first
}


@pytest.mark.parametrize(("name", "breaker", "path", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_bad_workflow_is_one_problem_through_the_cli(
    tmp_path: Path, name: str, breaker: Callable[[Doc], Any], path: str, message: str
) -> None:
    doc = with_workflow()
    breaker(doc)
    result = validate(tmp_path, doc)
    assert result.exit_code == 1, result.output
    file = str(tmp_path / "pet-licence.json")
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{file}: {path}: ") and message in line for line in lines), lines
    assert len(lines) == SEVERAL.get(name, 1), lines
    assert all(len(line) < len(file) + 400 for line in lines)  # a hostile value never makes a huge line


def test_known_roles_can_be_passed_to_the_check() -> None:
    doc = with_workflow()
    assert "caseworker" in known_roles() and "manager" in known_roles()
    found = problems(doc, roles=("caseworker",))
    assert [p.path for p in found] == [
        "$.workflow.states.received.escalate_to",
        "$.workflow.transitions[3].roles[0]",
        "$.workflow.transitions[4].roles[0]",
    ]
    assert problems(doc, roles=("caseworker", "manager")) == []


def test_html_in_labels_is_accepted_as_plain_text(tmp_path: Path) -> None:
    doc = with_workflow()
    states(doc)["received"]["label"] = '<img src=x onerror="alert(1)">'
    states(doc)["received"]["citizen_text"] = "<script>alert(1)</script>"
    transitions(doc)[0]["label"] = "</button><b>Approve</b>"
    result = validate(tmp_path, doc)
    assert result.exit_code == 0, result.output


def test_a_deeply_nested_guard_is_refused_quickly_without_crashing() -> None:
    guard: Any = {"required": ["pet_count"]}
    for _ in range(5000):
        guard = {"not": guard}
    doc = with_workflow()
    transitions(doc)[0]["guard"] = guard
    started = time.thread_time()
    found = check(doc)
    assert time.thread_time() - started < 2
    assert [(p.path, p.message) for p in found] == [
        ("$.workflow.transitions[0].guard", "the guard is nested more than 64 levels deep")
    ]


def test_a_deeply_nested_guard_in_a_file_is_refused_by_the_cli(tmp_path: Path) -> None:
    guard: Any = {"required": ["pet_count"]}
    for _ in range(100):
        guard = {"not": guard}
    doc = with_workflow()
    transitions(doc)[0]["guard"] = guard
    result = validate(tmp_path, doc)
    assert result.exit_code == 1
    assert re.search(r": \$: nested more than 64 levels deep$", result.stdout.strip()), result.stdout


def test_a_guard_nested_within_the_limits_is_checked() -> None:
    guard: Any = {"required": ["pet_count"]}
    for _ in range(20):
        guard = {"not": guard}
    doc = with_workflow()
    transitions(doc)[0]["guard"] = guard
    assert check(doc) == []
    guard = {"required": ["wages"]}
    for _ in range(20):
        guard = {"allOf": [guard]}
    transitions(doc)[0]["guard"] = guard
    assert [p.message for p in check(doc)] == ['the guard uses "wages", which is not an answer in this service']


def test_many_problems_are_each_reported(tmp_path: Path) -> None:
    doc = with_workflow()
    wf(doc)["initial"] = "nowhere"
    transitions(doc)[1]["to"] = "nowhere-else"
    transitions(doc)[2]["roles"] = ["nobody"]
    result = validate(tmp_path, doc)
    assert result.exit_code == 1
    paths = [line.split(": ")[1] for line in result.stdout.splitlines()]
    assert "$.workflow.initial" in paths
    assert "$.workflow.transitions[1].to" in paths
    assert "$.workflow.transitions[2].roles[0]" in paths

"""The builder's operations on the approval steps: each returns a new document, keeps what it does
not edit, refuses bad input with a message for the form field, and leaves the checker content."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from builder import operations as ops
from builder import workflow_editing
from builder.conditions import Clause, Condition, EditError
from runtime.checker import check
from runtime.definition import dumps
from runtime.workflow import DEFAULT_SECTION, Workflow

COUNCIL_TAX = Path("form_definitions/council-tax-single-person-discount.json")


def council_tax() -> dict[str, Any]:
    return json.loads(COUNCIL_TAX.read_text(encoding="utf-8"))


def changed_lines(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    diff = difflib.unified_diff(dumps(before).splitlines(), dumps(after).splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.fixture
def grant() -> dict[str, Any]:
    """A small service asking for an amount, with the default review step (no workflow section)."""
    doc = ops.new_blank_service(id="small-grants", title="Apply for a small grant", reference_prefix="GR")
    doc = ops.add_page(doc, title="Amount")
    doc = ops.add_question(doc, page="amount", widget="number", label="How much do you need?")
    assert check(doc) == []
    return doc


def amount(doc: dict[str, Any]) -> str:
    return next(n for n, q in doc["questions"].items() if q["widget"] == "number")


def refused(field: str, op: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(EditError) as caught:
        op(*args, **kwargs)
    assert caught.value.field == field, caught.value
    return caught.value.message


def test_the_first_edit_writes_the_default_steps_then_changes_them(grant: dict[str, Any]) -> None:
    assert "workflow" not in grant
    new = workflow_editing.edit_state(grant, "received", label="Waiting for a caseworker")
    assert "workflow" not in grant  # the input is never changed
    assert new["workflow"]["states"]["received"]["label"] == "Waiting for a caseworker"
    assert [t["action"] for t in new["workflow"]["transitions"]] == [
        t["action"] for t in DEFAULT_SECTION["transitions"]
    ]
    assert check(new) == []
    assert workflow_editing.use_default_workflow(grant)["workflow"] == DEFAULT_SECTION
    assert "own approval steps" in refused("workflow", workflow_editing.use_default_workflow, new)
    assert "workflow" not in workflow_editing.remove_workflow(new)


def test_a_label_edit_on_a_shipped_file_is_one_line_and_the_rest_is_kept() -> None:
    doc = council_tax()
    edited = workflow_editing.edit_state(doc, "recommended", label="Recommended by a caseworker")
    assert changed_lines(doc, edited) == [
        '-        "label": "Recommended for approval",',
        '+        "label": "Recommended by a caseworker",',
    ]
    edited = workflow_editing.edit_transition(doc, 3, label="Give the discount")
    lines = changed_lines(doc, edited)
    assert len(lines) == 2 and lines[1].endswith('"label": "Give the discount",')
    assert edited["workflow"]["transitions"][3]["action"] == "approve"  # the id open cases name stays
    assert edited["workflow"]["messages"] == doc["workflow"]["messages"]
    # Saving a form unchanged changes nothing: "P10D" stays as written, so does every key.
    same = workflow_editing.edit_state(
        doc,
        "received",
        label="Received",
        citizen_text="We are checking your application",
        final=False,
        deadline_days="10",
        escalate_to="manager",
        working_days=True,
    )
    assert dumps(same) == dumps(doc)
    same = workflow_editing.edit_transition(
        doc,
        1,
        from_state="received",
        label="Reject",
        to_state="rejected",
        roles=["caseworker"],
        comment="required",
        approvals="any",
        guard=None,
    )
    assert dumps(same) == dumps(doc)


def test_add_a_state_and_an_action_to_it(grant: dict[str, Any]) -> None:
    doc = workflow_editing.add_state(
        grant,
        label="Waiting for a manager",
        citizen_text="We are checking your application",
        deadline_days="5",
        escalate_to="manager",
    )
    state = doc["workflow"]["states"]["waiting-for-a-manager"]
    assert state == {
        "label": "Waiting for a manager",
        "citizen_text": "We are checking your application",
        "deadline": "P5D",
        "escalate_to": "manager",
    }
    problems = [p.message for p in check(doc)]
    assert any("cannot be reached" in m for m in problems)  # not finished: the overview lists it
    guard = Condition((Clause(amount(doc), "more_than", "10000"),))
    doc = workflow_editing.add_transition(
        doc, from_state="received", label="Approve", to_state="waiting-for-a-manager", roles=["caseworker"], guard=guard
    )
    doc = workflow_editing.add_transition(
        doc,
        from_state="waiting-for-a-manager",
        label="Approve",
        to_state="approved",
        roles=["manager"],
        approvals="quorum",
        count="2",
    )
    doc = workflow_editing.add_transition(
        doc,
        from_state="waiting-for-a-manager",
        label="Reject",
        to_state="rejected",
        roles=["manager"],
        comment="required",
    )
    assert check(doc) == []
    transitions = doc["workflow"]["transitions"]
    # The guarded version of "Approve" goes before the one without a condition: the first match wins.
    assert [(t["from"], t["action"], t.get("to")) for t in transitions[:2]] == [
        ("received", "approve", "waiting-for-a-manager"),
        ("received", "approve", "approved"),
    ]
    assert transitions[0]["guard"] == {
        "properties": {amount(doc): {"exclusiveMinimum": 10000}},
        "required": [amount(doc)],
    }
    workflow = Workflow.from_section(doc["workflow"])
    assert workflow.actions("received", {amount(doc): 20000})[0].to == "waiting-for-a-manager"
    assert workflow.actions("received", {amount(doc): 50})[0].to == "approved"
    assert transitions[-2]["approvals"] == {"mode": "quorum", "count": 2}


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"label": ""}, "label", "Enter the name of the state"),
        ({"label": "   "}, "label", "Enter the name of the state"),
        ({"label": "x" * 10_000}, "label", "200 characters or less"),
        ({"label": "received"}, "label", "There is already a state called 'Received'"),
        ({"label": "Closed", "final": True, "deadline_days": "5"}, "deadline_days", "final state has no deadline"),
        ({"label": "Checking", "escalate_to": "manager"}, "escalate_to", "Enter a deadline"),
        ({"label": "Checking", "deadline_days": "0"}, "deadline_days", "1 or more"),
        ({"label": "Checking", "deadline_days": "400"}, "deadline_days", "366 or less"),
        ({"label": "Checking", "deadline_days": "ten"}, "deadline_days", "whole number"),
        ({"label": "Checking", "deadline_days": "5", "escalate_to": "emperor"}, "escalate_to", "Select a role"),
    ],
)
def test_bad_states_are_refused(grant: dict[str, Any], kwargs: dict[str, Any], field: str, words: str) -> None:
    assert words in refused(field, workflow_editing.add_state, grant, **kwargs)


def test_html_in_labels_is_kept_as_typed(grant: dict[str, Any]) -> None:
    doc = workflow_editing.add_state(grant, label="<script>alert(1)</script>", final=True)
    assert doc["workflow"]["states"]["script-alert-1-script"]["label"] == "<script>alert(1)</script>"
    doc = workflow_editing.add_state(doc, label="!!!", final=True)
    assert "state" in doc["workflow"]["states"]  # an id from a label with no letters


def test_a_state_in_use_cannot_be_deleted(grant: dict[str, Any]) -> None:
    assert "the action 'Approve' from 'Received' leads to it" in refused(
        "state", workflow_editing.delete_state, grant, "approved"
    )
    assert "cases start there" in refused("state", workflow_editing.delete_state, grant, "received")
    assert "no longer exists" in refused("state", workflow_editing.delete_state, grant, "nowhere")
    doc = workflow_editing.add_state(grant, label="Withdrawn", final=True)
    doc = workflow_editing.delete_state(doc, "withdrawn")
    assert list(doc["workflow"]["states"]) == ["received", "approved", "rejected"]


def test_making_a_state_final_while_actions_leave_it_is_refused(grant: dict[str, Any]) -> None:
    assert "cannot be final" in refused("final", workflow_editing.edit_state, grant, "received", final=True)
    doc = workflow_editing.add_state(grant, label="Checking", deadline_days="3")
    doc = workflow_editing.add_transition(
        doc, from_state="checking", label="Close", to_state="rejected", roles=["manager"]
    )
    assert "the action 'Close' leaves it" in refused("final", workflow_editing.edit_state, doc, "checking", final=True)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"to_state": "deleted-since"}, "to_state", "Select the state the case moves to"),
        ({"to_state": None}, "to_state", "Select the state the case moves to"),
        ({"from_state": "approved"}, "from_state", "final state"),
        ({"from_state": ""}, "from_state", "Select the state the action is taken from"),
        ({"label": ""}, "label", "Enter the name of the action"),
        ({"label": "y" * 10_000}, "label", "200 characters or less"),
        ({"roles": []}, "roles", "Select who can take this action"),
        ({"roles": ["caseworker", "pope"]}, "roles", "Select roles from the list"),
        ({"approvals": "quorum", "count": "0"}, "count", "2 or more"),
        ({"approvals": "quorum", "count": "1"}, "count", "2 or more"),
        ({"approvals": "quorum", "count": "10000"}, "count", "100 or less"),
        ({"approvals": "quorum", "count": ""}, "count", "whole number"),
        ({"approvals": "all", "roles": ["caseworker", "manager"]}, "approvals", "only one role"),
        ({"approvals": "most"}, "approvals", "Select how many"),
        ({"comment": "maybe"}, "comment", "Select whether a comment"),
    ],
)
def test_bad_actions_are_refused(grant: dict[str, Any], kwargs: dict[str, Any], field: str, words: str) -> None:
    base = {"from_state": "received", "label": "Escalate", "to_state": "approved", "roles": ["caseworker"]}
    assert words in refused(field, workflow_editing.add_transition, grant, **{**base, **kwargs})


def test_a_guard_is_checked_clause_by_clause(grant: dict[str, Any]) -> None:
    base = {"from_state": "received", "label": "Fast track", "to_state": "approved", "roles": ["manager"]}
    bad = Condition((Clause(amount(grant), "more_than", "lots"),))
    assert "Enter a number" in refused("guard.0.value", workflow_editing.add_transition, grant, **base, guard=bad)
    gone = Condition((Clause("deleted_question", "answered"),))
    assert "deleted" in refused("guard.0.question", workflow_editing.add_transition, grant, **base, guard=gone)


def test_an_action_version_that_could_never_be_used_is_refused(grant: dict[str, Any]) -> None:
    base = {"from_state": "received", "label": "Approve", "to_state": "rejected", "roles": ["caseworker"]}
    assert "would never be used" in refused("guard.0.question", workflow_editing.add_transition, grant, **base)
    guard = Condition((Clause(amount(grant), "less_than", "5"),))
    doc = workflow_editing.add_transition(grant, **base, guard=guard)
    assert "would never be used" in refused("transition", workflow_editing.move_transition, doc, 0, direction="down")
    assert "would never be used" in refused("guard.0.question", workflow_editing.edit_transition, doc, 0, guard=None)
    assert (
        workflow_editing.move_transition(doc, 1, direction="down")["workflow"]["transitions"][2]["action"] == "approve"
    )


def test_an_edit_to_a_transition_that_no_longer_exists(grant: dict[str, Any]) -> None:
    assert "no longer exists" in refused("transition", workflow_editing.edit_transition, grant, 7, label="X")
    assert "no longer exists" in refused("transition", workflow_editing.delete_transition, grant, -1)
    assert "Select up or down" in refused("direction", workflow_editing.move_transition, grant, 0, direction="sideways")


def test_request_information_on_and_off(grant: dict[str, Any]) -> None:
    doc = workflow_editing.set_request_information(grant, from_state="received", enabled=False)
    assert not any(t.get("request_information") for t in doc["workflow"]["transitions"])
    assert check(doc) == []
    doc = workflow_editing.set_request_information(
        doc, from_state="received", enabled=True, label="Ask for proof", roles=["manager"], comment="required"
    )
    asks = [t for t in doc["workflow"]["transitions"] if t.get("request_information")]
    assert asks == [
        {
            "from": "received",
            "action": "request-information",
            "label": "Ask for proof",
            "roles": ["manager"],
            "comment": "required",
            "request_information": True,
        }
    ]
    assert check(doc) == []


def test_settings(grant: dict[str, Any]) -> None:
    doc = workflow_editing.set_workflow_settings(grant, working_days=True, one_decision_per_person=False)
    assert doc["workflow"]["working_days"] is True and doc["workflow"]["one_decision_per_person"] is False
    assert "final state" in refused("initial", workflow_editing.set_workflow_settings, grant, initial="approved")
    assert "no longer exists" in refused("initial", workflow_editing.set_workflow_settings, grant, initial="nope")
    same = workflow_editing.set_workflow_settings(grant, working_days=False)
    assert "working_days" not in same["workflow"]  # only a change writes the key


def test_move_a_state(grant: dict[str, Any]) -> None:
    doc = workflow_editing.move_state(grant, "rejected", direction="up")
    assert list(doc["workflow"]["states"]) == ["received", "rejected", "approved"]
    assert (
        workflow_editing.move_state(doc, "received", direction="up")["workflow"]["states"] == doc["workflow"]["states"]
    )

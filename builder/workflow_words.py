"""The checker's problems with the approval steps, in the designer's words (issue 17, part G).

``runtime.workflow.problems`` speaks to IT, who edit the file: "transition 3", state ids in
quotes, key names such as "to" and "guard". A designer knows only the names on the builder's
pages, so ``problem_words(doc, problem)`` says where ("The action 'Approve' from 'Received'") and
what, with every state named by its label and never "transition", "guard", an id or a key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from runtime.problems import Problem

__all__ = ["problem_words", "where_words"]

_TRANSITION_PATH = re.compile(r"^\$\.workflow\.transitions\[(\d+)\]")
_STATE_PATH = re.compile(r"^\$\.workflow\.states\.([^.\[]+)")


def _section(doc: dict[str, Any]) -> dict[str, Any] | None:
    section = doc.get("workflow")
    if not isinstance(section, dict) or not isinstance(section.get("states"), dict):
        return None
    if not isinstance(section.get("transitions"), list):
        return None
    return section


def _state_name(section: dict[str, Any] | None, state_id: str) -> str:
    state = section["states"].get(state_id) if section is not None else None
    return str(state.get("label") or state_id) if isinstance(state, dict) else state_id


def where_words(doc: dict[str, Any], path: str) -> str:
    """The part of the steps a problem is about, by name: "The action 'Approve' from 'Received'"."""
    section = _section(doc)
    if section is None:
        return "The approval steps"
    found = _TRANSITION_PATH.match(path)
    if found:
        index = int(found[1])
        transitions = section["transitions"]
        if index < len(transitions) and isinstance(transitions[index], dict):
            t = transitions[index]
            label = t.get("label") or "(no name)"
            return f"The action ‘{label}’ from ‘{_state_name(section, str(t.get('from')))}’"
        return "An action"
    found = _STATE_PATH.match(path)
    if found:
        return f"The state ‘{_state_name(section, found[1])}’"
    if path.startswith("$.workflow.decide_within"):
        return "The time to decide every case"
    if path.startswith("$.workflow.initial"):
        return "Where cases start"
    if path.startswith("$.workflow.messages"):
        return "The emails of the approval steps"
    return "The approval steps"


def _q(text: str) -> str:
    return f"‘{text}’"


def _rules(section: dict[str, Any] | None) -> list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]]:
    def name(state_id: str) -> str:
        return _q(_state_name(section, state_id))

    def action(index: str) -> str:
        transitions = section["transitions"] if section is not None else []
        i = int(index)
        t = transitions[i] if i < len(transitions) and isinstance(transitions[i], dict) else {}
        return _q(str(t.get("label") or "(no name)"))

    return [
        (
            re.compile(r'^state "(.+)" cannot be reached from the first state "(.+)"$'),
            lambda m: (
                f"no action leads to {name(m[1])} from {name(m[2])}, where cases start, so no case can get "
                "there. Add an action that leads to it, or delete it"
            ),
        ),
        (
            re.compile(r'^no transition leads out of "(.+)": add one, or make it final$'),
            lambda m: f"no action leaves {name(m[1])}. Add one, or make it a final state",
        ),
        (
            re.compile(r'^no final state can be reached from "(.+)": its cases could never be closed$'),
            lambda m: f"cases in {name(m[1])} could never be closed: no actions lead from it to a final state",
        ),
        (re.compile(r'^no state has the id "(.+)"$'), lambda m: "it names a state that does not exist"),
        (
            re.compile(r'^the first state "(.+)" cannot be final: every case would be closed$'),
            lambda m: f"cases cannot start in {name(m[1])}: it is a final state, so every case would be closed",
        ),
        (
            re.compile(r'^"(.+)" is not a role; the roles are (.+)$'),
            lambda m: f"{_q(m[1])} is not a role. The roles are {m[2]}",
        ),
        (
            re.compile(r'^escalation needs a "deadline" in the same state$'),
            lambda m: "someone is told only when a deadline passes: enter a deadline, or select nobody",
        ),
        (
            re.compile(r'^"(.+)" is a final state: no transition can leave a closed case$'),
            lambda m: f"{name(m[1])} is a final state: no action can leave a closed case",
        ),
        (
            re.compile(r"^a request for information returns the case to .*$"),
            lambda m: (
                "asking for more information brings the case back to the same state when the applicant "
                "answers, so it cannot move the case to another state"
            ),
        ),
        (
            re.compile(r"^a request for information is not a decision.*$"),
            lambda m: "asking for more information is not a decision: it needs no approvals and no reason",
        ),
        (
            re.compile(r'^a transition needs "to", the state it leads to$'),
            lambda m: "select the state the action moves the case to",
        ),
        (
            re.compile(r"^a quorum needs .*$"),
            lambda m: "'A number of different people' means 2 or more: for one person, select 'One person'",
        ),
        (
            re.compile(r'^"count" only goes with "quorum".*$'),
            lambda m: "a number of people goes only with 'A number of different people'",
        ),
        (
            re.compile(r'^"all" counts the members of one role.*$'),
            lambda m: "'Everyone with the role' counts the people of one role: select only one role",
        ),
        (
            re.compile(r'^never used: transition (\d+) \("(.+)" from "(.+)"\) has no guard and always comes first.*$'),
            lambda m: (
                f"it would never be used: the action {action(m[1])} from {name(m[3])} has no condition and "
                "comes first. Put the version with a condition first"
            ),
        ),
        (
            re.compile(r'^the guard uses "(.+)", which is not an answer in this service$'),
            lambda m: "its condition uses an answer this service no longer asks for. Change the condition",
        ),
        (
            re.compile(r"^(?:not a valid JSON Schema guard|the guard is nested).*$"),
            lambda m: "its condition is written in a way the builder cannot read. Ask IT to check the definition file",
        ),
        (
            re.compile(r"^only a final state has appeal text.*$"),
            lambda m: "only a final state tells the applicant how to ask for a review or appeal",
        ),
        (
            re.compile(r"^only a request for information has a date to reply by$"),
            lambda m: "only asking for more information has a date to reply by",
        ),
        (
            re.compile(r"^a final state has no deadline: its cases are closed$"),
            lambda m: "a final state has no deadline: its cases are closed",
        ),
    ]


_GENERIC = (
    (re.compile(r"\btransitions?\b"), lambda m: "actions" if m[0].endswith("s") else "action"),
    (re.compile(r"\bguards?\b"), lambda m: "conditions" if m[0].endswith("s") else "condition"),
    (re.compile(r"\bescalation\b"), lambda m: "telling someone"),
    (re.compile(r"\bquorum\b"), lambda m: "a number of different people"),
)


def _message(doc: dict[str, Any], message: str) -> str:
    section = _section(doc)
    for pattern, words in _rules(section):
        found = pattern.match(message)
        if found:
            return words(found)
    text = message
    if section is not None:  # quoted state ids become their names
        text = re.sub(
            r'"([^"]+)"', lambda m: _q(_state_name(section, m[1])) if m[1] in section["states"] else _q(m[1]), text
        )
    for pattern, replace in _GENERIC:
        text = pattern.sub(replace, text)
    return text


def problem_words(doc: dict[str, Any], problem: Problem) -> str:
    """A problem with the approval steps in the designer's words: "The state 'Checked': no action leaves ..."."""
    text = _message(doc, problem.message)
    where = where_words(doc, problem.path)
    named = re.search(r"‘[^’]*’", where)
    if where == "Where cases start" or (named and named[0] in text):  # the message names the place itself
        return f"{text[:1].upper()}{text[1:]}"
    return f"{where}: {text[:1].lower()}{text[1:]}"

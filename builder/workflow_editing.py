"""The builder's operations on the approval steps (the ``workflow`` section of a definition).

Like builder/operations.py, whose helpers they share: each ``op(doc, **keyword_args)`` returns
a new document, and bad input raises ``EditError(field, message)`` for the named form field.

A service without a ``workflow`` section follows runtime.workflow.DEFAULT_SECTION; its first
edit writes that section into the file, then changes it. States are named by their id (made
from the first label, never changed after: open cases and the audit log name it); transitions
by their index in the ordered list (the form's ``revision`` guards against a colleague's
reorder). Actions keep their id when their label changes, for the same reason.
"""

from __future__ import annotations

import copy
from typing import Any

from runtime.limits import MAX_QUORUM, MAX_STATES, MAX_STEP_TEXT, MAX_TEXT, MAX_TRANSITIONS
from runtime.widgets import clean_text
from runtime.workflow import DEFAULT_SECTION, MAX_DURATION_DAYS, known_roles, parse_duration

from .conditions import Condition, EditError, to_schema, validate_condition
from .operations import KEEP, _edit, _int, _slug, _unique

__all__ = [
    "APPROVAL_MODES",
    "MAX_APPEAL",
    "REASON_CHOICES",
    "add_state",
    "add_transition",
    "delete_state",
    "delete_transition",
    "edit_state",
    "edit_transition",
    "move_state",
    "move_transition",
    "remove_workflow",
    "set_request_information",
    "set_workflow_settings",
    "use_default_workflow",
]


APPROVAL_MODES = ("any", "quorum", "all")
# Whether the applicant is told why (part C's "reason"): "none" writes no key.
REASON_CHOICES = ("required", "optional", "none")
MAX_APPEAL = 2000  # a final state's words on asking for a review or appeal


def _paragraph(field: str, value: Any, what: str, limit: int) -> str | None:
    """A paragraph of at most ``limit`` characters, line breaks kept (None when empty)."""
    raw = "" if value is None else str(value)
    if len(raw) > limit * 2:
        raise EditError(field, f"{what[:1].upper()}{what[1:]} must be {limit:,} characters or less")
    lines = [" ".join(clean_text(line).split()) for line in raw.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    if len(text) > limit:
        raise EditError(field, f"{what[:1].upper()}{what[1:]} must be {limit:,} characters or less")
    return text or None


def _step_text(field: str, value: Any, what: str, *, optional: bool = False, limit: int = MAX_STEP_TEXT) -> str | None:
    """A one-line text of at most ``limit`` characters (HTML kept as typed: every page escapes it)."""
    raw = "" if value is None else str(value)
    text = " ".join(clean_text(raw[: limit * 10]).split())
    if not text:
        if optional:
            return None
        raise EditError(field, f"Enter {what}")
    if len(text) > limit or len(raw) > limit * 10:
        raise EditError(field, f"{what[:1].upper()}{what[1:]} must be {limit:,} characters or less")
    return text


def _section(doc: dict[str, Any]) -> dict[str, Any]:
    """The document's workflow section, written from the default first if it has none (in place)."""
    section = doc.get("workflow")
    if section is None:
        section = doc["workflow"] = copy.deepcopy(DEFAULT_SECTION)
    if (
        not isinstance(section, dict)
        or not isinstance(section.get("states"), dict)
        or not isinstance(section.get("transitions"), list)
        or not all(isinstance(s, dict) for s in section["states"].values())
        or not all(isinstance(t, dict) for t in section["transitions"])
    ):
        raise EditError("workflow", "These approval steps are custom, edited in the definition file")
    return section


def _state_label(section: dict[str, Any], state_id: Any) -> str:
    state = section["states"].get(state_id)
    return f"'{state.get('label', state_id)}'" if isinstance(state, dict) else f"'{state_id}'"


def _find_state(section: dict[str, Any], state: Any, field: str = "state") -> dict[str, Any]:
    found = section["states"].get(state) if isinstance(state, str) else None
    if not isinstance(found, dict):
        raise EditError(field, "This state no longer exists")
    return found


def _find_transition(section: dict[str, Any], index: Any) -> dict[str, Any]:
    transitions = section["transitions"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(transitions):
        raise EditError("transition", "This action no longer exists")
    return transitions[index]  # type: ignore[no-any-return]


def _check_state_label(section: dict[str, Any], label: Any, state_id: str | None) -> str:
    text = _step_text("label", label, "the name of the state")
    assert text is not None
    for other, state in section["states"].items():
        if other != state_id and str(state.get("label", "")).casefold() == text.casefold():
            raise EditError("label", f"There is already a state called '{state.get('label')}'")
    return text


def _deadline(value: Any, existing: Any, field: str = "deadline_days", what: str = "The deadline") -> str | None:
    """A deadline in whole days ("10") as the format writes it ("P10D"); None: no deadline."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    days = _int(field, value, what, minimum=1, maximum=MAX_DURATION_DAYS)
    if isinstance(existing, str):
        try:
            same = parse_duration(existing)
        except ValueError:
            same = None
        if same is not None and same.days == days and same.seconds == 0:
            return existing  # "P2W" stays as IT wrote it
    return f"P{days}D"


def _role(field: str, value: Any) -> str:
    if value not in known_roles():
        raise EditError(field, "Select a role from the list")
    return str(value)


def _roles(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or [])
    items = [str(v) for v in items if str(v).strip()]
    if not items:
        raise EditError("roles", "Select who can take this action")
    if any(v not in known_roles() for v in items):
        raise EditError("roles", "Select roles from the list")
    return [r for r in known_roles() if r in items]  # a fixed order: the same choice, the same file


def use_default_workflow(doc: dict[str, Any]) -> dict[str, Any]:
    """Write the default review step into the file, to change it (refused when the service has its own)."""
    new = _edit(doc)
    if "workflow" in new:
        raise EditError("workflow", "This service already has its own approval steps")
    _section(new)
    return new


def remove_workflow(doc: dict[str, Any]) -> dict[str, Any]:
    """Go back to the default review step: received, then approved or rejected by a caseworker."""
    new = _edit(doc)
    new.pop("workflow", None)
    return new


def set_workflow_settings(
    doc: dict[str, Any],
    *,
    initial: str = KEEP,
    working_days: bool = KEEP,
    one_decision_per_person: bool = KEEP,
    decide_within_days: Any = KEEP,
) -> dict[str, Any]:
    """Where cases start, whether deadlines count working days, whether one person may decide twice,
    and the whole-case deadline: every case decided within N days of being opened (``decide_within``;
    counted in working days when the service counts them; None or "" removes it)."""
    new = _edit(doc)
    section = _section(new)
    if decide_within_days is not KEEP:
        written = _deadline(
            decide_within_days, section.get("decide_within"), "decide_within_days", "The time to decide"
        )
        if written is None:
            section.pop("decide_within", None)
        else:
            section["decide_within"] = written
    if initial is not KEEP:
        state = _find_state(section, initial, "initial")
        if state.get("final"):
            raise EditError("initial", f"Cases cannot start at {_state_label(section, initial)}: it is a final state")
        section["initial"] = initial
    for key, value, default in (
        ("working_days", working_days, False),
        ("one_decision_per_person", one_decision_per_person, True),
    ):
        if value is KEEP or value is None:
            continue
        if bool(value) != bool(section.get(key, default)):
            section[key] = bool(value)  # only a change writes the key
    return new


def _state_fields(
    section: dict[str, Any],
    state_id: str,
    state: dict[str, Any],
    *,
    citizen_text: Any,
    final: Any,
    deadline_days: Any,
    escalate_to: Any,
    appeal: Any = KEEP,
) -> None:
    """Apply the optional parts of a state's form to ``state`` (in place), checking them together."""
    if citizen_text is not KEEP:
        text = _step_text("citizen_text", citizen_text, "what the applicant reads", optional=True, limit=MAX_TEXT)
        if text:
            state["citizen_text"] = text
        else:
            state.pop("citizen_text", None)
    if final is not KEEP and final is not None:
        if final:
            if state_id == section.get("initial"):
                raise EditError("final", "Cases start in this state, so it cannot be final")
            for t in section["transitions"]:
                if t.get("from") == state_id:
                    raise EditError(
                        "final",
                        f"You cannot make this state final because the action '{t.get('label')}' leaves it. "
                        "Delete that action first",
                    )
            state["final"] = True
        elif "final" in state:
            if state["final"]:
                state.pop("final")
    if deadline_days is not KEEP:
        written = _deadline(deadline_days, state.get("deadline"))
        if written is None:
            state.pop("deadline", None)
        else:
            state["deadline"] = written
    if escalate_to is not KEEP:
        if escalate_to in (None, ""):
            state.pop("escalate_to", None)
        else:
            state["escalate_to"] = _role("escalate_to", escalate_to)
    if appeal is not KEEP:
        text = _paragraph("appeal", appeal, "how to ask for a review or appeal", MAX_APPEAL)
        if text:
            state["appeal"] = text
        else:
            state.pop("appeal", None)
    if "appeal" in state and not state.get("final"):
        raise EditError(
            "appeal",
            "Only a final state tells the applicant how to ask for a review: select yes for a final state, "
            "or leave this empty",
        )
    if state.get("final"):
        if "deadline" in state:
            raise EditError("deadline_days", "A final state has no deadline: its cases are closed")
        if "escalate_to" in state:
            raise EditError("escalate_to", "A final state has no deadline, so nobody can be told it has passed")
    if "escalate_to" in state and "deadline" not in state:
        raise EditError(
            "escalate_to", "Enter a deadline, or select nobody: a case is escalated when its deadline passes"
        )


def add_state(
    doc: dict[str, Any],
    *,
    label: str,
    citizen_text: str | None = None,
    final: bool = False,
    deadline_days: Any = None,
    escalate_to: str | None = None,
    appeal: str | None = None,
) -> dict[str, Any]:
    """A new state at the end of the list; its id comes from the label and never changes after."""
    new = _edit(doc)
    section = _section(new)
    if len(section["states"]) >= MAX_STATES:
        raise EditError("label", f"A service can have at most {MAX_STATES} states")
    text = _check_state_label(section, label, None)
    base = _slug(text, "-") or "state"
    if not base[0].isalpha():
        base = f"state-{base}"
    state_id = _unique(base, set(section["states"]), "-")
    state: dict[str, Any] = {"label": text}
    _state_fields(
        section,
        state_id,
        state,
        citizen_text=citizen_text,
        final=bool(final),
        deadline_days=deadline_days,
        escalate_to=escalate_to,
        appeal=appeal,
    )
    section["states"][state_id] = state
    return new


def edit_state(
    doc: dict[str, Any],
    state: str,
    *,
    label: str = KEEP,
    citizen_text: str | None = KEEP,
    final: bool = KEEP,
    deadline_days: Any = KEEP,
    escalate_to: str | None = KEEP,
    working_days: bool = KEEP,
    appeal: str | None = KEEP,
) -> dict[str, Any]:
    """A state's name, what the applicant reads, whether it is final, its deadline and who hears when it passes.

    ``working_days`` is the setting of every deadline of the service (the format has one).
    """
    new = _edit(doc)
    section = _section(new)
    target = _find_state(section, state)
    if label is not KEEP:
        target["label"] = _check_state_label(section, label, state)
    _state_fields(
        section,
        state,
        target,
        citizen_text=citizen_text,
        final=final,
        deadline_days=deadline_days,
        escalate_to=escalate_to,
        appeal=appeal,
    )
    if working_days is not KEEP and working_days is not None:
        if bool(working_days) != bool(section.get("working_days", False)):
            section["working_days"] = bool(working_days)
    return new


def delete_state(doc: dict[str, Any], state: str) -> dict[str, Any]:
    """Delete a state; refused while cases start in it or an action leaves or leads to it."""
    new = _edit(doc)
    section = _section(new)
    _find_state(section, state)
    name = _state_label(section, state)
    if section.get("initial") == state:
        raise EditError("state", f"You cannot delete {name} because cases start there. Choose another first state")
    if len(section["states"]) == 1:
        raise EditError("state", "The approval steps need at least one state")
    for t in section["transitions"]:
        if t.get("from") == state or t.get("to") == state:
            where = (
                "leaves it" if t.get("from") == state else f"from {_state_label(section, t.get('from'))} leads to it"
            )
            raise EditError(
                "state",
                f"You cannot delete {name} because the action '{t.get('label')}' {where}. Change that first",
            )
    del section["states"][state]
    return new


def move_state(doc: dict[str, Any], state: str, *, direction: str) -> dict[str, Any]:
    """Move a state one place up or down in the list (the order staff read them in)."""
    new = _edit(doc)
    section = _section(new)
    _find_state(section, state)
    if direction not in ("up", "down"):
        raise EditError("direction", "Select up or down")
    order = list(section["states"])
    i = order.index(state)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        section["states"] = {k: section["states"][k] for k in order}
    return new


def _guard(doc: dict[str, Any], guard: Condition | None) -> dict[str, Any] | None:
    """A guard in plain words, checked clause by clause (fields ``guard.<n>.question`` and so on)."""
    if guard is None or not guard.clauses:
        return None
    from .conditions import validate_clause

    for i, clause in enumerate(guard.clauses):
        try:
            validate_clause(doc, clause)
        except EditError as error:
            raise EditError(f"guard.{i}.{error.field}", error.message) from None
    try:
        return to_schema(doc, validate_condition(doc, guard))
    except EditError as error:
        raise EditError(f"guard.{error.field}" if error.field != "combine" else "combine", error.message) from None


def _check_order(section: dict[str, Any], field: str) -> None:
    """Refuse an order in which a version of an action could never be used."""
    unguarded: dict[tuple[Any, Any], dict[str, Any]] = {}
    for t in section["transitions"]:
        key = (t.get("from"), t.get("action"))
        if key in unguarded:
            first = unguarded[key]
            raise EditError(
                field,
                f"The action '{first.get('label')}' from {_state_label(section, key[0])} has no condition and comes "
                f"first, so its version '{t.get('label')}' after it would never be used. Put the version with a "
                "condition first",
            )
        if "guard" not in t:
            unguarded[key] = t


def _set_transition(
    doc: dict[str, Any],
    section: dict[str, Any],
    t: dict[str, Any],
    *,
    from_state: Any,
    label: Any,
    to_state: Any,
    roles: Any,
    comment: Any,
    approvals: Any,
    count: Any,
    guard: Any,
    reason: Any = KEEP,
) -> None:
    """Apply a transition's form to ``t`` (in place); KEEP leaves a part as it is."""
    if from_state is not KEEP:
        source = section["states"].get(from_state) if isinstance(from_state, str) else None
        if not isinstance(source, dict):
            raise EditError("from_state", "Select the state the action is taken from")
        if source.get("final"):
            raise EditError(
                "from_state", f"{_state_label(section, from_state)} is a final state: no action can leave a closed case"
            )
        t["from"] = from_state
    if label is not KEEP:
        t["label"] = _step_text("label", label, "the name of the action")
    if to_state is not KEEP and not t.get("request_information"):
        if not isinstance(to_state, str) or not isinstance(section["states"].get(to_state), dict):
            raise EditError("to_state", "Select the state the case moves to")
        t["to"] = to_state
    if roles is not KEEP:
        t["roles"] = _roles(roles)
    if comment is not KEEP:
        if comment not in ("required", "optional"):
            raise EditError("comment", "Select whether a comment is needed")
        if comment == "required":
            t["comment"] = "required"
        elif t.get("comment") == "required":
            t.pop("comment")
    if reason is not KEEP and not t.get("request_information"):
        if reason not in REASON_CHOICES:
            raise EditError("reason", "Select whether the applicant is told the reason for this decision")
        if reason == "none":
            t.pop("reason", None)
        else:
            t["reason"] = reason  # the comment box asks for "Reason (the applicant will see this)"
    if approvals is not KEEP and not t.get("request_information"):
        if approvals not in APPROVAL_MODES:
            raise EditError("approvals", "Select how many people must take this action")
        if approvals == "quorum":
            number = _int("count", count, "The number of people", minimum=2, maximum=MAX_QUORUM)
            t["approvals"] = {"mode": "quorum", "count": number}
        elif approvals == "all":
            t["approvals"] = {"mode": "all"}
        elif isinstance(t.get("approvals"), dict) and t["approvals"] != {"mode": "any"}:
            t.pop("approvals")
    if guard is not KEEP:
        schema = _guard(doc, guard)
        if schema is None:
            t.pop("guard", None)
        else:
            t["guard"] = schema
    approvals_now = t.get("approvals")
    if isinstance(approvals_now, dict) and approvals_now.get("mode") == "all" and len(t.get("roles", [])) != 1:
        raise EditError("approvals", "'Everyone with the role' counts the people of one role: select only one role")


def _new_action(section: dict[str, Any], source: str, text: str) -> str:
    """The action id for a label: the same as a same-named action from the same state (a version of it)."""
    same_state = [t for t in section["transitions"] if t.get("from") == source]
    for t in same_state:
        if str(t.get("label", "")).casefold() == text.casefold():
            return str(t.get("action"))
    base = _slug(text, "-") or "action"
    if not base[0].isalpha():
        base = f"action-{base}"
    return _unique(base, {str(t.get("action")) for t in same_state}, "-")


def add_transition(
    doc: dict[str, Any],
    *,
    from_state: str,
    label: str,
    to_state: str | None = None,
    roles: Any = None,
    comment: str = "optional",
    approvals: str = "any",
    count: Any = None,
    guard: Condition | None = None,
    request_information: bool = False,
    reason: str = "none",
) -> dict[str, Any]:
    """A new action: "From <state>, <label> moves the case to <state>, for <roles>".

    Another version of an existing action (the same label from the same state) with a
    condition goes before the version without one: the first whose condition holds is used.
    """
    new = _edit(doc)
    section = _section(new)
    if len(section["transitions"]) >= MAX_TRANSITIONS:
        raise EditError("label", f"A service can have at most {MAX_TRANSITIONS} actions")
    t: dict[str, Any] = {"from": "", "action": "", "label": ""}
    if request_information:
        t["request_information"] = True
    _set_transition(
        new,
        section,
        t,
        from_state=from_state,
        label=label,
        to_state=KEEP if request_information else to_state,
        roles=roles,
        comment=comment,
        approvals=KEEP if request_information else approvals,
        count=count,
        guard=guard,
        reason=KEEP if request_information else reason,
    )
    t["action"] = (
        _new_action(section, t["from"], "request information")
        if request_information
        else _new_action(section, t["from"], t["label"])
    )
    # The format's key order: from, action, label, to, roles, comment, guard, approvals, request_information.
    ordered: dict[str, Any] = {k: t[k] for k in ("from", "action", "label", "to", "roles") if k in t}
    ordered.update({k: v for k, v in t.items() if k not in ordered})
    at = len(section["transitions"])
    if "guard" in ordered:
        for i, other in enumerate(section["transitions"]):
            if (other.get("from"), other.get("action")) == (
                ordered["from"],
                ordered["action"],
            ) and "guard" not in other:
                at = i
                break
    section["transitions"].insert(at, ordered)
    _check_order(section, "guard.0.question")
    return new


def edit_transition(
    doc: dict[str, Any],
    index: int,
    *,
    from_state: str = KEEP,
    label: str = KEEP,
    to_state: str = KEEP,
    roles: Any = KEEP,
    comment: str = KEEP,
    approvals: str = KEEP,
    count: Any = KEEP,
    guard: Condition | None = KEEP,
    reason: str = KEEP,
) -> dict[str, Any]:
    """Change an action; its id stays (open cases and the audit log name it)."""
    new = _edit(doc)
    section = _section(new)
    t = _find_transition(section, index)
    _set_transition(
        new,
        section,
        t,
        from_state=from_state,
        label=label,
        to_state=to_state,
        roles=roles,
        comment=comment,
        approvals=approvals,
        count=count,
        guard=guard,
        reason=reason,
    )
    if from_state is not KEEP:
        clash = [
            o
            for o in section["transitions"]
            if o is not t and o.get("from") == t["from"] and o.get("action") == t.get("action")
        ]
        if any(str(o.get("label", "")).casefold() != str(t["label"]).casefold() for o in clash):
            t["action"] = _new_action(
                {"transitions": [o for o in section["transitions"] if o is not t]}, t["from"], t["label"]
            )
    _check_order(section, "guard.0.question" if guard is not KEEP else "transition")
    return new


def delete_transition(doc: dict[str, Any], index: int) -> dict[str, Any]:
    new = _edit(doc)
    section = _section(new)
    _find_transition(section, index)
    if len(section["transitions"]) == 1:
        raise EditError("transition", "The approval steps need at least one action")
    del section["transitions"][index]
    return new


def move_transition(doc: dict[str, Any], index: int, *, direction: str) -> dict[str, Any]:
    """Move an action up or down: of the versions of one action, the first whose condition holds is used."""
    new = _edit(doc)
    section = _section(new)
    _find_transition(section, index)
    if direction not in ("up", "down"):
        raise EditError("direction", "Select up or down")
    transitions = section["transitions"]
    j = index - 1 if direction == "up" else index + 1
    if 0 <= j < len(transitions):
        transitions[index], transitions[j] = transitions[j], transitions[index]
        _check_order(section, "transition")
    return new


def set_request_information(
    doc: dict[str, Any],
    *,
    from_state: str,
    enabled: bool,
    label: str | None = None,
    roles: Any = None,
    comment: str = "optional",
) -> dict[str, Any]:
    """Whether staff can ask the applicant for more information in a state (the case then comes back to it)."""
    new = _edit(doc)
    section = _section(new)
    existing = [
        i for i, t in enumerate(section["transitions"]) if t.get("from") == from_state and t.get("request_information")
    ]
    if not enabled:
        _find_state(section, from_state, "from_state")
        for i in reversed(existing):
            del section["transitions"][i]
        if not section["transitions"]:
            raise EditError("enabled", "The approval steps need at least one action")
        return new
    if existing:
        _set_transition(
            new,
            section,
            section["transitions"][existing[0]],
            from_state=KEEP,
            label=label if label is not None else KEEP,
            to_state=KEEP,
            roles=roles if roles is not None else KEEP,
            comment=comment,
            approvals=KEEP,
            count=KEEP,
            guard=KEEP,
        )
        return new
    return add_transition(
        new,
        from_state=from_state,
        label=label if label is not None else "Ask the applicant for more information",
        roles=roles,
        comment=comment,
        request_information=True,
    )

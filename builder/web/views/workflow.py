"""Builder views: the approval steps (the definition's ``workflow``) in plain words, with a diagram.

An overview page shows the diagram (an SVG drawn on the server, builder/workflow_diagram.py),
the same steps in words, and the states and actions with links to their forms. Each form calls
one pure operation (builder.operations) through the shared edit flow and redirects (303), or
shows the form again with the errors next to the fields and everything typed kept. A section
the builder cannot read is shown read-only: "custom, edited in the definition file".

After every edit the workflow rules of the checker run on the result: an edit that would
introduce a problem other than "not finished yet" (a state nothing leads to, a state with no
way out) is refused with the checker's message; unfinished steps are listed on the overview.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from markupsafe import Markup

from builder import condition_help, operations, workflow_diagram, workflow_editing, workflow_words
from builder.conditions import EditError, from_schema
from builder.web.editing import Editing, FormErrors, apply, outcome_errors, service_for
from builder.web.views.pages import clause_fields, clause_rows, to_condition
from runtime import staff as core
from runtime import workflow as engine
from runtime.checker import check
from runtime.limits import MAX_FIELD
from runtime.problems import Problem
from runtime.web.common import render_page
from runtime.web.staff import requires

from ..editing import department_of

bp = Blueprint("workflow", __name__)

TASK = "workflow"
MAX_GUARD_CLAUSES = 5
# The checker's "not finished yet" messages: allowed while the designer builds the steps up.
UNFINISHED = ("cannot be reached from the first state", "no transition leads out of", "no final state can be reached")
APPROVAL_WORDS = {
    "any": "One person",
    "quorum": "A number of different people",
    "all": "Everyone with the role (only one role)",
}


def _field(name: str) -> str:
    return request.form.get(name, "")[:MAX_FIELD]


def _editing(service_id: str) -> Editing:
    return service_for(service_id, core.EDIT_DRAFTS)


def _see_other(endpoint: str, **values: Any) -> Any:
    return redirect(url_for(endpoint, **values), 303)


# -- the checker after every edit ----------------------------------------------------------------


def workflow_problems(doc: dict[str, Any]) -> list[Problem]:
    """The checker's problems with the workflow section (its shape first, then its rules)."""
    try:
        found = [p for p in check(doc) if p.path.startswith("$.workflow")]
        if found or not isinstance(doc.get("workflow"), dict):
            return found
        return engine.problems(doc)
    except Exception:  # a hand-written section odd enough to trip a rule: never a 500
        return [Problem("$.workflow", "the approval steps cannot be checked; ask IT to look at the definition file")]


def _checked(op: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``op``, refused when its result has a workflow problem the document did not have (unless unfinished)."""

    def run(doc: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        new = op(doc, **kwargs)
        before = {(p.path, p.message) for p in workflow_problems(doc)}
        for problem in workflow_problems(new):
            if (problem.path, problem.message) in before or any(u in problem.message for u in UNFINISHED):
                continue
            raise EditError("workflow", f"This change cannot be saved. {_problem_words(new, problem)}")
        return new

    return run


def _problem_words(doc: dict[str, Any], problem: Problem) -> str:
    """A checker problem in the designer's words: the state or action by name, never an id or "transition"."""
    return workflow_words.problem_words(doc, problem)


# -- reading the section ---------------------------------------------------------------------------


def _section(editing: Editing) -> dict[str, Any] | None:
    """The section in effect, or None when the builder cannot edit it (custom, edited in the file)."""
    section = workflow_diagram.readable_section(editing.doc)
    if section is None:
        return None
    shape = [p for p in check(editing.doc) if p.path.startswith("$.workflow")] if "workflow" in editing.doc else []
    if any(p.path == "$.workflow" or "is not of type" in p.message for p in shape):
        return None
    return section


def _state_items(section: dict[str, Any], selected: str, *, blank: str, finals: bool = True) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"value": "", "text": blank}]
    items += [
        {"value": sid, "text": str(s.get("label", sid)), "selected": sid == selected}
        for sid, s in section["states"].items()
        if finals or not s.get("final")
    ]
    return items


def _role_items(selected: list[str]) -> list[dict[str, Any]]:
    return [{"value": r, "text": r.capitalize(), "checked": r in selected} for r in engine.known_roles()]


def _guard_questions(doc: dict[str, Any]) -> list[str]:
    return [n for p in doc.get("pages", []) for n in p.get("questions", []) if n in doc.get("questions", {})]


def _find_state(section: dict[str, Any] | None, state: str) -> dict[str, Any]:
    found = section["states"].get(state) if section is not None else None
    if not isinstance(found, dict):
        abort(404)
    return found


def _find_transition(section: dict[str, Any] | None, index: int) -> dict[str, Any]:
    if section is None or not 0 <= index < len(section["transitions"]):
        abort(404)
    return section["transitions"][index]  # type: ignore[no-any-return]


# -- the overview --------------------------------------------------------------------------------


def _overview(editing: Editing, errors: FormErrors, status: int = 200) -> Any:
    doc = editing.doc
    section = _section(editing)
    states: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    if section is not None:
        custom = workflow_diagram.custom_parts(doc)
        asks = {t.get("from") for t in section["transitions"] if t.get("request_information")}
        states = [
            {
                "id": sid,
                "label": str(s.get("label", sid)),
                "words": workflow_diagram.state_words(section, sid),
                "final": bool(s.get("final")),
                "asks": sid in asks,
            }
            for sid, s in section["states"].items()
        ]
        actions = [
            {
                "index": i,
                "label": str(t.get("label", "")),
                "words": workflow_diagram.transition_words(doc, section, t),
                "custom": i in custom,
            }
            for i, t in enumerate(section["transitions"])
        ]
    problems = [_problem_words(doc, p) for p in workflow_problems(doc)]
    return render_page(
        "builder/workflow/overview.html",
        status,
        title="Approval steps",
        editing=editing,
        custom=section is None,
        own="workflow" in doc,
        diagram=Markup(workflow_diagram.svg(doc)),  # noqa: S704 -- every text in it is escaped by svg()
        words=workflow_diagram.text_alternative(doc),
        decide_within=workflow_diagram.decide_within_words(section) if section is not None else None,
        states=states,
        actions=actions,
        problems=problems,
        errors=errors,
    )


@bp.get("/services/<service_id>/workflow")
@requires(core.EDIT_DRAFTS, department=department_of)
def overview(service_id: str) -> Any:
    return _overview(_editing(service_id), FormErrors())


def _after(outcome: Any, endpoint: str = "workflow.overview", **values: Any) -> Any:
    """Redirect after a saved edit; otherwise the overview again with the message."""
    if outcome.ok:
        return _see_other(endpoint, service_id=outcome.editing.service_id, **values)
    return _overview(outcome.editing, outcome_errors(outcome), 400 if outcome.errors else 409)


@bp.post("/services/<service_id>/workflow/default")
@requires(core.EDIT_DRAFTS, department=department_of)
def default(service_id: str) -> Any:
    """Write the standard review step into the service (to change it), or go back to it."""
    editing = _editing(service_id)
    if _field("action") == "remove":
        op: Callable[..., dict[str, Any]] = workflow_editing.remove_workflow
    elif _field("action") == "use":
        op = workflow_editing.use_default_workflow
    else:
        return _overview(editing, FormErrors({"workflow": "Select what to do with the approval steps"}), 400)
    return _after(apply(editing, _checked(op), task=TASK))


# -- settings --------------------------------------------------------------------------------------


@bp.route("/services/<service_id>/workflow/settings", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def settings(service_id: str) -> Any:
    editing = _editing(service_id)
    section = _section(editing)
    if section is None:
        return _overview(editing, FormErrors())
    errors = FormErrors()
    decide_days, custom_decide = _days_of(section.get("decide_within"), bool(section.get("working_days")))
    values = {
        "initial": str(section.get("initial", "")),
        "working_days": "yes" if section.get("working_days") else "no",
        "one_decision_per_person": "no" if section.get("one_decision_per_person", True) is False else "yes",
        "decide_within_days": decide_days,
    }
    if request.method == "POST":
        values = {k: _field(k) for k in values}
        outcome = apply(
            editing,
            _checked(workflow_editing.set_workflow_settings),
            task=TASK,
            initial=values["initial"],
            working_days=values["working_days"] == "yes",
            one_decision_per_person=values["one_decision_per_person"] != "no",
            # A target in hours (written in the file) stays unless a number of days replaces it.
            decide_within_days=operations.KEEP
            if custom_decide and not values["decide_within_days"].strip()
            else (values["decide_within_days"] or None),
        )
        if outcome.ok:
            return _see_other("workflow.overview", service_id=service_id)
        editing, errors = outcome.editing, outcome_errors(outcome)
        section = _section(editing) or section
    return render_page(
        "builder/workflow/settings.html",
        400 if errors else 200,
        title="Approval step settings",
        editing=editing,
        values=values,
        custom_decide=custom_decide,
        states=_state_items(section, values["initial"], blank="Select a state", finals=False),
        errors=errors,
    )


# -- states ----------------------------------------------------------------------------------------


def _days_of(written: Any, working_days: bool) -> tuple[str, str | None]:
    """A duration of the file as the form's number of days, or (``""``, its words) when not whole days."""
    if not written:
        return "", None
    try:
        duration = engine.parse_duration(written)
    except (ValueError, TypeError):
        return "", str(written)
    if duration.seconds == 0:
        return str(duration.days), None
    return "", duration.words(working_days)


def _state_values(section: dict[str, Any], state: dict[str, Any] | None) -> dict[str, Any]:
    state = state or {}
    days, custom_deadline = _days_of(state.get("deadline"), bool(section.get("working_days")))
    return {
        "label": str(state.get("label", "")),
        "citizen_text": str(state.get("citizen_text", "")),
        "final": "yes" if state.get("final") else "no",
        "deadline_days": days,
        "custom_deadline": custom_deadline,
        "working_days": "yes" if section.get("working_days") else "no",
        "escalate_to": str(state.get("escalate_to", "")),
        "appeal": str(state.get("appeal", "")),
    }


def _posted_state(custom_deadline: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    values: dict[str, Any] = {
        k: _field(k) for k in ("label", "citizen_text", "final", "deadline_days", "working_days", "escalate_to")
    }
    values["appeal"] = request.form.get("appeal", "")[: workflow_editing.MAX_APPEAL * 2 + 1]
    values["custom_deadline"] = custom_deadline
    kwargs: dict[str, Any] = {
        "label": values["label"],
        "citizen_text": values["citizen_text"] or None,
        "final": values["final"] == "yes",
        # A deadline in hours (written in the file) stays unless a number of days replaces it.
        "deadline_days": operations.KEEP
        if custom_deadline and not values["deadline_days"].strip()
        else (values["deadline_days"] or None),
        "escalate_to": values["escalate_to"] or None,
        "appeal": values["appeal"] or None,
    }
    return values, kwargs


def _state_form(editing: Editing, state_id: str | None, values: dict[str, Any], errors: FormErrors) -> Any:
    label = (
        values["label"]
        if state_id is None
        else str((_section(editing) or {"states": {}})["states"].get(state_id, {}).get("label", state_id))
    )
    return render_page(
        "builder/workflow/state.html",
        400 if errors else 200,
        title="Add a state" if state_id is None else f"Edit state: {label}",
        editing=editing,
        state_id=state_id,
        values=values,
        roles=[{"value": "", "text": "Nobody"}]
        + [{"value": r, "text": r.capitalize(), "selected": r == values["escalate_to"]} for r in engine.known_roles()],
        errors=errors,
    )


def _add_state(doc: dict[str, Any], *, working_days: bool, **kwargs: Any) -> dict[str, Any]:
    new = workflow_editing.add_state(doc, **kwargs)
    return workflow_editing.set_workflow_settings(new, working_days=working_days)


@bp.route("/services/<service_id>/workflow/states/new", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def add_state(service_id: str) -> Any:
    editing = _editing(service_id)
    section = _section(editing)
    if section is None:
        return _overview(editing, FormErrors())
    values = _state_values(section, None)
    errors = FormErrors()
    if request.method == "POST":
        values, kwargs = _posted_state(None)
        outcome = apply(
            editing, _checked(_add_state), task=TASK, working_days=values["working_days"] == "yes", **kwargs
        )
        if outcome.ok:
            return _see_other("workflow.overview", service_id=service_id)
        editing, errors = outcome.editing, outcome_errors(outcome)
    return _state_form(editing, None, values, errors)


@bp.route("/services/<service_id>/workflow/states/<state>/", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def edit_state(service_id: str, state: str) -> Any:
    editing = _editing(service_id)
    section = _section(editing)
    if section is None:
        return _overview(editing, FormErrors())
    values = _state_values(section, _find_state(section, state))
    errors = FormErrors()
    if request.method == "POST":
        values, kwargs = _posted_state(values["custom_deadline"])
        outcome = apply(
            editing,
            _checked(workflow_editing.edit_state),
            task=TASK,
            state=state,
            working_days=values["working_days"] == "yes",
            **kwargs,
        )
        if outcome.ok:
            return _see_other("workflow.overview", service_id=service_id)
        editing, errors = outcome.editing, outcome_errors(outcome)
        _find_state(_section(editing), state)
    return _state_form(editing, state, values, errors)


@bp.route("/services/<service_id>/workflow/states/<state>/delete", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def delete_state(service_id: str, state: str) -> Any:
    editing = _editing(service_id)
    target = _find_state(_section(editing), state)
    errors = FormErrors()
    if request.method == "POST":
        if request.form.get("confirm") == "no":
            return _see_other("workflow.overview", service_id=service_id)
        if request.form.get("confirm") != "yes":
            errors = FormErrors({"confirm": "Select yes if you want to delete this state"})
        else:
            outcome = apply(editing, _checked(workflow_editing.delete_state), task=TASK, state=state)
            if outcome.ok:
                return _see_other("workflow.overview", service_id=service_id)
            editing, errors = outcome.editing, outcome_errors(outcome)
    return render_page(
        "builder/workflow/confirm.html",
        400 if errors else 200,
        title=f"Are you sure you want to delete the state {target.get('label', state)}?",
        hint="Cases can no longer be in it. You cannot delete a state an action leaves or leads to.",
        editing=editing,
        errors=errors,
    )


@bp.post("/services/<service_id>/workflow/states/<state>/move")
@requires(core.EDIT_DRAFTS, department=department_of)
def move_state(service_id: str, state: str) -> Any:
    editing = _editing(service_id)
    _find_state(_section(editing), state)
    outcome = apply(
        editing, _checked(workflow_editing.move_state), task=TASK, state=state, direction=_field("direction")
    )
    return _after(outcome, _anchor=f"state-{state}")


@bp.route("/services/<service_id>/workflow/states/<state>/request-information", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def request_information(service_id: str, state: str) -> Any:
    """Whether staff can ask the applicant for more information in this state."""
    editing = _editing(service_id)
    section = _section(editing)
    target = _find_state(section, state)
    assert section is not None
    existing = next(
        (t for t in section["transitions"] if t.get("from") == state and t.get("request_information")), None
    )
    values: dict[str, Any] = {
        "enabled": "yes" if existing else "no",
        "label": str(existing.get("label", "")) if existing else "Ask the applicant for more information",
        "roles": list(existing.get("roles", [])) if existing else [],
        "comment": "required" if existing and existing.get("comment") == "required" else "optional",
    }
    errors = FormErrors()
    if request.method == "POST":
        values = {
            "enabled": _field("enabled"),
            "label": _field("label"),
            "roles": [r[:100] for r in request.form.getlist("roles")][:20],
            "comment": _field("comment") or "optional",
        }
        if values["enabled"] not in ("yes", "no"):
            errors = FormErrors({"enabled": "Select yes if staff can ask the applicant for more information here"})
        else:
            kwargs: dict[str, Any] = {"from_state": state, "enabled": values["enabled"] == "yes"}
            if values["enabled"] == "yes":
                kwargs.update(label=values["label"], roles=values["roles"], comment=values["comment"])
            outcome = apply(editing, _checked(workflow_editing.set_request_information), task=TASK, **kwargs)
            if outcome.ok:
                return _see_other("workflow.overview", service_id=service_id)
            editing, errors = outcome.editing, outcome_errors(outcome)
    return render_page(
        "builder/workflow/request_information.html",
        400 if errors else 200,
        title=f"Asking for more information in {target.get('label', state)}",
        editing=editing,
        target=target,
        values=values,
        roles=_role_items(values["roles"]),
        errors=errors,
    )


# -- actions ---------------------------------------------------------------------------------------


def _action_values(doc: dict[str, Any], t: dict[str, Any] | None) -> dict[str, Any]:
    t = t or {}
    approvals: dict[str, Any] = t["approvals"] if isinstance(t.get("approvals"), dict) else {}
    guard = t.get("guard")
    condition = from_schema(doc, guard) if guard is not None else None
    return {
        "from_state": str(t.get("from", "")),
        "label": str(t.get("label", "")),
        "to_state": str(t.get("to", "")),
        "roles": list(t.get("roles", [])),
        "comment": "required" if t.get("comment") == "required" else "optional",
        "reason": str(t["reason"]) if t.get("reason") in ("required", "optional") else "none",
        "approvals": str(approvals.get("mode", "any")),
        "count": str(approvals.get("count", "")),
        "request_information": bool(t.get("request_information")),
        "custom_guard": guard is not None and condition is None,
        "rows": clause_rows(doc, condition),
        "combine": condition.combine if condition is not None else "all",
    }


def _posted_action(before: dict[str, Any]) -> dict[str, Any]:
    return {
        **before,
        "from_state": _field("from_state"),
        "label": _field("label"),
        "to_state": _field("to_state"),
        "roles": [r[:100] for r in request.form.getlist("roles")][:20],
        "comment": _field("comment"),
        "reason": _field("reason") or "none",
        "approvals": _field("approvals"),
        "count": _field("count"),
        "rows": condition_help.posted_rows(request.form, MAX_GUARD_CLAUSES),
        "combine": "any" if _field("combine") == "any" else "all",
    }


def _action_op(op: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``op`` with the guard read from the form's clause rows, its errors named as the form's fields."""

    def run(doc: dict[str, Any], *, rows: Any = operations.KEEP, combine: str = "all", **kwargs: Any) -> dict[str, Any]:
        if rows is not operations.KEEP:
            for i, row in enumerate(rows):  # a list's question about each item, checked row by row
                try:
                    to_condition(doc, [row], combine)
                except EditError as error:
                    raise EditError(f"clauses.{i}.{error.field}", error.message) from None
            kwargs["guard"] = to_condition(doc, rows, combine) if rows else None
        try:
            return op(doc, **kwargs)
        except EditError as error:
            name = error.field
            if name.startswith("guard."):
                name = "clauses." + name.removeprefix("guard.")
                if name.count(".") != 2:
                    name = "clauses.0.question"
            raise EditError(name, error.message) from None

    return _checked(run)


def _kwargs(values: dict[str, Any], *, editing_guard: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "from_state": values["from_state"],
        "label": values["label"],
        "roles": values["roles"],
        "comment": values["comment"],
    }
    if not values["request_information"]:
        kwargs.update(
            to_state=values["to_state"], approvals=values["approvals"], count=values["count"], reason=values["reason"]
        )
    if editing_guard:
        kwargs.update(rows=values["rows"], combine=values["combine"])
    return kwargs


def _action_form(editing: Editing, index: int | None, values: dict[str, Any], errors: FormErrors) -> Any:
    section = _section(editing)
    assert section is not None
    doc = editing.doc
    names = _guard_questions(doc)
    rows = values["rows"]
    shown = rows + [{"question": "", "operator": "", "value": ""}] * max(
        0, min(MAX_GUARD_CLAUSES, len(rows) + 1) - len(rows)
    )
    return render_page(
        "builder/workflow/action.html",
        400 if errors else 200,
        title="Add an action" if index is None else f"Edit action: {values['label']}",
        editing=editing,
        index=index,
        values=values,
        from_states=_state_items(section, values["from_state"], blank="Select a state", finals=False),
        to_states=_state_items(section, values["to_state"], blank="Select a state"),
        roles=_role_items(values["roles"]),
        approvals=[{"value": k, "text": v, "checked": values["approvals"] == k} for k, v in APPROVAL_WORDS.items()],
        rows=[condition_help.row_help(doc, names, row) for row in clause_fields(doc, names, shown)],
        has_questions=bool(names),
        errors=errors,
    )


@bp.route("/services/<service_id>/workflow/actions/new", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def add_action(service_id: str) -> Any:
    editing = _editing(service_id)
    section = _section(editing)
    if section is None:
        return _overview(editing, FormErrors())
    values = _action_values(editing.doc, None)
    values["from_state"] = request.args.get("from", "")[:100]
    errors = FormErrors()
    if request.method == "POST":
        values = _posted_action(values)
        outcome = apply(
            editing, _action_op(workflow_editing.add_transition), task=TASK, **_kwargs(values, editing_guard=True)
        )
        if outcome.ok:
            return _see_other("workflow.overview", service_id=service_id)
        editing, errors = outcome.editing, outcome_errors(outcome)
        if _section(editing) is None:
            return _overview(editing, errors, 409)
    return _action_form(editing, None, values, errors)


@bp.route("/services/<service_id>/workflow/actions/<int:index>/", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def edit_action(service_id: str, index: int) -> Any:
    editing = _editing(service_id)
    section = _section(editing)
    values = _action_values(editing.doc, _find_transition(section, index))
    errors = FormErrors()
    if request.method == "POST":
        values = _posted_action(values)
        outcome = apply(
            editing,
            _action_op(workflow_editing.edit_transition),
            task=TASK,
            index=index,
            **_kwargs(values, editing_guard=not values["custom_guard"]),
        )
        if outcome.ok:
            return _see_other("workflow.overview", service_id=service_id)
        editing, errors = outcome.editing, outcome_errors(outcome)
        _find_transition(_section(editing), index)
    return _action_form(editing, index, values, errors)


@bp.route("/services/<service_id>/workflow/actions/<int:index>/delete", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=department_of)
def delete_action(service_id: str, index: int) -> Any:
    editing = _editing(service_id)
    section = _section(editing)
    target = _find_transition(section, index)
    assert section is not None
    words = workflow_diagram.transition_words(editing.doc, section, target)
    errors = FormErrors()
    if request.method == "POST":
        if request.form.get("confirm") == "no":
            return _see_other("workflow.overview", service_id=service_id)
        if request.form.get("confirm") != "yes":
            errors = FormErrors({"confirm": "Select yes if you want to delete this action"})
        else:
            outcome = apply(editing, _checked(workflow_editing.delete_transition), task=TASK, index=index)
            if outcome.ok:
                return _see_other("workflow.overview", service_id=service_id)
            editing, errors = outcome.editing, outcome_errors(outcome)
    return render_page(
        "builder/workflow/confirm.html",
        400 if errors else 200,
        title=f"Are you sure you want to delete the action {target.get('label', '')}?",
        hint=words,
        editing=editing,
        errors=errors,
    )


@bp.post("/services/<service_id>/workflow/actions/<int:index>/move")
@requires(core.EDIT_DRAFTS, department=department_of)
def move_action(service_id: str, index: int) -> Any:
    editing = _editing(service_id)
    _find_transition(_section(editing), index)
    outcome = apply(
        editing, _checked(workflow_editing.move_transition), task=TASK, index=index, direction=_field("direction")
    )
    return _after(outcome, _anchor="actions")

"""Builder views: pages, questions, conditions, routing and live preview.

Each view parses the form, calls one pure operation (builder.operations) through the shared
edit flow (builder.web.editing) and redirects (303) or shows the form again with the errors
next to the fields and everything the designer typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, get_flashed_messages, make_response, redirect, request, url_for

from builder import advice, condition_help, drafting, operations
from builder.conditions import (
    OPERATOR_WORDS,
    Clause,
    Condition,
    EditError,
    describe,
    from_schema,
    operators_for,
    validate_clause,
)
from builder.conditions import questions_for_condition as condition_questions
from builder.web.editing import Editing, FormErrors, apply, outcome_errors, service_for
from runtime import rendering
from runtime import staff as core
from runtime.changes import file_limits_words
from runtime.checker import SEARCHABLE_WIDGETS
from runtime.conditions import item_doc
from runtime.data import drafts
from runtime.date_rules import SIDES, DateRule
from runtime.limits import MAX_FIELD
from runtime.models import Service
from runtime.uploads import KINDS
from runtime.web.common import db, render_page
from runtime.web.staff import current_user, requires
from runtime.widgets import WIDGETS
from runtime.widgets.add_another import MOST_ITEMS, NOT_IN_ITEMS
from runtime.widgets.file import DEFAULT_MAX_SIZE_MB, MAX_FILES, MAX_SIZE_MB

bp = Blueprint("pages", __name__)

MAX_CLAUSES = 5
TEXT_WIDGETS = {"text", "textarea", "email", "tel"}
# The custom error messages a designer can set, per widget: (keyword, what it is for).
MESSAGES: dict[str, list[tuple[str, str]]] = {
    "text": [("minLength", "Answer too short"), ("maxLength", "Answer too long")],
    "textarea": [("minLength", "Answer too short"), ("maxLength", "Answer too long")],
    "number": [("type", "Not a number"), ("minimum", "Number too small"), ("maximum", "Number too large")],
    "money": [("minimum", "Amount too small"), ("maximum", "Amount too large")],
    "date": [
        ("format", "Not a real date"),
        ("dateBefore", "Date too late"),
        ("dateAfter", "Date too early"),
        ("earliest", "Date earlier than the date rule allows"),
        ("latest", "Date later than the date rule allows"),
    ],
}


def _department(service_id: str, **_: Any) -> int | None:
    """The department a service (or its draft) belongs to, for the role check; None: no such service."""
    draft = drafts.get_draft(session=db(), service_id=service_id)
    if draft is not None:
        return draft.department_id
    service = db().get(Service, service_id)
    return service.department_id if service is not None else None


def _editing(service_id: str) -> Editing:
    return service_for(service_id, core.EDIT_DRAFTS)


def _field(name: str) -> str:
    return request.form.get(name, "")[:MAX_FIELD]


def _find_page(doc: dict[str, Any], page: str) -> dict[str, Any]:
    for candidate in doc["pages"]:
        if candidate.get("id") == page:
            return dict(candidate)
    abort(404)


def _find_question(doc: dict[str, Any], name: str) -> dict[str, Any]:
    question = doc.get("questions", {}).get(name)
    if not isinstance(question, dict):
        abort(404)
    return question


def _page_of(doc: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in doc["pages"] if name in p.get("questions", [])), None)


def _see_other(endpoint: str, **values: Any) -> Any:
    return redirect(url_for(endpoint, **values), 303)


def _advice(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, text in items:
        out.setdefault(field, []).append(text)
    return out


def _preview(editing: Editing, page_id: str) -> dict[str, Any] | None:
    """What the citizen would see on the page: the runtime's own question views (None: draft not checkable)."""
    definition = editing.definition
    if definition is None or page_id not in definition.page_by_id:
        return None
    page = definition.page_by_id[page_id]
    as_heading = len(page.questions) == 1
    views = [rendering.question_view(definition, name, {}, {}, as_heading) for name in page.questions]
    return {"page": page, "questions": views, "as_heading": as_heading}


def _page_context(editing: Editing, page_id: str) -> dict[str, Any]:
    return {"editing": editing, "service_id": editing.service_id, "preview": _preview(editing, page_id)}


# -- pages -------------------------------------------------------------------------------------


def _list(editing: Editing, errors: FormErrors, status: int = 200) -> Any:
    doc = editing.doc
    pages = [
        {
            "id": p["id"],
            "title": p.get("title", p["id"]),
            "stop": bool(p.get("stop")),
            "questions": [str(doc["questions"].get(n, {}).get("label", n)) for n in p.get("questions", [])],
            "condition": _condition_words(doc, p.get("show_if")),
        }
        for p in doc["pages"]
    ]
    return render_page(
        "builder/pages/list.html", status, title="Pages and questions", editing=editing, pages=pages, errors=errors
    )


def _condition_words(doc: dict[str, Any], schema: Any) -> str | None:
    if schema is None:
        return None
    condition = from_schema(doc, schema)
    return describe(doc, condition) if condition is not None else "Custom condition, edited in the file"


@bp.get("/services/<service_id>/pages")
@requires(core.EDIT_DRAFTS, department=_department)
def list_pages(service_id: str) -> Any:
    return _list(_editing(service_id), FormErrors())


@bp.post("/services/<service_id>/pages/<page>/move")
@requires(core.EDIT_DRAFTS, department=_department)
def move_page(service_id: str, page: str) -> Any:
    editing = _editing(service_id)
    _find_page(editing.doc, page)
    outcome = apply(editing, operations.move_page, task="pages", page=page, direction=_field("direction"))
    if outcome.ok:
        return _see_other("pages.list_pages", service_id=service_id, _anchor=f"page-{page}")
    return _list(outcome.editing, outcome_errors(outcome), 400 if outcome.errors else 409)


@bp.route("/services/<service_id>/pages/new", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def add_page(service_id: str) -> Any:
    editing = _editing(service_id)
    errors = FormErrors()
    values = {"title": "", "intro": ""}
    if request.method == "POST":
        values = {"title": _field("title"), "intro": _field("intro")}
        outcome = apply(editing, operations.add_page, task="pages", title=values["title"], intro=values["intro"])
        if outcome.ok:
            added = outcome.editing.doc["pages"][-1]["id"]
            return _see_other("pages.edit_page", service_id=service_id, page=added)
        editing, errors = outcome.editing, outcome_errors(outcome)
    return render_page(
        "builder/pages/new_page.html",
        400 if errors else 200,
        title="Add a page",
        editing=editing,
        values=values,
        errors=errors,
        advice=_advice(advice.text_advice("title", values["title"], heading=True)),
    )


def _page_values(page: dict[str, Any]) -> dict[str, Any]:
    return {"title": page.get("title", ""), "intro": "\n\n".join(page.get("intro", [])), "stop": bool(page.get("stop"))}


def _set_page(doc: dict[str, Any], page: str, *, title: str, intro: str, stop: bool) -> dict[str, Any]:
    """The page's name, introduction and stop flag in one save (one operation after another)."""
    new = operations.set_page(doc, page, title=title, intro=intro)
    return operations.set_stop_page(new, page, stop=stop)


@bp.route("/services/<service_id>/pages/<page>/", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def edit_page(service_id: str, page: str) -> Any:
    editing = _editing(service_id)
    target = _find_page(editing.doc, page)
    errors = FormErrors()
    values = _page_values(target)
    if request.method == "POST":
        values = {"title": _field("title"), "intro": _field("intro"), "stop": request.form.get("stop") == "yes"}
        outcome = apply(editing, _set_page, task="pages", page=page, **values)
        if outcome.ok:
            return _see_other("pages.edit_page", service_id=service_id, page=page)
        editing, errors = outcome.editing, outcome_errors(outcome)
        target = _find_page(editing.doc, page)
    return _edit_page(editing, target, values, errors)


def _edit_page(editing: Editing, target: dict[str, Any], values: dict[str, Any], errors: FormErrors) -> Any:
    doc = editing.doc
    questions = [
        {"name": n, "label": str(doc["questions"].get(n, {}).get("label", n))} for n in target.get("questions", [])
    ]
    page_advice = advice.text_advice("title", values["title"], heading=True) + advice.text_advice(
        "intro", values["intro"]
    )
    return render_page(
        "builder/pages/edit_page.html",
        400 if errors else 200,
        title=f"Edit page: {target.get('title', target['id'])}",
        target=target,
        values=values,
        questions=questions,
        condition=_condition_words(doc, target.get("show_if")),
        routing=_routing_words(doc, target),
        errors=errors,
        advice=_advice(page_advice),
        **_page_context(editing, target["id"]),
    )


def _routing_words(doc: dict[str, Any], page: dict[str, Any]) -> list[str]:
    titles = {p["id"]: p.get("title", p["id"]) for p in doc["pages"]}
    out = []
    for rule in page.get("next", []):
        condition = from_schema(doc, rule.get("if"))
        words = describe(doc, condition, prefix="If") if condition is not None else "If a custom condition holds"
        out.append(f"{words}, go to {titles.get(rule.get('goto'), rule.get('goto'))}")
    return out


@bp.route("/services/<service_id>/pages/<page>/delete", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def delete_page(service_id: str, page: str) -> Any:
    editing = _editing(service_id)
    target = _find_page(editing.doc, page)
    errors = FormErrors()
    if request.method == "POST":
        if request.form.get("confirm") == "no":
            return _see_other("pages.list_pages", service_id=service_id)
        if request.form.get("confirm") != "yes":
            errors = FormErrors({"confirm": "Select yes if you want to delete this page"})
        else:
            outcome = apply(editing, operations.delete_page, task="pages", page=page)
            if outcome.ok:
                return _see_other("pages.list_pages", service_id=service_id)
            editing, errors = outcome.editing, outcome_errors(outcome)
    questions = [str(editing.doc["questions"].get(n, {}).get("label", n)) for n in target.get("questions", [])]
    return render_page(
        "builder/pages/delete_page.html",
        400 if errors else 200,
        title=f"Are you sure you want to delete page {target.get('title', page)}?",
        editing=editing,
        target=target,
        questions=questions,
        errors=errors,
    )


# -- questions ---------------------------------------------------------------------------------


def _palette(*, items: bool = False) -> list[dict[str, Any]]:
    """The question types, in palette order (for the questions about each item: those it may ask)."""
    return [
        {"value": name, "text": widget.palette_label}
        for name, widget in WIDGETS.items()
        if not (items and name in NOT_IN_ITEMS)
    ]


@bp.route("/services/<service_id>/pages/<page>/questions/new", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def add_question(service_id: str, page: str) -> Any:
    """Pick a type from the palette (a GET form, so it works without JavaScript), then the question form."""
    editing = _editing(service_id)
    target = _find_page(editing.doc, page)

    def added(done: Editing) -> Any:
        name = _find_page(done.doc, page)["questions"][-1]
        return _see_other("pages.edit_question", service_id=service_id, name=name)

    return _palette_then_question(
        editing,
        palette=_palette(),
        add=lambda doc, **kw: operations.add_question(doc, page=page, **kw),
        added=added,
        back_url=url_for("pages.edit_page", service_id=service_id, page=page),
        back_text="Back to the page",
        restart_url=url_for("pages.add_question", service_id=service_id, page=page),
        where=f"On page {target.get('title', page)}",
    )


def _palette_then_question(
    editing: Editing,
    *,
    palette: list[dict[str, Any]],
    add: Callable[..., dict[str, Any]],
    added: Callable[[Editing], Any],
    **words: Any,
) -> Any:
    """The one flow of a new question, on a page or about each item of a list: the palette (a GET
    form), then its text; ``add(doc, widget=, label=, hint=, required=)`` adds it, ``added`` says
    where to go next; ``words`` are the page's back link, its "choose again" link and where it goes."""
    errors = FormErrors()
    source = request.form if request.method == "POST" else request.args
    widget = source.get("widget", "")
    allowed = {p["value"] for p in palette}
    values = {"label": _field("label"), "hint": _field("hint"), "required": request.form.get("required", "yes")}
    if request.method == "GET" and "widget" in request.args and widget not in allowed:
        errors = FormErrors({"widget": "Select the type of question"})
    if request.method == "POST":
        outcome = apply(
            editing,
            add,
            task="pages",
            widget=widget,
            label=values["label"],
            hint=values["hint"] or None,
            required=values["required"] != "no",
        )
        if outcome.ok:
            return added(outcome.editing)
        editing, errors = outcome.editing, outcome_errors(outcome)
    chosen = WIDGETS.get(widget) if widget in allowed else None
    return render_page(
        "builder/pages/new_question.html",
        400 if errors else 200,
        title=f"Add a question: {chosen.palette_label}" if chosen else "What type of question do you want to add?",
        editing=editing,
        widget=chosen,
        palette=palette,
        values=values,
        errors=errors,
        advice=_advice(
            (
                advice.text_advice("label", values["label"], heading=True)
                if widget == "declaration"
                else advice.label_advice(values["label"])
            )
            + advice.hint_advice(values["hint"])
        ),
        **words,
    )


def _rule_side(question: dict[str, Any], side: str) -> dict[str, str]:
    """One side of a question's relative date rule as the form shows it."""
    stored = question.get("date_rule", {}).get(side) if isinstance(question.get("date_rule"), dict) else None
    if not isinstance(stored, dict) or len(stored) != 1:
        return {"amount": "", "unit": "days", "direction": "from"}
    ((unit, amount),) = stored.items()
    number = amount if isinstance(amount, int) and not isinstance(amount, bool) else 0
    return {"amount": str(abs(number)), "unit": str(unit), "direction": "before" if number < 0 else "from"}


def _question_values(doc: dict[str, Any], name: str) -> dict[str, Any]:
    question = doc["questions"][name]
    prop = doc["schema"]["properties"].get(name, {})
    required = name in doc["schema"].get("required", []) or any(
        name in rule.get("then", {}).get("required", []) for rule in doc["schema"].get("allOf", [])
    )
    messages = doc.get("messages", {}).get(name, {})
    return {
        "label": question.get("label", ""),
        "hint": question.get("hint", ""),
        "statement": question.get("statement", ""),
        "searchable": question.get("searchable") is True,
        "required": "yes" if required else "no",
        "min_length": str(prop.get("minLength", "")),
        "max_length": str(prop.get("maxLength", "")),
        "min_value": str(prop.get("minimum", "")),
        "max_value": str(prop.get("maximum", "")),
        "whole_numbers": prop.get("type") == "integer",
        "date_after": str(prop.get("dateAfter", "")),
        "date_before": str(prop.get("dateBefore", "")),
        "date_rule": {side: _rule_side(question, side) for side in SIDES},
        "messages": {k: str(v) for k, v in messages.items()} if isinstance(messages, dict) else {},
        **_new_type_values(question, prop),
    }


def _amount(pence: Any) -> str:
    """A money limit (pence) as the designer types it, in pounds: 500000 -> "5000.00"."""
    return f"{pence / 100:.2f}" if isinstance(pence, int | float) and not isinstance(pence, bool) else ""


def _new_type_values(question: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """The form values of a file upload's limits, an add-another's settings, a money answer's
    limits in pounds and a UK address's lookup (issue 18)."""
    widget = question.get("widget")
    values: dict[str, Any] = {"lookup": question.get("lookup") is True}
    if widget == "file":
        accept = question.get("accept")
        values["max_files"] = str(prop.get("maxItems", ""))
        values["accept"] = [str(k) for k in accept] if isinstance(accept, list) else []
        values["max_size_mb"] = str(question.get("max_size_mb", DEFAULT_MAX_SIZE_MB))
    elif widget == "add-another":
        for key in ("singular", "plural", "summary"):
            values[key] = str(question.get(key) or "")
        values["min_items"] = str(prop.get("minItems", ""))
        values["max_items"] = str(prop.get("maxItems", ""))
    elif widget == "money":
        values["min_value"] = _amount(prop.get("minimum")) if prop.get("minimum") else ""
        values["max_value"] = _amount(prop.get("maximum"))
    return values


def _posted_question(widget: str, *, item: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's values (to show again) and the keyword arguments for update_question
    (``item``: a question about each item of an add-another, which caseworkers cannot search by
    and whose address cannot be found by postcode)."""
    values: dict[str, Any] = {
        "label": _field("label"),
        "hint": _field("hint"),
        "required": "no" if request.form.get("required") == "no" else "yes",
        "messages": {},
    }
    kwargs: dict[str, Any] = {"label": values["label"], "hint": values["hint"] or None}
    if widget == "declaration":
        values["required"] = "yes"  # always: the form does not ask
        values["statement"] = _field("statement")
        kwargs["statement"] = values["statement"]
    else:
        kwargs["required"] = values["required"] == "yes"
    if widget in SEARCHABLE_WIDGETS and not item:
        values["searchable"] = request.form.get("searchable") == "yes"
        kwargs["searchable"] = values["searchable"]
    if widget in TEXT_WIDGETS:
        values["min_length"], values["max_length"] = _field("min_length"), _field("max_length")
        kwargs["min_length"], kwargs["max_length"] = values["min_length"] or None, values["max_length"] or None
    if widget == "number":
        values["min_value"], values["max_value"] = _field("min_value"), _field("max_value")
        values["whole_numbers"] = request.form.get("whole_numbers") == "yes"
        kwargs["min_value"], kwargs["max_value"] = values["min_value"] or None, values["max_value"] or None
        kwargs["whole_numbers"] = values["whole_numbers"]
    if widget == "money":
        values["min_value"], values["max_value"] = _field("min_value"), _field("max_value")
        kwargs["min_value"], kwargs["max_value"] = values["min_value"] or None, values["max_value"] or None
    if widget == "file":
        values["max_files"], values["max_size_mb"] = _field("max_files"), _field("max_size_mb")
        # Each ticked kind once, at most as many as there are kinds: the operation refuses the rest.
        values["accept"] = list(dict.fromkeys(v[:MAX_FIELD] for v in request.form.getlist("accept")[: len(KINDS) + 1]))
        kwargs.update(max_files=values["max_files"], accept=values["accept"], max_size_mb=values["max_size_mb"])
    if widget == "add-another":
        for key in ("singular", "plural", "min_items", "max_items", "summary"):
            values[key] = _field(key)
        kwargs.update({key: values[key] for key in ("singular", "plural", "max_items")})
        kwargs["min_items"], kwargs["summary"] = values["min_items"] or None, values["summary"] or None
        if "summary" not in request.form:  # not offered (items IT wrote as a $ref): left as it is
            kwargs["summary"] = operations.KEEP
    if widget == "uk-address":
        # The address finder never runs on an item's page: a question about each item has no tick
        # box, and saving it clears a "lookup" an older draft may have.
        values["lookup"] = request.form.get("lookup") == "yes" and not item
        kwargs["lookup"] = values["lookup"]
    if widget == "date":
        values["date_after"], values["date_before"] = _field("date_after"), _field("date_before")
        kwargs["date_after"], kwargs["date_before"] = values["date_after"] or None, values["date_before"] or None
        values["date_rule"] = {
            side: {part: _field(f"date_rule.{side}.{part}") for part in ("amount", "unit", "direction")}
            for side in SIDES
        }
        kwargs["date_rule"] = values["date_rule"]
    keywords = ["required", *(k for k, _ in MESSAGES.get(widget, []))]
    values["messages"] = {k: _field(f"messages.{k}") for k in keywords}
    kwargs["messages"] = {k: v or None for k, v in values["messages"].items()}
    return values, kwargs


def _rule_words(question: dict[str, Any]) -> str | None:
    """The saved relative date rule in plain words ("at least 14 days from today"), for the page."""
    rule = DateRule.read(question.get("date_rule"))
    return rule.words() if rule is not None else None


def _item_doc(editing: Editing, name: str) -> dict[str, Any]:
    """An add-another's questions about each item as a one-page service (404: not an add-another)."""
    _find_question(editing.doc, name)
    try:
        return operations.item_service(editing.doc, name)
    except EditError:
        abort(404)


def _where_item(doc: dict[str, Any], name: str) -> str:
    """ "About each person in People who live with you"."""
    question = doc["questions"][name]
    return f"About each {question.get('singular') or 'item'} in {question.get('label', name)}"


def _items_context(editing: Editing, name: str, question: dict[str, Any], chosen: str) -> dict[str, Any]:
    """The add-another's settings and its questions about each item, for its edit page."""
    if question.get("widget") != "add-another":
        return {"items": None, "summary_items": []}
    try:
        sub = operations.item_service(editing.doc, name)
    except EditError:  # items set by IT in the file: nothing the builder can list
        return {"items": None, "summary_items": []}
    required = set(sub["schema"].get("required", []))
    items = [
        {
            "name": item,
            "label": str(q.get("label", item)),
            "kind": WIDGETS[q["widget"]].palette_label if q.get("widget") in WIDGETS else str(q.get("widget")),
            "required": item in required,
        }
        for item, q in sub["questions"].items()
        if isinstance(q, dict)
    ]
    first = items[0]["label"] if items else "none yet"
    summary_items = [{"value": "", "text": f"The first question ({first})", "selected": not chosen}] + [
        {"value": i["name"], "text": i["label"], "selected": i["name"] == chosen} for i in items
    ]
    return {"items": items, "summary_items": summary_items}


def _edit_question(
    editing: Editing,
    name: str,
    values: dict[str, Any],
    errors: FormErrors,
    saved: str | None = None,
    *,
    item_of: str | None = None,
) -> Any:
    """The question's form; ``item_of`` names the add-another section a question about each item is in."""
    doc = editing.doc if item_of is None else _item_doc(editing, item_of)
    question = _find_question(doc, name)
    page = _page_of(doc, name) if item_of is None else None
    widget = WIDGETS.get(question.get("widget", ""))
    options = question.get("options") if widget is not None and widget.takes_options else None
    choices = [
        {"value": v, "label": o.get("label", v), "hint": o.get("hint", "")}
        for v, o in (options or {}).items()
        if isinstance(o, dict)
    ]
    context = _page_context(editing, page["id"]) if page is not None else {"editing": editing, "preview": None}
    kind = widget.name if widget else ""
    if item_of is not None:
        back_url = url_for("pages.edit_question", service_id=editing.service_id, name=item_of, _anchor="items")
        back_text, where = "Back to the questions about each item", _where_item(editing.doc, item_of)
    elif page is not None:
        back_url = url_for("pages.edit_page", service_id=editing.service_id, page=page["id"])
        back_text, where = "Back to the page", f"On page {page.get('title', page['id'])}"
    else:
        back_url = url_for("pages.list_pages", service_id=editing.service_id)
        back_text, where = "Back to the page", ""
    if not errors:
        found = advice.question_advice(doc, name)
    elif kind == "declaration":  # a declaration's heading is not a question: no question mark wanted
        found = advice.text_advice("label", values["label"], heading=True)
    else:
        found = advice.label_advice(values["label"])
    return render_page(
        "builder/pages/edit_question.html",
        400 if errors else 200,
        title=f"Edit question: {question.get('label', name)}",
        name=name,
        question=question,
        widget=widget,
        page=page,
        values=values,
        choices=choices if options is not None else None,
        messages=[("required", "No answer given"), *MESSAGES.get(kind, [])],
        searchable=kind in SEARCHABLE_WIDGETS and item_of is None,
        back_url=back_url,
        back_text=back_text,
        where=where,
        item_of=item_of,
        file_words=file_limits_words(question, doc["schema"]["properties"].get(name)) if kind == "file" else None,
        max_files=MAX_FILES,
        max_size_mb=MAX_SIZE_MB,
        most_items=MOST_ITEMS,
        kinds=[
            {"value": k.name, "text": k.label, "checked": k.name in values.get("accept", [])} for k in KINDS.values()
        ],
        **(
            _items_context(editing, name, question, str(values.get("summary", "")))
            if item_of is None
            else {"items": None, "summary_items": []}
        ),
        units={side: _unit_items(values.get("date_rule", {}).get(side, {}).get("unit")) for side in SIDES},
        rule_words=_rule_words(question),
        saved=saved,
        errors=errors,
        advice=_advice(found),
        **context,
    )


# What the buttons beside each choice do, in the one form of the question (value "up:<choice>").
CHOICE_ACTIONS = {"up": "moved up", "down": "moved down", "remove": "removed"}
DATE_RULE_UNITS = {"days": "days", "working_days": "working days", "weeks": "weeks", "months": "months"}


def _unit_items(chosen: Any) -> list[dict[str, Any]]:
    return [{"value": unit, "text": words, "selected": unit == chosen} for unit, words in DATE_RULE_UNITS.items()]


def _choice_field(value: str, error: EditError) -> str:
    """EditError names a field of one choice ("label"); the form has one per choice."""
    if error.field in ("label", "hint"):
        return f"choices.{value}.{error.field}"
    return "choices"


def _save_question(
    doc: dict[str, Any],
    name: str,
    *,
    update: dict[str, Any],
    choices: dict[str, tuple[str, str]],
    new_choice: tuple[str, str],
    action: tuple[str, str] | None,
) -> dict[str, Any]:
    """Every part of the question's form in one save: its settings, each choice's text, a new
    choice, and the choice button pressed (move or remove), so that nothing typed is lost."""
    new = operations.update_question(doc, name, **update)
    options = new["questions"][name].get("options") if choices or new_choice[0] or action else None
    for value, (label, hint) in choices.items():
        current = options.get(value) if isinstance(options, dict) else None
        if not isinstance(current, dict):
            continue  # removed meanwhile: nothing to rename
        if label == current.get("label", "") and hint == current.get("hint", ""):
            continue
        try:
            new = operations.rename_choice(new, name, value, label=label, hint=hint or None)
        except EditError as error:
            raise EditError(_choice_field(value, error), error.message) from None
    if new_choice[0] or new_choice[1]:
        try:
            new = operations.add_choice(new, name, label=new_choice[0], hint=new_choice[1] or None)
        except EditError as error:
            field = f"new_choice.{error.field}" if error.field in ("label", "hint") else "choices"
            raise EditError(field, error.message) from None
    if action is not None:
        verb, value = action
        try:
            if verb == "remove":
                new = operations.remove_choice(new, name, value)
            else:
                new = operations.move_choice(new, name, value, direction=verb)
        except EditError as error:
            raise EditError("choices", error.message) from None
    return new


PostedChoices = tuple[dict[str, tuple[str, str]], tuple[str, str], tuple[str, str] | None]


def _posted_choices(question: dict[str, Any]) -> PostedChoices:
    """The choices' texts, a new choice and the choice button pressed, as the form posts them."""
    options = question["options"] if isinstance(question.get("options"), dict) else {}
    choices = {
        value: (_field(f"choices.{value}.label"), _field(f"choices.{value}.hint"))
        for value in options
        if f"choices.{value}.label" in request.form
    }
    verb, _, value = _field("action").partition(":")
    action = (verb, value) if verb in CHOICE_ACTIONS and value else None
    return choices, (_field("new_choice.label"), _field("new_choice.hint")), action


@bp.route("/services/<service_id>/questions/<name>", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def edit_question(service_id: str, name: str) -> Any:
    """The question's one form: every part of it (texts, rules, messages, choices) saved together."""
    return _question_form(_editing(service_id), name)


def _question_form(editing: Editing, name: str, *, item_of: str | None = None) -> Any:
    """A question's form shown or saved; ``item_of`` names the list a question about each item is in."""

    def doc_of(current: Editing) -> dict[str, Any]:
        return current.doc if item_of is None else _item_doc(current, item_of)

    question = _find_question(doc_of(editing), name)
    errors = FormErrors()
    values = _question_values(doc_of(editing), name)
    if request.method == "POST":
        values, kwargs = _posted_question(question.get("widget", ""), item=item_of is not None)
        choices, new_choice, action = _posted_choices(question)
        target: dict[str, Any] = {"name": name} if item_of is None else {"name": item_of, "item": name}
        outcome = apply(
            editing,
            _save_question if item_of is None else _save_item_question,
            task="pages",
            **target,
            update=kwargs,
            choices=choices,
            new_choice=new_choice,
            action=action,
        )
        if outcome.ok:
            flash(_saved_words(question, action), "saved")
            if item_of is None:
                return _see_other("pages.edit_question", service_id=editing.service_id, name=name)
            return _see_other("pages.edit_item_question", service_id=editing.service_id, name=item_of, item=name)
        editing, errors = outcome.editing, outcome_errors(outcome)
        current = doc_of(editing)
        _find_question(current, name)
        posted = {k: v[:MAX_FIELD] for k, v in request.form.items() if k.startswith(("new_choice.", "choices."))}
        values = {**_question_values(current, name), **values, "posted": posted}
    saved = next((str(m) for m in get_flashed_messages(category_filter=["saved"])), None)
    return _edit_question(editing, name, values, errors, saved=saved, item_of=item_of)


def _saved_words(question: dict[str, Any], action: tuple[str, str] | None) -> str:
    """The success banner after a question's form is saved."""
    if action is None:
        return "Question saved"
    label = str(question.get("options", {}).get(action[1], {}).get("label", action[1]))
    return f"Question saved, and choice ‘{label}’ {CHOICE_ACTIONS[action[0]]}"


@bp.post("/services/<service_id>/questions/<name>/move")
@requires(core.EDIT_DRAFTS, department=_department)
def move_question(service_id: str, name: str) -> Any:
    editing = _editing(service_id)
    _find_question(editing.doc, name)
    page = _page_of(editing.doc, name)
    outcome = apply(editing, operations.move_question, task="pages", name=name, direction=_field("direction"))
    if outcome.ok and page is not None:
        return _see_other("pages.edit_page", service_id=service_id, page=page["id"], _anchor=f"question-{name}")
    if page is None:
        abort(404)
    target = _find_page(outcome.editing.doc, page["id"])
    return _edit_page(outcome.editing, target, _page_values(target), outcome_errors(outcome))


@bp.route("/services/<service_id>/questions/<name>/delete", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def delete_question(service_id: str, name: str) -> Any:
    editing = _editing(service_id)
    question = _find_question(editing.doc, name)
    page = _page_of(editing.doc, name)
    errors = FormErrors()
    back = (
        url_for("pages.edit_page", service_id=service_id, page=page["id"])
        if page is not None
        else url_for("pages.list_pages", service_id=service_id)
    )
    if request.method == "POST":
        if request.form.get("confirm") == "no":
            return redirect(back, 303)
        if request.form.get("confirm") != "yes":
            errors = FormErrors({"confirm": "Select yes if you want to delete this question"})
        else:
            outcome = apply(editing, operations.delete_question, task="pages", name=name)
            if outcome.ok:
                return redirect(back, 303)
            editing, errors = outcome.editing, outcome_errors(outcome)
    return render_page(
        "builder/pages/delete_question.html",
        400 if errors else 200,
        title=f"Are you sure you want to delete the question '{question.get('label', name)}'?",
        editing=editing,
        back=back,
        errors=errors,
    )


# -- the questions about each item of an add-another section -----------------------------------
# The same pages as any question (the palette, the question's form, delete), on the section's
# item questions: builder.operations.item_service makes them a one-page service of their own.


def _items_url(service_id: str, name: str) -> str:
    return url_for("pages.edit_question", service_id=service_id, name=name, _anchor="items")


@bp.route("/services/<service_id>/questions/<name>/items/new", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def add_item_question(service_id: str, name: str) -> Any:
    """Pick a type (a GET form, as for a page), then the question's text: asked about each item."""
    editing = _editing(service_id)
    _item_doc(editing, name)

    def added(done: Editing) -> Any:
        item = list(_item_doc(done, name)["questions"])[-1]
        return _see_other("pages.edit_item_question", service_id=service_id, name=name, item=item)

    return _palette_then_question(
        editing,
        palette=_palette(items=True),
        add=lambda doc, **kw: operations.add_item_question(doc, name, **kw),
        added=added,
        back_url=_items_url(service_id, name),
        back_text="Back to the questions about each item",
        restart_url=url_for("pages.add_item_question", service_id=service_id, name=name),
        where=_where_item(editing.doc, name),
    )


def _save_item_question(doc: dict[str, Any], name: str, *, item: str, **kw: Any) -> dict[str, Any]:
    """Every part of a question about each item in one save (``_save_question`` on the items)."""
    return operations.edit_items(doc, name, lambda items: _save_question(items, item, **kw))


@bp.route("/services/<service_id>/questions/<name>/items/<item>", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def edit_item_question(service_id: str, name: str, item: str) -> Any:
    """A question about each item: the same one form as any question (it cannot be made searchable)."""
    return _question_form(_editing(service_id), item, item_of=name)


@bp.post("/services/<service_id>/questions/<name>/items/<item>/move")
@requires(core.EDIT_DRAFTS, department=_department)
def move_item_question(service_id: str, name: str, item: str) -> Any:
    editing = _editing(service_id)
    _find_question(_item_doc(editing, name), item)
    outcome = apply(
        editing, operations.move_item_question, task="pages", name=name, item=item, direction=_field("direction")
    )
    if outcome.ok:
        return _see_other("pages.edit_question", service_id=service_id, name=name, _anchor=f"item-{item}")
    editing = outcome.editing
    _find_question(editing.doc, name)
    return _edit_question(editing, name, _question_values(editing.doc, name), outcome_errors(outcome))


@bp.route("/services/<service_id>/questions/<name>/items/<item>/delete", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def delete_item_question(service_id: str, name: str, item: str) -> Any:
    editing = _editing(service_id)
    question = _find_question(_item_doc(editing, name), item)
    errors = FormErrors()
    back = _items_url(service_id, name)
    if request.method == "POST":
        if request.form.get("confirm") == "no":
            return redirect(back, 303)
        if request.form.get("confirm") != "yes":
            errors = FormErrors({"confirm": "Select yes if you want to delete this question"})
        else:
            outcome = apply(editing, operations.delete_item_question, task="pages", name=name, item=item)
            if outcome.ok:
                return redirect(back, 303)
            editing, errors = outcome.editing, outcome_errors(outcome)
    one = str(editing.doc["questions"][name].get("singular") or "item")
    return render_page(
        "builder/pages/delete_question.html",
        400 if errors else 200,
        title=f"Are you sure you want to delete the question '{question.get('label', item)}' about each {one}?",
        editing=editing,
        back=back,
        errors=errors,
    )


# -- conditions and routing --------------------------------------------------------------------


def _question_items(doc: dict[str, Any], names: list[str], selected: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"value": "", "text": "Select a question"}]
    items += [
        {"value": n, "text": str(doc["questions"].get(n, {}).get("label", n)), "selected": n == selected} for n in names
    ]
    return items


def _operator_items(doc: dict[str, Any], names: list[str], selected: str) -> list[dict[str, Any]]:
    """Every operator some question allows, worded for the selected question when there is one."""
    allowed: list[str] = []
    for name in names:
        for op in operators_for(doc, name):
            if op not in allowed:
                allowed.append(op)
    return [{"value": "", "text": "Select how to compare"}] + [
        {"value": op, "text": OPERATOR_WORDS[op], "selected": op == selected} for op in allowed
    ]


# A clause's fields: "<question> <operator> <value>"; on a list (add another), "has any item where"
# also names a question about each item and how to compare its answer ("item", "item_operator").
CLAUSE_FIELDS = ("question", "operator", "value", "item", "item_operator")


def _lists(doc: dict[str, Any], names: list[str]) -> list[str]:
    return [n for n in names if doc["questions"].get(n, {}).get("widget") == "add-another"]


def _item_question_items(doc: dict[str, Any], lists: list[str], selected: str) -> list[dict[str, Any]]:
    """The questions about each item of the lists on offer ("How are they related? (each person)")."""
    items: list[dict[str, Any]] = [{"value": "", "text": "Select a question about each item"}]
    for name in lists:
        one = doc["questions"][name].get("singular") or "item"
        for item, q in item_doc(doc, name)["questions"].items():
            label = str(q.get("label", item)) if isinstance(q, dict) else item
            items.append({"value": item, "text": f"{label} (each {one})", "selected": item == selected})
    return items


def _item_operator_items(doc: dict[str, Any], lists: list[str], selected: str) -> list[dict[str, Any]]:
    allowed: list[str] = []
    for name in lists:
        items = item_doc(doc, name)
        for item in items["questions"]:
            allowed.extend(op for op in operators_for(items, item) if op not in allowed)
    return [{"value": "", "text": "Select how to compare"}] + [
        {"value": op, "text": OPERATOR_WORDS[op], "selected": op == selected} for op in allowed
    ]


def clause_fields(doc: dict[str, Any], names: list[str], rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Each clause row with the question and operator choices its select lists offer (and, when a
    list is on offer, the questions about each of its items)."""
    lists = _lists(doc, names)
    return [
        {
            **dict.fromkeys(CLAUSE_FIELDS, ""),
            **row,
            "questions": _question_items(doc, names, row["question"]),
            "operators": _operator_items(doc, names, row["operator"]) if names else [],
            "item_questions": _item_question_items(doc, lists, row.get("item", "")) if lists else [],
            "item_operators": _item_operator_items(doc, lists, row.get("item_operator", "")) if lists else [],
        }
        for row in rows
    ]


def posted_clauses(prefix: str = "clauses") -> list[dict[str, str]]:
    rows = []
    for i in range(MAX_CLAUSES):
        row = {k: _field(f"{prefix}.{i}.{k}") for k in CLAUSE_FIELDS}
        if any(row.values()):
            rows.append(row)
    return rows


def _value_text(doc: dict[str, Any], question: str, value: Any) -> str:
    """A clause's value as the designer types it: yes or no, a choice's words, a number or date."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    options = doc["questions"].get(question, {}).get("options") or {}
    values = value if isinstance(value, list) else ([] if value is None else [value])
    return ", ".join(str(options.get(str(v), {}).get("label", v)) for v in values)


def clause_rows(doc: dict[str, Any], condition: Condition | None) -> list[dict[str, str]]:
    if condition is None:
        return []
    rows = []
    for clause in condition.clauses:
        if clause.operator == "any_item" and isinstance(clause.value, Clause):
            inner = clause.value
            rows.append(
                {
                    "question": clause.question,
                    "operator": clause.operator,
                    "item": inner.question,
                    "item_operator": inner.operator,
                    "value": _value_text(item_doc(doc, clause.question), inner.question, inner.value),
                }
            )
            continue
        rows.append(
            {
                "question": clause.question,
                "operator": clause.operator,
                "value": _value_text(doc, clause.question, clause.value),
            }
        )
    return rows


def _typed_value(doc: dict[str, Any], question: str, operator: str, value: str) -> Any:
    """Designers type a choice's words; the condition stores its value."""
    asked = doc["questions"].get(question, {})
    options = asked.get("options") if isinstance(asked.get("options"), dict) else {}
    if not options:
        return value
    by_label = {str(o.get("label", "")).casefold(): v for v, o in options.items() if isinstance(o, dict)}
    parts = [v.strip() for v in value.split(",") if v.strip()] if operator == "is_one_of" else [value]
    mapped = [by_label.get(v.strip().casefold(), v.strip()) for v in parts]
    return mapped if operator == "is_one_of" else (mapped[0] if mapped else "")


def to_condition(doc: dict[str, Any], rows: list[dict[str, str]], combine: str) -> Condition:
    """The condition the rows say; a row "has any item where" refuses a question about each item
    that is not its list's, or a comparison that question does not allow (EditError naming the field)."""
    clauses = []
    for row in rows:
        if row["operator"] == "any_item":
            items = item_doc(doc, row["question"])
            item, how = row.get("item", ""), row.get("item_operator", "")
            if item not in items["questions"]:
                raise EditError("item", "Select a question about each item of this list")
            if how not in operators_for(items, item):
                raise EditError("item_operator", "Select how to compare the answer about each item")
            inner = Clause(item, how, _typed_value(items, item, how, row["value"]))
            clauses.append(Clause(row["question"], "any_item", inner))
            continue
        clauses.append(
            Clause(row["question"], row["operator"], _typed_value(doc, row["question"], row["operator"], row["value"]))
        )
    return Condition(tuple(clauses), combine)


def _renumbered(errors: dict[str, str], index: int, prefix: str = "clauses") -> dict[str, str]:
    """EditError names a clause's field ("value"); the form has one per clause ("clauses.1.value")."""
    return {(f"{prefix}.{index}.{k}" if k in CLAUSE_FIELDS else k): v for k, v in errors.items()}


def _set_condition(doc: dict[str, Any], page: str, rows: list[dict[str, str]], combine: str) -> dict[str, Any]:
    for i, row in enumerate(rows):
        try:
            validate_clause(doc, to_condition(doc, [row], "all").clauses[0], page)
        except EditError as error:
            raise EditError(f"clauses.{i}.{error.field}", error.message) from None
    if not rows:
        raise EditError("clauses.0.question", "Select a question")
    return operations.set_condition(doc, page, to_condition(doc, rows, combine))


@bp.route("/services/<service_id>/pages/<page>/condition", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def edit_condition(service_id: str, page: str) -> Any:
    editing = _editing(service_id)
    target = _find_page(editing.doc, page)
    errors = FormErrors()
    stored = target.get("show_if")
    condition = from_schema(editing.doc, stored) if stored is not None else None
    custom = stored is not None and condition is None
    rows = clause_rows(editing.doc, condition)
    combine = condition.combine if condition is not None else "all"
    if request.method == "POST" and not custom:
        if request.form.get("action") == "remove":
            outcome = apply(editing, operations.set_condition, task="pages", page=page, condition=None)
        else:
            rows = condition_help.posted_rows(request.form, MAX_CLAUSES)  # ticked answers joined (issue 17, G)
            combine = "any" if request.form.get("combine") == "any" else "all"
            outcome = apply(editing, _set_condition, task="pages", page=page, rows=rows, combine=combine)
        if outcome.ok:
            return _see_other("pages.edit_page", service_id=service_id, page=page)
        editing, errors = outcome.editing, outcome_errors(outcome)
        target = _find_page(editing.doc, page)
    names = condition_questions(editing.doc, page)
    shown = rows + [{"question": "", "operator": "", "value": ""}] * max(0, min(MAX_CLAUSES, len(rows) + 1) - len(rows))
    return render_page(
        "builder/pages/condition.html",
        400 if errors else 200,
        title=f"Condition for page {target.get('title', page)}",
        editing=editing,
        target=target,
        custom=custom,
        stored_words=_condition_words(editing.doc, stored),
        rows=[condition_help.row_help(editing.doc, names, row) for row in clause_fields(editing.doc, names, shown)],
        combine=combine,
        has_questions=bool(names),
        errors=errors,
    )


def _set_routing(doc: dict[str, Any], page: str, rows: list[dict[str, str]], goto: str) -> dict[str, Any]:
    if not rows and not goto:
        return operations.set_routing(doc, page, [])
    for i, row in enumerate(rows):
        try:
            validate_clause(doc, to_condition(doc, [row], "all").clauses[0], page, routing=True)
        except EditError as error:
            raise EditError(f"clauses.{i}.{error.field}", error.message) from None
    if not rows:
        raise EditError("clauses.0.question", "Select a question")
    try:
        return operations.set_routing(doc, page, [(to_condition(doc, rows, "all"), goto)])
    except EditError as error:
        raise EditError("goto" if error.field.startswith("goto") else error.field, error.message) from None


@bp.route("/services/<service_id>/pages/<page>/routing", methods=["GET", "POST"])
@requires(core.EDIT_DRAFTS, department=_department)
def edit_routing(service_id: str, page: str) -> Any:
    """One routing rule: "If <condition>, go to <page>" (hand-written rules are shown read-only)."""
    editing = _editing(service_id)
    target = _find_page(editing.doc, page)
    errors = FormErrors()
    rules = target.get("next", [])
    readable = len(rules) <= 1 and all(from_schema(editing.doc, r.get("if")) is not None for r in rules)
    condition = from_schema(editing.doc, rules[0].get("if")) if rules and readable else None
    rows = clause_rows(editing.doc, condition)
    goto = str(rules[0].get("goto", "")) if rules else ""
    if request.method == "POST" and readable:
        if request.form.get("action") == "remove":
            rows, goto = [], ""
        else:
            rows, goto = posted_clauses(), _field("goto")
        outcome = apply(editing, _set_routing, task="pages", page=page, rows=rows, goto=goto)
        if outcome.ok:
            return _see_other("pages.edit_page", service_id=service_id, page=page)
        editing, errors = outcome.editing, outcome_errors(outcome)
        target = _find_page(editing.doc, page)
    names = condition_questions(editing.doc, page, routing=True)
    shown = rows or [{"question": "", "operator": "", "value": ""}]
    later = editing.doc["pages"][[p["id"] for p in editing.doc["pages"]].index(page) + 1 :]
    return render_page(
        "builder/pages/routing.html",
        400 if errors else 200,
        title=f"Routing from page {target.get('title', page)}",
        editing=editing,
        target=target,
        readable=readable,
        words=_routing_words(editing.doc, target),
        rows=clause_fields(editing.doc, names, shown),
        pages=[{"value": "", "text": "Select a page"}]
        + [{"value": p["id"], "text": p.get("title", p["id"]), "selected": p["id"] == goto} for p in later],
        has_questions=bool(names),
        errors=errors,
    )


# -- live preview ------------------------------------------------------------------------------


@bp.post("/services/<service_id>/pages/<page>/preview")
@requires(core.EDIT_DRAFTS, department=_department)
def preview_page(service_id: str, page: str) -> Any:
    """The preview panel for what the designer is typing (htmx), without saving anything."""
    editing = _editing(service_id)
    _find_page(editing.doc, page)
    doc = editing.doc
    name = _field("question")
    try:
        if name:
            _find_question(doc, name)
            doc = operations.update_question(doc, name, label=_field("label"), hint=_field("hint") or None)
        elif "title" in request.form:
            doc = operations.set_page(doc, page, title=_field("title"), intro=_field("intro"))
    except EditError:
        pass  # half-typed: preview what is saved
    trial = Editing(editing.service_id, editing.department_id, editing.draft, doc, editing.base_version)
    from flask import render_template

    response = make_response(render_template("builder/pages/_preview.html", preview=_preview(trial, page)))
    response.vary.add("HX-Request")
    return response


@bp.get("/services/<service_id>/preview")
@requires(core.EDIT_DRAFTS, department=_department)
def preview_service(service_id: str) -> Any:
    """Every page of the draft, in order, as the citizen runtime renders it.

    Looking through it is the "preview visited" item of the publish checklist.
    """
    editing = _editing(service_id)
    previews = [_preview(editing, page["id"]) for page in editing.doc.get("pages", [])]
    if editing.draft is not None and editing.definition is not None:
        user = current_user()
        assert user is not None and user.id is not None  # requires() signed them in
        drafting.mark_previewed(session=db(), actor=user.id, draft=editing.draft)
    return render_page(
        "builder/pages/preview_service.html",
        title=f"Preview: {editing.doc.get('title', service_id)}",
        editing=editing,
        service_id=service_id,
        previews=[p for p in previews if p is not None],
        problems=editing.problems,
    )

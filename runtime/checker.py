"""The definition checker behind ``civicforms validate`` and ``civicforms load``.

It checks a definition against the published meta-schema, then the rules a meta-schema
cannot express (see docs/definition-format.md). Every problem has a JSON path so that IT can
find it in a diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import SchemaError

from .definition import DefinitionError, folder_department, read_file
from .dialect import (
    MAX_EXPANDED_SIZE,
    MetaValidator,
    check_keywords,
    check_refs,
    check_schema,
    expansion_problems,
    names_in_condition,
    resolve_ref,
    short_message,
    subschemas,
)
from .limits import meta_schema
from .problems import Problem, json_path
from .retention import MAX_MONTHS, MAX_YEARS
from .slugs import slug as department_slug
from .visibility import trap_problems
from .widgets import WIDGETS
from .widgets.base import json_types
from .workflow import problems as workflow_problems


@cache
def _meta_validator() -> Any:
    return MetaValidator(meta_schema())


def check_file(path: Path, *, root: Path | None = None, any_file_name: bool = False) -> list[Problem]:
    """Check one file: unreadable files, definitions whose id is not their file name (unless
    ``any_file_name``: a pre-commit hook's temporary copy), and files in a department's folder
    (``form_definitions/<department-slug>/<id>.json``; ``root`` is the folder being checked, see
    ``runtime.definition.folder_department``) whose ``department`` is another one."""
    try:
        doc = read_file(path)
    except DefinitionError as exc:
        return [Problem("$", str(exc))]
    problems = check(doc)
    if not any_file_name and isinstance(doc.get("id"), str) and path.stem != doc["id"]:
        problems.insert(0, Problem("$.id", f'"{doc["id"]}" must match the file name "{path.stem}"'))
    folder = folder_department(path, root)
    if folder is not None:
        problems[:0] = _department_folder_problems(doc, folder)
    return problems


def _department_folder_problems(doc: dict[str, Any], folder: str) -> list[Problem]:
    department = doc.get("department")
    if not isinstance(department, str) or not department.strip():
        return [Problem("$.department", f'the file is in the folder of department "{folder}" but names no department')]
    if department_slug(department) != folder:
        return [
            Problem(
                "$.department",
                f'"{department}" belongs in the folder "{department_slug(department)}", '
                f'not "{folder}": move the file or change its department',
            )
        ]
    return []


def check_many(docs: dict[Path, dict[str, Any]]) -> list[tuple[Path, Problem]]:
    """Problems between definitions that each pass alone: two files with the same service ``id``,
    or two services with the same ``reference_prefix`` (their case references would collide).

    ``docs`` maps where each definition comes from (a file, or any path-like label such as a live
    service's) to the document; every file involved gets a problem naming the other. Documents
    without a string id or prefix are skipped (the checker reports those)."""
    found: list[tuple[Path, Problem]] = []
    for key, words in (("id", "service id"), ("reference_prefix", "reference prefix")):
        holders: dict[str, list[Path]] = {}
        for path, doc in docs.items():
            value = doc.get(key) if isinstance(doc, dict) else None
            if isinstance(value, str) and value:
                holders.setdefault(value, []).append(path)
        for value, paths in holders.items():
            if len(paths) < 2:
                continue
            for path in paths:
                others = ", ".join(str(p) for p in paths if p != path)
                found.append((path, Problem(f"$.{key}", f'{words} "{value}" is also used by {others}')))
    return found


def check(doc: dict[str, Any]) -> list[Problem]:
    """All problems with a definition document; an empty list means it can be published.

    Every problem is reported at once: the meta-schema's, and the deeper rules' wherever the
    sections they read are well-formed (a malformed section's own problems are its meta-schema
    ones, so nothing is said twice)."""
    problems = [
        Problem(json_path(e.absolute_path), _retention_message(e) or _meta_message(e))
        for e in sorted(_meta_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    ]
    broken = {_section_of(p.path) for p in problems}
    seen = set(problems)
    schema_unsafe = False
    for sections, rule in _DEEPER:
        if schema_unsafe and "schema" in sections:
            continue  # these rules follow the schema's references, and a circular one never ends
        if not all(_well_formed(doc, section, broken) for section in sections):
            continue
        if rule is _workflow_rules and "schema" in broken:
            continue  # the workflow's guards name schema properties
        if not problems:
            found = list(rule(doc))
        else:
            try:  # a malformed part the meta-schema let through must not stop the report
                found = list(rule(doc))
            except Exception:  # noqa: BLE001  (the meta-schema problems above say what is wrong)
                found = []
        for problem in found:
            if problem not in seen:
                seen.add(problem)
                problems.append(problem)
        schema_unsafe = schema_unsafe or (rule is _schema_rules and bool(found))
    if problems:
        return problems
    # The trap proof needs a well-formed journey (pages, routing, references) to reason about.
    # Root "required" on a conditional page is reported above, at the page's question.
    return [p for p in trap_problems(doc) if not p.path.startswith("$.schema.required")]


def _section_of(path: str) -> str:
    """The top-level key a JSON path is in ("$" for the document itself)."""
    rest = path[2:] if path.startswith("$.") else ""
    for i, ch in enumerate(rest):
        if ch in ".[":
            return rest[:i]
    return rest or "$"


_SHAPES: dict[str, type] = {
    "schema": dict,
    "questions": dict,
    "pages": list,
    "identity": dict,
    "messages": dict,
    "workflow": dict,
    "retention": dict,
}
_OPTIONAL = {"messages", "workflow", "retention"}


def _well_formed(doc: dict[str, Any], section: str, broken: set[str]) -> bool:
    if section in broken:
        return False
    if section in _OPTIONAL and section not in doc:
        return True
    return isinstance(doc.get(section), _SHAPES[section])


def _meta_message(error: Any) -> str:
    if error.validator == "additionalProperties":
        message = str(error.message).replace("Additional properties are not allowed", "unknown key")
    elif error.validator == "maxLength":
        return f"must be {error.validator_value} characters or less"
    elif error.validator == "pattern" and isinstance(error.instance, str):
        message = f"{error.instance!r} is not in the expected form ({error.validator_value})"
    else:
        message = str(error.message)
    # jsonschema quotes the value it rejects; a hostile file must not make a huge line.
    return message if len(message) <= 200 else message[:197] + "..."


_RETENTION_PERIOD = (
    f"the retention period must be a whole number of years from 1 to {MAX_YEARS}, or of months from 1 to {MAX_MONTHS}"
)


def _retention_message(error: Any) -> str | None:
    """The meta-schema's problems with ``retention`` in plain words (None: not about it)."""
    where = list(error.absolute_path)
    if not where or where[0] != "retention":
        return None
    if len(where) == 1:
        if error.validator == "required":
            return 'say when the retention period starts: "after": "case-closed" or "submitted"'
        if error.validator == "additionalProperties":
            return 'retention takes "years" or "months", and "after"; ' + _meta_message(error)
        return 'retention must be an object like {"years": 6, "after": "case-closed"}'
    if where[1] == "after":
        return (
            'the retention period starts "case-closed" (when the case is closed) '
            'or "submitted" (when the form was sent)'
        )
    return _RETENTION_PERIOD


def _retention_rules(doc: dict[str, Any]) -> Iterator[Problem]:
    """A retention period says years or months, one of them."""
    retention = doc.get("retention")
    if not isinstance(retention, dict):
        return
    if "years" in retention and "months" in retention:
        yield Problem("$.retention", 'give the retention period in "years" or in "months", not both')
    elif "years" not in retention and "months" not in retention:
        yield Problem("$.retention", 'say how long to keep personal data: "years" (1 to 100) or "months" (1 to 1200)')


def _too_many_objects(node: Any, parts: list[Any]) -> Problem | None:
    """A schema too large to check against the meta-schema in reasonable time (about 0.3 ms an
    object), or to evaluate: counted as written, before anything else reads it."""
    count = sum(1 for _ in subschemas(node, parts))
    if count <= MAX_EXPANDED_SIZE:
        return None
    return Problem(
        json_path(parts),
        f"{count:,} schema objects is too many; the limit is {MAX_EXPANDED_SIZE:,}: "
        "split the service, or put a schema used in many places in $defs once",
    )


def _schema_rules(doc: dict[str, Any]) -> Iterator[Problem]:
    """The submission schema alone: its size, JSON Schema validity and references. Any problem here
    stops the rules that follow references (check's loop)."""
    schema = doc["schema"]
    too_many = _too_many_objects(schema, ["schema"])
    if too_many:
        yield too_many
        return
    try:
        check_schema(schema)
    except SchemaError as exc:
        yield Problem(json_path(["schema", *exc.absolute_path]), f"not valid JSON Schema: {short_message(exc.message)}")
        return
    # References first, alone: the rules below follow them, and a circular one never ends.
    yield from check_refs(schema, ["schema"], schema)
    for at, message in expansion_problems(schema, answers=True):
        yield Problem(json_path(["schema", *at]), message)


def _journey_rules(doc: dict[str, Any]) -> Iterator[Problem]:
    """The schema's keywords, and questions, pages, widgets, conditions and routing together."""
    schema = doc["schema"]
    yield from check_keywords(schema, ["schema"], alone=False)
    for keyword in ("anyOf", "oneOf", "not"):
        if keyword in schema:
            yield Problem(
                f"$.schema.{keyword}",
                f'a root "{keyword}" cannot be tied to one question for its error message; '
                'use "allOf" with "if"/"then" blocks',
            )
    props: dict[str, Any] = schema["properties"]
    questions: dict[str, Any] = doc["questions"]
    pages: list[dict[str, Any]] = doc["pages"]

    for name in props:
        if name not in questions:
            yield Problem(f"$.schema.properties.{name}", f'property "{name}" has no entry in questions')
    for name in questions:
        if name not in props:
            yield Problem(f"$.questions.{name}", f'"{name}" is not a property of the schema')

    page_ids: dict[str, int] = {}
    asked_on: dict[str, int] = {}
    for i, page in enumerate(pages):
        if page["id"] in page_ids:
            yield Problem(f"$.pages[{i}].id", f'page id "{page["id"]}" is used twice')
        page_ids[page["id"]] = i
        for j, name in enumerate(page["questions"]):
            where = f"$.pages[{i}].questions[{j}]"
            if name not in props:
                yield Problem(where, f'"{name}" is not a property of the schema')
            elif name in asked_on:
                yield Problem(where, f'"{name}" is already asked on page "{pages[asked_on[name]]["id"]}"')
            else:
                asked_on[name] = i
    for name in props:
        if name in questions and name not in asked_on:
            yield Problem(f"$.questions.{name}", f'"{name}" is not asked on any page')

    for name, question in questions.items():
        if name in props:
            yield from _check_widget(schema, name, question, props[name])
    yield from _file_pages(questions, pages)

    conditional = set()
    for i, page in enumerate(pages):
        if "show_if" in page:
            conditional.add(i)
            yield from _check_condition(page["show_if"], ["pages", i, "show_if"], props, asked_on, i)
        for k, rule in enumerate(page.get("next", [])):
            where = f"$.pages[{i}].next[{k}]"
            yield from _check_condition(rule["if"], ["pages", i, "next", k, "if"], props, asked_on, i + 1)
            target = page_ids.get(rule["goto"])
            if target is None:
                yield Problem(f"{where}.goto", f'no page has the id "{rule["goto"]}"')
            elif target <= i:
                yield Problem(
                    f"{where}.goto", f'routing can only jump forward, and "{rule["goto"]}" is not after this page'
                )
            else:
                conditional.update(range(i + 1, target))
    root_required = set(schema.get("required", []))
    for i in sorted(conditional):
        for j, name in enumerate(pages[i]["questions"]):
            if name in root_required:
                yield Problem(
                    f"$.pages[{i}].questions[{j}]",
                    f'"{name}" is in the root "required" but its page is not always asked; '
                    "require it in an allOf if/then block instead",
                )


def _field_rules(doc: dict[str, Any]) -> Iterator[Problem]:
    """Field paths: page element ids, identity and messages."""
    schema = doc["schema"]
    fields = set(_field_paths(schema))
    seen_ids: dict[str, str] = {}
    for path in sorted(fields):
        element_id = path.replace(".", "-").replace("_", "-")  # as runtime.rendering.html_id
        if element_id in seen_ids:
            yield Problem(
                f"$.questions.{path.split('.')[0]}",
                f'"{path}" and "{seen_ids[element_id]}" would share the page element id "{element_id}"; rename one',
            )
        seen_ids.setdefault(element_id, path)
    for kind, path in doc["identity"].items():
        if path not in fields:
            yield Problem(f"$.identity.{kind}", f'"{path}" is not a field of the schema')
    yield from _check_identity_lengths(schema, doc["identity"], fields)
    item_fields = set(_item_field_paths(schema, doc["questions"]))
    for path in doc.get("messages", {}):
        if path not in fields and path not in item_fields:
            yield Problem(f"$.messages.{path}", f'"{path}" is not a field of the schema')


def _workflow_rules(doc: dict[str, Any]) -> Iterator[Problem]:
    yield from workflow_problems(doc)


# (the sections a rule reads, the rule), in the order their problems are reported.
# The question types whose answers may be searchable (runtime.case_search indexes them).
SEARCHABLE_WIDGETS = frozenset({"text", "email", "tel", "postcode", "ni-number", "nhs-number"})


def _searchable_rules(doc: dict[str, Any]) -> Iterator[Problem]:
    """``"searchable": true`` only on questions whose answer is a line of text (issue 17, part B)."""
    for name, question in doc["questions"].items():
        widget = question.get("widget", "text")
        if question.get("searchable") is True and widget not in SEARCHABLE_WIDGETS:
            yield Problem(
                f"$.questions.{name}.searchable",
                f"a {widget} question cannot be searchable: only answers typed as one line of text can "
                f"({', '.join(sorted(SEARCHABLE_WIDGETS))})",
            )


# -- add another ---------------------------------------------------------------------------------


def _add_another_questions(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: q
        for name, q in doc["questions"].items()
        if isinstance(q, dict) and q.get("widget") == "add-another" and name in doc["schema"]["properties"]
    }


def _items_schema(root: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        prop = resolve_ref(root, root["properties"][name])
        items = resolve_ref(root, prop.get("items")) if isinstance(prop, dict) else None
    except KeyError:
        return {}
    return items if isinstance(items, dict) and isinstance(items.get("properties"), dict) else {}


def _item_field_paths(schema: dict[str, Any], questions: dict[str, Any]) -> Iterator[str]:
    """``household.full_name`` (and ``household.address.postcode``) for each add-another question's
    item fields: what ``messages`` may word (runtime.definition.Definition.item_definition)."""
    for name, q in questions.items():
        if not isinstance(q, dict) or q.get("widget") != "add-another" or name not in schema["properties"]:
            continue
        items = _items_schema(schema, name)
        if items:
            yield from (f"{name}.{path}" for path in _field_paths({**schema, "properties": items["properties"]}))


def _add_another_rules(doc: dict[str, Any]) -> Iterator[Problem]:
    """An add-another question is alone on its page; its item questions pass the rules any
    question does; conditions on it name its real item questions and their values."""
    schema = doc["schema"]
    lists = _add_another_questions(doc)
    if not lists:
        return
    for i, page in enumerate(doc["pages"]):
        names = [n for n in page["questions"] if isinstance(n, str)]
        for j, name in enumerate(names):
            if name in lists and len(names) > 1:
                yield Problem(
                    f"$.pages[{i}].questions[{j}]",
                    f'"{name}" asks for a list (add another), so it must be the only question on its page',
                )
    for name, question in lists.items():
        items = _items_schema(schema, name)
        asked = question.get("questions")
        if not items or not isinstance(asked, dict):
            continue  # the widget's own check says so
        root = {**schema, "properties": items["properties"]}
        for item, sub in asked.items():
            if item not in items["properties"] or not isinstance(sub, dict):
                continue
            if sub.get("lookup") is True:  # the address finder runs on the form's own pages only
                yield Problem(
                    f"$.questions.{name}.questions.{item}.lookup",
                    'an address asked of each item cannot be found by postcode: remove "lookup" (people type it)',
                )
            for problem in _check_widget(root, item, sub, items["properties"][item]):
                yield Problem(
                    problem.path.replace(f"$.questions.{item}", f"$.questions.{name}.questions.{item}", 1).replace(
                        f"$.schema.properties.{item}", f"$.schema.properties.{name}.items.properties.{item}", 1
                    ),
                    problem.message,
                )
    for i, page in enumerate(doc["pages"]):
        conditions = [(["pages", i, "show_if"], page["show_if"])] if "show_if" in page else []
        conditions += [(["pages", i, "next", k, "if"], rule["if"]) for k, rule in enumerate(page.get("next", []))]
        for parts, cond in conditions:
            yield from _item_condition_problems(doc, lists, cond, parts)
    workflow = doc.get("workflow")
    transitions = workflow.get("transitions") if isinstance(workflow, dict) else None
    for k, t in enumerate(transitions if isinstance(transitions, list) else []):
        if isinstance(t, dict) and "guard" in t:  # a workflow action's condition reads answers the same way
            yield from _item_condition_problems(doc, lists, t["guard"], ["workflow", "transitions", k, "guard"])


def _item_condition_problems(
    doc: dict[str, Any], lists: dict[str, dict[str, Any]], cond: Any, parts: list[Any]
) -> Iterator[Problem]:
    """A condition's ``contains`` on an add-another answer names item questions, and values
    their answers can have."""
    if isinstance(cond, dict):
        props = cond.get("properties")
        for name, sub in props.items() if isinstance(props, dict) else ():
            if name not in lists or not isinstance(sub, dict) or not isinstance(sub.get("contains"), dict):
                continue
            items = _items_schema(doc["schema"], name)
            question = lists[name]
            inner = sub["contains"]
            for item in dict.fromkeys(names_in_condition(inner)):
                where = json_path([*parts, "properties", name, "contains"])
                if item not in items.get("properties", {}):
                    singular = question.get("singular") or "item"
                    yield Problem(where, f'condition uses "{item}", which is not a question asked of each {singular}')
                    continue
                test = inner.get("properties", {}).get(item) if isinstance(inner.get("properties"), dict) else None
                yield from _item_value_problems(doc["schema"], items["properties"][item], test, where, item)
        for key, value in cond.items():
            if key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
                for k, sub in enumerate(value):
                    yield from _item_condition_problems(doc, lists, sub, [*parts, key, k])
            elif key in ("not", "if", "then", "else"):
                yield from _item_condition_problems(doc, lists, value, [*parts, key])


def _item_value_problems(root: dict[str, Any], prop: Any, test: Any, where: str, item: str) -> Iterator[Problem]:
    try:
        enum = resolve_ref(root, prop).get("enum")
    except (KeyError, AttributeError):
        return
    if not isinstance(enum, list) or not isinstance(test, dict):
        return
    values = [test["const"]] if "const" in test else list(test["enum"]) if isinstance(test.get("enum"), list) else []
    for value in values:
        if value not in enum:
            yield Problem(
                where, f'condition compares "{item}" with {json.dumps(value)}, which is not one of its choices'
            )


_DEEPER: tuple[tuple[tuple[str, ...], Callable[[dict[str, Any]], Iterator[Problem]]], ...] = (
    (("questions",), _searchable_rules),
    (("schema",), _schema_rules),
    (("schema", "questions", "pages"), _journey_rules),
    (("schema", "identity", "messages"), _field_rules),
    (("workflow",), _workflow_rules),
    (("retention",), _retention_rules),
    (("schema", "questions", "pages"), _add_another_rules),
)


def _field_paths(schema: dict[str, Any]) -> Iterator[str]:
    for name, sub in schema["properties"].items():
        yield name
        try:
            sub = resolve_ref(schema, sub)
        except KeyError:
            continue
        for part in sub.get("properties", {}) if isinstance(sub, dict) else {}:
            yield f"{name}.{part}"


# The citizen_identifier.value column (runtime.models.CitizenIdentifier) holds each normalised
# identifier, and "full name|date of birth|postcode" for the composite key.
IDENTIFIER_COLUMN = 400
# The longest stored form of the formats that bound their own length.
_FORMAT_LENGTHS = {"date": 10, "uk-postcode": 8, "nhs-number": 10, "ni-number": 9, "time-of-day": 5, "uk-phone": 13}


def _field_schema(root: dict[str, Any], path: str) -> dict[str, Any]:
    node: Any = root
    for part in path.split("."):
        node = resolve_ref(root, node) if isinstance(node, dict) else {}
        node = node.get("properties", {}).get(part, {}) if isinstance(node, dict) else {}
    node = resolve_ref(root, node) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _check_identity_lengths(root: dict[str, Any], identity: dict[str, str], fields: set[str]) -> Iterator[Problem]:
    """Identity answers must fit the column they are stored in, or saving a citizen fails."""
    longest: dict[str, int] = {}
    for kind, path in identity.items():
        if path not in fields:
            continue  # reported above
        try:
            schema = _field_schema(root, path)
        except KeyError:
            continue  # reported by check_refs
        if schema.get("format") in _FORMAT_LENGTHS:
            longest[kind] = _FORMAT_LENGTHS[schema["format"]]
            continue
        limit = schema.get("maxLength")
        if not isinstance(limit, int) or isinstance(limit, bool):
            if "string" in json_types(schema) or not json_types(schema):
                yield Problem(
                    f"$.identity.{kind}",
                    f'"{path}" identifies the citizen, so it needs a "maxLength" of {IDENTIFIER_COLUMN} or less',
                )
            continue
        longest[kind] = limit
        if limit > IDENTIFIER_COLUMN:
            yield Problem(
                f"$.identity.{kind}",
                f'"{path}" may be {limit} characters long, but an identifier is stored in at most '
                f'{IDENTIFIER_COLUMN}: give it a "maxLength" of {IDENTIFIER_COLUMN} or less',
            )
    composite = ("full_name", "date_of_birth", "postcode")
    if all(k in longest for k in composite) and all(longest[k] <= IDENTIFIER_COLUMN for k in composite):
        total = sum(longest[k] for k in composite) + 2  # two "|" separators
        if total > IDENTIFIER_COLUMN:
            room = IDENTIFIER_COLUMN - 2 - longest["date_of_birth"] - longest["postcode"]
            yield Problem(
                "$.identity.full_name",
                f"the name, date of birth and postcode are stored together in at most {IDENTIFIER_COLUMN} characters; "
                f'give "{identity["full_name"]}" a "maxLength" of {max(room, 1)} or less',
            )


# Far above any real list (the longest shipped one has 8 options), low enough that every page
# and check stays fast: a checkbox question with 15,000 options took 10 s a request.
MAX_OPTIONS = 1000


def _file_pages(questions: dict[str, Any], pages: list[dict[str, Any]]) -> Iterator[Problem]:
    """A file question is the only question on its page: its page is a multipart form with
    its own Upload and Remove buttons (docs/uploads.md)."""
    for i, page in enumerate(pages):
        names = page["questions"]
        for j, name in enumerate(names):
            question = questions.get(name)
            if isinstance(question, dict) and question.get("widget") == "file" and len(names) > 1:
                yield Problem(
                    f"$.pages[{i}].questions[{j}]", f'the file question "{name}" must be the only question on its page'
                )


def _check_widget(root: dict[str, Any], name: str, question: dict[str, Any], prop: Any) -> Iterator[Problem]:
    where = f"$.questions.{name}.widget"
    try:
        schema = resolve_ref(root, prop)
    except KeyError:
        return  # reported by check_refs
    if not isinstance(schema, dict):
        yield Problem(f"$.schema.properties.{name}", "must be a schema object")
        return
    widget = WIDGETS[question["widget"]]  # the meta-schema's enum lists exactly these

    def resolve(node: Any) -> Any:
        try:
            return resolve_ref(root, node)
        except KeyError:
            return {}  # reported by check_refs

    types = json_types(schema)
    if not widget.types_fit(types):
        shown = "/".join(sorted(types)) or "no type"
        expected = " or ".join(sorted(widget.json_types - {"integer"}) or ["integer"])  # "number" covers both
        yield Problem(where, f'widget "{widget.name}" needs a property of type {expected}, but "{name}" has {shown}')
        return
    for at, message in widget.check(name, question, schema, prop, resolve):
        yield Problem(at, message)
    for key, only in (("date_rule", "date"), ("statement", "declaration"), ("lookup", "uk-address")):
        if key in question and widget.name != only:
            yield Problem(f"$.questions.{name}.{key}", f'only a question with widget "{only}" takes a "{key}"')
    enum = widget.enum(schema, resolve)
    options = question.get("options")
    too_many = max(len(enum or ()), len(options) if isinstance(options, dict) else 0)
    if too_many > MAX_OPTIONS:
        where_options = f"$.questions.{name}.options" if options is not None else f"$.schema.properties.{name}"
        yield Problem(
            where_options,
            f"{too_many:,} options is too many for one question: the limit is {MAX_OPTIONS:,}; "
            "ask a text question instead, or split the list",
        )
        return
    if enum:
        if options is None:
            yield Problem(
                f"$.questions.{name}", f'widget "{widget.name}" needs "options" with a label for each enum value'
            )
        else:
            values = {str(v) for v in enum}  # once: built per option, 15,000 options took 7 s
            missing = [str(v) for v in enum if str(v) not in options]
            extra = [k for k in options if k not in values]
            if missing:
                yield Problem(f"$.questions.{name}.options", f"no label for {', '.join(missing)}")
            if extra:
                yield Problem(f"$.questions.{name}.options", f"{', '.join(extra)} not in the enum")
    elif options is not None and not widget.takes_options:
        yield Problem(f"$.questions.{name}.options", f'widget "{widget.name}" takes no options')


def _check_condition(
    cond: Any, parts: list[Any], props: dict[str, Any], asked_on: dict[str, int], before: int
) -> Iterator[Problem]:
    where = json_path(parts)
    too_many = _too_many_objects(cond, parts)
    if too_many:
        yield too_many
        return
    yield from check_refs(cond, parts, None)
    try:
        check_schema(cond)
    except SchemaError as exc:
        yield Problem(where, f"not a valid JSON Schema condition: {short_message(exc.message)}")
        return
    yield from check_keywords(cond, parts)
    for name in names_in_condition(cond):
        if name not in props:
            yield Problem(where, f'condition uses "{name}", which is not a property of the schema')
        elif asked_on.get(name, -1) >= before:
            yield Problem(where, f'condition uses "{name}", which is not asked on an earlier page')

"""When each page is asked, and the proof that no citizen is trapped by a required answer.

A page is asked when its ``show_if`` holds and no earlier page's routing jumps over it. A field
on a page that is not always asked may only be required under a condition that implies the
page is asked; otherwise a citizen who never saw the page meets "Enter ..." on check answers
for a question they cannot reach. ``trap_problems`` proves this for every definition, written
by the builder or by hand.

Stop pages end the journey before check answers, so a journey that can be sent never passed
one: they are left out of the visibility conditions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checker import Problem


def _jumping_rules(rules: list[Any], index: dict[str, int], target: int) -> list[dict[str, Any]]:
    """The conditions under which a page's routing jumps over page ``target``.

    Rules are tried in order and the first that matches wins, so a rule that jumps over the
    page fires only when no earlier rule that lands before it matched.
    """
    out: list[dict[str, Any]] = []
    landing_before: list[Any] = []  # earlier rules that go to the page or before it
    for rule in rules:
        if not isinstance(rule, dict) or "if" not in rule:
            continue
        goto = index.get(rule.get("goto", ""))
        if goto is None:
            continue
        if goto > target:
            if landing_before:
                out.append({"allOf": [rule["if"], *({"not": c} for c in landing_before)]})
            else:
                out.append(rule["if"])
        else:
            landing_before.append(rule["if"])
    return out


def visibility_condition(doc: dict[str, Any], page_id: str) -> dict[str, Any] | None:
    """The JSON Schema that holds exactly when the page is asked; None when it always is.

    Its ``show_if``, then "not" of every earlier routing rule that jumps over it (only while the
    page holding the rule is itself asked: a hidden page routes nowhere).
    """
    pages = [p for p in doc.get("pages", []) if isinstance(p, dict)]
    index = {str(p.get("id")): i for i, p in enumerate(pages)}
    target = index.get(page_id)
    if target is None:
        raise KeyError(page_id)
    memo: dict[int, dict[str, Any] | None] = {}

    def visible(i: int) -> dict[str, Any] | None:
        if i in memo:
            return memo[i]
        parts: list[Any] = []
        show_if = pages[i].get("show_if")
        if show_if is not None and show_if is not True and show_if != {}:
            parts.append(show_if)
        for j in range(i):
            if pages[j].get("stop"):
                continue
            own = set(pages[j].get("questions", []))
            for jump in _jumping_rules(pages[j].get("next", []), index, i):
                seen = visible(j)
                # A rule that needs an answer from its own page can only hold when that page was
                # asked (answers on hidden pages are dropped), so it needs no copy of its condition.
                if seen is not None and not own.intersection(_facts(jump)[0]):
                    jump = {"allOf": [seen, jump]}
                parts.append({"not": jump})
        memo[i] = None if not parts else parts[0] if len(parts) == 1 else {"allOf": parts}
        return memo[i]

    return visible(target)


def always_asked(doc: dict[str, Any], page_id: str) -> bool:
    return visibility_condition(doc, page_id) is None


# -- implication between conditions -------------------------------------------------------------
# A small, sound prover for the conditions definitions use (properties with const/enum, required,
# allOf, not): it answers True only when the implication certainly holds. Anything it cannot
# read counts as "not proven", so a trap is never missed; the cure is to use the page's own
# visibility condition as the "if".

_MISSING = object()


def _conjuncts(condition: Any) -> list[Any]:
    """A condition as a list of conditions that must all hold."""
    if not isinstance(condition, dict):
        return [condition]
    out: list[Any] = []
    rest = {k: v for k, v in condition.items() if k != "allOf"}
    for sub in condition.get("allOf", []) if isinstance(condition.get("allOf"), list) else []:
        out.extend(_conjuncts(sub))
    if set(rest) <= {"properties", "required"} and rest:
        props = rest.get("properties", {})
        required = rest.get("required", [])
        if isinstance(props, dict) and isinstance(required, list):
            for name, sub in props.items():
                out.append({"properties": {name: sub}, **({"required": [name]} if name in required else {})})
            out.extend({"required": [name]} for name in required if name not in props)
            return out
    if rest:
        out.append(rest)
    return out


def _values(schema: Any) -> set[Any] | None:
    """The finite set of values a property schema allows, when it says so plainly."""
    if not isinstance(schema, dict):
        return None
    found: set[Any] | None = None
    if "const" in schema:
        found = {_key(schema["const"])}
    if isinstance(schema.get("enum"), list):
        values = {_key(v) for v in schema["enum"]}
        found = values if found is None else found & values
    return found


def _key(value: Any) -> Any:
    # true and 1 are different answers; keep them apart in a set.
    return (type(value) is bool, value) if isinstance(value, bool | int | float | str) else repr(value)


def _facts(condition: Any) -> tuple[set[str], dict[str, list[Any]], list[Any]]:
    """Required names, per-property schemas, and the other conjuncts of a condition."""
    required: set[str] = set()
    props: dict[str, list[Any]] = {}
    other: list[Any] = []
    for part in _conjuncts(condition):
        if isinstance(part, dict) and set(part) <= {"properties", "required"} and part:
            required.update(part.get("required", []))
            for name, sub in part.get("properties", {}).items():
                props.setdefault(name, []).append(sub)
        else:
            other.append(part)
    return required, props, other


def _eq(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, which Python's == says it is.
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def implies(a: Any, b: Any) -> bool:
    """Whether every answers document valid against ``a`` is valid against ``b`` (sound, not complete)."""
    if _eq(a, b) or b is True or b == {}:
        return True
    if a is False:
        return True
    b_parts = _conjuncts(b)
    if len(b_parts) > 1:
        return all(implies(a, part) for part in b_parts)
    b = b_parts[0] if b_parts else {}
    a_parts = _conjuncts(a)
    if any(_eq(part, b) for part in a_parts):
        return True
    if isinstance(b, dict) and set(b) == {"not"}:
        return contradicts(a, b["not"])
    if isinstance(b, dict) and set(b) == {"anyOf"} and isinstance(b["anyOf"], list):
        return any(implies(a, sub) for sub in b["anyOf"])
    if not isinstance(b, dict) or not set(b) <= {"properties", "required"}:
        return False
    required, props, _ = _facts(a)
    for name in b.get("required", []):
        if name not in required:
            return False
    for name, sub in b.get("properties", {}).items():
        allowed = _values(sub)
        if any(_eq(sub, have) for have in props.get(name, [])):
            continue
        have = [v for v in (_values(s) for s in props.get(name, [])) if v is not None]
        if allowed is None or not have or not set.intersection(*have) <= allowed:
            return False
    return True


def contradicts(a: Any, c: Any) -> bool:
    """Whether no answers document is valid against both ``a`` and ``c`` (sound, not complete)."""
    if isinstance(c, dict) and set(c) == {"anyOf"} and isinstance(c["anyOf"], list):
        return all(contradicts(a, sub) for sub in c["anyOf"])
    if any(isinstance(p, dict) and set(p) == {"not"} and implies(c, p["not"]) for p in _conjuncts(a)):
        return True
    if any(isinstance(p, dict) and set(p) == {"not"} and implies(a, p["not"]) for p in _conjuncts(c)):
        return True
    a_required, a_props, _ = _facts(a)
    c_required, c_props, _ = _facts(c)
    for name in set(a_props) & set(c_props):
        a_values = [v for v in (_values(s) for s in a_props[name]) if v is not None]
        c_values = [v for v in (_values(s) for s in c_props[name]) if v is not None]
        if not a_values or not c_values:
            continue
        present = name in a_required or name in c_required
        if present and not (set.intersection(*a_values) & set.intersection(*c_values)):
            return True
    return False


# -- requirements and traps --------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One place that requires a top-level field, and the conditions it is required under."""

    name: str
    conditions: tuple[Any, ...]  # all must hold; empty: always required
    path: tuple[Any, ...]  # JSON path parts of the name in its required list

    @property
    def condition(self) -> Any:
        if not self.conditions:
            return True
        return self.conditions[0] if len(self.conditions) == 1 else {"allOf": list(self.conditions)}


def requirements(schema: dict[str, Any]) -> Iterator[Requirement]:
    """Every place the schema requires a top-level field: root, if/then/else, dependentRequired."""

    def walk(node: Any, conditions: tuple[Any, ...], where: tuple[Any, ...]) -> Iterator[Requirement]:
        if not isinstance(node, dict):
            return
        required = node.get("required", [])
        for i, name in enumerate(required if isinstance(required, list) else []):
            yield Requirement(name, conditions, (*where, "required", i))
        dependent = node.get("dependentRequired", {})
        for trigger, names in dependent.items() if isinstance(dependent, dict) else ():
            for i, name in enumerate(names if isinstance(names, list) else []):
                trigger_given = {"required": [trigger]}
                yield Requirement(name, (*conditions, trigger_given), (*where, "dependentRequired", trigger, i))
        subs = node.get("allOf", [])
        for i, sub in enumerate(subs if isinstance(subs, list) else []):
            yield from walk(sub, conditions, (*where, "allOf", i))
        if "if" in node:
            yield from walk(node.get("then"), (*conditions, node["if"]), (*where, "then"))
            yield from walk(node.get("else"), (*conditions, {"not": node["if"]}), (*where, "else"))

    yield from walk(schema, (), ("schema",))


def trap_problems(doc: dict[str, Any]) -> list[Problem]:
    """Fields required where their page may not be asked: a citizen could never send the form."""
    # Imported here so that the checker can import this module at its top.
    from .checker import Problem, json_path

    schema = doc.get("schema")
    pages = doc.get("pages")
    if not isinstance(schema, dict) or not isinstance(pages, list):
        return []
    page_of = {
        name: page["id"]
        for page in pages
        if isinstance(page, dict) and "id" in page
        for name in page.get("questions", [])
        if isinstance(name, str)
    }
    visibility: dict[str, Any] = {}
    problems: list[Problem] = []
    for req in requirements(schema):
        page_id = page_of.get(req.name)
        if page_id is None:
            continue  # not asked anywhere: the checker reports that itself
        if page_id not in visibility:
            visibility[page_id] = visibility_condition(doc, page_id)
        shown = visibility[page_id]
        if shown is None:
            continue
        where = json_path(req.path)
        if not req.conditions:
            problems.append(
                Problem(
                    where,
                    f'"{req.name}" is in the root "required" but its page "{page_id}" is not always asked; '
                    "require it in an allOf if/then block whose if is the page's condition",
                )
            )
        elif not implies(req.condition, shown):
            problems.append(
                Problem(
                    where,
                    f'"{req.name}" is required when its page "{page_id}" may not be asked, so a citizen could be '
                    "stuck at check answers; make the if match the page's condition",
                )
            )
    return problems

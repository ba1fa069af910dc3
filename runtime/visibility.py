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

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checker import Problem


STEPS = 20_000
"""How many implication steps the prover may take for one required answer before it answers
"not proven". Ordinary services take tens; a thousand routed pages take a few thousand."""

TOTAL_STEPS = 200_000
"""How many steps one check may take over all its required answers (about a second)."""


MAX_CONDITION_SIZE = 5_000
"""The most JSON values a page's condition may have written out, for the builder to write it
into an if/then rule: about 60 KB, a 600-page service routed "go to the end" on every page."""

MAX_CONDITION_DEPTH = 48
"""The deepest a page's condition may nest written out: a definition file may nest 64 levels
(``runtime.definition.MAX_DEPTH``) and the rule holding it adds a few."""


class NotProven(Exception):
    """The prover ran out of steps (or of stack): the implication is not proven."""


class ConditionTooLarge(ValueError):
    """A page's condition, written out, would be larger or deeper than a definition can hold."""

    def __init__(self, page_id: str) -> None:
        super().__init__(
            f'the routing before page "{page_id}" is too complex to write down when the page is asked '
            f"(more than {MAX_CONDITION_SIZE:,} values or {MAX_CONDITION_DEPTH} levels deep); "
            "simplify the routing, for example send more rules to the same page"
        )
        self.page_id = page_id


def _jumping_rules(rules: list[Any], index: dict[str, int], target: int) -> list[tuple[Any, dict[str, Any]]]:
    """The conditions under which a page's routing jumps over page ``target``, each with its origin.

    Rules are tried in order and the first that matches wins, so a rule that jumps over the
    page fires only when no earlier rule that lands before it matched. The origin (the rule's
    position and those of the earlier rules landing before) names the condition: two targets
    with the same origin get the same condition.
    """
    out: list[tuple[Any, dict[str, Any]]] = []
    landing_before: list[tuple[int, Any]] = []  # earlier rules that go to the page or before it
    for position, rule in enumerate(rules):
        if not isinstance(rule, dict) or "if" not in rule:
            continue
        goto = index.get(rule.get("goto", ""))
        if goto is None:
            continue
        if goto > target:
            origin = (position, tuple(k for k, _ in landing_before))
            if landing_before:
                out.append((origin, {"allOf": [rule["if"], *({"not": c} for _, c in landing_before)]}))
            else:
                out.append((origin, rule["if"]))
        else:
            landing_before.append((position, rule["if"]))
    return out


def _pages_key(doc: dict[str, Any]) -> str:
    pages = doc.get("pages", [])
    return json.dumps(pages if isinstance(pages, list) else [], sort_keys=True, default=repr)


@lru_cache(maxsize=16)
def _conditions(pages_json: str) -> tuple[dict[str, int], tuple[Any, ...]]:
    """Every page's condition at once, built from shared parts: (page index by id, conditions).

    Page ``i`` is asked when its ``show_if`` holds and, for every earlier rule that jumps over
    it, not (the rule's page is asked and the rule fires). "The rule's page is asked" is that
    page's own condition, shared by reference, never copied; and its parts that page ``i``
    already requires (a rule from a page before both that jumps over both) are left out of the
    copy, since they hold wherever it matters: so "if the previous answer is yes, go to the
    end" on every page gives, for each page, "no earlier answer is yes", not a tree that
    doubles with every page. Cached on the pages' JSON: callers must not change the result.
    """
    found = json.loads(pages_json)
    pages = [p for p in found if isinstance(p, dict)]
    index = {str(p.get("id")): i for i, p in enumerate(pages)}
    parts_of: list[list[tuple[Any, Any]]] = []  # per page: (origin, part) of its condition
    conditions: list[Any] = []
    for i, page in enumerate(pages):
        parts: list[tuple[Any, Any]] = []
        show_if = page.get("show_if")
        if show_if is not None and show_if is not True and show_if != {}:
            parts.append((("show_if", i), show_if))
        for j in range(i):
            if pages[j].get("stop"):
                continue
            own = set(pages[j].get("questions", []))
            for origin, jump in _jumping_rules(pages[j].get("next", []), index, i):
                seen = parts_of[j]
                # A rule that needs an answer from its own page can only hold when that page was
                # asked (answers on hidden pages are dropped), so it needs no copy of its condition.
                if seen and not own.intersection(_facts(jump)[0]):
                    have = {o for o, _ in parts}
                    rest = [part for o, part in seen if o not in have]
                    if len(rest) == len(seen):
                        jump = {"allOf": [conditions[j], jump]}
                    elif rest:
                        jump = {"allOf": [rest[0] if len(rest) == 1 else {"allOf": rest}, jump]}
                parts.append(((j, *origin), {"not": jump}))
        parts_of.append(parts)
        conditions.append(None if not parts else parts[0][1] if len(parts) == 1 else {"allOf": [p for _, p in parts]})
    return index, tuple(conditions)


@lru_cache(maxsize=16)
def _written_sizes(pages_json: str) -> tuple[tuple[int, int], ...]:
    """Each page's condition_size, measured over the shared parts once."""
    sizes: dict[int, tuple[int, int]] = {}
    return tuple(condition_size(c, sizes) for c in _conditions(pages_json)[1])


def page_conditions(doc: dict[str, Any]) -> dict[str, Any]:
    """``{page id: condition or None}`` for every page, sharing parts: read it, do not change it."""
    index, conditions = _conditions(_pages_key(doc))
    return {page_id: conditions[i] for page_id, i in index.items()}


def visibility_condition(doc: dict[str, Any], page_id: str) -> dict[str, Any] | None:
    """The JSON Schema that holds exactly when the page is asked; None when it always is.

    Its ``show_if``, then "not" of every earlier routing rule that jumps over it (only while the
    page holding the rule is itself asked: a hidden page routes nowhere). A copy written out in
    full, free to change and to write into a definition: ``ConditionTooLarge`` when it would be
    too large for one (reason about it with ``page_conditions`` and a ``Prover`` instead).
    """
    index, conditions = _conditions(_pages_key(doc))
    if page_id not in index:
        raise KeyError(page_id)
    condition = conditions[index[page_id]]
    size, depth = _written_sizes(_pages_key(doc))[index[page_id]]
    if size > MAX_CONDITION_SIZE or depth > MAX_CONDITION_DEPTH:
        raise ConditionTooLarge(page_id)
    return copy.deepcopy(condition)


def written_conditions(doc: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """``visibility_condition`` of every page at once; a page whose condition is too large is left out."""
    index, conditions = _conditions(_pages_key(doc))
    sizes = _written_sizes(_pages_key(doc))
    return {
        page_id: copy.deepcopy(conditions[i])
        for page_id, i in index.items()
        if sizes[i][0] <= MAX_CONDITION_SIZE and sizes[i][1] <= MAX_CONDITION_DEPTH
    }


def condition_size(condition: Any, sizes: dict[int, tuple[int, int]] | None = None) -> tuple[int, int]:
    """How many JSON values a condition has written out, and how deep it nests (shared parts counted
    each time they appear, as ``json.dumps`` would write them), without writing it out.

    ``sizes`` remembers parts by ``id()``: share it only while the parts it names are alive.
    """
    sizes = {} if sizes is None else sizes
    stack: list[tuple[Any, bool]] = [(condition, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
        if not children_done and children:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        counted = [sizes[id(child)] for child in children]
        sizes[id(node)] = (1 + sum(c[0] for c in counted), 1 + max((c[1] for c in counted), default=0))
    return sizes[id(condition)]


def always_asked(doc: dict[str, Any], page_id: str) -> bool:
    index, conditions = _conditions(_pages_key(doc))
    if page_id not in index:
        raise KeyError(page_id)
    return conditions[index[page_id]] is None


# -- implication between conditions -------------------------------------------------------------
# A small, sound prover for the conditions definitions use (properties with const/enum, required,
# allOf, not): it answers True only when the implication certainly holds. Anything it cannot
# read counts as "not proven", so a trap is never missed; the cure is to use the page's own
# visibility condition as the "if".
#
# Conditions share parts (a page's condition is inside those of the pages after it), so the
# prover works on the shared structure: every condition gets a number that equal conditions
# share (computed once per object), and every walk is remembered by those numbers. A budget
# of steps bounds what is left; past it the answer is "not proven", never "proven".


def _conjuncts(condition: Any) -> list[Any]:
    """A condition as a list of conditions that must all hold."""
    if not isinstance(condition, dict):
        return [condition]
    out: list[Any] = []
    rest = {k: v for k, v in condition.items() if k != "allOf"}
    for sub in condition.get("allOf", []) if isinstance(condition.get("allOf"), list) else []:
        out.extend(_conjuncts(sub))
    out.extend(_split(rest))
    return out


def _split(rest: dict[str, Any]) -> list[Any]:
    """A condition without ``allOf`` as conjuncts: one per property, when it only names properties."""
    if set(rest) <= {"properties", "required"} and rest:
        props = rest.get("properties", {})
        required = rest.get("required", [])
        if isinstance(props, dict) and isinstance(required, list):
            out: list[Any] = [
                {"properties": {name: sub}, **({"required": [name]} if name in required else {})}
                for name, sub in props.items()
            ]
            out.extend({"required": [name]} for name in required if name not in props)
            return out
    return [rest] if rest else []


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


def _facts_of(parts: list[Any]) -> tuple[set[str], dict[str, list[Any]], list[Any]]:
    required: set[str] = set()
    props: dict[str, list[Any]] = {}
    other: list[Any] = []
    for part in parts:
        if isinstance(part, dict) and set(part) <= {"properties", "required"} and part:
            required.update(part.get("required", []))
            for name, sub in part.get("properties", {}).items():
                props.setdefault(name, []).append(sub)
        else:
            other.append(part)
    return required, props, other


def _facts(condition: Any) -> tuple[set[str], dict[str, list[Any]], list[Any]]:
    """Required names, per-property schemas, and the other conjuncts of a condition (a small one)."""
    return _facts_of(_conjuncts(condition))


def _is_not(part: Any) -> bool:
    return isinstance(part, dict) and set(part) == {"not"}


class Prover:
    """Implication between conditions, remembered by the conditions' shared numbers, within a budget.

    ``implies`` and ``contradicts`` raise ``NotProven`` once ``steps`` are used (``spend`` gives
    a fresh allowance, ``total`` caps them all); what was proven before stays remembered.
    """

    def __init__(self, steps: int = STEPS, total: int = TOTAL_STEPS) -> None:
        self.allowance = steps
        self.left = steps
        self.total_left = total
        self._number: dict[int, int] = {}  # id() of a condition -> its number
        self._held: list[Any] = []  # keeps numbered objects alive, so their id()s stay theirs
        self._numbers: dict[Any, int] = {}  # a condition's shape -> its number
        self._conjuncts: dict[int, tuple[list[Any], frozenset[int]]] = {}
        self._facts: dict[int, tuple[set[str], dict[str, list[Any]], list[Any]]] = {}
        self._implies: dict[tuple[int, int], bool] = {}
        self._contradicts: dict[tuple[int, int], bool] = {}

    def spend(self, steps: int | None = None) -> None:
        """A fresh allowance (for the next required answer)."""
        self.left = self.allowance if steps is None else steps

    def _step(self) -> None:
        self.left -= 1
        self.total_left -= 1
        if self.left < 0 or self.total_left < 0:
            raise NotProven

    def number(self, value: Any) -> int:
        """The same number for equal JSON values (true is not 1), once per object however shared."""
        found = self._number.get(id(value))
        if found is not None:
            return found
        shape: Any
        if isinstance(value, dict):
            shape = ("{", tuple(sorted((str(k), self.number(v)) for k, v in value.items())))
        elif isinstance(value, list | tuple):
            shape = ("[", tuple(self.number(v) for v in value))
        else:
            try:
                shape = (type(value).__name__, value, hash(value))
            except TypeError:
                shape = (type(value).__name__, repr(value))
        number = self._numbers.setdefault(shape, len(self._numbers))
        self._number[id(value)] = number
        self._held.append(value)
        return number

    def conjuncts(self, condition: Any) -> tuple[list[Any], frozenset[int]]:
        """The condition's conjuncts (``allOf`` flattened, shared parts walked once) and their numbers."""
        n = self.number(condition)
        found = self._conjuncts.get(n)
        if found is not None:
            return found
        self._step()
        if isinstance(condition, dict):
            out: list[Any] = []
            seen: set[int] = set()
            subs = condition.get("allOf")
            for sub in subs if isinstance(subs, list) else []:
                for part in self.conjuncts(sub)[0]:
                    if self.number(part) not in seen:
                        seen.add(self.number(part))
                        out.append(part)
            for part in _split({k: v for k, v in condition.items() if k != "allOf"}):
                if self.number(part) not in seen:
                    seen.add(self.number(part))
                    out.append(part)
        else:
            out = [condition]
        found = (out, frozenset(self.number(p) for p in out))
        self._conjuncts[n] = found
        return found

    def facts(self, condition: Any) -> tuple[set[str], dict[str, list[Any]], list[Any]]:
        n = self.number(condition)
        if n not in self._facts:
            self._facts[n] = _facts_of(self.conjuncts(condition)[0])
        return self._facts[n]

    def implies(self, a: Any, b: Any) -> bool:
        """Whether every answers document valid against ``a`` is valid against ``b`` (sound, not complete)."""
        key = (self.number(a), self.number(b))
        self._step()  # a remembered answer costs a step too: the budget bounds the time taken
        found = self._implies.get(key)
        if found is None:
            found = self._implies[key] = self._prove_implies(a, b)
        return found

    def _prove_implies(self, a: Any, b: Any) -> bool:
        if self.number(a) == self.number(b) or b is True or b == {}:
            return True
        if a is False:
            return True
        b_parts = self.conjuncts(b)[0]
        if len(b_parts) > 1:
            return all(self.implies(a, part) for part in b_parts)
        b = b_parts[0] if b_parts else {}
        if self.number(b) in self.conjuncts(a)[1]:
            return True
        if _is_not(b):
            return self.contradicts(a, b["not"])
        if isinstance(b, dict) and set(b) == {"anyOf"} and isinstance(b["anyOf"], list):
            return any(self.implies(a, sub) for sub in b["anyOf"])
        if not isinstance(b, dict) or not set(b) <= {"properties", "required"}:
            return False
        required, props, _ = self.facts(a)
        for name in b.get("required", []):
            if name not in required:
                return False
        for name, sub in b.get("properties", {}).items():
            allowed = _values(sub)
            if any(self.number(sub) == self.number(have) for have in props.get(name, [])):
                continue
            have = [v for v in (_values(s) for s in props.get(name, [])) if v is not None]
            if allowed is None or not have or not set.intersection(*have) <= allowed:
                return False
        return True

    def contradicts(self, a: Any, c: Any) -> bool:
        """Whether no answers document is valid against both ``a`` and ``c`` (sound, not complete)."""
        key = (self.number(a), self.number(c))
        self._step()
        found = self._contradicts.get(key)
        if found is None:
            found = self._contradicts[key] = self._prove_contradicts(a, c)
        return found

    def _prove_contradicts(self, a: Any, c: Any) -> bool:
        if isinstance(c, dict) and set(c) == {"anyOf"} and isinstance(c["anyOf"], list):
            return all(self.contradicts(a, sub) for sub in c["anyOf"])
        if any(_is_not(p) and self.implies(c, p["not"]) for p in self.conjuncts(a)[0]):
            return True
        if any(_is_not(p) and self.implies(a, p["not"]) for p in self.conjuncts(c)[0]):
            return True
        a_required, a_props, _ = self.facts(a)
        c_required, c_props, _ = self.facts(c)
        for name in set(a_props) & set(c_props):
            a_values = [v for v in (_values(s) for s in a_props[name]) if v is not None]
            c_values = [v for v in (_values(s) for s in c_props[name]) if v is not None]
            if not a_values or not c_values:
                continue
            present = name in a_required or name in c_required
            if present and not (set.intersection(*a_values) & set.intersection(*c_values)):
                return True
        return False


def implies(a: Any, b: Any) -> bool:
    """Whether every answers document valid against ``a`` is valid against ``b`` (sound, not complete)."""
    try:
        return Prover().implies(a, b)
    except (NotProven, RecursionError):
        return False


def contradicts(a: Any, c: Any) -> bool:
    """Whether no answers document is valid against both ``a`` and ``c`` (sound, not complete)."""
    try:
        return Prover().contradicts(a, c)
    except (NotProven, RecursionError):
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
    visibility = page_conditions(doc)
    prover = Prover()
    problems: list[Problem] = []
    for req in requirements(schema):
        page_id = page_of.get(req.name)
        if page_id is None or page_id not in visibility:
            continue  # not asked anywhere: the checker reports that itself
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
            continue
        prover.spend()
        try:
            proven = prover.implies(req.condition, shown)
        except (NotProven, RecursionError):
            problems.append(
                Problem(
                    where,
                    f'"{req.name}" is required, but the checker could not prove within its limit of {STEPS:,} steps '
                    f'that its page "{page_id}" is always asked when it is; make the if match the page\'s '
                    "condition, or simplify the routing before the page",
                )
            )
            continue
        if not proven:
            problems.append(
                Problem(
                    where,
                    f'"{req.name}" is required when its page "{page_id}" may not be asked, so a citizen could be '
                    "stuck at check answers; make the if match the page's condition",
                )
            )
    return problems

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

import bisect
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .problems import Problem, json_path

STEPS = 20_000
"""How many implication steps the prover may take for one required answer before it answers
"not proven". Ordinary services take tens; a thousand routed pages take a few thousand."""

TOTAL_STEPS = 200_000
"""How many steps one check may take over all its required answers (about a second)."""


MAX_CONDITION_SIZE = 5_000
"""The most JSON values a page's condition may have written out, for the builder to write it
into an if/then rule: about 60 KB, a 700-page service routed "go to the end" on every page."""

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


_ALWAYS = 0  # the reach of a show_if: never a part of a later page's condition


class _Routes:
    """Each page's readable routing rules, and the conditions under which they jump over a page."""

    def __init__(self, pages: list[dict[str, Any]], index: dict[str, int]) -> None:
        self.rules: list[list[tuple[int, int, Any]]] = []  # per page: (position, goto index, if)
        for page in pages:
            found = page.get("next", [])
            readable = []
            for position, rule in enumerate(found if isinstance(found, list) else []):
                goto = rule.get("goto") if isinstance(rule, dict) and "if" in rule else None
                if isinstance(goto, str) and goto in index:
                    readable.append((position, index[goto], rule["if"]))
            self.rules.append(readable)
        self._jumps: dict[Any, Any] = {}  # origin -> the jump's condition, made once
        self._own: dict[Any, bool] = {}  # origin -> whether it needs an answer from its own page
        self._questions = [set(page.get("questions", [])) for page in pages]
        # The last page each page's rules can jump to: they jump over nothing from there on.
        self.farthest = [max((goto for _, goto, _ in rules), default=i) for i, rules in enumerate(self.rules)]

    def over(self, page: int, target: int) -> Iterator[tuple[Any, int, Any, bool]]:
        """(origin, reach, condition, needs its own page's answer) of each rule of ``page`` that
        jumps over ``target``.

        Rules are tried in order and the first that matches wins, so a rule that jumps over the
        target fires only when no earlier rule that lands before it matched. The origin (the
        page, the rule's position and those of the earlier rules landing before) names the
        condition: a later target with the same origin gets the same condition, and it does so
        exactly while the target is before the reach (the rule's own target, and that of any
        earlier rule that jumps over this target too).
        """
        landing_before: list[tuple[int, Any]] = []
        beyond = sys.maxsize  # the nearest target of the earlier rules that jump over it too
        for position, goto, condition in self.rules[page]:
            if goto <= target:
                landing_before.append((position, condition))
                continue
            origin = (page, position, tuple(p for p, _ in landing_before))
            jump = self._jumps.get(origin)
            if jump is None:
                jump = condition
                if landing_before:
                    jump = {"allOf": [condition, *({"not": c} for _, c in landing_before)]}
                self._jumps[origin] = jump
                self._own[origin] = bool(self._questions[page].intersection(_facts(jump)[0]))
            yield origin, min(goto, beyond), jump, self._own[origin]
            beyond = min(beyond, goto)


def _copy(condition: Any) -> Any:
    # JSON in, JSON out: several times quicker than copy.deepcopy.
    return json.loads(json.dumps(condition))


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
    doubles with every page. Each part leans only on parts from earlier pages, so leaving them
    out is sound. Cached on the pages' JSON: callers must not change the result.
    """
    found = json.loads(pages_json)
    pages = [p for p in found if isinstance(p, dict)]
    index = {str(p.get("id")): i for i, p in enumerate(pages)}
    routes = _Routes(pages, index)
    # Per page: its parts (reach, part), and their positions sorted by reach; a part is in a
    # later target's condition exactly while the target is before its reach.
    parts_of: list[list[tuple[int, Any]]] = []
    by_reach: list[tuple[list[int], list[int]]] = []
    conditions: list[Any] = []
    terms: dict[Any, tuple[Any, Any]] = {}  # (origin, id of guard) -> (guard, "not" term), made once
    routing: list[int] = []  # earlier pages whose rules may jump over the page
    for i, page in enumerate(pages):
        parts: list[tuple[int, Any]] = []
        show_if = page.get("show_if")
        if show_if is not None and show_if is not True and show_if != {}:
            parts.append((_ALWAYS, show_if))
        routing = [j for j in routing if routes.farthest[j] > i]
        for j in routing:
            seen = parts_of[j]
            for origin, reach, jump, own in routes.over(j, i):
                # A rule that needs an answer from its own page can only hold when that page was
                # asked (answers on hidden pages are dropped), so it needs no copy of its condition.
                guard = None
                if seen and not own:
                    reaches, order = by_reach[j]
                    cut = bisect.bisect_right(reaches, i)
                    if cut == len(seen):
                        guard = conditions[j]
                    elif cut:
                        rest = [seen[k][1] for k in sorted(order[:cut])]
                        guard = rest[0] if len(rest) == 1 else {"allOf": rest}
                key = (origin, id(guard))
                if key not in terms:
                    terms[key] = (guard, {"not": jump if guard is None else {"allOf": [guard, jump]}})
                parts.append((reach, terms[key][1]))
        parts_of.append(parts)
        order = sorted(range(len(parts)), key=lambda k: parts[k][0])
        by_reach.append(([parts[k][0] for k in order], order))
        conditions.append(None if not parts else parts[0][1] if len(parts) == 1 else {"allOf": [p for _, p in parts]})
        if routes.rules[i] and not page.get("stop"):
            routing.append(i)
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
    return _copy(condition)


def written_conditions(doc: dict[str, Any]) -> Mapping[str, dict[str, Any] | None]:
    """``visibility_condition`` of every page at once, each copied when read; a page whose
    condition is too large to write is left out."""
    key = _pages_key(doc)
    index, conditions = _conditions(key)
    sizes = _written_sizes(key)
    fits = {
        page_id: i
        for page_id, i in index.items()
        if sizes[i][0] <= MAX_CONDITION_SIZE and sizes[i][1] <= MAX_CONDITION_DEPTH
    }
    return _Written(fits, conditions)


class _Written(Mapping[str, Any]):
    def __init__(self, index: dict[str, int], conditions: tuple[Any, ...]) -> None:
        self._index = index
        self._conditions = conditions

    def __getitem__(self, page_id: str) -> Any:
        return _copy(self._conditions[self._index[page_id]])

    def __contains__(self, page_id: object) -> bool:
        return page_id in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


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

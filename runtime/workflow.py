"""Approval steps: the ``workflow`` section of a definition and the pure engine that decides cases.

No Flask, no database: the store (runtime/cases.py) gathers the facts of a case, asks
:func:`allowed` what a member of staff may do and :func:`decide` what an action does, and
records the outcome. The clock is always a parameter (``now``), and so are the holidays.

A definition without a ``workflow`` section gets :data:`DEFAULT`: one review step, received
then approved or rejected. See docs/definition-format.md, "Approval steps: `workflow`".
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from jsonschema.exceptions import SchemaError

from .dialect import _validator, check_keywords, check_refs, check_schema, names_in_condition, short_message
from .problems import Problem, json_depth, json_path
from .roles import ROLES

# -- roles -------------------------------------------------------------------------------------


def known_roles() -> tuple[str, ...]:
    """The roles a transition may name: the staff roles (runtime.roles, no database modules)."""
    return ROLES


# -- durations -------------------------------------------------------------------------------

# Far above any real deadline, low enough that arithmetic on dates never overflows.
MAX_DURATION_DAYS = 366

_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration without years or months: whole days (weeks are 7) and a time part."""

    text: str  # as written: "P10D"
    days: int = 0
    seconds: int = 0

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days, seconds=self.seconds)

    def words(self, working_days: bool = False) -> str:
        """'10 working days', '48 hours', '1 day and 12 hours'."""
        parts = []
        if self.days:
            kind = "working day" if working_days else "day"
            parts.append(_plural(self.days, kind))
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        for n, unit in ((hours, "hour"), (minutes, "minute"), (seconds, "second")):
            if n:
                parts.append(_plural(n, unit))
        return " and ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def parse_duration(text: Any) -> Duration:
    """Read ``P10D``, ``P2W``, ``PT48H``, ``P1DT12H``; ValueError with a plain message otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("enter a duration like P10D (10 days), P2W (2 weeks) or PT48H (48 hours)")
    shown = text if len(text) <= 40 else text[:37] + "..."
    if text.startswith("-"):
        raise ValueError(f'"{shown}": a deadline cannot be negative')
    if len(text) > 40:
        raise ValueError(f'"{shown}" is not a duration like P10D (10 days), P2W (2 weeks) or PT48H (48 hours)')
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        date_part = text[1:].split("T", 1)[0] if text.startswith("P") else ""
        if "Y" in date_part or "M" in date_part:
            raise ValueError(
                f'"{shown}": years and months are not allowed, as their length varies; use days or weeks (P30D, P4W)'
            )
        raise ValueError(f'"{shown}" is not a duration like P10D (10 days), P2W (2 weeks) or PT48H (48 hours)')
    numbers = [g or "0" for g in match.groups()]
    if any(len(n) > 6 for n in numbers):
        raise ValueError(f'"{shown}" is too long: a deadline can be at most {MAX_DURATION_DAYS} days')
    weeks, days, hours, minutes, seconds = (int(n) for n in numbers)
    total = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if total > timedelta(days=MAX_DURATION_DAYS):
        raise ValueError(f'"{shown}" is too long: a deadline can be at most {MAX_DURATION_DAYS} days')
    if total <= timedelta(0):
        raise ValueError(f'"{shown}": a deadline must be longer than zero')
    return Duration(text=text, days=weeks * 7 + days, seconds=hours * 3600 + minutes * 60 + seconds)


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def due(start: datetime, duration: Duration, working_days: bool, holidays: frozenset[date] = frozenset()) -> datetime:
    """When a deadline of ``duration`` from ``start`` passes.

    With ``working_days``, each day of the duration moves to the next working day (Saturdays,
    Sundays and ``holidays`` are skipped), keeping the time of day: a case received on Friday
    at 10:00 with ``P1D`` is due on Monday at 10:00. The time part (``PT48H``) is always
    counted in plain hours.
    """
    if not working_days:
        return start + duration.delta
    at = start
    for _ in range(duration.days):
        at += timedelta(days=1)
        while not is_working_day(at.date(), holidays):
            at += timedelta(days=1)
    return at + timedelta(seconds=duration.seconds)


# -- messages ------------------------------------------------------------------------------------

MESSAGE_KINDS = ("submitted", "information_requested", "decision", "new_work", "escalated")
PLACEHOLDERS = frozenset({"reference", "service", "state", "link"})


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


DEFAULT_MESSAGES: dict[str, Message] = {
    "submitted": Message(
        "{service}: we have received your application",
        "Your reference number is {reference}.\n\nYou can check the progress of your application at {link}",
    ),
    "information_requested": Message(
        "{service}: we need more information",
        "We need more information to decide your application {reference}.\n\nAnswer our questions at {link}",
    ),
    "decision": Message(
        "{service}: a decision on your application",
        "Your application {reference}: {state}.\n\nSee the details at {link}",
    ),
    "new_work": Message("New case {reference}: {service}", "A new case is waiting for you: {link}"),
    "escalated": Message(
        "Overdue case {reference}: {service}", "Case {reference} ({state}) has passed its deadline: {link}"
    ),
}


def placeholder_problems(template: str) -> list[str]:
    """Why a message template cannot be filled in safely; empty when it can."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"{exc}; write a literal brace as {{{{ or }}}}"]
    out = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
            out.append(f'"{{{name}}}" is not a placeholder; use {allowed}')
    return out


def render_message(template: str, values: Mapping[str, str]) -> str:
    """Fill in a checked template from a fixed dict of strings (never attribute access)."""
    fixed = {name: str(values.get(name, "")) for name in PLACEHOLDERS}
    return template.format_map(fixed)


# -- the typed view ------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    id: str
    label: str
    final: bool = False
    citizen_text: str = ""
    deadline: Duration | None = None
    escalate_to: str | None = None
    appeal: str = ""  # a final state's words on how to ask for a review or appeal (part C of issue 17)


@dataclass(frozen=True)
class Transition:
    from_: str
    action: str
    label: str
    to: str | None  # None only for request_information: the case returns to from_
    roles: tuple[str, ...]
    comment_required: bool = False
    guard: dict[str, Any] | bool | None = field(default=None, hash=False)
    approvals_mode: str = "any"  # "any" | "quorum" | "all"
    approvals_count: int = 1  # quorum: how many; any: 1; all: counted from the role's holders
    request_information: bool = False
    reason: str | None = None  # "required" | "optional": the comment is a reason the applicant is told
    reply_within: Duration | None = None  # a request for information's default reply-by

    @property
    def is_decision(self) -> bool:
        return not self.request_information


DEFAULT_SECTION: dict[str, Any] = {
    "initial": "received",
    "states": {
        "received": {"label": "Received", "citizen_text": "We are checking your application"},
        "approved": {"label": "Approved", "final": True, "citizen_text": "Your application has been approved"},
        "rejected": {"label": "Rejected", "final": True, "citizen_text": "Your application has been turned down"},
    },
    "transitions": [
        {"from": "received", "action": "approve", "label": "Approve", "to": "approved", "roles": ["caseworker"]},
        {
            "from": "received",
            "action": "reject",
            "label": "Reject",
            "to": "rejected",
            "roles": ["caseworker"],
            "comment": "required",
        },
        {
            "from": "received",
            "action": "request-information",
            "label": "Ask the applicant for more information",
            "roles": ["caseworker"],
            "request_information": True,
        },
    ],
}


class Workflow:
    """A checked ``workflow`` section with every default filled in and its guards compiled.

    Build it once per definition version: ``Definition.workflow`` does, and the compiled service
    (``runtime.validation.compiled``) keeps that definition, so its guards are compiled once.
    """

    def __init__(
        self,
        *,
        initial: str,
        states: dict[str, State],
        transitions: tuple[Transition, ...],
        working_days: bool = False,
        one_decision_per_person: bool = True,
        messages: dict[str, Message] | None = None,
        decide_within: Duration | None = None,
    ):
        self.initial = initial
        self.decide_within = decide_within  # the whole-case deadline (None: the service sets none)
        self.states = states
        self.transitions = transitions
        self.working_days = working_days
        self.one_decision_per_person = one_decision_per_person
        self.messages = {**DEFAULT_MESSAGES, **(messages or {})}
        # One compiled validator per guard, through the one validator entry point.
        self._guards = [None if t.guard is None else _validator(t.guard) for t in transitions]

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> Workflow:
        """The typed view of a section that passed the checker."""
        states = {
            sid: State(
                id=sid,
                label=str(s["label"]),
                final=bool(s.get("final", False)),
                citizen_text=str(s.get("citizen_text") or s["label"]),
                deadline=parse_duration(s["deadline"]) if s.get("deadline") else None,
                escalate_to=s.get("escalate_to"),
                appeal=str(s.get("appeal") or ""),
            )
            for sid, s in section["states"].items()
        }
        transitions = tuple(_transition(t) for t in section["transitions"])
        messages = {
            kind: Message(str(m["subject"]), str(m["body"])) for kind, m in (section.get("messages") or {}).items()
        }
        return cls(
            initial=str(section["initial"]),
            states=states,
            transitions=transitions,
            working_days=bool(section.get("working_days", False)),
            one_decision_per_person=bool(section.get("one_decision_per_person", True)),
            messages=messages,
            decide_within=parse_duration(section["decide_within"]) if section.get("decide_within") else None,
        )

    def state(self, state_id: str) -> State:
        return self.states[state_id]

    def guard_matches(self, transition: Transition, answers: Any) -> bool:
        """Whether the transition's guard holds for these answers (no guard always holds)."""
        for t, validator in zip(self.transitions, self._guards, strict=True):
            if t is transition:
                return validator is None or bool(validator.is_valid(answers))
        raise KeyError(transition.action)

    def actions(self, state: str, answers: Any) -> list[Transition]:
        """The transitions out of ``state`` for these answers: one per action, the first whose guard matches."""
        out: dict[str, Transition] = {}
        for i, t in enumerate(self.transitions):
            if t.from_ != state or t.action in out:
                continue
            validator = self._guards[i]
            if validator is None or validator.is_valid(answers):
                out[t.action] = t
        return list(out.values())

    def deadline_for(
        self, state: str, entered_at: datetime, holidays: frozenset[date] = frozenset()
    ) -> datetime | None:
        """When a case that entered ``state`` at ``entered_at`` is overdue; None when the state has no deadline."""
        deadline = self.states[state].deadline
        return None if deadline is None else due(entered_at, deadline, self.working_days, holidays)

    def decision_due(self, opened_at: datetime, holidays: frozenset[date] = frozenset()) -> datetime | None:
        """When the whole case must be decided by (``decide_within`` from when it was opened, in
        working days when the service counts them); None when the service sets no such target."""
        if self.decide_within is None:
            return None
        return due(opened_at, self.decide_within, self.working_days, holidays)


def _transition(t: dict[str, Any]) -> Transition:
    approvals = t.get("approvals") or {}
    mode = str(approvals.get("mode", "any"))
    return Transition(
        from_=str(t["from"]),
        action=str(t["action"]),
        label=str(t["label"]),
        to=t.get("to"),
        roles=tuple(t["roles"]),
        comment_required=t.get("comment") == "required",
        guard=t.get("guard"),
        approvals_mode=mode,
        approvals_count=int(approvals.get("count", 1)) if mode == "quorum" else 1,
        request_information=bool(t.get("request_information", False)),
        reason=t.get("reason"),
        reply_within=parse_duration(t["reply_within"]) if t.get("reply_within") else None,
    )


DEFAULT = Workflow.from_section(DEFAULT_SECTION)


# -- deciding ------------------------------------------------------------------------------------

MAX_COMMENT = 5000


class NotAllowed(Exception):
    """An action refused; ``message`` is fit to show to the member of staff."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Approval:
    """One decision taken on a case by a member of staff (every decision records one, not only approvals)."""

    staff_id: int
    state: str
    action: str
    at: datetime


@dataclass(frozen=True)
class Actor:
    staff_id: int
    roles: frozenset[str]
    email: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    state: str
    answers: Any
    approvals: tuple[Approval, ...] = ()  # every decision on this case, in any state
    citizen_email: str | None = None
    role_holders: dict[str, int] = field(default_factory=dict)  # active members per role, for mode "all"
    entered_state_at: datetime | None = None  # approvals before it belong to an earlier visit


@dataclass(frozen=True)
class Outcome:
    to_state: str | None  # None: still waiting for approvals, or waiting for the citizen
    approval_recorded: bool
    approvals_so_far: int
    approvals_needed: int
    request_information: bool
    approval: Approval | None = None  # the decision to record, taken at ``now``


def _own_case(facts: CaseFacts, actor: Actor) -> bool:
    mine, theirs = (actor.email or "").strip().casefold(), (facts.citizen_email or "").strip().casefold()
    return bool(mine) and mine == theirs


def _round(facts: CaseFacts, transition: Transition) -> set[int]:
    """Distinct staff who took this decision since the case entered its current state."""
    since = facts.entered_state_at
    return {
        a.staff_id
        for a in facts.approvals
        if a.state == facts.state and a.action == transition.action and (since is None or a.at >= since)
    }


def approvals_needed(transition: Transition, facts: CaseFacts) -> int:
    if transition.approvals_mode == "quorum":
        return transition.approvals_count
    if transition.approvals_mode == "all":
        return max(1, sum(facts.role_holders.get(role, 0) for role in transition.roles))
    return 1


def _refusal(workflow: Workflow, facts: CaseFacts, actor: Actor, transition: Transition) -> str | None:
    """Why this actor may not take this (guard-resolved) transition now; None when they may."""
    if not set(actor.roles) & set(transition.roles):
        who = " or ".join(_article(r) for r in transition.roles)
        return f"Only {who} can {transition.label.lower()[:1]}{transition.label[1:]} here"
    if _own_case(facts, actor):
        return "You cannot act on your own case: ask a colleague to"
    if transition.is_decision:
        if actor.staff_id in _round(facts, transition):
            return "You have already done this for this case; it needs a colleague's decision too"
        if workflow.one_decision_per_person and any(a.staff_id == actor.staff_id for a in facts.approvals):
            return "You have already taken a decision on this case; a colleague must take this one"
    return None


def _article(role: str) -> str:
    return f"an {role}" if role[:1] in "aeiou" else f"a {role}"


def _current(workflow: Workflow, facts: CaseFacts) -> State:
    state = workflow.states.get(facts.state)
    if state is None:
        raise NotAllowed("This case is in a step the service no longer has; ask an administrator")
    if state.final:
        raise NotAllowed(f"This case is closed ({state.label}); nothing more can be done")
    return state


def allowed(workflow: Workflow, facts: CaseFacts, actor: Actor) -> list[Transition]:
    """The transitions the actor may take now, one per action (their buttons)."""
    try:
        _current(workflow, facts)
    except NotAllowed:
        return []
    return [t for t in workflow.actions(facts.state, facts.answers) if _refusal(workflow, facts, actor, t) is None]


def decide(
    workflow: Workflow, facts: CaseFacts, actor: Actor, action: str, comment: str | None, now: datetime
) -> Outcome:
    """What ``action`` by ``actor`` does to the case now; raises :class:`NotAllowed` with a message."""
    state = _current(workflow, facts)
    transition = next((t for t in workflow.actions(facts.state, facts.answers) if t.action == action), None)
    if transition is None:
        raise NotAllowed(f"That action is not possible while the case is '{state.label}'")
    refusal = _refusal(workflow, facts, actor, transition)
    if refusal:
        raise NotAllowed(refusal)
    text = (comment or "").strip()
    if transition.reason == "required" and not text:
        raise NotAllowed("Enter the reason for this decision: the applicant will see it")
    if transition.comment_required and not text:
        raise NotAllowed(f"Enter a comment to {transition.label.lower()[:1]}{transition.label[1:]}")
    if len(text) > MAX_COMMENT:
        what = "Reason" if transition.reason else "Comment"
        raise NotAllowed(f"{what} must be {MAX_COMMENT:,} characters or less")
    if transition.request_information:
        return Outcome(
            to_state=None, approval_recorded=False, approvals_so_far=0, approvals_needed=0, request_information=True
        )
    so_far = len(_round(facts, transition) | {actor.staff_id})
    needed = approvals_needed(transition, facts)
    return Outcome(
        to_state=transition.to if so_far >= needed else None,
        approval_recorded=True,
        approvals_so_far=so_far,
        approvals_needed=needed,
        request_information=False,
        approval=Approval(staff_id=actor.staff_id, state=facts.state, action=action, at=now),
    )


# -- checking a definition's workflow ------------------------------------------------------------

MAX_GUARD_DEPTH = 64  # as a whole file (runtime.definition.MAX_DEPTH); check() may get a document from elsewhere


def problems(doc: dict[str, Any], roles: tuple[str, ...] | frozenset[str] | None = None) -> list[Problem]:
    """What ``civicforms validate`` reports about the ``workflow`` section (after the meta-schema passed)."""
    return list(_problems(doc, known_roles() if roles is None else tuple(roles)))


def _problems(doc: dict[str, Any], roles: tuple[str, ...]) -> Iterator[Problem]:
    section = doc.get("workflow")
    if not isinstance(section, dict):
        return
    states: dict[str, Any] = section["states"]
    transitions: list[dict[str, Any]] = section["transitions"]
    props = doc.get("schema", {}).get("properties", {})
    known = ", ".join(roles)

    def role_problem(role: Any, parts: list[Any]) -> Iterator[Problem]:
        if role not in roles:
            yield Problem(json_path(parts), f'"{role}" is not a role; the roles are {known}')

    initial = section["initial"]
    if initial not in states:
        yield Problem("$.workflow.initial", f'no state has the id "{initial}"')
    elif states[initial].get("final"):
        yield Problem("$.workflow.initial", f'the first state "{initial}" cannot be final: every case would be closed')

    if "decide_within" in section:
        try:
            parse_duration(section["decide_within"])
        except ValueError as exc:
            yield Problem("$.workflow.decide_within", str(exc))

    for sid, s in states.items():
        where: list[Any] = ["workflow", "states", sid]
        if "deadline" in s:
            try:
                parse_duration(s["deadline"])
            except ValueError as exc:
                yield Problem(json_path([*where, "deadline"]), str(exc))
            if s.get("final"):
                yield Problem(json_path([*where, "deadline"]), "a final state has no deadline: its cases are closed")
        if "escalate_to" in s:
            yield from role_problem(s["escalate_to"], [*where, "escalate_to"])
            if "deadline" not in s:
                yield Problem(json_path([*where, "escalate_to"]), 'escalation needs a "deadline" in the same state')
        if "appeal" in s and not s.get("final"):
            yield Problem(
                json_path([*where, "appeal"]),
                "only a final state has appeal text: the applicant reads it with the decision",
            )

    unguarded: dict[tuple[str, str], int] = {}  # (from, action) -> the first transition without a guard
    for i, t in enumerate(transitions):
        where = ["workflow", "transitions", i]
        source, target = t["from"], t.get("to")
        if source not in states:
            yield Problem(json_path([*where, "from"]), f'no state has the id "{source}"')
        elif states[source].get("final"):
            yield Problem(
                json_path([*where, "from"]), f'"{source}" is a final state: no transition can leave a closed case'
            )
        if t.get("request_information"):
            if target is not None:
                yield Problem(
                    json_path([*where, "to"]),
                    'a request for information returns the case to "from" when the citizen answers; remove "to"',
                )
            if "approvals" in t:
                yield Problem(json_path([*where, "approvals"]), "a request for information is not a decision")
            if "reason" in t:
                yield Problem(
                    json_path([*where, "reason"]),
                    "a request for information is not a decision: the caseworker's message says what is needed",
                )
            if "reply_within" in t:
                yield from _reply_within_problems(t["reply_within"], [*where, "reply_within"])
        elif "reply_within" in t:
            yield Problem(json_path([*where, "reply_within"]), "only a request for information has a date to reply by")
        elif target is None:
            yield Problem(json_path(where), 'a transition needs "to", the state it leads to')
        elif target not in states:
            yield Problem(json_path([*where, "to"]), f'no state has the id "{target}"')
        for j, role in enumerate(t["roles"]):
            yield from role_problem(role, [*where, "roles", j])
        approvals = t.get("approvals")
        if isinstance(approvals, dict):
            mode = approvals["mode"]
            if mode == "quorum" and approvals.get("count", 0) < 2:
                yield Problem(
                    json_path([*where, "approvals", "count"] if "count" in approvals else [*where, "approvals"]),
                    'a quorum needs "count", 2 or more (for one approval, use "any")',
                )
            elif mode != "quorum" and "count" in approvals:
                yield Problem(
                    json_path([*where, "approvals", "count"]), f'"count" only goes with "quorum", not "{mode}"'
                )
            if mode == "all" and len(t["roles"]) != 1:
                yield Problem(
                    json_path([*where, "approvals", "mode"]), '"all" counts the members of one role: name exactly one'
                )
        if "guard" in t:
            yield from _guard_problems(t["guard"], [*where, "guard"], props)
        key = (source, t["action"])
        if key in unguarded:
            yield Problem(
                json_path(where),
                f'never used: transition {unguarded[key]} ("{t["action"]}" from "{source}") has no guard and always '
                "comes first; put the guarded one first",
            )
        elif "guard" not in t:
            unguarded[key] = i

    yield from _graph_problems(section)
    for kind, message in (section.get("messages") or {}).items():
        for part in ("subject", "body"):
            for text in placeholder_problems(message[part]):
                yield Problem(json_path(["workflow", "messages", kind, part]), text)


MAX_REPLY_DAYS = 90  # the latest reply-by date a request may give (and its default's limit)


def _reply_within_problems(text: Any, parts: list[Any]) -> Iterator[Problem]:
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        yield Problem(json_path(parts), str(exc))
        return
    if duration.seconds or not 1 <= duration.days <= MAX_REPLY_DAYS:
        yield Problem(
            json_path(parts),
            f"the applicant is given whole days to reply, from 1 to {MAX_REPLY_DAYS} days (P14D is 14 days)",
        )


def _guard_problems(guard: Any, parts: list[Any], props: dict[str, Any]) -> Iterator[Problem]:
    where = json_path(parts)
    if json_depth(guard) > MAX_GUARD_DEPTH:
        yield Problem(where, f"the guard is nested more than {MAX_GUARD_DEPTH} levels deep")
        return
    yield from check_refs(guard, parts, None)
    try:
        check_schema(guard)
    except SchemaError as exc:
        yield Problem(where, f"not a valid JSON Schema guard: {short_message(exc.message)}")
        return
    # Patterns (run with RE2, as everywhere), formats and date bounds: the checker's own rules.
    yield from check_keywords(guard, parts)
    for name in dict.fromkeys(names_in_condition(guard)):
        if name not in props:
            shown = name if len(name) <= 60 else name[:57] + "..."
            yield Problem(where, f'the guard uses "{shown}", which is not an answer in this service')


def _graph_problems(section: dict[str, Any]) -> Iterator[Problem]:
    """Unreachable states, states with no way out, and states from which no case can close."""
    states: dict[str, Any] = section["states"]
    edges: dict[str, set[str]] = {sid: set() for sid in states}
    for t in section["transitions"]:
        source, target = t["from"], t.get("to")
        if source in edges and target in states and target != source and not t.get("request_information"):
            edges[source].add(target)
    initial = section["initial"]
    # With no usable first state, "cannot be reached" would only repeat that problem for every state.
    usable = initial in states and not states[initial].get("final")
    reached = _reach({initial}, edges) if usable else set(states)
    reverse: dict[str, set[str]] = {sid: set() for sid in states}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].add(source)
    closing = _reach({sid for sid, s in states.items() if s.get("final")}, reverse)
    for sid, s in states.items():
        where = json_path(["workflow", "states", sid])
        if sid not in reached:
            yield Problem(where, f'state "{sid}" cannot be reached from the first state "{initial}"')
        elif s.get("final"):
            continue
        elif not edges[sid]:
            yield Problem(where, f'no transition leads out of "{sid}": add one, or make it final')
        elif sid not in closing:
            yield Problem(where, f'no final state can be reached from "{sid}": its cases could never be closed')


def _reach(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen

"""The approval steps as a diagram and in words, rendered on the server (no JavaScript).

Pure: a definition document in, text out. ``svg(doc)`` draws the states as boxes in layers
from left to right (the first state on the left, each state one column after the nearest
state that leads to it) and the actions as labelled arrows; ``text_alternative(doc)`` says the
same in a list ("From Received: Approve → Approved (caseworker)"), since a picture alone is not
accessible. Every text is escaped: labels are the designer's own and may contain anything.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from html import escape
from typing import Any

from runtime.workflow import DEFAULT_SECTION, parse_duration

from .conditions import describe_schema

__all__ = [
    "custom_parts",
    "guard_words",
    "html",
    "readable_section",
    "state_words",
    "svg",
    "text_alternative",
    "transition_words",
]

BOX_W, BOX_H = 190, 58
GAP_X, GAP_Y = 150, 46
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 70, 100, 90
LINE_CHARS, MAX_LINES = 24, 2
EDGE_CHARS = 34
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _esc(value: Any) -> str:
    """Text fit for an SVG or HTML element or attribute (XML forbids control characters outright)."""
    return escape(_CONTROL.sub("", str(value)), quote=True)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def readable_section(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The workflow section in effect (the default when there is none), or None when it is not well formed."""
    section = doc.get("workflow")
    if section is None:
        return copy.deepcopy(DEFAULT_SECTION)
    if (
        not isinstance(section, dict)
        or not isinstance(section.get("states"), dict)
        or not isinstance(section.get("transitions"), list)
        or not all(isinstance(s, dict) for s in section["states"].values())
        or not all(isinstance(t, dict) for t in section["transitions"])
    ):
        return None
    return section


def _label(section: dict[str, Any], state_id: Any) -> str:
    state = section["states"].get(state_id) if isinstance(state_id, str) else None
    return str(state.get("label") or state_id) if isinstance(state, dict) else f"{state_id} (no such state)"


def _roles(roles: Any) -> str:
    items = [str(r) for r in roles] if isinstance(roles, list) else []
    if not items:
        return "nobody"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def guard_words(doc: dict[str, Any], guard: Any) -> str | None:
    """ "only if 'How much?' is more than 10000"; None for a custom condition the builder cannot read."""
    if guard is None:
        return ""
    try:
        return describe_schema(doc, guard, prefix="only if")
    except Exception:  # a hand-written guard naming something odd: custom, never a crash
        return None


def transition_words(doc: dict[str, Any], section: dict[str, Any], t: dict[str, Any]) -> str:
    """One action in words: "From Received: Approve → Approved (caseworker), only if ..."."""
    source = _label(section, t.get("from"))
    label = str(t.get("label") or t.get("action") or "")
    if t.get("request_information"):
        text = f"From {source}: {label} → back to {source} when the applicant answers ({_roles(t.get('roles'))})"
    else:
        text = f"From {source}: {label} → {_label(section, t.get('to'))} ({_roles(t.get('roles'))})"
    details = []
    if "guard" in t:
        words = guard_words(doc, t["guard"])
        details.append(words if words else "only if a custom condition holds (edited in the definition file)")
    approvals: dict[str, Any] = t["approvals"] if isinstance(t.get("approvals"), dict) else {}
    if approvals.get("mode") == "quorum":
        details.append(f"needs {approvals.get('count')} different people")
    elif approvals.get("mode") == "all":
        details.append(f"needs every {_roles(t.get('roles'))}")
    if t.get("comment") == "required":
        details.append("a comment is required")
    return text + ("; " + "; ".join(details) if details else "")


def state_words(section: dict[str, Any], state_id: str) -> str:
    """A state in words: "Received (cases start here; deadline 10 working days, then the manager is told)"."""
    state = section["states"][state_id]
    parts = []
    if state_id == section.get("initial"):
        parts.append("cases start here")
    if state.get("final"):
        parts.append("final: the case is closed")
    if state.get("deadline"):
        try:
            deadline = parse_duration(state["deadline"]).words(bool(section.get("working_days")))
        except ValueError:
            deadline = str(state["deadline"])
        escalate = f", then the {state['escalate_to']} is told" if state.get("escalate_to") else ""
        parts.append(f"deadline {deadline}{escalate}")
    label = str(state.get("label") or state_id)
    return f"{label} ({'; '.join(parts)})" if parts else label


def text_alternative(doc: dict[str, Any]) -> list[str]:
    """The diagram in words: the states, then every action, in the file's order."""
    section = readable_section(doc)
    if section is None:
        return []
    lines = [f"State: {state_words(section, sid)}" for sid in section["states"]]
    lines += [transition_words(doc, section, t) for t in section["transitions"]]
    return lines


def custom_parts(doc: dict[str, Any]) -> set[int]:
    """The indexes of actions whose condition the builder cannot read back (edited in the file)."""
    section = readable_section(doc)
    if section is None:
        return set()
    return {i for i, t in enumerate(section["transitions"]) if "guard" in t and not guard_words(doc, t["guard"])}


# -- layout ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    id: str
    x: int
    y: int
    layer: int


def _layers(section: dict[str, Any]) -> dict[str, int]:
    """Each state's column: the longest way to it from the first state, ignoring the ways back.

    Unreachable states go in a column after the rest.
    """
    states = section["states"]
    edges: dict[str, list[str]] = {sid: [] for sid in states}
    for t in section["transitions"]:
        source, target = t.get("from"), t.get("to")
        if source in edges and isinstance(target, str) and target in states and target != source:
            if target not in edges[source]:
                edges[source].append(target)
    initial = section.get("initial")
    order: list[str] = []  # reverse post-order of a depth-first walk: a topological order without the ways back
    back: set[tuple[str, str]] = set()
    if isinstance(initial, str) and initial in states:
        on_path: set[str] = set()
        seen: set[str] = set()
        stack: list[tuple[str, int]] = [(initial, 0)]
        seen.add(initial)
        on_path.add(initial)
        while stack:
            sid, i = stack[-1]
            if i < len(edges[sid]):
                stack[-1] = (sid, i + 1)
                target = edges[sid][i]
                if target in on_path:
                    back.add((sid, target))
                elif target not in seen:
                    seen.add(target)
                    on_path.add(target)
                    stack.append((target, 0))
            else:
                stack.pop()
                on_path.discard(sid)
                order.append(sid)
        order.reverse()
    layer: dict[str, int] = dict.fromkeys(order, 0)
    for sid in order:
        for target in edges[sid]:
            if (sid, target) not in back and target in layer:
                layer[target] = max(layer[target], layer[sid] + 1)
    last = max(layer.values(), default=-1) + 1
    for sid in states:
        layer.setdefault(sid, last)
    return layer


def layout(section: dict[str, Any]) -> dict[str, Box]:
    layer = _layers(section)
    rows: dict[int, int] = {}
    boxes = {}
    for sid in section["states"]:  # the file's order within a column
        col = layer[sid]
        row = rows.get(col, 0)
        rows[col] = row + 1
        boxes[sid] = Box(sid, MARGIN_X + col * (BOX_W + GAP_X), MARGIN_TOP + row * (BOX_H + GAP_Y), col)
    return boxes


def _lines(text: str) -> list[str]:
    """A label wrapped into at most two lines of the box, the rest cut with an ellipsis."""
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if len(candidate) <= LINE_CHARS:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        if len(lines) == MAX_LINES:
            break
    if line and len(lines) < MAX_LINES:
        lines.append(line)
    shown = " ".join(lines)
    lines = [_short(x, LINE_CHARS) for x in lines[:MAX_LINES]] or [""]
    if len(shown) < len(" ".join(words)) and not lines[-1].endswith("…"):
        lines[-1] = _short(lines[-1] + " …", LINE_CHARS + 2)
    return lines


def svg(doc: dict[str, Any]) -> str:
    """The approval steps as an SVG picture (empty when the section is not well formed)."""
    section = readable_section(doc)
    if section is None or not section["states"]:
        return ""
    boxes = layout(section)
    width = max(b.x for b in boxes.values()) + BOX_W + MARGIN_X
    height = max(b.y for b in boxes.values()) + BOX_H + MARGIN_BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cf-workflow-diagram" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="cf-workflow-title">',
        '<title id="cf-workflow-title">Diagram of the approval steps '
        "(the list after it says the same in words)</title>",
        "<defs>"
        '<marker id="cf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#0b0c0c"/></marker>'
        "</defs>",
        '<style>text{font-family:"GDS Transport",arial,sans-serif;font-size:14px;fill:#0b0c0c}'
        ".cf-edge-label{font-size:13px;paint-order:stroke;stroke:#fff;stroke-width:5px;stroke-linejoin:round}"
        "</style>",
    ]
    edges: dict[tuple[str, str], list[str]] = {}
    loops: dict[str, list[str]] = {}
    for t in section["transitions"]:
        source, target = t.get("from"), t.get("to")
        if source not in boxes:
            continue
        label = _short(str(t.get("label") or t.get("action") or ""), EDGE_CHARS)
        if "guard" in t:
            label += " (if…)"
        if t.get("request_information") or target == source:
            loops.setdefault(str(source), []).append(label)
        elif isinstance(target, str) and target in boxes:
            edges.setdefault((str(source), target), []).append(label)
    initial = section.get("initial")
    if isinstance(initial, str) and initial in boxes:
        b = boxes[initial]
        mid = b.y + BOX_H // 2
        out.append(
            f'<g class="cf-start"><text x="{b.x - 60}" y="{mid - 10}">Start</text>'
            f'<line x1="{b.x - 60}" y1="{mid}" x2="{b.x}" y2="{mid}" stroke="#0b0c0c" stroke-width="2" '
            'marker-end="url(#cf-arrow)"/></g>'
        )
    for n, ((source, target), labels) in enumerate(edges.items()):
        a, b = boxes[source], boxes[target]
        text = _esc(" / ".join(dict.fromkeys(labels)))
        if b.layer > a.layer + 1:  # past the next column: an arc over the boxes
            x1, y1, x2, y2 = a.x + 3 * BOX_W // 4, a.y, b.x + BOX_W // 4, b.y
            peak = min(y1, y2) - 55 - 10 * (n % 3)
            path = f"M {x1} {y1} Q {(x1 + x2) // 2} {peak} {x2} {y2}"
            lx, ly = (x1 + x2) // 2, (min(y1, y2) + peak) // 2 - 4
            anchor = "middle"
        elif b.layer > a.layer:
            x1, y1, x2, y2 = a.x + BOX_W, a.y + BOX_H // 2, b.x, b.y + BOX_H // 2
            path = f"M {x1} {y1} L {x2} {y2}"
            lx, ly = (x1 + x2) // 2, (y1 + y2) // 2 - 8
            anchor = "middle"
        elif b.layer == a.layer:  # within one column: a curve on its right
            x1, y1, x2, y2 = a.x + BOX_W, a.y + BOX_H // 2, b.x + BOX_W, b.y + BOX_H // 2
            bulge = x1 + 45 + 10 * (n % 3)
            path = f"M {x1} {y1} C {bulge} {y1} {bulge} {y2} {x2} {y2}"
            lx, ly = bulge + 4, (y1 + y2) // 2 + 4
            anchor = "start"
        else:  # back to an earlier column: a curve below the boxes
            x1, y1 = a.x + BOX_W // 2 + 20, a.y + BOX_H
            x2, y2 = b.x + BOX_W // 2 - 20, b.y + BOX_H
            dip = max(y1, y2) + 50 + 12 * (n % 3)
            path = f"M {x1} {y1} Q {(x1 + x2) // 2} {dip} {x2} {y2}"
            lx, ly = (x1 + x2) // 2, (max(y1, y2) + dip) // 2 + 18
            anchor = "middle"
        out.append(
            f'<g class="cf-edge"><path d="{path}" fill="none" stroke="#0b0c0c" stroke-width="2" '
            f'marker-end="url(#cf-arrow)"/><text class="cf-edge-label" x="{lx}" y="{ly}" '
            f'text-anchor="{anchor}">{text}</text></g>'
        )
    for source, labels in loops.items():
        b = boxes[source]
        x1, x2 = b.x + BOX_W // 3, b.x + 2 * BOX_W // 3
        text = _esc(" / ".join(dict.fromkeys(labels)))
        out.append(
            f'<g class="cf-edge cf-loop"><path d="M {x1} {b.y} C {x1} {b.y - 40} {x2} {b.y - 40} {x2} {b.y}" '
            f'fill="none" stroke="#505a5f" stroke-width="2" stroke-dasharray="5 3" marker-end="url(#cf-arrow)"/>'
            f'<text class="cf-edge-label" x="{b.x + BOX_W // 2}" y="{b.y - 36}" text-anchor="middle">{text}</text></g>'
        )
    for sid, b in boxes.items():
        state = section["states"][sid]
        final = bool(state.get("final"))
        lines = _lines(str(state.get("label") or sid))
        first = b.y + BOX_H // 2 - (len(lines) - 1) * 9 + 5
        tspans = "".join(
            f'<tspan x="{b.x + BOX_W // 2}" y="{first + i * 18}">{_esc(line)}</tspan>' for i, line in enumerate(lines)
        )
        fill = "#f3f2f1" if final else "#ffffff"
        border = ' stroke-width="4"' if final else ' stroke-width="2"'
        out.append(
            f'<g class="cf-state{" cf-state--final" if final else ""}" data-state="{_esc(sid)}">'
            f"<title>{_esc(state.get('label') or sid)}</title>"
            f'<rect x="{b.x}" y="{b.y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
            f'stroke="#0b0c0c"{border}/>'
            f'<text text-anchor="middle">{tspans}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def html(doc: dict[str, Any]) -> str:
    """The diagram with its text alternative, as one accessible HTML figure."""
    picture = svg(doc)
    items = "".join(f"<li>{_esc(line)}</li>" for line in text_alternative(doc))
    return (
        '<figure class="cf-workflow">'
        f'<div class="cf-workflow-picture" aria-hidden="false">{picture}</div>'
        '<figcaption class="govuk-body">The approval steps in words:</figcaption>'
        f'<ul class="govuk-list govuk-list--bullet cf-workflow-words">{items}</ul>'
        "</figure>"
    )

"""The approval steps as a diagram and in words, rendered on the server (no JavaScript).

Pure: a definition document in, text out. ``svg(doc)`` draws the states as boxes in layers
from the top (the first state at the top), laid out by grandalf's Sugiyama layout with every
arrow's label a node of its own, so that no two labels or states ever overlap; ``text_alternative(doc)`` says the
same in a list ("From Received: Approve → Approved (caseworker)"), since a picture alone is not
accessible. Every text is escaped: labels are the designer's own and may contain anything.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from html import escape
from typing import Any

from runtime.lru import LRU
from runtime.workflow import DEFAULT_SECTION, parse_duration

from .conditions import describe_schema

__all__ = [
    "custom_parts",
    "decide_within_words",
    "guard_words",
    "html",
    "readable_section",
    "state_words",
    "svg",
    "text_alternative",
    "transition_words",
]

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
    if t.get("reason") == "required":
        details.append("the applicant is told the reason, which staff must give")
    elif t.get("reason") == "optional":
        details.append("the applicant is told the reason, if staff give one")
    return text + ("; " + "; ".join(details) if details else "")


def state_words(section: dict[str, Any], state_id: str) -> str:
    """A state in words: "Received (cases start here; deadline 10 working days, then the manager is told)"."""
    state = section["states"][state_id]
    parts = []
    if state_id == section.get("initial"):
        parts.append("cases start here")
    if state.get("final"):
        parts.append("final: the case is closed")
        if state.get("appeal"):
            parts.append("the applicant is told how to ask for a review")
    if state.get("deadline"):
        try:
            deadline = parse_duration(state["deadline"]).words(bool(section.get("working_days")))
        except ValueError:
            deadline = str(state["deadline"])
        escalate = f", then the {state['escalate_to']} is told" if state.get("escalate_to") else ""
        parts.append(f"deadline {deadline}{escalate}")
    label = str(state.get("label") or state_id)
    return f"{label} ({'; '.join(parts)})" if parts else label


def decide_within_words(section: dict[str, Any]) -> str | None:
    """The whole-case deadline in words ("10 working days"); None when the service sets none."""
    written = section.get("decide_within")
    if not written:
        return None
    try:
        return parse_duration(written).words(bool(section.get("working_days")))
    except (ValueError, TypeError):
        return str(written)


def text_alternative(doc: dict[str, Any]) -> list[str]:
    """The diagram in words: the whole-case deadline, the states, then every action, in the file's order."""
    section = readable_section(doc)
    if section is None:
        return []
    lines = []
    within = decide_within_words(section)
    if within:
        lines.append(f"Every case is decided within {within} of the application arriving")
    lines += [f"State: {state_words(section, sid)}" for sid in section["states"]]
    lines += [transition_words(doc, section, t) for t in section["transitions"]]
    return lines


def custom_parts(doc: dict[str, Any]) -> set[int]:
    """The indexes of actions whose condition the builder cannot read back (edited in the file)."""
    section = readable_section(doc)
    if section is None:
        return set()
    return {i for i, t in enumerate(section["transitions"]) if "guard" in t and not guard_words(doc, t["guard"])}


# -- layout ---------------------------------------------------------------------------------------
#
# grandalf's Sugiyama layout places the states in layers from the first state down. Every label of an
# arrow is a node of the graph too (a box between its two states), so the layout keeps labels apart
# from each other and from the states just as it keeps states apart: no label can overlap another.
# Arrows are straight lines between the layers, through the layout's own bend points on long ones.

BOX_W, BOX_H = 190, 58
LABEL_CHARS, LABEL_LINES = 22, 3
CHAR_W, LINE_H = 7.6, 16  # generous for 13px Arial, so that text stays inside its box
SPACE_X, SPACE_Y = 36, 30
MARGIN, MARGIN_TOP = 20, 44


@dataclass(frozen=True)
class Box:
    """A node of the picture: a state (``kind`` "state") or an arrow's label ("label"); x, y its top left."""

    id: str
    kind: str
    x: float
    y: float
    w: float
    h: float
    lines: tuple[str, ...] = ()

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True)
class Arrow:
    """An arrow's line: from a state to its label (``ends_with_arrow`` False), or from a label to a state."""

    points: tuple[tuple[float, float], ...]
    ends_with_arrow: bool
    dashed: bool


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    arrows: tuple[Arrow, ...]
    width: float
    height: float


def _wrap(text: str, width: int, most: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, at most ``most`` lines, the rest cut with "…"."""
    words = text.split() or [""]
    lines: list[str] = []
    line = ""
    for word in words:
        while len(word) > width:  # a word longer than a line is broken
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        candidate = f"{line} {word}".strip()
        if len(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line or not lines:
        lines.append(line)
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


def _lines(text: str) -> list[str]:
    """A state's name in at most two lines of its box."""
    return _wrap(text, 24, 2)


class _View:
    """What grandalf reads and writes on a node: its size, then its centre."""

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


class _EdgeView:
    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


def _graph_parts(section: dict[str, Any]) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str, str, bool]]]:
    """The label nodes ({id: lines}) and the lines of the picture: (from node, to node, label id, dashed)."""
    states = section["states"]
    labels: dict[tuple[str, str, bool], list[str]] = {}
    for t in section["transitions"]:
        source, target = t.get("from"), t.get("to")
        if not isinstance(source, str) or source not in states:
            continue
        loop = bool(t.get("request_information")) or target == source
        if not loop and not (isinstance(target, str) and target in states):
            continue
        text = str(t.get("label") or t.get("action") or "")
        if "guard" in t:
            text += " (only if…)"
        key = (source, source if loop else str(target), loop)
        if text not in labels.setdefault(key, []):
            labels[key].append(text)
    nodes: dict[str, tuple[str, ...]] = {}
    lines: list[tuple[str, str, str, bool]] = []
    for n, ((source, target, loop), texts) in enumerate(labels.items()):
        node = f"label:{n}"
        nodes[node] = tuple(_wrap(" / ".join(texts), LABEL_CHARS, LABEL_LINES))
        lines.append((source, node, node, loop))
        lines.append((node, target, node, loop))
    return nodes, lines


_LAYOUTS: LRU[str, Layout] = LRU(64)  # a big section takes a second to lay out: once per version


def layout(section: dict[str, Any]) -> Layout:
    """Where every state and every label goes (grandalf's Sugiyama layout), and the lines between them."""
    key = json.dumps(
        {"initial": section.get("initial"), "states": section["states"], "transitions": section["transitions"]},
        sort_keys=True,
        default=str,
    )
    found = _LAYOUTS.get(key)
    return found if found is not None else _LAYOUTS.put(key, _layout(section))


def _layout(section: dict[str, Any]) -> Layout:
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    label_nodes, lines = _graph_parts(section)
    vertices: dict[str, Vertex] = {}
    for sid in section["states"]:
        vertices[sid] = Vertex(sid)
        vertices[sid].view = _View(BOX_W, BOX_H)
    for node, text in label_nodes.items():
        width = max(len(line) for line in text) * CHAR_W + 16
        vertices[node] = Vertex(node)
        vertices[node].view = _View(width, len(text) * LINE_H + 10)
    edges = []
    for a, b, _node, _loop in lines:
        edge = Edge(vertices[a], vertices[b])
        edge.view = _EdgeView()
        edges.append(edge)
    graph = Graph(list(vertices.values()), edges)
    initial = section.get("initial")
    boxes: dict[str, Box] = {}
    paths: dict[int, list[tuple[float, float]]] = {}
    left = 0.0
    for component in sorted(graph.C, key=lambda c: 0 if vertices.get(str(initial)) in c.sV else 1):
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = SPACE_X, SPACE_Y
        root = vertices.get(str(initial))
        roots = [root] if root is not None and root in component.sV else None
        sugiyama.init_all(roots=roots)
        sugiyama.draw(3)
        placed = list(component.sV)
        min_x = min(v.view.xy[0] - v.view.w / 2 for v in placed)
        min_y = min(v.view.xy[1] - v.view.h / 2 for v in placed)
        dx, dy = left + MARGIN - min_x, MARGIN_TOP - min_y
        for v in placed:
            (cx, cy), w, h = v.view.xy, v.view.w, v.view.h
            kind = "label" if str(v.data).startswith("label:") else "state"
            boxes[str(v.data)] = Box(
                str(v.data), kind, cx - w / 2 + dx, cy - h / 2 + dy, w, h, label_nodes.get(str(v.data), ())
            )
        for edge in component.sE:
            paths[id(edge)] = [(x + dx, y + dy) for x, y in edge.view.points]
        left = max(b.x + b.w for b in boxes.values())
    arrows = []
    for edge, (a, b, _node, loop) in zip(edges, lines, strict=True):
        points = paths.get(id(edge)) or [boxes[a].centre, boxes[b].centre]
        if len(points) < 2:
            continue
        points[0] = _border(boxes[a], points[1])
        points[-1] = _border(boxes[b], points[-2])
        arrows.append(Arrow(tuple(points), ends_with_arrow=not b.startswith("label:"), dashed=loop))
    width = max(b.x + b.w for b in boxes.values()) + MARGIN
    height = max(b.y + b.h for b in boxes.values()) + MARGIN
    return Layout(boxes, tuple(arrows), width, height)


def _border(box: Box, towards: tuple[float, float]) -> tuple[float, float]:
    """Where the line from the box's centre towards a point leaves the box."""
    cx, cy = box.centre
    dx, dy = towards[0] - cx, towards[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(box.w / 2 / abs(dx) if dx else float("inf"), box.h / 2 / abs(dy) if dy else float("inf"))
    return cx + dx * scale, cy + dy * scale


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def svg(doc: dict[str, Any]) -> str:
    """The approval steps as an SVG picture (empty when the section is not well formed).

    No ``style`` element or attribute: the pages' Content Security Policy allows none, so the
    picture says its fonts and colours in presentation attributes.
    """
    section = readable_section(doc)
    if section is None or not section["states"]:
        return ""
    try:
        drawn = layout(section)
    except Exception:  # a section odd enough to trip the layout library: the words below still say it all
        return ""
    width, height = drawn.width, drawn.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cf-workflow-diagram" width="{_n(width)}" '
        f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-labelledby="cf-workflow-title" '
        'font-family="arial, sans-serif" font-size="14" fill="#0b0c0c">',
        '<title id="cf-workflow-title">Diagram of the approval steps '
        "(the list beside it says the same in words)</title>",
        "<defs>"
        '<marker id="cf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#0b0c0c"/></marker>'
        "</defs>",
    ]
    initial = section.get("initial")
    if isinstance(initial, str) and initial in drawn.boxes:
        b = drawn.boxes[initial]
        cx = b.x + b.w / 2
        out.append(
            f'<g class="cf-start"><text x="{_n(cx + 8)}" y="{_n(b.y - 22)}">Start</text>'
            f'<line x1="{_n(cx)}" y1="{_n(b.y - 36)}" x2="{_n(cx)}" y2="{_n(b.y)}" stroke="#0b0c0c" '
            'stroke-width="2" marker-end="url(#cf-arrow)"/></g>'
        )
    for arrow in drawn.arrows:
        d = " ".join(f"{'M' if i == 0 else 'L'} {_n(x)} {_n(y)}" for i, (x, y) in enumerate(arrow.points))
        extra = ' stroke-dasharray="5 3"' if arrow.dashed else ""
        marker = ' marker-end="url(#cf-arrow)"' if arrow.ends_with_arrow else ""
        colour = "#505a5f" if arrow.dashed else "#0b0c0c"
        out.append(
            f'<path class="cf-edge{" cf-loop" if arrow.dashed else ""}" d="{d}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{extra}{marker}/>'
        )
    for box in drawn.boxes.values():
        cx = box.x + box.w / 2
        if box.kind == "label":
            first = box.y + 5 + LINE_H - 4
            tspans = "".join(
                f'<tspan x="{_n(cx)}" y="{_n(first + i * LINE_H)}">{_esc(line)}</tspan>'
                for i, line in enumerate(box.lines)
            )
            out.append(
                f'<g class="cf-edge-label"><rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" '
                f'height="{_n(box.h)}" rx="3" fill="#ffffff" stroke="#b1b4b6" stroke-width="1"/>'
                f'<text text-anchor="middle" font-size="13">{tspans}</text></g>'
            )
            continue
        state = section["states"][box.id]
        final = bool(state.get("final"))
        lines = _lines(str(state.get("label") or box.id))
        first = box.y + box.h / 2 - (len(lines) - 1) * 9 + 5
        tspans = "".join(
            f'<tspan x="{_n(cx)}" y="{_n(first + i * 18)}">{_esc(line)}</tspan>' for i, line in enumerate(lines)
        )
        out.append(
            f'<g class="cf-state{" cf-state--final" if final else ""}" data-state="{_esc(box.id)}">'
            f"<title>{_esc(state.get('label') or box.id)}</title>"
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{"#f3f2f1" if final else "#ffffff"}" stroke="#0b0c0c" stroke-width="{4 if final else 2}"/>'
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

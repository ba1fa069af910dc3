"""The diagram of the street party's approval steps: laid out by grandalf, no label over another (issue 17, G).

The Highways trial's steps have two ways to approval, long labels and several actions between the same
states; the old hand-made layout drew labels on top of each other. Here every box (state or label) is
read back from the SVG a browser draws, and no two may share a pixel.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from builder import workflow_diagram as diagram
from tests.builder.street_party import street_party

SVG = "{http://www.w3.org/2000/svg}"
Rect = tuple[float, float, float, float]


def rects(svg: str) -> dict[str, list[Rect]]:
    """The boxes of the picture, by kind: "state" and "label" (x, y, width, height)."""
    root = ET.fromstring(svg)
    found: dict[str, list[Rect]] = {"state": [], "label": []}
    for g in root.iter(f"{SVG}g"):
        kind = "state" if g.get("data-state") else "label" if g.get("class") == "cf-edge-label" else None
        rect = g.find(f"{SVG}rect")
        if kind and rect is not None:
            found[kind].append(tuple(float(rect.get(k, 0)) for k in ("x", "y", "width", "height")))  # type: ignore[misc]
    return found


def overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def label_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [
        " ".join(t.text or "" for t in g.iter(f"{SVG}tspan"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "cf-edge-label"
    ]


def test_no_two_boxes_or_labels_of_the_street_party_overlap() -> None:
    svg = diagram.svg(street_party())
    found = rects(svg)
    assert len(found["state"]) == 6
    assert len(found["label"]) == 11  # one per pair of states an action joins (and one for asking)
    boxes = found["state"] + found["label"]
    clashes = [(a, b) for a, b in itertools.combinations(boxes, 2) if overlap(a, b)]
    assert clashes == []
    root = ET.fromstring(svg)
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    assert all(x >= 0 and y >= 0 and x + w <= width and y + h <= height for x, y, w, h in boxes)


def test_every_action_of_the_street_party_is_labelled_in_the_picture() -> None:
    shown = " | ".join(label_texts(diagram.svg(street_party())))
    for label in (
        "Approve the street party (only if…)",
        "Send to Highways to check the road closure (only if…)",
        "Recommend the road closure",
        "Send back to be checked again",
        "Record that the applicant withdrew",
        "Ask the applicant for more information",
    ):
        assert label in shown.replace("\u00a0", " ") or all(word in shown for word in label.split())


def test_a_label_fits_its_box() -> None:
    layout = diagram.layout(diagram.readable_section(street_party()) or {})
    for box in layout.boxes.values():
        if box.kind == "label":
            assert box.lines and all(len(line) <= diagram.LABEL_CHARS for line in box.lines)
            assert max(len(line) for line in box.lines) * diagram.CHAR_W < box.w
            assert len(box.lines) * diagram.LINE_H < box.h


def test_layers_follow_the_way_cases_go() -> None:
    layout = diagram.layout(diagram.readable_section(street_party()) or {})
    y = {sid: b.y for sid, b in layout.boxes.items() if b.kind == "state"}
    assert y["received"] < y["highways"] < y["manager"] < y["approved"]
    assert y["approved"] == y["refused"] == y["withdrawn"]  # the final states share the last layer


def test_arrows_start_and_end_on_the_edges_of_their_boxes() -> None:
    layout = diagram.layout(diagram.readable_section(street_party()) or {})
    boxes = list(layout.boxes.values())
    for arrow in layout.arrows:
        for x, y in (arrow.points[0], arrow.points[-1]):
            on_edge = [
                b
                for b in boxes
                if b.x - 0.5 <= x <= b.x + b.w + 0.5
                and b.y - 0.5 <= y <= b.y + b.h + 0.5
                and (abs(x - b.x) < 0.6 or abs(x - b.x - b.w) < 0.6 or abs(y - b.y) < 0.6 or abs(y - b.y - b.h) < 0.6)
            ]
            assert on_edge, (x, y)
    assert sum(a.ends_with_arrow for a in layout.arrows) == 11  # one arrowhead per label, into a state


@pytest.mark.parametrize("count", [1, 12, 40])
def test_many_states_and_actions_still_never_overlap(count: int) -> None:
    doc: dict[str, Any] = street_party()
    section = doc["workflow"]
    for i in range(count):
        section["states"][f"extra-{i}"] = {"label": f"Extra step number {i} with a long name to wrap"}
        section["transitions"].append(
            {
                "from": "received",
                "action": f"go-{i}",
                "label": f"Go to extra step {i} " * 3,
                "to": f"extra-{i}",
                "roles": ["caseworker"],
            }
        )
        section["transitions"].append(
            {"from": f"extra-{i}", "action": "finish", "label": "Finish", "to": "approved", "roles": ["caseworker"]}
        )
    found = rects(diagram.svg(doc))
    boxes = found["state"] + found["label"]
    assert len(found["state"]) == 6 + count
    assert not any(overlap(a, b) for a, b in itertools.combinations(boxes, 2))


def test_a_state_nothing_leads_to_is_drawn_beside_the_rest() -> None:
    doc = street_party()
    doc["workflow"]["states"]["orphan"] = {"label": "Nothing leads here", "final": True}
    found = rects(diagram.svg(doc))
    assert len(found["state"]) == 7
    assert not any(overlap(a, b) for a, b in itertools.combinations(found["state"] + found["label"], 2))

"""The approval steps drawn on the server: a well-formed SVG with every text escaped, laid out from the
first state to the left, and the same steps in words for people who cannot see the picture."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from builder import operations as ops
from builder import workflow_diagram as diagram
from builder import workflow_editing
from builder.conditions import Clause, Condition

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def grant() -> dict[str, Any]:
    doc = ops.new_blank_service(id="small-grants", title="Apply for a small grant", reference_prefix="GR")
    doc = ops.add_page(doc, title="Amount")
    return ops.add_question(doc, page="amount", widget="number", label="How much do you need?")


def states(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return {g.get("data-state", ""): g for g in root.iter(f"{SVG}g") if g.get("data-state")}


def box(group: ET.Element) -> tuple[float, float]:
    rect = group.find(f"{SVG}rect")
    assert rect is not None
    return float(rect.get("x", 0)), float(rect.get("y", 0))


def test_the_default_steps_in_words(grant: dict[str, Any]) -> None:
    assert diagram.text_alternative(grant) == [
        "State: Received (cases start here)",
        "State: Approved (final: the case is closed)",
        "State: Rejected (final: the case is closed)",
        "From Received: Approve → Approved (caseworker)",
        "From Received: Reject → Rejected (caseworker); a comment is required",
        "From Received: Ask the applicant for more information → back to Received when the applicant answers "
        "(caseworker)",
    ]


def test_layers_go_down_from_the_first_state() -> None:
    doc = json.loads(Path("form_definitions/council-tax-single-person-discount.json").read_text(encoding="utf-8"))
    found = states(diagram.svg(doc))
    assert set(found) == {"received", "recommended", "approved", "rejected"}
    y = {sid: box(g)[1] for sid, g in found.items()}
    assert y["received"] < y["recommended"] < y["approved"] == y["rejected"]
    assert "cf-state--final" in (found["approved"].get("class") or "")
    words = diagram.text_alternative(doc)
    assert "State: Received (cases start here; deadline 10 working days, then the manager is told)" in words
    assert "From Recommended for approval: Approve → Approved (manager)" in words


def test_every_text_is_escaped_in_the_picture_and_the_words(grant: dict[str, Any]) -> None:
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    doc = workflow_editing.add_state(grant, label=hostile[:200], final=True)
    doc = workflow_editing.add_transition(
        doc,
        from_state="received",
        label="<b>Close</b>",
        to_state=next(sid for sid in doc["workflow"]["states"] if sid.startswith("script")),
        roles=["caseworker"],
    )
    svg = diagram.svg(doc)
    assert "<script" not in svg and "<img" not in svg and "<b>" not in svg
    found = states(svg)
    titles = [g.findtext(f"{SVG}title") for g in found.values()]
    assert hostile[:200] in titles  # the whole label, as typed, read back as text
    assert "&lt;b&gt;Close&lt;/b&gt;" in svg
    html = diagram.html(doc)
    assert "<script" not in html and "&lt;script&gt;" in html


def test_a_long_label_is_cut_in_the_box_and_whole_in_its_title(grant: dict[str, Any]) -> None:
    label = "Waiting " * 24
    doc = workflow_editing.add_state(grant, label=label.strip(), final=True)
    group = states(diagram.svg(doc))["waiting-waiting-waiting-waiting-waiting-waiting-waiting"]
    spans = [t.text or "" for t in group.iter(f"{SVG}tspan")]
    assert len(spans) == 2 and spans[-1].endswith("…") and all(len(s) <= 26 for s in spans)
    assert group.findtext(f"{SVG}title") == label.strip()


def test_control_characters_never_break_the_xml(grant: dict[str, Any]) -> None:
    doc = json.loads(json.dumps(grant))
    doc["workflow"] = workflow_editing.use_default_workflow(grant)["workflow"]
    doc["workflow"]["states"]["approved"]["label"] = "Appro\x00ved\x1b"
    assert "Approved" in [g.findtext(f"{SVG}title") for g in states(diagram.svg(doc)).values()]


def test_guards_in_words_and_custom_ones(grant: dict[str, Any]) -> None:
    name = next(n for n, q in grant["questions"].items() if q["widget"] == "number")
    guard = Condition((Clause(name, "more_than", 10000),))
    doc = workflow_editing.add_transition(
        grant,
        from_state="received",
        label="Approve",
        to_state="rejected",
        roles=["manager"],
        guard=guard,
        approvals="quorum",
        count=2,
    )
    assert diagram.text_alternative(doc)[3] == (
        "From Received: Approve → Rejected (manager); only if 'How much do you need?' is more than 10000; "
        "needs 2 different people"
    )
    doc["workflow"]["transitions"][0]["guard"] = {"anyOf": [{"required": [name]}]}
    assert "custom condition" in diagram.text_alternative(doc)[3]
    assert diagram.custom_parts(doc) == {0}


@pytest.mark.parametrize(
    "section",
    [
        "not a section",
        {"initial": "a", "states": [], "transitions": []},
        {"initial": "a", "states": {"a": "x"}, "transitions": []},
        {"initial": "nowhere", "states": {"a": {"label": "A"}}, "transitions": [{"from": "a", "to": "b"}, {}]},
    ],
)
def test_a_hand_written_section_never_crashes(grant: dict[str, Any], section: Any) -> None:
    doc = {**grant, "workflow": section}
    svg = diagram.svg(doc)
    if svg:
        states(svg)
    assert isinstance(diagram.text_alternative(doc), list)

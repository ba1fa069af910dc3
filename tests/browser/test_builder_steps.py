"""The street party's approval steps in a real browser (issue 17, part G): the diagram as Chromium draws
it (every label's text inside its box, no two boxes sharing a pixel), the steps in words beside it, the
whole-case deadline, a reason on an action, review or appeal words on a final state, the service's
address on its task list; axe-core on every page, with and without JavaScript."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from runtime import db as dbmod
from runtime.data import departments, drafts
from runtime.models import StaffUser
from tests.builder.street_party import street_party

from .conftest import DESIGNER_DEPARTMENT, DESIGNER_EMAIL, BuilderServer, new_page, sign_in

pytestmark = pytest.mark.browser

SERVICE = "street-party"
BASE = f"/builder/services/{SERVICE}"


@pytest.fixture(scope="module")
def party(builder_server: BuilderServer) -> BuilderServer:
    """The street party as a draft of the designer's department, written as the builder writes it."""
    engine = dbmod.make_engine(f"sqlite:///{builder_server.database}")
    try:
        with dbmod.session(engine) as s:
            department = departments.find_department(session=s, key=DESIGNER_DEPARTMENT)
            user = s.exec(select(StaffUser).where(StaffUser.email == DESIGNER_EMAIL)).one()
            assert department is not None and department.id is not None and user.id is not None
            doc = street_party()
            doc["department"] = department.name
            drafts.create_draft(session=s, doc=doc, department_id=department.id, user_id=user.id)
            s.commit()
    finally:
        engine.dispose()
    return builder_server


DRAWN = """() => Array.from(document.querySelectorAll('svg.cf-workflow-diagram g.cf-state, svg g.cf-edge-label'))
    .map(g => {
        const box = g.querySelector('rect').getBBox();
        const text = g.querySelector('text').getBBox();
        return {kind: g.getAttribute('class'), words: g.querySelector('text').textContent,
                box: [box.x, box.y, box.width, box.height], text: [text.x, text.y, text.width, text.height]};
    })"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_diagram_as_drawn_has_no_overlapping_labels(
    party: BuilderServer, browser: Any, axe: Any, javascript: bool
) -> None:
    with new_page(browser, java_script_enabled=javascript) as page:
        sign_in(page, party)
        page.goto(party(f"{BASE}/workflow"))
        drawn = page.evaluate(DRAWN)
        assert len([d for d in drawn if "cf-state" in d["kind"]]) == 6
        assert len([d for d in drawn if d["kind"] == "cf-edge-label"]) == 11
        for d in drawn:  # the text as Chromium measures it stays inside its own box
            x, y, w, h = d["box"]
            tx, ty, tw, th = d["text"]
            assert x <= tx and tx + tw <= x + w and y <= ty and ty + th <= y + h, d
        clashes = [
            (a["words"], b["words"]) for a, b in itertools.combinations(drawn, 2) if _overlap(a["box"], b["box"])
        ]
        assert clashes == []
        words = page.locator(".cf-workflow-words li").all_inner_texts()
        assert words[0] == "Every case is decided within 10 working days of the application arriving"
        assert any(w.startswith("From Waiting for Highways to check the road closure: Recommend") for w in words)
        # The picture can be scrolled by keyboard when wider than its column, and is named.
        region = page.get_by_role("region", name="Diagram of the approval steps")
        expect(region).to_have_attribute("tabindex", "0")
        axe(page)


def test_deadline_reason_and_appeal_in_the_builder(party: BuilderServer, js_page: Any, axe: Any) -> None:
    page = js_page
    sign_in(page, party)
    page.goto(party(f"{BASE}/workflow/settings"))
    axe(page)
    page.fill("#decide-within-days", "banana")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The time to decide must be a whole number")
    axe(page)
    page.fill("#decide-within-days", "15")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".cf-decide-within")).to_contain_text("decided within 15 working days")

    page.goto(party(f"{BASE}/workflow/actions/2/"))  # "Refuse" from Received
    axe(page)
    expect(page.locator('input[name="reason"][value="required"]')).to_be_checked()
    page.check('input[name="reason"][value="optional"]')
    page.get_by_role("button", name="Save action").click()
    expect(page.locator(".cf-workflow-words")).to_contain_text("the applicant is told the reason, if staff give one")

    page.goto(party(f"{BASE}/workflow/states/withdrawn/"))
    expect(page.locator('input[name="final"][value="yes"]')).to_be_checked()
    page.get_by_label("For a final state: how can the applicant ask for a review or appeal? (optional)").fill(
        "You cannot appeal a withdrawal. Apply again instead."
    )
    axe(page)
    page.get_by_role("button", name="Save state").click()
    expect(page.locator(".cf-workflow-words")).to_contain_text(
        "Withdrawn by the applicant (final: the case is closed; the applicant is told how to ask for a review)"
    )

    page.goto(party(f"{BASE}/"))
    address = page.locator(".cf-service-address")
    expect(address).to_contain_text(f"/services/{SERVICE}")
    expect(page.locator(".govuk-task-list")).to_contain_text("Privacy and contact details")
    axe(page)

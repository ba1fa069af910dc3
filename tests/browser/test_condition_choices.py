"""A condition's "Answer to compare with" in a real browser: once a question with choices is chosen, its
answers are offered as a select list (app.js), not a box to type in. Found by the street party's trial
(issue 17): a new condition had no question chosen when the page was drawn, so the designer had to type
"Yes". axe-core on the page with the list offered."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from runtime import db as dbmod
from runtime.data import departments, drafts
from runtime.models import StaffUser
from tests.builder.street_party import street_party

from .conftest import DESIGNER_DEPARTMENT, DESIGNER_EMAIL, BuilderServer, sign_in
from .helpers import settled

pytestmark = pytest.mark.browser

SERVICE = "street-party"
CLOSE = "Do you need to close the road?"


@pytest.fixture(scope="module")
def party(builder_server: BuilderServer) -> BuilderServer:
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


def _stored_guard(server: BuilderServer) -> Any:
    engine = dbmod.make_engine(f"sqlite:///{server.database}")
    try:
        with dbmod.session(engine) as s:
            draft = drafts.get_draft(session=s, service_id=SERVICE)
            assert draft is not None
            doc = draft.definition
    finally:
        engine.dispose()
    return [t.get("guard") for t in doc["workflow"]["transitions"] if t.get("label") == "Approve a quiet party"]


def test_the_answer_is_chosen_from_the_questions_choices_once_it_is_chosen(
    party: BuilderServer, js_page: Any, axe: Any
) -> None:
    page = js_page
    sign_in(page, party)
    page.goto(party(f"/builder/services/{SERVICE}/workflow/actions/new?from=received"))
    settled(page)
    clause = page.get_by_role("group", name="Condition", exact=True)
    value = clause.locator('[name="clauses.0.value"]')
    hint = clause.locator("#clauses-0-value-hint")
    expect(value).to_have_js_property("tagName", "INPUT")  # no question yet: a box to type in

    clause.get_by_label("Question").select_option(label=CLOSE)
    expect(value).to_have_js_property("tagName", "SELECT")
    expect(value.locator("option")).to_have_text(["Select an answer", "Yes", "No"])
    expect(hint).to_be_hidden()  # it says how to type the answer
    axe(page)

    # A question without choices: the box again, with its hint; "is one of" keeps the box too.
    clause.get_by_label("Question").select_option(label="What is your full name?")
    expect(value).to_have_js_property("tagName", "INPUT")
    expect(hint).to_be_visible()
    clause.get_by_label("Question").select_option(label=CLOSE)
    clause.get_by_label("How to compare").select_option(label="is")
    clause.get_by_label("Answer to compare with").select_option(label="No")

    page.get_by_label("Button text").fill("Approve a quiet party")
    page.get_by_label("Which state does the case move to?").select_option(label="Approved")
    page.get_by_role("group", name="Who can take this action?").get_by_label("Caseworker").check()
    page.get_by_role("button", name="Save action").click()
    settled(page)
    expect(page.locator(".cf-workflow-words")).to_contain_text(
        f"Approve a quiet party → Approved (caseworker); only if '{CLOSE}' is No"
    )
    assert _stored_guard(party) == [
        {"properties": {"need_to_close_the_road": {"const": False}}, "required": ["need_to_close_the_road"]}
    ]

    # Edited again: the server offers the saved answer in the list; another question still swaps it.
    page.get_by_role("link", name="Edit action Approve a quiet party").click()
    settled(page)
    clause = page.get_by_role("group", name="Condition", exact=True)
    value = clause.locator('[name="clauses.0.value"]')
    expect(value).to_have_js_property("tagName", "SELECT")
    expect(value).to_have_value("no")
    clause.get_by_label("Question").select_option(label="What is your full name?")
    expect(value).to_have_js_property("tagName", "INPUT")
    clause.get_by_label("Question").select_option(label=CLOSE)
    expect(value).to_have_js_property("tagName", "SELECT")
    expect(value.locator("option")).to_have_text(["Select an answer", "Yes", "No"])
    axe(page)

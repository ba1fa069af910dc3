"""The approval steps screens: the overview with its diagram and words, and a form for each change,
all without JavaScript, with GOV.UK errors next to the fields and nothing typed lost."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from builder import operations, workflow_editing
from builder.conditions import EditError
from builder.web.views import workflow as views
from runtime import db as dbmod
from runtime import staff as core
from runtime.checker import check
from runtime.data import drafts
from tests.builder.conftest import StaffMembers
from tests.conftest import page

SERVICE = "small-grants"
BASE = f"/services/{SERVICE}/workflow"


@pytest.fixture
def app(builder_app: Flask) -> Flask:
    return builder_app


def _doc(app: Flask) -> dict[str, Any]:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None
        return dict(draft.definition)


def _replace(app: Flask, doc: dict[str, Any]) -> None:
    """What IT does by editing the file: the draft becomes ``doc``."""
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None
        drafts.save_draft(session=s, draft=draft, doc=doc, expected_revision=draft.revision, user_id=draft.created_by)
        s.commit()


@pytest.fixture
def department(app: Flask, staff: StaffMembers) -> int:
    return staff.department("Grants")


@pytest.fixture
def designer(app: Flask, staff: StaffMembers, department: int) -> FlaskClient:
    """A designer in Grants, with a draft service asking for an amount and no workflow section."""
    user = staff.create(roles=[(department, core.DESIGNER)])
    doc = operations.new_blank_service(
        id=SERVICE, title="Apply for a small grant", reference_prefix="GR", department="Grants"
    )
    doc = operations.add_page(doc, title="Amount")
    doc = operations.add_question(doc, page="amount", widget="number", label="How much do you need?")
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        assert user.id is not None
        drafts.create_draft(session=s, doc=doc, department_id=department, user_id=user.id)
        s.commit()
    return staff.sign_in(user)


def _hidden(client: FlaskClient, url: str, index: int = 0) -> dict[str, str]:
    forms = page(client.get(url)).select("form[method=post]:not(.cf-sign-out)")
    assert forms, f"no form on {url}"
    return {str(i["name"]): str(i.get("value", "")) for i in forms[index].select("input[type=hidden]")}


def _post(client: FlaskClient, url: str, data: dict[str, Any], *, form_url: str | None = None, index: int = 0) -> Any:
    return client.post(url, data={**_hidden(client, form_url or url, index), **data})


def _error(soup: BeautifulSoup, field_id: str) -> str:
    element = soup.select_one(f"#{field_id}")
    assert element is not None, field_id
    group = element.find_parent(class_="govuk-form-group") or element.parent
    message = group.select_one(".govuk-error-message") if group else None
    assert message is not None, f"no error next to #{field_id}"
    return message.get_text(" ", strip=True)


def _words(client: FlaskClient) -> list[str]:
    return [li.get_text(" ", strip=True) for li in page(client.get(BASE)).select(".cf-workflow-words li")]


def test_the_overview_shows_the_diagram_and_the_steps_in_words(designer: FlaskClient) -> None:
    response = designer.get(BASE)
    assert response.status_code == 200
    soup = page(response)
    assert soup.select_one("h1").get_text(strip=True) == "Approval steps"  # type: ignore[union-attr]
    svg = soup.select_one("svg.cf-workflow-diagram")
    assert svg is not None and svg.get("role") == "img"
    assert {g["data-state"] for g in svg.select("g[data-state]")} == {"received", "approved", "rejected"}
    assert "From Received: Approve → Approved (caseworker)" in _words(designer)
    assert "standard review step" in soup.get_text()
    assert soup.select_one("script[src*=workflow]") is None  # drawn on the server, no front-end code


def test_add_a_state_then_an_action_with_a_condition_in_plain_words(app: Flask, designer: FlaskClient) -> None:
    response = _post(
        designer,
        f"{BASE}/states/new",
        {
            "label": "Waiting for a manager",
            "citizen_text": "We are checking your application",
            "final": "no",
            "deadline_days": "5",
            "working_days": "yes",
            "escalate_to": "manager",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(BASE)
    soup = page(designer.get(BASE))
    problems = soup.select_one(".cf-workflow-problems").get_text()  # type: ignore[union-attr]
    assert "No action leads to ‘Waiting for a manager’ from ‘Received’, where cases start" in problems
    assert "transition" not in problems and '"' not in problems  # plain words, no ids (issue 17)
    assert "State: Waiting for a manager (deadline 5 working days, then the manager is told)" in _words(designer)

    name = next(n for n, q in _doc(app)["questions"].items() if q["widget"] == "number")
    form = {
        "from_state": "received",
        "label": "Approve",
        "to_state": "waiting-for-a-manager",
        "roles": ["caseworker"],
        "comment": "optional",
        "approvals": "any",
        "clauses.0.question": name,
        "clauses.0.operator": "more_than",
        "clauses.0.value": "10,000",
    }
    response = _post(designer, f"{BASE}/actions/new", form)
    assert response.status_code == 303
    form = {
        "from_state": "waiting-for-a-manager",
        "label": "Approve",
        "to_state": "approved",
        "roles": ["manager"],
        "comment": "optional",
        "approvals": "quorum",
        "count": "2",
    }
    assert _post(designer, f"{BASE}/actions/new", form).status_code == 303
    form = {
        "from_state": "waiting-for-a-manager",
        "label": "Reject",
        "to_state": "rejected",
        "roles": ["manager"],
        "comment": "required",
        "approvals": "any",
    }
    assert _post(designer, f"{BASE}/actions/new", form).status_code == 303
    doc = _doc(app)
    assert check(doc) == []
    words = _words(designer)
    assert words[4] == (
        "From Received: Approve → Waiting for a manager (caseworker); only if 'How much do you need?' is more "
        "than 10000"
    )
    assert "From Waiting for a manager: Approve → Approved (manager); needs 2 different people" in words
    assert page(designer.get(BASE)).select_one(".cf-workflow-problems") is None
    # The edit form reads the condition back in plain words.
    soup = page(designer.get(f"{BASE}/actions/0/"))
    assert soup.select_one("#clauses-0-value")["value"] == "10000"  # type: ignore[index]
    assert soup.select_one("#to-state option[selected]")["value"] == "waiting-for-a-manager"  # type: ignore[index]


def test_bad_state_input_shows_errors_next_to_the_fields_and_keeps_the_rest(designer: FlaskClient) -> None:
    url = f"{BASE}/states/new"
    response = _post(designer, url, {"label": "", "citizen_text": "Kept text", "deadline_days": "5"})
    assert response.status_code == 400
    soup = page(response)
    assert _error(soup, "label") == "Error: Enter the name of the state"
    assert soup.select_one("#citizen-text")["value"] == "Kept text"  # type: ignore[index]
    assert soup.select_one(".govuk-error-summary a[href='#label']") is not None
    response = _post(designer, url, {"label": "x" * 10_000})
    assert "200 characters or less" in _error(page(response), "label")
    response = _post(designer, url, {"label": "Received"})
    assert "already a state called 'Received'" in _error(page(response), "label")
    response = _post(designer, url, {"label": "Done", "final": "yes", "deadline_days": "3"})
    assert "final state has no deadline" in _error(page(response), "deadline-days")
    response = _post(designer, url, {"label": "Checking", "escalate_to": "manager"})
    assert "Enter a deadline" in _error(page(response), "escalate-to")
    assert [s for s in _words(designer) if s.startswith("State:")] == [
        "State: Received (cases start here)",
        "State: Approved (final: the case is closed)",
        "State: Rejected (final: the case is closed)",
    ]


def test_html_in_labels_is_escaped_in_the_page_and_the_diagram(app: Flask, designer: FlaskClient) -> None:
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    assert _post(designer, f"{BASE}/states/received/", {"label": hostile, "final": "no"}).status_code == 303
    assert _doc(app)["workflow"]["states"]["received"]["label"] == hostile
    body = designer.get(BASE).get_data(as_text=True)
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(" in body
    soup = page(designer.get(BASE))
    assert hostile in [t.get_text() for t in soup.select("svg g[data-state=received] title")]
    assert "<script>alert" not in designer.get(f"{BASE}/states/received/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "field_id", "words"),
    [
        ({"approvals": "quorum", "count": "0"}, "count", "2 or more"),
        ({"approvals": "quorum", "count": "1"}, "count", "2 or more"),
        ({"approvals": "quorum", "count": "10000"}, "count", "100 or less"),
        ({"to_state": "deleted-since"}, "to-state", "Select the state the case moves to"),
        ({"roles": []}, "roles", "Select who can take this action"),
        ({"label": "z" * 10_000}, "label", "200 characters or less"),
        ({"clauses.0.question": "gone", "clauses.0.operator": "answered"}, "clauses-0-question", "deleted"),
    ],
)
def test_bad_action_input(app: Flask, designer: FlaskClient, change: dict[str, Any], field_id: str, words: str) -> None:
    before = _doc(app)
    form = {
        "from_state": "received",
        "label": "Escalate",
        "to_state": "approved",
        "roles": ["caseworker"],
        "comment": "optional",
        "approvals": "any",
        **change,
    }
    response = _post(designer, f"{BASE}/actions/new", form)
    assert response.status_code == 400
    soup = page(response)
    assert words in _error(soup, field_id)
    label = soup.select_one("#label")
    assert label is not None and label["value"] == form["label"][:20_000]
    assert _doc(app) == before


def test_a_state_in_use_cannot_be_deleted_and_an_unused_one_can(app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/states/approved/delete"
    assert "Are you sure" in page(designer.get(url)).get_text()
    response = _post(designer, url, {"confirm": "yes"})
    assert response.status_code == 400
    assert "the action 'Approve' from 'Received' leads to it" in page(response).select_one("#state").get_text()  # type: ignore[union-attr]
    assert _post(designer, f"{BASE}/states/new", {"label": "Withdrawn", "final": "yes"}).status_code == 303
    url = f"{BASE}/states/withdrawn/delete"
    assert _post(designer, url, {}).status_code == 400
    assert _post(designer, url, {"confirm": "yes"}).status_code == 303
    assert "withdrawn" not in _doc(app)["workflow"]["states"]
    assert designer.get(url).status_code == 404


def test_reorder_and_delete_actions(app: Flask, designer: FlaskClient) -> None:
    move = f"{BASE}/actions/1/move"
    assert _post(designer, move, {"direction": "up"}, form_url=BASE, index=3).status_code == 303
    assert [t["action"] for t in _doc(app)["workflow"]["transitions"]] == ["reject", "approve", "request-information"]
    url = f"{BASE}/actions/2/delete"
    assert "Ask the applicant for more information" in page(designer.get(url)).get_text()
    assert _post(designer, url, {"confirm": "yes"}).status_code == 303
    assert len(_doc(app)["workflow"]["transitions"]) == 2
    assert designer.get(f"{BASE}/actions/9/").status_code == 404


def test_request_information_and_settings(app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/states/received/request-information"
    assert _post(designer, url, {"enabled": "no"}).status_code == 303
    assert not any(t.get("request_information") for t in _doc(app)["workflow"]["transitions"])
    response = _post(designer, url, {"enabled": "yes", "label": "Ask for proof", "roles": []})
    assert "Select who can take this action" in _error(page(response), "roles")
    assert _post(designer, url, {"enabled": "yes", "label": "Ask for proof", "roles": ["manager"]}).status_code == 303
    assert "From Received: Ask for proof → back to Received when the applicant answers (manager)" in _words(designer)
    response = _post(designer, f"{BASE}/settings", {"initial": "approved", "working_days": "yes"})
    assert "final state" in _error(page(response), "initial")
    response = _post(
        designer, f"{BASE}/settings", {"initial": "received", "working_days": "yes", "one_decision_per_person": "yes"}
    )
    assert response.status_code == 303 and _doc(app)["workflow"]["working_days"] is True


def test_a_custom_guard_is_shown_read_only_and_kept(app: Flask, designer: FlaskClient) -> None:
    doc = workflow_editing.use_default_workflow(_doc(app))
    name = next(n for n, q in doc["questions"].items() if q["widget"] == "number")
    custom = {"anyOf": [{"required": [name]}, {"properties": {name: {"minimum": 5}}}]}
    doc["workflow"]["transitions"].insert(0, {**doc["workflow"]["transitions"][0], "to": "rejected", "guard": custom})
    _replace(app, doc)
    assert check(_doc(app)) == []
    soup = page(designer.get(BASE))
    assert "Custom condition, edited in the definition file" in soup.select_one("#action-0").get_text()  # type: ignore[union-attr]
    form_page = page(designer.get(f"{BASE}/actions/0/"))
    assert form_page.select_one(".cf-custom-condition") is not None
    assert form_page.select_one("#clauses-0-question") is None
    form = {
        "from_state": "received",
        "label": "Approve now",
        "to_state": "rejected",
        "roles": ["caseworker"],
        "comment": "optional",
        "approvals": "any",
    }
    assert _post(designer, f"{BASE}/actions/0/", form).status_code == 303
    saved = _doc(app)["workflow"]["transitions"][0]
    assert saved["guard"] == custom and saved["label"] == "Approve now"


@pytest.mark.parametrize(
    "section",
    [
        {"initial": "a", "states": ["not", "a", "mapping"], "transitions": []},
        {"initial": "a", "states": {"a": {"label": 5}}, "transitions": [{"from": "a"}]},
    ],
)
def test_a_section_the_builder_cannot_read_is_shown_read_only(
    app: Flask, designer: FlaskClient, section: dict[str, Any]
) -> None:
    _replace(app, {**_doc(app), "workflow": section})
    response = designer.get(BASE)
    assert response.status_code == 200
    assert "custom, edited in the definition file" in page(response).get_text()
    token = _hidden(designer, f"/services/{SERVICE}/pages", 0).get("csrf_token", "")
    for url in (
        f"{BASE}/states/new",
        f"{BASE}/actions/new",
        f"{BASE}/settings",
        f"{BASE}/states/a/",
        f"{BASE}/actions/0/",
        f"{BASE}/states/a/move",
        f"{BASE}/actions/0/move",
        f"{BASE}/default",
    ):
        assert designer.get(url).status_code in (200, 404, 405), url
        response = designer.post(url, data={"csrf_token": token, "label": "X", "direction": "up", "revision": "2"})
        assert response.status_code < 500, url
    assert _doc(app)["workflow"] == section


def test_going_back_to_the_standard_step(app: Flask, designer: FlaskClient) -> None:
    assert _post(designer, f"{BASE}/states/received/", {"label": "New", "final": "no"}).status_code == 303
    soup = page(designer.get(BASE))
    assert soup.select_one("form[action$='/workflow/default']") is not None
    assert _post(designer, f"{BASE}/default", {"action": "remove"}, form_url=BASE, index=-1).status_code == 303
    assert "workflow" not in _doc(app)


def test_a_colleagues_change_is_never_overwritten(app: Flask, designer: FlaskClient) -> None:
    hidden = _hidden(designer, f"{BASE}/states/new")
    assert _post(designer, f"{BASE}/states/new", {"label": "First", "final": "yes"}).status_code == 303
    response = designer.post(f"{BASE}/states/new", data={**hidden, "label": "Second", "final": "yes"})
    assert response.status_code == 400
    assert page(response).select_one(".cf-conflict") is not None
    assert "second" not in _doc(app)["workflow"]["states"]


def test_other_roles_and_departments(app: Flask, designer: FlaskClient, staff: StaffMembers, department: int) -> None:
    reviewer = staff.sign_in(staff.create(roles=[(department, core.REVIEWER)], name="Rae Reviewer"))
    assert reviewer.get(BASE).status_code == 403
    stranger = staff.sign_in(staff.create(roles=[(staff.department("Parks"), core.DESIGNER)], name="Pat Parks"))
    assert stranger.get(BASE).status_code == 404
    assert stranger.get(f"{BASE}/states/received/").status_code == 404


def test_every_edit_is_checked_by_the_checker(designer: FlaskClient) -> None:
    doc = workflow_editing.use_default_workflow(
        operations.new_blank_service(id="x-service", title="X", reference_prefix="XS")
    )

    def breaks(doc: dict[str, Any]) -> dict[str, Any]:
        new = workflow_editing.use_default_workflow(doc) if "workflow" not in doc else dict(doc)
        new = {**new, "workflow": {**new["workflow"], "initial": "approved"}}
        return new

    with pytest.raises(EditError) as caught:
        views._checked(breaks)(doc)
    assert caught.value.field == "workflow" and "Cases cannot start in ‘Approved’: it is a final state" in (
        caught.value.message
    )
    # Unfinished steps are allowed (and listed on the overview), never refused.
    assert views._checked(workflow_editing.add_state)(doc, label="Later")["workflow"]["states"]["later"]

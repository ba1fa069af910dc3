"""Questions about each item of an add-another (issue 18), two defects a review found: a workflow
action's condition on one of them was left reading nothing when the designer deleted it (or its
choice), and the address-lookup tick box was offered and saved on them although the address
finder never runs on an item's page. (The third, a new order of them that could not be
published, is in test_publish_item_order.py.)"""

from __future__ import annotations

import copy

import pytest
from flask import Flask
from flask.testing import FlaskClient

from builder import operations as op
from builder.operations import EditError
from runtime import db as dbmod
from runtime.checker import check
from runtime.data import drafts
from tests.builder.test_new_question_types import ITEMS, add_item, located, send
from tests.builder.test_new_question_types import with_list as with_list  # noqa: F401  (fixtures)
from tests.builder.test_new_question_types import with_relationship as with_relationship  # noqa: F401
from tests.builder.test_pages import BASE, _doc, _post, browser_form
from tests.builder.test_pages import designer as designer  # noqa: F401
from tests.conftest import page

L = "people_who_live_with_you"
RELATION = "how_are_they_related_to_you"


# -- 2. a workflow action's condition on a question about each item -------------------------------


def _fast_track(client: FlaskClient) -> None:
    """A workflow action that applies when anyone in the list is the applicant's partner."""
    data = {
        "from_state": "received",
        "label": "Fast track",
        "to_state": "approved",
        "roles": "caseworker",
        "comment": "optional",
        "approvals": "any",
        "count": "",
        "reason": "none",
        "clauses.0.question": L,
        "clauses.0.operator": "any_item",
        "clauses.0.item": RELATION,
        "clauses.0.item_operator": "is",
        "clauses.0.value": "Partner",
    }
    assert _post(client, f"{BASE}/workflow/actions/new", data).status_code == 303


def test_an_item_question_a_workflow_action_reads_is_not_deleted(
    builder_app: Flask,
    with_relationship: FlaskClient,  # noqa: F811
) -> None:
    assert add_item(with_relationship, "text", "Their job").status_code == 303  # not the last question
    _fast_track(with_relationship)
    before = _doc(builder_app)
    assert any(RELATION in str(t.get("guard")) for t in before["workflow"]["transitions"])

    response = _post(with_relationship, f"{ITEMS}/{RELATION}/delete", {"confirm": "yes"})
    assert response.status_code == 400
    assert (
        "You cannot delete 'How are they related to you?' because the condition on action 'Fast track' uses it"
        in page(response).get_text(" ")
    )
    assert _doc(builder_app) == before

    response = send(with_relationship, f"{ITEMS}/{RELATION}", {"action": "remove:option_1"})
    assert response.status_code == 400
    assert "You cannot remove 'Partner' because the condition on action 'Fast track' uses it" in page(
        response
    ).get_text(" ")
    assert _doc(builder_app) == before
    # the choice the condition does not read goes, and the other item question can still be deleted
    assert send(with_relationship, f"{ITEMS}/{RELATION}", {"action": "remove:option_2"}).status_code == 303
    assert _post(with_relationship, f"{ITEMS}/their_job/delete", {"confirm": "yes"}).status_code == 303
    assert list(_doc(builder_app)["questions"][L]["questions"]) == ["name", RELATION]


def test_the_checker_refuses_a_workflow_condition_on_an_item_question_that_is_gone(
    builder_app: Flask,
    with_relationship: FlaskClient,  # noqa: F811
) -> None:
    _fast_track(with_relationship)
    doc = _doc(builder_app)
    doc["pages"] = [p for p in doc["pages"] if p["questions"]]  # the fixture's page without questions yet
    k = next(i for i, t in enumerate(doc["workflow"]["transitions"]) if "guard" in t)
    where = f"$.workflow.transitions[{k}].guard.properties.{L}.contains"
    assert check(doc) == []
    gone = copy.deepcopy(doc)  # IT edits the file: the item question is removed, the condition kept
    del gone["questions"][L]["questions"][RELATION]
    del gone["schema"]["properties"][L]["items"]["properties"][RELATION]
    assert (where, f'condition uses "{RELATION}", which is not a question asked of each person') in [
        (p.path, p.message) for p in check(gone)
    ]
    renamed = copy.deepcopy(doc)  # or the Partner choice
    guard = renamed["workflow"]["transitions"][k]["guard"]
    guard["properties"][L]["contains"]["properties"][RELATION]["const"] = "spouse"
    assert (where, f'condition compares "{RELATION}" with "spouse", which is not one of its choices') in [
        (p.path, p.message) for p in check(renamed)
    ]


# -- 3. the address lookup is not offered on a question about each item ---------------------------


def test_an_address_about_each_item_has_no_lookup_tick_box(
    builder_app: Flask,
    with_list: FlaskClient,  # noqa: F811
) -> None:
    response = add_item(with_list, "uk-address", "What is their address?")
    assert response.status_code == 303
    url = located(response)
    item = url.rsplit("/", 1)[-1]
    soup = page(with_list.get(url))
    assert soup.select_one("input[name=lookup]") is None
    # a hand-made post with the box ticked saves the question without it
    form = {**browser_form(soup), "lookup": "yes"}
    assert with_list.post(url, data=form).status_code == 303
    assert "lookup" not in _doc(builder_app)["questions"][L]["questions"][item]
    # the operation refuses it too, as it refuses "searchable"
    with pytest.raises(EditError) as refused:
        op.update_item_question(_doc(builder_app), L, item, lookup=True)
    assert refused.value.field == "lookup"
    assert refused.value.message == "An address asked about each item cannot be found by postcode: people type it"


def test_a_lookup_left_on_an_item_by_an_older_draft_is_refused_and_cleared_on_save(
    builder_app: Flask,
    with_list: FlaskClient,  # noqa: F811
) -> None:
    url = located(add_item(with_list, "uk-address", "What is their address?"))
    item = url.rsplit("/", 1)[-1]
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id="front-doors")
        assert draft is not None
        doc = copy.deepcopy(draft.definition)
        doc["questions"][L]["questions"][item]["lookup"] = True
        draft.definition = doc
        s.add(draft)
        s.commit()
    problems = [(p.path, p.message) for p in check(_doc(builder_app))]
    assert (
        f"$.questions.{L}.questions.{item}.lookup",
        'an address asked of each item cannot be found by postcode: remove "lookup" (people type it)',
    ) in problems
    assert send(with_list, url, {}).status_code == 303
    assert "lookup" not in _doc(builder_app)["questions"][L]["questions"][item]
    assert not [p for p in check(_doc(builder_app)) if p.path.endswith(".lookup")]

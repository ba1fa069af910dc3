"""Publishing a new order of the questions about each item of an add-another (issue 18): the
builder's Move up/down changes only the key order of the list's ``questions`` (and of its items'
``properties``), which the "same as the live version" comparison used to ignore, so the publish
page summarised "Reordered the questions of each person" and then said there was nothing to
publish."""

from __future__ import annotations

from flask import Flask

from builder import operations as op
from runtime.checker import check
from tests.builder.conftest import StaffMembers
from tests.builder.test_publish import SERVICE, designer, live_doc, make_draft, post_publish, versions
from tests.builder.test_publish import settings as settings  # noqa: F401  (the fixture: its own definitions folder)
from tests.builder.test_publishing import isolated_git as isolated_git  # noqa: F401  (the fixture)
from tests.conftest import page

L = "people_who_live_with_you"


# -- 1. a new order of the questions about each item is a change to publish -----------------------


def test_reordering_the_questions_about_each_item_is_published(builder_app: Flask, staff: StaffMembers) -> None:
    user = designer(staff)
    doc = live_doc(builder_app)
    doc = op.add_page(doc, title="Household")
    doc = op.add_question(doc, page=doc["pages"][-1]["id"], widget="add-another", label="People who live with you")
    doc = op.update_question(doc, L, singular="person", plural="people")
    doc = op.add_item_question(doc, L, widget="text", label="Their job")
    assert check(doc) == []
    make_draft(builder_app, user, doc)
    client = staff.sign_in(user)
    assert post_publish(client).status_code == 303
    live = live_doc(builder_app)
    before = versions(builder_app)
    assert list(live["questions"][L]["questions"]) == ["name", "their_job"]

    make_draft(builder_app, user, op.move_item_question(live, L, "their_job", direction="up"))
    shown = page(client.get(f"/services/{SERVICE}/publish"))
    assert [li.get_text(" ", strip=True) for li in shown.select(".cf-summary li")] == [
        "Reordered the questions of each person in 'People who live with you'"
    ]
    assert shown.select_one(".cf-unchanged") is None  # not "There is nothing to publish"
    response = post_publish(client)
    assert response.status_code == 303
    assert versions(builder_app) == [*before, before[-1] + 1]
    published = live_doc(builder_app)
    assert list(published["questions"][L]["questions"]) == ["their_job", "name"]
    assert list(published["schema"]["properties"][L]["items"]["properties"]) == ["their_job", "name"]

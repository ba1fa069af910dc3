"""The builder's pages for a service routed on every page stay quick (issue 13, finding 2).

A service where each page says "if the previous page's answer is yes, go to the end" took
22 s to open the publish page at 16 pages and over 120 s at 20. At 100 pages each page that
works out page conditions opens, the service publishes, and a routing edit keeps the rule
that requires an answer on the last page compact.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.routing_scale import DEPARTMENT, PAGES_MEASURED, no_earlier_yes, routed_service, yes
from runtime import db as dbmod
from runtime import staff as core
from runtime.checker import check
from runtime.data import drafts
from runtime.definition import read_file
from runtime.settings import Settings
from tests.builder.conftest import StaffMembers
from tests.builder.test_publish import settings  # noqa: F401 - a fixture: a definitions folder of the test's own
from tests.conftest import page

PAGES = 100
SERVICE = "routed-service"


@pytest.fixture
def designer(builder_app: Flask, staff: StaffMembers) -> FlaskClient:
    """A designer whose draft is the 100-page routed service, already previewed."""
    department = staff.department(DEPARTMENT)
    user = staff.create(roles=[(department, core.DESIGNER)])
    assert user.id is not None
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.create_draft(session=s, doc=routed_service(PAGES), department_id=department, user_id=user.id)
        drafts.mark_draft(session=s, draft=draft, preview_visited=True)
        s.commit()
    return staff.sign_in(user)


def draft_doc(app: Flask) -> dict[str, Any]:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None
        return dict(draft.definition)


def test_every_page_that_works_out_conditions_opens(designer: FlaskClient) -> None:
    # The pages that work out page conditions (bench/routing_scale.py times the rest too).
    for label, path in PAGES_MEASURED:
        if label not in {"page", "routing", "condition"}:
            continue
        url = path.format(id=SERVICE, page=f"page-{PAGES - 1}")
        response = designer.get(url)
        assert response.status_code == 200, (label, url)
    checklist = page(designer.get(f"/services/{SERVICE}/publish"))
    done = [li.get_text(" ", strip=True) for li in checklist.select(".cf-check--done")]
    assert len(done) == 4, done
    assert any("Every page can be reached" in text for text in done)


def test_the_hundred_page_service_publishes(
    builder_app: Flask,
    designer: FlaskClient,
    settings: Settings,  # noqa: F811 - the fixture imported above
) -> None:
    url = f"/services/{SERVICE}/publish"
    token = page(designer.get(url)).select_one("input[name=csrf_token]")
    assert token is not None
    response = designer.post(url, data={"csrf_token": token["value"], "revision": "1"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    published = read_file(settings.definitions_dir / f"{SERVICE}.json")
    assert len(published["pages"]) == PAGES + 1 and check(published) == []


def test_a_routing_edit_keeps_the_required_rule_compact(builder_app: Flask, designer: FlaskClient) -> None:
    """Removing page 51's rule re-aims the rule requiring "details" at page 100's new condition."""
    url = f"/services/{SERVICE}/pages/page-50/routing"
    hidden = page(designer.get(url)).select("form[method=post]:not(.cf-sign-out) input[type=hidden]")
    form = {str(i["name"]): str(i.get("value", "")) for i in hidden}
    response = designer.post(url, data={**form, "action": "remove"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    doc = draft_doc(builder_app)
    assert "next" not in doc["pages"][50]
    wanted = [part for part in no_earlier_yes(98)["allOf"] if part != {"not": yes("answer_49")}]  # type: ignore[index]
    assert doc["schema"]["allOf"] == [{"if": {"allOf": wanted}, "then": {"required": ["details"]}}]
    assert check(doc) == []

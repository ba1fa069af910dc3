"""The builder's definition editor refuses a schema whose validation would pin a worker (issue 13, finding 1)."""

from __future__ import annotations

import json

from flask import Flask

from runtime import db as dbmod
from runtime import staff as core
from runtime.data import drafts
from runtime.dialect import MAX_EVALUATION_COST
from tests.builder.conftest import StaffMembers
from tests.builder.test_publish import SERVICE, csrf, designer, live_doc, one, settings  # noqa: F401 - a fixture
from tests.conftest import page


def test_the_definition_editor_refuses_nested_unevaluated_properties(builder_app: Flask, staff: StaffMembers) -> None:
    client = staff.sign_in(designer(staff, role=core.ADMIN))
    url = f"/services/{SERVICE}/definition"
    doc = live_doc(builder_app)
    shape: dict = {"type": "object"}
    for _ in range(20):  # the 7 KB shape of the security test: each level doubles the work
        shape = {"allOf": [shape], "unevaluatedProperties": True}
    doc["schema"].setdefault("allOf", []).append(shape)
    text = json.dumps(doc)
    response = client.post(url, data={"csrf_token": csrf(client, url), "definition": text, "revision": "0"})
    assert response.status_code == 400
    summary = one(page(response), ".govuk-error-summary").text
    assert "$.schema.allOf[" in summary and ".unevaluatedProperties" in summary, summary
    assert f"{MAX_EVALUATION_COST:,}" in summary
    assert 'use "additionalProperties" instead' in summary
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        assert drafts.get_draft(session=s, service_id=SERVICE) is None

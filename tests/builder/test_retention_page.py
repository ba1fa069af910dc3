"""The builder's "How long personal data is kept" page: the period in plain words, saved to the
draft's ``retention``, refused in plain words when it is not a period, and shown in the change
summary on the publish page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime import db as dbmod
from runtime import staff as core
from runtime.data import drafts
from tests.builder.conftest import StaffMembers
from tests.conftest import page

URL = "/services/blue-badge/retention"


@pytest.fixture
def designer(staff: StaffMembers) -> FlaskClient:
    return staff.sign_in(staff.create(roles=[(staff.department_of("blue-badge"), core.DESIGNER)]))


def _form(client: FlaskClient) -> dict[str, str]:
    soup = page(client.get(URL))
    form = soup.select_one("main form")
    assert form is not None
    data = {str(i["name"]): str(i.get("value", "")) for i in form.select("input") if i.get("type") != "radio"}
    for select in form.select("select"):
        chosen = select.select_one("option[selected]")
        data[str(select["name"])] = str(chosen["value"]) if chosen else ""
    return data


def _retention(app: Flask) -> Any:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id="blue-badge")
        return None if draft is None else draft.definition.get("retention", "absent")


def test_the_page_says_the_period_in_plain_words(designer: FlaskClient) -> None:
    soup = page(designer.get(URL))
    assert soup.select_one("h1").get_text(strip=True) == "How long personal data is kept"  # type: ignore[union-attr]
    now = soup.select_one(".cf-now").get_text(" ", strip=True)  # type: ignore[union-attr]
    assert now == "Now: Keep applicants' personal data for 4 years after the case is closed."
    assert _form(designer) | {"csrf_token": ""} == {
        "csrf_token": "",
        "revision": _form(designer)["revision"],
        "amount": "4",
        "unit": "years",
        "after": "case-closed",
    }
    tasks = {
        a.get_text(strip=True): a["href"]
        for a in page(designer.get("/services/blue-badge/")).select(".govuk-task-list a")
    }
    assert tasks["How long personal data is kept"] == "/builder" + URL


def test_saving_a_period_and_seeing_it_in_the_change_summary(builder_app: Flask, designer: FlaskClient) -> None:
    data = {**_form(designer), "amount": "18", "unit": "months", "after": "submitted", "completed": "yes"}
    response = designer.post(URL, data=data)
    assert response.status_code == 303, page(response).select_one(".govuk-error-summary")
    assert _retention(builder_app) == {"months": 18, "after": "submitted"}
    assert "Now: Keep applicants' personal data for 18 months after the form was sent." in page(
        designer.get(URL)
    ).get_text(" ", strip=True)
    publish = page(designer.get("/services/blue-badge/publish")).get_text(" ", strip=True)
    assert "Retention: 4 years after the case is closed → 18 months after the form was sent" in publish


def test_no_automatic_removal(builder_app: Flask, designer: FlaskClient) -> None:
    response = designer.post(URL, data={**_form(designer), "amount": "", "after": "", "completed": "yes"})
    assert response.status_code == 303
    assert _retention(builder_app) == "absent"
    assert "personal data is kept until it is erased on request" in page(designer.get(URL)).get_text(" ", strip=True)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"amount": ""}, "amount", "Enter how many years to keep personal data for"),
        ({"amount": "0"}, "amount", "Enter a whole number of years from 1 to 100"),
        ({"amount": "101"}, "amount", "Enter a whole number of years from 1 to 100"),
        ({"amount": "1201", "unit": "months"}, "amount", "Enter a whole number of months from 1 to 1200"),
        ({"amount": "six"}, "amount", "Enter a whole number of years"),
        ({"amount": "-3"}, "amount", "Enter a whole number of years"),
        ({"amount": "1" * 5000}, "amount", "Enter a whole number of years"),
        ({"amount": "6\x00"}, "amount", "Enter a whole number of years"),
        ({"amount": "6", "unit": "weeks"}, "unit", "Choose years or months"),
        ({"amount": "6", "after": "death"}, "after", "Choose when the period starts"),
    ],
)
def test_what_is_not_a_period_is_refused_where_it_is_typed(
    builder_app: Flask, designer: FlaskClient, values: dict[str, str], field: str, message: str
) -> None:
    response = designer.post(URL, data={**_form(designer), **values})
    assert response.status_code == 400
    soup = page(response)
    assert message in soup.select_one(f"#{field}-error").get_text()  # type: ignore[union-attr]
    assert _retention(builder_app) is None  # no draft was started


def test_a_reviewer_cannot_change_it_and_csrf_is_needed(staff: StaffMembers, designer: FlaskClient) -> None:
    reviewer = staff.sign_in(staff.create(roles=[(staff.department_of("blue-badge"), core.REVIEWER)]))
    assert reviewer.get(URL).status_code == 403
    assert designer.post(URL, data={**_form(designer), "csrf_token": ""}).status_code == 400

"""The edit-question page (issue 17, part F): one form saves every part of a question, a success
banner after each save, relative date rules in plain words, the declaration question type and the
searchable checkbox; bad, oversized and hostile input refused with the typing kept."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime.widgets import long_date
from tests.builder.test_pages import BASE, _doc, _error, browser_form
from tests.builder.test_pages import designer as designer  # noqa: F401  (the fixture)
from tests.conftest import page

DATE_URL = f"{BASE}/questions/when_do_you_want_it_painted"


@pytest.fixture
def with_date(builder_app: Flask, designer: FlaskClient) -> FlaskClient:  # noqa: F811
    """The designer's service with a date question on the first page."""
    response = designer.post(
        f"{BASE}/pages/your-door/questions/new",
        data={
            **browser_form(
                page(designer.get(f"{BASE}/pages/your-door/questions/new?widget=date")),
                "form[method=post]:not(.cf-sign-out)",
            ),
            "label": "When do you want it painted?",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(DATE_URL)
    return designer


def send(client: FlaskClient, url: str, changes: dict[str, str]) -> Any:
    """Post the question's form as a browser would, with ``changes`` typed in it."""
    return client.post(url, data={**browser_form(page(client.get(url))), **changes})


def rule_fields(side: str, amount: str, unit: str = "days", direction: str = "from") -> dict[str, str]:
    return {
        f"date_rule.{side}.amount": amount,
        f"date_rule.{side}.unit": unit,
        f"date_rule.{side}.direction": direction,
    }


def test_a_relative_date_rule_is_saved_and_read_back_in_plain_words(builder_app: Flask, with_date: FlaskClient) -> None:
    data = {**rule_fields("earliest", "10", "working_days"), **rule_fields("latest", "6", "months")}
    assert send(with_date, DATE_URL, data).status_code == 303
    question = _doc(builder_app)["questions"]["when_do_you_want_it_painted"]
    assert question["date_rule"] == {"earliest": {"working_days": 10}, "latest": {"months": 6}}

    soup = page(with_date.get(DATE_URL))
    banner = soup.select_one(".govuk-notification-banner--success")
    assert banner is not None and banner.get("role") == "alert" and "Question saved" in banner.get_text()
    words = soup.select_one(".cf-date-rule-words")
    assert words is not None
    assert words.get_text(" ", strip=True) == (
        "Saved rule: the date must be at least 10 working days from today and no more than 6 months from today."
    )
    assert soup.select_one("#date-rule-earliest-amount")["value"] == "10"  # type: ignore[index]
    assert soup.select_one("#date-rule-earliest-unit option[selected]")["value"] == "working_days"  # type: ignore[index]

    # "Before today" stores a negative amount; an empty amount clears that side.
    data = {**rule_fields("earliest", "1", "weeks", "before"), **rule_fields("latest", "")}
    assert send(with_date, DATE_URL, data).status_code == 303
    assert _doc(builder_app)["questions"]["when_do_you_want_it_painted"]["date_rule"] == {"earliest": {"weeks": -1}}
    cleared = {**rule_fields("earliest", ""), **rule_fields("latest", "")}
    assert send(with_date, DATE_URL, cleared).status_code == 303
    assert "date_rule" not in _doc(builder_app)["questions"]["when_do_you_want_it_painted"]


@pytest.mark.parametrize(
    ("data", "field_id", "message"),
    [
        (rule_fields("earliest", "today + banana"), "date-rule-earliest-amount", "must be a whole number of days"),
        (rule_fields("earliest", "-3"), "date-rule-earliest-amount", "must be a whole number of days"),
        (rule_fields("earliest", "9" * 5000), "date-rule-earliest-amount", "must be a whole number of days"),
        (rule_fields("earliest", "2000", "months"), "date-rule-earliest-amount", "at most 1,200 months"),
        (rule_fields("earliest", "3", "<script>alert(1)</script>"), "date-rule-earliest-unit", "Select days"),
        (rule_fields("latest", "3", "days", "sideways"), "date-rule-latest-direction", "Select from today"),
        (
            {**rule_fields("earliest", "30"), **rule_fields("latest", "2")},
            "date-rule-latest-amount",
            "The latest date must be the same as or after the earliest date",
        ),
    ],
)
def test_nonsense_rules_are_refused_and_everything_typed_is_kept(
    builder_app: Flask, with_date: FlaskClient, data: dict[str, str], field_id: str, message: str
) -> None:
    before = _doc(builder_app)
    response = send(with_date, DATE_URL, {**data, "hint": "Typed before the mistake"})
    assert response.status_code == 400
    soup = page(response)
    assert message in _error(soup, field_id)
    assert soup.select_one(f".govuk-error-summary a[href='#{field_id}']") is not None
    assert soup.select_one("#hint").get_text().strip() == "Typed before the mistake"  # type: ignore[union-attr]
    assert soup.select_one(".govuk-notification-banner--success") is None
    assert _doc(builder_app) == before


def test_trying_the_draft_refuses_a_date_too_soon_naming_the_earliest_date(
    builder_app: Flask, with_date: FlaskClient
) -> None:
    """What the builder saves is what the citizen's page applies (try it runs the citizen runtime)."""
    assert send(with_date, DATE_URL, rule_fields("earliest", "14")).status_code == 303
    doc = _doc(builder_app)
    colour = next(iter(doc["questions"]["what_colour_is_your_door"]["options"]))
    earliest = date.today() + timedelta(days=14)
    too_soon = earliest - timedelta(days=1)
    answer = {
        "what_colour_is_your_door": colour,
        "when_do_you_want_it_painted-day": str(too_soon.day),
        "when_do_you_want_it_painted-month": str(too_soon.month),
        "when_do_you_want_it_painted-year": str(too_soon.year),
    }
    details = f"{BASE}/try/pages/your-details"
    details_form = browser_form(page(with_date.get(details)), "main form[method=post]")
    sent = with_date.post(details, data={**details_form, "full_name": "Jo Bloggs", "email": "jo@example.com"})
    assert sent.status_code == 303
    try_url = f"{BASE}/try/pages/your-door"
    shown = with_date.get(try_url)
    assert shown.status_code == 200, shown.headers.get("Location")
    token = browser_form(page(shown), "main form[method=post]")
    response = with_date.post(try_url, data={**token, **answer})
    assert response.status_code == 200
    soup = page(response)
    expected = f"must be on or after {long_date(earliest)}"  # the question's error name comes first
    link = soup.select_one(".govuk-error-summary a[href='#when-do-you-want-it-painted-day']")
    assert link is not None and link.get_text(strip=True).endswith(expected)
    assert soup.select_one("#when-do-you-want-it-painted-day")["value"] == str(too_soon.day)  # type: ignore[index]
    answer |= {
        "when_do_you_want_it_painted-day": str(earliest.day),
        "when_do_you_want_it_painted-month": str(earliest.month),
        "when_do_you_want_it_painted-year": str(earliest.year),
    }
    assert with_date.post(try_url, data={**token, **answer}).status_code == 303


def test_one_save_keeps_every_part_and_a_stale_form_keeps_the_typing(
    builder_app: Flask, with_date: FlaskClient
) -> None:
    form = browser_form(page(with_date.get(DATE_URL)))
    # A colleague saves first: this form's revision is now stale.
    assert send(with_date, DATE_URL, {"hint": "A colleague's hint"}).status_code == 303
    typed = {"label": "When should we paint it?", **rule_fields("earliest", "5"), "messages.earliest": "Too soon"}
    response = with_date.post(DATE_URL, data={**form, **typed})
    assert response.status_code == 400
    soup = page(response)
    assert "A colleague changed this service" in soup.select_one(".cf-conflict").get_text()  # type: ignore[union-attr]
    assert soup.select_one("#label")["value"] == "When should we paint it?"  # type: ignore[index]
    assert soup.select_one("#date-rule-earliest-amount")["value"] == "5"  # type: ignore[index]
    assert soup.select_one("#messages-earliest")["value"] == "Too soon"  # type: ignore[index]
    assert _doc(builder_app)["questions"]["when_do_you_want_it_painted"]["label"] == "When do you want it painted?"
    # Sent again from the page shown, everything is saved in one go.
    assert with_date.post(DATE_URL, data=browser_form(soup)).status_code == 303
    doc = _doc(builder_app)
    assert doc["questions"]["when_do_you_want_it_painted"]["label"] == "When should we paint it?"
    assert doc["questions"]["when_do_you_want_it_painted"]["date_rule"] == {"earliest": {"days": 5}}
    assert doc["messages"]["when_do_you_want_it_painted"]["earliest"] == "Too soon"


def test_a_post_without_the_csrf_token_saves_nothing(builder_app: Flask, with_date: FlaskClient) -> None:
    before = _doc(builder_app)
    form = {k: v for k, v in browser_form(page(with_date.get(DATE_URL))).items() if k != "csrf_token"}
    assert with_date.post(DATE_URL, data={**form, **rule_fields("earliest", "3")}).status_code == 400
    assert _doc(builder_app) == before


def test_the_page_warns_about_unsaved_changes_and_has_one_default_save(with_date: FlaskClient) -> None:
    soup = page(with_date.get(DATE_URL))
    forms = soup.select("form[method=post]:not(.cf-sign-out)")
    assert [f.has_attr("data-cf-warn-unsaved") for f in forms] == [True]
    buttons = forms[0].select("button[type=submit], button:not([type])")
    assert buttons[0].has_attr("hidden") and buttons[0]["value"] == "save"  # Enter saves, never a choice button


# -- the declaration ------------------------------------------------------------------------------


def test_a_declaration_from_the_palette(builder_app: Flask, designer: FlaskClient) -> None:  # noqa: F811
    new_url = f"{BASE}/pages/your-door/questions/new"
    soup = page(designer.get(new_url))
    assert "declaration" in [i["value"] for i in soup.select("input[name=widget]")]
    soup = page(designer.get(f"{new_url}?widget=declaration"))
    assert soup.select("input[name=required]") == []  # always required: not asked
    assert "question mark" not in soup.get_text()
    response = designer.post(
        new_url,
        data={**browser_form(soup, "form[method=post]:not(.cf-sign-out)"), "label": "Declaration", "required": "no"},
    )
    assert response.status_code == 303
    doc = _doc(builder_app)
    assert doc["questions"]["declaration"]["statement"].startswith("I confirm")
    assert doc["schema"]["properties"]["declaration"] == {"type": "boolean", "const": True}
    assert "declaration" in doc["schema"]["required"]

    url = f"{BASE}/questions/declaration"
    soup = page(designer.get(url))
    assert "question mark" not in soup.get_text()
    assert soup.select("input[name=required]") == []
    assert soup.select_one("label[for=statement]").get_text(strip=True) == "What people confirm"  # type: ignore[union-attr]
    statement = "I confirm that the road will be reopened by 8pm"
    assert send(designer, url, {"statement": statement, "required": "no"}).status_code == 303
    doc = _doc(builder_app)
    assert doc["questions"]["declaration"]["statement"] == statement
    assert "declaration" in doc["schema"]["required"]  # a forged "optional" changes nothing
    preview = page(designer.get(url)).select_one("#cf-preview")
    assert preview is not None and statement in preview.get_text()

    response = send(designer, url, {"statement": "  "})
    assert response.status_code == 400
    assert "Enter the words beside the tick box" in _error(page(response), "statement")
    hostile = "<script>alert(1)</script> I confirm"
    assert send(designer, url, {"statement": hostile}).status_code == 303
    shown = page(designer.get(url))
    assert shown.select("#cf-preview script") == [] and hostile in shown.select_one("#cf-preview").get_text()  # type: ignore[union-attr]


# -- searchable answers -----------------------------------------------------------------------------


def test_the_searchable_checkbox_on_text_like_questions_only(builder_app: Flask, with_date: FlaskClient) -> None:
    text_url = f"{BASE}/questions/full_name"
    label = "Caseworkers can search cases by this answer"
    soup = page(with_date.get(text_url))
    assert soup.select_one("label[for=searchable]").get_text(strip=True) == label  # type: ignore[union-attr]
    assert send(with_date, text_url, {"searchable": "yes"}).status_code == 303
    assert _doc(builder_app)["questions"]["full_name"]["searchable"] is True
    assert page(with_date.get(text_url)).select_one("#searchable").has_attr("checked")  # type: ignore[union-attr]
    form = {k: v for k, v in browser_form(page(with_date.get(text_url))).items() if k != "searchable"}
    assert with_date.post(text_url, data=form).status_code == 303  # unticked
    assert "searchable" not in _doc(builder_app)["questions"]["full_name"]

    assert page(with_date.get(DATE_URL)).select("#searchable") == []
    assert send(with_date, DATE_URL, {"searchable": "yes"}).status_code == 303  # a forged tick is ignored
    assert "searchable" not in _doc(builder_app)["questions"]["when_do_you_want_it_painted"]

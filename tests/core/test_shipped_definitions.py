"""Every shipped definition is valid, and every question on every page renders as GOV.UK markup."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask

from runtime import rendering
from runtime.checker import check_file
from runtime.definition import Definition, read_file
from runtime.validation import compiled
from tests.conftest import DEFINITIONS
from tests.core.sample import sample_doc

SHIPPED = sorted(DEFINITIONS.glob("*.json"))
IDS = [p.stem for p in SHIPPED]

Render = Callable[[dict[str, Any]], BeautifulSoup]


@pytest.mark.parametrize("path", SHIPPED, ids=IDS)
def test_every_shipped_definition_validates(path: Path) -> None:
    assert check_file(path) == []


def test_there_are_shipped_definitions() -> None:
    assert len(SHIPPED) >= 5


@pytest.fixture
def render(app: Flask) -> Iterator[Render]:
    with app.app_context():
        macro = app.jinja_env.get_template("components/question.html").module.render_question  # type: ignore[attr-defined]

        def run(view: dict[str, Any]) -> BeautifulSoup:
            return BeautifulSoup(str(macro(view)), "html.parser")

        yield run


def _text(soup: BeautifulSoup) -> str:
    return " ".join(soup.get_text(" ").split())


def _squash(text: str) -> str:
    return " ".join(text.split())


def _expected_inputs(definition: Definition, name: str) -> list[tuple[str, str]]:
    """(id, name) of the form controls a question must have."""
    widget = definition.widget(name)
    qid = rendering.html_id(name)
    if widget == "date":
        return [(f"{qid}-{part}", f"{name}-{part}") for part in ("day", "month", "year")]
    if widget == "uk-address":
        return [(f.html_id, f.path) for f in definition.fields_of(name)]
    if widget == "add-another":
        return [("add-another", name)]  # its list's "Do you need to add another?"
    return [(qid, name)]  # for radios and checkboxes, the first item: where an error link lands


def _check_question(render: Render, definition: Definition, name: str, as_heading: bool) -> None:
    view = rendering.question_view(definition, name, {}, {}, as_heading)
    soup = render(view)
    q = definition.questions[name]
    text = _text(soup)
    assert _squash(q.label) in text
    if definition.is_optional(name):
        assert _squash(q.label) + " (optional)" in text
    if q.hint:
        assert _squash(q.hint) in text
    for element_id, field_name in _expected_inputs(definition, name):
        control = soup.find(id=element_id)
        assert control is not None, (name, element_id)
        assert control.get("name") == field_name, (name, element_id)
    for option in q.options:
        value = option.value
        assert soup.select_one(f'input[value="{value}"], option[value="{value}"]') is not None, (name, value)
        assert _squash(option.label) in text
    if as_heading:
        heading = soup.select_one("h1")
        assert heading is not None and _squash(q.label) in _text(heading)
    else:
        assert soup.select_one("h1") is None


@pytest.mark.parametrize("path", SHIPPED, ids=IDS)
def test_every_question_of_every_page_renders_with_and_without_errors(render: Render, path: Path) -> None:
    # One test per service, not per page: each test builds the citizen app.
    definition = Definition(read_file(path))
    errors = compiled(definition).validate({})  # every required field is missing
    assert errors
    for page in definition.pages:
        as_heading = len(page.questions) == 1
        for name in page.questions:
            _check_question(render, definition, name, as_heading)
            own = {p: m for p, m in errors.items() if p.split(".")[0] == name}
            if not own:
                continue
            soup = render(rendering.question_view(definition, name, {}, errors, as_heading))
            assert soup.select_one(".govuk-form-group--error") is not None, name
            shown = _text(soup)
            for message in own.values():
                assert message in shown
            for link in rendering.error_summary(definition, own):
                assert soup.select_one(link["href"]) is not None, (name, link)


def _hostile() -> Definition:
    doc = sample_doc()
    doc["questions"]["full_name"]["label"] = 'Your <script>alert("name")</script> name'
    doc["questions"]["full_name"]["hint"] = "<b>bold</b> & more"
    doc["questions"]["pet_kind"]["options"]["cat"]["label"] = "<img src=x onerror=alert(1)>"
    doc["questions"]["notes"]["label"] = "Notes <i>here</i>"
    return Definition(doc)


def test_labels_hints_options_answers_and_errors_are_escaped(render: Render) -> None:
    definition = _hostile()
    html = str(render(rendering.question_view(definition, "full_name", {}, {}, True)))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    html = str(render(rendering.question_view(definition, "pet_kind", {}, {}, True)))
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    # ... and so are answers and error messages shown back
    hostile = '"><script>alert(1)</script>'
    soup = render(
        rendering.question_view(definition, "notes", {"notes": hostile}, {"notes": "<u>Bad</u> notes"}, False)
    )
    assert soup.select("script") == []
    assert soup.select("u") == []
    assert soup.select_one("textarea#notes").get_text() == hostile
    assert "<u>Bad</u> notes" in _text(soup)
    soup = render(rendering.question_view(definition, "full_name", {"full_name": hostile}, {}, False))
    assert soup.select("script") == []
    assert soup.select_one("input#full-name")["value"] == hostile


def test_answers_typed_are_shown_back(render: Render) -> None:
    definition = Definition(sample_doc())
    raw = {"date_of_birth-day": "31", "date_of_birth-month": "2", "date_of_birth-year": "2020"}
    soup = render(rendering.question_view(definition, "date_of_birth", raw, {}, True))
    assert [soup.select_one(f"#date-of-birth-{p}")["value"] for p in ("day", "month", "year")] == ["31", "2", "2020"]
    assert soup.select_one("#date-of-birth-day")["autocomplete"] == "bday-day"
    soup = render(rendering.question_view(definition, "pet_colours", {"pet_colours": ["white"]}, {}, True))
    assert [i["value"] for i in soup.select("input[checked]")] == ["white"]
    soup = render(rendering.question_view(definition, "has_pet", {"has_pet": "no"}, {}, True))
    assert [i["value"] for i in soup.select("input[checked]")] == ["no"]

"""The condition page's help names only comparisons that are offered, and answers are chosen from the
question's choices where it has them (issue 17, part G)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from builder import condition_help, operations
from tests.builder.street_party import street_party
from tests.builder.test_pages import BASE, _doc, _error, _post, designer
from tests.conftest import page

__all__ = ["designer"]  # the fixture: a draft "Paint your front door" (a radios question, then a number)

URL = f"{BASE}/pages/door-size/condition"


def test_the_hint_names_only_what_the_questions_on_offer_allow() -> None:
    doc = street_party()  # yes or no, and text questions: no numbers, no dates, no choices
    names = ["full_name", "need_to_close_the_road"]
    hint = condition_help.value_hint(doc, names)
    assert hint == "Enter yes or no. Leave this empty for ‘is answered’."
    assert "date" not in hint and "number" not in hint and "comma" not in hint
    assert condition_help.value_hint(doc, names, "full_name") == "Leave this empty for ‘is answered’."
    doc = operations.add_question(doc, page="the-road", widget="number", label="How many people will come?")
    assert "a number, like 500" in condition_help.value_hint(doc, [*names, "how_many_people_will_come"])


def test_a_yes_or_no_question_offers_its_own_words() -> None:
    doc = street_party()
    doc["questions"]["need_to_close_the_road"].update(yes_label="Yes, close it", no_label="No, keep it open")
    assert condition_help.value_items(doc, "need_to_close_the_road") == [
        ("yes", "Yes, close it"),
        ("no", "No, keep it open"),
    ]
    assert condition_help.value_items(doc, "full_name") is None


def test_the_page_for_a_number_question_mentions_no_choices_or_dates(designer: FlaskClient) -> None:
    soup = page(designer.get(URL))
    hint = soup.select_one("#clauses-0-value-hint").get_text(" ", strip=True)  # type: ignore[union-attr]
    # Only the door's colour (choices) can be chosen before this page: no number, no date, no yes or no.
    assert "choices" in hint and "date" not in hint and "number" not in hint and "yes or no" not in hint


def test_a_saved_choice_is_picked_from_a_list_and_is_one_of_from_tick_boxes(
    builder_app: Flask, designer: FlaskClient
) -> None:
    options = _doc(builder_app)["questions"]["what_colour_is_your_door"]["options"]
    labels = [o["label"] for o in options.values()]
    data = {"clauses.0.question": "what_colour_is_your_door", "clauses.0.operator": "is", "clauses.0.value": labels[0]}
    assert _post(designer, URL, data).status_code == 303
    soup = page(designer.get(URL))
    select = soup.select_one("select#clauses-0-value")
    assert select is not None
    assert [o.get_text() for o in select.select("option")] == ["Select an answer", *labels]
    assert select.select_one("option[selected]")["value"] == labels[0]  # type: ignore[index]

    several = {**data, "clauses.0.operator": "is_one_of", "clauses.0.value": labels[0]}
    assert _post(designer, URL, several).status_code == 303
    soup = page(designer.get(URL))
    boxes = soup.select("input[type=checkbox][name='clauses.0.value']")
    assert [b["value"] for b in boxes] == labels
    assert [b.has_attr("checked") for b in boxes] == [True] + [False] * (len(labels) - 1)
    # Ticking two posts the field twice; the condition holds either.
    form = {"clauses.0.question": "what_colour_is_your_door", "clauses.0.operator": "is_one_of"}
    response = designer.post(
        URL,
        data=MultiDict(
            [*_hidden_pairs(designer), *form.items(), ("clauses.0.value", labels[0]), ("clauses.0.value", labels[1])]
        ),
    )
    assert response.status_code == 303
    stored = next(p for p in _doc(builder_app)["pages"] if p["id"] == "door-size")["show_if"]
    chosen = stored["properties"]["what_colour_is_your_door"]["enum"]
    assert chosen == [list(options)[0], list(options)[1]]


def _hidden_pairs(client: FlaskClient) -> list[tuple[str, str]]:
    form = page(client.get(URL)).select_one("main form[method=post]")
    assert form is not None
    return [(str(i["name"]), str(i.get("value", ""))) for i in form.select("input[type=hidden]")]


@pytest.mark.parametrize(
    "value",
    ["Not a colour", "<script>alert(1)</script>", "x" * 30_000, "Red, , ,"],
)
def test_an_answer_that_is_not_a_choice_is_refused(builder_app: Flask, designer: FlaskClient, value: str) -> None:
    data: dict[str, Any] = {
        "clauses.0.question": "what_colour_is_your_door",
        "clauses.0.operator": "is",
        "clauses.0.value": value,
    }
    response = _post(designer, URL, data)
    assert response.status_code == 400
    assert _error(page(response), "clauses-0-value")
    assert "<script>alert" not in response.get_data(as_text=True)
    assert "show_if" not in next(p for p in _doc(builder_app)["pages"] if p["id"] == "door-size")


def test_the_workflow_action_page_chooses_from_a_yes_or_no_question(designer: FlaskClient) -> None:
    soup = page(designer.get(f"{BASE}/workflow/actions/new"))
    hint = soup.select_one("#clauses-0-value-hint").get_text(" ", strip=True)  # type: ignore[union-attr]
    assert "a number, like 500" in hint and "choices" in hint and "date" not in hint


def test_a_new_condition_carries_each_questions_choices_for_the_page_to_offer(designer: FlaskClient) -> None:
    """A condition not yet saved has no question chosen, so its answer is a box to type in; each
    question with choices carries them on its option, for app.js to offer once it is chosen (the
    street party's trial: the designer had to type "Yes")."""
    for url in (URL, f"{BASE}/workflow/actions/new"):
        soup = page(designer.get(url))
        assert soup.select_one("input#clauses-0-value") is not None  # nothing chosen yet: typed
        options = {str(o["value"]): o for o in soup.select("select#clauses-0-question option")}
        colour = options["what_colour_is_your_door"]
        labels = [label for label, _ in json.loads(str(colour["data-cf-choices"]))]
        assert labels and all(isinstance(label, str) for label in labels), colour
        assert [shown for _, shown in json.loads(str(colour["data-cf-choices"]))] == labels
        # A question without choices (a number) carries none.
        assert all(not o.has_attr("data-cf-choices") for v, o in options.items() if v != "what_colour_is_your_door")


def test_choices_with_hostile_words_stay_inert_in_the_attribute() -> None:
    doc = street_party()
    doc["questions"]["need_to_close_the_road"].update(yes_label='Yes "<script>alert(1)</script>', no_label="No")
    item = condition_help.row_help(
        doc,
        ["need_to_close_the_road"],
        {"question": "", "operator": "", "value": "", "questions": [{"value": "need_to_close_the_road", "text": "x"}]},
    )["questions"][0]
    assert json.loads(item["attributes"]["data-cf-choices"]) == [
        ["yes", 'Yes "<script>alert(1)</script>'],
        ["no", "No"],
    ]

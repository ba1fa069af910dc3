"""The builder's question types of issue 18: a file upload's limits in plain words, an add-another
section (its names, numbers and the questions about each item, added, edited, reordered and
removed with the same question pages), money limits in pounds, the address lookup tick box;
bad, oversized and hostile input refused next to its field with the typing kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from builder.web import PREFIX
from runtime import db as dbmod
from runtime.checker import check
from runtime.data import drafts
from runtime.limits import MAX_FIELD
from runtime.widgets import WIDGETS
from tests.builder.test_pages import BASE, SERVICE, _doc, _error, _post, browser_form
from tests.builder.test_pages import designer as designer  # noqa: F401  (the fixture)
from tests.conftest import page

FILE_URL = f"{BASE}/questions/upload_a_photo_of_your_door"
LIST_URL = f"{BASE}/questions/people_who_live_with_you"
ITEMS = f"{LIST_URL}/items"


def located(response: Any) -> str:
    """Where a redirect goes, as the test client asks for it (without the builder's mount point)."""
    return str(response.headers["Location"]).removeprefix(PREFIX)


def send(client: FlaskClient, url: str, changes: dict[str, Any]) -> Any:
    """Post the question's form as a browser would, with ``changes`` typed in it."""
    return client.post(url, data={**browser_form(page(client.get(url))), **changes})


def add_page(client: FlaskClient, title: str) -> str:
    response = _post(client, f"{BASE}/pages/new", {"title": title, "intro": ""})
    assert response.status_code == 303
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def add_question(client: FlaskClient, page_id: str, widget: str, label: str) -> Any:
    url = f"{BASE}/pages/{page_id}/questions/new"
    form = browser_form(page(client.get(f"{url}?widget={widget}")), "form[method=post]:not(.cf-sign-out)")
    return client.post(url, data={**form, "label": label})


@pytest.fixture
def with_file(builder_app: Flask, designer: FlaskClient) -> FlaskClient:  # noqa: F811
    response = add_question(designer, add_page(designer, "Photo"), "file", "Upload a photo of your door")
    assert response.status_code == 303 and response.headers["Location"].endswith(FILE_URL)
    return designer


@pytest.fixture
def with_list(builder_app: Flask, designer: FlaskClient) -> FlaskClient:  # noqa: F811
    response = add_question(designer, add_page(designer, "Household"), "add-another", "People who live with you")
    assert response.status_code == 303 and response.headers["Location"].endswith(LIST_URL)
    saved = send(designer, LIST_URL, {"singular": "person", "plural": "people", "max_items": "6"})
    assert saved.status_code == 303
    return designer


def item_names(app: Flask) -> list[str]:
    return list(_doc(app)["questions"]["people_who_live_with_you"]["questions"])


def add_item(client: FlaskClient, widget: str, label: str, required: str = "yes") -> Any:
    url = f"{ITEMS}/new"
    form = browser_form(page(client.get(f"{url}?widget={widget}")), "form[method=post]:not(.cf-sign-out)")
    return client.post(url, data={**form, "label": label, "required": required})


# -- the palette ----------------------------------------------------------------------------------


def test_the_palette_offers_every_new_type_in_plain_words(designer: FlaskClient) -> None:  # noqa: F811
    soup = page(designer.get(f"{BASE}/pages/your-door/questions/new"))
    offered = {str(i["value"]): i.find_next("label").get_text(strip=True) for i in soup.select("input[name=widget]")}
    for name in ("file", "add-another", "time", "money", "uk-phone"):
        assert name in WIDGETS, name
        assert offered[name] == WIDGETS[name].palette_label
    assert offered["file"] == "File upload" and offered["add-another"] == "Add another"


@pytest.mark.parametrize("widget", ["time", "money", "uk-phone"])
def test_the_other_new_types_are_added_and_pass_the_checker(
    builder_app: Flask,
    designer: FlaskClient,  # noqa: F811
    widget: str,
) -> None:
    response = add_question(designer, "door-size", widget, "When can we come?")
    assert response.status_code == 303
    doc = _doc(builder_app)
    name = next(n for n, q in doc["questions"].items() if q.get("widget") == widget)
    assert [p.message for p in check(doc) if name in p.path] == []
    assert page(designer.get(located(response))).select_one("h1").get_text(strip=True) == "Edit question"


def test_a_file_upload_or_a_list_is_alone_on_its_page(builder_app: Flask, designer: FlaskClient) -> None:  # noqa: F811
    before = _doc(builder_app)
    for widget, words in (("file", "A file upload"), ("add-another", "An add-another section")):
        response = add_question(designer, "your-door", widget, "Something")
        assert response.status_code == 400
        assert f"{words} must be the only question on its page" in page(response).select_one("#page").get_text()
    assert _doc(builder_app) == before
    # nothing else joins a page that asks for files
    photo = add_page(designer, "Photo")
    assert add_question(designer, photo, "file", "Upload a photo").status_code == 303
    response = add_question(designer, photo, "text", "Anything else?")
    assert response.status_code == 400
    assert "'Upload a photo', which must be the only question on its page" in page(response).get_text(" ")


# -- a file upload's limits ---------------------------------------------------------------------


def test_file_limits_are_set_in_plain_words(builder_app: Flask, with_file: FlaskClient) -> None:
    soup = page(with_file.get(FILE_URL))
    kinds = {str(i["value"]): i.find_next("label").get_text(strip=True) for i in soup.select("input[name=accept]")}
    assert kinds == {"jpeg": "JPG", "png": "PNG", "pdf": "PDF"}
    response = with_file.post(
        FILE_URL,
        data={
            **{k: v for k, v in browser_form(soup).items() if k != "accept"},
            "max_files": "2",
            "accept": ["pdf", "jpeg"],
            "max_size_mb": "5",
        },
    )
    assert response.status_code == 303
    doc = _doc(builder_app)
    assert doc["questions"]["upload_a_photo_of_your_door"]["accept"] == ["jpeg", "pdf"]
    assert doc["questions"]["upload_a_photo_of_your_door"]["max_size_mb"] == 5
    assert doc["schema"]["properties"]["upload_a_photo_of_your_door"]["maxItems"] == 2
    assert [p for p in check(doc) if "upload_a_photo" in p.path] == []
    words = page(with_file.get(FILE_URL)).select_one(".cf-file-limits-words")
    assert words is not None
    assert words.get_text(" ", strip=True) == "People can upload up to 2 files, each a JPG or PDF, smaller than 5MB."


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"max_files": ""}, "max-files", "Enter how many files people can upload"),
        ({"max_files": "two"}, "max-files", "How many files people can upload must be a whole number, like 100"),
        ({"max_files": "0"}, "max-files", "How many files people can upload must be 1 or more"),
        ({"max_files": "21"}, "max-files", "How many files people can upload must be 20 or less"),
        ({"max_files": "9" * 5000}, "max-files", "How many files people can upload must be a whole number, like 100"),
        ({"accept": []}, "accept", "Select at least one kind of file people can upload"),
        ({"accept": ["exe"]}, "accept", "Select the kinds of file people can upload from the list"),
        ({"accept": ["jpeg", "<script>alert(1)</script>"]}, "accept", "Select the kinds of file"),
        ({"max_size_mb": "51"}, "max-size-mb", "The largest file size in megabytes must be 50 or less"),
        ({"max_size_mb": "-1"}, "max-size-mb", "The largest file size in megabytes must be 1 or more"),
        ({"max_size_mb": ""}, "max-size-mb", "Enter the largest file size in megabytes"),
    ],
)
def test_bad_file_limits_are_refused_next_to_their_field(
    builder_app: Flask, with_file: FlaskClient, changes: dict[str, Any], field_id: str, message: str
) -> None:
    before = _doc(builder_app)
    soup = page(with_file.get(FILE_URL))
    form = {k: v for k, v in browser_form(soup).items() if k != "accept"}
    response = with_file.post(FILE_URL, data={**form, "accept": ["jpeg"], **changes})
    assert response.status_code == 400
    shown = page(response)
    assert message in _error(shown, f"{field_id}" if field_id != "accept" else "accept")
    summary = shown.select_one(".govuk-error-summary a")
    assert summary is not None and summary["href"] == f"#{'accept' if field_id == 'accept' else field_id}"
    assert _doc(builder_app) == before
    typed = shown.select_one("#max-files")
    assert typed is not None and typed["value"] == changes.get("max_files", "1")[:MAX_FIELD]
    assert "<script>" not in str(shown.select_one("form[data-cf-warn-unsaved]"))


def test_the_file_limits_need_a_file_question(builder_app: Flask, designer: FlaskClient) -> None:  # noqa: F811
    url = f"{BASE}/questions/how_wide_is_your_door"
    before = _doc(builder_app)
    # a number question's form has no file fields: posting them anyway changes nothing
    response = send(designer, url, {"max_files": "3", "accept": "pdf", "max_size_mb": "5"})
    assert response.status_code == 303
    assert _doc(builder_app)["questions"] == before["questions"]


# -- an add-another section ---------------------------------------------------------------------


def test_a_list_has_its_names_numbers_and_the_answer_naming_each_item(
    builder_app: Flask, with_list: FlaskClient
) -> None:
    assert add_item(with_list, "radios", "How are they related to you?").status_code == 303
    response = send(with_list, LIST_URL, {"min_items": "2", "max_items": "8", "summary": "how_are_they_related_to_you"})
    assert response.status_code == 303
    doc = _doc(builder_app)
    question = doc["questions"]["people_who_live_with_you"]
    prop = doc["schema"]["properties"]["people_who_live_with_you"]
    assert (question["singular"], question["plural"], question["summary"]) == (
        "person",
        "people",
        "how_are_they_related_to_you",
    )
    assert (prop["minItems"], prop["maxItems"]) == (2, 8)
    assert [p for p in check(doc) if "people_who_live_with_you" in p.path] == []
    soup = page(with_list.get(LIST_URL))
    assert soup.select_one("#items").get_text(strip=True) == "Questions about each person"
    assert soup.select_one("#summary option[selected]")["value"] == "how_are_they_related_to_you"  # type: ignore[index]
    # back to the first question naming each item
    assert send(with_list, LIST_URL, {"summary": ""}).status_code == 303
    assert "summary" not in _doc(builder_app)["questions"]["people_who_live_with_you"]


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"singular": ""}, "singular", "Enter what one item is called"),
        ({"plural": "   "}, "plural", "Enter what several items are called"),
        ({"singular": "x" * 41}, "singular", "What one item is called must be 40 characters or less"),
        ({"max_items": ""}, "max-items", "Enter the most people that can be added"),
        ({"max_items": "51"}, "max-items", "must be 50 or less"),
        ({"max_items": "1e3"}, "max-items", "must be a whole number"),
        ({"min_items": "7"}, "min-items", "The fewest people must be the same as or less than the most"),
        ({"min_items": "-2"}, "min-items", "must be 0 or more"),
        ({"summary": "not_a_question"}, "summary", "Select one of the questions asked about each item"),
    ],
)
def test_bad_list_settings_are_refused_next_to_their_field(
    builder_app: Flask, with_list: FlaskClient, changes: dict[str, str], field_id: str, message: str
) -> None:
    before = _doc(builder_app)
    response = send(with_list, LIST_URL, changes)
    assert response.status_code == 400
    shown = page(response)
    assert message in _error(shown, field_id)
    assert _doc(builder_app) == before
    if field_id != "summary":
        typed = shown.select_one(f"#{field_id}")
        assert typed is not None and typed["value"] == next(iter(changes.values()))


def test_questions_about_each_item_are_added_edited_reordered_and_removed(
    builder_app: Flask, with_list: FlaskClient
) -> None:
    # the palette for an item offers neither a file upload nor another list
    offered = {str(i["value"]) for i in page(with_list.get(f"{ITEMS}/new")).select("input[name=widget]")}
    assert "file" not in offered and "add-another" not in offered and {"text", "date", "radios"} <= offered
    response = add_item(with_list, "date", "Date of birth", required="no")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{ITEMS}/date_of_birth")
    assert add_item(with_list, "radios", "How are they related to you?").status_code == 303
    assert item_names(builder_app) == ["name", "date_of_birth", "how_are_they_related_to_you"]

    # edited with the same question form: text, hint, rules, a choice, error messages
    url = f"{ITEMS}/name"
    soup = page(with_list.get(url))
    assert soup.select_one(".govuk-caption-l").get_text(strip=True) == (
        "Short text: about each person in People who live with you"
    )
    assert soup.select_one(".govuk-back-link")["href"].endswith(f"{LIST_URL}#items")  # type: ignore[index]
    assert soup.select_one("input[name=searchable]") is None  # nobody searches cases by one person's answer
    response = send(
        with_list,
        url,
        {
            "label": "Full name",
            "hint": "As on their passport",
            "max_length": "80",
            "messages.required": "Enter their name",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    choices = f"{ITEMS}/how_are_they_related_to_you"
    assert send(with_list, choices, {"new_choice.label": "Partner"}).status_code == 303
    doc = _doc(builder_app)
    items = doc["schema"]["properties"]["people_who_live_with_you"]["items"]
    asked = doc["questions"]["people_who_live_with_you"]["questions"]
    assert asked["name"]["label"] == "Full name" and asked["name"]["hint"] == "As on their passport"
    assert items["properties"]["name"]["maxLength"] == 80
    assert "Partner" in [o["label"] for o in asked["how_are_they_related_to_you"]["options"].values()]
    assert items["required"] == ["name", "how_are_they_related_to_you"]  # date of birth is optional
    assert doc["messages"]["people_who_live_with_you.name"] == {"required": "Enter their name"}
    assert [p for p in check(doc) if "people_who_live_with_you" in p.path] == []

    # reordered with the move buttons on the list's page (small forms: no JavaScript needed)
    listing = page(with_list.get(LIST_URL))
    labels = [h.get_text(strip=True) for h in listing.select(".cf-item-question h3")]
    assert labels == ["Full name", "Date of birth", "How are they related to you?"]
    response = _post(with_list, f"{ITEMS}/how_are_they_related_to_you/move", {"direction": "up"}, form_url=LIST_URL)
    assert response.status_code == 303
    assert item_names(builder_app) == ["name", "how_are_they_related_to_you", "date_of_birth"]
    assert list(_doc(builder_app)["schema"]["properties"]["people_who_live_with_you"]["items"]["properties"]) == [
        "name",
        "how_are_they_related_to_you",
        "date_of_birth",
    ]

    # removed after a question
    delete = f"{ITEMS}/date_of_birth/delete"
    soup = page(with_list.get(delete))
    assert soup.select_one("h1").get_text(strip=True) == (
        "Are you sure you want to delete the question 'Date of birth' about each person?"
    )
    assert _post(with_list, delete, {"confirm": "no"}).status_code == 303
    assert "date_of_birth" in item_names(builder_app)
    assert _post(with_list, delete, {}).status_code == 400  # neither yes nor no
    assert _post(with_list, delete, {"confirm": "yes"}).status_code == 303
    assert item_names(builder_app) == ["name", "how_are_they_related_to_you"]
    doc = _doc(builder_app)
    assert "date_of_birth" not in doc["schema"]["properties"]["people_who_live_with_you"]["items"]["properties"]


def test_the_last_question_about_each_item_stays(builder_app: Flask, with_list: FlaskClient) -> None:
    before = _doc(builder_app)
    response = _post(with_list, f"{ITEMS}/name/delete", {"confirm": "yes"})
    assert response.status_code == 400
    assert "Each person needs at least one question" in page(response).get_text(" ")
    assert _doc(builder_app) == before
    # and the list page offers no delete link for it
    assert page(with_list.get(LIST_URL)).select_one(f"a[href$='{ITEMS}/name/delete']") is None


def test_an_item_question_a_condition_reads_is_not_deleted(builder_app: Flask, with_list: FlaskClient) -> None:
    assert add_item(with_list, "radios", "How are they related to you?").status_code == 303
    # IT writes a condition in the file: show the door size page when anyone is a partner
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id="front-doors")
        assert draft is not None
        doc = copy.deepcopy(draft.definition)
        page_of = next(p for p in doc["pages"] if p["id"] == "door-size")
        page_of["show_if"] = {
            "properties": {
                "people_who_live_with_you": {
                    "contains": {
                        "properties": {"how_are_they_related_to_you": {"const": "option_1"}},
                        "required": ["how_are_they_related_to_you"],
                    }
                }
            },
            "required": ["people_who_live_with_you"],
        }
        draft.definition = doc
        s.add(draft)
        s.commit()
    before = _doc(builder_app)
    response = _post(with_list, f"{ITEMS}/how_are_they_related_to_you/delete", {"confirm": "yes"})
    assert response.status_code == 400
    assert "You cannot delete 'How are they related to you?' because the condition on page 'Door size' uses it" in page(
        response
    ).get_text(" ")
    assert _doc(builder_app) == before


def test_an_item_of_a_file_type_is_refused_even_when_posted(builder_app: Flask, with_list: FlaskClient) -> None:
    before = _doc(builder_app)
    token = browser_form(page(with_list.get(f"{ITEMS}/new?widget=text")), "form[method=post]:not(.cf-sign-out)")
    for widget in ("file", "add-another", "no-such-type", ""):
        response = with_list.post(f"{ITEMS}/new", data={**token, "widget": widget, "label": "Their photo"})
        assert response.status_code == 400
        summary = page(response).select_one(".govuk-error-summary")
        assert summary is not None and "Select" in summary.get_text(" ")
    assert _doc(builder_app) == before
    assert with_list.get(f"{ITEMS}/new?widget=file").status_code == 400


def test_unknown_items_and_questions_that_are_not_lists_are_not_found(with_list: FlaskClient) -> None:
    assert with_list.get(f"{ITEMS}/no_such_item").status_code == 404
    assert with_list.get(f"{ITEMS}/no_such_item/delete").status_code == 404
    assert with_list.get(f"{BASE}/questions/how_wide_is_your_door/items/new").status_code == 404
    assert with_list.get(f"{BASE}/questions/no_such_question/items/name").status_code == 404
    assert with_list.get(f"{ITEMS}/..%2F..%2Fetc").status_code == 404


def test_item_posts_without_the_csrf_token_save_nothing(builder_app: Flask, with_list: FlaskClient) -> None:
    before = _doc(builder_app)
    form = {k: v for k, v in browser_form(page(with_list.get(f"{ITEMS}/name"))).items() if k != "csrf_token"}
    assert with_list.post(f"{ITEMS}/name", data={**form, "label": "Changed"}).status_code == 400
    assert with_list.post(f"{ITEMS}/new", data={"widget": "text", "label": "New", "revision": "9"}).status_code == 400
    assert with_list.post(f"{ITEMS}/name/move", data={"direction": "down"}).status_code == 400
    assert with_list.post(f"{ITEMS}/name/delete", data={"confirm": "yes"}).status_code == 400
    assert with_list.post(LIST_URL, data={"singular": "x"}).status_code == 400
    assert _doc(builder_app) == before


def test_hostile_text_about_each_item_is_kept_as_typed_and_escaped(builder_app: Flask, with_list: FlaskClient) -> None:
    hostile = '<script>alert("x")</script>'
    assert send(with_list, f"{ITEMS}/name", {"label": hostile}).status_code == 303
    assert send(with_list, LIST_URL, {"singular": hostile}).status_code == 303
    assert item_names(builder_app) == ["name"]
    raw = with_list.get(LIST_URL).get_data(as_text=True)
    assert hostile not in raw and "&lt;script&gt;" in raw


# -- money, address lookup -----------------------------------------------------------------------


def test_money_limits_are_typed_in_pounds_and_stored_in_pence(builder_app: Flask, designer: FlaskClient) -> None:  # noqa: F811
    response = add_question(designer, "door-size", "money", "How much did your door cost?")
    assert response.status_code == 303
    url = located(response)
    assert send(designer, url, {"min_value": "£1", "max_value": "£1,200.50"}).status_code == 303
    prop = _doc(builder_app)["schema"]["properties"]["how_much_did_your_door_cost"]
    assert (prop["minimum"], prop["maximum"]) == (100, 120050)
    soup = page(designer.get(url))
    assert soup.select_one("#max-value")["value"] == "1200.50"  # type: ignore[index]
    for typed, message in (
        ("", "Enter the largest amount people can give"),
        ("12.5p", "The largest amount must be an amount in pounds, like 1,200 or 12.50"),
        ("0.50", "The largest amount must be the same as or more than the smallest amount"),
        ("9" * 20, "The largest amount must be"),
    ):
        response = send(designer, url, {"max_value": typed})
        assert response.status_code == 400, typed
        assert message in _error(page(response), "max-value")
    assert _doc(builder_app)["schema"]["properties"]["how_much_did_your_door_cost"]["maximum"] == 120050


def test_an_address_can_be_found_by_postcode(builder_app: Flask, designer: FlaskClient) -> None:  # noqa: F811
    response = add_question(designer, "door-size", "uk-address", "What is the address of the door?")
    url = located(response)
    name = url.rsplit("/", 1)[-1]
    soup = page(designer.get(url))
    box = soup.select_one("input[name=lookup]")
    assert box is not None and not box.has_attr("checked")
    assert send(designer, url, {"lookup": "yes"}).status_code == 303
    assert _doc(builder_app)["questions"][name]["lookup"] is True
    assert page(designer.get(url)).select_one("input[name=lookup]").has_attr("checked")  # type: ignore[union-attr]
    form = {k: v for k, v in browser_form(page(designer.get(url))).items() if k != "lookup"}
    assert designer.post(url, data=form).status_code == 303
    assert "lookup" not in _doc(builder_app)["questions"][name]


# -- conditions on a list: how many items, and whether any item has an answer --------------------


@pytest.fixture
def with_relationship(builder_app: Flask, with_list: FlaskClient) -> FlaskClient:
    """The list with a choice question about each person (Partner, Child) and a page after it."""
    assert add_item(with_list, "radios", "How are they related to you?").status_code == 303
    url = f"{ITEMS}/how_are_they_related_to_you"
    changes = {"choices.option_1.label": "Partner", "choices.option_2.label": "Child"}
    assert send(with_list, url, changes).status_code == 303
    add_page(with_list, "Bedrooms")
    return with_list


def test_a_condition_on_any_item_s_answer_is_set_and_read_back(
    builder_app: Flask, with_relationship: FlaskClient
) -> None:
    url = f"{BASE}/pages/bedrooms/condition"
    soup = page(with_relationship.get(url))
    offered = [str(o["value"]) for o in soup.select("#clauses-0-item option")]
    assert offered == ["", "name", "how_are_they_related_to_you"]
    assert "has any item where" in [o.get_text(strip=True) for o in soup.select("#clauses-0-operator option")]
    data = {
        "clauses.0.question": "people_who_live_with_you",
        "clauses.0.operator": "any_item",
        "clauses.0.item": "how_are_they_related_to_you",
        "clauses.0.item_operator": "is",
        "clauses.0.value": "Partner",
    }
    assert _post(with_relationship, url, data).status_code == 303
    stored = next(p for p in _doc(builder_app)["pages"] if p["id"] == "bedrooms")["show_if"]
    assert stored == {
        "properties": {
            "people_who_live_with_you": {
                "contains": {
                    "properties": {"how_are_they_related_to_you": {"const": "option_1"}},
                    "required": ["how_are_they_related_to_you"],
                }
            }
        },
        "required": ["people_who_live_with_you"],
    }
    words = page(with_relationship.get(f"{BASE}/pages/bedrooms/")).select_one(".cf-condition")
    assert words is not None
    text = words.get_text(" ", strip=True)
    # The item question has no short label: quoted whole, as a page's own question is.
    assert text == "Show this page only if any person's answer to 'How are they related to you?' is Partner"
    # read back into the same fields, the answer chosen from the item question's choices
    soup = page(with_relationship.get(url))
    assert soup.select_one("#clauses-0-item option[selected]")["value"] == "how_are_they_related_to_you"  # type: ignore[index]
    assert soup.select_one("#clauses-0-item-operator option[selected]")["value"] == "is"  # type: ignore[index]
    assert soup.select_one("select#clauses-0-value option[selected]")["value"] == "Partner"  # type: ignore[index]
    assert [p for p in check(_doc(builder_app)) if "bedrooms" in p.path or "show_if" in p.path] == []


def test_a_condition_on_how_many_items_were_added(builder_app: Flask, with_relationship: FlaskClient) -> None:
    url = f"{BASE}/pages/bedrooms/condition"
    data = {"clauses.0.question": "people_who_live_with_you", "clauses.0.operator": "at_least", "clauses.0.value": "2"}
    assert _post(with_relationship, url, data).status_code == 303
    stored = next(p for p in _doc(builder_app)["pages"] if p["id"] == "bedrooms")["show_if"]
    assert stored == {
        "properties": {"people_who_live_with_you": {"minItems": 2}},
        "required": ["people_who_live_with_you"],
    }
    words = page(with_relationship.get(f"{BASE}/pages/bedrooms/")).select_one(".cf-condition")
    assert words is not None and "2 or more people added" in words.get_text()


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"clauses.0.item": ""}, "clauses-0-item", "Select a question about each item of this list"),
        ({"clauses.0.item": "full_name"}, "clauses-0-item", "Select a question about each item of this list"),
        ({"clauses.0.item_operator": "before"}, "clauses-0-item-operator", "Select how to compare the answer"),
        ({"clauses.0.value": "Lodger"}, "clauses-0-value", ""),
        ({"clauses.0.operator": "at_least", "clauses.0.value": "none"}, "clauses-0-value", "Enter a whole number"),
    ],
)
def test_bad_conditions_on_a_list_are_refused_next_to_their_field(
    builder_app: Flask, with_relationship: FlaskClient, changes: dict[str, str], field_id: str, message: str
) -> None:
    url = f"{BASE}/pages/bedrooms/condition"
    before = _doc(builder_app)
    data = {
        "clauses.0.question": "people_who_live_with_you",
        "clauses.0.operator": "any_item",
        "clauses.0.item": "how_are_they_related_to_you",
        "clauses.0.item_operator": "is",
        "clauses.0.value": "Partner",
        **changes,
    }
    response = _post(with_relationship, url, data)
    assert response.status_code == 400
    assert message in _error(page(response), field_id)
    assert _doc(builder_app) == before


def test_routing_on_any_item_s_answer(builder_app: Flask, with_relationship: FlaskClient) -> None:
    target = add_page(with_relationship, "Partner's income")
    url = f"{BASE}/pages/household/routing"
    data = {
        "clauses.0.question": "people_who_live_with_you",
        "clauses.0.operator": "any_item",
        "clauses.0.item": "how_are_they_related_to_you",
        "clauses.0.item_operator": "is_not",
        "clauses.0.value": "Partner",
        "goto": target,
    }
    response = _post(with_relationship, url, data)
    assert response.status_code == 303, page(response).select_one(".govuk-error-summary")
    rule = next(p for p in _doc(builder_app)["pages"] if p["id"] == "household")["next"][0]
    assert rule["goto"] == target
    contains = rule["if"]["properties"]["people_who_live_with_you"]["contains"]
    assert contains["required"] == ["how_are_they_related_to_you"]


def test_a_choice_about_each_item_a_condition_uses_stays(builder_app: Flask, with_relationship: FlaskClient) -> None:
    url = f"{BASE}/pages/bedrooms/condition"
    data = {
        "clauses.0.question": "people_who_live_with_you",
        "clauses.0.operator": "any_item",
        "clauses.0.item": "how_are_they_related_to_you",
        "clauses.0.item_operator": "is",
        "clauses.0.value": "Partner",
    }
    assert _post(with_relationship, url, data).status_code == 303
    before = _doc(builder_app)
    item_url = f"{ITEMS}/how_are_they_related_to_you"
    response = send(with_relationship, item_url, {"action": "remove:option_1"})
    assert response.status_code == 400
    assert "You cannot remove 'Partner' because the condition on page 'Bedrooms' uses it" in page(response).get_text(
        " "
    )
    assert _doc(builder_app) == before
    # the other choice goes
    assert send(with_relationship, item_url, {"action": "remove:option_2"}).status_code == 303
    options = _doc(builder_app)["questions"]["people_who_live_with_you"]["questions"]["how_are_they_related_to_you"]
    assert list(options["options"]) == ["option_1"]


def test_oversized_posts_are_cut_and_refused_with_nothing_saved(builder_app: Flask, with_file: FlaskClient) -> None:
    # a thousand ticked kinds: each kind once, in the list's order
    form = {k: v for k, v in browser_form(page(with_file.get(FILE_URL))).items() if k != "accept"}
    response = with_file.post(FILE_URL, data={**form, "accept": ["pdf", "png"] * 500})
    assert response.status_code == 303
    assert _doc(builder_app)["questions"]["upload_a_photo_of_your_door"]["accept"] == ["png", "pdf"]
    # a question about each item with a label far over the limit
    add_question(with_file, add_page(with_file, "Household"), "add-another", "People who live with you")
    before = _doc(builder_app)
    url = f"{ITEMS}/new"
    token = browser_form(page(with_file.get(f"{url}?widget=text")), "form[method=post]:not(.cf-sign-out)")
    response = with_file.post(url, data={**token, "label": "x" * 30_000})
    assert response.status_code == 400
    assert "characters or less" in _error(page(response), "label")
    assert _doc(builder_app) == before


def test_the_answer_naming_each_item_is_kept_when_it_cannot_be_offered(
    builder_app: Flask, with_list: FlaskClient
) -> None:
    """Items IT wrote as a $ref: the builder cannot list them, so it offers no choice of the answer
    naming each item, and saving the question's other settings keeps the one the file has."""
    assert add_item(with_list, "text", "Their full name").status_code == 303
    assert add_item(with_list, "radios", "How are they related to you?").status_code == 303
    assert send(with_list, LIST_URL, {"summary": "how_are_they_related_to_you"}).status_code == 303
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None and draft.updated_by is not None
        doc = copy.deepcopy(draft.definition)
        prop = doc["schema"]["properties"]["people_who_live_with_you"]
        doc["schema"].setdefault("$defs", {})["person"] = prop["items"]
        prop["items"] = {"$ref": "#/$defs/person"}
        drafts.save_draft(session=s, draft=draft, doc=doc, expected_revision=draft.revision, user_id=draft.updated_by)
        s.commit()
    assert [p for p in check(_doc(builder_app)) if "people_who_live_with_you" in p.path] == []
    assert page(with_list.get(LIST_URL)).select_one("select#summary") is None
    assert send(with_list, LIST_URL, {"label": "Who lives with you now?"}).status_code == 303
    question = _doc(builder_app)["questions"]["people_who_live_with_you"]
    assert (question["label"], question["summary"]) == ("Who lives with you now?", "how_are_they_related_to_you")

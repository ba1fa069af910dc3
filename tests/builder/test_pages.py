"""The pages and questions screens: pages, questions from the palette, choices, conditions,
routing and the live preview, all without JavaScript, through the shared edit flow."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from builder import operations
from runtime import db as dbmod
from runtime import staff as core
from runtime.data import drafts
from runtime.widgets import WIDGETS
from tests.builder.conftest import StaffMembers
from tests.conftest import page

SERVICE = "front-doors"
BASE = f"/services/{SERVICE}"


def _doc(app: Flask, service_id: str = SERVICE) -> dict[str, Any]:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=service_id)
        assert draft is not None
        return dict(draft.definition)


@pytest.fixture
def designer(builder_app: Flask, staff: StaffMembers) -> FlaskClient:
    """A designer in Highways, with a draft service 'front-doors' of two pages."""
    department = staff.department("Highways")
    user = staff.create(roles=[(department, core.DESIGNER)])
    doc = operations.new_blank_service(
        id=SERVICE, title="Paint your front door", reference_prefix="FD", department="Highways"
    )
    doc = operations.add_page(doc, title="Your door")
    doc = operations.add_question(doc, page="your-door", widget="radios", label="What colour is your door?")
    doc = operations.add_page(doc, title="Door size")
    doc = operations.add_question(doc, page="door-size", widget="number", label="How wide is your door?")
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        assert user.id is not None
        drafts.create_draft(session=s, doc=doc, department_id=department, user_id=user.id)
        s.commit()
    return staff.sign_in(user)


def _form(client: FlaskClient, url: str, index: int = 0) -> dict[str, str]:
    """The hidden fields (CSRF token, revision) of the page's index-th posting form."""
    forms = page(client.get(url)).select("form[method=post]:not(.cf-sign-out)")
    assert forms, f"no form on {url}"
    return {str(i["name"]): str(i.get("value", "")) for i in forms[index].select("input[type=hidden]")}


def _post(client: FlaskClient, url: str, data: dict[str, Any], *, form_url: str | None = None, index: int = 0) -> Any:
    hidden = _form(client, form_url or url, index)
    return client.post(url, data={**hidden, **data})


def _token(client: FlaskClient) -> str:
    field = page(client.get("/")).select_one("input[name=csrf_token]")
    assert field is not None
    return str(field["value"])


def _error(soup: BeautifulSoup, field_id: str) -> str:
    """The GOV.UK error message next to a field (the form group around the element with that id)."""
    element = soup.select_one(f"#{field_id}")
    assert element is not None, field_id
    group = element.find_parent(class_="govuk-form-group") or element.parent
    message = group.select_one(".govuk-error-message") if group else None
    assert message is not None, f"no error next to #{field_id}"
    return message.get_text(" ", strip=True)


def browser_form(soup: BeautifulSoup, selector: str = "form[data-cf-warn-unsaved]") -> dict[str, str]:
    """What a browser posts for a form, before any button's name and value: every named input,
    select and textarea with its value (checked boxes only)."""
    form = soup.select_one(selector)
    assert form is not None, selector
    data: dict[str, str] = {}
    for field in form.select("input[name], textarea[name], select[name]"):
        name = str(field["name"])
        if field.name == "textarea":
            data[name] = field.get_text()
        elif field.name == "select":
            chosen = field.select_one("option[selected]") or field.select_one("option")
            data[name] = str(chosen.get("value", "")) if chosen is not None else ""
        elif field.get("type") in ("radio", "checkbox"):
            if field.has_attr("checked"):
                data[name] = str(field.get("value", "on"))
        elif field.get("type") != "submit":
            data[name] = str(field.get("value", ""))
    return data


def _titles(client: FlaskClient) -> list[str]:
    return [t.get_text(strip=True) for t in page(client.get(f"{BASE}/pages")).select(".cf-page-title")]


def test_add_rename_and_list_pages(builder_app: Flask, designer: FlaskClient) -> None:
    response = _post(designer, f"{BASE}/pages/new", {"title": "Front door", "intro": "One.\n\nTwo."})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{BASE}/pages/front-door/")
    assert _titles(designer) == ["Your details", "Your door", "Door size", "Front door"]

    url = f"{BASE}/pages/front-door/"
    response = _post(designer, url, {"title": "Your front door", "intro": "One."})
    assert response.status_code == 303
    soup = page(designer.get(url))
    assert soup.select_one("#title")["value"] == "Your front door"  # type: ignore[index]
    saved = next(p for p in _doc(builder_app)["pages"] if p["id"] == "front-door")
    assert saved["title"] == "Your front door" and saved["intro"] == ["One."]


def test_reorder_pages_without_javascript(designer: FlaskClient) -> None:
    listing = page(designer.get(f"{BASE}/pages"))
    buttons = listing.select("#page-door-size form button")
    assert [b.get_text(" ", strip=True).split(" page")[0] for b in buttons] == ["Move up"]
    move = f"{BASE}/pages/door-size/move"
    assert _post(designer, move, {"direction": "up"}, form_url=f"{BASE}/pages").status_code == 303
    assert _titles(designer) == ["Your details", "Door size", "Your door"]
    assert _post(designer, move, {"direction": "down"}, form_url=f"{BASE}/pages").status_code == 303
    assert _titles(designer) == ["Your details", "Your door", "Door size"]


def test_delete_page_asks_first(builder_app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/pages/door-size/delete"
    soup = page(designer.get(url))
    heading = soup.select_one("legend h1")
    assert heading is not None and "Are you sure you want to delete page Door size?" in heading.get_text()
    assert "How wide is your door?" in soup.get_text()
    response = _post(designer, url, {})
    assert response.status_code == 400
    assert "Select yes" in _error(page(response), "confirm")
    assert _post(designer, url, {"confirm": "no"}).status_code == 303
    assert "Door size" in _titles(designer)
    assert _post(designer, url, {"confirm": "yes"}).status_code == 303
    assert _titles(designer) == ["Your details", "Your door"]
    assert "how_wide_is_your_door" not in str(_doc(builder_app)["questions"])


@pytest.mark.parametrize("widget", list(WIDGETS))
def test_add_each_question_type_from_the_palette(builder_app: Flask, designer: FlaskClient, widget: str) -> None:
    target = "door-size"
    if widget in operations.ALONE_ON_PAGE:  # a file upload or a list is asked on a page of its own
        assert _post(designer, f"{BASE}/pages/new", {"title": "On its own", "intro": ""}).status_code == 303
        target = "on-its-own"
    url = f"{BASE}/pages/{target}/questions/new"
    palette = page(designer.get(url))
    assert widget in [i["value"] for i in palette.select("input[name=widget]")]
    label = palette.select_one(f"label[for={palette.select_one(f'input[value={widget}]')['id']}]")  # type: ignore[index]
    assert label is not None and label.get_text(strip=True) == WIDGETS[widget].palette_label
    form_url = f"{url}?widget={widget}"
    assert page(designer.get(form_url)).select_one("input[name=widget]")["value"] == widget  # type: ignore[index]
    response = _post(
        designer, url, {"widget": widget, "label": "What is the answer?", "required": "no"}, form_url=form_url
    )
    assert response.status_code == 303, page(response).select_one(".govuk-error-summary")
    doc = _doc(builder_app)
    name = next(p for p in doc["pages"] if p["id"] == target)["questions"][-1]
    assert doc["questions"][name]["widget"] == widget
    assert response.headers["Location"].endswith(f"{BASE}/questions/{name}")
    assert designer.get(f"{BASE}/questions/{name}").status_code == 200


def test_edit_question_text_hint_required_and_validation(builder_app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/questions/how_wide_is_your_door"
    data = {
        "label": "How wide is your door?",
        "hint": "In centimetres",
        "required": "no",
        "min_value": "50",
        "max_value": "300",
        "whole_numbers": "yes",
        "messages.maximum": "Your door must be 300cm wide or less",
    }
    assert _post(designer, url, data).status_code == 303
    doc = _doc(builder_app)
    assert doc["questions"]["how_wide_is_your_door"]["hint"] == "In centimetres"
    prop = doc["schema"]["properties"]["how_wide_is_your_door"]
    assert (prop["minimum"], prop["maximum"], prop["type"]) == (50, 300, "integer")
    assert "how_wide_is_your_door" not in doc["schema"].get("required", [])
    assert doc["messages"]["how_wide_is_your_door"]["maximum"] == "Your door must be 300cm wide or less"
    soup = page(designer.get(url))
    assert soup.select_one("#min-value")["value"] == "50"  # type: ignore[index]
    assert soup.select_one("#required-2").has_attr("checked")  # type: ignore[union-attr]

    text_url = f"{BASE}/questions/full_name"
    assert (
        _post(
            designer, text_url, {"label": "What is your full name?", "min_length": "2", "max_length": "80"}
        ).status_code
        == 303
    )
    assert _doc(builder_app)["schema"]["properties"]["full_name"]["maxLength"] == 80


def test_choices_add_rename_reorder_remove(builder_app: Flask, designer: FlaskClient) -> None:
    """Choices are part of the question's one form: each button saves everything typed with it."""
    url = f"{BASE}/questions/what_colour_is_your_door"

    def labels() -> list[str]:
        return [o["label"] for o in _doc(builder_app)["questions"]["what_colour_is_your_door"]["options"].values()]

    def send(changes: dict[str, str]) -> Any:
        return designer.post(url, data={**browser_form(page(designer.get(url))), **changes})

    before = labels()
    add = {"new_choice.label": "Blue", "new_choice.hint": "Any shade", "action": "save"}
    assert send(add).status_code == 303
    assert labels() == [*before, "Blue"]
    options = _doc(builder_app)["questions"]["what_colour_is_your_door"]["options"]
    value = next(v for v, o in options.items() if o["label"] == "Blue")
    assert options[value]["hint"] == "Any shade"

    # Moving a choice saves the question text typed beside it, and renames another choice too.
    first = next(iter(options))
    moving = {"action": f"up:{value}", "label": "Which colour is your door?", f"choices.{first}.label": "Red"}
    assert send(moving).status_code == 303
    assert labels()[-2] == "Blue" and labels()[0] == "Red"
    assert _doc(builder_app)["questions"]["what_colour_is_your_door"]["label"] == "Which colour is your door?"
    banner = page(designer.get(url)).select_one(".govuk-notification-banner--success")
    assert banner is not None and "choice ‘Blue’ moved up" in banner.get_text()
    assert page(designer.get(url)).select_one(".govuk-notification-banner--success") is None  # shown once

    duplicate = {"new_choice.label": "rED", f"choices.{value}.label": "Dark blue", "hint": "Typed, kept"}
    response = send(duplicate)
    assert response.status_code == 400
    soup = page(response)
    assert "already a choice" in _error(soup, "new-choice-label")
    assert soup.select_one("#new-choice-label")["value"] == "rED"  # type: ignore[index]
    assert soup.select_one(f"#choices-{value.replace('_', '-')}-label")["value"] == "Dark blue"  # type: ignore[index]
    assert soup.select_one("#hint").get_text().strip() == "Typed, kept"  # type: ignore[union-attr]
    assert "Dark blue" not in labels()  # nothing saved: one form, one save

    assert send({"action": f"remove:{value}"}).status_code == 303
    assert labels() == ["Red", *before[1:]]
    assert send({"action": "remove:no_such_choice"}).status_code == 400


def test_condition_set_and_read_back_in_plain_words(builder_app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/pages/door-size/condition"
    soup = page(designer.get(url))
    assert "what_colour_is_your_door" in [o["value"] for o in soup.select("#clauses-0-question option")]
    label = next(iter(_doc(builder_app)["questions"]["what_colour_is_your_door"]["options"].values()))["label"]
    data = {"clauses.0.question": "what_colour_is_your_door", "clauses.0.operator": "is", "clauses.0.value": label}
    assert _post(designer, url, data).status_code == 303
    stored = next(p for p in _doc(builder_app)["pages"] if p["id"] == "door-size")["show_if"]
    assert stored["required"] == ["what_colour_is_your_door"]
    expected = f"Show this page only if 'What colour is your door?' is {label}"
    assert page(designer.get(f"{BASE}/pages/door-size/")).select_one(".cf-condition").get_text(strip=True) == expected  # type: ignore[union-attr]
    # The answer is chosen from the question's choices (issue 17, part G), the saved one selected.
    assert page(designer.get(url)).select_one("select#clauses-0-value option[selected]")["value"] == label  # type: ignore[index]
    assert expected in page(designer.get(f"{BASE}/pages")).get_text()

    both = {
        **data,
        "clauses.1.question": "full_name",
        "clauses.1.operator": "answered",
        "combine": "any",
    }
    assert _post(designer, url, both).status_code == 303
    assert "anyOf" in next(p for p in _doc(builder_app)["pages"] if p["id"] == "door-size")["show_if"]

    bad = {"clauses.0.question": "what_colour_is_your_door", "clauses.0.operator": "is", "clauses.0.value": "Purple"}
    response = _post(designer, url, bad)
    assert response.status_code == 400
    assert _error(page(response), "clauses-0-value")

    assert _post(designer, url, {"action": "remove"}).status_code == 303
    assert "show_if" not in next(p for p in _doc(builder_app)["pages"] if p["id"] == "door-size")


def test_routing(builder_app: Flask, designer: FlaskClient) -> None:
    _post(designer, f"{BASE}/pages/new", {"title": "Door handle"})
    url = f"{BASE}/pages/your-door/routing"
    label = next(iter(_doc(builder_app)["questions"]["what_colour_is_your_door"]["options"].values()))["label"]
    data = {
        "clauses.0.question": "what_colour_is_your_door",
        "clauses.0.operator": "is",
        "clauses.0.value": label,
        "goto": "door-handle",
    }
    assert _post(designer, url, data).status_code == 303
    rules = next(p for p in _doc(builder_app)["pages"] if p["id"] == "your-door")["next"]
    assert rules[0]["goto"] == "door-handle"
    words = page(designer.get(f"{BASE}/pages/your-door/")).select_one(".cf-routing").get_text(strip=True)  # type: ignore[union-attr]
    assert words == f"If 'What colour is your door?' is {label}, go to Door handle"
    response = _post(designer, url, {**data, "goto": ""})
    assert response.status_code == 400 and _error(page(response), "goto")


def test_custom_condition_is_read_only(builder_app: Flask, designer: FlaskClient) -> None:
    doc = _doc(builder_app)
    target = next(p for p in doc["pages"] if p["id"] == "door-size")
    target["show_if"] = {"properties": {"full_name": {"minLength": 3}}, "required": ["full_name"]}
    with dbmod.session(builder_app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None
        user_id = draft.created_by
        assert user_id is not None
        drafts.save_draft(session=s, draft=draft, doc=doc, expected_revision=draft.revision, user_id=user_id)
        s.commit()
    url = f"{BASE}/pages/door-size/condition"
    soup = page(designer.get(url))
    assert "custom condition, edited in the file" in soup.select_one(".cf-custom-condition").get_text()  # type: ignore[union-attr]
    assert soup.select_one("select") is None
    assert "Custom condition, edited in the file" in page(designer.get(f"{BASE}/pages/door-size/")).get_text()
    hidden = {"csrf_token": _form(designer, f"{BASE}/pages/door-size/")["csrf_token"], "action": "remove"}
    designer.post(url, data=hidden)
    assert next(p for p in _doc(builder_app)["pages"] if p["id"] == "door-size")["show_if"] == target["show_if"]


def test_preview_uses_the_runtime_rendering_and_escapes(builder_app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/questions/what_colour_is_your_door"
    panel = page(designer.get(url)).select_one("#cf-preview")
    heading = page(designer.get(url)).select_one("#cf-preview-heading")
    assert panel is not None and heading is not None and heading.get_text(strip=True) == "Preview"
    assert panel.select(".govuk-radios .govuk-radios__item")  # the runtime's own radios

    hidden = _form(designer, url)
    preview = f"{BASE}/pages/your-door/preview"
    hostile = "<script>alert(1)</script> What colour?"
    response = designer.post(
        preview,
        data={**hidden, "question": "what_colour_is_your_door", "label": hostile},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert page(response).select(".govuk-radios__item")
    assert "<html" not in html  # just the fragment
    assert "what_colour_is_your_door" in str(_doc(builder_app)["questions"])  # nothing saved
    assert _doc(builder_app)["questions"]["what_colour_is_your_door"]["label"] == "What colour is your door?"

    # Without JavaScript the preview follows the save, escaped.
    assert _post(designer, url, {"label": hostile}).status_code == 303
    soup = page(designer.get(url))
    assert soup.select_one("#cf-preview script") is None
    assert hostile in soup.select_one("#cf-preview").get_text()  # type: ignore[union-attr]
    form = soup.select_one("form[hx-post]")
    assert form is not None and form["hx-post"].endswith("/preview")  # type: ignore[union-attr]
    assert not soup.select("main script")  # no inline scripts of our own: htmx attributes only


def test_advice_is_shown_but_never_blocks(builder_app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/questions/full_name"
    assert _post(designer, url, {"label": "Please Enter Your Name", "max_length": "100"}).status_code == 303
    advice = [a.get_text(strip=True) for a in page(designer.get(url)).select(".cf-advice")]
    assert any("please" in a for a in advice)
    assert _doc(builder_app)["questions"]["full_name"]["label"] == "Please Enter Your Name"


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"label": "   "}, "label", "Enter the question text"),
        ({"label": "x" * 10_000}, "label", "characters or less"),
        ({"label": "How wide?", "min_value": "10", "max_value": "5"}, "max-value", "Maximum value"),
    ],
)
def test_bad_question_input_is_shown_next_to_the_field(
    builder_app: Flask, designer: FlaskClient, data: dict[str, str], field: str, words: str
) -> None:
    before = _doc(builder_app)
    url = f"{BASE}/questions/how_wide_is_your_door"
    response = _post(designer, url, {"hint": "Kept hint", **data})
    assert response.status_code == 400
    soup = page(response)
    assert words in _error(soup, field)
    assert soup.select_one(".govuk-error-summary a")["href"] == f"#{field}"  # type: ignore[index]
    assert soup.select_one("#hint").get_text() == "Kept hint"  # type: ignore[union-attr]
    assert _doc(builder_app) == before


def test_duplicate_page_name_is_refused_and_input_kept(builder_app: Flask, designer: FlaskClient) -> None:
    before = _doc(builder_app)
    response = _post(designer, f"{BASE}/pages/new", {"title": "door SIZE", "intro": "Kept"})
    assert response.status_code == 400
    soup = page(response)
    assert "already a page" in _error(soup, "title")
    assert soup.select_one("#intro").get_text() == "Kept"  # type: ignore[union-attr]
    assert _doc(builder_app) == before


def test_another_departments_service_is_not_found(
    builder_app: Flask, designer: FlaskClient, staff: StaffMembers
) -> None:
    stranger = staff.sign_in(staff.create(roles=[(staff.department("Revenues"), core.DESIGNER)]))
    for url in (f"{BASE}/pages", f"{BASE}/pages/door-size/", f"{BASE}/questions/full_name"):
        assert stranger.get(url).status_code == 404
    token = _token(stranger)
    response = stranger.post(f"{BASE}/pages/new", data={"csrf_token": token, "title": "Mine"})
    assert response.status_code == 404


def test_reviewer_cannot_edit(builder_app: Flask, designer: FlaskClient, staff: StaffMembers) -> None:
    reviewer = staff.sign_in(staff.create(roles=[(staff.department("Highways"), core.REVIEWER)]))
    assert reviewer.get(f"{BASE}/pages").status_code == 403
    token = _token(reviewer)
    before = _doc(builder_app)
    response = reviewer.post(f"{BASE}/pages/new", data={"csrf_token": token, "title": "Mine", "revision": "1"})
    assert response.status_code == 403
    assert _doc(builder_app) == before


def test_a_colleagues_save_is_not_overwritten(builder_app: Flask, designer: FlaskClient) -> None:
    url = f"{BASE}/pages/door-size/"
    hidden = _form(designer, url)
    assert _post(designer, url, {"title": "Size of the door"}).status_code == 303
    response = designer.post(url, data={**hidden, "title": "Stale title"})
    assert response.status_code == 409 or response.status_code == 400
    assert page(response).select_one(".cf-conflict") is not None
    assert next(p for p in _doc(builder_app)["pages"] if p["id"] == "door-size")["title"] == "Size of the door"


def test_preview_of_the_whole_service_counts_for_the_publish_checklist(
    builder_app: Flask, designer: FlaskClient
) -> None:
    before = page(designer.get(f"{BASE}/publish")).get_text(" ", strip=True)
    assert "Preview the service before you publish it." in before
    soup = page(designer.get(f"{BASE}/preview"))
    assert soup.select_one("h1").get_text(strip=True) == "Preview the service"
    headings = [h.get_text(" ", strip=True) for h in soup.select("section h2")]
    assert len(headings) == 3 and headings[0].startswith("Page 1")
    # The runtime's own markup: GOV.UK inputs, inert, with no form to send.
    assert soup.select(".cf-preview .govuk-input") and not soup.select(".cf-preview form")
    after = page(designer.get(f"{BASE}/publish")).get_text(" ", strip=True)
    assert "Preview the service before you publish it." not in after

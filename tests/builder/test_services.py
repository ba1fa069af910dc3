"""The service list, creating a service, the task list and the service-wide forms, as staff use them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runtime import db as dbmod
from runtime import staff as core
from runtime import versions
from runtime.data import drafts
from runtime.models import Service
from tests.builder.conftest import StaffMembers
from tests.conftest import page


def _token(client: FlaskClient, url: str) -> str:
    field = page(client.get(url)).select_one("input[name=csrf_token]")
    assert field is not None, url
    return str(field["value"])


def _form(client: FlaskClient, url: str) -> dict[str, str]:
    """The form on a page as a browser would send it unchanged (inputs, textareas, selected options, checked radios)."""
    soup = page(client.get(url))
    form = soup.select_one("main form")
    assert form is not None, url
    data: dict[str, str] = {}
    for element in form.select("input, textarea, select"):
        name = element.get("name")
        if not name:
            continue
        if element.name == "textarea":
            data[str(name)] = element.get_text()
        elif element.name == "select":
            chosen = element.select_one("option[selected]")
            data[str(name)] = str(chosen["value"]) if chosen else ""
        elif element.get("type") == "radio":
            if element.has_attr("checked"):
                data[str(name)] = str(element["value"])
        else:
            data[str(name)] = str(element.get("value", ""))
    return data


def _draft(app: Flask, service_id: str) -> Any:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        draft = drafts.get_draft(session=s, service_id=service_id)
        if draft is not None:
            s.expunge(draft)
        return draft


@pytest.fixture
def designer(staff: StaffMembers) -> FlaskClient:
    """A designer of the Blue Badge service's department."""
    return staff.sign_in(staff.create(roles=[(staff.department_of("blue-badge"), core.DESIGNER)]))


def _create(client: FlaskClient, **fields: str) -> Any:
    data = {"start": "blank", "reference_prefix": "TST", **fields}
    if "department" not in data:
        radio = page(client.get("/services/new")).select_one("input[name=department]")
        assert radio is not None
        data["department"] = str(radio["value"])
    data["csrf_token"] = _token(client, "/services/new")
    return client.post("/services/new", data=data)


# -- the service list ---------------------------------------------------------------------------


def test_the_list_shows_only_the_services_of_my_departments(designer: FlaskClient) -> None:
    soup = page(designer.get("/"))
    titles = [a.get_text(strip=True) for a in soup.select(".cf-services a")]
    assert titles == ["Apply for a Blue Badge"]
    row = soup.select_one(".cf-services tbody tr")
    assert row is not None
    assert "Live" in row.get_text()
    assert "IT (from the definition file)" in row.get_text()
    assert soup.select_one("a[href='/builder/services/new']") is not None


def test_the_list_shows_a_draft_its_status_and_who_changed_it(
    builder_app: Flask, staff: StaffMembers, designer: FlaskClient
) -> None:
    data = _form(designer, "/services/blue-badge/reference")
    designer.post("/services/blue-badge/reference", data={**data, "reference_prefix": "BBX"})
    row = page(designer.get("/")).select_one(".cf-services tbody tr")
    assert row is not None
    assert "Live with unpublished changes" in row.get_text()
    assert "Sam Designer" in row.get_text()


def test_a_staff_member_without_a_role_sees_no_services(staff: StaffMembers) -> None:
    client = staff.sign_in(staff.create(roles=[]))
    soup = page(client.get("/"))
    assert not soup.select(".cf-services")
    assert "do not have a role" in soup.get_text()


# -- departments ---------------------------------------------------------------------------------


def test_a_designer_of_highways_gets_404_for_a_revenues_draft(staff: StaffMembers) -> None:
    revenues = staff.sign_in(staff.create(roles=[(staff.department("Revenues"), core.DESIGNER)]))
    assert _create(revenues, title="Pay business rates").status_code == 303
    highways = staff.sign_in(staff.create(roles=[(staff.department("Highways"), core.DESIGNER)]))
    assert "Pay business rates" not in page(highways.get("/")).get_text()
    for url in ("/services/pay-business-rates/", "/services/pay-business-rates/details"):
        assert highways.get(url).status_code == 404
    token = _token(highways, "/")
    response = highways.post(
        "/services/pay-business-rates/details", data={"csrf_token": token, "title": "Stolen", "revision": "1"}
    )
    assert response.status_code == 404
    assert revenues.get("/services/pay-business-rates/details").status_code == 200
    assert "Stolen" not in page(revenues.get("/services/pay-business-rates/details")).get_text()


def test_a_reviewer_can_see_the_task_list_but_not_edit(builder_app: Flask, staff: StaffMembers) -> None:
    client = staff.sign_in(staff.create(roles=[(staff.department_of("blue-badge"), core.REVIEWER)]))
    soup = page(client.get("/services/blue-badge/"))
    assert soup.select_one("a[href$='/details']") is None
    assert client.get("/services/blue-badge/details").status_code == 403
    token = _token(client, "/")
    response = client.post(
        "/services/blue-badge/details",
        data={"csrf_token": token, "title": "Changed", "description": "x", "revision": "0"},
    )
    assert response.status_code == 403
    assert _draft(builder_app, "blue-badge") is None
    assert client.get("/services/new").status_code == 403


def test_malformed_service_ids_are_not_found(designer: FlaskClient) -> None:
    for service_id in ("BLUE", "x" * 61, "no-such-service"):
        assert designer.get(f"/services/{service_id}/").status_code == 404


# -- creating a service --------------------------------------------------------------------------


def test_create_from_blank(builder_app: Flask, designer: FlaskClient) -> None:
    response = _create(designer, title="Apply for a skip licence", reference_prefix="skp")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/builder/services/apply-for-a-skip-licence/")
    soup = page(designer.get(response.headers["Location"].removeprefix("/builder")))
    assert soup.select_one("h1").get_text(strip=True) == "Apply for a skip licence"  # type: ignore[union-attr]
    assert len(soup.select(".govuk-task-list__item")) == 12  # eleven tasks and the approval steps
    assert "Not started" in soup.select_one(".govuk-task-list").get_text()  # type: ignore[union-attr]
    draft = _draft(builder_app, "apply-for-a-skip-licence")
    assert draft.definition["reference_prefix"] == "SKP"
    assert draft.definition["department"] == "Blue Badge Team, Adult Social Care"
    titles = [a.get_text(strip=True) for a in page(designer.get("/")).select(".cf-services a")]
    assert "Apply for a skip licence" in titles


def test_create_from_a_shipped_template(builder_app: Flask, designer: FlaskClient) -> None:
    response = _create(
        designer,
        title="Report fly-tipping",
        id="report-fly-tipping",
        start="template",
        template="missed-bin-collection",
    )
    assert response.status_code == 303
    doc = _draft(builder_app, "report-fly-tipping").definition
    assert doc["title"] == "Report fly-tipping"
    assert doc["reference_prefix"] == "TST"
    assert doc["version"] == 1
    assert doc["pages"][0]["id"]  # the template's pages came along


def test_create_by_copying_a_live_service(builder_app: Flask, designer: FlaskClient) -> None:
    response = _create(designer, title="Renew a Blue Badge", start="copy", copy="blue-badge")
    assert response.status_code == 303
    doc = _draft(builder_app, "renew-a-blue-badge").definition
    assert doc["questions"].keys() == _live_doc(builder_app, "blue-badge")["questions"].keys()
    assert doc["live"] is True


def _current_version(app: Flask, service_id: str) -> int:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        service = s.get(Service, service_id)
        assert service is not None
        return service.current_version


def _live_doc(app: Flask, service_id: str) -> dict[str, Any]:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        live = versions.definition(session=s, service_id=service_id)
        assert live is not None
        return live.doc


def test_copying_a_service_of_another_department_is_refused(designer: FlaskClient) -> None:
    response = _create(designer, title="Steal bins", start="copy", copy="missed-bin-collection")
    assert response.status_code == 400
    assert page(response).select_one("#copy-error") is not None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": ""}, "#title-error", "Enter the name of the service"),
        ({"title": "x" * 10_000}, "#title-error", "2,000 characters or less"),
        ({"title": "Apply for a Blue Badge", "id": "blue-badge"}, "#id-error", "already exists"),
        ({"title": "Ok", "id": "Bad ID!"}, "#id-error", "lower-case"),
        ({"title": "Ok service", "reference_prefix": "12"}, "#reference-prefix-error", "2 to 5 letters"),
        ({"title": "Ok service", "department": "999999"}, "#department-error", "Select the department"),
        ({"title": "Ok service", "start": "template", "template": "nope"}, "#template-error", "Select a service"),
    ],
)
def test_bad_entries_when_creating_keep_what_was_typed(
    designer: FlaskClient, fields: dict[str, str], field: str, message: str
) -> None:
    response = _create(designer, **fields)
    assert response.status_code == 400
    soup = page(response)
    assert message in soup.select_one(field).get_text()  # type: ignore[union-attr]
    assert soup.select_one(".govuk-error-summary a[href]") is not None
    assert soup.select_one("#title")["value"] == fields["title"]  # type: ignore[index]


def test_script_in_a_new_service_name_is_shown_escaped(designer: FlaskClient) -> None:
    name = "<script>alert(1)</script> permits"
    assert _create(designer, title=name, id="script-permits").status_code == 303
    body = designer.get("/services/script-permits/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; permits" in body
    assert "<script>alert(1)" not in designer.get("/").get_data(as_text=True)


# -- the task list and its forms -----------------------------------------------------------------


def test_the_task_list_links_every_task(designer: FlaskClient) -> None:
    soup = page(designer.get("/services/blue-badge/"))
    links = {a.get_text(strip=True): a["href"] for a in soup.select(".govuk-task-list a")}
    assert links["Pages and questions"] == "/builder/services/blue-badge/pages"
    assert links["Publish"] == "/builder/services/blue-badge/publish"
    for name in (
        "details",
        "start-page",
        "declaration",
        "confirmation",
        "privacy-and-contact",
        "reference",
        "identity",
    ):
        assert f"/builder/services/blue-badge/{name}" in links.values()
    for url in links.values():
        if url.endswith(("pages", "publish", "try/")):
            continue  # other areas' pages
        assert designer.get(url.removeprefix("/builder")).status_code == 200, url


FORM_CASES = [
    ("details", {"title": "Get a Blue Badge", "description": "Apply for a disabled parking badge."}),
    ("start-page", {"body": "First paragraph.\n\nSecond paragraph.", "you_will_need": "a photo", "button": "Begin"}),
    ("declaration", {"declaration": "I confirm this is true.", "title": "Check it", "button": "Send it"}),
    ("confirmation", {"title": "Application sent", "next_steps": "We will write to you within 10 days."}),
    (
        "privacy-and-contact",
        {
            "privacy_url": "https://westbridge.example.gov.uk/privacy",
            "privacy_summary": "We keep it safe.",
            "email": "badges@westbridge.example.gov.uk",
            "phone": "01632 960 001",
            "hours": "Monday to Friday",
            "address": "Town Hall\nWestbridge",
        },
    ),
    ("reference", {"reference_prefix": "BBG"}),
    ("identity", {"identity.email": "", "identity.phone": "phone"}),
]


@pytest.mark.parametrize(("url", "values"), FORM_CASES)
def test_each_form_saves_and_shows_the_value(
    builder_app: Flask, designer: FlaskClient, url: str, values: dict[str, str]
) -> None:
    data = {**_form(designer, f"/services/blue-badge/{url}"), **values, "completed": "yes"}
    response = designer.post(f"/services/blue-badge/{url}", data=data)
    assert response.status_code == 303, page(response).select_one(".govuk-error-summary")
    assert response.headers["Location"].endswith("/builder/services/blue-badge/")
    assert "saved" in page(designer.get("/services/blue-badge/")).select_one(".govuk-notification-banner").get_text()  # type: ignore[union-attr]
    shown = _form(designer, f"/services/blue-badge/{url}")
    for name, value in values.items():
        assert shown[name].strip() == value, name
    assert shown["completed"] == "yes"
    draft = _draft(builder_app, "blue-badge")
    assert draft.revision == 1  # the first edit of a live service starts its draft
    assert draft.base_version == _current_version(builder_app, "blue-badge")
    # Nothing else of the definition moved.
    live = _live_doc(builder_app, "blue-badge")
    assert draft.definition["pages"] == live["pages"] and draft.definition["schema"] == live["schema"]


def test_completing_a_task_shows_on_the_task_list(designer: FlaskClient) -> None:
    assert _create(designer, title="Book a bulky waste collection").status_code == 303
    url = "/services/book-a-bulky-waste-collection/"
    data = _form(designer, url + "reference")
    designer.post(url + "reference", data={**data, "reference_prefix": "BLK", "completed": "no"})
    data = _form(designer, url + "details")
    designer.post(url + "details", data={**data, "completed": "yes"})
    items = {
        li.select_one(".govuk-task-list__name-and-hint a").get_text(strip=True): li.select_one(  # type: ignore[union-attr]
            ".govuk-task-list__status"
        ).get_text(strip=True)  # type: ignore[union-attr]
        for li in page(designer.get(url)).select(".govuk-task-list__item--with-link")
    }
    assert items["Reference prefix"] == "In progress"
    assert items["Service name and description"] == "Completed"
    assert items["Start page"] == "Not started"


@pytest.mark.parametrize(
    ("url", "values", "field", "message"),
    [
        ("details", {"title": ""}, "title", "Enter the name of the service"),
        ("details", {"title": "Fine", "description": "x" * 10_000}, "description", "2,000 characters or less"),
        ("details", {"title": "x" * 10_000}, "title", "2,000 characters or less"),
        ("start-page", {"body": ""}, "body", "Enter what the service is for"),
        ("reference", {"reference_prefix": "B1"}, "reference-prefix", "2 to 5 letters"),
        ("privacy-and-contact", {"privacy_url": "http://insecure.example"}, "privacy-url", "https://"),
        ("privacy-and-contact", {"email": "not an email"}, "email", "correct format"),
        ("confirmation", {"next_steps": "  "}, "next-steps", "Enter what happens next"),
        (
            "identity",
            {
                f"identity.{kind}": ""
                for kind in ("full_name", "date_of_birth", "email", "phone", "postcode", "ni_number")
            },
            "identity-full-name",
            "at least one",
        ),
    ],
)
def test_bad_input_gets_an_error_next_to_the_field_and_loses_nothing(
    builder_app: Flask, designer: FlaskClient, url: str, values: dict[str, str], field: str, message: str
) -> None:
    data = {**_form(designer, f"/services/blue-badge/{url}"), **values}
    data = {k: v for k, v in data.items() if k != "completed"}
    response = designer.post(f"/services/blue-badge/{url}", data={**data, "completed": "yes"})
    assert response.status_code == 400
    soup = page(response)
    assert soup.title is not None and soup.title.get_text().startswith("Error: ")
    assert message in soup.select_one(f"#{field}-error").get_text()  # type: ignore[union-attr]
    summary_link = soup.select_one(".govuk-error-summary a")
    assert summary_link is not None and summary_link["href"] == f"#{field}"
    assert soup.select_one(f"#{field}") is not None
    # Every field keeps what was typed, including the bad value.
    shown = {k: v for k, v in _fields_of(soup).items() if k in data}
    for name, value in data.items():
        if name not in ("csrf_token", "revision"):
            assert shown[name].strip() == value.strip(), name
    assert _draft(builder_app, "blue-badge") is None  # nothing saved, the live service untouched


def _fields_of(soup: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for element in soup.select("main form input, main form textarea, main form select"):
        name = str(element.get("name", ""))
        if element.name == "textarea":
            out[name] = element.get_text()
        elif element.name == "select":
            chosen = element.select_one("option[selected]")
            out[name] = str(chosen["value"]) if chosen else ""
        elif element.get("type") != "radio":
            out[name] = str(element.get("value", ""))
    return out


def test_script_in_a_field_is_saved_as_typed_and_shown_escaped(builder_app: Flask, designer: FlaskClient) -> None:
    hostile = '<script>alert("x")</script><b>bold</b>'
    data = {**_form(designer, "/services/blue-badge/details"), "description": hostile}
    assert designer.post("/services/blue-badge/details", data=data).status_code == 303
    body = designer.get("/services/blue-badge/details").get_data(as_text=True)
    assert "<script>alert" not in body and "<b>bold</b>" not in body
    assert "&lt;script&gt;" in body
    assert _draft(builder_app, "blue-badge").definition["description"] == hostile


def test_a_colleagues_save_is_reported_and_never_overwritten(
    builder_app: Flask, staff: StaffMembers, designer: FlaskClient
) -> None:
    colleague = staff.sign_in(staff.create(roles=[(staff.department_of("blue-badge"), core.DESIGNER)], name="Kim"))
    mine = _form(designer, "/services/blue-badge/details")
    theirs = _form(colleague, "/services/blue-badge/details")
    response = colleague.post("/services/blue-badge/details", data={**theirs, "title": "Kim's title"})
    assert response.status_code == 303
    # My form still names the revision it was shown at; my save must not win.
    response = designer.post("/services/blue-badge/details", data={**mine, "title": "My title"})
    assert response.status_code == 409
    soup = page(response)
    assert "A colleague changed this service" in soup.select_one(".govuk-notification-banner").get_text()  # type: ignore[union-attr]
    assert soup.select_one("#title")["value"] == "Kim's title"  # type: ignore[index]
    assert "My title" in soup.select_one(".cf-yours").get_text()  # type: ignore[union-attr]
    assert _draft(builder_app, "blue-badge").definition["title"] == "Kim's title"
    # Saving again from the page now shown is a deliberate change on top of theirs.
    again = _fields_of(soup)
    again["title"] = "My title"
    assert designer.post("/services/blue-badge/details", data=again).status_code == 303
    assert _draft(builder_app, "blue-badge").definition["title"] == "My title"


def test_a_form_without_its_revision_saves_nothing(builder_app: Flask, designer: FlaskClient) -> None:
    data = _form(designer, "/services/blue-badge/details")
    del data["revision"]
    response = designer.post("/services/blue-badge/details", data={**data, "title": "Changed"})
    assert response.status_code == 409
    assert _draft(builder_app, "blue-badge") is None


def test_every_form_needs_its_csrf_token(builder_app: Flask, designer: FlaskClient) -> None:
    for url, values in FORM_CASES:
        data = {**_form(designer, f"/services/blue-badge/{url}"), **values}
        del data["csrf_token"]
        assert designer.post(f"/services/blue-badge/{url}", data=data).status_code == 400
    assert designer.post("/services/new", data={"title": "No token", "start": "blank"}).status_code == 400
    assert _draft(builder_app, "blue-badge") is None
    assert _draft(builder_app, "no-token") is None


def test_closing_a_service_on_the_details_page_archives_it_and_reopening_opens_it(
    builder_app: Flask, designer: FlaskClient
) -> None:
    url = "/services/blue-badge/details"
    assert designer.post(url, data={**_form(designer, url), "live": "no"}).status_code == 303
    assert _draft(builder_app, "blue-badge").definition["live"] is False
    assert '<option value="no" selected' in designer.get(url).get_data(as_text=True)
    assert designer.post(url, data={**_form(designer, url), "live": "yes"}).status_code == 303
    assert _draft(builder_app, "blue-badge").definition["live"] is True

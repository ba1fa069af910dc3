"""Try it: a designer walks a draft's whole journey as a citizen would, and nothing is submitted.

The pages are the citizen runtime's own (the same errors for the same input, checked against the
citizen app on the same database); the answers live in the designer's preview session only.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import func, select

from runtime import db as dbmod
from runtime import staff as core
from runtime import versions
from runtime.data import drafts
from runtime.models import Citizen as CitizenRecord
from runtime.models import FormSession, PreviewSession, StaffUser, Submission
from tests.builder.conftest import StaffMembers
from tests.conftest import Citizen, page
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import error_summary, field_value, inline_errors, walk

SERVICE = "missed-bin-collection"
BASE = f"/services/{SERVICE}/try"
PREFIX = "/builder"
PATH = HAPPY_PATHS[SERVICE]
# The draft's title differs from the live service's, so the pages show which one they walk.
DRAFT_TITLE = "Report a missed bin collection in Westbridge"
REFERENCE = re.compile(r"[A-Z]{2,5}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}")


def _engine(app: Flask) -> Any:
    return app.extensions["civicforms.engine"]


def _make_draft(app: Flask, user: StaffUser, service_id: str = SERVICE, **changes: Any) -> None:
    """A draft of a shipped service, as the designer's first edit would make it."""
    with dbmod.session(_engine(app)) as s:
        live = versions.definition(session=s, service_id=service_id)
        assert live is not None and user.id is not None
        department = StaffMembers(app).department_of(service_id)
        drafts.create_draft(
            session=s, doc={**live.doc, **changes}, department_id=department, user_id=user.id, base_version=live.version
        )
        s.commit()


@pytest.fixture
def designer_user(builder_app: Flask, staff: StaffMembers) -> StaffUser:
    """A designer in the department of the missed bin service, which has a draft."""
    user = staff.create(roles=[(staff.department_of(SERVICE), core.DESIGNER)])
    _make_draft(builder_app, user, title=DRAFT_TITLE)
    return user


@pytest.fixture
def designer(staff: StaffMembers, designer_user: StaffUser) -> FlaskClient:
    return staff.sign_in(designer_user)


def _hidden(soup: BeautifulSoup, selector: str = "main form[method=post]") -> dict[str, str]:
    form = soup.select_one(selector)
    assert form is not None, f"no {selector}"
    return {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}


def _answer(client: FlaskClient, page_id: str, data: dict[str, Any], query: str = "") -> Any:
    """Post a page as its own form does (the form in <main>, with its CSRF token)."""
    url = f"{BASE}/pages/{page_id}{query}"
    shown = client.get(url)
    assert shown.status_code == 200, (url, shown.status_code, shown.headers.get("Location"))
    return client.post(url, data={**_hidden(page(shown)), **data})


def _begin(client: FlaskClient) -> Any:
    start = client.get(f"{BASE}/")
    assert start.status_code == 200
    soup = page(start)
    form = soup.select_one("main form[method=post]")
    assert form is not None and form["action"] == f"{PREFIX}{BASE}/start"
    return client.post(f"{BASE}/start", data=_hidden(soup))


def _walk(client: FlaskClient, until: str | None = None, path: list[tuple[str, Any]] | None = None) -> Any:
    """Start and answer each page, checking each redirect goes to the next page of the path."""
    response = _begin(client)
    for page_id, data in path if path is not None else PATH:
        assert response.status_code == 303
        assert response.headers["Location"] == f"{PREFIX}{BASE}/pages/{page_id}", response.headers["Location"]
        if page_id == until:
            return response
        response = _answer(client, page_id, data)
        assert response.status_code == 303, (page_id, error_summary(page(response)))
    assert until is None
    assert response.headers["Location"] == f"{PREFIX}{BASE}/check-answers"
    return response


def _counts(app: Flask) -> dict[str, int]:
    with dbmod.session(_engine(app)) as s:
        return {
            model.__name__: s.exec(select(func.count()).select_from(model)).one()
            for model in (Submission, FormSession, CitizenRecord)
        }


def _preview_answers(app: Flask, user: StaffUser) -> dict[str, Any] | None:
    with dbmod.session(_engine(app)) as s:
        assert user.id is not None
        row = drafts.get_preview_session(session=s, user_id=user.id, service_id=SERVICE)
        return dict(row.answers) if row is not None else None


def _banner(soup: BeautifulSoup) -> BeautifulSoup:
    banner = soup.select_one(".govuk-notification-banner.cf-try-it-banner")
    assert banner is not None, "no try-it banner"
    assert f"You are trying a draft of {DRAFT_TITLE}" in banner.get_text(" ", strip=True)
    assert "Nothing you enter is submitted" in banner.get_text(" ", strip=True)
    back = banner.select_one("a.govuk-link")
    assert back is not None and back.get_text(strip=True) == "Back to the service"
    assert back["href"] == f"{PREFIX}/services/{SERVICE}/"
    restart = banner.select_one("form[method=post]")
    assert restart is not None and restart["action"] == f"{PREFIX}{BASE}/restart"
    assert restart.select_one("input[name=csrf_token]") is not None
    return banner


def test_walk_the_draft_to_the_end_and_nothing_is_stored(builder_app: Flask, designer: FlaskClient) -> None:
    before = _counts(builder_app)
    with dbmod.session(_engine(builder_app)) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None and draft.preview_visited_at is None

    start = page(designer.get(f"{BASE}/"))
    _banner(start)
    assert start.select_one("h1").get_text(strip=True) == DRAFT_TITLE  # type: ignore[union-attr]
    assert start.select_one("main .govuk-button--start") is not None  # the citizen's own start button
    with dbmod.session(_engine(builder_app)) as s:
        draft = drafts.get_draft(session=s, service_id=SERVICE)
        assert draft is not None and draft.preview_visited_at is not None  # counts as previewing it

    # Each page is the runtime's markup, with the banner; "bin-not-out-on-time" (a stop page shown
    # only when the bin was not out) is skipped, because the answer is "yes".
    seen = []
    response = _begin(designer)
    for page_id, data in PATH:
        assert response.headers["Location"] == f"{PREFIX}{BASE}/pages/{page_id}"
        seen.append(page_id)
        shown = page(designer.get(f"{BASE}/pages/{page_id}"))
        _banner(shown)
        assert shown.select_one(".govuk-back-link") is not None
        if page_id == "bins-missed":
            assert len(shown.select("main .govuk-checkboxes__item")) == 4
        response = designer.post(f"{BASE}/pages/{page_id}", data={**_hidden(shown), **data})
        assert response.status_code == 303, error_summary(page(response))
    assert "bin-not-out-on-time" not in seen
    assert response.headers["Location"] == f"{PREFIX}{BASE}/check-answers"

    check = page(designer.get(f"{BASE}/check-answers"))
    _banner(check)
    rows = {
        row.select_one(".govuk-summary-list__key").get_text(strip=True): row.select_one(  # type: ignore[union-attr]
            ".govuk-summary-list__value"
        ).get_text(" ", strip=True)
        for row in check.select(".govuk-summary-list__row")
    }
    assert rows["Collections missed"] == "Rubbish Recycling"
    assert rows["Notes for the crew"] == "By the green gate."
    assert rows["Full name"] == "Jane Smith"
    change = check.select_one(".govuk-summary-list__actions a")
    assert change is not None and change["href"].startswith(f"{PREFIX}{BASE}/pages/collection-address?change=1#")

    sent = designer.post(f"{BASE}/check-answers", data=_hidden(check))
    assert sent.status_code == 303 and sent.headers["Location"] == f"{PREFIX}{BASE}/confirmation"
    done = page(designer.get(f"{BASE}/confirmation"))
    _banner(done)
    panel = done.select_one(".govuk-panel")
    assert panel is not None and "Report sent" in panel.get_text(" ", strip=True)
    reference = done.select_one(".govuk-panel .cf-reference")
    assert reference is not None and REFERENCE.fullmatch(reference.get_text(strip=True))
    assert "nothing has been sent or stored" in done.get_text(" ", strip=True)

    assert _counts(builder_app) == before  # no submission, form session or citizen record
    with dbmod.session(_engine(builder_app)) as s:
        assert not s.exec(select(Submission).where(Submission.reference == reference.get_text(strip=True))).all()


def test_change_link_returns_to_check_answers(designer: FlaskClient) -> None:
    _walk(designer)
    response = _answer(designer, "bin-location", {"bin_location": "communal_bin_store"}, "?change=1")
    assert response.headers["Location"] == f"{PREFIX}{BASE}/check-answers"
    assert "A shared bin store" in page(designer.get(f"{BASE}/check-answers")).get_text(" ", strip=True)


def test_a_condition_leads_to_the_stop_page(designer: FlaskClient) -> None:
    path = [*PATH[:3], ("bin-out-on-time", {"bin_out_on_time": "no"})]
    response = _walk(designer, path=path + [("bin-not-out-on-time", {})], until="bin-not-out-on-time")
    assert response.headers["Location"] == f"{PREFIX}{BASE}/pages/bin-not-out-on-time"
    stop = page(designer.get(f"{BASE}/pages/bin-not-out-on-time"))
    _banner(stop)
    assert stop.select_one("h1").get_text(strip=True) == "We cannot come back for your bin"  # type: ignore[union-attr]
    assert stop.select_one("main form") is None  # the form ends here, as for citizens
    token = _hidden(stop, ".cf-try-it-restart")["csrf_token"]
    assert designer.post(f"{BASE}/pages/bin-not-out-on-time", data={"csrf_token": token}).status_code == 405
    # Nothing after the stop page can be reached.
    assert designer.get(f"{BASE}/check-answers").headers["Location"] == f"{PREFIX}{BASE}/pages/bin-not-out-on-time"


def _errors_seen(soup: BeautifulSoup) -> tuple[list[tuple[str, str]], list[str], str]:
    return error_summary(soup), inline_errors(soup), soup.select_one("main").decode_contents()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "data",
    [
        {"full_name": "", "email": "", "phone": ""},
        {"full_name": "Jane Smith", "email": "jane at example", "phone": "phone me"},
        {"full_name": "x" * 10_000, "email": "jane@example.com"},
        {"full_name": "<script>alert(1)</script>" * 5, "email": "<script>alert(2)</script>"},
    ],
    ids=["empty", "malformed", "oversized", "hostile"],
)
def test_errors_are_the_citizens_own(
    builder_app: Flask, designer: FlaskClient, designer_user: StaffUser, citizen: Citizen, data: dict[str, str]
) -> None:
    """The same input gives the same page, errors and all, in try it and in the citizen runtime."""
    _walk(designer, until="your-details")
    response = _answer(designer, "your-details", data)
    assert response.status_code == 200
    tried = page(response)
    walk(citizen, SERVICE, until="your-details")
    citizens = page(citizen.answer(SERVICE, "your-details", data))

    summary, messages, _ = _errors_seen(tried)
    assert summary and summary == error_summary(citizens)
    assert messages == inline_errors(citizens)
    assert tried.title is not None and tried.title.get_text(strip=True).startswith("Error: ")
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html
    for name, value in data.items():
        assert field_value(tried, name) == field_value(citizens, name)
        if value.startswith("<script>"):
            assert "&lt;script&gt;alert" in html
    kept = _preview_answers(builder_app, designer_user)
    assert kept is not None and "bin_location" in kept and "full_name" not in kept  # this page not saved


def test_hostile_answers_are_shown_escaped(builder_app: Flask, designer: FlaskClient) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    path = [(p, {**d, "crew_notes": hostile} if p == "bin-location" else d) for p, d in PATH]
    _walk(designer, path=path)
    response = designer.get(f"{BASE}/check-answers")
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert hostile in page(response).get_text()
    assert page(response).select_one("main script") is None


def test_oversized_fields_are_cut_to_size(designer: FlaskClient) -> None:
    _walk(designer, until="bin-location")
    response = _answer(designer, "bin-location", {"bin_location": "edge_of_property", "crew_notes": "y" * 30_000})
    assert response.status_code == 200
    soup = page(response)
    assert inline_errors(soup) == ["Notes for the crew must be 500 characters or less"]
    assert field_value(soup, "crew_notes") == "y" * 20_000


def test_deep_links_go_to_the_first_page_still_to_answer(designer: FlaskClient) -> None:
    first = f"{PREFIX}{BASE}/pages/collection-address"
    for url in (f"{BASE}/pages/your-details", f"{BASE}/check-answers", f"{BASE}/confirmation"):
        response = designer.get(url)
        assert response.status_code == 303 and response.headers["Location"] == first, url
    assert designer.get(f"{BASE}/pages/no-such-page").status_code == 404
    assert designer.get(f"{BASE}/pages/bin-not-out-on-time").headers["Location"] == first  # not asked

    _walk(designer, until="bins-missed")
    assert designer.get(f"{BASE}/pages/collection-address").status_code == 200  # answered: can go back
    assert designer.get(f"{BASE}/pages/bins-missed").status_code == 200
    response = designer.get(f"{BASE}/pages/bin-location")
    assert response.headers["Location"] == f"{PREFIX}{BASE}/pages/bins-missed"


def test_start_again_clears_the_answers(builder_app: Flask, designer: FlaskClient, designer_user: StaffUser) -> None:
    _walk(designer, until="collection-day")
    assert set(_preview_answers(builder_app, designer_user) or {}) == {"address", "bins_missed"}
    shown = page(designer.get(f"{BASE}/pages/collection-day"))
    response = designer.post(f"{BASE}/restart", data=_hidden(shown, ".cf-try-it-restart"))
    assert response.status_code == 303 and response.headers["Location"] == f"{PREFIX}{BASE}/"
    assert _preview_answers(builder_app, designer_user) is None
    response = designer.get(f"{BASE}/pages/bins-missed")
    assert response.headers["Location"] == f"{PREFIX}{BASE}/pages/collection-address"
    assert field_value(page(designer.get(f"{BASE}/pages/collection-address")), "address.line1") == ""


def test_each_designer_has_their_own_answers(
    builder_app: Flask, designer: FlaskClient, designer_user: StaffUser, staff: StaffMembers
) -> None:
    _walk(designer, until="collection-day")
    colleague_user = staff.create(roles=[(staff.department_of(SERVICE), core.DESIGNER)], name="Kim Colleague")
    colleague = staff.sign_in(colleague_user)
    response = colleague.get(f"{BASE}/pages/bins-missed")
    assert response.headers["Location"] == f"{PREFIX}{BASE}/pages/collection-address"
    assert field_value(page(colleague.get(f"{BASE}/pages/collection-address")), "address.line1") == ""
    # The colleague starting again does not touch the first designer's answers.
    shown = page(colleague.get(f"{BASE}/"))
    assert colleague.post(f"{BASE}/restart", data=_hidden(shown, ".cf-try-it-restart")).status_code == 303
    assert designer.get(f"{BASE}/pages/collection-day").status_code == 200
    assert set(_preview_answers(builder_app, designer_user) or {}) == {"address", "bins_missed"}


def test_answers_the_draft_no_longer_fits_break_nothing(
    builder_app: Flask, designer: FlaskClient, designer_user: StaffUser
) -> None:
    user = designer_user
    stale = {
        "removed_question": "gone",
        "address": "not an address",
        "bins_missed": 5,
        "collection_date": {"day": 1},
        "bin_out_on_time": "perhaps",
        "bin_location": "a place no longer offered",
    }
    with dbmod.session(_engine(builder_app)) as s:
        assert user.id is not None
        drafts.save_preview_session(session=s, user_id=user.id, service_id=SERVICE, answers=stale)
        s.commit()
    assert designer.get(f"{BASE}/").status_code == 200
    response = _begin(designer)
    assert response.headers["Location"] == f"{PREFIX}{BASE}/pages/collection-address"
    for page_id, _ in PATH:
        assert designer.get(f"{BASE}/pages/{page_id}").status_code in (200, 303)
    assert designer.get(f"{BASE}/check-answers").status_code == 303
    _walk(designer)  # answering the pages again replaces what no longer fits
    assert designer.get(f"{BASE}/check-answers").status_code == 200
    assert "removed_question" not in (_preview_answers(builder_app, user) or {})


def test_a_draft_with_problems_says_why(builder_app: Flask, staff: StaffMembers) -> None:
    user = staff.create(roles=[(staff.department_of(SERVICE), core.DESIGNER)])
    _make_draft(builder_app, user, pages=[{"id": "broken", "title": "Broken", "questions": ["no_such_question"]}])
    client = staff.sign_in(user)
    token = _hidden(page(client.get("/")), "form.cf-sign-out")["csrf_token"]
    for response in (
        client.get(f"{BASE}/"),
        client.get(f"{BASE}/pages/broken"),
        client.get(f"{BASE}/check-answers"),
        client.get(f"{BASE}/confirmation"),
        client.post(f"{BASE}/start", data={"csrf_token": token}),
        client.post(f"{BASE}/pages/broken", data={"csrf_token": token}),
    ):
        assert response.status_code == 200
        soup = page(response)
        assert soup.select_one("h1").get_text(strip=True) == "You cannot try this service yet"  # type: ignore[union-attr]
        assert "no_such_question" in soup.select_one(".cf-problems").get_text()  # type: ignore[union-attr]
        back = soup.select_one("main a.govuk-link")
        assert back is not None and back["href"] == f"{PREFIX}/services/{SERVICE}/"
    assert client.post(f"{BASE}/restart", data={"csrf_token": token}).status_code == 303


def test_the_task_list_and_the_preview_lead_to_try_it(designer: FlaskClient) -> None:
    tasks = page(designer.get(f"/services/{SERVICE}/"))
    links = {a.get_text(strip=True): a["href"] for a in tasks.select(".govuk-task-list a")}
    assert links["Preview and try the service"] == f"{PREFIX}/services/{SERVICE}/preview"
    preview = page(designer.get(f"/services/{SERVICE}/preview"))
    button = preview.select_one("main a.govuk-button.cf-try-it")
    assert button is not None and button.get_text(strip=True) == "Try the whole service"
    assert button["href"] == f"{PREFIX}{BASE}/"


def test_a_live_service_with_no_draft_can_be_tried(staff: StaffMembers, builder_app: Flask) -> None:
    client = staff.sign_in(staff.create(roles=[(staff.department_of("blue-badge"), core.DESIGNER)]))
    base = "/services/blue-badge/try"
    soup = page(client.get(f"{base}/"))
    response = client.post(f"{base}/start", data=_hidden(soup))
    assert response.headers["Location"] == f"{PREFIX}{base}/pages/where-you-live"
    # Routing: getting a qualifying benefit skips the walking questions.
    for page_id, data, after in (
        ("where-you-live", {"lives_in_area": "yes"}, "qualifying-benefit"),
        ("qualifying-benefit", {"gets_qualifying_benefit": "yes"}, "which-benefit"),
    ):
        shown = page(client.get(f"{base}/pages/{page_id}"))
        response = client.post(f"{base}/pages/{page_id}", data={**_hidden(shown), **data})
        assert response.headers["Location"] == f"{PREFIX}{base}/pages/{after}"
    assert client.get(f"{base}/pages/walking-difficulty").headers["Location"] == f"{PREFIX}{base}/pages/which-benefit"
    with dbmod.session(_engine(builder_app)) as s:
        assert drafts.get_draft(session=s, service_id="blue-badge") is None  # trying made no draft


# -- who may try it -----------------------------------------------------------------------------

URLS = [
    ("GET", f"{BASE}/"),
    ("POST", f"{BASE}/start"),
    ("GET", f"{BASE}/pages/collection-address"),
    ("POST", f"{BASE}/pages/collection-address"),
    ("GET", f"{BASE}/check-answers"),
    ("POST", f"{BASE}/check-answers"),
    ("GET", f"{BASE}/confirmation"),
    ("POST", f"{BASE}/restart"),
]


def _send(client: FlaskClient, method: str, url: str, token: str | None) -> Any:
    data = {"csrf_token": token} if token else {}
    return client.get(url) if method == "GET" else client.post(url, data=data)


def _token(client: FlaskClient) -> str:
    return _hidden(page(client.get("/")), "form.cf-sign-out")["csrf_token"]


def test_another_departments_designer_gets_not_found(designer: FlaskClient, staff: StaffMembers) -> None:
    stranger = staff.sign_in(staff.create(roles=[(staff.department("Highways"), core.DESIGNER)]))
    token = _token(stranger)
    for method, url in URLS:
        assert _send(stranger, method, url, token).status_code == 404, (method, url)


def test_a_reviewer_may_not_try_it(builder_app: Flask, designer: FlaskClient, staff: StaffMembers) -> None:
    reviewer = staff.sign_in(staff.create(roles=[(staff.department_of(SERVICE), core.REVIEWER)]))
    token = _token(reviewer)
    for method, url in URLS:
        assert _send(reviewer, method, url, token).status_code == 403, (method, url)
    with dbmod.session(_engine(builder_app)) as s:
        assert not s.exec(select(PreviewSession)).all()


def test_signed_out_goes_to_sign_in(builder: FlaskClient, designer: FlaskClient) -> None:
    # A valid token for this browser (from the sign-in page), so the sign-in check itself must answer.
    token = _hidden(page(builder.get("/sign-in")), "main form[method=post]")["csrf_token"]
    for method, url in URLS:
        response = _send(builder, method, url, token if method == "POST" else None)
        assert response.status_code in (302, 303), (method, url)
        assert response.headers["Location"].startswith(f"{PREFIX}/sign-in"), (method, url)


def test_a_post_without_its_csrf_token_is_refused(
    builder_app: Flask, designer: FlaskClient, designer_user: StaffUser
) -> None:
    _walk(designer, until="bins-missed")
    answers = _preview_answers(builder_app, designer_user)
    for method, url in URLS:
        if method == "POST":
            response = designer.post(url, data={"address.line1": "Forged", "bins_missed": ["rubbish"]})
            assert response.status_code == 400, url
            assert "Your page could not be sent" in page(response).get_text()
    assert _preview_answers(builder_app, designer_user) == answers  # nothing changed, nothing cleared

"""What the runtime tests read off a page or out of the database, and the small staff app they
sign in to, said once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bs4 import BeautifulSoup
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from runtime import staff, versions
from runtime.data import submissions as submission_data
from runtime.models import Citizen as CitizenRecord
from runtime.models import FormSession, Submission
from runtime.settings import Settings
from runtime.web import sso as sso_web
from runtime.web import staff as staff_web
from runtime.web.common import SHARED_TEMPLATES, Face, create_base_app
from tests.conftest import Citizen, page
from tests.journeys import HAPPY_PATHS


def walk(citizen: Citizen, service_id: str, until: str | None = None, path: list[tuple[str, Any]] | None = None) -> Any:
    """Start and answer the happy path (or ``path``), stopping before page ``until`` if given.

    Returns the last response: the redirect to the next page to answer.
    """
    response = citizen.start(service_id)
    assert response.status_code == 303
    for page_id, data in path if path is not None else HAPPY_PATHS[service_id]:
        assert response.headers["Location"].endswith(f"/{page_id}"), (page_id, response.headers["Location"])
        if page_id == until:
            return response
        response = citizen.answer(service_id, page_id, data)
        assert response.status_code == 303, (page_id, error_summary(page(response)))
    assert until is None, f"{until} is not on the path"
    assert response.headers["Location"].endswith("/check-answers")
    return response


def title(soup: BeautifulSoup) -> str:
    assert soup.title is not None
    return soup.title.get_text(strip=True)


def heading(soup: BeautifulSoup) -> str:
    h1 = soup.select_one("h1")
    assert h1 is not None
    return h1.get_text(" ", strip=True)


def error_summary(soup: BeautifulSoup) -> list[tuple[str, str]]:
    """The error summary's links as (text, href); an empty list when there is no summary."""
    return [(a.get_text(strip=True), str(a["href"])) for a in soup.select(".govuk-error-summary a")]


def inline_errors(soup: BeautifulSoup) -> list[str]:
    """The messages next to the fields, without the visually hidden "Error:" prefix."""
    out = []
    for message in soup.select(".govuk-error-message"):
        hidden = message.select_one(".govuk-visually-hidden")
        text = message.get_text(" ", strip=True)
        assert hidden is not None and hidden.get_text(strip=True) == "Error:", message
        out.append(text.removeprefix("Error:").strip())
    return out


def field_value(soup: BeautifulSoup, name: str) -> str | None:
    """What a text-like input or textarea shows."""
    element = soup.select_one(f'[name="{name}"]')
    assert element is not None, f"no field {name}"
    if element.name == "textarea":
        return element.get_text()
    if element.name == "select":
        chosen = element.select_one("option[selected]")
        return str(chosen["value"]) if chosen else None
    return str(element.get("value", ""))


def checked(soup: BeautifulSoup, name: str) -> list[str]:
    return [str(i["value"]) for i in soup.select(f'input[name="{name}"]') if i.has_attr("checked")]


def summary_rows(soup: BeautifulSoup) -> dict[str, str]:
    """Check answers: ``{key: value text}``."""
    rows = {}
    for row in soup.select(".govuk-summary-list__row"):
        key = row.select_one(".govuk-summary-list__key")
        value = row.select_one(".govuk-summary-list__value")
        assert key is not None and value is not None
        rows[key.get_text(strip=True)] = value.get_text(" ", strip=True)
    return rows


def change_link(soup: BeautifulSoup, key: str) -> str:
    for row in soup.select(".govuk-summary-list__row"):
        found = row.select_one(".govuk-summary-list__key")
        if found is not None and found.get_text(strip=True) == key:
            link = row.select_one(".govuk-summary-list__actions a")
            assert link is not None
            return str(link["href"])
    raise AssertionError(f"no row {key!r} on check answers")


def form_sessions(db: Session) -> list[FormSession]:
    db.rollback()  # end any open transaction: see what the app committed since
    return list(db.exec(select(FormSession).execution_options(populate_existing=True)))


def stored_answers(db: Session) -> dict[str, Any]:
    """The answers of the one form session in the database."""
    (only,) = form_sessions(db)
    return dict(only.answers)


def submissions(db: Session) -> list[Submission]:
    db.rollback()
    return list(db.exec(select(Submission).order_by(col(Submission.id)).execution_options(populate_existing=True)))


def citizen_count(db: Session) -> int:
    db.rollback()
    return len(db.exec(select(CitizenRecord)).all())


def csp_nonce(response: Any) -> str:
    """The script nonce of a response's Content-Security-Policy."""
    policy = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    nonces = [s for s in directives["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == 1, policy
    nonce = nonces[0].removeprefix("'nonce-").removesuffix("'")
    assert len(nonce) >= 16, policy
    return nonce


def assert_only_our_scripts(response: Any) -> None:
    """Every <script> on the page carries the response's nonce: nothing injected can run."""
    nonce = csp_nonce(response)
    scripts = page(response).select("script")
    assert all(script.get("nonce") == nonce for script in scripts), [str(s)[:80] for s in scripts]


# -- citizen records: submissions made straight through the store -------------------------------


def send_answers(db: Session, service_id: str, answers: dict[str, Any]) -> int:
    """Store a submission of these answers as the runtime does; the citizen record it joined."""
    service = versions.definition(session=db, service_id=service_id)
    assert service is not None
    made = submission_data.create_submission(session=db, service=service, answers=answers)
    db.commit()
    return made.citizen_id


def gp_answers(name: str, dob: str, postcode: str, email: str | None, nhs: str | None = None) -> dict[str, Any]:
    """Answers to register-with-gp (email and NHS number are optional there)."""
    answers: dict[str, Any] = {
        "surgery": "riverside",
        "full_name": name,
        "date_of_birth": dob,
        "knows_nhs_number": nhs is not None,
        "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": postcode},
        "phone": "01632 960 001",
    }
    if email is not None:
        answers["email"] = email
    if nhs is not None:
        answers["nhs_number"] = nhs
    return answers


def badge_answers(name: str, dob: str, postcode: str, email: str, ni: str | None = None) -> dict[str, Any]:
    """Answers to blue-badge, by a qualifying benefit (NI number optional)."""
    answers: dict[str, Any] = {
        "lives_in_area": True,
        "gets_qualifying_benefit": True,
        "qualifying_benefit": "pip_moving_around",
        "full_name": name,
        "date_of_birth": dob,
        "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": postcode},
        "email": email,
    }
    if ni is not None:
        answers["ni_number"] = ni
    return answers


# -- a small staff app: the shared shell, the staff and SSO blueprints and a few protected views ---

STAFF_TEST_FACE = Face(name="staff-test", templates=SHARED_TEMPLATES)


def protected_views() -> Blueprint:
    """What a face's views look like: a home page, a department's thing, an admin page."""
    views = Blueprint("protected", __name__)

    @views.get("/")
    @staff_web.login_required
    def home() -> str:
        user = staff_web.current_user()
        assert user is not None
        return f"Hello {user.name}"

    @views.route("/departments/<int:department_id>/edit", methods=["GET", "POST"])
    @staff_web.requires(staff.EDIT_DRAFTS, department=lambda department_id: department_id)
    def edit(department_id: int) -> str:
        return f"editing in {department_id}"

    @views.get("/admin")
    @staff_web.requires(staff.MANAGE_USERS)
    def admin() -> str:
        return "users"

    return views


def make_staff_app(settings: Settings, **overrides: Any) -> Flask:
    """The staff blueprints (sign-in and single sign-on) and protected_views on the shared shell,
    with these settings changed."""
    app = create_base_app(
        __name__, STAFF_TEST_FACE, {"SETTINGS": dataclasses.replace(settings, **overrides), "TESTING": True}
    )
    app.register_blueprint(staff_web.bp)
    app.register_blueprint(sso_web.bp)
    app.register_blueprint(protected_views())
    # The shared error page links to the citizen's list of services.
    app.add_url_rule("/services", "citizen.home", lambda: "services")
    return app


@contextmanager
def staff_clients(settings: Settings) -> Iterator[Callable[..., FlaskClient]]:
    """``build(**overrides)``: a test client of make_staff_app(settings, **overrides); every app
    built lets go of its database engine when the block ends."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> FlaskClient:
        app = make_staff_app(settings, **overrides)
        apps.append(app)
        return app.test_client()

    try:
        yield build
    finally:
        for app in apps:
            app.extensions["civicforms.engine"].dispose()

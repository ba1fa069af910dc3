"""Back office fixtures: the casework app on the same fresh database as the other tests, its
test client (served under /casework, as in production), staff with case roles who sign in,
and cases opened as the citizen runtime opens them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from runtime import cases, versions
from runtime import db as dbmod
from runtime import staff as core
from runtime.data import departments, submissions
from runtime.models import Case, CaseEvent, CaseEventComment, OutboxMessage, Service, StaffRole, StaffUser, utcnow
from runtime.settings import Settings
from runtime.web.casework import PREFIX, create_casework_app
from tests.conftest import page

PASSWORD = "correct horse battery staple"
SERVICE = "blue-badge"
OTHER_SERVICE = "missed-bin-collection"  # another department (Waste and Recycling)
# A whole blue badge application, as the citizen runtime stores it (valid against the schema).
BLUE_BADGE_ANSWERS: dict[str, Any] = {
    "lives_in_area": True,
    "gets_qualifying_benefit": False,
    "walking_difficulties": ["pain", "fatigue"],
    "walking_distance": "under_20_metres",
    "condition_description": "Arthritis in both knees.",
    "full_name": "Ada Lovelace",
    "date_of_birth": "1950-07-03",
    "ni_number": "AB123456C",
    "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
    "email": "ada@example.com",
    "phone": "01632 960 001",
}


@pytest.fixture
def casework_app(settings: Settings) -> Iterator[Flask]:
    app = create_casework_app({"SETTINGS": settings, "TESTING": True})
    yield app
    app.extensions["civicforms.engine"].dispose()


@pytest.fixture
def casework(casework_app: Flask) -> FlaskClient:
    """A browser on the back office, not signed in: paths are relative to /casework."""
    return casework_app.test_client()


class Office:
    """Staff, cases and what is stored, in the back office's database."""

    def __init__(self, app: Flask):
        self.app = app
        self.engine = app.extensions["civicforms.engine"]
        self.secret = app.extensions["civicforms.settings"].secret_key
        self.count = 0
        self.department = self.department_of(SERVICE)
        self.other_department = self.department_of(OTHER_SERVICE)

    def session(self) -> Session:
        return dbmod.session(self.engine)

    def department_of(self, service_id: str) -> int:
        with self.session() as s:
            service = s.get(Service, service_id)
            if service is not None and service.department_id is not None:
                return service.department_id
            definition = versions.definition(session=s, service_id=service_id)
            assert definition is not None
            department = departments.department_for_name(session=s, name=definition.department)
            s.commit()
            assert department.id is not None
            return department.id

    def staff(self, name: str, *roles: str, department: int | None = None, email: str | None = None) -> StaffUser:
        """A staff member with these roles in one department (the blue badge team's by default)."""
        self.count += 1
        where = department or self.department
        with self.session() as s:
            user = core.create_user(
                session=s,
                email=email or f"staff{self.count}@westbridge.example.gov.uk",
                name=name,
                department_id=where,
                role=roles[0],
                password=PASSWORD,
            ).user
            for role in roles[1:]:
                s.add(StaffRole(user_id=user.id, department_id=where, role=role))
            s.commit()
            s.refresh(user)
            s.expunge(user)
            return user

    def add_role(self, user: StaffUser, department: int, role: str) -> None:
        with self.session() as s:
            s.add(StaffRole(user_id=user.id, department_id=department, role=role))
            s.commit()

    def sign_in(self, user: StaffUser) -> FlaskClient:
        client = self.app.test_client()
        form = {"email": user.email, "password": PASSWORD, "csrf_token": csrf(client, "/sign-in")}
        response = client.post("/sign-in", data=form)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        return client

    def new_case(
        self,
        name: str | None = "Ada Lovelace",
        email: str | None = "ada@example.com",
        service_id: str = SERVICE,
        answers: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> str:
        """A submission and its case, opened as the citizen runtime does; returns the reference."""
        if answers is None:
            answers = BLUE_BADGE_ANSWERS if service_id == SERVICE else {}
        given = {k: v for k, v in answers.items() if k not in ("full_name", "email")}
        if name is not None:
            given["full_name"] = name
        if email is not None:
            given["email"] = email
        with self.session() as s:
            definition = versions.definition(session=s, service_id=service_id)
            assert definition is not None
            submission = submissions.create_submission(session=s, service=definition, answers=given)
            case = cases.open_case(
                s,
                submission=submission,
                definition=definition,
                now=now or utcnow(),
                secret_key=self.secret,
                urls=cases.CaseUrls("https://forms.example.gov.uk"),
            )
            s.commit()
            return case.reference

    def case(self, reference: str) -> Case:
        with self.session() as s:
            found = s.exec(select(Case).where(Case.reference == reference)).one()
            s.expunge(found)
            return found

    def update_case(self, reference: str, **values: Any) -> None:
        """Change a case behind the web's back (a deadline in the past, a closed case)."""
        with self.session() as s:
            found = s.exec(select(Case).where(Case.reference == reference)).one()
            for key, value in values.items():
                setattr(found, key, value)
            s.add(found)
            s.commit()

    def events(self, reference: str) -> list[tuple[str, str | None, str | None, str | None]]:
        case_id = self.case(reference).id
        with self.session() as s:
            rows = s.exec(
                select(CaseEvent, CaseEventComment.text)  # type: ignore[call-overload]
                .outerjoin(CaseEventComment, col(CaseEventComment.event_id) == CaseEvent.id)
                .where(CaseEvent.case_id == case_id)
                .order_by(col(CaseEvent.id))
            ).all()
            return [(e.action, e.from_state, e.to_state, text) for e, text in rows]

    def outbox(self, kind: str | None = None) -> list[OutboxMessage]:
        with self.session() as s:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            if kind:
                query = query.where(OutboxMessage.kind == kind)
            return list(s.exec(query))

    def user(self, user_id: int) -> StaffUser:
        with self.session() as s:
            found = s.get(StaffUser, user_id)
            assert found is not None
            s.expunge(found)
            return found


@pytest.fixture
def office(casework_app: Flask) -> Office:
    return Office(casework_app)


def csrf(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    field = page(response).select_one("input[name=csrf_token]")
    assert field is not None, f"no CSRF token on {url}"
    return str(field["value"])


def case_url(reference: str, action: str = "") -> str:
    return f"/cases/{reference}" + (f"/{action}" if action else "")


def case_form(client: FlaskClient, reference: str, selector: str) -> dict[str, str]:
    """The hidden fields of a form on the case page (CSRF token, lock version, action...)."""
    soup = page(client.get(case_url(reference)))
    form = soup.select_one(selector)
    assert form is not None, f"no {selector} on the case page"
    return {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}


def action_form(client: FlaskClient, reference: str, action: str) -> dict[str, str]:
    soup = page(client.get(case_url(reference)))
    for form in soup.select("form.cf-case-action"):
        field = form.select_one("input[name=action]")
        if field is not None and field["value"] == action:
            return {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}
    raise AssertionError(f"no {action} button on the case page")


def errors_of(soup: BeautifulSoup) -> list[str]:
    return [a.get_text(" ", strip=True) for a in soup.select(".govuk-error-summary__list a")]


def banner(soup: BeautifulSoup) -> str:
    found = soup.select_one(".govuk-notification-banner")
    return found.get_text(" ", strip=True) if found else ""


def inbox_references(soup: BeautifulSoup) -> list[str]:
    return [str(tr["data-reference"]) for tr in soup.select("table.cf-inbox tbody tr")]


__all__ = ["PREFIX"]

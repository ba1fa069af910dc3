"""Builder fixtures: the builder app on the same fresh database as the citizen tests, its test
client (served under /builder, as in production), and staff members who sign in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, delete

from builder.web import create_builder_app
from runtime import db as dbmod
from runtime import staff as core
from runtime.data import departments
from runtime.models import Service, StaffRole, StaffUser
from runtime.settings import Settings
from tests.conftest import page

PASSWORD = "correct horse battery staple"


@pytest.fixture
def builder_app(settings: Settings) -> Iterator[Flask]:
    app = create_builder_app({"SETTINGS": settings, "TESTING": True})
    yield app
    app.extensions["civicforms.engine"].dispose()


@pytest.fixture
def builder(builder_app: Flask) -> FlaskClient:
    """A browser on the builder: paths are relative to /builder (APPLICATION_ROOT)."""
    return builder_app.test_client()


class StaffMembers:
    """Makes staff accounts in the builder's database and signs them in through the sign-in page."""

    def __init__(self, app: Flask):
        self.app = app
        self.count = 0

    def department_of(self, service_id: str) -> int:
        with dbmod.session(self.app.extensions["civicforms.engine"]) as s:
            service = s.get(Service, service_id)
            assert service is not None and service.department_id is not None
            return service.department_id

    def department(self, name: str) -> int:
        with dbmod.session(self.app.extensions["civicforms.engine"]) as s:
            department = departments.department_for_name(session=s, name=name)
            s.commit()
            assert department.id is not None
            return department.id

    def create(self, *, roles: list[tuple[int, str]], name: str = "Sam Designer") -> StaffUser:
        """A staff member with these (department id, role) pairs; none at all is allowed too."""
        self.count += 1
        email = f"staff{self.count}@westbridge.example.gov.uk"
        with dbmod.session(self.app.extensions["civicforms.engine"]) as s:
            first = roles[0] if roles else (self.department("General"), core.DESIGNER)
            user = core.create_user(
                session=s, email=email, name=name, department_id=first[0], role=first[1], password=PASSWORD
            ).user
            if not roles:
                s.exec(delete(StaffRole).where(col(StaffRole.user_id) == user.id))  # type: ignore[call-overload]
            for department_id, role in roles[1:]:
                s.add(StaffRole(user_id=user.id, department_id=department_id, role=role))
            s.commit()
            s.refresh(user)
            s.expunge(user)
            return user

    def sign_in(self, user: StaffUser) -> FlaskClient:
        """A new browser, signed in as the staff member."""
        client = self.app.test_client()
        token = page(client.get("/sign-in")).select_one("input[name=csrf_token]")
        assert token is not None
        form = {"email": user.email, "password": PASSWORD, "csrf_token": token["value"]}
        response = client.post("/sign-in", data=form)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        return client


@pytest.fixture
def staff(builder_app: Flask) -> StaffMembers:
    return StaffMembers(builder_app)

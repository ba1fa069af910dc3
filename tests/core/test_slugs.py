"""One slug rule (runtime.slugs) for department slugs, suggested service ids and the builder's ids,
with the department slugs stored under the rule before it still found by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from runtime import db as dbmod
from runtime import slugs
from runtime.cli import main
from runtime.data import departments as department_data
from runtime.models import Department
from tests.conftest import STAFF_PASSWORD

NAME = "Café and Leisure Services"


def test_a_department_slug_and_a_builder_id_agree() -> None:
    assert department_data.department_slug(NAME) == slugs.slug(NAME) == "cafe-and-leisure-services"
    assert slugs.slug(NAME, "_") == "cafe_and_leisure_services"
    assert slugs.slug("Partner’s income – Café", "-") == "partners-income-cafe"
    assert slugs.slug("x" * 100) == "x" * 60  # one long word is cut
    assert slugs.slug(" ".join(["word"] * 30)) == "-".join(["word"] * 12)  # whole words only
    assert slugs.slug("") == slugs.slug("!!! –– ???") == slugs.slug("\x00\ud800") == ""


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        yield s
    engine.dispose()


def test_a_department_stored_under_the_old_rule_is_still_found_by_its_name(database_url: str, session: Session) -> None:
    session.add(Department(slug=slugs.legacy_department_slug(NAME), name=NAME))  # "caf-and-leisure-services"
    session.commit()
    env = {
        "CIVICFORMS_DATABASE_URL": database_url,
        "CIVICFORMS_SECRET_KEY": "k" * 40,
        "CIVICFORMS_ENV": "test",
        "CIVICFORMS_BASE_URL": "https://forms.example.gov.uk",
    }
    args = ["users", "create", "--email", "cafe@example.gov.uk", "--name", "Cai", "--role", "designer"]
    result = CliRunner().invoke(
        main, [*args, "--department", NAME], env=env, input=STAFF_PASSWORD + "\n", catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    session.expire_all()
    departments = session.exec(select(Department).where(Department.name == NAME)).all()
    assert [d.slug for d in departments] == ["caf-and-leisure-services"]  # found, not made again
    assert department_data.department_for_name(session=session, name=NAME).slug == "caf-and-leisure-services"

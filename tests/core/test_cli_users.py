"""``civicforms users create`` and ``civicforms users list`` as IT runs them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from runtime import db as dbmod
from runtime import staff
from runtime.cli import main
from runtime.models import Department, StaffRole, StaffSetupToken, StaffUser
from tests.conftest import STAFF_PASSWORD

SECRET = "k" * 40


@pytest.fixture
def env(database_url: str) -> dict[str, str | None]:
    return {
        "CIVICFORMS_DATABASE_URL": database_url,
        "CIVICFORMS_SECRET_KEY": SECRET,
        "CIVICFORMS_ENV": "test",
        "CIVICFORMS_BASE_URL": "https://forms.example.gov.uk",
    }


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        yield s
    engine.dispose()


def run(env: dict[str, str | None], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)


def create(
    env: dict[str, str | None], *extra: str, stdin: str | None = STAFF_PASSWORD + "\n", **options: str
) -> Result:
    values = {"email": "dana@example.gov.uk", "name": "Dana Designer", "department": "Council Tax", "role": "designer"}
    values.update(options)
    args = ["users", "create"]
    for key, value in values.items():
        args += [f"--{key}", value]
    return run(env, *args, *extra, stdin=stdin)


def users(session: Session) -> list[StaffUser]:
    session.expire_all()
    return list(session.exec(select(StaffUser)))


def test_create_with_a_password_from_standard_input(env: dict[str, str | None], session: Session) -> None:
    result = create(env, email="  Dana@Example.GOV.uk ")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created dana@example.gov.uk: designer in Council Tax"
    [user] = users(session)
    assert user.email == "dana@example.gov.uk" and user.name == "Dana Designer"
    assert staff.verify_password(user, STAFF_PASSWORD)
    role = session.exec(select(StaffRole)).one()
    department = session.get(Department, role.department_id)
    assert department is not None and department.slug == "council-tax" and role.role == "designer"


def test_department_by_slug_or_any_case(env: dict[str, str | None], session: Session) -> None:
    assert create(env, department="council-tax").exit_code == 0
    assert create(env, email="b@example.gov.uk", department="COUNCIL TAX").exit_code == 0
    assert len({r.department_id for r in session.exec(select(StaffRole))}) == 1


def test_create_with_a_set_up_link(env: dict[str, str | None], session: Session) -> None:
    result = create(env, "--setup-link", stdin=None, role="Reviewer")
    assert result.exit_code == 0, result.output
    match = re.search(r"^https://forms\.example\.gov\.uk/builder/set-up/([A-Za-z0-9_-]{40,})$", result.output, re.M)
    assert match, result.output
    [user] = users(session)
    assert user.password_hash is None
    token = session.exec(select(StaffSetupToken)).one()
    assert token.id == hashlib.sha256(match.group(1).encode()).hexdigest()
    assert match.group(1) not in token.id


def test_a_set_up_link_needs_the_base_url(env: dict[str, str | None], session: Session) -> None:
    result = create({**env, "CIVICFORMS_BASE_URL": None}, "--setup-link", stdin=None)
    assert result.exit_code == 1
    assert "CIVICFORMS_BASE_URL" in result.output
    assert users(session) == []


def test_an_unknown_department_is_made_only_when_asked(env: dict[str, str | None], session: Session) -> None:
    result = create(env, department="Highways")
    assert result.exit_code == 1
    assert "no department called 'Highways'" in result.output and "--create-department" in result.output
    assert users(session) == []
    result = create(env, "--create-department", department="Highways")
    assert result.exit_code == 0, result.output
    assert session.exec(select(Department).where(Department.slug == "highways")).one().name == "Highways"


@pytest.mark.parametrize(
    ("options", "stdin", "message"),
    [
        ({"email": ""}, STAFF_PASSWORD, "--email: Enter an email address"),
        ({"email": "not-an-email"}, STAFF_PASSWORD, "--email: Enter an email address in the correct format"),
        ({"email": "<script>alert(1)</script>@x.com"}, STAFF_PASSWORD, "correct format"),
        ({"email": "a" * 10_000 + "@x.com"}, STAFF_PASSWORD, "correct format"),
        ({"name": "   "}, STAFF_PASSWORD, "--name: Enter the person's full name"),
        ({"name": "x" * 10_000}, STAFF_PASSWORD, "200 characters or fewer"),
        ({"name": "Dana\x00Designer"}, STAFF_PASSWORD, "--name: Name must only contain"),
        ({"role": "owner"}, STAFF_PASSWORD, "--role: Role must be one of: designer, reviewer, admin"),
        ({"department": "!!!"}, STAFF_PASSWORD, "--department: enter a department name"),
        ({"department": "x" * 10_000}, STAFF_PASSWORD, "--department"),
        ({}, "", "no password given on standard input"),
        ({}, "\n", "no password given on standard input"),
        ({}, "short\n", "password: Password must be 12 characters or more"),
        ({}, "long enough\x00password\n", "NUL"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    env: dict[str, str | None], session: Session, options: dict[str, str], stdin: str, message: str
) -> None:
    result = create(env, stdin=stdin, **options)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert users(session) == []


def test_a_second_account_for_the_same_email_is_refused(env: dict[str, str | None], session: Session) -> None:
    assert create(env).exit_code == 0
    result = create(env, email="DANA@example.gov.uk", name="Someone Else")
    assert result.exit_code == 1
    assert "already has an account" in result.output
    assert [u.name for u in users(session)] == ["Dana Designer"]


def test_missing_options_are_a_usage_error(env: dict[str, str | None]) -> None:
    result = run(env, "users", "create", "--email", "dana@example.gov.uk")
    assert result.exit_code == 2
    assert "Missing option" in result.output


def test_list_when_empty_and_with_accounts(env: dict[str, str | None], session: Session) -> None:
    empty = run(env, "users", "list")
    assert empty.exit_code == 0
    assert "no staff accounts yet" in empty.output
    assert create(env, name="Zed Admin", email="zed@example.gov.uk", role="admin").exit_code == 0
    assert create(env, "--setup-link", name="Amy Invited", email="amy@example.gov.uk", stdin=None).exit_code == 0
    listed = run(env, "users", "list")
    assert listed.exit_code == 0
    lines = listed.output.strip().splitlines()
    assert lines == [
        "amy@example.gov.uk\tAmy Invited\tinvited\tCouncil Tax: designer",
        "zed@example.gov.uk\tZed Admin\tactive\tCouncil Tax: admin",
    ]

"""The staff-account use cases (runtime/services/accounts.py) called directly, without Flask:
each one commits what it did (seen from a second connection), or raises a domain error with a
field and a message and leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from runtime import db as dbmod
from runtime import staff as core
from runtime.data.departments import department_for_name
from runtime.models import Department, StaffRole, StaffSession, StaffSetupToken, StaffUser
from runtime.services import accounts
from tests.conftest import STAFF_PASSWORD, StaffFactory

NEW_PASSWORD = "a long enough new passphrase"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = dbmod.make_engine(database_url)
    yield made
    made.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with dbmod.session(engine) as s:
        yield s


def _other(engine: Engine) -> Session:
    """A second connection: sees only what was committed."""
    return dbmod.session(engine)


def _department(session: Session, name: str) -> int:
    found = department_for_name(session=session, name=name)
    session.commit()
    assert found.id is not None
    return found.id


def _users(engine: Engine, email: str) -> list[StaffUser]:
    with _other(engine) as s:
        return list(s.exec(select(StaffUser).where(StaffUser.email == email)))


def _sessions(engine: Engine, user_id: int) -> int:
    with _other(engine) as s:
        return len(list(s.exec(select(StaffSession).where(StaffSession.user_id == user_id))))


# -- what admins do -------------------------------------------------------------------------------


def test_invite_commits_the_account_its_role_and_one_set_up_link(
    engine: Engine, session: Session, staff: StaffFactory
) -> None:
    admin = staff(email="ada@example.gov.uk", name="Ada Admin", role="admin")
    highways = _department(session, "Highways")
    created = accounts.invite(
        session=session,
        actor=admin.id,
        email=" Sam@Example.GOV.uk ",
        name="Sam Smith",
        department_id=highways,
        role="reviewer",
    )
    assert created.setup_token
    (row,) = _users(engine, "sam@example.gov.uk")
    with _other(engine) as s:
        roles = list(s.exec(select(StaffRole.role).where(StaffRole.user_id == row.id)))
        links = list(s.exec(select(StaffSetupToken).where(StaffSetupToken.user_id == row.id)))
    assert (row.name, row.password_hash, roles, len(links)) == ("Sam Smith", None, ["reviewer"], 1)


@pytest.mark.parametrize(
    ("email", "name", "role", "field"),
    [
        ("", "Sam Smith", "reviewer", "email"),
        ("not an email", "Sam Smith", "reviewer", "email"),
        ("sam@example.gov.uk\r\nBcc: x@example.com", "Sam Smith", "reviewer", "email"),
        ("sam@example.gov.uk", "", "reviewer", "name"),
        ("sam@example.gov.uk", "<script>" * 5000, "reviewer", "name"),
        ("sam@example.gov.uk", "Sam Smith", "owner", "role"),
        ("sam@example.gov.uk", "Sam Smith", "admin'; DROP TABLE staff_user; --", "role"),
    ],
)
def test_invite_refuses_bad_input_with_a_field_and_writes_nothing(
    engine: Engine, session: Session, email: str, name: str, role: str, field: str
) -> None:
    highways = _department(session, "Highways")
    with pytest.raises(core.StaffError) as refused:
        accounts.invite(session=session, actor=None, email=email, name=name, department_id=highways, role=role)
    assert refused.value.field == field and refused.value.message
    with _other(engine) as s:
        assert list(s.exec(select(StaffUser))) == []


def test_a_second_invitation_for_the_same_email_is_refused_and_the_first_is_kept(
    engine: Engine, session: Session
) -> None:
    highways = _department(session, "Highways")
    accounts.invite(
        session=session, actor=None, email="sam@example.gov.uk", name="Sam", department_id=highways, role="designer"
    )
    with pytest.raises(core.StaffError, match="already has an account") as refused:
        accounts.invite(
            session=session, actor=None, email="SAM@example.gov.uk", name="Other", department_id=highways, role="admin"
        )
    assert refused.value.field == "email"
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.name == "Sam"


def test_change_roles_is_all_or_nothing_and_names_the_department_refused(
    engine: Engine, session: Session, staff: StaffFactory
) -> None:
    ada = staff(email="ada@example.gov.uk", name="Ada Admin", role="admin", roles={"Parks": ["admin"]})
    bob = staff(email="bob@example.gov.uk", name="Bob", role="admin", roles={"Parks": ["designer"]})
    assert ada.id is not None and bob.id is not None
    highways, parks = _department(session, "Highways"), _department(session, "Parks")
    # Parks' change is fine on its own; Highways' would leave Ada its only admin... of Parks: refused.
    with pytest.raises(accounts.RolesRefused) as refused:
        accounts.change_roles(
            session=session, actor=bob.id, user_id=ada.id, roles={highways: {"reviewer"}, parks: {"designer"}}
        )
    assert (refused.value.field, refused.value.department_id) == ("roles", parks)
    assert "only admin of Parks" in refused.value.message
    with _other(engine) as s:
        kept = core.roles_by_department(s, ada.id)
    assert kept == {highways: frozenset({"admin"}), parks: frozenset({"admin"})}  # Highways unchanged too


def test_deactivate_commits_and_signs_out_and_refuses_yourself(
    engine: Engine, session: Session, staff: StaffFactory
) -> None:
    ada = staff(email="ada@example.gov.uk", role="admin")
    sam = staff(email="sam@example.gov.uk", role="designer")
    assert ada.id is not None and sam.id is not None
    with _other(engine) as s:
        target = s.get(StaffUser, sam.id)
        assert target is not None
        core.start_session(session=s, user=target, max_age_minutes=60)
        s.commit()
    with pytest.raises(core.StaffError, match="your own account"):
        accounts.deactivate(session=session, actor=ada.id, user_id=ada.id)
    accounts.deactivate(session=session, actor=ada.id, user_id=sam.id)
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.active is False and _sessions(engine, sam.id) == 0
    accounts.reactivate(session=session, actor=ada.id, user_id=sam.id)
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.active is True


def test_account_actions_on_nobody_or_yourself_are_domain_errors(session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", role="admin")
    assert ada.id is not None
    for act in (accounts.reset_second_factor, accounts.unlink_single_sign_on, accounts.sign_out_everywhere):
        with pytest.raises(core.StaffError) as refused:
            act(session=session, actor=ada.id, user_id=ada.id)
        assert refused.value.field == "confirm"
    for act in (accounts.deactivate, accounts.unlock, accounts.reset_second_factor, accounts.new_setup_link):
        with pytest.raises(core.StaffError, match="No such staff member"):
            act(session=session, actor=ada.id, user_id=10**9)


def test_a_deactivated_account_gets_no_set_up_link(engine: Engine, session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", role="admin")
    sam = staff(email="sam@example.gov.uk", role="designer")
    assert sam.id is not None
    accounts.deactivate(session=session, actor=ada.id, user_id=sam.id)
    with pytest.raises(core.StaffError, match="Reactivate the account first"):
        accounts.new_setup_link(session=session, actor=ada.id, user_id=sam.id)
    with _other(engine) as s:
        assert list(s.exec(select(StaffSetupToken).where(StaffSetupToken.user_id == sam.id))) == []


# -- set-up links and signing in -----------------------------------------------------------------


def test_a_set_up_link_chooses_a_password_once(engine: Engine, session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", role="admin")
    highways = _department(session, "Highways")
    created = accounts.invite(
        session=session, actor=ada.id, email="sam@example.gov.uk", name="Sam", department_id=highways, role="designer"
    )
    assert created.setup_token is not None
    with pytest.raises(core.StaffError) as weak:
        accounts.choose_password(session=session, token=created.setup_token, password="short")
    assert weak.value.field == "password"
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.password_hash is None  # the weak password was not kept, and the link still works
    accounts.choose_password(session=session, token=created.setup_token, password=NEW_PASSWORD)
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.password_hash
    for token in (created.setup_token, "", "x" * 10_000, "' OR 1=1 --"):
        with pytest.raises(core.StaffError) as used:
            accounts.choose_password(session=session, token=token, password=NEW_PASSWORD)
        assert used.value.field == "token"


def test_a_wrong_password_is_counted_even_though_sign_in_fails(
    engine: Engine, session: Session, staff: StaffFactory
) -> None:
    sam = staff(email="sam@example.gov.uk")
    for password in ("wrong", "", "x" * 1001):
        with pytest.raises(core.SignInError, match="correct email address and password"):
            accounts.sign_in_with_password(
                session=session, email="sam@example.gov.uk", password=password, max_attempts=5, lock_minutes=15
            )
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.failed_sign_ins == 3
    user = accounts.sign_in_with_password(
        session=session, email="sam@example.gov.uk", password=STAFF_PASSWORD, max_attempts=5, lock_minutes=15
    )
    token = accounts.start_session(session=session, user=user, max_age_minutes=60)
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.failed_sign_ins == 0 and row.last_sign_in_at is not None
    assert sam.id is not None and _sessions(engine, sam.id) == 1
    accounts.sign_out(session=session, token=token, user_id=sam.id, everywhere=False)
    assert _sessions(engine, sam.id) == 0


def test_an_empty_or_wrong_authenticator_code_turns_nothing_on(
    engine: Engine, session: Session, staff: StaffFactory
) -> None:
    staff(email="sam@example.gov.uk")
    user = session.exec(select(StaffUser).where(StaffUser.email == "sam@example.gov.uk")).one()
    secret = core.new_totp_secret()
    for code in ("", "   ", "000000", "1" * 20):
        with pytest.raises(core.StaffError) as refused:
            accounts.enrol_second_factor(session=session, user=user, secret=secret, code=code)
        assert refused.value.field == "code"
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.totp_secret is None


def test_single_sign_on_links_only_when_the_session_starts(
    engine: Engine, session: Session, staff: StaffFactory
) -> None:
    sam = staff(email="sam@example.gov.uk")
    assert sam.id is not None
    owed = accounts.sign_in_with_sso(
        session=session,
        issuer="https://idp.example",
        subject="abc",
        email="sam@example.gov.uk",
        second_factor_owed=True,
        max_age_minutes=60,
    )
    assert owed.token is None and owed.user.id == sam.id
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.oidc_subject is None and _sessions(engine, sam.id) == 0
    signed = accounts.sign_in_with_sso(
        session=session,
        issuer="https://idp.example",
        subject="abc",
        email="sam@example.gov.uk",
        second_factor_owed=False,
        max_age_minutes=60,
    )
    assert signed.token
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.oidc_subject == "abc" and _sessions(engine, sam.id) == 1
    with pytest.raises(core.SignInError, match="no active Civic Forms account"):
        accounts.sign_in_with_sso(
            session=session,
            issuer="https://idp.example",
            subject="someone-else",
            email="nobody@example.gov.uk",
            second_factor_owed=False,
            max_age_minutes=60,
        )


# -- civicforms users create ----------------------------------------------------------------------


def test_create_user_makes_the_department_only_with_the_account(
    engine: Engine, session: Session, staff: StaffFactory
) -> None:
    with pytest.raises(accounts.NoSuchDepartment):
        accounts.create_user(
            session=session,
            actor=None,
            email="sam@example.gov.uk",
            name="Sam",
            department="Parks",
            role="admin",
            password=NEW_PASSWORD,
        )
    staff(email="taken@example.gov.uk")
    with pytest.raises(core.StaffError) as refused:  # refused once the department is made: it goes too
        accounts.create_user(
            session=session,
            actor=None,
            email="taken@example.gov.uk",
            name="Sam",
            department="Parks",
            role="admin",
            password=NEW_PASSWORD,
            create_department=True,
        )
    assert refused.value.field == "email"
    with pytest.raises(core.StaffError) as weak:
        accounts.create_user(
            session=session,
            actor=None,
            email="sam@example.gov.uk",
            name="Sam",
            department="Parks",
            role="admin",
            password="sam@example.gov.uk",
            create_department=True,
        )
    assert weak.value.field == "password"
    for hostile in ("", "\x00Parks", "P" * 201):
        with pytest.raises(core.StaffError) as bad:
            accounts.create_user(
                session=session,
                actor=None,
                email="sam@example.gov.uk",
                name="Sam",
                department=hostile,
                role="admin",
                password=NEW_PASSWORD,
                create_department=True,
            )
        assert bad.value.field == "department"
    with _other(engine) as s:
        assert list(s.exec(select(Department).where(col(Department.name) == "Parks"))) == []
    done = accounts.create_user(
        session=session,
        actor=None,
        email="sam@example.gov.uk",
        name="Sam",
        department="Parks",
        role="admin",
        password=NEW_PASSWORD,
        create_department=True,
    )
    assert done.department.name == "Parks" and done.created.setup_token is None
    (row,) = _users(engine, "sam@example.gov.uk")
    assert row.password_hash

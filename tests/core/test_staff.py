"""Staff accounts without a web server: passwords, TOTP, lock-out, roles, set-up links, accounts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import event
from sqlmodel import Session, select

from runtime import db as dbmod
from runtime import staff as core
from runtime.data.departments import department_for_name
from runtime.models import StaffRole, StaffSetupToken, StaffUser, utcnow
from tests.conftest import STAFF_PASSWORD, StaffFactory


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        yield s
    engine.dispose()


def count_queries(session: Session) -> Any:
    """A list that fills with each SQL statement the session's engine runs."""
    statements: list[str] = []
    engine = session.get_bind().engine

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    return statements


# -- roles and permissions --------------------------------------------------------------------


def test_the_permission_table_is_the_one_in_the_design() -> None:
    """docs/builder-design.md, "Roles", row by row (the last two columns: docs/workflow-design.md)."""
    table = {
        core.VIEW_SERVICES: (True, True, True, False, False, False, False),
        core.EDIT_DRAFTS: (True, False, False, False, False, False, False),
        core.PUBLISH_OWN: (True, True, False, False, False, False, False),
        core.PUBLISH_OTHERS: (False, True, False, False, False, False, False),
        core.SEE_HISTORY: (False, True, False, False, False, False, False),
        core.ROLL_BACK: (False, True, False, False, False, False, False),
        core.MANAGE_USERS: (False, False, True, False, False, False, False),
        core.DEPARTMENT_SETTINGS: (False, False, True, False, False, False, False),
        core.EDIT_DEFINITION_FILE: (False, False, True, False, False, False, False),
        core.MOVE_SERVICES: (True, False, True, False, False, False, False),
        core.WORK_CASES: (False, False, False, True, True, False, False),
        core.ASSIGN_OTHERS: (False, False, False, False, True, False, False),
        # docs/citizen-records.md: records officer and data protection officer (the last two).
        core.VIEW_RECORDS: (False, False, False, True, True, True, True),
        core.REVIEW_RECORDS: (False, False, False, False, True, True, False),
        core.SHARING_AGREEMENTS: (False, False, True, False, False, False, True),
        core.DATA_PROTECTION: (False, False, False, False, False, False, True),
        core.LEGAL_HOLD: (False, False, False, False, True, False, True),
        # docs/casework.md: the reports and the audit of actions on cases (issue 17).
        core.VIEW_REPORTS: (False, False, True, False, True, False, False),
    }
    assert core.ROLES == ("designer", "reviewer", "admin", "caseworker", "manager", "records", "dpo")
    assert set(core.PERMISSIONS) == set(table)
    for permission, expected in table.items():
        got = tuple(core.has_permission({role}, permission) for role in core.ROLES)
        assert got == expected, permission
        assert not core.has_permission(set(), permission)


def test_roles_add_up() -> None:
    assert core.has_permission(["designer", "reviewer"], core.PUBLISH_OTHERS)
    assert core.has_permission(frozenset({"admin", "designer"}), core.EDIT_DRAFTS)


def test_an_unknown_permission_is_an_error_not_a_no() -> None:
    with pytest.raises(KeyError):
        core.has_permission({"admin"}, "publish_everything")


def test_roles_by_department(session: Session, staff: StaffFactory) -> None:
    user = staff(department="Highways", role="designer", roles={"Highways": ["reviewer"], "Revenues": ["admin"]})
    assert user.id is not None
    highways = department_for_name(session=session, name="Highways")
    revenues = department_for_name(session=session, name="Revenues")
    assert staff_roles(session, user.id) == {
        highways.id: frozenset({"designer", "reviewer"}),
        revenues.id: frozenset({"admin"}),
    }


def staff_roles(session: Session, user_id: int) -> dict[int | None, frozenset[str]]:
    return dict(core.roles_by_department(session, user_id))


# -- what staff type ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Dana.Smith@Westbridge.GOV.uk ", "dana.smith@westbridge.gov.uk"),
        ("o'neil+x@council.gov.uk", "o'neil+x@council.gov.uk"),
    ],
)
def test_emails_are_normalised_to_lower_case(text: str, expected: str) -> None:
    assert core.check_email(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an email address"),
        ("   ", "Enter an email address"),
        ("dana", "correct format"),
        ("dana@localhost", "correct format"),
        ("<script>alert(1)</script>@example.com", "correct format"),
        ("dana\x00@example.com", "correct format"),
        ("dana smith@example.com", "correct format"),
        ("a" * 10_000 + "@example.com", "correct format"),
    ],
)
def test_bad_emails_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(core.StaffError) as caught:
        core.check_email(text)
    assert caught.value.field == "email"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Enter the person's full name"), ("a" * 10_000, "200 characters or fewer"), ("Dana\x00", "letters")],
)
def test_bad_names_are_refused(text: str, message: str) -> None:
    with pytest.raises(core.StaffError, match=message):
        core.check_name(text)


def test_names_keep_what_people_type_but_tidy_spaces() -> None:
    assert core.check_name("  Siân   O'Neil-Ó Briain ") == "Siân O'Neil-Ó Briain"
    assert core.check_name("<b>Dana</b>") == "<b>Dana</b>"  # just text: escaped wherever shown


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Enter a password"),
        ("short pass", "12 characters or more"),
        ("x" * 1001, "1000 characters or fewer"),
        ("long enough pass\x00", "NUL"),
        ("aaaaaaaaaaaaaaaa", "harder to guess"),
        ("dana@example.gov.uk", "harder to guess"),
    ],
)
def test_password_rules(password: str, message: str) -> None:
    with pytest.raises(core.StaffError, match=message):
        core.check_password(password, email="dana@example.gov.uk", name="Dana")


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(core.StaffError, match="designer, reviewer, admin"):
        core.check_role("superuser")
    assert core.check_role(" Reviewer ") == "reviewer"


# -- passwords ------------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2id_and_verified() -> None:
    user = StaffUser(email="a@example.gov.uk", name="A", password_hash=core.hash_password(STAFF_PASSWORD))
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert STAFF_PASSWORD not in user.password_hash
    assert core.verify_password(user, STAFF_PASSWORD)
    assert not core.verify_password(user, STAFF_PASSWORD.upper())
    assert not core.verify_password(StaffUser(email="b@x.uk", name="B"), STAFF_PASSWORD)
    assert not core.verify_password(StaffUser(email="c@x.uk", name="C", password_hash="not a hash"), STAFF_PASSWORD)


def test_the_product_hashes_with_argon2_cffis_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite swaps in cheap parameters (tests/conftest.py); the product's own are the defaults.
    import importlib
    import sys

    import runtime

    # A fresh import, undone afterwards in sys.modules AND in the package: the import also sets
    # runtime.staff, and a module imported later on this worker would then take the fresh copy,
    # whose StaffError the views' "except core.StaffError" does not catch (500s in the builder's
    # admin tests when they ran after this file on one xdist worker).
    monkeypatch.setattr(runtime, "staff", core)
    monkeypatch.delitem(sys.modules, "runtime.staff")
    fresh = importlib.import_module("runtime.staff")
    assert fresh is not core
    assert fresh._hasher.time_cost == PasswordHasher().time_cost
    assert fresh._hasher.memory_cost == PasswordHasher().memory_cost
    assert fresh._hasher.parallelism == PasswordHasher().parallelism


def test_a_hash_made_with_old_parameters_is_upgraded_at_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "_hasher", PasswordHasher())  # the product's parameters, not the suite's
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(STAFF_PASSWORD)
    user = StaffUser(email="a@example.gov.uk", name="A", password_hash=old)
    assert core.verify_password(user, STAFF_PASSWORD)
    assert user.password_hash != old
    assert not PasswordHasher().check_needs_rehash(user.password_hash or "")


# -- TOTP -----------------------------------------------------------------------------------------


def test_totp_secret_and_provisioning_uri() -> None:
    secret = core.new_totp_secret()
    assert len(secret) == 32
    uri = core.totp_uri(secret=secret, email="dana@example.gov.uk", issuer="Westbridge Council")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri and "issuer=Westbridge%20Council" in uri and "dana%40example.gov.uk" in uri


def test_a_current_code_works_once() -> None:
    secret = core.new_totp_secret()
    user = StaffUser(email="a@example.gov.uk", name="A", totp_secret=secret)
    now = utcnow()
    code = pyotp.TOTP(secret).at(now)
    assert core.check_totp(user=user, code=code, now=now)
    assert not core.check_totp(user=user, code=code, now=now), "the same code must not work twice"


def test_codes_from_a_phone_a_little_out_of_time_work_and_old_ones_do_not() -> None:
    secret = core.new_totp_secret()
    now = utcnow()
    totp = pyotp.TOTP(secret)
    previous = totp.at(now - timedelta(seconds=30))
    stale = totp.at(now - timedelta(seconds=90))
    assert core.check_totp(user=StaffUser(email="a@x.uk", name="A", totp_secret=secret), code=previous, now=now)
    if stale not in {previous, totp.at(now), totp.at(now + timedelta(seconds=30))}:
        assert not core.check_totp(user=StaffUser(email="b@x.uk", name="B", totp_secret=secret), code=stale, now=now)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "<script>", "1" * 10_000, "12\x0034"])
def test_garbage_codes_are_refused(code: str) -> None:
    user = StaffUser(email="a@example.gov.uk", name="A", totp_secret=core.new_totp_secret())
    assert not core.check_totp(user=user, code=code)


def test_codes_may_be_typed_with_spaces() -> None:
    secret = core.new_totp_secret()
    code = pyotp.TOTP(secret).now()
    user = StaffUser(email="a@example.gov.uk", name="A", totp_secret=secret)
    assert core.check_totp(user=user, code=f" {code[:3]} {code[3:]} ")


# -- signing in and lock-out ----------------------------------------------------------------------


def test_sign_in_with_the_right_password(session: Session, staff: StaffFactory) -> None:
    made = staff(email="dana@example.gov.uk")
    user = core.check_password_sign_in(session=session, email=" DANA@example.gov.uk", password=STAFF_PASSWORD)
    assert user.id == made.id


def test_a_wrong_password_and_an_unknown_email_get_the_same_words(session: Session, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk")
    messages = []
    for email, password in (("dana@example.gov.uk", "wrong password!"), ("nobody@example.gov.uk", STAFF_PASSWORD)):
        with pytest.raises(core.SignInError) as caught:
            core.check_password_sign_in(session=session, email=email, password=password)
        messages.append(caught.value.message)
    assert messages[0] == messages[1] == core.WRONG_PASSWORD


def test_lock_out_after_repeated_failures_then_unlocked_by_time(session: Session, staff: StaffFactory) -> None:
    made = staff(email="dana@example.gov.uk")
    for _ in range(2):
        with pytest.raises(core.SignInError) as caught:
            core.check_password_sign_in(
                session=session, email="dana@example.gov.uk", password="nope nope nope", max_attempts=3, lock_minutes=15
            )
        assert caught.value.locked_until is None
    with pytest.raises(core.SignInError) as caught:
        core.check_password_sign_in(
            session=session, email="dana@example.gov.uk", password="nope nope nope", max_attempts=3, lock_minutes=15
        )
    assert caught.value.locked_until is not None
    assert "locked because of too many failed attempts" in caught.value.message
    session.commit()
    # Even the right password is refused while locked.
    with pytest.raises(core.SignInError, match="locked"):
        core.check_password_sign_in(session=session, email="dana@example.gov.uk", password=STAFF_PASSWORD)
    row = session.get(StaffUser, made.id)
    assert row is not None
    row.locked_until = utcnow() - timedelta(seconds=1)
    session.commit()
    user = core.check_password_sign_in(session=session, email="dana@example.gov.uk", password=STAFF_PASSWORD)
    core.record_sign_in(session=session, user=user)
    assert user.failed_sign_ins == 0 and user.locked_until is None and user.last_sign_in_at is not None


def test_wrong_codes_count_towards_the_lock_out(session: Session, staff: StaffFactory) -> None:
    made = staff(email="dana@example.gov.uk", totp_secret=core.new_totp_secret())
    user = session.get(StaffUser, made.id)
    assert user is not None
    for _ in range(2):
        with pytest.raises(core.SignInError, match="code is not correct"):
            core.check_second_factor(session=session, user=user, code="000000", max_attempts=3)
    with pytest.raises(core.SignInError, match="locked") as caught:
        core.check_second_factor(session=session, user=user, code="000000", max_attempts=3)
    assert caught.value.locked_until is not None
    core.unlock(session=session, user_id=made.id or 0)
    core.reset_totp(session=session, user_id=made.id or 0)
    assert user.totp_secret is None and not core.is_locked(user)


def test_a_deactivated_account_cannot_sign_in(session: Session, staff: StaffFactory) -> None:
    made = staff(email="dana@example.gov.uk")
    assert made.id is not None
    core.deactivate(session=session, user_id=made.id)
    with pytest.raises(core.SignInError, match="correct email address and password"):
        core.check_password_sign_in(session=session, email="dana@example.gov.uk", password=STAFF_PASSWORD)


# -- accounts -------------------------------------------------------------------------------------


def test_create_user_with_a_password(session: Session) -> None:
    highways = department_for_name(session=session, name="Highways")
    assert highways.id is not None
    created = core.create_user(
        session=session,
        email="Dana@Example.gov.uk",
        name="Dana  Designer",
        department_id=highways.id,
        role="designer",
        password=STAFF_PASSWORD,
    )
    session.commit()
    assert created.setup_token is None
    row = session.exec(select(StaffUser).where(StaffUser.email == "dana@example.gov.uk")).one()
    assert row.name == "Dana Designer" and row.active and row.password_hash
    roles = session.exec(select(StaffRole).where(StaffRole.user_id == row.id)).all()
    assert [(r.department_id, r.role) for r in roles] == [(highways.id, "designer")]


def test_create_user_refuses_duplicates_in_any_case(session: Session, staff: StaffFactory) -> None:
    staff(email="dana@example.gov.uk")
    highways = department_for_name(session=session, name="Highways")
    assert highways.id is not None
    with pytest.raises(core.StaffError, match="already has an account"):
        core.create_user(
            session=session, email="DANA@example.gov.uk", name="D", department_id=highways.id, role="designer"
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"name": ""}, "name"),
        ({"role": "owner"}, "role"),
        ({"department_id": 99999}, "department"),
        ({"password": "short"}, "password"),
    ],
)
def test_create_user_refuses_bad_input(session: Session, kwargs: dict[str, Any], field: str) -> None:
    highways = department_for_name(session=session, name="Highways")
    args: dict[str, Any] = {
        "email": "dana@example.gov.uk",
        "name": "Dana",
        "department_id": highways.id,
        "role": "designer",
        "password": None,
        **kwargs,
    }
    with pytest.raises(core.StaffError) as caught:
        core.create_user(session=session, **args)
    assert caught.value.field == field
    assert session.exec(select(StaffUser)).first() is None


def test_set_up_links_are_stored_hashed_work_once_and_expire(session: Session) -> None:
    highways = department_for_name(session=session, name="Highways")
    assert highways.id is not None
    created = core.create_user(
        session=session, email="new@example.gov.uk", name="New Person", department_id=highways.id, role="reviewer"
    )
    session.commit()
    token = created.setup_token
    assert token and len(token) >= 40
    row = session.exec(select(StaffSetupToken)).one()
    assert row.id == hashlib.sha256(token.encode()).hexdigest()
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)
    assert core.setup_token_user(session=session, token=token) is not None
    with pytest.raises(core.StaffError, match="12 characters"):
        core.use_setup_token(session=session, token=token, password="short")
    user = core.use_setup_token(session=session, token=token, password=STAFF_PASSWORD)
    session.commit()
    assert core.verify_password(user, STAFF_PASSWORD)
    with pytest.raises(core.StaffError, match="expired or has already been used"):
        core.use_setup_token(session=session, token=token, password=STAFF_PASSWORD + "!")
    # A new link replaces the old; an expired one is refused.
    new = core.issue_setup_token(session=session, user=user, days=7)
    fresh = session.get(StaffSetupToken, hashlib.sha256(new.encode()).hexdigest())
    assert fresh is not None
    fresh.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert core.setup_token_user(session=session, token=new) is None
    for bad in ("", "x" * 10_000, "nonsense", "\x00"):
        assert core.setup_token_user(session=session, token=bad) is None


def test_list_users_with_roles_in_two_queries(session: Session, staff: StaffFactory) -> None:
    for i in range(5):
        staff(email=f"person{i}@example.gov.uk", name=f"Person {i}", roles={"Revenues": ["reviewer"]})
    staff(email="zed@example.gov.uk", name="Zed", department="Parking Services", role="admin")
    statements = count_queries(session)
    rows = core.list_users(session=session)
    assert len(statements) == 2, statements
    assert [r.name for r in rows] == [*(f"Person {i}" for i in range(5)), "Zed"]
    assert rows[0].roles == {"Highways": ("designer",), "Revenues": ("reviewer",)}
    revenues = department_for_name(session=session, name="Revenues")
    assert revenues.id is not None
    only = core.list_users(session=session, department_ids=[revenues.id])
    assert len(only) == 5


def test_change_roles_and_deactivate(session: Session, staff: StaffFactory) -> None:
    made = staff(email="dana@example.gov.uk", password=None)
    assert made.id is not None
    staff(email="alex@example.gov.uk", name="Alex Admin", role="admin")  # so Dana is not the last admin
    highways = department_for_name(session=session, name="Highways")
    assert highways.id is not None
    core.set_roles(session=session, user_id=made.id, department_id=highways.id, roles={"reviewer", "admin"})
    assert core.roles_by_department(session, made.id) == {highways.id: frozenset({"reviewer", "admin"})}
    with pytest.raises(core.StaffError, match="Role must be one of"):
        core.set_roles(session=session, user_id=made.id, department_id=highways.id, roles={"god"})
    core.set_roles(session=session, user_id=made.id, department_id=highways.id, roles=set())
    assert core.roles_by_department(session, made.id) == {}
    core.deactivate(session=session, user_id=made.id)
    session.commit()
    assert all(t.used_at is not None for t in session.exec(select(StaffSetupToken)))
    assert [u.active for u in core.list_users(session=session)] == [True, False]  # Alex, Dana


# -- single sign-on -------------------------------------------------------------------------------


def test_single_sign_on_links_an_existing_account_on_first_use(session: Session, staff: StaffFactory) -> None:
    made = staff(email="dana@example.gov.uk")
    user = core.user_for_oidc(session=session, issuer="https://idp", subject="abc", email="Dana@example.gov.uk")
    assert user.id == made.id and user.oidc_subject == "abc"
    session.commit()
    # Later the subject alone finds them, even after their email changed at the provider.
    again = core.user_for_oidc(session=session, issuer="https://idp", subject="abc", email="d.smith@example.gov.uk")
    assert again.id == made.id
    with pytest.raises(core.SignInError, match="already linked"):
        core.user_for_oidc(session=session, issuer="https://idp", subject="someone-else", email="dana@example.gov.uk")
    with pytest.raises(core.SignInError, match="no active Civic Forms account"):
        core.user_for_oidc(session=session, issuer="https://idp", subject="xyz", email="stranger@example.gov.uk")
    with pytest.raises(core.SignInError, match="no active Civic Forms account"):
        core.user_for_oidc(session=session, issuer="https://idp", subject="xyz", email=None)


# -- settings for staff accounts ------------------------------------------------------------------

BASE_ENV = {"CIVICFORMS_SECRET_KEY": "s" * 40, "CIVICFORMS_ENV": "test"}


def test_staff_settings_defaults_and_single_sign_on_providers() -> None:
    from runtime.settings import from_environment

    defaults = from_environment(BASE_ENV)
    assert (defaults.staff_require_totp, defaults.staff_lockout_attempts, defaults.staff_lockout_minutes) == (
        False,
        5,
        15,
    )
    assert (defaults.staff_session_minutes, defaults.staff_idle_minutes, defaults.publish_mode) == (480, 30, "direct")
    assert defaults.oidc_providers == ()
    configured = from_environment(
        {
            **BASE_ENV,
            "CIVICFORMS_STAFF_REQUIRE_TOTP": "yes",
            "CIVICFORMS_PUBLISH_MODE": "Review",
            "CIVICFORMS_BASE_URL": "https://forms.example.gov.uk/",
            "CIVICFORMS_OIDC_PROVIDERS": "entra, Google",
            "CIVICFORMS_OIDC_ENTRA_ISSUER": "https://login.microsoftonline.com/tenant/v2.0",
            "CIVICFORMS_OIDC_ENTRA_CLIENT_ID": "id-1",
            "CIVICFORMS_OIDC_ENTRA_CLIENT_SECRET": "secret-1",
            "CIVICFORMS_OIDC_GOOGLE_ISSUER": "https://accounts.google.com",
            "CIVICFORMS_OIDC_GOOGLE_CLIENT_ID": "id-2",
            "CIVICFORMS_OIDC_GOOGLE_CLIENT_SECRET": "secret-2",
            "CIVICFORMS_OIDC_GOOGLE_LABEL": "Google Workspace",
        }
    )
    assert configured.staff_require_totp and configured.publish_mode == "review"
    assert [(p.name, p.label) for p in configured.oidc_providers] == [
        ("entra", "Microsoft"),
        ("google", "Google Workspace"),
    ]
    entra = configured.oidc_provider("entra")
    assert entra is not None
    assert entra.metadata_url == "https://login.microsoftonline.com/tenant/v2.0/.well-known/openid-configuration"
    assert "secret-1" not in repr(entra)
    assert configured.url("/builder/set-up/abc") == "https://forms.example.gov.uk/builder/set-up/abc"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CIVICFORMS_STAFF_LOCKOUT_ATTEMPTS": "0"}, "STAFF_LOCKOUT_ATTEMPTS must be 1 or more"),
        ({"CIVICFORMS_STAFF_LOCKOUT_MINUTES": "soon"}, "whole number"),
        ({"CIVICFORMS_STAFF_IDLE_MINUTES": "600"}, "must not be more than"),
        ({"CIVICFORMS_STAFF_REQUIRE_TOTP": "maybe"}, "true or false"),
        ({"CIVICFORMS_PUBLISH_MODE": "yolo"}, "direct or review"),
        ({"CIVICFORMS_BASE_URL": "http://forms.example.gov.uk"}, "BASE_URL must be an https://"),
        ({"CIVICFORMS_OIDC_PROVIDERS": "entra"}, "CIVICFORMS_OIDC_ENTRA_ISSUER must be an https://"),
        (
            {"CIVICFORMS_OIDC_PROVIDERS": "entra", "CIVICFORMS_OIDC_ENTRA_ISSUER": "https://idp.example"},
            "CIVICFORMS_OIDC_ENTRA_CLIENT_ID must be set",
        ),
        (
            {
                "CIVICFORMS_OIDC_PROVIDERS": "entra",
                "CIVICFORMS_OIDC_ENTRA_ISSUER": "https://idp.example",
                "CIVICFORMS_OIDC_ENTRA_CLIENT_ID": "client",
            },
            "CIVICFORMS_OIDC_ENTRA_CLIENT_ID and CIVICFORMS_OIDC_ENTRA_CLIENT_SECRET must be set",
        ),
        ({"CIVICFORMS_OIDC_PROVIDERS": "my-idp"}, "short name of letters and digits"),
    ],
)
def test_bad_staff_settings_are_clear_errors(env: dict[str, str], message: str) -> None:
    from runtime.settings import SettingsError, from_environment

    with pytest.raises(SettingsError, match=message):
        from_environment({**BASE_ENV, **env})

"""Staff accounts as use cases: signing in, set-up links, roles, and what admins do to accounts.

Every public function takes an explicit session, keyword arguments and (for what one member
of staff does to another's account) ``actor``: the id of the staff member acting, None for IT
at the command line. Each owns its transaction: it commits what it wrote, or rolls all of it
back and raises :class:`runtime.staff.StaffError` (a field and a message) or
:class:`runtime.staff.SignInError` (the words to show). The builder's users page, the sign-in
pages of both staff faces, single sign-on and ``civicforms users create`` call these; the rules
themselves (who may do what, password and email checks) are in :mod:`runtime.staff`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from .. import staff as core
from ..data import departments, drafts
from ..models import Department, StaffUser
from .unit_of_work import atomic


class NoSuchDepartment(core.StaffError):
    """``create_user`` was given a department name that does not exist (and not told to make it)."""

    def __init__(self, name: str):
        super().__init__("department", f"There is no department called {name!r}")
        self.name = name


class RolesRefused(core.StaffError):
    """``change_roles`` refused the change in one department (``department_id``); nothing changed."""

    def __init__(self, error: core.StaffError, department_id: int):
        super().__init__(error.field, error.message)
        self.department_id = department_id


# -- signing in -----------------------------------------------------------------------------------


def sign_in_with_password(
    *, session: Session, email: str, password: str, max_attempts: int, lock_minutes: int
) -> StaffUser:
    """The first step of signing in. The attempt is counted and kept whatever the answer (a
    rehashed password too); raises SignInError with the words to show."""
    with atomic(session):
        try:
            user = core.check_password_sign_in(
                session=session, email=email, password=password, max_attempts=max_attempts, lock_minutes=lock_minutes
            )
        except core.SignInError:
            session.commit()  # the failure counts
            raise
    return user


def check_second_factor(*, session: Session, user: StaffUser, code: str, max_attempts: int, lock_minutes: int) -> None:
    """The authenticator code of signing in; a wrong one is counted and kept (SignInError)."""
    with atomic(session):
        try:
            core.check_second_factor(
                session=session, user=user, code=code, max_attempts=max_attempts, lock_minutes=lock_minutes
            )
        except core.SignInError:
            session.commit()  # the failure counts
            raise


def start_session(*, session: Session, user: StaffUser, max_age_minutes: int) -> str:
    """Signed in: the failure count cleared, the time noted, a new server-side session; its token."""
    with atomic(session):
        core.record_sign_in(session=session, user=user)
        token = core.start_session(session=session, user=user, max_age_minutes=max_age_minutes)
    return token


def end_session(*, session: Session, token: str) -> None:
    """Sign out the session this token names (expiry, or signing out here)."""
    with atomic(session):
        core.end_session(session=session, token=token)


def sign_out(*, session: Session, token: str, user_id: int | None, everywhere: bool) -> None:
    """Sign out this session, or with ``everywhere`` every session of ``user_id``."""
    with atomic(session):
        if everywhere and user_id is not None:
            core.end_sessions(session=session, user_id=user_id)
        else:
            core.end_session(session=session, token=token)


def enrol_second_factor(*, session: Session, user: StaffUser, secret: str, code: str) -> None:
    """Turn on the authenticator app once its code for ``secret`` is right (StaffError on ``code``)."""
    with atomic(session):
        if not code.strip():
            raise core.StaffError("code", "Enter the 6-digit code your authenticator app shows")
        core.enrol_totp(session=session, user=user, secret=secret, code=code)


def choose_password(*, session: Session, token: str, password: str) -> StaffUser:
    """A password chosen through a one-time set-up link; the link then stops working and every
    session of the account ends. StaffError on ``password`` (too weak) or ``token`` (link used or expired)."""
    with atomic(session):
        return core.use_setup_token(session=session, token=token, password=password)


@dataclass(frozen=True)
class SingleSignOn:
    user: StaffUser
    token: str | None  # the new session's token; None while this app's second factor is still owed


def sign_in_with_sso(
    *,
    session: Session,
    issuer: str,
    subject: str,
    email: str | None,
    second_factor_owed: bool,
    max_age_minutes: int,
) -> SingleSignOn:
    """The active account a provider's identity belongs to (linked on first use), signed in.

    While this app's second factor is still owed nothing is kept (the link is made when the
    person next signs in with the provider). Raises SignInError, with nothing changed.
    """
    with atomic(session):
        user = core.user_for_oidc(session=session, issuer=issuer, subject=subject, email=email)
        if second_factor_owed:
            session.rollback()
            return SingleSignOn(user, None)
        core.record_sign_in(session=session, user=user)
        token = core.start_session(session=session, user=user, max_age_minutes=max_age_minutes)
    return SingleSignOn(user, token)


# -- what admins do -------------------------------------------------------------------------------


def invite(
    *, session: Session, actor: int | None, email: str, name: str, department_id: int, role: str
) -> core.CreatedUser:
    """A new account without a password, with one role in one department, and its one-time set-up link."""
    with atomic(session):
        return core.create_user(session=session, email=email, name=name, department_id=department_id, role=role)


def add_role(*, session: Session, actor: int | None, user_id: int, department_id: int, role: str) -> None:
    """Give an existing account one more role in a department (it keeps its others)."""
    with atomic(session):
        theirs = core.roles_by_department(session, user_id).get(department_id, frozenset())
        core.set_roles(session=session, user_id=user_id, department_id=department_id, roles={*theirs, role}, by=actor)


def change_roles(*, session: Session, actor: int | None, user_id: int, roles: dict[int, set[str]]) -> None:
    """New roles in each of these departments (no roles: they leave it), all or none.

    Raises RolesRefused naming the department whose change was refused."""
    with atomic(session):
        for department_id, wanted in roles.items():
            try:
                core.set_roles(session=session, user_id=user_id, department_id=department_id, roles=wanted, by=actor)
            except core.StaffError as error:
                raise RolesRefused(error, department_id) from error


def deactivate(*, session: Session, actor: int | None, user_id: int) -> None:
    """Stop the account signing in (signed out everywhere, unused set-up links void). Their
    "try it" answers are deleted, and so the files they tried with at the next purge of
    forgotten files (``civicforms sessions purge``)."""
    with atomic(session):
        core.deactivate(session=session, user_id=user_id, by=actor)
        drafts.delete_preview_sessions_of(session=session, user_id=user_id)


def reactivate(*, session: Session, actor: int | None, user_id: int) -> None:
    with atomic(session):
        core.reactivate(session=session, user_id=user_id)


def unlock(*, session: Session, actor: int | None, user_id: int) -> None:
    """Lift a lock-out before it ends."""
    with atomic(session):
        core.unlock(session=session, user_id=user_id)


def reset_second_factor(*, session: Session, actor: int | None, user_id: int) -> None:
    """Turn the account's authenticator app off (a lost phone); signed out everywhere."""
    with atomic(session):
        core.reset_totp(session=session, user_id=user_id, by=actor)


def unlink_single_sign_on(*, session: Session, actor: int | None, user_id: int) -> None:
    """Forget the account's single sign-on identity; signed out everywhere."""
    with atomic(session):
        core.unlink_oidc(session=session, user_id=user_id, by=actor)


def sign_out_everywhere(*, session: Session, actor: int | None, user_id: int) -> int:
    """End every session of another member of staff (yourself: the sign-out page); how many ended."""
    with atomic(session):
        if actor is not None and actor == user_id:
            raise core.StaffError("confirm", "To sign yourself out everywhere, use the button on the sign-out page")
        return core.end_sessions(session=session, user_id=user_id)


def new_setup_link(*, session: Session, actor: int | None, user_id: int) -> tuple[StaffUser, str]:
    """A new one-time set-up link for an active account (earlier ones stop working): the account and the secret."""
    with atomic(session):
        user = session.get(StaffUser, user_id)
        if user is None:
            raise core.StaffError("user", "No such staff member")
        if not user.active:
            raise core.StaffError("confirm", "Reactivate the account first: a deactivated account’s links do not work")
        return user, core.issue_setup_token(session=session, user=user)


@dataclass(frozen=True)
class Created:
    created: core.CreatedUser
    department: Department


def create_user(
    *,
    session: Session,
    actor: int | None,
    email: str,
    name: str,
    department: str,
    role: str,
    password: str | None,
    create_department: bool = False,
) -> Created:
    """IT's ``civicforms users create``: an account in the department named (by name or slug),
    made too when ``create_department`` says so; with a password, or (None) a set-up link.

    Raises NoSuchDepartment, or StaffError for a bad email, name, role or password or an email
    that already has an account; nothing is written then (not even the department).
    """
    clean_email, clean_name, clean_role = core.check_email(email), core.check_name(name), core.check_role(role)
    if not departments.department_slug(department) or len(department) > 200 or any(ord(ch) < 32 for ch in department):
        raise core.StaffError("department", "Enter a department name, like Highways")
    if password is not None:
        core.check_password(password, email=clean_email, name=clean_name)
    with atomic(session):
        found = departments.find_department(session=session, key=department)
        if found is None:
            if not create_department:
                raise NoSuchDepartment(department)
            # Refused before the department is made: on SQLite the SAVEPOINT that makes it, run
            # before anything else was written, commits on release, and a rollback would not undo it.
            if core.find_user(session=session, email=clean_email) is not None:
                raise core.StaffError("email", f"{clean_email} already has an account")
            found = departments.department_for_name(session=session, name=department)
        assert found.id is not None
        created = core.create_user(
            session=session,
            email=clean_email,
            name=clean_name,
            department_id=found.id,
            role=clean_role,
            password=password,
        )
    return Created(created, found)

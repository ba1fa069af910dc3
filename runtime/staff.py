"""Staff accounts: passwords (argon2), a TOTP second factor, lock-out, roles per department.

Pure data functions (no Flask): an explicit session and keyword-only arguments, like
the repositories in runtime/data/. The use cases in runtime/services/accounts.py own the transaction: nothing here
commits, except that a sign-in attempt is counted and committed before its password or code is
checked (check_password_sign_in, check_second_factor), so no lock is held while argon2 works.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, case, delete, exists, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from .models import Department, StaffRole, StaffSession, StaffSetupToken, StaffUser, utcnow

# The tables as SQLAlchemy Core sees them, for the single-statement updates below.
_USERS = SQLModel.metadata.tables["staff_user"]
_SESSIONS = SQLModel.metadata.tables["staff_session"]
_FAILURES = SQLModel.metadata.tables["staff_sign_in_failure"]

# -- roles and permissions (docs/builder-design.md, "Roles") ---------------------------------

# The role names live in runtime.roles (no database import, for the checker); re-exported here.
from .roles import ADMIN, CASEWORKER, DESIGNER, DPO, MANAGER, RECORDS, REVIEWER, ROLES  # noqa: E402

ROLE_LABELS = {
    DESIGNER: "Designer",
    REVIEWER: "Reviewer",
    ADMIN: "Admin",
    CASEWORKER: "Caseworker",
    MANAGER: "Casework manager",
    RECORDS: "Records officer",
    DPO: "Data protection officer",
}

VIEW_SERVICES = "view_services"
EDIT_DRAFTS = "edit_drafts"  # edit, preview, try it
PUBLISH_OWN = "publish_own_drafts"
PUBLISH_OTHERS = "publish_others_drafts"
SEE_HISTORY = "see_history"
ROLL_BACK = "roll_back"
MANAGE_USERS = "manage_users"
DEPARTMENT_SETTINGS = "department_settings"
EDIT_DEFINITION_FILE = "edit_definition_file"  # the definition as JSON
WORK_CASES = "work_cases"  # the inbox and case pages; each action still needs a role its transition names
ASSIGN_OTHERS = "assign_others"  # assign cases to colleagues, one by one or in bulk
MOVE_SERVICES = "move_services"  # move a service to another department: needed in both departments
# Citizen records (docs/citizen-records.md). What a record page shows is still limited to the
# department's own cases and what sharing agreements in force let it see.
VIEW_RECORDS = "view_records"  # citizen search and the record page
REVIEW_RECORDS = "records"  # the review queue: same person or not, undo a link, split a record
SHARING_AGREEMENTS = "sharing_agreements"  # record and end data-sharing agreements from the department
DATA_PROTECTION = "data_protection"  # the access log, subject access reports, erasure (organisation-wide)
LEGAL_HOLD = "legal_hold"  # place and release a legal hold on a case
VIEW_REPORTS = "view_reports"  # the department's casework reports and the audit of every action on its cases

PERMISSIONS: dict[str, frozenset[str]] = {
    VIEW_SERVICES: frozenset({DESIGNER, REVIEWER, ADMIN}),
    EDIT_DRAFTS: frozenset({DESIGNER}),
    PUBLISH_OWN: frozenset({DESIGNER, REVIEWER}),
    PUBLISH_OTHERS: frozenset({REVIEWER}),
    SEE_HISTORY: frozenset({REVIEWER}),
    ROLL_BACK: frozenset({REVIEWER}),
    MANAGE_USERS: frozenset({ADMIN}),
    DEPARTMENT_SETTINGS: frozenset({ADMIN}),
    EDIT_DEFINITION_FILE: frozenset({ADMIN}),
    WORK_CASES: frozenset({CASEWORKER, MANAGER}),
    ASSIGN_OTHERS: frozenset({MANAGER}),
    MOVE_SERVICES: frozenset({DESIGNER, ADMIN}),
    VIEW_RECORDS: frozenset({CASEWORKER, MANAGER, RECORDS, DPO}),
    REVIEW_RECORDS: frozenset({MANAGER, RECORDS}),
    SHARING_AGREEMENTS: frozenset({ADMIN, DPO}),
    DATA_PROTECTION: frozenset({DPO}),
    LEGAL_HOLD: frozenset({MANAGER, DPO}),
    VIEW_REPORTS: frozenset({MANAGER, ADMIN}),
}


def has_permission(roles: set[str] | frozenset[str] | list[str] | tuple[str, ...], permission: str) -> bool:
    """Whether any of these roles (in one department) grants the permission.

    An unknown permission is a programming error, not a "no": a typo must never lock
    everyone out or, worse, be mistaken for a check that passed.
    """
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return bool(PERMISSIONS[permission] & set(roles))


def roles_by_department(session: Session, user_id: int) -> dict[int, frozenset[str]]:
    """{department id: the user's roles there}; a department the user has no role in is absent."""
    found: dict[int, set[str]] = {}
    for department_id, role in session.exec(
        select(StaffRole.department_id, StaffRole.role).where(StaffRole.user_id == user_id)
    ):
        found.setdefault(department_id, set()).add(role)
    return {k: frozenset(v) for k, v in found.items()}


# -- errors -----------------------------------------------------------------------------------


class StaffError(Exception):
    """Bad input for a staff account; ``field`` is the form field the message belongs next to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class SignInError(Exception):
    """Sign-in refused; the message is shown to the person signing in as it is."""

    def __init__(self, message: str, *, locked_until: datetime | None = None):
        super().__init__(message)
        self.message = message
        self.locked_until = locked_until


WRONG_PASSWORD = "Enter a correct email address and password"
WRONG_CODE = "The code is not correct or has expired: enter the 6-digit code your app shows now"
SSO_NO_ACCOUNT = (
    "There is no active Civic Forms account for this email address. Ask an admin in your department to invite you."
)


def locked_message(until: datetime) -> str:
    return (
        "Your account is locked because of too many failed attempts to sign in. "
        f"Try again after {until:%H:%M} UTC, or ask an admin in your department to unlock it."
    )


# -- checking what staff type -----------------------------------------------------------------

# The unquoted addresses people have at work: no quoted local parts, no IP-address domains.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_EMAIL = re.compile(rf"[a-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")
MIN_PASSWORD = 12
MAX_PASSWORD = 1000  # argon2 takes any length; this only stops a megabyte "password"


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def normalise_email(text: str) -> str:
    """Email addresses are stored and compared lower-case, without surrounding spaces."""
    return text.strip().lower()


def check_email(text: str) -> str:
    """The normalised email address, or StaffError("email", ...)."""
    email = normalise_email(text)
    if not email:
        raise StaffError("email", "Enter an email address")
    if len(email) > 254 or _has_control(email) or not _EMAIL.fullmatch(email):
        raise StaffError("email", "Enter an email address in the correct format, like name@example.gov.uk")
    return email


def check_name(text: str) -> str:
    """The name with spaces tidied, or StaffError("name", ...)."""
    name = " ".join(text.split())
    if not name:
        raise StaffError("name", "Enter the person's full name")
    if len(name) > 200:
        raise StaffError("name", "Name must be 200 characters or fewer")
    if _has_control(name):
        raise StaffError("name", "Name must only contain letters, spaces and punctuation")
    return name


def check_password(password: str, *, email: str = "", name: str = "") -> str:
    """The password if it is acceptable, or StaffError("password", ...). Spaces are kept as typed."""
    if not password:
        raise StaffError("password", "Enter a password")
    if len(password) < MIN_PASSWORD:
        raise StaffError("password", f"Password must be {MIN_PASSWORD} characters or more")
    if len(password) > MAX_PASSWORD:
        raise StaffError("password", f"Password must be {MAX_PASSWORD} characters or fewer")
    if "\x00" in password:
        raise StaffError("password", "Password must not contain a NUL character")
    lowered = password.strip().lower()
    if lowered in {normalise_email(email), " ".join(name.split()).lower()} or len(set(lowered)) < 4:
        raise StaffError("password", "Choose a password that is harder to guess")
    return password


def check_role(text: str) -> str:
    role = text.strip().lower()
    if role not in ROLES:
        raise StaffError("role", f"Role must be one of: {', '.join(ROLES)}")
    return role


# -- passwords ----------------------------------------------------------------------------------

# argon2id with argon2-cffi's defaults (RFC 9106's low-memory choice); hashes made with older
# parameters are upgraded at the next successful sign-in (check_needs_rehash).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: StaffUser, password: str) -> bool:
    """Whether the password is the user's; rehashes it when the hashing parameters changed."""
    if not user.password_hash:
        _verify_dummy(password)
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def _verify_dummy(password: str) -> None:
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


def set_password(*, session: Session, user: StaffUser, password: str) -> None:
    """Check and set a new password; unlocks the account and signs it out everywhere."""
    check_password(password, email=user.email, name=user.name)
    user.password_hash = hash_password(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    session.add(user)
    session.flush()
    if user.id is not None:
        end_sessions(session=session, user_id=user.id)


# -- TOTP -----------------------------------------------------------------------------------------

TOTP_WINDOW = 1  # one 30-second step either side: phones whose clock is a little out still work


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(*, secret: str, email: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code, or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = re.sub(r"[\s-]", "", code)
    if not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_totp(*, user: StaffUser, code: str, secret: str | None = None, now: datetime | None = None) -> bool:
    """Whether ``code`` is a current code for the user's secret (or ``secret`` while enrolling).

    A code is accepted once: its time step is remembered, so a code read over a shoulder (or
    replayed) a few seconds later is refused.
    """
    secret = secret or user.totp_secret
    if not secret:
        return False
    step = _matching_step(secret, code, now or utcnow())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


# -- signing in --------------------------------------------------------------------------------


def find_user(*, session: Session, email: str) -> StaffUser | None:
    email = normalise_email(email)
    if not email or len(email) > 320 or "\x00" in email:
        return None
    return session.exec(select(StaffUser).where(StaffUser.email == email)).first()


def _aware(moment: datetime) -> datetime:
    """A naive datetime (written by hand, or by an older row) is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def is_locked(user: StaffUser, now: datetime | None = None) -> bool:
    return user.locked_until is not None and _aware(user.locked_until) > (now or utcnow())


# Each attempt (a password, a code) is counted in the database *before* it is checked, by one
# conditional UPDATE: of any number of attempts at the same moment, exactly ``max_attempts``
# get a number and are checked; the rest are refused as locked without being checked. The
# count is committed at once, so no lock is held while argon2 works. A lock that has run out
# starts the count again at 1.


def _reserve_attempt(session: Session, *, user_id: int, max_attempts: int, now: datetime) -> int | None:
    """The number of this attempt (1, 2, ...), counted and committed; None while locked."""
    table = _USERS
    c = table.c
    number = session.execute(
        update(table)
        .where(
            c.id == user_id,
            or_(c.locked_until.is_(None), c.locked_until <= now),
            or_(c.failed_sign_ins < max_attempts, c.locked_until.is_not(None)),
        )
        .values(failed_sign_ins=case((c.locked_until.is_(None), c.failed_sign_ins + 1), else_=1), locked_until=None)
        .returning(c.failed_sign_ins)
    ).scalar_one_or_none()
    session.commit()
    return None if number is None else int(number)


def _lock_if_last(session: Session, *, user_id: int, number: int, max_attempts: int, until: datetime) -> bool:
    """After a failed attempt: the ``max_attempts``-th locks the account (unless a sign-in reset the count)."""
    if number < max_attempts:
        return False
    c = _USERS.c
    done = session.execute(
        update(_USERS)
        .where(c.id == user_id, c.failed_sign_ins >= max_attempts, c.locked_until.is_(None))
        .values(locked_until=until)
    )
    return bool(getattr(done, "rowcount", 0))


def _refund_attempt(session: Session, *, user_id: int) -> None:
    """A right password: it does not count towards the lock-out (the second factor still does)."""
    c = _USERS.c
    session.execute(
        update(_USERS)
        .where(c.id == user_id, c.failed_sign_ins > 0, c.locked_until.is_(None))
        .values(failed_sign_ins=c.failed_sign_ins - 1)
    )


def _locked_error(session: Session, user: StaffUser, now: datetime, lock_minutes: int) -> SignInError:
    session.refresh(user)
    # No time yet: the last allowed attempt is still being checked, and will lock from about now.
    until = now + timedelta(minutes=lock_minutes)
    if user.locked_until is not None and is_locked(user, now):
        until = _aware(user.locked_until)
    return SignInError(locked_message(until), locked_until=until)


# Unknown addresses (and accounts without a password, or deactivated) are counted and locked in
# staff_sign_in_failure exactly as accounts are, so the page says the same to both; their rows
# go a day after the last failure.
UNKNOWN_EMAIL_MEMORY = timedelta(days=1)


def _email_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode("utf-8", "surrogatepass")).hexdigest()


def _upsert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _fail_unknown_email(
    session: Session, *, email: str, password: str, max_attempts: int, lock_minutes: int, now: datetime
) -> SignInError:
    """Count a sign-in with an email that cannot sign in, and the words to answer with."""
    key = _email_key(email)
    table = _FAILURES
    c = table.c
    insert = _upsert(session)(table).values(email_hash=key, failures=1, locked_until=None, updated_at=now)
    number = session.execute(
        insert.on_conflict_do_update(
            index_elements=[c.email_hash],
            set_={
                "failures": case((c.locked_until.is_(None), c.failures + 1), else_=1),
                "locked_until": None,
                "updated_at": now,
            },
            where=and_(
                or_(c.locked_until.is_(None), c.locked_until <= now),
                or_(c.failures < max_attempts, c.locked_until.is_not(None)),
            ),
        ).returning(c.failures)
    ).scalar_one_or_none()
    session.execute(delete(table).where(c.updated_at < now - UNKNOWN_EMAIL_MEMORY))
    session.commit()
    until = now + timedelta(minutes=lock_minutes)
    if number is None:
        found = session.execute(select(c.locked_until).where(c.email_hash == key)).scalar_one_or_none()
        if found is not None and _aware(found) > now:
            until = _aware(found)
        return SignInError(locked_message(until), locked_until=until)
    _verify_dummy(password)  # as long as checking a real password
    if number >= max_attempts:
        session.execute(
            update(table)
            .where(c.email_hash == key, c.failures >= max_attempts, c.locked_until.is_(None))
            .values(locked_until=until)
        )
        session.flush()
        return SignInError(locked_message(until), locked_until=until)
    return SignInError(WRONG_PASSWORD)


def _failed_attempt(
    session: Session, user: StaffUser, number: int, message: str, *, max_attempts: int, until: datetime
) -> SignInError:
    """A wrong password or code, already counted as attempt ``number``: lock the account until
    ``until`` if that was the last attempt allowed; the error to raise (the lock's words, or ``message``)."""
    assert user.id is not None
    locked = _lock_if_last(session, user_id=user.id, number=number, max_attempts=max_attempts, until=until)
    session.flush()
    session.refresh(user)
    if locked:
        return SignInError(locked_message(until), locked_until=until)
    return SignInError(message)


def check_password_sign_in(
    *, session: Session, email: str, password: str, max_attempts: int = 5, lock_minutes: int = 15
) -> StaffUser:
    """The first step of signing in; raises SignInError with the words to show.

    The attempt is counted (and committed: this function commits, unlike the rest of this
    module) before the password is checked, so attempts at the same moment cannot all be
    checked before the lock; a locked account is refused without checking. An address with no
    account that can sign in is counted and locked alike, and answered in the same words.
    runtime.services.accounts.sign_in_with_password commits either way.
    """
    now = utcnow()
    user = find_user(session=session, email=email)
    if user is None or not user.active or not user.password_hash or user.id is None:
        raise _fail_unknown_email(
            session, email=email, password=password, max_attempts=max_attempts, lock_minutes=lock_minutes, now=now
        )
    number = _reserve_attempt(session, user_id=user.id, max_attempts=max_attempts, now=now)
    if number is None:
        raise _locked_error(session, user, now, lock_minutes)
    if not verify_password(user, password):
        until = now + timedelta(minutes=lock_minutes)
        raise _failed_attempt(session, user, number, WRONG_PASSWORD, max_attempts=max_attempts, until=until)
    _refund_attempt(session, user_id=user.id)
    session.add(user)  # the hash may have been upgraded
    session.flush()
    session.refresh(user)
    return user


def _claim_totp_step(session: Session, *, user_id: int, step: int) -> bool:
    """Record ``step`` as the last one used, unless it (or a later one) already was: one UPDATE,
    so of two sign-ins with the same code at the same moment only one gets the row."""
    c = _USERS.c
    done = session.execute(
        update(_USERS)
        .where(c.id == user_id, or_(c.totp_last_step.is_(None), c.totp_last_step < step))
        .values(totp_last_step=step)
    )
    return bool(getattr(done, "rowcount", 0))


def check_second_factor(
    *, session: Session, user: StaffUser, code: str, max_attempts: int = 5, lock_minutes: int = 15
) -> None:
    """The TOTP step of signing in; wrong codes count towards the same lock-out as passwords.

    Counted before checking, like passwords (and so it commits); a code's time step is claimed
    in the database, so a code works once even when sent twice at the same moment.
    """
    if not user.active or user.id is None:
        raise SignInError(WRONG_PASSWORD)
    now = utcnow()
    number = _reserve_attempt(session, user_id=user.id, max_attempts=max_attempts, now=now)
    if number is None:
        raise _locked_error(session, user, now, lock_minutes)
    step = _matching_step(user.totp_secret, code, now) if user.totp_secret else None
    if step is None or not _claim_totp_step(session, user_id=user.id, step=step):
        until = now + timedelta(minutes=lock_minutes)
        raise _failed_attempt(session, user, number, WRONG_CODE, max_attempts=max_attempts, until=until)
    session.flush()
    session.refresh(user)


def record_sign_in(*, session: Session, user: StaffUser) -> None:
    """Signed in: clear the failure count and note when."""
    user.failed_sign_ins = 0
    user.locked_until = None
    user.last_sign_in_at = utcnow()
    session.add(user)
    session.flush()


# -- sessions (finding 5 of issue 13) -------------------------------------------------------------


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, user: StaffUser, max_age_minutes: int) -> str:
    """A new signed-in session for the user: its secret token, for the cookie (only its hash is
    stored). The user's sessions older than ``max_age_minutes`` (expired anyway) are removed."""
    assert user.id is not None
    now = utcnow()
    session.execute(
        delete(_SESSIONS).where(
            _SESSIONS.c.user_id == user.id,
            _SESSIONS.c.created_at < now - timedelta(minutes=max_age_minutes),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(id=_session_id(token), user_id=user.id, created_at=now))
    session.flush()
    return token


def session_user(*, session: Session, token: str) -> StaffUser | None:
    """The active staff member whose session this token names, in one query; None when signed out."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    return session.exec(
        select(StaffUser)
        .join(StaffSession, col(StaffSession.user_id) == col(StaffUser.id))
        .where(StaffSession.id == _session_id(token), col(StaffUser.active).is_(True))
    ).first()


def end_session(*, session: Session, token: str) -> None:
    """Sign out this session: a copy of its cookie no longer works."""
    if isinstance(token, str) and token and len(token) <= 100:
        session.execute(delete(_SESSIONS).where(_SESSIONS.c.id == _session_id(token)))
        session.flush()


def end_sessions(*, session: Session, user_id: int) -> int:
    """Sign the user out everywhere (every browser, the builder and the back office); how many ended."""
    done = session.execute(delete(_SESSIONS).where(_SESSIONS.c.user_id == user_id))
    session.flush()
    return int(getattr(done, "rowcount", 0) or 0)


def user_for_oidc(*, session: Session, issuer: str, subject: str, email: str | None) -> StaffUser:
    """The active account a single sign-on identity belongs to; links it on first use.

    Nobody gets an account by signing in: the email must already have an active account,
    and an account linked to one identity never accepts another.
    """
    user = session.exec(
        select(StaffUser).where(StaffUser.oidc_issuer == issuer, StaffUser.oidc_subject == subject)
    ).first()
    if user is None and email:
        user = find_user(session=session, email=email)
        if user is not None and user.oidc_subject is not None:
            raise SignInError(
                "This account is already linked to another single sign-on identity. Ask an admin in your department."
            )
    if user is None or not user.active:
        raise SignInError(SSO_NO_ACCOUNT)
    if is_locked(user):
        assert user.locked_until is not None
        raise SignInError(locked_message(_aware(user.locked_until)), locked_until=user.locked_until)
    user.oidc_issuer, user.oidc_subject = issuer, subject
    session.add(user)
    session.flush()
    return user


def unlink_oidc(*, session: Session, user_id: int, by: int | None = None) -> None:
    """Forget the account's single sign-on identity (a recreated directory user, a new app
    registration): the next sign-in with a verified email of the account links the new one.
    Whoever signed in with the old identity is signed out everywhere. Refused for ``by``
    themselves, like the other actions on a whole account."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise StaffError("user", "No such staff member")
    if by is not None and by == user_id:
        raise StaffError("confirm", "You cannot unlink your own single sign-on: ask another admin")
    user.oidc_issuer, user.oidc_subject = None, None
    session.add(user)
    end_sessions(session=session, user_id=user_id)
    session.flush()


# -- accounts -----------------------------------------------------------------------------------

SETUP_LINK_DAYS = 7


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedUser:
    user: StaffUser
    setup_token: str | None  # the one-time set-up link's secret, shown once; None when a password was given


def create_user(
    *,
    session: Session,
    email: str,
    name: str,
    department_id: int,
    role: str,
    password: str | None = None,
) -> CreatedUser:
    """A new staff member with one role in one department, and a password or a set-up link.

    Raises StaffError for a bad email, name, role or password, an unknown department, or an
    email that already has an account.
    """
    clean_email = check_email(email)
    clean_name = check_name(name)
    clean_role = check_role(role)
    if session.get(Department, department_id) is None:
        raise StaffError("department", "Choose a department that exists")
    if password is not None:
        check_password(password, email=clean_email, name=clean_name)
    if find_user(session=session, email=clean_email) is not None:
        raise StaffError("email", f"{clean_email} already has an account")
    user = StaffUser(
        email=clean_email,
        name=clean_name,
        password_hash=hash_password(password) if password is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise StaffError("email", f"{clean_email} already has an account") from None
    assert user.id is not None
    session.add(StaffRole(user_id=user.id, department_id=department_id, role=clean_role))
    session.flush()
    token = None if password is not None else issue_setup_token(session=session, user=user)
    return CreatedUser(user, token)


def issue_setup_token(*, session: Session, user: StaffUser, days: int = SETUP_LINK_DAYS) -> str:
    """A new one-time set-up link secret (earlier unused links stop working); only its hash is kept."""
    assert user.id is not None
    now = utcnow()
    for old in session.exec(
        select(StaffSetupToken).where(StaffSetupToken.user_id == user.id, col(StaffSetupToken.used_at).is_(None))
    ):
        old.used_at = now
        session.add(old)
    token = secrets.token_urlsafe(32)
    session.add(StaffSetupToken(id=_token_id(token), user_id=user.id, expires_at=now + timedelta(days=days)))
    session.flush()
    return token


def setup_token_user(*, session: Session, token: str) -> StaffUser | None:
    """The active staff member a set-up link is for, while it is unused and unexpired."""
    if not token or len(token) > 100:
        return None
    row = session.get(StaffSetupToken, _token_id(token))
    if row is None or row.used_at is not None or _aware(row.expires_at) <= utcnow():
        return None
    user = session.get(StaffUser, row.user_id)
    return user if user is not None and user.active else None


def use_setup_token(*, session: Session, token: str, password: str) -> StaffUser:
    """Choose a password through a set-up link; the link then stops working."""
    user = setup_token_user(session=session, token=token)
    if user is None:
        raise StaffError("token", "This set-up link has expired or has already been used. Ask an admin for a new one.")
    set_password(session=session, user=user, password=password)
    row = session.get(StaffSetupToken, _token_id(token))
    assert row is not None
    row.used_at = utcnow()
    session.add(row)
    session.flush()
    return user


@dataclass(frozen=True)
class UserSummary:
    id: int
    email: str
    name: str
    active: bool
    locked: bool
    has_password: bool
    has_totp: bool
    sso: bool
    last_sign_in_at: datetime | None
    roles: dict[str, tuple[str, ...]]  # {department name: roles}
    locked_until: datetime | None = None  # set only while the lock lasts
    setup_link_pending: bool = False  # an unused, unexpired set-up link exists
    department_roles: dict[int, tuple[str, ...]] = field(default_factory=dict)  # {department id: roles}


def _members(department_ids: list[int] | None, user_ids: list[int] | None) -> Any:
    """The WHERE clauses that pick staff members (by department, by id), for a list or a count."""
    clauses: list[Any] = []
    if department_ids is not None:
        members = select(StaffRole.user_id).where(col(StaffRole.department_id).in_(department_ids))
        clauses.append(col(StaffUser.id).in_(members))
    if user_ids is not None:
        clauses.append(col(StaffUser.id).in_(user_ids))
    return clauses


def list_users(
    *,
    session: Session,
    department_ids: list[int] | None = None,
    user_ids: list[int] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[UserSummary]:
    """Staff members (those with a role in these departments, or everyone), by name; two queries.

    ``offset`` and ``limit`` give one page of the list (count_users gives its length).
    """
    now = utcnow()
    pending = (
        exists()
        .where(
            col(StaffSetupToken.user_id) == col(StaffUser.id),
            col(StaffSetupToken.used_at).is_(None),
            col(StaffSetupToken.expires_at) > now,
        )
        .label("setup_link_pending")
    )
    query = (
        select(StaffUser, pending)
        .where(*_members(department_ids, user_ids))
        .order_by(func.lower(StaffUser.name), col(StaffUser.email), col(StaffUser.id))
        .offset(max(offset, 0))
    )
    if limit is not None:
        query = query.limit(limit)
    found = session.exec(query).all()
    users = [u for u, _ in found]
    links = {u.id: bool(p) for u, p in found}
    role_rows = session.exec(
        select(StaffRole.user_id, Department.id, Department.name, StaffRole.role)
        .join(Department, col(Department.id) == StaffRole.department_id)
        .where(col(StaffRole.user_id).in_([u.id for u in users]))
        .order_by(col(Department.name), col(StaffRole.role))
    ).all()
    roles: dict[int, dict[str, list[str]]] = {}
    by_id: dict[int, dict[int | None, list[str]]] = {}
    for user_id, department_id, department_name, role in role_rows:
        roles.setdefault(user_id, {}).setdefault(department_name, []).append(role)
        by_id.setdefault(user_id, {}).setdefault(department_id, []).append(role)
    return [
        UserSummary(
            id=u.id or 0,
            email=u.email,
            name=u.name,
            active=u.active,
            locked=is_locked(u, now),
            has_password=bool(u.password_hash),
            has_totp=bool(u.totp_secret),
            sso=u.oidc_subject is not None,
            last_sign_in_at=u.last_sign_in_at,
            roles={d: tuple(r) for d, r in roles.get(u.id or 0, {}).items()},
            locked_until=_aware(u.locked_until) if u.locked_until is not None and is_locked(u, now) else None,
            setup_link_pending=links.get(u.id, False),
            department_roles={d or 0: tuple(r) for d, r in by_id.get(u.id or 0, {}).items()},
        )
        for u in users
    ]


def count_users(*, session: Session, department_ids: list[int] | None = None) -> int:
    """How many staff members list_users would list (for paging)."""
    query = select(func.count()).select_from(StaffUser).where(*_members(department_ids, None))
    return int(session.exec(query).one())


def set_roles(
    *,
    session: Session,
    user_id: int,
    department_id: int,
    roles: set[str] | list[str],
    by: int | None = None,
) -> None:
    """Replace a staff member's roles in one department (no roles: they leave it).

    ``by`` is the staff member making the change (None: IT, from the command line). The last
    active admin of a department never loses the role, and nobody removes their own. A change
    signs the staff member out everywhere, unless they made it themselves.
    """
    clean = {check_role(r) for r in roles}
    if session.get(StaffUser, user_id) is None:
        raise StaffError("user", "No such staff member")
    if _lock_department(session, department_id) is None:
        raise StaffError("department", "Choose a department that exists")
    check_role_change(session=session, user_id=user_id, department_id=department_id, roles=clean, by=by)
    if roles_by_department(session, user_id).get(department_id, frozenset()) != clean and by != user_id:
        end_sessions(session=session, user_id=user_id)
    session.exec(  # type: ignore[call-overload]
        delete(StaffRole).where(col(StaffRole.user_id) == user_id, col(StaffRole.department_id) == department_id)
    )
    for role in sorted(clean):
        session.add(StaffRole(user_id=user_id, department_id=department_id, role=role))
    session.flush()


def deactivate(*, session: Session, user_id: int, by: int | None = None) -> StaffUser:
    """Stop a staff member signing in (their work and history stay); unused set-up links stop working.

    Their sessions end at once (end_sessions; current_user also checks ``active``).
    Refused for the last active admin of a department, and for ``by`` themselves.
    """
    user = session.get(StaffUser, user_id)
    if user is None:
        raise StaffError("user", "No such staff member")
    for department_id in sorted(roles_by_department(session, user_id)):
        _lock_department(session, department_id)
    check_deactivation(session=session, user_id=user_id, by=by)
    user.active = False
    end_sessions(session=session, user_id=user_id)
    now = utcnow()
    for row in session.exec(
        select(StaffSetupToken).where(StaffSetupToken.user_id == user_id, col(StaffSetupToken.used_at).is_(None))
    ):
        row.used_at = now
        session.add(row)
    session.add(user)
    session.flush()
    return user


def reactivate(*, session: Session, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise StaffError("user", "No such staff member")
    user.active = True
    user.failed_sign_ins = 0
    user.locked_until = None
    session.add(user)
    session.flush()
    return user


def unlock(*, session: Session, user_id: int) -> None:
    """Lift a lock-out before it ends (an admin, after checking with the person)."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise StaffError("user", "No such staff member")
    user.failed_sign_ins = 0
    user.locked_until = None
    session.add(user)
    session.flush()


def reset_totp(*, session: Session, user_id: int, by: int | None = None) -> None:
    """Turn the second factor off (a lost phone): the person sets it up again at next sign-in if
    required. Whoever holds the lost phone may also hold a signed-in browser: all sessions end.
    Refused for ``by`` themselves: a stolen session must not be able to remove its second factor."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise StaffError("user", "No such staff member")
    if by is not None and by == user_id:
        raise StaffError("confirm", "You cannot reset your own two-factor authentication: ask another admin")
    user.totp_secret = None
    end_sessions(session=session, user_id=user_id)
    session.add(user)
    session.flush()


# -- what admins may do (shared by the users page and the command line) -------------------------


def _lock_department(session: Session, department_id: int) -> Department | None:
    """The department, its row locked until the transaction ends (PostgreSQL; SQLite writes one at a time).

    Two admins demoting each other at the same moment would otherwise both see another admin
    left and leave the department with none.
    """
    return session.get(Department, department_id, with_for_update=True)


def active_admin_ids(*, session: Session, department_id: int) -> set[int]:
    """The active staff members who are admins of the department."""
    rows = session.exec(
        select(StaffRole.user_id)
        .join(StaffUser, col(StaffUser.id) == StaffRole.user_id)
        .where(StaffRole.department_id == department_id, StaffRole.role == ADMIN, col(StaffUser.active).is_(True))
    )
    return set(rows)


def _only_admin(session: Session, user_id: int, department_id: int) -> bool:
    return active_admin_ids(session=session, department_id=department_id) == {user_id}


def check_role_change(
    *, session: Session, user_id: int, department_id: int, roles: set[str], by: int | None = None
) -> None:
    """StaffError("roles", ...) when these new roles would take the admin role away wrongly.

    Nobody removes their own admin role (another admin must), and the last active admin of a
    department keeps it (make someone else an admin first).
    """
    current = roles_by_department(session, user_id).get(department_id, frozenset())
    if ADMIN not in current or ADMIN in roles:
        return
    if by is not None and by == user_id:
        raise StaffError("roles", "You cannot remove your own admin role: ask another admin of the department")
    if _only_admin(session, user_id, department_id):
        user = session.get(StaffUser, user_id)
        department = session.get(Department, department_id)
        assert user is not None and department is not None
        raise StaffError(
            "roles",
            f"{user.name} is the only admin of {department.name}: make someone else an admin first",
        )


def check_deactivation(*, session: Session, user_id: int, by: int | None = None) -> None:
    """StaffError("user", ...) when the staff member may not be deactivated (by ``by``)."""
    if by is not None and by == user_id:
        raise StaffError("user", "You cannot deactivate your own account: ask another admin")
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        return
    for department_id, roles in sorted(roles_by_department(session, user_id).items()):
        if ADMIN in roles and _only_admin(session, user_id, department_id):
            department = session.get(Department, department_id)
            assert department is not None
            raise StaffError(
                "user",
                f"{user.name} is the only admin of {department.name}: make someone else an admin first",
            )


def administers_all_departments_of(*, session: Session, admin_id: int, user_id: int) -> bool:
    """Whether ``admin_id`` is an admin of every department ``user_id`` has a role in.

    Actions on the account itself (deactivate, reactivate, reset two-factor, a new set-up link)
    reach every department the person works in: a set-up link lets whoever holds it choose the
    password, so an admin of one department must not be able to take over someone who is an
    admin (or reviewer) of another.
    """
    theirs = set(roles_by_department(session, user_id))
    mine = {d for d, roles in roles_by_department(session, admin_id).items() if ADMIN in roles}
    return bool(theirs) and theirs <= mine


def enrol_totp(*, session: Session, user: StaffUser, secret: str, code: str) -> None:
    """Turn on the second factor once the person proves their app shows codes for ``secret``."""
    if not check_totp(user=user, code=code, secret=secret):
        raise StaffError("code", "Enter the 6-digit code your authenticator app shows now")
    user.totp_secret = secret
    session.add(user)
    session.flush()

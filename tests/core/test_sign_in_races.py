"""Sign-in counters under concurrency (issue 13, finding 6): attempts at the same moment are
counted in the database before they are checked, so exactly the limit is checked; a TOTP code
works once even when two sessions send it at the same moment. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from runtime import db as dbmod
from runtime import staff as core
from runtime.models import StaffUser
from tests.conftest import STAFF_PASSWORD, StaffFactory

LIMIT = 5
THREADS = 40


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    # Enough connections for many at once, and none left waiting too long for one.
    extra: dict[str, Any] = {} if database_url.startswith("sqlite") else {"pool_size": 10, "max_overflow": 0}
    made = dbmod.make_engine(database_url, pool_timeout=60, **extra)
    yield made
    made.dispose()


def at_once(
    engine: Engine,
    threads: int,
    attempt: Callable[[Session, Any], object],
    ready: Callable[[Session], Any] = lambda s: None,
) -> list[str]:
    """``attempt(session, ready(session))`` in ``threads`` threads, each in its own session, all let
    go at the same moment once every one is ready; what each was told: "signed in", "locked" or
    the sign-in error's message (the session committed either way)."""
    barrier = threading.Barrier(threads)
    answers: list[str] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with dbmod.session(engine) as s:
                prepared = ready(s)
                barrier.wait(timeout=30)
                try:
                    attempt(s, prepared)
                    s.commit()
                    answers.append("signed in")
                except core.SignInError as exc:
                    s.commit()
                    answers.append("locked" if exc.locked_until is not None else exc.message)
        except BaseException as exc:  # reported in the test's own thread
            failures.append(exc)

    started = [threading.Thread(target=run) for _ in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join(timeout=120)
    assert failures == []
    return answers


def wrong_password(email: str) -> Callable[[Session, Any], object]:
    return lambda s, _: core.check_password_sign_in(
        session=s, email=email, password="wrong password!", max_attempts=LIMIT
    )


def test_40_wrong_passwords_at_once_lock_after_exactly_the_limit(
    engine: Engine, staff: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = staff(email="dana@example.gov.uk")
    checked: list[int] = []
    real_verify = core.verify_password

    def counting(user: StaffUser, password: str) -> bool:
        checked.append(1)
        return real_verify(user, password)

    monkeypatch.setattr(core, "verify_password", counting)
    answers = at_once(engine, THREADS, wrong_password("dana@example.gov.uk"))
    assert len(checked) == LIMIT, f"{len(checked)} passwords checked, not {LIMIT}"
    assert answers.count(core.WRONG_PASSWORD) == LIMIT - 1
    assert answers.count("locked") == THREADS - LIMIT + 1
    with dbmod.session(engine) as s:
        row = s.get(StaffUser, made.id)
        assert row is not None and core.is_locked(row)
        # The right password is refused while the account is locked, without being checked.
        with pytest.raises(core.SignInError, match="Your account is locked"):
            core.check_password_sign_in(session=s, email="dana@example.gov.uk", password=STAFF_PASSWORD)
    assert len(checked) == LIMIT


def test_40_wrong_passwords_at_once_for_an_unknown_email_lock_it_alike(engine: Engine) -> None:
    answers = at_once(engine, THREADS, wrong_password("nobody@example.gov.uk"))
    assert answers.count(core.WRONG_PASSWORD) == LIMIT - 1
    assert answers.count("locked") == THREADS - LIMIT + 1


def test_one_code_sent_by_two_sessions_at_once_signs_in_one(engine: Engine, staff: StaffFactory) -> None:
    secret = core.new_totp_secret()
    made = staff(email="dana@example.gov.uk", totp_secret=secret)
    code = pyotp.TOTP(secret).now()

    def read_account(s: Session) -> StaffUser:
        user = s.get(StaffUser, made.id)  # each session has read the account (no step used yet)
        assert user is not None
        s.commit()
        return user

    answers = at_once(
        engine, 2, lambda s, user: core.check_second_factor(session=s, user=user, code=code), read_account
    )
    assert sorted(answers) == sorted(["signed in", core.WRONG_CODE])

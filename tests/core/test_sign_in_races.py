"""Sign-in counters under concurrency (issue 13, finding 6): attempts at the same moment are
counted in the database before they are checked, so exactly the limit is checked; a TOTP code
works once even when two sessions send it at the same moment. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from sqlalchemy import Engine

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
    barrier = threading.Barrier(THREADS)
    answers: list[str] = []
    failures: list[BaseException] = []

    def attempt() -> None:
        try:
            with dbmod.session(engine) as s:
                barrier.wait(timeout=30)
                try:
                    core.check_password_sign_in(
                        session=s, email="dana@example.gov.uk", password="wrong password!", max_attempts=LIMIT
                    )
                    answers.append("signed in")
                except core.SignInError as exc:
                    s.commit()
                    answers.append("locked" if exc.locked_until is not None else exc.message)
        except BaseException as exc:  # reported in the test's own thread
            failures.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
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
    barrier = threading.Barrier(THREADS)
    answers: list[str] = []
    failures: list[BaseException] = []

    def attempt() -> None:
        try:
            with dbmod.session(engine) as s:
                barrier.wait(timeout=30)
                try:
                    core.check_password_sign_in(
                        session=s, email="nobody@example.gov.uk", password="wrong password!", max_attempts=LIMIT
                    )
                except core.SignInError as exc:
                    s.commit()
                    answers.append("locked" if exc.locked_until is not None else exc.message)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    assert answers.count(core.WRONG_PASSWORD) == LIMIT - 1
    assert answers.count("locked") == THREADS - LIMIT + 1


def test_one_code_sent_by_two_sessions_at_once_signs_in_one(engine: Engine, staff: StaffFactory) -> None:
    secret = core.new_totp_secret()
    made = staff(email="dana@example.gov.uk", totp_secret=secret)
    code = pyotp.TOTP(secret).now()
    barrier = threading.Barrier(2)
    answers: list[str] = []
    failures: list[BaseException] = []

    def attempt() -> None:
        try:
            with dbmod.session(engine) as s:
                user = s.get(StaffUser, made.id)  # each session has read the account (no step used yet)
                assert user is not None
                s.commit()
                barrier.wait(timeout=30)
                try:
                    core.check_second_factor(session=s, user=user, code=code)
                    s.commit()
                    answers.append("signed in")
                except core.SignInError as exc:
                    s.commit()
                    answers.append(exc.message)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert sorted(answers) == sorted(["signed in", core.WRONG_CODE])

"""Staff sessions end when staff (or admins) say so, and sign-in answers tell no one which
accounts exist (issue 13, findings 5 and 6), on the small staff app of test_staff_auth."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from runtime import db as dbmod
from runtime import staff as core
from runtime.data.departments import department_for_name
from runtime.settings import Settings
from runtime.web import staff as staff_web
from tests.conftest import STAFF_PASSWORD, StaffFactory, page
from tests.runtime.helpers import staff_clients
from tests.runtime.test_staff_auth import errors, sign_in

COOKIE = "civicforms_session"


@pytest.fixture
def make(settings: Settings) -> Iterator[Any]:
    with staff_clients(settings) as build:
        yield build


def copy_of(client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of this one's session cookie (taken from a shared PC, a proxy log...)."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    other = client.application.test_client()
    other.set_cookie(COOKIE, cookie.value)
    return other


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 303)
    return response.status_code == 200


def sign_out(client: FlaskClient, everywhere: bool = False) -> Any:
    """Sign out with the sign-out page's own form (the first, or the "everywhere" one)."""
    form = page(client.get("/sign-out")).select("form")[1 if everywhere else 0]
    data = {str(i["name"]): str(i["value"]) for i in form.select("input[type=hidden]")}
    return client.post(str(form["action"]), data=data)


# -- finding 5: sessions end on the server -------------------------------------------------------------


def test_a_copied_cookie_is_refused_after_sign_out(make: Any, staff: StaffFactory) -> None:
    client = make()
    staff(email="dana@example.gov.uk")
    sign_in(client, "dana@example.gov.uk")
    copied = copy_of(client)
    assert signed_in(copied), "the copy works while the session lasts"
    done = sign_out(client)
    assert done.status_code == 303 and "status=signed-out" in done.headers["Location"]
    assert not signed_in(client)
    assert not signed_in(copied), "the copied cookie still worked after sign-out"


def test_sign_out_everywhere_ends_every_session_of_the_person_only(make: Any, staff: StaffFactory) -> None:
    here, elsewhere, colleague = make(), make(), make()
    staff(email="dana@example.gov.uk")
    staff(email="sam@example.gov.uk", name="Sam Smith")
    sign_in(here, "dana@example.gov.uk")
    sign_in(elsewhere, "dana@example.gov.uk")
    sign_in(colleague, "sam@example.gov.uk")
    copied = copy_of(elsewhere)
    shown = page(here.get("/sign-out"))
    assert shown.select_one("h2").get_text(strip=True) == "Sign out everywhere"  # type: ignore[union-attr]
    sign_out(here, everywhere=True)
    assert [signed_in(c) for c in (here, elsewhere, copied, colleague)] == [False, False, False, True]
    sign_in(elsewhere, "dana@example.gov.uk")
    assert signed_in(elsewhere), "signing in again works"


def _new_password(s: Any, user_id: int) -> None:
    user = s.get(core.StaffUser, user_id)
    token = core.issue_setup_token(session=s, user=user)
    core.use_setup_token(session=s, token=token, password="a brand new password")


def _reset_second_factor(s: Any, user_id: int) -> None:
    core.reset_totp(session=s, user_id=user_id)


def _role_change(s: Any, user_id: int) -> None:
    highways = department_for_name(session=s, name="Highways")
    core.set_roles(session=s, user_id=user_id, department_id=highways.id, roles={"reviewer"}, by=None)


def _deactivation(s: Any, user_id: int) -> None:
    core.deactivate(session=s, user_id=user_id)


@pytest.mark.parametrize("change", [_new_password, _reset_second_factor, _role_change, _deactivation])
def test_account_changes_end_every_session(make: Any, staff: StaffFactory, database_url: str, change: Any) -> None:
    client, other = make(), make()
    made = staff(email="dana@example.gov.uk")
    sign_in(client, "dana@example.gov.uk")
    sign_in(other, "dana@example.gov.uk")
    copied = copy_of(client)
    assert signed_in(client) and signed_in(other) and signed_in(copied)
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        change(s, made.id)
        s.commit()
    engine.dispose()
    assert [signed_in(c) for c in (client, other, copied)] == [False, False, False]


def test_changing_nothing_or_ones_own_roles_keeps_the_session(
    make: Any, staff: StaffFactory, database_url: str
) -> None:
    client = make()
    made = staff(email="dana@example.gov.uk", role="admin")
    sign_in(client, "dana@example.gov.uk")
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        highways = department_for_name(session=s, name="Highways")
        core.set_roles(session=s, user_id=made.id or 0, department_id=highways.id or 0, roles={"admin"})
        core.set_roles(
            session=s, user_id=made.id or 0, department_id=highways.id or 0, roles={"admin", "designer"}, by=made.id
        )
        s.commit()
    engine.dispose()
    assert signed_in(client)


def test_idle_time_counts_from_the_last_request(
    make: Any, staff: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a 1-minute idle limit, someone busy every 40 seconds for 10 minutes stays signed in."""
    client = make(staff_idle_minutes=1)
    staff(email="dana@example.gov.uk")
    start = time.time()
    monkeypatch.setattr(staff_web, "_now", lambda: start)
    sign_in(client, "dana@example.gov.uk")
    for seconds in range(40, 601, 40):
        monkeypatch.setattr(staff_web, "_now", lambda s=seconds: start + s)
        assert signed_in(client), f"signed out {seconds} s after signing in, 40 s after the last request"
    monkeypatch.setattr(staff_web, "_now", lambda: start + 600 + 61)
    response = client.get("/")
    assert response.status_code == 303
    shown = client.get(response.headers["Location"])
    assert "you had not used it for a while" in page(shown).get_text()


def test_a_signed_in_page_asks_the_database_once(make: Any, staff: StaffFactory) -> None:
    """The session and its staff member come in one query: no N+1 from checking the session."""
    client = make()
    staff(email="dana@example.gov.uk")
    sign_in(client, "dana@example.gov.uk")
    statements: list[str] = []
    engine = client.application.extensions["civicforms.engine"]

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        assert client.get("/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert len(statements) == 1, statements
    assert "staff_session" in statements[0] and "staff_user" in statements[0]


@pytest.mark.parametrize("cookie_token", ["", "x" * 5000, "forged-token", None])
def test_a_session_the_server_does_not_know_is_signed_out(
    make: Any, staff: StaffFactory, cookie_token: str | None
) -> None:
    """A cookie whose session row is missing or wrong (signed with the key, say by an insider) is refused."""
    client = make()
    made = staff(email="dana@example.gov.uk")
    app = client.application
    with app.test_request_context():
        from flask import session

        session[staff_web.USER] = made.id
        session[staff_web.SIGNED_IN_AT] = session[staff_web.SEEN_AT] = time.time()
        if cookie_token is not None:
            session[staff_web.TOKEN] = cookie_token
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))  # type: ignore[attr-defined]
    client.set_cookie(COOKIE, value)
    assert not signed_in(client)


# -- finding 6: the same answers for accounts that exist and those that do not -------------------------


def _normalised(response: Any, email: str) -> str:
    body = response.get_data(as_text=True).replace(email, "EMAIL")
    body = re.sub(r'nonce="[^"]*"', 'nonce=""', body)  # a new script nonce on every page
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', body)


def test_known_and_unknown_emails_get_the_same_answers_through_the_lock_out(
    make: Any, staff: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make(staff_lockout_attempts=5)
    staff(email="dana@example.gov.uk")
    moment = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)  # both lock until the same minute
    monkeypatch.setattr(core, "utcnow", lambda: moment)
    for attempt in range(1, 8):
        known = sign_in(client, "dana@example.gov.uk", "wrong password 1")
        unknown = sign_in(client, "nobody@example.gov.uk", "wrong password 1")
        assert known.status_code == unknown.status_code == 400
        assert _normalised(known, "dana@example.gov.uk") == _normalised(unknown, "nobody@example.gov.uk"), attempt
        if attempt >= 5:
            [message] = errors(known)
            assert message.startswith("Your account is locked") and "09:45 UTC" in message
        else:
            assert errors(known) == [core.WRONG_PASSWORD]
    assert errors(sign_in(client, "dana@example.gov.uk", STAFF_PASSWORD))[0].startswith("Your account is locked")

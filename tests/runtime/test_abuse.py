"""Abuse limits on the citizen face: rates per client (Flask-Limiter) with a "Too many requests"
page and Retry-After, the cap on form sessions per client and on stored answers, the batched
``sessions purge``, and settings that say clearly what is wrong with them."""

from __future__ import annotations

import dataclasses
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from runtime import abuse, versions
from runtime import db as dbmod
from runtime.data import form_sessions as form_session_data
from runtime.models import FormSession, utcnow
from runtime.settings import Settings, SettingsError, from_environment
from runtime.web import create_citizen_app
from tests.conftest import Citizen, page
from tests.runtime.helpers import form_sessions, heading, title

SERVICE = "blue-badge"
FIRST_PAGE = "/services/blue-badge/where-you-live"


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Any]:
    made: list[Flask] = []

    def make(**changes: Any) -> Flask:
        app = create_citizen_app({"SETTINGS": dataclasses.replace(settings, **changes), "TESTING": True})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["civicforms.engine"].dispose()


def assert_too_many_requests(response: Any, heading_text: str = "Too many requests") -> int:
    """The 429 page, GOV.UK style, with a Retry-After in seconds; returns the seconds."""
    assert response.status_code == 429
    soup = page(response)
    assert heading(soup) == heading_text
    assert title(soup).startswith(heading_text)
    assert response.headers["Cache-Control"] == "no-store"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after
    minutes = -(-retry_after // 60)
    assert f"Wait {minutes} minute" in soup.get_text(" ", strip=True)
    return retry_after


# -- rates ----------------------------------------------------------------------------------------


def test_the_defaults_let_a_household_through(client: Any, app: Flask) -> None:
    settings = app.extensions["civicforms.settings"]
    assert settings.rate_limit_starts == "60 per 10 minutes"
    assert settings.rate_limit_posts == "600 per 10 minutes"
    assert settings.rate_limit_storage == "memory://"
    # Five people behind one address each start three forms and answer fifteen pages (with an
    # error or two): far under both limits.
    citizens = [Citizen(app.test_client()) for _ in range(5)]
    for citizen in citizens:
        for i in range(3):
            assert citizen.start(SERVICE).status_code == 303
            if i < 2:
                citizen.client.delete_cookie("civicforms_session")
        for _ in range(15):
            response = citizen.post("/services/blue-badge/where-you-live", {"lives_in_area": "yes"})
            assert response.status_code != 429


def test_too_many_posts_get_the_too_many_requests_page_with_retry_after(make_app: Any) -> None:
    app = make_app(rate_limit_posts="5 per 10 minutes")
    citizen = Citizen(app.test_client())
    assert citizen.start(SERVICE).status_code == 303  # one
    for _ in range(4):  # five
        assert citizen.answer(SERVICE, "where-you-live", {}).status_code == 200
    response = citizen.answer(SERVICE, "where-you-live", {"lives_in_area": "yes"})
    retry_after = assert_too_many_requests(response)
    assert retry_after <= 600
    # Nothing of the refused post was saved; reading pages still works.
    with dbmod.session(app.extensions["civicforms.engine"]) as db:
        (row,) = form_sessions(db)
        assert row.answers == {}
    assert citizen.client.get(FIRST_PAGE).status_code == 200
    assert citizen.client.get("/").status_code == 200


def test_too_many_starts_are_refused_and_another_address_is_not(make_app: Any) -> None:
    app = make_app(rate_limit_starts="2 per 10 minutes")
    client = app.test_client()
    citizen = Citizen(client)
    for _ in range(2):
        assert citizen.start(SERVICE).status_code == 303
        client.delete_cookie("civicforms_session")
    assert_too_many_requests(citizen.start(SERVICE))
    # Another client (a different address) is not affected, nor are posts to pages.
    other = Citizen(app.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert other.start(SERVICE).status_code == 303


def test_the_client_is_told_apart_by_the_address_the_trusted_proxy_forwarded(make_app: Any) -> None:
    app = make_app(rate_limit_starts="1 per 10 minutes")  # the test client is 127.0.0.1: a trusted proxy

    def start_from(forwarded_for: str, remote: str = "127.0.0.1") -> int:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = remote
        token = Citizen(client).csrf(f"/services/{SERVICE}")
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post(f"/services/{SERVICE}/start", data={"csrf_token": token}, headers=headers).status_code

    assert start_from("203.0.113.1") == 303
    assert start_from("203.0.113.1") == 429
    assert start_from("203.0.113.2") == 303  # behind the same proxy, another citizen
    # A client that reaches the server itself cannot choose its address with the header.
    assert start_from("203.0.113.50", remote="192.0.2.9") == 303
    assert start_from("203.0.113.51", remote="192.0.2.9") == 429


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("127.0.0.1", None, ["127.0.0.1"], "127.0.0.1"),
        ("127.0.0.1", "203.0.113.9", ["127.0.0.1"], "203.0.113.9"),
        ("127.0.0.1", "6.6.6.6, 203.0.113.9", ["127.0.0.1"], "203.0.113.9"),  # a spoofed first hop
        ("127.0.0.1", "203.0.113.9, 10.0.0.5", ["127.0.0.1", "10.0.0.0/8"], "203.0.113.9"),
        ("192.0.2.9", "203.0.113.9", ["127.0.0.1"], "192.0.2.9"),
        ("10.1.1.1", "203.0.113.9", ["*"], "203.0.113.9"),
        ("127.0.0.1", "not-an-address", ["127.0.0.1"], "not-an-address"),
        (None, None, ["127.0.0.1"], "unknown"),
    ],
)
def test_client_address(remote: str | None, forwarded: str | None, trusted: list[str], expected: str) -> None:
    assert abuse.client_address(remote, forwarded, abuse.trusted_networks(trusted)) == expected


class Clock:
    """Time as the rate limiter and the 429 page see it, moved on by the test."""

    def __init__(self) -> None:
        # At the start of a 10-minute window: the sliding window counter weighs the last
        # window's count by how much of it still overlaps, so where a test starts matters.
        self.now = (time.time() // 600) * 600 + 1

    def time(self) -> float:
        return self.now


def test_the_limit_resets_after_its_window(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import limits.storage.memory
    import limits.strategies

    from runtime.web import citizen_shell

    clock = Clock()
    for module in (limits.storage.memory, limits.strategies, citizen_shell):
        monkeypatch.setattr(module, "time", clock)
    app = make_app(rate_limit_posts="3 per 10 minutes")
    citizen = Citizen(app.test_client())
    citizen.start(SERVICE)
    for _ in range(2):
        citizen.answer(SERVICE, "where-you-live", {})
    clock.now += 60
    retry_after = assert_too_many_requests(citizen.answer(SERVICE, "where-you-live", {}))
    assert 60 < retry_after <= 600
    clock.now += 300  # half way: the earlier posts still weigh in the sliding window
    assert citizen.answer(SERVICE, "where-you-live", {}).status_code == 429
    clock.now += 1200  # two windows on: every post counted has gone
    response = citizen.answer(SERVICE, "where-you-live", {"lives_in_area": "yes"})
    assert response.status_code == 303


def test_off_turns_a_limit_off(make_app: Any) -> None:
    app = make_app(rate_limit_starts="off", rate_limit_posts="off", max_forms_per_client=10_000)
    client = app.test_client()
    citizen = Citizen(client)
    for _ in range(70):
        assert citizen.start(SERVICE).status_code == 303
        client.delete_cookie("civicforms_session")


def test_the_builder_and_back_office_are_not_limited_by_the_citizen_limits(settings: Settings) -> None:
    from builder.web import create_builder_app
    from runtime.web.casework import create_casework_app

    tight = dataclasses.replace(settings, rate_limit_posts="1 per 10 minutes", rate_limit_starts="1 per 10 minutes")
    for factory in (create_builder_app, create_casework_app):
        app = factory({"SETTINGS": tight, "TESTING": True, "WTF_CSRF_ENABLED": False})
        try:
            assert "civicforms.limiter" not in app.extensions
            client = app.test_client()
            statuses = {client.post("/sign-in", data={"email": "x@example.org", "password": "x"}).status_code}
            statuses.add(client.post("/sign-in", data={"email": "x@example.org", "password": "x"}).status_code)
            assert 429 not in statuses
        finally:
            app.extensions["civicforms.engine"].dispose()


# -- caps -----------------------------------------------------------------------------------------


def test_a_client_cannot_start_more_than_the_cap_of_forms(make_app: Any) -> None:
    app = make_app(max_forms_per_client=3)
    client = app.test_client()
    citizen = Citizen(client)
    for _ in range(3):
        assert citizen.start(SERVICE).status_code == 303
        client.delete_cookie("civicforms_session")
    response = citizen.start(SERVICE)
    assert_too_many_requests(response, "You have started too many forms")
    with dbmod.session(app.extensions["civicforms.engine"]) as db:
        assert len(form_sessions(db)) == 3
    # Continuing a form already started is not a new one.
    other = Citizen(app.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    assert other.start(SERVICE).status_code == 303


def test_a_forms_answers_are_capped(make_app: Any) -> None:
    app = make_app(max_post_bytes=64 * 1024, max_answers_bytes=64 * 1024)
    citizen = Citizen(app.test_client())
    citizen.start(SERVICE)
    citizen.answer(SERVICE, "where-you-live", {"lives_in_area": "yes"})
    db = dbmod.session(app.extensions["civicforms.engine"])
    (row,) = form_sessions(db)
    # Fill the stored answers close to the cap, as many pages of long answers would.
    row.answers = {**row.answers, "padding": "x" * (64 * 1024 - 60)}
    db.add(row)
    db.commit()
    response = citizen.answer(SERVICE, "where-you-live", {"lives_in_area": "yes"})
    assert response.status_code == 303  # same size: still under
    response = citizen.answer(SERVICE, "qualifying-benefit", {"gets_qualifying_benefit": "no"})
    assert response.status_code == 413
    assert heading(page(response)) == "The information you sent was too large"
    (row,) = form_sessions(db)
    assert "gets_qualifying_benefit" not in row.answers
    db.close()


def test_starts_stop_with_a_clear_page_when_unsent_answers_fill_the_cap(make_app: Any) -> None:
    app = make_app(max_unsent_answers_mb=1)
    citizen = Citizen(app.test_client())
    citizen.start(SERVICE)
    db = dbmod.session(app.extensions["civicforms.engine"])
    (row,) = form_sessions(db)
    row.answers = {"padding": "x" * (1024 * 1024)}
    db.add(row)
    db.commit()
    assert abuse.unsent_answers_bytes(session=db) > 1024 * 1024
    app.extensions["civicforms.unsent_answers"].max_age = 0  # measure now, not in 15 seconds
    other = Citizen(app.test_client())
    response = other.start(SERVICE)
    assert response.status_code == 503
    assert heading(page(response)) == "Sorry, the service is unavailable"
    assert len(form_sessions(db)) == 1
    db.close()


def test_unsent_answers_bytes_counts_live_unsent_sessions_only(app: Flask, db_session: Any) -> None:
    service = versions.definition(session=db_session, service_id=SERVICE)
    assert service is not None
    tokens = [form_session_data.start_form_session(session=db_session, service=service, minutes=60) for _ in range(3)]
    rows = [form_session_data.get_form_session(session=db_session, token=t) for t in tokens]
    assert all(rows)
    rows[0].answers = {"a": "x" * 1000}  # type: ignore[union-attr]
    rows[1].answers = {"a": "y" * 5000}  # type: ignore[union-attr]
    rows[1].submission_reference = "ABC"  # type: ignore[union-attr]
    rows[2].answers = {"a": "z" * 7000}  # type: ignore[union-attr]
    rows[2].expires_at = utcnow() - timedelta(minutes=1)  # type: ignore[union-attr]
    db_session.commit()
    assert 1000 < abuse.unsent_answers_bytes(session=db_session) < 1100


# -- purge ----------------------------------------------------------------------------------------


def test_purge_deletes_expired_sessions_in_batches(app: Flask, db_session: Any) -> None:
    engine = app.extensions["civicforms.engine"]
    service = versions.definition(session=db_session, service_id=SERVICE)
    assert service is not None
    now = utcnow()
    for i in range(25):
        db_session.add(
            FormSession(
                id=uuid.uuid4().hex,
                service_id=SERVICE,
                service_version=service.version,
                answers={"n": i},
                created_at=now,
                updated_at=now,
                expires_at=now + timedelta(minutes=-5 if i < 23 else 30),
            )
        )
    db_session.commit()
    commits: list[int] = []

    def count_commit(conn: Any) -> None:
        commits.append(1)

    event.listen(engine, "commit", count_commit)
    try:
        assert abuse.purge_expired(engine, batch_size=10) == 23
    finally:
        event.remove(engine, "commit", count_commit)
    assert len(commits) == 3  # 10, 10, 3: one transaction each, none holding every row
    remaining = form_sessions(db_session)
    assert sorted(r.answers["n"] for r in remaining) == [23, 24]
    assert abuse.purge_expired(engine, batch_size=10) == 0


def test_sessions_purge_command_takes_a_batch_size(database_url: str, db_session: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from runtime.cli import main

    service = versions.definition(session=db_session, service_id=SERVICE)
    assert service is not None
    for _ in range(3):
        token = form_session_data.start_form_session(session=db_session, service=service, minutes=60)
        row = form_session_data.get_form_session(session=db_session, token=token)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    env = {"CIVICFORMS_DATABASE_URL": database_url, "CIVICFORMS_SECRET_KEY": "k" * 40, "CIVICFORMS_ENV": "test"}
    # Their files too (docs/uploads.md): kept in the test's folder.
    env |= {"CIVICFORMS_UPLOAD_DIR": str(tmp_path / "uploads"), "CIVICFORMS_QUARANTINE_DIR": str(tmp_path / "q")}
    runner = CliRunner()
    result = runner.invoke(main, ["sessions", "purge", "--batch-size", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "deleted 3 expired sessions and 0 unsent files\n"
    bad = runner.invoke(main, ["sessions", "purge", "--batch-size", "0"], env=env)
    assert bad.exit_code == 2 and "batch-size" in bad.output


# -- settings -------------------------------------------------------------------------------------

BASE_ENV = {"CIVICFORMS_SECRET_KEY": "s" * 40, "CIVICFORMS_ENV": "production"}


def test_the_limits_come_from_settings() -> None:
    settings = from_environment(
        {
            **BASE_ENV,
            "CIVICFORMS_RATE_LIMIT_STARTS": " 30  PER 5 minutes ",
            "CIVICFORMS_RATE_LIMIT_POSTS": "off",
            "CIVICFORMS_RATE_LIMIT_STORAGE": "redis://cache.internal:6379/2",
            "CIVICFORMS_MAX_FORMS_PER_CLIENT": "40",
            "CIVICFORMS_MAX_ANSWERS_BYTES": "200000",
            "CIVICFORMS_MAX_UNSENT_ANSWERS_MB": "512",
            "FORWARDED_ALLOW_IPS": "10.0.0.0/8, 127.0.0.1",
        }
    )
    assert settings.rate_limit_starts == "30 per 5 minutes"
    assert settings.rate_limit_posts == "off"
    assert settings.rate_limit_storage == "redis://cache.internal:6379/2"
    assert (settings.max_forms_per_client, settings.max_answers_bytes, settings.max_unsent_answers_mb) == (
        40,
        200000,
        512,
    )
    assert settings.forwarded_allow_ips == ("10.0.0.0/8", "127.0.0.1")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "CIVICFORMS_RATE_LIMIT_STARTS",
            "sixty",
            "CIVICFORMS_RATE_LIMIT_STARTS must be a rate like '60 per 10 minutes'",
        ),
        ("CIVICFORMS_RATE_LIMIT_POSTS", "600 per fortnight", "CIVICFORMS_RATE_LIMIT_POSTS must be a rate like"),
        ("CIVICFORMS_RATE_LIMIT_POSTS", "0 per minute", "CIVICFORMS_RATE_LIMIT_POSTS must be a rate like"),
        ("CIVICFORMS_RATE_LIMIT_POSTS", "1/second;2/minute", "CIVICFORMS_RATE_LIMIT_POSTS must be a rate like"),
        ("CIVICFORMS_RATE_LIMIT_STORAGE", "postgresql://db/x", "limits has no database storage"),
        ("CIVICFORMS_RATE_LIMIT_STORAGE", "memcached://x", "CIVICFORMS_RATE_LIMIT_STORAGE must be memory://"),
        (
            "CIVICFORMS_MAX_FORMS_PER_CLIENT",
            "lots",
            "CIVICFORMS_MAX_FORMS_PER_CLIENT must be a whole number, got 'lots'",
        ),
        ("CIVICFORMS_MAX_FORMS_PER_CLIENT", "0", "CIVICFORMS_MAX_FORMS_PER_CLIENT must be 1 or more"),
        ("CIVICFORMS_MAX_ANSWERS_BYTES", "-5", "CIVICFORMS_MAX_ANSWERS_BYTES must be a whole number"),
        ("CIVICFORMS_MAX_ANSWERS_BYTES", "1000", "must be at least CIVICFORMS_MAX_POST_BYTES"),
        ("CIVICFORMS_MAX_UNSENT_ANSWERS_MB", "1.5", "CIVICFORMS_MAX_UNSENT_ANSWERS_MB must be a whole number"),
        ("FORWARDED_ALLOW_IPS", "127.0.0.1,proxy.local", "FORWARDED_ALLOW_IPS: 'proxy.local' is not an address"),
    ],
)
def test_bad_limit_settings_are_refused_clearly(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        from_environment({**BASE_ENV, name: value})
    assert message in str(raised.value)


# -- Redis, for several processes -----------------------------------------------------------------


def _redis_url() -> str | None:
    """A Redis server on this machine, when there is one and the redis package to talk to it
    (start one with ``redis-server --daemonize yes --port 6379 --save "" --appendonly no``)."""
    try:
        import redis  # noqa: F401
    except ModuleNotFoundError:
        return None
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return "redis://127.0.0.1:6379/15"
    except OSError:
        return None


def test_redis_down_citizens_still_start_and_limits_count_in_memory(make_app: Any) -> None:
    # Nothing listens on port 1: every storage call fails. No citizen gets a 500 for it, and
    # the limit still holds, counted in this process until Redis is back.
    app = make_app(rate_limit_storage="redis://127.0.0.1:1/15", rate_limit_starts="2 per minute")
    client = app.test_client()
    for _ in range(2):
        assert Citizen(client).start(SERVICE).status_code == 303
    assert_too_many_requests(Citizen(client).start(SERVICE))


def test_two_apps_share_counts_in_redis(make_app: Any) -> None:
    url = _redis_url()
    if url is None:
        pytest.skip("needs the redis package and a Redis server on 127.0.0.1:6379 (or redis-server to start one)")
    limit = f"2 per {60 + uuid.uuid4().int % 1000} seconds"  # a key of this run's own
    first, second = (make_app(rate_limit_storage=url, rate_limit_starts=limit) for _ in range(2))
    for app in (first, second):
        client = app.test_client()
        assert Citizen(client).start(SERVICE).status_code == 303
    assert_too_many_requests(Citizen(first.test_client()).start(SERVICE))


def test_benchmarks_can_turn_every_limit_off_in_the_app_config(settings: Settings) -> None:
    tight = dataclasses.replace(settings, rate_limit_starts="1 per hour", rate_limit_posts="1 per hour")
    app = create_citizen_app(
        {"SETTINGS": dataclasses.replace(tight, max_forms_per_client=1), "RATELIMIT_ENABLED": False}
    )
    try:
        client = app.test_client()
        citizen = Citizen(client)
        for _ in range(3):
            assert citizen.start(SERVICE).status_code == 303
            client.delete_cookie("civicforms_session")
    finally:
        app.extensions["civicforms.engine"].dispose()

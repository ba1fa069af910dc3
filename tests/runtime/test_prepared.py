"""Prepared statements on the question pages' hot path (runtime.db.Prepared, StatementSession):
the same rows and the same writes as SQLAlchemy's own execution, on SQLite and PostgreSQL;
database errors raised as SQLAlchemy's, without the values; a connection that died dropped
from the pool; and the autocommit engine's durability as the settings say.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, insert, literal_column, text
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from runtime import db as dbmod
from runtime import versions
from runtime.data import form_sessions, submissions
from runtime.models import CitizenIdentifier, FormSession
from runtime.settings import Settings, SettingsError, from_environment
from runtime.web import create_citizen_app
from tests.conftest import Citizen
from tests.journeys import HAPPY_PATHS


def _sessions(app: Flask) -> dict[str, Session]:
    """The two ways of running a prepared statement: in a transaction, and on its own."""
    return {
        "transaction": dbmod.session(app.extensions["civicforms.engine"]),
        "statement": dbmod.StatementSession(app.extensions["civicforms.autocommit_engine"], expire_on_commit=False),
    }


def _started(app: Flask) -> str:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        service = versions.definition(session=s, service_id="blue-badge")
        assert service is not None
        token = form_sessions.start_form_session(session=s, service=service, minutes=60)
        s.commit()
        return token


def _row(app: Flask, token: str) -> FormSession:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        row = form_sessions.get_form_session(session=s, token=token)
        assert row is not None
        return row


ANSWERS: dict[str, Any] = {
    "lives_in_area": "yes",
    "note": "<script>alert('x')</script> ' OR 1=1 -- \u00e9\u00e8 \U0001f600 \\\\ %s %(x)s ?",
    "n": 0,
    "f": 1.5,
    "nested": {"list": [1, "two", None, True]},
}


@pytest.fixture(params=["transaction", "statement"])
def started(request: pytest.FixtureRequest, app: Flask) -> Iterator[tuple[str, Session]]:
    """A new form session's token, and a session of each kind to run the statements on."""
    token = _started(app)
    session = _sessions(app)[request.param]
    yield token, session
    session.close()


def test_a_prepared_read_gives_the_orm_row_column_for_column(app: Flask, started: tuple[str, Session]) -> None:
    token, session = started
    state = form_sessions.read_form_session(session=session, token=token)
    assert state is not None
    form_sessions.save_answers(session=session, form_session=state, answers=ANSWERS, minutes=45)
    session.commit()
    again = form_sessions.read_form_session(session=session, token=token)
    session.close()
    row = _row(app, token)
    assert again is not None
    for name in again.__slots__:
        assert getattr(again, name) == getattr(row, name), name
        assert type(getattr(again, name)) is type(getattr(row, name)), name
    assert row.answers == ANSWERS
    assert row.expires_at.tzinfo == state.expires_at.tzinfo and row.expires_at == state.expires_at


def test_a_prepared_update_of_a_sent_form_changes_nothing(app: Flask, started: tuple[str, Session]) -> None:
    token, session = started
    stale = form_sessions.read_form_session(session=session, token=token)
    sent = form_sessions.read_form_session(session=session, token=token)
    assert stale is not None and sent is not None
    sent.submission_reference = "BB-SENT-0002"
    form_sessions.save_answers(session=session, form_session=sent, answers={}, minutes=60)
    form_sessions.save_answers(session=session, form_session=stale, answers={"lives_in_area": "no"}, minutes=60)
    session.commit()
    session.close()
    row = _row(app, token)
    assert row.submission_reference == "BB-SENT-0002" and row.answers == {}


def test_a_statement_session_borrows_one_connection_and_gives_it_back(app: Flask) -> None:
    engine = app.extensions["civicforms.autocommit_engine"]
    token = _started(app)
    session = _sessions(app)["statement"]
    before = engine.pool.checkedout()
    state = form_sessions.read_form_session(session=session, token=token)
    assert state is not None
    form_sessions.keep_alive(session=session, form_session=state, minutes=60)
    form_sessions.save_answers(session=session, form_session=state, answers={"n": 1}, minutes=60)
    assert engine.pool.checkedout() == before + 1  # one, for all three statements
    session.close()
    assert engine.pool.checkedout() == before
    assert _row(app, token).answers == {"n": 1}  # each statement committed as it ran


def test_the_plan_is_compiled_once_per_dialect(app: Flask) -> None:
    dialect = app.extensions["civicforms.autocommit_engine"].dialect
    prepared = dbmod.Prepared(core_select(literal_column("1")))
    assert prepared.plan(dialect) is prepared.plan(dialect)


# -- errors -------------------------------------------------------------------------------------


def test_a_failing_prepared_statement_raises_sqlalchemys_error_without_the_values(app: Flask) -> None:
    email = "jane.secret.smith@example.com"
    table = CitizenIdentifier.__table__  # type: ignore[attr-defined]
    prepared = dbmod.Prepared(
        insert(table).values(citizen_id=bindparam("citizen"), kind="email", value=bindparam("value"))
    )
    session = _sessions(app)["statement"]
    try:
        with pytest.raises(IntegrityError) as failed:  # no such citizen (foreign key), or NULL
            prepared.run(session, {"citizen": None, "value": email})
        message = str(failed.value)
        assert email not in message and "jane" not in message
        assert "hidden" in message  # hide_parameters: the values are never shown
        # The connection is still good: the next statement runs on it.
        rows, _ = dbmod.Prepared(core_select(literal_column("1"))).run(session, {})
        assert rows == [(1,)]
    finally:
        session.close()


@pytest.fixture
def postgresql_app(app: Flask) -> Flask:
    if app.extensions["civicforms.engine"].dialect.name != "postgresql":
        pytest.skip("a connection killed by the server: PostgreSQL only")
    return app


def test_a_connection_killed_under_a_statement_is_dropped_and_the_next_one_works(postgresql_app: Flask) -> None:
    app = postgresql_app
    token = _started(app)
    session = _sessions(app)["statement"]
    try:
        assert form_sessions.read_form_session(session=session, token=token) is not None
        pid = session.pooled().dbapi_connection.info.backend_pid
        with app.extensions["civicforms.engine"].connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        with pytest.raises(OperationalError) as failed:
            form_sessions.read_form_session(session=session, token=token)
        assert failed.value.connection_invalidated
        # The dead connection is gone: the same session borrows a new one, and it works.
        state = form_sessions.read_form_session(session=session, token=token)
        assert state is not None
        assert session.pooled().dbapi_connection.info.backend_pid != pid
    finally:
        session.close()


def test_a_question_page_whose_pooled_connection_died_still_works(postgresql_app: Flask, citizen: Citizen) -> None:
    """The server ended a connection while it sat in the pool (a restart, an idle timeout):
    with no ping before lending it, the page's first statement fails on it and runs again on
    a new connection. The citizen sees the page, the answer is saved."""
    app = postgresql_app
    service = "missed-bin-collection"
    assert citizen.start(service).status_code == 303
    page_id, answers = HAPPY_PATHS[service][0]
    url = f"/services/{service}/{page_id}"
    engine = app.extensions["civicforms.autocommit_engine"]
    for request in ("GET", "POST"):
        token = citizen.csrf(url)  # the page read once: its connection served, and is in the pool
        assert engine.pool.checkedin() == 1
        pooled = engine.raw_connection()
        pid = pooled.dbapi_connection.info.backend_pid
        pooled.close()
        with app.extensions["civicforms.engine"].connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        if request == "GET":
            assert citizen.client.get(url).status_code == 200
        else:
            sent = citizen.client.post(url, data={**answers, "csrf_token": token})
            assert sent.status_code == 303 and not sent.headers["Location"].endswith(page_id)
        pooled = engine.raw_connection()
        assert pooled.dbapi_connection.info.backend_pid != pid
        pooled.close()
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        [row] = s.exec(select(FormSession)).all()
        assert list(row.answers) == ["address"]  # the address page's one question, saved


def test_a_server_that_cannot_be_reached_is_an_error_at_once_not_a_retry() -> None:
    engine = dbmod.make_autocommit_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    session = dbmod.StatementSession(engine)
    try:
        with pytest.raises(OperationalError):
            form_sessions.read_form_session(session=session, token="a" * 43)
    finally:
        session.close()
        engine.dispose()


# -- durability -----------------------------------------------------------------------------------


def _waits_for_the_disk(engine: Any) -> bool:
    """SQLite synchronous=FULL (2, not NORMAL: 1); PostgreSQL synchronous_commit on."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return {2: True, 1: False}[int(conn.execute(text("PRAGMA synchronous")).scalar())]
        return {"on": True, "off": False}[conn.execute(text("SHOW synchronous_commit")).scalar()]


@pytest.mark.parametrize("flush", [False, True])
def test_unsent_answers_wait_for_the_disk_only_when_the_settings_say(settings: Settings, flush: bool) -> None:
    app = create_citizen_app({"SETTINGS": Settings(**{**settings.__dict__, "flush_every_answer": flush})})
    try:
        assert _waits_for_the_disk(app.extensions["civicforms.autocommit_engine"]) is flush
        assert _waits_for_the_disk(app.extensions["civicforms.engine"]) is True  # sending: always
        if settings.database_url.startswith("sqlite"):
            with app.extensions["civicforms.autocommit_engine"].connect() as conn:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        for engine in app.extensions["civicforms.engines"]:
            engine.dispose()


def test_the_setting_is_read_and_checked() -> None:
    base = {"CIVICFORMS_SECRET_KEY": "k" * 40, "CIVICFORMS_DATABASE_URL": "sqlite:///:memory:"}
    assert from_environment(base).flush_every_answer is False
    assert from_environment(base | {"CIVICFORMS_FLUSH_EVERY_ANSWER": "true"}).flush_every_answer is True
    assert from_environment(base | {"CIVICFORMS_FLUSH_EVERY_ANSWER": "off"}).flush_every_answer is False
    for bad in ("maybe", "2", "\x00", "t" * 5000):
        with pytest.raises(SettingsError, match="true or false"):
            from_environment(base | {"CIVICFORMS_FLUSH_EVERY_ANSWER": bad})


def test_a_sent_form_survives_what_was_saved_before_it(app: Flask, citizen: Citizen) -> None:
    """Answers saved on question pages (autocommit engine) and the form sent (main engine) are
    one database: what was saved is what is sent."""
    service = "missed-bin-collection"
    assert citizen.start(service).status_code == 303
    for page_id, answers in HAPPY_PATHS[service]:
        assert citizen.answer(service, page_id, answers).status_code == 303
    assert citizen.submit(service).status_code == 303
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        [row] = s.exec(text("SELECT answers, submission_reference FROM form_session")).all()  # type: ignore[call-overload]
        assert row[1] is not None
        submission = submissions.submission_for_form_session(session=s, form_session_id=_only_id(s))
        assert submission is not None and {"bins_missed", "collection_date"} <= set(submission.answers)


def _only_id(s: Session) -> str:
    return str(s.exec(text("SELECT id FROM form_session")).one()[0])  # type: ignore[call-overload]

"""The faster paths of a page (issue 7) give what the slower ones gave.

- the form session read by a core SELECT (``form_session_data.read_form_session``) and written by core
  UPDATEs (``save_answers``, ``keep_alive``), for the plain state and for a tracked ORM row;
- one validation per answers: ``Journey.page_errors`` reuses ``Journey.errors``, and
  ``CompiledService.validate`` keeps results in an LRU keyed by the definition, the day and the
  answers as JSON; compared with validating from scratch on every shipped service's happy path
  and on hostile answers;
- the engines: SQL parameters (a citizen's email) never reach a log or an error message, SQLite
  in WAL with synchronous=FULL, a bounded PostgreSQL pool.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

from runtime import db as dbmod
from runtime import validation, versions
from runtime.data import form_sessions as form_session_data
from runtime.data import submissions
from runtime.definition import Definition
from runtime.journey import Journey
from runtime.models import Citizen as CitizenRecord
from runtime.models import CitizenIdentifier, FormSession, StaffUser, Submission, utcnow
from tests.conftest import SERVICE_IDS, Citizen, page
from tests.journeys import HAPPY_PATHS, step_answers
from tests.runtime.helpers import error_summary, form_sessions, walk

# -- the form session: core SELECT and UPDATE ---------------------------------------------------


def _definition(s: Session, service_id: str = "blue-badge") -> Definition:
    found = versions.definition(session=s, service_id=service_id)
    assert found is not None
    return found


def _fresh(engine: Any, token: str) -> FormSession:
    with dbmod.session(engine) as s:
        row = form_session_data.get_form_session(session=s, token=token)
        assert row is not None
        return row


def _started(engine: Any) -> str:
    """A new form session of blue-badge, committed; its token."""
    with dbmod.session(engine) as s:
        token = form_session_data.start_form_session(session=s, service=_definition(s), minutes=60)
        s.commit()
        return token


def test_read_form_session_gives_the_same_columns_as_the_orm_row(app: Flask) -> None:
    engine = app.extensions["civicforms.engine"]
    token = _started(engine)
    with dbmod.session(engine) as s:
        state = form_session_data.read_form_session(session=s, token=token)
        row = form_session_data.get_form_session(session=s, token=token)
        assert state is not None and row is not None
        assert {name: getattr(state, name) for name in state.__slots__} == {
            name: getattr(row, name) for name in state.__slots__
        }
        assert not isinstance(state, FormSession)  # not tracked: nothing set on it is written by itself


@pytest.mark.parametrize("token", [None, "", "not-a-token", "x" * 101, "\x00", "' OR 1=1 --"])
def test_read_form_session_refuses_unknown_and_malformed_tokens(app: Flask, token: str | None) -> None:
    with dbmod.session(app.extensions["civicforms.engine"]) as s:
        form_session_data.start_form_session(session=s, service=_definition(s), minutes=60)
        s.commit()
        assert form_session_data.read_form_session(session=s, token=token) is None


def test_read_form_session_refuses_an_expired_session(app: Flask) -> None:
    engine = app.extensions["civicforms.engine"]
    with dbmod.session(engine) as s:
        token = form_session_data.start_form_session(session=s, service=_definition(s), minutes=60)
        row = form_session_data.get_form_session(session=s, token=token)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.commit()
        assert form_session_data.read_form_session(session=s, token=token) is None


def test_save_answers_writes_the_state_with_one_update(app: Flask) -> None:
    engine = app.extensions["civicforms.engine"]
    token = _started(engine)
    with dbmod.session(engine) as s:
        state = form_session_data.read_form_session(session=s, token=token)
        assert state is not None
        answers = {"lives_in_area": "yes", "note": "<script>alert(1)</script>", "n": 0}
        form_session_data.save_answers(session=s, form_session=state, answers=answers, minutes=30)
        answers["n"] = 99  # the caller's dict is copied, as before
        state.submission_reference = "ABC-123"
        form_session_data.save_answers(session=s, form_session=state, answers=state.answers, minutes=30)
        s.commit()
    row = _fresh(engine, token)
    assert row.answers == {"lives_in_area": "yes", "note": "<script>alert(1)</script>", "n": 0}
    assert row.submission_reference == "ABC-123"
    assert utcnow() + timedelta(minutes=29) < row.expires_at <= utcnow() + timedelta(minutes=30)
    assert row.updated_at == state.updated_at and row.expires_at == state.expires_at


def test_save_answers_on_a_tracked_row_leaves_it_clean_and_written(app: Flask) -> None:
    engine = app.extensions["civicforms.engine"]
    with dbmod.session(engine) as s:
        token = form_session_data.start_form_session(session=s, service=_definition(s), minutes=60)
        row = form_session_data.get_form_session(session=s, token=token)
        assert row is not None
        row.submission_reference = "SET-BEFORE"  # changed on the row, then saved: both written
        form_session_data.save_answers(session=s, form_session=row, answers={"lives_in_area": "no"}, minutes=60)
        assert row.answers == {"lives_in_area": "no"}
        assert not s.dirty  # the UPDATE wrote it: the commit writes nothing again
        s.commit()
    fresh = _fresh(engine, token)
    assert fresh.answers == {"lives_in_area": "no"} and fresh.submission_reference == "SET-BEFORE"


def test_keep_alive_writes_at_most_once_a_minute(app: Flask) -> None:
    engine = app.extensions["civicforms.engine"]
    token = _started(engine)
    with dbmod.session(engine) as s:
        state = form_session_data.read_form_session(session=s, token=token)
        assert state is not None
        assert form_session_data.keep_alive(session=s, form_session=state, minutes=60) is False  # just started
        state.updated_at = utcnow() - timedelta(minutes=2)
        state.answers = {"not": "written"}  # keep_alive writes the times only
        assert form_session_data.keep_alive(session=s, form_session=state, minutes=90) is True
        s.commit()
    row = _fresh(engine, token)
    assert row.answers == {}
    assert row.expires_at > utcnow() + timedelta(minutes=89)


# -- the pages, with the form session read by read_form_session --------------------------------
# runtime/web/citizen.py reads it with get_form_session until the lead switches it; these tests
# run the pages with the switch made.


@pytest.fixture
def core_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(form_session_data, "get_form_session", form_session_data.read_form_session)


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_every_service_submits_with_the_core_reads(
    core_reads: None, citizen: Citizen, db_session: Session, service_id: str
) -> None:
    walk(citizen, service_id)
    response = citizen.submit(service_id)
    assert response.status_code == 303 and response.headers["Location"].endswith("/confirmation")
    [submission] = db_session.exec(select(Submission)).all()
    [row] = form_sessions(db_session)
    assert row.submission_reference == submission.reference and row.answers == {}
    confirmation = citizen.client.get(f"/services/{service_id}/confirmation")
    assert submission.reference in confirmation.get_data(as_text=True)
    # Back to a question page after sending: the confirmation, not a new journey.
    first_page = HAPPY_PATHS[service_id][0][0]
    assert citizen.client.get(f"/services/{service_id}/{first_page}").headers["Location"].endswith("/confirmation")


def test_reading_pages_keeps_the_session_alive_with_the_core_reads(
    core_reads: None, citizen: Citizen, db_session: Session
) -> None:
    citizen.start("blue-badge")
    row = db_session.exec(select(FormSession)).one()
    row.updated_at = utcnow() - timedelta(minutes=50)
    row.expires_at = utcnow() + timedelta(minutes=10)
    db_session.commit()
    assert citizen.client.get("/services/blue-badge/where-you-live").status_code == 200
    db_session.expire_all()
    assert db_session.exec(select(FormSession)).one().expires_at > utcnow() + timedelta(minutes=55)


def test_two_citizens_never_see_each_others_errors(core_reads: None, app: Flask) -> None:
    first, second = Citizen(app.test_client()), Citizen(app.test_client())
    first.start("blue-badge")
    second.start("blue-badge")
    wrong = first.answer("blue-badge", "where-you-live", {"lives_in_area": "<b>maybe</b>"})
    assert wrong.status_code == 200 and error_summary(page(wrong))
    shown = second.client.get("/services/blue-badge/where-you-live")
    assert shown.status_code == 200 and error_summary(page(shown)) == []
    assert "&lt;b&gt;maybe" not in shown.get_data(as_text=True)
    # The same wrong answer from the second citizen gets the same errors as the first.
    again = second.answer("blue-badge", "where-you-live", {"lives_in_area": "<b>maybe</b>"})
    assert error_summary(page(again)) == error_summary(page(wrong))


# -- one validation per answers: the same results ----------------------------------------------

HOSTILE: list[Any] = [
    "",
    " ",
    "<script>alert(1)</script>",
    "x" * 5000,
    "\x00",
    "\ud800",
    "🙂" * 50,
    "1",
    "true",
    0,
    1,
    1.0,
    -0.0,
    True,
    False,
    None,
    [],
    ["nope", "nope"],
    {},
    {"line1": 3, "postcode": ["x"]},
    "2999-01-01",
    "1900-02-30",
]


def _reference(journey: Journey) -> tuple[dict[str, str], str | None]:
    """Validation from scratch, as before: every error, and the first page still to answer."""
    found = journey.service.validator.iter_errors(journey.visible_answers)
    errors = validation.error_messages(journey.definition, found)
    wrong = {path.split(".")[0] for path in errors}
    gap = next((p.id for p in journey.path if p.stop or wrong.intersection(p.questions)), None)
    return errors, gap


def _reference_page_errors(journey: Journey, page_id: str) -> dict[str, str]:
    page = journey.definition.page_by_id[page_id]
    answers = journey.visible_answers | {q: journey.answers[q] for q in page.questions if q in journey.answers}
    errors = validation.error_messages(journey.definition, journey.service.validator.iter_errors(answers))
    return {path: msg for path, msg in errors.items() if path.split(".")[0] in page.questions}


def _states(definition: Definition, service_id: str) -> list[tuple[Journey, str]]:
    """(journey, page just answered) along the happy path, each page also answered with every
    hostile value in each of its questions."""
    engine = validation.compiled(definition)
    journey = Journey(engine, {})
    states: list[tuple[Journey, str]] = []
    for step_id, data in HAPPY_PATHS[service_id]:
        page_, given = step_answers(definition, step_id, data, journey.answers)
        for question in page_.questions:
            for value in HOSTILE:
                states.append((journey.answer(page_, {question: value}), page_.id))
        if given is not None:
            journey = journey.answer(page_, given)
        states.append((journey, page_.id))
    return states


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_validation_results_are_those_of_validating_from_scratch(db_session: Session, service_id: str) -> None:
    definition = _definition(db_session, service_id)
    validation.forget_results()
    for attempt in ("empty cache", "every result cached"):
        for journey, page_id in _states(definition, service_id):
            errors, gap = _reference(journey)
            fresh = Journey(journey.service, journey.answers)  # nothing cached on the instance
            assert fresh.page_errors(fresh.definition.page_by_id[page_id]) == _reference_page_errors(journey, page_id)
            assert list(fresh.errors.items()) == list(errors.items()), attempt  # the same order too
            assert (fresh.first_incomplete.id if fresh.first_incomplete else None) == gap, attempt
            other = Journey(journey.service, journey.answers)
            assert (other.first_incomplete.id if other.first_incomplete else None) == gap, attempt


def test_a_cached_result_cannot_be_changed_by_a_caller(db_session: Session) -> None:
    engine = validation.compiled(_definition(db_session))
    validation.forget_results()
    first = engine.validate({})
    assert first
    first.clear()
    first["lives_in_area"] = "changed by a caller"
    assert engine.validate({}) == validation.error_messages(engine.definition, engine.validator.iter_errors({}))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"x": 1}, {"x": True}),
        ({"x": 1}, {"x": 1.0}),
        ({"x": 1}, {"x": "1"}),
        ({"x": None}, {}),
        ({"x": [1]}, {"x": [True]}),
        ({"x": "a", "y": "b"}, {"y": "b", "x": "a"}),  # key order kept: messages are ordered too
    ],
)
def test_answers_that_differ_never_share_a_key(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert validation.validation_key("h", a) != validation.validation_key("h", b)
    assert validation.validation_key("h", a) != validation.validation_key("other", a)


@pytest.mark.parametrize(
    "answers",
    [
        {"x": (1, 2)},  # json.dumps writes a tuple as a list, which jsonschema does not take
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": b"bytes"},
        {1: "not a string key"},
        {"x": {"y": {"z": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}}}},
    ],
)
def test_answers_that_are_not_plain_json_are_validated_each_time(answers: dict[Any, Any]) -> None:
    assert validation.validation_key("h", answers) is None


def test_the_key_carries_the_day_for_dates_before_or_after_today() -> None:
    from datetime import date

    key = validation.validation_key("h", {"when": "2024-01-01"})
    assert key is not None and key[1] == date.today().isoformat()


def test_the_cache_is_bounded(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = validation.compiled(_definition(db_session))
    monkeypatch.setattr(validation._results, "size", 5)
    validation.forget_results()
    for i in range(20):
        engine.validate({"lives_in_area": f"value {i}"})
    assert len(validation._results) == 5


# -- engines ------------------------------------------------------------------------------------


def test_sql_parameters_never_reach_the_log_or_an_error(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    email = "jane.secret.smith@example.com"
    engine = dbmod.make_engine(database_url, echo=True)
    failures: list[str] = []
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"), dbmod.session(engine) as s:
            s.exec(select(CitizenIdentifier).where(CitizenIdentifier.value == email)).all()  # type: ignore[arg-type]
            citizen = CitizenRecord()
            s.add(citizen)
            s.flush()
            assert citizen.id is not None
            s.add(CitizenIdentifier(citizen_id=citizen.id, kind="email", value=email))
            s.add(StaffUser(email=email, name="Jane Secret Smith"))
            s.commit()
            # Several records may hold one email (migration 0008): a unique email that holds
            # personal data is a staff member's; PostgreSQL's DETAIL would quote it.
            bad_rows = [
                CitizenIdentifier(citizen_id=None, kind="email", value=email + ".uk"),  # type: ignore[arg-type]
                StaffUser(email=email, name="Jane Secret Smith"),  # the same address again
            ]
            for bad in bad_rows:
                with pytest.raises(IntegrityError) as failed:
                    s.add(bad)
                    s.flush()
                s.rollback()
                failures.append(str(failed.value))
            if database_url.startswith("postgresql"):  # SQLite reads any text as an integer
                with pytest.raises(DBAPIError) as unreadable:  # PostgreSQL quotes the value it could not read
                    s.connection().execute(text("SELECT CAST(:v AS INTEGER)"), {"v": email})
                s.rollback()
                failures.append(str(unreadable.value))
        assert "SELECT" in caplog.text  # the statements are logged ...
        assert email not in caplog.text  # ... without their values
        for message in failures:
            assert email not in message and "jane" not in message, message
            assert "hidden" in message
        if database_url.startswith("postgresql"):
            assert "SQLSTATE 23502" in failures[0] and "citizen_identifier" in failures[0]
            assert "SQLSTATE 23505" in failures[1] and "staff_user" in failures[1]
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_with_full_sync(tmp_path: Any) -> None:
    engine = dbmod.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


@pytest.mark.parametrize(
    ("make", "size", "overflow", "pinged"),
    [
        (dbmod.make_engine, 2, 3, True),
        # The question pages' pool: one kept, two more for a burst, no ping (Prepared runs a
        # statement that found a pooled connection dead again instead).
        (dbmod.make_autocommit_engine, 1, 2, False),
    ],
)
def test_the_postgresql_pools_are_bounded(make: Any, size: int, overflow: int, pinged: bool) -> None:
    # No connection is made: the pool's settings are read off the engine.
    engine = make(NOWHERE)
    assert engine.pool.size() == size
    assert engine.pool._max_overflow == overflow
    assert engine.pool._pre_ping is pinged
    assert engine.pool._recycle == 1800
    assert engine.hide_parameters is True
    assert make(NOWHERE, pool_size=7).pool.size() == 7


def test_the_autocommit_engine_commits_each_statement_as_it_runs() -> None:
    autocommit = dbmod.make_autocommit_engine(NOWHERE)
    assert autocommit.dialect._on_connect_isolation_level == "AUTOCOMMIT"  # type: ignore[attr-defined]


# -- one statement at a time ----------------------------------------------------------------------


def test_question_pages_run_each_statement_on_its_own_and_sending_in_one_transaction(
    app: Flask, citizen: Citizen, db_session: Session
) -> None:
    """A question page's read and its one UPDATE need no transaction around them (on PostgreSQL
    that saves BEGIN and COMMIT or ROLLBACK: two round trips a page); sending, which writes the
    submission, the citizen record, the case and the form session together, keeps one. Read at
    the driver (runtime.db.DriverTrace): what SQLite ran, or what went over the wire."""
    service = "missed-bin-collection"
    client = citizen.client
    assert citizen.start(service).status_code == 303
    steps = HAPPY_PATHS[service]
    first, data = steps[0]
    url = f"/services/{service}/{first}"
    token = citizen.csrf(url)
    postgresql = app.extensions["civicforms.engine"].dialect.name == "postgresql"
    with dbmod.DriverTrace(*app.extensions["civicforms.engines"]) as trace:
        # On PostgreSQL one round trip a statement: no BEGIN, no COMMIT, and no ping of the
        # pooled connection (a dead one fails its first statement, which runs again: test_prepared).
        for _ in range(2):  # a new connection, then one from the pool
            assert client.get(url).status_code == 200
            assert trace.words() == ["SELECT"] and trace.round_trips() == (1 if postgresql else None)
            trace.clear()
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 303
        assert trace.words() == ["SELECT", "UPDATE"] and trace.round_trips() == (2 if postgresql else None)
        for page_id, answers in steps[1:]:
            assert citizen.answer(service, page_id, answers).status_code == 303
        check = f"/services/{service}/check-answers"
        token = citizen.csrf(check)
        trace.clear()
        assert client.post(check, data={"csrf_token": token}).status_code == 303
        sent = trace.words()
    # One transaction holds every write (pysqlite begins it at the first write, PostgreSQL first).
    assert sent.count("BEGIN") == sent.count("COMMIT") == 1 and sent[-1] == "COMMIT"
    writes = [i for i, word in enumerate(sent) if word in ("INSERT", "UPDATE", "DELETE")]
    assert writes and sent.index("BEGIN") < min(writes) and "INSERT" in sent and "UPDATE" in sent
    # And what was saved one statement at a time was sent.
    [stored] = form_sessions(db_session)
    submission = submissions.submission_for_form_session(session=db_session, form_session_id=stored.id)
    assert submission is not None and submission.reference == stored.submission_reference
    assert set(submission.answers) >= {"bins_missed", "collection_date"}


def test_one_statement_at_a_time_must_come_first(app: Flask) -> None:
    from runtime.web.common import db, one_statement_at_a_time

    with app.test_request_context("/"):
        db()
        with pytest.raises(RuntimeError, match="before the request's first db"):
            one_statement_at_a_time()


def test_a_page_saved_from_a_stale_read_after_sending_changes_nothing(db_session: Session) -> None:
    """A question page posted in one tab after the form was sent in another: its save, made
    from what it read before the send, neither clears the reference nor puts answers back."""
    service = _definition(db_session)
    token = form_session_data.start_form_session(session=db_session, service=service, minutes=60)
    db_session.commit()
    stale = form_session_data.read_form_session(session=db_session, token=token)
    assert stale is not None and stale.submission_reference is None
    sent = form_session_data.read_form_session(session=db_session, token=token)
    assert sent is not None
    sent.submission_reference = "BB-SENT-0001"
    form_session_data.save_answers(session=db_session, form_session=sent, answers={}, minutes=60)
    db_session.commit()

    form_session_data.save_answers(session=db_session, form_session=stale, answers={"lives_in_area": True}, minutes=60)
    db_session.commit()
    [row] = form_sessions(db_session)
    assert row.submission_reference == "BB-SENT-0001"
    assert row.answers == {}

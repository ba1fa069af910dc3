"""The citizen's use cases called directly, with no Flask: start, save a page, send (the
submission, the citizen record, the case, its messages and the emptied form session in one
transaction), on SQLite and PostgreSQL. Rows are read back in a session of their own."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from runtime import cases, versions
from runtime import db as dbmod
from runtime.data import form_sessions, submissions
from runtime.definition import Definition
from runtime.journey import Journey
from runtime.models import Case, Citizen, CitizenIdentifier, Department, FormSession, OutboxMessage, Submission
from runtime.services import submitting
from runtime.validation import compiled
from tests.runtime.helpers import gp_answers, send_answers

SECRET = "services-test-secret-" + "z" * 32
URLS = cases.CaseUrls("https://forms.example.gov.uk")
BIN = "missed-bin-collection"
GP = "register-with-gp"
MINUTES = 60
MAX_BYTES = 200_000


def bin_answers(n: int = 1, **changes: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "address": {"line1": f"{n} Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
        "bins_missed": ["rubbish"],
        "collection_date": "2025-01-02",
        "bin_out_on_time": True,
        "bin_location": "edge_of_property",
        "full_name": f"Person {n}",
        "email": f"person{n}@example.com",
    }
    return answers | changes


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = dbmod.make_engine(database_url)
    yield made
    made.dispose()


def service(engine: Engine, service_id: str = BIN) -> Definition:
    with dbmod.session(engine) as s:
        found = versions.definition(session=s, service_id=service_id)
    assert found is not None
    return found


def count(engine: Engine, model: Any) -> int:
    with dbmod.session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def counts(engine: Engine) -> dict[str, int]:
    models = (Submission, Case, Citizen, CitizenIdentifier, OutboxMessage)
    return {model.__name__: count(engine, model) for model in models}


def stored_form_session(engine: Engine, form_session_id: str) -> FormSession:
    with dbmod.session(engine) as s:
        found = s.get(FormSession, form_session_id)
    assert found is not None
    return found


def filled(engine: Engine, definition: Definition, answers: dict[str, Any]) -> form_sessions.FormSessionState:
    """A form session started and every page of its journey saved through the use cases."""
    with dbmod.session(engine) as s:
        token = submitting.start(session=s, service=definition, minutes=MINUTES)
        state = form_sessions.read_form_session(session=s, token=token)
        assert state is not None
        journey = Journey(compiled(definition), {})
        while (page := journey.first_incomplete) is not None and not page.stop:
            given = {q: answers[q] for q in page.questions if q in answers}
            journey = submitting.save_page(
                session=s,
                journey=journey,
                form_session=state,
                page=page,
                given=given,
                minutes=MINUTES,
                max_answers_bytes=MAX_BYTES,
            )
        return state


def send(engine: Engine, definition: Definition, state: form_sessions.FormSessionState) -> submitting.Sent:
    with dbmod.session(engine) as s:
        return submitting.submit(
            session=s, service=definition, form_session=state, minutes=MINUTES, secret_key=SECRET, urls=URLS
        )


# -- the whole way ---------------------------------------------------------------------------------


def test_sending_stores_the_submission_its_case_and_messages_and_empties_the_form(engine: Engine) -> None:
    definition = service(engine)
    state = filled(engine, definition, bin_answers())
    assert stored_form_session(engine, state.id).answers == bin_answers()
    sent = send(engine, definition, state)
    with dbmod.session(engine) as s:
        submission = s.exec(select(Submission)).one()
        case = s.exec(select(Case)).one()
        messages = s.exec(select(OutboxMessage)).all()
    assert (submission.reference, submission.form_session_id) == (sent.reference, state.id)
    assert submission.answers == bin_answers()
    assert (case.submission_id, case.reference, case.state) == (submission.id, sent.reference, "received")
    assert "person1@example.com" in {m.recipient for m in messages if m.kind == "submitted"}
    row = stored_form_session(engine, state.id)
    assert (row.answers, row.submission_reference) == ({}, sent.reference)
    assert (state.answers, state.submission_reference) == ({}, sent.reference)


def test_a_second_tab_sending_the_same_form_gets_the_first_reference(engine: Engine) -> None:
    definition = service(engine)
    state = filled(engine, definition, bin_answers())
    other_tab = dataclasses.replace(state, answers=dict(state.answers))  # read before the first tab sent it
    first = send(engine, definition, state)
    with pytest.raises(submitting.AlreadySent) as raised:
        send(engine, definition, other_tab)
    assert raised.value.reference == first.reference
    assert (count(engine, Submission), count(engine, Case)) == (1, 1)
    with pytest.raises(submitting.AlreadySent):  # the first tab again: refused before any write
        send(engine, definition, state)


# -- bad input ---------------------------------------------------------------------------------------


def test_an_empty_form_is_not_ready_and_nothing_is_written(engine: Engine) -> None:
    definition = service(engine)
    with dbmod.session(engine) as s:
        token = submitting.start(session=s, service=definition, minutes=MINUTES)
        state = form_sessions.read_form_session(session=s, token=token)
    assert state is not None
    before = counts(engine)
    with pytest.raises(submitting.NotReady) as raised:
        send(engine, definition, state)
    assert raised.value.page.id == "collection-address" and raised.value.field == "address"
    assert counts(engine) == before
    assert stored_form_session(engine, state.id).submission_reference is None


@pytest.mark.parametrize(
    ("page_id", "given", "field"),
    [
        ("collection-day", {"collection_date": "2025-02-30"}, "collection_date"),  # no such day
        ("collection-day", {"collection_date": ["2025-01-02"]}, "collection_date"),  # not a string
        ("collection-day", {}, "collection_date"),  # nothing given
        ("bins-missed", {"bins_missed": ["rubbish", "'; DROP TABLE submission; --"]}, "bins_missed"),
    ],
)
def test_a_malformed_page_is_refused_with_its_field_and_not_saved(
    engine: Engine, page_id: str, given: dict[str, Any], field: str
) -> None:
    definition = service(engine)
    state = filled(engine, definition, bin_answers())
    saved = stored_form_session(engine, state.id)
    journey = Journey(compiled(definition), state.answers)
    with dbmod.session(engine) as s, pytest.raises(submitting.AnswersInvalid) as raised:
        submitting.save_page(
            session=s,
            journey=journey,
            form_session=state,
            page=definition.page_by_id[page_id],
            given=given,
            minutes=MINUTES,
            max_answers_bytes=MAX_BYTES,
        )
    assert raised.value.field.split(".")[0] == field and raised.value.message
    assert set(raised.value.errors) and all(path.split(".")[0] == field for path in raised.value.errors)
    assert stored_form_session(engine, state.id).answers == saved.answers


def test_answers_over_the_cap_are_refused_and_not_saved(engine: Engine) -> None:
    definition = service(engine)
    state = filled(engine, definition, bin_answers())
    page = definition.page_by_id["bin-location"]
    journey = Journey(compiled(definition), state.answers)
    notes = {"bin_location": "edge_of_property", "crew_notes": "<script>alert(1)</script>" * 20}
    with dbmod.session(engine) as s, pytest.raises(submitting.AnswersTooLarge) as raised:
        submitting.save_page(
            session=s,
            journey=journey,
            form_session=state,
            page=page,
            given=notes,
            minutes=MINUTES,
            max_answers_bytes=100,
        )
    assert raised.value.limit == 100
    assert "crew_notes" not in stored_form_session(engine, state.id).answers


# -- all or nothing -------------------------------------------------------------------------------------


def test_a_failure_mid_send_leaves_nothing_half_written(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case (and its messages) are written, then something fails: the submission, the
    new identifier of a returning citizen, the case and the messages all go, on SQLite too
    (where an identifier's savepoint opened before the first write used to commit by itself)."""
    definition = service(engine, GP)
    with dbmod.session(engine) as s:
        citizen_id = send_answers(s, GP, gp_answers("Ada Lovelace", "1990-01-02", "WB1 2AB", "ada@example.com"))
    before = counts(engine)
    returning = gp_answers("Ada Lovelace", "1990-01-02", "WB1 2AB", "ada@example.com", nhs="4010232137")
    state = filled(engine, definition, returning)
    real_open_case = cases.open_case

    def open_then_fail(*args: Any, **kwargs: Any) -> Case:
        real_open_case(*args, **kwargs)
        raise OSError("the disk is full")

    monkeypatch.setattr(cases, "open_case", open_then_fail)
    with pytest.raises(OSError, match="disk is full"):
        send(engine, definition, state)
    assert counts(engine) == before
    row = stored_form_session(engine, state.id)
    assert (row.submission_reference, row.answers) == (None, returning)
    assert (state.submission_reference, state.answers) == (None, returning)  # as read, for another try
    monkeypatch.undo()
    sent = send(engine, definition, state)
    with dbmod.session(engine) as s:
        submission = s.exec(select(Submission).where(Submission.reference == sent.reference)).one()
        kinds = {i.kind for i in s.exec(select(CitizenIdentifier).where(CitizenIdentifier.citizen_id == citizen_id))}
    assert submission.citizen_id == citizen_id and "nhs_number" in kinds


def test_a_session_holding_the_callers_changes_is_refused_untouched(engine: Engine) -> None:
    definition = service(engine)
    state = filled(engine, definition, bin_answers())
    with dbmod.session(engine) as s:
        mine = Department(name="Caller's own", slug="callers-own")
        s.add(mine)
        with pytest.raises(RuntimeError, match="unsaved changes"):
            submitting.submit(
                session=s, service=definition, form_session=state, minutes=MINUTES, secret_key=SECRET, urls=URLS
            )
        assert mine in s.new  # neither committed nor thrown away: still the caller's to decide
    assert counts(engine)["Submission"] == 0
    with dbmod.session(engine) as s:
        assert s.exec(select(Department).where(Department.slug == "callers-own")).first() is None


def test_create_submission_leaves_the_callers_transaction_to_the_caller(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clash is raised to the caller, who owns the transaction: it is not rolled back (and
    the caller's earlier writes silently lost) inside the data function."""
    definition = service(engine)
    with dbmod.session(engine) as s:
        taken = submissions.create_submission(session=s, service=definition, answers=bin_answers(1)).reference
        s.commit()
    monkeypatch.setattr(submissions, "new_reference", lambda prefix: taken)
    with dbmod.session(engine) as s:
        s.add(Department(name="Caller's own", slug="callers-own"))
        s.flush()
        rollbacks: list[str] = []
        monkeypatch.setattr(s, "rollback", lambda: rollbacks.append("rollback"))
        with pytest.raises(submissions.SubmissionClash):
            submissions.create_submission(session=s, service=definition, answers=bin_answers(2))
        assert rollbacks == []
    assert count(engine, Submission) == 1


def test_a_reference_drawn_twice_is_drawn_again_by_the_use_case(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = service(engine)
    first = send(engine, definition, filled(engine, definition, bin_answers(1)))
    drawn = iter([first.reference, "BIN-FRESH-0001"])
    monkeypatch.setattr(submissions, "new_reference", lambda prefix: next(drawn))
    state = filled(engine, definition, bin_answers(2))
    sent = send(engine, definition, state)
    assert sent.reference == "BIN-FRESH-0001"
    assert (count(engine, Submission), count(engine, Case)) == (2, 2)
    assert stored_form_session(engine, state.id).submission_reference == "BIN-FRESH-0001"


def test_starting_again_deletes_the_old_form_in_the_same_transaction(engine: Engine) -> None:
    definition = service(engine)
    old = filled(engine, definition, bin_answers())
    with dbmod.session(engine) as s:
        token = submitting.start(session=s, service=definition, minutes=MINUTES, replacing=old.id)
        assert form_sessions.read_form_session(session=s, token=token) is not None
    with dbmod.session(engine) as s:
        assert s.get(FormSession, old.id) is None
        assert len(s.exec(select(FormSession)).all()) == 1


def test_keep_alive_and_forget_expired_on_the_question_pages_statement_session(
    engine: Engine, database_url: str
) -> None:
    """The question pages' autocommit session: each use case sends its one statement and no
    BEGIN, COMMIT or ROLLBACK (runtime.db.DriverTrace, at the driver)."""
    definition = service(engine)
    state = filled(engine, definition, bin_answers())
    autocommit = dbmod.make_autocommit_engine(database_url)
    try:
        with dbmod.DriverTrace(autocommit) as trace:
            with dbmod.StatementSession(autocommit, expire_on_commit=False) as s:
                state.updated_at = state.updated_at.replace(year=2000)  # read long ago: write it
                assert submitting.keep_alive(session=s, form_session=state, minutes=MINUTES)
                assert not submitting.keep_alive(session=s, form_session=state, minutes=MINUTES)
            words = trace.words()
            trace.clear()
            with dbmod.StatementSession(autocommit, expire_on_commit=False) as s:
                assert not submitting.forget_expired(session=s, token="no-such-token")
            assert trace.words() == ["DELETE"]
    finally:
        autocommit.dispose()
    assert words == ["UPDATE"]
    assert stored_form_session(engine, state.id).expires_at > state.updated_at.replace(year=2000)


def test_hostile_tokens_find_nothing_to_forget(engine: Engine) -> None:
    with dbmod.session(engine) as s:
        for token in (None, "", "x" * 5000, "\x00", "' OR 1=1 --"):
            assert submitting.forget_expired(session=s, token=token) is False

"""Sending a form once and once only: double clicks, two tabs, the back button, and reference
numbers under concurrency (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from typing import Any

import pytest

from runtime import versions
from runtime.data import submissions as submission_data
from runtime.db import session as new_session
from runtime.services import submitting
from tests.conftest import page
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import form_sessions, submissions, walk

SERVICE = "missed-bin-collection"
CHECK = f"/services/{SERVICE}/check-answers"
CONFIRMATION = f"/services/{SERVICE}/confirmation"


def reference_on(client: Any) -> str:
    response = client.get(CONFIRMATION)
    assert response.status_code == 200
    found = page(response).select_one(".govuk-panel .cf-reference")
    assert found is not None
    return found.get_text(strip=True)


def test_sending_twice_stores_one_submission(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, SERVICE)
    token = citizen.csrf(CHECK)
    first = client.post(CHECK, data={"csrf_token": token})
    second = client.post(CHECK, data={"csrf_token": token})  # a double click: same cookie, same token
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] == CONFIRMATION
    reference = reference_on(client)
    assert [s.reference for s in submissions(db_session)] == [reference]
    assert reference_on(client) == reference  # and it stays the same on every visit


def test_back_button_after_sending_shows_the_confirmation(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, SERVICE)
    assert citizen.submit(SERVICE).status_code == 303
    reference = reference_on(client)
    for page_id, _ in HAPPY_PATHS[SERVICE]:
        response = client.get(f"/services/{SERVICE}/{page_id}")
        assert response.status_code == 303
        assert response.headers["Location"] == CONFIRMATION
    assert client.get(CHECK).headers["Location"] == CONFIRMATION
    # A page posted again from the browser's history changes nothing.
    token = citizen.csrf(f"/services/{SERVICE}")
    response = client.post(f"/services/{SERVICE}/your-details", data={"full_name": "Someone Else", "csrf_token": token})
    assert response.headers["Location"] == CONFIRMATION
    (stored,) = submissions(db_session)
    assert stored.reference == reference and stored.answers["full_name"] == "Jane Smith"
    # The answers do not linger in the form session once they are sent.
    (session_row,) = form_sessions(db_session)
    assert session_row.answers == {} and session_row.submission_reference == reference


def test_two_tabs_sending_at_the_same_moment_store_one_submission(citizen, client, app, db_session) -> None:  # type: ignore[no-untyped-def]
    walk(citizen, SERVICE)
    token = citizen.csrf(CHECK)
    cookie = client.get_cookie("civicforms_session")
    assert cookie is not None
    tabs = [app.test_client() for _ in range(2)]
    for tab in tabs:
        tab.set_cookie("civicforms_session", cookie.value)
    together = threading.Barrier(len(tabs), timeout=60)

    def send(tab: Any) -> Any:
        together.wait()
        return tab.post(CHECK, data={"csrf_token": token})

    with ThreadPoolExecutor(len(tabs)) as pool:
        responses = list(pool.map(send, tabs))
    assert [r.status_code for r in responses] == [303, 303]
    assert {r.headers["Location"] for r in responses} == {CONFIRMATION}
    (stored,) = submissions(db_session)
    assert {reference_on(tab) for tab in tabs} == {stored.reference}


def _answers(n: int) -> dict[str, Any]:
    return {
        "address": {"line1": f"{n} Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
        "bins_missed": ["rubbish"],
        "collection_date": "2025-01-02",
        "bin_out_on_time": True,
        "bin_location": "edge_of_property",
        "full_name": f"Person {n}",
        "email": f"person{n}@example.com",
    }


def _race(
    app: Any, db_session: Any, jobs: list[tuple[str, dict[str, Any]]], service_id: str = SERVICE
) -> list[tuple[str, str]]:
    """Run the use case storing a submission (create_submission, retried on a clash) for each
    (form session id, answers) at once, each in its own database session and transaction:
    ``[("stored" | "already", reference)]``."""
    engine = app.extensions["civicforms.engine"]
    service = versions.definition(session=db_session, service_id=service_id)
    assert service is not None
    together = threading.Barrier(len(jobs), timeout=60)

    def attempt(job: tuple[str, dict[str, Any]]) -> tuple[str, str]:
        form_session_id, answers = job
        with new_session(engine) as s:
            together.wait()
            try:
                made = submitting.record_submission(
                    session=s, service=service, answers=answers, form_session_id=form_session_id
                )
                return ("stored", made.reference)
            except submitting.AlreadySent as exc:
                return ("already", exc.reference)

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(attempt, jobs))


def test_concurrent_submits_of_one_form_session_store_exactly_one(app, db_session) -> None:  # type: ignore[no-untyped-def]
    outcomes = _race(app, db_session, [("form-session-1", _answers(1))] * 6)
    stored = submissions(db_session)
    assert len(stored) == 1
    assert sorted(kind for kind, _ in outcomes) == ["already"] * 5 + ["stored"]
    assert {reference for _, reference in outcomes} == {stored[0].reference}


def test_concurrent_submissions_all_get_distinct_references(app, db_session) -> None:  # type: ignore[no-untyped-def]
    outcomes = _race(app, db_session, [(f"form-session-{n}", _answers(n)) for n in range(10)])
    assert [kind for kind, _ in outcomes] == ["stored"] * 10
    references = [reference for _, reference in outcomes]
    assert len(set(references)) == 10
    assert sorted(s.reference for s in submissions(db_session)) == sorted(references)


def test_a_reference_collision_under_concurrency_is_retried(app, db_session, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Every thread's first try draws the same reference: one keeps it, the others retry."""
    tries = threading.local()
    fresh = count(1)

    def colliding(prefix: str) -> str:
        first = not getattr(tries, "seen", False)
        tries.seen = True
        return f"{prefix}-SAME-0000" if first else f"{prefix}-{next(fresh):04d}-TEST"

    monkeypatch.setattr(submission_data, "new_reference", colliding)
    outcomes = _race(app, db_session, [(f"form-session-{n}", _answers(n)) for n in range(6)])
    references = sorted(reference for _, reference in outcomes)
    assert [kind for kind, _ in outcomes] == ["stored"] * 6
    assert len(set(references)) == 6 and references.count("BIN-SAME-0000") == 1
    assert sorted(s.reference for s in submissions(db_session)) == references


def test_one_new_person_sending_twice_at_once_is_one_citizen(app, db_session) -> None:  # type: ignore[no-untyped-def]
    """Two forms from a person not seen before, stored at the same moment: one record. SQLite's
    BEGIN IMMEDIATE and PostgreSQL's advisory locks on the details serialise the two, so the
    second finds the first by the exact tier (same name, date of birth and postcode)."""
    from sqlmodel import select

    from runtime.models import Citizen, CitizenIdentifier, MatchingJob
    from tests.runtime.helpers import gp_answers

    answers = gp_answers("Person Seven", "1977-07-07", "WB1 2AB", "person7@example.com")
    outcomes = _race(app, db_session, [(f"form-session-{n}", answers) for n in range(4)], "register-with-gp")
    assert [kind for kind, _ in outcomes] == ["stored"] * 4
    db_session.rollback()
    stored = submissions(db_session)
    assert len({s.citizen_id for s in stored}) == 1
    assert len(db_session.exec(select(Citizen)).all()) == 1
    owners = {i.citizen_id for i in db_session.exec(select(CitizenIdentifier)).all()}
    assert owners == {stored[0].citizen_id}
    assert db_session.exec(select(MatchingJob)).all() == []  # nothing for the worker to look at


def test_a_submission_rolled_back_is_not_stored(app, db_session) -> None:  # type: ignore[no-untyped-def]
    """A returning citizen's submission belongs to the caller's transaction (on SQLite too)."""
    service = versions.definition(session=db_session, service_id=SERVICE)
    assert service is not None
    submission_data.create_submission(session=db_session, service=service, answers=_answers(3), form_session_id="first")
    db_session.commit()
    submission_data.create_submission(
        session=db_session, service=service, answers=_answers(3), form_session_id="second"
    )
    db_session.rollback()
    assert [s.form_session_id for s in submissions(db_session)] == ["first"]

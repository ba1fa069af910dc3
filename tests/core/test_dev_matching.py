"""The development server runs citizen matching's jobs in the background (civicforms serve), so
that a trial shows possible matches and joined records as a real worker would."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from civicforms import cli
from runtime.models import MatchingJob
from tests.runtime.helpers import badge_answers, send_answers


def test_serve_runs_the_matching_jobs_in_the_background(db_session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    send_answers(db_session, "blue-badge", badge_answers("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com"))
    # The same person with another email address: a record of its own, and a job for the worker.
    send_answers(db_session, "blue-badge", badge_answers("Jane Smith", "1950-07-03", "WB1 2AB", "js@work.example"))
    assert [j.status for j in db_session.exec(select(MatchingJob))] == ["pending"]
    monkeypatch.setenv("CIVICFORMS_ENV", "development")
    monkeypatch.setenv("CIVICFORMS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CIVICFORMS_WORKER_INTERVAL_SECONDS", "1")
    stop = cli._match_in_the_background()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db_session.expire_all()
            if [j.status for j in db_session.exec(select(MatchingJob))] == ["done"]:
                break
            db_session.rollback()
            time.sleep(0.2)
        else:
            pytest.fail("the background matching never ran the job")
    finally:
        stop.set()

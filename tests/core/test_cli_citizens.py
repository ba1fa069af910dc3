"""``civicforms citizens show|rematch|train`` and the worker's matching, as IT runs them: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlmodel import select

from runtime import db as dbmod
from runtime.cli import main
from runtime.data import records
from runtime.models import LinkageModel, MatchCandidate, MatchingJob, Submission
from tests.runtime.helpers import gp_answers, send_answers

SECRET = "k" * 40
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def db_env(url: str) -> dict[str, str | None]:
    return {"CIVICFORMS_DATABASE_URL": url, "CIVICFORMS_SECRET_KEY": SECRET, "CIVICFORMS_ENV": "test"}


@pytest.fixture
def people(database_url: str) -> dict[str, Any]:
    """William registers with a GP; Bill (the same man: a nickname, a new email) registers again;
    Jane (another person sharing the household phone) too."""
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        william = send_answers(
            s, "register-with-gp", gp_answers("William Smith", "1980-03-07", "WB1 2AB", "will@example.com")
        )
        bill = send_answers(
            s, "register-with-gp", gp_answers("Bill Smith", "1980-03-07", "WB1 2AB", "bill.new@example.org")
        )
        jane = send_answers(
            s, "register-with-gp", gp_answers("Jane Doe", "1985-12-01", "WB7 7ZZ", "jane.doe@example.com")
        )
        refs = {sub.citizen_id: sub.reference for sub in s.exec(select(Submission))}
    engine.dispose()
    return {"william": william, "bill": bill, "jane": jane, "refs": refs}


def test_the_worker_runs_matching_jobs_and_show_json_gives_the_record(database_url: str, people: Any) -> None:
    result = run("worker", "--once", **db_env(database_url))
    assert result.exit_code == 0, result.output
    assert "matched 2 submissions (1 joined, 0 for staff), to retry 0, failed for good 0" in result.stdout
    shown = run("citizens", "show", "BILL.NEW@example.org", "--json", **db_env(database_url))
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert set(data) == {"record", "identifiers", "submissions", "possible_matches"}
    assert data["record"] == people["william"]  # Bill's record was joined into William's
    assert len(data["submissions"]) == 2
    for sub in data["submissions"]:
        assert set(sub) == {"reference", "service", "submitted_at", "case_state"}
        assert sub["service"] == "register-with-gp" and sub["case_state"] is None  # no case opened here
    kinds = {(i["kind"], i["value"]) for i in data["identifiers"]}
    assert {("email", "will@example.com"), ("email", "bill.new@example.org"), ("full_name", "bill smith")} <= kinds
    for ident in data["identifiers"]:
        assert set(ident) == {"kind", "value", "submission", "department", "at"}
        assert ident["submission"] in {s["reference"] for s in data["submissions"]}
        assert isinstance(ident["department"], str)
    assert data["possible_matches"] == []
    # By the joined record's number and by a reference, the same record.
    for key in (str(people["bill"]), people["refs"][people["william"]].lower()):
        again = run("citizens", "show", key, "--json", **db_env(database_url))
        assert json.loads(again.stdout)["record"] == people["william"], key


def test_show_lists_possible_matches_with_score_and_status(database_url: str, people: Any) -> None:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        records.suggest_pair(
            s,
            citizen_id=people["jane"],
            other_citizen_id=people["william"],
            match_weight=7.5,
            match_probability=0.99,
            evidence={"name": {"level": "disagree", "weight": -5.0}},
        )
        s.commit()
    engine.dispose()
    data = json.loads(run("citizens", "show", str(people["jane"]), "--json", **db_env(database_url)).stdout)
    assert data["possible_matches"] == [{"record": people["william"], "score": 7.5, "status": "pending"}]
    text = run("citizens", "show", str(people["jane"]), **db_env(database_url))
    assert text.exit_code == 0
    assert f"  possible match: record {people['william']} (weight 7.5, pending)" in text.stdout.splitlines()


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("nobody@example.com", 1),
        ("999999", 1),
        ("' OR 1=1 --", 1),
        ("9" * 40, 1),
        ("<script>@x.y", 1),
        ("99999999999999999999999", 1),
        ("", 2),
        ("   ", 2),
        ("a\x00b@example.com", 2),
        ("x" * 10_000, 2),
        ("line\nbreak", 2),
    ],
)
def test_show_refuses_hostile_or_unknown_keys(database_url: str, people: Any, key: str, code: int) -> None:
    for extra in ([], ["--json"]):
        result = run("citizens", "show", key, *extra, **db_env(database_url))
        assert result.exit_code == code, (key, result.output)
        assert result.stdout == ""
        if code == 1:
            assert result.stderr == f"no citizen record matches {key!r}\n"
        else:
            assert result.stderr.startswith("not a record number, reference or email address: ")
            assert len(result.stderr) < 200  # the key is not echoed back


def test_rematch_shows_progress_on_stderr_and_a_summary(database_url: str, people: Any) -> None:
    result = run("citizens", "rematch", **db_env(database_url))
    assert result.exit_code == 0, result.output
    assert "rematch" in result.stderr
    assert result.stdout.startswith("3 submissions scored: ")
    assert "already decided" in result.stdout


def test_train_refuses_too_few_records_and_keeps_nothing(database_url: str, people: Any) -> None:
    result = run("citizens", "train", **db_env(database_url))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot train: 3 submissions with details are too few to train on")
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        assert s.exec(select(LinkageModel)).all() == []
    engine.dispose()


def test_worker_reports_matching_with_a_broken_database(tmp_path: Path) -> None:
    result = run("worker", "--once", **db_env(f"sqlite:///{tmp_path / 'empty.db'}"))
    assert result.exit_code == 1
    assert "database" in result.output


def test_pending_jobs_after_the_worker_are_none(database_url: str, people: Any) -> None:
    assert run("worker", "--once", **db_env(database_url)).exit_code == 0
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        assert {j.status for j in s.exec(select(MatchingJob))} == {"done"}
        assert s.exec(select(MatchCandidate)).all() == []
    engine.dispose()


def test_the_citizen_and_casework_apps_never_load_splink_or_duckdb(tmp_path: Path) -> None:
    code = """
import sys
from runtime.settings import Settings
from runtime.web import create_citizen_app
from runtime.web.casework import create_casework_app
settings = Settings(environment="test", secret_key="x" * 40, database_url="sqlite:///%s", secure_cookies=False)
create_citizen_app({"SETTINGS": settings, "TESTING": True})
create_casework_app({"SETTINGS": settings, "TESTING": True})
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("splink", "duckdb") or m == "runtime.linkage")
print(",".join(loaded))
""" % (tmp_path / "x.db")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""

"""Subject access (``civicforms citizens export`` and runtime.subject_access): everything held on
a person across services and departments, as JSON and as a readable, escaped HTML page, logged."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlmodel import Session, select

from runtime import subject_access
from runtime.cli import main
from runtime.models import AccessLog, RecordEvent
from runtime.services import retention as privacy
from runtime.settings import Settings
from tests.runtime import privacy_helpers as h


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CIVICFORMS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CIVICFORMS_SECRET_KEY", settings.secret_key)
    return CliRunner()


@pytest.fixture
def person(db_session: Session) -> dict[str, Any]:
    gp_case = h.send(db_session, "register-with-gp", h.gp())
    badge_case = h.send(db_session, "blue-badge", h.badge())
    h.add_casework(db_session, badge_case)
    return {"gp": gp_case, "badge": badge_case, "record": gp_case.citizen_id}


def test_the_json_report_holds_everything(runner: CliRunner, db_session: Session, person: dict[str, Any]) -> None:
    done = runner.invoke(main, ["citizens", "export", person["badge"].reference])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["record"]["number"] == person["record"]
    details = {(d["detail"], d["value"]) for d in report["details"]}
    assert ("NHS number", "9434765919") in details and ("Email address", "zq.person@example.org") in details
    given = {d["detail"]: d for d in report["details"] if d["detail"] == "NHS number"}["NHS number"]
    assert given["given_in"] == person["gp"].reference and given["department"]  # with where it came from
    services = {s["reference"]: s for s in report["submissions"]}
    assert set(services) == {person["gp"].reference, person["badge"].reference}
    answers = {a["question"]: a["answer"] for a in services[person["badge"].reference]["answers"]}
    assert answers["What is your full name?"] == h.NAME
    assert answers["How far can you walk without stopping?"] == "Less than 20 metres"
    assert answers["Do you live in Westbridge?"] == "Yes"
    case = next(c for c in report["cases"] if c["reference"] == person["badge"].reference)
    assert any(e["comment"] == f"{h.NAME} asked about the stairlift" for e in case["history"])
    assert case["information_requests"][0]["message"].startswith(f"Dear {h.NAME}")
    assert case["information_requests"][0]["answers"] == [{"question": "What is your full name?", "answer": h.NAME}]
    assert [m["text"] for m in case["messages"] if m["text"] == f"Hello {h.NAME}"]
    assert all(m["to"] != "" for m in case["messages"])  # messages to the person, not staff notices
    assert report["links"] and all(link["what"] for link in report["links"])
    db_session.expire_all()
    made = db_session.exec(select(RecordEvent).where(RecordEvent.action == "subject-access")).one()
    assert made.citizen_id == person["record"] and made.actor_id is None and made.detail["format"] == "json"  # type: ignore[index]
    assert db_session.exec(select(AccessLog)).all() == []  # IT at the command line is not a member of staff


def test_the_html_report_to_a_file_is_readable_and_private(
    runner: CliRunner, db_session: Session, person: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    done = runner.invoke(
        main, ["citizens", "export", str(person["record"]), "--format", "html", "--output", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    soup = BeautifulSoup(target.read_text(encoding="utf-8"), "html.parser")
    assert soup.html["lang"] == "en-GB"  # type: ignore[index]
    assert soup.select_one("h1").get_text() == f"Information held about you: citizen record {person['record']}"  # type: ignore[union-attr]
    assert soup.select("script") == []
    assert all(t.select_one("caption") and t.select("th[scope=col]") for t in soup.select("table"))
    assert "Tell us about your condition and how it affects your walking" in soup.get_text()
    assert "@media print" in soup.select_one("style").get_text()  # type: ignore[union-attr]


def test_after_erasure_the_report_says_so_and_holds_nothing(
    runner: CliRunner, db_session: Session, person: dict[str, Any]
) -> None:
    privacy.erase_record(session=db_session, key=str(person["record"]), reason="DPO-9", actor_id=None)
    done = runner.invoke(main, ["citizens", "export", str(person["record"])])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["record"]["erased_at"] and report["details"] == []
    assert all(s["answers"] == [] and s["erased_at"] for s in report["submissions"])
    text = done.stdout.lower()
    assert not [n for n in h.NEEDLES if n in text]


def test_what_people_typed_is_escaped() -> None:
    hostile = '<img src=x onerror="alert(1)">&amp;'
    data: dict[str, Any] = {
        "record": {"id": 7, "created_at": datetime(2026, 1, 1, tzinfo=UTC), "erased_at": None, "merged": []},
        "identifiers": [{"kind": "full_name", "value": hostile, "from": "X", "department": hostile, "at": None}],
        "submissions": [
            {
                "reference": "AB-1",
                "service": hostile,
                "service_id": "s",
                "department": "D",
                "submitted_at": None,
                "erased_at": None,
                "answers": {"q": hostile, "choice": ["a", hostile]},
                "definition": {"questions": {"q": {"label": hostile}}},
            }
        ],
        "cases": [],
        "links": [],
        "possible_matches": [],
        "access": [],
    }
    page = subject_access.html_document(subject_access.build(data, made_at=datetime(2026, 1, 2, tzinfo=UTC)))
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;" in page
    assert (
        json.loads(subject_access.as_json(subject_access.build(data, made_at=datetime.now(UTC))))["details"][0]["value"]
        == hostile
    )


@pytest.mark.parametrize(("args", "code"), [(["999999"], 1), ([""], 2), (["x" * 10_000], 2), (["a\x00b"], 2)])
def test_bad_keys(runner: CliRunner, db_session: Session, args: list[str], code: int) -> None:
    done = runner.invoke(main, ["citizens", "export", *args])
    assert done.exit_code == code, done.output
    assert done.stdout == "" and "Error:" in done.stderr
    db_session.expire_all()
    assert db_session.exec(select(RecordEvent).where(RecordEvent.action == "subject-access")).all() == []

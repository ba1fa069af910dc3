"""A service's retention period in the definition: the checker's plain words, the change
summary's sentence and ``civicforms diff`` (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runtime.changes import summarise
from runtime.checker import check
from runtime.cli import main
from runtime.settings import PROJECT_ROOT

BADGE = PROJECT_ROOT / "form_definitions" / "blue-badge.json"


def _doc(retention: Any = "absent") -> dict[str, Any]:
    doc = json.loads(BADGE.read_text(encoding="utf-8"))
    doc.pop("retention", None)
    if retention != "absent":
        doc["retention"] = retention
    return doc


def test_every_shipped_service_sets_a_period() -> None:
    for path in sorted((PROJECT_ROOT / "form_definitions").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc.get("retention", {}).get("after") in ("case-closed", "submitted"), path.name
        assert check(doc) == [], path.name


@pytest.mark.parametrize(
    "retention",
    [
        None,
        {"years": 6, "after": "case-closed"},
        {"months": 18, "after": "submitted"},
        {"years": 100, "after": "submitted"},
    ],
)
def test_good_periods_and_none(retention: Any) -> None:
    assert check(_doc("absent" if retention is None else retention)) == []


@pytest.mark.parametrize(
    ("retention", "path", "message"),
    [
        ({"years": 0, "after": "case-closed"}, "$.retention.years", "whole number of years from 1 to 100"),
        ({"years": 101, "after": "case-closed"}, "$.retention.years", "whole number of years from 1 to 100"),
        ({"years": 2.5, "after": "case-closed"}, "$.retention.years", "whole number of years"),
        ({"years": True, "after": "case-closed"}, "$.retention.years", "whole number of years"),
        ({"months": 1201, "after": "case-closed"}, "$.retention.months", "of months from 1 to 1200"),
        ({"years": 6, "after": "forever"}, "$.retention.after", '"case-closed" (when the case is closed)'),
        ({"years": 6}, "$.retention", 'say when the retention period starts: "after"'),
        ({"after": "submitted"}, "$.retention", "say how long to keep personal data"),
        ({"years": 1, "months": 6, "after": "submitted"}, "$.retention", 'in "years" or in "months", not both'),
        ({"years": 6, "after": "submitted", "weeks": 2}, "$.retention", "unknown key"),
        ("6 years", "$.retention", 'must be an object like {"years": 6, "after": "case-closed"}'),
    ],
)
def test_bad_periods_in_plain_words(retention: Any, path: str, message: str) -> None:
    problems = check(_doc(retention))
    assert any(p.path == path and message in p.message for p in problems), [(p.path, p.message) for p in problems]


def test_the_change_summary_says_it() -> None:
    six = _doc({"years": 6, "after": "case-closed"})
    two = _doc({"years": 2, "after": "submitted"})
    assert summarise(six, two) == ["Retention: 6 years after the case is closed → 2 years after the form was sent"]
    assert summarise(_doc(), six) == ["Retention: none set → 6 years after the case is closed"]
    assert summarise(six, _doc()) == ["Retention: 6 years after the case is closed → none set"]
    assert summarise(six, _doc({"months": 72, "after": "case-closed"})) == [
        'Retention: 6 years after the case is closed (now written as \'{"after": "case-closed", "months": 72}\')'
    ]


def test_civicforms_diff_shows_it(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_doc({"years": 6, "after": "case-closed"})), encoding="utf-8")
    new.write_text(json.dumps(_doc({"months": 6, "after": "case-closed"})), encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(old), str(new)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Retention: 6 years after the case is closed → 6 months after the case is closed\n"
    as_json = CliRunner().invoke(main, ["diff", "--json", str(old), str(new)], catch_exceptions=False)
    [change] = json.loads(as_json.stdout)["changes"]
    assert (change["path"], change["old"], change["new"]) == (
        "$.retention",
        {"years": 6, "after": "case-closed"},
        {"months": 6, "after": "case-closed"},
    )

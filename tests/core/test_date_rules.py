"""Relative date rules and the declaration question (issue 17, part F): the format, the checker,
the citizen's validation (naming the date as a date), the widget, and change summaries."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.changes import summarise
from runtime.checker import check
from runtime.date_rules import DateRule, Offset, rule_problems
from runtime.definition import Definition
from runtime.validation import compiled
from runtime.widgets import WIDGETS, long_date
from tests.core.sample import complete_answers, sample_doc

Doc = dict[str, Any]


def with_party_date(rule: Any) -> Doc:
    """The sample service with a date question "When is the party?" carrying ``rule``."""
    doc = sample_doc()
    doc["schema"]["properties"]["party_date"] = {"type": "string", "format": "date"}
    doc["questions"]["party_date"] = {
        "label": "When is the party?",
        "error_name": "the date of the party",
        "widget": "date",
        "date_rule": rule,
    }
    doc["pages"].append({"id": "party", "title": "Your party", "questions": ["party_date"]})
    return doc


def with_declaration(doc: Doc | None = None) -> Doc:
    doc = doc or sample_doc()
    doc["schema"]["properties"]["road_safe"] = {"type": "boolean", "const": True}
    doc["schema"]["required"].append("road_safe")
    doc["questions"]["road_safe"] = {
        "label": "Declaration",
        "error_name": "that the road will be safe",
        "widget": "declaration",
        "statement": "I confirm that the road will be reopened by 8pm",
    }
    doc["pages"].append({"id": "declare", "title": "Declaration", "questions": ["road_safe"]})
    return doc


def errors_for(doc: Doc, answers: dict[str, Any]) -> dict[str, str]:
    return compiled(Definition(doc)).validate(answers)


# -- the rule itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "amount", "today", "expected"),
    [
        ("days", 14, date(2026, 12, 5), date(2026, 12, 19)),
        ("weeks", 2, date(2026, 12, 5), date(2026, 12, 19)),
        ("months", 1, date(2026, 1, 31), date(2026, 2, 28)),  # the month's last day
        ("months", 1, date(2028, 1, 31), date(2028, 2, 29)),
        ("months", -3, date(2026, 1, 15), date(2025, 10, 15)),
        ("working_days", 1, date(2026, 12, 4), date(2026, 12, 7)),  # Friday -> Monday
        ("working_days", 10, date(2026, 12, 5), date(2026, 12, 18)),  # from a Saturday
        ("working_days", -1, date(2026, 12, 7), date(2026, 12, 4)),  # Monday -> Friday before
        ("days", 0, date(2026, 12, 5), date(2026, 12, 5)),
        ("days", 36_600, date(9990, 1, 1), date.max),  # beyond the calendar: its end
        ("months", -1_200, date(50, 1, 1), date.min),
    ],
)
def test_an_offset_names_a_date(unit: str, amount: int, today: date, expected: date) -> None:
    assert Offset(unit, amount).from_day(today) == expected


def test_the_rule_in_plain_words() -> None:
    rule = DateRule.read({"earliest": {"working_days": 10}, "latest": {"months": 6}})
    assert rule is not None
    assert rule.words() == "at least 10 working days from today and no more than 6 months from today"
    past = DateRule.read({"earliest": {"weeks": -1}, "latest": {"days": 0}})
    assert past is not None and past.words() == "at least 1 week before today and today or earlier"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("today + banana", "must be an object"),
        ({"earliest": "today + banana"}, "must be one amount of one unit"),
        ({"earliest": {"days": "banana"}}, "must be a whole number"),
        ({"earliest": {"days": 1.5}}, "must be a whole number"),
        ({"earliest": {"days": True}}, "must be a whole number"),
        ({"earliest": {"fortnights": 1}}, "is not a unit"),
        ({"earliest": {"days": 1, "weeks": 1}}, "one amount of one unit"),
        ({"earliest": {"months": 10**9}}, "too far from today"),
        ({"soonest": {"days": 1}}, "unknown key"),
        ({}, 'give an "earliest" date'),
        ({"earliest": {"days": 30}, "latest": {"days": 2}}, "no date could be given"),
    ],
)
def test_nonsense_rules_are_refused_in_plain_words(rule: Any, message: str) -> None:
    assert any(message in text for _, text in rule_problems(rule))
    assert DateRule.read(rule) is None or rule_problems(rule)  # never applied half-read


def test_the_checker_refuses_a_bad_rule_at_its_path_and_takes_a_good_one() -> None:
    assert check(with_party_date({"earliest": {"days": 14}, "latest": {"months": 6}})) == []
    problems = check(with_party_date({"earliest": {"days": "banana"}}))
    assert [(p.path, p.message) for p in problems] == [
        ("$.questions.party_date.date_rule.earliest", "the number of days must be a whole number")
    ]
    doc = sample_doc()
    doc["questions"]["full_name"]["date_rule"] = {"earliest": {"days": 1}}
    assert [p.path for p in check(doc)] == ["$.questions.full_name.date_rule"]
    assert 'only a question with widget "date"' in check(doc)[0].message


# -- the citizen's answer -----------------------------------------------------------------------


def test_a_date_too_soon_is_refused_with_the_earliest_date_as_a_date() -> None:
    doc = with_party_date({"earliest": {"days": 14}})
    earliest = date.today() + timedelta(days=14)
    answers = complete_answers() | {"party_date": (earliest - timedelta(days=1)).isoformat()}
    assert errors_for(doc, answers) == {
        "party_date": f"The date of the party must be on or after {long_date(earliest)}"
    }
    assert errors_for(doc, answers | {"party_date": earliest.isoformat()}) == {}  # the earliest date is allowed


def test_a_date_too_late_is_refused_with_the_latest_date() -> None:
    doc = with_party_date({"latest": {"weeks": 2}})
    latest = date.today() + timedelta(weeks=2)
    answers = complete_answers() | {"party_date": (latest + timedelta(days=1)).isoformat()}
    assert errors_for(doc, answers) == {"party_date": f"The date of the party must be on or before {long_date(latest)}"}
    assert errors_for(doc, answers | {"party_date": latest.isoformat()}) == {}


def test_the_designer_s_own_message_and_a_date_that_is_not_real() -> None:
    doc = with_party_date({"earliest": {"days": 14}})
    doc["messages"]["party_date"] = {"earliest": "Parties need 2 weeks' notice"}
    answers = complete_answers() | {"party_date": date.today().isoformat()}
    assert errors_for(doc, answers) == {"party_date": "Parties need 2 weeks' notice"}
    # Not a real date: the format's message, not the rule's.
    assert errors_for(doc, answers | {"party_date": "2026-02-31"}) == {
        "party_date": "The date of the party must be a real date"
    }


def test_a_rule_that_cannot_be_read_is_not_applied() -> None:
    """Only a definition that skipped the checker has one: no citizen gets a server error."""
    doc = with_party_date({"earliest": {"days": "banana"}})
    answers = complete_answers() | {"party_date": date.today().isoformat()}
    assert errors_for(doc, answers) == {}


# -- the declaration ----------------------------------------------------------------------------


class Posted(dict[str, list[str]]):
    def getlist(self, key: str) -> list[str]:
        return self.get(key, [])


def test_a_declaration_must_be_ticked() -> None:
    doc = with_declaration()
    assert check(doc) == []
    definition = Definition(doc)
    widget = WIDGETS["declaration"]
    question = definition.question("road_safe")
    assert widget.parse(question, Posted(road_safe=["yes"]))[0] is True
    assert widget.parse(question, Posted())[0] is None
    hostile = widget.parse(question, Posted(road_safe=["no" * 10_000]))[0]
    assert isinstance(hostile, str) and len(hostile) <= 100
    message = "Select the box to confirm that the road will be safe"
    assert errors_for(doc, complete_answers()) == {"road_safe": message}
    assert errors_for(doc, complete_answers() | {"road_safe": False}) == {"road_safe": message}
    assert errors_for(doc, complete_answers() | {"road_safe": hostile}) == {"road_safe": message}
    assert errors_for(doc, complete_answers() | {"road_safe": True}) == {}
    assert widget.display(question, True) == ["I confirm that the road will be reopened by 8pm"]
    view = widget.view(question, {"road_safe": ["yes"]}, {}, True)
    assert view["macro"] == "govukCheckboxes"
    assert view["params"]["items"][0]["text"] == "I confirm that the road will be reopened by 8pm"
    assert view["params"]["items"][0]["checked"] is True


def test_the_checker_wants_a_statement_and_a_const() -> None:
    doc = with_declaration()
    del doc["questions"]["road_safe"]["statement"]
    doc["schema"]["properties"]["road_safe"] = {"type": "boolean"}
    found = {p.path: p.message for p in check(doc)}
    assert 'needs a "statement"' in found["$.questions.road_safe"]
    assert "const" in found["$.schema.properties.road_safe"]
    other = sample_doc()
    other["questions"]["full_name"]["statement"] = "I confirm"
    assert [p.path for p in check(other)] == ["$.questions.full_name.statement"]


# -- change summaries ---------------------------------------------------------------------------


def test_change_summaries_say_the_rule_and_the_statement_in_words() -> None:
    old = with_declaration(with_party_date({"earliest": {"days": 14}}))
    new = copy.deepcopy(old)
    new["questions"]["party_date"]["date_rule"] = {"earliest": {"working_days": 10}, "latest": {"months": 6}}
    new["questions"]["road_safe"]["statement"] = "I confirm that the road will be reopened by 9pm"
    said = summarise(old, new)
    assert (
        "'When is the party?' must now be at least 10 working days from today and no more than 6 months from today "
        "(was at least 14 days from today)"
    ) in said
    assert (
        "Changed the wording of the tick box of 'Declaration' from 'I confirm that the road will be reopened by 8pm' "
        "to 'I confirm that the road will be reopened by 9pm'"
    ) in said
    assert not [s for s in said if "date_rule" in s or "statement" in s]  # no leftover JSON paths
    removed = copy.deepcopy(new)
    del removed["questions"]["party_date"]["date_rule"]
    assert any("no longer has to be at least 10 working days" in s for s in summarise(new, removed))


def test_civicforms_diff_prints_the_rule_and_refuses_nonsense(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from runtime.cli import main
    from runtime.definition import dumps

    old = with_party_date({"earliest": {"days": 14}})
    new = copy.deepcopy(old)
    new["version"] = 2
    new["questions"]["party_date"]["date_rule"] = {"earliest": {"working_days": 10}}
    (tmp_path / "old.json").write_text(dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(dumps(new), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 0, result.output
    assert (
        "'When is the party?' must now be at least 10 working days from today (was at least 14 days from today)"
        in result.stdout.splitlines()
    )
    new["questions"]["party_date"]["date_rule"] = {"earliest": "today + banana"}
    (tmp_path / "new.json").write_text(dumps(new), encoding="utf-8")
    refused = runner.invoke(main, ["validate", "--any-file-name", str(tmp_path / "new.json")])
    assert refused.exit_code == 1
    assert "$.questions.party_date.date_rule.earliest: must be one amount of one unit" in refused.output

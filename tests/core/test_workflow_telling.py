"""The definition format for telling the applicant (issue 17, part C): a transition's ``reason``,
a final state's ``appeal``, a request's ``reply_within``; checked in plain words by `civicforms
validate`, and what runtime.applicant_messages writes from them."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from runtime import applicant_messages as told
from runtime import workflow as wf
from runtime.checker import check
from runtime.cli import main
from runtime.definition import Definition, dumps, read_file
from tests.conftest import DEFINITIONS
from tests.core.sample import sample_doc
from tests.core.test_workflow import grant_section

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # a Friday


def _doc(**changes: Any) -> dict[str, Any]:
    doc = sample_doc()
    section = grant_section()
    section["states"]["rejected"]["appeal"] = "Write to us within 28 days to ask for a review."
    section["transitions"][2]["reason"] = "required"
    section["transitions"][5]["reply_within"] = "P10D"
    doc["workflow"] = section
    for path, value in changes.items():
        where: Any = section
        *parts, last = path.split("/")
        for part in parts:
            where = where[int(part)] if part.isdigit() else where[part]
        where[int(last) if last.isdigit() else last] = value
    return doc


def _messages(doc: dict[str, Any]) -> list[str]:
    return [f"{p.path}: {p.message}" for p in check(doc)]


def test_reason_appeal_and_reply_within_pass_and_are_read() -> None:
    doc = _doc()
    assert check(doc) == []
    workflow = wf.Workflow.from_section(doc["workflow"])
    assert workflow.states["rejected"].appeal == "Write to us within 28 days to ask for a review."
    assert workflow.states["approved"].appeal == ""
    reject = next(t for t in workflow.transitions if t.action == "reject")
    assert reject.reason == "required"
    ask = next(t for t in workflow.transitions if t.request_information)
    assert ask.reply_within is not None and ask.reply_within.days == 10


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"states/received/appeal": "Ask us"}, "$.workflow.states.received.appeal: only a final state has appeal"),
        ({"transitions/5/reason": "optional"}, "$.workflow.transitions[5].reason: a request for information is not"),
        ({"transitions/2/reply_within": "P10D"}, "$.workflow.transitions[2].reply_within: only a request for"),
        ({"transitions/5/reply_within": "banana"}, '"banana" is not a duration'),
        ({"transitions/5/reply_within": "PT12H"}, "whole days to reply, from 1 to 90 days"),
        ({"transitions/5/reply_within": "P91D"}, "whole days to reply, from 1 to 90 days"),
        ({"transitions/5/reply_within": "P1Y"}, "years and months are not allowed"),
        ({"transitions/2/reason": "always"}, "$.workflow.transitions[2].reason"),
        ({"states/rejected/appeal": "x" * 2001}, "$.workflow.states.rejected.appeal"),
        ({"states/rejected/appeal": "   "}, "$.workflow.states.rejected.appeal"),
        ({"states/rejected/appeal": ["not", "text"]}, "$.workflow.states.rejected.appeal"),
    ],
)
def test_bad_reason_appeal_and_reply_within_are_refused_in_plain_words(changes: dict[str, Any], expected: str) -> None:
    messages = _messages(_doc(**changes))
    assert any(expected in m for m in messages), messages


def test_civicforms_validate_names_the_appeal_on_a_step_that_is_not_final(tmp_path: Path) -> None:
    doc = _doc(**{"states/received/appeal": "Ask us"})
    path = tmp_path / f"{doc['id']}.json"
    path.write_text(dumps(doc), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "$.workflow.states.received.appeal: only a final state has appeal text" in result.stdout


def test_a_required_reason_must_be_given() -> None:
    workflow = wf.Workflow.from_section(_doc()["workflow"])
    facts = wf.CaseFacts(state="received", answers={})
    actor = wf.Actor(staff_id=1, roles=frozenset({"caseworker"}))
    with pytest.raises(wf.NotAllowed, match="Enter the reason for this decision: the applicant will see it"):
        wf.decide(workflow, facts, actor, "reject", "  ", NOW)
    with pytest.raises(wf.NotAllowed, match="Reason must be 5,000 characters or less"):
        wf.decide(workflow, facts, actor, "reject", "x" * 5001, NOW)
    assert wf.decide(workflow, facts, actor, "reject", "Not eligible", NOW).to_state == "rejected"


def test_the_shipped_council_tax_service_tells_a_refusal_and_gives_ten_working_days() -> None:
    definition = Definition(read_file(DEFINITIONS / "council-tax-single-person-discount.json"))
    workflow = definition.workflow
    assert "Valuation Tribunal" in workflow.states["rejected"].appeal
    assert {t.reason for t in workflow.transitions if t.action == "reject"} == {"required"}
    ask = next(t for t in workflow.transitions if t.request_information)
    # 10 working days from Friday 4 December 2026: Friday 18 December.
    assert told.default_reply_by(ask, NOW, workflow.working_days) == date(2026, 12, 18)


# -- what the applicant reads ------------------------------------------------------------------------


def _definition(contact: dict[str, Any] | None) -> Definition:
    doc = copy.deepcopy(_doc())
    doc["department"] = "Licensing"
    if contact is not None:
        doc["contact"] = contact
    return Definition(doc)


def test_the_appeal_is_the_state_s_text_else_the_contact_details_for_a_reasoned_decision() -> None:
    definition = _definition({"email": "licensing@westbridge.gov.uk", "phone": "01632 960 000", "hours": "9 to 5"})
    states = definition.workflow.states
    assert told.appeal_paragraphs(states["rejected"], definition, reasoned=True) == [
        "Write to us within 28 days to ask for a review."
    ]
    plain = wf.State("refused", "Refused", final=True)
    assert told.appeal_paragraphs(plain, definition, reasoned=True) == [
        "If you think our decision is wrong, contact Licensing and ask us to look at it again.\n"
        "Email: licensing@westbridge.gov.uk\nTelephone: 01632 960 000 (9 to 5)"
    ]
    assert told.appeal_paragraphs(plain, definition, reasoned=False) == []  # an approval needs none
    assert told.appeal_paragraphs(states["received"], definition, reasoned=True) == []  # not a decision
    assert told.appeal_paragraphs(plain, _definition(None), reasoned=True) == []  # nobody to contact


def test_the_decision_and_request_texts() -> None:
    assert told.decision_text("", []) == ""
    assert told.decision_text(" Too late ", ["Write to us."]) == (
        "Why we made this decision:\nToo late\n\nIf you disagree with our decision:\nWrite to us."
    )
    text = told.request_text("Send a bill.", ["Your address", "Your phone"], date(2026, 12, 18))
    assert text == (
        "What we need:\nSend a bill.\n\nWe will ask you to answer again:\n- Your address\n- Your phone\n\n"
        "You can also write anything else you want to tell us.\n\nReply by 18 December 2026."
    )
    assert told.request_text("Tell us more.", [], None) == "What we need:\nTell us more."


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (None, "Enter the date the applicant must reply by"),
        (date(2026, 12, 3), "must be in the future"),
        (date(2026, 12, 4), "must be in the future"),
        (date(2026, 12, 5), None),
        (date(2027, 3, 4), None),  # 90 days
        (date(2027, 3, 5), "within 90 days: 4 March 2027 or earlier"),
    ],
)
def test_reply_by_dates(day: date | None, expected: str | None) -> None:
    problem = told.reply_by_problem(day, NOW.date())
    assert (problem is None) if expected is None else (expected in (problem or ""))


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("18", "12", "2026"), date(2026, 12, 18)),
        ((" 1 ", "2", "2027"), date(2027, 2, 1)),
        (("31", "2", "2027"), None),
        (("1", "1", "27"), None),
        (("١", "1", "2027"), None),  # Arabic-Indic digits are not read
        (("-1", "1", "2027"), None),
        (("1", "1", "99999999999999999999"), None),
        (("", "", ""), None),
    ],
)
def test_reading_a_typed_date(parts: tuple[str, str, str], expected: date | None) -> None:
    assert told.read_date(*parts) == expected


def test_a_reply_by_date_lasts_to_the_end_of_its_day() -> None:
    assert told.end_of(date(2026, 12, 18)) == datetime(2026, 12, 18, 23, 59, 59, tzinfo=UTC)

"""The workflow engine: parsing, guards, who may decide, approvals, durations and deadlines.

Every rule is a state-machine test with a controllable clock: ``now`` is always passed in.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from runtime.definition import Definition
from runtime.workflow import (
    DEFAULT,
    Actor,
    Approval,
    CaseFacts,
    Duration,
    NotAllowed,
    Workflow,
    allowed,
    decide,
    due,
    parse_duration,
    render_message,
)
from tests.core.sample import sample_doc

# A Monday; the clock each test moves by hand.
MONDAY = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)

CASEWORKER = Actor(staff_id=1, roles=frozenset({"caseworker"}), email="cw@council.example")
COLLEAGUE = Actor(staff_id=2, roles=frozenset({"caseworker"}), email="cw2@council.example")
MANAGER_A = Actor(staff_id=10, roles=frozenset({"manager"}), email="ma@council.example")
MANAGER_B = Actor(staff_id=11, roles=frozenset({"manager"}), email="mb@council.example")
MANAGER_C = Actor(staff_id=12, roles=frozenset({"manager"}), email="mc@council.example")
DESIGNER = Actor(staff_id=20, roles=frozenset({"designer"}), email="d@council.example")


def grant_section() -> dict[str, Any]:
    """The design document's example: a grant over £10,000 needs two managers."""
    return {
        "initial": "received",
        "working_days": True,
        "states": {
            "received": {
                "label": "Received",
                "citizen_text": "We have received your application",
                "deadline": "P10D",
                "escalate_to": "manager",
            },
            "second-approval": {"label": "Waiting for a manager", "citizen_text": "We are checking your application"},
            "approved": {"label": "Approved", "final": True, "citizen_text": "Your application has been approved"},
            "rejected": {"label": "Rejected", "final": True},
        },
        "transitions": [
            {
                "from": "received",
                "action": "approve",
                "label": "Approve",
                "to": "second-approval",
                "roles": ["caseworker"],
                "guard": {"properties": {"pet_count": {"minimum": 3}}, "required": ["pet_count"]},
            },
            {"from": "received", "action": "approve", "label": "Approve", "to": "approved", "roles": ["caseworker"]},
            {
                "from": "received",
                "action": "reject",
                "label": "Reject",
                "to": "rejected",
                "roles": ["caseworker"],
                "comment": "required",
            },
            {
                "from": "second-approval",
                "action": "approve",
                "label": "Approve",
                "to": "approved",
                "roles": ["manager"],
                "approvals": {"mode": "quorum", "count": 2},
            },
            {
                "from": "second-approval",
                "action": "reject",
                "label": "Reject",
                "to": "rejected",
                "roles": ["manager"],
                "comment": "required",
            },
            {
                "from": "received",
                "action": "request-information",
                "label": "Ask the applicant for more information",
                "roles": ["caseworker"],
                "request_information": True,
            },
        ],
    }


def grant() -> Workflow:
    return Workflow.from_section(grant_section())


def facts(state: str = "received", answers: Any = None, **kw: Any) -> CaseFacts:
    return CaseFacts(state=state, answers={} if answers is None else answers, citizen_email="citizen@example.com", **kw)


def actions(transitions: list[Any]) -> list[str]:
    return [t.action for t in transitions]


# -- parsing -----------------------------------------------------------------------------------


def test_a_definition_without_a_workflow_gets_the_default_review_step() -> None:
    definition = Definition(sample_doc())
    workflow = definition.workflow
    assert workflow is DEFAULT
    assert workflow.initial == "received"
    assert {s.id: s.final for s in workflow.states.values()} == {"received": False, "approved": True, "rejected": True}
    assert actions(workflow.actions("received", {})) == ["approve", "reject", "request-information"]
    reject = workflow.actions("received", {})[1]
    assert (reject.to, reject.comment_required, reject.roles) == ("rejected", True, ("caseworker",))
    ask = workflow.actions("received", {})[2]
    assert ask.request_information and ask.to is None and not ask.is_decision


def test_the_section_is_parsed_into_frozen_views_with_defaults() -> None:
    workflow = grant()
    received = workflow.states["received"]
    assert received.deadline == Duration("P10D", days=10)
    assert received.escalate_to == "manager"
    assert workflow.states["rejected"].citizen_text == "Rejected"  # the label when none is given
    assert workflow.working_days is True and workflow.one_decision_per_person is True
    quorum = workflow.actions("second-approval", {})[0]
    assert (quorum.approvals_mode, quorum.approvals_count) == ("quorum", 2)
    plain = workflow.actions("received", {})[0]
    assert (plain.approvals_mode, plain.approvals_count, plain.comment_required) == ("any", 1, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        received.label = "Changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plain.to = "rejected"  # type: ignore[misc]


def test_the_workflow_is_built_once_per_definition_version() -> None:
    doc = sample_doc()
    doc["workflow"] = grant_section()
    definition = Definition(doc)
    assert definition.workflow is definition.workflow
    assert definition.workflow.states["second-approval"].label == "Waiting for a manager"


def test_html_in_labels_stays_data() -> None:
    section = grant_section()
    section["states"]["received"]["label"] = "<script>alert(1)</script>"
    section["transitions"][2]["label"] = "<b>Reject</b>"
    workflow = Workflow.from_section(section)
    assert workflow.states["received"].label == "<script>alert(1)</script>"
    with pytest.raises(NotAllowed) as refused:
        decide(workflow, facts(), CASEWORKER, "reject", "", MONDAY)
    assert refused.value.message == "Enter a comment to <b>Reject</b>"  # escaping is the page's job


# -- guards: the first matching transition wins ------------------------------------------------


def test_a_guard_picks_the_transition_by_the_answers() -> None:
    workflow = grant()
    small = workflow.actions("received", {"pet_count": 1})
    big = workflow.actions("received", {"pet_count": 4})
    assert actions(small) == actions(big) == ["approve", "reject", "request-information"]  # one button each
    assert small[0].to == "approved"
    assert big[0].to == "second-approval"
    assert decide(workflow, facts(answers={"pet_count": 4}), CASEWORKER, "approve", None, MONDAY).to_state == (
        "second-approval"
    )
    assert decide(workflow, facts(answers={"pet_count": 2}), CASEWORKER, "approve", None, MONDAY).to_state == (
        "approved"
    )
    # A missing answer does not satisfy "required": the unguarded transition applies.
    assert decide(workflow, facts(answers={}), CASEWORKER, "approve", None, MONDAY).to_state == "approved"


def test_the_first_matching_guard_wins_even_when_a_later_one_matches_too() -> None:
    section = grant_section()
    section["transitions"].insert(
        1,
        {
            "from": "received",
            "action": "approve",
            "label": "Approve",
            "to": "rejected",
            "roles": ["caseworker"],
            "guard": {"properties": {"pet_count": {"minimum": 2}}, "required": ["pet_count"]},
        },
    )
    workflow = Workflow.from_section(section)
    assert workflow.actions("received", {"pet_count": 5})[0].to == "second-approval"  # first of two matches
    assert workflow.actions("received", {"pet_count": 2})[0].to == "rejected"
    assert workflow.actions("received", {"pet_count": 1})[0].to == "approved"


def test_an_action_whose_guards_all_fail_is_not_offered() -> None:
    section = grant_section()
    del section["transitions"][1]  # only the guarded approve is left
    workflow = Workflow.from_section(section)
    assert "approve" not in actions(workflow.actions("received", {"pet_count": 1}))
    with pytest.raises(NotAllowed, match="not possible while the case is 'Received'"):
        decide(workflow, facts(answers={"pet_count": 1}), CASEWORKER, "approve", None, MONDAY)


def test_guards_use_the_definitions_validator_with_its_date_keywords() -> None:
    section = copy.deepcopy(DEFAULT_LIKE)
    section["transitions"][0]["guard"] = {"properties": {"date_of_birth": {"dateBefore": "2000-01-01"}}}
    workflow = Workflow.from_section(section)
    assert workflow.actions("received", {"date_of_birth": "1990-05-01"})[0].to == "approved"
    assert workflow.actions("received", {"date_of_birth": "2005-05-01"})[0].to == "rejected"


DEFAULT_LIKE: dict[str, Any] = {
    "initial": "received",
    "states": {
        "received": {"label": "Received"},
        "approved": {"label": "Approved", "final": True},
        "rejected": {"label": "Rejected", "final": True},
    },
    "transitions": [
        {"from": "received", "action": "decide", "label": "Decide", "to": "approved", "roles": ["caseworker"]},
        {"from": "received", "action": "decide", "label": "Decide", "to": "rejected", "roles": ["caseworker"]},
    ],
}


# -- who may act ---------------------------------------------------------------------------------


def test_a_transition_needs_one_of_its_roles() -> None:
    workflow = grant()
    assert allowed(workflow, facts(), DESIGNER) == []
    assert allowed(workflow, facts(), MANAGER_A) == []
    with pytest.raises(NotAllowed, match="Only a caseworker can approve here"):
        decide(workflow, facts(), MANAGER_A, "approve", None, MONDAY)
    both = Actor(staff_id=30, roles=frozenset({"designer", "caseworker"}))
    assert actions(allowed(workflow, facts(), both)) == ["approve", "reject", "request-information"]


def test_an_unknown_action_or_a_closed_case_is_refused() -> None:
    workflow = grant()
    with pytest.raises(NotAllowed, match="not possible"):
        decide(workflow, facts(), CASEWORKER, "delete", None, MONDAY)
    with pytest.raises(NotAllowed, match=r"This case is closed \(Approved\)"):
        decide(workflow, facts("approved"), CASEWORKER, "approve", None, MONDAY)
    assert allowed(workflow, facts("approved"), CASEWORKER) == []
    with pytest.raises(NotAllowed, match="step the service no longer has"):
        decide(workflow, facts("gone"), CASEWORKER, "approve", None, MONDAY)
    assert allowed(workflow, facts("gone"), CASEWORKER) == []


def test_a_comment_is_required_where_the_transition_says_so() -> None:
    workflow = grant()
    for empty in (None, "", "   \n\t "):
        with pytest.raises(NotAllowed, match="Enter a comment to reject"):
            decide(workflow, facts(), CASEWORKER, "reject", empty, MONDAY)
    outcome = decide(workflow, facts(), CASEWORKER, "reject", "  Not a council tenant  ", MONDAY)
    assert outcome.to_state == "rejected"
    assert decide(workflow, facts(), CASEWORKER, "approve", None, MONDAY).to_state == "approved"  # optional


def test_a_comment_of_more_than_5000_characters_is_refused() -> None:
    workflow = grant()
    with pytest.raises(NotAllowed, match="Comment must be 5,000 characters or less"):
        decide(workflow, facts(), CASEWORKER, "approve", "x" * 5001, MONDAY)
    assert decide(workflow, facts(), CASEWORKER, "approve", "x" * 5000 + "   ", MONDAY).to_state == "approved"


def test_nobody_decides_their_own_case_whatever_the_case_of_the_email() -> None:
    workflow = grant()
    me = Actor(staff_id=5, roles=frozenset({"caseworker"}), email=" Citizen@Example.COM ")
    assert allowed(workflow, facts(), me) == []
    for action in ("approve", "reject", "request-information"):
        with pytest.raises(NotAllowed, match="your own case"):
            decide(workflow, facts(), me, action, "comment", MONDAY)
    # Still refused when one decision per person is off: it is a separate rule, always on.
    section = grant_section()
    section["one_decision_per_person"] = False
    with pytest.raises(NotAllowed, match="your own case"):
        decide(Workflow.from_section(section), facts(), me, "approve", None, MONDAY)


def test_a_missing_email_is_never_a_match() -> None:
    workflow = grant()
    no_email = Actor(staff_id=5, roles=frozenset({"caseworker"}), email=None)
    anonymous_case = CaseFacts(state="received", answers={}, citizen_email=None)
    assert decide(workflow, anonymous_case, no_email, "approve", None, MONDAY).to_state == "approved"
    blank = Actor(staff_id=5, roles=frozenset({"caseworker"}), email="")
    assert decide(workflow, CaseFacts(state="received", answers={}, citizen_email=""), blank, "approve", None, MONDAY)


def test_by_default_nobody_takes_two_decisions_on_one_case() -> None:
    section = grant_section()
    # A manager may send the case back; the caseworker who approved it first may not decide again.
    section["transitions"].append(
        {"from": "second-approval", "action": "send-back", "label": "Send back", "to": "received", "roles": ["manager"]}
    )
    workflow = Workflow.from_section(section)
    first = decide(workflow, facts(answers={"pet_count": 4}), CASEWORKER, "approve", None, MONDAY)
    assert first.to_state == "second-approval" and first.approval is not None
    history: tuple[Approval, ...] = (first.approval,)
    later = MONDAY + timedelta(days=1)
    back = decide(workflow, facts("second-approval", approvals=history), MANAGER_A, "send-back", None, later)
    assert back.to_state == "received"
    assert back.approval is not None
    history += (back.approval,)
    returned = facts("received", {"pet_count": 4}, approvals=history, entered_state_at=later)
    assert actions(allowed(workflow, returned, CASEWORKER)) == ["request-information"]  # not a decision
    with pytest.raises(NotAllowed, match="already taken a decision on this case"):
        decide(workflow, returned, CASEWORKER, "reject", "No", later)
    assert decide(workflow, returned, COLLEAGUE, "reject", "No", later).to_state == "rejected"
    # The manager who sent it back cannot approve it at the second step either.
    at_second = facts("second-approval", {"pet_count": 4}, approvals=history, entered_state_at=later)
    with pytest.raises(NotAllowed, match="already taken a decision"):
        decide(workflow, at_second, MANAGER_A, "approve", None, later)


def test_one_decision_per_person_can_be_turned_off() -> None:
    section = grant_section()
    section["one_decision_per_person"] = False
    section["transitions"].append(
        {"from": "second-approval", "action": "send-back", "label": "Send back", "to": "received", "roles": ["manager"]}
    )
    workflow = Workflow.from_section(section)
    earlier = (
        Approval(1, "received", "approve", MONDAY),
        Approval(10, "second-approval", "send-back", MONDAY + timedelta(hours=1)),
    )
    again = facts("received", approvals=earlier, entered_state_at=MONDAY + timedelta(hours=1))
    assert decide(workflow, again, CASEWORKER, "reject", "No", MONDAY + timedelta(hours=2)).to_state == "rejected"


def test_request_information_is_not_a_decision() -> None:
    workflow = grant()
    asked = decide(workflow, facts(), CASEWORKER, "request-information", "Send a photo of the pet", MONDAY)
    assert asked.request_information and asked.to_state is None
    assert not asked.approval_recorded and asked.approval is None
    # The same caseworker may decide after the citizen answered (the case is back in "received").
    back = facts(entered_state_at=MONDAY + timedelta(days=2))
    assert decide(workflow, back, CASEWORKER, "approve", None, MONDAY + timedelta(days=2)).to_state == "approved"


# -- several approvers -----------------------------------------------------------------------------


def test_a_quorum_fires_on_the_second_distinct_approval() -> None:
    workflow = grant()
    entered = MONDAY
    first = decide(workflow, facts("second-approval", entered_state_at=entered), MANAGER_A, "approve", None, MONDAY)
    assert (first.to_state, first.approval_recorded, first.approvals_so_far, first.approvals_needed) == (
        None,
        True,
        1,
        2,
    )
    assert first.approval == Approval(10, "second-approval", "approve", MONDAY)
    one = (first.approval,)
    waiting = facts("second-approval", approvals=one, entered_state_at=entered)
    # The same manager cannot count twice, even with one decision per person turned off.
    with pytest.raises(NotAllowed, match="already done this"):
        decide(workflow, waiting, MANAGER_A, "approve", None, MONDAY + timedelta(hours=1))
    section = grant_section()
    section["one_decision_per_person"] = False
    with pytest.raises(NotAllowed, match="already done this"):
        decide(Workflow.from_section(section), waiting, MANAGER_A, "approve", None, MONDAY + timedelta(hours=1))
    assert actions(allowed(workflow, waiting, MANAGER_A)) == []
    assert actions(allowed(workflow, waiting, MANAGER_B)) == ["approve", "reject"]
    second = decide(workflow, waiting, MANAGER_B, "approve", None, MONDAY + timedelta(hours=2))
    assert (second.to_state, second.approvals_so_far, second.approvals_needed) == ("approved", 2, 2)


def test_approvals_count_only_since_the_case_entered_the_state() -> None:
    workflow = grant()
    old_visit = (Approval(10, "second-approval", "approve", MONDAY),)
    # The case left "second-approval" and came back a day later: the old approval does not count.
    returned = facts("second-approval", approvals=old_visit, entered_state_at=MONDAY + timedelta(days=1))
    section = grant_section()
    section["one_decision_per_person"] = False
    lenient = Workflow.from_section(section)
    outcome = decide(lenient, returned, MANAGER_B, "approve", None, MONDAY + timedelta(days=1, hours=1))
    assert (outcome.to_state, outcome.approvals_so_far) == (None, 1)
    # Without entered_state_at every approval of the step counts.
    outcome = decide(workflow, facts("second-approval", approvals=old_visit), MANAGER_B, "approve", None, MONDAY)
    assert (outcome.to_state, outcome.approvals_so_far) == ("approved", 2)
    # Approvals of another action or another state never count.
    other = (Approval(10, "second-approval", "reject", MONDAY), Approval(11, "received", "approve", MONDAY))
    outcome = decide(lenient, facts("second-approval", approvals=other), MANAGER_C, "approve", None, MONDAY)
    assert outcome.approvals_so_far == 1


def _with_mode(mode: dict[str, Any]) -> Workflow:
    section = grant_section()
    section["transitions"][3]["approvals"] = mode
    return Workflow.from_section(section)


def test_any_needs_one_approval() -> None:
    workflow = _with_mode({"mode": "any"})
    outcome = decide(workflow, facts("second-approval"), MANAGER_A, "approve", None, MONDAY)
    assert (outcome.to_state, outcome.approvals_needed) == ("approved", 1)


def test_all_needs_every_holder_of_the_role() -> None:
    workflow = _with_mode({"mode": "all"})
    holders = {"manager": 3, "caseworker": 9}
    history: tuple[Approval, ...] = ()
    for i, manager in enumerate((MANAGER_A, MANAGER_B, MANAGER_C)):
        case = facts("second-approval", approvals=history, role_holders=holders, entered_state_at=MONDAY)
        outcome = decide(workflow, case, manager, "approve", None, MONDAY + timedelta(minutes=i))
        assert outcome.approvals_needed == 3 and outcome.approvals_so_far == i + 1
        assert outcome.to_state == ("approved" if i == 2 else None)
        assert outcome.approval is not None
        history += (outcome.approval,)


def test_all_with_no_known_holders_needs_one() -> None:
    outcome = decide(_with_mode({"mode": "all"}), facts("second-approval"), MANAGER_A, "approve", None, MONDAY)
    assert (outcome.to_state, outcome.approvals_needed) == ("approved", 1)


# -- durations and deadlines ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [
        ("P10D", 10, 0),
        ("P2W", 14, 0),
        ("PT48H", 0, 48 * 3600),
        ("P1DT12H", 1, 12 * 3600),
        ("PT90M", 0, 90 * 60),
        ("P1W2D", 9, 0),
        ("P366D", 366, 0),
    ],
)
def test_durations_that_parse(text: str, days: int, seconds: int) -> None:
    assert parse_duration(text) == Duration(text, days=days, seconds=seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("P1Y", "years and months are not allowed"),
        ("P2M", "years and months are not allowed"),
        ("P1Y2M3D", "years and months are not allowed"),
        ("-P10D", "cannot be negative"),
        ("P-10D", "not a duration like P10D"),
        ("", "enter a duration like P10D"),
        ("   ", "enter a duration like P10D"),
        (None, "enter a duration like P10D"),
        (10, "enter a duration like P10D"),
        ("10 days", "not a duration like P10D"),
        ("P", "not a duration like P10D"),
        ("PT", "not a duration like P10D"),
        ("P1DT", "not a duration like P10D"),
        ("P1.5D", "not a duration like P10D"),
        ("p10d", "not a duration like P10D"),
        ("P10D ", "not a duration like P10D"),
        ("P0D", "longer than zero"),
        ("PT0H", "longer than zero"),
        ("P99999999D", "too long: a deadline can be at most 366 days"),
        ("P367D", "too long"),
        ("P53W", "too long"),
        ("PT9000H", "too long"),
        ("P" + "9" * 5000 + "D", "not a duration like P10D"),
    ],
)
def test_durations_that_are_refused_with_a_plain_message(text: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        parse_duration(text)
    assert len(str(refused.value)) < 200


def test_duration_words() -> None:
    assert parse_duration("P10D").words() == "10 days"
    assert parse_duration("P1D").words(working_days=True) == "1 working day"
    assert parse_duration("P1DT12H").words() == "1 day and 12 hours"
    assert parse_duration("PT48H").words(working_days=True) == "48 hours"


FRIDAY = datetime(2025, 3, 7, 10, 0, tzinfo=UTC)
SATURDAY = datetime(2025, 3, 8, 15, 30, tzinfo=UTC)


def test_calendar_days_count_weekends() -> None:
    assert due(FRIDAY, parse_duration("P1D"), False, frozenset()) == datetime(2025, 3, 8, 10, 0, tzinfo=UTC)
    assert due(FRIDAY, parse_duration("PT48H"), False, frozenset()) == datetime(2025, 3, 9, 10, 0, tzinfo=UTC)


def test_working_days_skip_the_weekend() -> None:
    # Friday + 1 working day is Monday, same time.
    assert due(FRIDAY, parse_duration("P1D"), True, frozenset()) == datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
    # Monday + 10 working days is the Monday two weeks later.
    assert due(MONDAY, parse_duration("P10D"), True, frozenset()) == datetime(2025, 3, 17, 10, 0, tzinfo=UTC)
    # Received on a Saturday: the first working day after it is Monday.
    assert due(SATURDAY, parse_duration("P1D"), True, frozenset()) == datetime(2025, 3, 10, 15, 30, tzinfo=UTC)
    assert due(SATURDAY, parse_duration("P2D"), True, frozenset()) == datetime(2025, 3, 11, 15, 30, tzinfo=UTC)
    # Weeks are 7 days, so P1W with working days is 7 working days (write P5D for a working week).
    assert due(MONDAY, parse_duration("P1W"), True, frozenset()) == datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


def test_working_days_skip_holidays() -> None:
    # Good Friday and Easter Monday 2025.
    easter = frozenset({date(2025, 4, 18), date(2025, 4, 21)})
    thursday = datetime(2025, 4, 17, 9, 0, tzinfo=UTC)
    assert due(thursday, parse_duration("P1D"), True, easter) == datetime(2025, 4, 22, 9, 0, tzinfo=UTC)
    assert due(thursday, parse_duration("P2D"), True, easter) == datetime(2025, 4, 23, 9, 0, tzinfo=UTC)
    # Without the holidays, Friday.
    assert due(thursday, parse_duration("P1D"), True, frozenset()) == datetime(2025, 4, 18, 9, 0, tzinfo=UTC)
    # Holidays do not matter for calendar days.
    assert due(thursday, parse_duration("P1D"), False, easter) == datetime(2025, 4, 18, 9, 0, tzinfo=UTC)


def test_the_time_part_is_plain_hours_even_with_working_days() -> None:
    assert due(FRIDAY, parse_duration("PT48H"), True, frozenset()) == datetime(2025, 3, 9, 10, 0, tzinfo=UTC)
    assert due(FRIDAY, parse_duration("P1DT12H"), True, frozenset()) == datetime(2025, 3, 10, 22, 0, tzinfo=UTC)


def test_the_longest_deadline_with_working_days_and_many_holidays_is_quick() -> None:
    holidays = frozenset(date(2025, 1, 1) + timedelta(days=i) for i in range(0, 3000, 2))
    at = due(MONDAY, parse_duration("P366D"), True, holidays)
    assert at > MONDAY + timedelta(days=366)


def test_a_states_deadline_from_when_the_case_entered_it() -> None:
    workflow = grant()  # "received": P10D working days
    assert workflow.deadline_for("received", FRIDAY) == datetime(2025, 3, 21, 10, 0, tzinfo=UTC)
    assert workflow.deadline_for("received", FRIDAY, frozenset({date(2025, 3, 10)})) == datetime(
        2025, 3, 24, 10, 0, tzinfo=UTC
    )
    assert workflow.deadline_for("second-approval", FRIDAY) is None


# -- messages --------------------------------------------------------------------------------------


def test_messages_have_defaults_and_the_definition_may_replace_them() -> None:
    section = grant_section()
    section["messages"] = {"decision": {"subject": "Decision on {reference}", "body": "Now: {state}"}}
    workflow = Workflow.from_section(section)
    assert workflow.messages["decision"].subject == "Decision on {reference}"
    assert "{reference}" in workflow.messages["submitted"].body  # a default
    values = {"reference": "PET-1234-ABCD", "state": "Approved", "service": "Pets", "link": "https://x.example/s/t"}
    assert render_message(workflow.messages["decision"].subject, values) == "Decision on PET-1234-ABCD"
    assert render_message("{link}", {}) == ""  # a missing value is blank, never an error

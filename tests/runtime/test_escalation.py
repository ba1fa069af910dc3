"""Issue 17, part D: staff messages per event and recipient, the whole-case deadline, reminders
and lapsed reply-by dates, escalation and a manager sending a case back, daily digests (with a
fixed ``now``, on SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from runtime import case_escalation, cases, outbox
from runtime import workflow as wf
from runtime.checker import check
from runtime.models import Case, InformationRequest, OutboxMessage, StaffUser, utcnow
from runtime.services import chasing
from tests.runtime.test_cases import BLUE_BADGE, NOW, QUORUM_WORKFLOW, SECRET, URLS, World, _request
from tests.runtime.test_cases import world as world  # noqa: F401  (the fixture)

DECIDE_WITHIN = {**copy.deepcopy(QUORUM_WORKFLOW), "decide_within": "P15D"}


def _emails(world: World, kind: str) -> list[str]:
    return sorted(m.recipient for m in world.outbox(kind))


def _assign(world: World, case_id: int, staff_id: int) -> None:
    with world.session() as s:
        found = s.get(Case, case_id)
        assert found is not None
        found.assigned_to = staff_id
        s.add(found)
        s.commit()


def _escalate(world: World, now: datetime) -> int:
    with world.session() as s:
        count = cases.escalate_overdue(s, now=now, urls=URLS)
        s.commit()
    return count


# -- the whole-case deadline ----------------------------------------------------------------------


def test_decide_within_sets_the_decision_date_once_in_working_days(world: World) -> None:
    world.publish_workflow(DECIDE_WITHIN)
    case_id = world.new_case()
    # 15 working days from Tuesday 1 December 2026: Tuesday 22 December.
    assert world.case(case_id).decision_due_at == datetime(2026, 12, 22, 9, 0, tzinfo=UTC)
    token = _request(world, case_id, [])
    with world.session() as s:
        request = cases.information_request_for_token(s, token)
        assert request is not None
        cases.answer_information(s, request=request, answers={"reply": "Here it is"}, now=NOW + timedelta(days=5))
        s.commit()
    # The applicant's answer restarts the step's deadline, never the whole case's.
    assert world.case(case_id).decision_due_at == datetime(2026, 12, 22, 9, 0, tzinfo=UTC)
    assert world.case(case_id).deadline_at != world.case(case_id).decision_due_at


def test_without_decide_within_a_case_has_no_decision_date(world: World) -> None:
    case_id = world.new_case()
    assert world.case(case_id).decision_due_at is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("today + banana", "is not a duration like P10D"),
        ("P0D", "must be longer than zero"),
        ("-P1D", "cannot be negative"),
        ("P2Y", "years and months are not allowed"),
        ("P999D", "too long"),
    ],
)
def test_a_bad_decide_within_is_refused_in_plain_words(value: str, words: str) -> None:
    doc = copy.deepcopy(BLUE_BADGE)
    doc["workflow"] = {**copy.deepcopy(QUORUM_WORKFLOW), "decide_within": value}
    found = [p for p in check(doc) if p.path == "$.workflow.decide_within"]
    assert found and words in found[0].message


@pytest.mark.parametrize("value", [10, None, ["P10D"], "P" + "1" * 50 + "D"])
def test_decide_within_must_be_a_short_string(value: Any) -> None:
    doc = copy.deepcopy(BLUE_BADGE)
    doc["workflow"] = {**copy.deepcopy(QUORUM_WORKFLOW), "decide_within": value}
    assert any("decide_within" in p.path for p in check(doc))


def test_decide_within_reads_into_the_typed_workflow() -> None:
    workflow = wf.Workflow.from_section(DECIDE_WITHIN)
    assert workflow.decide_within is not None and workflow.decide_within.days == 15
    assert workflow.decision_due(NOW) == datetime(2026, 12, 22, 9, 0, tzinfo=UTC)
    assert wf.Workflow.from_section(QUORUM_WORKFLOW).decision_due(NOW) is None


def test_a_case_past_its_decision_date_escalates_once_even_after_it_is_sent_back(world: World) -> None:
    world.publish_workflow({**DECIDE_WITHIN, "decide_within": "P3D"})
    case_id = world.new_case()
    _assign(world, case_id, world.caseworker)
    due = world.case(case_id).decision_due_at
    assert due is not None and world.case(case_id).deadline_at is not None
    assert due < world.case(case_id).deadline_at  # type: ignore[operator]
    assert _escalate(world, due - timedelta(seconds=1)) == 0
    assert _escalate(world, due + timedelta(hours=1)) == 1
    case = world.case(case_id)
    assert case.escalated and case.escalated_at == due + timedelta(hours=1)
    told = world.outbox("escalated_to_you")
    # The assignee and the managers (the step's escalate_to), not the other caseworker.
    assert sorted(m.recipient for m in told) == ["casey@council.gov.uk", "max@council.gov.uk", "mona@council.gov.uk"]
    assert "because it was due to be decided by 4 December 2026" in told[0].body
    with world.session() as s:
        case_escalation.send_back_to_caseworker(
            s,
            case_id=case_id,
            seen_lock_version=case.lock_version,
            staff_id=world.manager,
            note="Checked: carry on",
            now=due + timedelta(hours=2),
            urls=URLS,
        )
        s.commit()
    assert not world.case(case_id).escalated
    assert _escalate(world, due + timedelta(hours=3)) == 0  # the target is past, but it escalated once
    assert len(world.outbox("escalated_to_you")) == 3


# -- staff messages: one wording per event, to the people it concerns -------------------------------


def test_an_escalation_of_an_assigned_case_tells_the_assignee_and_the_escalation_role_only(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    _assign(world, case_id, world.colleague)
    deadline = world.case(case_id).deadline_at
    assert deadline is not None
    assert _escalate(world, deadline) == 1
    told = world.outbox("escalated_to_you")
    assert sorted(m.recipient for m in told) == ["colin@council.gov.uk", "max@council.gov.uk", "mona@council.gov.uk"]
    assert {m.department_id for m in told} == {world.department_id}
    assert {m.staff_id for m in told} == {world.colleague, world.manager, world.manager2}
    reference = world.case(case_id).reference
    assert told[0].subject == f"{reference}: Apply for a Blue Badge case escalated to you"
    assert f"https://forms.example.gov.uk/casework/cases/{case_id}" in told[0].body
    assert world.outbox("escalated") == []  # the definition's old staff message is not used


def test_a_deactivated_manager_hears_nothing(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    with world.session() as s:
        user = s.get(StaffUser, world.manager2)
        assert user is not None
        user.active = False
        s.add(user)
        s.commit()
    deadline = world.case(case_id).deadline_at
    assert deadline is not None
    _escalate(world, deadline)
    assert _emails(world, "escalated_to_you") == ["mona@council.gov.uk"]


# -- reply-by dates: the reminder and the lapse -----------------------------------------------------


def _reply_by(world: World, case_id: int, reply_by: datetime, asked_by: int | None = None) -> int:
    """Give the case's open request a reply-by date (part C's form sets it; here, directly)."""
    with world.session() as s:
        request = s.exec(select(InformationRequest).where(InformationRequest.case_id == case_id)).one()
        request.reply_by = reply_by
        request.asked_by = asked_by if asked_by is not None else world.caseworker
        s.add(request)
        s.commit()
        assert request.id is not None
        return request.id


def _remind(world: World, now: datetime) -> int:
    with world.session() as s:
        count = case_escalation.remind_applicants(s, now=now, secret_key=SECRET, urls=URLS)
        s.commit()
    return count


def test_the_applicant_is_reminded_once_three_days_before_the_reply_by_date(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    quiet = world.new_case(name="No Email", email=None)
    _request(world, case_id, ["phone"])
    _request(world, quiet, [])
    reply_by = NOW + timedelta(days=14)
    request_id = _reply_by(world, case_id, reply_by)
    _reply_by(world, quiet, reply_by)
    assert _remind(world, reply_by - timedelta(days=3, seconds=1)) == 0  # too early
    assert _remind(world, reply_by - timedelta(days=2)) == 1  # the one with an email address
    assert _remind(world, reply_by - timedelta(days=1)) == 0  # once
    [reminder] = world.outbox(case_escalation.REMINDER)
    reference = world.case(case_id).reference
    assert reminder.recipient == "ada@example.com"
    assert reminder.subject == "Apply for a Blue Badge: please reply to our request by 15 December 2026"
    assert f"On 1 December 2026 we asked you for more information about your application {reference}" in (reminder.body)
    assert "Please reply by 15 December 2026" in reminder.body
    assert "https://forms.example.gov.uk/status/" in reminder.body
    assert reminder.department_id == world.department_id and reminder.staff_id is None
    with world.session() as s:
        request = s.get(InformationRequest, request_id)
        assert request is not None and request.reminded_at == reply_by - timedelta(days=2)


def test_an_answered_request_is_not_chased(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    token = _request(world, case_id, [])
    _reply_by(world, case_id, NOW + timedelta(days=14))
    with world.session() as s:
        request = cases.information_request_for_token(s, token)
        assert request is not None
        cases.answer_information(s, request=request, answers={"reply": "Done"}, now=NOW + timedelta(days=1))
        s.commit()
    assert _remind(world, NOW + timedelta(days=12)) == 0
    assert _escalate(world, NOW + timedelta(days=14, hours=1)) == 0  # past the reply-by date, before the step deadline
    assert world.outbox("no_reply") == []


def test_a_lapsed_request_returns_the_case_to_its_step_escalated_and_tells_the_asker(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    _assign(world, case_id, world.colleague)
    _request(world, case_id, ["phone"])
    reply_by = NOW + timedelta(days=14)
    request_id = _reply_by(world, case_id, reply_by, asked_by=world.caseworker)
    assert world.case(case_id).waiting_for_citizen
    seen = world.case(case_id).lock_version
    assert _escalate(world, reply_by - timedelta(seconds=1)) == 0
    assert _escalate(world, reply_by + timedelta(minutes=5)) == 1
    assert _escalate(world, reply_by + timedelta(days=1)) == 0  # once
    case = world.case(case_id)
    assert (case.state, case.waiting_for_citizen, case.escalated) == ("received", False, True)
    assert case.escalated_at == reply_by + timedelta(minutes=5)
    assert case.lock_version == seen + 1
    with world.session() as s:
        request = s.get(InformationRequest, request_id)
        assert request is not None and request.lapsed_at == reply_by + timedelta(minutes=5)
        assert request.answered_at is None
    # Who asked and who holds the case hear the applicant did not reply; the managers that it escalated.
    assert _emails(world, "no_reply") == ["casey@council.gov.uk", "colin@council.gov.uk"]
    assert "did not reply by 15 December 2026" in world.outbox("no_reply")[0].body
    assert _emails(world, "escalated_to_you") == ["max@council.gov.uk", "mona@council.gov.uk"]
    assert "because the applicant did not reply by 15 December 2026" in world.outbox("escalated_to_you")[0].body
    assert world.events(case_id)[-1] == ("escalate", "received", "received")
    # Staff can now decide the case on what they have.
    assert world.act(case_id, world.colleague, "reject").state == "rejected"


def test_an_answer_after_the_request_lapsed_is_kept_while_the_case_is_open(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    _assign(world, case_id, world.colleague)
    token = _request(world, case_id, [])
    reply_by = NOW + timedelta(days=14)
    _reply_by(world, case_id, reply_by, asked_by=world.caseworker)
    assert _escalate(world, reply_by + timedelta(minutes=5)) == 1
    seen = world.case(case_id).lock_version
    late = reply_by + timedelta(days=1)
    with world.session() as s:
        request = cases.information_request_for_token(s, token)
        assert request is not None
        cases.answer_information(s, request=request, answers={"reply": "Sorry, I was away"}, now=late, urls=URLS)
        s.commit()
    case = world.case(case_id)
    # Where the lapse left it (back at its step, escalated), now tagged "Applicant replied".
    assert (case.state, case.waiting_for_citizen, case.escalated) == ("received", False, True)
    assert case.replied_at == late and case.lock_version == seen + 1
    assert world.events(case_id)[-1] == ("information-answered", None, None)
    assert [m.recipient for m in world.outbox("applicant_replied")] == ["colin@council.gov.uk"]
    with world.session() as s:
        request = cases.information_request_for_token(s, token)
        assert request is not None and request.answers == {"reply": "Sorry, I was away"}


def test_an_answer_after_the_lapsed_case_was_decided_is_refused_and_nothing_is_kept(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    token = _request(world, case_id, [])
    reply_by = NOW + timedelta(days=14)
    _reply_by(world, case_id, reply_by, asked_by=world.caseworker)
    assert _escalate(world, reply_by + timedelta(minutes=5)) == 1
    assert world.act(case_id, world.caseworker, "reject").state == "rejected"
    with world.session() as s:
        request = cases.information_request_for_token(s, token)
        assert request is not None
        with pytest.raises(cases.Conflict, match="no longer waiting"):
            cases.answer_information(
                s, request=request, answers={"reply": "Too late"}, now=reply_by + timedelta(days=2)
            )
        s.rollback()
    with world.session() as s:
        request = cases.information_request_for_token(s, token)
        assert request is not None and request.answered_at is None and request.answers is None
    assert world.outbox("applicant_replied") == []


# -- the day before a deadline ----------------------------------------------------------------------


def _warn(world: World, now: datetime) -> int:
    with world.session() as s:
        count = case_escalation.warn_deadline_close(s, now=now, urls=URLS)
        s.commit()
    return count


def test_the_assignee_is_warned_once_the_day_before_a_deadline(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    mine = world.new_case()
    nobodys = world.new_case(name="Nobody's Case")
    _assign(world, mine, world.colleague)
    deadline = world.case(mine).deadline_at
    assert deadline is not None and world.case(nobodys).deadline_at == deadline
    assert _warn(world, deadline - timedelta(days=1, seconds=1)) == 0
    assert _warn(world, deadline - timedelta(hours=20)) == 1
    assert _warn(world, deadline - timedelta(hours=2)) == 0  # once per deadline
    [warning] = world.outbox("deadline_close")
    assert warning.recipient == "colin@council.gov.uk" and warning.case_id == mine
    assert warning.subject == f"{world.case(mine).reference}: due 15 December 2026 at 09:00"


# -- a manager sends an escalated case back -----------------------------------------------------------


def _escalated_case(world: World, assignee: int | None) -> int:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    if assignee is not None:
        _assign(world, case_id, assignee)
    deadline = world.case(case_id).deadline_at
    assert deadline is not None
    assert _escalate(world, deadline + timedelta(hours=1)) == 1
    return case_id


def _send_back(world: World, case_id: int, staff_id: int, note: str, seen: int | None = None) -> Case:
    with world.session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        return chasing.send_back_to_caseworker(
            session=s,
            actor=staff_id,
            case_id=case_id,
            seen_lock_version=case.lock_version if seen is None else seen,
            note=note,
            urls=URLS,
            now=NOW + timedelta(days=20),
        )


def test_a_manager_sends_an_escalated_case_back_to_its_caseworker(world: World) -> None:
    case_id = _escalated_case(world, world.colleague)
    case = _send_back(world, case_id, world.manager, "  I have checked the evidence: please decide it this week.  ")
    assert not case.escalated and case.escalated_at is None
    assert case.deadline_at == datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # 10 working days from 21 December
    [told] = world.outbox("sent_back_to_you")
    assert told.recipient == "colin@council.gov.uk"
    assert "Mona Manager has looked at escalated case" in told.body
    assert "please decide it" not in told.body  # the note stays on the case page
    assert world.events(case_id)[-1] == (case_escalation.SEND_BACK, "received", "received")
    # Sent back with a new step deadline: it does not escalate again at once.
    assert _escalate(world, NOW + timedelta(days=20, hours=1)) == 0


def test_an_unassigned_case_sent_back_tells_those_who_can_act(world: World) -> None:
    case_id = _escalated_case(world, None)
    _send_back(world, case_id, world.manager, "Someone please pick this up")
    assert _emails(world, "sent_back_to_you") == ["casey@council.gov.uk", "colin@council.gov.uk"]


@pytest.mark.parametrize(
    ("who", "note", "message"),
    [
        ("caseworker", "Fine", "Only a manager can send an escalated case back"),
        ("manager", "", "Enter a note for the caseworker"),
        ("manager", " \n\t ", "Enter a note for the caseworker"),
        ("manager", "x" * (cases.MAX_MESSAGE + 1), "The note must be 5,000 characters or less"),
    ],
)
def test_bad_send_backs_change_nothing(world: World, who: str, note: str, message: str) -> None:
    case_id = _escalated_case(world, world.colleague)
    before = world.case(case_id)
    with pytest.raises(cases.CaseError) as raised:
        _send_back(world, case_id, getattr(world, who), note)
    assert raised.value.message == message
    assert world.case(case_id).escalated and world.case(case_id).lock_version == before.lock_version
    assert world.outbox("sent_back_to_you") == []


def test_a_stale_or_foreign_send_back_is_refused(world: World) -> None:
    case_id = _escalated_case(world, world.colleague)
    seen = world.case(case_id).lock_version
    with pytest.raises(cases.Conflict):
        _send_back(world, case_id, world.manager, "Note", seen=seen - 1)
    with pytest.raises(cases.NotFound):
        _send_back(world, case_id, world.outsider, "Note")
    _send_back(world, case_id, world.manager, "Note")
    with pytest.raises(cases.CaseError, match="not escalated"):
        _send_back(world, case_id, world.manager2, "Again")


# -- daily digests ----------------------------------------------------------------------------------


def _daily(world: World, staff_id: int, notify: str = "daily") -> None:
    with world.session() as s:
        chasing.set_notify(session=s, actor=staff_id, notify=notify, now=NOW)


def _digest(world: World, now: datetime) -> int:
    with world.session() as s:
        count = outbox.send_digests(s, now=now)
        s.commit()
    return count


def test_a_daily_digest_gathers_held_messages_once_a_day(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    _daily(world, world.colleague)
    first, second = world.new_case(now=NOW), world.new_case(name="Bo Brown", now=NOW)
    new_case = world.outbox("new_case")
    # Casey gets each message now; Colin's are kept for his digest.
    assert {(m.recipient, m.status) for m in new_case} == {
        ("casey@council.gov.uk", "pending"),
        ("colin@council.gov.uk", "held"),
    }
    with world.session() as s:
        assert outbox.claim(s, limit=10, now=NOW + timedelta(days=1)) != []
        assert all(
            m.recipient != "colin@council.gov.uk" for m in outbox.claim(s, limit=10, now=NOW + timedelta(days=1))
        )
    morning = datetime(2026, 12, 2, 6, 59, tzinfo=UTC)
    assert _digest(world, NOW + timedelta(minutes=5)) == 1  # 09:05, after 07:00: the first digest goes
    assert _digest(world, NOW + timedelta(hours=3)) == 0  # once a day
    [digest] = world.outbox(outbox.DIGEST)
    assert digest.recipient == "colin@council.gov.uk" and digest.staff_id == world.colleague
    assert digest.subject == "Your daily summary: 2 messages about cases"
    for case_id in (first, second):
        reference = world.case(case_id).reference
        assert f"{reference}: new Apply for a Blue Badge case" in digest.body
        assert f"https://forms.example.gov.uk/casework/cases/{case_id}" in digest.body
    assert {m.status for m in world.outbox("new_case") if m.recipient == "colin@council.gov.uk"} == {"digested"}
    # The next message waits for the next morning.
    third = world.new_case(name="Cy Cole", now=NOW + timedelta(hours=4))
    assert _digest(world, morning) == 0
    assert _digest(world, morning + timedelta(minutes=2)) == 1
    latest = world.outbox(outbox.DIGEST)[-1]
    assert latest.subject == "Your daily summary: 1 message about cases"
    assert world.case(third).reference in latest.body


def test_nothing_held_means_no_digest(world: World) -> None:
    _daily(world, world.colleague)
    assert _digest(world, NOW) == 0
    assert world.outbox(outbox.DIGEST) == []


def test_switching_back_to_each_message_sends_what_was_held(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    _daily(world, world.colleague)
    world.new_case()
    assert {m.status for m in world.outbox("new_case") if m.recipient == "colin@council.gov.uk"} == {"held"}
    _daily(world, world.colleague, "each")
    assert {m.status for m in world.outbox("new_case") if m.recipient == "colin@council.gov.uk"} == {"pending"}
    with world.session() as s:
        assert s.get(StaffUser, world.colleague).notify == "each"  # type: ignore[union-attr]


@pytest.mark.parametrize("choice", ["", "weekly", "DAILY", "daily ", "<script>"])
def test_only_each_or_daily_is_a_setting(world: World, choice: str) -> None:
    with pytest.raises(ValueError, match="Choose how you want to get emails"):
        _daily(world, world.colleague, choice)
    with world.session() as s:
        assert s.get(StaffUser, world.colleague).notify == "each"  # type: ignore[union-attr]


def test_the_worker_pass_reminds_warns_and_digests_in_one_transaction(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    _daily(world, world.manager)
    case_id = world.new_case()
    _assign(world, case_id, world.colleague)
    _request(world, case_id, [])
    _reply_by(world, case_id, NOW + timedelta(days=2))
    other = world.new_case(name="Di Dee")
    _assign(world, other, world.manager)
    deadline = world.case(other).deadline_at
    assert deadline is not None
    done = chasing.chase(session_factory=world.session, secret_key=SECRET, urls=URLS, now=deadline - timedelta(hours=1))
    # The reminder is past its window by then; the manager's warning is held for her digest, written in this pass.
    assert (done.reminded, done.warned, done.digests) == (0, 1, 1)
    assert chasing.chase(session_factory=world.session, secret_key=SECRET, urls=URLS, now=NOW + timedelta(days=1)) == (
        chasing.Chased(1, 0, 0)
    )
    with world.session() as s:
        kinds = [m.kind for m in s.exec(select(OutboxMessage).where(OutboxMessage.case_id == other))]
    assert "deadline_close" in kinds


def test_civicforms_worker_writes_and_sends_the_digest(world: World, database_url: str) -> None:
    from click.testing import CliRunner

    from runtime.cli import main
    from tests.runtime.test_outbox import _env

    world.publish_workflow(QUORUM_WORKFLOW)
    _daily(world, world.colleague)
    world.new_case(now=utcnow() - timedelta(days=2))
    result = CliRunner().invoke(main, ["worker", "--once"], env=_env(database_url))
    assert result.exit_code == 0, result.output
    assert "wrote 1 daily digest" in result.output
    [digest] = world.outbox(outbox.DIGEST)
    assert (digest.recipient, digest.status) == ("colin@council.gov.uk", "sent")
    assert {m.status for m in world.outbox("new_case") if m.recipient == "colin@council.gov.uk"} == {"digested"}
    again = CliRunner().invoke(main, ["worker", "--once"], env=_env(database_url))
    assert again.exit_code == 0 and "daily digest" not in again.output
    assert len(world.outbox(outbox.DIGEST)) == 1

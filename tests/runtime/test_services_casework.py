"""The back office's use cases called directly, with no Flask: each owns its transaction (what
it wrote is committed, read back here in another session; a refusal or a failure writes
nothing) and raises domain errors with a field and a message, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from runtime import cases, outbox
from runtime import db as dbmod
from runtime.models import Case, InformationRequest
from runtime.services import casework
from tests.runtime.test_cases import NOW, QUORUM_WORKFLOW, SECRET, URLS, World

LATER = NOW + timedelta(hours=1)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    """test_cases' world: a service, staff in its department and one elsewhere."""
    engine = dbmod.make_engine(database_url)
    yield World(engine)
    engine.dispose()


def act(world: World, case_id: int, actor: int, action: str, comment: str | None = None, **kw: Any) -> Case:
    seen = kw.pop("seen", None)
    with world.session() as s:
        result = casework.act(
            session=s,
            actor=actor,
            case_id=case_id,
            seen_lock_version=world.case(case_id).lock_version if seen is None else seen,
            action=action,
            comment=comment,
            secret_key=SECRET,
            urls=URLS,
            now=LATER,
            **kw,
        )
        assert not s.in_transaction()  # committed: nothing left open for the caller
        return result.case


def unchanged(world: World, case_id: int) -> None:
    case = world.case(case_id)
    assert (case.state, case.lock_version, case.waiting_for_citizen) == ("received", 1, False)
    assert world.events(case_id) == [("submitted", None, "received")]


# -- acting ------------------------------------------------------------------------------------------


def test_an_action_is_committed_with_its_event_and_message(world: World) -> None:
    case_id = world.new_case()
    case = act(world, case_id, world.caseworker, "approve")
    assert (world.case(case_id).state, case.state) == ("approved", "approved")
    assert world.events(case_id)[-1] == ("approve", "received", "approved")
    assert [m.recipient for m in world.outbox("decision")] == ["ada@example.com"]


@pytest.mark.parametrize(
    ("action", "comment", "field"),
    [
        ("reject", None, casework.COMMENT),  # one they may take; a comment is required
        ("reject", "   ", casework.COMMENT),
        ("reject", "x" * 5001, casework.COMMENT),
        ("", None, casework.ACTION),  # empty
        ("explode", "fine", casework.ACTION),  # no such action
        ("approve'; DROP TABLE case_record; --", "\x00<script>", casework.ACTION),  # hostile
    ],
)
def test_a_refused_action_names_its_field_and_writes_nothing(
    world: World, action: str, comment: str | None, field: str
) -> None:
    case_id = world.new_case()
    with pytest.raises(casework.Refused) as refused:
        act(world, case_id, world.caseworker, action, comment)
    assert refused.value.field == field and refused.value.message
    unchanged(world, case_id)


def test_a_stale_page_is_a_conflict_and_another_department_is_not_found(world: World) -> None:
    case_id = world.new_case()
    with pytest.raises(casework.Conflict) as conflict:
        act(world, case_id, world.caseworker, "approve", seen=7)
    assert conflict.value.field == casework.ACTION and "changed" in conflict.value.message
    with pytest.raises(casework.NotFound):
        act(world, case_id, world.outsider, "approve")
    with pytest.raises(casework.NotFound):
        act(world, 2**40, world.caseworker, "approve", seen=1)
    unchanged(world, case_id)


def test_a_failure_mid_action_leaves_nothing_half_written(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case's guarded UPDATE and its event are written, then writing the message fails:
    all of it goes, and the session handed in is usable again (rolled back, not left failed)."""
    case_id = world.new_case()

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("the disk is full")

    monkeypatch.setattr(cases, "enqueue", broken)
    with world.session() as s:
        with pytest.raises(OSError, match="disk is full"):
            casework.act(
                session=s,
                actor=world.caseworker,
                case_id=case_id,
                seen_lock_version=1,
                action="approve",
                comment=None,
                secret_key=SECRET,
                urls=URLS,
            )
        assert not s.in_transaction()  # the use case rolled its transaction back ...
        assert s.get(Case, case_id) is not None  # ... and the session works
    unchanged(world, case_id)
    monkeypatch.setattr(cases, "enqueue", outbox.enqueue)
    assert act(world, case_id, world.caseworker, "approve").state == "approved"


# -- requests for information -------------------------------------------------------------------------


def ask(world: World, case_id: int, questions: list[str], message: str) -> str:
    with world.session() as s:
        _, _, token = casework.request_information(
            session=s,
            actor=world.caseworker,
            case_id=case_id,
            seen_lock_version=world.case(case_id).lock_version,
            questions=questions,
            message=message,
            urls=URLS,
            now=LATER,
        )
    return token


def answer(world: World, token: str, answers: Any) -> Case:
    with world.session() as s:
        request = cases.information_request_for_token(s, token)
        assert request is not None
        return casework.answer_request(session=s, request=request, answers=answers, urls=URLS, now=LATER)


@pytest.mark.parametrize(
    ("questions", "message", "field"),
    [
        (["no_such_question"], "Tell us", casework.QUESTIONS),
        (["<script>", "\x00"], "Tell us", casework.QUESTIONS),
        ([f"q{n}" for n in range(30)], "Tell us", casework.QUESTIONS),
        (["phone"], "", casework.MESSAGE),
        (["phone"], "   ", casework.MESSAGE),
    ],
)
def test_a_refused_request_names_its_field_and_writes_nothing(
    world: World, questions: list[str], message: str, field: str
) -> None:
    case_id = world.new_case()
    with pytest.raises(casework.Refused) as refused:
        ask(world, case_id, questions, message)
    assert refused.value.field == field and refused.value.message
    unchanged(world, case_id)
    assert world.outbox("information_requested") == []


def test_asking_and_answering_are_each_committed(world: World) -> None:
    case_id = world.new_case()
    token = ask(world, case_id, ["phone"], "Your phone number, please")
    assert world.case(case_id).waiting_for_citizen
    assert [m.recipient for m in world.outbox("information_requested")] == ["ada@example.com"]
    for bad in ({"phone": ""}, {"phone": "x" * 50_000}, {"phone": "01632 960 001", "full_name": "Someone"}, ["phone"]):
        with pytest.raises(casework.AnswersInvalid) as invalid:
            answer(world, token, bad)
        assert invalid.value.errors and invalid.value.message
        assert world.case(case_id).waiting_for_citizen
    case = answer(world, token, {"phone": "01632 960 001"})
    assert (case.waiting_for_citizen, world.case(case_id).waiting_for_citizen) == (False, False)
    with world.session() as s:
        stored = s.exec(select(InformationRequest).where(InformationRequest.case_id == case_id)).one()
    assert stored.answers == {"phone": "01632 960 001"} and stored.answered_at is not None
    with pytest.raises(casework.Conflict):
        answer(world, token, {"phone": "01632 960 002"})  # a second tab: nothing changes
    assert world.events(case_id)[-1][0] == "information-answered"


# -- assignment -----------------------------------------------------------------------------------------


def assign(world: World, case_id: int, assignee: int | None, actor: int, **kw: Any) -> Case:
    with world.session() as s:
        return casework.assign(session=s, actor=actor, case_id=case_id, assignee=assignee, urls=URLS, now=LATER, **kw)


def test_assignment_refusals_name_their_field(world: World) -> None:
    case_id = world.new_case()
    with pytest.raises(casework.Refused) as refused:
        assign(world, case_id, world.colleague, world.caseworker)  # only managers give cases to others
    assert refused.value.field == casework.ASSIGNEE
    with pytest.raises(casework.Refused) as refused:
        assign(world, case_id, 2**31 - 1, world.manager)  # nobody of that id
    assert refused.value.field == casework.ASSIGNEE
    assert assign(world, case_id, world.caseworker, world.caseworker).assigned_to == world.caseworker
    with pytest.raises(casework.Refused) as refused:
        assign(world, case_id, None, world.colleague)  # taking a case off a colleague
    assert refused.value.field == casework.ASSIGNMENT
    with pytest.raises(casework.Conflict) as conflict:
        assign(world, case_id, world.colleague, world.colleague, expected_assignee=None)  # a stale list
    assert conflict.value.field == casework.ASSIGNMENT
    with pytest.raises(casework.NotFound):
        assign(world, case_id, world.outsider, world.outsider)
    assert world.case(case_id).assigned_to == world.caseworker
    assert [e[0] for e in world.events(case_id)] == ["submitted", "assign"]


def test_assigning_many_is_all_or_nothing(world: World) -> None:
    ids = [world.new_case() for _ in range(3)]
    with world.session() as s:
        done = casework.assign_many(
            session=s, actor=world.manager, case_ids=[*ids, 999_999, -1], assignee=world.colleague, now=LATER
        )
    assert done == ids and {world.case(i).assigned_to for i in ids} == {world.colleague}
    with world.session() as s, pytest.raises(casework.Refused) as refused:
        casework.assign_many(session=s, actor=world.manager, case_ids=list(range(1, 102)), assignee=None)
    assert refused.value.field == casework.ASSIGNEE
    with world.session() as s, pytest.raises(casework.Refused):
        casework.assign_many(session=s, actor=world.manager, case_ids=ids, assignee=world.designer)
    assert {world.case(i).assigned_to for i in ids} == {world.colleague}


# -- escalation --------------------------------------------------------------------------------------------


def test_escalation_commits_in_a_session_of_its_own_once(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    deadline = world.case(case_id).deadline_at
    assert deadline is not None
    assert casework.escalate_overdue(session_factory=world.session, urls=URLS, now=deadline - timedelta(seconds=1)) == 0
    assert casework.escalate_overdue(session_factory=world.session, urls=URLS, now=deadline + timedelta(days=1)) == 1
    assert casework.escalate_overdue(session_factory=world.session, urls=URLS, now=deadline + timedelta(days=2)) == 0
    assert world.case(case_id).escalated
    assert world.events(case_id)[-1] == ("escalate", "received", "received")
    assert len(world.outbox("escalated_to_you")) == 2  # the two managers, once

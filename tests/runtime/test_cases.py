"""Cases: opening, acting (with optimistic locking), approvals, requests for information,
assignment, escalation, the inbox and the citizen's status token, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import Session, col, select

from runtime import case_reads, cases, versions
from runtime import db as dbmod
from runtime import workflow as wf
from runtime.data import departments, published, submissions
from runtime.definition import Definition
from runtime.models import (
    Case,
    CaseApproval,
    CaseEvent,
    InformationRequest,
    OutboxMessage,
    StaffRole,
    StaffUser,
)
from runtime.settings import PROJECT_ROOT

SECRET = "case-test-secret-" + "y" * 32
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
BLUE_BADGE = json.loads((PROJECT_ROOT / "form_definitions" / "blue-badge.json").read_text())
OTHER_DEPARTMENT = "Highways"
URLS = cases.CaseUrls("https://forms.example.gov.uk")


class World:
    """A database with a service, staff in its department and helpers to make cases."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.count = 0
        with self.session() as s:
            definition = versions.definition(session=s, service_id="blue-badge")
            assert definition is not None
            self.definition = definition
            department = departments.department_for_name(session=s, name=BLUE_BADGE["department"])
            other = departments.department_for_name(session=s, name=OTHER_DEPARTMENT)
            s.commit()
            assert department.id is not None and other.id is not None
            self.department_id, self.other_department_id = department.id, other.id
        self.caseworker = self.staff("casey@council.gov.uk", "Casey Worker", ["caseworker"])
        self.colleague = self.staff("colin@council.gov.uk", "Colin Colleague", ["caseworker"])
        self.manager = self.staff("mona@council.gov.uk", "Mona Manager", ["manager"])
        self.manager2 = self.staff("max@council.gov.uk", "Max Manager", ["manager"])
        self.outsider = self.staff("otto@council.gov.uk", "Otto Outsider", ["caseworker"], self.other_department_id)
        self.designer = self.staff("dana@council.gov.uk", "Dana Designer", ["designer"])

    def session(self) -> Session:
        return dbmod.session(self.engine)

    def staff(self, email: str, name: str, roles: list[str], department_id: int | None = None) -> int:
        with self.session() as s:
            user = StaffUser(email=email, name=name)
            s.add(user)
            s.flush()
            assert user.id is not None
            for role in roles:
                s.add(StaffRole(user_id=user.id, department_id=department_id or self.department_id, role=role))
            s.commit()
            return user.id

    def publish_workflow(self, section: dict[str, Any]) -> Definition:
        """A new version of blue-badge with this workflow section."""
        doc = copy.deepcopy(BLUE_BADGE)
        doc["version"] = BLUE_BADGE["version"] + 1
        doc["workflow"] = section
        with self.session() as s:
            published.publish(session=s, doc=doc)
            s.commit()
            found = versions.definition(session=s, service_id="blue-badge", version=doc["version"])
        assert found is not None
        self.definition = found
        return found

    def new_case(self, name: str = "Ada Lovelace", email: str | None = "ada@example.com", now: datetime = NOW) -> int:
        self.count += 1
        answers: dict[str, Any] = {"full_name": name}
        if email:
            answers["email"] = email
        with self.session() as s:
            submission = submissions.create_submission(session=s, service=self.definition, answers=answers)
            case = cases.open_case(
                s, submission=submission, definition=self.definition, now=now, secret_key=SECRET, urls=URLS
            )
            s.commit()
            assert case.id is not None
            return case.id

    def case(self, case_id: int) -> Case:
        with self.session() as s:
            found = s.get(Case, case_id)
            assert found is not None
            return found

    def events(self, case_id: int) -> list[tuple[str, str | None, str | None]]:
        with self.session() as s:
            rows = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))).all()
            return [(e.action, e.from_state, e.to_state) for e in rows]

    def outbox(self, kind: str | None = None) -> list[OutboxMessage]:
        with self.session() as s:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            if kind:
                query = query.where(OutboxMessage.kind == kind)
            return list(s.exec(query))

    def act(self, case_id: int, staff_id: int, action: str, comment: str | None = None, **kw: Any) -> Case:
        with self.session() as s:
            seen = kw.pop("seen", None)
            if seen is None:
                found = s.get(Case, case_id)
                assert found is not None
                seen = found.lock_version
            result = cases.act(
                s,
                case_id=case_id,
                seen_lock_version=seen,
                staff_id=staff_id,
                action=action,
                comment=comment,
                now=kw.pop("now", NOW),
                secret_key=SECRET,
                urls=URLS,
                **kw,
            )
            s.commit()
            return result.case


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    engine = dbmod.make_engine(database_url)
    yield World(engine)
    engine.dispose()


QUORUM_WORKFLOW = {
    "initial": "received",
    "working_days": True,
    "states": {
        "received": {"label": "Received", "deadline": "P10D", "escalate_to": "manager"},
        "second-approval": {"label": "Waiting for a manager", "citizen_text": "We are checking your application"},
        "approved": {"label": "Approved", "final": True, "citizen_text": "Your application has been approved"},
        "rejected": {"label": "Rejected", "final": True},
    },
    "transitions": [
        {"from": "received", "action": "approve", "label": "Approve", "to": "second-approval", "roles": ["caseworker"]},
        {"from": "received", "action": "reject", "label": "Reject", "to": "rejected", "roles": ["caseworker"]},
        {
            "from": "received",
            "action": "request-information",
            "label": "Ask",
            "roles": ["caseworker"],
            "request_information": True,
        },
        {
            "from": "second-approval",
            "action": "approve",
            "label": "Approve",
            "to": "approved",
            "roles": ["manager"],
            "approvals": {"mode": "quorum", "count": 2},
        },
    ],
}


# -- opening -------------------------------------------------------------------------------------


def test_open_case_starts_in_the_initial_state_and_tells_the_citizen_and_the_caseworkers(world: World) -> None:
    case_id = world.new_case()
    case = world.case(case_id)
    assert (case.state, case.lock_version, case.citizen_name, case.department_id) == (
        "received",
        1,
        "Ada Lovelace",
        world.department_id,
    )
    assert case.deadline_at is None  # the default workflow has no deadline
    assert world.events(case_id) == [("submitted", None, "received")]
    submitted = world.outbox("submitted")
    assert [m.recipient for m in submitted] == ["ada@example.com"]
    assert case.reference in submitted[0].body
    link = submitted[0].body.split("https://forms.example.gov.uk/status/")[1].split()[0]
    with world.session() as s:
        assert cases.case_for_status_token(s, link, SECRET).id == case_id  # type: ignore[union-attr]
    # Caseworkers of the department hear of the new case (it is nobody's yet); the manager (no
    # transition here), the outsider and the designer do not.
    told = world.outbox("new_case")
    assert sorted(m.recipient for m in told) == ["casey@council.gov.uk", "colin@council.gov.uk"]
    subject = f"{case.reference}: new Apply for a Blue Badge case"
    assert {(m.department_id, m.subject) for m in told} == {(world.department_id, subject)}
    assert {m.department_id for m in submitted} == {world.department_id}
    assert world.outbox("new_work") == []


def test_open_case_without_an_email_sends_the_citizen_nothing(world: World) -> None:
    world.new_case(email=None)
    assert world.outbox("submitted") == []


def test_deadline_counts_working_days_from_the_initial_state(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    case = world.case(world.new_case(now=friday))
    assert case.deadline_at == datetime(2026, 12, 18, 10, 0, tzinfo=UTC)  # 10 working days later


# -- acting ----------------------------------------------------------------------------------------


def test_approve_moves_the_case_logs_it_and_tells_the_citizen(world: World) -> None:
    case_id = world.new_case()
    case = world.act(case_id, world.caseworker, "approve")
    assert (case.state, case.lock_version) == ("approved", 2)
    assert case.closed_at == NOW
    assert world.events(case_id)[-1] == ("approve", "received", "approved")
    decision = world.outbox("decision")
    assert [m.recipient for m in decision] == ["ada@example.com"]
    assert "approved" in decision[0].body
    with world.session() as s:
        approvals = s.exec(select(CaseApproval).where(CaseApproval.case_id == case_id)).all()
    assert [(a.staff_id, a.state, a.action) for a in approvals] == [(world.caseworker, "received", "approve")]


def test_a_stale_lock_version_is_a_conflict_and_writes_nothing(world: World) -> None:
    case_id = world.new_case()
    world.act(case_id, world.caseworker, "approve")
    before = world.events(case_id)
    with pytest.raises(cases.Conflict):
        world.act(case_id, world.colleague, "reject", "No", seen=1)
    assert world.events(case_id) == before
    assert world.case(case_id).state == "approved"


@pytest.mark.parametrize(
    ("who", "action", "comment", "error"),
    [
        ("caseworker", "reject", None, wf.NotAllowed),  # a comment is required
        ("caseworker", "reject", "   ", wf.NotAllowed),
        ("caseworker", "reject", "x" * 5001, wf.NotAllowed),
        ("caseworker", "explode", None, wf.NotAllowed),  # no such action
        ("manager", "approve", None, wf.NotAllowed),  # the default workflow: caseworkers only
        ("outsider", "approve", None, cases.NotFound),  # another department: no such case
        ("designer", "approve", None, cases.NotFound),  # no case role
    ],
)
def test_refused_actions_change_nothing(world: World, who: str, action: str, comment: str | None, error: type) -> None:
    case_id = world.new_case()
    with pytest.raises(error):
        world.act(case_id, getattr(world, who), action, comment)
    case = world.case(case_id)
    assert (case.state, case.lock_version) == ("received", 1)
    assert world.events(case_id) == [("submitted", None, "received")]


def test_nobody_decides_their_own_case(world: World) -> None:
    case_id = world.new_case(email="CASEY@council.gov.uk")
    with pytest.raises(wf.NotAllowed, match="own case"):
        world.act(case_id, world.caseworker, "approve")
    assert world.case(case_id).state == "received"


def test_a_quorum_needs_two_different_managers_and_records_each_approval(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    case = world.act(case_id, world.caseworker, "approve")
    assert case.state == "second-approval"
    # Issue 17: the platform's staff wording, to those who can act at the new step only, saying who
    # moved it there (not "a new case").
    told = sorted(world.outbox("moved_to_your_step"), key=lambda m: m.recipient)
    assert [m.recipient for m in told] == ["max@council.gov.uk", "mona@council.gov.uk"]
    assert "waiting for you at" in told[0].subject and "moved case" in told[0].body
    assert not [m for m in world.outbox("new_case") if m.case_id == case_id and m.recipient.startswith("m")]
    case = world.act(case_id, world.manager, "approve")
    assert (case.state, case.lock_version) == ("second-approval", 3)  # one approval of two
    with pytest.raises(wf.NotAllowed):
        world.act(case_id, world.manager, "approve")  # nobody approves twice
    case = world.act(case_id, world.manager2, "approve")
    assert case.state == "approved"
    assert world.events(case_id)[1:] == [
        ("approve", "received", "second-approval"),
        ("approve", "second-approval", None),
        ("approve", "second-approval", "approved"),
    ]
    with world.session() as s:
        staff = s.exec(select(CaseApproval.staff_id).where(CaseApproval.case_id == case_id)).all()
    assert sorted(staff) == sorted([world.caseworker, world.manager, world.manager2])


def test_two_caseworkers_acting_at_once_yield_one_transition_and_one_event(world: World) -> None:
    case_id = world.new_case()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(who: int, action: str, comment: str | None) -> None:
        with world.session() as s:
            found = s.get(Case, case_id)
            assert found is not None
            seen = found.lock_version
            s.rollback()  # nothing held while waiting at the barrier
            barrier.wait(timeout=10)
            try:
                cases.act(
                    s,
                    case_id=case_id,
                    seen_lock_version=seen,
                    staff_id=who,
                    action=action,
                    comment=comment,
                    now=NOW,
                    secret_key=SECRET,
                )
                s.commit()
                outcomes[action] = "won"
            except cases.Conflict:
                s.rollback()
                outcomes[action] = "conflict"

    threads = [
        threading.Thread(target=attempt, args=(world.caseworker, "approve", None)),
        threading.Thread(target=attempt, args=(world.colleague, "reject", "Not eligible")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()) == ["conflict", "won"], outcomes
    winner = next(a for a, o in outcomes.items() if o == "won")
    case = world.case(case_id)
    assert case.lock_version == 2
    assert case.state == {"approve": "approved", "reject": "rejected"}[winner]
    assert [e[0] for e in world.events(case_id)] == ["submitted", winner]
    assert len(world.outbox("decision")) == 1


# -- requests for information -----------------------------------------------------------------------


def _request(world: World, case_id: int, questions: list[str], message: str = "Please give your phone number") -> str:
    with world.session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        _, _, token = cases.request_information(
            s,
            case_id=case_id,
            seen_lock_version=case.lock_version,
            staff_id=world.caseworker,
            questions=questions,
            message=message,
            now=NOW,
            urls=URLS,
        )
        s.commit()
    return token


def _answer(world: World, token: str, answers: dict[str, Any]) -> Case:
    with world.session() as s:
        request = cases.information_request_for_token(s, token)
        assert request is not None
        case = cases.answer_information(s, request=request, answers=answers, now=NOW + timedelta(days=2))
        s.commit()
        return case


def test_request_information_round_trip(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    token = _request(world, case_id, ["phone"])
    case = world.case(case_id)
    assert (case.state, case.waiting_for_citizen, case.lock_version) == ("received", True, 2)
    asked = world.outbox("information_requested")
    assert [m.recipient for m in asked] == ["ada@example.com"]
    assert f"https://forms.example.gov.uk/information/{token}" in asked[0].body
    with world.session() as s:
        stored = s.exec(select(InformationRequest)).one()
    assert token not in (stored.token_hash, json.dumps(stored.model_dump(mode="json")))  # only a hash at rest
    assert stored.return_state == "received"
    # Staff cannot decide while the case waits for the citizen.
    with pytest.raises(wf.NotAllowed, match="waiting"):
        world.act(case_id, world.caseworker, "approve")
    with world.session() as s:
        assert cases.available_actions(s, case_id=case_id, staff_id=world.caseworker) == []
    # The citizen's answers are checked against the service's own rules for the question asked.
    with pytest.raises(cases.InformationError) as bad:
        _answer(world, token, {"phone": "not a phone"})
    assert list(bad.value.errors) == ["phone"]
    with pytest.raises(cases.InformationError):
        _answer(world, token, {"phone": "01234 567890", "full_name": "Someone Else"})  # not asked
    case = _answer(world, token, {"phone": "01234 567890"})
    assert (case.state, case.waiting_for_citizen, case.lock_version) == ("received", False, 3)
    assert case.deadline_at == datetime(2026, 12, 17, 9, 0, tzinfo=UTC)  # 10 working days from the answer
    assert world.events(case_id)[-2:] == [
        ("request-information", "received", None),
        ("information-answered", None, "received"),
    ]
    with world.session() as s:
        stored = s.exec(select(InformationRequest)).one()
    assert stored.answers == {"phone": "01234 567890"}
    with pytest.raises(cases.Conflict):  # a link works once
        _answer(world, token, {"phone": "01234 567891"})
    # Back in its step, the case can be decided again.
    assert world.act(case_id, world.caseworker, "approve").state == "second-approval"


def test_request_information_with_a_free_text_reply(world: World) -> None:
    case_id = world.new_case()
    token = _request(world, case_id, [], "Send us a photo of your badge")
    for bad in ({}, {"reply": "   "}, {"reply": "x" * 5001}, {"reply": "ok", "phone": "1"}):
        with pytest.raises(cases.InformationError):
            _answer(world, token, bad)
    assert world.case(case_id).waiting_for_citizen
    assert _answer(world, token, {"reply": "  I have posted it  "}).state == "received"


@pytest.mark.parametrize(
    ("questions", "message"), [(["no_such_question"], "Tell us"), (["phone"], "   "), (["phone"] * 1, "")]
)
def test_bad_requests_for_information_change_nothing(world: World, questions: list[str], message: str) -> None:
    case_id = world.new_case()
    with pytest.raises(wf.NotAllowed):
        _request(world, case_id, questions, message)
    case = world.case(case_id)
    assert (case.waiting_for_citizen, case.lock_version) == (False, 1)
    assert world.outbox("information_requested") == []


def test_unknown_information_tokens_find_nothing(world: World) -> None:
    with world.session() as s:
        for token in (None, "", "x" * 500, "not-a-token"):
            assert cases.information_request_for_token(s, token) is None


# -- assignment ----------------------------------------------------------------------------------------


def _assign(world: World, case_id: int, assignee: int | None, by: int, **kw: Any) -> Case:
    with world.session() as s:
        case = cases.assign(s, case_id=case_id, assignee_id=assignee, staff_id=by, now=NOW, **kw)
        s.commit()
        return case


def test_assignment_rules(world: World) -> None:
    case_id = world.new_case()
    assert _assign(world, case_id, world.caseworker, world.caseworker).assigned_to == world.caseworker
    with pytest.raises(cases.CaseError, match="manager"):
        _assign(world, case_id, world.colleague, world.caseworker)  # only managers give cases to others
    with pytest.raises(cases.CaseError):
        _assign(world, case_id, world.outsider, world.manager)  # not of this department
    with pytest.raises(cases.CaseError):
        _assign(world, case_id, world.designer, world.manager)  # no case role
    with pytest.raises(cases.NotFound):
        _assign(world, case_id, world.outsider, world.outsider)
    with pytest.raises(cases.Conflict):  # "assign to me" from a stale unassigned list
        _assign(world, case_id, world.colleague, world.colleague, expected_assignee=None)
    case = _assign(world, case_id, world.colleague, world.manager)
    assert case.assigned_to == world.colleague
    assert [m.recipient for m in world.outbox("sent_to_you")][-1] == "colin@council.gov.uk"
    assert case.lock_version == 1  # assignment is not a decision: nobody's open case page goes stale
    assert [e[0] for e in world.events(case_id)] == ["submitted", "assign", "assign"]


def test_assign_many_skips_what_the_manager_cannot_see(world: World) -> None:
    ids = [world.new_case() for _ in range(3)]
    with world.session() as s:
        done = cases.assign_many(
            s, case_ids=[*ids, 999_999, -1], assignee_id=world.colleague, staff_id=world.manager, now=NOW
        )
        s.commit()
    assert done == ids
    assert {world.case(i).assigned_to for i in ids} == {world.colleague}
    with world.session() as s, pytest.raises(cases.CaseError):
        cases.assign_many(s, case_ids=list(range(1, 102)), assignee_id=None, staff_id=world.manager, now=NOW)


# -- escalation ------------------------------------------------------------------------------------------


def test_escalate_overdue_is_idempotent_and_tells_the_managers_once(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    case_id = world.new_case()
    waiting = world.new_case(name="Wait Ing")
    _request(world, waiting, ["phone"])
    deadline = world.case(case_id).deadline_at
    assert deadline is not None
    with world.session() as s:
        assert cases.escalate_overdue(s, now=deadline - timedelta(seconds=1)) == 0
        assert cases.escalate_overdue(s, now=deadline + timedelta(days=1)) == 1
        assert cases.escalate_overdue(s, now=deadline + timedelta(days=2)) == 0
        s.commit()
    assert world.case(case_id).escalated
    assert not world.case(waiting).escalated  # the clock stops while the citizen is asked
    assert world.events(case_id)[-1] == ("escalate", "received", "received")
    told = world.outbox("escalated_to_you")
    assert sorted(m.recipient for m in told) == ["max@council.gov.uk", "mona@council.gov.uk"]
    assert "because it has passed the deadline for its step" in told[0].body
    assert world.case(case_id).escalated_at == deadline + timedelta(days=1)
    # A new step means a new deadline and a new chance to escalate.
    case = world.act(case_id, world.caseworker, "approve")
    assert not case.escalated


# -- the inbox -------------------------------------------------------------------------------------------


def _page(world: World, staff_id: int, **kw: Any) -> case_reads.InboxPage:
    with world.session() as s:
        return case_reads.inbox(s, staff_id=staff_id, now=kw.pop("now", NOW), **kw)


def test_paging_through_250_cases_yields_each_once_in_deadline_order_with_at_most_two_queries_a_page(
    world: World,
) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    ids = []
    with world.session() as s:  # 250 cases, several sharing each deadline, some with none
        for i in range(250):
            submission = submissions.create_submission(
                session=s, service=world.definition, answers={"full_name": f"Person {i}"}
            )
            case = cases.open_case(
                s,
                submission=submission,
                definition=world.definition,
                now=NOW + timedelta(hours=i % 7),
                secret_key=SECRET,
            )
            if i % 10 == 0:
                case.deadline_at = None
            s.add(case)
            ids.append(case.id)
        s.commit()
    with world.session() as s:
        expected = [
            c.id
            for c in sorted(
                s.exec(select(Case)).all(),
                key=lambda c: (c.deadline_at is None, c.deadline_at or NOW, c.id),
            )
        ]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    seen: list[int] = []
    after = None
    pages = 0
    event.listen(world.engine, "before_cursor_execute", count)
    try:
        while True:
            statements.clear()
            with world.session() as s:
                page = case_reads.inbox(s, staff_id=world.caseworker, now=NOW, after=after, limit=100)
            # One query a page (an index range), or two on the page where the cases with a deadline
            # run out and those without one begin; never one per row.
            assert 1 <= len(statements) <= 2, statements
            pages += 1
            seen.extend(r.id for r in page.rows)
            if page.next_cursor is None:
                break
            after = page.next_cursor
    finally:
        event.remove(world.engine, "before_cursor_execute", count)
    assert pages == 3
    assert seen == expected
    assert sorted(seen) == sorted(ids)


def test_inbox_filters_search_and_departments(world: World) -> None:
    world.publish_workflow(QUORUM_WORKFLOW)
    ada = world.new_case(name="Ada Lovelace")
    grace = world.new_case(name="Grace Hopper", now=NOW + timedelta(days=30))
    alan = world.new_case(name="Alan Turing")
    _assign(world, ada, world.caseworker, world.caseworker)
    world.act(alan, world.caseworker, "reject")

    def ids(staff: int = world.caseworker, **filters: Any) -> list[int]:
        return [
            r.id
            for r in _page(world, staff, filters=case_reads.InboxFilters(**filters), now=NOW + timedelta(days=20)).rows
        ]

    assert ids() == [ada, grace]  # closed cases are left out
    assert ids(include_closed=True) == [ada, grace, alan]
    assert ids(state="rejected") == [alan]
    assert ids(assigned="me") == [ada]
    assert ids(assigned="unassigned") == [grace]
    assert ids(overdue=True) == [ada]
    assert ids(service_id="missed-bin-collection") == []
    assert ids(search="ada") == [ada]
    assert ids(search="HOPP") == [grace]  # a surname, any case
    assert ids(search="lace") == []  # a prefix, not any substring
    assert ids(search="%") == []  # wildcards are literal
    assert ids(search=world.case(grace).reference.lower()[:6]) == [grace]
    assert ids(staff=world.outsider) == []  # another department sees nothing
    assert ids(staff=world.designer) == []  # no case role
    row = _page(world, world.caseworker).rows[0]
    assert (row.assignee_name, row.service_title) == ("Casey Worker", BLUE_BADGE["title"])


@pytest.mark.parametrize(
    "cursor", ["garbage", "x" * 500, base64.urlsafe_b64encode(b'["nope", 1]').decode(), "W251bGwsIi0xIl0"]
)
def test_a_bad_cursor_is_refused(world: World, cursor: str) -> None:
    with pytest.raises(case_reads.InvalidCursor):
        _page(world, world.caseworker, after=cursor)


def test_the_page_size_is_at_most_100(world: World) -> None:
    for _ in range(3):
        world.new_case()
    assert len(_page(world, world.caseworker, limit=0).rows) == 1
    assert _page(world, world.caseworker, limit=10_000).next_cursor is None


# -- the case page and the status token --------------------------------------------------------------


def test_case_detail_shows_history_with_names_and_hides_other_departments(world: World) -> None:
    case_id = world.new_case()
    world.act(case_id, world.caseworker, "reject", "Not eligible")
    with world.session() as s:
        detail = case_reads.case_detail(s, case_id=case_id, staff_id=world.manager)
        assert [(e.event.action, e.actor_name) for e in detail.events] == [
            ("submitted", None),
            ("reject", "Casey Worker"),
        ]
        assert detail.events[1].comment == "Not eligible"
        with pytest.raises(cases.NotFound):
            case_reads.case_detail(s, case_id=case_id, staff_id=world.outsider)
        with pytest.raises(cases.NotFound):
            case_reads.case_detail(s, case_id=123456, staff_id=world.manager)


def test_status_tokens_are_signed_and_carry_no_personal_data(world: World) -> None:
    case_id = world.new_case(name="Ada Lovelace", email="ada@example.com")
    someone_else = world.new_case(name="Grace Hopper")
    case = world.case(case_id)
    token = cases.status_token(case, SECRET)
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert b"Ada" not in payload and b"example" not in payload and case.reference.encode() not in payload
    with world.session() as s:
        assert cases.case_for_status_token(s, token, SECRET).id == case_id  # type: ignore[union-attr]
        tampered = ("A" if token[0] != "A" else "B") + token[1:]
        forged = (
            base64.urlsafe_b64encode(f'{{"case":{someone_else}}}'.encode()).decode().rstrip("=")
            + "."
            + token.split(".")[1]
        )
        for bad in (tampered, forged, token + "x", "", None, "x" * 1000, "a.b"):
            assert cases.case_for_status_token(s, bad, SECRET) is None
        assert cases.case_for_status_token(s, token, "another-secret-" + "z" * 32) is None


def test_status_tokens_name_a_random_key_not_the_case_number(world: World) -> None:
    from itsdangerous import URLSafeSerializer

    first, second = world.new_case(), world.new_case()
    one, two = world.case(first), world.case(second)
    assert one.status_key != two.status_key and min(len(one.status_key), len(two.status_key)) >= 22
    token, other = cases.status_token(one, SECRET), cases.status_token(two, SECRET)
    assert token != other
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert payload == {"k": one.status_key}  # the signature part is an HMAC: nothing to decode
    assert str(first) not in json.dumps(payload).replace(one.status_key, "")
    with world.session() as s:
        assert cases.case_for_status_token(s, token, SECRET).id == first  # type: ignore[union-attr]
        assert cases.case_for_status_token(s, other, SECRET).id == second  # type: ignore[union-attr]
        signer = URLSafeSerializer(SECRET, salt="civicforms.case-status")
        for bad in (
            # a tampered signature (its first character: the last one may carry only padding bits)
            token.split(".")[0] + "." + ("A" if token.split(".")[1][0] != "A" else "B") + token.split(".")[1][1:],
            signer.dumps({"k": "not-a-key-of-any-case"}),
            signer.dumps({"k": ""}),
            signer.dumps({"k": "x" * 44}),
            signer.dumps({"k": 7}),
            signer.dumps(["k", one.status_key]),
            URLSafeSerializer("another-secret-" + "z" * 32, salt="civicforms.case-status").dumps({"k": one.status_key}),
        ):
            assert cases.case_for_status_token(s, bad, SECRET) is None
        # Links sent before migration 0004 named the id; they keep working (signed: none can be made).
        assert cases.case_for_status_token(s, signer.dumps({"case": first}), SECRET).id == first  # type: ignore[union-attr]


def test_cases_count_matches_submissions(world: World) -> None:
    """One case per submission: open_case twice for one submission fails at the database."""
    case_id = world.new_case()
    with world.session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        from runtime.models import Submission

        submission = s.get(Submission, case.submission_id)
        assert submission is not None
        with pytest.raises(Exception, match="(?i)unique|duplicate"):
            cases.open_case(s, submission=submission, definition=world.definition, now=NOW, secret_key=SECRET)
        s.rollback()
        assert s.exec(select(func.count()).select_from(Case)).one() == 1

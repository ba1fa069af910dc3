"""Issue 8: citizen records cannot be hijacked with someone else's identifiers.

Nothing a citizen types is verified, so a submission joins a record only when that record holds
no other value of a kind a person has one of (NHS number, National Insurance number, email, the
date of birth in the name-date-postcode key). Otherwise it gets a record of its own, and both
records are marked as a possible match for staff (runtime/citizens.py).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlmodel import Session, select

from runtime import case_reads
from runtime.data import citizens
from runtime.models import Case, Citizen, CitizenIdentifier, PossibleMatch, Submission
from tests.conftest import Citizen as CitizenClient
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import badge_answers, citizen_count, gp_answers, send_answers, submissions, walk

VICTIM_NHS, ATTACKER_NHS = "943 476 5919", "401 023 2137"
VICTIM_NI = "QQ 12 34 56 C"
GP_DEPARTMENT = "GP Practices, Westbridge Community Health NHS Trust"


def _gp(
    email: str | None,
    nhs: str | None = None,
    name: str = "Vera Victim",
    dob: str = "1960-04-05",
    postcode: str = "WB1 2AB",
) -> dict[str, Any]:
    return gp_answers(name, dob, postcode, email, nhs)


def _badge(email: str, ni: str | None = None, name: str = "Vera Victim", dob: str = "1960-04-05") -> dict[str, Any]:
    return badge_answers(name, dob, "WB1 2AB", email, ni)


def _bin(email: str) -> dict[str, Any]:
    return {
        "full_name": "Vera Victim",
        "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
        "email": email,
        "bin_type": "general",
    }


def _references(db: Session, citizen_id: int) -> list[str]:
    db.rollback()
    return [s.reference for s, _ in citizens.citizen_submissions(session=db, citizen_id=citizen_id)]


def _matches(db: Session, citizen_id: int) -> set[tuple[int, str]]:
    db.rollback()
    return {(m.other_id, m.kind) for m in citizens.possible_matches(session=db, citizen_id=citizen_id)}


def _owner(db: Session, key: str) -> int | None:
    db.rollback()
    found = citizens.find_citizen(session=db, key=key)
    return found.id if found is not None else None


# -- the attacks ------------------------------------------------------------------------------


def test_someone_elses_nhs_number_sent_first_does_not_gather_their_submissions(db_session) -> None:  # type: ignore[no-untyped-def]
    attacker = send_answers(db_session, "register-with-gp", _gp("attacker@evil.example", VICTIM_NHS))
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    again = send_answers(db_session, "register-with-gp", _gp("VERA@example.com", "9434765919"))
    assert victim != attacker
    assert again == victim  # the victim's submissions gather in the victim's own record
    assert len(_references(db_session, attacker)) == 1
    assert len(_references(db_session, victim)) == 2
    assert _owner(db_session, "vera@example.com") == victim
    # The NHS number stays where it was first given; staff see the two records side by side.
    assert _owner(db_session, VICTIM_NHS) == attacker
    assert _matches(db_session, victim) == {(attacker, "nhs_number")}
    assert _matches(db_session, attacker) == {(victim, "nhs_number")}
    # Once per pair, however often it happens (one possible_match row since migration 0006).
    pair = db_session.exec(select(PossibleMatch)).all()
    assert len(pair) == 1
    listed = citizens.possible_matches(session=db_session)
    assert [(m.citizen_id, m.other_id, m.kind) for m in listed] == [(attacker, victim, "nhs_number")]


def test_the_victim_already_known_by_email_keeps_their_record(db_session) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(db_session, "missed-bin-collection", _bin("vera@example.com"))
    attacker = send_answers(db_session, "register-with-gp", _gp("attacker@evil.example", VICTIM_NHS))
    # The victim's NHS number is on the attacker's record; their email on their own: the email
    # links, the NHS number's record is refused (another email) and marked.
    later = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    assert later == victim != attacker
    assert len(_references(db_session, attacker)) == 1
    assert _matches(db_session, victim) == {(attacker, "nhs_number")}


def test_someone_elses_email_does_not_join_their_record(db_session) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    # The victim's email with the attacker's own NHS number.
    with_nhs = send_answers(db_session, "register-with-gp", _gp("vera@example.com", ATTACKER_NHS, name="Ann Attacker"))
    # The victim's email with the attacker's own name, date of birth and postcode.
    with_birthday = send_answers(
        db_session, "register-with-gp", _gp("vera@example.com", None, "Ann Attacker", "1990-09-09", "WB9 9ZZ")
    )
    assert victim not in (with_nhs, with_birthday)
    assert len(_references(db_session, victim)) == 1
    assert _owner(db_session, "vera@example.com") == victim
    assert _owner(db_session, ATTACKER_NHS) == with_nhs
    assert _matches(db_session, victim) == {(with_nhs, "email"), (with_birthday, "email")}


def test_someone_elses_ni_number_does_not_gather_their_submissions(db_session) -> None:  # type: ignore[no-untyped-def]
    attacker = send_answers(db_session, "blue-badge", _badge("attacker@evil.example", VICTIM_NI))
    victim = send_answers(db_session, "blue-badge", _badge("vera@example.com", "qq123456c"))
    assert victim != attacker
    assert _matches(db_session, victim) == {(attacker, "ni_number")}


def test_someone_elses_name_birthday_and_postcode_do_not_gather_their_submissions(db_session) -> None:  # type: ignore[no-untyped-def]
    attacker = send_answers(db_session, "blue-badge", _badge("attacker@evil.example"))
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com"))
    assert victim != attacker
    assert _matches(db_session, victim) == {(attacker, "name_dob_postcode")}


def test_a_record_linked_by_the_old_rule_attracts_nobody_more(db_session) -> None:  # type: ignore[no-untyped-def]
    """Before issue 8 a shared NHS number added a second email to a record: such a record,
    holding two values of one kind, is never joined again; each new submission is marked."""
    hijacked = send_answers(db_session, "register-with-gp", _gp("attacker@evil.example", VICTIM_NHS))
    db_session.add(CitizenIdentifier(citizen_id=hijacked, kind="email", value="vera@example.com"))
    db_session.commit()
    later = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    assert later != hijacked
    assert _matches(db_session, later) == {(hijacked, "nhs_number")}


def test_the_attack_through_the_pages_leaves_the_caseworker_view_clean(app, db_session, staff) -> None:  # type: ignore[no-untyped-def]
    """The attack as it would be made, through the citizen pages: the caseworker of the
    victim's case sees none of the attacker's cases as "their other cases", and the other way round."""
    caseworker = staff(department=GP_DEPARTMENT, role="caseworker")

    def send(email: str) -> None:
        path = copy.deepcopy(HAPPY_PATHS["register-with-gp"])
        path[-1] = ("contact-details", {"phone": "01632 960 001", "email": email})
        person = CitizenClient(app.test_client())
        walk(person, "register-with-gp", path=path)
        assert person.submit("register-with-gp").status_code == 303

    send("attacker@evil.example")  # the happy path's NHS number, the attacker's email
    send("jane.smith@example.com")
    send("jane.smith@example.com")
    attack, first, second = submissions(db_session)
    assert first.citizen_id == second.citizen_id != attack.citizen_id
    assert citizen_count(db_session) == 2
    case_ids = {
        s.reference: db_session.exec(select(Case.id).where(Case.submission_id == s.id)).one()
        for s in (attack, first, second)
    }
    attacker_view = case_reads.case_detail(db_session, case_id=case_ids[attack.reference], staff_id=caseworker.id)
    assert attacker_view.other_cases == []
    victim_view = case_reads.case_detail(db_session, case_id=case_ids[first.reference], staff_id=caseworker.id)
    assert [c.reference for c in victim_view.other_cases] == [second.reference]


# -- what must still link -----------------------------------------------------------------------


def test_the_same_nhs_number_and_email_link(db_session) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    # Another name spelling and postcode (she moved): neither is a reason to split.
    second = send_answers(
        db_session, "register-with-gp", _gp(" Vera@Example.com ", "9434765919", "vera  VICTIM", postcode="WB7 1XY")
    )
    assert first == second
    assert citizen_count(db_session) == 1
    assert _matches(db_session, first) == set()


def test_the_same_email_alone_links(db_session) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    second = send_answers(db_session, "missed-bin-collection", _bin("vera@example.com"))
    assert first == second
    assert citizen_count(db_session) == 1


def test_a_new_identifier_joins_a_record_it_does_not_contradict(db_session) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(db_session, "missed-bin-collection", _bin("vera@example.com"))
    second = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    third = send_answers(db_session, "blue-badge", _badge("vera@example.com", VICTIM_NI))
    assert first == second == third
    held = {(i.kind, i.value) for i in citizens.citizen_identifiers(session=db_session, citizen_id=first)}
    assert {("email", "vera@example.com"), ("nhs_number", "9434765919"), ("ni_number", "QQ123456C")} <= held
    # The NHS number alone (no email given) now finds the same record.
    fourth = send_answers(db_session, "register-with-gp", _gp(None, VICTIM_NHS))
    assert fourth == first
    assert citizen_count(db_session) == 1
    assert _matches(db_session, first) == set()


def test_two_consistent_records_are_joined_by_the_strongest_and_marked(db_session) -> None:  # type: ignore[no-untyped-def]
    """A record known only by email and one known only by NHS number (and another birthday-less
    service): a submission carrying both joins the NHS number's and marks the pair."""
    by_email = send_answers(db_session, "missed-bin-collection", _bin("vera@example.com"))
    by_nhs = send_answers(db_session, "register-with-gp", _gp(None, VICTIM_NHS))
    assert by_email != by_nhs
    both = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    assert both == by_nhs
    assert _matches(db_session, by_nhs) == {(by_email, "email")}


# -- bad input and races ---------------------------------------------------------------------


def test_a_submission_without_identifiers_joins_nobody_and_marks_nothing(db_session) -> None:  # type: ignore[no-untyped-def]
    giant = "a" * 500 + "@example.com"  # longer than the column: not an identifier at all
    first = send_answers(db_session, "missed-bin-collection", _bin(giant))
    second = send_answers(db_session, "missed-bin-collection", _bin(giant))
    empty = send_answers(db_session, "missed-bin-collection", _bin(""))
    assert len({first, second, empty}) == 3
    assert db_session.exec(select(CitizenIdentifier)).all() == []


def test_an_email_that_looks_like_a_marker_is_only_an_email(db_session) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    other = send_answers(db_session, "register-with-gp", _gp(f"{victim}:1:nhs_number@example.com", name="Ann Other"))
    assert other != victim
    assert citizens.possible_matches(session=db_session) == []


@pytest.mark.parametrize("owner_email", ["vera@example.com", "attacker@evil.example"])
def test_an_identifier_claimed_at_the_same_moment_obeys_the_rule(db_session, monkeypatch, owner_email) -> None:  # type: ignore[no-untyped-def]
    """The lookup misses an identifier another transaction commits just after: the insert
    clashes, and the record holding it is joined only if nothing on it contradicts."""
    owner = send_answers(db_session, "register-with-gp", _gp(owner_email, VICTIM_NHS))
    real_exec = db_session.exec
    missed = []

    class Nothing:
        def all(self) -> list[Any]:
            return []

    def exec_missing_the_first_lookup(statement: Any, *args: Any, **kwargs: Any) -> Any:
        # find_or_create_citizen's lookup: the first statement filtering on (kind, value) pairs.
        if not missed and "citizen_identifier.kind = " in str(statement):
            missed.append(statement)
            return Nothing()
        return real_exec(statement, *args, **kwargs)

    monkeypatch.setattr(db_session, "exec", exec_missing_the_first_lookup)
    later = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    monkeypatch.undo()
    assert missed  # the lookup did miss
    stored = db_session.exec(select(Submission).order_by(Submission.id)).all()  # type: ignore[arg-type]
    assert stored[-1].citizen_id == later
    if owner_email == "vera@example.com":
        assert later == owner
        assert citizen_count(db_session) == 1
    else:
        assert later != owner
        assert _matches(db_session, later) == {(owner, "nhs_number")}
        assert db_session.get(Citizen, later) is not None

"""One record per person across services: which submissions are linked, and which are not."""

from __future__ import annotations

from typing import Any

from runtime.data import citizens
from tests.runtime.helpers import badge_answers, citizen_count, gp_answers, send_answers, submissions, walk


def test_one_person_sending_two_services_has_one_record(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    # The two happy paths give the same email address in different case.
    for service_id in ("blue-badge", "missed-bin-collection"):
        walk(citizen, service_id)
        assert citizen.submit(service_id).status_code == 303
    first, second = submissions(db_session)
    assert {first.service_id, second.service_id} == {"blue-badge", "missed-bin-collection"}
    assert first.citizen_id == second.citizen_id
    assert citizen_count(db_session) == 1
    found = citizens.find_citizen(session=db_session, key="JANE.SMITH@example.com")
    assert found is not None and found.id == first.citizen_id
    linked = citizens.citizen_submissions(session=db_session, citizen_id=first.citizen_id)
    assert [s.reference for s, _ in linked] == [first.reference, second.reference]


def _matches(db: Any, citizen_id: int) -> set[tuple[int, str]]:
    return {(m.other_id, m.kind) for m in citizens.possible_matches(session=db, citizen_id=citizen_id)}


def test_a_shared_nhs_number_with_another_email_address_is_a_possible_match(db_session) -> None:  # type: ignore[no-untyped-def]
    # Until issue 8 these two were linked by the NHS number: so anyone could gather someone
    # else's submissions by sending their NHS number first (tests/runtime/test_citizen_hijack.py).
    # Nothing typed is verified, so another email address means another record, for staff to join.
    first = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com", "943 476 5919"),
    )
    second = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Jane Smith", "1950-07-03", "WB1 2AB", "js@work.example", "9434765919"),
    )
    assert first != second
    assert citizen_count(db_session) == 2
    found = citizens.find_citizen(session=db_session, key="js@work.example")
    assert found is not None and found.id == second
    assert _matches(db_session, first) == {(second, "nhs_number")}
    assert _matches(db_session, second) == {(first, "nhs_number")}


def test_name_date_of_birth_and_postcode_link_across_case_and_spaces(db_session) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(
        db_session, "blue-badge", badge_answers("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com")
    )
    # No email address given this time: nothing on the record contradicts the key.
    second = send_answers(db_session, "register-with-gp", gp_answers("  jane   SMITH ", "1950-07-03", "wb12ab", None))
    assert first == second
    assert citizen_count(db_session) == 1
    # With another email address the same key does not link, but it is still recognised.
    third = send_answers(
        db_session, "register-with-gp", gp_answers("JANE smith", "1950-07-03", "WB1  2AB", "other@example.com")
    )
    assert third != first
    assert _matches(db_session, third) == {(first, "name_dob_postcode")}


def test_different_people_get_different_records(db_session) -> None:  # type: ignore[no-untyped-def]
    jane = send_answers(
        db_session, "blue-badge", badge_answers("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com")
    )
    # Same name and postcode, another birthday and email: another person (a daughter, say).
    daughter = send_answers(
        db_session, "blue-badge", badge_answers("Jane Smith", "1980-02-01", "WB1 2AB", "jane.jr@example.com")
    )
    # Same date of birth and postcode, another name.
    neighbour = send_answers(
        db_session, "register-with-gp", gp_answers("John Smith", "1950-07-03", "WB1 2AB", "john@example.com")
    )
    assert len({jane, daughter, neighbour}) == 3
    assert citizen_count(db_session) == 3


def test_identifiers_that_point_at_two_records_never_merge_them(db_session) -> None:  # type: ignore[no-untyped-def]
    alice = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Alice Brown", "1970-01-01", "WB1 1AA", "alice@example.com", "9434765919"),
    )
    bob = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Bob Green", "1971-02-02", "WB2 2BB", "bob@example.com", "4010232137"),
    )
    assert alice != bob
    # Bob's NHS number with Alice's email: each record contradicts it (Bob's email, Alice's NHS
    # number), so it joins neither; every identifier stays with its record, and the new record
    # is marked as a possible match of both.
    third = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Bob Green", "1971-02-02", "WB2 2BB", "alice@example.com", "401 023 2137"),
    )
    assert third not in (alice, bob)
    assert citizen_count(db_session) == 3
    found = citizens.find_citizen(session=db_session, key="alice@example.com")
    assert found is not None and found.id == alice
    kinds = {(i.kind, i.value) for i in citizens.citizen_identifiers(session=db_session, citizen_id=bob)}
    assert ("email", "alice@example.com") not in kinds
    assert ("nhs_number", "4010232137") in kinds
    # Its identifiers all belong to the other two: it holds none of its own (the marks are
    # possible_match rows, no longer citizen_identifier rows: migration 0006).
    assert citizens.citizen_identifiers(session=db_session, citizen_id=third) == []
    assert _matches(db_session, third) == {(bob, "nhs_number"), (alice, "email")}

"""One record per person across services: which submissions are linked, and which are not."""

from __future__ import annotations

from typing import Any

from runtime import store
from tests.runtime.helpers import citizen_count, submissions, walk


def test_one_person_sending_two_services_has_one_record(citizen, client, db_session) -> None:  # type: ignore[no-untyped-def]
    # The two happy paths give the same email address in different case.
    for service_id in ("blue-badge", "missed-bin-collection"):
        walk(citizen, service_id)
        assert citizen.submit(service_id).status_code == 303
    first, second = submissions(db_session)
    assert {first.service_id, second.service_id} == {"blue-badge", "missed-bin-collection"}
    assert first.citizen_id == second.citizen_id
    assert citizen_count(db_session) == 1
    found = store.find_citizen(session=db_session, key="JANE.SMITH@example.com")
    assert found is not None and found.id == first.citizen_id
    linked = store.citizen_submissions(session=db_session, citizen_id=first.citizen_id)
    assert [s.reference for s, _ in linked] == [first.reference, second.reference]


def _send(db: Any, service_id: str, answers: dict[str, Any], n: int = 0) -> int:
    service = store.definition(session=db, service_id=service_id)
    assert service is not None
    made = store.create_submission(session=db, service=service, answers=answers)
    db.commit()
    return made.citizen_id


def _gp(name: str, dob: str, postcode: str, email: str, nhs: str | None = None) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "surgery": "riverside",
        "full_name": name,
        "date_of_birth": dob,
        "knows_nhs_number": nhs is not None,
        "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": postcode},
        "phone": "01632 960 001",
        "email": email,
    }
    if nhs is not None:
        answers["nhs_number"] = nhs
    return answers


def _badge(name: str, dob: str, postcode: str, email: str) -> dict[str, Any]:
    return {
        "lives_in_area": True,
        "gets_qualifying_benefit": True,
        "qualifying_benefit": "pip_moving_around",
        "full_name": name,
        "date_of_birth": dob,
        "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": postcode},
        "email": email,
    }


def test_a_shared_nhs_number_links_different_email_addresses(db_session) -> None:  # type: ignore[no-untyped-def]
    first = _send(
        db_session, "register-with-gp", _gp("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com", "943 476 5919")
    )
    second = _send(
        db_session, "register-with-gp", _gp("J. Smith", "1951-01-01", "XY9 9ZZ", "js@work.example", "9434765919")
    )
    assert first == second
    assert citizen_count(db_session) == 1
    # The new email address now finds the same person.
    found = store.find_citizen(session=db_session, key="js@work.example")
    assert found is not None and found.id == first


def test_name_date_of_birth_and_postcode_link_across_case_and_spaces(db_session) -> None:  # type: ignore[no-untyped-def]
    first = _send(db_session, "blue-badge", _badge("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com"))
    second = _send(db_session, "register-with-gp", _gp("  jane   SMITH ", "1950-07-03", "wb12ab", "other@example.com"))
    assert first == second
    assert citizen_count(db_session) == 1


def test_different_people_get_different_records(db_session) -> None:  # type: ignore[no-untyped-def]
    jane = _send(db_session, "blue-badge", _badge("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com"))
    # Same name and postcode, another birthday and email: another person (a daughter, say).
    daughter = _send(db_session, "blue-badge", _badge("Jane Smith", "1980-02-01", "WB1 2AB", "jane.jr@example.com"))
    # Same date of birth and postcode, another name.
    neighbour = _send(db_session, "register-with-gp", _gp("John Smith", "1950-07-03", "WB1 2AB", "john@example.com"))
    assert len({jane, daughter, neighbour}) == 3
    assert citizen_count(db_session) == 3


def test_identifiers_that_point_at_two_records_never_merge_them(db_session) -> None:  # type: ignore[no-untyped-def]
    alice = _send(
        db_session, "register-with-gp", _gp("Alice Brown", "1970-01-01", "WB1 1AA", "alice@example.com", "9434765919")
    )
    bob = _send(
        db_session, "register-with-gp", _gp("Bob Green", "1971-02-02", "WB2 2BB", "bob@example.com", "4010232137")
    )
    assert alice != bob
    # Bob's NHS number with Alice's email: the NHS number (the stronger identifier) decides,
    # and Alice's email stays with Alice.
    third = _send(
        db_session, "register-with-gp", _gp("Bob Green", "1971-02-02", "WB2 2BB", "alice@example.com", "401 023 2137")
    )
    assert third == bob
    assert citizen_count(db_session) == 2
    found = store.find_citizen(session=db_session, key="alice@example.com")
    assert found is not None and found.id == alice
    kinds = {(i.kind, i.value) for i in store.citizen_identifiers(session=db_session, citizen_id=bob)}
    assert ("email", "alice@example.com") not in kinds
    assert ("nhs_number", "4010232137") in kinds

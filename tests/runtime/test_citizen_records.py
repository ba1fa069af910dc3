"""One record per person across services: which submissions are linked, and which are not."""

from __future__ import annotations

from runtime.data import citizens, records
from runtime.services import matching
from tests.runtime.helpers import badge_answers, citizen_count, gp_answers, send_answers, submissions, walk


def test_one_person_sending_two_services_has_one_record(citizen, client, db_session, settings) -> None:  # type: ignore[no-untyped-def]
    # The two happy paths give the same name, email address (in different case), phone and
    # postcode; only the blue badge asks for a date of birth, so the exact tier cannot be sure
    # and the worker joins them.
    for service_id in ("blue-badge", "missed-bin-collection"):
        walk(citizen, service_id)
        assert citizen.submit(service_id).status_code == 303
    first, second = submissions(db_session)
    assert {first.service_id, second.service_id} == {"blue-badge", "missed-bin-collection"}
    summary = matching.run_jobs(db_session, limit=50, settings=settings)
    assert summary.joined == 1
    db_session.expire_all()
    first, second = submissions(db_session)
    assert first.citizen_id == second.citizen_id
    found = citizens.find_citizen(session=db_session, key="JANE.SMITH@example.com")
    assert found is not None and found.id == first.citizen_id
    linked = citizens.citizen_submissions(session=db_session, citizen_id=first.citizen_id)
    assert [s.reference for s, _ in linked] == [first.reference, second.reference]


def test_the_same_nhs_number_name_and_date_of_birth_with_another_email_is_one_record(db_session) -> None:  # type: ignore[no-untyped-def]
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
    assert first == second
    assert citizen_count(db_session) == 1
    # Both email addresses are on the record, each with the submission that gave it.
    emails = {
        (i.value, i.submission_id)
        for i in citizens.citizen_identifiers(session=db_session, citizen_id=first)
        if i.kind == "email"
    }
    assert {value for value, _ in emails} == {"jane@example.com", "js@work.example"}
    assert len({sid for _, sid in emails}) == 2
    found = citizens.find_citizen(session=db_session, key="js@work.example")
    assert found is not None and found.id == first


def test_name_date_of_birth_and_postcode_link_across_case_and_spaces(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(
        db_session, "blue-badge", badge_answers("Jane Smith", "1950-07-03", "WB1 2AB", "jane@example.com")
    )
    # No email address given this time: the name, date of birth and postcode agree.
    second = send_answers(db_session, "register-with-gp", gp_answers("  jane   SMITH ", "1950-07-03", "wb12ab", None))
    assert first == second
    # Another email address makes it likely, not clear, that this is Jane (someone may type her
    # name, birthday and address with their own email): a record of its own at submit, and the
    # worker weighs the evidence and joins it, with the score and evidence on the link.
    third = send_answers(
        db_session, "register-with-gp", gp_answers("JANE smith", "1950-07-03", "WB1  2AB", "other@example.com")
    )
    assert third != first
    assert matching.run_jobs(db_session, limit=50, settings=settings).joined == 1
    db_session.expire_all()
    assert records.current_record(db_session, third) == first
    assert citizen_count(db_session) == 2  # the joined record stays, pointing at Jane's


def test_different_people_get_different_records(db_session, settings) -> None:  # type: ignore[no-untyped-def]
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
    # The worker looks closer, and joins none of them.
    summary = matching.run_jobs(db_session, limit=50, settings=settings)
    assert summary.joined == 0 and summary.failed == 0
    db_session.expire_all()
    assert {records.current_record(db_session, cid) for cid in (jane, daughter, neighbour)} == {
        jane,
        daughter,
        neighbour,
    }
    assert citizen_count(db_session) == 3


def test_identifiers_that_point_at_two_records_never_merge_them(db_session, settings) -> None:  # type: ignore[no-untyped-def]
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
    # Bob, with his NHS number, name and date of birth, gives Alice's email address: he is Bob.
    # Alice's record holds another NHS number, so nothing ever joins his record to hers.
    third = send_answers(
        db_session,
        "register-with-gp",
        gp_answers("Bob Green", "1971-02-02", "WB2 2BB", "alice@example.com", "401 023 2137"),
    )
    assert third == bob
    matching.run_jobs(db_session, limit=50, settings=settings)
    db_session.expire_all()
    assert citizen_count(db_session) == 2
    assert records.current_record(db_session, alice) == alice
    found = citizens.find_citizen(session=db_session, key="alice@example.com")
    assert found is not None and found.id == alice  # the first to give it
    alices = {(i.kind, i.value) for i in citizens.citizen_identifiers(session=db_session, citizen_id=alice)}
    assert ("nhs_number", "4010232137") not in alices and ("nhs_number", "9434765919") in alices
    assert citizens.possible_matches(session=db_session, citizen_id=alice) == []

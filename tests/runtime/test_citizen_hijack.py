"""Issues 8 and 16: citizen records cannot be hijacked with someone else's identifiers.

Nothing a citizen types is verified. The exact tier files a submission under a record only when
the name and date of birth agree with one more detail and no NHS or NI number contradicts
(runtime/citizens.py); otherwise it gets a record of its own, and the worker's probabilistic
tier (runtime/services/matching.py) joins it only on strong evidence of two fields, one of them
the name or the date of birth, never across an NHS or NI number: someone else's email address,
NHS number or NI number alone never joins anyone. And a case page shows only the details given
to the viewer's departments.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update
from sqlmodel import Session, col, select

from runtime.data import citizens, records
from runtime.models import CitizenIdentifier, CitizenLink, MatchCandidate
from runtime.services import matching
from runtime.settings import Settings
from runtime.web.casework import create_casework_app
from tests.casework.conftest import Office, case_url
from tests.conftest import Citizen as CitizenClient
from tests.journeys import HAPPY_PATHS
from tests.runtime.helpers import badge_answers, citizen_count, gp_answers, send_answers, submissions, walk

VICTIM_NHS, ATTACKER_NHS = "943 476 5919", "401 023 2137"
VICTIM_NI = "QQ 12 34 56 C"
ATTACKER = {"name": "Ann Attacker", "dob": "1990-09-09", "postcode": "WB9 9ZZ"}


def _gp(
    email: str | None,
    nhs: str | None = None,
    name: str = "Vera Victim",
    dob: str = "1960-04-05",
    postcode: str = "WB1 2AB",
    phone: str = "01632 960 001",
) -> dict[str, Any]:
    answers = gp_answers(name, dob, postcode, email, nhs)
    answers["phone"] = phone
    return answers


def _attacker_gp(email: str | None, nhs: str | None) -> dict[str, Any]:
    return _gp(email, nhs, ATTACKER["name"], ATTACKER["dob"], ATTACKER["postcode"], "07700 900 666")


def _badge(email: str, ni: str | None = None, name: str = "Vera Victim", dob: str = "1960-04-05") -> dict[str, Any]:
    return badge_answers(name, dob, "WB1 2AB", email, ni)


def _bin(email: str) -> dict[str, Any]:
    return {
        "full_name": "Vera Victim",
        "address": {"line1": "12 Mill Lane", "town": "Westbridge", "postcode": "WB1 2AB"},
        "email": email,
        "bin_type": "general",
    }


def _work(db: Session, settings: Settings) -> matching.Summary:
    summary = matching.run_jobs(db, limit=50, settings=settings)
    db.expire_all()
    assert summary.failed == summary.retried == 0, summary.errors
    return summary


def _now(db: Session, citizen_id: int) -> int:
    db.rollback()
    return records.current_record(db, citizen_id)


def _references(db: Session, citizen_id: int) -> list[str]:
    db.rollback()
    return [s.reference for s, _ in citizens.citizen_submissions(session=db, citizen_id=citizen_id)]


def _pairs(db: Session) -> set[tuple[int, int]]:
    db.rollback()
    return {(m.citizen_id, m.other_citizen_id) for m in db.exec(select(MatchCandidate))}


def _joins(db: Session) -> list[CitizenLink]:
    return list(db.exec(select(CitizenLink).where(col(CitizenLink.merged_citizen_id).is_not(None))))


# -- the attacks ------------------------------------------------------------------------------


def test_someone_elses_nhs_number_sent_first_does_not_gather_their_submissions(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    attacker = send_answers(db_session, "register-with-gp", _attacker_gp("attacker@evil.example", VICTIM_NHS))
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    again = send_answers(db_session, "register-with-gp", _gp("VERA@example.com", "9434765919"))
    assert victim != attacker
    assert again == victim  # the victim's submissions gather in the victim's own record
    _work(db_session, settings)
    assert _now(db_session, attacker) == attacker and _now(db_session, victim) == victim
    assert len(_references(db_session, attacker)) == 1
    assert len(_references(db_session, victim)) == 2
    assert _joins(db_session) == []
    # One NHS number given by two people: staff are asked, once per pair.
    assert _pairs(db_session) == {(attacker, victim)}


def test_the_victim_already_known_by_email_keeps_their_record(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(db_session, "missed-bin-collection", _bin("vera@example.com"))
    attacker = send_answers(db_session, "register-with-gp", _attacker_gp("attacker@evil.example", VICTIM_NHS))
    later = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    _work(db_session, settings)
    # The victim's GP form joins the victim's record (name, email and postcode agree), never
    # the attacker's (who gave the same NHS number with another name and birthday).
    assert _now(db_session, later) == victim != attacker
    assert _now(db_session, attacker) == attacker
    assert len(_references(db_session, attacker)) == 1
    assert len(_references(db_session, victim)) == 2


def test_someone_elses_email_does_not_join_their_record(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    # The victim's email with the attacker's own NHS number, name and birthday.
    with_nhs = send_answers(db_session, "register-with-gp", _attacker_gp("vera@example.com", ATTACKER_NHS))
    # The victim's email (in other capitals) with the attacker's own name, birthday, postcode and phone.
    with_birthday = send_answers(db_session, "register-with-gp", _attacker_gp("Vera@EXAMPLE.com", None))
    assert victim not in (with_nhs, with_birthday)
    _work(db_session, settings)
    assert _now(db_session, with_nhs) == with_nhs and _now(db_session, victim) == victim
    assert len(_references(db_session, victim)) == 1
    assert victim not in {c for pair in _pairs(db_session) for c in pair}


def test_someone_elses_ni_number_does_not_gather_their_submissions(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    attacker = send_answers(
        db_session, "blue-badge", _badge("attacker@evil.example", VICTIM_NI, ATTACKER["name"], ATTACKER["dob"])
    )
    victim = send_answers(db_session, "blue-badge", _badge("vera@example.com", "qq123456c"))
    assert victim != attacker
    _work(db_session, settings)
    assert _now(db_session, victim) == victim and _joins(db_session) == []
    assert _pairs(db_session) == {(attacker, victim)}


def test_the_victims_name_birthday_and_postcode_with_another_nhs_number_never_join(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    # Everything about the victim but another NHS number: a strong identifier contradicts.
    impostor = send_answers(db_session, "register-with-gp", _gp("attacker@evil.example", ATTACKER_NHS))
    assert impostor != victim
    _work(db_session, settings)
    assert _now(db_session, impostor) == impostor and _joins(db_session) == []
    assert _pairs(db_session) == {(victim, impostor)}  # high score, but for staff to decide


def test_the_attack_on_the_council_tax_case_page_shows_no_nhs_number(
    app: Flask, db_session: Session, settings: Settings, office: Office
) -> None:
    """The attack as it is made, through the citizen pages: the victim registers with a GP
    (giving their NHS number to the GP practice only); the attacker sends a council tax form
    with the victim's email address in other capitals and their own name, address and phone. The
    attacker gets a record of their own, and the Council Tax case page shows no NHS number."""
    gp = copy.deepcopy(HAPPY_PATHS["register-with-gp"])  # Jane Smith, NHS number 943 476 5919
    person = CitizenClient(app.test_client())
    walk(person, "register-with-gp", path=gp)
    assert person.submit("register-with-gp").status_code == 303
    tax = [
        (page_id, data)
        for page_id, data in copy.deepcopy(HAPPY_PATHS["council-tax-single-person-discount"])
        if page_id not in ("property-address", "your-details")
    ]
    tax.insert(
        1,
        (
            "property-address",
            {"address.line1": "1 Dark Lane", "address.town": "Eastbury", "address.postcode": "WB9 9ZZ"},
        ),
    )
    tax.append(
        ("your-details", {"full_name": "Ann Attacker", "email": "JANE.smith@EXAMPLE.com", "phone": "07700 900 666"})
    )
    attacker = CitizenClient(app.test_client())
    walk(attacker, "council-tax-single-person-discount", path=tax)
    assert attacker.submit("council-tax-single-person-discount").status_code == 303
    victim_sub, attack_sub = submissions(db_session)
    assert attack_sub.citizen_id != victim_sub.citizen_id
    _work(db_session, settings)
    assert _now(db_session, attack_sub.citizen_id) == attack_sub.citizen_id  # never joined
    assert citizen_count(db_session) == 2
    tax_worker = office.sign_in(
        office.staff("Tess Taxman", "caseworker", department=office.department_of("council-tax-single-person-discount"))
    )
    html = tax_worker.get(case_url(attack_sub.reference)).get_data(as_text=True)
    assert "Ann Attacker" in html
    for shown in ("9434765919", "943 476 5919", "943-476-5919"):
        assert shown not in html
    assert "Jane Smith" not in html


# -- what must still link -----------------------------------------------------------------------


def test_the_same_nhs_number_name_and_birthday_link_at_once(db_session) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    # Another name spelling, email and postcode (she moved): none is a reason to split.
    second = send_answers(
        db_session, "register-with-gp", _gp("vera.new@example.org", "9434765919", "vera  VICTIM", postcode="WB7 1XY")
    )
    assert first == second
    assert citizen_count(db_session) == 1


def test_the_same_email_and_name_without_a_birthday_are_joined_by_the_worker(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    second = send_answers(db_session, "missed-bin-collection", _bin("vera@example.com"))
    assert first != second  # the bin form asks no date of birth: the exact tier cannot be sure
    assert _work(db_session, settings).joined == 1
    assert _now(db_session, second) == first
    assert len(_references(db_session, first)) == 2


def test_a_join_keeps_every_detail_with_the_submission_that_gave_it(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    first = send_answers(db_session, "missed-bin-collection", _bin("vera@example.com"))
    second = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    third = send_answers(db_session, "blue-badge", _badge("vera@example.com", VICTIM_NI))
    assert second == third  # name, date of birth and email
    _work(db_session, settings)
    assert _now(db_session, second) == first
    held = {(i.kind, i.value) for i in citizens.citizen_identifiers(session=db_session, citizen_id=first)}
    assert {("email", "vera@example.com"), ("nhs_number", "9434765919"), ("ni_number", "QQ123456C")} <= held
    assert all(i.submission_id for i in citizens.citizen_identifiers(session=db_session, citizen_id=first))


# -- bad input and races ---------------------------------------------------------------------


def test_a_submission_without_identifiers_joins_nobody_and_marks_nothing(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    giant = "a" * 500 + "@example.com"  # longer than the column: not an identifier at all
    first = send_answers(db_session, "missed-bin-collection", _bin(giant))
    second = send_answers(db_session, "missed-bin-collection", _bin(giant))
    assert first != second
    assert {i.kind for i in db_session.exec(select(CitizenIdentifier))} <= {"full_name", "name_key", "postcode"}
    _work(db_session, settings)
    assert _joins(db_session) == []


def test_an_email_that_looks_like_a_marker_is_only_an_email(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    other = send_answers(
        db_session,
        "register-with-gp",
        _gp(f"{victim}:1:nhs_number@example.com", None, "Ann Other", "1990-01-01", "WB9 9ZZ", "07700 900 777"),
    )
    assert other != victim
    _work(db_session, settings)
    assert _pairs(db_session) == set() and _joins(db_session) == []


def test_a_pair_staff_decided_different_is_never_joined_by_the_worker(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    victim = send_answers(db_session, "register-with-gp", _gp("vera@example.com", VICTIM_NHS))
    impostor = send_answers(db_session, "register-with-gp", _gp("attacker@evil.example", ATTACKER_NHS))
    _work(db_session, settings)
    db_session.execute(update(MatchCandidate).values(status="different"))
    db_session.commit()
    # The impostor sends again, as the victim but with no NHS number: it is filed with them at once
    # (name, birthday, postcode), and the worker never joins the two records.
    again = send_answers(db_session, "register-with-gp", _gp("attacker@evil.example", None))
    _work(db_session, settings)
    assert _now(db_session, impostor) == impostor and _now(db_session, victim) == victim
    assert {again} <= {victim, impostor}
    assert db_session.exec(select(MatchCandidate.status)).all() == ["different"]


@pytest.fixture
def office(settings: Settings) -> Iterator[Office]:
    casework_app = create_casework_app({"SETTINGS": settings, "TESTING": True})
    yield Office(casework_app)
    casework_app.extensions["civicforms.engine"].dispose()

"""Shared by the retention, erasure and subject access tests: a person with distinctive details
sent through the real submit path into two departments' services, their cases with comments,
an information request and messages, and a scan of every table and column for their details."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from runtime import cases, versions
from runtime.data import submissions
from runtime.models import (
    Case,
    CaseEvent,
    CaseEventComment,
    FormSession,
    InformationRequest,
    LegalHold,
    OutboxMessage,
    utcnow,
)

SECRET = "test-secret-key-" + "x" * 32

# The person whose data is erased: every value distinctive, as typed and as stored (normalised).
NAME, EMAIL, PHONE, NHS, NI, POSTCODE, DOB = (
    "Zebedee Quistgaard",
    "Zq.Person@Example.org",
    "07700 900 417",
    "943 476 5919",
    "JH 12 34 56 D",
    "ZE2 9XQ",
    "1961-02-14",
)
NEEDLES = (
    "quistgaard",
    "zebedee",
    "zq.person@example.org",
    "07700 900 417",
    "+447700900417",
    "943 476 5919",
    "9434765919",
    "jh 12 34 56 d",
    "jh123456d",
    "ze2 9xq",
    "ze29xq",
    "1961-02-14",
    "knee gives way on stairs",  # a free-text answer
    "asked about the stairlift",  # a staff comment
    "bring your tenancy",  # an information request's message
)
# Someone else, whose data must survive.
OTHER = {"name": "Olwen Brightwater", "email": "olwen@example.net", "dob": "1972-11-30", "postcode": "WB9 9ZZ"}


def gp(name: str = NAME, email: str = EMAIL, dob: str = DOB, postcode: str = POSTCODE) -> dict[str, Any]:
    return {
        "surgery": "riverside",
        "full_name": name,
        "date_of_birth": dob,
        "knows_nhs_number": True,
        "nhs_number": NHS,
        "address": {"line1": "3 Quay Street", "town": "Westbridge", "postcode": postcode},
        "email": email,
        "phone": PHONE,
    }


def badge(name: str = NAME, email: str = EMAIL, dob: str = DOB, postcode: str = POSTCODE) -> dict[str, Any]:
    if name != NAME:  # someone else: nothing of the person's
        return {
            "lives_in_area": True,
            "gets_qualifying_benefit": False,
            "walking_difficulties": ["fatigue"],
            "walking_distance": "under_20_metres",
            "condition_description": "Arthritis.",
            "full_name": name,
            "date_of_birth": dob,
            "address": {"line1": "9 Long Row", "town": "Westbridge", "postcode": postcode},
            "email": email,
        }
    return {
        "lives_in_area": True,
        "gets_qualifying_benefit": False,
        "walking_difficulties": ["pain"],
        "walking_distance": "under_20_metres",
        "condition_description": "My knee gives way on stairs.",
        "full_name": name,
        "date_of_birth": dob,
        "ni_number": NI,
        "address": {"line1": "3 Quay Street", "town": "Westbridge", "postcode": postcode},
        "email": email,
        "phone": PHONE,
    }


def send(s: Session, service_id: str, answers: dict[str, Any], *, now: datetime | None = None) -> Case:
    """A submission and its case, as the citizen runtime makes them, with the form session that
    sent it; committed."""
    definition = versions.definition(session=s, service_id=service_id)
    assert definition is not None
    moment = now or utcnow()
    submission = submissions.create_submission(session=s, service=definition, answers=answers)
    submission.submitted_at = moment
    case = cases.open_case(
        s,
        submission=submission,
        definition=definition,
        now=moment,
        secret_key=SECRET,
        urls=cases.CaseUrls("https://forms.example.gov.uk"),
    )
    s.add(
        FormSession(
            id=f"fs-{submission.reference}",
            service_id=service_id,
            service_version=definition.version,
            answers={},
            expires_at=moment,
            submission_reference=submission.reference,
        )
    )
    s.commit()
    return case


def add_casework(s: Session, case: Case) -> None:
    """A staff comment, an answered information request and a message naming the person."""
    assert case.id is not None
    event = CaseEvent(case_id=case.id, actor_kind="staff", action="note")
    s.add(event)
    s.flush()
    assert event.id is not None
    s.add(CaseEventComment(event_id=event.id, case_id=case.id, text=f"{NAME} asked about the stairlift"))
    s.add(
        InformationRequest(
            case_id=case.id,
            token_hash=f"t{case.id}" + "0" * 40,
            questions=["full_name"],
            message=f"Dear {NAME}, please bring your tenancy agreement",
            answers={"full_name": NAME},
            answered_at=utcnow(),
            return_state="new",
        )
    )
    s.add(
        OutboxMessage(
            kind="decision", recipient=EMAIL.lower(), subject=f"For {NAME}", body=f"Hello {NAME}", case_id=case.id
        )
    )
    s.commit()


def close(s: Session, case: Case, when: datetime) -> None:
    found = s.get(Case, case.id)
    assert found is not None
    found.closed_at = when
    found.state = "closed"
    s.add(found)
    s.commit()


def hold(s: Session, case: Case, reason: str = "Tribunal appeal ref TR-2041 pending") -> None:
    s.add(LegalHold(case_id=case.id, reason=reason))
    s.commit()


def scan(s: Session, needles: tuple[str, ...] = NEEDLES) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a needle appears in any stored value, in any table."""
    found = []
    connection = s.connection()
    for table in SQLModel.metadata.sorted_tables:
        for row in connection.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if value is None or isinstance(value, bool | int | float):
                    continue
                text = (
                    json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, dict | list) else str(value)
                )
                text = text.lower()
                found.extend((table.name, column, n) for n in needles if n in text)
    return found


def count(s: Session, model: Any) -> int:
    return len(s.exec(select(model)).all())

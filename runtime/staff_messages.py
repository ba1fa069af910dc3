"""What staff are told, and whom: one wording per event, sent to the people it concerns.

Citizens' messages are the service's own (the definition's ``workflow.messages``); staff
messages are the platform's, the same in every service, so that a caseworker learns one set.
Each goes to the members of staff it names (never to every caseworker in the department
unless the event is about work for anyone holding a role), as an outbox message carrying the
case's department and the member of staff; someone who chose a daily digest
(``staff_user.notify == "daily"``) has it held for their digest instead (runtime.outbox).

Pure wording plus one enqueue function; callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from .models import Case, StaffUser
from .outbox import enqueue


@dataclass(frozen=True)
class Wording:
    subject: str
    body: str


# {reference}, {service}, {state}, {link}, {actor}, {note}, {due} are filled in; every other
# brace is literal. Plain words, the reference first so that a mail client's list tells cases apart.
EVENTS: dict[str, Wording] = {
    "new_case": Wording(
        "{reference}: new {service} case",
        "A new case is waiting for someone in your team to pick it up.\n\nReference: {reference}\n"
        "Step: {state}\n\nOpen the case: {link}",
    ),
    "moved_to_your_step": Wording(
        "{reference}: {service} case waiting for you at {state}",
        "{actor} moved case {reference} on to the step {state}, which people in your role decide. "
        "It is not assigned to anyone yet.\n\nOpen the case: {link}",
    ),
    "sent_to_you": Wording(
        "{reference}: {service} case assigned to you",
        "{actor} assigned case {reference} to you.\n\nStep: {state}\n\nOpen the case: {link}",
    ),
    "applicant_replied": Wording(
        "{reference}: the applicant has replied",
        "The applicant has answered your request for information on case {reference}.\n\nOpen the case: {link}",
    ),
    "escalated_to_you": Wording(
        "{reference}: {service} case escalated to you",
        "Case {reference} has been escalated because {note}.\n\nStep: {state}\n\nOpen the case: {link}",
    ),
    "no_reply": Wording(
        "{reference}: the applicant has not replied",
        "The applicant did not reply by {due} to the request for information on case {reference}. The case is "
        "back at its step and has been escalated: decide it on what you have, or ask again.\n\nStep: {state}"
        "\n\nOpen the case: {link}",
    ),
    "sent_back_to_you": Wording(
        "{reference}: {service} case sent back to you",
        "{actor} has looked at escalated case {reference} and sent it back to you. Read their note on the case "
        "page.\n\nStep: {state}\n\nOpen the case: {link}",
    ),
    "deadline_close": Wording(
        "{reference}: due {due}",
        "Case {reference} must be decided by {due}.\n\nStep: {state}\n\nOpen the case: {link}",
    ),
    "taken_from_you": Wording(
        "{reference}: {actor} has taken over this case",
        "{actor} has taken over case {reference}, which was assigned to you. You do not need to do anything."
        "\n\nOpen the case: {link}",
    ),
}


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with each ``{name}`` of ``values`` replaced; every other brace is literal."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def tell_staff(
    session: Session,
    *,
    event: str,
    recipients: Sequence[StaffUser],
    case: Case,
    service: str,
    state: str,
    link: str,
    now: datetime,
    actor: str = "",
    note: str = "",
    due: str = "",
) -> int:
    """Enqueue the event's message to each active recipient once; returns how many."""
    wording = EVENTS[event]
    values = {
        "reference": case.reference,
        "service": service,
        "state": state,
        "link": link,
        "actor": actor or "A colleague",
        "note": note,
        "due": due,
    }
    subject, body = fill(wording.subject, values), fill(wording.body, values)
    sent = 0
    seen: set[int] = set()
    for user in recipients:
        if user.id is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        enqueue(
            session,
            kind=event,
            recipient=user.email,
            subject=subject,
            body=body,
            now=now,
            case_id=case.id,
            department_id=case.department_id,
            staff_id=user.id,
            held=user.notify == "daily",
        )
        sent += 1
    return sent

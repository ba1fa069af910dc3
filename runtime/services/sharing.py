"""Data-sharing agreements between departments, as use cases: record one, end one.

Each function takes the session explicitly, keyword arguments and the actor (the member of
staff's id), checks who may do it and what was entered, owns its transaction, and returns what
it wrote or raises :class:`Refused` with the form field at fault and the reason in the
product's words. Who may see what under an agreement is runtime.data.sharing's rule.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from ..data import sharing
from ..models import LAWFUL_BASES, Department, Service, SharingAgreement, utcnow
from ..staff import SHARING_AGREEMENTS, has_permission, roles_by_department
from .unit_of_work import atomic

FROM, TO, SERVICES, PURPOSE, LAWFUL_BASIS, STARTS, ENDS, AGREEMENT = (
    "from_department",
    "to_department",
    "services",
    "purpose",
    "lawful_basis",
    "starts_on",
    "ends_on",
    "agreement",
)
MAX_PURPOSE = 2_000
MAX_YEARS = 10  # an agreement longer than this is a typing mistake: agreements are reviewed
EARLIEST = date(2000, 1, 1)


class Refused(Exception):
    """What was entered, or who entered it, is refused; nothing was written."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AgreementForm:
    """An agreement as entered (ids and dates already parsed by the caller; None: not given)."""

    from_department_id: int | None
    to_department_id: int | None
    service_ids: Collection[str]  # none: every service of the sharing department
    purpose: str
    lawful_basis: str
    starts_on: date | None
    ends_on: date | None


def may_share_from(session: Session, *, actor: int) -> list[int]:
    """The departments whose data this member of staff may share (SHARING_AGREEMENTS there)."""
    return sorted(
        d for d, roles in roles_by_department(session, actor).items() if has_permission(roles, SHARING_AGREEMENTS)
    )


def check(session: Session, *, actor: int, form: AgreementForm, today: date) -> dict[str, str]:
    """Every problem with the form, by field (empty when it can be recorded)."""
    errors: dict[str, str] = {}
    if form.from_department_id is None:
        errors[FROM] = "Select the department that shares its data"
    elif form.from_department_id not in may_share_from(session, actor=actor):
        errors[FROM] = "You can only share the data of a department where you are an admin or data protection officer"
    if form.to_department_id is None or session.get(Department, form.to_department_id) is None:
        errors[TO] = "Select the department the data is shared with"
    elif form.to_department_id == form.from_department_id:
        errors[TO] = "Select a different department from the one sharing its data"
    if form.service_ids and FROM not in errors:
        known = set(session.exec(select(Service.id).where(Service.department_id == form.from_department_id)).all())
        if not set(form.service_ids) <= known:
            errors[SERVICES] = "Select services of the department that shares its data"
    purpose = form.purpose.strip()
    if not purpose:
        errors[PURPOSE] = "Enter the purpose of sharing"
    elif len(purpose) > MAX_PURPOSE:
        errors[PURPOSE] = f"Purpose must be {MAX_PURPOSE:,} characters or fewer"
    elif any(ord(ch) < 32 and ch not in "\n\r\t" for ch in purpose):
        errors[PURPOSE] = "Purpose must not contain control characters"
    if form.lawful_basis not in LAWFUL_BASES:
        errors[LAWFUL_BASIS] = "Select the lawful basis for sharing"
    if form.starts_on is None:
        errors[STARTS] = "Enter a real start date, for example 1 4 2027"
    elif not EARLIEST <= form.starts_on <= today.replace(year=today.year + MAX_YEARS):
        errors[STARTS] = f"Start date must be between 2000 and {today.year + MAX_YEARS}"
    if form.ends_on is None:
        errors[ENDS] = "Enter a real end date, for example 31 3 2028"
    elif form.starts_on is not None and STARTS not in errors:
        if form.ends_on <= form.starts_on:
            errors[ENDS] = "End date must be after the start date"
        elif form.ends_on < today:
            errors[ENDS] = "End date must be today or in the future"
        elif (form.ends_on - form.starts_on).days > MAX_YEARS * 366:
            errors[ENDS] = f"An agreement can last at most {MAX_YEARS} years: record a new one to renew it"
    return errors


def record_agreement(
    *, session: Session, actor: int, form: AgreementForm, today: date | None = None
) -> SharingAgreement:
    """Record a sharing agreement from a department where ``actor`` may share data; Refused
    (the first problem) when the form is not right. Who recorded it and when is kept on it."""
    today = today or date.today()
    with atomic(session):
        errors = check(session, actor=actor, form=form, today=today)
        if errors:
            field, message = next(iter(errors.items()))
            raise Refused(field, message)
        assert form.from_department_id is not None and form.to_department_id is not None
        assert form.starts_on is not None and form.ends_on is not None
        return sharing.add_agreement(
            session,
            from_department_id=form.from_department_id,
            to_department_id=form.to_department_id,
            service_ids=sorted(set(form.service_ids)) or None,
            purpose=form.purpose.strip(),
            lawful_basis=form.lawful_basis,
            starts_on=form.starts_on,
            ends_on=form.ends_on,
            created_by=actor,
            now=utcnow(),
        )


class NotFound(Exception):
    """No such agreement, or not one this member of staff may end."""


def end_agreement(*, session: Session, actor: int, agreement_id: int) -> SharingAgreement:
    """End an agreement of a department whose data ``actor`` may share, from now on: the other
    department sees nothing more of it. Refused when it was already ended."""
    with atomic(session):
        agreement = session.get(SharingAgreement, agreement_id)
        if agreement is None or agreement.from_department_id not in may_share_from(session, actor=actor):
            raise NotFound()
        if not sharing.end_agreement(session, agreement_id=agreement_id, ended_by=actor, now=utcnow()):
            raise Refused(AGREEMENT, "This agreement has already been ended")
    session.refresh(agreement)
    return agreement

"""Data-sharing agreements as a rule: which other departments' cases about the same person a
department may see today. A department always sees its own; another's only under an agreement
in force (started, not past its end date, not ended), and then only for the services it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select

from ..models import CitizenIdentifier, Department, Service, SharingAgreement, StaffRole, StaffUser, Submission
from ..roles import MANAGER


@dataclass(frozen=True)
class Visible:
    """What departments ``viewer`` (a set of department ids) may see: whole departments (its
    own, and those sharing all their services), and single services of others."""

    departments: frozenset[int]
    services: dict[int, frozenset[str]] = field(default_factory=dict)  # department: the services shared

    def allows(self, department_id: int, service_id: str) -> bool:
        return department_id in self.departments or service_id in self.services.get(department_id, frozenset())


def in_force(today: date):  # type: ignore[no-untyped-def]
    """The SQL condition for an agreement in force on ``today``."""
    return (
        col(SharingAgreement.ended_at).is_(None)
        & (col(SharingAgreement.starts_on) <= today)
        & (col(SharingAgreement.ends_on) >= today)
    )


def visible_to(session: Session, department_ids: list[int] | set[int], *, today: date | None = None) -> Visible:
    """What staff working in ``department_ids`` may see of other departments' cases today."""
    own = frozenset(department_ids)
    if not own:
        return Visible(frozenset())
    today = today or date.today()
    whole = set(own)
    services: dict[int, set[str]] = {}
    for agreement in session.exec(
        select(SharingAgreement).where(col(SharingAgreement.to_department_id).in_(sorted(own)), in_force(today))
    ):
        if agreement.service_ids is None:
            whole.add(agreement.from_department_id)
        else:
            services.setdefault(agreement.from_department_id, set()).update(agreement.service_ids)
    return Visible(frozenset(whole), {d: frozenset(s) for d, s in services.items() if d not in whole})


def agreements(session: Session, *, department_ids: list[int] | None = None) -> list[SharingAgreement]:
    """Agreements to or from these departments (every one when None), newest first."""
    query = select(SharingAgreement)
    if department_ids is not None:
        query = query.where(
            or_(
                col(SharingAgreement.from_department_id).in_(department_ids),
                col(SharingAgreement.to_department_id).in_(department_ids),
            )
        )
    return list(session.exec(query.order_by(col(SharingAgreement.id).desc())))


def visible_identifiers(session: Session, *, citizen_id: int, visible: Visible) -> list[CitizenIdentifier]:
    """A record's details that were given to a department ``visible`` covers (its own, or a
    service shared with it), oldest first: an NHS number given only to the GP service is not
    Council Tax's to see. Details with no submission to name (before migration 0008) are left out."""
    if not visible.departments and not visible.services:
        return []
    arms: list[ColumnElement[bool]] = [col(CitizenIdentifier.department_id).in_(sorted(visible.departments))]
    for department_id, services in sorted(visible.services.items()):
        arms.append(
            (col(CitizenIdentifier.department_id) == department_id) & col(Submission.service_id).in_(sorted(services))
        )
    query = (
        select(CitizenIdentifier)
        .join(Submission, col(Submission.id) == CitizenIdentifier.submission_id)
        .where(CitizenIdentifier.citizen_id == citizen_id, or_(*arms))
        .order_by(col(CitizenIdentifier.kind), col(CitizenIdentifier.id))
    )
    return list(session.exec(query))


@dataclass(frozen=True)
class Contact:
    """Whom to ask for another department's cases: its name and its managers' names."""

    department_id: int
    name: str
    managers: list[str]


def contacts(session: Session, department_ids: list[int]) -> dict[int, Contact]:
    """The departments' names and their active managers' names, by department (one query each)."""
    if not department_ids:
        return {}
    names = dict(
        session.exec(select(Department.id, Department.name).where(col(Department.id).in_(department_ids))).all()
    )
    managers: dict[int, list[str]] = {}
    for department_id, name in session.exec(
        select(StaffRole.department_id, StaffUser.name)
        .join(StaffUser, col(StaffUser.id) == StaffRole.user_id)
        .where(col(StaffRole.department_id).in_(department_ids), StaffRole.role == MANAGER, col(StaffUser.active))
        .order_by(col(StaffUser.name), col(StaffUser.id))
    ).all():
        if name not in managers.setdefault(department_id, []):
            managers[department_id].append(name)
    return {
        d: Contact(d, names.get(d, "another department"), managers.get(d, [])) for d in department_ids if d is not None
    }


def add_agreement(
    session: Session,
    *,
    from_department_id: int,
    to_department_id: int,
    service_ids: list[str] | None,
    purpose: str,
    lawful_basis: str,
    starts_on: date,
    ends_on: date,
    created_by: int,
    now: datetime,
) -> SharingAgreement:
    """Add an agreement to the session (the use case checks it and commits)."""
    agreement = SharingAgreement(
        from_department_id=from_department_id,
        to_department_id=to_department_id,
        service_ids=service_ids,
        purpose=purpose,
        lawful_basis=lawful_basis,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=created_by,
        created_at=now,
    )
    session.add(agreement)
    session.flush()
    return agreement


def end_agreement(session: Session, *, agreement_id: int, ended_by: int, now: datetime) -> bool:
    """End an agreement that is not ended yet; False when it already was (one conditional UPDATE,
    so that of two people ending it at once one is told it was ended first)."""
    result = session.exec(  # type: ignore[call-overload]
        update(SharingAgreement)
        .where(col(SharingAgreement.id) == agreement_id, col(SharingAgreement.ended_at).is_(None))
        .values(ended_at=now, ended_by=ended_by)
    )
    return bool(result.rowcount)


# -- the agreements' pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementRow:
    agreement: SharingAgreement
    from_name: str
    to_name: str
    services: list[str]  # the services' titles; empty: all
    created_by: str
    ended_by: str | None

    def status(self, today: date) -> str:
        a = self.agreement
        if a.ended_at is not None:
            return "Ended"
        if a.ends_on < today:
            return "Expired"
        if a.starts_on > today:
            return "Not started"
        return "In force"


def agreement_rows(session: Session, *, department_ids: list[int] | None) -> list[AgreementRow]:
    """Agreements to or from these departments (every one when None), newest first, with names."""
    found = agreements(session, department_ids=department_ids)
    names = dict(session.exec(select(Department.id, Department.name)).all())
    people_ids = sorted({p for a in found for p in (a.created_by, a.ended_by) if p is not None})
    people = dict(session.exec(select(StaffUser.id, StaffUser.name).where(col(StaffUser.id).in_(people_ids))).all())
    titles = dict(session.exec(select(Service.id, Service.title)).all())
    return [
        AgreementRow(
            a,
            names.get(a.from_department_id, "A removed department"),
            names.get(a.to_department_id, "A removed department"),
            [titles.get(s, s) for s in a.service_ids or []],
            people.get(a.created_by, "A former colleague") if a.created_by else "Unknown",
            people.get(a.ended_by, "A former colleague") if a.ended_by else None,
        )
        for a in found
    ]


def departments(session: Session) -> list[Department]:
    """Every department, by name."""
    return list(session.exec(select(Department).order_by(col(Department.name), col(Department.id))))


def services_by_department(session: Session, department_ids: list[int]) -> dict[int, list[Service]]:
    """The services of these departments, by title."""
    out: dict[int, list[Service]] = {d: [] for d in department_ids}
    for service in session.exec(
        select(Service).where(col(Service.department_id).in_(department_ids)).order_by(col(Service.title))
    ):
        out.setdefault(service.department_id, []).append(service)
    return out

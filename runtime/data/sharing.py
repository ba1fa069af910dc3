"""Data-sharing agreements as a rule: which other departments' cases about the same person a
department may see today. A department always sees its own; another's only under an agreement
in force (started, not past its end date, not ended), and then only for the services it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_
from sqlmodel import Session, col, select

from ..models import SharingAgreement


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

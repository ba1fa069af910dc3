"""Departments: finding one by its name or slug, making one, and whether a definition may be
saved or published in a department.

Keyword-only functions with an explicit session; the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from .. import slugs
from ..models import Department
from ..problems import Problem

# A service whose definition names no department belongs here, so that some admin can always
# see it in the builder (a service in no department would be invisible to every member of staff).
GENERAL_DEPARTMENT = "General"


def department_slug(name: str) -> str:
    """The slug of a department name: lower-case words joined by hyphens ("adult-social-care")."""
    return slugs.slug(name)


def find_department(*, session: Session, key: str) -> Department | None:
    """A department by its slug or its name (any case, any spacing); a slug stored before the one
    slug rule ("caf-and-leisure-services") is found first, as it always was."""
    candidates = [slug for slug in dict.fromkeys((slugs.legacy_department_slug(key), department_slug(key))) if slug]
    if not candidates:
        return None
    found = {d.slug: d for d in session.exec(select(Department).where(col(Department.slug).in_(candidates)))}
    return next((found[slug] for slug in candidates if slug in found), None)


def department_for_name(*, session: Session, name: str | None) -> Department:
    """The department with this name (matched by slug), made if missing; no name: "General"."""
    clean = " ".join((name or "").split())[:200]
    if not department_slug(clean):
        clean = GENERAL_DEPARTMENT
    found = find_department(session=session, key=clean)
    if found is not None:
        return found
    department = Department(slug=department_slug(clean), name=clean)
    try:
        with session.begin_nested():
            session.add(department)
    except IntegrityError:
        # Made a moment ago by another request loading the same name.
        found = find_department(session=session, key=clean)
        assert found is not None
        return found
    return department


def named_department(*, session: Session, name: Any) -> Department | None:
    """The department a definition's ``department`` text names (no text: "General"); never made.

    Publishing, the builder and ``civicforms load`` find departments with this: only
    ``department_for_name`` (``civicforms users create --create-department``, ``civicforms load
    --create-departments``) makes one.
    """
    if name is not None and not isinstance(name, str):
        return None
    clean = " ".join((name or "").split())[:200]
    return find_department(session=session, key=clean if department_slug(clean) else GENERAL_DEPARTMENT)


def shown(text: Any, limit: int = 80) -> str:
    """A definition's text as quoted in a message: one line, at most ``limit`` characters."""
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


MOVE_HINT = (
    'To move the service, someone who is an admin or designer in both departments uses "Move to another '
    "department\" on the service's page in the builder"
)


def department_problem(*, session: Session, doc: dict[str, Any], department_id: int) -> Problem | None:
    """Why ``doc`` may not be saved or published as a service of department ``department_id``
    (None: it may). A definition without a department is taken to be in its draft's department
    (the builder writes the name in when it publishes)."""
    if "department" not in doc:
        return None
    department = session.get(Department, department_id)
    assert department is not None, "a draft's department always exists (a foreign key)"
    named = named_department(session=session, name=doc["department"])
    if named is not None and named.id == department_id:
        return None
    return Problem(
        "$.department",
        f'must stay "{department.name}", the department this service belongs to: editing the definition '
        f"cannot move a service. {MOVE_HINT}",
    )


def departments(*, session: Session, ids: list[int] | None = None) -> list[Department]:
    """Every department (or those with these ids), by name."""
    query = select(Department).order_by(col(Department.name))
    if ids is not None:
        query = query.where(col(Department.id).in_(ids))
    return list(session.exec(query))

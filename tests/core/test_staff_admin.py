"""The rules an admin works under (runtime/staff.py), without a web server: the last admin of a
department stays one, nobody demotes or deactivates themselves, account-wide actions need every
department; and the list the users page pages through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session

from runtime import db as dbmod
from runtime import staff as core
from runtime.data.departments import department_for_name
from runtime.models import StaffUser, utcnow
from tests.conftest import StaffFactory
from tests.core.test_staff import count_queries


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = dbmod.make_engine(database_url)
    with dbmod.session(engine) as s:
        yield s
    engine.dispose()


def _department(session: Session, name: str) -> int:
    found = department_for_name(session=session, name=name)
    session.commit()
    assert found.id is not None
    return found.id


def _roles(session: Session, user_id: int, department_id: int) -> frozenset[str]:
    session.expire_all()
    return core.roles_by_department(session, user_id).get(department_id, frozenset())


def test_the_last_active_admin_keeps_the_role(session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", name="Ada Admin", role="admin")
    assert ada.id is not None
    highways = _department(session, "Highways")
    with pytest.raises(core.StaffError, match="Ada Admin is the only admin of Highways") as raised:
        core.set_roles(session=session, user_id=ada.id, department_id=highways, roles={"designer"})
    assert raised.value.field == "roles"
    session.rollback()
    assert _roles(session, ada.id, highways) == {"admin"}
    with pytest.raises(core.StaffError, match="only admin of Highways"):
        core.set_roles(session=session, user_id=ada.id, department_id=highways, roles=set())
    session.rollback()
    with pytest.raises(core.StaffError, match="only admin of Highways"):
        core.deactivate(session=session, user_id=ada.id)
    session.rollback()
    session.expire_all()
    ada_row = session.get(StaffUser, ada.id)
    assert ada_row is not None and ada_row.active is True
    # Other roles beside admin can change freely.
    core.set_roles(session=session, user_id=ada.id, department_id=highways, roles={"admin", "reviewer"})
    session.commit()
    assert _roles(session, ada.id, highways) == {"admin", "reviewer"}


def test_a_deactivated_admin_does_not_count(session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", name="Ada Admin", role="admin")
    bo = staff(email="bo@example.gov.uk", name="Bo Admin", role="admin")
    assert ada.id is not None and bo.id is not None
    highways = _department(session, "Highways")
    core.deactivate(session=session, user_id=bo.id, by=ada.id)
    session.commit()
    with pytest.raises(core.StaffError, match="Ada Admin is the only admin of Highways"):
        core.deactivate(session=session, user_id=ada.id)
    session.rollback()
    # Bo, deactivated, may lose the admin role: Ada is still an active admin.
    core.set_roles(session=session, user_id=bo.id, department_id=highways, roles={"designer"}, by=ada.id)
    session.commit()
    assert _roles(session, bo.id, highways) == {"designer"}
    assert core.active_admin_ids(session=session, department_id=highways) == {ada.id}


def test_with_a_second_admin_either_can_be_demoted_by_the_other(session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", name="Ada Admin", role="admin")
    bo = staff(email="bo@example.gov.uk", name="Bo Admin", role="admin")
    assert ada.id is not None and bo.id is not None
    highways = _department(session, "Highways")
    core.set_roles(session=session, user_id=bo.id, department_id=highways, roles={"reviewer"}, by=ada.id)
    session.commit()
    assert _roles(session, bo.id, highways) == {"reviewer"}
    # Now Ada is the last one: Bo, made admin again, may not take it back from her either.
    with pytest.raises(core.StaffError, match="only admin"):
        core.set_roles(session=session, user_id=ada.id, department_id=highways, roles={"designer"}, by=bo.id)
    session.rollback()


def test_nobody_removes_their_own_admin_role_or_deactivates_themselves(session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", name="Ada Admin", role="admin")
    staff(email="bo@example.gov.uk", name="Bo Admin", role="admin")
    assert ada.id is not None
    highways = _department(session, "Highways")
    with pytest.raises(core.StaffError, match="You cannot remove your own admin role"):
        core.set_roles(session=session, user_id=ada.id, department_id=highways, roles={"designer"}, by=ada.id)
    session.rollback()
    with pytest.raises(core.StaffError, match="You cannot deactivate your own account"):
        core.deactivate(session=session, user_id=ada.id, by=ada.id)
    session.rollback()
    session.expire_all()
    assert _roles(session, ada.id, highways) == {"admin"}
    ada_row = session.get(StaffUser, ada.id)
    assert ada_row is not None and ada_row.active
    # Adding a role to themselves is not removing one.
    core.set_roles(session=session, user_id=ada.id, department_id=highways, roles={"admin", "designer"}, by=ada.id)
    session.commit()
    assert _roles(session, ada.id, highways) == {"admin", "designer"}


def test_deactivating_checks_every_department_the_person_administers(session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", name="Ada Admin", role="admin", roles={"Revenues": ["admin"]})
    staff(email="bo@example.gov.uk", name="Bo Admin", role="admin")  # a second admin of Highways only
    assert ada.id is not None
    with pytest.raises(core.StaffError, match="only admin of Revenues"):
        core.deactivate(session=session, user_id=ada.id)
    session.rollback()


def test_account_wide_actions_need_an_admin_of_every_department(session: Session, staff: StaffFactory) -> None:
    ada = staff(email="ada@example.gov.uk", name="Ada Admin", role="admin")
    dana = staff(email="dana@example.gov.uk", name="Dana Designer", roles={"Revenues": ["admin"]})
    cal = staff(email="cal@example.gov.uk", name="Cal Designer")
    assert ada.id is not None and dana.id is not None and cal.id is not None
    assert core.administers_all_departments_of(session=session, admin_id=ada.id, user_id=cal.id)
    assert not core.administers_all_departments_of(session=session, admin_id=ada.id, user_id=dana.id)
    assert not core.administers_all_departments_of(session=session, admin_id=cal.id, user_id=ada.id)
    # Someone with no role anywhere is nobody's to manage from the users page.
    highways = _department(session, "Highways")
    core.set_roles(session=session, user_id=cal.id, department_id=highways, roles=set())
    session.commit()
    assert not core.administers_all_departments_of(session=session, admin_id=ada.id, user_id=cal.id)


def test_the_list_pages_and_says_each_state(session: Session, staff: StaffFactory) -> None:
    for i in range(7):
        staff(email=f"person{i}@example.gov.uk", name=f"Person {i}")
    invited = staff(email="zara@example.gov.uk", name="Zara Invited", password=None)
    staff(email="other@example.gov.uk", name="Other", department="Revenues")
    highways = _department(session, "Highways")
    assert core.count_users(session=session, department_ids=[highways]) == 8
    assert core.count_users(session=session) == 9
    statements = count_queries(session)
    first = core.list_users(session=session, department_ids=[highways], limit=3)
    assert len(statements) == 2, statements
    second = core.list_users(session=session, department_ids=[highways], offset=3, limit=3)
    last = core.list_users(session=session, department_ids=[highways], offset=6, limit=3)
    assert [u.name for u in first + second + last] == [*(f"Person {i}" for i in range(7)), "Zara Invited"]
    zara = last[-1]
    assert zara.setup_link_pending and not zara.has_password
    assert zara.department_roles == {highways: ("designer",)}
    assert first[0].setup_link_pending is False and first[0].locked_until is None
    # Locked, then the lock over; an expired link is not pending.
    person = session.get(StaffUser, first[0].id)
    assert person is not None
    person.locked_until = utcnow() + timedelta(minutes=10)
    session.add(person)
    assert invited.id is not None
    core.issue_setup_token(session=session, user=session.get(StaffUser, invited.id), days=-1)  # type: ignore[arg-type]
    session.commit()
    found = {u.id: u for u in core.list_users(session=session, user_ids=[first[0].id, invited.id])}
    assert found[first[0].id].locked and found[first[0].id].locked_until is not None
    assert found[invited.id].setup_link_pending is False
    person.locked_until = utcnow() - timedelta(minutes=1)
    session.add(person)
    session.commit()
    assert core.list_users(session=session, user_ids=[first[0].id])[0].locked_until is None

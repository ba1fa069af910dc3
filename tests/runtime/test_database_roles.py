"""The application as a PostgreSQL role that does not own the tables (issue 13, finding 4).

deploy/postgres-roles.sql is run as the README says (psql, as the owner of the tables) for a
role made here; connected as that role, the use cases write what they write (a submission, its
case and audit log, staff sign-in and sessions, the outbox), and the audit log cannot be
changed, emptied or unprotected: UPDATE, DELETE and TRUNCATE are refused, and so is any DDL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from runtime import db as dbmod
from runtime import staff as core
from runtime.settings import PROJECT_ROOT
from tests.runtime.test_cases import World

ROLES_SQL = PROJECT_ROOT / "deploy" / "postgres-roles.sql"
APP_ROLE = f"cf_app_{os.getpid()}"


def _schema(url: str) -> str:
    return url.rsplit("search_path%3D", 1)[1].split("&", 1)[0]


@pytest.fixture
def app_engine(database_url: str) -> Iterator[Engine]:
    """An engine connected as a new login role granted what deploy/postgres-roles.sql grants."""
    if not database_url.startswith("postgresql"):
        pytest.skip("database roles are PostgreSQL's (SQLite has none: the file's permissions are the guard)")
    psql = shutil.which("psql")
    assert psql, "psql (PostgreSQL's client) is needed to run deploy/postgres-roles.sql as IT would"
    owner = dbmod.make_engine(database_url, poolclass=NullPool)
    with owner.begin() as conn:
        conn.execute(text(f'DROP ROLE IF EXISTS "{APP_ROLE}"'))
        conn.execute(text(f'CREATE ROLE "{APP_ROLE}" LOGIN'))
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(
        [psql, libpq, "-q", "-v", f"app_role={APP_ROLE}", "-v", f"schema={_schema(database_url)}", "-f", ROLES_SQL],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    engine = dbmod.make_engine(
        make_url(database_url).set(username=APP_ROLE).render_as_string(hide_password=False), poolclass=NullPool
    )
    yield engine
    engine.dispose()
    with owner.begin() as conn:
        conn.execute(text(f'DROP OWNED BY "{APP_ROLE}"'))
        conn.execute(text(f'DROP ROLE "{APP_ROLE}"'))
    owner.dispose()


def test_the_app_role_writes_what_the_application_writes(app_engine: Engine) -> None:
    with app_engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == APP_ROLE
        assert (
            conn.execute(
                text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
            ).scalar_one()
            is False
        )
    world = World(app_engine)  # departments and staff
    case_id = world.new_case()  # a submission, its case, the audit log and the outbox
    world.act(case_id, world.caseworker, "reject", "Not eligible")
    assert [e[0] for e in world.events(case_id)] == ["submitted", "reject"]
    assert world.outbox()
    with dbmod.session(app_engine) as s:
        made = core.create_user(
            session=s,
            email="dana@example.gov.uk",
            name="Dana",
            department_id=world.department_id,
            role="designer",
            password="correct horse battery staple",
        )
        s.commit()
        for email in ("dana@example.gov.uk", "nobody@example.gov.uk"):  # failures counted, for both
            with pytest.raises(core.SignInError):
                core.check_password_sign_in(session=s, email=email, password="wrong password!")
            s.commit()
        user = core.check_password_sign_in(
            session=s, email="dana@example.gov.uk", password="correct horse battery staple"
        )
        core.record_sign_in(session=s, user=user)
        token = core.start_session(session=s, user=user, max_age_minutes=480)
        s.commit()
        assert core.session_user(session=s, token=token) is not None
        core.set_password(session=s, user=made.user, password="another good password")  # ends its sessions
        s.commit()
        assert core.session_user(session=s, token=token) is None


def test_the_app_role_may_write_every_table_but_only_add_to_the_audit_log(app_engine: Engine) -> None:
    """Every table of the models is granted (a new table without its grant fails here)."""
    with app_engine.connect() as conn:
        for table in SQLModel.metadata.tables:
            rights = {
                right: conn.execute(
                    text("SELECT has_table_privilege(current_user, :t, :r)"), {"t": table, "r": right}
                ).scalar_one()
                for right in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
            }
            expected = {"SELECT": True, "INSERT": True, "UPDATE": True, "DELETE": True, "TRUNCATE": False}
            if table in ("case_event", "record_event", "access_log"):  # the audit logs
                expected |= {"UPDATE": False, "DELETE": False}
            assert rights == expected, table


REFUSED = [
    "TRUNCATE case_event",
    "TRUNCATE case_record CASCADE",
    "DELETE FROM case_event",
    "UPDATE case_event SET detail = NULL",
    "UPDATE record_event SET detail = NULL",
    "DELETE FROM record_event",
    "TRUNCATE record_event",
    "UPDATE access_log SET staff_id = staff_id",
    "DELETE FROM access_log",
    "TRUNCATE access_log",
    "DROP TABLE case_event",
    "ALTER TABLE case_event DISABLE TRIGGER ALL",
    "ALTER TABLE case_event ADD COLUMN note text",
    "DROP TRIGGER case_event_append_only ON case_event",
    "DROP TRIGGER case_event_no_truncate ON case_event",
    "DROP FUNCTION case_event_append_only() CASCADE",
    "CREATE TABLE case_event_copy (id int)",
    "TRUNCATE submission CASCADE",
    "DROP TABLE submission CASCADE",
]


def test_the_app_role_cannot_empty_change_or_unprotect_the_audit_log(app_engine: Engine) -> None:
    world = World(app_engine)
    case_id = world.new_case()
    world.act(case_id, world.caseworker, "reject", "Not eligible")
    before = world.events(case_id)
    for statement in REFUSED:
        with app_engine.connect() as conn:
            with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                conn.execute(text(statement))
            conn.rollback()
    assert world.events(case_id) == before
    assert [e[0] for e in before] == ["submitted", "reject"]

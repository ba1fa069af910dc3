"""The data model a DBA would sign (issue 14, migration 0006): fixed-value columns refuse other
values, a case's copies of its submission cannot drift, possible matches are rows with foreign
keys, every service has a department, the identifier lookup uses the (kind, value) index, and
no migration imports the application."""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.exc import IntegrityError

from runtime import citizens, outbox, roles
from runtime import db as dbmod
from runtime.data import citizens as citizen_data
from runtime.models import ACTOR_KINDS, CANDIDATE_STATUSES, IDENTIFIER_KINDS, OUTBOX_STATUSES, CitizenIdentifier
from runtime.settings import PROJECT_ROOT
from tests.conftest import PG_URL

NOW = datetime(2026, 12, 5, tzinfo=UTC)
VERSIONS = PROJECT_ROOT / "migrations" / "versions"


@pytest.fixture
def conn(database_url: str) -> Iterator[Connection]:
    engine = dbmod.make_engine(database_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _refused(conn: Connection, sql: str, **params: Any) -> None:
    """The statement is refused by a constraint, and nothing of it is kept."""
    with pytest.raises(IntegrityError):
        with conn.begin_nested():
            conn.execute(text(sql), params)


def _citizen(conn: Connection) -> int:
    conn.execute(text("INSERT INTO citizen (created_at) VALUES (:now)"), {"now": NOW})
    return int(conn.execute(text("SELECT max(id) FROM citizen")).scalar_one())


def _case(conn: Connection) -> dict[str, Any]:
    """A submission and its case, written as the application writes them."""
    citizen = _citizen(conn)
    version = conn.execute(text("SELECT current_version, department_id FROM service WHERE id = 'blue-badge'")).one()
    row = {
        "ref": "BB-TEST-1",
        "service": "blue-badge",
        "version": version[0],
        "department": version[1],
        "citizen": citizen,
        "now": NOW,
    }
    conn.execute(
        text(
            "INSERT INTO submission (reference, service_id, service_version, definition_hash, citizen_id, answers, "
            "submitted_at) VALUES (:ref, :service, :version, 'h', :citizen, '{}', :now)"
        ),
        row,
    )
    row["submission"] = conn.execute(text("SELECT id FROM submission WHERE reference = :ref"), row).scalar_one()
    conn.execute(
        text(
            "INSERT INTO case_record (submission_id, reference, service_id, service_version, department_id, state, "
            "lock_version, citizen_id, status_key, entered_state_at, escalated, waiting_for_citizen, created_at) "
            "VALUES (:submission, :ref, :service, :version, :department, 'new', 1, :citizen, 'key', :now, "
            "false, false, :now)"
        ),
        row,
    )
    row["case"] = conn.execute(text("SELECT id FROM case_record WHERE reference = :ref"), row).scalar_one()
    return row


def test_fixed_value_columns_refuse_any_other_value(conn: Connection) -> None:
    with conn.begin():
        citizen = _citizen(conn)
        conn.execute(
            text(
                "INSERT INTO citizen_identifier (citizen_id, kind, value, created_at) VALUES (:c, 'email', 'a@b', :n)"
            ),
            {"c": citizen, "n": NOW},
        )
        for kind in ("possible_match", "Email", "", "email "):
            _refused(
                conn,
                "INSERT INTO citizen_identifier (citizen_id, kind, value, created_at) VALUES (:c, :k, 'x', :n)",
                c=citizen,
                k=kind,
                n=NOW,
            )
        outbox_sql = (
            "INSERT INTO outbox (kind, recipient, subject, body, created_at, status, attempts, next_attempt_at) "
            "VALUES ('submitted', 'a@b', 's', 'b', :n, :s, 0, :n)"
        )
        conn.execute(text(outbox_sql), {"n": NOW, "s": "pending"})
        for status in ("lost", "PENDING", "sent "):
            _refused(conn, outbox_sql, n=NOW, s=status)
        case = _case(conn)
        event_sql = "INSERT INTO case_event (case_id, at, actor_kind, action) VALUES (:c, :n, :k, 'submitted')"
        conn.execute(text(event_sql), {"c": case["case"], "n": NOW, "k": "citizen"})
        for kind in ("robot", "Staff", ""):
            _refused(conn, event_sql, c=case["case"], n=NOW, k=kind)
        conn.execute(
            text(
                "INSERT INTO staff_user (email, name, active, failed_sign_ins, created_at) "
                "VALUES ('s@x', 'S', true, 0, :n)"
            ),
            {"n": NOW},
        )
        user = conn.execute(text("SELECT id FROM staff_user WHERE email = 's@x'")).scalar_one()
        role_sql = "INSERT INTO staff_role (user_id, department_id, role) VALUES (:u, :d, :r)"
        conn.execute(text(role_sql), {"u": user, "d": case["department"], "r": "caseworker"})
        for role in ("superuser", "Admin", "admin; drop table staff_role"):
            _refused(conn, role_sql, u=user, d=case["department"], r=role)
        conn.rollback()


def test_a_match_candidate_names_two_existing_records_lower_first(conn: Connection) -> None:
    with conn.begin():
        a, b = _citizen(conn), _citizen(conn)
        sql = (
            "INSERT INTO match_candidate (citizen_id, other_citizen_id, evidence, status, created_at) "
            "VALUES (:a, :b, '{}', :s, :n)"
        )
        conn.execute(text(sql), {"a": a, "b": b, "s": "pending", "n": NOW})
        _refused(conn, sql, a=a, b=b, s="pending", n=NOW)  # once per pair
        _refused(conn, sql, a=b, b=a, s="pending", n=NOW)  # the lower id first
        _refused(conn, sql, a=a, b=a, s="pending", n=NOW)  # never a record with itself
        _refused(conn, sql, a=a, b=b + 1000, s="pending", n=NOW)  # no such record
        _refused(conn, sql, a=a, b=b + 1, s="maybe", n=NOW)  # not a status
        conn.rollback()


def test_a_case_cannot_disagree_with_its_submission(conn: Connection) -> None:
    with conn.begin():
        case = _case(conn)
        other = _citizen(conn)
        for column, value in (
            ("reference", "BB-OTHER"),
            ("citizen_id", other),
            ("service_version", case["version"] + 1),
            ("service_id", "missed-bin-collection"),
            ("submission_id", case["submission"] + 1),
        ):
            _refused(conn, f"UPDATE case_record SET {column} = :v WHERE id = :id", v=value, id=case["case"])
        # A record merge moves the submission to another citizen: its case follows.
        conn.execute(
            text("UPDATE submission SET citizen_id = :c WHERE id = :id"), {"c": other, "id": case["submission"]}
        )
        moved = conn.execute(text("SELECT citizen_id FROM case_record WHERE id = :id"), {"id": case["case"]})
        assert moved.scalar_one() == other
        conn.rollback()


def test_every_service_has_a_department(conn: Connection) -> None:
    with conn.begin():
        _refused(conn, "UPDATE service SET department_id = NULL WHERE id = 'blue-badge'")
        conn.rollback()


def _check_values(connection: Connection, table: str, name: str) -> set[str]:
    found = {c["name"]: c["sqltext"] for c in inspect(connection).get_check_constraints(table)}
    assert name in found, f"{table} has no CHECK {name}: {list(found)}"
    return set(re.findall(r"'([^']*)'", str(found[name])))


def test_the_check_constraints_hold_exactly_the_constants(conn: Connection) -> None:
    """The migration spells the values out; they must be what the application writes."""
    kinds = set(citizens.KINDS)
    assert set(IDENTIFIER_KINDS) == kinds
    assert set(OUTBOX_STATUSES) == {outbox.PENDING, outbox.SENT, outbox.FAILED, outbox.HELD, outbox.DIGESTED}
    assert _check_values(conn, "citizen_identifier", "ck_citizen_identifier_kind") == kinds
    assert _check_values(conn, "match_candidate", "ck_match_candidate_status") == set(CANDIDATE_STATUSES)
    assert _check_values(conn, "outbox", "ck_outbox_status") == set(OUTBOX_STATUSES)
    assert _check_values(conn, "case_event", "ck_case_event_actor_kind") == set(ACTOR_KINDS)
    assert _check_values(conn, "staff_role", "ck_staff_role_role") == set(roles.ROLES)


def test_every_actor_kind_the_application_writes_is_allowed() -> None:
    source = (PROJECT_ROOT / "runtime" / "cases.py").read_text()
    written = set(re.findall(r'\bkind="(staff|citizen|system|[a-z]+)",\s*\n?\s*action=', source))
    written |= set(re.findall(r'kind="(\w+)" if by is not None else "(\w+)"', source)[0])
    assert written and written <= set(ACTOR_KINDS)


def test_no_migration_imports_application_code() -> None:
    """A migration must do tomorrow what it did the day it was written: it imports neither
    the runtime nor the builder (a copy of what it needs lives in the migration)."""
    offenders = []
    for path in sorted(VERSIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else ["." * node.level + (node.module or "")]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("runtime", "builder", "")]
    assert offenders == []


def test_migration_0004_makes_the_search_keys_runtime_makes() -> None:
    """0004's copy of the name keys (it no longer imports runtime.cases) gives the same keys."""
    from runtime.citizens import name_keys

    spec = importlib.util.spec_from_file_location("m0004", next(VERSIONS.glob("0004_*.py")))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = [
        None,
        "",
        "   ",
        "José García",
        "Siobhán O\u2019Neill-Brown",
        "ŁUKASZ  żółć",
        "李 小龍",
        "a" * 500,
        "Ann-Marie d'Arcy\u2014Smith",
        "x\u0301\u0327 y",
    ]
    for name in names:
        assert module.name_keys(name) == name_keys(name), name
    assert len(module.new_status_key()) == 22


def _lookup_sql(connection: Connection, keys: list[tuple[str, str]]) -> str:
    statement = select(CitizenIdentifier).where(citizen_data.identifier_lookup(keys))
    return str(statement.compile(connection, compile_kwargs={"literal_binds": True}))


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's plan; set TEST_DATABASE_URL")
def test_the_identifier_lookup_uses_the_kind_value_index_on_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    engine = dbmod.make_engine(database_url)
    keys = [
        ("nhs_number", "4010232137"),
        ("email", "vera@example.com"),
        ("date_of_birth", "1970-01-01"),
    ]
    with engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))  # a small table: ask whether the index CAN be used
        plan = "\n".join(row[0] for row in connection.execute(text("EXPLAIN " + _lookup_sql(connection, keys))))
        connection.execute(text("SET enable_seqscan = on"))
        # And the old shape (value IN (...), no kind) cannot use it: the reason for the change.
        old = select(CitizenIdentifier).where(CitizenIdentifier.value.in_([v for _, v in keys]))  # type: ignore[attr-defined]
        connection.execute(text("SET enable_seqscan = off"))
        old_sql = str(old.compile(connection, compile_kwargs={"literal_binds": True}))
        old_plan = "\n".join(row[0] for row in connection.execute(text("EXPLAIN " + old_sql)))
        connection.rollback()
    engine.dispose()
    assert "ix_citizen_identifier_kind_value" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "Index Cond" in plan and "kind" in plan.split("Index Cond", 1)[1], plan
    assert "Index Cond" not in old_plan or "kind" not in old_plan.split("Index Cond", 1)[1], old_plan


def test_the_identifier_lookup_names_each_kind_with_its_value(conn: Connection) -> None:
    sql = _lookup_sql(conn, [("email", "a@b"), ("nhs_number", "4010232137")])
    where = sql.split("WHERE", 1)[1]
    assert re.search(r"kind = 'email' AND citizen_identifier\.value = 'a@b'", where), where
    assert re.search(r"kind = 'nhs_number' AND citizen_identifier\.value = '4010232137'", where), where
    assert " IN " not in where

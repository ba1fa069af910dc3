"""The audit log (case_event) is append only: the database refuses UPDATE, DELETE and
TRUNCATE on SQLite and PostgreSQL, and no code in runtime/ issues any (the application's
database role is tested in test_database_roles.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from runtime import db as dbmod
from runtime.settings import PROJECT_ROOT
from tests.runtime.test_cases import World


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    engine = dbmod.make_engine(database_url)
    yield World(engine)
    engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE case_event SET detail = NULL WHERE case_id = :case",
        "UPDATE case_event SET action = 'approve', to_state = 'approved'",
        "DELETE FROM case_event WHERE case_id = :case",
        "DELETE FROM case_event",
    ],
)
def test_the_database_refuses_to_change_or_remove_an_event(world: World, statement: str) -> None:
    case_id = world.new_case()
    world.act(case_id, world.caseworker, "reject", "Not eligible")
    before = world.events(case_id)
    with world.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only audit log"):
            conn.execute(text(statement), {"case": case_id})
        conn.rollback()
    assert world.events(case_id) == before
    with world.engine.connect() as conn:
        comments = conn.execute(text("SELECT text FROM case_event_comment")).scalars().all()
    assert comments == ["Not eligible"]


# case_event_comment refers to case_event (migration 0008): truncating the log alone would be
# refused for that reason first, so it is named with it.
@pytest.mark.parametrize(
    "statement", ["TRUNCATE case_event, case_event_comment", "TRUNCATE case_record, case_event CASCADE"]
)
def test_truncate_is_refused_even_to_the_owner(world: World, statement: str) -> None:
    """Row triggers do not fire on TRUNCATE: a statement trigger (migration 0005) refuses it on
    PostgreSQL, to the tables' owner too (here the test server's superuser). SQLite has no
    TRUNCATE; its nearest, DELETE without WHERE, is refused above: a DELETE trigger turns off
    SQLite's truncate optimisation, so the row trigger runs."""
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (DELETE FROM case_event is tested above)")
    case_id = world.new_case()
    world.act(case_id, world.caseworker, "reject", "Not eligible")
    before = world.events(case_id)
    with world.engine.connect() as conn:
        assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()
        with pytest.raises(DBAPIError, match="append-only audit log: TRUNCATE refused"):
            conn.execute(text(statement))
        conn.rollback()
    assert world.events(case_id) == before and len(before) == 2


def test_delete_without_where_visits_every_row_on_sqlite(world: World) -> None:
    """The truncate optimisation is off for case_event: SQLite's plan for DELETE without WHERE
    scans the table (so the row trigger fires) rather than clearing it in one step."""
    if world.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's truncate optimisation")
    world.new_case()
    with world.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN DELETE FROM case_event").all()
        opcodes = {row[1] for row in plan}
        assert "Program" in opcodes, "the DELETE trigger runs as a sub-program for each row"
        assert "Clear" not in opcodes, "a Clear opcode would empty the table without visiting rows"
        with pytest.raises(DBAPIError, match="append-only audit log"):
            conn.exec_driver_sql("DELETE FROM case_event")
        conn.rollback()


def test_inserting_events_still_works(world: World) -> None:
    case_id = world.new_case()
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO case_event (case_id, at, actor_kind, action) "
                "VALUES (:case, CURRENT_TIMESTAMP, 'system', 'note')"
            ),
            {"case": case_id},
        )
    assert [e[0] for e in world.events(case_id)] == ["submitted", "note"]


# What changing or removing an event would look like in this code base: the ORM's update()
# and delete() on the model, session.delete of an event, or SQL text naming the table; for the
# three append-only logs (the case log, the records' log and the access log).
_MODELS = r"(CaseEvent|RecordEvent|AccessLog)"
_TABLES = r"(case_event|record_event|access_log)"
_FORBIDDEN = [
    re.compile(rf"\b(update|delete)\(\s*{_MODELS}\b"),
    re.compile(rf"(?i)\b(update\s+{_TABLES}|delete\s+from\s+{_TABLES}|truncate\s+(table\s+)?{_TABLES})\b"),
    re.compile(r"session\.delete\(\s*(event|ev|e|case_event|record_event|access_log)\b"),
    re.compile(rf"{_MODELS}\.__table__\.(update|delete)"),
    re.compile(rf"SQLModel\.metadata\.tables\[\s*[\"']{_TABLES}[\"']\s*\]\.(update|delete)"),
]


def test_no_code_in_runtime_updates_or_deletes_an_event() -> None:
    offenders = []
    for path in sorted((PROJECT_ROOT / "runtime").rglob("*.py")):
        source = path.read_text()
        for pattern in _FORBIDDEN:
            for match in pattern.finditer(source):
                line = source.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{line}: {match.group(0)}")
    assert offenders == []


def test_the_scan_would_see_an_update_or_delete() -> None:
    samples = [
        "session.exec(update(CaseEvent).where(x).values(comment=''))",
        "session.exec(delete( CaseEvent))",
        'text("DELETE FROM case_event WHERE id = 1")',
        'conn.exec_driver_sql("update case_event set comment = null")',
        "session.delete(event)",
        "CaseEvent.__table__.delete()",
        "session.exec(update(RecordEvent).values(detail=None))",
        "session.exec(delete(AccessLog).where(AccessLog.id == 1))",
        'text("DELETE FROM access_log")',
        'conn.exec_driver_sql("UPDATE record_event SET detail = NULL")',
        'text("TRUNCATE TABLE access_log")',
        "AccessLog.__table__.update()",
        "SQLModel.metadata.tables['record_event'].delete()",
    ]
    for sample in samples:
        assert any(p.search(sample) for p in _FORBIDDEN), sample


# -- the records' log and the access log (migration 0008): append only as the case log ----------


def _log_rows(world: World) -> dict[str, list[tuple]]:
    with world.engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()]
            for table in ("record_event", "access_log")
        }


@pytest.fixture
def logged(world: World) -> World:
    """One row in each of record_event and access_log, about a case's citizen record."""
    case_id = world.new_case()
    with world.engine.begin() as conn:
        citizen = conn.execute(text("SELECT citizen_id FROM case_record WHERE id = :c"), {"c": case_id}).scalar_one()
        conn.execute(
            text(
                "INSERT INTO record_event (citizen_id, at, actor_id, actor_kind, action) "
                "VALUES (:citizen, CURRENT_TIMESTAMP, :staff, 'staff', 'link')"
            ),
            {"citizen": citizen, "staff": world.caseworker},
        )
        conn.execute(
            text(
                "INSERT INTO access_log (at, staff_id, citizen_id, case_id, action) "
                "VALUES (CURRENT_TIMESTAMP, :staff, :citizen, :case, 'view-case')"
            ),
            {"citizen": citizen, "staff": world.caseworker, "case": case_id},
        )
    return world


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE record_event SET detail = NULL",
        "UPDATE record_event SET action = 'split', actor_id = NULL",
        "DELETE FROM record_event WHERE id = (SELECT MIN(id) FROM record_event)",
        "DELETE FROM record_event",
        "UPDATE access_log SET staff_id = staff_id",
        "UPDATE access_log SET case_id = NULL, citizen_id = NULL",
        "DELETE FROM access_log WHERE action = 'view-case'",
        "DELETE FROM access_log",
    ],
)
def test_the_database_refuses_to_change_the_records_log_or_the_access_log(logged: World, statement: str) -> None:
    before = _log_rows(logged)
    assert all(rows for rows in before.values())
    table = statement.split()[1] if statement.startswith("UPDATE") else statement.split()[2]
    with logged.engine.connect() as conn:
        with pytest.raises(DBAPIError, match=f"{table} is an append-only audit log"):
            conn.execute(text(statement))
        conn.rollback()
    assert _log_rows(logged) == before


@pytest.mark.parametrize(
    "statement", ["TRUNCATE record_event", "TRUNCATE access_log", "TRUNCATE citizen, record_event, access_log CASCADE"]
)
def test_truncating_the_records_log_or_the_access_log_is_refused(logged: World, statement: str) -> None:
    if logged.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (DELETE without WHERE is tested above)")
    before = _log_rows(logged)
    with logged.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only audit log: TRUNCATE refused"):
            conn.execute(text(statement))
        conn.rollback()
    assert _log_rows(logged) == before

"""Migrations: one head, named in a committed file, and no drift between models and migrations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import SQLModel

import runtime.models  # noqa: F401
from runtime import db as dbmod
from runtime.settings import PROJECT_ROOT
from tests.conftest import BACKENDS, DEFINITIONS, PG_URL, SERVICE_IDS


def test_committed_head_file_names_the_single_head() -> None:
    """Two branches adding migrations collide in this file as a merge conflict, not as two heads."""
    script = ScriptDirectory.from_config(dbmod.alembic_config("sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    committed = (PROJECT_ROOT / "migrations" / ".current-alembic-head").read_text().strip()
    assert committed == heads[0], "update migrations/.current-alembic-head to the new head"


def test_migration_files_are_numbered_in_order() -> None:
    files = sorted(p.name for p in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"))
    numbers = [int(name.split("_", 1)[0]) for name in files]
    assert numbers == list(range(1, len(files) + 1))


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    """`alembic check`: the migrated database matches the SQLModel tables exactly."""
    command.check(dbmod.alembic_config(database_url))


def test_upgrade_creates_every_table_and_downgrade_removes_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    dbmod.upgrade(url)
    engine = dbmod.make_engine(url)
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    command.downgrade(dbmod.alembic_config(url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    dbmod.upgrade(url)
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) on each backend under test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"cf_migrate_{os.getpid()}"
    admin = dbmod.make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _insert_0001_data(url: str) -> None:
    """What a database at 0001 holds: the shipped services and a submission for each."""
    engine = dbmod.make_engine(url)
    with engine.begin() as conn:
        for i, path in enumerate(sorted(DEFINITIONS.glob("*.json")), start=1):
            doc = json.loads(path.read_text())
            when = datetime(2026, 1, 1, tzinfo=UTC)
            row = {"id": doc["id"], "version": doc["version"], "title": doc["title"], "when": when}
            conn.execute(
                text("INSERT INTO service VALUES (:id, :title, 'd', true, :version, :when)"),
                row,
            )
            conn.execute(
                text(
                    "INSERT INTO service_version (service_id, version, content_hash, definition, published_at) "
                    "VALUES (:id, :version, 'h', :doc, :when)"
                ),
                {**row, "doc": json.dumps(doc)},
            )
            conn.execute(text("INSERT INTO citizen (id, created_at) VALUES (:i, :when)"), {"i": i, "when": when})
            conn.execute(
                text(
                    "INSERT INTO submission (reference, service_id, service_version, definition_hash, citizen_id, "
                    "answers, submitted_at) VALUES (:ref, :id, :version, 'h', :i, '{}', :when)"
                ),
                {**row, "ref": f"REF-{i}", "i": i},
            )
    engine.dispose()


def test_0002_upgrades_a_database_with_data_and_downgrades_it(empty_database_url: str) -> None:
    """Rebuilding tables that others refer to (SQLite batch mode) keeps every row; services
    land in the department their definition names."""
    url = empty_database_url
    config = dbmod.alembic_config(url)
    command.upgrade(config, "0001")
    _insert_0001_data(url)
    command.upgrade(config, "head")
    engine = dbmod.make_engine(url)
    with engine.connect() as conn:
        departments: dict[str, str] = dict(
            conn.execute(
                text("SELECT service.id, department.name FROM service JOIN department ON department.id = department_id")
            ).all()
        )
        assert departments["blue-badge"] == "Blue Badge Team, Adult Social Care"
        assert departments["missed-bin-collection"] == "Waste and Recycling"
        assert len(departments) == len(SERVICE_IDS)
        assert conn.execute(text("SELECT count(*) FROM submission")).scalar_one() == len(SERVICE_IDS)
        tables = set(inspect(conn).get_table_names())
        assert {
            "department",
            "staff_user",
            "staff_role",
            "staff_setup_token",
            "service_draft",
            "preview_session",
        } <= tables
    command.check(config)
    command.downgrade(config, "0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submission")).scalar_one() == len(SERVICE_IDS)
        assert "staff_user" not in set(inspect(conn).get_table_names())
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_sqlite_foreign_keys_are_on_again_after_migrating(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    dbmod.upgrade(url)
    engine = dbmod.make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    engine.dispose()


def _insert_0005_data(url: str) -> None:
    """A database at 0005 as it can be found: possible matches as marker text on both records
    (one malformed, one naming a record that is gone), services without a department, and a
    case with its audit log."""
    engine = dbmod.make_engine(url)
    when = datetime(2026, 6, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO citizen (id, created_at) VALUES (101, :w), (102, :w), (103, :w)"), {"w": when})
        markers = [
            (101, "email", "vera@example.com"),
            (101, "possible_match", "101:102:nhs_number"),
            (102, "possible_match", "102:101:nhs_number"),
            (103, "possible_match", "103:101:email"),  # marked on one record only
            (103, "possible_match", "not:a:marker"),
            (102, "possible_match", "102:999:email"),  # a record that no longer exists
            (102, "possible_match", "102:103:phone"),  # not a kind matching looks up
        ]
        for citizen_id, kind, value in markers:
            conn.execute(
                text("INSERT INTO citizen_identifier (citizen_id, kind, value, created_at) VALUES (:c, :k, :v, :w)"),
                {"c": citizen_id, "k": kind, "v": value, "w": when},
            )
        # A service published before 0002 and not since, and one naming a department nobody made.
        conn.execute(text("UPDATE service SET department_id = NULL WHERE id = 'blue-badge'"))
        # And one naming, in other case and spacing, a department whose slug another rule made.
        conn.execute(text("INSERT INTO department (slug, name) VALUES ('cafe-and-leisure', 'Café and Leisure')"))
        for service_id, department in (("orphan", "Nowhere In Particular"), ("cafe", " café  AND leisure ")):
            conn.execute(
                text("INSERT INTO service VALUES (:id, 'Orphan', 'd', true, 1, :w, NULL)"),
                {"id": service_id, "w": when},
            )
            conn.execute(
                text(
                    "INSERT INTO service_version (service_id, version, content_hash, definition, published_at) "
                    "VALUES (:id, 1, 'h', :doc, :w)"
                ),
                {"id": service_id, "doc": json.dumps({"department": department}), "w": when},
            )
        sub = conn.execute(
            text("SELECT id, reference, service_id, service_version, citizen_id FROM submission")
        ).first()
        assert sub is not None
        department = conn.execute(text("SELECT min(id) FROM department")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO case_record (submission_id, reference, service_id, service_version, department_id, "
                "state, lock_version, citizen_id, status_key, entered_state_at, escalated, waiting_for_citizen, "
                "created_at) VALUES (:s, :r, :svc, :v, :d, 'new', 1, :c, 'key', :w, false, false, :w)"
            ),
            {"s": sub[0], "r": sub[1], "svc": sub[2], "v": sub[3], "c": sub[4], "d": department, "w": when},
        )
        case_id = conn.execute(text("SELECT id FROM case_record")).scalar_one()
        conn.execute(
            text("INSERT INTO case_event (case_id, at, actor_kind, action) VALUES (:c, :w, 'citizen', 'submitted')"),
            {"c": case_id, "w": when},
        )
    engine.dispose()


def _markers(conn: Any) -> set[tuple[int, str]]:
    return {
        (row[0], row[1])
        for row in conn.execute(
            text("SELECT citizen_id, value FROM citizen_identifier WHERE kind = 'possible_match'")
        ).all()
    }


def _assert_append_only(engine: Any) -> None:
    """case_event's triggers survived (SQLite rebuilds the table to add its CHECK)."""
    for sql in ("UPDATE case_event SET action = 'rewritten'", "DELETE FROM case_event"):
        with engine.connect() as conn:
            with pytest.raises(DatabaseError, match="append-only"):
                conn.execute(text(sql))
            conn.rollback()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT action FROM case_event")).scalars().all() == ["submitted"]


def test_0006_moves_possible_matches_to_their_table_and_back(empty_database_url: str) -> None:
    """Marker text becomes possible_match rows (one per pair), services all get a department,
    the audit log stays append only; downgrading gives the markers back."""
    url = empty_database_url
    config = dbmod.alembic_config(url)
    command.upgrade(config, "0001")
    _insert_0001_data(url)
    command.upgrade(config, "0005")
    _insert_0005_data(url)
    command.upgrade(config, "0006")
    engine = dbmod.make_engine(url)
    with engine.connect() as conn:
        pairs = conn.execute(text("SELECT citizen_id, other_citizen_id, kind FROM possible_match ORDER BY id")).all()
        assert [tuple(p) for p in pairs] == [(101, 102, "nhs_number"), (101, 103, "email")]
        kinds = conn.execute(text("SELECT kind FROM citizen_identifier")).scalars().all()
        assert kinds == ["email"]
        departments: dict[str, str] = dict(
            conn.execute(
                text("SELECT service.id, department.name FROM service JOIN department ON department.id = department_id")
            ).all()
        )
        assert departments["blue-badge"] == "Blue Badge Team, Adult Social Care"  # its definition's, found again
        assert departments["orphan"] == "General"
        assert departments["cafe"] == "Café and Leisure"
        assert conn.execute(text("SELECT count(*) FROM service WHERE department_id IS NULL")).scalar_one() == 0
    _assert_append_only(engine)

    command.downgrade(config, "0005")
    with engine.connect() as conn:
        assert _markers(conn) == {
            (101, "101:102:nhs_number"),
            (102, "102:101:nhs_number"),
            (101, "101:103:email"),
            (103, "103:101:email"),
        }
        assert "possible_match" not in set(inspect(conn).get_table_names())
    _assert_append_only(engine)
    command.upgrade(config, "head")
    with engine.connect() as conn:
        # 0008: the pairs wait for staff as match candidates, naming what they shared.
        rows = conn.execute(
            text("SELECT citizen_id, other_citizen_id, status, evidence FROM match_candidate ORDER BY id")
        ).all()
        assert [(a, b, status) for a, b, status, _ in rows] == [(101, 102, "pending"), (101, 103, "pending")]
        evidence = [json.loads(e) if isinstance(e, str) else e for *_, e in rows]
        assert [set(e) for e in evidence] == [{"nhs_number"}, {"email"}]
        assert _markers(conn) == set()
        assert "possible_match" not in set(inspect(conn).get_table_names())
    _assert_append_only(engine)
    command.check(config)
    command.downgrade(config, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_0008_keeps_comments_out_of_the_log_and_details_with_their_source(empty_database_url: str) -> None:
    """0008: staff comments move beside the append-only log (which keeps them no more); the old
    composite name-date-postcode detail is split into its parts; every detail names the earliest
    submission of its record that gave none of its kind, and that submission's department;
    downgrading puts the comments back in the log."""
    url = empty_database_url
    config = dbmod.alembic_config(url)
    command.upgrade(config, "0001")
    _insert_0001_data(url)
    command.upgrade(config, "0005")
    _insert_0005_data(url)
    command.upgrade(config, "0007")
    engine = dbmod.make_engine(url)
    when = datetime(2026, 7, 1, tzinfo=UTC)
    with engine.begin() as conn:
        case_id = conn.execute(text("SELECT id FROM case_record")).scalar_one()
        citizen_id = conn.execute(text("SELECT citizen_id FROM case_record")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO case_event (case_id, at, actor_kind, action, comment) "
                "VALUES (:c, :w, 'staff', 'reject', 'Not eligible: lives in Kent')"
            ),
            {"c": case_id, "w": when},
        )
        for kind, value in (("email", "ada@example.com"), ("name_dob_postcode", "ada lovelace|1815-12-10|SW1A1AA")):
            conn.execute(
                text("INSERT INTO citizen_identifier (citizen_id, kind, value, created_at) VALUES (:c, :k, :v, :w)"),
                {"c": citizen_id, "k": kind, "v": value, "w": when},
            )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("case_event")}
        assert "comment" not in columns
        assert conn.execute(text("SELECT case_id, text FROM case_event_comment")).all() == [
            (case_id, "Not eligible: lives in Kent")
        ]
        rows = conn.execute(
            text(
                "SELECT i.kind, i.value, i.submission_id, i.department_id, s.citizen_id FROM citizen_identifier i "
                "LEFT JOIN submission s ON s.id = i.submission_id WHERE i.citizen_id = :c ORDER BY i.kind"
            ),
            {"c": citizen_id},
        ).all()
        assert [(kind, value) for kind, value, *_ in rows] == [
            ("date_of_birth", "1815-12-10"),
            ("email", "ada@example.com"),
            ("full_name", "ada lovelace"),
            ("name_key", "lovelace ada"),
            ("postcode", "SW1A1AA"),
        ]
        service_department = conn.execute(
            text("SELECT service.department_id FROM service JOIN case_record ON case_record.service_id = service.id")
        ).scalar_one()
        for _kind, _value, submission_id, department_id, owner in rows:
            assert submission_id is not None and owner == citizen_id
            assert department_id == service_department
    for sql in ("UPDATE case_event SET action = 'rewritten'", "DELETE FROM case_event"):
        with engine.connect() as conn:
            with pytest.raises(DatabaseError, match="append-only"):
                conn.execute(text(sql))
            conn.rollback()
    command.check(config)
    command.downgrade(config, "0007")
    with engine.connect() as conn:
        comments = conn.execute(text("SELECT comment FROM case_event ORDER BY id")).scalars().all()
        assert comments == [None, "Not eligible: lives in Kent"]
    engine.dispose()

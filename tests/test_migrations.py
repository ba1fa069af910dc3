"""Migrations: one head, named in a committed file, and no drift between models and migrations."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
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
        departments = dict(
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

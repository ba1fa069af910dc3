"""Migrations: one head, named in a committed file, and no drift between models and migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import runtime.models  # noqa: F401
from runtime import db as dbmod
from runtime.settings import PROJECT_ROOT


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

"""Database engines and sessions. No module-level engine: each app owns its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

from .settings import PROJECT_ROOT

# PostgreSQL pool, per process. gunicorn's sync workers serve one request at a time, so a
# worker needs one connection (a second while, say, the CLI or a test holds one): two kept
# open, up to three more for a burst, each checked with a ping when taken from the pool (a
# round trip, but a restarted database or a dropped idle connection costs no citizen a 500),
# and replaced after 30 minutes, before a firewall or proxy drops it for being idle.
# N workers hold at most 5 × N connections: keep that under the server's max_connections.
POSTGRES_POOL: dict[str, Any] = {"pool_size": 2, "max_overflow": 3, "pool_pre_ping": True, "pool_recycle": 1800}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs.

    Every engine hides SQL parameters (``hide_parameters``): a statement that fails, or that
    ``echo`` or the ``sqlalchemy.engine`` logger writes out, never shows the values bound to
    it (a citizen's email, answers or reference), only the SQL.

    SQLite: foreign keys on; the write-ahead log (``journal_mode=WAL``: readers never wait for
    a writer, and a commit writes the log rather than the database file) with
    ``synchronous=FULL``, so that a commit the citizen was told about survives a power cut
    (``NORMAL`` would be faster and could lose the last commits: see docs/performance.md).
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            cursor = conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        return engine
    # A caller that names its own pool class (NullPool, say) gets none of the pool's sizes.
    engine = create_engine(url, **(kwargs if "poolclass" in kwargs else POSTGRES_POOL | kwargs))
    if engine.hide_parameters:
        event.listen(engine, "handle_error", _hide_values_in_errors)
    return engine


def _hide_values_in_errors(context: Any) -> None:
    """A PostgreSQL error names the values itself, whatever ``hide_parameters`` does: a
    constraint's DETAIL quotes the row or key ("Failing row contains (..., jane@example.com,
    ...)"), and a data exception quotes the value it could not read. Its message is cut to the
    first line, and for those two classes to the SQLSTATE and the names of the constraint, table
    and column. The exceptions stay the same objects (the DBAPI one keeps its ``sqlstate`` and ``diag``)."""
    error = context.original_exception
    sqlstate = getattr(error, "sqlstate", None)
    if context.statement is None or not sqlstate or not error.args:
        return  # a connection that failed: its message names no answers, and helps the operator
    if sqlstate[:2] in ("22", "23"):
        diag = error.diag
        where = ".".join(name for name in (diag.table_name, diag.column_name) if name)
        parts = [f"SQLSTATE {sqlstate}"]
        parts += [f"constraint {diag.constraint_name}"] if diag.constraint_name else []
        parts += [f"on {where}"] if where else []
        error.args = (", ".join(parts) + " (the database's message is hidden: it quotes the values)",)
    else:
        error.args = (str(error.args[0]).split("\n", 1)[0],)
    wrapped = context.sqlalchemy_exception  # its message was made from the database's, before this
    if wrapped is not None and wrapped.args:
        wrapped.args = (f"({type(error).__module__}.{type(error).__name__}) {error.args[0]}",)


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (``alembic upgrade``)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)

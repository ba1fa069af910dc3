"""Database engines and sessions. No module-level engine: each app owns its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session

from .settings import PROJECT_ROOT

# PostgreSQL pool, per process. gunicorn's sync workers serve one request at a time, so a
# worker needs one connection (a second while, say, the CLI or a test holds one): two kept
# open, up to three more for a burst, each checked with a ping when taken from the pool (a
# round trip, but a restarted database or a dropped idle connection costs no citizen a 500),
# and replaced after 30 minutes, before a firewall or proxy drops it for being idle.
# N workers hold at most 5 × N connections: keep that under the server's max_connections.
POSTGRES_POOL: dict[str, Any] = {"pool_size": 2, "max_overflow": 3, "pool_pre_ping": True, "pool_recycle": 1800}
# The autocommit engine's pool (make_autocommit_engine), beside the one above: a sync worker
# runs one request at a time, so one connection kept, two more for a burst. N workers then
# hold at most 8 × N connections in all. No ping when a connection is taken: it would be a
# round trip of the two or three a question page makes. A connection the server ended while it
# sat in the pool fails on its first statement instead, and Prepared runs that statement again
# on another connection (StatementSession.run_on_pooled).
POSTGRES_AUTOCOMMIT_POOL: dict[str, Any] = POSTGRES_POOL | {"pool_size": 1, "max_overflow": 2, "pool_pre_ping": False}


def make_engine(url: str, *, durable_commits: bool = True, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs.

    Every engine hides SQL parameters (``hide_parameters``): a statement that fails, or that
    ``echo`` or the ``sqlalchemy.engine`` logger writes out, never shows the values bound to
    it (a citizen's email, answers or reference), only the SQL.

    SQLite: foreign keys on; the write-ahead log (``journal_mode=WAL``: readers never wait for
    a writer, and a commit writes the log rather than the database file) with
    ``synchronous=FULL``, so that a commit the citizen was told about survives a power cut.
    ``durable_commits=False`` gives ``synchronous=NORMAL`` instead: a commit still survives the
    process crashing, but the last ones before a power cut or an operating system crash may be
    lost (the database itself stays whole). It is only for the autocommit engine, and only
    when CIVICFORMS_FLUSH_EVERY_ANSWER is false (make_autocommit_engine, which does the same on
    PostgreSQL); the WAL is written in order, so the next durable commit (sending a form) makes
    every earlier one durable too.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        synchronous = "FULL" if durable_commits else "NORMAL"

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            cursor = conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

        return engine
    # A caller that names its own pool class (NullPool, say) gets none of the pool's sizes.
    engine = create_engine(url, **(kwargs if "poolclass" in kwargs else POSTGRES_POOL | kwargs))
    if engine.hide_parameters:
        event.listen(engine, "handle_error", _hide_values_in_errors)
    return engine


def _hide_values_in_errors(context: Any) -> None:
    if context.statement is not None:
        hide_values(context.original_exception, context.sqlalchemy_exception)


def hide_values(error: Any, wrapped: Any) -> None:
    """A PostgreSQL error names the values itself, whatever ``hide_parameters`` does: a
    constraint's DETAIL quotes the row or key ("Failing row contains (..., jane@example.com,
    ...)"), and a data exception quotes the value it could not read. Its message is cut to the
    first line, and for those two classes to the SQLSTATE and the names of the constraint, table
    and column. The exceptions stay the same objects (the DBAPI one keeps its ``sqlstate`` and
    ``diag``). For an error of a statement; a connection that failed names no answers, and its
    message helps the operator."""
    sqlstate = getattr(error, "sqlstate", None)
    if not sqlstate or not error.args:
        return
    if sqlstate[:2] in ("22", "23"):
        diag = error.diag
        where = ".".join(name for name in (diag.table_name, diag.column_name) if name)
        parts = [f"SQLSTATE {sqlstate}"]
        parts += [f"constraint {diag.constraint_name}"] if diag.constraint_name else []
        parts += [f"on {where}"] if where else []
        error.args = (", ".join(parts) + " (the database's message is hidden: it quotes the values)",)
    else:
        error.args = (str(error.args[0]).split("\n", 1)[0],)
    # SQLAlchemy's exception: its message was made from the database's, before this.
    if wrapped is not None and wrapped.args:
        wrapped.args = (f"({type(error).__module__}.{type(error).__name__}) {error.args[0]}",)


def make_autocommit_engine(url: str, *, durable_commits: bool = True, **kwargs: Any) -> Engine:
    """An engine whose connections are in autocommit from the start: each statement is
    committed as it runs, with no BEGIN, COMMIT or ROLLBACK around it (a request that calls
    ``one_statement_at_a_time``). Its own pool, not the main engine's with the isolation level
    switched on each checkout: that switch and its reset cost more than the statements of a
    question page on SQLite. See make_engine for ``durable_commits``."""
    kwargs.setdefault("isolation_level", "AUTOCOMMIT")
    if url.startswith("sqlite"):
        return make_engine(url, durable_commits=durable_commits, **kwargs)
    if "poolclass" not in kwargs:
        kwargs = POSTGRES_AUTOCOMMIT_POOL | kwargs
    engine = make_engine(url, **kwargs)
    if not durable_commits:

        @event.listens_for(engine, "connect")
        def _asynchronous_commits(conn: Any, _record: Any) -> None:
            # PostgreSQL's counterpart of SQLite's synchronous=NORMAL: a commit returns before
            # its WAL reaches the disk. It survives this process crashing; a crash of the
            # database server or its machine may lose the last commits (at most about three
            # wal_writer_delay, 0.6 s by default), never the database's consistency.
            cursor = conn.cursor()
            cursor.execute("SET synchronous_commit TO off")
            cursor.close()

    return engine


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


_SERVED = "civicforms.served"


class StatementSession(Session):
    """A session on an autocommit engine (make_autocommit_engine) for a request whose
    statements each stand alone: ``Prepared`` statements given it run straight on a DBAPI
    connection it borrows from the pool once and gives back when it closes, with
    no ORM or transaction around them; anything else works as in any Session, each statement
    committed as it runs. ``commit`` with nothing begun does nothing."""

    _pooled: Any = None
    _proven = False  # a statement has run on _pooled since it was taken from the pool

    def pooled(self) -> Any:
        """The pooled DBAPI connection of this session's prepared statements."""
        if self._pooled is None:
            engine = self.get_bind()
            assert isinstance(engine, Engine)
            self._pooled = engine.raw_connection()
            self._proven = False
        return self._pooled

    def may_retry(self) -> bool:
        """Whether a statement that found ``pooled()`` dead may run again on another: it was
        the first since the connection was taken from the pool (so the connection died while
        it sat there, before the statement reached a live server), and the connection had
        served before (a new connection that fails means the server is away)."""
        return not self._proven and bool(self._pooled is not None and self._pooled.info.get(_SERVED))

    def proven(self) -> None:
        self._proven = True
        self._pooled.info[_SERVED] = True

    def forget_pooled(self, error: BaseException | None = None) -> None:
        """Give the connection back to the pool; with ``error``, drop it instead (it died)."""
        pooled, self._pooled = self._pooled, None
        if pooled is not None:
            if error is not None:
                pooled.invalidate(error)
            pooled.close()

    def commit(self) -> None:
        if self.in_transaction():
            super().commit()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.forget_pooled()


class _Plan:
    """A statement compiled for one dialect: its SQL, how its parameters go to the driver, and
    how the columns it returns come back (SQLAlchemy's own processors for the types)."""

    def __init__(self, compiled: SQLCompiler, dialect: Dialect, columns: list[Any]):
        self.sql = compiled.string
        processors = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()
        }
        self.binds = [(name, processors[name]) for name in compiled.positiontup or []] if compiled.positional else None
        self.named = {name: f for name, f in processors.items() if f is not None}
        # Values written in the statement itself (``.values(kind="email")``) are parameters too.
        self.defaults = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        self.results: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]

    def parameters(self, values: dict[str, Any]) -> Any:
        if self.defaults:
            values = self.defaults | values
        if self.binds is not None:
            return tuple(f(values[name]) if f else values[name] for name, f in self.binds)
        return {name: (self.named[name](value) if name in self.named else value) for name, value in values.items()}

    def row(self, raw: Any) -> tuple[Any, ...]:
        return tuple(f(value) if f else value for f, value in zip(self.results, raw, strict=True))


class Prepared:
    """A Core statement on a page's hot path: compiled once per dialect, then run on the DBAPI
    cursor with SQLAlchemy's own SQL and type processors, without the per-execution work of
    SQLAlchemy's Connection (execution context, result object, events).

    ``run(session, values)`` takes a Session. A ``StatementSession`` (autocommit) lends its
    pooled DBAPI connection. Any other Session runs the statement through SQLAlchemy, inside its
    transaction: the same SQL, the same values. Either way a database error is raised as
    SQLAlchemy's (OperationalError, IntegrityError, ...), its message free of the values
    (``hide_values``), and a connection that died is dropped from the pool rather than lent
    again.

    The autocommit pool does not ping a connection before lending it (a round trip). A
    connection the server ended while it sat in the pool (a restart, an idle timeout) fails the
    first statement sent on it, before that statement reached a live server; that statement is
    run again on the next connection (``StatementSession.may_retry``). Only the first statement
    after taking a connection from the pool is run again, never one sent on a connection that
    had already answered in this session.
    """

    def __init__(self, statement: Executable):
        self.statement = statement
        self.returns_rows = bool(getattr(statement, "selected_columns", None))
        self._plans: dict[tuple[str, str], _Plan] = {}

    def plan(self, dialect: Dialect) -> _Plan:
        key = (dialect.name, dialect.driver)
        found = self._plans.get(key)
        if found is None:
            columns = list(getattr(self.statement, "selected_columns", []))
            found = self._plans[key] = _Plan(self.statement.compile(dialect=dialect), dialect, columns)  # type: ignore[attr-defined]
        return found

    def run(self, session: Session, values: dict[str, Any]) -> tuple[list[tuple[Any, ...]], int]:
        """(rows, rowcount): the rows it returned, processed, and the rows it changed."""
        if not isinstance(session, StatementSession):
            result = session.connection().execute(self.statement, values)  # type: ignore[call-overload]
            return ([tuple(r) for r in result] if self.returns_rows else []), result.rowcount
        dialect = session.get_bind().dialect
        plan = self.plan(dialect)
        parameters = plan.parameters(values)
        # A connection that died in the pool fails its first statement: run it again on the
        # next. Each try drops a dead connection for good, and a new connection is never retried,
        # so this ends within what the pool held.
        while True:
            pooled = None
            try:
                pooled = session.pooled()
                found = self._execute(pooled, plan, parameters)
            except dialect.loaded_dbapi.Error as error:
                if pooled is None:  # no connection to be had: the server is away
                    raise self._wrapped(error, None, None, dialect, False) from error
                gone = dialect.is_disconnect(error, pooled.dbapi_connection, None)
                retry = gone and session.may_retry()
                if gone:
                    session.forget_pooled(error)
                if not retry:
                    raise self._wrapped(error, plan, parameters, dialect, gone) from error
            else:
                session.proven()
                return found

    def _execute(self, pooled: Any, plan: _Plan, parameters: Any) -> tuple[list[tuple[Any, ...]], int]:
        cursor = pooled.cursor()
        try:
            cursor.execute(plan.sql, parameters)
            rows = [plan.row(raw) for raw in cursor.fetchall()] if self.returns_rows else []
            return rows, cursor.rowcount
        finally:
            try:
                cursor.close()
            except Exception:
                pass  # a connection that died: its cursor is gone with it

    @staticmethod
    def _wrapped(error: Exception, plan: _Plan | None, parameters: Any, dialect: Dialect, gone: bool) -> StatementError:
        """SQLAlchemy's exception for ``error``, as its own execution (or connecting) would
        raise it: the 503 page for an unreachable database catches SQLAlchemy's."""
        wrapped = DBAPIError.instance(
            plan.sql if plan is not None else None,
            parameters,  # never shown: hide_parameters
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=gone,
            dialect=dialect,
        )
        hide_values(error, wrapped)
        return wrapped


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


def _flush_c_streams() -> None:
    """fflush(NULL): what libpq's trace holds in its C stream's buffer, written to the file."""
    import ctypes

    ctypes.CDLL(None).fflush(None)


class DriverTrace:
    """What the database drivers of some engines send, read at the driver itself, below
    SQLAlchemy: sqlite3's trace callback (every statement SQLite runs, the BEGIN and COMMIT that
    pysqlite adds included) and libpq's protocol trace for psycopg (every statement, and each
    round trip as the server's ReadyForQuery). ORM, Core and ``Prepared`` statements alike.
    For tests and benchmarks: ``with DriverTrace(engine, ...) as trace: ...; trace.words()``.

    The engines are disposed first, so that every connection they lend is a new one, traced.
    """

    def __init__(self, *engines: Engine):
        self.engines = engines
        self._sqlite: list[str] = []
        self._files: list[Any] = []
        self._traced: list[Any] = []

    def __enter__(self) -> DriverTrace:
        for engine in self.engines:
            engine.dispose()
            event.listen(engine, "connect", self._attach)
        return self

    def __exit__(self, *_exc: Any) -> None:
        for engine in self.engines:
            event.remove(engine, "connect", self._attach)
        for connection in self._traced:
            if not connection.closed:
                connection.pgconn.untrace()
        for engine in self.engines:
            engine.dispose()
        _flush_c_streams()  # nothing left in libpq's buffers to be written after the files close
        for handle in self._files:
            handle.close()

    def _attach(self, dbapi_connection: Any, _record: Any) -> None:
        if hasattr(dbapi_connection, "set_trace_callback"):
            dbapi_connection.set_trace_callback(self._sqlite.append)
            return
        import tempfile

        from psycopg import pq

        handle = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self._files.append(handle)
        self._traced.append(dbapi_connection)
        dbapi_connection.pgconn.trace(handle.fileno())  # a C stream on the file, buffered
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def clear(self) -> None:
        self._sqlite.clear()
        _flush_c_streams()
        for handle in self._files:
            handle.seek(0)
            handle.truncate()

    def _protocol(self) -> list[list[str]]:
        _flush_c_streams()
        lines = []
        for handle in self._files:
            handle.flush()
            handle.seek(0)
            lines += [line.rstrip("\n").split("\t") for line in handle.read().splitlines() if line.strip()]
            handle.seek(0, 2)
        return lines

    def statements(self) -> list[str]:
        """Each statement sent, in order (on PostgreSQL, across connections: per connection)."""
        if not self._files:
            return list(self._sqlite)
        found = []
        for fields in self._protocol():
            if len(fields) >= 4 and fields[0] == "F" and fields[2] in ("Parse", "Query"):
                # Parse: "name" "SQL" ...; Query: "SQL"
                quoted = fields[3].split('"')
                found.append(quoted[3] if fields[2] == "Parse" else quoted[1])
        return found

    def words(self) -> list[str]:
        """The first word of each statement, upper case: ``["SELECT", "UPDATE"]``; the pool's
        ping on PostgreSQL (an empty statement) is a round trip, not a word."""
        words = [s.strip().rstrip(";").split(maxsplit=1) for s in self.statements()]
        return [w[0].upper() for w in words if w]

    def round_trips(self) -> int | None:
        """Round trips to a PostgreSQL server (None on SQLite, which has none)."""
        if not self._files:
            return None
        return sum(1 for fields in self._protocol() if fields[0] == "B" and fields[2] == "ReadyForQuery")

"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when
``TEST_DATABASE_URL`` is set), the citizen app, a ``citizen`` that fills in forms, and
``staff``, a factory of staff accounts."""

from __future__ import annotations

import gc
import io
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import close_all_sessions
from sqlalchemy.pool import NullPool, Pool
from sqlmodel import SQLModel

from runtime import db as dbmod
from runtime import staff as staff_accounts
from runtime import versions
from runtime.data.departments import department_for_name
from runtime.models import StaffUser
from runtime.services.releasing import load_folder
from runtime.settings import PROJECT_ROOT, Settings
from runtime.web import create_citizen_app
from tests.journeys import has_files, multipart_fields, upload_url

# Issue 18: clamd and an S3-compatible server for the upload tests (tests/upload_servers.py).
pytest_plugins = ["tests.upload_servers"]

DEFINITIONS = PROJECT_ROOT / "form_definitions"
SERVICE_IDS = sorted(p.stem for p in DEFINITIONS.glob("*.json"))
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


# Staff passwords: argon2id at argon2-cffi's defaults takes about 170 ms a hash on these
# machines, and signing in hashes or verifies once: a third of the builder and back-office
# tests' time. The suite hashes with the cheapest parameters instead (the same code path);
# tests/core/test_staff.py checks that the product keeps the defaults.
staff_accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
staff_accounts._DUMMY_HASH = staff_accounts._hasher.hash("not anybody's password")

# Every engine a test connects with, disposed when the test ends. Apps, CLI commands and
# workers made inside a test open pooled engines of their own; a pooled PostgreSQL connection
# left for the garbage collector makes psycopg warn (an error here) in whichever test runs then.
# Pools lent from without a Connection (runtime.db.Prepared's raw_connection) are remembered
# at checkout, and disposed the same way.
_ENGINES_IN_TEST: set[Engine] = set()
_POOLS_IN_TEST: set[Pool] = set()


@event.listens_for(Engine, "engine_connect")
def _remember_engine(connection: Connection) -> None:
    _ENGINES_IN_TEST.add(connection.engine)


@event.listens_for(Pool, "checkout")
def _remember_pool(_dbapi_connection: Any, _record: Any, proxy: Any) -> None:
    _POOLS_IN_TEST.add(proxy._pool)


@pytest.fixture(scope="session", autouse=True)
def _instance_dir_of_the_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """CIVICFORMS_INSTANCE_DIR in this run's (this worker's) temporary folder, for every test and
    the commands it starts: development settings read from the environment keep a generated
    secret key there (and the default database and uploads), by default in the checkout's
    instance/, where a fresh clone gained instance/secret_key and two workers raced to write it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CIVICFORMS_INSTANCE_DIR", str(tmp_path_factory.mktemp("instance")))
        yield


@pytest.fixture(autouse=True)
def _dispose_engines_after_test() -> Iterator[None]:
    yield
    close_all_sessions()  # a Session a test left open gives its connection back first
    while _ENGINES_IN_TEST:
        _ENGINES_IN_TEST.pop().dispose()
    while _POOLS_IN_TEST:
        _POOLS_IN_TEST.pop().dispose()
    if os.environ.get("CF_GC_EACH_TEST"):
        # Finding a leak: collect now, so that a connection left open warns in the test that
        # left it, not in whichever test the garbage collector happens to run in.
        gc.collect()


def _load_definitions(url: str) -> None:
    engine = dbmod.make_engine(url)
    with dbmod.session(engine) as s:
        results = load_folder(session=s, folder=DEFINITIONS, create_departments=True)  # a first deployment
    engine.dispose()
    failed = [f"{p}: {r}" for p, r in results if isinstance(r, Exception)]
    assert not failed, failed


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, loaded SQLite database, copied for each test (alembic runs once)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    dbmod.upgrade(url)
    _load_definitions(url)
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> Iterator[str]:
    """A schema of this test run's own in the PostgreSQL database, migrated once.

    A schema per run (not the public one) lets several runs share one server safely.
    """
    schema = f"cf_test_{os.getpid()}"
    # No pool: the connection closes after each block, never left open for the whole run.
    admin = create_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    dbmod.upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database with the shipped definitions loaded, on each backend under test."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "civicforms.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_migrated")
    engine = dbmod.make_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))  # a test database: no need to wait for the disk
        # The audit log refuses deletes (migration 0005's triggers), whoever asks; a superuser's
        # replica mode fires no triggers, foreign keys' neither, which is what emptying a test
        # schema needs (in any order).
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.exec_driver_sql(_emptying(conn))
    # Published versions never change in a real database, so the store remembers their content
    # hashes per (database, service, version); emptying the same schema between tests breaks that.
    versions.forget_definitions()
    if url not in _PG_LOADED:
        _load_definitions(url)  # checked and published once (the checker is 50 ms a definition) ...
        with engine.connect() as conn:
            _PG_LOADED[url] = [
                (table, rows)
                for table in SQLModel.metadata.sorted_tables
                if (rows := [dict(row._mapping) for row in conn.execute(table.select())])
            ]
    else:
        with engine.begin() as conn:  # ... then the same rows put back for each test
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            for table, rows in _PG_LOADED[url]:
                conn.execute(table.insert(), rows)
                if "id" in table.c and isinstance(rows[0].get("id"), int):
                    conn.execute(
                        text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :top)"),
                        {"table": table.name, "top": max(row["id"] for row in rows)},
                    )
    engine.dispose()
    return url


# The rows the shipped definitions make when loaded into an empty schema: {url: [(table, rows)]}.
_PG_LOADED: dict[str, list[tuple[Any, list[dict[str, Any]]]]] = {}


def _emptying(conn: Connection) -> str:
    """One batch that deletes every row of the schema's tables and restarts its sequences.

    DELETE, not TRUNCATE: TRUNCATE gives each table and index new files, and PostgreSQL's next
    checkpoint fsyncs every one of them (140,000 files in one checkpoint, with two workers), so
    that a test paid 1.3 to 1.8 s for it on a loaded machine and every DROP DATABASE (the
    benchmarks' checks) waited minutes for its checkpoint. The few rows a test leaves are
    deleted in 0.1 s.
    """
    quote = conn.dialect.identifier_preparer.quote
    sequences = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
        )
    ).scalars()
    return "; ".join(
        [f"DELETE FROM {quote(t.name)}" for t in SQLModel.metadata.sorted_tables]
        + [f"ALTER SEQUENCE {quote(name)} RESTART" for name in sequences]
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    # Uploaded files in the test's own folders (never the repository's instance/), scanned by
    # this run's clamd (tests/upload_servers.py; it starts in well under a second) when installed.
    from tests.upload_servers import CLAMD, upload_settings  # a plugin: imported by pytest first

    clamd = request.getfixturevalue("clamd_address") if os.access(CLAMD, os.X_OK) else ""
    return Settings(
        environment="test",
        secret_key="test-secret-key-" + "x" * 32,
        database_url=database_url,
        secure_cookies=False,
        organisation_name="Westbridge Council",
        **upload_settings(tmp_path, clamd_address=clamd),
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_citizen_app({"SETTINGS": settings, "TESTING": True})
    yield app
    for engine in app.extensions["civicforms.engines"]:
        engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Any]:
    s = dbmod.session(app.extensions["civicforms.engine"])
    yield s
    s.close()


def page(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


class Citizen:
    """Drives a service as a citizen would: read the page, take its CSRF token, post."""

    def __init__(self, client: FlaskClient, files: Callable[[], tuple[str, Path]] | None = None):
        self.client = client
        self.files = files  # the run's clamd and a folder of the test's, for a file question's page

    def scanned(self) -> None:
        """A file question's page needs a virus scanner: an app made with settings of a test's own
        (no clamd address, files in the repository's instance/) gets the run's clamd and the
        test's folder instead, as its uploads (runtime.web.upload_pages.uploads_of_app)."""
        app = self.client.application
        if app.extensions["civicforms.settings"].clamd_address or self.files is None:
            return
        from dataclasses import replace

        from runtime.services import uploading

        clamd, folder = self.files()
        settings = replace(
            app.extensions["civicforms.settings"],
            clamd_address=clamd,
            upload_dir=folder / "uploads",
            quarantine_dir=folder / "quarantine",
        )
        app.extensions["civicforms.uploads"] = uploading.uploads_for(settings)

    def csrf(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        field = page(response).select_one("input[name=csrf_token]")
        assert field is not None, f"no CSRF token on {url}"
        return str(field["value"])

    def start(self, service_id: str) -> Any:
        token = self.csrf(f"/services/{service_id}")
        return self.client.post(f"/services/{service_id}/start", data={"csrf_token": token})

    def post(self, url: str, data: dict[str, Any]) -> Any:
        """Post to a page the way its own form would, CSRF token included (a file question's
        page: its upload form, multipart, with Continue)."""
        token = self.csrf(url)
        if has_files(data):
            fields, files = multipart_fields(data)
            self.scanned()
            uploads = {name: (io.BytesIO(f.content), f.name, f.mime) for name, f in files.items()}
            return self.client.post(upload_url(url), data={**fields, **uploads, "csrf_token": token})
        return self.client.post(url, data={**data, "csrf_token": token})

    def answer(self, service_id: str, page_id: str, data: dict[str, Any], **query: str) -> Any:
        url = f"/services/{service_id}/{page_id}"
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return self.post(url, data)

    def submit(self, service_id: str) -> Any:
        return self.post(f"/services/{service_id}/check-answers", {})


@pytest.fixture
def citizen(client: FlaskClient, request: pytest.FixtureRequest) -> Citizen:
    return Citizen(
        client,
        lambda: (request.getfixturevalue("clamd_address"), request.getfixturevalue("tmp_path") / "citizen-files"),
    )


STAFF_PASSWORD = "correct horse battery staple"
StaffFactory = Callable[..., StaffUser]


@pytest.fixture
def staff(database_url: str) -> Iterator[StaffFactory]:
    """Make a staff account: ``staff(email=..., department="Highways", role="designer")``.

    ``roles`` adds more as ``{"Department name": ["reviewer", ...]}``; ``totp_secret`` turns
    the second factor on; ``password=None`` makes an invited account (set-up link, no password).
    Departments are made when missing. Returns the saved (detached) StaffUser.
    """
    engine = dbmod.make_engine(database_url)
    count = 0

    def make(
        email: str | None = None,
        name: str = "Dana Designer",
        department: str = "Highways",
        role: str = "designer",
        password: str | None = STAFF_PASSWORD,
        totp_secret: str | None = None,
        roles: dict[str, list[str]] | None = None,
    ) -> StaffUser:
        nonlocal count
        count += 1
        with dbmod.session(engine) as s:
            home = department_for_name(session=s, name=department)
            assert home.id is not None
            created = staff_accounts.create_user(
                session=s,
                email=email or f"staff{count}@example.gov.uk",
                name=name,
                department_id=home.id,
                role=role,
                password=password,
            )
            user = created.user
            assert user.id is not None
            if totp_secret:
                user.totp_secret = totp_secret
                s.add(user)
            for other, names in (roles or {}).items():
                found = department_for_name(session=s, name=other)
                assert found.id is not None
                current = staff_accounts.roles_by_department(s, user.id).get(found.id, frozenset())
                staff_accounts.set_roles(session=s, user_id=user.id, department_id=found.id, roles={*current, *names})
            s.commit()
            return user

    yield make
    engine.dispose()

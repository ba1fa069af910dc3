"""gunicorn.conf.py, the production server's settings: valid for gunicorn, workers and bind from
the environment, no database connection shared across a fork, and an access log that never
carries a query string, an answer, a cookie or a secret link.

The last test starts the real server (``gunicorn -c gunicorn.conf.py runtime.wsgi:app``) on a
free port and walks into a journey through it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from gunicorn.app.wsgiapp import WSGIApplication
from gunicorn.config import Config

from bench.http_bench import Browser, start_server, wait_ready
from builder.web import create_builder_app, mounted
from runtime.settings import PROJECT_ROOT, Settings
from runtime.web import create_citizen_app

CONF = PROJECT_ROOT / "gunicorn.conf.py"
ENV_NAMES = ("CIVICFORMS_WORKERS", "WEB_CONCURRENCY", "CIVICFORMS_BIND", "CIVICFORMS_ACCESS_LOG", "GUNICORN_CMD_ARGS")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ENV_NAMES, "CIVICFORMS_CONTROL_SOCKET", "CIVICFORMS_LOG_LEVEL", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)


def gunicorn_config(monkeypatch: pytest.MonkeyPatch, app: str = "runtime.wsgi:app") -> Config:
    """The settings exactly as gunicorn reads them: command line, then the file (each value
    through gunicorn's own validators), then GUNICORN_CMD_ARGS. The app is not imported."""
    monkeypatch.setattr(sys, "argv", ["gunicorn", "-c", str(CONF), app])
    return WSGIApplication().cfg


def conf_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("civicforms_gunicorn_conf", CONF)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_settings_are_valid_for_gunicorn_with_safe_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = gunicorn_config(monkeypatch)
    assert cfg.bind == ["127.0.0.1:8000"]  # this machine only, behind a proxy
    assert cfg.workers == 2 * conf_module().usable_cpus() + 1
    assert cfg.worker_class_str == "sync"
    assert cfg.preload_app is True
    assert 0 < cfg.timeout <= 120 and 0 < cfg.graceful_timeout <= 120 and 0 < cfg.keepalive <= 75
    if os.path.isdir("/dev/shm"):
        assert cfg.worker_tmp_dir == "/dev/shm"
    assert cfg.accesslog == "-"
    assert cfg.forwarded_allow_ips == ["127.0.0.1", "::1"]  # a proxy on this machine
    assert cfg.control_socket_disable is True
    assert cfg.logger_class.__name__ == "AccessLogger"
    assert callable(cfg.post_fork) and callable(cfg.when_ready)
    # The builder is served with the same file.
    assert gunicorn_config(monkeypatch, "builder.wsgi:app").workers == cfg.workers


def test_workers_bind_and_logs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert gunicorn_config(monkeypatch).workers == 4
    monkeypatch.setenv("CIVICFORMS_WORKERS", "3")  # the product's own name wins
    monkeypatch.setenv("CIVICFORMS_BIND", "0.0.0.0:9000, unix:/run/civicforms.sock")
    monkeypatch.setenv("CIVICFORMS_ACCESS_LOG", "off")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    cfg = gunicorn_config(monkeypatch)
    assert cfg.workers == 3
    assert cfg.bind == ["0.0.0.0:9000", "unix:/run/civicforms.sock"]
    assert cfg.accesslog is None
    assert cfg.forwarded_allow_ips == ["10.0.0.0/8"]
    # GUNICORN_CMD_ARGS still overrides anything in the file.
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--workers 7 --threads 4")
    cfg = gunicorn_config(monkeypatch)
    assert cfg.workers == 7 and cfg.threads == 4


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_worker_count_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CIVICFORMS_WORKERS", value)
    with pytest.raises(ValueError, match="CIVICFORMS_WORKERS"):
        conf_module()


def test_the_access_log_format_has_the_path_only() -> None:
    fmt = conf_module().access_log_format
    assert "%(U)s" in fmt and "%(s)s" in fmt
    for leaky in ("%(r)s", "%(q)s", "%(f)s", "cookie", "authorization", "referer"):
        assert leaky not in fmt.lower()


def _log_line(logger_class: type, fmt: str, environ: dict[str, Any], headers: list[tuple[str, str]]) -> str:
    cfg = Config()
    cfg.set("access_log_format", fmt)
    logger = logger_class(cfg)
    response = SimpleNamespace(status="200 OK", sent=123, headers=[("Set-Cookie", "civicforms_session=RESPCOOKIE")])
    request = SimpleNamespace(headers=headers)
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    return str(fmt % logger.atoms_wrapper_class(atoms))


def test_even_a_format_changed_by_hand_cannot_log_queries_cookies_or_secret_links() -> None:
    conf = conf_module()
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/status/eyJjYXNlIjo0Mn0.SIGNATUREsignature123?email=jane%40example.com",
        "PATH_INFO": "/status/eyJjYXNlIjo0Mn0.SIGNATUREsignature123",
        "QUERY_STRING": "email=jane%40example.com",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_REFERER": "https://forms.example.gov.uk/x?nino=QQ123456C",
        "HTTP_AUTHORIZATION": "Basic amFuZTpzZWNyZXQ=",
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    headers = [
        ("Cookie", "civicforms_session=REQCOOKIE"),
        ("Referer", "https://forms.example.gov.uk/x?nino=QQ123456C"),
        ("Authorization", "Basic amFuZTpzZWNyZXQ="),
        ("User-Agent", "Mozilla/5.0"),
    ]
    hostile = "%(r)s|%(q)s|%(f)s|%(u)s|%({cookie}i)s|%({referer}i)s|%({authorization}i)s|%({set-cookie}o)s|%(a)s"
    line = _log_line(conf.AccessLogger, hostile, environ, headers)
    for secret in ("jane", "QQ123456C", "REQCOOKIE", "RESPCOOKIE", "amFuZT", "SIGNATURE", "eyJjYXNl"):
        assert secret not in line, line
    assert line.startswith("GET /status/[token] HTTP/1.1|")
    assert "Mozilla/5.0" in line
    # gunicorn's own logger would have logged them all: the test can fail.
    from gunicorn.glogging import Logger

    plain = _log_line(Logger, hostile, environ, headers)
    assert "QQ123456C" in plain and "REQCOOKIE" in plain and "SIGNATURE" in plain


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/services/council-tax-single-person-discount/your-details", None),
        ("/services/resident-parking-permit/check-answers", None),
        ("/assets/fonts/bold-b542beb274-v2.woff2", None),
        ("/healthz", None),
        ("/builder/set-up/Xq3-vT9_kLmN0pQrStUvWxYz12345678abcdefGHIJK", "/builder/set-up/[token]"),
        ("/information/abcDEF0123456789abcdef0123456789", "/information/[token]"),
        ("/status/eyJjYXNlIjo0Mn0.Zm9vYmFyYmF6/information/sent", "/status/[token]/information/sent"),
        ("/services/x\n1.2.3.4 forged", "/services/x\\x0a1.2.3.4 forged"),
        ("/services/x\n127.0.0.1 - a longer forged line", "/services/[token]"),
        ('/a"b\\c', "/a\\x22b\\x5cc"),
        ("", "-"),
    ],
)
def test_log_path_hides_secrets_and_cannot_forge_lines(path: str, logged: str | None) -> None:
    assert conf_module().log_path(path) == (path if logged is None else logged)


class _Server:
    def __init__(self, app: Any):
        self.app = SimpleNamespace(callable=app)


@pytest.mark.parametrize("name", ["civicforms.engine", "civicforms.autocommit_engine"])
def test_no_database_connection_crosses_a_fork(settings: Settings, name: str) -> None:
    conf = conf_module()
    app = create_citizen_app({"SETTINGS": settings})
    engine = app.extensions[name]
    assert engine in app.extensions["civicforms.engines"]
    inherited = None
    try:
        raw = engine.raw_connection()
        inherited = raw.dbapi_connection
        raw.close()  # back to the pool, as after a request in the master
        assert engine.pool.checkedin() == 1

        conf.post_fork(_Server(app), worker=None)
        # The worker starts with an empty pool of its own ...
        assert engine.pool.checkedin() == 0
        # ... and did not close the master's connection under it (close=False).
        assert inherited.execute("select 1").fetchone() == (1,)

        with engine.connect() as conn:  # the worker opens its own on first use
            assert conn.connection.dbapi_connection is not inherited
        conf.when_ready(_Server(app))  # in the master: its own connections closed before forking
        assert engine.pool.checkedin() == 0
    finally:
        for each in app.extensions["civicforms.engines"]:
            each.dispose()
        if inherited is not None:
            inherited.close()  # the "master's" connection, which the pool let go of on purpose


def test_the_builder_behind_its_middleware_is_found_too(settings: Settings) -> None:
    conf = conf_module()
    builder = create_builder_app({"SETTINGS": settings})
    try:
        engines = conf._engines(mounted(builder))
        assert engines == list(builder.extensions["civicforms.engines"]) and len(engines) == 2
        assert conf._engines(None) == [] and conf._engines(object()) == []
    finally:
        for engine in builder.extensions["civicforms.engines"]:
            engine.dispose()


def test_the_real_server_logs_paths_but_never_queries_answers_or_cookies(sqlite_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "civicforms.db"
    shutil.copy(sqlite_template, db)
    access = tmp_path / "access.log"
    env = {
        "CIVICFORMS_ENV": "production",
        "CIVICFORMS_SECRET_KEY": "gunicorn-test-secret-" + "k" * 32,
        "CIVICFORMS_DATABASE_URL": f"sqlite:///{db}",
        "CIVICFORMS_ACCESS_LOG": str(access),
    }
    server = start_server("runtime", "runtime", "runtime.wsgi:app", 2, "sqlite", env, tmp_path)
    try:
        wait_ready(server)
        citizen = Browser(server.port)
        assert citizen.send("GET", "/?utm_source=QUERYSECRET1")[0] == 200
        status, _, text = citizen.send("GET", "/healthz")
        assert (status, text) == (200, "ok\n")

        base = "/services/resident-parking-permit"
        status, _, text = citizen.send("GET", base)
        token = re.search(r'name="csrf_token" value="([^"]+)"', text)
        assert status == 200 and token is not None
        assert citizen.send("POST", f"{base}/start", {"csrf_token": token.group(1)})[:2] == (
            303,
            f"{base}/your-address",
        )
        answer = {
            "csrf_token": token.group(1),
            "address.line1": "17 Quokkabridge Crescent",
            "address.town": "Zanzibarton",
            "address.postcode": "WB1 2AB",
        }
        status, location, _ = citizen.send("POST", f"{base}/your-address?change=0&ref=QUERYSECRET2", answer)
        assert (status, location) == (303, f"{base}/parking-zone")
        status, _, text = citizen.send("GET", f"{base}/your-address")
        assert status == 200 and 'value="17 Quokkabridge Crescent"' in text  # stored: a real post
        secret_link = "/status/eyJjYXNlIjo0Mn0.SIGNATUREsignature123"
        assert citizen.send("GET", secret_link)[0] == 404
        cookie = citizen.cookies["civicforms_session"]
        citizen.close()
    finally:
        server.stop()

    lines = access.read_text().splitlines()
    paths = [re.search(r'"(GET|POST) (\S*) HTTP/1.1" (\d+)', line) for line in lines]
    seen = [(m.group(1), m.group(2), m.group(3)) for m in paths if m]
    assert ("GET", "/healthz", "200") in seen  # also polled while the server started
    # Two workers log as they finish, so not always in the order sent.
    assert sorted(line for line in seen if line[1] != "/healthz") == sorted(
        [
            ("GET", "/", "200"),
            ("GET", base, "200"),
            ("POST", f"{base}/start", "303"),
            ("POST", f"{base}/your-address", "303"),
            ("GET", f"{base}/your-address", "200"),
            ("GET", "/status/[token]", "404"),
        ]
    )
    log = access.read_text()
    for secret in (
        "?",
        "QUERYSECRET",
        "change=",
        "Quokkabridge",
        "Zanzibarton",
        "WB1",
        token.group(1),
        cookie,
        cookie[:20],
        "civicforms_session",
        "SIGNATURE",
    ):
        assert secret not in log, secret

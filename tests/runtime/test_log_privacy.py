"""Logs never carry what a citizen typed, their cookies, CSRF tokens, secret links or query
strings: a journey with distinctive answers is served by a real (werkzeug) server, every log
record is captured (the app's, werkzeug's request log, SQLAlchemy's statements, an error's
traceback when the database fails), each request is also written in the production access-log
format of gunicorn.conf.py, and none of the secrets appears anywhere."""

from __future__ import annotations

import html
import importlib.util
import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from gunicorn.config import Config
from sqlalchemy import text
from werkzeug.serving import make_server

from bench.http_bench import Browser
from runtime.settings import PROJECT_ROOT
from runtime.web import citizen as citizen_views
from runtime.web.common import DevRequestHandler
from tests.journeys import HAPPY_PATHS, has_files, multipart_fields, upload_url

SERVICE = "blue-badge"
ANSWER = "Quetzalpine-8813 hip dysplasia"
NAME = "Ottoline Quetzalpine-Vance"
QUERY_SECRET = "QQ123456C"


def gunicorn_conf() -> ModuleType:
    spec = importlib.util.spec_from_file_location("civicforms_gunicorn_conf_privacy", PROJECT_ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Capture(logging.Handler):
    """Every record, formatted with its traceback, as a handler writing a log file would."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "werkzeug", "sqlalchemy.engine", "runtime")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # INFO is SQLAlchemy's echo: every statement and its parameters (DEBUG adds the rows
    # fetched, which no deployment logs).
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


class AccessLog:
    """WSGI middleware that writes each request as gunicorn.conf.py's access log would."""

    def __init__(self, app: Any):
        self.app = app
        self.conf = gunicorn_conf()
        cfg = Config()
        cfg.set("access_log_format", self.conf.access_log_format)
        self.logger = self.conf.AccessLogger(cfg)
        self.lines: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        seen: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = list(self.app(environ, start))
        request_headers = [(k[5:].replace("_", "-").title(), v) for k, v in environ.items() if k.startswith("HTTP_")]
        environ = {**environ, "RAW_URI": environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")}
        response = SimpleNamespace(status=seen["status"], sent=sum(map(len, body)), headers=seen["headers"])
        atoms = self.logger.atoms(response, SimpleNamespace(headers=request_headers), environ, timedelta(0))
        self.lines.append(self.conf.access_log_format % self.logger.atoms_wrapper_class(atoms))
        return body


@pytest.fixture
def served(app: Flask) -> Iterator[tuple[Browser, AccessLog]]:
    access = AccessLog(app.wsgi_app)
    app.wsgi_app = access  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=DevRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    browser = Browser(server.server_port)
    try:
        yield browser, access
    finally:
        browser.close()
        server.shutdown()
        thread.join(5)
        server.server_close()


def csrf(page_html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert found, page_html[:300]
    return found.group(1)


def test_a_journey_leaves_no_answer_cookie_token_or_query_in_any_log(
    app: Flask, served: tuple[Browser, AccessLog], captured: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, access = served
    engine = app.extensions["civicforms.engine"]
    assert engine.hide_parameters is True, "runtime/db.py must create the engine with hide_parameters=True"
    secrets: set[str] = {ANSWER, NAME, QUERY_SECRET, "Quetzalpine"}
    base = f"/services/{SERVICE}"

    status, _, start_page = browser.send("GET", f"{base}?ref={QUERY_SECRET}")
    assert status == 200
    token = csrf(start_page)
    secrets.add(token)
    status, location, _ = browser.send("POST", f"{base}/start", {"csrf_token": token})
    assert status == 303
    for page_id, data in HAPPY_PATHS[SERVICE]:
        data = dict(data)
        if "condition_description" in data:
            data["condition_description"] = ANSWER
        if "full_name" in data:
            data["full_name"] = NAME
        status, _, shown = browser.send("GET", f"{base}/{page_id}?email={QUERY_SECRET}%40example.com")
        assert status == 200, page_id
        secrets.add(csrf(shown))
        url = f"{base}/{page_id}?nino={QUERY_SECRET}"
        if has_files(data):  # a file question's page: its upload form, with Continue
            fields, files = multipart_fields(data)
            url, data = upload_url(url), {**fields, **files}
            secrets.update(f.name for f in files.values())
        status, location, _ = browser.send("POST", url, {**data, "csrf_token": token})
        assert status == 303, (page_id, status)
    secrets.add(browser.cookies["civicforms_session"])
    status, _, check = browser.send("GET", f"{base}/check-answers")
    assert status == 200 and html.escape(ANSWER) in check  # the answer is really in the pages
    # An error page and a refused post on the way.
    assert browser.send("POST", f"{base}/your-details", {"full_name": NAME})[0] == 400  # no CSRF token
    assert browser.send("GET", f"/services/{ANSWER.replace(' ', '-').lower()}")[0] == 404

    # The database fails while saving the answers: a 500 and a traceback in the error log.
    def failing_save(*, session: Any, form_session: Any, answers: dict[str, Any], minutes: int) -> None:
        session.connection().execute(
            text("INSERT INTO form_session (id, service_id) VALUES (:id, :service)"),
            {"id": form_session.id, "service": repr(answers)},
        )

    monkeypatch.setattr(citizen_views.form_sessions, "save_answers", failing_save)
    data = dict(dict(HAPPY_PATHS[SERVICE])["your-details"])
    data["full_name"] = NAME
    assert browser.send("POST", f"{base}/your-details", {**data, "csrf_token": token})[0] == 500
    monkeypatch.undo()

    status, location, _ = browser.send("POST", f"{base}/check-answers", {"csrf_token": token})
    assert status == 303
    status, _, confirmation = browser.send("GET", f"{base}/confirmation")
    assert status == 200
    link = re.search(r'href="(/status/[^"]+)"', confirmation)
    assert link, "the confirmation page links to the case status"
    status_token = link.group(1).removeprefix("/status/")
    secrets.add(status_token)
    assert browser.send("GET", link.group(1))[0] == 200
    secrets.add(browser.cookies["civicforms_session"])

    logs = "\n".join(captured.lines + access.lines)
    # The logs are there, and say what happened (so the test can fail).
    # SQLite refuses the duplicate key; PostgreSQL first refuses the over-long service id.
    assert "unhandled error" in logs and re.search(r"sqlalchemy\.exc\.(IntegrityError|DataError)", logs)
    assert "SQL parameters hidden" in logs
    assert re.search(r'"POST /services/blue-badge/walking-difficulty HTTP/1.1" 303', logs)
    assert '"GET /status/[token] HTTP/1.1" 200' in logs
    assert len(access.lines) >= 2 * len(HAPPY_PATHS[SERVICE])
    for secret in secrets:
        assert secret not in logs, f"{secret[:12]}... is in the logs"
    # Quoted forms of the answer (URL or JSON encoding) are not there either.
    for encoded in ("Quetzalpine-8813+hip", "Quetzalpine-8813%20hip", "Ottoline"):
        assert encoded not in logs


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/services/blue-badge/where-you-live?email=jane%40example.com", "/services/blue-badge/where-you-live"),
        ("/status/eyJjYXNlIjo0Mn0.SIGNATUREsignature123", "/status/[token]"),
        ("/builder/set-up/AbCdEfGhIjKlMnOpQrStUvWx", "/builder/set-up/[token]"),
        ('/x"\n\x1b[31m', "/x\\x22\\x0a\\x1b[31m"),
        ("", "-"),
    ],
)
def test_the_development_server_logs_paths_as_the_production_access_log_does(path: str, logged: str) -> None:
    from runtime.web.common import log_path

    assert log_path(path) == logged
    if path and '"' not in path:
        assert gunicorn_conf().log_path(path.split("?")[0]) == logged

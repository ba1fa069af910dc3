"""Slow clients (issue 8): the documented deployment keeps the site answering while clients
trickle their requests.

gunicorn's sync workers (gunicorn.conf.py) read a request with blocking calls: a client that
sends a POST body one byte at a time holds a worker until gunicorn's timeout kills it, and as
many such clients as there are workers stop the site. The defence is nginx in front, configured
by deploy/nginx.conf, which reads every request whole before passing it on.

The tests run the real thing: ``gunicorn -c gunicorn.conf.py runtime.wsgi:app`` with two
workers, and nginx with deploy/nginx.conf, rendered for the test by changing only what a test
cannot have (the TLS certificate, the ports, the cache folder): every buffering and timeout
directive is the file's own line. The same trickle straight at gunicorn shows that nginx is what
makes the difference.

Needs nginx (Debian: ``apt-get install nginx-light``): skipped without it, unless
``CIVICFORMS_REQUIRE_NGINX=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.http_bench import HOST, SERVICE, Server, free_port, prepare, start_server, wait_ready
from runtime.settings import PROJECT_ROOT, Settings

NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
WORKERS = 2
TRICKLERS = 6  # more than the workers
PAGES = ("/", f"/services/{SERVICE}")  # the home page and a service's start page
FAST = 2.0  # seconds: a page through nginx answers within this while others trickle
TRICKLE_HEAD = (
    f"POST /services/{SERVICE}/start HTTP/1.1\r\nHost: forms.example.gov.uk\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000\r\n\r\n"
).encode()


# -- deploy/nginx.conf, and the same file made runnable in a test --------------------------------


def directives(text: str) -> list[str]:
    """The file's statements, one per line, comments and blank lines left out."""
    found = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [line for line in found if line]


def values(text: str, name: str) -> list[str]:
    """The values of every ``name ...;`` statement in the file."""
    return [line[len(name) :].strip().rstrip(";").strip() for line in directives(text) if line.split()[0] == name]


def seconds(value: str) -> float:
    """An nginx time (``10s``, ``500ms``, ``1m``; a bare number is seconds) in seconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|)", value)
    assert match, value
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60, "": 1}[match[2]]


def size(value: str) -> int:
    """An nginx size (``64k``, ``1m``, a bare number of bytes) in bytes."""
    match = re.fullmatch(r"(\d+)([kKmM]?)", value)
    assert match, value
    return int(match[1]) * {"k": 1024, "m": 1024 * 1024, "": 1}[match[2].lower()]


@dataclass(frozen=True)
class Ports:
    https: int  # the file's 443 server (plain HTTP unless rendered with TLS)
    http: int  # the file's port-80 server, the redirect
    gunicorn: int


def render(text: str, ports: Ports, workdir: Path, tls: tuple[Path, Path] | None = None) -> str:
    """deploy/nginx.conf with only what a test cannot have changed: listen on free ports of
    127.0.0.1; without ``tls`` (certificate, key) the 443 server speaks plain HTTP and loses its
    ssl_* lines; the upstream is the test's gunicorn; the cache is in ``workdir``. Every other
    line is the file's own, unchanged (test_the_rendered_config_changes_nothing_but_tls_ports_and_paths)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for line in text.splitlines(keepends=True):
        statement = line.split("#", 1)[0].strip()
        indent = line[: len(line) - len(line.lstrip())]
        key = ""
        if statement.startswith("listen [::]:"):
            key, line = "listen ipv6", ""
        elif statement.startswith("listen 443 "):
            # With TLS the file's own parameters (ssl http2); without, none.
            key, rest = "listen 443", statement.removesuffix(";").split()[2:] if tls else []
            line = f"{indent}listen {' '.join([f'{HOST}:{ports.https}', *rest])};\n"
        elif statement == "listen 80;":
            key, line = "listen 80", f"{indent}listen {HOST}:{ports.http};\n"
        elif statement.startswith("ssl_certificate ") and tls:
            key, line = "ssl_certificate", f"{indent}ssl_certificate {tls[0]};\n"
        elif statement.startswith("ssl_certificate_key ") and tls:
            key, line = "ssl_certificate_key", f"{indent}ssl_certificate_key {tls[1]};\n"
        elif statement.startswith("ssl_") and not tls:
            key, line = "ssl", ""
        elif statement == "server 127.0.0.1:8000;":
            key, line = "upstream", f"{indent}server {HOST}:{ports.gunicorn};\n"
        elif statement.startswith("proxy_cache_path /var/cache/nginx/civicforms "):
            key, line = "cache", line.replace("/var/cache/nginx/civicforms", str(workdir / "cache"))
        if key:
            seen[key] = seen.get(key, 0) + 1
        out.append(line)
    # The file still has the lines this knows how to change (or the test would check nothing).
    expected = {"listen ipv6": 2, "listen 443": 1, "listen 80": 1, "upstream": 1, "cache": 1}
    expected |= {"ssl_certificate": 1, "ssl_certificate_key": 1} if tls else {"ssl": len(ssl_lines(text))}
    assert {k: v for k, v in seen.items() if k in expected} == expected, seen
    return "".join(out)


def ssl_lines(text: str) -> list[str]:
    return [line for line in directives(text) if line.startswith("ssl_")]


def main_config(server_block: str, workdir: Path) -> str:
    """An nginx.conf around the rendered file, as /etc/nginx/nginx.conf includes conf.d/ in
    http {}: everything nginx writes goes to ``workdir``."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers as root can write to workdir
    temp = "".join(
        f"    {kind}_temp_path {workdir / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} warn;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"    access_log {workdir / 'access.log'};\n{temp}"
        f"{server_block}\n}}\n"
    )


# -- processes: gunicorn and nginx, always stopped -------------------------------------------------


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        reason = "nginx is not installed (Debian: apt-get install nginx-light)"
        if os.environ.get("CIVICFORMS_REQUIRE_NGINX") == "1":
            pytest.fail(f"{reason}, and CIVICFORMS_REQUIRE_NGINX=1")
        pytest.skip(f"{reason}; CIVICFORMS_REQUIRE_NGINX=1 turns this skip into a failure")
    return found


class Nginx:
    """nginx in the foreground running deploy/nginx.conf as ``render`` makes it, with its whole
    state (configuration, pid, logs, temp files, cache) in ``workdir``."""

    def __init__(self, binary: str, ports: Ports, workdir: Path, tls: tuple[Path, Path] | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir, self.ports = workdir, ports
        self.port, self.scheme = ports.https, "https" if tls else "http"
        conf = workdir / "nginx.conf"
        self.rendered = render(NGINX_CONF.read_text(), ports, workdir, tls)
        conf.write_text(main_config(self.rendered, workdir))
        self.output = workdir / "nginx.out"
        with self.output.open("wb") as handle:
            self.process = subprocess.Popen(
                [binary, "-p", str(workdir), "-c", str(conf)], stdout=handle, stderr=subprocess.STDOUT
            )

    def logs(self) -> str:
        found = [p for p in (self.output, self.workdir / "error.log") if p.exists()]
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in found)

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"nginx exited ({self.process.returncode}):\n{self.logs()}")
            try:
                if get(self.port, "/healthz", timeout=2, scheme=self.scheme)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"nginx not answering after {timeout:.0f} s:\n{self.logs()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # fast shutdown; its workers go with it
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def nginx() -> str:
    return nginx_binary()


@pytest.fixture(scope="module")
def gunicorn(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The runtime as production runs it: gunicorn.conf.py, sync workers, production settings."""
    workdir = tmp_path_factory.mktemp("gunicorn")
    _, url = prepare("sqlite", workdir)
    env = {
        "CIVICFORMS_ENV": "production",
        "CIVICFORMS_SECRET_KEY": "slow-clients-secret-" + "k" * 32,
        "CIVICFORMS_DATABASE_URL": url,
        "CIVICFORMS_ACCESS_LOG": "off",
    }
    server = start_server("runtime", "runtime", "runtime.wsgi:app", WORKERS, "sqlite", env, workdir)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def proxy(nginx: str, gunicorn: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """nginx with deploy/nginx.conf (plain HTTP) in front of the test's gunicorn."""
    ports = Ports(https=free_port(), http=free_port(), gunicorn=gunicorn.port)
    server = Nginx(nginx, ports, tmp_path_factory.mktemp("nginx"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


# -- clients -----------------------------------------------------------------------------------------


def get(
    port: int, path: str, timeout: float, scheme: str = "http", host: str | None = None
) -> tuple[int, float, http.client.HTTPResponse]:
    """A new visitor's GET: (status, seconds taken, the response, read)."""
    start = time.monotonic()
    if scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(HOST, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - start, response
    finally:
        conn.close()


class Trickle:
    """Clients that each send a POST's header, Content-Length 2000, then one byte of the body
    every 1 to 2 seconds (each its own pace), from one thread."""

    def __init__(self, port: int, count: int, source: str = HOST, pace: bool = True):
        self.sockets: list[socket.socket] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        try:
            for _ in range(count):
                sock = socket.create_connection((HOST, port), timeout=5, source_address=(source, 0))
                sock.settimeout(None)  # blocking: a MSG_DONTWAIT peek must not wait for a timeout
                self.sockets.append(sock)
                sock.sendall(TRICKLE_HEAD)
        except BaseException:
            self.close()
            raise
        self._thread = threading.Thread(target=self._run, daemon=True) if pace else None
        if self._thread:
            self._thread.start()

    def _run(self) -> None:
        every = [1.0 + i / max(1, len(self.sockets) - 1) for i in range(len(self.sockets))]  # 1 to 2 s
        due = [time.monotonic() + e for e in every]
        while not self._stop.wait(0.05):
            for i, sock in enumerate(self.sockets):
                if time.monotonic() >= due[i]:
                    due[i] += every[i]
                    try:
                        sock.sendall(b"a")
                    except OSError as error:
                        self.errors.append(f"client {i}: {error}")

    def still_sending(self) -> bool:
        """Every client still connected, with no answer yet: its request is still in progress."""
        for sock in self.sockets:
            try:
                sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue  # nothing to read: no answer, not closed
            except OSError:
                return False
            return False  # an answer, or b"" (closed)
        return not self.errors

    def close(self) -> None:
        self._stop.set()
        thread = getattr(self, "_thread", None)
        if thread:
            thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def connections_to(port: int) -> int | None:
    """Established TCP connections to ``port`` on 127.0.0.1 (Linux; None elsewhere)."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    local = f"0100007F:{port:04X}"
    return sum(1 for row in table if row.split()[1] == local and row.split()[3] == "01")


# -- the file --------------------------------------------------------------------------------------


def test_the_deployment_config_sets_every_defence() -> None:
    text = NGINX_CONF.read_text()
    assert values(text, "proxy_request_buffering") == ["on"]
    assert values(text, "proxy_buffering") == ["on"]
    for name in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert values(text, name) and all(0 < seconds(v) <= 10 for v in values(text, name)), name
    assert values(text, "reset_timedout_connection") == ["on"]
    # nginx lets through twice what the app refuses (its MAX_CONTENT_LENGTH), so the app's own
    # page explains a post a little too large; the whole post is held in memory.
    assert [size(v) for v in values(text, "client_max_body_size")] == [2 * Settings.max_post_bytes]
    assert [size(v) for v in values(text, "client_body_buffer_size")] == [2 * Settings.max_post_bytes]
    # gunicorn stops a stuck request (its timeout) before nginx gives up on it.
    assert seconds(values(text, "proxy_read_timeout")[0]) > 30
    # Keep-alive to clients; one address cannot hold every connection.
    assert values(text, "keepalive_timeout") and values(text, "limit_conn_zone")
    assert re.fullmatch(r"civicforms_addr \d+", values(text, "limit_conn")[0])
    # Headers gunicorn and the app believe from 127.0.0.1; the scheme headers a client could forge.
    headers = values(text, "proxy_set_header")
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in headers
    assert "X-Forwarded-Proto $scheme" in headers
    assert 'X-Forwarded-Protocol ""' in headers and 'X-Forwarded-Ssl ""' in headers
    # HTTPS, with HTTP only redirecting; the app sends HSTS itself, so nginx must not add a second.
    assert values(text, "listen") == ["80", "[::]:80", "443 ssl http2", "[::]:443 ssl http2"]
    assert values(text, "return") == ["301 https://$server_name$request_uri"]
    assert values(text, "ssl_certificate") and values(text, "ssl_certificate_key")
    assert "strict-transport-security" not in " ".join(values(text, "add_header")).lower()
    assert values(text, "server_tokens") == ["off", "off"]


def test_the_rendered_config_changes_nothing_but_tls_ports_and_paths(tmp_path: Path) -> None:
    text = NGINX_CONF.read_text()
    rendered = render(text, Ports(https=1, http=2, gunicorn=3), tmp_path)
    changed = ("listen", "ssl_", "server 127.0.0.1:", "proxy_cache_path")
    kept = [line for line in directives(text) if not line.startswith(changed)]
    assert [line for line in directives(rendered) if not line.startswith(changed)] == kept
    assert len(kept) > 50 and not ssl_lines(rendered)
    assert values(rendered, "listen") == [f"{HOST}:2", f"{HOST}:1"]


# -- the site under a trickle ----------------------------------------------------------------------


def test_trickling_clients_do_not_stop_the_site_behind_nginx(proxy: Nginx, gunicorn: Server) -> None:
    assert get(proxy.port, "/", timeout=FAST)[0] == 200
    trickle = Trickle(proxy.port, TRICKLERS)
    stalled = Trickle(proxy.port, 1, pace=False)  # its header, then nothing
    try:
        time.sleep(2.5)  # every client has sent its header and a byte or more
        # nginx holds them all: none has reached gunicorn.
        assert connections_to(gunicorn.port) in (0, None)
        timings: list[float] = []
        deadline = time.monotonic() + 9
        while time.monotonic() < deadline:
            for path in PAGES:
                status, took, _ = get(proxy.port, path, timeout=FAST + 1)
                assert status == 200 and took < FAST, (path, status, took)
                timings.append(took)
            time.sleep(0.25)
        assert len(timings) >= 10
        assert trickle.still_sending(), trickle.errors  # they trickled all along
        # A client that stops sending is cut off after client_body_timeout (10 s).
        stalled.sockets[0].settimeout(5)
        try:
            answer = stalled.sockets[0].recv(100)
        except ConnectionResetError:
            answer = b""
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
    finally:
        trickle.close()
        stalled.close()


def test_the_same_trickle_straight_at_gunicorn_stops_the_site(gunicorn: Server) -> None:
    """Without nginx the sync workers are stuck reading the trickles: the site does not answer."""
    assert get(gunicorn.port, "/", timeout=FAST)[0] == 200
    trickle = Trickle(gunicorn.port, TRICKLERS)
    try:
        time.sleep(1)
        with pytest.raises(TimeoutError):
            get(gunicorn.port, "/", timeout=3)
    finally:
        trickle.close()
    # Closed trickles free the workers (they read the end of the connection): the module's
    # other tests find the server as it was.
    wait_ready(gunicorn, timeout=20)


def test_one_address_cannot_hold_more_than_its_share(proxy: Nginx) -> None:
    limit = int(values(NGINX_CONF.read_text(), "limit_conn")[0].split()[1])
    try:
        crowd = Trickle(proxy.port, limit, source="127.0.0.2", pace=False)
    except OSError as error:
        pytest.skip(f"cannot connect from 127.0.0.2 ({error})")
    try:
        time.sleep(0.5)  # nginx has read their headers: each is a request in progress
        one_more = Trickle(proxy.port, 1, source="127.0.0.2", pace=False)
        try:
            one_more.sockets[0].settimeout(FAST)
            assert one_more.sockets[0].recv(100).startswith(b"HTTP/1.1 429")
        finally:
            one_more.close()
        # Other addresses are still served.
        assert get(proxy.port, "/", timeout=FAST)[0] == 200
    finally:
        crowd.close()


@pytest.mark.parametrize(
    ("size_", "status", "words"),
    [(96 * 1024, 413, "The information you sent was too large"), (200 * 1024, 413, "nginx")],
    ids=["a little too large: the app's page", "far too large: refused by nginx unread"],
)
def test_a_post_too_large_gets_a_clear_refusal(proxy: Nginx, size_: int, status: int, words: str) -> None:
    conn = http.client.HTTPConnection(HOST, proxy.port, timeout=FAST)
    try:
        body = b"full_name=" + b"x" * size_
        conn.request(
            "POST",
            "/services/blue-badge/start",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        assert response.status == status
        assert words in response.read().decode(errors="replace")
    finally:
        conn.close()


def test_http_redirects_to_https(proxy: Nginx) -> None:
    status, _, response = get(proxy.ports.http, "/services/x?a=1", timeout=FAST)
    assert status == 301
    assert response.headers["Location"] == "https://forms.example.gov.uk/services/x?a=1"
    assert response.headers["Server"] == "nginx"  # server_tokens off: no version


def test_the_real_tls_server_answers_with_the_apps_security_headers(
    nginx: str, gunicorn: Server, tmp_path: Path
) -> None:
    """The 443 server as written (TLS, HTTP/2 listener), with a throwaway certificate."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no certificate for the TLS server")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=forms.example.gov.uk"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    ports = Ports(https=free_port(), http=free_port(), gunicorn=gunicorn.port)
    server = Nginx(nginx, ports, tmp_path / "nginx", tls=(cert, key))
    try:
        # Every ssl_ line but the two paths is the file's own.
        assert ssl_lines(server.rendered)[2:] == ssl_lines(NGINX_CONF.read_text())[2:]
        assert values(server.rendered, "listen")[1] == f"{HOST}:{ports.https} ssl http2"
        server.wait_ready()
        status, took, response = get(ports.https, "/", timeout=FAST, scheme="https")
        assert status == 200 and took < FAST
        # From the app (X-Forwarded-Proto https believed), once: nginx adds no second copy.
        assert response.headers.get_all("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]
        assert response.headers["Server"] == "nginx"
    finally:
        server.stop()

"""Production server settings for gunicorn: ``gunicorn -c gunicorn.conf.py runtime.wsgi:app``.

The same file serves the builder (``gunicorn -c gunicorn.conf.py builder.wsgi:app``). Settings come
from the environment, like the product's own (README, "Deploying"):

``CIVICFORMS_BIND``
    where to listen, ``HOST:PORT`` or ``unix:PATH``; several separated by commas. Default
    ``127.0.0.1:8000``: only this machine, behind a reverse proxy that terminates HTTPS and
    buffers requests (deploy/nginx.conf: gunicorn must never face clients itself, see below).
``CIVICFORMS_WORKERS`` (or ``WEB_CONCURRENCY``)
    worker processes. Default ``2 × CPUs + 1``, counting the CPUs this process may use (its
    affinity mask and, in a container, its cgroup CPU quota), not every CPU of the host.
``CIVICFORMS_ACCESS_LOG``
    where the access log goes: ``-`` (standard output, the default), a file, or ``off``.
``FORWARDED_ALLOW_IPS``
    the addresses of the reverse proxies whose ``X-Forwarded-Proto`` is believed (so that a
    request that came in over HTTPS counts as secure). gunicorn reads it itself; its default,
    ``127.0.0.1,::1``, is right for a proxy on the same machine. Never ``*`` unless nothing but
    the proxy can reach gunicorn.
``GUNICORN_CMD_ARGS``
    any other gunicorn option, read by gunicorn itself, and it wins over this file
    (``GUNICORN_CMD_ARGS="--threads 4"``, ``--max-requests 1000``).

The access log names the method, the path and the status, never the query string, the form data,
a cookie or the referrer: a citizen's answers must not end up in a log. Links that carry a secret
in the path (a case's status page, a staff member's set-up link) are logged with the secret
replaced by ``[token]``.
"""

from __future__ import annotations

import gc
import math
import os
import re
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

# -- where and how many ------------------------------------------------------------------------


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup v2 CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def worker_count(env: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """``CIVICFORMS_WORKERS``, else ``WEB_CONCURRENCY``, else 2 × usable CPUs + 1."""
    for name in ("CIVICFORMS_WORKERS", "WEB_CONCURRENCY"):
        value = env.get(name, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{name} must be a whole number of workers, 1 or more (got {value!r})")
            return int(value)
    return 2 * usable_cpus() + 1


bind = [b.strip() for b in os.environ.get("CIVICFORMS_BIND", "127.0.0.1:8000").split(",") if b.strip()]
workers = worker_count()
# sync workers: one request at a time each, the model the runtime is written and measured for.
# A worker reads its request with blocking calls, so a client that trickles one (a POST body a
# byte every 2 s) holds the worker until `timeout` kills it: two such clients stopped both
# workers of a 2-worker server for 30 s at a time, again and again (issue 8). gthread is no cure
# (a thread reads a started body with blocking calls too: threads x workers trickles stop it),
# and gevent would need new dependencies and patched database drivers. So gunicorn never faces
# clients itself: nginx configured as deploy/nginx.conf reads each request whole, against short
# timeouts, before passing it on, and takes each response at once (tests/test_slow_clients.py).
# Sync workers do not keep connections alive either: nginx does that for clients.
# `keepalive` applies if GUNICORN_CMD_ARGS="--threads N".
worker_class = "sync"

# Import the app once in the master, before forking: the workers share its memory pages and a
# broken app fails at start, not in every worker. Database connections must not be shared across
# the fork: see when_ready and post_fork below.
preload_app = True

# A worker silent this long is killed and replaced (a request stuck on a lock, say).
timeout = 30
# On a restart or shutdown, requests in flight get this long to finish.
graceful_timeout = 30
# Seconds an idle keep-alive connection is held open (threaded workers only; see above).
keepalive = 5

# Behind a proxy: whose X-Forwarded-Proto (and -Protocol, -Ssl) to believe, so that a request that
# reached the proxy over HTTPS counts as secure. The proxy's own addresses, comma separated
# (networks allowed: 10.0.0.0/8); the default is a proxy on this machine. "*" believes anyone
# who can reach gunicorn: only when nothing but the proxy can.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The worker heartbeat is a file touched every second: on a disk-backed /tmp that can block.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# gunicorn 25+ opens a control socket at one fixed path per user by default; a second server
# (the builder beside the runtime) silently takes it over. Off unless asked for.
_control = os.environ.get("CIVICFORMS_CONTROL_SOCKET", "").strip()
if _control:
    control_socket = _control
else:
    control_socket_disable = True

# -- logging -----------------------------------------------------------------------------------

_access = os.environ.get("CIVICFORMS_ACCESS_LOG", "-").strip() or "-"
accesslog = None if _access.lower() in ("off", "none", "false", "0") else _access
errorlog = "-"
loglevel = os.environ.get("CIVICFORMS_LOG_LEVEL", "info").strip().lower() or "info"
# Client address, time, method, path (%(U)s: no query string), protocol, status, bytes, duration
# in ms, user agent. Never %(r)s (request line, with the query) or %(q)s (the query), %(f)s
# (the referrer, which carries the previous page's query), or a {cookie}i header.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

# A path segment that looks like a secret: 20 characters or more, with something a service,
# page or file name never has (capitals, "_", "~", a "." between base64 runs as itsdangerous
# writes). Service and page ids are lower-case words and digits joined by hyphens.
_SLUG = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\"\\]")
# Request and response headers never logged, whatever the format says.
_SECRET_HEADERS = {"cookie", "set-cookie", "authorization", "proxy-authorization", "referer", "x-csrftoken"}


def log_path(path: str | None) -> str:
    """``path`` as the access log shows it: secrets replaced, control characters escaped."""
    if not path:
        return "-"
    segments = ["[token]" if len(s) >= 20 and not _SLUG.fullmatch(s) else s for s in path.split("/")]
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", "/".join(segments))


class AccessLogger(Logger):
    """gunicorn's logger, with nothing in the access log's atoms that could carry answers or
    secrets: even a format changed by hand (``--access-logformat``) cannot log the query
    string, the referrer, cookies or credentials."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        path = log_path(environ.get("PATH_INFO"))
        atoms["U"] = path
        atoms["r"] = f"{atoms.get('m')} {path} {atoms.get('H')}"
        atoms["q"] = "-"
        atoms["f"] = "-"
        atoms["u"] = "-"
        for key in [k for k in atoms if k.startswith("{") and k[1:].split("}")[0] in _SECRET_HEADERS]:
            atoms[key] = "-"
        atoms["a"] = _CONTROL.sub("?", str(atoms.get("a") or "-"))
        return atoms


logger_class = AccessLogger

# -- no database connection crosses a fork -----------------------------------------------------


def _engines(app: Any, depth: int = 0) -> list[Any]:
    """The SQLAlchemy engines of the Flask apps inside ``app`` (also behind the builder's
    DispatcherMiddleware and SharedDataMiddleware)."""
    if app is None or depth > 4:
        return []
    extensions = getattr(app, "extensions", None)
    if isinstance(extensions, dict) and "civicforms.engines" in extensions:
        return list(extensions["civicforms.engines"])
    found: list[Any] = []
    for inner in [getattr(app, "app", None), *dict(getattr(app, "mounts", None) or {}).values()]:
        found += _engines(inner, depth + 1)
    return found


def _loaded_app(server: Any) -> Any:
    """The WSGI app the master preloaded (None without preload_app: nothing was inherited)."""
    return getattr(getattr(server, "app", None), "callable", None)


def when_ready(server: Any) -> None:
    """In the master, before the first fork: close any connection loading the app opened, then
    move everything the app loaded out of the garbage collector's sight (``gc.freeze``).

    The workers share the master's memory pages until they write to them; a full collection
    in a worker writes to every object it tracks (reference counts and GC links), copying the
    whole heap into each worker. Frozen objects are never scanned, so those pages stay shared
    (the gunicorn master and two workers: about 190 MB PSS without it, under 140 MB with it).
    """
    for engine in _engines(_loaded_app(server)):
        engine.dispose()
    gc.collect()
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: forget the pool inherited from the master without closing its
    connections (they belong to the master's process; closing them here would end them there).
    The worker opens its own on first use. Covers workers forked again after a crash too."""
    for engine in _engines(_loaded_app(server)):
        engine.dispose(close=False)

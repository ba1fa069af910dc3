"""The ``civicforms`` command: every command of the runtime's (runtime/cli.py), and ``serve``.

``serve`` lives here, not in runtime/cli.py, because it puts every face together, the builder
among them, and nothing in runtime/ imports the builder.
"""

from __future__ import annotations

from typing import Any

import click

from runtime.cli import main as runtime_main


def served_address(host: str, port: int) -> str:
    """The address people reach ``serve`` on: a wildcard host is reached as 127.0.0.1."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _match_in_the_background() -> Any:
    """Run citizen matching's jobs (``civicforms worker``'s matching half) on a daemon thread of
    the development server, so that possible matches and joined records appear in a trial as
    they would beside a real worker. Messages stay in the outbox page, as before."""
    import logging
    import threading

    from runtime.cli_common import settings as read_settings
    from runtime.db import make_engine, session
    from runtime.services import matching

    settings = read_settings()
    engine = make_engine(settings.database_url)
    log = logging.getLogger("civicforms.matching")
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            jobs = 0
            try:
                with session(engine) as s:
                    jobs = matching.run_jobs(s, limit=settings.worker_batch_size, settings=settings).jobs
            except Exception:  # noqa: BLE001 - a development aid: say so and go on
                log.exception("matching jobs failed; trying again shortly")
            if jobs < settings.worker_batch_size:
                stop.wait(settings.worker_interval_seconds)
        engine.dispose()

    threading.Thread(target=loop, name="civicforms-matching", daemon=True).start()
    return stop  # set it to stop the thread (tests)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-matching", is_flag=True, help="Do not run citizen matching's jobs in the background.")
def serve(host: str, port: int, no_matching: bool) -> None:
    """Serve every face of the product on one development server (with citizen matching's jobs
    run in the background; in production, `civicforms worker` runs them)."""
    import os

    # Imported here: the other commands (``validate`` in pre-commit hooks) need no web face.
    from werkzeug.serving import run_simple

    from runtime.web.common import DevRequestHandler

    from .dev import create_dev_app

    os.environ.setdefault("CIVICFORMS_ENV", "development")
    # Links in messages (a case's, a set-up link) name the address this server is on, unless
    # the settings say otherwise: `serve --port 5001` must not send people to 5000.
    os.environ.setdefault("CIVICFORMS_BASE_URL", served_address(host, port))
    app = create_dev_app()
    if not no_matching:
        _match_in_the_background()
    click.echo(f"Civic Forms on http://{host}:{port}/")
    run_simple(host, port, app, use_reloader=False, threaded=True, request_handler=DevRequestHandler)


main = click.Group(
    name="civicforms",
    help=runtime_main.help,
    commands=sorted([*runtime_main.commands.values(), serve], key=lambda command: command.name or ""),
)

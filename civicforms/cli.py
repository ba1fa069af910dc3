"""The ``civicforms`` command: every command of the runtime's (runtime/cli.py), and ``serve``.

``serve`` lives here, not in runtime/cli.py, because it puts every face together, the builder
among them, and nothing in runtime/ imports the builder.
"""

from __future__ import annotations

import click

from runtime.cli import main as runtime_main


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve every face of the product on one development server."""
    import os

    # Imported here: the other commands (``validate`` in pre-commit hooks) need no web face.
    from werkzeug.serving import run_simple

    from runtime.web.common import DevRequestHandler

    from .dev import create_dev_app

    os.environ.setdefault("CIVICFORMS_ENV", "development")
    app = create_dev_app()
    click.echo(f"Civic Forms on http://{host}:{port}/")
    run_simple(host, port, app, use_reloader=False, threaded=True, request_handler=DevRequestHandler)


main = click.Group(
    name="civicforms",
    help=runtime_main.help,
    commands=sorted([*runtime_main.commands.values(), serve], key=lambda command: command.name or ""),
)

"""What every ``civicforms`` command module shares (runtime/cli.py, runtime/cli_release.py)."""

from __future__ import annotations

import click


def settings():  # type: ignore[no-untyped-def]
    """The settings from the environment, or a clear command-line error naming the bad one."""
    from .settings import SettingsError, from_environment

    try:
        return from_environment()
    except SettingsError as exc:
        raise click.ClickException(f"settings: {exc}") from exc

"""Links in messages name the address `civicforms serve` is actually on (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from civicforms import cli


@pytest.mark.parametrize(
    ("host", "port", "address"),
    [
        ("127.0.0.1", 5001, "http://127.0.0.1:5001"),
        ("localhost", 8080, "http://localhost:8080"),
        ("0.0.0.0", 5000, "http://127.0.0.1:5000"),
        ("::1", 5002, "http://[::1]:5002"),
    ],
)
def test_the_served_address(host: str, port: int, address: str) -> None:
    assert cli.served_address(host, port) == address


def test_serve_on_another_port_makes_links_name_that_port(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from runtime.settings import from_environment

    seen: dict[str, Any] = {}
    # Recorded first, so that what serve sets is taken away again after the test.
    monkeypatch.setenv("CIVICFORMS_BASE_URL", "recorded")
    monkeypatch.delenv("CIVICFORMS_BASE_URL")
    monkeypatch.setenv("CIVICFORMS_ENV", "development")
    monkeypatch.setenv("CIVICFORMS_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setattr("civicforms.dev.create_dev_app", lambda: seen.setdefault("settings", from_environment()))
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda *args, **kwargs: None)
    result = CliRunner().invoke(cli.serve, ["--port", "5001", "--no-matching"])
    assert result.exit_code == 0, result.output
    assert seen["settings"].base_url == "http://127.0.0.1:5001"
    assert "http://127.0.0.1:5001/" in result.output

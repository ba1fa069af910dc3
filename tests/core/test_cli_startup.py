"""``civicforms validate`` imports only what checking needs (issue 13, finding 9).

IT runs it in pre-commit hooks and CI on every push. It took 1.7 s and 150 MB to check one small
file, nearly all of it start-up: jsonschema's optional "iri" checker building lark grammars, and
the workflow check importing the staff module (SQLModel, SQLAlchemy, argon2). This test is
structural, not a timing: each run is a new interpreter, as the hook's is, and lists what it
imported. bench/validate_startup.py measures the time and memory (docs/performance.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.settings import PROJECT_ROOT

# Only commands that need the database, a web face or a staff password may import these.
NOT_FOR_CHECKING = (
    "flask",
    "werkzeug",
    "jinja2",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "psycopg",
    "pydantic",
    "argon2",
    "lark",
    "rfc3987_syntax",
    "arrow",
)

RUN = """
import json, sys
from runtime.cli import main
code = None
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stderr.flush()
print("\\nRESULT " + json.dumps({"code": code, "modules": sorted(k for k, v in sys.modules.items() if v)}))
"""


def run_validate(*args: str) -> tuple[int, str, str, set[str]]:
    """(exit code, stdout, stderr, top-level packages imported) of ``civicforms validate`` in a new interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", RUN, "validate", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output, _, result = done.stdout.rpartition("\nRESULT ")
    found = json.loads(result)
    return found["code"], output, done.stderr, {m.split(".")[0] for m in found["modules"]}


@pytest.mark.parametrize("name", sorted(p.name for p in (PROJECT_ROOT / "form_definitions").glob("*.json")))
def test_validate_checks_a_shipped_file_without_the_database_or_web_modules(name: str) -> None:
    code, output, errors, imported = run_validate(f"form_definitions/{name}")
    assert (code, output, errors) == (0, "", "1 definition OK\n")
    assert imported.isdisjoint(NOT_FOR_CHECKING), sorted(imported & set(NOT_FOR_CHECKING))
    assert {"jsonschema", "re2", "click"} <= imported  # it did check


def test_a_refused_file_is_reported_as_before_without_them(tmp_path: Path) -> None:
    doc = json.loads((PROJECT_ROOT / "form_definitions" / "blue-badge.json").read_text(encoding="utf-8"))
    doc["title"] = ""
    doc["workflow"] = {"initial": "new"}  # a workflow section: the roles a transition may name are read
    path = tmp_path / "blue-badge.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, output, errors, imported = run_validate(str(path))
    assert code == 1
    assert output.startswith(f"{path}: $.")
    assert errors == ""
    assert imported.isdisjoint(NOT_FOR_CHECKING), sorted(imported & set(NOT_FOR_CHECKING))


def test_a_missing_file_keeps_its_exit_code() -> None:
    code, output, errors, _ = run_validate("no-such-file.json")
    assert (code, output, errors) == (1, "", "no-such-file.json: $: no such file or folder\n")

"""The layers stay apart: the runtime never imports the builder, and the core imports no Flask.

The citizen runtime must deploy without the builder (README, "Deploying"), and the engine's
rules must run without a web server (docs/architecture.md, "A pure core").
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from runtime.settings import PROJECT_ROOT

RUNTIME = PROJECT_ROOT / "runtime"
BUILDER = PROJECT_ROOT / "builder"
# The web layers and their WSGI entry points may import Flask; nothing else may.
WEB = {RUNTIME / "web", RUNTIME / "wsgi.py", RUNTIME / "casework_wsgi.py", BUILDER / "web", BUILDER / "wsgi.py"}
WEB_PACKAGES = ("flask", "flask_wtf", "htmx_flask", "jinja2", "werkzeug")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(path: Path) -> set[str]:
    return _imports_in(path.read_text(), _module_name(path), is_package=path.name == "__init__.py")


def _imports_in(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module an import statement names, anywhere in the source, relative ones resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            imported = ".".join([*base, *([node.module] if node.module else [])])
            names.add(imported)
            names.update(f"{imported}.{alias.name}" for alias in node.names)
    return names


def _core_modules() -> list[Path]:
    """The pure modules: all of runtime/ and builder/ but their web layers."""
    return sorted(
        path
        for root in (RUNTIME, BUILDER)
        for path in root.rglob("*.py")
        if not any(path == web or web in path.parents for web in WEB)
    )


def test_nothing_in_the_runtime_imports_the_builder() -> None:
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(n for n in _imported(path) if n.split(".")[0] == "builder")
        for path in RUNTIME.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_scan_sees_every_way_of_writing_an_import() -> None:
    source = (
        "import builder\n"
        "from builder.web import views\n"
        "def lazily():\n"
        "    import builder.operations as ops\n"
        "from . import common\n"
        "from ..store import definition\n"
    )
    names = _imports_in(source, "runtime.web.probe")
    assert {"builder", "builder.web", "builder.operations"} <= names
    assert {"runtime.web.common", "runtime.store.definition"} <= names


def test_the_core_imports_no_flask() -> None:
    """Import every core module with the web packages blocked: one that needs them fails by name.

    A fresh interpreter, so that what the test suite has already imported cannot hide it.
    """
    modules = [_module_name(path) for path in _core_modules()]
    assert "runtime.checker" in modules and "runtime.cli" in modules and "builder" in modules
    script = f"""
import importlib, json, sys, traceback
BLOCKED = {WEB_PACKAGES!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"the core imported {{name}}")
sys.meta_path.insert(0, Block())
failed = {{}}
for module in {modules!r}:
    try:
        importlib.import_module(module)
    except ImportError as error:
        failed[module] = str(error)
print(json.dumps(failed))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}

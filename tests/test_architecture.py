"""The layers stay apart: the runtime never imports the builder, the core imports no Flask, and
no module imports one that imports it back.

The citizen runtime must deploy without the builder (README, "Deploying"), and the engine's
rules must run without a web server (docs/architecture.md, "A pure core"). The layers are written
down as import-linter contracts in pyproject.toml ([tool.importlinter]); the tests here run them,
and find import cycles themselves, counting imports inside functions and under TYPE_CHECKING.
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
        "if TYPE_CHECKING:\n"
        "    from runtime.checker import Problem\n"
    )
    names = _imports_in(source, "runtime.web.probe")
    assert {"builder", "builder.web", "builder.operations"} <= names
    assert {"runtime.web.common", "runtime.store.definition", "runtime.checker"} <= names


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


# --- import cycles ---------------------------------------------------------------------------


def _package_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for root in (RUNTIME, BUILDER, PROJECT_ROOT / "civicforms")
        for path in root.rglob("*.py")
    }


def _import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports, wherever the import statement is.

    ``from . import x`` is an import of the module ``pkg.x`` when there is one, as Python and
    import-linter read it; an imported name that is not a module is an import of its module.
    """
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                imported = ".".join([*base, *([node.module] if node.module else [])])
                subs = [f"{imported}.{alias.name}" for alias in node.names]
                names = [sub for sub in subs if sub in modules] or [imported]
                if len(names) < len(subs):
                    names.append(imported)
            else:
                continue
            for name in names:
                parts = name.split(".")
                owner = next(
                    (".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in modules), None
                )
                if owner is not None and owner != module:
                    found.add(owner)
        graph[module] = found
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def test_the_cycle_finder_counts_imports_in_functions_and_under_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n")
    (package / "b.py").write_text("def late():\n    from . import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("from pkg import a\n")
    modules = {
        ".".join(path.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__"): path
        for path in package.glob("*.py")
    }
    graph = _import_graph(modules)
    assert graph["pkg.d"] == {"pkg.a"}  # the module, not its package
    assert _cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_cycle_among_the_modules_of_runtime_and_builder() -> None:
    cycles = _cycles(_import_graph(_package_modules()))
    assert cycles == []


def test_the_import_linter_contracts_hold() -> None:
    """``lint-imports`` with pyproject.toml's contracts: the layers, the runtime without the
    builder, the core without Flask, and no cycle between the modules of a package."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# --- transactions belong to the use cases ---------------------------------------------------

TRANSACTION_CALLS = ("commit", "rollback", "begin", "begin_nested")


def _faces_and_entry_points() -> list[Path]:
    """The web faces, the command line and the WSGI entry points: they call use cases
    (runtime.services), which own every transaction."""
    roots = [RUNTIME / "web", BUILDER / "web", PROJECT_ROOT / "civicforms"]
    files = [RUNTIME / "cli.py", RUNTIME / "wsgi.py", RUNTIME / "casework_wsgi.py", BUILDER / "wsgi.py"]
    return sorted([path for root in roots for path in root.rglob("*.py")] + files)


def _transaction_calls(source: str) -> list[str]:
    """``line: name`` for every call of an attribute named commit, rollback, begin or begin_nested."""
    calls = [
        (node.lineno, node.func.attr)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TRANSACTION_CALLS
    ]
    return [f"{line}: {name}" for line, name in sorted(calls)]


def test_the_transaction_scan_sees_every_way_of_writing_one() -> None:
    source = (
        "db.commit()\n"
        "def undo():\n"
        "    g.db.rollback()\n"
        "with db().begin():\n"
        "    pass\n"
        "session.begin_nested()\n"
        "commit()\n"  # a function of its own, not a session's
        "store.commit_changes()\n"
    )
    assert _transaction_calls(source) == ["1: commit", "3: rollback", "4: begin", "6: begin_nested"]


def test_no_face_or_command_commits_rolls_back_or_begins_a_transaction() -> None:
    modules = _faces_and_entry_points()
    assert RUNTIME / "web" / "common.py" in modules and PROJECT_ROOT / "civicforms" / "cli.py" in modules
    found = {str(path.relative_to(PROJECT_ROOT)): _transaction_calls(path.read_text()) for path in modules}
    assert {path: calls for path, calls in found.items() if calls} == {}

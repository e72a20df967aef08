"""The runtime's shape: small modules, no SQL, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import orchestratex.runtime

RUNTIME = Path(orchestratex.runtime.__file__).parent
MAX_LINES = 300


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text()) for p in sorted(RUNTIME.glob("*.py"))}


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_runtime_module_imports_sqlalchemy_or_grows_past_the_limit() -> None:
    for path in sorted(RUNTIME.glob("*.py")):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_LINES, f"{path.name}: {lines} lines"
        imported = _imports(ast.parse(path.read_text()))
        assert not any(name.split(".")[0] == "sqlalchemy" for name in imported), path.name


def test_runtime_modules_import_each_other_without_cycles() -> None:
    prefix = "orchestratex.runtime."
    graph = {
        name: {i[len(prefix) :] for i in _imports(tree) if i.startswith(prefix)}
        for name, tree in _modules().items()
    }
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, " -> ".join((*path, node))
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))
        done.add(node)

    for name in graph:
        visit(name, ())

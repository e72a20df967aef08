"""The surfaces (`api`, `cli`, `web`) call the runtime only: no import of `store` or `providers`,
whether at module level, inside a function or under TYPE_CHECKING, absolute or relative."""

from __future__ import annotations

import ast
from pathlib import Path

import orchestratex

PACKAGE = Path(orchestratex.__file__).parent
SURFACES = ("api", "cli", "web")
BELOW_RUNTIME = ("orchestratex.store", "orchestratex.providers")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module `source` imports anywhere (relative imports resolved against `module`),
    including each `from X import name` as both `X` and `X.name` (a name may be a submodule)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _below_runtime(names: set[str]) -> set[str]:
    return {n for n in names if any(n == b or n.startswith(b + ".") for b in BELOW_RUNTIME)}


def test_the_check_sees_nested_relative_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from orchestratex.store.views import Dashboard\n"
        "def f() -> None:\n"
        "    import orchestratex.providers.gateway\n"
        "    from ... import store\n"
        "    from ...providers import catalog\n"
    )
    found = _below_runtime(imported_modules(source, "orchestratex.api.routes.x"))
    assert found == {
        "orchestratex.store.views",
        "orchestratex.store.views.Dashboard",
        "orchestratex.providers.gateway",
        "orchestratex.store",
        "orchestratex.providers",
        "orchestratex.providers.catalog",
    }


def test_api_cli_and_web_import_neither_store_nor_providers() -> None:
    offences: list[str] = []
    checked = 0
    for surface in SURFACES:
        for path in sorted((PACKAGE / surface).rglob("*.py")):
            checked += 1
            names = imported_modules(
                path.read_text(), _module_name(path), is_package=path.name == "__init__.py"
            )
            offences += [f"{path.relative_to(PACKAGE)}: {n}" for n in sorted(_below_runtime(names))]
    assert checked > 40  # the walk found the surfaces' modules
    assert offences == []

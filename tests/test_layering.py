"""The layers stay layers: what each package may import, checked from the source.

Static, so an import hidden inside a function counts too and nothing is executed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THIRD_PARTY_IO = ("trio", "sqlalchemy", "alembic", "pluggy", "urwid", "psycopg")


def imported_modules(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def violations(package: str, allowed: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imported_modules(path):
            top = module.split(".")[0]
            ours = top == "ircish"
            if (ours and not module.startswith(allowed)) or top in forbidden:
                found.append(f"{path.relative_to(ROOT)} imports {module}")
    return found


def test_protocol_imports_nothing_else_of_ircish() -> None:
    assert violations("ircish/protocol", ("ircish.protocol",), THIRD_PARTY_IO) == []


def test_core_imports_no_io_library_and_no_outer_layer() -> None:
    allowed = ("ircish.core", "ircish.protocol", "ircish.config", "ircish.passwords",
               "ircish.__init__")
    found = [v for v in violations("ircish/core", allowed, THIRD_PARTY_IO)
             if not v.endswith(" imports ircish")]  # `from ircish import __version__`
    assert found == []


@pytest.mark.parametrize("plugin", sorted((ROOT / "ircish" / "plugins").glob("*.py")),
                         ids=lambda p: p.stem)
def test_shipped_plugins_reach_the_server_only_through_the_plugin_api(plugin: Path) -> None:
    ours = [m for m in imported_modules(plugin) if m.split(".")[0] == "ircish"]
    assert all(m == "ircish.hooks" for m in ours), ours


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    # The checks above pass on an empty list; make sure they would find one.
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import trio\n    from ircish.net import app\n")
    assert list(imported_modules(bad)) == ["trio", "ircish.net"]


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(tree: ast.AST) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``(module, names)`` for each import that runs when the module does: those
    under ``if TYPE_CHECKING:`` are skipped (their ``else:`` branch counts)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for branch in node.orelse:
                yield from _runtime_imports(ast.Module(body=[branch], type_ignores=[]))
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, tuple(alias.name for alias in node.names)
        else:
            yield from _runtime_imports(node)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of ``package`` (under ``root``) -> the modules of ``package`` it
    imports at run time. ``from pkg import mod`` is an edge to ``pkg.mod``; importing
    ``a.b.c`` also runs ``a`` and ``a.b``, so those are edges too."""
    files = {_module_name(root, p): p for p in (root / package.replace(".", "/")).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges: set[str] = set()
        for module, names in _runtime_imports(ast.parse(path.read_text("utf-8"), str(path))):
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in files] or [module]
            for target in targets:
                parts = target.split(".")
                edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        # A module's own packages run before it; they are not a cycle through it.
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
        graph[name] = {e for e in edges if e in files and e not in own}
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle (``[a, b, ..., a]``) if there is any, by depth-first search."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_core_has_no_import_cycle() -> None:
    assert find_cycle(import_graph(ROOT, "ircish.core")) is None


def test_only_the_command_table_imports_the_handlers() -> None:
    # Handlers adapt lines to rules; bots, history, the store and the hooks call
    # the rules themselves (ircish.core.membership, nicks, delivery, state).
    importers = set()
    for package in ("ircish",):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.parent == ROOT / "ircish/core/handlers":
                continue
            tree = ast.parse(path.read_text("utf-8"), str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                if any(n == "ircish.core.handlers" or n.startswith("ircish.core.handlers.")
                       for n in names):
                    importers.add(str(path.relative_to(ROOT)))
    assert importers == {"ircish/core/commands.py"}


def test_the_cycle_check_sees_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\n"
                                       "if TYPE_CHECKING:\n    from pkg import c\n"
                                       "def f():\n    from pkg import a\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.a"}  # the TYPE_CHECKING import is not counted
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    # Only the TYPE_CHECKING import is left: c -> a -> b, and no way back.
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\n"
                                       "if TYPE_CHECKING:\n    from pkg import c\n")
    assert find_cycle(import_graph(tmp_path, "pkg")) is None

"""The layers stay layers: what each package may import, checked from the source.

Static, so an import hidden inside a function counts too and nothing is executed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
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


@pytest.mark.parametrize("plugin", sorted((ROOT / "plugins").glob("*.py")), ids=lambda p: p.stem)
def test_shipped_plugins_reach_the_server_only_through_the_plugin_api(plugin: Path) -> None:
    ours = [m for m in imported_modules(plugin) if m.split(".")[0] == "ircish"]
    assert all(m == "ircish.hooks" for m in ours), ours


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    # The checks above pass on an empty list; make sure they would find one.
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import trio\n    from ircish.net import app\n")
    assert list(imported_modules(bad)) == ["trio", "ircish.net"]

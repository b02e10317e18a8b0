"""Helpers for plugin tests: write plugin modules into a temp dir, start a server
with them enabled, and wait for what the (asynchronous) hooks did."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from ircish.testing import RunningServer, start_server
from tests.ircclient import RawClient

REPO_PLUGINS = Path(__file__).resolve().parents[2] / "ircish" / "plugins"


def write_plugin(directory: Path, name: str, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def plugin_config(
    directory: Path | str, enabled: list[str], settings: dict[str, dict[str, Any]] | None = None,
    **plugins: Any,
) -> dict[str, Any]:
    section: dict[str, Any] = {"dir": str(directory), "enabled": enabled, **plugins}
    section.update(settings or {})
    return {"plugins": section}


async def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until ``predicate()`` is truthy: hooks run in another task."""
    with trio.fail_after(timeout):
        while True:
            value = predicate()
            if value:
                return value
            await trio.sleep(0.01)


class Harness:
    def __init__(self, srv: RunningServer) -> None:
        self.srv = srv
        self.clients: list[RawClient] = []

    @property
    def runner(self) -> Any:
        return self.srv.owner("plugins")

    def module(self, name: str) -> Any:
        return self.runner.plugins[name].plugin

    async def client(self, nick: str, caps: list[str] | None = None) -> RawClient:
        client = await RawClient.connect(self.srv.port)
        self.clients.append(client)
        await client.register(nick, caps)
        return client


@pytest.fixture
def plugin_server(tmp_path: Path) -> Callable[..., Any]:
    """``async with plugin_server({"rec": SOURCE}, config=...) as h``."""

    @asynccontextmanager
    async def make(
        sources: dict[str, str], enabled: list[str] | None = None,
        settings: dict[str, dict[str, Any]] | None = None, directory: Path | None = None,
        config: dict[str, Any] | None = None, **plugins: Any,
    ) -> AsyncIterator[Harness]:
        folder = directory or tmp_path / "plugins"
        folder.mkdir(parents=True, exist_ok=True)
        for name, source in sources.items():
            write_plugin(folder, name, source)
        overrides = plugin_config(folder, enabled or list(sources), settings, **plugins)
        overrides.update(config or {})
        async with start_server(tmp_path, overrides) as srv:
            harness = Harness(srv)
            try:
                yield harness
            finally:
                for client in harness.clients:
                    await client.aclose()

    return make

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ircish.testing import RunningServer, start_server
from tests.ircclient import RawClient


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with start_server(tmp_path) as srv:
        yield srv


@pytest.fixture
def make_server(tmp_path: Path) -> Callable[..., Any]:
    """``async with make_server({"limits": {...}}) as srv`` for tests needing a config."""

    def make(config: dict[str, Any] | None = None) -> Any:
        return start_server(tmp_path, config)

    return make


@pytest.fixture
async def connect(server: RunningServer) -> AsyncIterator[Callable[..., Awaitable[RawClient]]]:
    clients: list[RawClient] = []

    async def factory(nick: str | None = None, caps: list[str] | None = None) -> RawClient:
        client = await RawClient.connect(server.port)
        clients.append(client)
        if nick:
            await client.register(nick, caps)
        return client

    yield factory
    for client in clients:
        await client.aclose()

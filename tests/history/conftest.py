from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ircish.testing import RunningServer, start_server
from tests.ircclient import RawClient

HISTORY_CONFIG: dict[str, Any] = {
    "storage": {"url": "sqlite:///history.db", "flush_interval_ms": 20},
    "history": {"replay_on_join": 5, "chathistory_max": 50},
    # Tests send bursts of lines; fakelag is not what they are about.
    "limits": {"flood_burst": 1000},
}

ALL_CAPS = ["batch", "server-time", "message-tags", "draft/chathistory"]


def with_history(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    config = {k: dict(v) for k, v in HISTORY_CONFIG.items()}
    for section, values in (extra or {}).items():
        config.setdefault(section, {}).update(values)
    return config


@pytest.fixture
async def hserver(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with start_server(tmp_path, with_history()) as srv:
        yield srv


ClientFactory = Callable[..., Awaitable[RawClient]]


@pytest.fixture
async def hconnect(hserver: RunningServer) -> AsyncIterator[ClientFactory]:
    clients: list[RawClient] = []

    async def factory(nick: str, caps: list[str] | None = None) -> RawClient:
        client = await RawClient.connect(hserver.port)
        clients.append(client)
        await client.register(nick, caps)
        return client

    yield factory
    for client in clients:
        await client.aclose()

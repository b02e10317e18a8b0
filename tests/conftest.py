from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from ircish.testing import RunningServer, start_server
from tests.ircclient import RawClient

# A skip inside a Trio test keeps its reason in the summary (pytest-trio drops it).
from tests.skipreason import pytest_runtest_makereport  # noqa: F401

# Property tests (tests/fuzz): the default profile is bounded and derandomized, so
# the suite stays fast, every run tries the same examples, and nothing is written
# into the repository. ``IRCISH_FUZZ=long`` explores at random with many more
# examples and keeps failing ones in a database under the system temp directory.
settings.register_profile(
    "bounded", max_examples=150, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, print_blob=True,
    database=DirectoryBasedExampleDatabase(
        os.path.join(tempfile.gettempdir(), "ircish-hypothesis")),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("IRCISH_FUZZ") or "bounded")


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

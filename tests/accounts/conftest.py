from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ircish.testing import RunningServer, start_server
from tests.history.conftest import with_history
from tests.ircclient import RawClient


def accounts_config(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return with_history({"accounts": {"nick_reservation": "off"}, **(extra or {})})


@pytest.fixture
async def aserver(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with start_server(tmp_path, accounts_config()) as srv:
        yield srv


async def registered(port: int, nick: str, password: str) -> RawClient:
    """A connected client that registered the account ``nick`` with REGISTER."""
    client = await RawClient.connect(port)
    await client.register(nick)
    await client.send(f"REGISTER * * {password}")
    msg = await client.expect(lambda m: m.command in ("REGISTER", "FAIL"))
    assert msg.command == "REGISTER" and msg.params[0] == "SUCCESS", msg
    await client.expect("900")
    return client

"""Shared test helpers: run a client against a port, wait for a condition."""

from __future__ import annotations

from collections.abc import Callable

import trio

from ircish.client.app import Client, make_client
from ircish.client.config import ClientConfig


def config(port: int, **overrides: object) -> ClientConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "nick": "ada",
        "join": ("#lobby",),
        "reconnect_delay": 0.05,
        "reconnect_max": 0.2,
    }
    values.update(overrides)
    return ClientConfig(**values)  # type: ignore[arg-type]


def client_for(port: int, **overrides: object) -> Client:
    return make_client(config(port, **overrides))


async def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll until ``condition()`` is true; the client updates state from its own task."""
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.01)


def texts(client: Client, name: str) -> list[str]:
    buffer = client.buffers.server if name == "*" else client.buffers.get(name)
    assert buffer is not None, f"no buffer {name}"
    return [line.text for line in buffer.lines]

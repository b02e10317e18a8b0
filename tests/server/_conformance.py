"""Shared pieces for the protocol conformance tests over real sockets.

``irc`` starts a server with flood control loosened (these tests send many lines
quickly on purpose) and one operator block, and hands out registered clients.
``ask`` sends lines followed by a PING and returns every reply before its PONG, so
a test sees the complete answer to a command without waiting on a timer.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from typing import Any

import pytest

from ircish.passwords import hash_password
from ircish.protocol import Message
from tests.ircclient import RawClient

OPER_NAME = "operuser"
OPER_PASSWORD = "operpassword"
_sync = itertools.count()


@cache
def oper_hash() -> str:
    return hash_password(OPER_PASSWORD)


def conformance_config(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "limits": {"flood_burst": 1000, "flood_rate": 1000.0},
        "opers": [{"name": OPER_NAME, "password_hash": oper_hash()}],
    }
    for section, values in (extra or {}).items():
        if isinstance(values, dict):
            config.setdefault(section, {}).update(values)
        else:
            config[section] = values
    return config


Connect = Callable[..., Awaitable[RawClient]]


@pytest.fixture(name="irc")
async def irc_fixture(make_server: Callable[..., Any]) -> AsyncIterator[Connect]:
    async with make_server(conformance_config()) as srv:
        clients: list[RawClient] = []

        async def connect(nick: str | None = None, caps: list[str] | None = None) -> RawClient:
            client = await RawClient.connect(srv.port)
            clients.append(client)
            if nick:
                await client.register(nick, caps)
            return client

        connect.server = srv  # type: ignore[attr-defined]
        yield connect
        for client in clients:
            await client.aclose()


async def ask(client: RawClient, *lines: str) -> list[Message]:
    """Send ``lines``; every line received until the server answers a PING after them."""
    token = f"sync{next(_sync)}"
    start = len(client.seen)
    await client.send(*lines, f"PING :{token}")
    await client.expect(lambda m: m.command == "PONG" and m.params[-1] == token)
    return [m for m in client.seen[start:-1]]


async def settle(*clients: RawClient) -> None:
    """Drain what each client has been sent so far."""
    for client in clients:
        await ask(client)


def codes(msgs: list[Message]) -> list[str]:
    return [m.command for m in msgs]


def pick(msgs: list[Message], command: str) -> Message:
    for m in msgs:
        if m.command == command:
            return m
    raise AssertionError(f"no {command} in {[m.encode() for m in msgs]}")

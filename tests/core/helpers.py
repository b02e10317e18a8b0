"""Driving ``ircish.core.server.Server`` without sockets.

A ``FakeSink`` records the bytes the core queues for one connection; a ``Client``
feeds parsed lines to ``Server.handle`` and hands back what arrived since the last
look, parsed, so a test reads like a conversation.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ircish.core.server import Server
from ircish.core.state import User
from ircish.protocol import Message, parse
from ircish.testing import test_config


class FakeSink:
    """Implements ``ircish.core.state.Sink`` like the network shell does: a close
    queues a final ``ERROR`` line and nothing is sent after it."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.closed: str | None = None

    def send(self, data: bytes) -> None:
        assert isinstance(data, bytes)
        assert data.endswith(b"\r\n"), data
        if self.closed is None:
            self.chunks.append(data)

    def close(self, error: str) -> None:
        if self.closed is None:
            self.chunks.append(f"ERROR :{error}\r\n".encode())
            self.closed = error


class Client:
    def __init__(self, server: Server, ip: str = "127.0.0.1", host: str = "localhost") -> None:
        self.server = server
        self.sink = FakeSink()
        self.user: User = server.connect(self.sink, ip, host)
        self._seen = 0

    @property
    def nick(self) -> str:
        return self.user.nick

    def send(self, *lines: str) -> list[Message]:
        """Handle each line as if this client sent it; return what it received."""
        for line in lines:
            self.server.handle(self.user, parse(line))
        return self.take()

    def take(self) -> list[Message]:
        """Every line queued for this client since the last ``take``."""
        new = self.sink.chunks[self._seen :]
        self._seen = len(self.sink.chunks)
        out = []
        for chunk in new:
            for raw in chunk.decode("utf-8").split("\r\n"):
                if raw:
                    assert len(raw.encode()) + 2 <= 512 or raw.startswith("@"), raw
                    out.append(parse(raw))
        return out

    def raw(self) -> list[str]:
        """Like ``take`` but the lines as text, for checks on exact formatting."""
        new = self.sink.chunks[self._seen :]
        self._seen = len(self.sink.chunks)
        return [line for chunk in new for line in chunk.decode().split("\r\n") if line]

    def disconnect(self, reason: str = "Connection closed") -> None:
        self.server.disconnect(self.user, reason)


class Net:
    """A Server plus the clients a test connects to it."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def raw_client(self, ip: str = "127.0.0.1", host: str = "localhost") -> Client:
        return Client(self.server, ip, host)

    def client(
        self,
        nick: str,
        caps: Iterable[str] = (),
        *,
        username: str | None = None,
        realname: str | None = None,
        host: str = "localhost",
        ip: str = "127.0.0.1",
    ) -> Client:
        """A registered client; the registration burst is already taken."""
        c = Client(self.server, ip, host)
        caps = list(caps)
        if caps:
            c.send("CAP LS 302", f"CAP REQ :{' '.join(caps)}")
        c.send(f"NICK {nick}", f"USER {username or nick} 0 * :{realname or nick + ' real'}")
        if caps:
            c.send("CAP END")
        assert c.user.registered, f"{nick} did not register"
        return c

    def joined(self, channel: str, *clients: Client) -> None:
        for c in clients:
            c.send(f"JOIN {channel}")
        for c in clients:
            c.take()


def make_server(tmp_path: Path, overrides: dict[str, Any] | None = None, **kwargs: Any) -> Server:
    return Server(test_config(tmp_path, overrides), **kwargs)


# ---- small readers for assertions ----------------------------------------------------


def commands(msgs: list[Message]) -> list[str]:
    return [m.command for m in msgs]


def first(msgs: list[Message], command: str) -> Message:
    for m in msgs:
        if m.command == command:
            return m
    raise AssertionError(f"no {command} in {[m.encode() for m in msgs]}")


def every(msgs: list[Message], command: str) -> list[Message]:
    return [m for m in msgs if m.command == command]


def only(msgs: list[Message]) -> Message:
    assert len(msgs) == 1, [m.encode() for m in msgs]
    return msgs[0]


def isupport(msgs: list[Message]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for m in every(msgs, "005"):
        for token in m.params[1:-1]:
            key, _, value = token.partition("=")
            tokens[key] = value
    return tokens

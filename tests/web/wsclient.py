"""A WebSocket test client (wsproto on a Trio socket), and a Trio stream over it
so ``RawClient`` can speak IRC through WebSocket like through TCP."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

import h11
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection as WsFrames
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from ircish.testing import RunningServer
from tests.ircclient import RawClient


def ws_port(srv: RunningServer) -> int:
    return srv.owner("websocket").addresses[0].port


@dataclass
class Rejected(Exception):
    status: int
    headers: dict[bytes, bytes]
    body: bytes = b""


@dataclass
class WsClient:
    stream: trio.abc.Stream
    ws: WSConnection
    subprotocol: str | None
    messages: list[Message] = field(default_factory=list)
    closed: CloseConnection | None = None
    pongs: list[bytes] = field(default_factory=list)

    @classmethod
    async def connect(
        cls, port: int, *, subprotocols: Sequence[str] = ("text.ircv3.net",),
        origin: str | None = None, headers: Sequence[tuple[bytes, bytes]] = (),
        ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1",
    ) -> WsClient:
        stream: trio.abc.Stream = await trio.open_tcp_stream("127.0.0.1", port)
        if ssl_context is not None:
            stream = trio.SSLStream(stream, ssl_context, server_hostname="127.0.0.1",
                                    https_compatible=True)
        ws = WSConnection(ConnectionType.CLIENT)
        extra = list(headers)
        if origin is not None:
            extra.append((b"origin", origin.encode()))
        await stream.send_all(ws.send(Request(host=f"{host}:{port}", target="/",
                                              subprotocols=list(subprotocols),
                                              extra_headers=extra)))
        client = cls(stream, ws, None)
        while True:
            data = await stream.receive_some(65536)
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    client.subprotocol = event.subprotocol
                    return client
                if isinstance(event, RejectConnection):
                    body = b""
                    if event.has_body:
                        for more in ws.events():
                            if isinstance(more, RejectData):
                                body += more.data
                        while True:
                            data = await stream.receive_some(65536)
                            if not data:
                                break
                            ws.receive_data(data)
                            for more in ws.events():
                                if isinstance(more, RejectData):
                                    body += more.data
                    raise Rejected(event.status_code, dict(event.headers), body)
            if not data:
                raise ConnectionError("closed during the handshake")

    async def send_text(self, text: str) -> None:
        await self.stream.send_all(self.ws.send(TextMessage(data=text)))

    async def send_bytes(self, data: bytes) -> None:
        await self.stream.send_all(self.ws.send(BytesMessage(data=data)))

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def ping(self, payload: bytes) -> None:
        await self.stream.send_all(self.ws.send(Ping(payload=payload)))

    async def close(self, code: int = 1000) -> None:
        await self.stream.send_all(self.ws.send(CloseConnection(code=code)))

    async def next_message(self, timeout: float = 5.0) -> Message | None:
        """The next whole message (fragments joined), or None once closed."""
        with trio.fail_after(timeout):
            while True:
                if self.messages:
                    return self.messages.pop(0)
                if self.closed is not None:
                    return None
                try:
                    data = await self.stream.receive_some(65536)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
                if not data:
                    if self.closed is None:
                        self.closed = CloseConnection(code=1006)
                    continue
                self.ws.receive_data(data)
                for event in self.ws.events():
                    if isinstance(event, Message):
                        self.messages.append(event)
                    elif isinstance(event, Pong):
                        self.pongs.append(bytes(event.payload))
                    elif isinstance(event, CloseConnection):
                        self.closed = event
                        if self.ws.state.name == "REMOTE_CLOSING":
                            await self.stream.send_all(self.ws.send(event.response()))


class WsLineStream(trio.abc.Stream):
    """IRC lines over ``WsClient``: each CRLF line sent is one message, each
    message received comes back with a CRLF; ``frames`` keeps what arrived."""

    def __init__(self, client: WsClient) -> None:
        self.client = client
        self.frames: list[Message] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        for line in bytes(data).split(b"\r\n"):
            if line:
                if self.client.subprotocol == "binary.ircv3.net":
                    await self.client.send_bytes(line)
                else:
                    await self.client.send_text(line.decode("utf-8"))

    async def wait_send_all_might_not_block(self) -> None:
        pass

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        message = await self.client.next_message(timeout=30)
        if message is None:
            return b""
        self.frames.append(message)
        data = message.data
        return (data.encode("utf-8") if isinstance(data, str) else bytes(data)) + b"\r\n"

    async def aclose(self) -> None:
        await self.client.stream.aclose()


async def ws_irc(port: int, nick: str | None = None, **kwargs) -> tuple[RawClient, WsLineStream]:
    client = await WsClient.connect(port, **kwargs)
    lines = WsLineStream(client)
    irc = RawClient(lines)
    if nick:
        await irc.register(nick)
    return irc, lines


__all__ = ["Rejected", "WsClient", "WsFrames", "WsLineStream", "h11", "ws_irc", "ws_port"]

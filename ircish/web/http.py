"""The HTTP/1.1 side of the web listener (h11): one request in, one answer out.

Every answer closes the connection: the listener serves a handful of small
files and WebSocket upgrades, so keep-alive would only hold sockets open.
"""

from __future__ import annotations

from dataclasses import dataclass

import h11
import trio

# Request line and headers together; a browser's upgrade request is under 2 KiB.
MAX_REQUEST_HEAD = 16384

REASONS = {
    101: b"Switching Protocols",
    200: b"OK",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    426: b"Upgrade Required",
    500: b"Internal Server Error",
}

# Headers on every answer: nothing is sniffed, framed or told where the user came from.
SAFE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: tuple[tuple[bytes, bytes], ...]

    def header(self, name: bytes) -> str | None:
        """The header's value (several joined with ", "), or None if absent."""
        values = [v for k, v in self.headers if k == name]
        return b", ".join(values).decode("latin-1") if values else None

    def header_values(self, name: bytes) -> list[str]:
        """A comma-separated header's items, over every line that names it."""
        found: list[str] = []
        for key, value in self.headers:
            if key == name:
                found.extend(i.strip() for i in value.decode("latin-1").split(",") if i.strip())
        return found


class BadRequest(Exception):
    """The bytes were not an HTTP/1.1 request; the message says why."""


class HttpExchange:
    """One connection's HTTP: read the request, send the one answer."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_HEAD)

    async def read_request(self) -> Request | None:
        """The request, or None if the peer left before sending one."""
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise BadRequest(str(exc)) from None
            if event is h11.NEED_DATA:
                data = await self.stream.receive_some(MAX_REQUEST_HEAD)
                self.conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                return Request(event.method.decode("ascii", "replace").upper(),
                               event.target.decode("latin-1"), tuple(event.headers))
            return None

    def trailing_data(self) -> bytes:
        """Bytes that came after the request (a WebSocket client's first frames)."""
        return bytes(self.conn.trailing_data[0])

    async def switch(self, headers: list[tuple[bytes, bytes]]) -> None:
        """101 Switching Protocols: from now on the stream is the new protocol's."""
        # h11 lets the upgrade through once the request's end is read.
        while self.conn.their_state is h11.SEND_BODY:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                raise BadRequest("an upgrade request has no body")
        data = self.conn.send(h11.InformationalResponse(
            status_code=101, reason=REASONS[101], headers=headers))
        await self.stream.send_all(data or b"")

    async def respond(
        self, status: int, body: bytes, content_type: bytes,
        headers: list[tuple[bytes, bytes]] | None = None, *, head_only: bool = False,
    ) -> None:
        fields = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *SAFE_HEADERS,
            *(headers or []),
        ]
        response = h11.Response(status_code=status, reason=REASONS.get(status, b""),
                                headers=fields)
        try:
            data = self.conn.send(response) or b""
            if body and not head_only:
                data += self.conn.send(h11.Data(data=body)) or b""
            data += self.conn.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            # h11 refuses to answer in this state (the request was not HTTP at
            # all): the same answer, written by hand.
            head = [b"HTTP/1.1 %d %s" % (status, REASONS.get(status, b""))]
            head += [k + b": " + v for k, v in fields]
            data = b"\r\n".join(head) + b"\r\n\r\n" + (b"" if head_only else body)
        await self.stream.send_all(data)

    async def respond_text(
        self, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None,
        *, head_only: bool = False,
    ) -> None:
        await self.respond(status, (text + "\n").encode("utf-8"), b"text/plain; charset=utf-8",
                           [(b"content-security-policy", b"default-src 'none'"),
                            (b"cache-control", b"no-store"), *(headers or [])],
                           head_only=head_only)

"""IRC lines over an open WebSocket, as a Trio stream of CRLF-ended lines.

``WebSocketStream`` is what ``Connection`` reads and writes for a WebSocket
client, so such a client is an ordinary connection (limits, fakelag, sendQ,
bans, history, plugins). Coming in, each message becomes one line followed by
LF, fed to the same framer as a TCP client's bytes (the same length limits and
417 answer); control frames (ping, close) are answered here. Going out, each
line of what the outbox hands over becomes one frame without its CRLF
(IRCv3 websocket: one line per message).

Outgoing data frames are built here rather than by wsproto: a server's frames
are never masked and no extension is negotiated, so a frame is a two- or
four-byte header and the line, and the fan-out path stays one ``send`` per
recipient. wsproto parses what comes in and builds the control frames; it never
tracks outgoing data frames, so its state stays right.
"""

from __future__ import annotations

import logging
import socket

import trio
from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

log = logging.getLogger("ircish.web")

TEXT = "text.ircv3.net"
BINARY = "binary.ircv3.net"

_OP_TEXT = 0x81  # FIN + text
_OP_BINARY = 0x82  # FIN + binary
_BROKEN = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def frame_header(opcode: int, size: int) -> bytes:
    if size < 126:
        return bytes((opcode, size))
    if size < 65536:
        return bytes((opcode, 126)) + size.to_bytes(2, "big")
    return bytes((opcode, 127)) + size.to_bytes(8, "big")


def _text_safe(data: bytes) -> bytes:
    """Lines for a text frame must be UTF-8: a relayed non-UTF-8 byte becomes U+FFFD."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8")
    return data


# A fan-out hands every member the same bytes: framed once, not once per member.
# Keyed by the bytes (their hash is kept by the object), per frame kind.
_CACHE_ENTRIES = 256
_CACHE_MAX_BYTES = 4096  # at most 1 MiB held per kind
_framed: tuple[dict[bytes, bytes], dict[bytes, bytes]] = ({}, {})


def encode_frames(data: bytes, binary: bool) -> bytes:
    """Every CRLF-ended line of ``data`` as one WebSocket frame, without the CRLF."""
    cache = _framed[binary]
    wire = cache.get(data)
    if wire is None:
        wire = _encode(data, binary)
        if len(data) <= _CACHE_MAX_BYTES:
            if len(cache) >= _CACHE_ENTRIES:
                cache.clear()
            cache[data] = wire
    return wire


def _encode(data: bytes, binary: bool) -> bytes:
    opcode = _OP_BINARY if binary else _OP_TEXT
    if not binary:
        data = _text_safe(data)
    parts: list[bytes] = []
    for line in data.split(b"\r\n"):
        if line:
            parts.append(frame_header(opcode, len(line)))
            parts.append(line)
    return b"".join(parts)


def frames_with_ends(data: bytes, binary: bool) -> list[tuple[int, bytes]]:
    """(offset in ``data`` just after the line, its frame) for every line: the
    slow path after a partial send, to know which lines are out."""
    opcode = _OP_BINARY if binary else _OP_TEXT
    out: list[tuple[int, bytes]] = []
    start = 0
    while start < len(data):
        end = data.find(b"\r\n", start)
        stop = len(data) if end == -1 else end + 2
        line = data[start:end if end != -1 else len(data)]
        if line:
            if not binary:
                line = _text_safe(line)
            out.append((stop, frame_header(opcode, len(line)) + line))
        elif out:
            out[-1] = (stop, out[-1][1])
        start = stop
    return out


def _unmask(payload: bytes, key: bytes) -> bytes:
    if key == b"\0\0\0\0" or not payload:
        return payload
    size = len(payload)
    mask = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(mask, "little")).to_bytes(
        size, "little")


class _Nowait:
    """The outbox's non-blocking send on a plain-TCP WebSocket (``NowaitSender``).

    Answers how much of ``data`` is dealt with, like ``socket.send``: a line
    whose frame went out only in part counts as sent and the rest of its frame
    waits in the stream, which writes it first next time.
    """

    __slots__ = ("raw", "ws")

    def __init__(self, ws: WebSocketStream, raw: socket.socket) -> None:
        self.ws = ws
        self.raw = raw

    def send(self, data: bytes, /) -> int:
        ws = self.ws
        if ws.closed:
            return len(data)  # after the close frame nothing more may be sent
        if ws.lock.locked():
            raise BlockingIOError  # a task is mid-write: the writer queues behind it
        if ws.pending:
            sent = self.raw.send(ws.pending)
            ws.pending = ws.pending[sent:]
            if ws.pending:
                raise BlockingIOError
        wire = encode_frames(data, ws.binary)
        try:
            sent = self.raw.send(wire)
        except BlockingIOError:
            return 0
        if sent == len(wire):
            return len(data)
        done = 0
        position = 0
        for end, frame in frames_with_ends(data, ws.binary):
            if position >= sent:
                break
            if position + len(frame) > sent:
                ws.pending = frame[sent - position:]
            position += len(frame)
            done = end
        return done


class WebSocketStream(trio.abc.Stream):
    """A WebSocket after its handshake, read and written as IRC lines."""

    def __init__(
        self, transport: trio.abc.Stream, ws: WsConnection, subprotocol: str | None,
        max_line: int, peer: str, trailing: bytes = b"",
    ) -> None:
        self.transport = transport
        self.ws = ws
        # No subprotocol agreed: text, the kind browsers' clients expect.
        self.binary = subprotocol == BINARY
        self.subprotocol = subprotocol
        # A message longer than this is cut here and reported by the framer as
        # too long (417), as a TCP line would be; the rest of it is dropped.
        self.max_line = max_line
        self.peer = peer
        self.lock = trio.Lock()
        self.pending = b""  # the rest of a frame the socket took only part of
        self.closed = False  # our close frame is out: data from now on is dropped
        self._eof = False
        self._ready: list[bytes] = []
        self._message: list[bytes] = []
        self._message_size = 0
        # Frames are read by _take_simple_frames until one needs wsproto.
        self._fast = True
        self._fast_buf = trailing
        raw = getattr(getattr(transport, "socket", None), "_sock", None)
        self.nowait = _Nowait(self, raw) if isinstance(raw, socket.socket) else None

    # ---- writing ----------------------------------------------------------------

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            return
        wire = encode_frames(bytes(data), self.binary)
        await self._write(wire)

    async def _write(self, wire: bytes) -> None:
        async with self.lock:
            if self.pending:
                wire, self.pending = self.pending + wire, b""
            await self.transport.send_all(wire)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport.wait_send_all_might_not_block()

    def _close_frame(self, code: int, reason: str) -> bytes:
        if self.ws.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            return b""
        self.closed = True
        return self.ws.send(CloseConnection(code=code, reason=reason))

    async def aclose(self) -> None:
        """Say goodbye with a close frame (1000), briefly, then close the socket."""
        with trio.CancelScope(shield=True), trio.move_on_after(1):
            frame = self._close_frame(1000, "")
            if frame and not self.lock.locked():
                try:
                    await self._write(frame)
                except _BROKEN:
                    pass
        await trio.aclose_forcefully(self.transport)

    def close_now(self) -> None:
        """``Connection``'s quick close of a plain socket: the close frame if the
        socket takes it at once, then the socket."""
        frame = self._close_frame(1000, "")
        if self.nowait is not None and frame and not self.lock.locked():
            try:
                self.nowait.raw.send(self.pending + frame)
            except OSError:
                pass
        self.transport.socket.close()  # type: ignore[attr-defined]

    # ---- reading ----------------------------------------------------------------

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._fast_buf and not self._ready:
            await self._feed(b"")  # what came with the handshake
        while not self._ready:
            if self._eof:
                return b""
            data = await self.transport.receive_some(65536)
            if not data:
                self._eof = True
                return b""
            await self._feed(data)
        lines = b"".join(self._ready)
        self._ready.clear()
        return lines

    async def _feed(self, data: bytes) -> None:
        if self._fast:
            buf = self._fast_buf + data if self._fast_buf else data
            self._fast_buf = self._take_simple_frames(buf)
            if self._fast:
                return
            data, self._fast_buf = self._fast_buf, b""
        self.ws.receive_data(data)
        await self._handle_events()

    def _take_simple_frames(self, buf: bytes) -> bytes:
        """The common frames read here, the rest of ``buf`` returned: a whole
        masked text or binary message in one frame of under 64 KiB (and, for
        text, valid UTF-8). At the first frame of any other kind (control,
        fragment, extension bits, an error) wsproto takes over for good from
        that frame on: it answers every case the RFC has. It costs 45 µs a
        message; this, a few."""
        i = 0
        n = len(buf)
        while i + 6 <= n:
            first = buf[i]
            second = buf[i + 1]
            if (first != _OP_TEXT and first != _OP_BINARY) or second < 0x80:
                self._fast = False
                return buf[i:]
            size = second & 0x7F
            head = 6
            if size == 126:
                if i + 8 > n:
                    break
                size = int.from_bytes(buf[i + 2:i + 4], "big")
                head = 8
            elif size == 127:
                self._fast = False
                return buf[i:]
            end = i + head + size
            if end > n:
                break
            payload = _unmask(buf[i + head:end], buf[i + head - 4:i + head])
            if first == _OP_TEXT:
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError:
                    self._fast = False
                    return buf[i:]
            self._add(payload, True)
            i = end
        return buf[i:]

    async def _handle_events(self) -> None:
        for event in self.ws.events():
            if isinstance(event, TextMessage | BytesMessage):
                chunk = event.data.encode("utf-8") if isinstance(event, TextMessage) \
                    else bytes(event.data)
                self._add(chunk, event.message_finished)
            elif isinstance(event, Ping):
                await self._control(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._eof = True
                if event.code not in (1000, 1001, 1005, 1006):
                    log.info("WebSocket from %s closed: %s (%d)", self.peer,
                             event.reason or "no reason", event.code)
                if self.ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
                    # Their close answered, or a protocol error of theirs (wsproto
                    # names it: 1002, invalid UTF-8 in a text frame 1007) told.
                    frame = self._close_frame(event.code if event.code >= 1002 else 1000,
                                              event.reason or "")
                    await self._control(frame)
                return

    def _add(self, chunk: bytes, finished: bool) -> None:
        room = self.max_line - self._message_size
        if room > 0:
            self._message.append(chunk[:room])
        self._message_size += len(chunk)
        if not finished:
            return
        line = b"".join(self._message)
        self._message.clear()
        self._message_size = 0
        # A CRLF the client added anyway ends the line it would have ended.
        self._ready.append(line + b"\n")

    async def _control(self, frame: bytes) -> None:
        if not frame:
            return
        try:
            await self._write(frame)
        except _BROKEN:
            self._eof = True

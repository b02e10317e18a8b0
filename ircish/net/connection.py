"""One client connection: a reader that frames and dispatches lines, and a writer
that drains the send queue. The core sees the connection only as a ``Sink``."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import trio

from ircish.core import numerics as N
from ircish.net.flood import FloodGate
from ircish.protocol.framing import TOO_LONG, LineFramer, decode_line
from ircish.protocol.message import ProtocolError, parse

if TYPE_CHECKING:
    from ircish.core.state import Sink, User
    from ircish.net.app import IrcServer

log = logging.getLogger("ircish.net")

_BROKEN = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class Connection:
    """Implements ``ircish.core.state.Sink`` for one socket."""

    __slots__ = (
        "_buf",
        "_closing",
        "_lot",
        "_parked",
        "_queued",
        "_scope",
        "app",
        "created",
        "last_data",
        "ping_sent",
        "quit_reason",
        "sendq_limit",
        "stream",
        "user",
    )

    def __init__(self, app: IrcServer, stream: trio.abc.Stream, ip: str, secure: bool) -> None:
        self.app = app
        self.stream = stream
        self._buf: list[bytes] = []
        self._queued = 0
        self._lot = trio.lowlevel.ParkingLot()
        self._parked = False
        self._closing = False
        self._scope: trio.CancelScope | None = None
        self.sendq_limit = app.config.limits.sendq_bytes
        self.quit_reason = "Connection closed"
        self.created = self.last_data = trio.current_time()
        self.ping_sent: float | None = None
        host = "0" + ip if ip.startswith(":") else ip
        self.user: User = app.core.connect(self, ip, host, secure)

    # ---- Sink -----------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if self._closing:
            return
        self._queued += len(data)
        if self._queued > self.sendq_limit:
            self._overflow()
            return
        self._buf.append(data)
        if self._parked:
            self._wake()

    def _overflow(self) -> None:
        # Never block the sender on a slow reader: drop this client instead. The
        # quit is announced from the connection's own task, not from inside the
        # broadcast loop that is calling us.
        self._buf.clear()
        self._queued = 0
        self.quit_reason = "SendQ exceeded"
        self._closing = True
        if self._scope is not None:
            self._scope.cancel()

    def close(self, error: str) -> None:
        if self._closing:
            return
        self._closing = True
        self._buf.append(f"ERROR :{error}\r\n".encode("utf-8", "replace"))
        self._wake()
        self._limit_closing_time()

    def _limit_closing_time(self) -> None:
        # The writer ends the connection once the ERROR line is out; a client that
        # stopped reading must not keep it open longer than this.
        if self._scope is not None:
            self._scope.deadline = min(self._scope.deadline, trio.current_time() + 2)

    def _wake(self) -> None:
        self._parked = False
        self._lot.unpark()

    # ---- tasks ----------------------------------------------------------------------

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._scope = nursery.cancel_scope
                if self._closing:
                    self._limit_closing_time()
                nursery.start_soon(self._writer)
                await self._reader()
                # The reader stopped (EOF or a close was asked): let the writer finish.
                self.close(f"Closing Link: {self.user.host} ({self.quit_reason})")
        finally:
            with trio.CancelScope(shield=True):
                self.app.core.disconnect(self.user, self.quit_reason)
                if self.quit_reason == "SendQ exceeded":
                    # Best effort: the socket is full, which is why we are here.
                    with trio.move_on_after(0.2):
                        try:
                            await self.stream.send_all(b"ERROR :Closing Link: SendQ exceeded\r\n")
                        except _BROKEN:
                            pass
                await trio.aclose_forcefully(self.stream)

    async def _writer(self) -> None:
        buf = self._buf
        try:
            while True:
                if not buf:
                    if self._closing:
                        break
                    self._parked = True
                    await self._lot.park()
                    continue
                data = b"".join(buf) if len(buf) > 1 else buf[0]
                buf.clear()
                self._queued = 0
                await self.stream.send_all(data)
        except _BROKEN:
            self.quit_reason = "Connection reset"
        finally:
            self._closing = True
            if self._scope is not None:
                self._scope.cancel()

    async def _reader(self) -> None:
        limits = self.app.config.limits
        framer = LineFramer(limits.line_length, limits.tags_length)
        gate = FloodGate(limits.flood_burst, limits.flood_rate, trio.current_time())
        core = self.app.core
        user = self.user
        while not self._closing:
            try:
                data = await self.stream.receive_some(65536)
            except _BROKEN:
                self.quit_reason = "Connection reset"
                return
            if not data:
                self.quit_reason = "Remote host closed the connection"
                return
            now = trio.current_time()
            self.last_data = now
            self.ping_sent = None
            lines = framer.feed(data)
            for index, raw in enumerate(lines):
                if self._closing:
                    return
                if raw is TOO_LONG:
                    core.numeric(user, N.ERR_INPUTTOOLONG, "Input line was too long")
                    continue
                exempt = user.bot or (user.oper and limits.flood_exempt_opers)
                if not exempt:
                    delay = gate.delay(trio.current_time())
                    if delay > 0:
                        if len(lines) - index > limits.flood_excess:
                            self.quit_reason = "Excess Flood"
                            core.kill(user, "Excess Flood", "Closing Link: Excess Flood")
                            return
                        await trio.sleep(delay)
                try:
                    msg = parse(decode_line(raw))  # type: ignore[arg-type]
                except ProtocolError:
                    continue  # tags or a source with no command: nothing to act on
                core.handle(user, msg)


def fanout(sinks: Iterable[Sink], data: bytes, skip: Sink | None) -> None:
    """``Connection.send`` to many at once, inlined: this loop is the server's hot path.

    One broadcast to a big channel runs this body once per member, so it avoids
    a method call per member; other sinks (bots) get an ordinary ``send``.
    """
    size = len(data)
    for sink in sinks:
        if sink is skip:
            continue
        if sink.__class__ is not Connection:
            sink.send(data)
            continue
        conn: Connection = sink  # type: ignore[assignment]
        if conn._closing:
            continue
        queued = conn._queued + size
        if queued > conn.sendq_limit:
            conn._overflow()
            continue
        conn._queued = queued
        conn._buf.append(data)
        if conn._parked:
            conn._wake()


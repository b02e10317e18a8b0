"""One client connection: a reader that frames and dispatches lines, and a send
queue flushed by the shared outbox (or, when the socket is full, by a writer task
of its own). The core sees the connection only as a ``Sink``."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Protocol

import trio

from ircish.core import numerics as N
from ircish.core.closing import closing_link
from ircish.net import clientcert
from ircish.net.flood import FloodGate
from ircish.net.outbox import DIRTY, IDLE, WRITING
from ircish.protocol.framing import TOO_LONG, LineFramer, decode_checked
from ircish.protocol.message import ProtocolError, parse

if TYPE_CHECKING:
    from ircish.core.state import User
    from ircish.net.app import IrcServer

log = logging.getLogger("ircish.net")

# How long one read's lines may hold the loop before others get a turn. A yield
# after every line let the outbox flush between a sender's lines, one send per
# line and recipient: fan-out fell from 1.19 M to 0.72 M deliveries/s.
TURN_BUDGET_S = 0.001
# While the reader waits for answers it reads on, up to this much, only to notice a
# client that hangs up meanwhile (the work on its behalf is then cancelled).
READ_AHEAD_MAX = 65536

_BROKEN = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class NowaitSender(Protocol):
    """What the outbox writes to without waiting: ``socket.socket.send``'s
    contract (bytes of ``data`` dealt with; BlockingIOError when there is no room)."""

    def send(self, data: bytes, /) -> int: ...


class _ReadAhead:
    """What was read while the reader waited for answers, in order, for the reader."""

    __slots__ = ("chunks", "done", "end", "running", "scope", "size")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.end: str | None = None  # the quit reason once the client has gone
        self.running = False
        self.done = trio.Event()
        self.scope = trio.CancelScope()  # cancelled once the reader has stopped


class Connection:
    """Implements ``ircish.core.state.Sink`` for one socket."""

    __slots__ = (
        "_ahead",
        "_gone",
        "_held",
        "_held_scopes",
        "_nursery",
        "_reader_task",
        "_released",
        "_rsock",
        "_scope",
        "app",
        "buf",
        "closing",
        "created",
        "last_data",
        "ping_sent",
        "queued",
        "quit_reason",
        "sendq_limit",
        "sock",
        "state",
        "stream",
        "user",
    )

    def __init__(self, app: IrcServer, stream: trio.abc.Stream, ip: str, secure: bool) -> None:
        self.app = app
        self.stream = stream
        # For the outbox's non-blocking sends: the plain socket under a TCP stream,
        # or a stream's own ``nowait`` sender (WebSocket frames its lines there);
        # None for TLS, where every write goes through the stream.
        self.sock: NowaitSender | None = getattr(stream, "nowait", None)
        if self.sock is None:
            trio_sock = getattr(stream, "socket", None)
            raw = getattr(trio_sock, "_sock", None)
            self.sock = raw if isinstance(raw, socket.socket) else None
        # The reader's own non-blocking recv on a plain TCP socket (see _receive).
        self._rsock: socket.socket | None = (
            self.sock if isinstance(stream, trio.SocketStream)
            and isinstance(self.sock, socket.socket) else None)
        self.buf: list[bytes] = []
        self.queued = 0
        self.state = IDLE
        self.closing = False
        self._scope: trio.CancelScope | None = None
        # Answers still owed to this client (work off the loop); its lines wait.
        self._held = 0
        self._released: trio.Event | None = None
        # The held work that is cancelled when the client goes; whether it has.
        self._held_scopes: list[trio.CancelScope] | None = None
        self._gone = False
        self._ahead: _ReadAhead | None = None
        self._nursery: trio.Nursery | None = None
        self._reader_task: trio.lowlevel.Task | None = None
        self.sendq_limit = app.config.limits.sendq_bytes
        self.quit_reason = "Connection closed"
        self.created = self.last_data = trio.current_time()
        self.ping_sent: float | None = None
        host = "0" + ip if ip.startswith(":") else ip
        self.user: User = app.core.connect(self, ip, host, secure)

    # ---- Sink -----------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if self.closing:
            return
        self.queued += len(data)
        if self.queued > self.sendq_limit:
            self.overflow()
            return
        self.buf.append(data)
        if self.state == IDLE:
            self.app.outbox.mark(self)

    def close(self, error: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.buf.append(f"ERROR :{error}\r\n".encode("utf-8", "replace"))
        if self.state != WRITING and self._send_rest():
            # All of it went in one non-blocking send (the usual QUIT): no writer
            # task is needed, only the reader has to stop.
            self.state = IDLE
            self._stop_reader()
            return
        self._start_writer()
        self._limit_closing_time()

    def _send_rest(self) -> bool:
        """Try to send the whole queue now; True when nothing is left of it."""
        if self.sock is None or self._nursery is None:
            return False
        buf = self.buf
        data = b"".join(buf) if len(buf) > 1 else buf[0]
        buf.clear()
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return True  # the peer is gone: nothing more can be written
        if sent < len(data):
            buf.append(data[sent:])
            self.queued = len(data) - sent
            return False
        self.queued = 0
        return True

    def _stop_reader(self) -> None:
        # The reader looks at ``closing`` after each line it handles; only a reader
        # waiting for data (we are another task) needs the cancel.
        if self._scope is not None and trio.lowlevel.current_task() is not self._reader_task:
            self._scope.cancel()

    # ---- queue management (called by the outbox) ------------------------------------

    def overflow(self) -> None:
        # Never block the sender on a slow reader: drop this client instead. The
        # quit is announced from the connection's own task, not from inside the
        # broadcast loop that is calling us.
        log.info("SendQ exceeded: %s from %s (%d bytes queued)", self.user.nick, self.user.ip,
                 self.queued)
        self.buf.clear()
        self.queued = 0
        self.abort("SendQ exceeded")

    def abort(self, reason: str) -> None:
        self.quit_reason = reason
        self.closing = True
        if self._scope is not None:
            self._scope.cancel()

    def flush_now(self) -> None:
        """Write what is queued without waiting; hand any rest to a writer task."""
        if self.state != DIRTY:
            return
        self.state = IDLE
        buf = self.buf
        if not buf:
            return
        if self.sock is None:
            self._start_writer()
            return
        data = b"".join(buf) if len(buf) > 1 else buf[0]
        buf.clear()
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.abort("Connection reset")
            return
        if sent < len(data):
            buf.append(data[sent:])
            self.queued = len(data) - sent
            self._start_writer()
        else:
            self.queued = 0

    def _start_writer(self) -> None:
        if self.state == WRITING or self._nursery is None:
            return
        self.state = WRITING
        try:
            self._nursery.start_soon(self._writer)
        except RuntimeError:
            # The connection's nursery closes (its reader was cancelled) a checkpoint
            # before run() forgets it; the outbox may flush us in that window. The
            # link is ending: nothing more will be written.
            self._nursery = None

    def _limit_closing_time(self) -> None:
        # The writer ends the connection once the ERROR line is out; a client that
        # stopped reading must not keep it open longer than this.
        if self._scope is not None:
            self._scope.deadline = min(self._scope.deadline, trio.current_time() + 2)

    def hold(self, scope: trio.CancelScope | None = None) -> None:
        """An answer to this client's last command is being worked out elsewhere;
        ``scope`` (the work's) is cancelled when the client goes, or at once if it
        has: nobody would receive the answer."""
        self._held += 1
        if scope is None:
            return
        if self._gone:
            scope.cancel()
        elif self._held_scopes is None:
            self._held_scopes = [scope]
        else:
            self._held_scopes.append(scope)

    def release(self, scope: trio.CancelScope | None = None) -> None:
        self._held -= 1
        if scope is not None and self._held_scopes is not None:
            if scope in self._held_scopes:
                self._held_scopes.remove(scope)
            if not self._held_scopes:
                self._held_scopes = None
        if not self._held and self._released is not None:
            self._released.set()
            self._released = None

    def _went(self) -> None:
        """The client has hung up (or the link is ending): cancel the held work."""
        self._gone = True
        scopes, self._held_scopes = self._held_scopes, None
        for scope in scopes or ():
            scope.cancel()

    async def _answers_given(self) -> None:
        while self._held:
            self._released = trio.Event()
            self._read_on()
            await self._released.wait()

    def _read_on(self) -> None:
        """Read on while the lines wait, to notice the client going."""
        ahead = self._ahead
        if ahead is None:
            ahead = self._ahead = _ReadAhead()
        if (ahead.running or ahead.end is not None or ahead.size >= READ_AHEAD_MAX
                or self._nursery is None or ahead.scope.cancel_called):
            return
        # A scope for each run: one that ended (its data not yet taken) may be
        # followed by another before the reader takes it, and a scope is entered once.
        ahead.scope = trio.CancelScope()
        ahead.running = True
        ahead.done = trio.Event()
        self._nursery.start_soon(self._read_ahead, ahead)

    async def _read_ahead(self, ahead: _ReadAhead) -> None:
        # The one receive in progress: the reader waits for it rather than receive.
        try:
            with ahead.scope:
                await self._read_on_until(ahead)
        finally:
            ahead.running = False
            ahead.done.set()

    async def _read_on_until(self, ahead: _ReadAhead) -> None:
        while True:
            try:
                data = await self.stream.receive_some(65536)
            except _BROKEN:
                ahead.end = "Connection reset"
                data = b""
            if not data:
                ahead.end = ahead.end or "Remote host closed the connection"
                self._went()
                return
            self.last_data = trio.current_time()
            self.ping_sent = None
            ahead.chunks.append(data)
            ahead.size += len(data)
            if not self._held or ahead.size >= READ_AHEAD_MAX:
                return

    async def _take_ahead(self, ahead: _ReadAhead) -> bytes | str:
        """The data read ahead, else the client's next; at its end the quit reason."""
        if ahead.running and not ahead.chunks:
            await ahead.done.wait()  # its receive is the one the reader waits for
        if ahead.chunks:
            data = b"".join(ahead.chunks) if len(ahead.chunks) > 1 else ahead.chunks[0]
            ahead.chunks = []
            ahead.size = 0
            if ahead.end is None and not ahead.running:
                self._ahead = None
            return data
        self._ahead = None
        if ahead.end is not None:
            return ahead.end
        try:
            return await self.stream.receive_some(65536) or "Remote host closed the connection"
        except _BROKEN:
            return "Connection reset"

    # ---- tasks ----------------------------------------------------------------------

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._scope = nursery.cancel_scope
                self._nursery = nursery
                self._reader_task = trio.lowlevel.current_task()
                if self.closing:
                    self.state = IDLE
                    self._start_writer()
                    self._limit_closing_time()
                elif self.buf and self.state == IDLE:
                    self.app.outbox.mark(self)
                await self._reader()
                if self._ahead is not None:
                    self._ahead.scope.cancel()  # its data would not be read now
                # The reader stopped (EOF or a close was asked): let the writer finish.
                self.close(closing_link(self.user.host, self.quit_reason))
        finally:
            self._nursery = None
            self._reader_task = None
            self._went()
            self.app.core.disconnect(self.user, self.quit_reason)
            if self.sock is not None and self.quit_reason != "SendQ exceeded":
                # A plain socket closes without waiting (what SocketStream.aclose
                # does before its checkpoint); aclose_forcefully's cancelled
                # checkpoint was a third of a quit's cost in a connection storm.
                close_now = getattr(self.stream, "close_now", None)
                if close_now is not None:
                    close_now()
                else:
                    self.stream.socket.close()  # type: ignore[attr-defined]
            else:
                await self._close_slowly()

    async def _close_slowly(self) -> None:
        with trio.CancelScope(shield=True):
            if self.quit_reason == "SendQ exceeded":
                # Best effort: the socket is full, which is why we are here.
                with trio.move_on_after(0.2):
                    try:
                        error = closing_link(self.user.host, self.quit_reason)
                        await self.stream.send_all(f"ERROR :{error}\r\n".encode())
                    except _BROKEN:
                        pass
            await trio.aclose_forcefully(self.stream)

    async def _writer(self) -> None:
        """Owns the socket while the queue is not empty; ends the link after ERROR."""
        buf = self.buf
        try:
            while buf:
                data = b"".join(buf) if len(buf) > 1 else buf[0]
                buf.clear()
                self.queued = 0
                await self.stream.send_all(data)
        except _BROKEN:
            self.abort("Connection reset")
            return
        self.state = IDLE
        if self.closing and self._scope is not None:
            self._scope.cancel()

    async def _receive(self, sock: socket.socket, turn_start: float) -> tuple[bytes, float]:
        """The next data from a plain TCP socket, and the new start of this task's turn.

        Trio's ``receive_some`` yields to the scheduler after every successful
        receive; here a receive that finds data goes on within the turn, and the
        task yields when the socket is empty (waiting for it) or the turn is used
        up. One trip through the scheduler less per packet, most of a small line's.
        """
        # A cancelled reader (shutdown, a kill) stops before reading on, as in Trio.
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            pass
        else:
            if trio.current_time() - turn_start > TURN_BUDGET_S:
                await trio.lowlevel.checkpoint()
                turn_start = trio.current_time()
            return data, turn_start
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                return sock.recv(65536), trio.current_time()
            except BlockingIOError:
                pass

    async def _reader(self) -> None:
        limits = self.app.config.limits
        framer = LineFramer(limits.line_length, limits.tags_length)
        gate = FloodGate(limits.flood_burst, limits.flood_rate, trio.current_time())
        core = self.app.core
        user = self.user
        if isinstance(self.stream, trio.SSLStream):
            # Now rather than at the first read, so the client certificate's
            # fingerprint is known before any line (SASL EXTERNAL, CERT ADD).
            try:
                await self.stream.do_handshake()
            except _BROKEN:
                self.quit_reason = "Connection reset"
                return
            user.certfp = clientcert.fingerprint(self.stream)
        rsock = self._rsock
        # When this task last let the others run: a turn spans reads, so a client
        # whose lines are always there (each read one line) yields as a burst does.
        turn_start = trio.current_time()
        while not self.closing:
            ahead = self._ahead
            if ahead is None:
                try:
                    if rsock is None:
                        data = await self.stream.receive_some(65536)
                        turn_start = trio.current_time()
                    else:
                        data, turn_start = await self._receive(rsock, turn_start)
                except _BROKEN:
                    self.quit_reason = "Connection reset"
                    return
                if not data:
                    self.quit_reason = "Remote host closed the connection"
                    return
            else:
                taken = await self._take_ahead(ahead)
                if isinstance(taken, str):
                    self.quit_reason = taken
                    return
                data = taken
                turn_start = trio.current_time()
            now = trio.current_time()
            self.last_data = now
            self.ping_sent = None
            lines = framer.feed(data)
            for index, raw in enumerate(lines):
                now = trio.current_time()  # one clock reading a line: turn and fakelag
                if now - turn_start > TURN_BUDGET_S:
                    # One client's burst must not hold the loop: past its budget,
                    # others get a turn, as they would between its packets.
                    await trio.lowlevel.checkpoint()
                    now = turn_start = trio.current_time()
                if self.closing:
                    return
                if raw is TOO_LONG:
                    core.numeric(user, N.ERR_INPUTTOOLONG, "Input line was too long")
                    continue
                exempt = user.bot or (user.oper and limits.flood_exempt_opers)
                if not exempt:
                    delay = gate.delay(now)
                    if delay > 0:
                        if len(lines) - index > limits.flood_excess:
                            self.quit_reason = "Excess Flood"
                            log.info("Excess Flood: %s from %s (%d lines behind fakelag)",
                                     user.nick, user.ip, len(lines) - index)
                            core.kill(user, "Excess Flood", closing_link(user.host, "Excess Flood"))
                            return
                        await trio.sleep(delay)
                text, utf8 = decode_checked(raw)  # type: ignore[arg-type]
                try:
                    msg = parse(text)
                except ProtocolError:
                    if not utf8 and limits.utf8_only:
                        core.refuse_invalid_utf8(user, None)
                    continue  # tags or a source with no command: nothing to act on
                if not utf8 and limits.utf8_only:
                    core.refuse_invalid_utf8(user, msg)
                    continue
                core.handle(user, msg)
                if self._held:
                    await self._answers_given()

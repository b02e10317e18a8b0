"""The Trio side of the client: a socket per attempt, reconnecting with backoff.

One :class:`Connection` lives as long as the client. Each attempt opens a
stream, hands the session a ``send`` function backed by an unbounded memory
channel (so the UI never blocks on the network), and runs a reader and a
writer until the stream ends. Then the session is told, and after a growing,
jittered delay the next attempt starts; a successful registration resets it.
"""

from __future__ import annotations

import math
import random
import ssl
from dataclasses import dataclass

import trio

from ircish.client.session import Session

MAX_LINE = 64 * 1024  # far above 512 + tags; a server sending more is broken
IDLE_PING = 90.0  # seconds of silence before we ask the server whether it is there


@dataclass(frozen=True)
class Endpoint:
    host: str = "127.0.0.1"
    port: int = 6667
    tls: bool = False
    tls_verify: bool = True


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: doubling from ``first`` up to ``maximum``, jittered so
    many clients cut off together do not come back together.
    """

    first: float = 1.0
    maximum: float = 60.0

    def delay(self, failures: int) -> float:
        base = min(self.maximum, self.first * 2 ** max(0, failures - 1))
        return base * random.uniform(0.8, 1.2)


class Pace:
    """A token bucket for outgoing lines: a burst, then a steady rate.

    Servers throttle each client ("fakelag") and disconnect one whose backlog
    grows too long; pasting a file into a channel must not get us thrown out.
    The defaults match what ircish allows; most servers allow the same or more.
    """

    def __init__(self, burst: int = 20, rate: float = 4.0) -> None:
        self.burst = burst
        self.rate = rate
        self._tokens = float(burst)
        self._stamp: float | None = None

    def _refill(self) -> None:
        now = trio.current_time()
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def take(self, wanted: int) -> int:
        """Wait until at least one line may go; returns how many may go now."""
        self._refill()
        if self._tokens < 1:
            await trio.sleep((1 - self._tokens) / self.rate)
            self._refill()
        allowed = max(1, min(wanted, int(self._tokens)))
        self._tokens -= allowed
        return allowed


class CertificateError(ConnectionError):
    """The server's certificate was refused: trying again cannot help, so it is not retried."""


INSECURE_HINT = (
    "the server's certificate was not accepted; check the host name, or connect with "
    "--insecure (tls_verify = false) to skip the check"
)


async def open_stream(endpoint: Endpoint) -> trio.abc.Stream:
    if not endpoint.tls:
        return await trio.open_tcp_stream(endpoint.host, endpoint.port)
    context = ssl.create_default_context()
    if not endpoint.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    stream = await trio.open_ssl_over_tcp_stream(endpoint.host, endpoint.port, ssl_context=context)
    # Handshake now, so a bad certificate is a failed connect with its reason,
    # not a connection that dies on the first line.
    try:
        await stream.do_handshake()
    except trio.BrokenResourceError as exc:
        await trio.aclose_forcefully(stream)
        if isinstance(exc.__cause__, ssl.SSLCertVerificationError):
            said = exc.__cause__.verify_message or str(exc.__cause__)
            raise CertificateError(f"certificate verify failed ({said}); {INSECURE_HINT}") from exc
        raise ConnectionError(str(exc.__cause__ or exc)) from exc
    return stream


def decode(raw: bytes) -> str:
    """UTF-8, falling back to Latin-1 so an old client's message still reads."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class Connection:
    """The network side for one session, across any number of reconnects."""

    def __init__(
        self,
        session: Session,
        endpoint: Endpoint,
        backoff: Backoff | None = None,
        idle_ping: float = IDLE_PING,
        give_up_after: int | None = None,
        pace: Pace | None = None,
    ) -> None:
        self.session = session
        self.endpoint = endpoint
        self.backoff = backoff or Backoff()
        self.idle_ping = idle_ping
        # Scripts want an exit status, not an endless retry, when the server is
        # not there at all; once registered, losses are always retried.
        self.give_up_after = give_up_after
        self.closed = trio.Event()
        self.pace = pace or Pace()
        self.unsent = 0  # lines handed to the writer and not yet written
        self._stream_scope: trio.CancelScope | None = None

    async def run(self) -> None:
        """Connect, and reconnect after every loss, until :meth:`quit` is called."""
        failures = 0
        try:
            while not self.session.quitting:
                try:
                    stream = await open_stream(self.endpoint)
                except CertificateError as exc:
                    self.session.connect_failed(str(exc), None)
                    self.session.quitting = True
                    return
                except (OSError, ssl.SSLError, trio.BrokenResourceError) as exc:
                    failures += 1
                    reason = str(exc) or type(exc).__name__
                    if self._should_give_up(failures):
                        self.session.connect_failed(reason, None)
                        return
                    delay = self.backoff.delay(failures)
                    self.session.connect_failed(reason, delay)
                    await trio.sleep(delay)
                    continue
                registered = await self._serve(stream)
                if self.session.quitting:
                    break
                failures = 1 if registered else failures + 1
                if self._should_give_up(failures):
                    return
                delay = self.backoff.delay(failures)
                self.session.info(f"Reconnecting in {delay:.0f}s")
                await trio.sleep(delay)
        finally:
            self.closed.set()
            self.session.on_event("closed", "")

    def _should_give_up(self, failures: int) -> bool:
        return (
            self.give_up_after is not None
            and not self.session.ever_registered
            and failures >= self.give_up_after
        )

    async def quit(self, reason: str = "Leaving", grace: float = 5.0) -> None:
        """Say goodbye and wait for the server to close, then stop.

        The server answers QUIT only after the lines before it, so the wait is
        what makes sure they were all handled; it is bounded by the time the
        pace needs for what is still queued, plus ``grace``.
        """
        if self.session.quit(reason):
            with trio.move_on_after(grace + (self.unsent + 1) / self.pace.rate):
                await self.closed.wait()
        self.session.quitting = True
        if self._stream_scope is not None:
            self._stream_scope.cancel()

    async def _serve(self, stream: trio.abc.Stream) -> bool:
        """Run one connection; returns whether it got as far as registration."""
        send_channel, receive_channel = trio.open_memory_channel[str](math.inf)
        reason = "connection closed"
        registered = False
        self.unsent = 0
        with trio.CancelScope() as scope:
            self._stream_scope = scope
            async with stream, trio.open_nursery() as nursery:

                def send(line: str) -> None:
                    # After the writer is gone the line has nowhere to go; the
                    # session shows the loss instead.
                    try:
                        send_channel.send_nowait(line)
                        self.unsent += 1
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        pass

                nursery.start_soon(self._writer, stream, receive_channel)
                self.session.connection_made(send)
                try:
                    reason = await self._reader(stream)
                except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
                    reason = str(exc) or type(exc).__name__
                finally:
                    registered = self.session.registered
                    self.session.connection_lost(reason)
                    send_channel.close()
                    nursery.cancel_scope.cancel()
        self._stream_scope = None
        return registered

    async def _writer(
        self, stream: trio.abc.Stream, channel: trio.MemoryReceiveChannel[str]
    ) -> None:
        pending: list[str] = []
        async with channel:
            while True:
                if not pending:
                    try:
                        pending.append(await channel.receive())
                    except trio.EndOfChannel:
                        return
                while True:
                    try:
                        pending.append(channel.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                # Everything the pace allows goes out in one send_all.
                allowed = await self.pace.take(len(pending))
                batch, pending = pending[:allowed], pending[allowed:]
                self.unsent -= len(batch)
                data = "".join(item + "\r\n" for item in batch).encode("utf-8", "replace")
                try:
                    await stream.send_all(data)
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError):
                    return

    async def _reader(self, stream: trio.abc.Stream) -> str:
        buffer = bytearray()
        pinged = False
        while True:
            with trio.move_on_after(self.idle_ping) as idle:
                data = await stream.receive_some(16384)
            if idle.cancelled_caught:
                if pinged:
                    return f"no reply from the server for {2 * self.idle_ping:.0f}s"
                pinged = True
                self.session.send("PING", "ircish")
                continue
            pinged = False
            if not data:
                return "connection closed by the server"
            buffer += data
            while (end := buffer.find(b"\n")) >= 0:
                raw = bytes(buffer[:end]).rstrip(b"\r")
                del buffer[: end + 1]
                self.session.handle_line(decode(raw))
            if len(buffer) > MAX_LINE:
                return "line too long from the server"

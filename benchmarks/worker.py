"""One load-generator process: many raw IRC client sockets on one epoll loop.

Why not Trio here: a Trio task per socket costs several microseconds per wake-up, and
the generator must stay far faster than the server it measures. Plain non-blocking
sockets on ``select.epoll`` with the hot loop in one function keep the per-read cost to
a ``recv`` and a few ``bytes`` methods that run in C:

* deliveries are counted with ``bytes.count(b" PRIVMSG ")`` over whole reads, never by
  parsing lines in Python;
* latency comes from the timestamp inside the message, parsed only on a subset of lines
  (every line at a watcher, the first line of each read elsewhere) unless the plan asks
  for every line;
* setup traffic (other clients' JOINs, NAMES) is skipped by a substring pre-filter.

The coordinator drives a worker through its pipe: ``setup`` -> ``probe`` (one worker
only) -> ``go`` -> ``stop``. Every loop has a deadline, and a worker whose coordinator
disappears exits.
"""

from __future__ import annotations

import array
import collections
import errno
import heapq
import os
import random
import re
import resource
import select
import socket
import time
import traceback
from multiprocessing.connection import Connection

from benchmarks.plan import ClientSpec, RunReport, SetupReport, Timeline, WorkerPlan

_PRIVMSG = b" PRIVMSG "
# sender-id, sequence number, send time (monotonic ns); tags or padding may surround it.
_STAMP = re.compile(rb" PRIVMSG \S+ :(\d+) (\d+) (\d+)")
_PROBE = b"lgprobe"
_RECV_SIZE = 262144
# Lazy clients read per loop turn during a sweep.
_SWEEP_SLICE = 32
_EPOLLIN = select.EPOLLIN
_EPOLLOUT = select.EPOLLOUT
_EPOLLONESHOT = select.EPOLLONESHOT
_EPOLLERRS = select.EPOLLERR | select.EPOLLHUP
# Replies that mean this client will never be usable: nick problems, registration
# refused, channel join refused.
_FATAL_NUMERICS = frozenset(
    b"432 433 436 437 451 461 462 463 464 465 468 403 405 471 473 474 475 476 477 489".split()
)
# The most a worker waits for its next coordinator command before deciding it was abandoned.
_ABANDON_S = 900.0

_CONNECTING, _REGISTERING, _JOINING, _READY, _FAILED, _UPGRADING = range(6)

# WebSocket mode: the opening handshake, and frames. A client must mask what it
# sends; an all-zero masking key is a valid one and leaves the payload as it is,
# so framing a line costs a header and no per-byte work.
_WS_REQUEST = (
    b"GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: bG9hZGdlbmVyYXRvcjAwMA==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n"
)
_NO_MASK = b"\0\0\0\0"


def ws_frames(data: bytes) -> bytes:
    """CRLF-ended lines as masked text frames, one per line."""
    parts = []
    for line in data.split(b"\r\n"):
        size = len(line)
        if not size:
            continue
        if size < 126:
            parts.append(bytes((0x81, 0x80 | size)))
        else:
            parts.append(bytes((0x81, 0xFE)) + size.to_bytes(2, "big"))
        parts.append(_NO_MASK)
        parts.append(line)
    return b"".join(parts)


def ws_lines(buf: bytes) -> tuple[bytes, bytes]:
    """The server's complete data frames in ``buf`` as CRLF-ended lines, and the
    bytes of a frame not complete yet. Server frames are never masked; control
    frames (ircish sends none but close) are skipped."""
    out = []
    i = 0
    n = len(buf)
    while i + 2 <= n:
        size = buf[i + 1] & 0x7F
        head = 2
        if size == 126:
            if i + 4 > n:
                break
            size = int.from_bytes(buf[i + 2:i + 4], "big")
            head = 4
        elif size == 127:
            if i + 10 > n:
                break
            size = int.from_bytes(buf[i + 2:i + 10], "big")
            head = 10
        end = i + head + size
        if end > n:
            break
        if buf[i] & 0x0F < 3:
            out.append(buf[i + head:end])
        i = end
    if not out:
        return b"", buf[i:]
    out.append(b"")
    return b"\r\n".join(out), buf[i:]


class _Client:
    __slots__ = (
        "acked",
        "chan",
        "channels",
        "connect_ns",
        "fd",
        "last_ack_ns",
        "mask",
        "outbuf",
        "pending_joins",
        "seq",
        "sid",
        "sock",
        "spec",
        "state",
        "tail",
        "watcher",
        "ws_tail",
    )

    def __init__(self, spec: ClientSpec) -> None:
        self.spec = spec
        self.sock: socket.socket | None = None
        self.fd = -1
        self.state = _CONNECTING
        self.tail = b""
        self.outbuf = bytearray()
        self.connect_ns = 0
        self.channels = {c.lower().encode() for c in spec.channels}
        self.pending_joins = len(spec.channels)
        self.chan = spec.send_channel.encode()
        self.sid = spec.sender_id
        self.watcher = spec.watcher
        self.seq = 0
        self.acked = 0
        self.last_ack_ns = 0
        # The epoll events this client waits for when its send buffer is empty.
        self.mask = _EPOLLIN
        # WebSocket mode: received bytes of a frame not complete yet (or, while
        # upgrading, of the HTTP answer).
        self.ws_tail = b""


class Worker:
    def __init__(self, plan: WorkerPlan, pipe: Connection) -> None:
        self.plan = plan
        self.pipe = pipe
        self.epoll = select.epoll()
        self.by_fd: dict[int, _Client] = {}
        self.clients = [_Client(spec) for spec in plan.clients]
        self.errors: dict[str, int] = {}
        self.pad = b" " + b"x" * plan.padding if plan.padding else b""
        # Probe state (see _probe): who sent it, who saw it when.
        self.probe_client: _Client | None = None
        self.probe_echo = False
        self.probe_other_ns = 0
        # Clients connecting, registering or joining right now.
        self.in_flight = 0
        self.websocket = plan.transport == "websocket"

    # ------------------------------------------------------------------ helpers
    def _error(self, reason: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1

    def _fail(self, c: _Client, reason: str) -> None:
        if c.state == _FAILED:
            return
        if c.state != _READY:
            self.in_flight -= 1
        c.state = _FAILED
        self._error(reason)
        self._close(c)

    def _close(self, c: _Client) -> None:
        if c.sock is None:
            return
        try:
            self.epoll.unregister(c.fd)
        except (OSError, ValueError):
            pass
        self.by_fd.pop(c.fd, None)
        c.sock.close()
        c.sock = None

    def _send(self, c: _Client, data: bytes) -> None:
        """Send now; whatever the kernel does not take waits for EPOLLOUT."""
        if c.sock is None:
            return
        if self.websocket and c.state != _UPGRADING:
            data = ws_frames(data)
        if c.outbuf:
            c.outbuf += data
            return
        try:
            n = c.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError as exc:
            self._drop(c, f"send: {exc.strerror or exc}")
            return
        if n < len(data):
            c.outbuf += data[n:]
            self.epoll.modify(c.fd, c.mask | _EPOLLOUT)

    def _flush(self, c: _Client) -> None:
        if c.sock is None:
            return
        try:
            n = c.sock.send(c.outbuf)
        except BlockingIOError:
            return
        except OSError as exc:
            self._drop(c, f"send: {exc.strerror or exc}")
            return
        del c.outbuf[:n]
        if not c.outbuf:
            self.epoll.modify(c.fd, c.mask)

    def _drop(self, c: _Client, reason: str) -> None:
        """A connection lost after setup: counted, not fatal to the run."""
        if c.state == _READY:
            self._error(reason)
            self._close(c)
            c.state = _FAILED
        else:
            self._fail(c, reason)

    # ------------------------------------------------------------------ setup
    def _start_connect(self, c: _Client) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sock = sock
        c.fd = sock.fileno()
        c.connect_ns = time.monotonic_ns()
        self.in_flight += 1
        err = sock.connect_ex((self.plan.host, self.plan.port))
        if err not in (0, errno.EINPROGRESS):
            self._fail(c, "refused" if err == errno.ECONNREFUSED else errno.errorcode.get(err, "?"))
            return
        self.by_fd[c.fd] = c
        self.epoll.register(c.fd, _EPOLLIN | _EPOLLOUT)

    def _connected(self, c: _Client) -> None:
        assert c.sock is not None
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._fail(c, "refused" if err == errno.ECONNREFUSED else errno.errorcode.get(err, "?"))
            return
        self.epoll.modify(c.fd, _EPOLLIN)
        if self.websocket:
            c.state = _UPGRADING
            self._send(c, _WS_REQUEST % (self.plan.host.encode(), self.plan.port))
            return
        self._register(c)

    def _register(self, c: _Client) -> None:
        c.state = _REGISTERING
        nick = c.spec.nick.encode()
        self._send(c, b"NICK %s\r\nUSER %s 0 * :ircish load generator\r\n" % (nick, nick))

    def _ws_read(self, c: _Client, data: bytes) -> bytes:
        """What a WebSocket client received, as the lines a TCP client would have."""
        buf = c.ws_tail + data if c.ws_tail else data
        if c.state == _UPGRADING:
            end = buf.find(b"\r\n\r\n")
            if end == -1:
                c.ws_tail = buf
                return b""
            if not buf.startswith(b"HTTP/1.1 101"):
                self._fail(c, "websocket: " + buf[:40].decode("latin-1"))
                return b""
            buf = buf[end + 4:]
            self._register(c)
        lines, c.ws_tail = ws_lines(buf)
        return lines

    def _setup_read(self, c: _Client, report: SetupReport | None) -> None:
        """Read during setup and idle time: only registration, joins, PING and errors."""
        assert c.sock is not None
        try:
            data = c.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._drop(c, f"recv: {exc.strerror or exc}")
            return
        if not data:
            self._drop(c, "closed by server" if c.state == _READY else "closed before ready")
            return
        if self.websocket:
            data = self._ws_read(c, data)
            if not data:
                return
        buf = c.tail + data
        cut = buf.rfind(b"\n") + 1
        c.tail = buf[cut:]
        chunk = buf[:cut]
        # Most setup traffic is other members' JOIN and NAMES lines: skip those reads whole.
        if not (
            b" 001 " in chunk
            or b" 366 " in chunk
            or b"PING" in chunk
            or b"ERROR" in chunk
            or b" 4" in chunk
            or b" 5" in chunk
            or (self.probe_client is not None and _PROBE in chunk)
        ):
            return
        now = time.monotonic_ns()
        for raw in chunk.split(b"\n"):
            line = raw.rstrip(b"\r")
            if line:
                self._setup_line(c, line, now, report)
                if c.state == _FAILED:
                    return

    def _setup_line(self, c: _Client, line: bytes, now: int, report: SetupReport | None) -> None:
        if line.startswith(b"@"):
            line = line.partition(b" ")[2]
        parts = line.split(b" ", 3)
        if parts[0] == b"PING":
            self._send(c, b"PONG " + line[5:] + b"\r\n")
            return
        if parts[0] == b"ERROR":
            self._fail(c, "ERROR " + line[6:60].decode("utf-8", "replace"))
            return
        if len(parts) < 2:
            return
        verb = parts[1]
        if verb == b"001" and c.state == _REGISTERING:
            if report is not None:
                report.registered += 1
                report.registration_ns.append(now - c.connect_ns)
                report.last_registered_ns = max(report.last_registered_ns, now)
            if c.spec.channels:
                c.state = _JOINING
                self._send(c, b"".join(b"JOIN %s\r\n" % ch.encode() for ch in c.spec.channels))
            else:
                c.state = _READY
                self.in_flight -= 1
        elif verb == b"366" and c.state == _JOINING and len(parts) == 4:
            if parts[3].split(b" ", 1)[0].lower() in c.channels:
                c.pending_joins -= 1
                if c.pending_joins == 0:
                    c.state = _READY
                    self.in_flight -= 1
                    if report is not None:
                        report.joined += 1
                        for ch in c.spec.channels:
                            report.joined_by_channel[ch] = report.joined_by_channel.get(ch, 0) + 1
        elif len(verb) == 3 and verb[:1] in b"45" and verb.isdigit():
            if verb in _FATAL_NUMERICS and c.state != _READY:
                self._fail(c, "numeric " + verb.decode())
            else:
                self._error("numeric " + verb.decode())
        elif self.probe_client is not None and _PROBE in line:
            if c is self.probe_client:
                self.probe_echo = True
            elif not self.probe_other_ns:
                self.probe_other_ns = now

    def setup(self, connect_at_ns: int) -> SetupReport:
        plan = self.plan
        report = SetupReport(worker=plan.index)
        waiting = list(reversed(self.clients))
        limit = plan.setup_concurrency if plan.setup_concurrency > 0 else len(self.clients)
        deadline = connect_at_ns + int(plan.setup_timeout_s * 1e9)
        while time.monotonic_ns() < connect_at_ns:
            time.sleep(min(0.01, (connect_at_ns - time.monotonic_ns()) / 1e9 + 1e-6))
        report.first_connect_ns = time.monotonic_ns()
        while True:
            while waiting and self.in_flight < limit:
                self._start_connect(waiting.pop())
            if not waiting and self.in_flight == 0:
                break
            now = time.monotonic_ns()
            if now >= deadline:
                for c in self.clients:
                    if c.state != _READY:
                        self._fail(c, "setup timeout")
                break
            for fd, ev in self.epoll.poll(0.05):
                c = self.by_fd.get(fd)
                if c is None:
                    continue
                if c.state == _CONNECTING:
                    self._connected(c)
                    continue
                if ev & _EPOLLOUT and c.outbuf:
                    self._flush(c)
                if ev & (_EPOLLIN | _EPOLLERRS):
                    self._setup_read(c, report)
        report.failed = sum(1 for c in self.clients if c.state == _FAILED)
        report.refused = self.errors.get("refused", 0)
        report.errors = dict(self.errors)
        return report

    # ------------------------------------------------------------------ between phases
    def _service(self, timeout_s: float) -> bool:
        """Answer PINGs and drain stale lines; True when the coordinator spoke."""
        pipe_fd = self.pipe.fileno()
        for fd, ev in self.epoll.poll(timeout_s):
            if fd == pipe_fd:
                return True
            c = self.by_fd.get(fd)
            if c is None:
                continue
            if ev & _EPOLLOUT and c.outbuf:
                self._flush(c)
            if ev & (_EPOLLIN | _EPOLLERRS):
                self._setup_read(c, None)
        return False

    def probe(self) -> bool:
        """Does the server echo a channel message back to its sender?

        A NOTICE (not counted as a delivery later) goes to the first sender's channel.
        Echo means the sender sees it; no echo means another local member saw it and the
        sender still had not 300 ms later (or nothing came back within 3 s).
        """
        sender = next((c for c in self.clients if c.chan and c.state == _READY), None)
        if sender is None:
            return False
        self.probe_client = sender
        self._send(sender, b"NOTICE %s :%s\r\n" % (sender.chan, _PROBE))
        t0 = time.monotonic_ns()
        while not self.probe_echo:
            now = time.monotonic_ns()
            if now - t0 > 3_000_000_000:
                break
            if self.probe_other_ns and now - self.probe_other_ns > 300_000_000:
                break
            self._service(0.01)
        self.probe_client = None
        return self.probe_echo

    # ------------------------------------------------------------------ measured run
    def run(self, tl: Timeline) -> RunReport:
        plan = self.plan
        report = RunReport(worker=plan.index)
        mono = time.monotonic_ns
        epoll = self.epoll
        by_fd = self.by_fd
        latencies = array.array("q")
        lat_append = latencies.append
        findall = _STAMP.findall
        search = _STAMP.search
        all_lines = plan.latency_all_lines
        ms, me = tl.measure_start, tl.measure_end
        pad = self.pad
        websocket = self.websocket
        ws_read = self._ws_read
        window = plan.window
        closed = plan.mode == "closed"
        opened = plan.mode == "open"
        ready = [c for c in self.clients if c.state == _READY]
        senders = [c for c in ready if c.chan]
        local = {b"%d" % c.sid: c for c in senders}
        # Eager clients are read as soon as data arrives and give the latency samples;
        # the others are read in sweeps (see README "sampling").
        budget = plan.sample_clients if plan.sample_clients > 0 else len(ready)
        lazy: set[_Client] = set()
        for c in ready:
            if c.watcher or c.chan:
                continue
            if budget > 0:
                budget -= 1
                continue
            lazy.add(c)
            c.mask = _EPOLLIN | _EPOLLONESHOT
            epoll.modify(c.fd, c.mask | (_EPOLLOUT if c.outbuf else 0))
        # Lazy clients with data, and the ones the current sweep is reading (a snapshot:
        # clients that get data again during a sweep wait for the next one).
        lazy_ready: list[_Client] = []
        batch: collections.deque[_Client] = collections.deque()
        sweep_ns = int(plan.sweep_interval_s * 1e9)
        next_sweep = tl.start
        sent_by_channel: dict[bytes, int] = {}
        refill: set[_Client] = set(senders) if closed else set()
        heap: list[tuple[int, int]] = []
        interval = 0
        if opened and plan.rate_per_sender > 0:
            interval = int(1e9 / plan.rate_per_sender)
            rng = random.Random(plan.index)
            # Spread first sends over one interval so senders do not fire in lockstep.
            heap = [(tl.start + rng.randrange(interval), i) for i in range(len(senders))]
            heapq.heapify(heap)
        recv_total = recv_win = sent_total = sent_win = stalls = disconnected = 0
        max_lag = 0
        cpu0 = cpu1 = -1.0
        next_stall_check = tl.start
        stall_ns = int(plan.stall_timeout_s * 1e9)
        for c in senders:
            c.last_ack_ns = tl.start

        def consume(c: _Client, sample: bool) -> None:
            """One read: count deliveries in bulk, sample latency, answer PING."""
            nonlocal recv_total, recv_win, disconnected
            try:
                data = c.sock.recv(_RECV_SIZE)  # type: ignore[union-attr]
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                disconnected += 1
                self._drop(c, "closed during run")
                return
            if websocket:
                data = ws_read(c, data)
                if not data:
                    return
            t = mono()
            if c.tail:
                data = c.tail + data
            if data[-1] != 10:  # keep a partial line for the next read
                cut = data.rfind(b"\n") + 1
                c.tail = data[cut:]
                data = data[:cut]
                if not data:
                    return
            else:
                c.tail = b""
            n = data.count(_PRIVMSG)
            if n:
                recv_total += n
                inside = ms <= t < me
                if inside:
                    recv_win += n
                if c.watcher:
                    for sid, _seq, stamp in findall(data):
                        s = local.get(sid)
                        if s is not None:
                            s.acked += 1
                            s.last_ack_ns = t
                            refill.add(s)
                        if inside:
                            lat_append(t - int(stamp))
                elif inside and sample:
                    if all_lines:
                        for _sid, _seq, stamp in findall(data):
                            lat_append(t - int(stamp))
                    else:
                        # The first line of a read waited longest: a pessimistic sample.
                        m = search(data)
                        if m is not None:
                            lat_append(t - int(m.group(3)))
            if data.startswith(b"PING ") or b"\nPING " in data:
                for line in data.split(b"\n"):
                    if line.startswith(b"PING "):
                        self._send(c, b"PONG " + line[5:].rstrip(b"\r") + b"\r\n")

        def sweep(limit: int) -> None:
            for _ in range(min(limit, len(batch))):
                c = batch.popleft()
                if c.sock is not None:
                    consume(c, False)
                if c.sock is not None:
                    epoll.modify(c.fd, c.mask | (_EPOLLOUT if c.outbuf else 0))

        while True:
            now = mono()
            if now >= tl.drain_end:
                break
            if cpu0 < 0 and now >= ms:
                cpu0 = time.process_time()
            if cpu1 < 0 and now >= me:
                cpu1 = time.process_time()
            if not batch and lazy_ready and now >= next_sweep:
                batch.extend(lazy_ready)
                lazy_ready.clear()
                next_sweep = now + sweep_ns
            if batch:
                # A slice per loop turn: a whole sweep at once would stall the eager
                # clients' reads, and their latency samples, for milliseconds.
                sweep(_SWEEP_SLICE)
            sending = tl.start <= now < tl.send_end
            if sending and refill:
                for c in refill:
                    room = window - (c.seq - c.acked)
                    if room <= 0 or c.sock is None:
                        continue
                    t = mono()
                    lines = []
                    for _ in range(room):
                        c.seq += 1
                        lines.append(b"PRIVMSG %s :%d %d %d%s\r\n" % (c.chan, c.sid, c.seq, t, pad))
                    self._send(c, b"".join(lines))
                    sent_total += room
                    if ms <= t < me:
                        sent_win += room
                    sent_by_channel[c.chan] = sent_by_channel.get(c.chan, 0) + room
                refill.clear()
            if closed and now >= next_stall_check:
                # A message that never comes back must not freeze its sender for good.
                next_stall_check = now + 100_000_000
                for c in senders:
                    if c.seq > c.acked and now - c.last_ack_ns > stall_ns:
                        stalls += 1
                        c.acked = c.seq
                        c.last_ack_ns = now
                        refill.add(c)
            if heap:
                while heap and heap[0][0] <= now:
                    due, i = heapq.heappop(heap)
                    c = senders[i]
                    if due >= tl.send_end or c.sock is None:
                        continue
                    t = mono()
                    max_lag = max(max_lag, t - due)
                    c.seq += 1
                    self._send(c, b"PRIVMSG %s :%d %d %d%s\r\n" % (c.chan, c.sid, c.seq, t, pad))
                    sent_total += 1
                    if ms <= t < me:
                        sent_win += 1
                    sent_by_channel[c.chan] = sent_by_channel.get(c.chan, 0) + 1
                    heapq.heappush(heap, (due + interval, i))
            # Sleep until the next scheduled send or sweep, never long: deadlines are
            # checked above.
            wake = min(tl.drain_end, next_sweep) if lazy_ready else tl.drain_end
            if heap:
                wake = min(wake, heap[0][0])
            elif now < tl.start:
                wake = min(wake, tl.start)
            timeout = max(0.0, min(0.05, (wake - mono()) / 1e9))
            if (refill and sending) or batch:
                timeout = 0.0
            for fd, ev in epoll.poll(timeout):
                c = by_fd.get(fd)
                if c is None:
                    continue
                if ev & _EPOLLOUT and c.outbuf:
                    self._flush(c)
                if c in lazy:
                    lazy_ready.append(c)  # one-shot: silent until re-armed by the sweep
                elif ev & (_EPOLLIN | _EPOLLERRS):
                    consume(c, True)
        # Whatever the lazy clients still hold arrived before the end: count it.
        batch.clear()
        batch.extend(c for c in lazy if c.sock is not None)
        sweep(len(batch))
        if cpu0 >= 0:
            report.cpu_s = (cpu1 if cpu1 >= 0 else time.process_time()) - cpu0
        report.sent_total = sent_total
        report.sent_in_window = sent_win
        report.sent_by_channel = {k.decode(): v for k, v in sent_by_channel.items()}
        report.received_total = recv_total
        report.received_in_window = recv_win
        report.latency_ns = latencies.tobytes()
        report.disconnected = disconnected
        report.stalls = stalls
        report.max_send_lag_ns = max_lag
        report.errors = dict(self.errors)
        return report

    def close(self) -> None:
        for c in self.clients:
            if c.sock is not None:
                try:
                    c.sock.send(ws_frames(b"QUIT :done\r\n") if self.websocket
                                else b"QUIT :done\r\n")
                except OSError:
                    pass
            self._close(c)
        self.epoll.close()

    # ------------------------------------------------------------------ command loop
    def serve(self) -> None:
        self.epoll.register(self.pipe.fileno(), _EPOLLIN)
        self.pipe.send(("hello",))
        give_up = time.monotonic() + _ABANDON_S
        while time.monotonic() < give_up:
            if not self.pipe.poll():
                self._service(0.1)
                continue
            cmd = self.pipe.recv()
            give_up = time.monotonic() + _ABANDON_S
            if cmd[0] == "setup":
                self.pipe.send(("setup", self.setup(cmd[1])))
            elif cmd[0] == "probe":
                self.pipe.send(("probe", self.probe()))
            elif cmd[0] == "go":
                self.pipe.send(("run", self.run(cmd[1])))
            elif cmd[0] == "stop":
                return


def worker_main(plan: WorkerPlan, pipe: Connection) -> None:
    """multiprocessing entry point."""
    try:
        if plan.cpus:
            os.sched_setaffinity(0, plan.cpus)
        if plan.nice:
            os.setpriority(os.PRIO_PROCESS, 0, plan.nice)
        if plan.realtime:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        worker = Worker(plan, pipe)
        profile_dir = os.environ.get("BENCHMARKS_PROFILE_DIR")
        try:
            if profile_dir:
                # To see where the generator's own time goes: pstats on the dumped file.
                import cProfile

                cProfile.runctx(
                    "worker.serve()",
                    globals(),
                    {"worker": worker},
                    os.path.join(profile_dir, f"worker-{plan.index}.prof"),
                )
            else:
                worker.serve()
        finally:
            worker.close()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the coordinator is gone or stopping us; nothing left to report to
    except Exception:
        try:
            pipe.send(("error", traceback.format_exc()))
        except OSError:
            pass

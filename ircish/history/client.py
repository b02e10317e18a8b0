"""The history store as the server process sees it: a queue and a worker process.

The database work (SQLAlchemy, migrations, the one writer, every read) runs in
one child process, ``python -m ircish.store.worker``, so it never takes the
server's core or GIL from the event loop, and the server never imports
SQLAlchemy. ``StoreClient`` is what the server holds:

- ``submit(event)``: admit (``admission``: kind and queue limit, the one gate),
  append to a deque; O(1), sync, never waits;
- a ship task sends what is queued to the worker every flush interval (sooner
  when someone flushes), as one frame of plain tuples (``codec``, ``rpc``);
- ``ask(*requests)``: history requests (``core.chathistory.HistoryRequest``)
  answered by the worker. What is queued is shipped first, on the same
  stream, and the worker commits it before it answers: a client reads its own
  lines without a flush round trip. Request and answer are matched by id, the
  answers read by a task;
- ``flush()``: wait until the worker confirms it has committed everything
  submitted before the call (shutdown, tests).

Shipped events stay in memory until the worker confirms their commit, so a
worker that dies loses nothing: it is restarted (with backoff; logged) and gets
them again, and inserts skip lines already stored. ``[storage] queue_limit``
bounds what waits here (queued plus unconfirmed); beyond it new events are
dropped and counted, as the in-process writer did.

A database the worker cannot write (locked, full, gone, damaged...) is an
outage: the worker says so once (an ``outage`` frame), the events stay here
and there and are retried, and this side logs one ERROR naming the database
and the cause, then one line when the next commit is confirmed, with how many
events waited and how many the full queue lost. ``on_outage`` listeners get
both lines (the server tells its operators).

A query whose answer takes longer than ``READ_WAIT_S`` (the worker reads
without the newest lines rather than wait longer for their commit) loses
nothing: it is counted, and a slow writer is reported at most every
``SLOW_REPORT_S`` as a WARNING, never as an error.

The worker's first start is part of the server's start: a database that cannot
be opened or migrated raises ``StorageError`` (naming ``[storage]``) from
``run`` before ``task_status.started()``.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

import ircish
from ircish.accounts.records import AccountRequest
from ircish.core.chathistory import HistoryRequest
from ircish.core.events import Event
from ircish.history import codec, outage
from ircish.history.admission import Admission, wanted
from ircish.history.errors import StorageError, StoreQueryError, StoreUnavailable
from ircish.history.records import ChannelState
from ircish.history.rpc import FrameStream, LinkClosed
from ircish.history.settings import StoreSettings
from ircish.search.request import SearchRequest

log = logging.getLogger("ircish.store")

# Restart delays for a worker that died: doubled up to the maximum, back to the
# start once a worker has lived STABLE_S.
RESTART_INITIAL_S = 0.5
RESTART_MAX_S = 30.0
STABLE_S = 60.0
# At shutdown: how long the worker gets to commit what it has and exit.
CLOSE_TIMEOUT_S = 10.0
# The largest batch in one frame (a backlog after a restart goes in several).
MAX_FRAME_EVENTS = 5_000
# At most one "the writer is slow" warning per this many seconds.
SLOW_REPORT_S = 60.0
# How long a query waits for the newest lines to be committed before it is read
# anyway (when the database is struggling, a slightly stale answer beats none).
READ_WAIT_S = 1.0


@dataclass(slots=True)
class ClientStats:
    submitted: int = 0
    shipped: int = 0  # events sent to a worker (again after a restart)
    frames: int = 0
    acked: int = 0  # events the worker confirmed committed
    dropped_overflow: int = 0
    max_backlog: int = 0
    restarts: int = 0
    slow_flushes: int = 0  # flushes or queries that did not wait for every commit (nothing lost)
    outages: int = 0


@dataclass(slots=True)
class _Outage:
    database: str
    since: float
    acked: int  # ClientStats.acked when it started
    dropped: int  # ClientStats.dropped_overflow when it started


class _Pending:
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.value: Any = None
        self.error: Exception | None = None


def _worker_command(fd: int) -> list[str]:
    return [sys.executable, "-m", "ircish.store.worker", str(fd)]


def _worker_env() -> dict[str, str]:
    # The worker must import this very ircish, wherever the server was started.
    root = str(Path(ircish.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def _exit_status(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class StoreClient:
    def __init__(
        self,
        settings: StoreSettings,
        config_dir: Path | None,
        *,
        restart_initial_s: float = RESTART_INITIAL_S,
        restart_max_s: float = RESTART_MAX_S,
    ) -> None:
        self.settings = settings
        self._config_dir = config_dir
        self._interval = settings.flush_interval_ms / 1000
        self._queue_limit = settings.queue_limit
        self._restart_initial = restart_initial_s
        self._restart_max = restart_max_s
        self._queue: deque[Event] = deque()  # accepted, not sent to the current worker
        self._unacked: deque[Event] = deque()  # sent, commit not confirmed yet
        # Events confirmed committed (the count accepted is self._admission's).
        self._acked = 0
        self._session_base = 0  # self._acked when the current worker started
        self._wake = trio.Event()  # something was queued
        self._kick = trio.Event()  # someone flushes: ship now
        self._ack_event = trio.Event()
        self._urgent = 0
        self._link: FrameStream | None = None
        self._calls: dict[int, _Pending] = {}
        # Queries whose asker gave up before the answer: the worker is told, so it
        # drops them instead of answering nobody while the writer waits its turn.
        self._abandoned: list[int] = []
        self._ids = itertools.count(1)
        self._started = False
        self.pid: int | None = None  # the current worker's
        # The persistent channels, as the first worker found them at start.
        self.restored: list[ChannelState] = []
        self.stats = ClientStats()
        self._admission = Admission(self._queue_limit, settings.store_events, self.stats, log)
        self._outage: _Outage | None = None
        # Told the line that starts and the line that ends each write outage.
        self.on_outage: list[Callable[[str], None]] = []
        self._slow_reported_at: float | None = None
        self._slow_unreported = 0
        # On a network node (``ircish.network.feature``): the events whose rows
        # another writer stores in the same transaction as their network events
        # (``divert`` takes them, and says True), and what a query awaits first
        # so it still reads the lines submitted before it (``barrier``).
        self.divert: Callable[[Event], bool] | None = None
        self.barrier: Callable[[], Awaitable[None]] | None = None

    # -- the message path ------------------------------------------------------

    def submit(self, event: Event) -> None:
        """Queue an event for storage. Call from the Trio thread; never blocks."""
        divert = self.divert
        if (divert is not None and wanted(event, self._admission.store_events)
                and divert(event)):
            return
        if not self._admission.admit(event, self.backlog):
            return
        self._queue.append(event)
        if not self._wake.is_set():
            self._wake.set()

    @property
    def backlog(self) -> int:
        """Events submitted but not confirmed committed."""
        return len(self._queue) + len(self._unacked)

    async def flush(self) -> bool:
        """Wait until everything submitted before this call is committed.

        Lines submitted meanwhile do not keep it waiting. It waits through a
        worker restart, so bound it with a deadline (``trio.move_on_after``);
        it works inside a shielded cancel scope. A deadline reached first loses
        nothing (see ``_note_slow``).
        """
        target = self._admission.accepted
        if self._acked >= target:
            return True
        self._urgent += 1
        self._kick.set()
        self._wake.set()
        try:
            while self._acked < target:
                await self._ack_event.wait()
            return True
        finally:
            self._urgent -= 1
            if self._acked < target:
                self._note_slow(target - self._acked)

    def _note_slow(self, waiting: int) -> None:
        # The events are still kept and will be written; what is really lost is
        # logged where it is lost (a full queue, a worker stopped with a backlog).
        self.stats.slow_flushes += 1
        self._slow_unreported += 1
        log.debug("history: a flush gave up with %d events not yet written", waiting)
        if self._outage is not None:
            return  # the outage's ERROR already says why
        now = trio.current_time()
        if self._slow_reported_at is not None and now - self._slow_reported_at < SLOW_REPORT_S:
            return
        log.warning(
            "history: the writer is slow: %d waits for it ended before the newest lines "
            "were written (%d events waiting; they are kept and written)",
            self._slow_unreported,
            self.backlog,
        )
        self._slow_reported_at = now
        self._slow_unreported = 0

    # -- queries -----------------------------------------------------------------

    async def ask(self, *requests: HistoryRequest | SearchRequest) -> list[Any]:
        """The worker's answer to each request, in order; or StoreUnavailable /
        StoreQueryError. It sees every line submitted before the call."""
        if self.barrier is not None:
            await self.barrier()
        link = self._link
        if link is None:
            raise StoreUnavailable("the history worker is not running (restarting)")
        call_id = next(self._ids)
        pending = _Pending()
        self._calls[call_id] = pending
        noted = False
        try:
            # The queued lines go first on the same stream; the worker commits
            # them before it answers (read-your-writes by order, no round trip).
            await self._ship_all(link)
            await link.send(("query", call_id, requests, READ_WAIT_S))
            with trio.move_on_after(READ_WAIT_S * 2):
                await pending.done.wait()
            if not pending.done.is_set():
                # A worker that keeps the answer this long is stopped or swamped.
                noted = True
                self._note_slow(self.backlog)
                await pending.done.wait()
        except LinkClosed as exc:
            raise StoreUnavailable(f"the history worker is gone ({exc})") from exc
        finally:
            self._calls.pop(call_id, None)
            if not pending.done.is_set() and self._link is link:
                self._abandoned.append(call_id)
                self._wake.set()
        if pending.error is not None:
            raise pending.error
        answers, left_out = pending.value
        if left_out and not noted:
            self._note_slow(left_out)
        return answers

    async def account(self, request: AccountRequest) -> Any:
        """The worker's answer to one account request (``ircish.store.accounts``);
        StoreUnavailable or StoreQueryError when there is none."""
        link = self._link
        if link is None:
            raise StoreUnavailable("the history worker is not running (restarting)")
        call_id = next(self._ids)
        pending = _Pending()
        self._calls[call_id] = pending
        try:
            await link.send(("account", call_id, request))
            await pending.done.wait()
        except LinkClosed as exc:
            raise StoreUnavailable(f"the history worker is gone ({exc})") from exc
        finally:
            self._calls.pop(call_id, None)
        if pending.error is not None:
            raise pending.error
        return pending.value[0]

    # -- the worker's life -------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep one worker running until cancelled; then let it finish and exit.

        ``task_status.started()`` once the first worker has migrated the
        database (and loaded the persistent channels, ``restored``); its
        failure to get there raises StorageError. Later deaths are logged and
        the worker restarted with backoff: chat goes on meanwhile.
        """
        delay = self._restart_initial
        while True:
            began = trio.current_time()
            try:
                reason = await self._session(task_status)
            except StorageError as exc:
                if not self._started:
                    raise
                reason = f"could not start: {exc}"
            if not self._started:
                raise StorageError(f"[storage] the history worker {reason}")
            if trio.current_time() - began >= STABLE_S:
                delay = self._restart_initial
            self.stats.restarts += 1
            log.error(
                "history worker %s; chat goes on, %d events are kept for it; "
                "restarting it in %.1f s",
                reason,
                self.backlog,
                delay,
            )
            await trio.sleep(delay)
            delay = min(delay * 2, self._restart_max)

    async def _session(self, task_status: trio.TaskStatus[None]) -> str:
        """Run one worker; return why it ended (it died), raise StorageError if fatal."""
        parent_end, child_end = socket.socketpair()
        try:
            proc = await trio.lowlevel.open_process(
                _worker_command(child_end.fileno()),
                pass_fds=(child_end.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_worker_env(),
            )
        except OSError as exc:
            parent_end.close()
            raise StorageError(f"[storage] cannot start the history worker: {exc}") from exc
        finally:
            child_end.close()
        self.pid = proc.pid
        link = FrameStream(trio.SocketStream(trio.socket.from_stdlib_socket(parent_end)))
        gone = False
        try:
            try:
                restore = not self._started
                level = logging.getLogger("ircish.store").getEffectiveLevel()
                await link.send(("open", self.settings, self._config_dir, level, restore))
                reply = await link.receive()
            except LinkClosed:
                gone = True
                await proc.wait()
                return f"exited while starting ({_exit_status(proc.returncode)})"
            if reply[0] == "fatal":
                gone = True
                raise StorageError(reply[1])
            if restore:
                self.restored = reply[1]
            # What the last worker never confirmed goes first, to this one.
            self._queue.extendleft(reversed(self._unacked))
            self._unacked.clear()
            self._session_base = self._acked
            self._link = link
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._ship_loop, link, proc)
                if not self._started:
                    self._started = True
                    task_status.started()
                await self._receive_loop(link)
                gone = True
                nursery.cancel_scope.cancel()
            with trio.move_on_after(CLOSE_TIMEOUT_S):
                await proc.wait()
            return f"(pid {proc.pid}) exited unexpectedly ({_exit_status(proc.returncode)})"
        finally:
            self._link = None
            self._fail_calls()
            with trio.CancelScope(shield=True):
                if not gone:
                    await self._close(link, proc)
                await self._reap(proc)
                await link.aclose()

    async def _close(self, link: FrameStream, proc: trio.Process) -> None:
        """Ship the rest, end the stream, and wait for the worker to commit and exit."""
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            try:
                await self._ship_all(link)
                await link.send_eof()
                while True:
                    self._handle(await link.receive())
            except LinkClosed:
                pass
            await proc.wait()
        if self.backlog:
            log.error(
                "history: %d events could not be written before the worker stopped", self.backlog
            )

    async def _reap(self, proc: trio.Process) -> None:
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            await proc.wait()
        if proc.returncode is None:
            log.error("history worker (pid %d) did not exit; killing it", proc.pid)
            proc.kill()
        await proc.wait()

    def _fail_calls(self) -> None:
        for pending in self._calls.values():
            pending.error = StoreUnavailable("the history worker stopped before answering")
            pending.done.set()
        self._calls.clear()

    # -- shipping and receiving ----------------------------------------------------

    async def _ship_loop(self, link: FrameStream, proc: trio.Process) -> None:
        next_ship = trio.current_time()
        try:
            while True:
                if not self._queue and not self._abandoned:
                    await self._wake.wait()
                self._wake = trio.Event()
                if not self._urgent:
                    with trio.move_on_at(next_ship):
                        await self._kick.wait()
                self._kick = trio.Event()
                next_ship = trio.current_time() + self._interval
                await self._ship_all(link)
        except LinkClosed as exc:
            # The worker stopped reading: it is dead or stuck. Make sure it is
            # dead; the receive loop then sees the end and a new one starts.
            log.debug("history worker link closed while shipping: %s", exc)
            if proc.returncode is None:
                proc.kill()

    async def _ship_all(self, link: FrameStream) -> None:
        # Each frame is taken off the queue only once the link is ours (then it is
        # sent, shielded): a caller cancelled while it waits (a query of a dropped
        # replay) takes nothing, so no batch is lost unsent and left unacknowledged
        # (a flush would wait for it for ever).
        while await link.send_next(self._next_frame):
            pass

    def _next_frame(self) -> tuple[Any, ...] | None:
        if self._abandoned:
            given_up, self._abandoned = tuple(self._abandoned), []
            return ("cancel", given_up)
        queue = self._queue
        if not queue:
            return None
        count = min(len(queue), MAX_FRAME_EVENTS)
        batch = [queue.popleft() for _ in range(count)]
        # Kept until the worker confirms, so a dead worker's next gets them.
        self._unacked.extend(batch)
        self.stats.shipped += count
        self.stats.frames += 1
        return ("events", codec.encode(batch))

    async def _receive_loop(self, link: FrameStream) -> None:
        while True:
            try:
                frame = await link.receive()
            except LinkClosed:
                return
            self._handle(frame)

    def _handle(self, frame: tuple[Any, ...]) -> None:
        kind = frame[0]
        if kind == "acked":
            self._on_ack(self._session_base + frame[1])
        elif kind in ("result", "error"):
            pending = self._calls.get(frame[1])
            if pending is None:
                return  # the asker gave up (cancelled)
            if kind == "result":
                pending.value = (frame[2], frame[3])
            else:
                pending.error = StoreQueryError(frame[2])
            pending.done.set()
        elif kind == "outage":
            self._outage_started(frame[1], frame[2])
        elif kind != "ready":  # a "ready" can arrive after a start was cancelled
            log.error("history worker sent an unknown frame %r", kind)

    def _on_ack(self, seq: int) -> None:
        count = min(seq - self._acked, len(self._unacked))
        if count <= 0:
            return
        for _ in range(count):
            self._unacked.popleft()
        self._acked += count
        self.stats.acked += count
        self._ack_event.set()
        self._ack_event = trio.Event()
        self._admission.settle(self.backlog)
        if self._outage is not None:
            self._outage_ended()

    # -- write outages -------------------------------------------------------------

    def _outage_started(self, database: str, cause: str) -> None:
        if self._outage is not None:
            # A restarted worker failing again, or a new cause: the same outage.
            log.debug("history: still cannot write to %s (%s)", database, cause)
            return
        self.stats.outages += 1
        self._outage = _Outage(
            database, trio.current_time(), self.stats.acked, self.stats.dropped_overflow
        )
        self._tell(logging.ERROR, outage.started(database, cause, self._queue_limit))

    def _outage_ended(self) -> None:
        # Only a commit is acknowledged, so the first ack after the start ends it.
        o = self._outage
        assert o is not None
        self._outage = None
        self._tell(
            logging.WARNING,
            outage.ended(
                o.database,
                trio.current_time() - o.since,
                self.stats.acked - o.acked,
                self.stats.dropped_overflow - o.dropped,
            ),
        )

    def _tell(self, level: int, text: str) -> None:
        log.log(level, text)
        for listener in self.on_outage:
            try:
                listener(text)
            except Exception:
                log.exception("history outage listener %r failed", listener)

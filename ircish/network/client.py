"""The network worker as the server process sees it: a queue, claims, and a feed.

``NetworkClient.run`` starts ``python -m ircish.network.worker`` (the
database driver never runs in this process), waits for it to join the network
and hands the snapshot to ``on_ready``; then:

- ``submit(op)``: O(1), sync; a ship task sends what is queued as one frame as
  soon as the worker has committed the previous one, so a busy node sends bigger
  batches, the worker wakes once a commit rather than once an event, and
  commits each batch with one NOTIFY;
- ``claim(...)``: a nick claim, answered by the worker in the order of
  everything sent before it;
- ``submit_history(event)``: an event the history store keeps (a message, a
  join...); the worker stores its rows in the same transaction as the
  operations shipped with it, so a line is in history if and only if the
  other nodes get it. ``written()`` waits until what was submitted before it
  is committed (a CHATHISTORY reads its own lines);
- other origins' operations arrive in order and go to ``on_remote``.

The worker is the node's lease: if it says ``fenced`` or dies, this node can
no longer prove it is alive and ``on_lost`` is called (the feature closes the
clients); ``run`` returns, and a new ``run`` joins again with a new epoch.
"""

from __future__ import annotations

import itertools
import logging
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import trio

from ircish.core.events import Event
from ircish.history import codec
from ircish.history.client import _worker_env
from ircish.history.rpc import FrameStream, LinkClosed

log = logging.getLogger("ircish.network")

Op = dict[str, Any]
CLOSE_TIMEOUT_S = 5.0
# How long a claim waits for a worker that is (re)joining before it is refused.
CLAIM_WAIT_S = 5.0
# How long a read waits for the lines before it to be committed (as history's READ_WAIT_S:
# when the database struggles, a slightly stale answer beats none).
WRITTEN_WAIT_S = 1.0


class NetworkUnavailable(Exception):
    """The worker is gone: no claim can be decided."""


class NetworkClient:
    def __init__(self, url: str, node: str, lease_s: int, retention_s: int = 3600) -> None:
        self.url = url
        self.node = node
        self.lease_s = lease_s
        self.retention_s = retention_s
        self._queue: list[Op] = []
        self._history: list[Event] = []
        self._wake = trio.Event()
        self._link: FrameStream | None = None
        self._up = trio.Event()  # set while a worker is joined
        self._ids = itertools.count(1)
        self._calls: dict[int, tuple[trio.Event, list[bool]]] = {}
        self.on_ready: Callable[[Any], None] = lambda snapshot: None
        self.on_remote: Callable[[list[tuple[str, int, Op]]], None] = lambda rows: None
        self.on_lost: Callable[[str], None] = lambda reason: None
        # The database unreachable (False, why) and reachable again (True, "").
        self.on_database: Callable[[bool, str], None] = lambda reachable, text: None
        self.epoch = 0
        self.pid: int | None = None
        self.sent_ops = 0
        self._closing = False
        # "events" frames of the current session shipped, and committed by the worker.
        self._frames = 0
        self._frames_written = 0
        self._written = trio.Event()
        self._sessions = 0

    def submit_history(self, event: Event) -> None:
        self._history.append(event)
        if not self._wake.is_set():
            self._wake.set()

    async def written(self) -> None:
        """Until everything submitted before the call is committed, or the worker is
        gone, or ``WRITTEN_WAIT_S`` passed."""
        link = self._link
        if link is None:
            return
        with trio.move_on_after(WRITTEN_WAIT_S):
            try:
                await self._ship(link)
            except LinkClosed:
                return
            target = self._frames
            while self._frames_written < target and self._link is link:
                await self._written.wait()

    def submit(self, op: Op) -> None:
        self._queue.append(op)
        if not self._wake.is_set():
            self._wake.set()

    async def claim(self, session: str, nick: str, registered: bool, micros: int) -> bool:
        if self._link is None:
            # Between two sessions (a rejoin takes a second or two): wait a little.
            with trio.move_on_after(CLAIM_WAIT_S):
                await self._up.wait()
        link = self._link
        if link is None:
            raise NetworkUnavailable("the network worker is not running")
        call_id = next(self._ids)
        done = trio.Event()
        answer: list[bool] = []
        self._calls[call_id] = (done, answer)
        # Behind what is queued: the worker decides in the order things happened.
        await self._ship(link)
        try:
            await link.send(("claim", call_id, session, nick, registered, micros))
        except LinkClosed as exc:
            self._calls.pop(call_id, None)
            raise NetworkUnavailable(str(exc)) from exc
        await done.wait()
        if not answer:
            raise NetworkUnavailable("the network worker stopped before answering")
        return answer[0]

    async def _ship(self, link: FrameStream) -> None:
        if self._queue or self._history:
            batch, self._queue = self._queue, []
            history, self._history = self._history, []
            self.sent_ops += len(batch)
            self._frames += 1
            await link.send(("events", batch, codec.encode(history)))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        # Nothing from before this session: a node that was declared dead must not
        # write what its clients said meanwhile (before the first, what the start
        # did: bots joining their channels).
        if self._sessions:
            self._queue.clear()
            self._history.clear()
        self._sessions += 1
        self._frames = self._frames_written = 0
        self._written = trio.Event()
        parent_end, child_end = socket.socketpair()
        try:
            proc = await trio.lowlevel.open_process(
                [sys.executable, "-m", "ircish.network.worker", str(child_end.fileno())],
                pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL, env=_worker_env())
        finally:
            child_end.close()
        self.pid = proc.pid
        link = FrameStream(trio.SocketStream(trio.socket.from_stdlib_socket(parent_end)))
        reason = "the network worker ended"
        try:
            level = logging.getLogger("ircish.network").getEffectiveLevel()
            await link.send(("hello", self.url, self.node, self.lease_s, level,
                             self.retention_s))
            reply = await link.receive()
            if reply[0] != "ready":
                raise RuntimeError(reply[1] if len(reply) > 1 else "the network worker failed")
            snapshot = reply[1]
            self.epoch = snapshot.epoch
            self.on_ready(snapshot)
            self._link = link
            self._up.set()
            task_status.started()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._ship_loop, link)
                reason = await self._receive_loop(link)
                nursery.cancel_scope.cancel()
        except LinkClosed as exc:
            if self._link is None:
                raise RuntimeError(f"[network] the network worker exited while starting ({exc})"
                                   ) from exc
        finally:
            self._link = None
            if self._up.is_set():
                self._up = trio.Event()
            for done, _ in self._calls.values():
                done.set()
            self._calls.clear()
            self._written.set()
            with trio.CancelScope(shield=True):
                await self._close(link, proc)
        if not self._closing:
            self._queue.clear()
            self._history.clear()
            self.on_lost(reason)

    async def _ship_loop(self, link: FrameStream) -> None:
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            # One frame in flight: the worker commits everything that came while its
            # previous commit ran anyway, so what comes meanwhile waits here and goes
            # as one frame, instead of a frame (and a wake-up of the worker) per event.
            while self._frames_written < self._frames and self._link is link:
                await self._written.wait()
            await self._ship(link)

    async def _receive_loop(self, link: FrameStream) -> str:
        while True:
            try:
                frame = await link.receive()
            except LinkClosed:
                return "the network worker died"
            kind = frame[0]
            if kind == "remote":
                self.on_remote(frame[1])
            elif kind == "written":
                self._frames_written = frame[1]
                self._written.set()
                self._written = trio.Event()
            elif kind == "claimed":
                call = self._calls.pop(frame[1], None)
                if call is not None:
                    call[1].append(frame[2])
                    call[0].set()
            elif kind == "database":
                self.on_database(frame[1], frame[2])
            elif kind == "fenced":
                return f"this node was fenced: {frame[1]}"
            else:
                log.error("network: unknown frame %r from the worker", kind)

    @property
    def closing(self) -> bool:
        return self._closing

    async def stop(self) -> None:
        """A clean stop: send what is queued, end the stream; the worker ends the lease."""
        self._closing = True
        link = self._link
        if link is None:
            return
        try:
            await self._ship(link)
            await link.send_eof()
        except LinkClosed:
            pass

    async def _close(self, link: FrameStream, proc: trio.Process) -> None:
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            try:
                await link.send_eof()
            except LinkClosed:
                pass
            await proc.wait()
        if proc.returncode is None:
            log.error("network worker (pid %d) did not exit; killing it", proc.pid)
            proc.kill()
            await proc.wait()
        await link.aclose()

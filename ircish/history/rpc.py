"""Frames between the server and its history worker: length-prefixed pickles.

Both ends are our own processes on a private socketpair, so pickle is safe and
the cheapest way to carry the store's records. A frame is a 4-byte big-endian
length and a pickled tuple whose first item names it:

server → worker
    ``("open", settings, config_dir, log_level, restore)``  first frame
    ``("events", encoded)``          a batch for the writer (``codec``)
    ``("query", id, requests, wait_s)``  history requests (``HistoryRequest``, or a
                                     SEARCH's ``SearchRequest``), answered
                                     after every event sent before them is committed
                                     (or ``wait_s`` has passed)
    ``("account", id, request)``      an ``AccountRequest``, answered in its own transaction
    end of stream                    finish the queue and exit

worker → server
    ``("ready", channels)``           migrated; persistent channels if asked
    ``("fatal", message)``            cannot start: the message names ``[storage]``
    ``("acked", count)``              that many events of this session are committed
    ``("outage", database, cause)``   the database stopped taking writes
    ``("result", id, answers, left_out)`` / ``("error", id, message)``  a query's
                                     answers, and how many earlier events they may miss

A send is shielded from cancellation: a frame cut in half would desynchronise
the stream for good. It is bounded instead; a peer that stops reading for that
long is treated as gone.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Callable
from typing import Any

import trio

_HEADER = struct.Struct("!I")
_CHUNK = 1 << 16
# A sender stuck this long has a peer that stopped reading (hung, or stopped).
SEND_TIMEOUT_S = 30.0


class LinkClosed(Exception):
    """The other end closed the stream, died, or broke the framing."""


def pack(obj: Any) -> bytes:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


class FrameStream:
    """Whole frames over a Trio byte stream; several tasks may send at once."""

    def __init__(self, stream: trio.abc.HalfCloseableStream) -> None:
        self.stream = stream
        self._buf = bytearray()
        self._send_lock = trio.Lock()
        self.broken = False

    async def send(self, obj: Any) -> None:
        data = pack(obj)
        async with self._send_lock:
            await self._send_locked(data)

    async def send_next(self, build: Callable[[], Any]) -> bool:
        """Send the frame ``build()`` makes once the link is this task's; False if it
        made none (None). Cancelled while waiting, nothing was built: what ``build``
        takes off a queue is never taken without being sent."""
        async with self._send_lock:
            obj = build()
            if obj is None:
                return False
            await self._send_locked(pack(obj))
            return True

    async def _send_locked(self, data: bytes) -> None:
        if self.broken:
            raise LinkClosed("the link is broken")
        with trio.CancelScope(shield=True):
            with trio.move_on_after(SEND_TIMEOUT_S) as scope:
                try:
                    await self.stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                    self.broken = True
                    raise LinkClosed(str(exc) or type(exc).__name__) from exc
            if scope.cancelled_caught:
                self.broken = True
                raise LinkClosed(f"the peer read nothing for {SEND_TIMEOUT_S:.0f} s")

    async def send_eof(self) -> None:
        async with self._send_lock:
            if not self.broken:
                try:
                    await self.stream.send_eof()
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    self.broken = True

    async def receive(self) -> Any:
        """The next frame; LinkClosed at the end of the stream."""
        buf = self._buf
        while True:
            if len(buf) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(buf)
                end = _HEADER.size + size
                if len(buf) >= end:
                    body = bytes(buf[_HEADER.size : end])
                    del buf[:end]
                    return pickle.loads(body)
                want = max(_CHUNK, end - len(buf))
            else:
                want = _CHUNK
            try:
                data = await self.stream.receive_some(want)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise LinkClosed(str(exc) or type(exc).__name__) from exc
            if not data:
                raise LinkClosed("end of stream" + (" inside a frame" if buf else ""))
            buf += data

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)

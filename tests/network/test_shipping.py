"""The server ships one events frame at a time to its network worker: what is
submitted while a frame is not yet committed goes in the next frame, whole."""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing

from ircish.history.rpc import FrameStream
from ircish.network.client import NetworkClient


def _stream(sock: socket.socket) -> FrameStream:
    return FrameStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))


async def test_what_comes_while_a_frame_is_uncommitted_goes_as_one_frame() -> None:
    ours, theirs = socket.socketpair()
    server, worker = _stream(ours), _stream(theirs)
    client = NetworkClient("postgresql://unused", "n1", 10)
    client._link = server
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client._ship_loop, server)
        nursery.start_soon(client._receive_loop, server)
        client.submit({"t": "release", "session": "a"})
        first = await worker.receive()
        assert first[0] == "events"
        assert [op["session"] for op in first[1]] == ["a"]
        # The worker has not said "written" yet: these wait at the server.
        for session in ("b", "c", "d"):
            client.submit({"t": "release", "session": session})
            await trio.testing.wait_all_tasks_blocked()
        # Every task is blocked, so a frame sent would be in the socket's buffer now.
        with pytest.raises(BlockingIOError):
            theirs.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        await worker.send(("written", 1))
        second = await worker.receive()
        assert [op["session"] for op in second[1]] == ["b", "c", "d"]
        nursery.cancel_scope.cancel()
    await server.aclose()
    await worker.aclose()

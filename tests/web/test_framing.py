"""WebSocketStream's non-blocking send: a frame the socket takes only in part is
finished first by the next write, so every line arrives once, whole, in order."""

from __future__ import annotations

import socket

import pytest
import trio
from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionType
from wsproto.events import TextMessage

from ircish.web.websocket import TEXT, WebSocketStream


async def test_partial_sends_keep_every_line_whole_and_in_order() -> None:
    left, right = socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    right.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    left.setblocking(False)
    server_side = trio.SocketStream(trio.socket.from_stdlib_socket(left))
    reader = trio.SocketStream(trio.socket.from_stdlib_socket(right))
    ws = WebSocketStream(server_side, WsConnection(ConnectionType.SERVER), TEXT, 10000, "test")
    assert ws.nowait is not None
    expected: list[str] = []
    partial = 0
    number = 0
    # Batches of lines of varied lengths (some over 125 bytes: 4-byte headers),
    # big enough that the kernel takes part of one and cuts a frame.
    rest = b""
    for _ in range(10000):
        batch = []
        for _ in range(200):
            number += 1
            text = f"PRIVMSG #c :{number} " + "z" * (number * 37 % 300)
            batch.append(text)
        data = "".join(t + "\r\n" for t in batch).encode()
        try:
            taken = ws.nowait.send(data)
        except BlockingIOError:
            taken = 0
        done = data[:taken].count(b"\r\n")
        expected.extend(batch[:done])
        if taken < len(data):
            partial += 1
            rest = data[taken:]
            expected.extend(batch[done:])
            break
    assert partial, "the socket never filled up"
    assert ws.pending, "no frame was cut: the case under test did not happen"

    got: list[str] = []
    piece: list[str] = []
    client = WsConnection(ConnectionType.CLIENT)

    async def read_all() -> None:
        while len(got) < len(expected):
            data = await reader.receive_some(65536)
            assert data, "closed early"
            client.receive_data(data)
            for event in client.events():
                assert isinstance(event, TextMessage)
                piece.append(event.data)
                if event.message_finished:
                    got.append("".join(piece))
                    piece.clear()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_all)
            await ws.send_all(rest)  # what the writer task does with the rest
    assert got == expected
    server_side.socket.close()
    reader.socket.close()


@pytest.mark.parametrize("binary", [False, True])
def test_a_batch_is_one_frame_per_line_without_crlf(binary: bool) -> None:
    from ircish.web.websocket import encode_frames

    lines = [b"PING a", b"x" * 200, b":s 001 n :hi"]
    wire = encode_frames(b"".join(line + b"\r\n" for line in lines), binary)
    client = WsConnection(ConnectionType.CLIENT)
    client.receive_data(wire)
    events = list(client.events())
    assert [bytes(e.data) if binary else e.data.encode() for e in events] == lines

"""A batch whose COMMIT went through but whose answer was lost (the connection dropped
right after, as in a PostgreSQL restart) is not written again: the worker reads its
last seq back and finds the batch in. Written again, its operations took new seqs and
the other nodes replayed them twice. A batch that did not commit is written again, and
a claim asked again is granted again."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import trio

from ircish.core.events import MessageEvent
from ircish.history import codec
from ircish.history.rpc import FrameStream, LinkClosed
from ircish.network import db, worker
from ircish.network.worker import Worker
from tests.network.test_db import url  # noqa: F401  (fixture)
from tests.network.test_notify import _msg


def _stream(sock: socket.socket) -> FrameStream:
    return FrameStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))


def _line(n: int) -> MessageEvent:
    return MessageEvent(msgid=f"m{n}", micros=1_000_000 + n, command="PRIVMSG",
                        source="a!u@h", nick="a", account=None, target="#x",
                        is_channel=True, text=f"line {n}", tags={})


def _frame(numbers: range) -> tuple[Any, ...]:
    return ("events", [_msg(n) for n in numbers], codec.encode([_line(n) for n in numbers]))


def _failing_once(committed: bool) -> tuple[Callable[..., int], list[int]]:
    """``worker.commit`` for the batch holding msgid m3: the real one (or not, when
    ``committed`` is False), then the connection drops as the answer would come."""
    real = worker.commit
    faults: list[int] = []

    def commit(conn: psycopg.Connection[Any], node: str, epoch: int,
               ops: list[dict[str, Any]], encoded: codec.Encoded) -> int:
        if faults or not any(op["msgid"] == "m3" for op in ops):
            return real(conn, node, epoch, ops, encoded)
        faults.append(len(ops))
        if committed:
            real(conn, node, epoch, ops, encoded)
        conn.close()
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    return commit, faults


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "not-committed"])
async def test_a_batch_whose_answer_was_lost_is_in_exactly_once(
    url: str, committed: bool, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    commit, faults = _failing_once(committed)
    monkeypatch.setattr(worker, "commit", commit)
    monkeypatch.setattr(worker, "RETRY_S", 0)
    ours, theirs = socket.socketpair()
    w = Worker(_stream(ours))
    server = _stream(theirs)
    w.node, w.lease_s, w.url = "n1", 10, url
    w.conn = db.connect(url, True)
    observer = db.connect(url, True)
    written: list[int] = []
    try:
        w.epoch, _ = db.join(w.conn, "n1", w.lease_s)
        w._renewed = time.monotonic()

        async def answers() -> None:
            try:
                while True:
                    frame = await server.receive()
                    if frame[0] == "written":
                        written.append(frame[1])
            except LinkClosed:
                pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(answers)
            # One batch committed as usual first: the worker's seq is not where it began.
            w._todo.append(_frame(range(0, 2)))
            w._wake.set()
            await w._guarded(w._write_some)
            assert w.last_seq == 2
            # The next two frames go in one batch, whose answer is lost; a claim and one
            # more frame after it.
            w._todo.extend([_frame(range(2, 4)), _frame(range(4, 7)), ("claim", 1, "s1",
                                                                     "alice", False, 1)])
            w._todo.append(_frame(range(7, 8)))
            w._ended = True
            w._wake.set()
            await w._write_until_ended()
            await w.link.aclose()  # every answer sent: ``answers`` reads them, then ends
        assert faults == [5]
        assert w.conn is not None and not w.conn.closed  # reconnected
        events = observer.execute("SELECT seq, payload::json->>'msgid' FROM network_events"
                                  " WHERE origin = 'n1' ORDER BY seq").fetchall()
        assert events == [(n + 1, f"m{n}") for n in range(8)]
        assert observer.execute("SELECT last_seq FROM network_nodes WHERE node_id = 'n1'"
                                ).fetchone() == (8,)
        assert w.last_seq == 8
        stored = observer.execute("SELECT msgid FROM history ORDER BY time").fetchall()
        assert stored == [(f"m{n}",) for n in range(8)]
        # The server hears each frame committed, once: 1, then 3 (the batch), then 4.
        assert written == [1, 3, 4]
    finally:
        observer.close()
        if w.conn is not None:
            w.conn.close()
        await server.aclose()
        await w.link.aclose()


def test_a_claim_asked_again_after_its_answer_was_lost_is_granted_again(
    url: str,  # noqa: F811
) -> None:
    conn = db.connect(url, True)
    try:
        epoch, _ = db.join(conn, "n1", 10)
        for registered in (False, True):
            nick = "Alice" if registered else "alice"
            # The first one committed; its answer, say, never came.
            assert db.claim(conn, "n1", epoch, "s1", nick, registered, 1)
            assert db.claim(conn, "n1", epoch, "s1", nick, registered, 1)
            rows = conn.execute("SELECT session, key, nick FROM network_users").fetchall()
            assert rows == [("s1", "alice", nick)]
        assert db.last_seq(conn, "n1", epoch) == 0  # a claim takes no seq
    finally:
        conn.close()


def test_the_last_seq_of_a_fenced_epoch_is_not_read(url: str) -> None:  # noqa: F811
    conn = db.connect(url, True)
    try:
        db.join(conn, "n1", 10)
        db.append(conn, "n1", 1, [_msg(1), _msg(2)])
        assert db.last_seq(conn, "n1", 1) == 2
        db.join(conn, "n1", 10)  # epoch 2: the first process is fenced
        with pytest.raises(db.Fenced):
            db.last_seq(conn, "n1", 1)
    finally:
        conn.close()

"""The notifications of a committed batch carry its operations (``db._notify``): a
reader that follows them gets what the table holds, and sees a gap where they do not
(an operation too big for a payload, a notification it missed)."""

from __future__ import annotations

from typing import Any

import psycopg

from ircish.network import db
from tests.network.test_db import conn, url  # noqa: F401  (fixtures)


def _msg(n: int, size: int = 10) -> dict[str, Any]:
    return {"t": "msg", "command": "PRIVMSG", "source": "a!u@h", "target": "#x",
            "channel": True, "text": f"{n} " + "é" * size, "tags": {}, "msgid": f"m{n}",
            "micros": n}


def _notes(listener: psycopg.Connection[Any]) -> list[str]:
    return [n.payload for n in listener.notifies(timeout=1.0, stop_after=1)] + [
        n.payload for n in listener.notifies(timeout=0.2)]


def test_the_notifications_carry_the_batch(conn: psycopg.Connection[Any], url: str  # noqa: F811
                                           ) -> None:
    listener = db.connect(url, autocommit=True)
    try:
        db.listen(listener, [db.channel_of("n1")])
        db.join(conn, "n1", 10)
        db.join(conn, "n2", 10)
        # 150 operations of ~400 bytes: more than one payload's worth.
        first = [_msg(n, 60) for n in range(150)]
        db.append(conn, "n1", 1, first)
        notes = _notes(listener)
        assert len(notes) > 1 and all(len(n.encode()) <= 8000 for n in notes)
        positions: dict[str, int] = {}
        rows, gap = db.from_notifications(notes, "n2", positions)
        assert not gap and positions == {"n1": 150}
        assert [op for _, _, op in rows] == first
        assert [seq for _, seq, _ in rows] == list(range(1, 151))
        # The origin's own notifications are not for it.
        assert db.from_notifications(notes, "n1", {}) == ([], False)
        # One too big for a payload: announced only, the reader reads the table.
        db.append(conn, "n1", 1, [_msg(60), _msg(61, 9000), _msg(62)])
        rows, gap = db.from_notifications(_notes(listener), "n2", positions)
        assert gap and [seq for _, seq, _ in rows] == [151]
        assert db.read_new(listener, "n2", positions) == [
            ("n1", 152, _msg(61, 9000)), ("n1", 153, _msg(62))]
        # A notification missed (its batch is in the table): the next one is a gap.
        db.append(conn, "n1", 1, [_msg(63)])
        _notes(listener)
        db.append(conn, "n1", 1, [_msg(64)])
        rows, gap = db.from_notifications(_notes(listener), "n2", positions)
        assert gap and rows == [] and positions == {"n1": 153}
        # Already read from the table: nothing twice.
        assert db.read_new(listener, "n2", positions) == [("n1", 154, _msg(63)),
                                                          ("n1", 155, _msg(64))]
        db.append(conn, "n1", 1, [_msg(65), _msg(66)])
        notes = _notes(listener)
        positions["n1"] = 156  # the table was read after this commit, first seq included
        rows, gap = db.from_notifications(notes, "n2", positions)
        assert not gap and rows == [("n1", 157, _msg(66))]
    finally:
        listener.close()


def test_each_origin_notifies_on_its_own_channel(conn: psycopg.Connection[Any],  # noqa: F811
                                                 url: str) -> None:  # noqa: F811
    """A node listens to the other origins' channels only: its own commits, by the one
    statement and by a transaction, send it nothing (on one shared channel each of
    them woke its own listener)."""
    db.join(conn, "n1", 10)
    db.join(conn, "n2", 10)
    n1_listens = db.connect(url, autocommit=True)  # n1's listener: n2's channel
    n2_listens = db.connect(url, autocommit=True)  # n2's listener: n1's channel
    try:
        db.listen(n1_listens, [db.CHANNEL, db.channel_of("n2")])
        db.listen(n2_listens, [db.CHANNEL, db.channel_of("n1")])
        db.append(conn, "n1", 1, [_msg(1)])
        db.append(conn, "n1", 1, [_msg(2)], inline=db.Inline())
        assert [n.payload for n in n1_listens.notifies(timeout=0.3)] == []
        rows, gap = db.from_notifications(_notes(n2_listens), "n2", {})
        assert not gap and [seq for _, seq, _ in rows] == [1, 2]
        db.append(conn, "n2", 1, [_msg(3)], inline=db.Inline())
        rows, gap = db.from_notifications(_notes(n1_listens), "n1", {})
        assert not gap and [(origin, seq) for origin, seq, _ in rows] == [("n2", 1)]
        assert [n.payload for n in n2_listens.notifies(timeout=0.3)] == []
        # A node id of the longest kind still makes a channel PostgreSQL takes whole.
        long = "n" * 63
        assert len(db.channel_of(long).encode()) <= 63
        assert db.channel_of(long) != db.channel_of("n" * 62)
        db.listen(n1_listens, [db.channel_of(long)])
    finally:
        n1_listens.close()
        n2_listens.close()

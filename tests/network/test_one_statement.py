"""A batch of messages commits by one statement (``db._append_one``): one round trip,
and the tables, the notifications and the fencing as the statements of a
transaction (``db._append``) leave them."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ircish.core.events import JoinEvent, MessageEvent
from ircish.history import codec
from ircish.network import db, history, worker
from tests.network.test_db import url  # noqa: F401  (fixture)
from tests.network.test_notify import _msg, _notes


def _line(n: int, target: str = "#x", text: str = "") -> MessageEvent:
    # Every line the same microsecond: only the insertion order tells them apart.
    private = not target.startswith("#")
    return MessageEvent(msgid=f"m{n}", micros=1_000_000, command="PRIVMSG", source="a!u@h",
                        nick="a", account=None, target=target, is_channel=not private,
                        text=text or f"line {n} é", tags={"+k": "v"} if n % 2 else {},
                        session="sa" if private else None,
                        recipient_session="sb" if private else None)


def _ops(lines: list[MessageEvent]) -> list[dict[str, Any]]:
    return [{"t": "msg", "command": ev.command, "source": ev.source, "account": None,
             "target": ev.target, "channel": ev.is_channel, "text": ev.text, "tags": ev.tags,
             "msgid": ev.msgid, "micros": ev.micros} for ev in lines]


def _tables(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "events": conn.execute("SELECT origin, seq, epoch, payload FROM network_events"
                               " ORDER BY origin, seq").fetchall(),
        "history": conn.execute(
            "SELECT target_key, msgid, time, kind, source, account, target, param, text, tags,"
            " sender_key, recipient_key, recipient_account, sender_session, recipient_session,"
            " search_vector::text FROM history ORDER BY id").fetchall(),
        "conversations": conn.execute("SELECT key, a_key, b_key, a_name, b_name, last_time"
                                      " FROM conversations ORDER BY key").fetchall(),
        "nodes": conn.execute("SELECT node_id, last_seq FROM network_nodes").fetchall(),
    }


def _round_trips(conn: psycopg.Connection[Any], trace: Path, work: Any) -> int:
    """How many times ``work`` made the client wait on the server (libpq's trace of
    the messages: each Sync, or simple Query, is one answer waited for)."""
    with trace.open("w") as out:
        conn.pgconn.trace(out.fileno())
        try:
            work()
        finally:
            conn.pgconn.untrace()
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    return sum(1 for f in sent if len(f) > 3 and f[1] == "F" and f[3] in ("Sync", "Query"))


def test_a_batch_of_messages_is_one_round_trip(writer: psycopg.Connection[Any],
                                               tmp_path: Path) -> None:
    lines = [_line(n) for n in range(40)]
    encoded = codec.encode(lines)
    trips = _round_trips(writer, tmp_path / "trace",
                         lambda: worker.commit(writer, "n1", 1, _ops(lines), encoded))
    assert trips == 1
    tables = _tables(writer)
    assert len(tables["events"]) == len(tables["history"]) == 40


def test_the_same_tables_as_the_transaction(url: str) -> None:  # noqa: F811
    """The one statement and the statements of a transaction (what a batch with a JOIN
    takes), on the same batches, leave the same rows (but for the times they read)."""
    big = [_line(100 + n, text="y" * 300) for n in range(60)]  # several notifications
    batches = [
        [_line(n) for n in range(5)],
        [_line(10, "bob"), _line(11, "Bob"), _line(12, "#x"), _line(13, "carol")],
        big,
        [_line(200), _line(201, text="z" * 9000), _line(202)],  # one too big to carry
    ]
    seen = []
    for one in (True, False):
        conn = db.connect(url, autocommit=True)
        try:
            conn.execute("TRUNCATE network_events, history, conversations, network_nodes CASCADE")
            db.join(conn, "n1", 10)
            listener = db.connect(url, autocommit=True)
            db.listen(listener, [db.channel_of("n1")])
            notes = []
            for lines in batches:
                ops, encoded = _ops(lines), codec.encode(lines)
                if one:
                    worker.commit(conn, "n1", 1, ops, encoded)
                else:
                    # The transaction's path: an operation with an effect in the batch
                    # would take it; here the same operations go that way by themselves.
                    rows = history.Careful(encoded, "n1")
                    db.append(conn, "n1", 1, ops, rows.whole)
                notes.append(_notes(listener))
            listener.close()
            seen.append((_tables(conn), notes))
        finally:
            conn.close()
    (one_tables, one_notes), (tx_tables, tx_notes) = seen
    assert one_tables == tx_tables
    assert one_notes == tx_notes
    assert len(one_notes[2]) > 1 and all(len(n.encode()) <= 8000 for n in one_notes[2])
    assert [p for *_, p in one_tables["events"]] == [db.dumps(op) for b in batches
                                                     for op in _ops(b)]
    # The private lines' conversations, the two spellings of bob's one.
    assert [c[0] for c in one_tables["conversations"]] == ["a bob", "a carol"]
    # Rows in their order within a microsecond; search_vector made by the database.
    assert [h[1] for h in one_tables["history"]] == [ev.msgid for b in batches for ev in b]
    assert all(h[15] is not None for h in one_tables["history"])


def test_the_notifications_follow_on(writer: psycopg.Connection[Any], url: str  # noqa: F811
                                     ) -> None:
    listener = db.connect(url, autocommit=True)
    try:
        db.listen(listener, [db.channel_of("n1")])
        first = [_msg(n, 60) for n in range(150)]
        db.append(writer, "n1", 1, first, inline=db.Inline())
        positions: dict[str, int] = {}
        rows, gap = db.from_notifications(_notes(listener), "n2", positions)
        assert not gap and positions == {"n1": 150}
        assert [op for _, _, op in rows] == first
        db.append(writer, "n1", 1, [_msg(60), _msg(61, 9000), _msg(62)], inline=db.Inline())
        rows, gap = db.from_notifications(_notes(listener), "n2", positions)
        assert gap and [seq for _, seq, _ in rows] == [151]
        assert db.read_new(listener, "n2", positions) == [
            ("n1", 152, _msg(61, 9000)), ("n1", 153, _msg(62))]
    finally:
        listener.close()


def test_a_fenced_node_writes_nothing(writer: psycopg.Connection[Any]) -> None:
    lines = [_line(1), _line(2)]
    worker.commit(writer, "n1", 1, _ops(lines), codec.encode(lines))
    before = _tables(writer)
    # Another process of n1 joined: this one's epoch is old.
    db.join(writer, "n1", 10)
    more = [_line(3)]
    with pytest.raises(db.Fenced):
        worker.commit(writer, "n1", 1, _ops(more), codec.encode(more))
    after = _tables(writer)
    assert after["events"] == before["events"] and after["history"] == before["history"]
    # And a lease that ran out fences as well.
    writer.execute("UPDATE network_nodes SET lease_until = 0")
    with pytest.raises(db.Fenced):
        worker.commit(writer, "n1", 2, _ops(more), codec.encode(more))
    assert _tables(writer)["events"] == before["events"]


def test_a_batch_written_again_stores_its_lines_once(writer: psycopg.Connection[Any]) -> None:
    """As after a COMMIT whose answer was lost: the history rows are not doubled."""
    lines = [_line(n) for n in range(3)]
    for _ in range(2):
        worker.commit(writer, "n1", 1, _ops(lines), codec.encode(lines))
    assert [h[1] for h in _tables(writer)["history"]] == ["m0", "m1", "m2"]


def test_a_line_stored_already_is_skipped_by_a_second_try(
        writer: psycopg.Connection[Any], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The one statement inserts history rows without ON CONFLICT; when one is stored
    already, the statement (which wrote nothing) runs once more, skipping it: two round
    trips, no refused batch, and the new lines and every event row are written."""
    lines = [_line(n) for n in range(3)]
    worker.commit(writer, "n1", 1, _ops(lines), codec.encode(lines))
    again = [*lines[1:], _line(3)]
    trips = _round_trips(writer, tmp_path / "trace",
                         lambda: worker.commit(writer, "n1", 1, _ops(again), codec.encode(again)))
    assert trips == 2
    assert "refused" not in caplog.text
    tables = _tables(writer)
    assert [h[1] for h in tables["history"]] == ["m0", "m1", "m2", "m3"]
    assert [seq for _, seq, _, _ in tables["events"]] == [1, 2, 3, 4, 5, 6]
    # Twice in one batch: stored once.
    twice = [_line(4), _line(4)]
    worker.commit(writer, "n1", 1, _ops(twice), codec.encode(twice))
    assert [h[1] for h in _tables(writer)["history"]][4:] == ["m4"]
    assert "refused" not in caplog.text


def test_a_refused_line_falls_back_to_one_by_one(writer: psycopg.Connection[Any],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    long = "#" + "x" * 219  # longer than the column
    lines = [_line(1), _line(2, long), _line(3)]
    worker.commit(writer, "n1", 1, _ops(lines), codec.encode(lines))
    tables = _tables(writer)
    assert [h[1] for h in tables["history"]] == ["m1", "m3"]
    assert [seq for _, seq, _, _ in tables["events"]] == [1, 2, 3]
    assert "refused" in caplog.text


def test_a_batch_with_a_join_takes_the_transaction(writer: psycopg.Connection[Any],
                                                   tmp_path: Path) -> None:
    assert db.claim(writer, "n1", 1, "s1", "a", False, 1)
    join = JoinEvent(nick="a", account=None, channel="#x", source="a!u@h", msgid="j",
                     micros=5)
    ops = [{"t": "join", "session": "s1", "channel": "#x", "held": "o", "modes": "nt",
            "source": "a!u@h", "msgid": "j", "micros": 5}, *_ops([_line(1)])]
    trips = _round_trips(writer, tmp_path / "trace", lambda: worker.commit(
        writer, "n1", 1, ops, codec.encode([join, _line(1)])))
    assert trips > 1
    assert writer.execute("SELECT key FROM network_channels").fetchall() == [("#x",)]
    assert [h[1] for h in _tables(writer)["history"]] == ["j", "m1"]


def test_the_trace_counts_what_it_should(writer: psycopg.Connection[Any],
                                         tmp_path: Path) -> None:
    # The counter itself: three statements outside a transaction, three answers.
    trips = _round_trips(writer, tmp_path / "trace",
                         lambda: [writer.execute("SELECT 1") for _ in range(3)])
    assert trips == 3
    assert re.search(r"\tF\t", (tmp_path / "trace").read_text())
    assert os.path.getsize(tmp_path / "trace") > 0

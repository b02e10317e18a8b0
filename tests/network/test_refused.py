"""A row the database refuses is logged and skipped; the node stays on the network.

The columns have fixed lengths (``network_channels.key``, ``history.target``:
200 characters) while ``[limits] channel_length`` is the operator's to choose:
a node configured for 250-character channel names accepts a JOIN the tables
cannot hold. Its network worker used to stop on that row, and the node left the
network and closed every client. Now the refused operation is stored as a
``skipped`` one in its seq (the origin's sequence stays gap-free: nobody waits on
a hole), the refused history rows are dropped, the rest of the batch commits,
and the log names what was refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from ircish.core.events import JoinEvent, MessageEvent
from ircish.history import codec
from ircish.network import db, history
from tests.network.nodes import eventually, network
from tests.network.test_db import conn, url  # noqa: F401  (fixtures)

CAPS = ["message-tags", "server-time", "echo-message"]
LONG = "#" + "x" * 219  # 220 characters: within channel_length 250, not within the columns


def _op(t: str, **more: Any) -> dict[str, Any]:
    return {"t": t, "session": "s1", "source": "a!u@h", "msgid": f"m-{t}", "micros": 7, **more}


def test_a_refused_op_becomes_a_skipped_seq(
    conn: psycopg.Connection[Any],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    db.join(conn, "n1", 10)
    assert db.claim(conn, "n1", 1, "s1", "a", False, 1)
    ops = [
        _op("join", channel="#ok", held="o", modes="nt"),
        _op("join", channel=LONG, held="o", modes="nt"),
        _op("msg", command="PRIVMSG", target="#ok", channel=True, text="hi", tags={}, account=None),
    ]
    lines = [
        MessageEvent(
            msgid=f"h{n}",
            micros=7 + n,
            command="PRIVMSG",
            source="a!u@h",
            nick="a",
            account=None,
            target=target,
            is_channel=True,
            text=f"line {n}",
        )
        for n, target in enumerate(["#ok", LONG, "#ok"])
    ]
    encoded = codec.encode(
        [
            JoinEvent(nick="a", account=None, channel=LONG, source="a!u@h", msgid="hj", micros=6),
            *lines,
        ]
    )
    store = history.Careful(encoded)
    with pytest.raises(db.REFUSED):
        db.append(conn, "n1", 1, ops, store.whole)
    # Nothing of the refused attempt is left: the seqs are still free.
    assert conn.execute("SELECT last_seq FROM network_nodes").fetchone() == (0,)
    assert db.append(conn, "n1", 1, ops, store.each, careful=True) == 3
    rows = conn.execute("SELECT seq, payload FROM network_events ORDER BY seq").fetchall()
    assert [seq for seq, _ in rows] == [1, 2, 3]
    assert '"t":"skipped"' in rows[1][1] and '"was":"join"' in rows[1][1]
    assert LONG not in rows[1][1]
    assert '"t":"join"' in rows[0][1] and '"t":"msg"' in rows[2][1]
    assert conn.execute("SELECT key FROM network_channels").fetchall() == [("#ok",)]
    # Of the history, only the rows the table can hold.
    assert conn.execute("SELECT msgid FROM history ORDER BY time").fetchall() == [("h0",), ("h2",)]
    refused = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any("join" in r.getMessage() and "#xxxx" in r.getMessage() for r in refused)
    assert any("PRIVMSG" in r.getMessage() and "#xxxx" in r.getMessage() for r in refused)
    # Readers take the skipped seq like any other: no gap to wait on.
    positions: dict[str, int] = {}
    got = db.read_new(conn, "n2", positions)
    assert [seq for _, seq, _ in got] == [1, 2, 3] and positions == {"n1": 3}


def test_a_refused_claim_is_a_lost_one(conn: psycopg.Connection[Any]) -> None:  # noqa: F811
    db.join(conn, "n1", 10)
    assert not db.claim(conn, "n1", 1, "s1", "n" * 250, False, 1)
    assert db.claim(conn, "n1", 1, "s1", "fine", False, 1)
    assert not db.claim(conn, "n1", 1, "s1", "n" * 250, True, 2)


async def test_the_node_stays_on_the_network(tmp_path: Path, postgres_url: str) -> None:
    async with network(tmp_path) as net:
        n1, n2 = net.add("n1"), net.add("n2")
        text = n1.config.read_text()
        # A 761 must still fit in 512 bytes with the longer channel names.
        n1.config.write_text(
            text.replace(
                "[limits]\n", "[limits]\nchannel_length = 250\nmetadata_max_value_bytes = 64\n"
            )
        )
        await net.start(n1, n2)
        alice = await n1.client("alice", CAPS)
        bob = await n2.client("bob", CAPS)
        await alice.send("JOIN #x")
        await alice.expect("JOIN")
        await bob.send("JOIN #x")
        await bob.collect_until("366")
        await alice.expect("JOIN")

        # Both rows of this JOIN (the channel's, the history's) are refused.
        await alice.send(f"JOIN {LONG}", f"PRIVMSG {LONG} :in the long one")
        await alice.expect("366")
        await alice.expect("PRIVMSG")
        for n in range(3):
            await alice.send(f"PRIVMSG #x :after {n}")
            echo = await alice.expect("PRIVMSG")
            got = await bob.expect("PRIVMSG")
            assert got.params == ["#x", f"after {n}"]
            assert got.tags["msgid"] == echo.tags["msgid"]
        # n1 kept its clients and its place: a newcomer on n2 sees alice.
        await alice.send("PING :still")
        assert (await alice.expect("PONG")).params[-1] == "still"
        carol = await n2.client("carol", CAPS)
        await carol.send("WHOIS alice")
        assert any(m.command == "311" for m in await carol.collect_until("318"))
        assert "ERROR" in n1.log_text() and "refused" in n1.log_text()
        assert "left the network" not in n1.log_text() + n2.log_text()
        assert "unknown operation" not in n2.log_text()

        # The sequence has no hole, and history holds the lines after it.
        reader = db.connect(net.url, autocommit=True)
        try:

            async def stored() -> bool:
                rows = reader.execute(
                    "SELECT text FROM history WHERE target = '#x' AND kind = 'PRIVMSG'"
                    " ORDER BY time"
                ).fetchall()
                return rows == [(f"after {n}",) for n in range(3)]

            await eventually(stored)
            seqs = [
                r[0]
                for r in reader.execute(
                    "SELECT seq FROM network_events WHERE origin = 'n1' ORDER BY seq"
                )
            ]
            assert seqs == list(range(1, len(seqs) + 1))
        finally:
            reader.close()

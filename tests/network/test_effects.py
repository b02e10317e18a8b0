"""The lasting effect of the later operations (``ircish.network.effects``) on a real
PostgreSQL, as a node that starts later reads it in its snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from ircish.network import db
from ircish.store import migrate
from ircish.store.database import open_engine
from tests.store import postgres


@pytest.fixture
def conn(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    with postgres.fresh_database() as fresh:
        engine = open_engine(fresh)
        migrate.upgrade(engine)
        engine.dispose()
        c = db.connect(fresh)
        yield c
        c.close()


def _user(session: str, nick: str) -> dict[str, Any]:
    return {"t": "user", "session": session, "nick": nick, "username": "~u", "host": "h",
            "realname": "R", "account": None, "modes": "", "away": None, "micros": 5}


def _join(session: str, channel: str, created: int, micros: int) -> dict[str, Any]:
    return {"t": "join", "session": session, "channel": channel, "held": "o", "modes": "nt",
            "created": created, "msgid": f"j{session}{micros}", "micros": micros}


def test_a_later_node_reads_names_away_hosts_lists_and_creation_times(
    conn: psycopg.Connection[Any],
) -> None:
    db.join(conn, "n1", 10)
    db.join(conn, "n2", 10)
    for session, nick, node in (("s1", "alice", "n1"), ("s2", "bob", "n1")):
        assert db.claim(conn, node, 1, session, nick, False, 1)
    lists = {"b": [["x!*@*", "alice!~u@h", 9]], "e": [], "I": [["*!*@good", "alice!~u@h", 9]]}
    db.append(conn, "n1", 1, [
        {"t": "node", "node": "n1", "server": "n1.example"},
        _user("s1", "alice"), _user("s2", "bob"),
        # #c was made on n1 at 3 although the first JOIN the table saw is at 20.
        _join("s1", "#c", 3, 20), _join("s2", "#c", 1_000, 21), _join("s2", "#gone", 22, 22),
        {"t": "away", "session": "s1", "away": "lunch", "msgid": "a", "micros": 30},
        {"t": "umode", "session": "s1", "modes": "io"},
        {"t": "realname", "session": "s1", "realname": "Alice L", "msgid": "r", "micros": 31},
        {"t": "host", "session": "s1", "username": "~al", "host": "cloak/alice",
         "msgid": "h", "micros": 32},
        {"t": "mode", "channel": "#C", "modes": ["+bI", "x!*@*", "*!*@good"], "flags": "nt",
         "key": None, "limit": None, "held": [], "lists": lists, "msgid": "m", "micros": 33},
        {"t": "rename", "old": "#c", "new": "#d", "reason": "", "msgid": "n", "micros": 34},
        # bob's quit leaves #gone empty: it goes with him.
        {"t": "quit", "session": "s2", "nick": "bob", "reason": "", "msgid": "q",
         "micros": 35},
    ])
    snap = db.snapshot(conn, "n2", 1)
    assert snap.extra["nodes"] == {"n1": "n1.example"}
    assert snap.extra["away"] == {"s1": "lunch"}
    [alice] = snap.users
    assert (alice["realname"], alice["username"], alice["host"], alice["modes"]) == (
        "Alice L", "~al", "cloak/alice", "io")
    assert [(c["key"], c["name"], c["created"]) for c in snap.channels] == [("#d", "#d", 3)]
    assert snap.extra["lists"] == {"#d": lists}
    assert snap.members == [("#d", "s1", "o")]
    # A reaped node is announced as gone, after its users' QUITs.
    conn.execute("UPDATE network_nodes SET lease_until = 0 WHERE node_id = 'n1'")
    conn.commit()
    made = db.reap(conn, "n2", 1)
    assert [op["t"] for op in made] == ["quit", "down"] and made[-1]["node"] == "n1"
    assert db.snapshot(conn, "n2", 1).extra["nodes"] == {}

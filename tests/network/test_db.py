"""The network's tables through ``ircish.network.db`` on a real PostgreSQL (a new,
migrated database per test): epochs and fencing, claims, sequences, the snapshot."""

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
def url(postgres_url: str) -> Iterator[str]:
    with postgres.fresh_database() as fresh:
        engine = open_engine(fresh)
        migrate.upgrade(engine)
        engine.dispose()
        yield fresh


@pytest.fixture
def conn(url: str) -> Iterator[psycopg.Connection[Any]]:
    c = db.connect(url)
    yield c
    c.close()


def _user_op(session: str, nick: str) -> dict[str, Any]:
    return {"t": "user", "session": session, "nick": nick, "username": "~u", "host": "h",
            "realname": "R", "account": None, "modes": "i", "micros": 5}


def test_claims_sequences_and_the_snapshot(conn: psycopg.Connection[Any], url: str) -> None:
    epoch1, quits = db.join(conn, "n1", 10)
    epoch2, _ = db.join(conn, "n2", 10)
    assert (epoch1, epoch2, quits) == (1, 1, [])
    assert db.claim(conn, "n1", 1, "s1", "Alice", False, 1)
    # Taken, in any case, from any node.
    assert not db.claim(conn, "n2", 1, "s2", "ALICE", False, 2)
    assert db.claim(conn, "n2", 1, "s2", "bob", False, 2)
    assert db.append(conn, "n1", 1, [_user_op("s1", "Alice")]) == 1
    assert db.append(conn, "n2", 1, [_user_op("s2", "bob")]) == 1
    join = {"t": "join", "session": "s1", "channel": "#X", "held": "o", "modes": "nt",
            "micros": 7}
    rename = {"t": "nick", "session": "s1", "new": "ALICE", "msgid": "m", "micros": 8}
    assert db.append(conn, "n1", 1, [join, rename]) == 3
    # A rename of a registered user moves its key; a taken one is refused.
    assert not db.claim(conn, "n1", 1, "s1", "BOB", True, 9)
    snap = db.snapshot(conn, "n2", 1)
    assert snap.positions == {"n1": 3, "n2": 1}
    assert [(u["nick"], u["node"]) for u in snap.users] == [("ALICE", "n1")]
    assert [(c["key"], c["name"], c["flags"]) for c in snap.channels] == [("#x", "#X", "nt")]
    assert snap.members == [("#x", "s1", "o")]
    reader = db.connect(url, autocommit=True)
    try:
        positions = {"n1": 1}
        rows = db.read_new(reader, "n2", positions)
        assert [(origin, seq, op["t"]) for origin, seq, op in rows] == [
            ("n1", 2, "join"), ("n1", 3, "nick")]
        assert positions == {"n1": 3}
        assert db.read_new(reader, "n2", positions) == []
    finally:
        reader.close()


def test_a_dead_node_is_fenced_and_its_users_quit(conn: psycopg.Connection[Any]) -> None:
    db.join(conn, "n1", 10)
    db.join(conn, "n2", 10)
    assert db.claim(conn, "n1", 1, "s1", "alice", False, 1)
    db.append(conn, "n1", 1, [_user_op("s1", "alice")])
    # Nobody is dead yet.
    assert db.reap(conn, "n2", 1) == []
    with conn.transaction():
        conn.execute("UPDATE network_nodes SET lease_until = 0 WHERE node_id = 'n1'")
    quits = db.reap(conn, "n2", 1)
    assert [(q["t"], q["nick"], q["reason"]) for q in quits if q["t"] == "quit"] == [
        ("quit", "alice", "n1 left the network")]
    # Every write of the old epoch is refused, and the nick is free.
    for write in (lambda: db.renew(conn, "n1", 1, 10),
                  lambda: db.append(conn, "n1", 1, [_user_op("s1", "alice")]),
                  lambda: db.claim(conn, "n1", 1, "s3", "carol", False, 1)):
        with pytest.raises(db.Fenced):
            write()
    assert db.claim(conn, "n2", 1, "s2", "alice", False, 2)
    # n1 comes back with a new epoch.
    assert db.join(conn, "n1", 10)[0] == 3
    status = {row["node"]: row for row in db.status(conn)}
    assert status["n1"]["alive"] == 1 and status["n2"]["users"] == 0


def test_a_restarted_node_quits_what_its_last_run_left(conn: psycopg.Connection[Any]) -> None:
    db.join(conn, "n1", 10)
    db.claim(conn, "n1", 1, "s1", "alice", False, 1)
    db.append(conn, "n1", 1, [_user_op("s1", "alice")])
    db.claim(conn, "n1", 1, "s9", "half", False, 1)  # claimed, never registered
    epoch, quits = db.join(conn, "n1", 10)
    assert epoch == 2
    assert [(q["t"], q.get("nick")) for q in quits] == [("quit", "alice"), ("release", None)]
    with pytest.raises(db.Fenced):
        db.renew(conn, "n1", 1, 10)
    assert db.claim(conn, "n1", 2, "s2", "alice", False, 3)

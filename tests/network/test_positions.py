"""Published positions, the replication lag they give, and the pruning they bound, on a
real PostgreSQL (``ircish.network.positions``; a new, migrated database per test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from ircish.network import db, positions
from tests.network.test_db import url  # noqa: F401  (the fixture)

Conn = psycopg.Connection[Any]


@pytest.fixture
def conn(url: str) -> Iterator[Conn]:  # noqa: F811
    c = db.connect(url, autocommit=True)
    yield c
    c.close()


def _messages(conn: Conn, node: str, epoch: int, count: int) -> None:
    db.append(conn, node, epoch, [{"t": "privmsg", "n": i} for i in range(count)])


def _seqs(conn: Conn, origin: str) -> list[int]:
    rows = conn.execute("SELECT seq FROM network_events WHERE origin = %s ORDER BY seq",
                        (origin,)).fetchall()
    return [int(r[0]) for r in rows]


def _three(conn: Conn) -> int:
    epoch, _ = db.join(conn, "n1", 10)
    db.join(conn, "n2", 10)
    db.join(conn, "n3", 10)
    _messages(conn, "n1", epoch, 10)
    return epoch


def test_only_what_every_live_node_applied_and_the_retention_passed_goes(conn: Conn) -> None:
    _three(conn)
    # n3 has not reported a position for n1: nothing of n1's goes.
    positions.publish(conn, "n2", {"n1": 10})
    assert positions.prune(conn, 0) == 0 and _seqs(conn, "n1") == list(range(1, 11))
    positions.publish(conn, "n3", {"n1": 4})
    # Every live node applied 1..4, but they are younger than the retention.
    assert positions.prune(conn, 3600) == 0
    assert positions.prune(conn, 0) == 4
    assert _seqs(conn, "n1") == list(range(5, 11))
    # A dead node holds nothing back (it starts from a new snapshot when it returns).
    conn.execute("UPDATE network_nodes SET alive = 0 WHERE node_id = 'n3'")
    assert positions.prune(conn, 0) == 6 and _seqs(conn, "n1") == []


def test_batches_and_one_pruner_at_a_time(conn: Conn, url: str) -> None:  # noqa: F811
    _three(conn)
    positions.publish(conn, "n2", {"n1": 10})
    positions.publish(conn, "n3", {"n1": 10})
    other = db.connect(url, autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", (positions.PRUNE_LOCK,))
        assert positions.prune(conn, 0) is None  # someone else is at it
        other.execute("SELECT pg_advisory_unlock(%s)", (positions.PRUNE_LOCK,))
    finally:
        other.close()
    # At most two batches of three rows per call; the rest the next time.
    assert positions.prune(conn, 0, batch=3, max_batches=2) == 6
    assert _seqs(conn, "n1") == [7, 8, 9, 10]
    assert positions.prune(conn, 0, batch=3, max_batches=2) == 4
    assert _seqs(conn, "n1") == []


def _rows_read(plan: dict[str, Any]) -> int:
    """Rows the scans of ``plan`` (EXPLAIN ANALYZE's JSON) read, kept or filtered out."""
    own = 0
    if "Scan" in plan["Node Type"]:
        own = (plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)) * plan["Actual Loops"]
    return own + sum(_rows_read(sub) for sub in plan.get("Plans", []))


def test_a_prune_reads_a_batch_of_rows_while_the_oldest_is_young(conn: Conn) -> None:
    """Every second, and while the oldest row is younger than the retention (an hour of
    rows by default), the prune's statement read every row up to the bound."""
    _three(conn)
    conn.execute("INSERT INTO network_events (origin, seq, epoch, payload, committed)"
                 " SELECT 'n1', 10 + g, 1, '{}', 1000 + g FROM generate_series(1, 19990) g")
    conn.execute("UPDATE network_nodes SET last_seq = 20000 WHERE node_id = 'n1'")
    conn.execute("ANALYZE network_events")
    young = 0  # committed before 0: none of them
    row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + positions.PRUNE,
                       ("n1", young, "n1", 20000, 20)).fetchone()
    assert row is not None
    assert _rows_read(row[0][0]["Plan"]) <= 3 * 20
    # And what is old enough still goes, oldest first.
    positions.publish(conn, "n2", {"n1": 20000})
    positions.publish(conn, "n3", {"n1": 20000})
    assert positions.prune(conn, 0, batch=1000, max_batches=50) == 20000
    assert _seqs(conn, "n1") == []


def test_lag_is_how_far_behind_each_node_was_when_it_reported(conn: Conn) -> None:
    epoch = _three(conn)
    positions.publish(conn, "n2", {"n1": 10})
    positions.publish(conn, "n3", {"n1": 4})
    # Committed after both reports: not part of the lag they reported.
    _messages(conn, "n1", epoch, 5)
    lags = {(lag["node"], lag["origin"]): lag for lag in positions.lag(conn)}
    assert set(lags) == {("n2", "n1"), ("n3", "n1")}
    assert (lags["n2", "n1"]["applied"], lags["n2", "n1"]["head"]) == (10, 10)
    assert lags["n2", "n1"]["behind"] == 0 and lags["n2", "n1"]["behind_s"] == 0.0
    assert (lags["n3", "n1"]["applied"], lags["n3", "n1"]["head"]) == (4, 10)
    assert lags["n3", "n1"]["behind"] == 6 and lags["n3", "n1"]["behind_s"] >= 0.0
    # A new report moves it.
    positions.publish(conn, "n3", {"n1": 15})
    lags = {(lag["node"], lag["origin"]): lag for lag in positions.lag(conn)}
    assert (lags["n3", "n1"]["applied"], lags["n3", "n1"]["behind"]) == (15, 0)

"""How far each node has applied each origin's sequence, and the pruning that follows.

Each node publishes, in ``network_positions``, the last seq of every other
origin it has read and handed to its server (``publish``). That is what the
replication lag of ``network status`` is computed from (``lag``), and what
bounds the pruning of ``network_events`` (``prune``): a row goes only when
every live node other than its origin has applied it and it is older than the
retention. A node that joins starts from the snapshot's positions and never
reads older rows, and a dead node starts from a new snapshot when it comes
back, so only live nodes hold rows back. A live node with no published
position for an origin holds back all of that origin's rows.

psycopg only: these run in the network worker (``ircish.network.upkeep``) and
in ``ircish-server network status``, never in the server process.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ircish.network.db import NOW

# pg_try_advisory_lock key of the one node that prunes at a time ("ircprn").
PRUNE_LOCK = 0x697263707276
PRUNE_BATCH = 1000
# Of one origin's oldest rows up to a bound (a batch of them), those committed before
# a time; ``prune`` says why it is written so.
PRUNE = ("DELETE FROM network_events WHERE origin = %s AND committed < %s"
         " AND seq IN (SELECT seq FROM network_events WHERE origin = %s"
         "  AND seq <= %s ORDER BY seq LIMIT %s)")


def publish(conn: psycopg.Connection[Any], node: str, positions: dict[str, int]) -> None:
    """Record ``positions`` (origin -> last seq applied) as this node's, with the time."""
    if not positions:
        return
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO network_positions (node_id, origin, seq, updated)"
            f" VALUES (%s, %s, %s, {NOW}) ON CONFLICT (node_id, origin) DO UPDATE"
            " SET seq = EXCLUDED.seq, updated = EXCLUDED.updated",
            [(node, origin, seq) for origin, seq in sorted(positions.items())])


def lag(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Per (reader, origin): the reader's applied seq when it last reported, the
    origin's head at that moment, how many events behind that was, how old the
    oldest of them was then, and how old the report is. Seconds are the
    database's clock."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT p.node_id, p.origin, p.seq, p.updated,"
            f" ({NOW} - p.updated) / 1000000.0,"
            # The head when the report was made: the last seq committed by then
            # (seqs of one origin are committed in order, and so are their times).
            " COALESCE((SELECT e.seq FROM network_events e WHERE e.origin = p.origin"
            "   AND e.committed <= p.updated ORDER BY e.seq DESC LIMIT 1), p.seq),"
            " (SELECT (p.updated - e.committed) / 1000000.0 FROM network_events e"
            "   WHERE e.origin = p.origin AND e.seq = p.seq + 1 AND e.committed <= p.updated)"
            " FROM network_positions p JOIN network_nodes n ON n.node_id = p.node_id"
            " WHERE p.origin <> p.node_id ORDER BY p.node_id, p.origin")
        rows = []
        for reader, origin, seq, _updated, age, head, oldest in cur.fetchall():
            head = max(int(head), int(seq))
            rows.append({"node": reader, "origin": origin, "applied": int(seq),
                         "head": head, "behind": head - int(seq),
                         "behind_s": float(oldest) if oldest is not None else 0.0,
                         "report_age_s": float(age)})
        return rows


def prune_bounds(cur: psycopg.Cursor[Any]) -> dict[str, int]:
    """origin -> the highest seq every live node other than the origin has applied
    (0 where a live node has no position for it)."""
    cur.execute(
        f"SELECT o.node_id, o.last_seq, (SELECT min(COALESCE(p.seq, 0)) FROM network_nodes r"
        "   LEFT JOIN network_positions p ON p.node_id = r.node_id AND p.origin = o.node_id"
        f"   WHERE r.node_id <> o.node_id AND r.alive = 1 AND r.lease_until > {NOW})"
        " FROM network_nodes o ORDER BY o.node_id")
    bounds = {}
    for origin, last_seq, applied in cur.fetchall():
        # Nobody else live: a node that joins later starts from the snapshot.
        bounds[origin] = int(last_seq) if applied is None else min(int(applied), int(last_seq))
    return bounds


def prune(conn: psycopg.Connection[Any], retention_s: int, batch: int = PRUNE_BATCH,
          max_batches: int = 50) -> int | None:
    """Delete events every live node has applied and older than ``retention_s``, in
    batches of ``batch`` rows, each its own short transaction; ``None`` if another
    node holds the prune lock. At most ``max_batches`` per call (the rest next time).
    ``conn`` must be in autocommit mode (the lock is the session's)."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (PRUNE_LOCK,))
        row = cur.fetchone()
        if row is None or not row[0]:
            return None
        deleted = 0
        try:
            bounds = prune_bounds(cur)
            cur.execute(f"SELECT {NOW} - %s", (retention_s * 1_000_000,))
            cutoff = cur.fetchone()
            assert cutoff is not None
            batches = 0
            for origin, bound in bounds.items():
                while batches < max_batches:
                    batches += 1
                    with conn.transaction():
                        # The oldest ``batch`` rows that every live node has applied, and
                        # of those the ones past the retention: one origin's rows are
                        # committed in seq order, so its oldest rows come first. Asking
                        # for rows past the retention in the subquery instead scanned
                        # every row up to the bound while the oldest was still young
                        # (94 ms a call for 200,000 rows, every second, growing with the
                        # retention's worth of rows: RESULTS.md section 20).
                        cur.execute(PRUNE, (origin, cutoff[0], origin, bound, batch))
                        count = cur.rowcount
                    deleted += count
                    if count < batch:
                        break
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", (PRUNE_LOCK,))
        return deleted

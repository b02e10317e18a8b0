"""The network worker's upkeep: publish this node's positions, prune the event table, merge
the search index's pending entries.

A task of the network worker with a connection of its own (autocommit), so
neither the writer's commits nor the listener's reads wait for it: every
``EVERY_S`` it records how far this node has read each origin
(``positions.publish``), if no other node is at it deletes what every
live node has applied and the retention has passed (``positions.prune``, in
short batches), and merges the search index's pending entries
(``search_index.merge``). A database fault here is logged and tried again next time:
nothing depends on it but the status and the table's size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
import trio

from ircish.network import db, positions, search_index

log = logging.getLogger("ircish.network.worker")

EVERY_S = 1.0


async def run(url: str, node: str, applied: Callable[[], dict[str, int]], retention_s: int,
              every_s: float = EVERY_S) -> None:
    """``applied()`` is the worker's current position per origin (a copy)."""
    conn: psycopg.Connection[Any] | None = None
    merging = True
    try:
        while True:
            try:
                if conn is None or conn.closed or conn.broken:
                    conn = await trio.to_thread.run_sync(
                        db.connect, url, True, f"ircish-network {node} upkeep")
                await trio.to_thread.run_sync(positions.publish, conn, node, applied())
                deleted = await trio.to_thread.run_sync(positions.prune, conn, retention_s)
                if deleted:
                    log.info("node %s pruned %d network events", node, deleted)
                if merging:
                    merging = await _merge(conn, node)
            except psycopg.Error as exc:
                log.warning("node %s: upkeep failed (tried again in %.0f s): %s", node,
                            every_s, exc)
                if conn is not None and not conn.closed:
                    await trio.to_thread.run_sync(conn.close)
                conn = None
            await trio.sleep(every_s)
    finally:
        if conn is not None:
            conn.close()


async def _merge(conn: psycopg.Connection[Any], node: str) -> bool:
    """``search_index.merge``; False when the database says this role may not (it is
    then left to the commits, as before, and said once)."""
    try:
        await trio.to_thread.run_sync(search_index.merge, conn)
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable) as exc:
        log.warning("node %s: cannot merge the search index's pending entries (%s);"
                    " the commits will", node, db.reason(exc))
        return False
    return True

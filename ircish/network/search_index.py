"""The search index's pending entries, merged every second by the upkeep, not by a commit.

``ix_history_search_places`` (GIN, revision 0013) takes a new line's entries into
its pending list; whichever insert finds that list past ``gin_pending_list_limit``
(4 MB by default, some 35,000 lines) merges all of it into the index itself,
inside that insert: on a network node, in the commit of one batch, which then
held that node's deliveries back for 130 ms and more (RESULTS.md section 20). The
network worker's upkeep merges it about every second instead
(``gin_clean_pending_list``, on its own connection, one node at a time), so no
commit finds the list full and SEARCH reads a short one. The work is the same.

psycopg only: the network worker's upkeep (``ircish.network.upkeep``).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

log = logging.getLogger("ircish.network.worker")

INDEX = "ix_history_search_places"  # ``ircish.store.search.PG_INDEX``
# pg_try_advisory_lock key of the one node that merges at a time ("ircgnn").
LOCK = 0x697263676E6E


def merge(conn: psycopg.Connection[Any]) -> int | None:
    """Merge the index's pending list; the pages it took, None if another node is at
    it. ``conn`` must be in autocommit mode (the lock is the session's). Raises
    what the database says when it may not (``psycopg.Error``)."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (LOCK,))
        row = cur.fetchone()
        if row is None or not row[0]:
            return None
        try:
            cur.execute("SELECT gin_clean_pending_list(%s::regclass)", (INDEX,))
            row = cur.fetchone()
            return int(row[0]) if row is not None else 0
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))

"""History rows stored by the network worker, in the transaction of the node's events.

On a network node the history worker does not store the lines that the other
nodes replay (messages, joins, parts, kicks, quits, nicks, topics) nor the
REDACTs that delete them: the server hands those events to the network worker
(``NetworkClient.submit_history``), which stores their rows here, with psycopg,
in the same transaction that appends the batch's operations to the node's
sequence. A line is then in history exactly when the other nodes can get it,
and a node killed mid-batch has written neither. Its rows are the history
writer's (``ircish.store.rows.to_batch``: same msgid, time, keys, tags), so
CHATHISTORY, search (PostgreSQL computes ``search_vector`` itself, a generated
column), retention and read markers read them as any other. A RENAME, which
moves a channel's stored lines, and the channel's stored state are written here
too, in the same order as the lines (``channel_rows``).
"""

from __future__ import annotations

import logging
from operator import itemgetter
from typing import Any

import psycopg

from ircish.history import codec
from ircish.network import channel_rows
from ircish.network.db import COPY_FROM, REFUSED, reason
from ircish.store.rows import Batch, to_batch

log = logging.getLogger("ircish.network.worker")

# ``ircish.store.schema.history`` without ``id``, in ``rows._row``'s order (a test keeps
# the two the same); written out here so the worker never imports SQLAlchemy.
COLUMNS = ("target_key", "msgid", "time", "kind", "source", "account", "target", "param",
           "text", "tags", "sender_key", "recipient_key", "recipient_account",
           "sender_session", "recipient_session")
_NAMES = ", ".join(COLUMNS)
# A row's values in COLUMNS' order: half the cost of a comprehension per row.
_values = itemgetter(*COLUMNS)
# The rows are COPYed into a temporary table of this connection, then inserted from
# it in their order (CHATHISTORY orders equal times by id): COPY cannot skip the
# rows already stored, and a batch written again (its COMMIT's answer was lost) must.
TEMP = ("CREATE TEMP TABLE IF NOT EXISTS history_in (n bigint, " + ", ".join(
    f"{c} {'bigint' if c == 'time' else 'text'}" for c in COLUMNS) + ") ON COMMIT DELETE ROWS")
COPY = f"COPY history_in (n, {_NAMES}) FROM STDIN"
INSERT_ROWS = (f"INSERT INTO history ({_NAMES}) VALUES ({', '.join('%s' for _ in COLUMNS)})"
               " ON CONFLICT (target_key, msgid) DO NOTHING")
INSERT = (f"INSERT INTO history ({_NAMES}) SELECT {_NAMES} FROM history_in ORDER BY n"
          " ON CONFLICT (target_key, msgid) DO NOTHING")
# Several nodes may write one conversation: the row is upserted, never read first.
UPSERT_CONVERSATION = (
    "INSERT INTO conversations (key, a_key, b_key, a_name, b_name, last_time)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET"
    " a_name = EXCLUDED.a_name, b_name = EXCLUDED.b_name,"
    " last_time = GREATEST(conversations.last_time, EXCLUDED.last_time)")
DELETE = "DELETE FROM history WHERE target_key = %s AND msgid = %s"


def batch_of(encoded: codec.Encoded) -> Batch:
    return to_batch(codec.decode(encoded))


def store(cur: psycopg.Cursor[Any], batch: Batch) -> int:
    """Write ``batch``'s rows in the cursor's transaction; the count of history rows."""
    # In the history writer's order: renames first (the batch's own rows are re-keyed
    # already), the channels' states after the lines.
    for rename in batch.renames:
        channel_rows.rename(cur, rename)
    if 0 < len(batch.history) < COPY_FROM:
        cur.executemany(INSERT_ROWS, [_values(row) for row in batch.history])
    elif batch.history:
        # Every time: a transaction rolled back takes the table's creation with it.
        cur.execute(TEMP)
        with cur.copy(COPY) as copy:
            for n, row in enumerate(batch.history):
                copy.write_row((n, *_values(row)))
        cur.execute(INSERT)
    if batch.conversations:
        cur.executemany(UPSERT_CONVERSATION, [
            (c.key, c.a_key, c.b_key, c.a_name, c.b_name, c.last_time)
            for c in batch.conversations.values()])
    for key, state in batch.channel_states.items():
        channel_rows.store_state(cur, key, state)
    if batch.redactions:
        cur.executemany(DELETE, batch.redactions)
    return len(batch.history)


class Careful:
    """A batch's history rows for ``db.append``: ``whole`` at first; once the database
    has refused the batch, ``each`` (with ``append(careful=True)``) writes them event by
    event, each under a savepoint, as the history writer's ``_write_one_by_one`` does:
    an event whose rows are refused is logged and dropped, the others are stored."""

    def __init__(self, encoded: codec.Encoded, node: str = "") -> None:
        self.encoded = encoded
        self.node = node

    def whole(self, cur: psycopg.Cursor[Any]) -> int:
        return store(cur, batch_of(self.encoded))

    def each(self, cur: psycopg.Cursor[Any]) -> int:
        rows = 0
        for ev in codec.decode(self.encoded):
            try:
                with cur.connection.transaction():
                    rows += store(cur, to_batch([ev]))
            except REFUSED as exc:
                what = getattr(ev, "command", None) or type(ev).__name__
                target = getattr(ev, "target", None) or getattr(ev, "channel", None) or "-"
                log.error("node %s: the database refused the history of a %s to %r,"
                          " dropped: %s", self.node, what, str(target)[:60], reason(exc))
        return rows

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
from dataclasses import fields
from typing import Any

import psycopg

from ircish.core.events import MessageEvent
from ircish.core.multiline import with_offsets
from ircish.history import codec
from ircish.network import channel_rows
from ircish.network.db import (
    HISTORY_COLUMNS,
    INSERT_HISTORY,
    REFUSED,
    UPSERT_CONVERSATIONS,
    Inline,
    dumps,
    reason,
)
from ircish.store.keys import channel_key
from ircish.store.rows import Batch, Row, tags_json, to_batch

log = logging.getLogger("ircish.network.worker")

DELETE = "DELETE FROM history WHERE target_key = %s AND msgid = %s"


def batch_of(encoded: codec.Encoded) -> Batch:
    return to_batch(codec.decode(encoded))


def _json(rows: list[Row]) -> str:
    # A column left out is NULL (``json_to_recordset``): a channel line's row has
    # nine values of fifteen, and the JSON the database parses is that much shorter.
    return dumps([{k: v for k, v in row.items() if v is not None} for row in rows])


def _conversations(batch: Batch) -> str:
    return dumps([{"key": c.key, "a_key": c.a_key, "b_key": c.b_key, "a_name": c.a_name,
                   "b_name": c.b_name, "last_time": c.last_time}
                  for c in batch.conversations.values()])


_MESSAGE = codec.code_of(MessageEvent)
# A MessageEvent's field positions in its tuple (``codec``).
_AT = {f.name: i for i, f in enumerate(fields(MessageEvent))}
(_MSGID, _MICROS, _COMMAND, _SOURCE, _ACCOUNT, _TARGET, _IS_CHANNEL, _TEXT, _TAGS,
 _CONCAT) = (_AT[name] for name in ("msgid", "micros", "command", "source", "account",
                                    "target", "is_channel", "text", "tags", "concat"))


def channel_lines(encoded: codec.Encoded) -> dict[str, list[Any]] | None:
    """A batch of channel messages only (the bulk of the traffic) as the columns of its
    ``to_batch`` rows (``db.Inline``), made from the tuples themselves: the events are
    not rebuilt as dataclasses and their rows as dicts of every column first
    (RESULTS.md section 20); None for any other batch.
    ``tests/network/test_history_rows.py`` keeps the two the same."""
    keys: list[str] = []
    msgids: list[str] = []
    times: list[int] = []
    kinds: list[str] = []
    sources: list[str] = []
    targets: list[str] = []
    texts: list[str] = []
    accounts: list[str | None] = []
    tags_column: list[str | None] = []
    key_of: dict[str, str] = {}  # a batch's lines are mostly to a few channels
    for code, v in encoded:
        if code != _MESSAGE or not v[_IS_CHANNEL]:
            return None
        target = v[_TARGET]
        key = key_of.get(target)
        if key is None:
            key = key_of[target] = channel_key(target)
        keys.append(key)
        msgids.append(v[_MSGID])
        times.append(v[_MICROS])
        kinds.append(v[_COMMAND])
        sources.append(v[_SOURCE])
        targets.append(target)
        texts.append(v[_TEXT])
        accounts.append(v[_ACCOUNT])
        tags, concat = v[_TAGS], v[_CONCAT]
        tags_column.append(tags_json(with_offsets(tags, concat) if concat else tags)
                           if tags or concat else None)
    columns: dict[str, list[Any]] = {"target_key": keys, "msgid": msgids, "time": times,
                                     "kind": kinds, "source": sources, "target": targets,
                                     "text": texts}
    # A column of NULLs only is left out (NULL all the same: ``db.Inline``).
    if any(a is not None for a in accounts):
        columns["account"] = accounts
    if any(t is not None for t in tags_column):
        columns["tags"] = tags_column
    return columns


def columns(rows: list[Row]) -> dict[str, list[Any]]:
    """``to_batch``'s rows as ``db.Inline`` columns (one of NULLs only left out)."""
    out: dict[str, list[Any]] = {}
    for name in HISTORY_COLUMNS:
        values = [row.get(name) for row in rows]
        if any(v is not None for v in values):
            out[name] = values
    return out


def inline(batch: Batch) -> Inline | None:
    """The batch for ``db.append``'s one statement, when it is rows and conversations
    only (nearly every batch); None when it renames, stores a channel's state or
    deletes a line (their statements run in order, ``store``)."""
    if batch.renames or batch.channel_states or batch.redactions:
        return None
    return Inline(columns(batch.history),
                  _conversations(batch) if batch.conversations else "[]")


def store(cur: psycopg.Cursor[Any], batch: Batch) -> int:
    """Write ``batch``'s rows in the cursor's transaction; the count of history rows."""
    # In the history writer's order: renames first (the batch's own rows are re-keyed
    # already), the channels' states after the lines.
    for rename in batch.renames:
        channel_rows.rename(cur, rename)
    if batch.history:
        # One statement whatever the count (an INSERT executed per row started its
        # executor, with the generated search_vector, every time).
        cur.execute(INSERT_HISTORY, (_json(batch.history),))
    if batch.conversations:
        cur.execute(UPSERT_CONVERSATIONS, (_conversations(batch),))
    for key, state in batch.channel_states.items():
        channel_rows.store_state(cur, key, state)
    if batch.redactions:
        cur.executemany(DELETE, batch.redactions)
    return len(batch.history)


class Careful:
    """A batch's history rows for ``db.append``: ``whole`` at first (or ``inline``, the
    same rows as columns for the one-statement commit); once the database has refused
    the batch, ``each`` (with ``append(careful=True)``) writes them event by event,
    each under a savepoint, as the history writer's ``_write_one_by_one`` does: an
    event whose rows are refused is logged and dropped, the others are stored."""

    def __init__(self, encoded: codec.Encoded, node: str = "") -> None:
        self.encoded = encoded
        self.node = node
        self._batch: Batch | None = None

    def batch(self) -> Batch:
        if self._batch is None:
            self._batch = batch_of(self.encoded)
        return self._batch

    def inline(self) -> Inline | None:
        lines = channel_lines(self.encoded)
        return Inline(lines) if lines is not None else inline(self.batch())

    def whole(self, cur: psycopg.Cursor[Any]) -> int:
        return store(cur, self.batch())

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

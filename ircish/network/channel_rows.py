"""RENAME and channel state stored by the network worker, in the commit of the node's events.

On a network node a channel's lines are stored by the network worker
(``ircish.network.history``); a RENAME moves the lines stored under the old
key, so it is stored by the same worker, in the same order: a line said
before the rename is in an earlier commit (or earlier in the same one, where
``rows.to_batch`` has already re-keyed it), a line said after it is written
under the new key. The channel's stored state (``channels``, ``channel_bans``)
follows, since a rename drops or moves that row. The statements mean what the
history writer's do (``ircish.store.writer``: ``_rename_channel``,
``_store_channel_state``), as plain SQL so the worker never imports SQLAlchemy,
and without reading a row count, so they also run in a pipeline.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from ircish.core.events import ChannelStateEvent
from ircish.store.rows import ChannelRename

# Whatever an earlier channel of the new name left: its lines aside, the rest dropped.
_ASIDE = (
    ("UPDATE history SET target_key = %(aside)s WHERE target_key = %(new)s"),
    ("DELETE FROM read_markers WHERE target_key = %(new)s"),
    ("DELETE FROM channel_bans WHERE channel_key = %(new)s"),
    ("DELETE FROM channels WHERE key = %(new)s"),
)
_MOVE = (
    "UPDATE history SET target_key = %(new)s, target = %(name)s WHERE target_key = %(old)s",
    "UPDATE read_markers SET target_key = %(new)s WHERE target_key = %(old)s",
    "UPDATE channel_registrations SET key = %(new)s, name = %(name)s WHERE key = %(old)s",
)
# The state under the new key comes with this batch or the next one.
_DROP_OLD = (
    "DELETE FROM channel_bans WHERE channel_key = %(old)s",
    "DELETE FROM channels WHERE key = %(old)s",
)
_RENAME_ROW = "UPDATE channels SET name = %(name)s WHERE key = %(old)s"

_STATE = (
    "INSERT INTO channels (key, name, topic, topic_setter, topic_time, modes, mode_key,"
    " user_limit, updated) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, topic = EXCLUDED.topic,"
    " topic_setter = EXCLUDED.topic_setter, topic_time = EXCLUDED.topic_time,"
    " modes = EXCLUDED.modes, mode_key = EXCLUDED.mode_key,"
    " user_limit = EXCLUDED.user_limit, updated = EXCLUDED.updated")
_BANS = ("INSERT INTO channel_bans (channel_key, mask, set_by, set_at, position)"
         " VALUES (%s, %s, %s, %s, %s)")


def rename(cur: psycopg.Cursor[Any], rename: ChannelRename) -> None:
    """Move what is stored under the channel's old key to its new one."""
    params = {"old": rename.old_key, "new": rename.new_key, "name": rename.new_name,
              "aside": rename.aside}
    moved_aside = rename.aside is not None
    for statement in (*(_ASIDE if moved_aside else ()), *_MOVE,
                      *(_DROP_OLD if moved_aside else (_RENAME_ROW,))):
        cur.execute(statement, params)


def store_state(cur: psycopg.Cursor[Any], key: str, ev: ChannelStateEvent) -> None:
    """A persistent channel's whole state under ``key``; a channel no longer kept, gone."""
    cur.execute("DELETE FROM channel_bans WHERE channel_key = %s", (key,))
    if not ev.persistent:
        cur.execute("DELETE FROM channels WHERE key = %s", (key,))
        return
    cur.execute(_STATE, (key, ev.channel, ev.topic, ev.topic_setter, ev.topic_micros,
                         ev.modes, ev.key, ev.limit, time.time_ns() // 1_000))
    unique: dict[str, tuple[str, str, int]] = {}
    for mask, set_by, set_at in ev.bans:
        # A mask listed twice would break the primary key; keep the first.
        unique.setdefault(mask, (mask, set_by, set_at))
    if unique:
        cur.executemany(_BANS, [(key, mask, set_by, set_at, position) for position,
                                (mask, set_by, set_at) in enumerate(unique.values())])

"""Turning the core's event records into table rows (pure, no I/O).

The writer calls this in its worker thread, so the Trio thread only queues the
event object. A NICK or QUIT becomes one row per channel, because each
channel's history should show it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ircish.core.events import (
    ChannelStateEvent,
    Event,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    NickEvent,
    RedactEvent,
    RenameEvent,
    TopicEvent,
)
from ircish.core.multiline import with_offsets
from ircish.store.keys import channel_key, dm_key, nick_key

Row = dict[str, Any]


@dataclass(slots=True)
class Conversation:
    """The latest state of one private conversation within a batch."""

    key: str
    a_key: str
    b_key: str
    a_name: str
    b_name: str
    last_time: int


@dataclass(slots=True)
class Batch:
    history: list[Row]
    conversations: dict[str, Conversation]
    # Only the last state of each channel in a batch matters (it is complete).
    channel_states: dict[str, ChannelStateEvent]
    # (target_key, msgid) of messages REDACT removed, deleted after the inserts.
    redactions: list[tuple[str, str]] = field(default_factory=list)
    # Channel renames, in order, applied to the stored rows before the inserts
    # (the batch's own rows are renamed in memory, ``_rename``).
    renames: list[ChannelRename] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChannelRename:
    """What one RENAME changes in the database.

    ``aside`` is where rows already stored under the new key go (None when only
    the case changes): they belong to an earlier channel of that name, now gone,
    which the renamed channel's members must not read. A key holding a space is
    neither a channel's nor a conversation's (``keys``), so nothing finds them
    there; retention still ages them out.
    """

    old_key: str
    new_key: str
    new_name: str
    aside: str | None


def tags_json(tags: dict[str, str]) -> str | None:
    """The ``tags`` column's value (the network worker's rows of channel lines too)."""
    return json.dumps(tags, separators=(",", ":"), ensure_ascii=False) if tags else None


def _row(
    *,
    target_key: str,
    msgid: str,
    micros: int,
    kind: str,
    source: str,
    account: str | None,
    target: str,
    param: str | None = None,
    text: str = "",
    tags: str | None = None,
    sender_key: str | None = None,
    recipient_key: str | None = None,
    recipient_account: str | None = None,
    sender_session: str | None = None,
    recipient_session: str | None = None,
) -> Row:
    # Every row carries every column: executemany needs uniform parameter sets.
    return {
        "target_key": target_key,
        "msgid": msgid,
        "time": micros,
        "kind": kind,
        "source": source,
        "account": account,
        "target": target,
        "param": param,
        "text": text,
        "tags": tags,
        "sender_key": sender_key,
        "recipient_key": recipient_key,
        "recipient_account": recipient_account,
        "sender_session": sender_session,
        "recipient_session": recipient_session,
    }


def _message_rows(ev: MessageEvent, micros: int, batch: Batch) -> Iterator[Row]:
    common = {
        "msgid": ev.msgid,
        "micros": micros,
        "kind": ev.command,
        "source": ev.source,
        "account": ev.account,
        "target": ev.target,
        "text": ev.text,
        # A multiline message's concat offsets ride in its tags: no column for them.
        "tags": tags_json(with_offsets(ev.tags, ev.concat) if ev.concat else ev.tags),
    }
    if ev.is_channel:
        yield _row(target_key=channel_key(ev.target), **common)
        return
    sender, recipient = nick_key(ev.nick), nick_key(ev.target)
    key = dm_key(ev.nick, ev.target)
    yield _row(
        target_key=key,
        sender_key=sender,
        recipient_key=recipient,
        recipient_account=ev.recipient_account,
        sender_session=ev.session,
        recipient_session=ev.recipient_session,
        **common,
    )
    # A message to oneself is a conversation whose two parties are the same.
    (a, a_name), (b, b_name) = sorted(((sender, ev.nick), (recipient, ev.target)))
    batch.conversations[key] = Conversation(key, a, b, a_name, b_name, micros)


def to_batch(events: Iterable[Event]) -> Batch:
    batch = Batch(history=[], conversations={}, channel_states={})
    rows = batch.history
    for ev in events:
        if isinstance(ev, MessageEvent):
            rows.extend(_message_rows(ev, ev.micros, batch))
        elif isinstance(ev, JoinEvent):
            rows.append(
                _row(
                    target_key=channel_key(ev.channel),
                    msgid=ev.msgid,
                    micros=ev.micros,
                    kind="JOIN",
                    source=ev.source,
                    account=ev.account,
                    target=ev.channel,
                    # For extended-join on replay (``core.chathistory.encode_line``).
                    text=ev.realname,
                )
            )
        elif isinstance(ev, LeaveEvent):
            kick = ev.kind == "kick"
            rows.append(
                _row(
                    target_key=channel_key(ev.channel),
                    msgid=ev.msgid,
                    micros=ev.micros,
                    kind=ev.kind.upper(),
                    # A KICK line comes from the kicker and names the one kicked.
                    source=(ev.by or ev.source) if kick else ev.source,
                    account=None,
                    target=ev.channel,
                    param=ev.nick if kick else None,
                    text=ev.reason,
                )
            )
        elif isinstance(ev, NickEvent):
            micros = ev.micros
            for chan in ev.channels:
                rows.append(
                    _row(
                        target_key=channel_key(chan),
                        msgid=ev.msgid,
                        micros=micros,
                        kind="NICK",
                        source=ev.source,
                        account=None,
                        target=chan,
                        param=ev.new,
                    )
                )
        elif isinstance(ev, TopicEvent):
            rows.append(
                _row(
                    target_key=channel_key(ev.channel),
                    msgid=ev.msgid,
                    micros=ev.micros,
                    kind="TOPIC",
                    source=ev.source,
                    account=None,
                    target=ev.channel,
                    text=ev.topic,
                )
            )
        elif isinstance(ev, ChannelStateEvent):
            batch.channel_states[channel_key(ev.channel)] = ev
        elif isinstance(ev, RedactEvent):
            key = channel_key(ev.target) if ev.is_channel else dm_key(ev.peer, ev.target)
            batch.redactions.append((key, ev.redacted))
        elif isinstance(ev, RenameEvent):
            _rename(batch, ev)
    return batch


def _rename(batch: Batch, ev: RenameEvent) -> None:
    """The batch so far as if its rows had been stored before the rename."""
    old, new = channel_key(ev.old), channel_key(ev.new)
    aside = None if old == new else f"{new} {ev.micros}"
    for row in batch.history:
        key = row["target_key"]
        if key == old:
            row["target_key"] = new
            row["target"] = ev.new
        elif key == new and aside is not None:
            row["target_key"] = aside
    batch.redactions = [
        (new if key == old else aside if key == new and aside is not None else key, msgid)
        for key, msgid in batch.redactions
    ]
    # The channels row is re-keyed by dropping the old one: the state that
    # follows (this one, or the server's next) is written under the new key.
    if aside is not None:
        batch.channel_states.pop(new, None)
    state = batch.channel_states.pop(old, None)
    if state is not None:
        batch.channel_states[new] = replace(state, channel=ev.new)
    batch.renames.append(ChannelRename(old, new, ev.new, aside))

"""RENAME in the database: what was kept under a channel's old name moves to the new one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from ircish.accounts.records import OK, AccountRequest
from ircish.core.chathistory import Viewer
from ircish.core.events import RenameEvent, micros_of
from ircish.store.accounts import answer_in_transaction as ask
from ircish.store.queries import load_channels
from ircish.store.reader import HistoryReader
from ircish.store.rows import to_batch
from ircish.store.schema import history
from ircish.store.writer import HistoryWriter

from .helpers import Reads, chan_state, msg

VIEWER = Viewer("someone")


def renamed(old: str, new: str) -> RenameEvent:
    return RenameEvent("r1", micros_of(datetime.now(UTC)), "op!op@host", "op", old, new, "why")


def texts(found: list) -> list[str]:
    return [r.text for r in found]


@pytest.mark.parametrize("one_batch", [True, False], ids=["one batch", "stored first"])
async def test_history_state_registration_and_markers_follow(engine: Engine,
                                                             one_batch: bool) -> None:
    assert ask(engine, AccountRequest("create", ("alice", 1, None, None, None, None))) == OK
    assert ask(engine, AccountRequest(
        "channel_register", ("#Old", "alice", 5, "alice!u@h", 20))) == OK
    assert ask(engine, AccountRequest("read_marker_set", ("alice", "#old", 2_000))) == 2_000
    # An earlier, gone channel of the new name left a line and a marker.
    assert ask(engine, AccountRequest("read_marker_set", ("alice", "#new", 9_000))) == 9_000
    writer = HistoryWriter(engine)
    for event in (msg("gone channel's", target="#new"), msg("one", target="#Old"),
                  msg("two", target="#old"), chan_state("#Old", topic="kept")):
        writer.submit(event)
    if not one_batch:
        assert await writer.flush()
    writer.submit(renamed("#Old", "#New"))
    writer.submit(chan_state("#New", topic="kept"))
    writer.submit(msg("three", target="#New"))
    assert await writer.flush()

    reads = Reads(HistoryReader(engine))
    found = await reads.latest("#new", VIEWER, 10)
    assert texts(found) == ["one", "two", "three"]
    assert {r.target for r in found} == {"#New"}
    assert await reads.latest("#old", VIEWER, 10) == []
    with engine.connect() as conn:
        states = load_channels(conn)
        aside = conn.execute(select(history.c.target_key).where(
            history.c.text == "gone channel's")).scalar_one()
    assert [(s.name, s.topic, s.founder) for s in states] == [("#New", "kept", "alice")]
    assert [b.mask for b in states[0].bans] == ["*!*@bad", "x!*@*"]
    # Kept, but under no channel's key: the renamed channel's members never read it.
    assert aside.startswith("#new ")
    assert [r.channel for r in ask(engine, AccountRequest("channel_list"))] == ["#New"]
    # The renamed channel's marker, not the gone one's.
    assert ask(engine, AccountRequest("read_markers", ("alice",))) == (("#new", 2_000),)


async def test_a_case_change_keeps_the_key_and_shows_the_new_case(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    writer.submit(msg("said", target="#room"))
    assert await writer.flush()
    writer.submit(renamed("#room", "#Room"))
    writer.submit(msg("after", target="#Room"))
    assert await writer.flush()
    found = await Reads(HistoryReader(engine)).latest("#ROOM", VIEWER, 10)
    assert [(r.target, r.text) for r in found] == [("#Room", "said"), ("#Room", "after")]


async def test_renamed_away_and_back_and_redactions_follow(engine: Engine) -> None:
    writer = HistoryWriter(engine)
    first = msg("first", target="#a")
    writer.submit(first)
    writer.submit(msg("second", target="#a"))
    writer.submit(renamed("#a", "#b"))
    writer.submit(msg("in b", target="#b"))
    writer.submit(renamed("#b", "#a"))
    assert await writer.flush()
    reads = Reads(HistoryReader(engine))
    assert texts(await reads.latest("#a", VIEWER, 10)) == ["first", "second", "in b"]
    assert await reads.latest("#b", VIEWER, 10) == []


def test_a_redaction_before_the_rename_in_the_same_batch_is_keyed_anew() -> None:
    from ircish.core.events import RedactEvent

    said = msg("oops", target="#a")
    redact = RedactEvent("x1", said.micros + 1, said.source, said.nick, "#a", True, said.msgid)
    batch = to_batch([said, redact, renamed("#a", "#b")])
    assert [row["target_key"] for row in batch.history] == ["#b"]
    assert batch.redactions == [("#b", said.msgid)]
    # A channel state of the old name, in the batch, is written under the new one.
    batch = to_batch([chan_state("#a"), renamed("#a", "#b")])
    assert list(batch.channel_states) == ["#b"]
    assert batch.channel_states["#b"] == replace(chan_state("#a"), channel="#b")

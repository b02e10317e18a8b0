"""The store's side of a plugin's "seen": NICK and ACCOUNT requests over channels.

The statement is built once and its values bound at each call (``queries.
_recent_matching``), so one test asks many channels with different values in a
row: a value left over from the previous call would show here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ircish.core.chathistory import PLAYBACK_KINDS, HistoryRequest, Ref, Viewer
from ircish.core.events import LeaveEvent
from ircish.core.events import micros_of as to_micros
from ircish.store.reader import HistoryReader
from ircish.store.writer import HistoryWriter

from .helpers import at, join, msg, tref

NOW = tref(to_micros(at(10_000)))


def nick_request(target: str, pattern: str, *, window: int = 100, limit: int = 4,
                 since: int | None = None, kinds: frozenset[str] = PLAYBACK_KINDS,
                 ref: Ref = NOW) -> HistoryRequest:
    return HistoryRequest("NICK", target, (ref,), limit, kinds, since, window=window,
                          nick_like=pattern)


async def stored(engine: Engine) -> HistoryReader:
    writer = HistoryWriter(engine)
    # #a: alice speaks at 10..50 µs, then 20 lines of bob; #b: alice kicked, by carol.
    for i in range(5):
        writer.submit(msg(f"a{i}", target="#a", nick="Alice", when=at(10 + i * 10),
                          account="AliceAcct"))
    for i in range(20):
        writer.submit(msg(f"b{i}", target="#a", nick="bob", when=at(100 + i)))
    writer.submit(join("alice", "#b", when=at(200)))
    writer.submit(LeaveEvent(msgid="k1", micros=to_micros(at(300)), source="alice!a@h",
                             nick="alice", channel="#b", kind="kick", reason="out",
                             by="carol!c@h"))
    writer.submit(msg("later", target="#b", nick="carol", when=at(400)))
    assert await writer.flush()
    return HistoryReader(engine)


async def test_a_nick_is_found_within_the_window_only(engine: Engine) -> None:
    reader = await stored(engine)
    wide, narrow, none, kicked, nobody = await reader.ask(
        nick_request("#A", "ALICE"),  # any case of the channel and of the nick
        nick_request("#a", "alice", window=20),  # the last 20 lines are bob's
        nick_request("#a", "dave"),
        nick_request("#b", "alice"),
        nick_request("#nowhere", "alice"),
    )
    # The newest ``limit`` of alice's, oldest first.
    assert [r.text for r in wide] == ["a1", "a2", "a3", "a4"]
    assert narrow == [] and none == [] and nobody == []
    # In #b: her JOIN, and the KICK that names her (its source is carol's).
    assert [(r.kind, r.source) for r in kicked] == [("JOIN", "alice!alice@host"),
                                                    ("KICK", "carol!c@h")]


async def test_before_since_kinds_and_limit_are_each_calls_own(engine: Engine) -> None:
    reader = await stored(engine)
    before, since, only_join, one = await reader.ask(
        nick_request("#a", "alice", ref=tref(to_micros(at(35)))),
        nick_request("#a", "alice", since=to_micros(at(40))),
        nick_request("#b", "alice", kinds=frozenset({"JOIN"})),
        nick_request("#a", "alice", limit=1),
    )
    assert [r.text for r in before] == ["a0", "a1", "a2"]
    assert [r.text for r in since] == ["a3", "a4"]
    assert [r.kind for r in only_join] == ["JOIN"]
    assert [r.text for r in one] == ["a4"]


async def test_a_private_target_has_no_channel_lines(engine: Engine) -> None:
    reader = await stored(engine)
    (found,) = await reader.ask(
        HistoryRequest("NICK", "bob", (NOW,), 4, PLAYBACK_KINDS, None, Viewer("bob"),
                       window=100, nick_like="alice"))
    assert found == []


async def test_an_account_is_found_in_any_case(engine: Engine) -> None:
    reader = await stored(engine)
    found, other = await reader.ask(
        HistoryRequest("ACCOUNT", "#a", (NOW,), 2, PLAYBACK_KINDS, None, window=100,
                       account="aliceacct"),
        HistoryRequest("ACCOUNT", "#a", (NOW,), 2, PLAYBACK_KINDS, None, window=100,
                       account="bobacct"),
    )
    assert [r.text for r in found] == ["a3", "a4"]
    assert other == []


async def test_a_msgid_position_is_refused_by_name(engine: Engine) -> None:
    reader = await stored(engine)
    with pytest.raises(ValueError, match="NICK needs a timestamp"):
        await reader.ask(nick_request("#a", "alice", ref=("msgid", "k1")))

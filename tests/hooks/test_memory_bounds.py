"""The plugin layer's memory history stays bounded however many nicks and channels
come and go (a 60-second soak with the shipped plugins once left ~75 MB behind)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ircish.core import events
from ircish.core.events import micros_of
from ircish.hooks.history import (
    MAX_GONE_WITH_STORE,
    PLACES_PER_NICK,
    SEEN_PER_PLACE,
    MemoryHistory,
)
from ircish.protocol.casemap import casefold
from tests.hooks.conftest import wait_until

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Visits:
    """Feeds a MemoryHistory what a client's visit causes; knows which channels exist."""

    def __init__(self, **options: Any) -> None:
        self.live: set[str] = set()
        self.memory = MemoryHistory(self.live.__contains__, **options)
        self.n = 0

    def t(self) -> int:
        self.n += 1
        return micros_of(T0 + timedelta(seconds=self.n))

    def join(self, nick: str, channel: str) -> None:
        self.live.add(casefold(channel))
        self.memory.record(events.JoinEvent(f"m{self.n}", self.t(), f"{nick}!u@h", nick, None,
                                            channel))

    def say(self, nick: str, channel: str, text: str) -> None:
        self.memory.record(events.MessageEvent(f"m{self.n}", self.t(), "PRIVMSG", f"{nick}!u@h",
                                               nick, None, channel, True, text))

    def leave(self, nick: str, channel: str, last: bool, kind: str = "part") -> None:
        if last:
            self.live.discard(casefold(channel))
        self.memory.record(events.LeaveEvent(f"m{self.n}", self.t(), f"{nick}!u@h", nick,
                                             channel, kind, "bye"))  # type: ignore[arg-type]

    def connect(self, nick: str) -> None:
        self.memory.record(events.WelcomeEvent(self.t(), f"{nick}!u@h", nick, None, False))

    def rename(self, old: str, new: str, channels: tuple[str, ...]) -> None:
        self.memory.record(events.NickEvent(f"m{self.n}", self.t(), f"{old}!u@h", old, new,
                                            channels))

    def quit(self, nick: str, channels: dict[str, bool]) -> None:
        for channel, last in channels.items():
            self.leave(nick, channel, last, "quit")
        self.memory.record(events.DisconnectEvent(self.t(), f"{nick}!u@h", nick, "done"))

    def visit(self, i: int) -> None:
        """What one soak client does: connect, two channels, talk, rename, quit."""
        own = f"#own{i}"
        self.connect(f"n{i}")
        self.join(f"n{i}", own)
        self.join(f"n{i}", "#stays")
        for j in range(5):
            self.say(f"n{i}", own, f"own {i} {j}")
            self.say(f"n{i}", "#stays", f"stays {i} {j}")
        self.rename(f"n{i}", f"m{i}", (own, "#stays"))
        self.say(f"m{i}", "#stays", f"as m{i}")
        self.quit(f"m{i}", {own: True, "#stays": False})


def _reachable(root: object, kind: type) -> int:
    """How many ``kind`` objects ``root`` holds on to, directly or not."""
    seen, todo, found = {id(root)}, [root], 0
    while todo:
        for ref in gc.get_referents(todo.pop()):
            if id(ref) not in seen and not isinstance(ref, type):
                seen.add(id(ref))
                found += isinstance(ref, kind)
                todo.append(ref)
    return found


def test_a_channel_whose_last_member_left_is_forgotten() -> None:
    v = Visits()
    for i in range(500):
        nick, channel = f"n{i}", f"#c{i}"
        v.join(nick, channel)
        v.join(nick, "#stays")
        v.say(nick, channel, "hello")
        v.leave(nick, channel, last=True)
    channels, nicks, _ = v.memory.size()
    assert channels == 1  # "#stays"
    assert nicks == 500
    assert [line.kind for line in v.memory.latest("#stays", 2)] == ["JOIN", "JOIN"]
    # A channel that is still there keeps its lines when one of several leaves.
    v.join("other", "#stays")
    v.leave("other", "#stays", last=False)
    assert v.memory.latest("#stays", 1)[0].kind == "PART"


def test_nicks_whose_quit_was_missed_are_let_go() -> None:
    # The plugin layer drops events when its queue is full: a visit's DisconnectEvent
    # may never arrive. Who holds a nick now is asked instead, now and then.
    held: set[str] = set()
    v = Visits(max_gone=MAX_GONE_WITH_STORE, holds=held.__contains__)
    held.add("stays")
    v.connect("stays")
    for i in range(3000):
        nick = f"n{i}"
        held.add(nick)
        v.connect(nick)
        v.join(nick, "#stays")
        v.say(nick, "#stays", f"hello {i}")
        held.discard(nick)  # gone, and nothing said so
    _, nicks, _ = v.memory.size()
    # Those let go are kept compactly, at most MAX_GONE_WITH_STORE of them, and the
    # last few hundred not yet looked at in full: not all 3,000.
    assert nicks <= MAX_GONE_WITH_STORE + 300, nicks
    # The one still here is never let go, and a departed nick still answers.
    assert v.memory.last_seen("stays", None, None).kind == "CONNECT"
    assert "stays" in v.memory._seen
    assert v.memory.last_seen("n2999", "#stays", None).text == "hello 2999"


def test_one_nick_through_many_channels_keeps_a_few_places() -> None:
    v = Visits()
    for i in range(200):
        v.join("wanderer", f"#c{i}")
        for _ in range(5):
            v.say("wanderer", f"#c{i}", f"line {i}")
    _, nicks, sightings = v.memory.size()
    assert nicks == 1
    assert sightings <= SEEN_PER_PLACE * (PLACES_PER_NICK + 1)
    # The most recent places and "anywhere" still answer.
    assert v.memory.last_seen("wanderer", "#c199", None).text == "line 199"
    assert v.memory.last_seen("wanderer", None, None).text == "line 199"
    assert v.memory.last_seen("wanderer", "#c0", None) is None


async def test_the_running_server_forgets_an_ended_channel(
        plugin_server: Callable[..., Any]) -> None:
    source = """
        from ircish.hooks import hookimpl

        @hookimpl
        def on_join(api, nick, channel):
            pass
    """
    async with plugin_server({"listener": source}) as h:
        alice = await h.client("alice")
        await alice.send("JOIN #short")
        await alice.send("PRIVMSG #short :hi")
        memory = h.runner.memory
        await wait_until(lambda: memory.latest("#short", 5))
        await alice.send("PART #short")
        await wait_until(lambda: memory.size()[0] == 0)
        assert memory.last_seen("alice", None, None).kind == "PART"


def test_nicks_nobody_has_now_keep_a_sighting_or_two() -> None:
    # Many connect/rename/quit cycles, as in the soak: each visit leaves two nicks
    # behind (the first one and the one it quit as).
    v = Visits(max_gone=300)
    for i in range(1000):
        v.visit(i)
    channels, nicks, sightings = v.memory.size()
    assert channels == 1  # "#stays"
    assert nicks == 300
    # The last sighting anywhere and the last in each channel there when the nick
    # was let go: "#stays", and for a renamed-away nick also its own channel.
    assert sightings <= 3 * 300
    # No event is kept for a sighting: a MessageEvent carries far more than is shown.
    # (The channel lines of "#stays" are events; those are bounded per channel.)
    v.memory._channels.clear()
    assert _reachable(v.memory, events.MessageEvent) == 0
    # What can still be shown of them is there.
    assert v.memory.last_seen("m999", None, None).kind == "QUIT"
    assert v.memory.last_seen("m999", "#stays", None).kind == "QUIT"  # quitting from there
    assert v.memory.last_seen("m999", "#own999", None) is None  # that channel ended
    renamed = v.memory.last_seen("n999", None, None)
    assert (renamed.kind, renamed.text) == ("NICK", "m999")
    assert v.memory.last_seen("n999", "#stays", None).text == "stays 999 4"
    assert v.memory.last_seen("n0", None, None) is None  # past max_gone


def test_a_nick_taken_again_has_its_earlier_sightings() -> None:
    v = Visits()
    v.visit(1)
    v.connect("m1")
    v.join("m1", "#stays")
    assert v.memory.last_seen("m1", None, None).kind == "JOIN"
    seen = v.memory.last_seen("m1", None, v.memory.last_seen("m1", None, None).time)
    assert seen.kind == "CONNECT"
    # The last visit's line in #stays is still found before this visit.
    before = v.memory.last_seen("m1", "#stays", None).time
    assert v.memory.last_seen("m1", "#stays", before).kind == "QUIT"


def test_channels_whose_end_was_missed_are_swept() -> None:
    # The plugin layer drops events when its queue is full: a channel's last
    # LeaveEvent may never arrive. Its memory must not stay until MAX_CHANNELS.
    v = Visits()
    for i in range(1000):
        v.join(f"n{i}", f"#c{i}")
        v.say(f"n{i}", f"#c{i}", "hi")
        v.live.discard(casefold(f"#c{i}"))  # it ended; nobody told the memory
    channels, _, _ = v.memory.size()
    assert channels < 300


# A plugin with a hook, so the runner keeps its memory, and a history store beside it.
LISTENER = """
    from ircish.hooks import hookimpl

    @hookimpl
    def on_join(api, nick, channel):
        pass
"""


def _store_config(tmp_path: Any) -> dict[str, Any]:
    return {"storage": {"url": f"sqlite:///{tmp_path / 'history.db'}"}}


async def test_with_a_store_few_nicks_that_left_are_kept(
        plugin_server: Callable[..., Any], tmp_path: Any) -> None:
    # The store answers for the others: memory only bridges the writer's lag.
    async with plugin_server({"listener": LISTENER}, config=_store_config(tmp_path)) as h:
        memory = h.runner.memory
        for i in range(MAX_GONE_WITH_STORE + 50):
            memory.record(events.WelcomeEvent(i, f"g{i}!u@h", f"g{i}", None, False))
            memory.record(events.DisconnectEvent(i, f"g{i}!u@h", f"g{i}", "bye"))
        assert memory.size()[1] == MAX_GONE_WITH_STORE


async def test_with_a_store_no_channel_lines_are_kept(
        plugin_server: Callable[..., Any], tmp_path: Any) -> None:
    # The store answers latest and count_since: lines kept in memory as well only
    # held a crowd's texts after it had left.
    async with plugin_server({"listener": LISTENER}, config=_store_config(tmp_path)) as h:
        memory = h.runner.memory
        memory.record(events.JoinEvent("m1", 1, "a!u@h", "a", None, "#c"))
        memory.record(events.MessageEvent("m2", 2, "PRIVMSG", "a!u@h", "a", None, "#c", True,
                                          "said"))
        memory.record(events.TopicEvent("m3", 3, "a!u@h", "a", "#c", "topic"))
        assert memory.size()[0] == 0
        # What it is kept for still is: the sightings of nicks.
        seen = memory.last_seen("a", "#c", None)
        assert seen is not None and seen.text == "said"

"""The plugin layer's memory history stays bounded however many nicks and channels
come and go (a 60-second soak with the shipped plugins once left ~75 MB behind)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ircish.core import events
from ircish.core.events import micros_of
from ircish.hooks.history import PLACES_PER_NICK, SEEN_PER_PLACE, MemoryHistory
from ircish.protocol.casemap import casefold
from tests.hooks.conftest import wait_until

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Visits:
    """Feeds a MemoryHistory what a client's visit causes; knows which channels exist."""

    def __init__(self) -> None:
        self.live: set[str] = set()
        self.memory = MemoryHistory(self.live.__contains__)
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

    def leave(self, nick: str, channel: str, last: bool) -> None:
        if last:
            self.live.discard(casefold(channel))
        self.memory.record(events.LeaveEvent(f"m{self.n}", self.t(), f"{nick}!u@h", nick,
                                             channel, "part", "bye"))


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

"""A quit's leave of each channel and the quit itself carry one time (the QUIT line's):
the sighting kept for a departed nick is still the quit, not a channel's leave."""

from __future__ import annotations

from ircish.core import events
from ircish.hooks.history import MemoryHistory


def test_a_departed_nick_was_last_seen_quitting_when_its_leave_had_the_same_time() -> None:
    live = {"#lobby"}
    memory = MemoryHistory(live.__contains__)
    # Many nicks, so that an order left to a set's hashing would get some of them wrong.
    nicks = [f"carol{i}" for i in range(40)]
    for i, nick in enumerate(nicks):
        at = 1_000_000 * (i + 1)
        source = f"{nick}!u@h"
        memory.record(events.JoinEvent(f"j{i}", at - 10, source, nick, None, "#lobby"))
        memory.record(events.LeaveEvent(f"q{i}", at, source, nick, "#lobby", "quit", "lunch"))
        memory.record(events.DisconnectEvent(at, source, nick, "lunch"))
    kinds = set()
    for nick in nicks:
        seen = memory.last_seen(nick, None, None)
        assert seen is not None
        kinds.add((seen.kind, seen.channel))
        # Asked about the channel, the leave there is the answer.
        there = memory.last_seen(nick, "#lobby", None)
        assert there is not None and there.channel == "#lobby"
    assert kinds == {("QUIT", None)}

"""benchmarks.soak's crowd: ``--sessions`` gives two trees the same work (a faster
server would otherwise get more visits within ``--duration``)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.soak import Tally, crowd
from ircish.testing import start_server


async def test_the_crowd_stops_after_the_sessions_asked_for(tmp_path: Path) -> None:
    async with start_server(tmp_path) as srv:
        tally = await crowd(srv.port, clients=3, duration=60, seed=1, steps=3, sessions=5)
    assert tally.sessions + tally.errors == 5
    assert tally.errors == 0


async def test_each_of_several_crowds_is_new_people_and_their_tallies_add_up(
        tmp_path: Path) -> None:
    # --crowds N runs seeds SEED..SEED+N-1 one after another: a second crowd must not
    # reuse the first one's nicks and channels, or it would only revisit what is held.
    async with start_server(tmp_path) as srv:
        first = await crowd(srv.port, clients=2, duration=60, seed=1, steps=3, sessions=3)
        second = await crowd(srv.port, clients=2, duration=60, seed=2, steps=3, sessions=3)
    assert first.errors == second.errors == 0
    assert first.nicks and second.nicks and not first.nicks & second.nicks
    total = Tally()
    total.add(first)
    total.add(second)
    assert total.sessions == first.sessions + second.sessions == 6
    assert total.lines == first.lines + second.lines
    assert total.nicks == first.nicks | second.nicks
    assert total.channels == first.channels | second.channels

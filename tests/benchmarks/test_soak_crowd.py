"""benchmarks.soak's crowd: ``--sessions`` gives two trees the same work (a faster
server would otherwise get more visits within ``--duration``)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.soak import crowd
from ircish.testing import start_server


async def test_the_crowd_stops_after_the_sessions_asked_for(tmp_path: Path) -> None:
    async with start_server(tmp_path) as srv:
        tally = await crowd(srv.port, clients=3, duration=60, seed=1, steps=3, sessions=5)
    assert tally.sessions + tally.errors == 5
    assert tally.errors == 0

"""The server gives freed memory back after users leave (glibc malloc_trim)."""

from __future__ import annotations

import sys

import pytest
import trio

from ircish.net.memory import TRIM_INTERVAL_S, Trimmer, find_malloc_trim


async def test_it_trims_only_after_users_have_left() -> None:
    calls: list[int] = []
    trimmer = Trimmer(lambda pad: calls.append(pad) or 1)
    assert not await trimmer.after_departures(100)  # the crowd arrives
    assert not await trimmer.after_departures(100)  # still there
    assert await trimmer.after_departures(10)  # most have gone
    assert calls == [0]
    assert not await trimmer.after_departures(10)


async def test_no_malloc_trim_means_nothing_is_done() -> None:
    assert not await Trimmer(None).after_departures(0)


async def test_the_loop_looks_once_an_interval(autojump_clock: trio.abc.Clock) -> None:
    counts = iter([5, 5, 1])
    calls: list[int] = []
    trimmer = Trimmer(lambda pad: calls.append(pad) or 1)
    with trio.move_on_after(TRIM_INTERVAL_S * 3 + 1):
        await trimmer.run(lambda: next(counts))
    assert calls == [0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc is Linux's")
def test_glibc_malloc_trim_is_found_and_callable() -> None:
    trim = find_malloc_trim()
    assert trim is not None
    assert trim(0) in (0, 1)

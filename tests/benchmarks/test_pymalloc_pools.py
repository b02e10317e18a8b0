"""The pages of pymalloc's empty pools given back (benchmarks.pymalloc_pools)."""

from __future__ import annotations

import bisect
import gc
import subprocess
import sys
import textwrap
from array import array

import pytest

from benchmarks import pymalloc_pools as pools

pytestmark = pytest.mark.skipif(pools.pool_release() is None,
                                reason="pymalloc's layout is not known here")


def _crowd_that_left() -> list[str]:
    """Many small objects, then all but a few scattered ones freed: empty pools
    between pools that a survivor keeps."""
    kept, crowd = [], []
    for n in range(200_000):
        crowd.append((f"nick{n}", n * 1000, [n]))
        if n % 997 == 0:
            kept.append(f"survivor{n}")
    del crowd
    gc.collect()
    return kept


class Madvise:
    """Records what would be released, into room made beforehand: making objects
    while pools are released would take some of them."""

    def __init__(self) -> None:
        self.calls = array("Q", bytes(8 * 3 * 100_000))
        self.count = 0

    def __call__(self, address: int, length: int, advice: int) -> int:
        at = 3 * self.count
        self.calls[at], self.calls[at + 1], self.calls[at + 2] = address, length, advice
        self.count += 1
        return 0

    def ranges(self) -> list[tuple[int, int, int]]:
        return [tuple(self.calls[3 * n:3 * n + 3]) for n in range(self.count)]  # type: ignore[misc]


def test_only_empty_pools_are_released_never_a_live_object() -> None:
    kept = _crowd_that_left()
    live = [*gc.get_objects(), *kept]
    live += [r for o in live for r in gc.get_referents(o)]
    madvise = Madvise()
    released = pools.release_empty_pools(madvise, threads=lambda: 1)
    calls = madvise.ranges()
    assert released == len(calls) > 0
    for address, length, advice in calls:
        pool = address & ~(pools.POOL - 1)
        # Every page of the pool but its first, where pymalloc keeps the header.
        assert advice == 4 and address > pool and address + length == pool + pools.POOL
    spans = sorted((a, a + n) for a, n, _ in calls)
    starts = [a for a, _ in spans]
    for o in live:  # each was there before the release and must not be in a range
        at = bisect.bisect_right(starts, id(o)) - 1
        assert at < 0 or not spans[at][0] <= id(o) < spans[at][1], type(o)


def test_nothing_is_released_while_another_thread_runs() -> None:
    _crowd_that_left()
    madvise = Madvise()
    assert pools.release_empty_pools(madvise, threads=lambda: 2) == 0
    assert madvise.count == 0


def test_the_allocator_works_on_after_a_real_release() -> None:
    # In a process of its own: one thread, and a real madvise.
    script = textwrap.dedent("""
        import gc
        from benchmarks import pymalloc_pools as pools
        kept, crowd = [], []
        for n in range(300_000):
            crowd.append((f"nick{n}", n * 1000, [n], {"k": n}))
            if n % 997 == 0:
                kept.append(f"survivor{n}")
        del crowd
        gc.collect()
        released = pools.pool_release()()
        again = [(f"nick{n}", n * 1000, [n], {"k": n}, b"x" * (n % 500)) for n in range(300_000)]
        assert all(a == (f"nick{n}", n * 1000, [n], {"k": n}, b"x" * (n % 500))
                   for n, a in enumerate(again))
        assert kept == [f"survivor{n}" for n in range(0, 300_000, 997)]
        del again
        gc.collect()
        print(released, pools.pool_release()())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    first, second = (int(n) for n in out.stdout.split())
    assert first > 0 and second > 0

"""Reading CPython's small-object pools, and an experiment in handing back
the pages of the empty ones (the soak probe's ``--census`` and ``--what-if``).

The server does not run the release: it writes into the allocator's private
headers for about 2-3 MB after a crowd (RESULTS.md section 14), and a wrong
reading there corrupts the heap; a benchmark may take that risk, a server not.

Objects up to 512 bytes live in pymalloc's 16 KiB pools, carved from 1 MiB
arenas; an arena goes back to the system only once every pool in it is empty.
After a crowd of clients has left, none is: the messages REDACT and the
plugins remember, timer entries, counters and strings made during the crowd
sit a few hundred to a few thousand to an arena (``benchmarks.soak --census``,
RESULTS.md section 14), so every arena the crowd needed stays, and so do the
pages of its empty pools, which nothing uses and which pymalloc never returns.

``release_empty_pools`` returns those pages: for each empty pool of an arena
that holds a known object, every page but the first (which keeps the header
through which pymalloc links its free pools) goes with ``madvise(DONTNEED)``,
and the pool's size class is marked unknown, so that pymalloc lays the pool
out afresh when it takes it again instead of following its old free list
through pages that now read as zeros. Empty means nothing of it is in use:
the pages hold no object, only what the allocator will write anew.

Only where the layout is known (CPython 3.10-3.12, 64-bit Linux, pymalloc
with 16 KiB pools, checked against objects made for the purpose); elsewhere
``pool_release()`` is None. Run with this thread the only Python thread, the
garbage collector paused and signals held, so that no other code can take a
pool between the check and the release.
"""

from __future__ import annotations

import bisect
import ctypes
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable

POOL = 16 * 1024
HEADER = 48  # count, freeblock, nextpool, prevpool, arenaindex, szidx, nextoffset, max
ARENA = 1024 * 1024
DUMMY_SIZE_IDX = 0xFFFF  # pymalloc's "size class not set" for a cached pool
_MADV_DONTNEED = 4
_GC_HEAD = 16


def _u32(address: int) -> int:
    return ctypes.c_uint32.from_address(address).value


def _pool_of(address: int) -> int:
    return address & ~(POOL - 1)


def _header(pool: int) -> tuple[int, int, int, int] | None:
    """(count, arena index, block size, next offset) if ``pool`` reads as a pool."""
    count, arena, szidx = _u32(pool), _u32(pool + 32), _u32(pool + 36)
    nextoffset, maxnextoffset = _u32(pool + 40), _u32(pool + 44)
    if szidx >= 32:
        return None
    size = (szidx + 1) * 16
    if (maxnextoffset != POOL - size or not HEADER <= nextoffset <= POOL
            or (nextoffset - HEADER) % size or count > (nextoffset - HEADER) // size):
        return None
    return count, arena, size, nextoffset


def _holds(pool: int, block: int, size_at_least: int) -> int | None:
    """The arena index of ``pool`` if ``block`` is one of its live-looking blocks."""
    head = _header(pool)
    if head is None:
        return None
    count, arena, size, nextoffset = head
    offset = block - pool - HEADER
    if count == 0 or offset < 0 or offset % size or block >= pool + nextoffset:
        return None
    return arena if size >= size_at_least else None


def _layout_known() -> bool:
    """Tuples made here, of three sizes, must sit where pymalloc's layout puts them."""
    if sys.implementation.name != "cpython" or not (3, 10) <= sys.version_info[:2] <= (3, 12):
        return False
    if sys.maxsize < 2**32 or not sys.platform.startswith("linux"):
        return False
    if os.environ.get("PYTHONMALLOC", "pymalloc") not in ("pymalloc", ""):
        return False
    samples = [tuple(range(n, n + k)) for n in range(300, 340) for k in (1, 5, 20)]
    return all(_holds(_pool_of(id(t) - _GC_HEAD), id(t) - _GC_HEAD, sys.getsizeof(t))
               is not None for t in samples)


class _Spans:
    """This process's mappings, from /proc/self/maps: where a read is safe, and
    which are anonymous and writable (where pymalloc's arenas are)."""

    def __init__(self) -> None:
        with open("/proc/self/maps") as maps:
            lines = [line.split() for line in maps]
        self.readable: list[tuple[int, int]] = []
        self.anonymous: list[tuple[int, int]] = []
        for fields in lines:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if fields[1].startswith("r"):
                self.readable.append((start, end))
                if fields[1] == "rw-p" and len(fields) <= 5:
                    self.anonymous.append((start, end))
        self._starts = [start for start, _end in self.readable]

    def can_read(self, address: int, length: int) -> bool:
        at = bisect.bisect_right(self._starts, address) - 1
        return at >= 0 and address + length <= self.readable[at][1]


def _arenas(spans: _Spans) -> dict[int, tuple[int, int]]:
    """Arena index -> (lowest, highest) pool seen holding a live object: the
    gc-tracked ones and what they refer to (strings, numbers)."""
    found: dict[int, tuple[int, int]] = {}
    checked: set[int] = set()  # pools looked at already: one object each suffices

    def note(o: object) -> None:
        block = id(o) - (_GC_HEAD if gc.is_tracked(o) or type(o) is tuple else 0)
        pool = _pool_of(block)
        if pool in checked:
            return
        checked.add(pool)
        size = sys.getsizeof(o)
        if size > 512 or not spans.can_read(pool, HEADER):
            return
        arena = _holds(pool, block, size)
        if arena is not None:
            seen = found.get(arena)
            if seen is None:
                found[arena] = (pool, pool)
            elif not seen[0] <= pool <= seen[1]:
                found[arena] = (min(seen[0], pool), max(seen[1], pool))

    for o in gc.get_objects():
        note(o)
        for r in gc.get_referents(o):
            note(r)
    return found


def release_empty_pools(madvise: Callable[[int, int, int], int],
                        threads: Callable[[], int] = threading.active_count) -> int:
    """Give back the pages of the empty pools; how many pools. Nothing while
    another Python thread runs (it could take a pool meanwhile)."""
    if threads() > 1:
        return 0
    spans = _Spans()
    page = os.sysconf("SC_PAGE_SIZE")
    if page >= POOL:
        return 0
    released = 0
    was_enabled = gc.isenabled()
    gc.disable()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        for arena, (low, high) in _arenas(spans).items():
            # An arena is 1 MiB: its pools lie within 1 MiB of every one of them.
            start, end = high - ARENA + POOL, low + ARENA
            for span_start, span_end in spans.anonymous:
                if span_start <= low < span_end:
                    start, end = max(start, span_start), min(end, span_end)
                    break
            else:
                continue
            for pool in range(-(-start // POOL) * POOL, end - POOL + 1, POOL):
                head = _header(pool)
                if head is None or head[0] != 0 or head[1] != arena:
                    continue
                # A cached pool links to the next one of its arena, or to none.
                after = ctypes.c_uint64.from_address(pool + 16).value
                if after and not (start <= after < end and after % POOL == 0
                                  and _u32(after + 32) == arena):
                    continue
                ctypes.c_uint32.from_address(pool + 36).value = DUMMY_SIZE_IDX
                # Still empty and still unset (nothing ran in between): release.
                if _u32(pool) == 0 and _u32(pool + 36) == DUMMY_SIZE_IDX:
                    if madvise(pool + page, POOL - page, _MADV_DONTNEED) == 0:
                        released += 1
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        if was_enabled:
            gc.enable()
    return released


def pool_release() -> Callable[[], int] | None:
    """``release_empty_pools`` bound to libc's madvise, or None where the layout
    is not known to be pymalloc's."""
    try:
        if not _layout_known():
            return None
        # PyDLL: the call keeps the GIL, so no other thread runs during it.
        call = ctypes.PyDLL(None).madvise
    except (OSError, AttributeError, ValueError):
        return None
    call.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    call.restype = ctypes.c_int
    return lambda: release_empty_pools(call)

"""``ircish-server`` with a memory probe, for ``benchmarks.soak --probe`` only.

    python -m benchmarks.soakprobe --config FILE    (what ircish-server takes)

Each SIGUSR1 appends one JSON line to the file named by ``IRCISH_SOAK_PROBE``:
the gc-tracked objects by type, pymalloc's arenas and live bytes
(``sys._debugmallocstats``), and, with ``IRCISH_SOAK_TRACE=<frames>``, the
tracemalloc growth since the first signal grouped by traceback (tracing starts
at the first signal, the baseline; it costs memory of its own, so RSS read
under it is not the server's alone); with ``IRCISH_SOAK_CENSUS=1``, at the last
signal, the live blocks in each pymalloc arena made since the baseline (read
from the pool headers), before and after the ``IRCISH_SOAK_WHATIF`` forgetting.
Nothing of this is in the server itself.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
import sys
import tempfile
import threading
import tracemalloc
from array import array
from collections import Counter
from types import FrameType
from typing import Any

from ircish.cli import server_main

_state: dict[str, Any] = {}


def debugmallocstats() -> str:
    """What ``sys._debugmallocstats`` writes (to the C-level stderr, caught here)."""
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        return out.read()


def pymalloc() -> dict[str, Any]:
    """Arenas, live bytes and the size classes holding most, from _debugmallocstats."""
    text = debugmallocstats()
    # Empty under tracemalloc or PYTHONMALLOC=malloc (no pymalloc to report on).
    found: dict[str, Any] = {"classes": {}, "arenas": 0, "live": 0, "free_blocks": 0}
    for line in text.splitlines():
        if line.startswith("# arenas allocated current"):
            found["arenas"] = int(line.split("=")[1].replace(",", ""))
        elif line.startswith("# bytes in allocated blocks"):
            found["live"] = int(line.split("=")[1].replace(",", ""))
        elif line.startswith("# bytes in available blocks"):
            found["free_blocks"] = int(line.split("=")[1].replace(",", ""))
        elif line.startswith("# bytes lost to pool headers"):
            pass
        elif line.strip()[:1].isdigit():
            # class size num-pools blocks-in-use avail-blocks
            parts = line.split()
            if len(parts) == 5:
                found["classes"][parts[1]] = [int(parts[2]), int(parts[3]), int(parts[4])]
    return found


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def mallinfo() -> dict[str, int]:
    """glibc's own heap: bytes in use and free in its arenas (sbrk and per-thread),
    and in blocks mmap'd one by one; empty where the C library has no mallinfo2."""
    try:
        call = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return {}
    call.restype = _Mallinfo2
    info = call()
    return {"heap": info.arena, "in_use": info.uordblks, "free": info.fordblks,
            "mmapped": info.hblkhd}


def smaps() -> dict[str, int]:
    """Resident bytes by kind of mapping: glibc's [heap], anonymous (pymalloc's arenas,
    glibc's mmap'd blocks and per-thread heaps, thread stacks), files."""
    kinds: dict[str, int] = Counter()
    kind = "anon"
    with open("/proc/self/smaps") as maps:
        for line in maps:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                name = head[5] if len(head) > 5 else ""
                kind = name if name.startswith("[") else ("file" if name else "anon")
            elif head[0] == "Rss:":
                kinds[kind] += int(head[1]) * 1024
    return dict(kinds)


def _giveback() -> list[list[int]]:
    """How often the server gave memory back, and how many empty pools' pages."""
    gc.unfreeze()  # the server froze what start-up made (ircish.cli)
    found = [[g.done, getattr(g, "released", 0)] for g in _instances("Giveback")]
    gc.freeze()
    return found


def dump(signum: int, frame: FrameType | None) -> None:
    gc.collect()
    record: dict[str, Any] = {
        "types": Counter(type(o).__name__ for o in gc.get_objects()).most_common(40),
        "pymalloc": pymalloc(),
        "mallinfo": mallinfo(),
        "threads": [t.name for t in threading.enumerate()],
        "giveback": _giveback(),
        "smaps": smaps(),
    }
    _state["count"] = _state.get("count", 0) + 1
    if _state["count"] == 1:
        # What start-up made (the bots' users, the listener's stream) is frozen and
        # so not in gc.get_objects(): seen here, or it would count as left behind.
        gc.unfreeze()
        _state["base_ids"] = {id(o) for o in gc.get_objects()
                              if type(o).__name__ in _CHAINED}
        gc.freeze()
    else:
        gc.unfreeze()
        record["chains"] = chains(_state["base_ids"])
        alive = [o for o in gc.get_objects() if type(o).__name__ in _CHAINED]
        record["alive"] = dict(Counter(type(o).__name__ for o in alive))
        record["users"] = sorted(o.nick for o in alive if type(o).__name__ == "User")[:20]
        # The plugins' memory (channels, nicks, sightings) and the events it missed.
        record["plugin_memory"] = [list(m.size()) for m in _instances("MemoryHistory")]
        record["plugin_events_dropped"] = [r.dropped for r in _instances("HookRunner")]
        gc.freeze()
    if os.environ.get("IRCISH_SOAK_CENSUS"):
        if _state["count"] == 1:
            _state["base_arenas"] = set(_pools()[2])
        else:
            gc.unfreeze()  # what start-up made is frozen (ircish.cli): seen again
            record["census"] = census(_state["base_arenas"])
            gc.freeze()
            record["holders"] = _state["holders"]
    if (_state["count"] == 1 and os.environ.get("IRCISH_SOAK_WHATIF")
            and not os.environ.get("IRCISH_SOAK_CENSUS")):
        gc.unfreeze()
        _state["base_regions"] = set(_regions())
        gc.freeze()
    if os.environ.get("IRCISH_SOAK_WHATIF") and _state["count"] > 1:
        # Before the growth below, which then shows what survives the forgetting.
        record["whatif"] = what_if()
        record["pinners"] = _state["pinners"]
        if "base_arenas" in _state:
            record["census_forgotten"] = census(_state["base_arenas"])
    frames = int(os.environ.get("IRCISH_SOAK_TRACE", "0") or 0)
    if frames:
        if "base" not in _state:
            tracemalloc.start(frames)
            _state["base"] = tracemalloc.take_snapshot()
        else:
            ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
            now = tracemalloc.take_snapshot().filter_traces(ignore)
            stats = now.compare_to(_state["base"].filter_traces(ignore), "traceback")
            record["traced"] = tracemalloc.get_traced_memory()[0]
            record["growth"] = [
                [s.size_diff, s.count_diff, [f"{f.filename}:{f.lineno}" for f in s.traceback]]
                for s in stats[:40]]
            # Tracing began at the baseline, so every traced block now is one made
            # since then and still alive: by count, since each one can keep a pool.
            record["survivors"] = [
                [s.count_diff, s.size_diff, [f"{f.filename}:{f.lineno}" for f in s.traceback]]
                for s in sorted(stats, key=lambda s: -s.count_diff)[:40]]
    with open(os.environ["IRCISH_SOAK_PROBE"], "a") as out:
        out.write(json.dumps(record) + "\n")


# Objects that should be gone with their clients: for each one alive at a reading
# and not at the baseline, the chain of referrers that keeps it.
_CHAINED = ("SocketStream", "Connection", "User")


def _holder_chain(o: Any, ignore: set[int], depth: int = 8) -> str:
    """``o``'s referrers, one per step (the first that is not a frame or one of
    the probe's own containers), as type names; a function, coroutine or task by
    its name too."""
    chain = [type(o).__name__]
    seen = set(ignore) | {id(o)}
    for _ in range(depth):
        refs = [r for r in gc.get_referrers(o)
                if id(r) not in seen and not isinstance(r, FrameType) and r is not _state]
        if not refs:
            break
        o = refs[0]
        seen.add(id(o))
        name = type(o).__name__
        label = getattr(o, "__qualname__", None) or getattr(o, "name", None)
        if isinstance(label, str) and name in ("function", "method", "coroutine", "Task"):
            name += f" {label}"
        chain.append(name[:80])
    return " <- ".join(chain)


def chains(base_ids: set[int], limit: int = 12) -> list[str]:
    """For the first few objects of ``_CHAINED`` types made since the baseline and
    still alive, what keeps each."""
    found = [o for o in gc.get_objects()
             if type(o).__name__ in _CHAINED and id(o) not in base_ids]
    out: list[str] = []
    ignore = {id(found), id(out)}
    for i in range(min(limit, len(found))):
        out.append(_holder_chain(found[i], ignore))
    return out


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _instances(name: str) -> list[Any]:
    return [o for o in gc.get_objects() if type(o).__name__ == name]


def _clear_memory_history() -> None:
    for memory in _instances("MemoryHistory"):
        for value in vars(memory).values():
            if isinstance(value, dict):
                value.clear()


def _clear_caches() -> None:
    import re

    from ircish.core import masks
    from ircish.protocol import casemap

    masks._compile.cache_clear()
    casemap.casefold.cache_clear()
    re.purge()


def _trim() -> None:
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _release_pools() -> None:
    from benchmarks.pymalloc_pools import pool_release

    release = pool_release()
    if release is not None:
        _state["pools_released"] = release()


def what_if() -> list[list[Any]]:
    """Destructive, at the last reading only (IRCISH_SOAK_WHATIF): forget one holder
    after another and read arenas and RSS after each, to see what pins what."""
    steps: list[tuple[str, Any]] = [
        ("nothing", lambda: None),
        ("REDACT memory", lambda: [r.__init__(r.limit)
                                   for r in _instances("RecentMessages")]),
        ("plugins' memory", _clear_memory_history),
        ("name, mask and re caches", _clear_caches),
        ("WHOWAS", lambda: [s.whowas.clear() for s in _instances("Server")]),
        ("malloc_trim", _trim),
        ("empty pools' pages", _release_pools),
    ]
    # The server froze what start-up made (gc.freeze): visible again to find holders.
    gc.unfreeze()
    out: list[list[Any]] = []
    for name, step in steps:
        step()
        gc.collect()
        pm = pymalloc()
        out.append([name, pm["arenas"], pm["live"], pm["free_blocks"], _rss(),
                    len(_instances("Sent")), len(_instances("RecentMessages"))])
    # The census reads the pools next: no walk over every object before it.
    _state["pinners"] = ([] if os.environ.get("IRCISH_SOAK_CENSUS")
                         else pinners(_state.get("base_regions", set())))
    return out


def _regions() -> dict[int, list[Any]]:
    """Every object reachable from a gc-tracked one, by the 1 MiB of address space
    its id falls in (arenas are 1 MiB; one may straddle two such regions)."""
    seen: dict[int, Any] = {}
    for o in gc.get_objects():
        seen[id(o)] = o
        for r in gc.get_referents(o):
            seen.setdefault(id(r), r)
    regions: dict[int, list[Any]] = {}
    for address, o in seen.items():
        regions.setdefault(address >> 20, []).append(o)
    return regions


def _describe(o: Any) -> str:
    text = repr(o) if isinstance(o, str | int | float | bytes | tuple) else ""
    owners = [type(r).__name__ for r in gc.get_referrers(o)[:3]
              if r is not _state and not isinstance(r, list)]
    return f"{type(o).__name__}{' ' + text[:60] if text else ''} <- {','.join(owners)}"


def pinners(base_regions: set[int]) -> list[list[Any]]:
    """The regions that were not there at the baseline and hold few objects: what is
    in them (the objects that keep those arenas)."""
    found = []
    for region, objects in sorted(_regions().items()):
        if region in base_regions or len(objects) > 40:
            continue
        found.append([hex(region << 20), len(objects),
                      [_describe(o) for o in objects[:6]]])
    return found



def _pools() -> tuple[array[int], array[int], array[int]]:
    """Every live block in pymalloc's pools: its address, size and arena index, found
    by reading the pool headers (``benchmarks.pymalloc_pools``' reader) in this process's
    anonymous writable memory. Kept in arrays (one malloc'd buffer each), so that
    the walk does not itself leave new small objects in pools it has yet to read."""
    from benchmarks.pymalloc_pools import HEADER, POOL, _header, _Spans

    blocks, sizes, arenas = array("Q"), array("H"), array("I")
    for start, end in _Spans().anonymous:
        for pool in range(-(-start // POOL) * POOL, end - POOL + 1, POOL):
            head = _header(pool)
            if head is None or head[0] == 0:
                continue
            count, arena, size, nextoff = head
            body = ctypes.string_at(pool, POOL)
            slots = (nextoff - HEADER) // size
            used = bytearray(b"\1" * slots)
            free = int.from_bytes(body[8:16], "little")
            steps = 0
            while free and pool < free < pool + POOL and steps <= slots:
                used[(free - pool - HEADER) // size] = 0
                free = int.from_bytes(body[free - pool:free - pool + 8], "little")
                steps += 1
            if sum(used) != count:
                continue
            for slot in range(slots):
                if used[slot]:
                    blocks.append(pool + HEADER + slot * size)
                    sizes.append(size)
                    arenas.append(arena)
    return blocks, sizes, arenas


def _traceback(address: int) -> str:
    get = ctypes.pythonapi._PyTraceMalloc_GetTraceback
    get.restype, get.argtypes = ctypes.py_object, [ctypes.c_uint, ctypes.c_size_t]
    frames = get(0, address)
    if not frames:
        return ""
    return " <- ".join(f"{f.rsplit('/', 1)[-1]}:{n}" for f, n in frames[:3])


def census(base_arenas: set[int]) -> list[list[Any]]:
    """The arenas made since the baseline and the live blocks that keep each: by
    what they are (an object's type, else a raw buffer) and, under tracemalloc,
    where they were allocated."""
    blocks, sizes, arenas = _pools()  # first, before this makes objects of its own
    objects: dict[int, Any] = {}
    holders: list[tuple[int, str]] = []
    for o in gc.get_objects():
        objects[id(o) - 16] = o  # a gc-tracked object's block starts at its gc header
        referents = gc.get_referents(o)
        for r in referents:
            objects.setdefault(id(r) - (16 if gc.is_tracked(r) else 0), r)
        if len(referents) > 1000:
            kinds = Counter(type(r).__name__ for r in referents).most_common(3)
            holders.append((len(referents), f"{type(o).__name__} {kinds} {repr(o)[:80]}"))
    _state["holders"] = sorted(holders, reverse=True)[:12]
    types = {id(t): t.__name__ for t in {type(o) for o in objects.values()}}
    found: dict[int, Counter[str]] = {}
    # A few of each new arena's strings and lists, with who holds them (their
    # referrers' types): what a count by type alone cannot tell.
    samples: dict[int, list[str]] = {}
    for block, size, arena in zip(blocks, sizes, arenas, strict=True):
        if arena in base_arenas:
            continue
        o = objects.get(block)
        if o is not None:
            name = type(o).__name__
            some = samples.setdefault(arena, [])
            if name in ("str", "tuple", "list") and len(some) < 4:
                held = [type(r).__name__ for r in gc.get_referrers(o)
                        if r is not objects and not isinstance(r, FrameType)][:3]
                some.append(f"{repr(o)[:50]} <- {','.join(held)}")
        else:
            word = int.from_bytes(ctypes.string_at(block + 8, 8), "little")
            gcword = int.from_bytes(ctypes.string_at(block + 24, 8), "little")
            name = types.get(word) or (types.get(gcword, "raw") + "?")
        found.setdefault(arena, Counter())[f"{size}B {name} {_traceback(block)}"] += 1
    return [[arena, sum(what.values()), what.most_common(12), samples.get(arena, [])]
            for arena, what in sorted(found.items(), key=lambda kv: sum(kv[1].values()))]


def dump_light(signum: int, frame: FrameType | None) -> None:
    """SIGUSR2, in the middle of the crowd: what is live then, by type (no census).

    Start-up's frozen objects stay out of the count, as at the baseline: unfreezing and
    freezing again here would freeze the crowd's objects of the moment, garbage cycles
    included, and so keep them until the end (every reading after this one then saw
    clients who had left as still alive)."""
    record = {"mid": True, "pymalloc": pymalloc(),
              "types": Counter(type(o).__name__ for o in gc.get_objects()).most_common(40)}
    with open(os.environ["IRCISH_SOAK_PROBE"], "a") as out:
        out.write(json.dumps(record) + "\n")


def main() -> int:
    signal.signal(signal.SIGUSR1, dump)
    signal.signal(signal.SIGUSR2, dump_light)
    return server_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())

"""``ircish-server`` with a memory probe, for ``benchmarks.soak --probe`` only.

    python -m benchmarks.soakprobe --config FILE    (what ircish-server takes)

Each SIGUSR1 appends one JSON line to the file named by ``IRCISH_SOAK_PROBE``:
the gc-tracked objects by type, pymalloc's arenas and live bytes
(``sys._debugmallocstats``), and, with ``IRCISH_SOAK_TRACE=<frames>``, the
tracemalloc growth since the first signal grouped by traceback (tracing starts
at the first signal, the baseline; it costs memory of its own, so RSS read
under it is not the server's alone). Nothing of this is in the server itself.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import tempfile
import tracemalloc
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


def dump(signum: int, frame: FrameType | None) -> None:
    gc.collect()
    record: dict[str, Any] = {
        "types": Counter(type(o).__name__ for o in gc.get_objects()).most_common(40),
        "pymalloc": pymalloc(),
    }
    _state["count"] = _state.get("count", 0) + 1
    if _state["count"] == 1 and os.environ.get("IRCISH_SOAK_WHATIF"):
        gc.unfreeze()
        _state["base_regions"] = set(_regions())
        gc.freeze()
    if os.environ.get("IRCISH_SOAK_WHATIF") and _state["count"] > 1:
        # Before the growth below, which then shows what survives the forgetting.
        record["whatif"] = what_if()
        record["pinners"] = _state["pinners"]
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
    with open(os.environ["IRCISH_SOAK_PROBE"], "a") as out:
        out.write(json.dumps(record) + "\n")


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

    masks._compile.cache_clear()
    re.purge()


def _trim() -> None:
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)


def what_if() -> list[list[Any]]:
    """Destructive, at the last reading only (IRCISH_SOAK_WHATIF): forget one holder
    after another and read arenas and RSS after each, to see what pins what."""
    steps: list[tuple[str, Any]] = [
        ("nothing", lambda: None),
        ("REDACT memory", lambda: [setattr(r, "_sent", type(r._sent)())
                                   for r in _instances("RecentMessages")]),
        ("plugins' memory", _clear_memory_history),
        ("mask and re caches", _clear_caches),
        ("WHOWAS", lambda: [s.whowas.clear() for s in _instances("Server")]),
        ("malloc_trim", _trim),
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
    _state["pinners"] = pinners(_state.get("base_regions", set()))
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


def main() -> int:
    signal.signal(signal.SIGUSR1, dump)
    return server_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())

"""Giving back the tables of a crowd that has left.

A Python dict or set never shrinks when entries are deleted: a ``users`` dict that
held 10,000 nicks keeps a table for 10,000 after they quit (about 300 KiB for the
dict, more for the set of connections), and those blocks keep the allocator's
memory in use. ``TableShrinker`` remembers each table's high-water mark and,
once the table has fallen far below it, rebuilds it in place (same object, so
every holder of a reference still sees it), sized for what is left.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, MutableSet
from typing import Any

# Tables that never held this many entries are left alone: their slack is small.
MIN_PEAK = 1024
# Rebuilt once fewer than 1/SHRINK_RATIO of the peak are left.
SHRINK_RATIO = 8

Table = MutableMapping[Any, Any] | MutableSet[Any]


def rebuild(table: Table) -> None:
    """Empty ``table`` and refill it, so its storage fits its present size."""
    if isinstance(table, MutableMapping):
        items = list(table.items())
        table.clear()
        table.update(items)
    else:
        keys = list(table)
        table.clear()
        for key in keys:
            table.add(key)


class TableShrinker:
    """Watches tables given as callables (a reconfigured owner may swap one)."""

    def __init__(self, tables: dict[str, Callable[[], Table]]) -> None:
        self._tables = tables
        self._peaks = dict.fromkeys(tables, 0)
        self.rebuilt = 0  # how many rebuilds so far, for logs and tests

    def check(self) -> None:
        """Cheap (one ``len`` per table): call it now and then, e.g. once a second."""
        for name, get in self._tables.items():
            size = len(get())
            peak = self._peaks[name]
            if size > peak:
                self._peaks[name] = size
            elif peak >= MIN_PEAK and size * SHRINK_RATIO < peak:
                rebuild(get())
                self._peaks[name] = size
                self.rebuilt += 1

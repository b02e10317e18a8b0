"""Small records kept in a few large buffers instead of many small objects.

A memory that outlives a crowd of clients (REDACT's recent messages, the plugins'
sightings of nicks that left, a channel's last lines) would, kept as tuples and
strings, leave thousands of small objects scattered over the allocator's arenas:
each was made at some moment of the crowd wherever a free block of its size was
then, and a handful of them is enough to keep a whole 1 MiB arena resident after
everything around them has gone. Kept here, a record is a few bytes in one
``bytearray`` plus an entry in a few ``array``s: large allocations, which go to
the C library's malloc (and back to the system when freed), not to pymalloc.
Reading a record makes its value again (``marshal``), a short-lived object.

``PackedTable``: records by key, oldest forgotten first past ``limit``.
``PackedLog``: the last ``limit`` records, in order, no key.
"""

from __future__ import annotations

import marshal
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# A value is what marshal writes and reads back equal: a tuple of ints, strs,
# bools, None and such tuples.
Value = Any
# Records dropped (evicted or removed) before the buffers are rewritten, at least.
_SLACK = 64


def _encode(key: str) -> bytes:
    # Any str, lone surrogates included (what a client's undecodable bytes become).
    return key.encode("utf-8", "surrogatepass")


class PackedLog:
    """The last ``limit`` values appended, oldest first: one buffer and one array.

    Keeps up to twice ``limit`` before dropping the older half, so an append costs
    one buffer extend, and dropping is a copy of ``limit`` records now and then.
    """

    __slots__ = ("_data", "_starts", "limit")

    def __init__(self, limit: int, values: Iterable[Value] = ()) -> None:
        self.limit = limit
        self._data = bytearray()
        self._starts = array("q")
        for value in values:
            self.append(value)

    def clear(self) -> None:
        self._data = bytearray()
        self._starts = array("q")

    def append(self, value: Value) -> None:
        self._starts.append(len(self._data))
        self._data += marshal.dumps(value)
        if len(self._starts) >= 2 * self.limit:
            self._keep_last(self.limit)

    def _keep_last(self, count: int) -> None:
        starts = self._starts
        if len(starts) <= count:
            return
        cut = starts[len(starts) - count] if count else len(self._data)
        # Fresh buffers of the right size: the old ones go back whole.
        self._data = bytearray(memoryview(self._data)[cut:])
        self._starts = array("q", (start - cut for start in starts[len(starts) - count :]))

    def __len__(self) -> int:
        return min(len(self._starts), self.limit)

    def __reversed__(self) -> Iterator[Value]:
        return reversed(list(self))

    def __iter__(self) -> Iterator[Value]:
        starts, data = self._starts, self._data
        for i in range(max(0, len(starts) - self.limit), len(starts)):
            end = starts[i + 1] if i + 1 < len(starts) else len(data)
            with memoryview(data) as view:
                value = marshal.loads(view[starts[i] : end])
            yield value


class PackedTable:
    """Values by ``str`` key, in insertion order; past ``limit`` the oldest goes.

    The keys and values are bytes in one buffer; an open-addressing table of
    record numbers (an ``array``) finds a key by its hash, kept per record so
    that a look-up compares bytes only on a hash match. A record removed stays
    in the buffer, marked dead, until enough have gone to copy the live ones into
    fresh buffers, which also drops the lookup table's stale entries. Storing a
    key again replaces its value and makes it the newest.
    """

    __slots__ = (
        "_data",
        "_dead",
        "_dropped",
        "_filled",
        "_hashes",
        "_head",
        "_keylens",
        "_live",
        "_slots",
        "_starts",
        "limit",
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._reset(0)

    def _reset(self, capacity: int) -> None:
        self._data = bytearray()
        # Per record: where its bytes start, its key's length and hash, whether
        # it is dead.
        self._starts = array("q")
        self._keylens = array("l")
        self._hashes = array("q")
        self._dead = bytearray()
        # The first record that may be live (those before it were dropped as the
        # oldest), how many are live, how many dropped since the last rewrite.
        self._head = 0
        self._live = 0
        self._dropped = 0
        size = 16
        while size < 4 * capacity:
            size *= 2
        # Record index + 1; 0: an empty slot. Entries of dead records stay until
        # the next rewrite; a look-up checks the hash, then the key.
        self._slots = array("q", bytes(8 * size))
        self._filled = 0

    def __len__(self) -> int:
        return self._live

    # ---- storing ---------------------------------------------------------------------

    def put(self, key: str, value: Value) -> None:
        encoded = _encode(key)
        digest = hash(key)
        found = self._find(digest, encoded)
        if found >= 0:
            self._kill(found)
        self._append(digest, encoded, marshal.dumps(value))
        if self._live > self.limit:
            self._drop_oldest()

    def _append(self, digest: int, encoded: bytes, body: bytes | memoryview) -> None:
        # The busiest path (a record per message): locals, no helper calls.
        data = self._data
        number = len(self._starts)
        self._starts.append(len(data))
        self._keylens.append(len(encoded))
        self._hashes.append(digest)
        self._dead.append(0)
        data += encoded
        data += body
        self._live += 1
        slots = self._slots
        mask = len(slots) - 1
        i = digest & mask
        while slots[i]:
            i = (i + 1) & mask
        slots[i] = number + 1
        self._filled += 1
        if 2 * self._filled > len(slots):
            self._rewrite()

    def _drop_oldest(self) -> None:
        dead = self._dead
        i = self._head
        while dead[i]:
            i += 1
        self._head = i + 1
        self._kill(i)

    def _kill(self, i: int) -> None:
        self._dead[i] = 1
        self._live -= 1
        self._dropped += 1
        if self._dropped > self._live + _SLACK:
            self._rewrite()

    def pop(self, key: str) -> Value | None:
        """Forget ``key``; its value, or None if it was not there."""
        i = self._find(hash(key), _encode(key))
        if i < 0:
            return None
        value = self._value(i)
        self._kill(i)
        return value

    def discard_if(self, drop: Callable[[Value], bool]) -> int:
        """Forget every record whose value ``drop(value)`` is true; how many went."""
        gone = [i for i, value in self._values() if drop(value)]
        for i in gone:
            self._dead[i] = 1
        self._live -= len(gone)
        self._dropped += len(gone)
        if gone and self._dropped > self._live + _SLACK:
            self._rewrite()
        return len(gone)

    def replace_all(self, change: Callable[[Value], Value]) -> None:
        """Every value ``v`` becomes ``change(v)``, in the same order."""
        old = self._copy_live()
        self._reset(len(old))
        for digest, encoded, body in old:
            self._append(digest, encoded, marshal.dumps(change(marshal.loads(body))))

    def _copy_live(self) -> list[tuple[int, bytes, bytes]]:
        data, starts, keylens, hashes, dead = (
            self._data,
            self._starts,
            self._keylens,
            self._hashes,
            self._dead,
        )
        out = []
        for index in range(self._head, len(starts)):
            if not dead[index]:
                start, middle = starts[index], starts[index] + keylens[index]
                out.append(
                    (
                        hashes[index],
                        bytes(data[start:middle]),
                        bytes(data[middle : self._end(index)]),
                    )
                )
        return out

    def _rewrite(self) -> None:
        """The live records' bytes into fresh buffers of their size, and a fresh table.

        Mostly the dropped records are the oldest (a prefix): then the buffers are
        cut in bulk and only the table is built again; when many of the dead are
        in the middle (removed, swept), every live record is copied.
        """
        head, live = self._head, self._live
        middle_dead = len(self._starts) - head - live
        if 2 * middle_dead > live + _SLACK:
            self._copy_all()
            return
        cut = self._starts[head] if head < len(self._starts) else len(self._data)
        self._data = self._data[cut:]
        self._starts = array("q", [start - cut for start in self._starts[head:]])
        self._keylens = self._keylens[head:]
        self._hashes = self._hashes[head:]
        self._dead = self._dead[head:]
        self._head = 0
        self._dropped = middle_dead
        size = 16
        while size < 4 * live:
            size *= 2
        slots = array("q", bytes(8 * size))
        mask = size - 1
        hashes, dead = self._hashes, self._dead
        for index in range(len(hashes)):
            if not dead[index]:
                i = hashes[index] & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = index + 1
        self._slots = slots
        self._filled = live

    def _copy_all(self) -> None:
        old = self._copy_live()
        self._reset(len(old))
        for digest, encoded, body in old:
            self._append(digest, encoded, body)

    # ---- reading ---------------------------------------------------------------------

    def get(self, key: str) -> Value | None:
        i = self._find(hash(key), _encode(key))
        return None if i < 0 else self._value(i)

    def __contains__(self, key: str) -> bool:
        return self._find(hash(key), _encode(key)) >= 0

    def items(self) -> Iterator[tuple[str, Value]]:
        """(key, value), oldest first."""
        data, starts, keylens = self._data, self._starts, self._keylens
        for index, value in self._values():
            start = starts[index]
            key = data[start : start + keylens[index]].decode("utf-8", "surrogatepass")
            yield key, value

    def _find(self, digest: int, encoded: bytes) -> int:
        """The arrays' index of the live record with this key, or -1."""
        slots, hashes, dead = self._slots, self._hashes, self._dead
        mask = len(slots) - 1
        i = digest & mask
        while True:
            entry = slots[i]
            if not entry:
                return -1
            index = entry - 1
            if hashes[index] == digest and not dead[index]:
                start = self._starts[index]
                if (
                    self._keylens[index] == len(encoded)
                    and self._data[start : start + len(encoded)] == encoded
                ):
                    return index
            i = (i + 1) & mask

    def _end(self, index: int) -> int:
        return self._starts[index + 1] if index + 1 < len(self._starts) else len(self._data)

    def _value(self, index: int) -> Value:
        start = self._starts[index] + self._keylens[index]
        with memoryview(self._data) as view:
            return marshal.loads(view[start : self._end(index)])

    def _values(self) -> Iterator[tuple[int, Value]]:
        """(index, value) of the live records, oldest first."""
        data, starts, keylens, dead = self._data, self._starts, self._keylens, self._dead
        ends = len(starts)
        for index in range(self._head, ends):
            if dead[index]:
                continue
            middle = starts[index] + keylens[index]
            end = starts[index + 1] if index + 1 < ends else len(data)
            yield index, marshal.loads(data[middle:end])

"""One benchmark at a time per machine.

Two runs at once share two cores and spoil each other's numbers without either seeing
why, so each scenario takes an exclusive ``flock`` first; a second run waits for it
(bounded) and says who it is waiting for.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOCK_PATH = "/tmp/ircish-benchmarks.lock"


@contextmanager
def exclusive_run(timeout_s: float, what: str) -> Iterator[bool]:
    """Yields True when the lock was taken, False when waiting gave up after timeout_s."""
    fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout_s
        told = False
        taken = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                taken = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                if not told:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                    print(f"waiting for another benchmark run: {holder}", file=sys.stderr)
                    told = True
                time.sleep(0.5)
        if taken:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}: {what}\n".encode(), 0)
        else:
            print(
                f"gave up waiting after {timeout_s:.0f}s: running alongside another benchmark",
                file=sys.stderr,
            )
        yield taken
    finally:
        os.close(fd)  # closing drops the flock

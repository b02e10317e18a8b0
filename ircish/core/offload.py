"""Work a handler may not do on the event loop, and answers it wants given later.

A handler is a plain function that returns at once; the Trio shell runs every
client on one event loop. A password check (scrypt, argon2) costs tens of
milliseconds of CPU, and done inline it stalls every other client for that long.
So a handler asks ``server.offload.run_blocking(user, work, then)``: the shell
runs ``work`` in a worker thread and calls ``then(result)`` back on the event
loop; ``call_later(user, delay, then)`` is the timer for a deliberately late
answer (the growing delay after a failed password).

Both drop ``then`` when ``user`` has disconnected meanwhile (``user=None``: work
for no one connection, always called back). Exceptions from ``work`` and ``then``
are logged and go no further: ``work`` should catch what it expects itself.

``Inline`` is the default: it runs everything at once in the caller, which keeps
pure tests of the core free of threads and clocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from ircish.core.state import User

log = logging.getLogger("ircish.core")

T = TypeVar("T")


class Offload(Protocol):
    def run_blocking(
        self, user: User | None, work: Callable[[], T], then: Callable[[T], None]
    ) -> None: ...

    def call_later(self, user: User | None, delay: float, then: Callable[[], None]) -> None: ...


class Inline:
    """Runs ``work`` and ``then`` at once and ignores delays (pure tests, tools)."""

    def run_blocking(
        self, user: User | None, work: Callable[[], T], then: Callable[[T], None]
    ) -> None:
        try:
            result = work()
        except Exception:
            log.exception("blocking work %r failed", work)
            return
        then(result)

    def call_later(self, user: User | None, delay: float, then: Callable[[], None]) -> None:
        then()

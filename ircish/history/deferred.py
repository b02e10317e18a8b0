"""Commands answered after the store's reply (CHATHISTORY, SEARCH).

Such a command is parsed and checked on the loop, then a task waits for the
history worker. Meanwhile three things must hold, the same for every such
command: one connection has at most ``limit`` of them in flight (more are
refused, not queued); the answer goes through the reply buffer deferred at the
command, so a label still reaches it; and the connection's later lines wait
until it is out, so its replies keep the order of its commands.

The answer is cancelled when its client goes (hangs up while its lines wait, or
the connection is closed): nothing waits on the store for a client who cannot
receive the answer, and the departed user is not kept alive by it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import trio

from ircish.net.connection import Connection

if TYPE_CHECKING:
    from ircish.core.replies import Replies
    from ircish.core.server import Server
    from ircish.core.state import User

# What answers one command once the store has: given the deferred reply buffer.
Answer = Callable[["Replies | None"], Awaitable[None]]


class DeferredAnswers:
    """Runs the answers of one command in a service's nursery (``nursery`` is set
    while the service runs), at most ``limit`` in flight per connection."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.nursery: trio.Nursery | None = None
        self._in_flight: Counter[int] = Counter()

    def start(self, server: Server, user: User, answer: Answer) -> bool:
        """Start ``answer`` for ``user``'s command; False (nothing started) when the
        service is not running or the connection has ``limit`` in flight already."""
        if self.nursery is None or self._in_flight[id(user)] >= self.limit:
            return False
        self._in_flight[id(user)] += 1
        replies = server.defer_replies(user)
        conn = user.sink if isinstance(user.sink, Connection) else None
        scope = trio.CancelScope()
        if conn is not None:
            conn.hold(scope)  # cancels the scope when the client goes
        self.nursery.start_soon(self._run, id(user), answer, replies, conn, scope)
        return True

    async def _run(
        self, key: int, answer: Answer, replies: Replies | None, conn: Connection | None,
        scope: trio.CancelScope,
    ) -> None:
        try:
            with scope:
                await answer(replies)
        finally:
            if conn is not None:
                conn.release(scope)
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]

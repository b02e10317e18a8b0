"""The shared database unreachable for a while: the worker says so, clients are told.

While PostgreSQL cannot be reached, local chat goes on (it never waits for the
database), and what needs the database waits: nick claims (registration and
NICK), this node's events for the other nodes (retried in order until the
lease would run out), and theirs for this node. The worker reports the
outage's start and end (``Outage``, in the worker process: a reconnect that
failed is the start, a commit or LISTEN that works again the end) as
``("database", reachable, text)`` frames; the server sends every local client
a NOTICE at both ends (``Notices``), and a client whose claim starts during
the outage one more, saying its claim waits. An outage longer than the lease
is not an outage any more: the node is fenced and leaves the network.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User

DOWN = ("The network's database is unreachable: chat on this server goes on; nick "
        "changes, registration and messages to and from other servers wait until it is back")
UP = ("The network's database is reachable again: nick changes, registration and messages "
      "between servers resume")
CLAIM_WAITS = "Your nick waits for the network's database, which is unreachable for now"


class Outage:
    """Worker side: which connections are failing; a frame when the first fails and
    when the last recovers."""

    def __init__(self, send: Callable[[tuple[Any, ...]], Awaitable[None]]) -> None:
        self._send = send
        self.failing: set[str] = set()

    async def fault(self, part: str, error: object) -> None:
        if part in self.failing:
            return
        first = not self.failing
        self.failing.add(part)
        if first:
            await self._send(("database", False, str(error).strip()))

    async def ok(self, part: str) -> None:
        if part not in self.failing:
            return
        self.failing.discard(part)
        if not self.failing:
            await self._send(("database", True, ""))


class Notices:
    """Server side: the NOTICEs, and whether an outage is on."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.down = False

    def changed(self, reachable: bool, users: Iterable[User]) -> None:
        if reachable == (not self.down):
            return
        self.down = not reachable
        text = UP if reachable else DOWN
        for user in users:
            self.server.send_from_server(user, "NOTICE", user.nick, f"*** {text}")

    def claim_starts(self, user: User) -> None:
        if self.down:
            self.server.send_from_server(user, "NOTICE", user.nick, f"*** {CLAIM_WAITS}")

    def reset(self) -> None:
        """The worker is gone (the node left the network): no outage to report."""
        self.down = False

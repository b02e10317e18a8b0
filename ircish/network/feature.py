"""Several ircish nodes as one network: the extension (``[network] node_id``).

What this node's users do is captured from the core's events
(``capture``) and handed to the network worker, which commits it to the
node's sequence in the shared PostgreSQL; what the other nodes' users do
comes back from the worker and is replayed into the core's state
(``replica``). Nicks are claimed in the database before registration or NICK
takes them (``NetworkNode.claim``, the core's ``Server.nick_claims``): the
client's next lines wait for the answer, and a nick another node holds is 433.

History and the event sequence are one commit: the history store hands this
feature the events the other nodes replay (``DIVERTED``) instead of storing
them itself, and the network worker writes their rows in the transaction that
appends the batch (``ircish.network.history``); a query to the store first
waits for those commits (``NetworkClient.written``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

import trio

from ircish.config import ConfigError
from ircish.core import events
from ircish.core import numerics as N
from ircish.core.closing import closing_link
from ircish.core.extension import Extension
from ircish.network.capture import Capture, node_op
from ircish.network.client import NetworkClient, NetworkUnavailable
from ircish.network.outage import Notices
from ircish.network.replica import Replica, is_remote
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from collections.abc import Callable

    from ircish.core.replies import Replies
    from ircish.core.state import User
    from ircish.history.client import StoreClient
    from ircish.net.app import IrcServer

log = logging.getLogger("ircish.network")

STOP_TIMEOUT_S = 5.0
REJOIN_INITIAL_S = 0.5
REJOIN_MAX_S = 30.0
# What the network worker stores for the history store: every line another node
# can replay, the REDACTs that delete such lines, and the RENAMEs that move them with
# the channel's state (all in one order: a line is never stored under a name the
# channel no longer has).
DIVERTED = (events.MessageEvent, events.JoinEvent, events.LeaveEvent, events.NickEvent,
            events.TopicEvent, events.RedactEvent, events.RenameEvent,
            events.ChannelStateEvent)


class Holding(Protocol):
    """A sink that can hold its client's next lines (``net.connection.Connection``)."""

    def hold(self) -> None: ...

    def release(self) -> None: ...


class NetworkNode:
    def __init__(self, app: IrcServer, store: StoreClient | None = None) -> None:
        config = app.config
        self.app = app
        self.server = app.core
        self.node = config.network.node_id
        self.sessions: dict[str, User] = {}
        self.capture = Capture(self.server, self.sessions)
        self.replica = Replica(self.server, self.sessions)
        url = str(config.storage.url)
        self.client = NetworkClient(url, self.node, config.network.lease_seconds,
                                    config.network.event_retention_seconds)
        self.replica.submit = self.client.submit
        self.client.on_ready = self._ready
        self.client.on_remote = self._remote
        self.client.on_lost = self._lost
        self.outage = Notices(self.server)
        self.client.on_database = lambda reachable, text: self.outage.changed(
            reachable, [conn.user for conn in self.app.connections])
        self.seen: dict[str, int] = {}  # origin -> last seq applied
        self._nursery: trio.Nursery | None = None
        self._ended = trio.Event()
        self.server.nick_claims = self
        if store is not None:
            store.divert = self._divert
            store.barrier = self.client.written

    # ---- the event path ---------------------------------------------------------------

    def _divert(self, event: events.Event) -> bool:
        if isinstance(event, DIVERTED):
            self.client.submit_history(event)
            return True
        return False

    def on_event(self, event: events.Event) -> None:
        op = self.capture.op(event)
        if op is not None:
            self.client.submit(op)
            if op["t"] == "rename":
                self.replica.renamed_here(op)

    def _ready(self, snapshot: Any) -> None:
        self.seen = dict(snapshot.positions)
        self.replica.load(snapshot.users, snapshot.channels, snapshot.members, snapshot.extra)
        # Our users' server name, for the others' WHOIS, WHO and LUSERS.
        self.client.submit(node_op(self.node, self.server.name))
        log.info("node %s (epoch %d) sees %d users of other nodes", self.node, snapshot.epoch,
                 len(snapshot.users))

    def _remote(self, rows: list[tuple[str, int, dict[str, Any]]]) -> None:
        apply = self.replica.apply
        for origin, seq, op in rows:
            apply(origin, op)
            if seq:
                self.seen[origin] = seq
        self.replica.flush()

    def _lost(self, reason: str) -> None:
        log.error("node %s left the network: %s; closing its clients and joining again",
                  self.node, reason)
        for conn in list(self.app.connections):
            conn.quit_reason = "Node left the network"
            conn.close(closing_link(conn.user.host, "this node left the network"))
        # The other nodes' users as this node knew them; the next join reads them again.
        self.replica.reset()
        self.outage.reset()

    # ---- nick claims (core.nicks.NickClaims) ----------------------------------------------

    def holds(self, user: User, key: str) -> bool:
        if not hasattr(user.sink, "hold"):
            return True  # a bot: local to this node
        return user.ext.get("network") == key

    def claim(self, user: User, nick: str, then: Callable[[], None]) -> None:
        conn = user.sink
        nursery = self._nursery
        if nursery is None or not hasattr(conn, "hold"):
            self.server.numeric(user, N.ERR_NICKNAMEINUSE, nick,
                                "Nickname cannot be claimed now, try again")
            return
        self.outage.claim_starts(user)
        replies = self.server.defer_replies(user)
        conn.hold()  # type: ignore[attr-defined]
        nursery.start_soon(self._claim, conn, user, nick, replies, then)

    async def _claim(self, conn: Holding, user: User, nick: str, replies: Replies | None,
                     then: Callable[[], None]) -> None:
        server = self.server
        try:
            try:
                ok: bool | None = await self.client.claim(
                    user.session, nick, user.registered, server.micros(server.clock()))
            except NetworkUnavailable:
                ok = None
            if user not in server.connections:
                if ok and not user.registered:
                    self.client.submit({"t": "release", "session": user.session})
                return
            with server.replies.collecting(replies):
                if ok:
                    key = casefold(nick)
                    user.ext["network"] = key
                    stale = server.users.get(key)
                    if stale is not None and stale is not user and is_remote(stale):
                        # The database says its holder let it go; that news is still on
                        # its way here (the replica keys the user again when it comes).
                        del server.users[key]
                    then()
                elif ok is None:
                    server.numeric(user, N.ERR_NICKNAMEINUSE, nick,
                                   "Nickname cannot be claimed now, try again")
                else:
                    if not user.registered:
                        # As if the NICK had not been taken: 433 goes to "*", and the
                        # next NICK starts a new claim.
                        user.nick, user.key = "*", ""
                    server.numeric(user, N.ERR_NICKNAMEINUSE, nick, "Nickname is already in use")
        except Exception:
            log.exception("nick claim of %r failed", nick)
        finally:
            conn.release()

    # ---- service and stop ---------------------------------------------------------------

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        try:
            async with trio.open_nursery() as nursery:
                try:
                    await nursery.start(self._run_client)
                except RuntimeError as exc:
                    raise ConfigError(app.config.path, "network.node_id", str(exc)) from exc
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    async def _run_client(self, *, task_status: trio.TaskStatus[None]) -> None:
        """The first join is part of the start (its failure stops it); after a loss
        the node joins again, with a new epoch, backing off while it cannot."""
        try:
            await self.client.run(task_status=task_status)
            delay = REJOIN_INITIAL_S
            while not self.client.closing:
                await trio.sleep(delay)
                if self.client.closing:
                    break
                try:
                    await self.client.run()
                    delay = REJOIN_INITIAL_S
                except RuntimeError as exc:
                    log.error("node %s cannot join the network yet: %s", self.node, exc)
                    delay = min(delay * 2, REJOIN_MAX_S)
        finally:
            self._ended.set()

    async def stop(self) -> None:
        await self.client.stop()
        with trio.move_on_after(STOP_TIMEOUT_S):
            await self._ended.wait()


def network_feature(app: IrcServer, store: StoreClient | None = None) -> Extension:
    node = NetworkNode(app, store)
    return Extension(
        name="network",
        event_listeners=(node.on_event,),
        services=(node.serve,),
        shutdown_steps=(node.stop,),
        owner=node,
    )

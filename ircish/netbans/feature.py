"""The network bans feature: ``KLINE``/``UNKLINE``, ``DLINE``/``UNDLINE``, ``STATS k|d|u``.

``netbans_feature(app, store)`` is listed by ``ircish.app.build_server`` always;
``store`` is the history worker's client when ``[storage]`` is configured (bans
are rows of ``network_bans``, read at start before clients are accepted, and
every change goes there in order from one task), else None (bans last until the
server stops). The rule (masks, matching, expiry) is ``ircish.core.bans`` and
the list ``Server.bans``; the shell refuses a D-lined address at accept,
registration refuses a K-lined client, and a new ban disconnects the clients it
matches. A task removes bans whose time is up.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import trio

from ircish.accounts.records import AccountRequest
from ircish.core import bans
from ircish.core import numerics as N
from ircish.core.bans import DLINE, KLINE, Ban
from ircish.core.commands import Command
from ircish.core.extension import Extension

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.history.client import StoreClient
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.netbans")

NAMES = {KLINE: "K-line", DLINE: "D-line"}
DEFAULT_REASON = "No reason given"
# The expiry task looks again at least this often (seconds): the wall clock may jump.
_RECHECK = 60.0


class NetBans:
    def __init__(self, app: IrcServer, store: StoreClient | None) -> None:
        self.core: Server = app.core
        self.store = store
        self._changed = trio.Event()
        self._send, self._receive = trio.open_memory_channel[AccountRequest](math.inf)
        self._written = trio.Event()

    def now(self) -> int:
        return self.core.micros(self.core.clock())

    async def load(self) -> None:
        if self.store is None:
            log.info("bans: no [storage], K-lines and D-lines last until the server stops")
            return
        try:
            listed: list[Ban] = await self.store.account(AccountRequest("ban_list"))
        except Exception as exc:
            log.error("bans: cannot read the stored bans (%s)", exc)
            return
        now = self.now()
        for ban in listed:
            if not ban.expired(now):
                self.core.bans.add(ban)
        log.info("bans: %d K-line(s), %d D-line(s)", len(self.core.bans.active(KLINE, now)),
                 len(self.core.bans.active(DLINE, now)))

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        await self.load()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._writer)
            task_status.started()
            await self._expire_loop()

    def _save(self, request: AccountRequest) -> None:
        if self.store is not None:
            try:
                self._send.send_nowait(request)
            except trio.ClosedResourceError:  # shutting down: the log line says it
                log.warning("bans: %s after shutdown began, not stored", request.op)

    async def drain(self) -> None:
        """Shutdown step: the changes queued so far reach the database (the history
        worker still runs: its own step only flushes)."""
        self._send.close()
        await self._written.wait()

    async def _writer(self) -> None:
        # One task, so an UNKLINE never reaches the database before its KLINE.
        try:
            async for request in self._receive:
                if self.store is None:
                    continue
                try:
                    await self.store.account(request)
                except Exception as exc:
                    log.warning("bans: %s not stored: %s", request.op, exc)
        finally:
            self._written.set()

    async def _expire_loop(self) -> None:
        while True:
            following = self.core.bans.next_expiry()
            delay = _RECHECK
            if following is not None:
                delay = min(delay, max(0.0, (following - self.now()) / 1_000_000))
            with trio.move_on_after(delay):
                await self._changed.wait()
            self._changed = trio.Event()
            now = self.now()
            gone = self.core.bans.expire(now)
            for ban in gone:
                log.info("bans: %s %s expired (%s)", NAMES[ban.kind], ban.mask, ban.reason)
            if gone:
                self._save(AccountRequest("ban_expire", (now,)))

    # ---- commands -------------------------------------------------------------------

    def add(self, server: Server, user: User, msg: Message, kind: str) -> None:
        verb = msg.command.upper()
        parse = bans.parse_kline_mask if kind == KLINE else bans.parse_dline_mask
        params = list(msg.params)
        seconds: int | None = None
        first = params[0]
        # The first word is a duration if it is not a mask and either reads as one
        # or is followed by a mask ("KLINE nobody :reason" is a bad mask).
        if parse(first) is None and len(params) >= 2 and (
                bans.parse_duration(first) is not None or parse(params[1]) is not None):
            seconds = bans.parse_duration(first)
            if seconds is None:
                server.fail(user, verb, "INVALID_DURATION", first,
                            "Invalid duration: seconds, or a number with s, m, h, d or w "
                            f"(at most {bans.MAX_DURATION // 86400} days)")
                return
            params.pop(0)
        mask = parse(params[0])
        if mask is None:
            want = "user@host" if kind == KLINE else "an IP address or CIDR block"
            server.fail(user, verb, "INVALID_MASK", params[0],
                        f"Invalid mask: expected {want}, not everyone")
            return
        reason = params[1] if len(params) > 1 and params[1] else DEFAULT_REASON
        now = self.now()
        ban = Ban(kind, mask, reason, user.source, now, bans.expires_after(now, seconds))
        replaced = server.bans.add(ban)
        self._changed.set()
        self._save(AccountRequest("ban_add", (ban,)))
        lasting = f"for {seconds} seconds" if seconds else "permanently"
        log.info("bans: %s %s %s by %s (%s)%s", NAMES[kind], mask, lasting, user.source, reason,
                 " replacing an earlier one" if replaced else "")
        server.send_from_server(user, "NOTICE", user.nick,
                                f"Added {NAMES[kind]} {mask} {lasting}: {reason}")
        bans.enforce(server, ban)

    def remove(self, server: Server, user: User, msg: Message, kind: str) -> None:
        verb = msg.command.upper()
        parse = bans.parse_kline_mask if kind == KLINE else bans.parse_dline_mask
        mask = parse(msg.params[0])
        removed = server.bans.remove(kind, mask) if mask is not None else None
        if removed is None or removed.expired(self.now()):
            server.fail(user, verb, "NO_SUCH_BAN", msg.params[0], f"No such {NAMES[kind]}")
            return
        self._changed.set()
        self._save(AccountRequest("ban_del", (kind, removed.mask)))
        log.info("bans: %s %s removed by %s", NAMES[kind], removed.mask, user.source)
        server.send_from_server(user, "NOTICE", user.nick,
                                f"Removed {NAMES[kind]} {removed.mask}")

    def stats(self, server: Server, user: User, msg: Message) -> None:
        letter = msg.params[0][:1]
        kind = letter.upper()
        if kind in NAMES:
            if "o" not in user.modes:
                server.numeric(user, N.ERR_NOPRIVILEGES,
                               "Permission Denied- You're not an IRC operator")
                return
            now = self.now()
            for ban in server.bans.active(kind, now):
                reason = ban.reason
                if ban.expires:
                    left = max(1, (ban.expires - now) // 1_000_000)
                    reason = f"{reason} (expires in {left} s)"
                if kind == KLINE:
                    username, _, host = ban.mask.partition("@")
                    server.numeric(user, N.RPL_STATSKLINE, "K", host, "*", username, reason)
                else:
                    server.numeric(user, N.RPL_STATSDLINE, "D", ban.mask, reason)
        elif letter == "u":
            server.numeric(user, N.RPL_STATSUPTIME, server_up(server.clock() - server.started))
        server.numeric(user, N.RPL_ENDOFSTATS, letter or "*", "End of /STATS report")


def server_up(seconds: float) -> str:
    """RPL_STATSUPTIME's text, as RFC 2812 writes it."""
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"Server Up {days} days {hours:02}:{minutes:02}:{secs:02}"


def _handler(method: Any, kind: str) -> Any:
    return lambda server, user, msg: method(server, user, msg, kind)


KLINE_HELP = (
    "KLINE [duration] <user@host> [:reason]\n"
    "Operators: ban a user@host mask (wildcards * and ?) from the server, for a\n"
    "duration (seconds, or 30m, 2h, 1d, 1w) or for good; matching clients are\n"
    "disconnected. STATS k lists the K-lines."
)
UNKLINE_HELP = "UNKLINE <user@host>\nOperators: remove a K-line."
DLINE_HELP = (
    "DLINE [duration] <ip|cidr> [:reason]\n"
    "Operators: ban an IP address or a CIDR block (203.0.113.0/24), like KLINE;\n"
    "connections from it are refused at once. STATS d lists the D-lines."
)
UNDLINE_HELP = "UNDLINE <ip|cidr>\nOperators: remove a D-line."
STATS_HELP = (
    "STATS <letter>\n"
    "u: how long the server has been up (242). Operators only: k lists the\n"
    "K-lines (216), d the D-lines (225). Every answer ends with 219; any other\n"
    "letter gets that end line alone."
)


def netbans_feature(app: IrcServer, store: StoreClient | None) -> Extension:
    owner = NetBans(app, store)
    return Extension(
        name="netbans",
        commands=(
            Command("KLINE", _handler(owner.add, KLINE), min_params=1, oper_only=True,
                    help=KLINE_HELP),
            Command("UNKLINE", _handler(owner.remove, KLINE), min_params=1, oper_only=True,
                    help=UNKLINE_HELP),
            Command("DLINE", _handler(owner.add, DLINE), min_params=1, oper_only=True,
                    help=DLINE_HELP),
            Command("UNDLINE", _handler(owner.remove, DLINE), min_params=1, oper_only=True,
                    help=UNDLINE_HELP),
            Command("STATS", owner.stats, min_params=1, help=STATS_HELP),
        ),
        services=(owner.serve,),
        shutdown_steps=(owner.drain,),
        owner=owner,
    )


"""A scripted IRC server just big enough to exercise the client's optional features.

Real servers differ in which IRCv3 capabilities they offer; this one offers
exactly the ones a test asks for, serves CHATHISTORY from a list, and can
drop every connection on demand to test reconnecting.
"""

from __future__ import annotations

import itertools
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import trio

from ircish.protocol import parse
from ircish.protocol.message import format_line

SERVER = "fake.irc"


@dataclass
class Stored:
    time: datetime
    nick: str
    text: str
    msgid: str


def make_history(channel: str, count: int, start: datetime | None = None) -> list[Stored]:
    start = start or datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return [
        Stored(start + timedelta(minutes=i), f"old{i % 3}", f"{channel} message {i}", f"m{i}")
        for i in range(count)
    ]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class _Conn:
    stream: trio.abc.Stream
    nick: str = ""
    user: bool = False
    caps: set[str] = field(default_factory=set)
    negotiating: bool = False
    registered: bool = False


class FakeIrcd:
    def __init__(
        self,
        caps: dict[str, str] | None = None,
        taken: set[str] | None = None,
        history: dict[str, list[Stored]] | None = None,
        names: dict[str, list[str]] | None = None,
    ) -> None:
        self.caps = caps or {}
        self.taken = taken or set()
        self.history = history or {}
        self.names = names or {}
        self.received: list[str] = []
        self.connections = 0
        self.port = 0
        self._conns: list[_Conn] = []
        self._batch = itertools.count(1)
        self._msgid = itertools.count(1000)
        self.registered = trio.Event()

    async def serve(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        tcp = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = tcp[0].socket.getsockname()[1]
        listeners: list[trio.abc.Listener[trio.abc.Stream]] = list(tcp)
        if ssl_context is not None:
            listeners = [trio.SSLListener(t, ssl_context, https_compatible=True) for t in tcp]
        task_status.started(self.port)
        await trio.serve_listeners(self._handle, listeners)

    async def drop_all(self) -> None:
        for conn in list(self._conns):
            await conn.stream.aclose()
        self._conns.clear()
        self.registered = trio.Event()

    async def to_all(self, line: str) -> None:
        for conn in list(self._conns):
            await self._send(conn, line)

    def lines(self, verb: str) -> list[str]:
        return [line for line in self.received if line.split(" ")[0].upper() == verb]

    async def _send(self, conn: _Conn, line: str) -> None:
        try:
            await conn.stream.send_all((line + "\r\n").encode())
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def _handle(self, stream: trio.abc.Stream) -> None:
        conn = _Conn(stream)
        self._conns.append(conn)
        self.connections += 1
        buffer = b""
        try:
            while True:
                data = await stream.receive_some(4096)
                if not data:
                    return
                buffer += data
                while b"\r\n" in buffer:
                    raw, buffer = buffer.split(b"\r\n", 1)
                    line = raw.decode()
                    self.received.append(line)
                    if not await self._line(conn, line):
                        await stream.aclose()
                        return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        finally:
            if conn in self._conns:
                self._conns.remove(conn)

    async def _reply(self, conn: _Conn, command: str, *params: str) -> None:
        await self._send(conn, format_line(command, list(params), source=SERVER))

    def _tags(self, conn: _Conn, moment: datetime | None = None, msgid: str = "") -> dict[str, str]:
        tags: dict[str, str] = {}
        if "server-time" in conn.caps:
            tags["time"] = stamp(moment or datetime.now(UTC))
        if "message-tags" in conn.caps and msgid:
            tags["msgid"] = msgid
        return tags

    async def _line(self, conn: _Conn, line: str) -> bool:
        msg = parse(line)
        verb = msg.command.upper()
        nick = conn.nick or "*"
        if verb == "CAP":
            sub = msg.param(0).upper()
            if not self.caps:
                await self._reply(conn, "421", nick, "CAP", "Unknown command")
            elif sub == "LS":
                conn.negotiating = True
                offered = " ".join(f"{k}={v}" if v else k for k, v in self.caps.items())
                await self._reply(conn, "CAP", nick, "LS", offered)
            elif sub == "REQ":
                asked = msg.param(1).split()
                if all(a in self.caps for a in asked):
                    conn.caps.update(asked)
                    await self._reply(conn, "CAP", nick, "ACK", " ".join(asked))
                else:
                    await self._reply(conn, "CAP", nick, "NAK", " ".join(asked))
            elif sub == "END":
                conn.negotiating = False
                await self._maybe_welcome(conn)
        elif verb == "NICK":
            wanted = msg.param(0)
            if wanted in self.taken:
                await self._reply(conn, "433", nick, wanted, "Nickname is already in use")
            elif conn.registered:
                await self._send(conn, f":{conn.nick}!u@h NICK {wanted}")
                conn.nick = wanted
            else:
                conn.nick = wanted
                await self._maybe_welcome(conn)
        elif verb == "USER":
            conn.user = True
            await self._maybe_welcome(conn)
        elif verb == "PING":
            await self._reply(conn, "PONG", SERVER, msg.param(0))
        elif verb == "JOIN":
            for channel in msg.param(0).split(","):
                await self._send(conn, f":{conn.nick}!u@h JOIN {channel}")
                others = " ".join(self.names.get(channel, []))
                await self._reply(conn, "353", conn.nick, "=", channel, f"@{conn.nick} {others}")
                await self._reply(conn, "366", conn.nick, channel, "End of /NAMES list")
        elif verb in ("PRIVMSG", "NOTICE"):
            if "echo-message" in conn.caps:
                tags = self._tags(conn, msgid=f"e{next(self._msgid)}")
                await self._send(
                    conn, format_line(verb, msg.params, source=f"{conn.nick}!u@h", tags=tags)
                )
        elif verb == "CHATHISTORY":
            await self._chathistory(conn, msg.params)
        elif verb == "QUIT":
            await self._send(conn, f"ERROR :Closing link ({msg.param(0)})")
            return False
        return True

    async def _maybe_welcome(self, conn: _Conn) -> None:
        if conn.registered or conn.negotiating or not conn.nick or not conn.user:
            return
        conn.registered = True
        await self._reply(conn, "001", conn.nick, f"Welcome {conn.nick}")
        await self._reply(
            conn, "005", conn.nick, "PREFIX=(ov)@+", "CHANTYPES=#", "CHATHISTORY=100",
            "are supported",
        )  # fmt: skip
        await self._reply(conn, "376", conn.nick, "End of MOTD")
        self.registered.set()

    async def _chathistory(self, conn: _Conn, params: list[str]) -> None:
        sub, target, anchor, limit = [*params, "", "", "", "50"][:4]
        stored = self.history.get(target, [])
        if sub.upper() == "BEFORE" and anchor.startswith("msgid="):
            ids = [s.msgid for s in stored]
            wanted = anchor[6:]
            stored = stored[: ids.index(wanted)] if wanted in ids else []
        stored = stored[-int(limit) :]
        ref = f"b{next(self._batch)}"
        await self._send(conn, f":{SERVER} BATCH +{ref} chathistory {target}")
        for item in stored:
            tags = {"batch": ref, **self._tags(conn, item.time, item.msgid)}
            await self._send(
                conn,
                format_line("PRIVMSG", [target, item.text], source=f"{item.nick}!u@h", tags=tags),
            )
        await self._send(conn, f":{SERVER} BATCH -{ref}")

"""A scripted IRC server just big enough to exercise the client's optional features.

Real servers differ in which IRCv3 capabilities they offer; this one offers
exactly the ones a test asks for, serves CHATHISTORY from a list, and can
drop every connection on demand to test reconnecting.

Its SASL side (PLAIN, and SCRAM-SHA-256 from RFC 5802 section 3) is written
here from the RFCs with hashlib alone, not with ircish's SCRAM code, so a
mistake in that code cannot cancel out against the same mistake here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
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
    # The connection's own task and a test's to_all may send at once.
    sending: trio.Lock = field(default_factory=trio.Lock)
    nick: str = ""
    user: bool = False
    caps: set[str] = field(default_factory=set)
    negotiating: bool = False
    registered: bool = False
    sasl: str = ""  # the mechanism under way
    sasl_chunks: list[str] = field(default_factory=list)
    scram: dict[str, str | bytes] = field(default_factory=dict)
    account: str = ""


class FakeIrcd:
    def __init__(
        self,
        caps: dict[str, str] | None = None,
        taken: set[str] | None = None,
        history: dict[str, list[Stored]] | None = None,
        names: dict[str, list[str]] | None = None,
        accounts: dict[str, str] | None = None,
        mechanisms: list[str] | None = None,
        bad_signature: bool = False,
    ) -> None:
        self.caps = caps or {}
        # account -> password; what SASL checks and REGISTER adds to
        self.accounts = accounts if accounts is not None else {}
        listed = self.caps.get("sasl", "")
        self.mechanisms = mechanisms or [m for m in listed.split(",") if m]
        self.bad_signature = bad_signature
        self.logins: list[tuple[str, str]] = []  # (mechanism, account) that succeeded
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
            async with conn.sending:
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
        elif verb == "AUTHENTICATE":
            await self._authenticate(conn, msg.param(0))
        elif verb == "REGISTER":
            account, password = conn.nick, msg.param(2)
            if account in self.accounts:
                await self._reply(
                    conn, "FAIL", "REGISTER", "ACCOUNT_EXISTS", account, "Account already exists"
                )
            else:
                self.accounts[account] = password
                await self._reply(conn, "REGISTER", "SUCCESS", account, "Account created")
        elif verb in ("PRIVMSG", "NOTICE"):
            if msg.param(0).lower() == "nickserv" and msg.param(1).upper().startswith("REGISTER "):
                words = msg.param(1).split()
                self.accounts[conn.nick] = words[1]
                await self._send(
                    conn, f":NickServ!services@services NOTICE {conn.nick} "
                    f":Nickname {conn.nick} registered (email: {words[2:] or 'none'})",
                )  # fmt: skip
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

    # -- SASL -------------------------------------------------------------------

    async def _authenticate(self, conn: _Conn, param: str) -> None:
        nick = conn.nick or "*"
        if not conn.sasl:
            mech = param.upper()
            if mech not in self.mechanisms:
                await self._reply(conn, "908", nick, ",".join(self.mechanisms), "are available")
                await self._reply(conn, "904", nick, "SASL authentication failed")
                return
            conn.sasl, conn.sasl_chunks, conn.scram = mech, [], {}
            await self._send(conn, "AUTHENTICATE +")
            return
        if param == "*":
            conn.sasl = ""
            await self._reply(conn, "906", nick, "SASL authentication aborted")
            return
        if param != "+":
            conn.sasl_chunks.append(param)
            if len(param) == 400:
                return  # more of the same message follows
        data = base64.b64decode("".join(conn.sasl_chunks))
        conn.sasl_chunks = []
        if conn.sasl == "PLAIN":
            _authzid, authcid, password = data.decode().split("\0")
            await self._finish(conn, authcid if self.accounts.get(authcid) == password else "")
        else:
            await self._scram_step(conn, data.decode())

    async def _scram_step(self, conn: _Conn, text: str) -> None:
        state = conn.scram
        if not state:  # client-first-message: gs2 header, then n=user,r=nonce
            bare = text.split(",", 2)[2]
            fields = dict(item.split("=", 1) for item in bare.split(","))
            user = fields["n"].replace("=2C", ",").replace("=3D", "=")
            if user not in self.accounts:
                await self._finish(conn, "")
                return
            salt = secrets.token_bytes(16)
            nonce = fields["r"] + secrets.token_hex(12)
            first = f"r={nonce},s={base64.b64encode(salt).decode()},i=4096"
            state.update(user=user, bare=bare, first=first, nonce=nonce, salt=salt)
            await self._send(conn, "AUTHENTICATE " + base64.b64encode(first.encode()).decode())
            return
        if "final" in state:  # the client's empty answer to server-final
            await self._finish(conn, str(state["user"]) if text == "" else "")
            return
        without_proof, _, proof_b64 = text.rpartition(",p=")
        salted = hashlib.pbkdf2_hmac(
            "sha256", self.accounts[str(state["user"])].encode(), bytes(state["salt"]), 4096
        )
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        auth = f"{state['bare']},{state['first']},{without_proof}".encode()
        signature = hmac.new(stored_key, auth, "sha256").digest()
        proof = base64.b64decode(proof_b64)
        recovered = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if without_proof != f"c=biws,r={state['nonce']}" or (
            hashlib.sha256(recovered).digest() != stored_key
        ):
            await self._finish(conn, "")
            return
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        server_signature = hmac.new(server_key, auth, "sha256").digest()
        if self.bad_signature:
            server_signature = bytes(32)
        state["final"] = "v=" + base64.b64encode(server_signature).decode()
        await self._send(
            conn, "AUTHENTICATE " + base64.b64encode(str(state["final"]).encode()).decode()
        )

    async def _finish(self, conn: _Conn, account: str) -> None:
        nick = conn.nick or "*"
        mech, conn.sasl = conn.sasl, ""
        if not account:
            await self._reply(conn, "904", nick, "SASL authentication failed")
            return
        conn.account = account
        self.logins.append((mech, account))
        await self._reply(
            conn, "900", nick, f"{nick}!u@h", account, f"You are now logged in as {account}"
        )
        await self._reply(conn, "903", nick, "SASL authentication successful")

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

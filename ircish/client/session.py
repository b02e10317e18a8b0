"""The client side of the IRC protocol, sans-IO: lines in, lines out, buffers updated.

``connection.py`` owns the socket and calls :meth:`Session.connection_made`,
:meth:`Session.handle_line` and :meth:`Session.connection_lost`; everything the
session wants to send goes through the ``send`` function it was handed. That
split keeps registration, capability negotiation, nick retry and history
handling testable with a list standing in for the network.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ircish.client import masks, mirc, numerics, search
from ircish.client.isupport import ISupport
from ircish.client.model import (
    LIST_BUFFER,
    Buffer,
    BufferKind,
    Buffers,
    Line,
    LineKind,
    Member,
    now,
)
from ircish.client.sasl import (
    FAILURES,
    ChallengeReader,
    Mechanism,
    SaslSettings,
    choose,
    encode_response,
    mechanism,
    offered_mechanisms,
)
from ircish.client.scram import ScramFailure
from ircish.client.text import (
    count,
    format_server_time,
    mentions,
    parse_server_time,
    split_utf8,
    strip_formatting,
)
from ircish.protocol import Message, ProtocolError, parse
from ircish.protocol.message import format_line

# Everything here is optional: without any of them the client still works, it
# just loses exact times, history and the rest.
WANTED_CAPS = (
    "server-time",
    "message-tags",
    "batch",
    "echo-message",
    "draft/chathistory",
    "multi-prefix",
    "away-notify",
    "cap-notify",
    "draft/read-marker",
    search.CAP,
)
READ_MARKER = "draft/read-marker"
# CHATHISTORY TARGETS after connecting looks this far back for private conversations.
TARGETS_WINDOW = timedelta(days=7)

HISTORY_BATCH_TYPES = ("chathistory", "draft/chathistory")
CLIENT_VERSION = "ircish-client 0.1"
ACCOUNT_REGISTRATION = "draft/account-registration"
SERVICES = "NickServ"
# Words after which a line to services carries a password; our own copy of
# such a line (local or echoed) is shown with the rest masked.
SECRET_VERBS = ("REGISTER", "IDENTIFY", "GHOST", "RECOVER")
# A message stamped this long before our join is replayed history, not news;
# the slack absorbs clock differences between client and server.
REPLAY_SLACK = timedelta(seconds=10)


def mask_secret(target: str, text: str) -> str:
    """Our own line to services as it may be shown: no password in it."""
    verb, _, rest = text.partition(" ")
    if target.lower() == SERVICES.lower() and verb.upper() in SECRET_VERBS and rest:
        return f"{verb} ****"
    return text


@dataclass(frozen=True)
class Identity:
    """Who we say we are at registration."""

    nick: str
    username: str = "ircish"
    realname: str = "ircish user"
    password: str | None = field(default=None, repr=False)


@dataclass
class _Batch:
    kind: str
    params: list[str]
    messages: list[Message] = field(default_factory=list)


Send = Callable[[str], None]
EventHook = Callable[[str, str], None]


class Session:
    """Protocol state for one client: registration, capabilities, channels, history.

    It survives reconnects; per-connection state is reset in :meth:`connection_made`.
    """

    def __init__(
        self,
        identity: Identity,
        buffers: Buffers,
        autojoin: list[str] | None = None,
        history_lines: int = 50,
        sasl: SaslSettings | None = None,
        highlights: list[str] | None = None,
        ignores: list[str] | None = None,
    ) -> None:
        self.identity = identity
        self.highlights = list(highlights or [])
        self.ignores = list(ignores or [])  # nicks or masks whose lines are dropped
        # nick (casefolded) -> user@host, from every line's source: /ban NICK needs a host.
        self.userhosts: dict[str, str] = {}
        self._pending_bans: dict[str, list[str]] = {}
        self._list_rows: list[tuple[str, str, str]] = []
        self._list_request: tuple[str, str] = ("", "users")
        self._searches: list[search.Query] = []  # asked and not yet answered, in order
        self._error_reason: str | None = None
        # Query windows asked for LATEST (and their read marker) on this link; by window,
        # so one closed and opened again is asked again.
        self._query_history: dict[str, Buffer] = {}
        self.sasl = sasl
        self.account: str | None = None  # what the server says we are logged in as
        self.buffers = buffers
        self.autojoin = list(autojoin or [])
        self.history_lines = history_lines
        self.nick = identity.nick
        self.isupport = ISupport()
        self.caps: set[str] = set()
        self.registered = False
        self.ever_registered = False
        self.away = False
        self.away_message = "away"  # what /away said last, set again after a reconnect
        # The list and search windows take the focus; plain mode keeps it where the
        # script's lines go.
        self.focus_results = True
        self.quitting = False
        # For plain mode's pacing: ("registered", nick), ("joined", channel),
        # ("lost", reason), and ("closed", "") once the connection stops for good.
        self.on_event: EventHook = lambda kind, arg: None
        self._send: Send | None = None
        self._offered: dict[str, str] = {}
        self._negotiating = False
        self._cap_requests = 0  # CAP REQs sent during negotiation and not yet answered
        self._sasl_mech: Mechanism | None = None  # the exchange under way
        self._sasl_reader = ChallengeReader()
        self._sasl_tried: set[str] = set()
        self._sasl_offered: list[str] | None = None
        self._sasl_final = False  # no retry with another mechanism
        self._sasl_settled = False  # its outcome was shown
        self._nick_attempt = 0
        self._batches: dict[str, _Batch] = {}
        self._names: dict[str, dict[str, Member]] = {}
        self._names_requested: set[str] = set()
        self._focus_on_join: set[str] = set()
        self._rejoin: list[str] = []
        self._history_before: set[str] = set()
        self._handlers: dict[str, Callable[[Message], None]] = {
            "PING": self._on_ping,
            "CAP": self._on_cap,
            "001": self._on_welcome,
            "005": self._on_isupport,
            "432": self._on_bad_nick,
            "433": self._on_bad_nick,
            "437": self._on_bad_nick,
            "PRIVMSG": self._on_chat,
            "NOTICE": self._on_chat,
            "JOIN": self._on_join,
            "PART": self._on_part,
            "KICK": self._on_kick,
            "QUIT": self._on_quit,
            "NICK": self._on_nick,
            "TOPIC": self._on_topic,
            "332": self._on_rpl_topic,
            "333": self._on_rpl_topic_who,
            "353": self._on_names,
            "366": self._on_end_of_names,
            "MODE": self._on_mode,
            "AWAY": self._on_away,
            "305": self._on_unaway,
            "306": self._on_nowaway,
            "BATCH": self._on_batch,
            "ERROR": self._on_error,
            "INVITE": self._on_invite,
            "AUTHENTICATE": self._on_authenticate,
            "900": self._on_logged_in,
            "901": self._on_logged_out,
            "902": self._on_sasl_failed,
            "903": self._on_sasl_success,
            "904": self._on_sasl_failed,
            "905": self._on_sasl_failed,
            "906": self._on_sasl_failed,
            "907": self._on_sasl_already,
            "908": self._on_sasl_mechs,
            "REGISTER": self._on_register_reply,
            "VERIFY": self._on_register_reply,
            "302": self._on_userhost,
            "321": self._on_list_start,
            "322": self._on_list_entry,
            "323": self._on_list_end,
            "CHATHISTORY": self._on_chathistory,
            "MARKREAD": self._on_markread,
            "FAIL": self._on_standard_reply,
            "WARN": self._on_standard_reply,
            "NOTE": self._on_standard_reply,
        }
        buffers.on_read = self._send_markread

    # -- connection lifetime ---------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._send is not None

    def connection_made(self, send: Send) -> None:
        self._send = send
        self.registered = False
        self.caps = set()
        self._offered = {}
        self._batches = {}
        self._names = {}
        self._nick_attempt = 0
        self.nick = self.identity.nick
        self.isupport = ISupport()
        self.buffers.casefold = self.isupport.casefold
        self._negotiating = True
        self._cap_requests = 0
        self.account = None
        self._sasl_mech = None
        self._sasl_reader = ChallengeReader()
        self._sasl_tried = set()
        self._sasl_offered = None
        self._sasl_final = False
        self._sasl_settled = False
        self._error_reason = None
        self._query_history = {}
        self._searches = []
        self.userhosts = {}
        self._pending_bans = {}
        if self.identity.password:
            self.send("PASS", self.identity.password)
        self.send("CAP", "LS", "302")
        self.send("NICK", self.nick)
        self.send("USER", self.identity.username, "0", "*", self.identity.realname)

    def connection_lost(self, reason: str) -> None:
        was_connected = self._send is not None
        # The server's ERROR says why far better than "connection closed".
        reason = self._error_reason or reason
        self._send = None
        self.registered = False
        if not was_connected:
            return
        rejoin = [b.name for b in self.buffers.channels() if b.joined]
        if rejoin:
            self._rejoin = rejoin
        for buffer in self.buffers.channels():
            buffer.joined = False
            buffer.members.clear()
            buffer.history_pending = False
        if self.quitting:
            self.info(f"Disconnected: {reason}")
        else:
            self.buffers.add_everywhere(Line(now(), "error", f"Disconnected: {reason}"))
        self.on_event("lost", reason)

    def connect_failed(self, reason: str, retry_in: float | None) -> None:
        text = f"Could not connect: {reason}"
        if retry_in is not None:
            text += f" (retrying in {retry_in:.0f}s)"
        self.info(text, kind="error")

    # -- sending -----------------------------------------------------------------

    def send(self, command: str, *params: str, tags: dict[str, str] | None = None) -> bool:
        if self._send is None:
            return False
        self._send(format_line(command, list(params), tags=tags))
        return True

    def send_raw(self, line: str) -> bool:
        if self._send is None:
            return False
        self._send(line)
        return True

    def say(self, target: str, text: str, *, action: bool = False, notice: bool = False) -> bool:
        """Send a message; shown locally unless the server will echo it back."""
        if not self.connected:
            self.info("Not connected.", kind="error", buffer=self.buffers.current)
            return False
        command = "NOTICE" if notice else "PRIVMSG"
        # Room for ":nick!user@host PRIVMSG target :" that the server puts in front.
        overhead = len(f":{self.nick}!{self.identity.username}@{'h' * 63} {command} {target} :")
        overhead += 9 if action else 0
        if (sent_from := self.buffers.get(target)) is not None:
            self.buffers.mark_read(sent_from)  # answering means having read it
        for piece in split_utf8(text, 510 - overhead):
            payload = f"\x01ACTION {piece}\x01" if action else piece
            self.send(command, target, payload)
            if "echo-message" not in self.caps:
                kind: LineKind = "action" if action else "notice" if notice else "message"
                buffer = self._target_buffer(target, self.nick, own=True)
                shown = mask_secret(target, piece)
                self.buffers.add(buffer, Line(now(), kind, shown, nick=self.nick, own=True))
        return True

    def join(
        self, channels: list[str], keys: list[str] | None = None, *, focus: bool = True
    ) -> bool:
        names = [self.channel_name(c) for c in channels if c]
        if focus and names:
            self._focus_on_join.add(self.buffers.casefold(names[0]))
        params = [",".join(names)]
        if keys:
            params.append(",".join(keys))
        return self.send("JOIN", *params)

    def request_names(self, channel: str) -> bool:
        self._names_requested.add(self.buffers.casefold(channel))
        return self.send("NAMES", channel)

    def request_older(self, buffer: Buffer) -> bool:
        """Ask for the history before the oldest line shown, once at a time."""
        if (
            "draft/chathistory" not in self.caps
            or buffer.kind not in (BufferKind.CHANNEL, BufferKind.QUERY)
            or buffer.history_pending
            or buffer.history_exhausted
        ):
            return False
        oldest = buffer.oldest_line()
        if oldest is None:
            anchor = "timestamp=" + format_server_time(now())
        elif oldest.msgid:
            anchor = "msgid=" + oldest.msgid
        else:
            anchor = "timestamp=" + format_server_time(oldest.time)
        buffer.history_pending = True
        self._history_before.add(self.buffers.casefold(buffer.name))
        return self.send("CHATHISTORY", "BEFORE", buffer.name, anchor, str(self._history_limit()))

    def open_query(self, nick: str, *, focus: bool = False) -> Buffer:
        """A private window with ``nick``; its recent history is asked for once per link."""
        buffer = self.buffers.open(nick, BufferKind.QUERY, focus=focus)
        self._query_latest(buffer)
        return buffer

    def _query_latest(self, buffer: Buffer) -> None:
        """A query window's marker and recent history, asked for once per window and link."""
        key = self.buffers.casefold(buffer.name)
        if not self.registered or self._query_history.get(key) is buffer:
            return
        self._query_history[key] = buffer
        if READ_MARKER in self.caps:
            # The server sends a channel's marker at JOIN; a nick's must be asked for.
            self.send("MARKREAD", buffer.name)
        if "draft/chathistory" in self.caps:
            buffer.history_pending = True
            self.send("CHATHISTORY", "LATEST", buffer.name, "*", str(self._history_limit()))

    def request_list(self, pattern: str = "", sort: str = "users") -> bool:
        """LIST into the list window, filtered by ``pattern`` here (servers differ in
        what LIST masks they take) and sorted by user count or name."""
        self._list_request = (pattern, sort)
        self._list_rows = []
        return self.send("LIST")

    def search(self, query: search.Query) -> str | None:
        """Send SEARCH; the answer fills the search window. Else why not, in words."""
        if not self.connected:
            return "Not connected."
        if search.CAP not in self.caps or "batch" not in self.caps:
            # Without a batch its results could not be told from messages said now.
            return (
                "This server does not offer search (no soju.im/search capability); "
                "PageUp in a window pages through its history instead"
            )
        self._searches.append(query)
        self.send("SEARCH", search.attributes(query))
        return None

    def ban_mask(self, target: str) -> str | None:
        """The mask to ban for a nick or mask; None when the nick's host is unknown."""
        if masks.is_mask(target):
            return masks.normalise(target)
        userhost = self.userhosts.get(self.buffers.casefold(target))
        return masks.host_ban(userhost) if userhost else None

    def ban(self, channel: str, targets: list[str]) -> bool:
        """+b for each nick or mask; a nick whose host we have not seen is asked for."""
        if not self.connected:
            return False
        known: list[str] = []
        for target in targets:
            mask = self.ban_mask(target)
            if mask is not None:
                known.append(mask)
            else:
                self._pending_bans.setdefault(self.buffers.casefold(target), []).append(channel)
        waiting = list(self._pending_bans)
        for start in range(0, len(waiting), 5):  # USERHOST takes five nicks
            self.send("USERHOST", *waiting[start : start + 5])
        for start in range(0, len(known), self.isupport.modes_per_line):
            chunk = known[start : start + self.isupport.modes_per_line]
            self.send("MODE", channel, "+" + "b" * len(chunk), *chunk)
        return True

    def is_ignored(self, source: str | None) -> bool:
        if not source or not self.ignores:
            return False
        return any(masks.matches(mask, source, self.buffers.casefold) for mask in self.ignores)

    def set_away(self, message: str) -> bool:
        """AWAY with ``message``, or back with an empty one; kept for reconnects."""
        if message:
            self.away_message = message
            return self.send("AWAY", message)
        return self.send("AWAY")

    def quit(self, reason: str) -> bool:
        self.quitting = True
        return self.send("QUIT", reason)

    # -- receiving ---------------------------------------------------------------

    def handle_line(self, line: str) -> None:
        if not line.strip():
            return
        try:
            msg = parse(line)
        except ProtocolError:
            return
        try:
            self.handle(msg)
        except Exception as exc:
            # One odd line from some server must not take the whole client down;
            # say what happened so it can be reported.
            self.info(f"Could not handle {line!r}: {exc!r}", kind="error")

    def handle(self, msg: Message) -> None:
        msg.command = msg.command.upper()
        if msg.source and "!" in msg.source:
            nick, _, userhost = msg.source.partition("!")
            self.userhosts[self.buffers.casefold(nick)] = userhost
        batch_ref = msg.tags.get("batch")
        if batch_ref and batch_ref in self._batches and msg.command != "BATCH":
            self._batches[batch_ref].messages.append(msg)
            return
        handler = self._handlers.get(msg.command)
        if handler is not None:
            handler(msg)
        elif msg.command.isdigit():
            self._on_numeric(msg)

    # -- helpers -----------------------------------------------------------------

    def info(
        self,
        text: str,
        *,
        kind: LineKind = "info",
        buffer: Buffer | None = None,
        time: datetime | None = None,
    ) -> None:
        target = buffer or self.buffers.server
        self.buffers.add(target, Line(time or now(), kind, text))

    def is_me(self, nick: str) -> bool:
        return self.buffers.casefold(nick) == self.buffers.casefold(self.nick)

    def _history_limit(self) -> int:
        limit = self.isupport.chathistory_limit
        return min(self.history_lines, limit) if limit > 0 else self.history_lines

    def channel_name(self, name: str) -> str:
        return name if self.isupport.is_channel(name) else "#" + name

    def _target_buffer(self, target: str, nick: str, *, own: bool) -> Buffer:
        """Where a message belongs: its channel, or the query with the other person."""
        stripped = target.lstrip(self.isupport.prefix_chars)  # STATUSMSG such as @#chan
        if self.isupport.is_channel(stripped):
            return self.buffers.open(stripped, BufferKind.CHANNEL)
        other = target if own else nick
        return self.open_query(other)

    def _time(self, msg: Message) -> datetime:
        """When it happened: the server-time tag when the server sends one."""
        return parse_server_time(msg.tags.get("time")) or now()

    def _numeric_text(self, msg: Message) -> str:
        return numerics.generic(msg.params[1:])

    # -- registration --------------------------------------------------------------

    def _on_ping(self, msg: Message) -> None:
        self.send("PONG", *msg.params)

    def _on_cap(self, msg: Message) -> None:
        sub = msg.param(1).upper()
        if sub == "LS":
            more = msg.param(2) == "*"
            for item in msg.params[-1].split():
                name, _, value = item.partition("=")
                self._offered[name] = value
            if not more and self._negotiating:
                self._request_caps()
        elif sub == "ACK":
            acked = msg.params[-1].split()
            for name in acked:
                if name.startswith("-"):
                    self.caps.discard(name[1:])
                else:
                    self.caps.add(name)
            self._cap_answered()
            if "sasl" in acked and self._negotiating and self.sasl is not None:
                self._sasl_next()
            self._end_negotiation()
        elif sub == "NAK":
            self._cap_answered()
            if "sasl" in msg.params[-1].split() and self._negotiating:
                self._sasl_give_up("the server refused the sasl capability")
            self._end_negotiation()
        elif sub == "NEW":
            offered = [item.partition("=") for item in msg.params[-1].split()]
            for name, _, value in offered:
                self._offered[name] = value
            new = [name for name, _, _ in offered if name in WANTED_CAPS]
            if new:
                self.send("CAP", "REQ", " ".join(new))
        elif sub == "DEL":
            for name in msg.params[-1].split():
                self.caps.discard(name)
                self._offered.pop(name, None)

    def _request_caps(self) -> None:
        wanted = [c for c in WANTED_CAPS if c in self._offered]
        if wanted:
            self._cap_requests += 1
            self.send("CAP", "REQ", " ".join(wanted))
        if self.sasl is not None:
            if "sasl" in self._offered:
                # Its own request, so a server refusing one of the others
                # cannot cost us the login, nor the login the others.
                self._sasl_offered = offered_mechanisms(self._offered["sasl"])
                self._cap_requests += 1
                self.send("CAP", "REQ", "sasl")
            else:
                self._sasl_give_up("the server does not offer SASL")
        self._end_negotiation()

    def _cap_answered(self) -> None:
        if self._negotiating:
            self._cap_requests = max(0, self._cap_requests - 1)

    def _end_negotiation(self) -> None:
        """CAP END once every request is answered and no login is under way."""
        if (
            self._negotiating
            and self._cap_requests == 0
            and self._sasl_mech is None
            and not self.quitting
        ):
            self._negotiating = False
            self.send("CAP", "END")

    # -- SASL ----------------------------------------------------------------------

    def _sasl_next(self) -> None:
        """Start the best mechanism not yet tried, or give up."""
        assert self.sasl is not None
        name = choose(self._sasl_offered, self._sasl_tried, self.sasl.allow_plain)
        if name is None:
            offered = self._sasl_offered or []
            if "PLAIN" in offered and "PLAIN" not in self._sasl_tried:
                reason = (
                    "the server offers only PLAIN, which would show the password on a "
                    "link without checked TLS: use --tls, or set sasl_plain_without_tls = true"
                )
            else:
                reason = "no mechanism we know: the server offers " + (
                    ",".join(offered) or "none"
                )
            self._sasl_give_up(reason)
            return
        self._sasl_tried.add(name)
        self._sasl_mech = mechanism(name, self.sasl)
        self._sasl_reader = ChallengeReader()
        self.send("AUTHENTICATE", name)

    def _on_authenticate(self, msg: Message) -> None:
        if self._sasl_mech is None:
            return
        try:
            data = self._sasl_reader.feed(msg.param(0, "+"))
            if data is None:
                return
            answer = self._sasl_mech.respond(data)
        except (ValueError, ScramFailure) as exc:
            # Abort; the server's 906 ends the exchange. No other mechanism is
            # tried: a server that failed SCRAM must not be shown the password.
            self._sasl_final = True
            self.info(f"SASL: {exc}; login aborted", kind="error")
            self.send("AUTHENTICATE", "*")
            return
        if answer is not None:
            for chunk in encode_response(answer):
                self.send("AUTHENTICATE", chunk)

    def _on_logged_in(self, msg: Message) -> None:
        self.account = msg.param(2) or None
        self.info(msg.params[-1] if len(msg.params) > 3 else f"Logged in as {self.account}")

    def _on_logged_out(self, msg: Message) -> None:
        self.account = None
        self.info(msg.params[-1] if len(msg.params) > 2 else "You are now logged out")

    def _on_sasl_success(self, msg: Message) -> None:
        if self._sasl_mech is None:
            return
        self.info(f"SASL login succeeded ({self._sasl_mech.name})")
        self._sasl_mech = None
        self._sasl_settled = True
        self._end_negotiation()

    def _on_sasl_already(self, msg: Message) -> None:
        self._sasl_mech = None
        self._sasl_settled = True
        self.info(self._numeric_text(msg) or "You are already logged in")
        self._end_negotiation()

    def _on_sasl_mechs(self, msg: Message) -> None:
        # 908 comes before the 904 that ends a try with an unknown mechanism.
        self._sasl_offered = offered_mechanisms(msg.param(1))

    def _on_sasl_failed(self, msg: Message) -> None:
        current = self._sasl_mech
        if current is None:
            self._on_numeric(msg)
            return
        self._sasl_mech = None
        retry = (
            msg.command == "904"
            and not self._sasl_final
            and self._sasl_offered is not None
            and current.name not in self._sasl_offered
        )
        if retry:
            # We guessed a mechanism the server did not list; its 908 said which.
            self._sasl_next()
            if self._sasl_mech is not None:
                return
        else:
            said = msg.params[-1] if len(msg.params) > 1 else ""
            reason = f"{FAILURES.get(msg.command, 'failed')} ({msg.command}: {said})"
            self._sasl_give_up(f"{current.name} {reason}")
        self._end_negotiation()

    def _sasl_give_up(self, reason: str) -> None:
        """Say why there is no login; then stop, or carry on as a guest."""
        assert self.sasl is not None
        self._sasl_mech = None
        self._sasl_settled = True
        text = f"SASL login as {self.sasl.account} failed: {reason}"
        if self.sasl.required:
            self.info(f"{text}. Disconnecting (SASL is required).", kind="error")
            self.quit("SASL login failed")
            return
        self.info(f"{text}. Continuing without logging in.", kind="error")
        self._end_negotiation()

    # -- accounts ------------------------------------------------------------------

    def register(self, password: str, email: str | None = None) -> bool:
        """Register an account for the current nick: IRCv3 REGISTER, else NickServ."""
        if not self.connected:
            return False
        if ACCOUNT_REGISTRATION in self._offered:
            options = self._offered[ACCOUNT_REGISTRATION].split(",")
            if "email-required" in options and not email:
                self.info("This server needs an email: /register PASSWORD EMAIL", kind="error",
                          buffer=self.buffers.current)  # fmt: skip
                return True
            self.info(f"Registering the account {self.nick}...", buffer=self.buffers.current)
            return self.send("REGISTER", "*", email or "*", password)
        words = ["REGISTER", password] + ([email] if email else [])
        self.info(f"Asking {SERVICES} to register {self.nick}...", buffer=self.buffers.current)
        return self.send("PRIVMSG", SERVICES, " ".join(words))

    def verify(self, account: str, code: str) -> bool:
        return self.send("VERIFY", account, code)

    def _on_register_reply(self, msg: Message) -> None:
        status, account = msg.param(0).upper(), msg.param(1)
        said = msg.params[-1] if len(msg.params) > 2 else ""
        verb = "Registration" if msg.command == "REGISTER" else "Verification"
        if status == "SUCCESS":
            text = f"{verb} of {account} succeeded: {said}"
        elif status == "VERIFICATION_REQUIRED":
            text = f"Account {account} needs verifying: {said} (then /verify {account} CODE)"
        else:
            text = f"{verb} of {account}: {status} {said}"
        self.info(text.rstrip(": "), buffer=self.buffers.current)

    def _on_bad_nick(self, msg: Message) -> None:
        if self.registered:
            self.info(self._numeric_text(msg), kind="error", buffer=self.buffers.current)
            return
        self._nick_attempt += 1
        base = self.identity.nick
        if msg.command == "432":
            base = "guest"
        if self._nick_attempt <= 2 and msg.command != "432":
            candidate = base + "_" * self._nick_attempt
        else:
            candidate = f"{base[:12]}{random.randint(10, 9999)}"
        self.info(f"Nickname {msg.param(1)} is unavailable, trying {candidate}")
        self.nick = candidate
        self.send("NICK", candidate)

    def _on_welcome(self, msg: Message) -> None:
        self.registered = True
        self._negotiating = False
        self.nick = msg.param(0, self.nick)
        self.info(msg.params[-1] if len(msg.params) > 1 else "Connected", time=self._time(msg))
        if self.sasl is not None and not self._sasl_settled:
            self._sasl_give_up("the server does not negotiate capabilities")
            if self.quitting:
                return
        rejoining = self.ever_registered
        # A channel whose window was closed while we were away stays left.
        rejoin = [name for name in self._rejoin if self.buffers.get(name) is not None]
        channels = rejoin if rejoining else self.autojoin
        self.ever_registered = True
        self._rejoin = []
        if channels:
            # After a reconnect the user stays in the window they were reading.
            self.join(channels, focus=not self._focus_on_join and not rejoining)
        if self.away:
            self.send("AWAY", self.away_message)
        if "draft/chathistory" in self.caps:
            # Private conversations had while we were away (or on another device).
            end = now()
            self.send(
                "CHATHISTORY",
                "TARGETS",
                "timestamp=" + format_server_time(end - TARGETS_WINDOW),
                "timestamp=" + format_server_time(end),
                str(self._history_limit()),
            )
        for buffer in self.buffers.all:
            if buffer.kind is BufferKind.QUERY:
                self._query_latest(buffer)
        self.on_event("registered", self.nick)

    def _on_isupport(self, msg: Message) -> None:
        self.isupport.update(msg.params[1:-1])
        self.buffers.casefold = self.isupport.casefold
        self._on_numeric(msg)

    # -- messages ------------------------------------------------------------------

    def _chat_line(self, msg: Message, history_of: str | None = None) -> tuple[Buffer, Line] | None:
        """A PRIVMSG/NOTICE as the buffer it belongs to and the line to show there.

        ``history_of`` is the target of the history batch it came in: an old CTCP is
        not answered, and in a private conversation every line not from the other
        person is ours, whatever nick we had then (nick_ after a retry, say).
        """
        if len(msg.params) < 2:
            return None
        nick = (msg.source or "").split("!")[0]
        target, text = msg.params[0], msg.params[1]
        own = bool(nick) and self.is_me(nick)
        if history_of is not None and not own and not self.isupport.is_channel(history_of):
            own = bool(nick) and self.buffers.casefold(nick) != self.buffers.casefold(history_of)
        if not own and self.is_ignored(msg.source):
            return None
        kind: LineKind = "notice" if msg.command == "NOTICE" else "message"
        if text.startswith("\x01"):
            ctcp = text.strip("\x01")
            verb, _, rest = ctcp.partition(" ")
            if verb.upper() == "ACTION":
                kind, text = "action", rest
            elif msg.command == "PRIVMSG":
                if history_of is None:
                    self._answer_ctcp(nick, verb.upper(), rest, own)
                return None
            else:
                text = f"CTCP {verb} reply: {rest}"
        raw = mask_secret(target, text) if own else text
        text = strip_formatting(raw)
        styled = raw if mirc.has_codes(raw) else ""
        from_server = not msg.source or ("!" not in msg.source and "." in msg.source)
        to_me = not self.isupport.is_channel(target.lstrip(self.isupport.prefix_chars))
        if (
            from_server
            or target == "*"
            or (kind == "notice" and to_me and not own and self.buffers.get(nick) is None)
        ):
            buffer = self.buffers.server
        else:
            buffer = self._target_buffer(target, nick, own=own)
        line = Line(
            self._time(msg),
            kind,
            text,
            nick=nick or (msg.source or ""),
            msgid=msg.tags.get("msgid"),
            own=own,
            mention=not own and self.highlighted(text),
            styled=styled,
        )
        return buffer, line

    def highlighted(self, text: str) -> bool:
        """Our nick, or one of the configured highlight words, as a word of its own."""
        fold = self.buffers.casefold
        return any(mentions(text, word, fold) for word in [self.nick, *self.highlights])

    def _answer_ctcp(self, nick: str, verb: str, arg: str, own: bool) -> None:
        if own:
            return
        replies = {"VERSION": CLIENT_VERSION, "PING": arg, "CLIENTINFO": "ACTION PING VERSION"}
        if verb in replies:
            self.send("NOTICE", nick, f"\x01{verb} {replies[verb]}\x01".replace(" \x01", "\x01"))
        self.info(f"CTCP {verb} from {nick}")

    def _on_chat(self, msg: Message) -> None:
        placed = self._chat_line(msg)
        if placed is not None:
            buffer, line = placed
            if buffer.has_msgid(line.msgid):
                return  # already shown, e.g. replayed on join and fetched as history
            if buffer.joined_at and line.time < buffer.joined_at - REPLAY_SLACK:
                # Sent before we joined: the server is replaying history without
                # CHATHISTORY. Put it in its place and do not call it unread.
                self.buffers.add_history(buffer, [line])
                return
            self.buffers.add(buffer, line)

    def _on_batch(self, msg: Message) -> None:
        ref = msg.param(0)
        if ref.startswith("+"):
            self._batches[ref[1:]] = _Batch(msg.param(1), msg.params[2:])
            return
        batch = self._batches.pop(ref[1:], None)
        if batch is None:
            return
        if batch.kind in HISTORY_BATCH_TYPES and batch.params:
            self._history_batch(batch)
        elif batch.kind in search.BATCH_TYPES:
            self._search_batch(batch)
        else:
            for inner in batch.messages:
                inner.tags.pop("batch", None)
                self.handle(inner)

    def _search_batch(self, batch: _Batch) -> None:
        query = self._searches.pop(0) if self._searches else None
        results = [
            line
            for inner in batch.messages
            if not self.is_ignored(inner.source)
            and (line := search.result_line(inner, self.is_me, self.isupport.is_channel))
            is not None
        ]
        results.sort(key=lambda line: line.time)  # the spec only says it SHOULD be in order
        buffer = self.buffers.open(
            search.SEARCH_BUFFER, BufferKind.SEARCH, focus=self.focus_results
        )
        self.buffers.clear(buffer)
        heading = query.describe() if query is not None else "Search"
        self.info(f"{heading}:", buffer=buffer)
        for line in results:
            self.buffers.add(buffer, line)
        if not results:
            found = "No messages match"
        else:
            found = count(len(results), "message") + " found"
            if query is not None and len(results) >= query.limit:
                found += f" (the limit of {query.limit}: -limit N for more)"
        self.info(found, buffer=buffer, time=results[-1].time if results else None)

    def _history_batch(self, batch: _Batch) -> None:
        target = batch.params[0]
        key = self.buffers.casefold(target)
        lines: list[tuple[Buffer, Line]] = []
        for inner in batch.messages:
            if inner.command.upper() in ("PRIVMSG", "NOTICE"):
                inner.command = inner.command.upper()
                placed = self._chat_line(inner, history_of=target)
                if placed is not None:
                    lines.append(placed)
        buffer = self.buffers.get(target) if self.isupport.is_channel(target) else None
        if buffer is None and lines:
            buffer = lines[0][0]
        if buffer is None:
            buffer = self.buffers.get(target)
        if buffer is None:
            return
        added = self.buffers.add_history(buffer, [line for _, line in lines])
        buffer.history_pending = False
        if key in self._history_before:
            self._history_before.discard(key)
            if not added:
                buffer.history_exhausted = True
                # At the top, where the user is looking, not at the bottom.
                top = buffer.lines[0].time if buffer.lines else now()
                self.buffers.add_history(buffer, [Line(top, "info", "No older history.")])

    # -- channel membership ----------------------------------------------------------

    def _source_nick(self, msg: Message) -> str:
        return (msg.source or "").split("!")[0]

    def _on_join(self, msg: Message) -> None:
        nick = self._source_nick(msg)
        channel = msg.param(0)
        if not channel:
            return
        if self.is_me(nick):
            buffer = self.buffers.open(channel, BufferKind.CHANNEL)
            buffer.joined = True
            buffer.joined_at = now()
            buffer.members.clear()
            buffer.history_pending = False
            buffer.history_exhausted = False
            self.info(f"You joined {channel}", kind="join", buffer=buffer, time=self._time(msg))
            key = self.buffers.casefold(channel)
            if key in self._focus_on_join:
                self._focus_on_join.discard(key)
                self.buffers.switch_to(buffer)
            if "draft/chathistory" in self.caps:
                buffer.history_pending = True
                self.send("CHATHISTORY", "LATEST", channel, "*", str(self._history_limit()))
            self.on_event("joined", channel)
            return
        buffer = self.buffers.get(channel)
        if buffer is None:
            return
        buffer.members[self.buffers.casefold(nick)] = Member(nick)
        userhost = msg.source.split("!", 1)[1] if msg.source and "!" in msg.source else ""
        who = f"{nick} ({userhost})" if userhost else nick
        self.info(f"{who} has joined {channel}", kind="join", buffer=buffer, time=self._time(msg))

    def _on_part(self, msg: Message) -> None:
        nick = self._source_nick(msg)
        reason = msg.param(1)
        for channel in msg.param(0).split(","):
            buffer = self.buffers.get(channel)
            if buffer is None:
                continue
            suffix = f" ({reason})" if reason else ""
            if self.is_me(nick):
                buffer.joined = False
                buffer.members.clear()
                self.info(
                    f"You left {channel}{suffix}", kind="part", buffer=buffer, time=self._time(msg)
                )
            else:
                buffer.members.pop(self.buffers.casefold(nick), None)
                self.info(
                    f"{nick} has left {channel}{suffix}",
                    kind="part",
                    buffer=buffer,
                    time=self._time(msg),
                )

    def _on_kick(self, msg: Message) -> None:
        by = self._source_nick(msg)
        channel, victim, reason = msg.param(0), msg.param(1), msg.param(2)
        buffer = self.buffers.get(channel)
        if buffer is None:
            return
        if self.is_me(victim):
            buffer.joined = False
            buffer.members.clear()
            text = f"You were kicked from {channel} by {by} ({reason})"
        else:
            buffer.members.pop(self.buffers.casefold(victim), None)
            text = f"{victim} was kicked by {by} ({reason})"
        self.info(text, kind="kick", buffer=buffer, time=self._time(msg))

    def _on_quit(self, msg: Message) -> None:
        nick = self._source_nick(msg)
        key = self.buffers.casefold(nick)
        text = f"{nick} has quit ({msg.param(0)})"
        for buffer in list(self.buffers.all):
            if buffer.members.pop(key, None) is not None or (
                buffer.kind is BufferKind.QUERY and self.buffers.casefold(buffer.name) == key
            ):
                self.info(text, kind="quit", buffer=buffer, time=self._time(msg))

    def _on_nick(self, msg: Message) -> None:
        old = self._source_nick(msg)
        new = msg.param(0)
        old_key = self.buffers.casefold(old)
        mine = self.is_me(old)
        if mine:
            self.nick = new
            self.info(f"You are now known as {new}", kind="nick", time=self._time(msg))
        for buffer in list(self.buffers.all):
            member = buffer.members.pop(old_key, None)
            if member is not None:
                member.nick = new
                buffer.members[self.buffers.casefold(new)] = member
                self.info(
                    f"{old} is now known as {new}", kind="nick", buffer=buffer, time=self._time(msg)
                )
            elif buffer.kind is BufferKind.QUERY and self.buffers.casefold(buffer.name) == old_key:
                self.buffers.rename(buffer, new)
                self.info(
                    f"{old} is now known as {new}", kind="nick", buffer=buffer, time=self._time(msg)
                )
        self.buffers.listener.changed()

    def _on_topic(self, msg: Message) -> None:
        buffer = self.buffers.get(msg.param(0))
        if buffer is None:
            return
        buffer.topic = strip_formatting(msg.param(1))
        self.info(
            f"{self._source_nick(msg)} changed the topic to: {buffer.topic}",
            kind="topic",
            buffer=buffer,
            time=self._time(msg),
        )

    def _on_rpl_topic(self, msg: Message) -> None:
        buffer = self.buffers.get(msg.param(1))
        if buffer is None:
            self._on_numeric(msg)
            return
        buffer.topic = strip_formatting(msg.param(2))
        self.info(f"Topic: {buffer.topic}", kind="topic", buffer=buffer)

    def _on_rpl_topic_who(self, msg: Message) -> None:
        buffer = self.buffers.get(msg.param(1))
        if buffer is None:
            self._on_numeric(msg)
            return
        setter = msg.param(2).split("!")[0]
        text = f"Topic set by {setter}"
        if msg.param(3).isdigit():
            moment = datetime.fromtimestamp(int(msg.param(3)), UTC).astimezone()
            text += moment.strftime(" on %Y-%m-%d %H:%M")
        self.info(text, kind="topic", buffer=buffer)

    def _on_names(self, msg: Message) -> None:
        channel = msg.param(2)
        pending = self._names.setdefault(self.buffers.casefold(channel), {})
        for item in msg.param(3).split():
            prefixes, nick = self.isupport.split_prefixes(item)
            nick = nick.split("!")[0]  # userhost-in-names, should a server send it anyway
            pending[self.buffers.casefold(nick)] = Member(
                nick, self.isupport.sort_prefixes(prefixes)
            )

    def _on_end_of_names(self, msg: Message) -> None:
        channel = msg.param(1)
        key = self.buffers.casefold(channel)
        members = self._names.pop(key, {})
        buffer = self.buffers.get(channel)
        requested = key in self._names_requested
        self._names_requested.discard(key)
        if buffer is None or not buffer.is_channel:
            if requested:
                listing = " ".join(m.prefixes[:1] + m.nick for m in members.values())
                self.info(f"Names {channel}: {listing}", buffer=self.buffers.current)
            return
        for key_, member in members.items():
            old = buffer.members.get(key_)
            if old is not None:
                member.away = old.away
        buffer.members = members
        ops = sum(1 for m in members.values() if "@" in m.prefixes)
        text = f"{count(len(members), 'user')} on {channel} ({count(ops, 'op')})"
        if requested:
            text = f"Names {channel}: " + " ".join(
                m.prefixes[:1] + m.nick
                for m in sorted(members.values(), key=lambda m: self.buffers.casefold(m.nick))
            )
        self.info(text, buffer=buffer)

    def _on_mode(self, msg: Message) -> None:
        target = msg.param(0)
        who = self._source_nick(msg) or msg.source or "server"
        changes = " ".join(msg.params[1:])
        buffer = self.buffers.get(target) if self.isupport.is_channel(target) else None
        if buffer is None:
            self.info(f"Mode {target} [{changes}] by {who}", kind="mode", time=self._time(msg))
            return
        for adding, mode, arg in self.isupport.mode_changes(msg.param(1), msg.params[2:]):
            if mode in self.isupport.prefix_modes and arg is not None:
                member = buffer.members.get(self.buffers.casefold(arg))
                if member is None:
                    continue
                char = self.isupport.prefix_chars[self.isupport.prefix_modes.index(mode)]
                if adding:
                    member.prefixes = self.isupport.sort_prefixes(member.prefixes + char)
                else:
                    member.prefixes = member.prefixes.replace(char, "")
        self.info(
            f"Mode {target} [{changes}] by {who}", kind="mode", buffer=buffer, time=self._time(msg)
        )

    def _on_away(self, msg: Message) -> None:
        key = self.buffers.casefold(self._source_nick(msg))
        away = bool(msg.params and msg.params[0])
        for buffer in self.buffers.channels():
            member = buffer.members.get(key)
            if member is not None:
                member.away = away
        self.buffers.listener.changed()

    def _on_unaway(self, msg: Message) -> None:
        self.away = False
        self.info(msg.param(1, "You are no longer marked as away"), buffer=self.buffers.current)

    def _on_nowaway(self, msg: Message) -> None:
        self.away = True
        self.info(msg.param(1, "You are marked as away"), buffer=self.buffers.current)

    def _on_error(self, msg: Message) -> None:
        self._error_reason = msg.param(0) or "the server sent ERROR without a reason"
        self.info(f"Server closed the link: {msg.param(0)}", kind="error")

    def _on_invite(self, msg: Message) -> None:
        if self.is_ignored(msg.source):
            return
        self.info(
            f"{self._source_nick(msg)} invites you to {msg.param(1)}", buffer=self.buffers.current
        )

    def _on_standard_reply(self, msg: Message) -> None:
        if msg.param(0).upper() in ("REGISTER", "VERIFY") and len(msg.params) >= 3:
            verb = "Registration" if msg.param(0).upper() == "REGISTER" else "Verification"
            account = f" of {msg.param(2)}" if len(msg.params) >= 4 else ""
            text = f"{verb}{account} failed: {msg.params[-1]} ({msg.param(1)})"
            self.info(text, kind="error" if msg.command == "FAIL" else "info",
                      buffer=self.buffers.current)  # fmt: skip
            return
        if msg.param(0).upper() == "SEARCH" and msg.command == "FAIL":
            query = self._searches.pop(0) if self._searches else None
            heading = query.describe() if query is not None else "Search"
            said = msg.params[-1] if len(msg.params) > 2 else ""
            detail = " ".join(msg.params[1:-1])
            self.info(f"{heading} failed: {said} ({detail})", kind="error",
                      buffer=self.buffers.current)  # fmt: skip
            return
        if msg.param(0).upper() == "CHATHISTORY":
            for buffer in self.buffers.all:
                buffer.history_pending = False
            self._history_before.clear()
        text = (
            f"{msg.command} {msg.param(0)} {msg.param(1)}: {msg.params[-1] if msg.params else ''}"
        )
        self.info(
            text, kind="error" if msg.command == "FAIL" else "info", buffer=self.buffers.current
        )

    def _on_numeric(self, msg: Message) -> None:
        code, params = msg.command, msg.params[1:]
        kind: LineKind = "error" if numerics.is_error(code) else "info"
        text = numerics.render(code, params)
        if code in numerics.CHANNEL_REPLIES and params:
            buffer = self.buffers.get(params[0]) or self.buffers.current
        elif kind == "error" or code in numerics.WHOIS_REPLIES or code in numerics.QUERY_REPLIES:
            buffer = self.buffers.current  # the answer to something just typed
        else:
            buffer = self.buffers.server
        for piece in text.split("\n"):
            self.info(piece, kind=kind, buffer=buffer, time=self._time(msg))

    # -- LIST, USERHOST, CHATHISTORY TARGETS, MARKREAD ---------------------------------

    def _on_list_start(self, msg: Message) -> None:
        self._list_rows = []

    def _on_list_entry(self, msg: Message) -> None:
        self._list_rows.append((msg.param(1), msg.param(2), strip_formatting(msg.param(3))))

    def _on_list_end(self, msg: Message) -> None:
        pattern, sort = self._list_request
        self._list_request = ("", "users")
        rows, self._list_rows = self._list_rows, []
        fold = self.buffers.casefold
        if pattern:
            wanted = fold(pattern if masks.is_mask(pattern) else f"*{pattern}*")
            rows = [row for row in rows if masks.glob(wanted, fold(row[0]))]
        if sort == "name":
            rows.sort(key=lambda row: fold(row[0]))
        else:
            rows.sort(key=lambda row: (-int(row[1]) if row[1].isdigit() else 0, fold(row[0])))
        buffer = self.buffers.open(LIST_BUFFER, BufferKind.LIST, focus=self.focus_results)
        self.buffers.clear(buffer)
        width = min(max([len(row[0]) for row in rows] + [7]), 30)
        self.info(numerics.list_row(width, "Channel", "Users", "Topic"), buffer=buffer)
        for channel, users, topic in rows:
            self.info(numerics.list_row(width, channel, users, topic), buffer=buffer)
        shown = f"matching {pattern!r}, " if pattern else ""
        by = "name" if sort == "name" else "users"
        self.info(f"{count(len(rows), 'channel')} {shown}sorted by {by}; /list -name or -users "
                  "[pattern] to ask again", buffer=buffer)  # fmt: skip

    def _on_userhost(self, msg: Message) -> None:
        if not self._pending_bans:
            self._on_numeric(msg)  # the user asked, with /raw USERHOST
            return
        answered: set[str] = set()
        for entry in msg.params[-1].split():
            nick, _, rest = entry.partition("=")
            key = self.buffers.casefold(nick.rstrip("*"))
            self.userhosts[key] = rest[1:]
            answered.add(key)
            for channel in self._pending_bans.pop(key, []):
                self.send("MODE", channel, "+b", masks.host_ban(rest[1:]))
        # One USERHOST asked for every waiting nick; it leaves out those not online.
        for key in list(self._pending_bans):
            self._pending_bans.pop(key)
            self.info(f"No such nick {key}: nothing banned", kind="error",
                      buffer=self.buffers.current)  # fmt: skip

    def _on_chathistory(self, msg: Message) -> None:
        if msg.param(0).upper() != "TARGETS":
            return
        target = msg.param(1)
        if target and not self.isupport.is_channel(target) and not self.is_me(target):
            self.open_query(target)

    def _on_markread(self, msg: Message) -> None:
        buffer = self.buffers.get(msg.param(0))
        value = msg.param(1)
        if buffer is None or not value.startswith("timestamp="):
            return
        moment = parse_server_time(value.removeprefix("timestamp="))
        if moment is not None:
            self.buffers.read_elsewhere(buffer, moment)

    def _send_markread(self, buffer: Buffer, moment: datetime) -> None:
        if READ_MARKER in self.caps and self.registered:
            self.send("MARKREAD", buffer.name, "timestamp=" + format_server_time(moment))

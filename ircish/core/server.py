"""The server's state and its one entry point, with no I/O.

``Server.handle(user, message)`` applies one client line: it finds the verb in
the command table (``ircish.core.commands``) and runs its handler, which applies
the rules (``membership``, ``nicks``, ``delivery``, the ``state`` objects),
queues bytes on the sinks of whoever must hear about it, and emits events for the
history store and the plugins. Every line for the client whose command runs goes
through the reply helpers here (``numeric``, ``reply``, ``relay``...) and so through
the reply buffer, which is how labeled-response applies to every command. Nothing
here awaits or touches a socket, so every rule can be tested by feeding lines to a
Server with fake sinks.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from ircish import __version__
from ircish.config import Config
from ircish.core import events, monitor
from ircish.core import numerics as N
from ircish.core.bans import BanList
from ircish.core.burst import Numeric, StaticReplies
from ircish.core.commands import Command, core_commands
from ircish.core.extension import (
    CapDroppedListener,
    Extension,
    JoinListener,
    MessageFilter,
    WelcomeListener,
    WhoisListener,
)
from ircish.core.lines import LineVariants, fit_trailing
from ircish.core.nicks import NickClaims
from ircish.core.offload import Inline, Offload
from ircish.core.replies import LABEL_CAP, Replies, ReplyRouter, server_line
from ircish.core.state import BOT_MODE, Channel, Sink, User
from ircish.core.throttle import AttemptThrottle
from ircish.protocol import Message
from ircish.protocol.casemap import CASEMAPPING, casefold
from ircish.protocol.message import format_line
from ircish.protocol.numbers import is_decimal

log = logging.getLogger("ircish.core")

T = TypeVar("T")

# Capabilities the core implements. Other layers (history) add theirs via
# Server.capabilities before clients connect.
BASE_CAPABILITIES: dict[str, str] = {
    "multi-prefix": "",
    "cap-notify": "",
    "server-time": "",
    "message-tags": "",
    "echo-message": "",
    "batch": "",
    "userhost-in-names": "",
    "away-notify": "",
    "setname": "",
    monitor.EXTENDED_MONITOR: "",
    "invite-notify": "",
    "no-implicit-names": "",
    "standard-replies": "",
    "account-tag": "",
    "extended-join": "",
    LABEL_CAP: "",
}

CHANNEL_MODES_LIST = "beI"
CHANNEL_MODES_PARAM_ALWAYS = "k"
CHANNEL_MODES_PARAM_SET = "l"
CHANNEL_MODES_FLAGS = "imnstP"
USER_MODES = "iorwB"

WhowasEntry = tuple[str, str, str, str, float]  # nick, user, host, realname, when


def _middle(param: str) -> str:
    """A middle parameter must be one non-empty word not starting with ':'.

    Numerics echo what the client sent (``WHOIS :a b`` -> 401), which need not be
    one; cut it to its first word rather than send a line that parses differently.
    """
    if param and " " not in param and param[0] != ":":
        return param
    return param.split(" ", 1)[0].lstrip(":") or "*"


def generic_fanout(sinks: Iterable[Sink], data: bytes, skip: Sink | None) -> None:
    for sink in sinks:
        if sink is not skip:
            sink.send(data)


class Server:
    def __init__(
        self,
        config: Config,
        emit: Callable[[events.Event], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.name = config.server.name
        self.limits = config.limits
        # The most bytes an outgoing line may have before its CRLF (tags aside).
        self.line_budget = config.limits.line_length - 2
        self.replies = ReplyRouter()
        self.clock = clock
        self.emit: Callable[[events.Event], None] = emit or (lambda event: None)
        self.started = clock()
        self.users: dict[str, User] = {}  # registered users and reserved nicks, by casefold
        self.user_mode_counts: Counter[str] = Counter()
        self.connections: set[User] = set()
        self.channels: dict[str, Channel] = {}
        # K-lines and D-lines (ircish.netbans keeps them, the shell refuses at accept).
        self.bans = BanList()
        self.whowas: deque[WhowasEntry] = deque(maxlen=config.limits.whowas_entries)
        # Built from the core's table; extensions add to these in ``install``.
        self.commands: dict[str, Command] = core_commands()
        self.capabilities: dict[str, str] = dict(BASE_CAPABILITIES)
        self.isupport_extra: dict[str, str] = {}
        # The first bound TLS port, for the sts policy; the shell sets it.
        self.tls_port: int | None = None
        self.join_listeners: tuple[JoinListener, ...] = ()
        self.monitors = monitor.MonitorIndex()
        # Extensions' HELP topics beyond their verbs (plugins' bot commands).
        self.help_sources: tuple[Callable[[], Mapping[str, str]], ...] = ()
        self.names_listeners: tuple[JoinListener, ...] = ()
        self.welcome_listeners: tuple[WelcomeListener, ...] = ()
        self.whois_listeners: tuple[WhoisListener, ...] = ()
        self.cap_dropped_listeners: tuple[CapDroppedListener, ...] = ()
        self.motd_lines = self._load_motd()
        self._static: dict[str, StaticReplies] = {}
        self.ever_welcomed = False
        self.max_users = 0  # the most registered users at once, for 266
        self.max_local = 0  # the most of them on this server, for 265
        # On a node of a network (ircish.network): the other nodes' users among
        # ``users`` and the server names of the other nodes that are up, kept by
        # its replica (LUSERS, LINKS, a query naming one of them).
        self.remote_users = 0
        self.linked: frozenset[str] = frozenset()
        # Filters see every PRIVMSG/NOTICE before delivery; see ircish.core.delivery.
        self.message_filters: tuple[MessageFilter, ...] = ()
        # The shell swaps in a fan-out that knows its connections; this one works
        # with any Sink (tests, bots).
        self.fanout: Callable[[Iterable[Sink], bytes, Sink | None], None] = generic_fanout
        # Password checks and delayed answers; the shell runs them off the event loop.
        self.offload: Offload = Inline()
        # Set by ircish.network on a node of several: nicks are claimed there first.
        self.nick_claims: NickClaims | None = None
        # REHASH asks the shell to re-read the config (off the loop); it answers the
        # oper itself. Without a shell there is nothing to read.
        self.request_reload: Callable[[User], None] = self._no_reload
        # Failed-attempt counters by feature ("OPER", ...); see ircish.core.throttle.
        self.throttles: dict[str, AttemptThrottle] = {}
        self._msgid_prefix = secrets.token_hex(4)
        self._msgid_counter = 0
        for name in config.channels.auto_join:
            channel = self.get_or_create_channel(name)
            channel.modes.add("P")

    def install(self, extension: Extension) -> None:
        """Add what ``extension`` declares for the core; a verb, capability or
        ISUPPORT token two features both claim is a mistake, not an override."""
        for kind, have, new in (
            ("command", self.commands, {cmd.verb: cmd for cmd in extension.commands}),
            ("capability", self.capabilities, extension.capabilities),
            ("ISUPPORT token", self.isupport_extra, extension.isupport),
        ):
            clash = sorted(set(have) & set(new))
            if clash:
                raise ValueError(f"extension {extension.name}: {kind} {clash[0]} is already "
                                 "provided")
            have.update(new)  # type: ignore[attr-defined]
        self.reset_static_replies()
        self.join_listeners += extension.join_listeners
        self.names_listeners += extension.names_listeners
        self.welcome_listeners += extension.welcome_listeners
        self.whois_listeners += extension.whois_listeners
        self.cap_dropped_listeners += extension.cap_dropped_listeners
        self.message_filters += extension.message_filters
        if extension.help_topics is not None:
            self.help_sources += (extension.help_topics,)

    def reconfigure(self, config: Config, motd_lines: list[str]) -> None:
        """Take a reloaded config (the shell read the files): MOTD, opers, limits,
        auto-join, password and the rest are live from the next line on. The
        restart-only keys (``ircish.reload``) arrive with their running values."""
        self.config = config
        self.limits = config.limits
        self.motd_lines = motd_lines
        if self.whowas.maxlen != config.limits.whowas_entries:
            self.whowas = deque(self.whowas, maxlen=config.limits.whowas_entries)
        for name in config.channels.auto_join:
            if casefold(name) not in self.channels:
                self.get_or_create_channel(name).modes.add("P")
        # MOTD and ISUPPORT are cached for the registration burst.
        self.reset_static_replies()

    def _no_reload(self, user: User) -> None:
        self.standard_reply(user, "FAIL", "REHASH", "NO_CONFIG_FILE", "no config file to re-read")

    # ---- identifiers and time ---------------------------------------------------

    def new_msgid(self) -> str:
        self._msgid_counter += 1
        return f"{self._msgid_prefix}{self._msgid_counter:x}"

    def micros(self, ts: float) -> int:
        """``ts`` (a reading of ``self.clock``) as an event's time; see core.events."""
        return events.micros_from(ts)

    # ---- connections ----------------------------------------------------------------

    def connect(self, sink: Sink, ip: str, host: str, secure: bool = False) -> User:
        user = User(sink, ip, host, self.clock(), secure)
        if not self.config.server.password:
            user.password_ok = True
        self.connections.add(user)
        return user

    def disconnect(self, user: User, reason: str) -> None:
        """The connection is gone (or must go): announce the quit, forget the user."""
        if user not in self.connections:
            return
        self.connections.discard(user)
        for mode in user.modes:
            self.user_mode_counts[mode] -= 1
        self.monitors.clear(user)
        if user.registered:
            log.info("quit %s (%s) from %s: %s", user.nick, user.username, user.ip, reason)
            # One time for the quit everywhere: the QUIT line's, which the local members
            # got, is the one the other nodes' members get too (a second reading of the
            # clock differed from it on a loaded machine).
            at = self._announce_quit(user, reason)
            if self.users.get(user.key) is user:
                del self.users[user.key]
                monitor.offline(self, user.nick)
            self.whowas.append((user.nick, user.username, user.host, user.realname, self.clock()))
            self.emit(events.DisconnectEvent(at, user.source, user.nick, reason))

    def kill(self, user: User, quit_reason: str, error: str) -> None:
        """Server-side disconnect: others see ``quit_reason``, the user gets ``error``."""
        self.disconnect(user, quit_reason)
        user.sink.close(error)

    def _announce_quit(self, user: User, reason: str) -> int:
        """Send the QUIT to everyone sharing a channel; the line's time in microseconds."""
        line = self.new_line("QUIT", [reason], user.source)
        msgid = line.msgid
        seen: set[User] = {user}
        at = self.micros(line.ts)
        for channel in list(user.channels.values()):
            for member in channel.members:
                if member not in seen:
                    seen.add(member)
                    member.sink.send(line.for_mask(member.tagmask))
            self.remove_member(channel, user)
            self.emit(events.LeaveEvent(msgid, at, user.source, user.nick, channel.name, "quit",
                                        reason))
        return at

    # ---- dispatch -------------------------------------------------------------------

    def handle(self, user: User, msg: Message) -> None:
        batch = user.batch
        if batch is not None and batch.take(self, user, msg):
            return  # a line of the client's open batch (draft/multiline)
        label = msg.tags.get("label") if msg.tags else None
        if label is None or LABEL_CAP not in user.caps:
            self._dispatch(user, msg)
            return
        with self.replies.collecting(Replies(self.name, user, label)):
            self._dispatch(user, msg)

    def refuse_invalid_utf8(self, user: User, msg: Message | None) -> None:
        """UTF8ONLY: a line that is not UTF-8 is answered with FAIL, never acted on;
        ``msg`` is the line read as Latin-1 (None if it did not parse), for its
        verb and label."""
        verb = msg.command.upper() if msg is not None else "*"
        if not verb.isascii() or not verb.isalnum():
            verb = "*"
        label = msg.tags.get("label") if msg is not None and msg.tags else None
        text = "Message rejected, your IRC software MUST use UTF-8 encoding on this network"
        if label is None or LABEL_CAP not in user.caps:
            self.fail(user, verb, "INVALID_UTF8", text)
            return
        with self.replies.collecting(Replies(self.name, user, label)):
            self.fail(user, verb, "INVALID_UTF8", text)

    def defer_replies(self, user: User) -> Replies | None:
        """The running command's reply buffer, kept open for an answer that comes
        later (``with server.replies.collecting(buffer):`` writes and sends it)."""
        current = self.replies.current
        if current is None or current.user is not user:
            return None
        current.deferred = True
        return current

    def run_blocking(
        self, user: User, work: Callable[[], T], then: Callable[[T], None]
    ) -> None:
        """``work`` off the event loop (``self.offload``), then ``then(result)`` on it;
        a labeled command's replies wait for ``then``."""
        resume = self._resumer(user)
        self.offload.run_blocking(user, work, lambda result: resume(lambda: then(result)))

    def call_later(self, user: User, delay: float, then: Callable[[], None]) -> None:
        """``then()`` after ``delay`` seconds; a labeled command's replies wait for it."""
        resume = self._resumer(user)
        self.offload.call_later(user, delay, lambda: resume(then))

    def _resumer(self, user: User) -> Callable[[Callable[[], None]], None]:
        replies = self.defer_replies(user)

        def resume(step: Callable[[], None]) -> None:
            with self.replies.collecting(replies):
                step()

        return resume

    def _dispatch(self, user: User, msg: Message) -> None:
        verb = msg.command.upper()
        cmd = self.commands.get(verb)
        if cmd is None:
            if user.registered:
                self.numeric(user, N.ERR_UNKNOWNCOMMAND, verb, "Unknown command")
            elif is_decimal(verb):
                pass  # a client echoing a numeric before registration: ignore
            else:
                self.numeric(user, N.ERR_NOTREGISTERED, "You have not registered")
            return
        if not user.registered and not cmd.before_registration:
            self.numeric(user, N.ERR_NOTREGISTERED, "You have not registered")
            return
        if len(msg.params) < cmd.min_params:
            self.numeric(user, N.ERR_NEEDMOREPARAMS, verb, "Not enough parameters")
            return
        if cmd.oper_only and not user.oper:
            self.numeric(user, N.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
            return
        if cmd.counts_as_activity:
            user.last_active = self.clock()
        try:
            cmd.handler(self, user, msg)
        except Exception:
            # One bad handler must not end the connection, let alone the server.
            log.exception("error handling %s from %s", verb, user.source)
            self.numeric(user, N.ERR_UNKNOWNERROR, verb, "Internal error while processing command")

    # ---- replies --------------------------------------------------------------------

    def numeric(self, user: User, code: str, *params: str) -> None:
        self.replies.send(user, self.format_numeric(user.nick, code, params))

    def format_numeric(self, nick: str, code: str, params: Sequence[str]) -> bytes:
        """The one place a numeric reply is formatted: ``:server CODE nick params``."""
        if len(params) > 1:
            params = (*map(_middle, params[:-1]), params[-1])
        data = format_line(code, (nick, *params), self.name).encode("utf-8", "replace")
        if len(data) > self.line_budget:
            # Echoed client text can push a reply past the limit: cut, never overflow.
            data = data[: self.line_budget].decode("utf-8", "ignore").encode()
        return data + b"\r\n"

    def numerics(self, user: User, numerics: Iterable[Numeric]) -> None:
        """Several numerics for ``user`` as one write, formatted as ``numeric`` does."""
        nick = user.nick
        fmt = self.format_numeric
        self.replies.send(user, b"".join(fmt(nick, code, params) for code, params in numerics))

    def send_from_server(self, user: User, command: str, *params: str) -> None:
        self.replies.send(user, server_line(self.name, command, params))

    def send_line(self, user: User, line: str) -> None:
        self.replies.send(user, (line + "\r\n").encode("utf-8", "replace"))

    def reply(self, user: User, data: bytes) -> None:
        """An encoded line for the client whose command is running (an echo)."""
        self.replies.send(user, data)

    def fit_trailing(self, head: str, text: str) -> str:
        """``text`` cut so that ``head + text`` fits one outgoing line."""
        return fit_trailing(head, text, self.line_budget)

    def new_line(
        self,
        command: str,
        params: list[str],
        source: str,
        client_tags: dict[str, str] | None = None,
        ts: float | None = None,
        sender: User | None = None,
    ) -> LineVariants:
        """A relayed line with a fresh msgid, stamped now unless ``ts`` is given.

        The tags that describe the sender (``account``, ``bot``) and the
        extended-join form of a JOIN come from ``sender``: the user whose
        ``source`` this is, looked up when not given. Every line a user causes
        is built here, so each relay path carries them without a word from its
        handler.
        """
        if sender is None:
            sender = self.sender_of(source)
        extended: tuple[str, list[str]] | None = None
        account = None
        bot = False
        if sender is not None:
            account = sender.account
            bot = BOT_MODE in sender.modes
            if command == "JOIN":
                extended = (source, [params[0], account or "*", sender.realname])
        return LineVariants(
            format_line(command, params, source),
            self.new_msgid(),
            self.clock() if ts is None else ts,
            client_tags,
            account,
            bot,
            extended,
        )

    def sender_of(self, source: str) -> User | None:
        """The registered user whose ``nick!user@host`` is ``source`` right now."""
        nick, bang, _ = source.partition("!")
        if not bang:
            return None  # the server itself
        user = self.users.get(casefold(nick))
        return user if user is not None and user.source == source else None

    def relay(
        self,
        recipients: Iterable[User],
        command: str,
        params: list[str],
        source: str,
        client_tags: dict[str, str] | None = None,
        ts: float | None = None,
    ) -> LineVariants:
        line = self.new_line(command, params, source, client_tags, ts)
        self.relay_members(recipients, line)
        return line

    def relay_channel(
        self,
        channel: Channel,
        command: str,
        params: list[str],
        source: str,
        client_tags: dict[str, str] | None = None,
        ts: float | None = None,
        skip: User | None = None,
    ) -> LineVariants:
        """Send one line to every member (but ``skip``), one encoding per tag group."""
        line = self.new_line(command, params, source, client_tags, ts)
        issuer = self.replies.current.user if self.replies.current is not None else None
        if issuer is not None and issuer is not skip and issuer in channel.members:
            # A labeled command's own copy is a reply: it goes through its buffer.
            if skip is not None:
                self.relay_members(channel.members, line, skip)
                return line
            skip = issuer
            self.reply(issuer, line.for_mask(issuer.tagmask))
        skip_sink = skip.sink if skip is not None else None
        for mask, sinks in channel.sinks_by_mask.items():
            self.fanout(sinks, line.for_mask(mask), skip_sink)
        return line

    def relay_members(
        self, members: Iterable[User], line: LineVariants, skip: User | None = None
    ) -> None:
        """``line`` to each of ``members`` but ``skip``, one by one (the slow path:
        each line goes through the reply buffer, in case it is the issuer's)."""
        send = self.replies.send
        for member in members:
            if member is not skip:
                send(member, line.for_mask(member.tagmask))

    def fail(self, user: User, command: str, code: str, *context: str) -> None:
        """An IRCv3 standard reply: ``FAIL <command> <code> [context...] :<description>``."""
        self.send_from_server(user, "FAIL", command, code, *context)

    def standard_reply(self, user: User, kind: str, command: str, code: str, text: str) -> None:
        """An answer no numeric and no specification covers: ``kind`` (FAIL, WARN or
        NOTE) to a client with ``standard-replies``, a server NOTICE to the others."""
        if "standard-replies" in user.caps:
            self.send_from_server(user, kind, command, code, text)
        else:
            self.send_from_server(user, "NOTICE", user.nick, f"*** {text}")

    # ---- lookups --------------------------------------------------------------------

    def find_user(self, nick: str) -> User | None:
        return self.users.get(casefold(nick))

    def find_channel(self, name: str) -> Channel | None:
        return self.channels.get(casefold(name))

    def get_or_create_channel(self, name: str) -> Channel:
        key = casefold(name)
        channel = self.channels.get(key)
        if channel is None:
            channel = Channel(name=name, key=key, created=self.clock())
            channel.modes.update(self.config.channels.default_modes)
            self.channels[key] = channel
        return channel

    def remove_member(self, channel: Channel, user: User) -> None:
        """Take ``user`` out of ``channel``; an emptied channel goes unless persistent."""
        channel.remove_member(user)
        user.channels.pop(channel.key, None)
        if not channel.members and not channel.persistent:
            del self.channels[channel.key]

    def peers(self, user: User) -> set[User]:
        """Everyone who shares a channel with ``user``, including ``user``."""
        result = {user}
        for channel in user.channels.values():
            result.update(channel.members)
        return result

    def channel_state_changed(self, channel: Channel, force: bool = False) -> None:
        """Tell the store a persistent channel's state; ``force`` also for a kept one's end."""
        if not channel.persistent and not force:
            return
        flags, _ = channel.mode_string(show_password=True)
        self.emit(
            events.ChannelStateEvent(
                channel=channel.name,
                topic=channel.topic,
                topic_setter=channel.topic_setter,
                topic_micros=self.micros(channel.topic_time) if channel.topic_time else None,
                modes=flags,
                key=channel.password,
                limit=channel.limit,
                bans=tuple((m, s, self.micros(t)) for m, s, t in channel.bans),
                persistent=channel.persistent,
            )
        )

    # ---- registration output --------------------------------------------------------

    def isupport_tokens(self) -> list[str]:
        lim = self.limits
        tokens = {
            "AWAYLEN": str(lim.away_length),
            "BOT": BOT_MODE,
            "CASEMAPPING": CASEMAPPING,
            "CHANLIMIT": f"#:{lim.channels_per_client}",
            "CHANMODES": ",".join(
                (CHANNEL_MODES_LIST, CHANNEL_MODES_PARAM_ALWAYS, CHANNEL_MODES_PARAM_SET,
                 CHANNEL_MODES_FLAGS)
            ),
            "CHANNELLEN": str(lim.channel_length),
            "CHANTYPES": "#",
            "ELIST": "MNU",
            "EXCEPTS": "e",
            "INVEX": "I",
            "KICKLEN": str(lim.kick_length),
            "MAXTARGETS": str(lim.targets_per_message),
            "MODES": "4",
            "MONITOR": str(lim.monitor_entries),
            "NETWORK": self.config.server.network,
            "NICKLEN": str(lim.nick_length),
            "PREFIX": "(ov)@+",
            "STATUSMSG": "@+",
            "TARGMAX": (
                f"PRIVMSG:{lim.targets_per_message},NOTICE:{lim.targets_per_message},"
                f"JOIN:,PART:,KICK:{lim.targets_per_message},NAMES:1,WHOIS:1"
            ),
            "TOPICLEN": str(lim.topic_length),
            "USERLEN": str(lim.user_length),
            "WHOX": "",
        }
        if lim.utf8_only:
            tokens["UTF8ONLY"] = ""
        tokens.update(self.isupport_extra)
        return [f"{k}={v}" if v else k for k, v in sorted(tokens.items())]

    def _isupport_numerics(self) -> list[Numeric]:
        tokens = self.isupport_tokens()
        return [(N.RPL_ISUPPORT, (*tokens[i : i + 12], "are supported by this server"))
                for i in range(0, len(tokens), 12)]

    def send_isupport(self, user: User) -> None:
        self.replies.send(user, self.static_replies("isupport").for_nick(user.nick))

    def static_replies(self, kind: str) -> StaticReplies:
        """The numerics that are the same for every client ("welcome": 002-005,
        "isupport", "motd"), formatted once; see ``ircish.core.burst``."""
        cached = self._static.get(kind)
        if cached is None:
            builders = {"welcome": self._welcome_numerics, "isupport": self._isupport_numerics,
                        "motd": self._motd_numerics}
            cached = StaticReplies(builders[kind](), self.format_numeric, self.line_budget)
            self._static[kind] = cached
        return cached

    def reset_static_replies(self) -> None:
        """Forget the cached numerics: the config (or an ISUPPORT token) changed."""
        self._static.clear()

    def _load_motd(self) -> list[str]:
        server = self.config.server
        if server.motd_file:
            text = self.config.resolve(server.motd_file).read_text("utf-8", "replace")
        else:
            text = server.motd
        return text.splitlines()

    def _motd_numerics(self) -> list[Numeric]:
        if not self.motd_lines:
            return [(N.ERR_NOMOTD, ("MOTD File is missing",))]
        return [
            (N.RPL_MOTDSTART, (f"- {self.name} Message of the day - ",)),
            *((N.RPL_MOTD, (f"- {line}",)) for line in self.motd_lines),
            (N.RPL_ENDOFMOTD, ("End of /MOTD command.",)),
        ]

    def send_motd(self, user: User) -> None:
        self.replies.send(user, self.static_replies("motd").for_nick(user.nick))

    def set_user_mode(self, user: User, mode: str, on: bool) -> bool:
        """Change one user mode; True if it changed. Keeps the LUSERS counts current."""
        if on == (mode in user.modes):
            return False
        if on:
            user.modes.add(mode)
            self.user_mode_counts[mode] += 1
        else:
            user.modes.discard(mode)
            self.user_mode_counts[mode] -= 1
        if user.registered:
            self.emit(events.UserModeEvent(user.nick, "".join(sorted(user.modes))))
        return True

    def send_lusers(self, user: User) -> None:
        # Counted as they change, not by a scan: LUSERS is part of every
        # registration, and a scan made a connection storm quadratic.
        # On a network: 251, 252, 254 and 266 count every node, 255 and 265 this one.
        invisible = self.user_mode_counts["i"]
        opers = self.user_mode_counts["o"]
        total = len(self.users)
        local = total - self.remote_users
        servers = len(self.linked)
        unknown = len(self.connections) - total
        peak = max(self.max_users, total)
        local_peak = max(self.max_local, local)
        self.numerics(user, (
            (N.RPL_LUSERCLIENT, (f"There are {total - invisible} users and {invisible}"
                                 f" invisible on {servers + 1} servers",)),
            (N.RPL_LUSEROP, (str(opers), "operator(s) online")),
            (N.RPL_LUSERUNKNOWN, (str(unknown), "unknown connection(s)")),
            (N.RPL_LUSERCHANNELS, (str(len(self.channels)), "channels formed")),
            (N.RPL_LUSERME, (f"I have {local} clients and {servers} servers",)),
            (N.RPL_LOCALUSERS,
             (str(local), str(local_peak), f"Current local users {local}, max {local_peak}")),
            (N.RPL_GLOBALUSERS,
             (str(total), str(peak), f"Current global users {total}, max {peak}")),
        ))

    def _welcome_numerics(self) -> list[Numeric]:
        """002-005: the part of the burst after 001 that is the same for everyone."""
        name = self.name
        created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started))
        return [
            (N.RPL_YOURHOST, (f"Your host is {name}, running version ircish-{__version__}",)),
            (N.RPL_CREATED, (f"This server was created {created}",)),
            (N.RPL_MYINFO, (name, f"ircish-{__version__}", USER_MODES,
                            CHANNEL_MODES_LIST + CHANNEL_MODES_PARAM_ALWAYS
                            + CHANNEL_MODES_PARAM_SET + CHANNEL_MODES_FLAGS + "ov", "beIklov")),
            *self._isupport_numerics(),
        ]

    def welcome(self, user: User) -> None:
        user.registered = True
        log.info("registered %s (%s) from %s%s%s", user.nick, user.username, user.ip,
                 " (TLS)" if user.secure else "",
                 f" as account {user.account}" if user.account else "")
        self.users[user.key] = user
        self.max_users = max(self.max_users, len(self.users))
        self.max_local = max(self.max_local, len(self.users) - self.remote_users)
        monitor.online(self, user)
        self.numeric(user, N.RPL_WELCOME,
                     f"Welcome to the {self.config.server.network} IRC Network {user.source}")
        self.replies.send(user, self.static_replies("welcome").for_nick(user.nick))
        self.send_lusers(user)
        for listener in self.welcome_listeners:
            listener(self, user)
        self.send_motd(user)
        first = not self.ever_welcomed
        self.ever_welcomed = True
        self.emit(events.WelcomeEvent(self.micros(self.clock()), user.source, user.nick,
                                      user.account, first))
        join = self.commands.get("JOIN")
        if self.config.channels.auto_join and join is not None:
            join.handler(self, user, Message("JOIN", [",".join(self.config.channels.auto_join)]))

    def broadcast_cap(self, cap: str, added: bool) -> None:
        """cap-notify: tell clients that asked when a capability appears or goes."""
        value = self.capabilities.get(cap, "")
        for user in self.connections:
            if "cap-notify" in user.caps or user.cap_version >= 302:
                if added:
                    token = f"{cap}={value}" if value and user.cap_version >= 302 else cap
                    self.send_from_server(user, "CAP", user.nick, "NEW", token)
                else:
                    self.send_from_server(user, "CAP", user.nick, "DEL", cap)


"""The server's state: users, channels and who is in which, as plain objects."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ircish.core.masks import mask_matches
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.protocol import Message

# Bits of User.tagmask: which variant of a relayed line a recipient wants (its
# tags, and extended-join's longer JOIN). A broadcast encodes at most one line per
# distinct mask, never one per recipient.
TAG_SERVER_TIME = 1
TAG_MESSAGE_TAGS = 2
TAG_ACCOUNT = 4  # account-tag: ``account=<name>`` when the sender is logged in
TAG_EXTENDED_JOIN = 8  # extended-join: ``JOIN #chan <account|*> :<realname>``
# User mode +B (IRCv3 bot mode), also the flag in WHO replies (ISUPPORT BOT=B).
BOT_MODE = "B"

# Membership prefixes from highest to lowest, with their mode letters.
PREFIXES = (("o", "@"), ("v", "+"))
PREFIX_RANK = {mode: rank for rank, (mode, _) in enumerate(PREFIXES)}


class Sink(Protocol):
    """Where a user's outgoing bytes go: the network shell implements it.

    ``send`` only queues (never blocks, never raises). ``close`` sends a final
    ``ERROR`` line and ends the connection once the queue is written. A sink whose
    class sets ``discards = True`` sends nothing (another node's user: that node
    writes to it), so channels leave it out of their fan-out groups.
    """

    def send(self, data: bytes) -> None: ...

    def close(self, error: str) -> None: ...


def _discards(sink: Sink) -> bool:
    """Whether ``sink`` sends nothing (``Sink``), so a fan-out need not call it for
    every line of a channel: on a network node, most of a big channel's members."""
    return getattr(sink, "discards", False) is True


class ClientBatch(Protocol):
    """A batch the client has opened (``ircish.multiline``). ``take`` is given each
    line the client sends while it is open and says whether it consumed it."""

    def take(self, server: Server, user: User, msg: Message) -> bool: ...


class User:
    __slots__ = (
        "account",
        "away",
        "batch",
        "bot",
        "cap_negotiating",
        "cap_version",
        "caps",
        "certfp",
        "channels",
        "connected_at",
        "ext",
        "home",
        "host",
        "invited",
        "ip",
        "key",
        "last_active",
        "modes",
        "nick",
        "password_ok",
        "realname",
        "registered",
        "secure",
        "service",
        "session",
        "sink",
        "source",
        "tagmask",
        "username",
        "wanted_nick",
    )

    def __init__(self, sink: Sink, ip: str, host: str, now: float, secure: bool = False) -> None:
        self.sink = sink
        self.ip = ip
        self.host = host
        self.secure = secure
        self.nick = "*"
        self.key = ""
        self.username = ""
        self.realname = ""
        self.source = "*"
        self.registered = False
        self.password_ok = False
        self.cap_negotiating = False
        self.cap_version = 0
        self.caps: set[str] = set()
        self.tagmask = 0
        self.modes: set[str] = set()
        self.away: str | None = None
        self.account: str | None = None
        # SHA-256 of the TLS client certificate, lowercase hex (SASL EXTERNAL).
        self.certfp: str | None = None
        # The last nick asked for before registration, even if it was taken.
        self.wanted_nick = ""
        # Per-connection state of extensions (a SASL exchange...), by extension name.
        self.ext: dict[str, object] = {}
        # A client batch being received (draft/multiline): it sees each line first.
        self.batch: ClientBatch | None = None
        self.bot = False
        # A service bot's handler (NickServ): private messages to it go here,
        # ``(sender, verb, text)``, and are neither relayed nor stored.
        self.service: Callable[[User, str, str], None] | None = None
        self.channels: dict[str, Channel] = {}
        self.invited: set[str] = set()
        self.connected_at = now
        self.last_active = now
        # Unique to this connection and never sent anywhere: private history of
        # a user without an account belongs to the connection that took part,
        # because whoever registers the same nick later is somebody else.
        self.session = secrets.token_hex(8)
        # The server a user of another node of the network is on (WHOIS, WHO);
        # empty for this server's own users.
        self.home = ""

    def set_nick(self, nick: str) -> None:
        self.nick = nick
        self.key = casefold(nick)
        self.source = f"{nick}!{self.username or '*'}@{self.host}"

    @property
    def oper(self) -> bool:
        return "o" in self.modes

    def __repr__(self) -> str:
        return f"<User {self.source}>"


@dataclass(eq=False)
class Channel:
    name: str
    key: str
    created: float
    topic: str = ""
    topic_setter: str = ""
    topic_time: float = 0.0
    modes: set[str] = field(default_factory=set)
    password: str | None = None
    limit: int | None = None
    # User -> the prefix mode letters it holds ("", "o", "v", "ov").
    members: dict[User, str] = field(default_factory=dict)
    bans: list[tuple[str, str, float]] = field(default_factory=list)
    # +e (exempt from the bans) and +I (may join while +i), as (mask, set by, when).
    excepts: list[tuple[str, str, float]] = field(default_factory=list)
    invex: list[tuple[str, str, float]] = field(default_factory=list)
    # The founder account of a channel registered with ChanServ (None: not
    # registered). A registered channel is kept like a +P one, and gives no ops to
    # whoever comes first into it empty: ChanServ ops its founder.
    founder: str | None = None
    invited: set[str] = field(default_factory=set)
    # Members' sinks grouped by tag mask: a broadcast encodes one line per group and
    # hands each group to the shell's fan-out without looking at a single member.
    sinks_by_mask: dict[int, dict[Sink, None]] = field(default_factory=dict)

    def add_member(self, user: User, held: str = "") -> None:
        self.members[user] = held
        if not _discards(user.sink):
            self.sinks_by_mask.setdefault(user.tagmask, {})[user.sink] = None

    def remove_member(self, user: User) -> None:
        if self.members.pop(user, None) is None:
            return
        self._ungroup(user, user.tagmask)

    def regroup(self, user: User, old_mask: int) -> None:
        """``user.tagmask`` changed (CAP REQ after joining): move its sink."""
        if user in self.members and not _discards(user.sink):
            self._ungroup(user, old_mask)
            self.sinks_by_mask.setdefault(user.tagmask, {})[user.sink] = None

    def _ungroup(self, user: User, mask: int) -> None:
        group = self.sinks_by_mask.get(mask)
        if group is not None:
            group.pop(user.sink, None)
            if not group:
                del self.sinks_by_mask[mask]

    @property
    def persistent(self) -> bool:
        return "P" in self.modes or self.founder is not None

    def prefix_of(self, user: User, multi: bool = False) -> str:
        held = self.members.get(user, "")
        if not held:
            return ""
        symbols = [sym for mode, sym in PREFIXES if mode in held]
        return "".join(symbols) if multi else symbols[0]

    def is_op(self, user: User) -> bool:
        return "o" in self.members.get(user, "")

    # Policy that needs nothing but the channel's own state lives here, so every
    # caller (delivery, JOIN, NICK, history, bots) asks the channel the same way.

    def is_banned(self, user: User) -> bool:
        """A ban (+b) matches ``user`` and no ban exception (+e) does."""
        if not self.bans:
            return False
        source = user.source
        if not any(mask_matches(mask, source) for mask, _, _ in self.bans):
            return False
        return not any(mask_matches(mask, source) for mask, _, _ in self.excepts)

    def is_invite_excepted(self, user: User) -> bool:
        """An invite exception (+I) lets ``user`` past +i without an INVITE."""
        source = user.source
        return any(mask_matches(mask, source) for mask, _, _ in self.invex)

    def can_send(self, user: User) -> bool:
        """Whether ``user`` may speak here: +n keeps outsiders out, +m and bans
        silence whoever holds no prefix, members and outsiders alike."""
        held = self.members.get(user)
        if held is None:
            if "n" in self.modes:
                return False
        elif held:
            return True
        if "m" in self.modes:
            return False
        return not self.is_banned(user)

    def mode_string(self, show_password: bool) -> tuple[str, list[str]]:
        flags = "".join(sorted(self.modes))
        params: list[str] = []
        if self.password is not None:
            flags += "k"
            params.append(self.password if show_password else "*")
        if self.limit is not None:
            flags += "l"
            params.append(str(self.limit))
        return "+" + flags, params

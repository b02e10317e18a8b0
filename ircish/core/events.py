"""What happened on the server, as plain immutable records.

The core emits these; the shell hands each one to the history writer and to the
plugin hooks. Emitting is synchronous and must never block: consumers queue.
Times are integer microseconds since the Unix epoch (UTC), ``micros``: the
form the history rows keep, so a time is converted once, when it is read off the
clock (``micros_from``), and never again on its way to the database. Plugins see
datetimes (``as_datetime``, at the plugin boundary). ``source`` is the full
``nick!user@host`` of whoever caused the event.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")


class _Factory:
    """The default of a field made by a factory, until ``__init__`` makes it."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _quick_init(cls: type[_T]) -> type[_T]:
    """The frozen dataclass ``cls`` with an ``__init__`` that stores each field
    through its slot's own descriptor.

    A frozen dataclass's generated ``__init__`` goes through
    ``object.__setattr__`` for every field, the generic attribute look-up
    included; a ``MessageEvent`` (15 fields, one a line) took 2.4 times as long
    to build as with its slots set directly. Same signature, defaults and
    factories; the instance is as frozen as before (its ``__setattr__`` still
    refuses). Generated as source, as ``dataclasses`` does it, so it stays one
    call per field.
    """
    names: dict[str, Any] = {"_FACTORY": _FACTORY}
    params: list[str] = []
    body: list[str] = []
    for f in fields(cls):  # type: ignore[arg-type]
        name = f.name
        names[f"_set_{name}"] = cls.__dict__[name].__set__
        value = name
        if f.default is not MISSING:
            names[f"_default_{name}"] = f.default
            params.append(f"{name}=_default_{name}")
        elif f.default_factory is not MISSING:
            names[f"_factory_{name}"] = f.default_factory
            params.append(f"{name}=_FACTORY")
            value = f"_factory_{name}() if {name} is _FACTORY else {name}"
        else:
            params.append(name)
        body.append(f"    _set_{name}(self, {value})\n")
    source = f"def __init__(self, {', '.join(params)}):\n" + "".join(body)
    exec(source, names)  # our own field names only, as dataclasses does
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[misc]
    return cls


def micros_from(ts: float) -> int:
    """A clock reading (seconds, float) as whole microseconds since the epoch."""
    return round(ts * 1_000_000)


def as_datetime(micros: int) -> datetime:
    """``micros`` as an aware UTC datetime, exactly (for plugins and people)."""
    return _EPOCH + timedelta(microseconds=micros)


def micros_of(when: datetime) -> int:
    """A datetime (a plugin's, a client's timestamp) as µs; naive is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Integer arithmetic on the timedelta keeps every microsecond (float would not).
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@_quick_init
@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A PRIVMSG, NOTICE or TAGMSG that was delivered.

    ``target`` is the channel name or the recipient's nick as the server knows it
    (canonical case); for private messages ``recipient`` is that nick and
    ``is_channel`` is False. ``tags`` holds only client-only tags (``+`` prefixed).
    """

    msgid: str
    micros: int
    command: Literal["PRIVMSG", "NOTICE", "TAGMSG"]
    source: str
    nick: str
    account: str | None
    target: str
    is_channel: bool
    text: str
    tags: dict[str, str] = field(default_factory=dict)
    # The recipient's account for a private message, so its history follows the
    # account rather than a nick someone else may take later.
    recipient_account: str | None = None
    # Private messages: the sender's and the recipient's ``User.session``, so a
    # party without an account is known by this connection, not by the nick.
    session: str | None = None
    recipient_session: str | None = None
    # A draft/multiline message: ``text`` holds its lines joined by "\n", and these
    # are the offsets in it where a line continued the previous one with no line
    # feed (draft/multiline-concat); see ircish.core.multiline.
    concat: tuple[int, ...] = ()
    # A STATUSMSG (``@#chan``): the prefix symbol it was sent to, so it reaches
    # only members of that rank or higher wherever it is delivered.
    status: str = ""


@_quick_init
@dataclass(frozen=True, slots=True)
class JoinEvent:
    msgid: str
    micros: int
    source: str
    nick: str
    account: str | None
    channel: str
    # Kept with the line so a replayed JOIN has its extended-join form.
    realname: str = ""


@_quick_init
@dataclass(frozen=True, slots=True)
class LeaveEvent:
    """Someone left a channel: ``kind`` is part, kick or quit.

    For a kick, ``by`` is the kicker's source and ``nick`` the one kicked. A quit
    yields one LeaveEvent per channel the user was in (and a DisconnectEvent).
    """

    msgid: str
    micros: int
    source: str
    nick: str
    channel: str
    kind: Literal["part", "kick", "quit"]
    reason: str
    by: str | None = None


@_quick_init
@dataclass(frozen=True, slots=True)
class NickEvent:
    msgid: str
    micros: int
    source: str
    old: str
    new: str
    channels: tuple[str, ...]


@_quick_init
@dataclass(frozen=True, slots=True)
class TopicEvent:
    msgid: str
    micros: int
    source: str
    nick: str
    channel: str
    topic: str


@_quick_init
@dataclass(frozen=True, slots=True)
class ModeEvent:
    """A channel MODE that changed something: ``modes`` is the applied mode string
    and its parameters, as the members were sent them."""

    msgid: str
    micros: int
    source: str
    channel: str
    modes: tuple[str, ...]


@_quick_init
@dataclass(frozen=True, slots=True)
class WelcomeEvent:
    """A client finished registration (after 001-005, LUSERS and MOTD were sent)."""

    micros: int
    source: str
    nick: str
    account: str | None
    first_client: bool


@_quick_init
@dataclass(frozen=True, slots=True)
class DisconnectEvent:
    micros: int
    source: str
    nick: str
    reason: str


@_quick_init
@dataclass(frozen=True, slots=True)
class ChannelStateEvent:
    """A persistent channel's topic, modes or bans changed; carries the whole state."""

    channel: str
    topic: str
    topic_setter: str
    topic_micros: int | None
    modes: str
    key: str | None
    limit: int | None
    bans: tuple[tuple[str, str, int], ...]  # mask, set by, set at (µs)
    persistent: bool


@_quick_init
@dataclass(frozen=True, slots=True)
class AccountEvent:
    """A user logged in to an account (``account``) or out of one (``account`` None)."""

    micros: int
    source: str
    nick: str
    account: str | None
    previous: str | None
    via: str  # "SASL PLAIN", "NickServ", "REGISTER", "drop", ...


@_quick_init
@dataclass(frozen=True, slots=True)
class RedactEvent:
    """A REDACT that was accepted: ``redacted`` is the msgid of the message removed.

    ``target`` is the channel, or for a private message the two nicks of that
    conversation as the message was sent (``target`` the recipient, ``peer`` the
    sender), which is how its history is keyed.
    """

    msgid: str
    micros: int
    source: str
    nick: str
    target: str
    is_channel: bool
    redacted: str
    reason: str = ""
    peer: str = ""


@_quick_init
@dataclass(frozen=True, slots=True)
class RenameEvent:
    """A channel was renamed (draft/channel-rename): ``old`` and ``new`` as written.

    Everything kept under the old name (history, the stored state, a ChanServ
    registration, read markers) is kept under the new one from here on; a
    rename that changes only the case keeps the same key.
    """

    msgid: str
    micros: int
    source: str
    nick: str
    old: str
    new: str
    reason: str = ""


@_quick_init
@dataclass(frozen=True, slots=True)
class AwayEvent:
    """A user's AWAY (``away`` None: back), as away-notify clients were told."""

    msgid: str
    micros: int
    source: str
    nick: str
    away: str | None


@_quick_init
@dataclass(frozen=True, slots=True)
class RealnameEvent:
    """A SETNAME that was accepted."""

    msgid: str
    micros: int
    source: str
    nick: str
    realname: str


@_quick_init
@dataclass(frozen=True, slots=True)
class HostEvent:
    """A user's username and host changed (CHGHOST); ``source`` is the old mask."""

    msgid: str
    micros: int
    source: str
    nick: str
    username: str
    host: str


@_quick_init
@dataclass(frozen=True, slots=True)
class InviteEvent:
    """An INVITE of ``target`` (a nick) to ``channel`` by ``source``."""

    msgid: str
    micros: int
    source: str
    nick: str
    target: str
    channel: str


@_quick_init
@dataclass(frozen=True, slots=True)
class UserModeEvent:
    """A registered user's modes changed; ``modes`` is the whole set now."""

    nick: str
    modes: str


@_quick_init
@dataclass(frozen=True, slots=True)
class KillEvent:
    """An operator's KILL of a user of another network node: that node disconnects it."""

    source: str
    nick: str
    comment: str
    reason: str


Event = (
    MessageEvent
    | JoinEvent
    | LeaveEvent
    | NickEvent
    | TopicEvent
    | ModeEvent
    | WelcomeEvent
    | DisconnectEvent
    | ChannelStateEvent
    | AccountEvent
    | RedactEvent
    | RenameEvent
    | AwayEvent
    | RealnameEvent
    | HostEvent
    | InviteEvent
    | UserModeEvent
)

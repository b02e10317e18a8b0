"""What happened on the server, as plain immutable records.

The core emits these; the shell hands each one to the history writer and to the
plugin hooks. Emitting is synchronous and must never block: consumers queue.
Times are timezone-aware UTC datetimes with microseconds; ``source`` is the
full ``nick!user@host`` of whoever caused the event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A PRIVMSG, NOTICE or TAGMSG that was delivered.

    ``target`` is the channel name or the recipient's nick as the server knows it
    (canonical case); for private messages ``recipient`` is that nick and
    ``is_channel`` is False. ``tags`` holds only client-only tags (``+`` prefixed).
    """

    msgid: str
    time: datetime
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


@dataclass(frozen=True, slots=True)
class JoinEvent:
    msgid: str
    time: datetime
    source: str
    nick: str
    account: str | None
    channel: str


@dataclass(frozen=True, slots=True)
class LeaveEvent:
    """Someone left a channel: ``kind`` is part, kick or quit.

    For a kick, ``by`` is the kicker's source and ``nick`` the one kicked. A quit
    yields one LeaveEvent per channel the user was in (and a DisconnectEvent).
    """

    msgid: str
    time: datetime
    source: str
    nick: str
    channel: str
    kind: Literal["part", "kick", "quit"]
    reason: str
    by: str | None = None


@dataclass(frozen=True, slots=True)
class NickEvent:
    msgid: str
    time: datetime
    source: str
    old: str
    new: str
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicEvent:
    msgid: str
    time: datetime
    source: str
    nick: str
    channel: str
    topic: str


@dataclass(frozen=True, slots=True)
class WelcomeEvent:
    """A client finished registration (after 001-005, LUSERS and MOTD were sent)."""

    time: datetime
    source: str
    nick: str
    account: str | None
    first_client: bool


@dataclass(frozen=True, slots=True)
class DisconnectEvent:
    time: datetime
    source: str
    nick: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChannelStateEvent:
    """A persistent channel's topic, modes or bans changed; carries the whole state."""

    channel: str
    topic: str
    topic_setter: str
    topic_time: datetime | None
    modes: str
    key: str | None
    limit: int | None
    bans: tuple[tuple[str, str, datetime], ...]
    persistent: bool


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """A user logged in to an account (``account``) or out of one (``account`` None)."""

    time: datetime
    source: str
    nick: str
    account: str | None
    previous: str | None
    via: str  # "SASL PLAIN", "NickServ", "REGISTER", "drop", ...


Event = (
    MessageEvent
    | JoinEvent
    | LeaveEvent
    | NickEvent
    | TopicEvent
    | WelcomeEvent
    | DisconnectEvent
    | ChannelStateEvent
    | AccountEvent
)

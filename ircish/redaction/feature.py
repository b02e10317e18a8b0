"""``draft/message-redaction``: ``REDACT <target> <msgid> [:reason]``.

``redaction_feature(app)`` is listed by ``ircish.app.build_server`` always. Who
sent what is known from the core's ``MessageEvent``s, remembered for the most
recent ``_REMEMBERED`` messages (``RecentMessages``): a message's sender may
redact it, and in a channel its operators may too, within ``[limits]
redact_window`` seconds; IRC operators at any time it is remembered. An
accepted REDACT goes to the members (or the two parties) that have the
capability, and nobody else, and a ``RedactEvent`` tells the history worker to
delete the stored message (``ircish.store.rows``), so CHATHISTORY no longer
returns it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Container
from typing import TYPE_CHECKING, NamedTuple

from ircish.core import events
from ircish.core.commands import Command
from ircish.core.extension import Extension
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

CAP = "draft/message-redaction"
# Enough for a busy server's last hours; each entry is a few short strings.
_REMEMBERED = 20_000
# Seconds between sweeps of what can no longer be redacted (see Redaction._maybe_sweep).
SWEEP_EVERY = 10


class Sent(NamedTuple):
    """What REDACT needs to know of one message: where it went and who sent it.

    A tuple, not a dataclass: one is made for every message on the server.
    """

    micros: int
    is_channel: bool
    sender_session: str
    sender_account: str | None
    # The names as sent (a private message's history is keyed by them).
    sender_nick: str
    target: str
    recipient_session: str | None


class RecentMessages:
    """The last ``limit`` messages by msgid, oldest forgotten first."""

    def __init__(self, limit: int = _REMEMBERED) -> None:
        self.limit = limit
        self._sent: OrderedDict[str, Sent] = OrderedDict()

    def add(self, msgid: str, sent: Sent) -> None:
        self._sent[msgid] = sent
        if len(self._sent) > self.limit:
            self._sent.popitem(last=False)

    def get(self, msgid: str) -> Sent | None:
        return self._sent.get(msgid)

    def forget(self, msgid: str) -> None:
        self._sent.pop(msgid, None)

    def __len__(self) -> int:
        return len(self._sent)

    def sweep(self, channels: Container[str], sessions: Container[str]) -> None:
        """Forget what nobody can redact any more: messages of channels that are
        gone (one made again under the name is a new channel) and private messages
        whose sender or recipient has left (REDACT needs both connections). A new
        OrderedDict, since one never shrinks its table when entries go."""
        kept = OrderedDict(
            (msgid, sent) for msgid, sent in self._sent.items()
            if (casefold(sent.target) in channels if sent.is_channel
                else sent.sender_session in sessions and sent.recipient_session in sessions))
        if len(kept) < len(self._sent):
            self._sent = kept

    def rename(self, old: str, new: str) -> None:
        """A channel was renamed: its messages may be redacted under the new name."""
        key = casefold(old)
        sent = self._sent
        for msgid, entry in sent.items():
            if entry.is_channel and casefold(entry.target) == key:
                sent[msgid] = entry._replace(target=new)


class Redaction:
    def __init__(self, app: IrcServer) -> None:
        self.core: Server = app.core
        self.recent = RecentMessages()
        self._swept_micros = 0
        self._swept_connections = 0

    def on_event(self, event: events.Event) -> None:
        if type(event) is events.RenameEvent:
            self.recent.rename(event.old, event.new)
            return
        if type(event) is events.DisconnectEvent:
            self._maybe_sweep(event.micros)
            return
        if type(event) is not events.MessageEvent:
            return
        if event.is_channel:
            sender = self.core.users.get(casefold(event.nick))
            session = sender.session if sender is not None else ""
            sent = Sent(event.micros, True, session, event.account, event.nick, event.target,
                        None)
        else:
            sent = Sent(event.micros, False, event.session or "", event.account, event.nick,
                        event.target, event.recipient_session)
        self.recent.add(event.msgid, sent)

    def _maybe_sweep(self, micros: int) -> None:
        # At most every SWEEP_EVERY seconds, or sooner whenever the connections have
        # halved since the last sweep, so a crowd that leaves is forgotten with
        # it (the last departure always sweeps) at a cost of a few scans.
        connections = len(self.core.connections)
        if (micros - self._swept_micros < SWEEP_EVERY * 1_000_000
                and connections * 2 > self._swept_connections):
            return
        self._swept_micros, self._swept_connections = micros, connections
        if len(self.recent):
            self.recent.sweep(self.core.channels,
                              {user.session for user in self.core.connections})

    def redact(self, server: Server, user: User, msg: Message) -> None:
        target, msgid = msg.params[0], msg.params[1]
        reason = msg.param(2)
        if target.startswith("#"):
            channel = server.find_channel(target)
            if channel is None or user not in channel.members:
                server.fail(user, "REDACT", "INVALID_TARGET", target,
                            f"You cannot delete messages from {target}")
                return
            recipients: list[User] = list(channel.members)
            display = channel.name
        else:
            peer = server.find_user(target)
            if peer is None or peer.service is not None:
                server.fail(user, "REDACT", "INVALID_TARGET", target,
                            f"You cannot delete messages from {target}")
                return
            channel = None
            recipients = [user] if peer is user else [user, peer]
            display = peer.nick
        sent = self.recent.get(msgid)
        if sent is None or not _belongs(sent, target, user, recipients):
            server.fail(user, "REDACT", "UNKNOWN_MSGID", display, msgid,
                        "This message does not exist or is too old")
            return
        oper = "o" in user.modes
        own = sent.sender_session == user.session or (
            sent.sender_account is not None and sent.sender_account == user.account)
        moderator = channel is not None and channel.is_op(user)
        if not (own or moderator or oper):
            server.fail(user, "REDACT", "REDACT_FORBIDDEN", display, msgid,
                        "You are not authorised to delete this message")
            return
        window = server.config.limits.redact_window
        now = server.micros(server.clock())
        if not oper and now - sent.micros > window * 1_000_000:
            server.fail(user, "REDACT", "REDACT_WINDOW_EXPIRED", display, msgid, str(window),
                        "You can no longer edit this message")
            return
        self.recent.forget(msgid)
        params = [display, msgid, reason] if reason else [display, msgid]
        line = server.new_line("REDACT", params, user.source, sender=user)
        # The spec: never to a client without the capability (no fallback here).
        server.relay_members([m for m in recipients if CAP in m.caps], line)
        server.emit(events.RedactEvent(
            line.msgid, server.micros(line.ts), user.source, user.nick,
            display if sent.is_channel else sent.target, sent.is_channel,
            msgid, reason, "" if sent.is_channel else sent.sender_nick))


def _belongs(sent: Sent, target: str, user: User, parties: list[User]) -> bool:
    """Whether ``sent`` is a message of the conversation REDACT names."""
    if sent.is_channel or target.startswith("#"):
        return sent.is_channel and casefold(sent.target) == casefold(target)
    sessions = {p.session for p in parties}
    if len(parties) == 1:  # a message to oneself
        return sent.sender_session == user.session == sent.recipient_session
    return {sent.sender_session, sent.recipient_session} == sessions


REDACT_HELP = (
    "REDACT <target> <msgid> [:reason]\n"
    "Remove a message you sent (in a channel you operate: anyone's) from the\n"
    "clients that support draft/message-redaction and from the stored history,\n"
    "within the server's redaction window."
)


def redaction_feature(app: IrcServer) -> Extension:
    owner = Redaction(app)
    return Extension(
        name="redaction",
        commands=(Command("REDACT", owner.redact, min_params=2, help=REDACT_HELP),),
        capabilities={CAP: ""},
        event_listeners=(owner.on_event,),
        owner=owner,
    )

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

With a history store (``redaction_feature(app, store)``), a channel message the
store keeps is remembered only while its sender is connected: the sender's
connection (``User.session``) is the one thing the store does not know of a
channel line, and it matters only while that connection lasts. Once the sender
has gone, REDACT asks the store for the line (``MSGID``; its time, account and
channel are all the other rules need), so a crowd that leaves takes its
messages out of memory with it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Container
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import trio

from ircish.core import chathistory as ch
from ircish.core import events
from ircish.core.commands import Command
from ircish.core.extension import Extension
from ircish.history.deferred import DeferredAnswers
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.replies import Replies
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.history.client import StoreClient
    from ircish.history.records import HistoryRecord
    from ircish.net.app import IrcServer
    from ircish.protocol import Message

log = logging.getLogger("ircish.redaction")

CAP = "draft/message-redaction"
# Enough for a busy server's last hours; each entry is a few short strings.
_REMEMBERED = 20_000
# Seconds between sweeps of what can no longer be redacted (see Redaction._maybe_sweep).
SWEEP_EVERY = 10
# The kinds of line a REDACT may name (a MessageEvent's commands).
REDACTABLE = frozenset({"PRIVMSG", "NOTICE", "TAGMSG"})
# Store look-ups one client may have waiting; more are answered as unknown.
MAX_IN_FLIGHT = 2
# Redacted msgids remembered against a look-up that began before the redaction:
# far more than can be in flight at once (MAX_IN_FLIGHT a connection, each short).
_REDACTED_KEPT = 1_000


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
    # A channel line the history store keeps (not a STATUSMSG, not a TAGMSG): it
    # can be looked up there once its sender has gone.
    in_store: bool = False


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

    def sweep(self, channels: Container[str], sessions: Container[str],
              stored: bool = False) -> None:
        """Forget what nobody can redact any more: messages of channels that are
        gone (one made again under the name is a new channel) and private messages
        whose sender or recipient has left (REDACT needs both connections); with
        ``stored``, also the channel lines the store keeps whose sender has left
        (REDACT finds them there). A new OrderedDict, since one never shrinks its
        table when entries go."""
        kept = OrderedDict(
            (msgid, sent) for msgid, sent in self._sent.items()
            if (casefold(sent.target) in channels
                and not (stored and sent.in_store and sent.sender_session not in sessions)
                if sent.is_channel
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
    def __init__(self, app: IrcServer, store: StoreClient | None = None) -> None:
        self.core: Server = app.core
        self.recent = RecentMessages()
        self.store = store
        self.deferred = DeferredAnswers(MAX_IN_FLIGHT)
        # The msgids redacted lately: a store look-up that started before one of them
        # was redacted may still find its row, and must not redact it a second time.
        self._redacted: OrderedDict[str, None] = OrderedDict()
        self._swept_micros = 0
        self._swept_connections = 0
        # A departure whose sweep was put off (see _maybe_sweep).
        self._unswept = False

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        """Runs the store look-ups (with a store only), and sweeps what departures
        left unswept: the last of a crowd to leave may go within SWEEP_EVERY of a
        sweep, while the connections no longer halve (the bots stay), and their
        lines would otherwise stay until the next departure."""
        try:
            async with trio.open_nursery() as nursery:
                self.deferred.nursery = nursery
                task_status.started()
                while True:
                    await trio.sleep(SWEEP_EVERY)
                    if self._unswept:
                        self._sweep(self.core.micros(self.core.clock()))
        finally:
            self.deferred.nursery = None

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
                        None, event.command != "TAGMSG" and not event.status)
        else:
            sent = Sent(event.micros, False, event.session or "", event.account, event.nick,
                        event.target, event.recipient_session)
        self.recent.add(event.msgid, sent)

    def _maybe_sweep(self, micros: int) -> None:
        # At most every SWEEP_EVERY seconds, or sooner whenever the connections have
        # halved since the last sweep, so a crowd that leaves is forgotten with
        # it at a cost of a few scans (the last departure sweeps when nobody
        # stays; with a store, ``serve`` sweeps what was put off).
        if (micros - self._swept_micros < SWEEP_EVERY * 1_000_000
                and len(self.core.connections) * 2 > self._swept_connections):
            self._unswept = True
            return
        self._sweep(micros)

    def _sweep(self, micros: int) -> None:
        self._swept_micros, self._swept_connections = micros, len(self.core.connections)
        self._unswept = False
        if len(self.recent):
            self.recent.sweep(self.core.channels,
                              {user.session for user in self.core.connections},
                              stored=self.store is not None)

    def redact(self, server: Server, user: User, msg: Message) -> None:
        conversation = _conversation(server, user, msg.params[0])
        if conversation is None:
            return
        channel = conversation[0]
        msgid = msg.params[1]
        sent = self.recent.get(msgid)
        if sent is None and channel is not None and self.store is not None:
            # Not remembered: its sender has gone, or it is older than the memory.
            request = ch.HistoryRequest(
                "MSGID", channel.name, (("msgid", msgid),), 1, REDACTABLE,
                ch.history_epoch(server, channel), ch.viewer_of(user))
            if self.deferred.start(server, user, partial(self._look_up, user, msg, request)):
                return
        self._decide(server, user, msg, conversation, sent)

    async def _look_up(
        self, user: User, msg: Message, request: ch.HistoryRequest, replies: Replies | None,
    ) -> None:
        core = self.core
        assert self.store is not None
        try:
            (records,) = await self.store.ask(request)
        except Exception as exc:
            # A look-up must never take the server down; the message is then unknown.
            log.warning("REDACT look-up of %s in %s failed: %s", request.refs[0],
                        request.target, exc)
            records = []
        if user not in core.connections:
            return
        # Written under ``collecting`` only after the await (as CHATHISTORY's answer).
        with core.replies.collecting(replies):
            # Checked again: the channel and its members may have changed meanwhile.
            conversation = _conversation(core, user, msg.params[0])
            if conversation is None:
                return
            sent = self.recent.get(msg.params[1])
            if sent is None and records and msg.params[1] not in self._redacted:
                sent = _from_store(records[0])
            self._decide(core, user, msg, conversation, sent)

    def _decide(
        self, server: Server, user: User, msg: Message,
        conversation: tuple[Channel | None, list[User], str], sent: Sent | None,
    ) -> None:
        target, msgid = msg.params[0], msg.params[1]
        reason = msg.param(2)
        channel, recipients, display = conversation
        if sent is None or not _belongs(sent, target, user, recipients) or (
                # A line of an earlier channel of that name (a sweep runs only at
                # departures): not this channel's to redact.
                channel is not None and sent.micros < (ch.history_epoch(server, channel) or 0)):
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
        self._redacted[msgid] = None
        if len(self._redacted) > _REDACTED_KEPT:
            self._redacted.popitem(last=False)
        params = [display, msgid, reason] if reason else [display, msgid]
        line = server.new_line("REDACT", params, user.source, sender=user)
        # The spec: never to a client without the capability (no fallback here).
        server.relay_members([m for m in recipients if CAP in m.caps], line)
        server.emit(events.RedactEvent(
            line.msgid, server.micros(line.ts), user.source, user.nick,
            display if sent.is_channel else sent.target, sent.is_channel,
            msgid, reason, "" if sent.is_channel else sent.sender_nick))


def _conversation(
    server: Server, user: User, target: str,
) -> tuple[Channel | None, list[User], str] | None:
    """Where REDACT ``target`` points: the channel (None for a private message),
    whoever is told, and the name as shown; None after the FAIL saying it cannot."""
    if target.startswith("#"):
        channel = server.find_channel(target)
        if channel is not None and user in channel.members:
            return channel, list(channel.members), channel.name
    else:
        peer = server.find_user(target)
        if peer is not None and peer.service is None:
            return None, [user] if peer is user else [user, peer], peer.nick
    server.fail(user, "REDACT", "INVALID_TARGET", target,
                f"You cannot delete messages from {target}")
    return None


def _from_store(record: HistoryRecord) -> Sent:
    """A stored channel line as REDACT's memory would hold it, without the sender's
    connection: the store does not know it, and it has gone anyway."""
    return Sent(record.micros, True, "", record.account, record.nick, record.target, None,
                True)


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


def redaction_feature(app: IrcServer, store: StoreClient | None = None) -> Extension:
    # On a node of a network the channel lines go to the shared database by the
    # network worker, not through this store, so its read-your-writes order does
    # not cover them: the memory keeps them all there, as without a store.
    if app.config.network.node_id:
        store = None
    owner = Redaction(app, store)
    return Extension(
        name="redaction",
        commands=(Command("REDACT", owner.redact, min_params=2, help=REDACT_HELP),),
        capabilities={CAP: ""},
        event_listeners=(owner.on_event,),
        services=(owner.serve,) if store is not None else (),
        owner=owner,
    )

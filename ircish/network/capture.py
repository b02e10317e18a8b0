"""This node's events as the network's operations (plain dicts, stored as JSON).

The core emits an event for everything a local user does; ``Capture.op`` turns
the ones other nodes must replay into one operation each, naming users by
their session (``User.session``: stable across nick changes, never reused),
with the msgid and time the local members saw, so every node shows the same
line. Remote users' actions never pass here: the replica applies them without
emitting events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ircish.core import events
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User

Op = dict[str, Any]
# The channel lists by mode letter, and the Channel attribute holding each.
LIST_MODES = {"b": "bans", "e": "excepts", "I": "invex"}


def channel_lists(server: Server, channel: Channel) -> dict[str, list[list[Any]]]:
    """+b/+e/+I as ``{letter: [[mask, set by, set at (µs)], ...]}`` (JSON)."""
    return {letter: [[mask, setter, server.micros(when)]
                     for mask, setter, when in getattr(channel, attr)]
            for letter, attr in LIST_MODES.items()}


def user_op(user: User, micros: int, server: str = "") -> Op:
    return {"t": "user", "session": user.session, "nick": user.nick,
            "username": user.username, "host": user.host, "realname": user.realname,
            "account": user.account, "modes": "".join(sorted(user.modes)), "away": user.away,
            "server": server, "micros": micros}


def node_op(node: str, server: str) -> Op:
    """A node's first operation after it joins: the server name its users are on."""
    return {"t": "node", "node": node, "server": server}


class Capture:
    def __init__(self, server: Server, sessions: dict[str, User]) -> None:
        self.server = server
        # Every user this node knows by session, local and remote (the replica's too).
        self.sessions = sessions
        # Local registered users by casefolded nick: a DisconnectEvent comes after
        # the core has forgotten the user.
        self.local: dict[str, User] = {}
        self._quit_msgid: dict[str, str] = {}

    def op(self, event: events.Event) -> Op | None:
        kind = type(event)
        if kind is events.MessageEvent:
            return self._message(event)  # type: ignore[arg-type]
        if kind is events.JoinEvent:
            return self._join(event)  # type: ignore[arg-type]
        if kind is events.LeaveEvent:
            return self._leave(event)  # type: ignore[arg-type]
        if kind is events.WelcomeEvent:
            user = self.server.find_user(event.nick)  # type: ignore[union-attr]
            if user is None:
                return None
            self.local[user.key] = user
            self.sessions[user.session] = user
            return user_op(user, event.micros, self.server.name)  # type: ignore[union-attr]
        if kind is events.DisconnectEvent:
            return self._quit(event)  # type: ignore[arg-type]
        if kind is events.NickEvent:
            return self._nick(event)  # type: ignore[arg-type]
        if kind is events.TopicEvent:
            ev: events.TopicEvent = event  # type: ignore[assignment]
            return {"t": "topic", "channel": ev.channel, "topic": ev.topic, "source": ev.source,
                    "setter": ev.source, "msgid": ev.msgid, "micros": ev.micros}
        if kind is events.ModeEvent:
            return self._mode(event)  # type: ignore[arg-type]
        if kind is events.AccountEvent:
            user = self.server.find_user(event.nick)  # type: ignore[union-attr]
            if user is None or user.key not in self.local:
                return None
            return {"t": "account", "session": user.session, "account": user.account}
        if kind is events.AwayEvent:
            ev_away: events.AwayEvent = event  # type: ignore[assignment]
            return self._about(ev_away.nick, {"t": "away", "away": ev_away.away}, ev_away)
        if kind is events.RealnameEvent:
            ev_name: events.RealnameEvent = event  # type: ignore[assignment]
            return self._about(ev_name.nick, {"t": "realname", "realname": ev_name.realname},
                               ev_name)
        if kind is events.HostEvent:
            # An operator's CHGHOST may name a user of another node: its node and
            # the others are told alike (the user itself, 396, by its own node).
            ev_host: events.HostEvent = event  # type: ignore[assignment]
            target = self._on_network(ev_host.nick)
            if target is None:
                return None
            return {"t": "host", "session": target.session, "username": ev_host.username,
                    "host": ev_host.host, "source": ev_host.source, "msgid": ev_host.msgid,
                    "micros": ev_host.micros}
        if kind is events.UserModeEvent:
            user = self.local.get(casefold(event.nick))  # type: ignore[union-attr]
            if user is None:
                return None
            return {"t": "umode", "session": user.session,
                    "modes": event.modes}  # type: ignore[union-attr]
        if kind is events.InviteEvent:
            return self._invite(event)  # type: ignore[arg-type]
        if kind is events.KillEvent:
            ev_kill: events.KillEvent = event  # type: ignore[assignment]
            victim = self._on_network(ev_kill.nick)
            if victim is None:
                return None
            return {"t": "kill", "session": victim.session, "source": ev_kill.source,
                    "comment": ev_kill.comment, "reason": ev_kill.reason}
        if kind is events.RenameEvent:
            ev_rename: events.RenameEvent = event  # type: ignore[assignment]
            return {"t": "rename", "old": ev_rename.old, "new": ev_rename.new,
                    "reason": ev_rename.reason, "source": ev_rename.source,
                    "msgid": ev_rename.msgid, "micros": ev_rename.micros}
        return None

    def _on_network(self, nick: str) -> User | None:
        """A user in the network's sessions (ours or another node's), else None."""
        user = self.server.find_user(nick)
        return user if user is not None and user.session in self.sessions else None

    def _about(self, nick: str, op: Op,
               ev: events.AwayEvent | events.RealnameEvent) -> Op | None:
        """A change to one of this node's users (bots stay on their node)."""
        user = self.local.get(casefold(nick))
        if user is None:
            return None
        op.update(session=user.session, source=ev.source, msgid=ev.msgid, micros=ev.micros)
        return op

    def _invite(self, ev: events.InviteEvent) -> Op | None:
        target = self.server.find_user(ev.target)
        if casefold(ev.nick) not in self.local or target is None:
            return None
        # The invited may be anyone's, ours too (the other nodes' operators may watch).
        return {"t": "invite", "session": target.session, "channel": ev.channel,
                "source": ev.source, "msgid": ev.msgid, "micros": ev.micros}

    def _message(self, ev: events.MessageEvent) -> Op | None:
        if ev.is_channel and casefold(ev.nick) not in self.local:
            # A bot's: bots and their channels' lines are this node's own (every
            # node has its twin; docs/network.md, "Bots").
            return None
        op: Op = {"t": "msg", "command": ev.command, "source": ev.source, "account": ev.account,
                  "target": ev.target, "channel": ev.is_channel, "text": ev.text,
                  "tags": ev.tags, "msgid": ev.msgid, "micros": ev.micros}
        if ev.concat:
            op["concat"] = list(ev.concat)
        if ev.status:
            op["status"] = ev.status
        if not ev.is_channel:
            recipient = self.server.find_user(ev.target)
            if recipient is None or recipient.key in self.local:
                return None  # a local conversation: nobody else delivers it
            op["to"] = recipient.session
        return op

    def _join(self, ev: events.JoinEvent) -> Op | None:
        user = self.local.get(casefold(ev.nick))
        channel = self.server.find_channel(ev.channel)
        if user is None or channel is None:
            return None
        return {"t": "join", "session": user.session, "channel": channel.name,
                "held": channel.members.get(user, ""), "modes": "".join(sorted(channel.modes)),
                "created": self.server.micros(channel.created),
                "source": ev.source, "msgid": ev.msgid, "micros": ev.micros}

    def _leave(self, ev: events.LeaveEvent) -> Op | None:
        key = casefold(ev.nick)
        if ev.kind == "quit":
            self._quit_msgid[key] = ev.msgid
            return None
        target = self.server.find_user(ev.nick)
        if target is None:
            return None
        op: Op = {"t": ev.kind, "session": target.session, "channel": ev.channel,
                  "reason": ev.reason, "source": ev.by or ev.source, "nick": target.nick,
                  "msgid": ev.msgid, "micros": ev.micros}
        return op

    def _quit(self, ev: events.DisconnectEvent) -> Op | None:
        key = casefold(ev.nick)
        user = self.local.pop(key, None)
        msgid = self._quit_msgid.pop(key, None)
        if user is None:
            return None
        self.sessions.pop(user.session, None)
        return {"t": "quit", "session": user.session, "nick": ev.nick, "reason": ev.reason,
                "source": ev.source, "msgid": msgid or self.server.new_msgid(),
                "micros": ev.micros}

    def _nick(self, ev: events.NickEvent) -> Op | None:
        user = self.local.pop(casefold(ev.old), None)
        if user is None:
            return None
        self.local[user.key] = user
        return {"t": "nick", "session": user.session, "new": ev.new, "source": ev.source,
                "msgid": ev.msgid, "micros": ev.micros}

    def _mode(self, ev: events.ModeEvent) -> Op | None:
        channel = self.server.find_channel(ev.channel)
        if channel is None:
            return None
        held = [(member.session, channel.members[member])
                for member in (self.server.find_user(p) for p in ev.modes[1:])
                if member is not None and member in channel.members]
        op: Op = {"t": "mode", "channel": channel.name, "modes": list(ev.modes),
                  "flags": "".join(sorted(channel.modes)), "key": channel.password,
                  "limit": channel.limit, "held": held, "source": ev.source,
                  "msgid": ev.msgid, "micros": ev.micros}
        if ev.modes and any(ch in LIST_MODES for ch in ev.modes[0]):
            # The lists as they ended up, for the tables (a node that starts later).
            op["lists"] = channel_lists(self.server, channel)
        return op


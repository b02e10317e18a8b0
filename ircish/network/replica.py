"""Other nodes' users and what they do, in this node's core state.

A remote user is an ordinary registered ``User`` whose sink forwards nothing
(``RemoteSink``): NAMES, WHO, WHOIS, MONITOR and the channel rules see it like
anyone, and a line the core relays to it is dropped here (its own node
delivers it). ``Replica.apply`` replays one operation of another origin: it
changes the state directly and sends the local members the line the origin's
members saw, with the same msgid and time. It emits no core event, so nothing
it does is stored again or sent back to the network.

A RENAME races the lines other nodes say to the channel before they have
applied it: such a line (a "straggler") names the old name, and its node has
stored it under the old key after the rename moved the rest. Every node that
processes a RENAME says so in its own stream (a ``renamed`` operation, after
every line it said before), so until an origin's ``renamed`` comes, what it
says to the old name is the renamed channel's (``_pending``): delivered to it
under the name this node knows, and its stored rows moved to the channel's
key by the node that renamed (a ``move`` operation, committed after the rows
it moves). A new channel of the old name gets only what its origins said once
they knew of the rename. The ``renamed`` carries the RENAME itself: a node
that hears of it first from a third node applies it then, so it never mixes
a new channel of the old name with the renamed one.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ircish.chghost.feature import CAP as CHGHOST_CAP
from ircish.chghost.feature import RPL_VISIBLEHOST, simulate_reconnect
from ircish.core import monitor, multiline
from ircish.core.closing import closing_link
from ircish.core.lines import LineVariants
from ircish.core.multiline import MessageLines
from ircish.core.state import BOT_MODE, PREFIX_RANK, PREFIXES, TAG_MESSAGE_TAGS, Channel, User
from ircish.network.capture import LIST_MODES
from ircish.protocol.casemap import casefold
from ircish.protocol.message import format_line
from ircish.rename import feature as rename

if TYPE_CHECKING:
    from ircish.core.server import Server

log = logging.getLogger("ircish.network")

Op = dict[str, Any]
_PREFIX_MODES = "".join(mode for mode, _ in PREFIXES)
SETNAME_CAP = "setname"  # the core's (only core.commands imports its handlers)
_STATUS_RANK = {symbol: PREFIX_RANK[mode] for mode, symbol in PREFIXES}
RECENT_MSGIDS = 50_000
RENAMES_KEPT = 10_000  # RENAME msgids processed (each acknowledged once)


@dataclass(slots=True)
class Renamed:
    """A RENAME an origin has not acknowledged yet: what it says to the old name
    is ``channel``'s; ``mine``: this node renamed it, and moves the stored rows."""

    msgid: str
    channel: Channel
    mine: bool


class RemoteSink:
    """Where a remote user's bytes go: nowhere, its own node sends them."""

    __slots__ = ("node",)
    discards = True  # ``core.state.Sink``: not in the channels' fan-out groups

    def __init__(self, node: str) -> None:
        self.node = node

    def send(self, data: bytes) -> None:
        pass

    def close(self, error: str) -> None:
        pass


def is_remote(user: User) -> bool:
    return user.sink.__class__ is RemoteSink


class Replica:
    def __init__(self, server: Server, sessions: dict[str, User]) -> None:
        self.server = server
        self.sessions = sessions
        self.applied = 0
        self.duplicates = 0
        # The msgids of the latest operations: a batch whose commit was confirmed
        # by nobody (the connection died in COMMIT) is written again by its worker,
        # and must not be shown twice.
        self._recent: set[str] = set()
        self._recent_order: deque[str] = deque()
        # The other live nodes and their server names (LUSERS, WHOIS's 312).
        self.nodes: dict[str, str] = {}
        # origin -> old channel key -> the RENAMEs of it that origin has not
        # acknowledged yet, oldest first (the module's docstring).
        self._pending: dict[str, dict[str, list[Renamed]]] = {}
        self._renames: dict[str, None] = {}  # RENAME msgids processed, oldest first
        # Stragglers' stored rows to move: (from key, to key, to name) -> msgids.
        self._moves: dict[tuple[str, str, str], list[str]] = {}
        # Where this node's own operations go (the feature's ``NetworkClient.submit``).
        self.submit: Callable[[Op], None] = lambda op: None

    def apply(self, origin: str, op: Op) -> None:
        msgid = op.get("msgid")
        if msgid is not None:
            if msgid in self._recent:
                if op.get("t") == "rename":
                    # Applied already, relayed by a third node: its origin has now
                    # said everything it said before it.
                    self._acknowledged(origin, msgid)
                else:
                    self.duplicates += 1
                return
            self._recent.add(msgid)
            self._recent_order.append(msgid)
            if len(self._recent_order) > RECENT_MSGIDS:
                self._recent.discard(self._recent_order.popleft())
        kind = op.get("t", "")
        # The channel line is nearly every operation: no name built and looked up.
        handler = self._msg if kind == "msg" else getattr(self, "_" + kind, None)
        if handler is None:
            log.warning("network: unknown operation %r from %s ignored", op.get("t"), origin)
            return
        try:
            handler(origin, op)
        except Exception:
            log.exception("network: operation %r from %s failed", op.get("t"), origin)
        self.applied += 1

    # ---- users ----------------------------------------------------------------------

    def _user(self, origin: str, op: Op) -> None:
        server = self.server
        if op["session"] in self.sessions:
            return
        holder = server.find_user(op["nick"])
        if holder is not None:
            # The database gave the nick to one session; a local holder here means this
            # replica is behind (the holder's quit is on its way). The newcomer wins.
            log.warning("network: %s of %s arrives while %r holds the nick here",
                        op["nick"], origin, holder.source)
            if is_remote(holder):
                self._quit(origin, {"session": holder.session, "reason": "nick collision",
                                    "msgid": server.new_msgid(), "micros": op["micros"]})
            else:
                return
        user = server.connect(RemoteSink(origin), "0.0.0.0", op["host"])
        user.password_ok = True
        user.session = op["session"]
        user.username = op["username"]
        user.realname = op["realname"]
        user.account = op.get("account")
        user.away = op.get("away")
        user.home = op.get("server") or self.nodes.get(origin) or origin
        user.connected_at = user.last_active = op["micros"] / 1_000_000
        user.set_nick(op["nick"])
        for mode in op.get("modes", ""):
            server.set_user_mode(user, mode, True)
        user.registered = True
        server.users[user.key] = user
        server.remote_users += 1
        server.max_users = max(server.max_users, len(server.users))
        self.sessions[user.session] = user
        monitor.online(server, user)

    def _remote(self, op: Op) -> User | None:
        user = self.sessions.get(op["session"])
        return user if user is not None and is_remote(user) else None

    def _quit(self, origin: str, op: Op) -> None:
        user = self._remote(op)
        if user is None:
            return
        server = self.server
        line = self._line("QUIT", [op["reason"]], user.source, op)
        seen: set[User] = {user}
        for channel in list(user.channels.values()):
            for member in channel.members:
                if member not in seen:
                    seen.add(member)
                    member.sink.send(line.for_mask(member.tagmask))
            server.remove_member(channel, user)
        self._forget(user)

    def _forget(self, user: User) -> None:
        server = self.server
        server.connections.discard(user)
        for mode in user.modes:
            server.user_mode_counts[mode] -= 1
        if server.users.get(user.key) is user:
            del server.users[user.key]
            monitor.offline(server, user.nick)
        if self.sessions.pop(user.session, None) is not None:
            server.remote_users -= 1
        server.whowas.append((user.nick, user.username, user.host, user.realname,
                              server.clock()))

    def _release(self, origin: str, op: Op) -> None:
        pass  # a claim that never registered: nothing was shown

    def _nick(self, origin: str, op: Op) -> None:
        user = self._remote(op)
        if user is None:
            return
        server = self.server
        line = self._line("NICK", [op["new"]], user.source, op)
        for peer in server.peers(user):
            peer.sink.send(line.for_mask(peer.tagmask))
        old = user.nick
        if server.users.get(user.key) is user:
            del server.users[user.key]
        user.set_nick(op["new"])
        server.users[user.key] = user
        if casefold(old) != user.key:
            monitor.offline(server, old)
            monitor.online(server, user)

    def _account(self, origin: str, op: Op) -> None:
        user = self._remote(op)
        if user is not None:
            user.account = op["account"]

    def _umode(self, origin: str, op: Op) -> None:
        user = self._remote(op)
        if user is None:
            return
        # Not through set_user_mode, which tells the listeners: the counts only.
        wanted = set(op["modes"])
        counts = self.server.user_mode_counts
        for mode in wanted - user.modes:
            counts[mode] += 1
        for mode in user.modes - wanted:
            counts[mode] -= 1
        user.modes = wanted

    def _node(self, origin: str, op: Op) -> None:
        self.nodes[op["node"]] = op["server"]
        # A node (re)joined from a snapshot: what it says next is about the
        # channels as the tables name them.
        self._pending.pop(op["node"], None)
        self.server.linked = frozenset(self.nodes.values())

    def _down(self, origin: str, op: Op) -> None:
        self.nodes.pop(op["node"], None)
        self._pending.pop(op["node"], None)
        self.server.linked = frozenset(self.nodes.values())

    def _skipped(self, origin: str, op: Op) -> None:
        """An operation the database refused at its origin (``db.append(careful=True)``):
        it holds its seq, nothing more, so no node replays what the tables lack."""

    def _away(self, origin: str, op: Op) -> None:
        user = self._remote(op)
        if user is None:
            return
        user.away = op["away"]
        watchers = monitor.audience(self.server, user, "away-notify")
        line = self._line("AWAY", [op["away"]] if op["away"] else [], user.source, op, user)
        self._to_local(watchers, line)

    def _realname(self, origin: str, op: Op) -> None:
        user = self._remote(op)
        if user is None:
            return
        user.realname = op["realname"]
        line = self._line("SETNAME", [op["realname"]], user.source, op, user)
        self._to_local(monitor.audience(self.server, user, SETNAME_CAP), line)

    def _host(self, origin: str, op: Op) -> None:
        # The one changed may be anyone's, ours too (an operator elsewhere did it).
        user = self.sessions.get(op["session"])
        if user is None:
            return
        server = self.server
        old = user.source
        told = monitor.audience(server, user, CHGHOST_CAP)
        fallback = [p for p in server.peers(user)
                    if CHGHOST_CAP not in p.caps and p is not user and not is_remote(p)]
        user.username = op["username"]
        user.host = op["host"]
        user.set_nick(user.nick)
        self._to_local(told, self._line("CHGHOST", [op["username"], op["host"]], old, op, user))
        if fallback:
            simulate_reconnect(server, user, old, fallback)
        if not is_remote(user):
            server.numeric(user, RPL_VISIBLEHOST, op["host"], "is now your displayed host")

    def _kill(self, origin: str, op: Op) -> None:
        # An operator elsewhere killed one of ours: we close it as our own KILL would,
        # so its QUIT is our event and reaches every node (theirs drops the copy then).
        user = self.sessions.get(op["session"])
        if user is None or is_remote(user):
            return
        log.info("KILL %s (%s) by %s on %s: %s", user.nick, user.ip, op["source"], origin,
                 op["comment"])
        self.server.send_line(user, f":{op['source']} KILL {user.nick} :{op['comment']}")
        self.server.kill(user, op["reason"], closing_link(user.host, op["reason"]))

    def _invite(self, origin: str, op: Op) -> None:
        target = self.sessions.get(op["session"])
        channel = self._find(origin, op["channel"])
        if target is None or channel is None:
            return
        # The invitation lets the target through +i on its own node.
        channel.invited.add(target.key)
        line = self._line("INVITE", [target.nick, channel.name], op["source"], op)
        if not is_remote(target):
            target.sink.send(line.for_mask(target.tagmask))
        inviter = self.server.sender_of(op["source"])
        watchers = [m for m in channel.members
                    if m is not inviter and m is not target and "invite-notify" in m.caps
                    and ("i" not in channel.modes or channel.is_op(m))]
        self._to_local(watchers, line)

    # ---- channels ---------------------------------------------------------------------

    def _channel(self, name: str, micros: int, flags: str) -> Channel:
        server = self.server
        key = casefold(name)
        channel = server.channels.get(key)
        created = micros / 1_000_000
        if channel is None:
            channel = Channel(name=name, key=key, created=created)
            channel.modes.update(flags)
            server.channels[key] = channel
        elif created < channel.created:
            # Made on two nodes at once (or kept by each, +P): the older time wins
            # everywhere, as the oldest timestamp does between linked servers.
            channel.created = created
        return channel

    def _join(self, origin: str, op: Op) -> None:
        user = self._remote(op)
        if user is None:
            return
        channel = self._straggler(origin, op["channel"], op) if self._pending else None
        if channel is None:
            channel = self._channel(op["channel"], op.get("created", op["micros"]),
                                    op.get("modes", ""))
        if channel.key in user.channels:
            return
        channel.invited.discard(user.key)
        channel.add_member(user, op["held"])
        user.channels[channel.key] = channel
        extended = (user.source, [channel.name, user.account or "*", user.realname])
        line = self._line("JOIN", [channel.name], user.source, op, user, extended)
        self._to_channel(channel, line)
        if user.away is not None:
            # As the origin does: away-notify members learn at once it is away.
            watchers = [m for m in channel.members if "away-notify" in m.caps]
            self._to_local(watchers, self.server.new_line(
                "AWAY", [user.away], user.source, ts=op["micros"] / 1_000_000, sender=user))

    def _part(self, origin: str, op: Op) -> None:
        user = self._remote(op)
        channel = self._find(origin, op["channel"], op)
        if user is None or channel is None or user not in channel.members:
            return
        params = [channel.name, op["reason"]] if op["reason"] else [channel.name]
        self._to_channel(channel, self._line("PART", params, user.source, op))
        self.server.remove_member(channel, user)

    def _kick(self, origin: str, op: Op) -> None:
        # The one kicked may be anyone's, ours too.
        user = self.sessions.get(op["session"])
        channel = self._find(origin, op["channel"], op)
        if user is None or channel is None or user not in channel.members:
            return
        params = [channel.name, user.nick, op["reason"]]
        self._to_channel(channel, self._line("KICK", params, op["source"], op))
        self.server.remove_member(channel, user)

    def _topic(self, origin: str, op: Op) -> None:
        channel = self._find(origin, op["channel"], op)
        if channel is None:
            return
        channel.topic = op["topic"]
        channel.topic_setter = op["setter"]
        channel.topic_time = op["micros"] / 1_000_000
        self._to_channel(channel, self._line("TOPIC", [channel.name, op["topic"]],
                                             op["source"], op))

    def _mode(self, origin: str, op: Op) -> None:
        channel = self._find(origin, op["channel"])
        if channel is None:
            return
        modes = op["modes"]
        args = list(modes[1:])
        adding = True
        when = op["micros"] / 1_000_000
        for ch in modes[0] if modes else "":
            if ch in "+-":
                adding = ch == "+"
            elif ch in LIST_MODES:
                mask = args.pop(0) if args else ""
                masks: list[tuple[str, str, float]] = getattr(channel, LIST_MODES[ch])
                folded = casefold(mask)
                masks[:] = [m for m in masks if casefold(m[0]) != folded]
                if adding:
                    masks.append((mask, op["source"], when))
            elif ch in _PREFIX_MODES or ch == "k" or (ch == "l" and adding):
                if args:
                    args.pop(0)
        # Lists, flags, key, limit and prefixes as they ended up on the origin.
        self._set_lists(channel, op.get("lists"))
        channel.modes = set(op["flags"])
        channel.password = op["key"]
        channel.limit = op["limit"]
        for session, held in op["held"]:
            member = self.sessions.get(session)
            if member is not None and member in channel.members:
                channel.members[member] = held
        self._to_channel(channel, self._line("MODE", [channel.name, *modes], op["source"], op))

    def _rename(self, origin: str, op: Op, via: str | None = None) -> None:
        """A RENAME of ``origin``'s; ``via``: the node whose ``renamed`` relayed it."""
        server = self.server
        msgid, new = op["msgid"], op["new"]
        if msgid in self._renames:
            self._acknowledged(origin, msgid)  # relayed first, and shown then
            return
        self._renames[msgid] = None
        if len(self._renames) > RENAMES_KEPT:
            del self._renames[next(iter(self._renames))]
        old_key = casefold(op["old"])
        if old_key == casefold(new):
            channel = server.find_channel(op["old"])
            if channel is not None:
                self._rekey(channel, op)
            return  # only the case: every name still finds the channel
        channel = server.find_channel(op["old"])
        taken = server.find_channel(new)
        if channel is None:
            pass
        elif taken is not None and taken is not channel:
            log.warning("network: rename of %s to %s from %s: the new name is taken here",
                        op["old"], new, origin)
        else:
            self._rekey(channel, op)
            for node in self.nodes:
                if node != via and (node != origin or via is not None):
                    self._expect(node, old_key, Renamed(msgid, channel, False))
        # Everything this node said before is in its stream ahead of this.
        self.submit({"t": "renamed", "origin": origin, "rename": op})

    def _rekey(self, channel: Channel, op: Op) -> None:
        server = self.server
        old, new = channel.name, op["new"]
        line = self._line("RENAME", [old, new, op["reason"]], op["source"], op)
        rename.rename_channel(server, channel, new)
        local = [m for m in channel.members if not is_remote(m)]
        told = [m for m in local if rename.CAP in m.caps]
        self._to_local(told, line)
        if casefold(old) != casefold(new):
            part_text = op["reason"] or f"Channel renamed to {new}"
            for member in local:
                if rename.CAP not in member.caps:
                    rename.fallback(server, member, channel, old, part_text)

    def renamed_here(self, op: Op) -> None:
        """This node's own RENAME (its capture's operation; the core renamed already):
        until each other node acknowledges it, what it says to the old name is the
        renamed channel's, and this node moves those lines' rows."""
        old_key = casefold(op["old"])
        channel = self.server.find_channel(op["new"])
        if channel is None or old_key == channel.key:
            return
        self._renames[op["msgid"]] = None
        for node in self.nodes:
            self._expect(node, old_key, Renamed(op["msgid"], channel, True))

    def _expect(self, node: str, old_key: str, entry: Renamed) -> None:
        self._pending.setdefault(node, {}).setdefault(old_key, []).append(entry)

    def _renamed(self, origin: str, op: Op) -> None:
        """``origin`` processed a RENAME: what it says next names the channels as
        they are after it. First heard of here: applied now, as its origin's."""
        rename_op = op["rename"]
        msgid = rename_op["msgid"]
        if msgid in self._renames:
            self._acknowledged(origin, msgid)
            return
        self._recent.add(msgid)  # the RENAME itself, when it comes, is shown once
        self._recent_order.append(msgid)
        self._rename(op["origin"], rename_op, via=origin)

    def _acknowledged(self, origin: str, msgid: str) -> None:
        pending = self._pending.get(origin)
        if not pending:
            return
        for key, entries in list(pending.items()):
            entries[:] = [e for e in entries if e.msgid != msgid]
            if not entries:
                del pending[key]
        if not pending:
            del self._pending[origin]

    def _find(self, origin: str, name: str, op: Op | None = None) -> Channel | None:
        """The channel ``origin`` means by ``name`` (``_straggler``, else the one of
        that name here)."""
        if self._pending:
            channel = self._straggler(origin, name, op)
            if channel is not None:
                return channel
        return self.server.find_channel(name)

    def _straggler(self, origin: str, name: str, op: Op | None = None) -> Channel | None:
        """The renamed channel ``origin`` means by its old ``name``, not having heard of
        the RENAME yet; None if it means the channel of that name. ``op``: a line the
        origin stored under ``name``; when this node renamed the channel, the row is
        moved to where the channel is now (``flush``)."""
        pending = self._pending.get(origin)
        if not pending:
            return None
        key = casefold(name)
        entries = pending.get(key)
        if not entries:
            return None
        entry = entries[0]
        channel = entry.channel
        if op is not None and entry.mine and channel.key != key:
            self._moves.setdefault((key, channel.key, channel.name), []).append(op["msgid"])
        return channel

    def _move(self, origin: str, op: Op) -> None:
        """Another node moved stragglers' rows to ``to``: if ``origin`` had not heard of
        this node's RENAME of that name yet, they go on to where the channel is now."""
        entries = self._pending.get(origin, {}).get(op["to"]) if self._pending else None
        if entries and entries[0].mine:
            channel = entries[0].channel
            if channel.key != op["to"]:
                self._moves.setdefault((op["to"], channel.key, channel.name), []).extend(
                    op["msgids"])

    def flush(self) -> None:
        """Submit the moves of stragglers' rows found while applying (one per place)."""
        moves, self._moves = self._moves, {}
        for (frm, key, name), msgids in moves.items():
            self.submit({"t": "move", "from": frm, "to": key, "name": name,
                         "msgids": msgids})

    # ---- messages ---------------------------------------------------------------------

    def _msg(self, origin: str, op: Op) -> None:
        server = self.server
        command = op["command"]
        tags = op.get("tags")
        tags = dict(tags) if tags else {}
        bot = tags.pop("bot", None) is not None
        tags_only = command == "TAGMSG"
        text = op.get("text", "")
        if not tags_only and "\n" in text:
            # A draft/multiline message: its lines, never a raw line feed in one line.
            self._multiline(origin, op, tags, bot)
            return
        status = op.get("status", "")
        target = op["target"]
        channel = None
        if op["channel"]:
            if self._pending:
                channel = self._find(origin, target, op)
                if channel is not None and channel.key != casefold(target):
                    target = channel.name  # said to it before its origin knew of a RENAME
            else:
                channel = server.find_channel(target)
            if channel is None:
                return
        shown = status + target
        params = [shown] if tags_only else [shown, text]
        line = LineVariants(format_line(command, params, op["source"]), op["msgid"],
                            op["micros"] / 1_000_000, tags or None, op.get("account"), bot)
        if channel is not None:
            if status:
                self._to_status(channel, _STATUS_RANK[status], line, tags_only)
                return
            fanout = server.fanout
            for mask, sinks in channel.sinks_by_mask.items():
                if not tags_only or mask & TAG_MESSAGE_TAGS:
                    fanout(sinks, line.for_mask(mask), None)
            return
        recipient = self.sessions.get(op.get("to", ""))
        if recipient is None or is_remote(recipient):
            return
        if tags_only and not recipient.tagmask & TAG_MESSAGE_TAGS:
            return
        recipient.sink.send(line.for_mask(recipient.tagmask))

    def _to_status(self, channel: Channel, rank: int, line: LineVariants,
                   tags_only: bool) -> None:
        """A STATUSMSG: the members holding ``rank`` or higher only."""
        for member, held in channel.members.items():
            if not held or PREFIX_RANK[held[0]] > rank or is_remote(member):
                continue
            if tags_only and not member.tagmask & TAG_MESSAGE_TAGS:
                continue
            member.sink.send(line.for_mask(member.tagmask))

    def _multiline(self, origin: str, op: Op, tags: dict[str, str], bot: bool) -> None:
        server = self.server
        status = op.get("status", "")
        target = op["target"]
        channel = self._find(origin, target, op) if op["channel"] else None
        if channel is not None and channel.key != casefold(target):
            target = channel.name
        message = MessageLines(
            op["source"], op["command"], status + target,
            multiline.split(op["text"], op.get("concat") or ()), op["msgid"],
            op["micros"] / 1_000_000, tags or None, op.get("account"), bot, server.line_budget)
        if op["channel"]:
            recipients = [] if channel is None else [
                member for member, held in channel.members.items()
                if not status or (held and PREFIX_RANK[held[0]] <= _STATUS_RANK[status])]
        else:
            recipients = [self.sessions.get(op.get("to", ""))]
        for user in recipients:
            if user is not None and not is_remote(user):
                user.sink.send(message.for_user(user))

    def reset(self) -> None:
        """Forget every remote user, silently (this node's clients are being closed)."""
        server = self.server
        for user in [u for u in self.sessions.values() if is_remote(u)]:
            for channel in list(user.channels.values()):
                server.remove_member(channel, user)
            self._forget(user)
        self.nodes.clear()
        self._pending.clear()
        self._moves.clear()
        server.linked = frozenset()

    # ---- a node's start --------------------------------------------------------------

    def load(self, users: list[dict[str, Any]], channels: list[dict[str, Any]],
             members: list[tuple[str, str, str]], extra: dict[str, Any] | None = None) -> None:
        """The network as the snapshot found it (no client is connected yet).

        ``extra`` (``ircish.network.effects.read_state``): the live nodes' server
        names, away messages, and the channels' +b/+e/+I lists."""
        extra = extra or {}
        for node, name in extra.get("nodes", {}).items():
            self._node(node, {"node": node, "server": name})
        away = extra.get("away", {})
        for row in users:
            self._user(row["node"], {**row, "micros": row["since"],
                                     "away": away.get(row["session"])})
        lists = extra.get("lists", {})
        for row in channels:
            channel = self._channel(row["name"], row["created"], row["flags"])
            channel.topic = row["topic"]
            channel.topic_setter = row["setter"]
            channel.topic_time = row["topic_time"] / 1_000_000
            channel.password = row["mode_key"]
            channel.limit = row["limit"]
            self._set_lists(channel, lists.get(row["key"]))
        for key, session, held in members:
            user = self.sessions.get(session)
            channel = self.server.channels.get(key)
            if user is not None and channel is not None and is_remote(user):
                channel.add_member(user, held)
                user.channels[key] = channel

    @staticmethod
    def _set_lists(channel: Channel, lists: dict[str, list[list[Any]]] | None) -> None:
        for letter, entries in (lists or {}).items():
            attr = LIST_MODES.get(letter)
            if attr is not None:
                setattr(channel, attr, [(str(mask), str(setter), int(when) / 1_000_000)
                                        for mask, setter, when in entries])

    # ---- helpers ----------------------------------------------------------------------

    def _line(self, command: str, params: list[str], source: str, op: Op,
              sender: User | None = None,
              extended: tuple[str, list[str]] | None = None) -> LineVariants:
        if sender is None:
            sender = self.server.sender_of(source)
        account = sender.account if sender is not None else None
        bot = sender is not None and BOT_MODE in sender.modes
        return LineVariants(format_line(command, params, source), op["msgid"],
                            op["micros"] / 1_000_000, None, account, bot, extended)

    def _to_local(self, users: Iterable[User], line: LineVariants) -> None:
        for user in users:
            if not is_remote(user):
                user.sink.send(line.for_mask(user.tagmask))

    def _to_channel(self, channel: Channel, line: LineVariants) -> None:
        fanout = self.server.fanout
        for mask, sinks in channel.sinks_by_mask.items():
            fanout(sinks, line.for_mask(mask), None)

"""MODE for channels (+o +v +b +e +I +k +l +i +m +n +t +s +P) and users (+i +w +B, -o)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core import numerics as N
from ircish.core.masks import normalize_ban_mask
from ircish.core.state import BOT_MODE, PREFIXES
from ircish.protocol.casemap import casefold
from ircish.protocol.numbers import parse_decimal

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import Channel, User
    from ircish.protocol import Message

MAX_PARAM_MODES = 4
# Far above any real channel; keeps +l within what every client can store.
MAX_CHANNEL_LIMIT = 2**31 - 1
# What the stored channel tables hold (``channels`` and ``network_channels``: 200
# characters): a longer key stopped a network node's writes (and a persistent
# channel's state on PostgreSQL) instead of being refused here.
MAX_KEY_LENGTH = 200
_PREFIX_ORDER = "".join(mode for mode, _ in PREFIXES)
# +B is IRCv3 bot mode (ISUPPORT BOT=B): anyone may mark themselves a bot.
_SETTABLE_USER_MODES = "iw" + BOT_MODE
# The mask lists: letter -> (Channel attribute, entry numeric, end numeric, end text,
# whether a non-operator may read it). Who is exempt says how to get past a ban,
# so only operators see the exception lists.
_LIST_MODES = {
    "b": ("bans", N.RPL_BANLIST, N.RPL_ENDOFBANLIST, "End of channel ban list", True),
    "e": ("excepts", N.RPL_EXCEPTLIST, N.RPL_ENDOFEXCEPTLIST, "End of channel exception list",
          False),
    "I": ("invex", N.RPL_INVEXLIST, N.RPL_ENDOFINVEXLIST,
          "End of channel invite exception list", False),
}


def mode(server: Server, user: User, msg: Message) -> None:
    target = msg.params[0]
    if target.startswith("#"):
        channel = server.find_channel(target)
        if channel is None:
            server.numeric(user, N.ERR_NOSUCHCHANNEL, target, "No such channel")
        elif len(msg.params) == 1:
            flags, params = channel.mode_string(show_password=channel.key in user.channels)
            server.numeric(user, N.RPL_CHANNELMODEIS, channel.name, flags, *params)
            server.numeric(user, N.RPL_CREATIONTIME, channel.name, str(int(channel.created)))
        else:
            channel_mode(server, user, channel, msg.params[1], msg.params[2:])
        return
    other = server.find_user(target)
    if other is None:
        server.numeric(user, N.ERR_NOSUCHNICK, target, "No such nick/channel")
    elif other is not user:
        server.numeric(user, N.ERR_USERSDONTMATCH, "Can't change mode for other users")
    elif len(msg.params) == 1:
        server.numeric(user, N.RPL_UMODEIS, "+" + "".join(sorted(user.modes)))
    else:
        user_mode(server, user, msg.params[1])


def user_mode(server: Server, user: User, modestring: str) -> None:
    adding = True
    applied: list[str] = []
    unknown = False
    for ch in modestring:
        if ch in "+-":
            adding = ch == "+"
            continue
        if ch in _SETTABLE_USER_MODES or (ch == "o" and not adding):
            if server.set_user_mode(user, ch, adding):
                applied.append(("+" if adding else "-") + ch)
        elif ch != "o":
            unknown = True
    if unknown:
        server.numeric(user, N.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
    if applied:
        # A relayed line, so it carries the tags of its sender (bot, account).
        line = server.new_line("MODE", [user.nick, _compress(applied)], user.source,
                               sender=user)
        server.reply(user, line.for_mask(user.tagmask))


def _compress(changes: list[str]) -> str:
    out: list[str] = []
    sign = ""
    for change in changes:
        if change[0] != sign:
            sign = change[0]
            out.append(sign)
        out.append(change[1])
    return "".join(out)


def channel_mode(
    server: Server, user: User, channel: Channel, modestring: str, args: list[str]
) -> None:
    is_op = channel.is_op(user) or user.oper
    args = list(args)
    adding = True
    applied: list[str] = []
    applied_params: list[str] = []
    param_modes = 0
    listed: set[str] = set()
    need_op_reported = False
    state_changed = False

    def need_op() -> bool:
        nonlocal need_op_reported
        if is_op:
            return False
        if not need_op_reported:
            server.numeric(user, N.ERR_CHANOPRIVSNEEDED, channel.name,
                           "You're not channel operator")
            need_op_reported = True
        return True

    for ch in modestring:
        if ch in "+-":
            adding = ch == "+"
            continue
        sign = "+" if adding else "-"
        if ch in _LIST_MODES:
            entries, list_numeric, end_numeric, end_text, public = _LIST_MODES[ch]
            masks = getattr(channel, entries)
            if not args:
                if ch in listed:
                    continue
                listed.add(ch)
                if not public and not is_op:
                    need_op()
                    continue
                for mask, setter, when in masks:
                    server.numeric(user, list_numeric, channel.name, mask, setter,
                                   str(int(when)))
                server.numeric(user, end_numeric, channel.name, end_text)
                continue
            param_modes += 1
            raw_mask = args.pop(0).lstrip(":")
            if not raw_mask or " " in raw_mask:
                continue  # nothing a mask could match
            mask = normalize_ban_mask(raw_mask)
            if param_modes > MAX_PARAM_MODES or need_op():
                continue
            folded = casefold(mask)
            existing = [b for b in masks if casefold(b[0]) == folded]
            if adding and not existing:
                masks.append((mask, user.source, server.clock()))
            elif not adding and existing:
                masks.remove(existing[0])
            else:
                continue
            applied.append(sign + ch)
            applied_params.append(mask)
            state_changed = True
        elif ch in _PREFIX_ORDER:
            if not args:
                continue
            nick = args.pop(0)
            param_modes += 1
            if param_modes > MAX_PARAM_MODES or need_op():
                continue
            target = server.find_user(nick)
            if target is None:
                server.numeric(user, N.ERR_NOSUCHNICK, nick, "No such nick/channel")
                continue
            if target not in channel.members:
                server.numeric(user, N.ERR_USERNOTINCHANNEL, target.nick, channel.name,
                               "They aren't on that channel")
                continue
            held = channel.members[target]
            if adding == (ch in held):
                continue
            new = set(held) | {ch} if adding else set(held) - {ch}
            channel.members[target] = "".join(m for m in _PREFIX_ORDER if m in new)
            applied.append(sign + ch)
            applied_params.append(target.nick)
        elif ch == "k":
            if adding and not args:
                server.numeric(user, N.ERR_INVALIDMODEPARAM, channel.name, "k", "*",
                               "You must specify a parameter for the key mode")
                continue
            key = args.pop(0) if args else "*"
            param_modes += 1
            if param_modes > MAX_PARAM_MODES or need_op():
                continue
            if adding:
                if " " in key or "," in key or not key:
                    server.numeric(user, N.ERR_INVALIDKEY, channel.name, "Key is not well-formed")
                    continue
                if len(key) > MAX_KEY_LENGTH:
                    server.numeric(user, N.ERR_INVALIDKEY, channel.name,
                                   f"Key is longer than {MAX_KEY_LENGTH} characters")
                    continue
                channel.password = key
                applied_params.append(key)
            else:
                if channel.password is None:
                    continue
                channel.password = None
                applied_params.append("*")
            applied.append(sign + ch)
            state_changed = True
        elif ch == "l":
            if adding:
                if not args:
                    server.numeric(user, N.ERR_INVALIDMODEPARAM, channel.name, "l", "*",
                                   "You must specify a parameter for the limit mode")
                    continue
                raw = args.pop(0)
                param_modes += 1
                if param_modes > MAX_PARAM_MODES or need_op():
                    continue
                limit = parse_decimal(raw, minimum=1, maximum=MAX_CHANNEL_LIMIT)
                if limit is None:
                    server.numeric(user, N.ERR_INVALIDMODEPARAM, channel.name, "l", raw,
                                   "Invalid limit")
                    continue
                channel.limit = limit
                applied_params.append(raw)
            else:
                if need_op() or channel.limit is None:
                    continue
                channel.limit = None
            applied.append(sign + ch)
            state_changed = True
        elif ch in "imnstP":
            if need_op():
                continue
            if ch == "P" and not user.oper:
                server.numeric(user, N.ERR_NOPRIVILEGES,
                               "Permission Denied- only IRC operators may set +P")
                continue
            if adding == (ch in channel.modes):
                continue
            (channel.modes.add if adding else channel.modes.discard)(ch)
            applied.append(sign + ch)
            state_changed = True
        else:
            server.numeric(user, N.ERR_UNKNOWNMODE, ch, "is unknown mode char to me")
    if not applied:
        return
    params = [channel.name, _compress(applied), *applied_params]
    line = server.relay_channel(channel, "MODE", params, user.source)
    server.emit(events.ModeEvent(line.msgid, server.micros(line.ts), user.source, channel.name,
                                 tuple(params[1:])))
    if state_changed:
        no_longer_kept = "-P" in applied
        # After -P the store must still hear of it, to forget the channel (a
        # registered one stays kept, without +P).
        server.channel_state_changed(channel, force=no_longer_kept)
        if no_longer_kept and not channel.members and not channel.persistent:
            server.channels.pop(channel.key, None)

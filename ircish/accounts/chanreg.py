"""Registered channels: who may register, manage and be opped, as plain rules.

ChanServ (``chanserv.py``) asks these; they read only the core's state, so a
test needs no store and no sockets. A refusal is the text ChanServ says, or None
when the user may go ahead.

Who may do what (there are no access lists yet):

- REGISTER: an identified user who is a channel operator in the channel, for a
  channel not registered yet, within ``MAX_CHANNELS_PER_ACCOUNT`` (IRC operators
  are not limited).
- OP, DEOP, DROP: the founder (identified to the founder account) or an IRC
  operator.
- The founder is opped on joining the channel, and on identifying while in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core.state import PREFIXES
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.state import Channel, User

MAX_CHANNELS_PER_ACCOUNT = 20
_PREFIX_ORDER = "".join(mode for mode, _ in PREFIXES)
NOT_IDENTIFIED = "You must be identified to an account first (/msg NickServ IDENTIFY)."


def is_founder(user: User, channel: Channel) -> bool:
    return (channel.founder is not None and user.account is not None
            and casefold(user.account) == casefold(channel.founder))


def may_manage(user: User, channel: Channel) -> bool:
    return is_founder(user, channel) or user.oper


def register_refusal(user: User, name: str, channel: Channel | None, owned: int) -> str | None:
    """Why ``user`` may not register channel ``name`` now (``owned``: channels it
    founds already), or None."""
    if user.account is None:
        return NOT_IDENTIFIED
    if channel is None:
        return f"{name} does not exist; join it first."
    if channel.founder is not None:
        return f"{channel.name} is already registered to {channel.founder}."
    if not channel.is_op(user):
        return f"You must be a channel operator in {channel.name} to register it."
    if owned >= MAX_CHANNELS_PER_ACCOUNT and not user.oper:
        return (f"You have registered {owned} channels, the most one account may; "
                "drop one first.")
    return None


def manage_refusal(user: User, name: str, channel: Channel | None) -> str | None:
    """Why ``user`` may not OP, DEOP or DROP in channel ``name``, or None."""
    if channel is None or channel.founder is None:
        return f"{name} is not registered."
    if user.oper or is_founder(user, channel):
        return None
    if user.account is None:
        return NOT_IDENTIFIED
    return f"You are not the founder of {channel.name}."


def split_channel_nick(args: list[str]) -> tuple[str | None, str | None] | None:
    """``[#chan] [nick]`` as (channel or None, nick or None); None if malformed."""
    channel = args[0] if args and args[0].startswith("#") else None
    rest = args[1:] if channel is not None else args
    if len(rest) > 1:
        return None
    return channel, (rest[0] if rest else None)


def implied_channel(user: User) -> Channel | None:
    """The channel meant by an OP/DEOP without one: the only channel ``user`` is
    in that it may manage; None when there is none, or more than one."""
    found = [c for c in user.channels.values() if c.founder is not None and may_manage(user, c)]
    return found[0] if len(found) == 1 else None


def should_auto_op(user: User, channel: Channel) -> bool:
    return user in channel.members and is_founder(user, channel) and not channel.is_op(user)


def set_prefix(channel: Channel, user: User, mode: str, on: bool) -> bool:
    """Give or take prefix ``mode`` of a member; whether anything changed."""
    held = channel.members.get(user)
    if held is None or (mode in held) == on:
        return False
    new = set(held) | {mode} if on else set(held) - {mode}
    channel.members[user] = "".join(m for m in _PREFIX_ORDER if m in new)
    return True

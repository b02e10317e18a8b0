"""Operator commands: OPER, KILL and WALLOPS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core import numerics as N
from ircish.core.commands import command
from ircish.core.masks import mask_matches
from ircish.passwords import verify_password

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message


@command("OPER", min_params=2)
def oper(server: Server, user: User, msg: Message) -> None:
    name, password = msg.params[0], msg.params[1]
    for entry in server.config.opers:
        if entry.name != name:
            continue
        if not mask_matches(entry.host, f"{user.username}@{user.host}"):
            server.numeric(user, N.ERR_NOOPERHOST, "No O-lines for your host")
            return
        if verify_password(password, entry.password_hash):
            if server.set_user_mode(user, "o", True):
                server.send_line(user, f":{user.source} MODE {user.nick} :+o")
            server.numeric(user, N.RPL_YOUREOPER, "You are now an IRC operator")
            return
        break
    server.numeric(user, N.ERR_PASSWDMISMATCH, "Password incorrect")


@command("KILL", min_params=2, oper_only=True)
def kill(server: Server, user: User, msg: Message) -> None:
    target_name, comment = msg.params[0], msg.params[1]
    if target_name.lower() == server.name.lower():
        server.numeric(user, N.ERR_CANTKILLSERVER, "You cannot kill a server!")
        return
    target = server.find_user(target_name)
    if target is None:
        server.numeric(user, N.ERR_NOSUCHNICK, target_name, "No such nick/channel")
        return
    reason = f"Killed ({user.nick} ({comment}))"
    server.send_line(target, f":{user.source} KILL {target.nick} :{comment}")
    server.kill(target, reason, f"Closing Link: {server.name} ({reason})")


@command("WALLOPS", min_params=1, oper_only=True)
def wallops(server: Server, user: User, msg: Message) -> None:
    # To every user with +w, and echoed to the sender (Modern allows both).
    recipients = [u for u in server.users.values() if "w" in u.modes or u is user]
    server.relay(recipients, "WALLOPS", [msg.params[0]], user.source)

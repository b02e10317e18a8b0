"""Operator commands: OPER, KILL, WALLOPS and REHASH.

OPER is a password check, so it is guarded against brute force (the policy of
Solanum and Ergo, in numbers of our own):

- the scrypt check runs off the event loop (``server.run_blocking``), one at a time
  per connection: further OPER lines meanwhile are refused at once (491);
- a failure is answered 464 only after 1, 2, 4, 8 s (the n-th failure of the
  connection in the last minute waits 2**(n-1) s), and the connection is
  refused further checks until then;
- the 5th failure of a connection within a minute disconnects it;
- an IP with 10 failures in the last minute gets 491 without any check, until
  its failures age out of the window;
- so does an oper name with 5 failures in the last minute, from anywhere (a
  guesser spread over many addresses), until they age out;
- every success and failure is logged at INFO with nick, IP and oper name,
  never the password.

An unknown oper name or a host that does not match counts as a failure too (it
is answered the same way, only without the hash).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from ircish.core import events
from ircish.core import numerics as N
from ircish.core.closing import closing_link
from ircish.core.masks import mask_matches
from ircish.core.throttle import AttemptThrottle
from ircish.passwords import verify_password

if TYPE_CHECKING:
    from ircish.config import OperEntry
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message

log = logging.getLogger("ircish.core.oper")

WINDOW = 60.0
FAILURES_PER_CONNECTION = 5
FAILURES_PER_IP = 10
FAILURES_PER_NAME = 5
MAX_DELAY = 8.0


def _attempts(server: Server) -> AttemptThrottle:
    throttle = server.throttles.get("OPER")
    if throttle is None:
        throttle = server.throttles["OPER"] = AttemptThrottle(WINDOW, server.clock)
    return throttle


def _check(password: str, stored: str) -> bool:
    """Runs in a worker thread: never raises, a broken hash is just a mismatch."""
    try:
        return verify_password(password, stored)
    except Exception:
        log.exception("checking an OPER password failed")
        return False


def oper(server: Server, user: User, msg: Message) -> None:
    name, password = msg.params[0], msg.params[1]
    attempts = _attempts(server)
    if attempts.busy(("conn", user)):
        server.numeric(user, N.ERR_NOOPERHOST, "Your last OPER attempt is not answered yet")
        return
    if attempts.failures(("ip", user.ip)) >= FAILURES_PER_IP:
        log.info("OPER refused for %s from %s as %r: too many failures from this address",
                 user.nick, user.ip, name)
        server.numeric(user, N.ERR_NOOPERHOST,
                       "Too many failed OPER attempts from your address, try again later")
        return
    if attempts.failures(("name", name)) >= FAILURES_PER_NAME:
        log.info("OPER refused for %s from %s as %r: too many failures for this name",
                 user.nick, user.ip, name)
        server.numeric(user, N.ERR_NOOPERHOST,
                       "Too many failed OPER attempts for this name, try again later")
        return
    entry = next((e for e in server.config.opers if e.name == name), None)
    if entry is None:
        _failed(server, user, name, "no such oper", N.ERR_PASSWDMISMATCH, "Password incorrect")
        return
    if not mask_matches(entry.host, f"{user.username}@{user.host}"):
        _failed(server, user, name, "host does not match", N.ERR_NOOPERHOST,
                "No O-lines for your host")
        return
    attempts.begin(("conn", user))
    server.run_blocking(
        user, partial(_check, password, entry.password_hash), partial(_checked, server, user, entry)
    )


def _checked(server: Server, user: User, entry: OperEntry, ok: bool) -> None:
    _attempts(server).end(("conn", user))
    if not ok:
        _failed(server, user, entry.name, "wrong password", N.ERR_PASSWDMISMATCH,
                "Password incorrect")
        return
    log.info("OPER %s from %s as %r: success", user.nick, user.ip, entry.name)
    if server.set_user_mode(user, "o", True):
        server.send_line(user, f":{user.source} MODE {user.nick} :+o")
    server.numeric(user, N.RPL_YOUREOPER, "You are now an IRC operator")


def _failed(server: Server, user: User, name: str, why: str, code: str, text: str) -> None:
    attempts = _attempts(server)
    count = attempts.fail(("conn", user))
    attempts.fail(("ip", user.ip))
    attempts.fail(("name", name))
    log.info("OPER failed for %s from %s as %r: %s (%d in the last minute)",
             user.nick, user.ip, name, why, count)
    if count >= FAILURES_PER_CONNECTION:
        server.numeric(user, code, text)
        reason = "Too many failed OPER attempts"
        server.kill(user, reason, closing_link(user.host, reason))
        return
    attempts.begin(("conn", user))

    def answer() -> None:
        attempts.end(("conn", user))
        server.numeric(user, code, text)

    server.call_later(user, min(2.0 ** (count - 1), MAX_DELAY), answer)


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
    if target.home:
        # A user of another node: only its own node can close its connection, and its
        # QUIT comes back from there; dropping our copy alone left it connected.
        log.info("KILL %s on %s by %s: %s", target.nick, target.home, user.nick, comment)
        server.emit(events.KillEvent(user.source, target.nick, comment, reason))
        return
    log.info("KILL %s (%s) from %s by %s: %s", target.nick, target.username, target.ip,
             user.nick, comment)
    server.send_line(target, f":{user.source} KILL {target.nick} :{comment}")
    server.kill(target, reason, closing_link(target.host, reason))


def rehash(server: Server, user: User, msg: Message) -> None:
    # The file is read by the shell, off the loop; it answers with a NOTICE.
    name = server.config.path.replace("\\", "/").rsplit("/", 1)[-1]
    server.numeric(user, N.RPL_REHASHING, name, "Rehashing")
    log.info("REHASH by %s (%s)", user.nick, user.ip)
    server.request_reload(user)


def wallops(server: Server, user: User, msg: Message) -> None:
    # To every user with +w, and echoed to the sender (Modern allows both).
    recipients = [u for u in server.users.values() if "w" in u.modes or u is user]
    server.relay(recipients, "WALLOPS", [msg.params[0]], user.source)

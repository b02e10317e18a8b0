"""NickServ: the service user irssi, WeeChat, HexChat and bot libraries talk to.

A bot user whose private messages go to ``NickServ.handle`` (never relayed,
filtered or stored, so a password in ``IDENTIFY`` reaches no log and no
history). It answers by NOTICE. Commands: REGISTER, IDENTIFY, LOGOUT, INFO,
SET PASSWORD, DROP, GHOST, CERT ADD|DEL|LIST, HELP. The password checks and
changes run off the loop like SASL's and count against the same throttles.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ircish.accounts import hashing
from ircish.accounts.records import EXISTS, LIMIT, OK, Account, AccountRequest
from ircish.accounts.register import registration_refusal, valid_email
from ircish.accounts.service import AccountService, Unavailable
from ircish.core.bots import create_bot
from ircish.core.closing import closing_link
from ircish.core.nicks import valid_nick
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User

log = logging.getLogger("ircish.accounts")

NICKSERV = "NickServ"

HELP = (
    "NickServ commands:",
    "REGISTER <password> [email]  register your current nick as an account",
    "IDENTIFY [account] <password>  log in",
    "LOGOUT  log out",
    "INFO [account]  about an account",
    "SET PASSWORD <new password>  change your password",
    "DROP <password>  delete your account",
    "GHOST <nick>  disconnect a client using your nick",
    "CERT ADD [fingerprint] | DEL <fingerprint> | LIST  TLS certificates for SASL EXTERNAL",
    "HELP  this list",
)
UNAVAILABLE = "Accounts are unavailable right now, try again later."


def notice_from_nickserv(server: Server, user: User, text: str) -> None:
    bot = server.find_user(NICKSERV)
    source = bot.source if bot is not None else server.name
    server.send_line(user, f":{source} NOTICE {user.nick} :{text}")


class NickServ:
    def __init__(self, service: AccountService) -> None:
        self.service = service
        self.core: Server = service.core

    def start(self) -> None:
        bot = create_bot(self.core, NICKSERV, "services", "Account services")
        bot.service = self.handle

    def say(self, user: User, text: str) -> None:
        notice_from_nickserv(self.core, user, text)

    def handle(self, user: User, verb: str, text: str) -> None:
        if verb != "PRIVMSG":
            return  # NOTICEs are never answered
        words = text.split()
        if not words:
            self.say(user, "Send HELP for a list of commands.")
            return
        command, args = words[0].upper(), words[1:]
        handler = getattr(self, "cmd_" + command.lower(), None)
        if handler is None or (command.lower() == "set" and not args):
            self.say(user, f"Unknown command {command}. Send HELP for a list of commands.")
            return
        handler(user, args)

    # ---- commands -----------------------------------------------------------------

    def cmd_help(self, user: User, args: list[str]) -> None:
        for line in HELP:
            self.say(user, line)

    def cmd_register(self, user: User, args: list[str]) -> None:
        svc = self.service
        if not args:
            self.say(user, "Usage: REGISTER <password> [email]")
            return
        password, email = args[0], (args[1] if len(args) > 1 else None)
        name = user.nick
        refusal = registration_refusal(svc, user)
        if user.account is not None:
            self.say(user, f"You are already logged in as {user.account}.")
        elif refusal is not None:
            self.say(user, refusal + ".")
        elif svc.is_registered(name):
            self.say(user, f"{name} is already registered.")
        elif email is not None and not valid_email(email):
            self.say(user, f"{email} is not an e-mail address.")
        elif email is None and svc.config.email_required:
            self.say(user, "An e-mail address is required: REGISTER <password> <email>")
        elif (problem := hashing.password_problem(password)) is not None:
            self.say(user, problem + ".")
        else:
            def then(result: str | Unavailable) -> None:
                if isinstance(result, Unavailable):
                    self.say(user, UNAVAILABLE)
                elif result != OK:
                    self.say(user, f"{name} is already registered.")
                else:
                    svc.account_created(name)
                    self.say(user, f"{name} is now registered to you.")
                    if user.account is None:
                        svc.login(user, name, "NickServ REGISTER")

            svc.offload(user, lambda: svc.create_blocking(name, password, email), then)

    def cmd_identify(self, user: User, args: list[str]) -> None:
        svc = self.service
        if not args or len(args) > 2:
            self.say(user, "Usage: IDENTIFY [account] <password>")
            return
        name, password = (args[0], args[1]) if len(args) == 2 else (user.nick, args[0])
        if user.account is not None and casefold(user.account) == casefold(name):
            self.say(user, f"You are already logged in as {user.account}.")
            return
        if svc.refused(user, name):
            self.say(user, "Too many failed attempts; try again later.")
            return

        def then(result: Account | Unavailable | None) -> None:
            if isinstance(result, Unavailable):
                self.say(user, UNAVAILABLE)
            elif result is None:
                svc.failed(user, name, "NickServ IDENTIFY", "wrong name or password")
                self.say(user, "Invalid account name or password.")
            else:
                if user.account is not None:
                    svc.logout(user, "NickServ IDENTIFY to another account")
                svc.login(user, result.name, "NickServ IDENTIFY")
                self.say(user, f"You are now identified for {result.name}.")

        svc.offload(user, lambda: svc.check_password_blocking(name, password), then)

    def cmd_logout(self, user: User, args: list[str]) -> None:
        if user.account is None:
            self.say(user, "You are not logged in.")
            return
        self.service.logout(user, "NickServ LOGOUT")
        self.say(user, "You are now logged out.")

    def cmd_info(self, user: User, args: list[str]) -> None:
        name = args[0] if args else (user.account or user.nick)
        svc = self.service

        def then(result: Account | Unavailable | None) -> None:
            if isinstance(result, Unavailable):
                self.say(user, UNAVAILABLE)
                return
            if result is None:
                self.say(user, f"{name} is not registered.")
                return
            when = datetime.fromtimestamp(result.registered_micros / 1e6, UTC)
            self.say(user, f"Account {result.name}, registered {when:%Y-%m-%d %H:%M:%S} UTC.")
            online = [u.nick for u in self.core.users.values()
                      if u.account is not None and casefold(u.account) == casefold(result.name)]
            self.say(user, f"Logged in now: {', '.join(online) if online else 'nobody'}.")
            if svc.is_identified(user, result.name):
                if result.email:
                    self.say(user, f"E-mail: {result.email}")
                self.say(user, f"Certificates: {len(result.certfps)}")

        svc.offload(user, lambda: svc.ask_blocking(AccountRequest("get", (name,))), then)

    def cmd_set(self, user: User, args: list[str]) -> None:
        if args[0].upper() != "PASSWORD" or len(args) != 2:
            self.say(user, "Usage: SET PASSWORD <new password>")
            return
        if user.account is None:
            self.say(user, "You must be logged in to change your password.")
            return
        password, name = args[1], user.account
        problem = hashing.password_problem(password)
        if problem is not None:
            self.say(user, problem + ".")
            return
        svc = self.service

        def work() -> str:
            cred = hashing.make_credentials(password)
            result: str = svc.ask_blocking(
                AccountRequest("set_password", (name, cred.password_hash, cred.scram)))
            return result

        def then(result: str | Unavailable) -> None:
            if isinstance(result, Unavailable):
                self.say(user, UNAVAILABLE)
            elif result == OK:
                log.info("%s changed the password of %r", user.nick, name)
                self.say(user, "Your password has been changed.")
            else:
                self.say(user, f"{name} is not registered any more.")

        svc.offload(user, work, then)

    def cmd_drop(self, user: User, args: list[str]) -> None:
        if user.account is None:
            self.say(user, "You must be logged in to drop your account.")
            return
        if len(args) != 1:
            self.say(user, "Usage: DROP <password>  (this deletes your account for good)")
            return
        name, password = user.account, args[0]
        svc = self.service
        if svc.refused(user, name):
            self.say(user, "Too many failed attempts; try again later.")
            return

        def work() -> str | None:
            if svc.check_password_blocking(name, password) is None:
                return None
            result: str = svc.ask_blocking(AccountRequest("delete", (name,)))
            return result

        def then(result: str | Unavailable | None) -> None:
            if isinstance(result, Unavailable):
                self.say(user, UNAVAILABLE)
            elif result is None:
                svc.failed(user, name, "NickServ DROP", "wrong password")
                self.say(user, "Invalid password.")
            else:
                log.info("%s dropped the account %r", user.nick, name)
                self.say(user, f"The account {name} has been dropped.")
                svc.account_dropped(name)

        svc.offload(user, work, then)

    def cmd_ghost(self, user: User, args: list[str]) -> None:
        if len(args) != 1:
            self.say(user, "Usage: GHOST <nick>")
            return
        target = self.core.find_user(args[0])
        if target is None or target.bot:
            self.say(user, f"{args[0]} is not online.")
        elif target is user:
            self.say(user, "You cannot ghost yourself.")
        elif user.account is None or not (
            self.service.is_identified(user, target.nick)
            or (target.account is not None and self.service.is_identified(user, target.account))
        ):
            self.say(user, f"You are not identified for {target.nick}.")
        else:
            reason = f"GHOST command used by {user.nick}"
            self.core.kill(target, reason, closing_link(target.host, reason))
            self.say(user, f"{args[0]} has been ghosted.")

    def cmd_cert(self, user: User, args: list[str]) -> None:
        sub = args[0].upper() if args else ""
        if user.account is None:
            self.say(user, "You must be logged in to manage certificates.")
            return
        name, svc = user.account, self.service
        if sub == "LIST":
            def listed(result: Account | Unavailable | None) -> None:
                if isinstance(result, Unavailable) or result is None:
                    self.say(user, UNAVAILABLE)
                    return
                for fp in result.certfps:
                    self.say(user, f"Certificate: {fp}")
                self.say(user, f"{len(result.certfps)} certificate(s).")

            svc.offload(user, lambda: svc.ask_blocking(AccountRequest("get", (name,))), listed)
            return
        if sub not in ("ADD", "DEL") or (sub == "DEL" and len(args) != 2):
            self.say(user, "Usage: CERT ADD [fingerprint] | CERT DEL <fingerprint> | CERT LIST")
            return
        fp = (args[1] if len(args) > 1 else user.certfp or "").lower()
        if len(fp) != 64 or any(ch not in "0123456789abcdef" for ch in fp):
            self.say(user, "A fingerprint is the SHA-256 of the certificate in hex "
                           "(you have no client certificate)." if not fp else
                     "A fingerprint is the SHA-256 of the certificate in 64 hex digits.")
            return
        op = "cert_add" if sub == "ADD" else "cert_del"

        def changed(result: str | Unavailable) -> None:
            if isinstance(result, Unavailable):
                self.say(user, UNAVAILABLE)
            elif result == OK:
                self.say(user, f"Certificate {fp} {'added' if sub == 'ADD' else 'removed'}.")
            elif result == EXISTS:
                self.say(user, "That certificate is already registered.")
            elif result == LIMIT:
                self.say(user, "You have too many certificates; remove one first.")
            else:
                self.say(user, "That certificate is not on your account.")

        svc.offload(user, lambda: svc.ask_blocking(AccountRequest(op, (name, fp))), changed)


def valid_account_name(server: Server, name: str) -> bool:
    return valid_nick(name, server.limits.nick_length)

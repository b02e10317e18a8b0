"""IRCv3 ``draft/account-registration``: ``REGISTER <account> <email> <password>``, ``VERIFY``.

``*`` as the account is the client's nick (before connection registration:
the nick it asked for, even a taken one, so a name in use cannot be grabbed);
``*`` as the e-mail is none. The capability's value says what this server
asks: ``before-connect`` (``[accounts] register_before_connect``),
``email-required``, and ``custom-account-name`` (any free valid name, not only
the nick). Accounts need no verification here, so ``VERIFY`` always fails.

Two clients registering one name at once: both pass the quick check against
the names known on the loop, and the database's unique constraint lets exactly
one insert win; the other is answered ``ACCOUNT_EXISTS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.accounts.hashing import MIN_PASSWORD_LENGTH, password_problem
from ircish.accounts.records import OK
from ircish.accounts.service import AccountService, Unavailable
from ircish.core.nicks import valid_nick
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message

CAP = "draft/account-registration"
EXT = "register"


def cap_value(service: AccountService) -> str:
    cfg = service.config
    flags = ["custom-account-name"]
    if cfg.register_before_connect:
        flags.insert(0, "before-connect")
    if cfg.email_required:
        flags.append("email-required")
    return ",".join(flags)


def _fail(server: Server, user: User, command: str, code: str, account: str, text: str) -> None:
    server.send_from_server(user, "FAIL", command, code, account or "*", text)


def valid_email(email: str) -> bool:
    local, at, domain = email.partition("@")
    return bool(at and local and "." in domain and "@" not in domain
                and not any(ch.isspace() for ch in email) and len(email) <= 254)


def registration_refusal(service: AccountService, user: User) -> str | None:
    policy = service.config.registration
    if policy == "closed":
        return "Account registration is closed on this server"
    if policy == "opers" and not user.oper:
        return "Only IRC operators may register accounts on this server"
    return None


def register(service: AccountService, server: Server, user: User, msg: Message) -> None:
    name, email, password = msg.params[0], msg.params[1], msg.params[2]
    if name == "*":
        name = user.nick if user.nick != "*" else user.wanted_nick
    if not user.registered and not service.config.register_before_connect:
        _fail(server, user, "REGISTER", "COMPLETE_CONNECTION_REQUIRED", name,
              "Finish connecting before you register an account")
        return
    if not name:
        _fail(server, user, "REGISTER", "NEED_NICK", "*", "Choose a nickname first")
        return
    if user.account is not None:
        _fail(server, user, "REGISTER", "ALREADY_AUTHENTICATED", name,
              f"You are already logged in as {user.account}")
        return
    refusal = registration_refusal(service, user)
    if refusal is not None:
        _fail(server, user, "REGISTER", "TEMPORARILY_UNAVAILABLE", name, refusal)
        return
    if not valid_nick(name, server.limits.nick_length):
        _fail(server, user, "REGISTER", "BAD_ACCOUNT_NAME", name,
              "Account names follow the rules of nicknames")
        return
    holder = server.find_user(name)
    if service.is_registered(name) or (holder is not None and holder is not user):
        _fail(server, user, "REGISTER", "ACCOUNT_EXISTS", name, "That account name is taken")
        return
    mail: str | None = None if email == "*" else email
    if mail is not None and not valid_email(mail):
        _fail(server, user, "REGISTER", "INVALID_EMAIL", name, "That is not an e-mail address")
        return
    if mail is None and service.config.email_required:
        _fail(server, user, "REGISTER", "INVALID_EMAIL", name,
              "An e-mail address is required to register")
        return
    problem = password_problem(password)
    if problem is not None:
        code = "WEAK_PASSWORD" if len(password) < MIN_PASSWORD_LENGTH else \
            "UNACCEPTABLE_PASSWORD"
        _fail(server, user, "REGISTER", code, name, problem)
        return
    if user.ext.get(EXT):
        _fail(server, user, "REGISTER", "TEMPORARILY_UNAVAILABLE", name,
              "Your last registration is not answered yet")
        return
    user.ext[EXT] = True
    account = name

    def then(result: str | Unavailable) -> None:
        user.ext.pop(EXT, None)
        if isinstance(result, Unavailable):
            _fail(server, user, "REGISTER", "TEMPORARILY_UNAVAILABLE", account,
                  "Accounts are unavailable right now, try again later")
        elif result != OK:
            _fail(server, user, "REGISTER", "ACCOUNT_EXISTS", account,
                  "That account name is taken")
        else:
            service.account_created(account)
            server.send_from_server(user, "REGISTER", "SUCCESS", account,
                                    "Account created")
            if user.account is None:
                service.login(user, account, "REGISTER")

    service.offload(user, lambda: service.create_blocking(account, password, mail), then)


def verify(service: AccountService, server: Server, user: User, msg: Message) -> None:
    _fail(server, user, "VERIFY", "INVALID_CODE", msg.params[0],
          "No verification is pending for this account")


def same_account(a: str, b: str) -> bool:
    return casefold(a) == casefold(b)

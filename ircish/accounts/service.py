"""Accounts on a running server: who is logged in, the store behind it, the throttles.

``AccountService`` is the object behind the ``accounts`` extension
(``RunningServer.owner("accounts")``) and the small API other features call
(ChanServ, plugins): ``account_of(user)``, ``is_identified(user, name)``,
``is_registered(name)``, ``await find(name)``, ``login``/``logout``.

Accounts live in the history database, reached only through the history
worker (``StoreClient.account``). A handler never waits: it hands
``server.run_blocking`` a piece of work that runs in a thread, where the
store is asked through ``trio.from_thread`` and the password hashed or
checked (argon2id), and gets the answer back on the event loop. The shell
holds that client's next lines until then, so replies stay in order.

Failed logins (SASL, NickServ IDENTIFY) are counted per connection, per IP and
per account over ``[accounts] failure_window``; past the limits an attempt is
refused at once, with no hashing, until the oldest failure ages out. Every
failure and refusal is logged at INFO, with nick, IP and account, never the
password.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from ircish.accounts import hashing
from ircish.accounts.records import OK, Account, AccountRequest
from ircish.core import events
from ircish.core import numerics as N
from ircish.core.closing import closing_link
from ircish.core.extension import listens_to
from ircish.core.monitor import audience
from ircish.core.nicks import rename
from ircish.core.throttle import AttemptThrottle
from ircish.history.errors import StorageError, StoreQueryError, StoreUnavailable
from ircish.net import clientcert
from ircish.net.connection import Connection
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.replies import Replies
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.history.client import StoreClient
    from ircish.net.app import IrcServer

log = logging.getLogger("ircish.accounts")

T = TypeVar("T")

ACCOUNT_NOTIFY = "account-notify"
ACCOUNT_TAG = "account-tag"
EXTENDED_JOIN = "extended-join"
REGISTERED_MODE = "r"
# At most one look-up of new account names a second, however many nicks are taken.
NAMES_REFRESH_INTERVAL = 1.0
NAMES_SINCE_MARGIN_MICROS = 60_000_000


class Unavailable(Exception):
    """The accounts store did not answer (the worker is restarting or failed)."""


class AccountService:
    def __init__(self, app: IrcServer, store: StoreClient) -> None:
        self.app = app
        self.core: Server = app.core
        self.store = store
        self.config = app.config.accounts
        # SASL EXTERNAL: a TLS listener that accepts self-signed client certificates.
        self.external = bool(app.config.tls.listen) and clientcert.supported()
        # Casefolded names of every account: nick reservation and REGISTER's quick
        # refusals need them on the loop, without a round trip.
        self.names: set[str] = set()
        self.throttle = AttemptThrottle(self.config.failure_window, self.core.clock)
        self._guests = itertools.count(1)
        self._nursery: trio.Nursery | None = None
        # Users told to identify, with the nick they were told about.
        self._enforcing: dict[User, str] = {}
        # Called with the name of a dropped account (ChanServ forgets its channels).
        self.drop_listeners: list[Callable[[str], None]] = []
        # Called with a user that just logged in / out, also before registration,
        # where no event names the connection (metadata reads the account's keys).
        self.login_listeners: list[Callable[[User], None]] = []
        self.logout_listeners: list[Callable[[User], None]] = []
        # Nicks (casefolded) taken when they were no account; the next look-up of new
        # names checks whoever holds them then. Nicks, not Users: while that look-up
        # waits on a busy store, a crowd's departed clients must not be kept alive.
        self._unchecked: set[str] = set()
        self._refreshing = False
        self._last_refresh = -NAMES_REFRESH_INTERVAL
        # The newest registration time among the names known (µs).
        self._names_since = 0

    # ---- the API other features use ---------------------------------------------

    @staticmethod
    def account_of(user: User) -> str | None:
        return user.account

    @staticmethod
    def is_identified(user: User, name: str) -> bool:
        return user.account is not None and casefold(user.account) == casefold(name)

    def is_registered(self, name: str) -> bool:
        return casefold(name) in self.names

    async def find(self, name: str) -> Account | None:
        """The stored account (from a task on the loop); Unavailable if no answer."""
        return await self._ask(AccountRequest("get", (name,)))

    # ---- the store ----------------------------------------------------------------

    async def _ask(self, request: AccountRequest) -> Any:
        try:
            return await self.store.account(request)
        except (StorageError, StoreUnavailable, StoreQueryError) as exc:
            # A worker restarting answers StoreUnavailable: every caller handles
            # Unavailable, and an escaped one ended the server.
            raise Unavailable(str(exc)) from exc

    async def ask(self, request: AccountRequest) -> Any:
        """The store's answer, from a task on the loop; Unavailable if none."""
        return await self._ask(request)

    def ask_blocking(self, request: AccountRequest) -> Any:
        """From a worker thread (inside ``run_blocking``'s work) only."""
        return trio.from_thread.run(self._ask, request)

    def offload(self, user: User, work: Callable[[], T], then: Callable[[T], None]) -> None:
        """``work`` in a thread, ``then`` on the loop; ``Unavailable`` and bugs in
        ``work`` become ``then(exception)`` so every attempt gets an answer."""

        def guarded() -> Any:
            try:
                return work()
            except Unavailable as exc:
                return exc
            except Exception as exc:
                log.exception("account work failed")
                return Unavailable(f"{type(exc).__name__}")

        self.core.run_blocking(user, guarded, then)

    def look_up(self, user: User, request: AccountRequest,
                then: Callable[[Any], None]) -> None:
        """Ask the store without a thread (no hashing to do), ``then(answer)`` on the
        loop, ``Unavailable`` as the answer when the store does not answer. The
        worker threads are for argon2: a SCRAM login's look-up must not queue
        behind a storm of PLAIN checks. The client's next lines wait, as with
        ``offload``."""
        if self._nursery is None:
            then(Unavailable("the accounts service is not running"))
            return
        replies = self.core.defer_replies(user)
        conn = user.sink if isinstance(user.sink, Connection) else None
        if conn is not None:
            conn.hold()
        self._nursery.start_soon(self._look_up, user, request, then, replies, conn)

    async def _look_up(self, user: User, request: AccountRequest,
                       then: Callable[[Any], None], replies: Replies | None,
                       conn: Connection | None) -> None:
        try:
            try:
                answer = await self._ask(request)
            except Unavailable as exc:
                answer = exc
            if user in self.core.connections:
                with self.core.replies.collecting(replies):
                    then(answer)
        except Exception:
            log.exception("account look-up %s failed", request.op)
        finally:
            if conn is not None:
                conn.release()

    async def serve(self, app: IrcServer, *, task_status: trio.TaskStatus[None]) -> None:
        async with trio.open_nursery() as nursery:
            try:
                listed = await self._ask(AccountRequest("list"))
            except Unavailable as exc:
                log.error("accounts: cannot list the accounts (%s); nick reservation is off "
                          "until they can be read", exc)
                listed = []
            self.names = {casefold(name) for name, _, _ in listed}
            self._names_since = max((registered for _, registered, _ in listed), default=0)
            log.info("accounts: %d registered", len(self.names))
            self._nursery = nursery
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    # ---- failed attempts ----------------------------------------------------------

    def refused(self, user: User, name: str | None) -> str | None:
        """Why a login attempt must be refused without a check, or None."""
        cfg = self.config
        if self.throttle.failures(("conn", user)) >= cfg.max_failures:
            why = "too many failed logins on this connection"
        elif self.throttle.failures(("ip", user.ip)) >= cfg.max_failures_per_ip:
            why = "too many failed logins from this address"
        elif name and self.throttle.failures(("account", casefold(name))) >= cfg.max_failures:
            why = "too many failed logins to this account"
        else:
            return None
        log.info("login refused for %s from %s as %r: %s", user.nick, user.ip, name, why)
        return why

    def failed(self, user: User, name: str | None, how: str, why: str) -> None:
        count = self.throttle.fail(("conn", user))
        self.throttle.fail(("ip", user.ip))
        if name:
            self.throttle.fail(("account", casefold(name)))
        log.info("%s login failed for %s from %s as %r: %s (%d on this connection in the "
                 "window)", how, user.nick, user.ip, name, why, count)

    # ---- logging in and out -------------------------------------------------------

    def login(self, user: User, name: str, via: str,
              before_mode: Callable[[], None] | None = None) -> None:
        """Log ``user`` in: 900, then ``before_mode()`` (SASL's 903 must follow 900
        at once) or else ``MODE +r``, then account-notify and the event."""
        core = self.core
        previous = user.account
        user.account = name
        self._enforcing.pop(user, None)
        log.info("%s logged in to %r from %s (%s)", user.nick, name, user.ip, via)
        source = f"{user.nick}!{user.username or '*'}@{user.host}"
        core.numeric(user, N.RPL_LOGGEDIN, source, name, f"You are now logged in as {name}")
        changed = core.set_user_mode(user, REGISTERED_MODE, True)
        if before_mode is not None:
            # SASL: 900 and 903 close the exchange and nothing may come between or
            # right after them (clients and irctest read exactly those); +r is set
            # quietly and shows in MODE and WHOIS.
            before_mode()
        elif changed and user.registered:
            core.send_line(user, f":{core.name} MODE {user.nick} :+{REGISTERED_MODE}")
        self._notify(user, name)
        for listener in self.login_listeners:
            listener(user)
        core.emit(events.AccountEvent(core.micros(core.clock()), user.source, user.nick, name,
                                      previous, via))

    def logout(self, user: User, via: str) -> None:
        core = self.core
        previous = user.account
        if previous is None:
            return
        user.account = None
        log.info("%s logged out of %r (%s)", user.nick, previous, via)
        if core.set_user_mode(user, REGISTERED_MODE, False) and user.registered:
            core.send_line(user, f":{core.name} MODE {user.nick} :-{REGISTERED_MODE}")
        source = f"{user.nick}!{user.username or '*'}@{user.host}"
        core.numeric(user, N.RPL_LOGGEDOUT, source, "You are now logged out")
        self._notify(user, "*")
        for listener in self.logout_listeners:
            listener(user)
        core.emit(events.AccountEvent(core.micros(core.clock()), user.source, user.nick, None,
                                      previous, via))
        self.check_nick(user)

    def _notify(self, user: User, name: str) -> None:
        if not user.registered:
            return
        data = f":{user.source} ACCOUNT {name}\r\n".encode("utf-8", "replace")
        # Channel peers and, with extended-monitor, those monitoring the nick; the
        # user's own copy goes through its reply buffer (reply routes by user).
        for peer in audience(self.core, user, ACCOUNT_NOTIFY):
            self.core.reply(peer, data)

    def account_created(self, name: str) -> None:
        self.names.add(casefold(name))

    def account_dropped(self, name: str) -> None:
        """Forget ``name``; whoever is logged in to it, anywhere, is logged out."""
        key = casefold(name)
        self.names.discard(key)
        for user in list(self.core.connections):
            if user.account is not None and casefold(user.account) == key:
                self.logout(user, "account dropped")
        for listener in self.drop_listeners:
            listener(name)

    # ---- nick reservation -----------------------------------------------------------

    @listens_to(events.WelcomeEvent, events.NickEvent)
    def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.WelcomeEvent):
            user = self.core.find_user(event.nick)
            if user is not None and self.config.require_sasl and user.account is None \
                    and not user.bot:
                # The core sends its welcome burst before extensions hear of it; the
                # client is let go at once, before it can join or speak.
                reason = "You must log in with SASL on this server"
                log.info("%s from %s refused: no SASL login", user.nick, user.ip)
                self.core.kill(user, reason, closing_link(user.host, reason))
                return
        elif isinstance(event, events.NickEvent):
            user = self.core.find_user(event.new)
        else:
            return
        if user is not None and not user.bot:
            self.check_nick(user)

    def check_nick(self, user: User) -> None:
        """Tell (and later rename) an unidentified user on a registered nick."""
        mode = self.config.nick_reservation
        if mode == "off" or not user.registered:
            return
        if user.account is not None and casefold(user.account) == user.key:
            return
        if user.key not in self.names:
            # Not known on the loop, but the operators' CLI writes to the database
            # behind the server's back: the store is asked for names new since.
            self._unchecked.add(user.key)
            self._refresh_names_soon()
            return
        from ircish.accounts.nickserv import NICKSERV, notice_from_nickserv

        text = f"{user.nick} is a registered account. Identify with /msg {NICKSERV} IDENTIFY " \
               "<password>"
        if mode == "enforce":
            text += f" within {int(self.config.enforce_timeout)} seconds, or your nick " \
                    "will be changed"
        notice_from_nickserv(self.core, user, text + ".")
        if mode == "enforce" and self._nursery is not None:
            self._enforcing[user] = user.key
            self._nursery.start_soon(self._enforce, user, user.key)

    def _refresh_names_soon(self) -> None:
        if self._refreshing or self._nursery is None:
            return
        self._refreshing = True
        self._nursery.start_soon(self._refresh_names)

    async def _refresh_names(self) -> None:
        """One look-up of the accounts made since the newest name known, for all
        the users who took unknown nicks meanwhile: a look-up per nick cost a
        connection storm a store round trip per client (registrations/s -40 %)."""
        try:
            await trio.sleep_until(self._last_refresh + NAMES_REFRESH_INTERVAL)
            self._last_refresh = trio.current_time()
            waiting, self._unchecked = self._unchecked, set()
            # A margin, for an account written with a clock a little behind ours.
            since = self._names_since - NAMES_SINCE_MARGIN_MICROS
            try:
                found = await self._ask(AccountRequest("names_since", (since,)))
            except Unavailable:
                found = []
            for name, registered in found:
                self.names.add(casefold(name))
                self._names_since = max(self._names_since, registered)
            for key in waiting:
                user = self.core.find_user(key) if key in self.names else None
                if user is not None and user in self.core.connections:
                    self.check_nick(user)
        finally:
            self._refreshing = False
        if self._unchecked:
            self._refresh_names_soon()

    async def _enforce(self, user: User, key: str) -> None:
        await trio.sleep(self.config.enforce_timeout)
        if self._enforcing.get(user) != key:
            return
        del self._enforcing[user]
        if user not in self.core.connections or user.key != key:
            return
        if user.account is not None and casefold(user.account) == key:
            return
        try:
            # The CLI may have deleted it meanwhile: rename nobody for a gone account.
            gone = await self._ask(AccountRequest("get", (key,))) is None
        except Unavailable:
            gone = False
        if gone:
            self.names.discard(key)
            return
        if user not in self.core.connections or user.key != key or (
                user.account is not None and casefold(user.account) == key):
            return
        guest = self._guest_nick()
        log.info("%s did not identify in time; renamed to %s", user.nick, guest)
        rename(self.core, user, guest)

    def _guest_nick(self) -> str:
        while True:
            nick = f"Guest{next(self._guests)}"
            if self.core.find_user(nick) is None:
                return nick

    # ---- registration of an account -------------------------------------------------

    def create_blocking(self, name: str, password: str, email: str | None,
                        certfp: str | None = None) -> str:
        """From a thread: hash and store; ``OK`` or ``EXISTS``."""
        credentials = hashing.make_credentials(password)
        micros = int(self.core.clock() * 1_000_000)
        result: str = self.ask_blocking(AccountRequest(
            "create", (name, micros, email, credentials.password_hash, credentials.scram,
                       certfp)))
        return result

    def check_password_blocking(self, name: str, password: str) -> Account | None:
        """From a thread: the account if ``password`` is its password."""
        account: Account | None = self.ask_blocking(AccountRequest("get", (name,)))
        if account is None or not account.password_hash:
            # The same work as a real check, so a name's existence does not show in time.
            hashing.verify(password, DUMMY_HASH)
            return None
        return account if hashing.verify(password, account.password_hash) else None


DUMMY_HASH = hashing.hash_only("not a real password")


def created(result: object) -> bool:
    return result == OK

"""on_login / on_logout and UserView.account, over sockets with accounts on."""

from __future__ import annotations

from typing import Any

from tests.accounts.conftest import accounts_config
from tests.accounts.helpers import finish, sasl_plain, start_sasl
from tests.hooks.conftest import wait_until

RECORDER = """
from ircish.hooks import hookimpl

calls = []


@hookimpl
def on_login(api, nick, account, previous, via):
    calls.append(("login", nick, account, previous, via))


@hookimpl
def on_logout(api, nick, account, via):
    calls.append(("logout", nick, account, via))


@hookimpl
def on_message(api, nick, text):
    view = api.user(nick)
    calls.append(("view", text, view.account if view is not None else "gone"))
"""


async def test_login_and_logout_hooks(plugin_server: Any) -> None:
    async with plugin_server({"rec": RECORDER}, config=accounts_config()) as h:
        calls = h.module("rec").calls
        alice = await h.client("alice")
        await alice.send("PRIVMSG alice :before")
        await wait_until(lambda: ("view", "before", None) in calls)

        await alice.send("REGISTER * * sesame-sesame")
        await alice.expect("900")
        await wait_until(lambda: ("login", "alice", "alice", None, "REGISTER") in calls)
        await alice.send("PRIVMSG alice :after")
        await wait_until(lambda: ("view", "after", "alice") in calls)

        await alice.send("PRIVMSG NickServ :LOGOUT")
        await alice.expect("901")
        await wait_until(lambda: ("logout", "alice", "alice", "NickServ LOGOUT") in calls)
        await alice.send("PRIVMSG alice :out")
        await wait_until(lambda: ("view", "out", None) in calls)

        await alice.send("PRIVMSG NickServ :IDENTIFY alice sesame-sesame")
        await alice.expect("900")
        await wait_until(lambda: ("login", "alice", "alice", None, "NickServ IDENTIFY") in calls)

        # SASL during connection registration: the hook fires before the welcome.
        bob = await start_sasl(h.srv.port, "bob")
        h.clients.append(bob)
        assert await sasl_plain(bob, "alice", "sesame-sesame") == "903"
        await finish(bob)
        await wait_until(lambda: ("login", "bob", "alice", None, "SASL PLAIN") in calls)
        # A wrong password logs nobody in and fires nothing.
        carol = await start_sasl(h.srv.port, "carol")
        h.clients.append(carol)
        assert await sasl_plain(carol, "alice", "wrong") == "904"
        await bob.send("PRIVMSG bob :sync")
        await wait_until(lambda: ("view", "sync", "alice") in calls)
        assert not [c for c in calls if c[0] == "login" and c[1] == "carol"]

"""A nick that was no account when taken is checked again at the next look-up of new
names; while that look-up waits on a busy store, the clients who have left meanwhile
are not kept alive by it (it remembers nicks, not users)."""

from __future__ import annotations

import gc
import os
import signal
from pathlib import Path

import trio

from ircish.core.state import User
from ircish.history.client import StoreClient
from ircish.testing import start_server
from tests.accounts.conftest import accounts_config
from tests.ircclient import RawClient


def users_named(nick: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is User and o.nick == nick)


async def test_a_departed_client_is_not_kept_while_the_names_look_up_waits(
        tmp_path: Path) -> None:
    config = accounts_config({"accounts": {"nick_reservation": "warn"}})
    async with start_server(tmp_path, config) as srv:
        service = srv.owner("accounts")
        store: StoreClient = srv.owner("history").store
        assert store.pid is not None
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        with trio.fail_after(10):
            while service._refreshing:  # bob's look-up, answered
                await trio.sleep(0.01)
        os.kill(store.pid, signal.SIGSTOP)  # a store that is slow, not broken
        try:
            carol = await RawClient.connect(srv.port)
            await carol.register("carol")
            await carol.send("QUIT :gone")
            await carol.expect("ERROR")
            # The look-up has taken carol's nick and waits for the stopped store.
            with trio.fail_after(10):
                while service._unchecked or not service._refreshing:
                    await trio.sleep(0.01)
            # The outbox's last batch and the housekeeping loop hold the latest
            # connection they saw until their next round: bob's PINGs give them one.
            with trio.fail_after(10):
                while users_named("carol"):
                    await bob.send("PING :round")
                    await bob.expect("PONG")
                    await trio.sleep(0.2)
            assert service._refreshing  # still waiting: carol went meanwhile
        finally:
            os.kill(store.pid, signal.SIGCONT)
        with trio.fail_after(30):
            while service._refreshing:
                await trio.sleep(0.01)
        await carol.aclose()
        await bob.aclose()

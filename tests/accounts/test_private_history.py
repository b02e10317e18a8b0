"""Private history belongs to accounts: across connections, nicks and restarts."""

from __future__ import annotations

from pathlib import Path

from ircish.testing import start_server
from tests.accounts.conftest import accounts_config, registered
from tests.accounts.helpers import finish, sasl_plain, start_sasl
from tests.history.conftest import ALL_CAPS
from tests.ircclient import RawClient


async def latest(client: RawClient, target: str) -> list[str]:
    await client.send(f"CHATHISTORY LATEST {target} * 10")
    lines = await client.collect_until("BATCH")  # the opening
    lines = await client.collect_until("BATCH")  # the closing
    return [m.params[-1] for m in lines if m.command == "PRIVMSG"]


async def targets(client: RawClient) -> list[str]:
    await client.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
                      "timestamp=2100-01-01T00:00:00.000Z 10")
    await client.collect_until("BATCH")
    lines = await client.collect_until("BATCH")
    return [m.params[1] for m in lines if m.command == "CHATHISTORY"]


async def login(port: int, nick: str, account: str, password: str) -> RawClient:
    client = await start_sasl(port, nick)
    await client.send("CAP REQ :" + " ".join(ALL_CAPS))
    await client.expect("CAP")
    assert await sasl_plain(client, account, password) == "903"
    await finish(client)
    return client


async def test_the_leak_is_closed_and_the_owner_reads_it(tmp_path: Path) -> None:
    """Issue 10: mallory taking "alice" after she quits sees nothing; alice, logged
    in again on a new connection (and under another nick), sees her conversation,
    and again after a restart."""
    async with start_server(tmp_path, accounts_config()) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        await alice.send("PRIVMSG bob :my secret password is hunter2")
        await bob.expect("PRIVMSG")
        await bob.send("PRIVMSG alice :noted")
        await alice.expect("PRIVMSG")
        await alice.send("QUIT")
        await alice.read_until_closed()
        mallory = await RawClient.connect(srv.port)
        await mallory.register("alice", ALL_CAPS)
        assert await latest(mallory, "bob") == []
        assert await targets(mallory) == []
        await mallory.aclose()
        again = await login(srv.port, "alice_", "alice", "alice-password")
        assert await latest(again, "bob") == ["my secret password is hunter2", "noted"]
        assert await targets(again) == ["bob"]
        await again.aclose()
        await bob.aclose()
    async with start_server(tmp_path, accounts_config()) as srv:
        after = await login(srv.port, "someone", "alice", "alice-password")
        assert await latest(after, "bob") == ["my secret password is hunter2", "noted"]
        stranger = await RawClient.connect(srv.port)
        await stranger.register("alice", ALL_CAPS)
        assert await latest(stranger, "bob") == []
        await stranger.aclose()
        await after.aclose()


async def test_without_an_account_history_stays_with_the_connection(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        carol = await RawClient.connect(srv.port)
        await carol.register("carol", ALL_CAPS)
        dave = await RawClient.connect(srv.port)
        await dave.register("dave")
        await carol.send("PRIVMSG dave :hello dave")
        await dave.expect("PRIVMSG")
        assert await latest(carol, "dave") == ["hello dave"]
        await carol.aclose()
        carol2 = await RawClient.connect(srv.port)
        await carol2.register("carol", ALL_CAPS)
        assert await latest(carol2, "dave") == []
        await carol2.aclose()
        await dave.aclose()

"""Accounts the operators' CLI changes while the server runs: known at once, no restart.

The CLI writes to the database directly, behind the running server's back; the
server learns of a new name when a client takes that nick, and checks that an
account still exists before renaming someone for it.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import trio

from ircish import testing
from ircish.accounts.cli import main
from ircish.accounts.records import AccountRequest
from ircish.accounts.service import Unavailable
from ircish.history.errors import StoreUnavailable
from ircish.testing import start_server
from tests.accounts.conftest import accounts_config
from tests.accounts.helpers import finish, sasl_plain, start_sasl
from tests.ircclient import RawClient


def _config(mode: str, timeout: float = 30.0) -> dict[str, object]:
    return accounts_config({"accounts": {"nick_reservation": mode,
                                         "enforce_timeout": timeout}})


async def cli(tmp_path: Path, mode: str, *argv: str, stdin: str = "") -> int:
    """The CLI in a thread (it blocks on the database), as an operator runs it."""
    config = testing.test_config(tmp_path, _config(mode))

    def run() -> int:
        return main(list(argv), config, stdin=io.StringIO(stdin), out=io.StringIO(),
                    err=io.StringIO())

    return await trio.to_thread.run_sync(run)


def nickserv_notices(client: RawClient) -> list[str]:
    return [m.params[-1] for m in client.seen
            if m.command == "NOTICE" and (m.source or "").startswith("NickServ!")]


async def test_an_account_created_by_the_cli_is_reserved_and_logs_in(tmp_path: Path) -> None:
    async with start_server(tmp_path, _config("warn")) as srv:
        assert await cli(tmp_path, "warn", "create", "quinn", stdin="quinn-password\n") == 0
        squatter = await RawClient.connect(srv.port)
        await squatter.register("quinn")
        notice = await squatter.expect(
            lambda m: m.command == "NOTICE" and (m.source or "").startswith("NickServ!"))
        assert "quinn is a registered account" in notice.params[-1]
        # The same on a nick change, for a name created after this client connected.
        assert await cli(tmp_path, "warn", "create", "quinn2", stdin="other-password\n") == 0
        await squatter.send("NICK quinn2")
        notice = await squatter.expect(
            lambda m: m.command == "NOTICE" and (m.source or "").startswith("NickServ!"))
        assert "quinn2 is a registered account" in notice.params[-1]
        owner = await start_sasl(srv.port, "q")
        assert await sasl_plain(owner, "quinn", "quinn-password") == "903"
        await finish(owner)
        # A nick that is no account gets no notice.
        await squatter.send("NICK nobody-here", "PING :sync")
        await squatter.collect_until("PONG")
        assert len(nickserv_notices(squatter)) == 2
        await squatter.aclose()
        await owner.aclose()


async def test_enforce_renames_for_a_cli_account_but_not_after_its_deletion(
        tmp_path: Path) -> None:
    async with start_server(tmp_path, _config("enforce", 0.5)) as srv:
        assert await cli(tmp_path, "enforce", "create", "rosa", stdin="rosa-password\n") == 0
        assert await cli(tmp_path, "enforce", "create", "sven", stdin="sven-password\n") == 0
        rosa = await RawClient.connect(srv.port)
        await rosa.register("rosa")
        renamed = await rosa.expect("NICK")
        assert renamed.params[0].startswith("Guest")
        sven = await RawClient.connect(srv.port)
        await sven.register("sven")
        await sven.expect(
            lambda m: m.command == "NOTICE" and (m.source or "").startswith("NickServ!"))
        # Deleted before the timeout: sven keeps the nick.
        assert await cli(tmp_path, "enforce", "delete", "sven") == 0
        assert not [m for m in await sven.nothing_within(1.0) if m.command == "NICK"]
        await sven.send("WHOIS sven")
        assert any(m.command == "311" for m in await sven.collect_until("318"))
        await rosa.aclose()
        await sven.aclose()


async def test_a_connection_storm_costs_one_look_up_not_one_per_client(tmp_path: Path) -> None:
    async with start_server(tmp_path, _config("warn")) as srv:
        service = srv.owner("accounts")
        asked: list[str] = []
        real_ask = service._ask

        async def counting_ask(request):  # type: ignore[no-untyped-def]
            asked.append(request.op)
            return await real_ask(request)

        service._ask = counting_ask
        clients = [await RawClient.connect(srv.port) for _ in range(8)]
        for number, client in enumerate(clients):
            await client.register(f"storm{number}")
        assert await cli(tmp_path, "warn", "create", "storm3", stdin="storm-password\n") == 0
        # The account made after storm3 connected is still found for it.
        await clients[3].send("NICK other3", "NICK storm3")
        notice = await clients[3].expect(
            lambda m: m.command == "NOTICE" and (m.source or "").startswith("NickServ!"))
        assert "storm3 is a registered account" in notice.params[-1]
        # 9 nicks the server did not know, answered by a few look-ups, not 9.
        assert 1 <= len(asked) <= 3, asked
        for client in clients:
            await client.aclose()


async def test_a_restarting_worker_is_unavailable_not_the_servers_end(tmp_path: Path) -> None:
    async with start_server(tmp_path, _config("warn")) as srv:
        service = srv.owner("accounts")

        async def restarting(request):  # type: ignore[no-untyped-def]
            raise StoreUnavailable("the history worker is not running (restarting)")

        service.store.account = restarting
        with pytest.raises(Unavailable):
            await service.ask(AccountRequest("get", ("anyone",)))
        # The look-up of new names meets the same answer, and the server carries on.
        client = await RawClient.connect(srv.port)
        await client.register("newcomer")
        await client.send("NICK newcomer2")
        await trio.sleep(1.5)
        await client.send("PING :alive")
        await client.expect("PONG")
        await client.aclose()

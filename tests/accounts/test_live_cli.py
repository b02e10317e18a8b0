"""Accounts the operators' CLI changes while the server runs: known at once, no restart.

The CLI writes to the database directly, behind the running server's back; the
server learns of a new name when a client takes that nick, and checks that an
account still exists before renaming someone for it.
"""

from __future__ import annotations

import io
from pathlib import Path

import trio

from ircish import testing
from ircish.accounts.cli import main
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

"""``[accounts] enabled = false``: a server with [storage] that runs no accounts."""

from __future__ import annotations

from pathlib import Path

from ircish.testing import start_server
from tests.accounts.conftest import accounts_config
from tests.ircclient import RawClient


async def test_no_services_sasl_or_register_when_accounts_are_off(tmp_path: Path) -> None:
    config = accounts_config({"accounts": {"enabled": False}})
    async with start_server(tmp_path, config) as srv:
        assert srv.app.extension("accounts") is None
        assert srv.app.extension("history") is not None  # storage itself is still on
        client = await RawClient.connect(srv.port)
        await client.send("CAP LS 302")
        caps = (await client.expect("CAP")).params[-1].split()
        assert not [c for c in caps if c.startswith(("sasl", "draft/account-registration"))]
        await client.send("CAP END")
        await client.register("alice")
        await client.send("WHO *", "LUSERS", "PRIVMSG NickServ :HELP")
        who = await client.collect_until("315")
        assert [m.params[5] for m in who if m.command == "352"] == ["alice"]
        assert (await client.expect("266")).params[1] == "1"
        assert (await client.expect("401")).params[1] == "NickServ"
        await client.aclose()

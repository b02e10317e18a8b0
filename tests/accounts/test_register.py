"""draft/account-registration and NickServ over sockets; accounts survive a restart."""

from __future__ import annotations

from pathlib import Path

import trio

from ircish.testing import RunningServer, start_server
from tests.accounts.conftest import accounts_config, registered
from tests.accounts.helpers import sasl_scram, start_sasl
from tests.ircclient import RawClient


async def fail_code(client: RawClient, line: str) -> str:
    await client.send(line)
    msg = await client.expect(lambda m: m.command in ("FAIL", "REGISTER"))
    return msg.params[1] if msg.command == "FAIL" else msg.params[0]


async def test_register_answers(aserver: RunningServer) -> None:
    client = await RawClient.connect(aserver.port)
    await client.send("CAP LS 302")
    ls = (await client.expect("CAP")).params[-1].split()
    assert "draft/account-registration=before-connect,custom-account-name" in ls
    await client.send("NICK erin")
    # Before connection registration: allowed (before-connect).
    assert await fail_code(client, "REGISTER * * abc") == "WEAK_PASSWORD"
    assert await fail_code(client, "REGISTER * bad-mail erin-password") == "INVALID_EMAIL"
    assert await fail_code(client, "REGISTER b@d * erin-password") == "BAD_ACCOUNT_NAME"
    assert await fail_code(client, "REGISTER * erin@example.org erin-password") == "SUCCESS"
    await client.expect("900")
    assert await fail_code(client, "REGISTER other * other-password") == \
        "ALREADY_AUTHENTICATED"
    assert await fail_code(client, "VERIFY erin 1234") == "INVALID_CODE"
    await client.send("CAP END", "USER erin 0 * :Erin")
    await client.expect("376")
    other = await RawClient.connect(aserver.port)
    await other.register("frank")
    assert await fail_code(other, "REGISTER ERIN * frank-password") == "ACCOUNT_EXISTS"
    # A nick in use cannot be grabbed as an account, before connecting either.
    grab = await RawClient.connect(aserver.port)
    await grab.send("NICK frank")
    assert await fail_code(grab, "REGISTER * * grab-password") == "ACCOUNT_EXISTS"
    for c in (client, other, grab):
        await c.aclose()


async def test_two_registrations_at_once_exactly_one_wins(aserver: RunningServer) -> None:
    clients = []
    for i in range(4):
        c = await RawClient.connect(aserver.port)
        await c.register(f"racer{i}")
        clients.append(c)
    answers: list[str] = []

    async def race(c: RawClient) -> None:
        answers.append(await fail_code(c, "REGISTER samename * race-password"))

    async with trio.open_nursery() as nursery:
        for c in clients:
            nursery.start_soon(race, c)
    assert sorted(answers) == ["ACCOUNT_EXISTS"] * 3 + ["SUCCESS"]
    for c in clients:
        await c.aclose()


async def test_closed_registration(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config({"accounts": {
            "registration": "closed", "nick_reservation": "off"}})) as srv:
        client = await RawClient.connect(srv.port)
        await client.register("gina")
        assert await fail_code(client, "REGISTER * * gina-password") == "TEMPORARILY_UNAVAILABLE"
        await client.send("PRIVMSG NickServ :REGISTER gina-password")
        notice = await client.expect("NOTICE")
        assert "closed" in notice.params[-1]
        await client.aclose()


async def nickserv(client: RawClient, text: str) -> str:
    """Every line NickServ answered, joined (the PING makes sure all are in)."""
    await client.send(f"PRIVMSG NickServ :{text}", "PING :sync")
    got = await client.collect_until("PONG")
    return " | ".join(m.params[-1] for m in got
                      if m.command == "NOTICE" and (m.source or "").startswith("NickServ!"))


async def test_nickserv_commands_and_restart(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        henry = await RawClient.connect(srv.port)
        await henry.register("henry", ["account-notify"])
        assert "now registered" in await nickserv(henry, "REGISTER henry-password")
        assert "logged in" in await nickserv(henry, "REGISTER again-password")
        assert "registered" in await nickserv(henry, "INFO")
        assert "not registered" in await nickserv(henry, "INFO nobody")
        assert "logged out" in await nickserv(henry, "LOGOUT")
        assert "Invalid" in await nickserv(henry, "IDENTIFY henry wrong-password")
        assert "identified" in await nickserv(henry, "IDENTIFY henry-password")
        assert [m.params[2] for m in henry.seen if m.command == "900"][-1] == "henry"
        assert [m.params[-1] for m in henry.seen if m.command == "ACCOUNT"] == \
            ["henry", "*", "henry"]
        assert "changed" in await nickserv(henry, "SET PASSWORD newer-password")
        assert "64 hex" in await nickserv(henry, "CERT ADD 1234")
        assert "added" in await nickserv(henry, "CERT ADD " + "ab" * 32)
        assert "ab" * 32 in await nickserv(henry, "CERT LIST")
        assert "Unknown command" in await nickserv(henry, "FROB")
        assert "NickServ commands" in await nickserv(henry, "HELP")
        # Nothing said to NickServ is stored.
        await henry.send("CAP REQ :batch draft/chathistory", "CHATHISTORY LATEST NickServ * 10")
        await henry.collect_until("BATCH")
        batch = await henry.collect_until("BATCH")
        assert not [m for m in batch if m.command == "PRIVMSG"]
        ghost = await RawClient.connect(srv.port)
        await ghost.register("henry2")
        assert "not identified" in await nickserv(ghost, "GHOST henry")
        assert "identified" in await nickserv(ghost, "IDENTIFY henry newer-password")
        assert "ghosted" in await nickserv(ghost, "GHOST henry")
        await henry.read_until_closed()
        await ghost.aclose()
    async with start_server(tmp_path, accounts_config()) as srv:
        client = await start_sasl(srv.port, "henry")
        assert await sasl_scram(client, "henry", "newer-password") == "903"
        await client.aclose()
        dropper = await registered(srv.port, "ivan", "ivan-password")
        watcher = await start_sasl(srv.port, "ivan2")
        from tests.accounts.helpers import finish, sasl_plain

        assert await sasl_plain(watcher, "ivan", "ivan-password") == "903"
        await finish(watcher)
        assert "dropped" in await nickserv(dropper, "DROP ivan-password")
        # Logged in elsewhere: logged out there too (901).
        assert (await watcher.expect("901")).command == "901"
        assert "not registered" in await nickserv(watcher, "INFO ivan")
        await dropper.aclose()
        await watcher.aclose()

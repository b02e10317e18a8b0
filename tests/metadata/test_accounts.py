"""Metadata kept in the database: a user's keys with the account (back on a login from
another device, and after a restart), a registered channel's with its registration."""

from __future__ import annotations

import itertools
from pathlib import Path

from ircish.testing import RunningServer, start_server
from tests.accounts.conftest import accounts_config, registered
from tests.accounts.helpers import sasl_plain
from tests.ircclient import RawClient

CAP = "draft/metadata-3"
_tokens = (f"sync{i}" for i in itertools.count())


async def _answer(client: RawClient, line: str) -> list[list[str]]:
    token = next(_tokens)
    await client.send(line, f"PING :{token}")
    start = len(client.seen)
    await client.expect(lambda m: m.command == "PONG" and m.params[-1] == token)
    return [[m.command, *m.params] for m in client.seen[start:-1]]


async def _login(port: int, nick: str, account: str, password: str) -> list[list[str]]:
    """SASL PLAIN with metadata: the keys in the registration burst's batch."""
    client = await RawClient.connect(port)
    client.nick = nick
    await client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "LS"
                        and m.params[2] != "*")
    await client.send(f"CAP REQ :sasl batch {CAP}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    assert await sasl_plain(client, account, password) == "903"
    await client.send("CAP END")
    burst = await client.collect_until("376")
    await client.aclose()
    return [m.params for m in burst if m.command == "761"]


async def test_keys_come_back_on_another_device_and_after_a_restart(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        owner = await registered(srv.port, "alys", "pw-alys-123")
        await owner.send(f"CAP REQ :{CAP} batch")
        await owner.expect("CAP")
        assert await _answer(owner, "METADATA * SET display-name :Alys A") == [
            ["761", "alys", "alys", "display-name", "*", "Alys A"]]
        await _answer(owner, "METADATA * SET avatar :https://x/a.png")
        await _answer(owner, "METADATA * SET avatar")
        await owner.aclose()
        assert await _login(srv.port, "phone", "alys", "pw-alys-123") == [
            ["phone", "phone", "display-name", "*", "Alys A"]]
    async with start_server(tmp_path, accounts_config()) as srv:
        assert await _login(srv.port, "laptop", "alys", "pw-alys-123") == [
            ["laptop", "laptop", "display-name", "*", "Alys A"]]


async def test_a_connections_own_keys_without_an_account_stay_with_it(
    aserver: RunningServer,
) -> None:
    guest = await RawClient.connect(aserver.port)
    await guest.register("guest", [CAP, "batch"])
    await _answer(guest, "METADATA * SET display-name :Guest")
    await guest.aclose()
    again = await RawClient.connect(aserver.port)
    burst = await again.register("guest", [CAP, "batch"])
    assert [m for m in burst if m.command == "761"] == []
    await again.aclose()


async def test_other_sessions_of_the_account_see_the_change(aserver: RunningServer) -> None:
    owner = await registered(aserver.port, "alys", "pw-alys-123")
    await owner.aclose()
    phone = await RawClient.connect(aserver.port)
    laptop = await RawClient.connect(aserver.port)
    for client, nick in ((phone, "phone"), (laptop, "laptop")):
        client.nick = nick
        await client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
        await client.expect(lambda m: m.command == "CAP" and m.params[2] != "*")
        await client.send(f"CAP REQ :sasl batch {CAP}")
        await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
        assert await sasl_plain(client, "alys", "pw-alys-123") == "903"
        await client.send("CAP END")
        await client.expect("376")
    await _answer(laptop, "METADATA * SUB display-name")
    await _answer(phone, "METADATA * SET display-name :Alys")
    told = await _answer(laptop, "METADATA * GET display-name")
    assert ["761", "laptop", "phone", "display-name", "*", "Alys"] in told
    # The account's keys show on each of its nicks.
    assert ["761", "laptop", "laptop", "display-name", "*", "Alys"] in told
    for client in (phone, laptop):
        await client.aclose()


async def test_registered_channel_keeps_its_keys_across_a_restart(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        owner = await registered(srv.port, "alys", "pw-alys-123")
        await owner.send(f"CAP REQ :{CAP} batch")
        await owner.expect("CAP")
        await _answer(owner, "JOIN #kept")
        await _answer(owner, "JOIN #lost")
        # Set before the registration: kept once the channel is registered.
        await _answer(owner, "METADATA #kept SET url :https://kept")
        await _answer(owner, "METADATA #lost SET url :https://lost")
        await _answer(owner, "PRIVMSG ChanServ :REGISTER #kept")
        await _answer(owner, "METADATA #kept SET avatar :k.png")
        await _answer(owner, "METADATA #kept SET avatar :k2.png")
        await owner.aclose()
    async with start_server(tmp_path, accounts_config()) as srv:
        stranger = await RawClient.connect(srv.port)
        await stranger.register("stranger", [CAP, "batch"])
        kept = await _answer(stranger, "METADATA #kept LIST")
        assert [line for line in kept if line[0] == "761"] == [
            ["761", "stranger", "#kept", "avatar", "*", "k2.png"],
            ["761", "stranger", "#kept", "url", "*", "https://kept"]]
        lost = await _answer(stranger, "METADATA #lost LIST")
        assert lost[0][:4] == ["FAIL", "METADATA", "INVALID_TARGET", "#lost"]
        await stranger.aclose()


async def test_keys_set_before_logging_in_win_and_are_kept(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        owner = await registered(srv.port, "alys", "pw-alys-123")
        await owner.send(f"CAP REQ :{CAP} batch")
        await owner.expect("CAP")
        await _answer(owner, "METADATA * SET display-name :Stored")
        await _answer(owner, "METADATA * SET color :red")
        await owner.aclose()
    async with start_server(tmp_path, accounts_config()) as srv:
        client = await RawClient.connect(srv.port)
        client.nick = "tablet"
        await client.send("CAP LS 302")
        await client.expect(lambda m: m.command == "CAP" and m.params[1] == "LS"
                            and m.params[2] != "*")
        await client.send(f"CAP REQ :sasl batch {CAP}")
        await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
        await _answer(client, "METADATA * SET display-name :Fresh")
        assert await sasl_plain(client, "alys", "pw-alys-123") == "903"
        await client.send("NICK tablet", "USER tablet 0 * :tablet", "CAP END")
        burst = await client.collect_until("376")
        assert sorted(m.params[2:] for m in burst if m.command == "761") == [
            ["color", "*", "red"], ["display-name", "*", "Fresh"]]
        await client.aclose()
    # Stored: a new process reads "Fresh" from the database.
    async with start_server(tmp_path, accounts_config()) as srv:
        assert sorted(p[2:] for p in await _login(srv.port, "phone", "alys", "pw-alys-123")) \
            == [["color", "*", "red"], ["display-name", "*", "Fresh"]]

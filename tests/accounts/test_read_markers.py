"""draft/read-marker with accounts: kept per account in the database, shared by the
account's connections, read in before a logged-in client's JOIN."""

from __future__ import annotations

from pathlib import Path

from ircish.testing import RunningServer, start_server
from tests.accounts.conftest import accounts_config, registered
from tests.accounts.helpers import sasl_plain
from tests.ircclient import RawClient

CAP = "draft/read-marker"
TS = "timestamp=2021-05-20T08:30:00.000Z"


async def _login(port: int, nick: str, account: str, password: str) -> RawClient:
    """SASL PLAIN with the read-marker capability, then the welcome burst."""
    client = await RawClient.connect(port)
    client.nick = nick
    await client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "LS")
    await client.send(f"CAP REQ :sasl {CAP}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    assert await sasl_plain(client, account, password) == "903"
    await client.send("CAP END")
    await client.expect("376")
    return client


async def _markers_in_burst(client: RawClient, channel: str) -> list[list[str]]:
    await client.send(f"JOIN {channel}")
    burst = await client.collect_until("366")
    return [m.params for m in burst if m.command == "MARKREAD"]


async def test_marker_survives_reconnect_and_restart(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        owner = await registered(srv.port, "alys", "pw-alys-123")
        await owner.aclose()
        first = await _login(srv.port, "dev1", "alys", "pw-alys-123")
        assert await _markers_in_burst(first, "#test") == [["#test", "*"]]
        await first.send(f"MARKREAD #test {TS}")
        assert (await first.expect("MARKREAD")).params == ["#test", TS]
        await first.aclose()
        again = await _login(srv.port, "dev2", "alys", "pw-alys-123")
        assert await _markers_in_burst(again, "#test") == [["#test", TS]]
        await again.aclose()
    # A new server process reads it from the database before the JOIN.
    async with start_server(tmp_path, accounts_config()) as srv:
        later = await _login(srv.port, "dev3", "alys", "pw-alys-123")
        assert await _markers_in_burst(later, "#Test") == [["#Test", TS]]
        older = "timestamp=2020-01-01T00:00:00.000Z"
        await later.send(f"MARKREAD #test {older}")
        assert (await later.expect("MARKREAD")).params == ["#Test", TS]  # as it is spelt
        await later.aclose()


async def test_other_sessions_of_the_account_are_told(aserver: RunningServer) -> None:
    owner = await registered(aserver.port, "alys", "pw-alys-123")
    await owner.aclose()
    s1 = await _login(aserver.port, "dev1", "alys", "pw-alys-123")
    s2 = await _login(aserver.port, "dev2", "alys", "pw-alys-123")
    stranger = await RawClient.connect(aserver.port)
    await stranger.register("stranger", [CAP])
    await s1.send(f"MARKREAD #test {TS}")
    assert (await s1.expect("MARKREAD")).params == ["#test", TS]
    assert (await s2.expect("MARKREAD")).params == ["#test", TS]
    await stranger.send("MARKREAD #test")
    assert (await stranger.expect("MARKREAD")).params == ["#test", "*"]
    for client in (s1, s2, stranger):
        await client.aclose()


async def test_logging_in_after_joining_sends_the_accounts_markers(
    aserver: RunningServer,
) -> None:
    owner = await registered(aserver.port, "alys", "pw-alys-123")
    await owner.send(f"MARKREAD #test {TS}")
    await owner.expect("MARKREAD")
    await owner.aclose()
    late = await RawClient.connect(aserver.port)
    await late.register("late", [CAP])
    assert await _markers_in_burst(late, "#test") == [["#test", "*"]]
    await late.send("PRIVMSG NickServ :IDENTIFY alys pw-alys-123")
    assert (await late.expect("MARKREAD")).params == ["#test", TS]
    await late.aclose()

"""Replay on join shows what this person missed: time-stamped texts for clients
without server-time, a NOTICE frame, once per connection, and since an account's
departure or read marker."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import trio

from ircish.protocol import Message
from ircish.testing import RunningServer, start_server
from tests.accounts.conftest import accounts_config, registered
from tests.accounts.helpers import sasl_plain
from tests.ircclient import RawClient

from .conftest import ClientFactory
from .test_replay import fill, join_and_collect, said


def notices(lines: list[Message], channel: str = "#r") -> list[str]:
    return [m.params[-1] for m in lines if m.command == "NOTICE" and m.params[0] == channel]


async def test_a_client_without_server_time_sees_each_lines_time_and_a_frame(
    hconnect: ClientFactory,
) -> None:
    await fill(hconnect)
    plain = await hconnect("plain")
    lines = await join_and_collect(plain, "#r", 5)
    timed = await hconnect("timed", ["server-time"])
    replayed = await join_and_collect(timed, "#r", 5)
    # With server-time the texts stay as they were said; the frame is there too.
    assert said(replayed) == [f"said {i}" for i in range(3, 8)]
    assert notices(replayed)[-1] == "*** end of replay"
    expected = []
    for m in replayed:
        if m.command == "PRIVMSG":
            local = datetime.fromisoformat(m.tags["time"].replace("Z", "+00:00")).astimezone()
            expected.append(f"[{local:%H:%M}] {m.params[-1]}")
    assert said(lines) == expected
    assert notices(lines) == ["*** replaying 5 lines said before you joined", "*** end of replay"]
    verbs = [m.command for m in lines if m.command in ("NOTICE", "PRIVMSG")]
    assert verbs == ["NOTICE"] + ["PRIVMSG"] * 5 + ["NOTICE"]


async def test_a_rejoin_on_the_same_connection_is_not_replayed_again(
    hconnect: ClientFactory,
) -> None:
    await fill(hconnect, count=2)
    plain = await hconnect("plain")
    assert len(said(await join_and_collect(plain, "#r", 2))) == 2
    await plain.send("PART #r")
    await plain.expect("PART")
    await plain.send("JOIN #r")
    await plain.expect("366")
    again = await plain.nothing_within(0.5)
    assert [m for m in again if m.command in ("PRIVMSG", "NOTICE")] == []


async def _login(port: int, nick: str, account: str, password: str,
                 caps: str = "sasl") -> RawClient:
    client = await RawClient.connect(port)
    client.nick = nick
    await client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "LS")
    await client.send(f"CAP REQ :{caps}")
    await client.expect(lambda m: m.command == "CAP" and m.params[1] == "ACK")
    assert await sasl_plain(client, account, password) == "903"
    await client.send("CAP END")
    await client.expect("376")
    return client


async def _say(client: RawClient, *texts: str) -> None:
    for text in texts:
        await client.send(f"PRIVMSG #r :{text}")
    for _ in texts:
        await client.expect("PRIVMSG")


async def test_a_returning_account_gets_only_what_it_missed(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        await (await registered(srv.port, "alice", "secret1")).aclose()
        talker = await RawClient.connect(srv.port)
        await talker.register("talker", ["echo-message"])
        await talker.send("JOIN #r")
        await talker.expect("366")
        await _say(talker, "before 1", "before 2")
        alice = await _login(srv.port, "alice1", "alice", "secret1")
        lines = await join_and_collect(alice, "#r", 2)
        assert notices(lines)[0] == "*** replaying 2 lines said before you joined"
        await _say(talker, "while there")
        await alice.expect("PRIVMSG")
        await alice.send("QUIT :bye")
        await talker.expect("QUIT")
        await _say(talker, "missed 1")
        back = await _login(srv.port, "alice2", "alice", "secret1")
        lines = await join_and_collect(back, "#r", 1)
        assert [t.split("] ", 1)[1] for t in said(lines)] == ["missed 1"]
        assert notices(lines) == ["*** replaying 1 line said since you left",
                                  "*** end of replay"]
        # Someone unknown still gets the recent lines (replay_on_join = 5).
        stranger = await RawClient.connect(srv.port)
        await stranger.register("stranger")
        assert len(said(await join_and_collect(stranger, "#r", 4))) == 4
        for client in (talker, back, stranger):
            await client.aclose()


async def test_an_accounts_read_marker_starts_its_replay(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        await _read_marker_replay(srv)


async def _read_marker_replay(aserver: RunningServer) -> None:
    await (await registered(aserver.port, "bob", "secret2")).aclose()
    talker = await RawClient.connect(aserver.port)
    await talker.register("talker", ["echo-message", "server-time"])
    await talker.send("JOIN #r")
    await talker.expect("366")
    await _say(talker, "read 1", "read 2")
    await trio.sleep(0.01)  # a marker is a whole millisecond: the next lines come after it
    await _say(talker, "unread 1", "unread 2")
    times = {m.params[-1]: m.tags["time"] for m in talker.seen if m.command == "PRIVMSG"}
    # Another client of bob's (say a phone) read up to "read 2".
    phone = await _login(aserver.port, "bobphone", "bob", "secret2",
                         "sasl draft/read-marker")
    await phone.send(f"MARKREAD #r timestamp={times['read 2']}")
    await phone.expect("MARKREAD")
    desk = await _login(aserver.port, "bobdesk", "bob", "secret2", "sasl server-time")
    lines = await join_and_collect(desk, "#r", 2)
    assert said(lines) == ["unread 1", "unread 2"]
    assert notices(lines)[0] == "*** replaying 2 lines said since you left"
    for client in (talker, phone, desk):
        await client.aclose()


async def test_a_stamped_line_still_fits_one_irc_line(hconnect: ClientFactory) -> None:
    from ircish.protocol.message import format_line

    talker = await hconnect("talker", ["echo-message"])
    await talker.send("JOIN #r")
    await talker.expect("366")
    await talker.send("PRIVMSG #r :" + "x" * 495)  # the relayed line is cut to fit
    full = (await talker.expect("PRIVMSG")).params[-1]
    plain = await hconnect("plain")
    (line,) = [m for m in await join_and_collect(plain, "#r", 1) if m.command == "PRIVMSG"]
    assert line.params[-1].startswith("[") and line.params[-1].endswith("xxx")
    assert len(line.params[-1]) < len(full) + len("[00:00] ")
    assert len(format_line(line.command, line.params, line.source).encode()) <= 510

"""Replay on join, persistent channels, and history across restarts."""

from __future__ import annotations

from pathlib import Path

from ircish.protocol import Message
from ircish.testing import start_server
from tests.ircclient import RawClient

from .conftest import ClientFactory, with_history


async def until_said(client: RawClient, count: int, quiet: float = 0.2) -> list[Message]:
    """Lines up to the ``count``-th PRIVMSG (and any batch end), then a quiet spell."""
    start = len(client.seen)
    for _ in range(count):
        await client.expect("PRIVMSG")
    await client.nothing_within(quiet)
    return client.seen[start:]


async def join_and_collect(client: RawClient, channel: str, count: int) -> list[Message]:
    await client.send(f"JOIN {channel}")
    start = len(client.seen)
    await client.expect("366")
    await until_said(client, count)
    return client.seen[start:]


def said(lines: list[Message]) -> list[str]:
    return [m.params[-1] for m in lines if m.command == "PRIVMSG"]


async def fill(hconnect: ClientFactory, channel: str = "#r", count: int = 8) -> RawClient:
    talker = await hconnect("talker", ["echo-message"])
    await talker.send(f"JOIN {channel}")
    await talker.expect("366")
    for i in range(count):
        await talker.send(f"PRIVMSG {channel} :said {i}")
    for _ in range(count):
        await talker.expect("PRIVMSG")
    return talker


async def test_plain_client_sees_the_last_lines_as_ordinary_lines(
    hconnect: ClientFactory,
) -> None:
    await fill(hconnect)
    plain = await hconnect("plain")
    lines = await join_and_collect(plain, "#r", 5)
    # replay_on_join = 5 in the test config; without server-time each text carries
    # its time (test_replay_missed checks the stamp itself)
    assert [t.split("] ", 1)[1] for t in said(lines)] == [f"said {i}" for i in range(3, 8)]
    assert all(not m.tags for m in lines)
    assert not any(m.command == "BATCH" for m in lines)


async def test_replay_has_server_time_and_a_batch_when_negotiated(
    hconnect: ClientFactory,
) -> None:
    await fill(hconnect)
    timed = await hconnect("timed", ["server-time"])
    lines = await join_and_collect(timed, "#r", 5)
    assert said(lines) == [f"said {i}" for i in range(3, 8)]
    assert all("time" in m.tags for m in lines if m.command == "PRIVMSG")
    batched = await hconnect("batched", ["batch", "server-time"])
    lines = await join_and_collect(batched, "#r", 5)
    batch = [m for m in lines if m.command == "BATCH"]
    assert [b.params[0][0] for b in batch] == ["+", "-"]
    assert batch[0].params[1:] == ["chathistory", "#r"]
    ref = batch[0].params[0][1:]
    assert all(m.tags["batch"] == ref for m in lines if m.command == "PRIVMSG")


async def test_chathistory_clients_get_no_automatic_replay(hconnect: ClientFactory) -> None:
    await fill(hconnect)
    modern = await hconnect("modern", ["batch", "server-time", "draft/chathistory"])
    assert said(await join_and_collect(modern, "#r", 0)) == []


async def test_replay_comes_after_the_join_burst(hconnect: ClientFactory) -> None:
    await fill(hconnect, count=2)
    plain = await hconnect("plain")
    await plain.send("JOIN #r")
    lines = await plain.collect_until("PRIVMSG")
    verbs = [m.command for m in lines]
    assert verbs.index("JOIN") < verbs.index("366") < verbs.index("PRIVMSG")


async def test_an_emptied_channel_starts_its_history_anew(hconnect: ClientFactory) -> None:
    talker = await fill(hconnect, count=3)
    await talker.send("PART #r")
    await talker.expect("PART")  # #r is gone now (persistent channels: test_visibility)
    again = await hconnect("again")
    assert said(await join_and_collect(again, "#r", 0)) == []


async def _say(port: int, nick: str, channel: str, lines: list[str]) -> None:
    client = await RawClient.connect(port)
    await client.register(nick, ["echo-message"])
    await client.send(f"JOIN {channel}")
    await client.expect("366")
    for text in lines:
        await client.send(f"PRIVMSG {channel} :{text}")
    for _ in lines:
        await client.expect("PRIVMSG")
    await client.aclose()


async def test_history_and_persistent_channels_survive_a_restart(tmp_path: Path) -> None:
    config = with_history({"channels": {"auto_join": ["#lobby"]}})
    async with start_server(tmp_path, config) as srv:
        await _say(srv.port, "early", "#lobby", ["before restart 1", "before restart 2"])
        op = await RawClient.connect(srv.port)
        await op.register("op", ["server-time"])
        await op.send("TOPIC #lobby :kept topic", "MODE #lobby +b *!*@banned.example")
        await op.expect("MODE")
        # Original times, as the first server stamped them.
        first = await RawClient.connect(srv.port)
        await first.register("first", ["server-time"])  # auto-joins #lobby
        await until_said(first, 2)
        original = {m.params[-1]: m.tags["time"] for m in first.seen if m.command == "PRIVMSG"}
        await first.aclose()
        await op.aclose()
    assert len(original) == 2
    async with start_server(tmp_path, config) as srv:
        lobby = srv.core.find_channel("#lobby")
        assert lobby is not None and lobby.topic == "kept topic"
        assert [b[0] for b in lobby.bans] == ["*!*@banned.example"]
        late = await RawClient.connect(srv.port)
        lines = await late.register("late", ["server-time"])
        lines += await until_said(late, 2)
        replay = [m for m in lines if m.command == "PRIVMSG"]
        assert [m.params[-1] for m in replay] == ["before restart 1", "before restart 2"]
        assert {m.params[-1]: m.tags["time"] for m in replay} == original
        topic = [m for m in lines if m.command == "332"]
        assert topic and topic[0].params[-1] == "kept topic"
        await late.aclose()


async def test_operator_plus_p_keeps_a_channel_across_restarts(tmp_path: Path) -> None:
    from ircish.passwords import hash_password

    config = with_history()
    config["opers"] = [{"name": "admin", "password_hash": hash_password("pw")}]
    async with start_server(tmp_path, config) as srv:
        op = await RawClient.connect(srv.port)
        await op.register("op")
        await op.send("OPER admin pw")
        await op.expect("381")
        await op.send("JOIN #kept", "MODE #kept +Pk sesame", "TOPIC #kept :stays")
        await op.expect("TOPIC")
        await op.send("MODE #kept +b *!*@nope.example", "MODE #gone +P", "PART #kept")
        await op.expect("PART")
        await op.aclose()
    async with start_server(tmp_path, config) as srv:
        kept = srv.core.find_channel("#kept")
        assert kept is not None and not kept.members  # stays while empty
        assert kept.topic == "stays" and kept.password == "sesame"
        assert "P" in kept.modes and [b[0] for b in kept.bans] == ["*!*@nope.example"]
        op = await RawClient.connect(srv.port)
        await op.register("op")
        await op.send("OPER admin pw")
        await op.expect("381")
        await op.send("JOIN #kept sesame", "MODE #kept -P", "PART #kept")
        await op.expect("PART")
        await op.aclose()
    async with start_server(tmp_path, config) as srv:
        assert srv.core.find_channel("#kept") is None  # -P forgot it

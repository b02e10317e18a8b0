"""Who may read which history: private lines follow the connection (or account),
not the nick; a channel that is not persistent starts its history anew."""

from __future__ import annotations

from pathlib import Path

from ircish.protocol import Message
from ircish.testing import start_server
from tests.ircclient import RawClient

from .conftest import ALL_CAPS, ClientFactory, with_history
from .test_chathistory import history, texts

EVER = "timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z"


def targets(lines: list[Message]) -> list[str]:
    return [m.params[1] for m in lines]


async def test_a_new_client_with_a_departed_users_nick_gets_none_of_her_private_history(
    hconnect: ClientFactory,
) -> None:
    alice = await hconnect("alice", ALL_CAPS)
    bob = await hconnect("bob", ALL_CAPS)
    await alice.send("PRIVMSG bob :the password is hunter2")
    await bob.expect("PRIVMSG")
    await bob.send("PRIVMSG alice :got it")
    await alice.expect("PRIVMSG")
    # Before quitting, alice's own connection sees her conversation.
    _, mine = await history(alice, "CHATHISTORY LATEST bob * 50")
    assert texts(mine) == ["the password is hunter2", "got it"]
    _, listed = await history(alice, f"CHATHISTORY TARGETS {EVER} 50")
    assert targets(listed) == ["bob"]
    await alice.send("QUIT :bye")
    await alice.read_until_closed()

    impostor = await hconnect("ALICE", ALL_CAPS)
    _, listed = await history(impostor, f"CHATHISTORY TARGETS {EVER} 50")
    assert targets(listed) == []
    opener, lines = await history(impostor, "CHATHISTORY LATEST bob * 50")
    assert opener.command == "BATCH" and lines == []
    for sub in ("BEFORE bob timestamp=2100-01-01T00:00:00.000Z 50", f"BETWEEN bob {EVER} 50"):
        _, lines = await history(impostor, f"CHATHISTORY {sub}")
        assert lines == []
    # What the new ALICE says to bob is hers, and only that.
    await impostor.send("PRIVMSG bob :hi, I am new")
    await bob.expect("PRIVMSG")
    _, lines = await history(impostor, "CHATHISTORY LATEST bob * 50")
    assert texts(lines) == ["hi, I am new"]

    # Bob, still on the same connection, keeps his whole conversation.
    _, lines = await history(bob, "CHATHISTORY LATEST alice * 50")
    assert texts(lines) == ["the password is hunter2", "got it", "hi, I am new"]
    _, listed = await history(bob, f"CHATHISTORY TARGETS {EVER} 50")
    assert [t.lower() for t in targets(listed)] == ["alice"]


async def _said_and_left(hconnect: ClientFactory, channel: str) -> list[Message]:
    """Two members of a secret ``channel`` talk, then both leave; the lines said."""
    first = await hconnect("first", [*ALL_CAPS, "echo-message"])
    await first.send(f"JOIN {channel}", f"MODE {channel} +s")
    await first.expect("MODE")
    second = await hconnect("second", ALL_CAPS)
    await second.send(f"JOIN {channel}")
    await second.expect("366")
    lines = []
    for i in range(3):
        await first.send(f"PRIVMSG {channel} :secret {i}")
        lines.append(await first.expect("PRIVMSG"))
    await second.send(f"PART {channel}")
    await second.expect("PART")
    await first.send(f"PART {channel}")
    await first.expect("PART")
    return lines


async def test_a_recreated_secret_channel_shows_nothing_of_the_old_one(
    hconnect: ClientFactory,
) -> None:
    old = await _said_and_left(hconnect, "#hush")
    msgids = [m.tags["msgid"] for m in old]
    newop = await hconnect("newop", ALL_CAPS)
    await newop.send("JOIN #hush")
    names = await newop.expect("353")
    assert names.params[-1] == "@newop"  # its new operator
    requests = [
        "LATEST #hush * 50",
        "BEFORE #hush timestamp=2100-01-01T00:00:00.000Z 50",
        "AFTER #hush timestamp=2000-01-01T00:00:00.000Z 50",
        f"AROUND #hush msgid={msgids[1]} 50",
        f"AROUND #hush timestamp={old[1].tags['time']} 50",
        f"BETWEEN #hush {EVER} 50",
        f"BETWEEN #hush msgid={msgids[0]} msgid={msgids[2]} 50",
    ]
    for request in requests:
        opener, lines = await history(newop, f"CHATHISTORY {request}")
        assert opener.command == "BATCH", request
        assert [m for m in lines if m.command == "PRIVMSG"] == [], request
    _, listed = await history(newop, f"CHATHISTORY TARGETS {EVER} 50")
    assert "#hush" not in targets(listed)
    # What the new channel says is its history.
    await newop.send("PRIVMSG #hush :fresh")
    _, lines = await history(newop, "CHATHISTORY LATEST #hush * 50")
    assert texts(lines) == ["fresh"]
    _, listed = await history(newop, f"CHATHISTORY TARGETS {EVER} 50")
    assert "#hush" in targets(listed)


async def test_no_replay_on_join_from_the_old_channel(hconnect: ClientFactory) -> None:
    await _said_and_left(hconnect, "#hush")
    plain = await hconnect("plain")  # replay_on_join = 5 in the test config
    await plain.send("JOIN #hush")
    await plain.expect("366")
    assert [m for m in await plain.nothing_within(0.5) if m.command == "PRIVMSG"] == []


async def test_a_persistent_channel_keeps_its_history_when_emptied(tmp_path: Path) -> None:
    config = with_history({"channels": {"auto_join": ["#lobby"]}})
    async with start_server(tmp_path, config) as srv:
        talker = await RawClient.connect(srv.port)
        await talker.register("talker", ["echo-message"])  # auto-joins #lobby
        for i in range(3):
            await talker.send(f"PRIVMSG #lobby :kept {i}")
            await talker.expect("PRIVMSG")
        await talker.send("QUIT")
        await talker.read_until_closed()
        # #lobby is empty now; it stays, and so does what was said in it.
        plain = await RawClient.connect(srv.port)
        await plain.register("plain")  # auto-joined: replay on join
        for i in range(3):
            # Without server-time each replayed text starts with its time.
            text = (await plain.expect("PRIVMSG")).params[-1]
            assert text.split("] ", 1)[1] == f"kept {i}"
        modern = await RawClient.connect(srv.port)
        await modern.register("modern", ALL_CAPS)
        _, lines = await history(modern, "CHATHISTORY LATEST #lobby * 50")
        assert texts(lines) == ["kept 0", "kept 1", "kept 2"]
        for client in (plain, modern):
            await client.aclose()

from tests.ircclient import RawClient


async def test_register_join_and_talk(server, connect) -> None:
    alice: RawClient = await connect("alice")
    bob: RawClient = await connect("bob")
    await alice.send("JOIN #room")
    await alice.expect("366")
    await bob.send("JOIN #room")
    join = await alice.expect("JOIN")
    assert join.source.startswith("bob!") and join.params == ["#room"]
    await bob.expect("366")
    await bob.send("PRIVMSG #room :hello there")
    msg = await alice.expect("PRIVMSG")
    assert msg.params == ["#room", "hello there"]
    assert msg.source.startswith("bob!~bob@127.0.0.1")

"""draft/read-marker without [storage]: MARKREAD get/set, JOIN bursts, bad input.

Each connection keeps its own markers; accounts (tests/accounts) share theirs.
"""

from __future__ import annotations

from ircish.testing import RunningServer
from tests.ircclient import RawClient

CAP = "draft/read-marker"


async def _client(port: int, nick: str, caps: list[str] | None = None) -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick, caps)
    return client


async def _markread(client: RawClient, line: str) -> list[str]:
    await client.send(line)
    msg = await client.expect(lambda m: m.command in ("MARKREAD", "FAIL"))
    return [msg.command, *msg.params]


async def test_get_set_and_never_backwards(server: RunningServer) -> None:
    alice = await _client(server.port, "alice", [CAP])
    assert await _markread(alice, "MARKREAD #nowhere") == ["MARKREAD", "#nowhere", "*"]
    ts = "timestamp=2019-01-04T14:33:26.123Z"
    assert await _markread(alice, f"MARKREAD #Chan {ts}") == ["MARKREAD", "#Chan", ts]
    assert await _markread(alice, "MARKREAD #chan") == ["MARKREAD", "#chan", ts]
    older = "timestamp=2018-01-01T00:00:00.000Z"
    assert await _markread(alice, f"MARKREAD #chan {older}") == ["MARKREAD", "#chan", ts]
    newer = "timestamp=2020-02-02T02:02:02.020Z"
    assert await _markread(alice, f"MARKREAD bob {newer}") == ["MARKREAD", "bob", newer]
    assert await _markread(alice, "MARKREAD #chan") == ["MARKREAD", "#chan", ts]
    await alice.aclose()


async def test_a_marker_in_the_future_is_clamped_to_now(server: RunningServer) -> None:
    alice = await _client(server.port, "alice", [CAP])
    reply = await _markread(alice, "MARKREAD #a timestamp=2999-01-01T00:00:00.000Z")
    assert reply[:2] == ["MARKREAD", "#a"] and reply[2] < "timestamp=2999"
    await alice.aclose()


async def test_join_burst_has_the_marker_before_end_of_names(server: RunningServer) -> None:
    alice = await _client(server.port, "alice", [CAP])
    plain = await _client(server.port, "plain")
    await alice.send("JOIN #test")
    burst = await alice.collect_until("366")
    commands = [m.command for m in burst]
    assert "MARKREAD" in commands and commands.index("MARKREAD") < commands.index("366")
    assert burst[commands.index("MARKREAD")].params == ["#test", "*"]
    ts = "timestamp=2020-03-15T10:00:00.000Z"
    await _markread(alice, f"MARKREAD #test {ts}")
    await alice.send("PART #test", "JOIN #TEST")
    burst = await alice.collect_until("366")
    # The channel was empty, so it is made anew as "#TEST"; the marker is by folded name.
    assert [m.params for m in burst if m.command == "MARKREAD"] == [["#TEST", ts]]
    # Without the capability, no MARKREAD in the burst.
    await plain.send("JOIN #test")
    assert "MARKREAD" not in [m.command for m in await plain.collect_until("366")]
    await alice.aclose()
    await plain.aclose()


async def test_no_implicit_names_still_gets_the_marker(server: RunningServer) -> None:
    alice = await _client(server.port, "alice", [CAP, "no-implicit-names"])
    await alice.send("JOIN #test")
    msg = await alice.expect("MARKREAD")
    assert msg.params == ["#test", "*"]
    await alice.send("PING done")
    rest = await alice.collect_until("PONG")
    assert "366" not in [m.command for m in rest]
    await alice.aclose()


async def test_bad_input_gets_the_spec_errors(server: RunningServer) -> None:
    alice = await _client(server.port, "alice", [CAP])
    assert (await _markread(alice, "MARKREAD"))[:3] == ["FAIL", "MARKREAD", "NEED_MORE_PARAMS"]
    for bad in ("not-a-timestamp", "*", "timestamp=yesterday", "timestamp=2019-13-40T00:00:00Z",
                "timestamp=2019-01-04T14:33:26", "time=2019-01-04T14:33:26.123Z"):
        reply = await _markread(alice, f"MARKREAD #test {bad}")
        assert reply[:3] == ["FAIL", "MARKREAD", "INVALID_PARAMS"], bad
    for target in ("#bad,chan", "no/such!nick"):
        reply = await _markread(alice, f"MARKREAD {target}")
        assert reply[:3] == ["FAIL", "MARKREAD", "INVALID_PARAMS"], target
    assert await _markread(alice, "MARKREAD #test") == ["MARKREAD", "#test", "*"]
    await alice.aclose()


async def test_markers_belong_to_their_connection(server: RunningServer) -> None:
    alice = await _client(server.port, "alice", [CAP])
    bob = await _client(server.port, "bob", [CAP])
    ts = "timestamp=2021-05-20T08:30:00.000Z"
    await _markread(alice, f"MARKREAD #test {ts}")
    assert await _markread(bob, "MARKREAD #test") == ["MARKREAD", "#test", "*"]
    await alice.aclose()
    await bob.aclose()


async def test_markread_is_not_activity(server: RunningServer) -> None:
    alice = await _client(server.port, "alice", [CAP])
    user = server.core.find_user("alice")
    assert user is not None
    before = user.last_active
    await _markread(alice, "MARKREAD #test timestamp=2019-01-04T14:33:26.123Z")
    assert user.last_active == before
    await alice.aclose()

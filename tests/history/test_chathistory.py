"""CHATHISTORY at the protocol level, against a real server with a real database."""

from __future__ import annotations

from ircish.protocol import Message
from ircish.testing import RunningServer
from tests.ircclient import RawClient

from .conftest import ALL_CAPS, ClientFactory


async def history(client: RawClient, line: str) -> tuple[Message, list[Message]]:
    """Send a CHATHISTORY line; return the batch opener and the lines inside."""
    await client.send(line)
    opener = await client.expect(
        lambda m: (m.command == "BATCH" and m.params[0].startswith("+")) or m.command == "FAIL"
    )
    if opener.command == "FAIL":
        return opener, []
    ref = opener.params[0][1:]
    lines = await client.collect_until("BATCH")
    assert lines[-1].params == ["-" + ref]
    body = lines[:-1]
    assert all(m.tags.get("batch") == ref for m in body)
    return opener, body


def texts(lines: list[Message]) -> list[str]:
    return [m.params[-1] for m in lines]


async def say_lines(client: RawClient, target: str, count: int, prefix: str = "line") -> None:
    for i in range(count):
        await client.send(f"PRIVMSG {target} :{prefix} {i}")


async def test_isupport_and_caps(hconnect: ClientFactory) -> None:
    alice = await hconnect("alice", ALL_CAPS)
    tokens = {p for m in alice.seen if m.command == "005" for p in m.params}
    assert "CHATHISTORY=50" in tokens
    assert "MSGREFTYPES=msgid,timestamp" in tokens


async def setup_channel(hconnect: ClientFactory, count: int = 10) -> tuple[RawClient, RawClient]:
    alice = await hconnect("alice", ALL_CAPS)
    await alice.send("JOIN #hist")
    await alice.expect("366")
    bob = await hconnect("bob", [*ALL_CAPS, "echo-message"])
    await bob.send("JOIN #hist")
    await bob.expect("366")
    await say_lines(bob, "#hist", count)
    for _ in range(count):
        await bob.expect("PRIVMSG")  # echo-message: all delivered
    return alice, bob


async def test_latest_before_after_around_between(hconnect: ClientFactory) -> None:
    alice, _ = await setup_channel(hconnect)
    opener, lines = await history(alice, "CHATHISTORY LATEST #hist * 4")
    assert opener.params[1:] == ["chathistory", "#hist"]
    assert texts(lines) == ["line 6", "line 7", "line 8", "line 9"]
    for m in lines:
        assert m.source.startswith("bob!") and "msgid" in m.tags and m.tags["time"].endswith("Z")
    ids = {m.params[-1]: m.tags["msgid"] for m in lines}
    _, before = await history(alice, f"CHATHISTORY BEFORE #hist msgid={ids['line 6']} 3")
    assert texts(before) == ["line 3", "line 4", "line 5"]
    first = before[0].tags["msgid"]
    _, after = await history(alice, f"CHATHISTORY AFTER #hist msgid={first} 2")
    assert texts(after) == ["line 4", "line 5"]
    _, around = await history(alice, f"CHATHISTORY AROUND #hist msgid={ids['line 7']} 3")
    assert texts(around) == ["line 6", "line 7", "line 8"]
    _, between = await history(
        alice, f"CHATHISTORY BETWEEN #hist msgid={first} msgid={ids['line 8']} 10"
    )
    assert texts(between) == ["line 4", "line 5", "line 6", "line 7"]
    _, backwards = await history(
        alice, f"CHATHISTORY BETWEEN #hist msgid={ids['line 8']} msgid={first} 2"
    )
    assert texts(backwards) == ["line 6", "line 7"]
    _, latest_after = await history(alice, f"CHATHISTORY LATEST #hist msgid={ids['line 7']} 10")
    assert texts(latest_after) == ["line 8", "line 9"]


async def test_timestamp_references(hconnect: ClientFactory) -> None:
    alice, _ = await setup_channel(hconnect, 3)
    _, lines = await history(alice, "CHATHISTORY LATEST #hist * 3")
    future = "timestamp=2999-01-01T00:00:00.000Z"
    past = "timestamp=2000-01-01T00:00:00.000Z"
    _, before = await history(alice, f"CHATHISTORY BEFORE #hist {future} 10")
    assert texts(before) == texts(lines)
    _, between = await history(alice, f"CHATHISTORY BETWEEN #hist {past} {future} 2")
    assert texts(between) == ["line 0", "line 1"]
    _, none = await history(alice, f"CHATHISTORY AFTER #hist {future} 10")
    assert none == []


async def test_limit_is_capped_by_the_server_maximum(hconnect: ClientFactory) -> None:
    alice, _ = await setup_channel(hconnect, 60)
    _, lines = await history(alice, "CHATHISTORY LATEST #hist * 1000")
    assert len(lines) == 50
    assert texts(lines)[-1] == "line 59"


async def test_errors_are_standard_replies(hconnect: ClientFactory) -> None:
    alice = await hconnect("alice", ALL_CAPS)
    cases = {
        "CHATHISTORY": "NEED_MORE_PARAMS",
        "CHATHISTORY FOO #x * 10": "UNKNOWN_COMMAND",
        "CHATHISTORY LATEST #x *": "NEED_MORE_PARAMS",
        "CHATHISTORY LATEST #x * 0": "INVALID_PARAMS",
        "CHATHISTORY LATEST #x * ten": "INVALID_PARAMS",
        "CHATHISTORY BEFORE #x bogus 10": "INVALID_PARAMS",
        "CHATHISTORY BEFORE #x timestamp=yesterday 10": "INVALID_PARAMS",
        "CHATHISTORY TARGETS msgid=a msgid=b 10": "INVALID_PARAMS",
        "CHATHISTORY LATEST #nosuchchannel * 10": "INVALID_TARGET",
    }
    for line, code in cases.items():
        await alice.send(line)
        fail = await alice.expect("FAIL")
        assert fail.params[:2] == ["CHATHISTORY", code], (line, fail)


async def test_no_access_to_a_secret_channel(hconnect: ClientFactory) -> None:
    alice, _ = await setup_channel(hconnect, 2)
    await alice.send("MODE #hist +s")
    await alice.expect("MODE")
    carol = await hconnect("carol", ALL_CAPS)
    await carol.send("CHATHISTORY LATEST #hist * 10")
    fail = await carol.expect("FAIL")
    assert fail.params[:4] == ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#hist"]


async def test_channel_history_is_for_members_only(hconnect: ClientFactory) -> None:
    await setup_channel(hconnect, 2)
    carol = await hconnect("carol", ALL_CAPS)
    opener, _ = await history(carol, "CHATHISTORY LATEST #hist * 10")
    assert opener.command == "FAIL"
    assert opener.params[:4] == ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#hist"]
    await carol.send("JOIN #hist")
    await carol.expect("366")
    _, lines = await history(carol, "CHATHISTORY LATEST #hist * 10")
    assert texts(lines) == ["line 0", "line 1"]


async def test_a_line_after_chathistory_is_answered_after_the_batch(
    hconnect: ClientFactory,
) -> None:
    alice, _ = await setup_channel(hconnect, 3)
    # In one write: the PING must wait for the history answer (replies keep the
    # order of the commands; irctest syncs on PING and reads what came before).
    await alice.send("CHATHISTORY LATEST #hist * 10", "PING :after")
    got = await alice.collect_until("PONG")
    assert [m.command for m in got if m.command in ("BATCH", "PONG")] == \
        ["BATCH", "BATCH", "PONG"]


async def test_unknown_msgid_gives_an_empty_batch(hconnect: ClientFactory) -> None:
    alice, _ = await setup_channel(hconnect, 2)
    opener, lines = await history(alice, "CHATHISTORY BEFORE #hist msgid=nope 10")
    assert opener.command == "BATCH" and lines == []


async def test_private_history_only_for_its_parties_and_targets(
    hconnect: ClientFactory,
) -> None:
    alice = await hconnect("alice", ALL_CAPS)
    bob = await hconnect("bob", ALL_CAPS)
    carol = await hconnect("carol", ALL_CAPS)
    await alice.send("PRIVMSG bob :secret 1")
    await bob.expect("PRIVMSG")
    await bob.send("PRIVMSG alice :secret 2")
    await alice.expect("PRIVMSG")
    _, lines = await history(alice, "CHATHISTORY LATEST bob * 10")
    assert texts(lines) == ["secret 1", "secret 2"]
    _, lines = await history(bob, "CHATHISTORY LATEST alice * 10")
    assert texts(lines) == ["secret 1", "secret 2"]
    _, lines = await history(carol, "CHATHISTORY LATEST alice * 10")
    assert lines == []
    _, lines = await history(carol, "CHATHISTORY LATEST bob * 10")
    assert lines == []
    await alice.send("JOIN #room")
    await alice.expect("366")
    await alice.send("PRIVMSG #room :in the room")
    opener, targets = await history(
        alice,
        "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
        "timestamp=2999-01-01T00:00:00.000Z 10",
    )
    assert opener.params[1] == "draft/chathistory-targets"
    assert [m.params[1] for m in targets] == ["bob", "#room"]
    assert all(m.command == "CHATHISTORY" and m.params[0] == "TARGETS" for m in targets)


async def test_equal_timestamps_page_without_gaps(
    hserver: RunningServer, hconnect: ClientFactory
) -> None:
    alice, _ = await setup_channel(hconnect, 0)
    # Freeze the server clock: every line gets the same microsecond.
    core = hserver.core
    frozen = core.clock()
    core.clock = lambda: frozen
    bob = await hconnect("bob2", ALL_CAPS)
    await bob.send("JOIN #hist")
    await bob.expect("366")
    await say_lines(bob, "#hist", 6, "tie")
    for _ in range(6):
        await alice.expect("PRIVMSG")
    _, first = await history(alice, "CHATHISTORY LATEST #hist * 3")
    assert len({m.tags["time"] for m in first}) == 1
    _, older = await history(alice, f"CHATHISTORY BEFORE #hist msgid={first[0].tags['msgid']} 3")
    assert texts(older) + texts(first) == [f"tie {i}" for i in range(6)]


async def test_events_replayed_with_event_playback(hconnect: ClientFactory) -> None:
    alice = await hconnect("alice", [*ALL_CAPS, "draft/event-playback"])
    await alice.send("JOIN #ev", "TOPIC #ev :a topic", "PRIVMSG #ev :hi", "PING :done")
    await alice.expect("PONG")
    # Someone stays, so #ev is the same channel when alice comes back.
    keeper = await hconnect("keeper")
    await keeper.send("JOIN #ev")
    await keeper.expect("366")
    await alice.send("PART #ev :bye", "JOIN #ev")
    await alice.expect("366")
    _, lines = await history(alice, "CHATHISTORY LATEST #ev * 10")
    assert [m.command for m in lines] == ["JOIN", "TOPIC", "PRIVMSG", "JOIN", "PART", "JOIN"]
    plain = await hconnect("plain", ALL_CAPS)
    await plain.send("JOIN #ev")
    await plain.expect("366")
    _, lines = await history(plain, "CHATHISTORY LATEST #ev * 10")
    assert [m.command for m in lines] == ["PRIVMSG"]


async def test_a_failing_query_is_a_message_error_and_the_server_goes_on(
    hserver: RunningServer, hconnect: ClientFactory
) -> None:
    service = hserver.owner("history")

    async def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("disk on fire")

    alice, _ = await setup_channel(hconnect, 1)
    service.store.ask = broken  # type: ignore[method-assign]
    await alice.send("CHATHISTORY LATEST #hist * 10")
    fail = await alice.expect("FAIL")
    assert fail.params[:4] == ["CHATHISTORY", "MESSAGE_ERROR", "LATEST", "#hist"]
    await alice.send("PING :still")
    await alice.expect("PONG")


async def test_a_labeled_request_gets_its_answer_in_a_labeled_batch(
    hconnect: ClientFactory,
) -> None:
    await setup_channel(hconnect, 3)
    carol = await hconnect("carol", [*ALL_CAPS, "labeled-response"])
    await carol.send("JOIN #hist")
    await carol.expect("366")
    await carol.send("@label=h1 CHATHISTORY LATEST #hist * 2")
    lines = await carol.collect_until("BATCH")
    outer = lines[-1]
    assert outer.tags.get("label") == "h1" and outer.params[1] == "labeled-response"
    ref = outer.params[0][1:]
    rest = []
    while not (rest and rest[-1].command == "BATCH" and rest[-1].params == ["-" + ref]):
        rest.append(await carol.expect(lambda m: True))
    inner = rest[0]
    assert inner.command == "BATCH" and inner.params[1:] == ["chathistory", "#hist"]
    assert inner.tags["batch"] == ref
    assert texts(rest[1:-2]) == ["line 1", "line 2"]
    assert all(m.tags["batch"] == inner.params[0][1:] for m in rest[1:-2])
    assert rest[-2].params == ["-" + inner.params[0][1:]] and rest[-2].tags["batch"] == ref
    await carol.send("@label=h2 CHATHISTORY LATEST #nosuch * 2")
    fail = await carol.expect("FAIL")
    assert fail.tags.get("label") == "h2"


async def test_a_timestamp_from_a_lines_time_tag_is_that_lines_time(
    hconnect: ClientFactory,
) -> None:
    # Time tags go out to the millisecond, lines are stored to the microsecond:
    # "after timestamp=<a line's tag>" must not return that line, "before" neither.
    alice, _ = await setup_channel(hconnect, 5)
    _, lines = await history(alice, "CHATHISTORY LATEST #hist * 10")
    for line in lines:
        stamp = line.tags["time"]
        for query in (f"AFTER #hist timestamp={stamp} 10", f"LATEST #hist timestamp={stamp} 10",
                      f"BEFORE #hist timestamp={stamp} 10"):
            _, got = await history(alice, f"CHATHISTORY {query}")
            assert line.params[-1] not in texts(got), (query, texts(got))
        _, around = await history(alice, f"CHATHISTORY AROUND #hist timestamp={stamp} 10")
        assert line.params[-1] in texts(around)
    first, last = lines[0].tags["time"], lines[-1].tags["time"]
    _, between = await history(alice, f"CHATHISTORY BETWEEN #hist timestamp={first} "
                                      f"timestamp={last} 10")
    assert lines[0].params[-1] not in texts(between)
    assert lines[-1].params[-1] not in texts(between)

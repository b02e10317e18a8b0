"""REDACT (draft/message-redaction): who may, who is told, the errors, the window."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from ircish.passwords import hash_password
from ircish.redaction.feature import CAP
from tests.ircclient import RawClient

Connect = Callable[..., Awaitable[RawClient]]
CAPS = ["message-tags", "echo-message", CAP]


async def sent(client: RawClient, line: str) -> str:
    """Send a message and return its msgid from the echo."""
    await client.send(line)
    echo = await client.expect(lambda m: m.command in ("PRIVMSG", "TAGMSG", "NOTICE")
                               and m.source.startswith(client.nick + "!"))
    return echo.tags["msgid"]


async def lines_before_pong(client: RawClient) -> list[str]:
    """What reaches ``client`` before the answer to a PING it sends now."""
    await client.send("PING :mark")
    return [m.command for m in await client.collect_until("PONG")]


async def channel_of(connect: Connect, *nicks_caps: tuple[str, list[str]]) -> list[RawClient]:
    clients = []
    for nick, caps in nicks_caps:
        c = await connect(nick, caps)
        await c.send("JOIN #room")
        await c.expect("366")
        clients.append(c)
    return clients


async def test_sender_redacts_own_message_and_members_with_the_cap_are_told(
    connect: Connect,
) -> None:
    alice, bob, carol = await channel_of(
        connect, ("alice", CAPS), ("bob", CAPS), ("carol", ["message-tags"]))
    # bob joined second: no op, so only his being the sender lets him.
    msgid = await sent(bob, "PRIVMSG #room :oops")
    await bob.send(f"REDACT #room {msgid} :typo")
    for c in (alice, bob):
        redact = await c.expect("REDACT")
        assert redact.params == ["#room", msgid, "typo"]
        assert redact.source.startswith("bob!")
        assert "msgid" in redact.tags
    # The spec: nothing at all to a member without the capability.
    assert "REDACT" not in await lines_before_pong(carol)


async def test_channel_operator_redacts_someone_elses_message(connect: Connect) -> None:
    alice, bob = await channel_of(connect, ("alice", CAPS), ("bob", CAPS))
    msgid = await sent(bob, "PRIVMSG #room :spam")
    await alice.send(f"REDACT #room {msgid}")
    assert (await bob.expect("REDACT")).params == ["#room", msgid]


async def test_someone_elses_message_without_op_is_forbidden(connect: Connect) -> None:
    alice, bob = await channel_of(connect, ("alice", CAPS), ("bob", CAPS))
    msgid = await sent(alice, "PRIVMSG #room :mine")
    await bob.send(f"REDACT #room {msgid}")
    fail = await bob.expect("FAIL")
    assert fail.params[:4] == ["REDACT", "REDACT_FORBIDDEN", "#room", msgid]
    assert "REDACT" not in await lines_before_pong(alice)


async def test_unknown_msgid_and_msgid_of_another_channel(connect: Connect) -> None:
    (alice,) = await channel_of(connect, ("alice", CAPS))
    await alice.send("REDACT #room nosuchid")
    fail = await alice.expect("FAIL")
    assert fail.params[:4] == ["REDACT", "UNKNOWN_MSGID", "#room", "nosuchid"]
    await alice.send("JOIN #other")
    await alice.expect("366")
    msgid = await sent(alice, "PRIVMSG #other :elsewhere")
    await alice.send(f"REDACT #room {msgid}")
    assert (await alice.expect("FAIL")).params[1] == "UNKNOWN_MSGID"
    # Redacted once, it is gone: a second REDACT finds nothing.
    await alice.send(f"REDACT #other {msgid}")
    await alice.expect("REDACT")
    await alice.send(f"REDACT #other {msgid}")
    assert (await alice.expect("FAIL")).params[1] == "UNKNOWN_MSGID"


async def test_non_member_and_missing_target_are_invalid(connect: Connect) -> None:
    alice, _bob = await channel_of(connect, ("alice", CAPS), ("bob", CAPS))
    msgid = await sent(alice, "PRIVMSG #room :hello")
    outsider = await connect("eve", CAPS)
    for target in ("#room", "#nowhere", "nobody"):
        await outsider.send(f"REDACT {target} {msgid}")
        fail = await outsider.expect("FAIL")
        assert fail.params[:3] == ["REDACT", "INVALID_TARGET", target]
    await outsider.send("REDACT #room")
    assert (await outsider.expect("461")).params[1] == "REDACT"


async def test_private_message_redacted_by_its_sender_only(connect: Connect) -> None:
    alice = await connect("alice", CAPS)
    bob = await connect("bob", CAPS)
    msgid = await sent(alice, "PRIVMSG bob :psst")
    await bob.expect("PRIVMSG")
    await bob.send(f"REDACT alice {msgid}")
    assert (await bob.expect("FAIL")).params[:2] == ["REDACT", "REDACT_FORBIDDEN"]
    await alice.send(f"REDACT bob {msgid}")
    for c in (alice, bob):
        assert (await c.expect("REDACT")).params == ["bob", msgid]
    # A third party cannot name the conversation.
    carol = await connect("carol", CAPS)
    other = await sent(alice, "PRIVMSG bob :again")
    await carol.send(f"REDACT bob {other}")
    assert (await carol.expect("FAIL")).params[1] == "UNKNOWN_MSGID"


async def test_redaction_window(tmp_path: Path, make_server) -> None:
    async with make_server({"limits": {"redact_window": 60}}) as srv:
        alice = await RawClient.connect(srv.port)
        await alice.register("alice", CAPS)
        msgid = await sent(alice, "PRIVMSG alice :note to self")
        srv.app.core.clock = _later(srv.app.core.clock, 61)
        await alice.send(f"REDACT alice {msgid}")
        fail = await alice.expect("FAIL")
        assert fail.params[:5] == ["REDACT", "REDACT_WINDOW_EXPIRED", "alice", msgid, "60"]


def _later(clock: Callable[[], float], seconds: float) -> Callable[[], float]:
    return lambda: clock() + seconds


async def test_tagmsg_can_be_redacted(connect: Connect) -> None:
    alice, bob = await channel_of(connect, ("alice", CAPS), ("bob", CAPS))
    msgid = await sent(alice, "@+draft/react=x TAGMSG #room")
    await alice.send(f"REDACT #room {msgid}")
    assert (await bob.expect("REDACT")).params == ["#room", msgid]


async def test_an_oper_redacts_anyones_message_even_after_the_window(make_server) -> None:
    config = {"opers": [{"name": "boss", "password_hash": hash_password("right")}],
              "limits": {"redact_window": 60}}
    async with make_server(config) as srv:
        clients = []
        for nick in ("alice", "oper"):
            c = await RawClient.connect(srv.port)
            await c.register(nick, CAPS)
            await c.send("JOIN #room")
            await c.expect("366")
            clients.append(c)
        alice, oper = clients
        msgid = await sent(alice, "PRIVMSG #room :old news")
        # Past the window: alice herself may no longer, an operator still may.
        srv.app.core.clock = _later(srv.app.core.clock, 120)
        await alice.send(f"REDACT #room {msgid}")
        assert (await alice.expect("FAIL")).params[1] == "REDACT_WINDOW_EXPIRED"
        await oper.send(f"REDACT #room {msgid} :cleanup")
        assert (await oper.expect("FAIL")).params[1] == "REDACT_FORBIDDEN"
        await oper.send("OPER boss right")
        await oper.expect("381")
        await oper.send(f"REDACT #room {msgid} :cleanup")
        assert (await alice.expect("REDACT")).params == ["#room", msgid, "cleanup"]


async def test_a_private_msgid_named_under_a_channel_is_unknown(connect: Connect) -> None:
    # The two members of a channel are exactly the two parties of the message.
    alice, bob = await channel_of(connect, ("alice", CAPS), ("bob", CAPS))
    private = await sent(alice, "PRIVMSG bob :just us")
    await alice.send(f"REDACT #room {private}")
    assert (await alice.expect("FAIL")).params[:4] == ["REDACT", "UNKNOWN_MSGID", "#room",
                                                       private]
    public = await sent(alice, "PRIVMSG #room :everyone")
    await alice.send(f"REDACT bob {public}")
    assert (await alice.expect("FAIL")).params[:4] == ["REDACT", "UNKNOWN_MSGID", "bob", public]
    assert "REDACT" not in await lines_before_pong(bob)

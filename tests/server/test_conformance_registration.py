"""Registration over a real socket: CAP negotiation, NICK/USER, the welcome burst,
PASS, QUIT and the errors a client meets before it is registered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.ircclient import RawClient
from tests.server._conformance import (  # noqa: F401  (irc_fixture provides "irc")
    Connect,
    ask,
    codes,
    conformance_config,
    irc_fixture,
    pick,
)


async def test_welcome_burst_over_socket(irc: Connect) -> None:
    c = await irc()
    await c.send("NICK alice", "USER alice 0 * :Alice Liddell")
    burst = await c.collect_until("376")
    got = codes(burst)
    assert got[:5] == ["001", "002", "003", "004", "005"]
    assert {"251", "252", "253", "254", "255", "265", "266", "375", "372"} <= set(got)
    assert burst[0].params[0] == "alice" and burst[0].source == "irc.test"
    tokens = {}
    for m in burst:
        if m.command == "005":
            for token in m.params[1:-1]:
                key, _, value = token.partition("=")
                tokens[key] = value
    assert tokens["CASEMAPPING"] == "rfc1459"
    assert tokens["PREFIX"] == "(ov)@+"
    assert tokens["CHANTYPES"] == "#"
    assert tokens["STATUSMSG"] == "@+"
    assert "M" in tokens["ELIST"]


async def test_cap_negotiation(irc: Connect) -> None:
    c = await irc()
    offered = await c.cap_ls()
    for cap in ("multi-prefix", "cap-notify", "server-time", "message-tags", "echo-message",
                "userhost-in-names", "away-notify"):
        assert cap in offered
    await c.send("NICK bob", "USER bob 0 * :Bob", "CAP REQ :multi-prefix bogus-cap")
    nak = await c.expect("CAP")
    assert nak.params[0] in ("*", "bob")  # the nick once one is set
    assert nak.params[1:] == ["NAK", "multi-prefix bogus-cap"]
    await c.send("CAP REQ :multi-prefix away-notify")
    ack = await c.expect("CAP")
    assert ack.params[1:] == ["ACK", "multi-prefix away-notify"]
    await c.send("CAP LIST")
    listed = await c.expect("CAP")
    assert set(listed.params[-1].split()) - {"cap-notify"} == {"multi-prefix", "away-notify"}
    # Nothing is welcomed before CAP END.
    assert all(m.command != "001" for m in c.seen)
    await c.send("CAP END")
    welcome = await c.expect("001")
    assert welcome.params[0] == "bob"


async def test_cap_ls_301(irc: Connect) -> None:
    c = await irc()
    await c.send("CAP LS")
    ls = await c.expect("CAP")
    assert ls.params[2] != "*"
    assert not any("=" in cap for cap in ls.params[-1].split())


async def test_commands_before_registration_get_451(irc: Connect) -> None:
    c = await irc()
    msgs = await ask(c, "JOIN #a", "PRIVMSG x :y", "WHOIS x")
    assert codes(msgs) == ["451", "451", "451"]
    assert all(m.params[0] == "*" for m in msgs)


async def test_bad_and_taken_nicks(irc: Connect) -> None:
    await irc("Alice")
    c = await irc()
    msgs = await ask(c, "NICK 9lives", "NICK alice", "NICK ALICE", "NICK")
    assert codes(msgs) == ["432", "433", "433", "431"]
    assert msgs[0].params[1] == "9lives" and msgs[1].params[1] == "alice"
    await c.send("USER u 0 * :r", "NICK alice2")
    assert (await c.expect("001")).params[0] == "alice2"


async def test_empty_realname_is_refused(irc: Connect) -> None:
    c = await irc()
    msgs = await ask(c, "NICK foo", "USER username * * :")
    err = pick(msgs, "461")
    assert err.params[1] == "USER"
    assert "001" not in codes(msgs)


async def test_nick_change_seen_by_channel_peers(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    carol = await irc("carol")
    await ask(alice, "JOIN #t")
    await ask(bob, "JOIN #t")
    await ask(alice)
    await alice.send("NICK Alice2")
    change = await alice.expect("NICK")
    assert change.params == ["Alice2"] and change.source.startswith("alice!")
    assert (await bob.expect("NICK")).params == ["Alice2"]
    assert [m for m in await ask(carol) if m.command == "NICK"] == []


async def test_quit_sends_error_and_closes(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #q")
    await ask(bob, "JOIN #q")
    await alice.send("QUIT :so long")
    rest = await alice.read_until_closed()
    assert rest[-1].command == "ERROR"
    assert alice.closed
    quit_msg = await bob.expect("QUIT")
    assert quit_msg.source.startswith("alice!") and "so long" in quit_msg.params[0]


async def test_quit_before_registration(irc: Connect) -> None:
    c = await irc()
    await c.send("NICK x", "QUIT")
    rest = await c.read_until_closed()
    assert [m.command for m in rest] == ["ERROR"]


async def test_ping(irc: Connect) -> None:
    c = await irc()
    await c.send("PING :hello world")
    pong = await c.expect("PONG")
    assert pong.params == ["irc.test", "hello world"]


async def test_server_password(make_server: Callable[..., Any]) -> None:
    async with make_server(conformance_config({"server": {"password": "letmein"}})) as srv:
        good = await RawClient.connect(srv.port)
        await good.send("PASS letmein", "NICK good", "USER g 0 * :g")
        assert (await good.expect("001")).params[0] == "good"
        bad = await RawClient.connect(srv.port)
        await bad.send("PASS nope", "NICK bad", "USER b 0 * :b")
        rest = await bad.read_until_closed()
        assert [m.command for m in rest] == ["464", "ERROR"]
        await good.aclose()
        await bad.aclose()


async def test_unknown_command(irc: Connect) -> None:
    c = await irc("a")
    err = (await ask(c, "BLAH arg"))[0]
    assert err.command == "421" and err.params[:2] == ["a", "BLAH"]

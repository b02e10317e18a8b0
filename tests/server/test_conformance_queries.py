"""Queries and operator commands over a real socket: WHO, WHOIS, WHOWAS, ISON,
USERHOST, user MODE, the server information commands, OPER and KILL."""

from __future__ import annotations

from tests.server._conformance import (  # noqa: F401  (irc_fixture provides "irc")
    OPER_NAME,
    OPER_PASSWORD,
    Connect,
    ask,
    codes,
    irc_fixture,
    pick,
)


async def test_who(irc: Connect) -> None:
    cool = await irc("coolNick")
    other = await irc("otherNick")
    await ask(cool, "JOIN #chan")
    await ask(other, "JOIN #chan")
    msgs = await ask(other, "WHO coolnick")
    assert codes(msgs) == ["352", "315"]
    reply = msgs[0].params
    assert reply[0] == "otherNick" and reply[4:7] in (
        ["irc.test", "coolNick", "H"], ["irc.test", "coolNick", "H@"])
    assert reply[7] == "0 coolNick realname"
    assert msgs[1].params[1] == "coolnick"
    chan = await ask(other, "WHO #CHAN")
    assert sorted(m.params[5] for m in chan if m.command == "352") == ["coolNick", "otherNick"]
    assert chan[-1].params[1] == "#CHAN"
    assert codes(await ask(other, "WHO nobody")) == ["315"]


async def test_whois_and_whowas(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #w", "AWAY :away msg")
    msgs = await ask(bob, "WHOIS alice")
    assert codes(msgs)[0] == "311" and codes(msgs)[-1] == "318"
    assert msgs[0].params[1:] == ["alice", "~alice", "127.0.0.1", "*", "alice realname"]
    assert pick(msgs, "319").params[-1] == "@#w"
    assert pick(msgs, "301").params[-1] == "away msg"
    assert pick(msgs, "312").params[2] == "irc.test"
    assert codes(await ask(bob, "WHOIS ghost")) == ["401", "318"]
    await alice.send("QUIT :bye")
    await alice.read_until_closed()
    was = await ask(bob, "WHOWAS alice")
    assert codes(was) == ["314", "312", "369"]
    assert was[0].params[1:] == ["alice", "~alice", "127.0.0.1", "*", "alice realname"]
    assert codes(await ask(bob, "WHOWAS ghost")) == ["406", "369"]


async def test_ison_userhost_and_user_modes(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    ison = await ask(alice, "ISON Bob ghost alice")
    assert ison[0].command == "303" and ison[0].params[1].split() == ["bob", "alice"]
    uh = await ask(alice, "USERHOST bob")
    assert uh[0].params[1] == "bob=+~bob@127.0.0.1"
    msgs = await ask(alice, "MODE alice +i", "MODE alice", "MODE bob +i", "MODE alice +Q")
    assert codes(msgs) == ["MODE", "221", "502", "501"]
    assert msgs[0].params == ["alice", "+i"] and msgs[1].params[1] == "+i"
    assert bob.nick == "bob"


async def test_server_information(irc: Connect) -> None:
    c = await irc("c")
    motd = await ask(c, "MOTD")
    assert codes(motd)[0] == "375" and codes(motd)[-1] == "376"
    version = await ask(c, "VERSION")
    assert version[0].command == "351" and "005" in codes(version)
    assert codes(await ask(c, "TIME")) == ["391"]
    info = await ask(c, "INFO")
    assert info[-1].command == "374" and set(codes(info[:-1])) == {"371"}
    assert codes(await ask(c, "ADMIN")) == ["256", "257", "258", "259"]
    assert codes(await ask(c, "LUSERS"))[0] == "251"
    assert codes(await ask(c, "INFO invalid.server.example")) == ["402"]


async def test_oper_and_kill(irc: Connect) -> None:
    op = await irc("op")
    victim = await irc("victim")
    watcher = await irc("watcher")
    await ask(victim, "JOIN #k")
    await ask(watcher, "JOIN #k")
    assert codes(await ask(op, "KILL victim :no")) == ["481"]
    # The check runs in a thread (a failure answers a second later), yet the
    # answer still comes before the PONG of the PING that ``ask`` sends after it.
    assert codes(await ask(op, f"OPER {OPER_NAME} wrong")) == ["464"]
    msgs = await ask(op, f"OPER {OPER_NAME} {OPER_PASSWORD}")
    assert codes(msgs) == ["MODE", "381"]
    assert pick(await ask(watcher, "WHOIS op"), "313").params[1] == "op"
    await op.send("KILL victim :enough")
    rest = await victim.read_until_closed()
    assert [m.command for m in rest][-2:] == ["KILL", "ERROR"]
    quit_msg = await watcher.expect("QUIT")
    assert quit_msg.source.startswith("victim!") and "enough" in quit_msg.params[0]
    assert codes(await ask(op, "KILL victim :again")) == ["401"]

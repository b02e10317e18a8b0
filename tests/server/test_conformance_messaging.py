"""Messages over a real socket: PRIVMSG, NOTICE, TAGMSG, STATUSMSG and the IRCv3
capabilities that shape them, plus the input limits a client can hit."""

from __future__ import annotations

import re

from tests.server._conformance import (  # noqa: F401  (irc_fixture provides "irc")
    Connect,
    ask,
    codes,
    irc_fixture,
    settle,
)


async def test_privmsg_and_notice(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #c")
    await ask(bob, "JOIN #c")
    await settle(alice)
    assert await ask(alice, "PRIVMSG #c :hello there", "NOTICE bob :direct") == []
    got = await ask(bob)
    assert [(m.command, m.params) for m in got] == [
        ("PRIVMSG", ["#c", "hello there"]), ("NOTICE", ["bob", "direct"])]
    assert got[0].source.startswith("alice!~alice@")


async def test_message_errors(irc: Connect) -> None:
    alice = await irc("alice")
    msgs = await ask(alice, "PRIVMSG", "PRIVMSG alice", "PRIVMSG ghost :x", "PRIVMSG #none :x",
                     "PRIVMSG a,b,c,d,e :x")
    assert codes(msgs) == ["411", "412", "401", "403", "407"]
    assert await ask(alice, "NOTICE ghost :x", "NOTICE #none :x", "NOTICE") == []


async def test_multiple_targets_and_statusmsg(irc: Connect) -> None:
    op = await irc("op")
    voiced = await irc("voiced")
    plain = await irc("plain")
    for c in (op, voiced, plain):
        await ask(c, "JOIN #s")
    await ask(op, "MODE #s +v voiced")
    await settle(voiced, plain)
    await ask(op, "PRIVMSG @#s :ops", "PRIVMSG +#s :voice+", "PRIVMSG voiced,plain :direct")
    assert [(m.params[0], m.params[1]) for m in await ask(voiced)] == [
        ("+#s", "voice+"), ("voiced", "direct")]
    assert [(m.params[0], m.params[1]) for m in await ask(plain)] == [("plain", "direct")]


async def test_ircv3_tags_echo_and_tagmsg(irc: Connect) -> None:
    alice = await irc("alice", caps=["message-tags", "echo-message", "server-time"])
    bob = await irc("bob", caps=["message-tags", "server-time"])
    carol = await irc("carol")
    for c in (alice, bob, carol):
        await ask(c, "JOIN #v3")
    await settle(alice, bob, carol)
    echo = (await ask(alice, "@+draft/reply=abc;notclient=1 PRIVMSG #v3 :tagged"))[0]
    got = (await ask(bob))[0]
    assert echo.params == got.params == ["#v3", "tagged"]
    assert got.tags["+draft/reply"] == "abc" and "notclient" not in got.tags
    assert got.tags["msgid"] == echo.tags["msgid"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", got.tags["time"])
    plain = (await ask(carol))[0]
    assert plain.tags == {} and plain.params == ["#v3", "tagged"]
    await ask(alice, "@+typing=active TAGMSG #v3")
    tagmsg = (await ask(bob))[0]
    assert tagmsg.command == "TAGMSG" and tagmsg.tags["+typing"] == "active"
    assert await ask(carol) == []


async def test_client_tags_over_4094_bytes_get_417(irc: Connect) -> None:
    bar = await irc("bar", caps=["message-tags"])
    recver = await irc("recver", caps=["message-tags"])
    await ask(bar, "JOIN #xyz")
    await ask(recver, "JOIN #xyz")
    await settle(bar)
    msgs = await ask(bar, "@+clientOnlyTagExample=" + "a" * 4096 + " PRIVMSG #xyz hi!")
    assert codes(msgs) == ["417"]
    assert await ask(recver) == []
    # The connection stays usable.
    assert codes(await ask(bar, "PRIVMSG #xyz :still here")) == []


async def test_line_length_limit(irc: Connect) -> None:
    c = await irc("c")
    line = "PING " + "x" * (512 - 7)
    assert len(line) == 510
    await c.send(line)
    assert "x" * 450 in (await c.expect("PONG")).params[-1]
    assert codes(await ask(c, "PING " + "x" * 506)) == ["417"]


async def test_away_and_away_notify(irc: Connect) -> None:
    watcher = await irc("watcher", caps=["away-notify"])
    bob = await irc("bob")
    await ask(watcher, "JOIN #aw")
    assert codes(await ask(bob, "AWAY :brb")) == ["306"]
    await ask(bob, "JOIN #aw")
    msgs = await ask(watcher)
    assert codes(msgs) == ["JOIN", "AWAY"] and msgs[1].params == ["brb"]
    replies = await ask(watcher, "PRIVMSG bob :are you there")
    assert codes(replies) == ["301"] and replies[0].params[1:] == ["bob", "brb"]
    assert codes(await ask(bob, "AWAY")) == ["PRIVMSG", "305"]
    back = await ask(watcher)
    assert codes(back) == ["AWAY"] and back[0].params == []


async def test_cap_notify_new_and_del(irc: Connect) -> None:
    modern = await irc("modern", caps=["multi-prefix"])  # CAP LS 302: cap-notify implied
    old = await irc("old")
    core = irc.server.core  # type: ignore[attr-defined]
    core.capabilities["draft/example"] = "1"
    core.broadcast_cap("draft/example", added=True)
    new = await ask(modern)
    assert [(m.command, m.params[1:]) for m in new] == [("CAP", ["NEW", "draft/example=1"])]
    assert await ask(old) == []
    del core.capabilities["draft/example"]
    core.broadcast_cap("draft/example", added=False)
    assert [m.params[1:] for m in await ask(modern)] == [["DEL", "draft/example"]]


async def test_multi_prefix_and_userhost_in_names(irc: Connect) -> None:
    op = await irc("op")
    both = await irc("both", caps=["multi-prefix", "userhost-in-names"])
    await ask(op, "JOIN #p", "MODE #p +v op")
    names = await ask(both, "NAMES #p")
    assert names[0].params[-1] == "@+op!~op@127.0.0.1"
    who = await ask(both, "WHO #p")
    assert who[0].params[6] == "H@+"

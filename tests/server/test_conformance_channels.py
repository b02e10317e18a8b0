"""Channel commands over a real socket: JOIN, PART, TOPIC, NAMES, LIST, KICK,
INVITE and channel MODE."""

from __future__ import annotations

from tests.server._conformance import (  # noqa: F401  (irc_fixture provides "irc")
    Connect,
    ask,
    codes,
    irc_fixture,
    pick,
    settle,
)


async def test_join_burst_and_creator_op(irc: Connect) -> None:
    alice = await irc("alice")
    msgs = await ask(alice, "JOIN #chan")
    assert codes(msgs) == ["JOIN", "353", "366"]
    assert msgs[1].params == ["alice", "=", "#chan", "@alice"]
    modes = await ask(alice, "MODE #chan")
    assert pick(modes, "324").params[1:3] == ["#chan", "+nt"]


async def test_join_part_seen_by_members(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #chan")
    await ask(bob, "JOIN #CHAN")
    join = await alice.expect("JOIN")
    assert join.source.startswith("bob!") and join.params == ["#chan"]
    await ask(bob, "PART #chan :later")
    part = await alice.expect("PART")
    assert part.params == ["#chan", "later"]


async def test_join_keys_and_join_zero(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #a,#b", "MODE #a +k sesame")
    msgs = await ask(bob, "JOIN #a,#b")
    assert pick(msgs, "475").params[1] == "#a"
    assert [m.params[0] for m in msgs if m.command == "JOIN"] == ["#b"]
    msgs = await ask(bob, "JOIN #a sesame")
    assert codes(msgs)[0] == "JOIN"
    msgs = await ask(bob, "JOIN 0")
    assert sorted(m.params[0] for m in msgs if m.command == "PART") == ["#a", "#b"]


async def test_channel_entry_errors(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #i,#l,#b", "MODE #i +i", "MODE #l +l 1", "MODE #b +b bob!*@*")
    msgs = await ask(bob, "JOIN #i", "JOIN #l", "JOIN #b", "JOIN nohash")
    assert codes(msgs) == ["473", "471", "474", "403"]


async def test_topic(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #t")
    await ask(bob, "JOIN #t")
    assert codes(await ask(bob, "TOPIC #t :mine")) == ["482"]
    await ask(alice, "TOPIC #t :official")
    topic = await bob.expect("TOPIC")
    assert topic.params == ["#t", "official"] and topic.source.startswith("alice!")
    msgs = await ask(bob, "TOPIC #t")
    assert codes(msgs) == ["332", "333"]
    assert msgs[0].params == ["bob", "#t", "official"]
    assert codes(await ask(bob, "TOPIC #none")) == ["403"]


async def test_names_and_list(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob", caps=["multi-prefix"])
    await ask(alice, "JOIN #chan1,#chan2", "MODE #chan1 +v alice", "TOPIC #chan1 :hello")
    names = await ask(bob, "NAMES #chan1")
    assert names[0].params == ["bob", "=", "#chan1", "@+alice"]
    assert names[1].command == "366"
    listing = await ask(bob, "LIST")
    assert listing[0].command == "321" and listing[-1].command == "323"
    rows = {m.params[1]: m.params[2:] for m in listing if m.command == "322"}
    assert rows == {"#chan1": ["1", "hello"], "#chan2": ["1", ""]}
    masked = await ask(bob, "LIST *an2")
    assert [m.params[1] for m in masked if m.command == "322"] == ["#chan2"]


async def test_kick(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    carol = await irc("carol")
    for c in (alice, bob, carol):
        await ask(c, "JOIN #k")
    await settle(alice, bob, carol)
    assert codes(await ask(bob, "KICK #k carol")) == ["482"]
    await ask(alice, "KICK #k bob :bye")
    for c in (bob, carol):
        kick = await c.expect("KICK")
        assert kick.params == ["#k", "bob", "bye"] and kick.source.startswith("alice!")
    assert codes(await ask(alice, "KICK #k bob")) == ["441"]
    assert codes(await ask(bob, "KICK #k carol")) == ["442"]
    assert codes(await ask(alice, "KICK #zz carol")) == ["403"]


async def test_invite(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #inv", "MODE #inv +i")
    assert codes(await ask(bob, "JOIN #inv")) == ["473"]
    msgs = await ask(alice, "INVITE bob #inv")
    assert msgs[0].command == "341" and msgs[0].params == ["alice", "bob", "#inv"]
    invite = await bob.expect("INVITE")
    assert invite.params == ["bob", "#inv"] and invite.source.startswith("alice!")
    assert codes(await ask(bob, "JOIN #inv"))[0] == "JOIN"
    await settle(alice)
    assert codes(await ask(alice, "INVITE bob #inv")) == ["443"]
    assert codes(await ask(alice, "INVITE nobody #inv")) == ["401"]


async def test_channel_modes(irc: Connect) -> None:
    alice = await irc("alice")
    bob = await irc("bob")
    await ask(alice, "JOIN #m")
    await ask(bob, "JOIN #m")
    await settle(alice)
    msgs = await ask(alice, "MODE #m +mv bob")
    assert pick(msgs, "MODE").params == ["#m", "+mv", "bob"]
    assert (await bob.expect("MODE")).params == ["#m", "+mv", "bob"]
    await ask(alice, "MODE #m -v bob")
    await settle(bob)
    assert codes(await ask(bob, "PRIVMSG #m :muted")) == ["404"]
    assert codes(await ask(bob, "MODE #m +s")) == ["482"]
    bans = await ask(alice, "MODE #m +b *!*@banned.example", "MODE #m +b")
    assert [m.command for m in bans] == ["MODE", "367", "368"]
    assert bans[1].params[1:3] == ["#m", "*!*@banned.example"]
    assert codes(await ask(alice, "MODE #m +Y")) == ["472"]

"""JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE and the channel rules around them."""

from __future__ import annotations

from collections.abc import Callable

from tests.core.helpers import Net, commands, every, first, only


def test_join_creates_channel_with_op_and_default_modes(net: Net) -> None:
    alice = net.client("alice")
    msgs = alice.send("JOIN #Room")
    assert commands(msgs) == ["JOIN", "353", "366"]
    join = msgs[0]
    assert join.source == "alice!~alice@localhost" and join.params == ["#Room"]
    names = msgs[1]
    assert names.params == ["alice", "=", "#Room", "@alice"]
    assert msgs[2].params[:2] == ["alice", "#Room"]
    channel = net.server.find_channel("#room")
    assert channel is not None and channel.modes == {"n", "t"}
    modes = alice.send("MODE #room")
    assert first(modes, "324").params[1:] == ["#Room", "+nt"]
    assert first(modes, "329").params[1] == "#Room"


def test_second_joiner_is_not_op_and_everyone_sees_join(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #room")
    msgs = bob.send("JOIN #ROOM")
    assert msgs[0].params == ["#room"]  # the channel keeps the creator's spelling
    names = first(msgs, "353").params[-1].split()
    assert sorted(names) == ["@alice", "bob"]
    assert only(alice.take()).source.startswith("bob!")


def test_join_twice_is_silent(net: Net) -> None:
    alice = net.client("alice")
    alice.send("JOIN #a")
    assert alice.send("JOIN #A") == []


def test_join_list_with_keys(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a,#b,#c", "MODE #a +k ka", "MODE #b +k kb")
    msgs = bob.send("JOIN #a,#b,#c ka,wrong")
    joined = [m.params[0] for m in every(msgs, "JOIN")]
    assert joined == ["#a", "#c"]
    err = first(msgs, "475")
    assert err.params[:2] == ["bob", "#b"]


def test_join_invalid_names(net: Net) -> None:
    alice = net.client("alice")
    msgs = alice.send("JOIN #ok,nochan,#")
    assert [m.params[0] for m in every(msgs, "JOIN")] == ["#ok"]
    errors = every(msgs, "403")
    assert [e.params[1] for e in errors] == ["nochan", "#"]
    assert only(alice.send("JOIN")).command == "461"
    long_name = "#" + "x" * 64
    assert only(alice.send(f"JOIN {long_name}")).command == "403"


def test_join_zero_parts_everything(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a,#b")
    bob.send("JOIN #a")
    bob.take()
    msgs = alice.send("JOIN 0")
    parts = every(msgs, "PART")
    assert sorted(p.params[0] for p in parts) == ["#a", "#b"]
    assert only(bob.take()).command == "PART"
    assert alice.user.channels == {}
    assert net.server.find_channel("#b") is None


def test_too_many_channels(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"channels_per_client": 2}})
    alice = net.client("alice")
    msgs = alice.send("JOIN #a,#b,#c")
    assert len(every(msgs, "JOIN")) == 2
    err = first(msgs, "405")
    assert err.params[:2] == ["alice", "#c"]


def test_join_shows_topic(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a", "TOPIC #a :the topic")
    msgs = bob.send("JOIN #a")
    assert commands(msgs) == ["JOIN", "332", "333", "353", "366"]
    assert first(msgs, "332").params == ["bob", "#a", "the topic"]
    who = first(msgs, "333").params
    assert who[:3] == ["bob", "#a", "alice!~alice@localhost"] and who[3].isdigit()


# ---- PART ---------------------------------------------------------------------------------


def test_part_with_reason(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    part = only(bob.send("PART #A :see you"))
    assert part.params == ["#a", "see you"] and part.source.startswith("bob!")
    assert only(alice.take()).params == ["#a", "see you"]
    assert bob.user.channels == {}


def test_part_without_reason_and_errors(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a")
    assert only(alice.send("PART #a")).params == ["#a"]
    assert net.server.find_channel("#a") is None  # last one out removes it
    alice.send("JOIN #a")
    err = only(bob.send("PART #a"))
    assert err.command == "442" and err.params[:2] == ["bob", "#a"]
    err = only(bob.send("PART #nowhere"))
    assert err.command == "403" and err.params[:2] == ["bob", "#nowhere"]
    assert only(bob.send("PART")).command == "461"
    msgs = alice.send("PART #a,#nowhere :bye")
    assert commands(msgs) == ["PART", "403"]


# ---- TOPIC --------------------------------------------------------------------------------


def test_topic_set_query_and_clear(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    assert commands(alice.send("TOPIC #a")) == ["331"]
    topic = only(alice.send("TOPIC #a :hello world"))
    assert topic.command == "TOPIC" and topic.params == ["#a", "hello world"]
    assert only(bob.take()).params == ["#a", "hello world"]
    msgs = bob.send("TOPIC #A")
    assert commands(msgs) == ["332", "333"]
    assert msgs[0].params == ["bob", "#a", "hello world"]
    cleared = only(alice.send("TOPIC #a :"))
    assert cleared.params == ["#a", ""]
    only(bob.take())
    assert only(bob.send("TOPIC #a")).command == "331"


def test_topic_protected_by_t(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    err = only(bob.send("TOPIC #a :mine"))
    assert err.command == "482" and err.params[:2] == ["bob", "#a"]
    alice.send("MODE #a -t")
    bob.take()
    assert only(bob.send("TOPIC #a :mine")).command == "TOPIC"


def test_topic_errors(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a", "TOPIC #a :t")
    err = only(bob.send("TOPIC #nope"))
    assert err.command == "403" and err.params[1] == "#nope"
    err = only(bob.send("TOPIC #a :outside"))
    assert err.command == "442"
    assert only(bob.send("TOPIC")).command == "461"
    # A non-member may read the topic of a public channel, not of a secret one.
    assert commands(bob.send("TOPIC #a"))[0] == "332"
    alice.send("MODE #a +s")
    assert only(bob.send("TOPIC #a")).command == "442"


def test_topic_is_truncated_to_topiclen(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"topic_length": 10}})
    alice = net.client("alice")
    alice.send("JOIN #a")
    assert only(alice.send("TOPIC #a :0123456789abcdef")).params[1] == "0123456789"


# ---- NAMES --------------------------------------------------------------------------------


def test_names(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    alice.send("MODE #a +v bob")
    msgs = carol.send("NAMES #a")
    assert commands(msgs) == ["353", "366"]
    assert msgs[0].params[:3] == ["carol", "=", "#a"]
    assert sorted(msgs[0].params[3].split()) == ["+bob", "@alice"]
    assert msgs[1].params[:2] == ["carol", "#a"]
    end = only(carol.send("NAMES #nothing"))
    assert end.command == "366" and end.params[:2] == ["carol", "#nothing"]
    assert only(carol.send("NAMES")).command == "366"


def test_names_multi_prefix_and_userhost(net: Net) -> None:
    alice = net.client("alice")
    mp = net.client("mp", caps=["multi-prefix"])
    uh = net.client("uh", caps=["userhost-in-names"])
    alice.send("JOIN #a", "MODE #a +v alice")
    assert first(mp.send("NAMES #a"), "353").params[-1] == "@+alice"
    assert first(uh.send("NAMES #a"), "353").params[-1] == "@alice!~alice@localhost"
    assert first(alice.send("NAMES #a"), "353").params[-1] == "@alice"


def test_names_secret_channel_and_invisible_users(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    bob.send("MODE bob +i")
    names = first(carol.send("NAMES #a"), "353").params[-1].split()
    assert names == ["@alice"]  # an invisible user is hidden from non-members
    names = first(alice.send("NAMES #a"), "353").params[-1].split()
    assert sorted(names) == ["@alice", "bob"]
    alice.send("MODE #a +s")
    assert commands(carol.send("NAMES #a")) == ["366"]
    assert first(alice.send("NAMES #a"), "353").params[1] == "@"


def test_names_split_over_lines(net: Net) -> None:
    clients = [net.client(f"user{i:02d}xxxxxxxxxxxxxxxxxxxx") for i in range(40)]
    net.joined("#big", *clients)
    msgs = clients[0].send("NAMES #big")
    replies = every(msgs, "353")
    assert len(replies) > 1
    seen = [n.lstrip("@") for r in replies for n in r.params[-1].split()]
    assert sorted(seen) == sorted(c.nick for c in clients)


# ---- LIST ---------------------------------------------------------------------------------


def test_list(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #chan1,#chan2,#secret", "TOPIC #chan1 :first", "MODE #secret +s")
    bob.send("JOIN #chan2")
    msgs = bob.send("LIST")
    assert msgs[0].command == "321" and msgs[-1].command == "323"
    rows = {m.params[1]: m.params[2:] for m in every(msgs, "322")}
    assert rows == {"#chan1": ["1", "first"], "#chan2": ["2", ""]}
    assert every(alice.send("LIST #secret"), "322")[0].params[1] == "#secret"


def test_list_patterns(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #chan1,#chan2,#other")
    bob.send("JOIN #chan2")

    def listed(arg: str) -> set[str]:
        return {m.params[1] for m in every(bob.send(f"LIST {arg}"), "322")}

    assert listed("#chan1") == {"#chan1"}
    assert listed("#CHAN1,#other") == {"#chan1", "#other"}
    assert listed("#nonexistent") == set()
    assert listed("*an1") == {"#chan1"}
    assert listed("#c*n?") == {"#chan1", "#chan2"}
    assert listed("!*an1") == {"#chan2", "#other"}
    assert listed(">1") == {"#chan2"}
    assert listed("<2") == {"#chan1", "#other"}
    assert listed("<1") == set()
    assert listed("#c*,>1") == {"#chan2"}
    assert commands(bob.send("LIST #nonexistent")) == ["321", "323"]


# ---- KICK ---------------------------------------------------------------------------------


def test_kick(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob, carol)
    kick = only(alice.send("KICK #A bob :behave"))
    assert kick.params == ["#a", "bob", "behave"] and kick.source.startswith("alice!")
    assert only(bob.take()).params == ["#a", "bob", "behave"]
    assert only(carol.take()).params == ["#a", "bob", "behave"]
    assert bob.user.channels == {}
    kick = only(alice.send("KICK #a CAROL"))
    assert kick.params[:2] == ["#a", "carol"] and kick.params[2]  # default reason


def test_kick_several_users(net: Net) -> None:
    alice, bob, carol, dave = (net.client(n) for n in ("alice", "bob", "carol", "dave"))
    net.joined("#a", alice, bob, carol, dave)
    alice.send("KICK #a bob,carol :out")
    kicks = every(dave.take(), "KICK")
    assert [k.params for k in kicks] == [["#a", "bob", "out"], ["#a", "carol", "out"]]


def test_kick_errors(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    err = only(carol.send("KICK #nope bob"))
    assert err.command == "403" and err.params[1] == "#nope"
    err = only(carol.send("KICK #a bob"))
    assert err.command == "442" and err.params[1] == "#a"
    err = only(bob.send("KICK #a alice"))
    assert err.command == "482" and err.params[1] == "#a"
    err = only(alice.send("KICK #a carol"))
    assert err.command == "441" and err.params[1:3] == ["carol", "#a"]
    err = only(alice.send("KICK #a ghost"))
    assert err.command == "441"
    assert only(alice.send("KICK #a")).command == "461"
    assert bob.user in net.server.find_channel("#a").members


def test_kick_reason_truncated_to_kicklen(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"kick_length": 5}})
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    assert only(alice.send("KICK #a bob :0123456789")).params[2] == "01234"


# ---- INVITE -------------------------------------------------------------------------------


def test_invite_only_channel(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, carol)
    alice.send("MODE #a +i")
    carol.take()
    err = only(bob.send("JOIN #a"))
    assert err.command == "473" and err.params[:2] == ["bob", "#a"]
    inviting = only(alice.send("INVITE bob #A"))
    assert inviting.command == "341" and inviting.params == ["alice", "bob", "#a"]
    invite = only(bob.take())
    assert invite.command == "INVITE" and invite.params == ["bob", "#a"]
    assert invite.source == "alice!~alice@localhost"
    assert carol.take() == []  # other members are not told
    assert commands(bob.send("JOIN #a"))[0] == "JOIN"
    # The invitation is used up by the join.
    bob.send("PART #a")
    assert only(bob.send("JOIN #a")).command == "473"


def test_invite_errors(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    err = only(alice.send("INVITE ghost #a"))
    assert err.command == "401" and err.params[1] == "ghost"
    err = only(carol.send("INVITE bob #a"))
    assert err.command == "442" and err.params[1] == "#a"
    err = only(alice.send("INVITE bob #a"))
    assert err.command == "443" and err.params[1:3] == ["bob", "#a"]
    err = only(alice.send("INVITE carol #nowhere"))
    assert err.command == "403"
    assert only(alice.send("INVITE carol")).command == "461"
    alice.send("MODE #a +i")
    bob.take()
    err = only(bob.send("INVITE carol #a"))
    assert err.command == "482" and err.params[1] == "#a"
    assert carol.take() == []


def test_invite_by_non_op_on_open_channel(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    assert only(bob.send("INVITE carol #a")).command == "341"
    assert only(carol.take()).command == "INVITE"


def test_invite_to_away_user_gets_301(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a")
    bob.send("AWAY :out")
    msgs = alice.send("INVITE bob #a")
    assert commands(msgs) == ["341", "301"]


def test_invite_overrides_key_limit_and_ban(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a", "MODE #a +kl key 1", "MODE #a +b bob!*@*")
    assert only(bob.send("JOIN #a")).command in ("471", "474", "475")
    alice.send("INVITE bob #a")
    bob.take()
    assert commands(bob.send("JOIN #a"))[0] == "JOIN"


def test_invite_follows_nick_change(net: Net) -> None:
    alice, bob, eve = net.client("alice"), net.client("bob"), net.raw_client()
    alice.send("JOIN #a", "MODE #a +i", "INVITE bob #a")
    bob.send("NICK robert")
    eve.send("NICK bob", "USER eve 0 * :eve")
    assert only(eve.send("JOIN #a")).command == "473"
    assert commands(bob.send("JOIN #a"))[0] == "JOIN"


# ---- channel entry rules --------------------------------------------------------------------


def test_key_limit_ban(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    alice.send("JOIN #a", "MODE #a +k beer")
    assert only(bob.send("JOIN #a")).command == "475"
    assert only(bob.send("JOIN #a bees")).command == "475"
    assert commands(bob.send("JOIN #a beer"))[0] == "JOIN"
    alice.send("MODE #a -k *", "MODE #a +l 2")
    err = only(carol.send("JOIN #a"))
    assert err.command == "471" and err.params[:2] == ["carol", "#a"]
    alice.send("MODE #a -l")
    alice.send("MODE #a +b carol!*@*")
    err = only(carol.send("JOIN #a"))
    assert err.command == "474" and err.params[:2] == ["carol", "#a"]


def test_bans_match_masks_with_wildcards_and_case(net: Net) -> None:
    alice = net.client("alice")
    alice.send("JOIN #a")
    cases = [
        ("BOB!*@*", "bob", True),
        ("b?b!*@*", "bob", True),
        ("*!~bob@*", "bob", True),
        ("*!*@LOCAL*", "bob", True),
        ("*!*@*.example", "bob", False),
        ("bobby!*@*", "bob", False),
        ("[x]!*@*", "{X}", True),  # rfc1459 casemapping
    ]
    for i, (mask, nick, banned) in enumerate(cases):
        alice.send(f"MODE #a +b {mask}")
        c = net.client(nick, username=nick.strip("[]{}") or "u")
        reply = c.send("JOIN #a")
        assert (commands(reply) == ["474"]) == banned, (i, mask, nick)
        c.send("QUIT")
        alice.send(f"MODE #a -b {mask}")
        alice.take()


def test_ban_without_parts_is_completed(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a")
    mode = only(alice.send("MODE #a +b bob"))
    assert mode.params == ["#a", "+b", "bob!*@*"]
    assert only(bob.send("JOIN #a")).command == "474"
    mode = only(alice.send("MODE #a +b ~bob@localhost"))
    assert mode.params[2] == "*!~bob@localhost"


def test_banned_member_cannot_speak_nor_change_nick_silently(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    alice.send("MODE #a +b bob!*@*")
    bob.take()
    err = only(bob.send("PRIVMSG #a :hi"))
    assert err.command == "404"
    assert alice.take() == []


def test_banned_member_cannot_change_nick_out_of_the_ban(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    net.joined("#b", bob, carol)
    alice.send("MODE #a +b bob!*@*")
    for c in (alice, bob, carol):
        c.take()
    err = only(bob.send("NICK bobby"))
    assert (err.command, err.params) == (
        "435", ["bob", "bobby", "#a", "Cannot change nickname while banned on channel"]
    )
    assert bob.nick == "bob" and net.server.find_user("bobby") is None
    assert alice.take() == [] and carol.take() == []
    # Still the banned nick, so still silenced.
    assert only(bob.send("PRIVMSG #a :hi")).command == "404"
    assert alice.take() == []


def test_voiced_or_unbanned_member_may_change_nick(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    alice.send("MODE #a +b bob!*@*", "MODE #a +v bob")
    bob.take()
    # A voiced member may speak while banned, so a new nick evades nothing.
    assert only(bob.send("NICK bobby")).command == "NICK"
    alice.send("MODE #a -v bobby")
    bob.take()
    # The ban no longer matches the new nick: speaking and renaming work.
    assert only(bob.send("NICK bob2")).command == "NICK"


def test_channel_names_are_case_insensitive(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #Foo[1]")
    bob.send("JOIN #fOO{1}")
    assert len(net.server.channels) == 1
    assert net.server.find_channel("#FOO{1}").members.keys() == {alice.user, bob.user}


def test_creator_of_emptied_channel_gets_op_again(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a", "MODE #a +i", "PART #a")
    # The channel is gone with its modes; bob recreates it.
    msgs = bob.send("JOIN #a")
    assert first(msgs, "353").params[-1] == "@bob"
    assert net.server.find_channel("#a").modes == {"n", "t"}


def test_default_modes_from_config(make_net: Callable[..., Net]) -> None:
    net = make_net({"channels": {"default_modes": "ns"}})
    alice = net.client("alice")
    alice.send("JOIN #a")
    assert net.server.find_channel("#a").modes == {"n", "s"}


def test_auto_join(make_net: Callable[..., Net]) -> None:
    net = make_net({"channels": {"auto_join": ["#lobby"]}})
    c = net.raw_client()
    msgs = c.send("NICK a", "USER a 0 * :a")
    assert first(msgs, "JOIN").params == ["#lobby"]
    assert "#lobby" in net.server.channels


def test_long_part_and_quit_reasons_fit_the_line(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    bob.send("PART #a :" + "p" * 480)
    raw = alice.raw()
    assert len(raw) == 1 and len(raw[0].encode()) <= 510 and raw[0].endswith("p" * 300)
    bob.send("JOIN #a")
    alice.take()
    bob.send("QUIT :" + "q" * 490)
    raw = alice.raw()
    assert len(raw) == 1 and len(raw[0].encode()) <= 510 and "q" * 300 in raw[0]


def test_kick_pairs_channels_with_users(net: Net) -> None:
    alice, bob, carol, dave = (net.client(n) for n in ("alice", "bob", "carol", "dave"))
    net.joined("#a", alice, bob, dave)
    net.joined("#b", alice, carol)
    assert commands(alice.send("KICK #a,#b bob,carol :out")) == ["KICK", "KICK"]
    assert [k.params for k in every(dave.take(), "KICK")] == [["#a", "bob", "out"]]
    assert bob.user.channels == {} and carol.user.channels == {}
    assert only(alice.send("KICK #a,#b dave")).command == "461"
    kicks = every(dave.take(), "KICK")
    assert kicks == []
    assert commands(alice.send("KICK #a,#a dave,dave"))[:2] == ["KICK", "441"]


def test_kick_errors_reported_once_per_channel(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob, carol)
    assert commands(bob.send("KICK #a alice,carol")) == ["482"]
    assert commands(bob.send("KICK #zz alice,carol")) == ["403"]


def test_kick_targets_beyond_targmax_are_dropped(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"targets_per_message": 2}})
    op, *others = (net.client(n) for n in ("op", "u1", "u2", "u3"))
    net.joined("#a", op, *others)
    kicks = every(op.send("KICK #a u1,u2,u3"), "KICK")
    assert [k.params[1] for k in kicks] == ["u1", "u2"]
    assert "#a" in others[2].user.channels

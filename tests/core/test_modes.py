"""MODE for users and channels."""

from __future__ import annotations

from tests.core.helpers import Net, commands, every, first, only


def test_user_mode_query_and_invisible(net: Net) -> None:
    alice = net.client("alice")
    reply = only(alice.send("MODE alice"))
    assert reply.command == "221" and reply.params == ["alice", "+"]
    change = only(alice.send("MODE Alice +i"))
    assert change.command == "MODE" and change.params == ["alice", "+i"]
    assert change.source.startswith("alice")
    assert only(alice.send("MODE alice")).params[1] == "+i"
    assert alice.send("MODE alice +i") == []  # no change, no reply
    assert only(alice.send("MODE alice -i")).params == ["alice", "-i"]


def test_user_mode_errors(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    err = only(alice.send("MODE bob +i"))
    assert err.command == "502" and err.params[0] == "alice"
    err = only(alice.send("MODE bob"))
    assert err.command == "502"
    err = only(alice.send("MODE ghost"))
    assert err.command == "401" and err.params[1] == "ghost"
    msgs = alice.send("MODE alice +iZ")
    assert "501" in commands(msgs)
    assert first(msgs, "MODE").params == ["alice", "+i"]
    assert only(alice.send("MODE")).command == "461"
    assert "i" not in bob.user.modes


def test_user_cannot_give_themselves_oper(net: Net) -> None:
    alice = net.client("alice")
    assert alice.send("MODE alice +o") == []
    assert not alice.user.oper


def test_channel_mode_query(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a", "MODE #a +kl secret 10")
    msgs = alice.send("MODE #A")
    reply = first(msgs, "324").params
    assert reply[:2] == ["alice", "#a"] and reply[2][0] == "+"
    assert sorted(reply[2][1:]) == ["k", "l", "n", "t"]
    # Parameters follow the order of their letters.
    letters = [ch for ch in reply[2] if ch in "kl"]
    assert dict(zip(letters, reply[3:], strict=True)) == {"k": "secret", "l": "10"}
    created = first(msgs, "329").params
    assert created[1] == "#a" and created[2].isdigit()
    outside = first(bob.send("MODE #a"), "324").params
    assert "secret" not in outside  # the key is for members' eyes only
    err = only(bob.send("MODE #nowhere"))
    assert err.command == "403" and err.params[1] == "#nowhere"


def test_flag_modes_are_relayed_and_compressed(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    change = only(alice.send("MODE #a +ims-t"))
    assert change.params == ["#a", "+ims-t"]
    assert only(bob.take()).params == ["#a", "+ims-t"]
    assert net.server.find_channel("#a").modes == {"i", "m", "n", "s"}
    assert alice.send("MODE #a +i") == []  # already set
    assert bob.take() == []


def test_op_and_voice(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    change = only(alice.send("MODE #a +ov BOB bob"))
    assert change.params == ["#a", "+ov", "bob", "bob"]
    assert only(bob.take()).params == ["#a", "+ov", "bob", "bob"]
    channel = net.server.find_channel("#a")
    assert channel.members[bob.user] == "ov"
    change = only(bob.send("MODE #a -o alice"))
    assert change.params == ["#a", "-o", "alice"]
    assert not channel.is_op(alice.user)
    alice.take()
    assert only(alice.send("MODE #a +o alice")).command == "482"


def test_channel_mode_errors(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    err = only(bob.send("MODE #a +m"))
    assert err.command == "482" and err.params[:2] == ["bob", "#a"]
    err = only(bob.send("MODE #a +mi"))  # one 482 for the whole line
    assert err.command == "482"
    err = only(alice.send("MODE #a +o ghost"))
    assert err.command == "401" and err.params[1] == "ghost"
    err = only(alice.send("MODE #a +o carol"))
    assert err.command == "441" and err.params[1:3] == ["carol", "#a"]
    msgs = alice.send("MODE #a +Xm")
    assert first(msgs, "472").params[1] == "X"
    assert first(msgs, "MODE").params == ["#a", "+m"]
    err = only(carol.send("MODE #a +m"))
    assert err.command == "482"


def test_key_mode(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a")
    assert only(alice.send("MODE #a +k beer")).params == ["#a", "+k", "beer"]
    assert net.server.find_channel("#a").password == "beer"
    assert only(bob.send("JOIN #a")).command == "475"
    assert only(alice.send("MODE #a -k whatever")).params == ["#a", "-k", "*"]
    assert commands(bob.send("JOIN #a"))[0] == "JOIN"


def test_key_validation(net: Net) -> None:
    alice = net.client("alice")
    alice.send("JOIN #a")
    for bad in ("passphrase with spaces", ""):
        msgs = alice.send(f"MODE #a +k :{bad}")
        assert "MODE" not in commands(msgs), bad
        assert set(commands(msgs)) <= {"525", "696"}, bad
        assert msgs
    err = only(alice.send("MODE #a +k"))
    assert err.command == "696" and err.params[1:4] == ["#a", "k", "*"]
    assert net.server.find_channel("#a").password is None


def test_a_key_longer_than_the_store_holds_is_refused(net: Net) -> None:
    alice = net.client("alice")
    alice.send("JOIN #a")
    err = only(alice.send("MODE #a +k :" + "k" * 201))
    assert err.command == "525" and err.params[1] == "#a"
    assert "200" in err.params[2]
    assert net.server.find_channel("#a").password is None
    assert only(alice.send("MODE #a +k :" + "k" * 200)).params == ["#a", "+k", "k" * 200]


def test_limit_mode(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a")
    assert only(alice.send("MODE #a +l 1")).params == ["#a", "+l", "1"]
    assert only(bob.send("JOIN #a")).command == "471"
    for bad in ("x", "0", "-3"):
        err = only(alice.send(f"MODE #a +l {bad}"))
        assert err.command == "696" and err.params[1:4] == ["#a", "l", bad], bad
    assert only(alice.send("MODE #a +l")).command == "696"
    assert only(alice.send("MODE #a -l")).params == ["#a", "-l"]
    assert alice.send("MODE #a -l") == []
    assert commands(bob.send("JOIN #a"))[0] == "JOIN"


def test_ban_list(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    assert only(alice.send("MODE #a +b")).command == "368"
    alice.send("MODE #a +bb x!*@* *!*@evil.example")
    bob.take()
    for query in ("MODE #a +b", "MODE #a b"):
        msgs = bob.send(query)  # any member may list the bans
        assert commands(msgs) == ["367", "367", "368"]
        entry = msgs[0].params
        assert entry[:3] == ["bob", "#a", "x!*@*"]
        assert entry[3] == "alice!~alice@localhost" and entry[4].isdigit()
        assert msgs[1].params[2] == "*!*@evil.example"
        assert msgs[2].params[:2] == ["bob", "#a"]
    assert alice.send("MODE #a +b X!*@*") == []  # already there, case-insensitively
    assert only(alice.send("MODE #a -b X!*@*")).params == ["#a", "-b", "X!*@*"]
    assert len(every(alice.send("MODE #a +b"), "367")) == 1
    bob.take()
    err = only(bob.send("MODE #a +b y!*@*"))
    assert err.command == "482"


def test_ban_list_on_unknown_channel(net: Net) -> None:
    alice = net.client("alice")
    assert only(alice.send("MODE #nope +b")).command == "403"


def test_mode_parameters_per_line_are_limited(net: Net) -> None:
    alice = net.client("alice")
    others = [net.client(f"u{i}") for i in range(6)]
    net.joined("#a", alice, *others)
    change = only(alice.send("MODE #a +vvvvvv " + " ".join(c.nick for c in others)))
    assert change.params[1] == "+vvvv"
    assert len(change.params) == 6


def test_secret_channel_hidden(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #s", "MODE #s +s", "TOPIC #s :hidden")
    assert every(bob.send("LIST"), "322") == []
    assert "319" not in commands(bob.send("WHOIS alice"))
    assert every(bob.send("WHO #s"), "352") == []
    assert first(alice.send("WHOIS alice"), "319").params[-1] == "@#s"


def test_oper_only_persistent_mode(net: Net) -> None:
    alice = net.client("alice")
    alice.send("JOIN #a")
    err = only(alice.send("MODE #a +P"))
    assert err.command == "481"


def test_empty_ban_masks_are_ignored_and_removal_is_casemapped(net: Net) -> None:
    alice = net.client("alice")
    alice.send("JOIN #a")
    assert alice.send("MODE #a +b :") == []
    assert net.server.find_channel("#a").bans == []
    alice.send("MODE #a +b nick[1]!*@*")
    assert only(alice.send("MODE #a -b NICK{1}!*@*")).params[1] == "-b"
    assert net.server.find_channel("#a").bans == []

"""Ban exceptions (+e) and invite exceptions (+I): the lists and the rules they change."""

from __future__ import annotations

from tests.core.helpers import Net, commands, isupport, only


def test_isupport_advertises_excepts_and_invex_in_group_a(net: Net) -> None:
    c = net.raw_client()
    tokens = isupport(c.send("NICK alice", "USER alice 0 * :A"))
    assert tokens["EXCEPTS"] == "e" and tokens["INVEX"] == "I"
    group_a = tokens["CHANMODES"].split(",")[0]
    assert "e" in group_a and "I" in group_a


def test_ban_exception_lets_a_banned_user_join_and_speak(net: Net) -> None:
    op, bar = net.client("op"), net.client("bar")
    op.send("JOIN #a", "MODE #a +b ba*!*@*")
    assert only(bar.send("JOIN #a")).command == "474"
    assert only(op.send("MODE #a +e *ar!*@*")).params == ["#a", "+e", "*ar!*@*"]
    assert commands(bar.send("JOIN #a"))[0] == "JOIN"
    op.take()
    bar.send("PRIVMSG #a :hello")
    assert only(op.take()).params == ["#a", "hello"]
    # The exception gone, the ban silences again, and NICK cannot dodge it.
    op.send("MODE #a -e *ar!*@*")
    bar.take()
    assert only(bar.send("PRIVMSG #a :again")).command == "404"
    assert only(bar.send("NICK other")).command == "435"


def test_exception_that_matches_no_ban_changes_nothing(net: Net) -> None:
    op, bar = net.client("op"), net.client("bar")
    op.send("JOIN #a", "MODE #a +b baz!*@*", "MODE #a +e bar!*@*")
    baz = net.client("baz")
    assert only(baz.send("JOIN #a")).command == "474"
    assert commands(bar.send("JOIN #a"))[0] == "JOIN"


def test_invite_exception_passes_invite_only_but_not_key_or_ban(net: Net) -> None:
    op, bar, baz = net.client("op"), net.client("bar"), net.client("baz")
    op.send("JOIN #a", "MODE #a +i")
    assert only(bar.send("JOIN #a")).command == "473"
    assert only(op.send("MODE #a +I bar")).params == ["#a", "+I", "bar!*@*"]
    assert commands(bar.send("JOIN #a"))[0] == "JOIN"
    assert only(baz.send("JOIN #a")).command == "473"
    bar.send("PART #a")
    op.send("MODE #a +k secret")
    assert only(bar.send("JOIN #a")).command == "475"
    op.send("MODE #a -k secret", "MODE #a +b bar!*@*")
    assert only(bar.send("JOIN #a")).command == "474"


def test_lists_use_their_numerics_with_setter_and_time(net: Net) -> None:
    op = net.client("op")
    op.send("JOIN #a")
    assert only(op.send("MODE #a +e")).command == "349"
    op.send("MODE #a +ee x!*@* *!*@good.example", "MODE #a +I friend")
    msgs = op.send("MODE #a e")
    assert commands(msgs) == ["348", "348", "349"]
    assert msgs[0].params[:3] == ["op", "#a", "x!*@*"]
    assert msgs[0].params[3] == "op!~op@localhost" and msgs[0].params[4].isdigit()
    assert msgs[1].params[2] == "*!*@good.example"
    msgs = op.send("MODE #a +I")
    assert commands(msgs) == ["346", "347"]
    assert msgs[0].params[2] == "friend!*@*"
    # One query lists each list once, in the order asked.
    assert commands(op.send("MODE #a +bIe")) == ["368", "346", "347", "348", "348", "349"]


def test_only_operators_read_or_change_the_exception_lists(net: Net) -> None:
    op, bob = net.client("op"), net.client("bob")
    net.joined("#a", op, bob)
    op.send("MODE #a +e x!*@*")
    bob.take()
    for query in ("MODE #a +e", "MODE #a +I", "MODE #a +e y!*@*", "MODE #a -e x!*@*"):
        assert only(bob.send(query)).command == "482", query
    assert commands(bob.send("MODE #a +b")) == ["368"]  # the ban list stays public
    assert [e[0] for e in net.server.find_channel("#a").excepts] == ["x!*@*"]


def test_bad_masks_and_duplicates_are_ignored(net: Net) -> None:
    op = net.client("op")
    op.send("JOIN #a")
    assert op.send("MODE #a +e :") == []
    assert op.send("MODE #a +I :") == []
    op.send("MODE #a +e nick[1]!*@*")
    assert op.send("MODE #a +e NICK{1}!*@*") == []  # the same mask, casemapped
    assert only(op.send("MODE #a -e NICK{1}!*@*")).params[1] == "-e"
    assert op.send("MODE #a -I nobody!*@*") == []
    channel = net.server.find_channel("#a")
    assert channel.excepts == [] and channel.invex == []

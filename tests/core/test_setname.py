"""SETNAME (IRCv3 setname): a new real name, announced to those with the capability."""

from __future__ import annotations

from collections.abc import Callable

from tests.core.helpers import Net, first, only


def test_setname_confirms_and_shows_in_whois(net: Net) -> None:
    me = net.client("me", ["setname"])
    confirm = only(me.send("SETNAME :Bruce Wayne"))
    assert confirm.command == "SETNAME" and confirm.params == ["Bruce Wayne"]
    assert confirm.source and confirm.source.startswith("me!")
    assert first(me.send("WHOIS me"), "311").params[-1] == "Bruce Wayne"


def test_only_channel_peers_with_the_cap_are_told(net: Net) -> None:
    me = net.client("me", ["setname"])
    peer = net.client("peer", ["setname"])
    plain = net.client("plain")
    stranger = net.client("stranger", ["setname"])
    net.joined("#c", me, peer, plain)
    me.send("SETNAME qux")
    assert only(peer.take()).params == ["qux"]
    assert plain.take() == []
    assert stranger.take() == []


def test_without_the_cap_the_change_is_silent(net: Net) -> None:
    me = net.client("me")
    assert me.send("SETNAME :quiet change") == []
    assert net.server.find_user("me").realname == "quiet change"


def test_words_without_a_colon_are_one_name(net: Net) -> None:
    me = net.client("me", ["setname"])
    assert only(me.send("SETNAME Jane Doe")).params == ["Jane Doe"]


def test_bad_names_are_refused(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"realname_length": 10}})
    me = net.client("me", ["setname"], realname="Original")
    for bad in ("SETNAME :" + "x" * 11, "SETNAME :   ", "SETNAME :", "SETNAME :a\x01b"):
        fail = only(me.send(bad))
        assert fail.command == "FAIL", bad
        assert fail.params[:2] == ["SETNAME", "INVALID_REALNAME"]
    assert net.server.find_user("me").realname == "Original"
    assert only(me.send("SETNAME :" + "x" * 10)).command == "SETNAME"


def test_user_cuts_the_realname_to_the_limit(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"realname_length": 5}})
    me = net.client("me", realname="A very long name")
    assert me.user.realname == "A ver"


def test_missing_parameter(net: Net) -> None:
    me = net.client("me", ["setname"])
    assert only(me.send("SETNAME")).command == "461"


def test_the_capability_is_offered(net: Net) -> None:
    c = net.raw_client()
    ls = c.send("CAP LS 302")
    offered = " ".join(m.params[-1] for m in ls).split()
    assert "setname" in offered and "extended-monitor" in offered
    assert "chghost" not in offered

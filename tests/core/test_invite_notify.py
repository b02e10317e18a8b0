"""invite-notify: members who asked hear of an INVITE into their channel."""

from __future__ import annotations

from tests.core.helpers import Net, commands, only


def test_members_with_the_cap_see_the_invite(net: Net) -> None:
    alice = net.client("alice")
    watcher = net.client("watcher", ["invite-notify"])
    plain = net.client("plain")
    bob = net.client("bob", ["invite-notify"])
    net.joined("#a", alice, watcher, plain)
    assert commands(alice.send("INVITE bob #a")) == ["341"]
    seen = only(watcher.take())
    assert seen.command == "INVITE" and seen.params == ["bob", "#a"]
    assert seen.source.startswith("alice!")
    assert plain.take() == []
    # The one invited gets the ordinary INVITE once, cap or not.
    assert commands(bob.take()) == ["INVITE"]


def test_on_invite_only_channels_only_operators_are_told(net: Net) -> None:
    alice = net.client("alice")
    member = net.client("member", ["invite-notify"])
    opped = net.client("opped", ["invite-notify"])
    net.joined("#a", alice, member, opped)
    alice.send("MODE #a +i", "MODE #a +o opped")
    member.take()
    opped.take()
    net.client("bob")
    alice.send("INVITE bob #a")
    assert member.take() == []
    assert only(opped.take()).params == ["bob", "#a"]


def test_a_refused_invite_tells_nobody(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    watcher = net.client("watcher", ["invite-notify"])
    net.joined("#a", alice, watcher, bob)
    assert only(alice.send("INVITE bob #a")).command == "443"  # already there
    assert only(alice.send("INVITE ghost #a")).command == "401"
    assert watcher.take() == []

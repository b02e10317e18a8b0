"""The rules of registered channels (``ircish.accounts.chanreg``) on a bare core."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircish.accounts import chanreg
from ircish.core.state import Channel
from tests.core.helpers import Client, Net, make_server


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return Net(make_server(tmp_path))


def _room(net: Net) -> tuple[Client, Client, Channel]:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#room", alice, bob)
    channel = net.server.find_channel("#room")
    assert channel is not None
    return alice, bob, channel


def test_register_needs_an_account_an_existing_channel_ops_and_no_founder(net: Net) -> None:
    alice, bob, channel = _room(net)
    user = alice.user
    assert chanreg.register_refusal(user, "#room", channel, 0) == chanreg.NOT_IDENTIFIED
    user.account = "alice"
    assert "does not exist" in (chanreg.register_refusal(user, "#none", None, 0) or "")
    assert chanreg.register_refusal(user, "#room", channel, 0) is None
    bob.user.account = "bob"
    assert "channel operator" in (chanreg.register_refusal(bob.user, "#room", channel, 0) or "")
    channel.founder = "alice"
    assert "already registered to alice" in (
        chanreg.register_refusal(user, "#room", channel, 0) or "")


def test_register_limit_per_account_spares_operators(net: Net) -> None:
    alice, _, channel = _room(net)
    alice.user.account = "alice"
    most = chanreg.MAX_CHANNELS_PER_ACCOUNT
    assert chanreg.register_refusal(alice.user, "#room", channel, most - 1) is None
    assert "drop one first" in (chanreg.register_refusal(alice.user, "#room", channel, most)
                                or "")
    net.server.set_user_mode(alice.user, "o", True)
    assert chanreg.register_refusal(alice.user, "#room", channel, most) is None


def test_only_the_identified_founder_or_an_operator_manages(net: Net) -> None:
    alice, bob, channel = _room(net)
    assert chanreg.manage_refusal(alice.user, "#room", channel) == "#room is not registered."
    assert chanreg.manage_refusal(alice.user, "#x", None) == "#x is not registered."
    channel.founder = "Alice"
    # The op status in the channel does not count; the account does, casefolded.
    assert chanreg.manage_refusal(alice.user, "#room", channel) == chanreg.NOT_IDENTIFIED
    alice.user.account = "ALICE"
    assert chanreg.manage_refusal(alice.user, "#room", channel) is None
    bob.user.account = "bob"
    assert chanreg.manage_refusal(bob.user, "#room", channel) == \
        "You are not the founder of #room."
    net.server.set_user_mode(bob.user, "o", True)
    assert chanreg.manage_refusal(bob.user, "#room", channel) is None


def test_channel_and_nick_arguments() -> None:
    assert chanreg.split_channel_nick([]) == (None, None)
    assert chanreg.split_channel_nick(["#c"]) == ("#c", None)
    assert chanreg.split_channel_nick(["#c", "bob"]) == ("#c", "bob")
    assert chanreg.split_channel_nick(["bob"]) == (None, "bob")
    assert chanreg.split_channel_nick(["#c", "bob", "x"]) is None
    assert chanreg.split_channel_nick(["bob", "x"]) is None


def test_implied_channel_is_the_only_one_managed(net: Net) -> None:
    alice, _, room = _room(net)
    alice.user.account = "alice"
    assert chanreg.implied_channel(alice.user) is None  # none registered
    room.founder = "alice"
    assert chanreg.implied_channel(alice.user) is room
    net.joined("#other", alice)
    other = net.server.find_channel("#other")
    assert other is not None
    assert chanreg.implied_channel(alice.user) is room  # #other is not registered
    other.founder = "alice"
    assert chanreg.implied_channel(alice.user) is None  # which one?


def test_auto_op_and_prefixes(net: Net) -> None:
    alice, bob, room = _room(net)
    room.founder = "bob"
    bob.user.account = "bob"
    assert chanreg.should_auto_op(bob.user, room)
    assert not chanreg.should_auto_op(alice.user, room)  # already op, and not founder
    assert chanreg.set_prefix(room, bob.user, "o", True)
    assert not chanreg.set_prefix(room, bob.user, "o", True)
    assert room.members[bob.user] == "o"
    assert not chanreg.should_auto_op(bob.user, room)
    room.members[bob.user] = "v"
    assert chanreg.set_prefix(room, bob.user, "o", True)
    assert room.members[bob.user] == "ov"
    assert chanreg.set_prefix(room, bob.user, "o", False)
    assert room.members[bob.user] == "v"


def test_a_registered_channel_is_kept_and_gives_no_ops_to_the_first_one_in(net: Net) -> None:
    alice, bob, room = _room(net)
    room.founder = "alice"
    assert room.persistent and "P" not in room.modes
    alice.send("PART #room")
    bob.send("PART #room")
    assert net.server.find_channel("#room") is room  # kept while empty
    bob.send("JOIN #room")
    assert room.members[bob.user] == ""  # waits for the founder
    # A +P channel without a registration still ops whoever comes first.
    plus_p = net.server.get_or_create_channel("#kept")
    plus_p.modes.add("P")
    bob.send("JOIN #kept")
    assert plus_p.members[bob.user] == "o"


def test_minus_p_keeps_a_registered_channel(net: Net) -> None:
    alice, bob, room = _room(net)
    net.server.set_user_mode(alice.user, "o", True)
    alice.send("MODE #room +P")
    room.founder = "alice"
    alice.send("PART #room")
    bob.send("PART #room")
    alice.send("MODE #room -P")
    assert "P" not in room.modes
    assert net.server.find_channel("#room") is room

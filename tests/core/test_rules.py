"""The rules called directly, as bots and the history feature call them: join
refusals in their order, who may speak, and what a bot does through the rules."""

from __future__ import annotations

import logging

import pytest

from ircish.core import numerics as N
from ircish.core.bots import BotError, bot_join, bot_part, bot_send, create_bot
from ircish.core.membership import join_refusal
from ircish.core.nicks import banned_channel
from tests.core.helpers import Net, commands, only


def test_join_refusals_come_in_order_limit_invite_key_ban(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a", "MODE #a +ilk 1 key", "MODE #a +b bob!*@*")
    channel = net.server.find_channel("#a")
    assert channel is not None
    seen = []
    for undo in ("MODE #a -l", "MODE #a -i", "MODE #a -k *", "MODE #a -b bob!*@*"):
        refusal = join_refusal(channel, bob.user, "wrong")
        seen.append(refusal[0] if refusal else None)
        assert only(bob.send("JOIN #a wrong")).command == seen[-1]
        alice.send(undo)
    assert seen == [N.ERR_CHANNELISFULL, N.ERR_INVITEONLYCHAN, N.ERR_BADCHANNELKEY,
                    N.ERR_BANNEDFROMCHAN]
    assert join_refusal(channel, bob.user, "wrong") is None


def test_an_invitation_passes_every_join_check(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a", "MODE #a +ilk 1 key", "MODE #a +b bob!*@*", "INVITE bob #a")
    channel = net.server.find_channel("#a")
    assert channel is not None
    assert join_refusal(channel, bob.user, "") is None
    assert join_refusal(channel, net.client("carol").user, "key") == (
        N.ERR_CHANNELISFULL, "Cannot join channel (+l)")


def test_who_may_speak(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    channel = net.server.find_channel("#a")
    assert channel is not None
    assert channel.can_send(bob.user) and not channel.can_send(carol.user)  # +n
    alice.send("MODE #a +b bob!*@*")
    assert not channel.can_send(bob.user) and channel.can_send(alice.user)
    assert channel.is_banned(bob.user) and not channel.is_banned(alice.user)
    assert banned_channel(bob.user) is channel and banned_channel(alice.user) is None
    alice.send("MODE #a +v bob")
    assert channel.can_send(bob.user) and banned_channel(bob.user) is None
    alice.send("MODE #a -n+m")
    assert not channel.can_send(carol.user) and channel.can_send(bob.user)


def test_a_bot_needs_a_valid_free_nick(net: Net) -> None:
    net.client("alice")
    with pytest.raises(BotError, match="invalid"):
        create_bot(net.server, "1bot")
    with pytest.raises(BotError, match="in use"):
        create_bot(net.server, "ALICE")
    bot = create_bot(net.server, "helper")
    assert bot.registered and bot.bot and "B" in bot.modes


def test_a_bot_joins_speaks_and_parts_by_the_channel_rules(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    alice = net.client("alice")
    alice.send("JOIN #a", "MODE #a +i")
    bot = create_bot(net.server, "helper")
    with caplog.at_level(logging.WARNING, "ircish.bots"):
        assert not bot_join(net.server, bot, "#a")
        bot_send(net.server, bot, "PRIVMSG", "#a", "let me in")
    assert [r.getMessage().split(":", 2)[2].split(" ")[1] for r in caplog.records] == [
        N.ERR_INVITEONLYCHAN, N.ERR_CANNOTSENDTOCHAN]
    alice.send("INVITE helper #a")
    alice.take()
    assert bot_join(net.server, bot, "#a")
    assert commands(alice.take()) == ["JOIN"]
    bot_send(net.server, bot, "NOTICE", "#a", "one\ntwo " + "x" * 500)
    got = alice.take()
    assert commands(got) == ["NOTICE"] * 3
    texts = [m.params[1] for m in got]
    assert texts[0] == "one" and texts[1] + texts[2] == "two " + "x" * 500
    assert all(len(t.encode()) <= 400 for t in texts)
    assert bot_part(net.server, bot, "#a", "bye")
    assert only(alice.take()).params == ["#a", "bye"]
    assert not bot_part(net.server, bot, "#a")

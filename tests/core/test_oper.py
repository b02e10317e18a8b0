"""OPER, KILL and what being an operator changes."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from ircish.passwords import hash_password
from tests.core.helpers import Net, commands, first, only


@cache
def _hash() -> str:
    return hash_password("operpassword")


@pytest.fixture
def onet(make_net: Callable[..., Net]) -> Net:
    return make_net({"opers": [
        {"name": "operuser", "password_hash": _hash()},
        {"name": "lockeduser", "password_hash": _hash(), "host": "*@admin.example"},
    ]})


def test_oper_success(onet: Net) -> None:
    a = onet.client("a")
    msgs = a.send("OPER operuser operpassword")
    assert commands(msgs) == ["MODE", "381"]
    assert msgs[0].params == ["a", "+o"]
    assert msgs[1].params[0] == "a"
    assert a.user.oper
    assert only(a.send("MODE a")).params[1] == "+o"


def test_oper_failures(onet: Net) -> None:
    a = onet.client("a")
    assert only(a.send("OPER operuser wrong")).command == "464"
    assert only(a.send("OPER nobody operpassword")).command == "464"
    assert only(a.send("OPER lockeduser operpassword")).command == "491"
    assert only(a.send("OPER operuser")).command == "461"
    assert not a.user.oper


def test_oper_host_restriction_allows_matching_host(onet: Net) -> None:
    a = onet.client("a", host="admin.example")
    assert commands(a.send("OPER lockeduser operpassword"))[-1] == "381"


def test_deoper(onet: Net) -> None:
    a = onet.client("a")
    a.send("OPER operuser operpassword")
    assert only(a.send("MODE a -o")).params == ["a", "-o"]
    assert not a.user.oper


def test_oper_shows_in_whois_who_userhost_lusers(onet: Net) -> None:
    a, b = onet.client("a"), onet.client("b")
    a.send("OPER operuser operpassword")
    assert first(b.send("WHOIS a"), "313").params[:2] == ["b", "a"]
    assert first(b.send("WHO a"), "352").params[6] == "H*"
    assert only(b.send("USERHOST a")).params[1] == "a*=+~a@localhost"
    assert first(b.send("LUSERS"), "252").params[1] == "1"
    assert first(b.send("WHO * o"), "352").params[5] == "a"


def test_kill(onet: Net) -> None:
    op, victim, peer = onet.client("op"), onet.client("victim"), onet.client("peer")
    onet.joined("#a", victim, peer)
    op.send("OPER operuser operpassword")
    assert op.send("KILL Victim :spamming") == []
    msgs = victim.take()
    assert commands(msgs) == ["KILL", "ERROR"]
    assert msgs[0].params == ["victim", "spamming"] and msgs[0].source.startswith("op!")
    assert victim.sink.closed is not None
    quit_msg = only(peer.take())
    assert quit_msg.command == "QUIT" and "spamming" in quit_msg.params[0]
    assert onet.server.find_user("victim") is None


def test_kill_errors(onet: Net) -> None:
    op, b = onet.client("op"), onet.client("b")
    err = only(b.send("KILL op :no"))
    assert err.command == "481" and err.params[0] == "b"
    assert op.sink.closed is None
    op.send("OPER operuser operpassword")
    err = only(op.send("KILL ghost :x"))
    assert err.command == "401" and err.params[1] == "ghost"
    assert only(op.send("KILL irc.test :x")).command == "483"
    assert only(op.send("KILL b")).command == "461"


def test_oper_may_set_persistent_mode(onet: Net) -> None:
    op = onet.client("op")
    op.send("OPER operuser operpassword", "JOIN #keep")
    assert only(op.send("MODE #keep +P")).params == ["#keep", "+P"]
    op.send("PART #keep")
    assert onet.server.find_channel("#keep") is not None


def test_wallops(onet: Net) -> None:
    op, plain, wants = onet.client("op"), onet.client("plain"), onet.client("wants")
    wants.send("MODE wants +w")
    assert only(plain.send("WALLOPS :hi")).command == "481"
    op.send("OPER operuser operpassword")
    echo = only(op.send("WALLOPS :hi everyone"))
    assert echo.command == "WALLOPS" and echo.params == ["hi everyone"]
    assert echo.source.startswith("op!")
    assert only(wants.take()).params == ["hi everyone"]
    assert plain.take() == []
    assert only(op.send("WALLOPS")).command == "461"


def test_opers_obey_channel_join_restrictions_but_may_manage_channels(onet: Net) -> None:
    # As in Ergo: being an operator is no key to a locked channel; overriding
    # membership rules would need an explicit command. Topic, kick and modes are
    # allowed so an operator can look after (and +P) any channel.
    owner, op = onet.client("owner"), onet.client("op")
    owner.send("JOIN #locked", "MODE #locked +i")
    op.send("OPER operuser operpassword")
    assert commands(op.send("JOIN #locked")) == ["473"]
    owner.send("MODE #locked -i+k secret")
    assert commands(op.send("JOIN #locked")) == ["475"]
    assert first(op.send("JOIN #locked secret"), "JOIN").params == ["#locked"]
    assert only(op.send("TOPIC #locked :set by an oper")).command == "TOPIC"

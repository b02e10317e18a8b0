"""CHGHOST (IRCv3 chghost): an operator changes a user's username and host."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircish.app import build_server
from ircish.chghost.feature import CAP
from ircish.testing import test_config as config_for
from tests.core.helpers import Client, Net, commands, every, first, only


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return Net(build_server(config_for(tmp_path)).core)


def oper_client(net: Net, nick: str = "ircop") -> Client:
    client = net.client(nick)
    net.server.set_user_mode(client.user, "o", True)
    return client


def test_peers_with_the_cap_and_the_user_get_chghost(net: Net) -> None:
    ircop = oper_client(net)
    target = net.client("tim", [CAP], username="toolshed")
    peer = net.client("peer", [CAP])
    stranger = net.client("stranger", [CAP])
    net.joined("#c", target, peer)
    old = target.user.source
    ircop.send("CHGHOST tim ~b ckyard")
    for client in (target, peer):
        line = first(client.take(), "CHGHOST")
        assert (line.source, line.params) == (old, ["~b", "ckyard"])
    assert stranger.take() == []
    assert net.server.find_user("tim").source == "tim!~b@ckyard"


def test_the_user_is_told_its_host_with_396(net: Net) -> None:
    ircop = oper_client(net)
    target = net.client("tim")
    ircop.send("CHGHOST tim user example.org")
    reply = only(target.take())
    assert reply.command == "396" and reply.params[1] == "example.org"


def test_peers_without_the_cap_see_a_quit_and_a_rejoin(net: Net) -> None:
    ircop = oper_client(net)
    target = net.client("tim")
    plain = net.client("plain", ["away-notify", "extended-join"])
    net.joined("#a", target, plain)
    net.joined("#b", plain, target)  # plain is the op here, tim gets +v
    plain.send("MODE #b +v tim")
    target.send("AWAY :lunch")
    plain.take()
    old = target.user.source
    ircop.send("CHGHOST tim newuser new.host")
    got = plain.take()
    assert commands(got) == ["QUIT", "JOIN", "MODE", "JOIN", "MODE", "AWAY"]
    assert got[0].source == old and got[0].params == ["Changing host"]
    assert [m.params[0] for m in every(got, "JOIN")] == ["#a", "#b"]
    assert all(m.source == "tim!newuser@new.host" for m in got[1:] if m.command != "MODE")
    assert every(got, "JOIN")[0].params == ["#a", "*", "tim real"]  # extended-join
    assert [m.params for m in every(got, "MODE")] == [["#a", "+o", "tim"], ["#b", "+v", "tim"]]
    assert got[-1].params == ["lunch"]


def test_an_extended_monitor_watcher_with_the_cap_is_told(net: Net) -> None:
    ircop = oper_client(net)
    net.client("tim")
    watcher = net.client("watcher", [CAP, "extended-monitor"])
    watcher.send("MONITOR + tim")
    ircop.send("CHGHOST tim u h.example")
    assert only(watcher.take()).command == "CHGHOST"


def test_who_whois_userhost_and_bans_use_the_new_host(net: Net) -> None:
    ircop = oper_client(net)
    target = net.client("tim")
    op = net.client("op")
    net.joined("#c", op)
    op.send("MODE #c +b *!*@banned.example")
    ircop.send("CHGHOST tim vhost banned.example")
    asker = net.client("asker")
    assert first(asker.send("WHO tim"), "352").params[2:4] == ["vhost", "banned.example"]
    assert first(asker.send("WHOIS tim"), "311").params[2:4] == ["vhost", "banned.example"]
    assert only(asker.send("USERHOST tim")).params[1].endswith("=+vhost@banned.example")
    assert first(target.send("JOIN #c"), "474").params[1] == "#c"


def test_only_operators(net: Net) -> None:
    user = net.client("user")
    net.client("tim")
    assert only(user.send("CHGHOST tim a b")).command == "481"
    assert net.server.find_user("tim").host == "localhost"


def test_bad_input_is_refused(net: Net) -> None:
    ircop = oper_client(net)
    net.client("tim", username="tim")

    def fail(line: str) -> list[str]:
        reply = only(ircop.send(line))
        assert reply.command == "FAIL", line
        return reply.params[:2]

    assert only(ircop.send("CHGHOST tim user")).command == "461"
    assert only(ircop.send("CHGHOST nobody user host")).params[:2] == ["ircop", "nobody"]
    for user in ("a@b", "a!b", "~", "a~b", "x" * 20, "é", "*"):
        assert fail(f"CHGHOST tim {user} host") == ["CHGHOST", "INVALID_USERNAME"], user
    for host in ("a@b", "a!b", ":ip", "*.org", ".dot", "", "a b", "x" * 64, "ü.de"):
        assert fail(f"CHGHOST tim user :{host}") == ["CHGHOST", "INVALID_HOSTNAME"], host
    # A ':' is an IPv6 address's only; a digit after the last '/' reads as a CIDR block.
    for host in ("y.z:", "a:b", "host:6667", "user/24", "10.0.0.0/8", "1:2:3"):
        reply = only(ircop.send(f"CHGHOST tim user {host}"))
        assert reply.command == "FAIL", host
        assert reply.params[:3] == ["CHGHOST", "INVALID_HOSTNAME", host], host
    assert "IPv6" in only(ircop.send("CHGHOST tim user y.z:")).params[-1]
    assert net.server.find_user("tim").source == "tim!~tim@localhost"
    assert fail("CHGHOST tim ~tim localhost") == ["CHGHOST", "UNCHANGED"]
    assert net.server.find_user("tim").source == "tim!~tim@localhost"
    # IPv6 addresses and cloaks are hosts.
    ircop.send("CHGHOST tim tim 2001:db8::1")
    assert net.server.find_user("tim").host == "2001:db8::1"
    ircop.send("CHGHOST tim tim 2001:db8::")
    assert net.server.find_user("tim").host == "2001:db8::"
    ircop.send("CHGHOST tim tim user/tim")
    assert net.server.find_user("tim").source == "tim!tim@user/tim"
    ircop.send("CHGHOST tim tim user/tim2")
    assert net.server.find_user("tim").source == "tim!tim@user/tim2"


def test_chghost_is_offered_and_has_help(net: Net) -> None:
    asker = net.client("asker")
    ls = " ".join(m.params[-1] for m in asker.send("CAP LS 302"))
    assert CAP in ls.split()
    assert "CHGHOST" in " ".join(m.params[-1] for m in asker.send("HELP CHGHOST"))

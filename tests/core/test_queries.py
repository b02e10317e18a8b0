"""WHO, WHOIS, WHOWAS, ISON, USERHOST, AWAY and the server queries."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from ircish.protocol import parse
from tests.core.helpers import Net, commands, every, first, only


def test_who_channel(net: Net) -> None:
    alice = net.client("alice", username="ali", realname="Alice Liddell")
    bob = net.client("bob")
    net.joined("#a", alice, bob)
    bob.send("AWAY :zz")
    msgs = alice.send("WHO #A")
    assert commands(msgs) == ["352", "352", "315"]
    rows = {m.params[5]: m.params for m in msgs[:2]}
    assert rows["alice"] == ["alice", "#a", "~ali", "localhost", "irc.test", "alice", "H@",
                             "0 Alice Liddell"]
    assert rows["bob"][6] == "G"
    assert msgs[2].params[:2] == ["alice", "#A"]


@pytest.mark.parametrize("mask", ["coolNick", "coolnick", "coolni*"])
def test_who_nick(net: Net, mask: str) -> None:
    cool = net.client("coolNick", username="myusernam", realname="My UniqueReal Name")
    other = net.client("otherNick")
    net.joined("#chan", cool, other)
    msgs = other.send(f"WHO {mask}")
    assert commands(msgs) == ["352", "315"]
    reply = msgs[0].params
    assert reply[0] == "otherNick" and reply[2] == "~myusernam" and reply[5] == "coolNick"
    assert reply[1] in ("*", "#chan")
    assert reply[6] == ("H" if reply[1] == "*" else "H@")
    assert re.fullmatch(r"\d+ My UniqueReal Name", reply[7])
    assert msgs[1].params[1] == mask


def test_who_star_and_zero_echo_the_mask(net: Net) -> None:
    a, b = net.client("a"), net.client("b")
    msgs = b.send("WHO *")
    assert sorted(m.params[5] for m in every(msgs, "352")) == ["a", "b"]
    assert msgs[-1].params[1] == "*"
    msgs = b.send("WHO 0")
    assert len(every(msgs, "352")) == 2
    assert msgs[-1].command == "315" and msgs[-1].params[1] == "0"
    assert a.nick == "a"


def test_who_nobody_and_operators_only(net: Net) -> None:
    a = net.client("a")
    end = only(a.send("WHO idontexist"))
    assert end.command == "315" and end.params[1] == "idontexist"
    assert every(a.send("WHO * o"), "352") == []


def test_who_hides_invisible_strangers(net: Net) -> None:
    a, b, c = net.client("a"), net.client("b"), net.client("c")
    b.send("MODE b +i")
    assert sorted(m.params[5] for m in every(c.send("WHO *"), "352")) == ["a", "c"]
    net.joined("#x", b, c)
    assert "b" in {m.params[5] for m in every(c.send("WHO *"), "352")}
    assert a.user.registered


def test_who_by_host_and_realname(net: Net) -> None:
    net.client("a", realname="Special Person")
    b = net.client("b")
    assert [m.params[5] for m in every(b.send("WHO :*Special*"), "352")] == ["a"]
    assert len(every(b.send("WHO local*"), "352")) == 2


def test_whois(net: Net) -> None:
    alice = net.client("alice", username="ali", realname="Alice L")
    bob = net.client("bob")
    alice.send("JOIN #a,#b", "AWAY :busy")
    msgs = bob.send("WHOIS ALICE")
    cmds = commands(msgs)
    assert cmds[0] == "311" and cmds[-1] == "318"
    assert first(msgs, "311").params == ["bob", "alice", "~ali", "localhost", "*", "Alice L"]
    assert sorted(first(msgs, "319").params[2].split()) == ["@#a", "@#b"]
    assert first(msgs, "312").params[:3] == ["bob", "alice", "irc.test"]
    assert first(msgs, "301").params == ["bob", "alice", "busy"]
    idle = first(msgs, "317").params
    assert idle[1] == "alice" and idle[2].isdigit() and idle[3].isdigit()
    assert first(msgs, "318").params[:2] == ["bob", "alice"]
    assert "313" not in cmds
    assert "378" not in cmds  # the real host is for the user and opers only
    assert "378" in commands(alice.send("WHOIS alice"))
    # The server-targeted form: WHOIS <server> <nick>.
    assert "311" in commands(bob.send("WHOIS irc.test alice"))


def test_whois_unknown_and_missing(net: Net) -> None:
    bob = net.client("bob")
    msgs = bob.send("WHOIS ghost")
    assert commands(msgs) == ["401", "318"]
    assert msgs[0].params[:2] == ["bob", "ghost"] and msgs[1].params[:2] == ["bob", "ghost"]
    assert only(bob.send("WHOIS")).command in ("431", "461")


def test_whowas(net: Net) -> None:
    net.client("nick2", username="ident2", realname="Realname").send("QUIT :bye")
    net.client("nick2", username="ident3", realname="Realname").send("QUIT :bye")
    asker = net.client("nick1")
    msgs = asker.send("WHOWAS nick2")
    users = every(msgs, "314")
    assert [u.params[2] for u in users] == ["~ident3", "~ident2"]  # newest first
    assert users[0].params == ["nick1", "nick2", "~ident3", "localhost", "*", "Realname"]
    assert first(msgs, "312").params[:3] == ["nick1", "nick2", "irc.test"]
    assert msgs[-1].command == "369" and msgs[-1].params[:2] == ["nick1", "nick2"]
    assert len(every(asker.send("WHOWAS nick2 1"), "314")) == 1
    for count in ("0", "-1", "2"):
        assert len(every(asker.send(f"WHOWAS nick2 {count}"), "314")) == 2


def test_whowas_after_nick_change_and_errors(net: Net) -> None:
    a = net.client("old")
    a.send("NICK new")
    msgs = a.send("WHOWAS OLD")
    assert first(msgs, "314").params[1] == "old"
    msgs = a.send("WHOWAS never")
    assert commands(msgs) == ["406", "369"]
    assert msgs[0].params[:2] == ["new", "never"]
    assert only(a.send("WHOWAS")).command in ("431", "461")


def test_ison_and_userhost(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    bob.send("AWAY :x")
    reply = only(alice.send("ISON ALICE ghost Bob"))
    assert reply.command == "303" and reply.params[1].split() == ["alice", "bob"]
    assert only(alice.send("ISON :ghost")).params == ["alice", ""]
    assert only(alice.send("ISON")).command == "461"
    reply = only(alice.send("USERHOST alice bob ghost"))
    assert reply.command == "302"
    assert reply.params[1].split() == ["alice=+~alice@localhost", "bob=-~bob@localhost"]
    assert only(alice.send("USERHOST")).command == "461"


def test_away_replies_and_length(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"away_length": 5}})
    alice = net.client("alice")
    reply = only(alice.send("AWAY :0123456789"))
    assert reply.command == "306" and reply.params[0] == "alice"
    assert alice.user.away == "01234"
    assert only(alice.send("AWAY")).command == "305"
    assert alice.user.away is None
    assert only(alice.send("AWAY :")).command == "305"


def test_server_queries(net: Net) -> None:
    a = net.client("a")
    msgs = a.send("MOTD")
    assert commands(msgs)[0] == "375" and commands(msgs)[-1] == "376"
    msgs = a.send("VERSION")
    assert msgs[0].command == "351" and msgs[0].params[2] == "irc.test"
    assert "005" in commands(msgs)
    t = only(a.send("TIME"))
    assert t.command == "391" and t.params[1] == "irc.test"
    msgs = a.send("INFO")
    assert set(commands(msgs[:-1])) == {"371"} and msgs[-1].command == "374"
    msgs = a.send("ADMIN")
    assert commands(msgs) == ["256", "257", "258", "259"]
    assert msgs[0].params[1] == "irc.test"
    assert commands(a.send("LUSERS"))[0] == "251"


@pytest.mark.parametrize("verb", ["MOTD", "VERSION", "TIME", "INFO", "ADMIN"])
def test_server_queries_for_another_server_get_402(net: Net, verb: str) -> None:
    a = net.client("a")
    for target in ("invalid.server.example", "invalidserver"):
        err = only(a.send(f"{verb} {target}"))
        assert err.command == "402" and err.params[:2] == ["a", target], verb
    for ours in ("irc.test", "IRC.TEST", "*.test", "a"):
        assert "402" not in commands(a.send(f"{verb} {ours}")), (verb, ours)


def test_lusers_for_another_server(net: Net) -> None:
    a = net.client("a")
    assert only(a.send("LUSERS * elsewhere.example")).command == "402"
    assert commands(a.send("LUSERS * irc.test"))[0] == "251"


def test_unknown_command(net: Net) -> None:
    a = net.client("a")
    err = only(a.send("FROBNICATE x y"))
    assert err.command == "421" and err.params[:2] == ["a", "FROBNICATE"]
    err = only(a.send("frobnicate"))
    assert err.params[1] == "FROBNICATE"


def test_commands_are_case_insensitive(net: Net) -> None:
    a = net.client("a")
    assert commands(a.send("join #x"))[0] == "JOIN"
    assert commands(a.send("Whois a"))[0] == "311"


def test_ping_pong_after_registration(net: Net) -> None:
    a = net.client("a")
    pong = only(a.send("PING 12345"))
    assert pong.source == "irc.test" and pong.params == ["irc.test", "12345"]
    assert a.send("PONG irc.test") == []


def test_whois_on_another_server(net: Net) -> None:
    a = net.client("a")
    err = only(a.send("WHOIS elsewhere.example a"))
    assert err.command == "402" and err.params[1] == "elsewhere.example"
    assert "311" in commands(a.send("WHOIS a a"))  # "ask a's server": that is us


def test_a_failing_handler_answers_400_and_the_server_goes_on(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    from ircish.core.commands import Command

    def broken(server: object, user: object, msg: object) -> None:
        raise RuntimeError("boom")

    net.server.commands["BREAK"] = Command("BREAK", broken)
    a = net.client("a")
    err = only(a.send("BREAK now"))
    assert err.command == "400" and err.params[:2] == ["a", "BREAK"]
    assert "boom" in caplog.text
    assert only(a.send("PING x")).command == "PONG"


def test_oper_only_commands_refuse_before_parsing_further(net: Net) -> None:
    a = net.client("a")
    assert only(a.send("KILL a :x")).command == "481"
    assert only(a.send("KILL")).command in ("461", "481")


def test_numerics_never_exceed_512_bytes(net: Net) -> None:
    a = net.client("a")
    long_name = "x" * 500
    for line in (f"INFO {long_name}", f"WHOIS {long_name}", f"JOIN #{long_name}",
                 f"PRIVMSG {long_name} :hi", f"TOPIC #{long_name}"):
        raw = a.raw()
        a.server.handle(a.user, parse(line))
        raw = a.raw()
        assert raw and all(len(r.encode()) <= 510 for r in raw), line


def test_whowas_with_wildcards(net: Net) -> None:
    net.client("nick2").send("QUIT")
    net.client("other").send("QUIT")
    asker = net.client("asker")
    assert [m.params[1] for m in every(asker.send("WHOWAS *ck2"), "314")] == ["nick2"]
    assert len(every(asker.send("WHOWAS *"), "314")) == 2


def test_links_lists_this_server(make_net: Callable[..., Net]) -> None:
    net = make_net({"server": {"description": "test server"}})
    a = net.client("a")
    msgs = a.send("LINKS")
    assert commands(msgs) == ["364", "365"]
    assert msgs[0].params == ["a", "irc.test", "irc.test", "0 test server"]
    assert msgs[1].params[:2] == ["a", "*"]
    assert commands(a.send("LINKS *.test")) == ["364", "365"]
    assert commands(a.send("LINKS other.example")) == ["365"]

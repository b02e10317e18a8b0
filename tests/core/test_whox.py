"""WHOX (IRCv3): WHO with %fields and a token, answered with 354."""

from __future__ import annotations

from ircish.core.whox import FIELD_ORDER
from tests.core.helpers import Client, Net, commands, isupport, only


def _setup(net: Net) -> tuple[Client, Client]:
    target = net.client("coolNick", username="myuser", realname="My Real Name",
                        ip="10.1.2.3", host="cool.example")
    asker = net.client("asker")
    net.joined("#chan", target, asker)
    return target, asker


def test_whox_is_advertised(net: Net) -> None:
    c = net.raw_client()
    assert "WHOX" in isupport(c.send("NICK a", "USER a 0 * :A"))


def test_every_field_in_the_standard_order(net: Net) -> None:
    _, asker = _setup(net)
    for fields in (FIELD_ORDER, FIELD_ORDER[::-1]):
        reply, end = asker.send(f"WHO coolNick %{fields},123")
        assert reply.command == "354" and end.command == "315"
        assert reply.params == ["asker", "123", "*", "~myuser", "255.255.255.255",
                                "cool.example", net.server.name, "coolNick", "H", "0",
                                reply.params[10], "0", "n/a", "My Real Name"]
        assert reply.params[10].isdigit()
        assert end.params[1] == "coolNick"


def test_channel_query_carries_channel_and_prefix(net: Net) -> None:
    _, asker = _setup(net)
    lines = asker.send("WHO #chan %cnf")
    assert commands(lines) == ["354", "354", "315"]
    by_nick = {m.params[2]: m.params for m in lines[:2]}
    assert by_nick["coolNick"] == ["asker", "#chan", "coolNick", "H@"]
    assert by_nick["asker"] == ["asker", "#chan", "asker", "H"]


def test_token_and_nick(net: Net) -> None:
    _, asker = _setup(net)
    reply, _ = asker.send("WHO coolNick %tn,321")
    assert reply.params == ["asker", "321", "coolNick"]


def test_account_and_away(net: Net) -> None:
    target, asker = _setup(net)
    target.user.account = "coolAcct"
    target.send("AWAY :lunch")
    reply, _ = asker.send("WHO coolNick %naf")
    assert reply.params == ["asker", "coolNick", "G", "coolAcct"]


def test_the_ip_is_shown_to_the_user_itself_and_operators(net: Net) -> None:
    target, asker = _setup(net)
    reply, _ = target.send("WHO coolNick %i")
    assert reply.params == ["coolNick", "10.1.2.3"]
    net.server.set_user_mode(asker.user, "o", True)
    reply, _ = asker.send("WHO coolNick %i")
    assert reply.params == ["asker", "10.1.2.3"]


def test_unknown_fields_are_ignored(net: Net) -> None:
    _, asker = _setup(net)
    reply, _ = asker.send("WHO coolNick %nzQ")
    assert reply.command == "354" and reply.params == ["asker", "coolNick"]
    nothing, end = asker.send("WHO coolNick %z")
    assert nothing.command == "354" and nothing.params == ["asker"]
    assert end.command == "315"


def test_a_bad_token_is_refused(net: Net) -> None:
    _, asker = _setup(net)
    for option in ("%tn,abc", "%tn,1234", "%tn,"):
        fail, end = asker.send(f"WHO coolNick {option}")
        assert fail.command == "FAIL" and fail.params[:2] == ["WHO", "INVALID_PARAMS"]
        assert end.command == "315"


def test_a_t_without_token_is_zero(net: Net) -> None:
    _, asker = _setup(net)
    reply, _ = asker.send("WHO coolNick %tn")
    assert reply.params == ["asker", "0", "coolNick"]


def test_opers_only_filter_before_the_percent(net: Net) -> None:
    target, asker = _setup(net)
    assert commands(asker.send("WHO #chan o%n")) == ["315"]
    net.server.set_user_mode(target.user, "o", True)
    reply = only(asker.send("WHO #chan o%n")[:-1])
    assert reply.params == ["asker", "coolNick"]


def test_plain_who_is_unchanged(net: Net) -> None:
    _, asker = _setup(net)
    reply, _ = asker.send("WHO coolNick")
    assert reply.command == "352"

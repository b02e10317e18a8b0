"""The registration burst's shared lines (002-005, MOTD) are formatted once; each
client's copy must be exactly what formatting its own lines would give."""

from __future__ import annotations

from collections.abc import Callable

from ircish.core.burst import StaticReplies
from ircish.core.extension import Extension
from tests.core.helpers import Net, isupport


def _one_by_one(net: Net, nick: str, kind: str) -> bytes:
    """The lines ``kind`` stands for, formatted per line for ``nick``."""
    server = net.server
    builders = {"welcome": server._welcome_numerics, "motd": server._motd_numerics}
    return b"".join(server.format_numeric(nick, code, params)
                    for code, params in builders[kind]())


def test_cached_lines_equal_lines_formatted_for_the_nick(net: Net) -> None:
    for nick in ("a", "alice", "N" * 30):
        for kind in ("welcome", "motd"):
            assert net.server.static_replies(kind).for_nick(nick) == _one_by_one(net, nick, kind)


def test_a_line_too_long_for_the_nick_is_cut_as_a_numeric_is(
    make_net: Callable[..., Net],
) -> None:
    net = make_net({"server": {"motd": "x" * 490}, "limits": {"nick_length": 40}})
    short, long = "a", "L" * 40
    motd = net.server.static_replies("motd")
    assert motd.for_nick(long) == _one_by_one(net, long, "motd")
    assert motd.for_nick(short) == _one_by_one(net, short, "motd")
    longest = max(len(line) for line in motd.for_nick(long).split(b"\r\n"))
    assert longest == net.server.line_budget


def test_text_holding_the_placeholder_is_formatted_per_client(
    make_net: Callable[..., Net],
) -> None:
    net = make_net({"server": {"motd": "before\x00after"}})
    motd = net.server.static_replies("motd").for_nick("bob")
    assert motd == _one_by_one(net, "bob", "motd")
    assert b" 372 bob :- before\x00after\r\n" in motd


def test_a_token_installed_later_reaches_the_next_client(net: Net) -> None:
    net.client("alice")  # the burst is cached now
    net.server.install(Extension(name="late", isupport={"LATETOKEN": "1"}))
    c = net.raw_client()
    tokens = isupport(c.send("NICK bob", "USER bob 0 * :Bob"))
    assert tokens.get("LATETOKEN") == "1"
    assert b"LATETOKEN=1" in net.server.static_replies("isupport").for_nick("carol")


def test_a_nick_longer_than_any_line_allows_takes_the_formatting_path() -> None:
    calls: list[str] = []

    def fmt(nick: str, code: str, params: object) -> bytes:
        calls.append(nick)
        return f":s {code} {nick} :{'t' * 20}\r\n".encode()

    replies = StaticReplies([("372", ("x",))], fmt, line_budget=40)
    calls.clear()
    assert replies.for_nick("abc") == b":s 372 abc :" + b"t" * 20 + b"\r\n"
    assert calls == []  # within the budget: the cached segments
    replies.for_nick("n" * 12)
    assert calls == ["n" * 12]

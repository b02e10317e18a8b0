"""The ban rule (ircish.core.bans): durations, masks, matching, expiry; no sockets."""

from __future__ import annotations

import pytest

from ircish.core.bans import (
    DLINE,
    KLINE,
    Ban,
    BanList,
    parse_dline_mask,
    parse_duration,
    parse_kline_mask,
)

S = 1_000_000


@pytest.mark.parametrize(("text", "seconds"), [
    ("300", 300), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1d12h", 129600),
    ("1W", 604800), ("45s", 45),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", "0", "0m", "-5", "5x", "1.5h", "h", "1h ", "²", "٣", "1_000", "400d",
    "99999999999999999999", "1h2", "+5",
])
def test_bad_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_kline_masks() -> None:
    assert parse_kline_mask("Bad@Example.COM") == "bad@example.com"
    assert parse_kline_mask("*@203.0.113.*") == "*@203.0.113.*"
    for bad in ("nobody", "@host", "user@", "a@b@c", "*@*", "?@*", "a b@c", "n!u@h", "a,b@c"):
        assert parse_kline_mask(bad) is None, bad


def test_dline_masks() -> None:
    assert parse_dline_mask("203.0.113.7") == "203.0.113.7/32"
    assert parse_dline_mask("203.0.113.7/24") == "203.0.113.0/24"
    assert parse_dline_mask("2001:DB8::/32") == "2001:db8::/32"
    for bad in ("0.0.0.0/0", "::/0", "300", "1.2.3", "1.2.3.4/33", "host.example", ""):
        assert parse_dline_mask(bad) is None, bad


def test_matching_and_expiry() -> None:
    bans = BanList()
    bans.add(Ban(KLINE, "bad*@*.example", "spam", "op", 0, expires=100 * S))
    bans.add(Ban(DLINE, "203.0.113.0/24", "flood", "op", 0))
    assert bans.match_user("badguy", "x.example", "198.51.100.1", 10 * S).reason == "spam"
    assert bans.match_user("Badguy", "X.EXAMPLE", "198.51.100.1", 10 * S) is not None
    assert bans.match_user("good", "x.example", "198.51.100.1", 10 * S) is None
    # A K-line on an address matches a client by its IP too.
    bans.add(Ban(KLINE, "*@198.51.100.9", "ip", "op", 0))
    assert bans.match_user("any", "host.name", "198.51.100.9", 0).reason == "ip"
    # An unverified user name ("~bad") is matched without its "~" too.
    assert bans.match_user("~badguy", "x.example", "192.0.2.1", 10 * S).reason == "spam"
    assert bans.match_ip("203.0.113.200", 0).reason == "flood"
    assert bans.match_ip("::ffff:203.0.113.5", 0).reason == "flood"
    assert bans.match_ip("203.0.114.1", 0) is None
    assert bans.match_ip("not an ip", 0) is None
    # Time is up: the K-line matches no more and goes at the next expire().
    assert bans.match_user("badguy", "x.example", "198.51.100.1", 100 * S) is None
    assert bans.next_expiry() == 100 * S
    assert [b.mask for b in bans.expire(100 * S)] == ["bad*@*.example"]
    assert bans.next_expiry() is None
    assert [b.mask for b in bans.active(DLINE, 0)] == ["203.0.113.0/24"]

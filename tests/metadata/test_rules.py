"""Metadata rules without sockets: keys, values, limits, subscriptions, permissions."""

from __future__ import annotations

from ircish.metadata import rules
from ircish.metadata.rules import Entries, Limits, RateLimit

LIMITS = Limits(max_subs=3, max_keys=2, max_key_bytes=8, max_value_bytes=10, rate_burst=2,
                rate_interval=5.0)


def test_keys_are_a_to_z_digits_and_four_marks_within_the_byte_limit() -> None:
    for key in ("avatar", "a.b/c_d-", "x9"):
        assert rules.valid_key(key, LIMITS), key
    for key in ("", "Avatar", "$url$", "a b", "é", "toolongkey"):
        assert not rules.valid_key(key, LIMITS), key


def test_values_are_limited_in_bytes_not_characters() -> None:
    assert rules.valid_value("0123456789", LIMITS)
    assert not rules.valid_value("0123456789a", LIMITS)
    heart = "\U0001f49c"  # four bytes
    assert rules.valid_value(heart * 2, LIMITS)
    assert not rules.valid_value(heart * 3, LIMITS)
    assert not rules.valid_value("a\nb", LIMITS)


def test_cap_value_names_every_limit() -> None:
    assert Limits().cap_value() == ("before-connect,max-subs=50,max-keys=30,"
                                    "max-key-bytes=64,max-value-bytes=256")


def test_entries_keep_order_refuse_past_max_keys_and_report_changes() -> None:
    entries = Entries()
    assert entries.set("b", "1", LIMITS.max_keys) is True
    assert entries.set("a", "2", LIMITS.max_keys) is True
    assert entries.set("c", "3", LIMITS.max_keys) is None  # full
    assert entries.set("a", "2", LIMITS.max_keys) is False  # same value
    assert entries.set("a", "4", LIMITS.max_keys) is True  # a set key may change when full
    assert list(entries.values.items()) == [("b", "1"), ("a", "4")]
    assert entries.set("zz", None, LIMITS.max_keys) is False  # removing nothing
    assert entries.set("b", None, LIMITS.max_keys) is True
    assert entries.clear() == ["a"]
    assert entries.values == {}


def test_stored_keys_fill_in_but_the_connections_own_win() -> None:
    entries = Entries("alice")
    assert not entries.loaded
    entries.set("avatar", "mine", LIMITS.max_keys)
    added = entries.merge_stored((("avatar", "stored"), ("color", "red"), ("more", "x")),
                                 LIMITS.max_keys)
    assert added == ["color"]  # "more" would pass max_keys
    assert entries.values == {"avatar": "mine", "color": "red"}
    assert entries.loaded


def test_subscribe_stops_at_the_first_key_past_the_limit() -> None:
    subs: set[str] = set()
    out = rules.subscribe(subs, ["a", "$bad", "b", "a"], LIMITS)
    assert (out.ok, out.invalid, out.limit_key, out.new) == (["a", "b", "a"], ["$bad"], None,
                                                            ["a", "b"])
    out = rules.subscribe(subs, ["c", "d", "e"], LIMITS)
    assert (out.ok, out.limit_key, out.new) == (["c"], "d", ["c"])
    assert subs == {"a", "b", "c"}
    # A key already subscribed is acknowledged even when the list is full.
    assert rules.subscribe(subs, ["b"], LIMITS).ok == ["b"]
    assert rules.unsubscribe(subs, ["b", "zz", "B!"], LIMITS) == (["b", "zz"], ["B!"])
    assert subs == {"a", "c"}


def test_who_may_read_a_channel() -> None:
    assert rules.channel_access(set(), member=False, oper=False) == "read"
    assert rules.channel_access({"n", "t"}, member=False, oper=False) == "read"
    assert rules.channel_access({"i"}, member=False, oper=False) == "closed"
    assert rules.channel_access({"k"}, member=False, oper=False) == "closed"
    assert rules.channel_access({"s", "i"}, member=False, oper=False) == "hidden"
    assert rules.channel_access({"p"}, member=False, oper=False) == "hidden"
    assert rules.channel_access({"s", "i"}, member=True, oper=False) == "read"
    assert rules.channel_access({"s"}, member=False, oper=True) == "read"


def test_who_may_change_what() -> None:
    assert rules.may_edit_user(is_self=True, oper=False)
    assert not rules.may_edit_user(is_self=False, oper=False)
    assert rules.may_edit_user(is_self=False, oper=True)
    assert rules.may_edit_channel(is_chanop=True, oper=False)
    assert not rules.may_edit_channel(is_chanop=False, oper=False)
    assert rules.may_edit_channel(is_chanop=False, oper=True)


def test_rate_limit_allows_a_burst_then_names_the_wait() -> None:
    rate = RateLimit(LIMITS.rate_burst, now=100.0)
    assert rate.take(100.0, LIMITS) == 0
    assert rate.take(100.0, LIMITS) == 0
    assert rate.take(100.0, LIMITS) == 5  # one token comes back every 5 s
    assert rate.take(102.0, LIMITS) == 3
    assert rate.take(105.0, LIMITS) == 0
    assert rate.take(105.0, LIMITS) == 5

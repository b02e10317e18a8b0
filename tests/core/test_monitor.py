"""MONITOR (IRCv3 monitor) and extended-monitor, through the core."""

from __future__ import annotations

from collections.abc import Callable

from ircish.core.bots import bot_quit, create_bot
from tests.core.helpers import Net, commands, every, isupport, only


def test_isupport_names_the_limit(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"monitor_entries": 7}})
    c = net.raw_client()
    burst = c.send("NICK a", "USER a 0 * :A")
    assert isupport(burst)["MONITOR"] == "7"


def test_adding_reports_who_is_online_and_offline(net: Net) -> None:
    watcher = net.client("watcher")
    net.client("bar", username="bu")
    lines = watcher.send("MONITOR + bar,baz")
    assert commands(lines) == ["730", "731"]
    assert lines[0].params == ["watcher", "bar!~bu@localhost"]
    assert lines[1].params == ["watcher", "baz"]


def test_connect_quit_and_disconnect_are_announced(net: Net) -> None:
    watcher = net.client("watcher")
    watcher.send("MONITOR + bar")
    bar = net.client("bar")
    [online] = watcher.take()
    assert online.command == "730" and online.params[1].startswith("bar!")
    bar.send("QUIT :bye")
    assert only(watcher.take()).params == ["watcher", "bar"]
    assert watcher.take() == []
    again = net.client("bar")
    assert only(watcher.take()).command == "730"
    again.disconnect()
    assert only(watcher.take()).command == "731"


def test_nick_changes_but_not_case_changes(net: Net) -> None:
    watcher = net.client("watcher")
    watcher.send("MONITOR + qux")
    watcher.take()
    baz = net.client("baz")
    assert watcher.take() == []
    baz.send("NICK qux")
    assert only(watcher.take()).command == "730"
    baz.send("NICK QUX")
    assert watcher.take() == []
    baz.send("NICK other")
    offline = only(watcher.take())
    assert offline.command == "731" and offline.params == ["watcher", "QUX"]


def test_remove_clear_list_and_status(net: Net) -> None:
    watcher = net.client("watcher")
    net.client("bar")
    watcher.send("MONITOR + bar,Baz,qux")
    assert watcher.send("MONITOR - qux") == []
    listed = watcher.send("MONITOR L")
    assert commands(listed) == ["732", "733"]
    assert set(listed[0].params[1].split(",")) == {"bar", "Baz"}
    status = watcher.send("MONITOR S")
    assert sorted(commands(status)) == ["730", "731"]
    assert watcher.send("MONITOR C") == []
    assert commands(watcher.send("MONITOR l")) == ["733"]


def test_duplicates_are_added_once(net: Net) -> None:
    watcher = net.client("watcher")
    watcher.send("MONITOR + bar", "MONITOR + BAR")
    [listed, _] = watcher.send("MONITOR L")
    assert listed.params[1] == "bar"


def test_unmonitored_nicks_bring_nothing(net: Net) -> None:
    a = net.client("a")
    b = net.client("b")
    a.send("MONITOR + qux")
    b.send("MONITOR + qux")
    b.send("MONITOR - qux")
    a.take()
    net.client("qux")
    assert commands(a.take()) == ["730"]
    assert b.take() == []


def test_a_full_list_answers_734_with_what_was_not_added(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"monitor_entries": 2}})
    watcher = net.client("watcher")
    lines = watcher.send("MONITOR + one,two,three,four")
    full = every(lines, "734")
    assert len(full) == 1 and full[0].params[1:3] == ["2", "three,four"]
    assert every(lines, "731")[0].params[1] == "one,two"
    # Already listed nicks are no new entries, so they are never refused.
    assert every(watcher.send("MONITOR + two"), "734") == []


def test_masks_and_bad_nicks_are_refused(net: Net) -> None:
    watcher = net.client("watcher")
    lines = watcher.send("MONITOR + *!user@localhost,ok")
    assert commands(lines) == ["432", "731"]
    net.client("someone")
    assert watcher.take() == []


def test_unknown_subcommand_and_missing_targets(net: Net) -> None:
    watcher = net.client("watcher")
    unknown = only(watcher.send("MONITOR X bar"))
    assert unknown.command == "400" and unknown.params[1:3] == ["MONITOR", "X"]
    assert only(watcher.send("MONITOR +")).command == "461"
    assert only(watcher.send("MONITOR + ,")).command == "461"
    assert only(watcher.send("MONITOR")).command == "461"


def test_the_list_goes_with_the_connection(net: Net) -> None:
    watcher = net.client("watcher")
    watcher.send("MONITOR + bar")
    watcher.disconnect()
    assert net.server.monitors.lists == {} and net.server.monitors.by_nick == {}
    net.client("bar")  # nobody to tell, nothing sent to a gone client


def test_bots_come_and_go_like_users(net: Net) -> None:
    watcher = net.client("watcher")
    watcher.send("MONITOR + helper")
    bot = create_bot(net.server, "helper")
    assert only(watcher.take()).command == "730"
    bot_quit(net.server, bot, "done")
    assert only(watcher.take()).command == "731"


def test_extended_monitor_away_with_the_caps_only(net: Net) -> None:
    ext = net.client("ext", ["extended-monitor", "away-notify"])
    plain = net.client("plain", ["away-notify"])
    target = net.client("target")
    ext.send("MONITOR + target")
    plain.send("MONITOR + target")
    target.send("AWAY :afk")
    away = only(ext.take())
    assert away.command == "AWAY" and away.params == ["afk"]
    assert away.source and away.source.startswith("target!")
    assert plain.take() == []
    target.send("AWAY")
    assert only(ext.take()).params == []


def test_extended_monitor_setname(net: Net) -> None:
    ext = net.client("ext", ["extended-monitor", "setname"])
    no_setname = net.client("other", ["extended-monitor"])
    target = net.client("target")
    ext.send("MONITOR + target")
    no_setname.send("MONITOR + target")
    target.send("SETNAME :new name")
    assert only(ext.take()).params == ["new name"]
    assert no_setname.take() == []


def test_a_peer_that_also_monitors_hears_once(net: Net) -> None:
    ext = net.client("ext", ["extended-monitor", "away-notify"])
    target = net.client("target")
    net.joined("#c", ext, target)
    ext.send("MONITOR + target")
    target.send("AWAY :afk")
    assert commands(ext.take()) == ["AWAY"]

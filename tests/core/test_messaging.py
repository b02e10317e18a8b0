"""PRIVMSG, NOTICE, TAGMSG and the IRCv3 capabilities on the message path."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.core.helpers import Net, commands, every, first, only


def test_privmsg_to_channel_and_user(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    assert alice.send("PRIVMSG #A :hello there") == []  # no echo without echo-message
    msg = only(bob.take())
    assert msg.command == "PRIVMSG" and msg.params == ["#a", "hello there"]
    assert msg.source == "alice!~alice@localhost"
    assert msg.tags == {}
    assert carol.take() == []
    alice.send("PRIVMSG CAROL :psst")
    msg = only(carol.take())
    assert msg.params == ["carol", "psst"]


def test_notice_to_channel_and_user(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    alice.send("NOTICE #a :note", "NOTICE bob :direct")
    msgs = bob.take()
    assert [(m.command, m.params) for m in msgs] == [
        ("NOTICE", ["#a", "note"]), ("NOTICE", ["bob", "direct"])]


def test_several_targets(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    msgs = alice.send("PRIVMSG #a,carol,ghost :hi all")
    assert only(msgs).command == "401" and msgs[0].params[1] == "ghost"
    assert only(bob.take()).params == ["#a", "hi all"]
    assert only(carol.take()).params == ["carol", "hi all"]


def test_too_many_targets(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"targets_per_message": 2}})
    alice, bob = net.client("alice"), net.client("bob")
    err = only(alice.send("PRIVMSG bob,bob,bob :x"))
    assert err.command == "407"
    assert bob.take() == []
    assert alice.send("NOTICE bob,bob,bob :x") == []  # never an error for a NOTICE


def test_privmsg_errors(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    err = only(alice.send("PRIVMSG"))
    assert err.command == "411" and err.params[0] == "alice"
    err = only(alice.send("PRIVMSG #a"))
    assert err.command == "412"
    err = only(alice.send("PRIVMSG #a :"))
    assert err.command == "412"
    assert bob.take() == []
    err = only(alice.send("PRIVMSG ghost :hi"))
    assert err.command == "401" and err.params == ["alice", "ghost", "No such nick/channel"]
    err = only(alice.send("PRIVMSG #nowhere :hi"))
    assert err.command in ("401", "403") and err.params[1] == "#nowhere"


def test_notice_never_gets_errors(net: Net) -> None:
    alice = net.client("alice")
    net.client("bob").send("JOIN #closed", "MODE #closed +m")
    for line in ("NOTICE", "NOTICE #a", "NOTICE ghost :x", "NOTICE #nowhere :x",
                 "NOTICE #closed :x", "NOTICE bob :"):
        assert alice.send(line) == [], line


def test_no_external_messages(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a")
    err = only(bob.send("PRIVMSG #a :from outside"))
    assert err.command == "404" and err.params[:2] == ["bob", "#a"]
    assert alice.take() == []
    alice.send("MODE #a -n")
    assert bob.send("PRIVMSG #a :from outside") == []
    assert only(alice.take()).params == ["#a", "from outside"]


def test_moderated_channel(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    alice.send("MODE #a +m")
    bob.take()
    assert only(bob.send("PRIVMSG #a :hi")).command == "404"
    assert alice.take() == []
    alice.send("MODE #a +v bob")
    bob.take()
    assert bob.send("PRIVMSG #a :now I can") == []
    assert only(alice.take()).params[1] == "now I can"
    assert alice.send("PRIVMSG #a :ops always can") == []


def test_moderated_and_ban_apply_to_outsiders_on_open_channels(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    alice.send("JOIN #a", "MODE #a -n+m")
    assert only(bob.send("PRIVMSG #a :outside")).command == "404"
    alice.send("MODE #a -m", "MODE #a +b bob!*@*")
    assert only(bob.send("PRIVMSG #a :outside")).command == "404"
    assert alice.take() == []


def test_voice_exempts_from_ban_for_speaking(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    alice.send("MODE #a +b bob!*@*", "MODE #a +v bob")
    bob.take()
    assert bob.send("PRIVMSG #a :voiced") == []


def test_statusmsg(net: Net) -> None:
    op, voiced, plain = net.client("op"), net.client("voiced"), net.client("plain")
    net.joined("#a", op, voiced, plain)
    op.send("MODE #a +v voiced")
    voiced.take()
    plain.take()
    op.send("PRIVMSG @#A :ops only")
    assert voiced.take() == [] and plain.take() == []
    op.send("NOTICE +#a :voice and up")
    assert only(voiced.take()).params == ["+#a", "voice and up"]
    assert plain.take() == []
    plain.send("PRIVMSG @#a :to the ops")
    assert only(op.take()).params == ["@#a", "to the ops"]
    assert voiced.take() == []


def test_away_reply_on_privmsg_only(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    assert only(bob.send("AWAY :lunch")).command == "306"
    reply = only(alice.send("PRIVMSG bob :hi"))
    assert reply.command == "301" and reply.params == ["alice", "bob", "lunch"]
    assert only(bob.take()).command == "PRIVMSG"
    assert alice.send("NOTICE bob :hi") == []
    assert only(bob.take()).command == "NOTICE"
    assert only(bob.send("AWAY")).command == "305"
    assert alice.send("PRIVMSG bob :back?") == []


# ---- IRCv3 --------------------------------------------------------------------------------


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")


def test_server_time_and_msgid(net: Net) -> None:
    alice = net.client("alice")
    timed = net.client("timed", caps=["server-time"])
    tagged = net.client("tagged", caps=["message-tags"])
    net.joined("#a", alice, timed, tagged)
    alice.send("PRIVMSG #a :hi")
    t = only(timed.take())
    assert set(t.tags) == {"time"} and _TIME.match(t.tags["time"])
    m = only(tagged.take())
    assert set(m.tags) == {"msgid"} and m.tags["msgid"]
    alice.send("PRIVMSG #a :again")
    assert only(tagged.take()).tags["msgid"] != m.tags["msgid"]


def test_client_tags_relayed_only_with_message_tags(net: Net) -> None:
    sender = net.client("sender", caps=["message-tags"])
    tagged = net.client("tagged", caps=["message-tags"])
    plain = net.client("plain")
    net.joined("#a", sender, tagged, plain)
    sender.send("@+example=a\\sb;draft/notclient=x;+flag PRIVMSG #a :hi")
    m = only(tagged.take())
    assert m.tags["+example"] == "a b"
    assert "+flag" in m.tags
    assert "draft/notclient" not in m.tags
    assert only(plain.take()).tags == {}


def test_client_tags_dropped_from_sender_without_message_tags(net: Net) -> None:
    sender = net.client("sender")
    tagged = net.client("tagged", caps=["message-tags"])
    sender.send("@+example=1 PRIVMSG tagged :hi")
    assert "+example" not in only(tagged.take()).tags


def test_tagmsg(net: Net) -> None:
    sender = net.client("sender", caps=["message-tags", "echo-message"])
    tagged = net.client("tagged", caps=["message-tags"])
    plain = net.client("plain")
    net.joined("#a", sender, tagged, plain)
    echo = only(sender.send("@+typing=active TAGMSG #a"))
    assert echo.command == "TAGMSG" and echo.params == ["#a"]
    m = only(tagged.take())
    assert m.command == "TAGMSG" and m.tags["+typing"] == "active"
    assert m.tags["msgid"] == echo.tags["msgid"]
    assert plain.take() == []
    sender.send("@+typing=done TAGMSG plain")
    assert plain.take() == []
    assert only(sender.send("TAGMSG")).command == "461"


def test_echo_message(net: Net) -> None:
    alice = net.client("alice", caps=["echo-message", "server-time", "message-tags"])
    bob = net.client("bob", caps=["server-time", "message-tags"])
    net.joined("#a", alice, bob)
    echo = only(alice.send("@+x=1 PRIVMSG #a :hi"))
    got = only(bob.take())
    assert echo.params == got.params == ["#a", "hi"]
    assert echo.source == got.source
    assert echo.tags == got.tags
    echo = only(alice.send("NOTICE bob :psst"))
    assert echo.command == "NOTICE" and echo.params == ["bob", "psst"]


def test_echo_message_to_self_is_delivered_and_echoed(net: Net) -> None:
    alice = net.client("alice", caps=["echo-message"])
    delivered, echo = alice.send("PRIVMSG alice :me")
    assert delivered.params == echo.params == ["alice", "me"]


def test_away_notify(net: Net) -> None:
    watcher = net.client("watcher", caps=["away-notify"])
    plain = net.client("plain")
    bob = net.client("bob")
    outsider = net.client("outsider", caps=["away-notify"])
    net.joined("#a", watcher, plain, bob)
    bob.send("AWAY :gone")
    note = only(watcher.take())
    assert note.command == "AWAY" and note.params == ["gone"]
    assert note.source.startswith("bob!")
    assert plain.take() == [] and outsider.take() == []
    bob.send("AWAY")
    note = only(watcher.take())
    assert note.command == "AWAY" and note.params == []


def test_away_notify_on_join(net: Net) -> None:
    watcher = net.client("watcher", caps=["away-notify"])
    plain = net.client("plain")
    net.joined("#a", watcher, plain)
    bob = net.client("bob")
    bob.send("AWAY :already away")
    bob.send("JOIN #a")
    msgs = watcher.take()
    assert commands(msgs) == ["JOIN", "AWAY"]
    assert msgs[1].params == ["already away"] and msgs[1].source.startswith("bob!")
    assert commands(plain.take()) == ["JOIN"]


def test_multi_prefix_in_whois_and_who(net: Net) -> None:
    alice = net.client("alice")
    mp = net.client("mp", caps=["multi-prefix"])
    net.joined("#a", alice, mp)
    alice.send("MODE #a +v alice")
    assert first(mp.send("WHOIS alice"), "319").params[-1] == "@+#a"
    assert first(mp.send("WHO #a"), "352").params[6] == "H@+"
    rows = {m.params[5]: m.params[6] for m in every(alice.send("WHO #a"), "352")}
    assert rows == {"alice": "H@", "mp": "H"}  # without multi-prefix: the highest only


def test_long_message_is_cut_to_fit_the_relayed_line(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    long_text = "b" * 496
    line = f"PRIVMSG #a {long_text}"
    assert len(line) <= 510
    alice.send(line)
    raw = bob.raw()
    assert len(raw) == 1 and len(raw[0].encode()) <= 510
    assert raw[0].endswith("b" * 400)
    # Multi-byte text is cut on a character boundary.
    alice.send("PRIVMSG #a :" + "é" * 250)
    got = only(bob.take())
    assert set(got.params[1]) == {"é"} and len(got.encode().encode()) <= 510
    alice.send("PRIVMSG #a :short")
    assert only(bob.take()).params[1] == "short"


def test_message_to_oneself_arrives_once_without_echo_message(net: Net) -> None:
    plain = net.client("plain")
    got = only(plain.send("PRIVMSG Plain :note to self"))
    assert got.command == "PRIVMSG" and got.params == ["plain", "note to self"]
    assert got.source.startswith("plain!")


def test_caps_changed_after_joining_apply_to_channel_messages(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    alice.send("PRIVMSG #a :before")
    assert only(bob.take()).tags == {}
    bob.send("CAP REQ :server-time message-tags")
    alice.send("PRIVMSG #a :after")
    assert set(only(bob.take()).tags) == {"time", "msgid"}
    alice.send("TAGMSG #a")
    assert only(bob.take()).command == "TAGMSG"
    bob.send("CAP REQ :-server-time -message-tags")
    alice.send("PRIVMSG #a :plain again", "TAGMSG #a")
    assert [(m.command, m.tags) for m in bob.take()] == [("PRIVMSG", {})]

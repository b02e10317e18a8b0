"""RENAME (draft/channel-rename): who may, what members are told, what the channel keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ircish.app import build_server
from ircish.protocol import parse
from ircish.rename.feature import CAP
from ircish.testing import test_config as config_for
from tests.core.helpers import Client, Net, commands, first, only


def rename_net(base: Path, overrides: dict[str, Any] | None = None) -> Net:
    # The features installed as a server runs them (no [storage]: nothing starts).
    return Net(build_server(config_for(base, overrides)).core)


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return rename_net(tmp_path)


def oper(net: Net, client: Client) -> None:
    net.server.set_user_mode(client.user, "o", True)


def test_members_with_the_cap_get_rename_with_the_reason(net: Net) -> None:
    op = net.client("op", [CAP])
    peer = net.client("peer", [CAP])
    net.joined("#old", op, peer)
    mine = only(op.send("RENAME #old #new :better name"))
    assert (mine.command, mine.params) == ("RENAME", ["#old", "#new", "better name"])
    assert mine.source is not None and mine.source.startswith("op!")
    theirs = only(peer.take())
    assert theirs.params == ["#old", "#new", "better name"] and theirs.source == mine.source


def test_the_reason_parameter_is_always_sent(net: Net) -> None:
    op = net.client("op", [CAP])
    net.joined("#old", op)
    net.server.handle(op.user, parse("RENAME #old #new"))
    assert op.raw() == [f":{op.user.source} RENAME #old #new :"]


def test_members_without_the_cap_part_and_join_with_the_burst(net: Net) -> None:
    op = net.client("op", [CAP])
    plain = net.client("plain")
    quiet = net.client("quiet", ["no-implicit-names", "extended-join"])
    net.joined("#old", op, plain, quiet)
    op.send("TOPIC #old :the topic")
    plain.take()
    quiet.take()
    op.send("RENAME #old #new :moving")
    got = plain.take()
    assert commands(got) == ["PART", "JOIN", "332", "333", "353", "366"]
    part, join = got[0], got[1]
    assert part.params == ["#old", "moving"] and part.source.startswith("plain!")
    assert join.params == ["#new"] and join.source.startswith("plain!")
    assert got[2].params[1:] == ["#new", "the topic"]
    assert first(got, "353").params[-1].split() == ["@op", "plain", "quiet"]
    # extended-join's JOIN form; no names for no-implicit-names.
    got = quiet.take()
    assert commands(got) == ["PART", "JOIN", "332", "333"]
    assert got[1].params == ["#new", "*", "quiet real"]


def test_the_renamer_without_the_cap_gets_the_fallback_too(net: Net) -> None:
    op = net.client("op")
    net.joined("#old", op)
    got = op.send("RENAME #old #new")
    assert commands(got) == ["PART", "JOIN", "353", "366"]
    assert got[0].params[0] == "#old" and got[0].params[1]  # a default reason
    assert got[1].params == ["#new"]


def test_a_case_change_is_allowed_and_needs_no_fallback(net: Net) -> None:
    op = net.client("op", [CAP])
    plain = net.client("plain")
    net.joined("#room", op, plain)
    assert only(op.send("RENAME #room #Room")).params == ["#room", "#Room", ""]
    assert plain.take() == []
    channel = net.server.find_channel("#ROOM")
    assert channel is not None and channel.name == "#Room"
    assert first(plain.send("NAMES #room"), "353").params[2] == "#Room"


def test_the_channel_keeps_its_state_and_the_old_name_is_free(net: Net) -> None:
    op = net.client("op", [CAP])
    voiced = net.client("voiced", [CAP])
    invitee = net.client("invitee")
    net.joined("#old", op, voiced)
    op.send("MODE #old +vimntkl voiced sekrit 9", "TOPIC #old :kept topic",
            "MODE #old +b bad!*@*", "MODE #old +e good!*@*", "MODE #old +I friend!*@*",
            "INVITE invitee #old")
    voiced.take()
    before = net.server.find_channel("#old")
    op.send("RENAME #old #New")
    channel = net.server.find_channel("#new")
    assert channel is before and net.server.find_channel("#old") is None
    assert channel.modes >= {"i", "m", "n", "t"} and channel.password == "sekrit"
    assert channel.limit == 9 and channel.topic == "kept topic"
    assert [b[0] for b in channel.bans] == ["bad!*@*"]
    assert [e[0] for e in channel.excepts] == ["good!*@*"]
    assert [i[0] for i in channel.invex] == ["friend!*@*"]
    assert channel.prefix_of(op.user) == "@" and channel.prefix_of(voiced.user) == "+"
    assert set(op.user.channels) == {"#new"} and op.user.channels["#new"] is channel
    # The invitation names the channel, not its old name: it still lets in.
    assert first(invitee.send("JOIN #New", "JOIN #old"), "JOIN").params == ["#New"]
    assert invitee.user in channel.members
    # The old name is free: a new channel with a new first operator.
    fresh = net.server.find_channel("#old")
    assert fresh is not None and fresh is not channel and fresh.is_op(invitee.user)
    # Speaking goes to the renamed channel under its new name.
    op.send("MODE #New -m")
    voiced.take()
    voiced.send("PRIVMSG #new :hello")
    assert first(op.take(), "PRIVMSG").params == ["#New", "hello"]


def test_who_may_rename(net: Net) -> None:
    op = net.client("op", [CAP])
    member = net.client("member", [CAP])
    outsider = net.client("outsider", [CAP])
    ircop = net.client("ircop", [CAP])
    oper(net, ircop)
    net.joined("#room", op, member)
    assert only(member.send("RENAME #room #x")).command == "482"
    assert only(outsider.send("RENAME #room #x")).command == "442"
    assert net.server.find_channel("#room") is not None
    # An IRC operator may rename a channel it is not even in, and is told.
    assert only(ircop.send("RENAME #room #x :by an oper")).command == "RENAME"
    assert only(op.take()).params == ["#room", "#x", "by an oper"]


def test_errors_the_spec_and_the_numerics_give(tmp_path: Path) -> None:
    net = rename_net(tmp_path, {"channels": {"auto_join": ["#lobby"]}})
    op = net.client("op", [CAP])
    net.joined("#room", op)
    net.joined("#taken", net.client("other"))
    op.take()  # the auto-join of the others

    def answer(line: str) -> tuple[str, list[str]]:
        reply = only(op.send(line))
        return reply.command, reply.params

    assert answer("RENAME #room")[0] == "461"
    assert answer("RENAME #nowhere #x") == ("403", ["op", "#nowhere", "No such channel"])
    command, params = answer("RENAME #room #TAKEN :mine")
    assert (command, params[:4]) == ("FAIL", ["RENAME", "CHANNEL_NAME_IN_USE", "#room", "#TAKEN"])
    command, params = answer("RENAME #room &local")
    assert (command, params[:4]) == ("FAIL", ["RENAME", "CANNOT_RENAME", "#room", "&local"])
    for bad in ("#", "#a,b", "#" + "x" * 80, "#bell\x07"):
        assert answer(f"RENAME #room :{bad}")[0] == "476", bad
    assert answer("RENAME #room #room")[1][:2] == ["RENAME", "CANNOT_RENAME"]
    # The config joins clients to it by name: renaming it would bring it back.
    command, params = answer("RENAME #lobby #hall")
    assert (command, params[:2]) == ("FAIL", ["RENAME", "CANNOT_RENAME"])
    assert net.server.find_channel("#room") is not None
    assert net.server.find_channel("#lobby") is not None


def test_a_registered_channel_only_by_its_founder(net: Net) -> None:
    op = net.client("op", [CAP])
    net.joined("#reg", op)
    channel = net.server.find_channel("#reg")
    channel.founder = "Alice"
    reply = only(op.send("RENAME #reg #other"))
    assert reply.command == "FAIL" and reply.params[:2] == ["RENAME", "CANNOT_RENAME"]
    op.user.account = "alice"
    assert only(op.send("RENAME #reg #other")).command == "RENAME"
    assert net.server.find_channel("#other").founder == "Alice"


def test_a_labeled_rename_answers_in_its_label(net: Net) -> None:
    op = net.client("op", [CAP, "labeled-response", "batch", "message-tags"])
    net.joined("#old", op)
    reply = only(op.send("@label=r1 RENAME #old #new"))
    assert reply.command == "RENAME" and reply.tags.get("label") == "r1"


def test_rename_is_offered_and_has_help(net: Net) -> None:
    asker = net.client("asker")
    ls = " ".join(m.params[-1] for m in asker.send("CAP LS 302"))
    assert CAP in ls.split()
    assert "RENAME" in " ".join(m.params[-1] for m in asker.send("HELP RENAME"))


def test_read_markers_follow_the_channel(net: Net) -> None:
    op = net.client("op", [CAP])
    reader = net.client("reader", ["draft/read-marker"])
    net.joined("#old", op, reader)
    stamp = "timestamp=2026-01-02T03:04:05.678Z"
    assert only(reader.send(f"MARKREAD #old {stamp}")).params == ["#old", stamp]
    op.send("RENAME #old #new")
    got = reader.take()
    # The fallback's JOIN burst carries the marker, under the new name, before the names.
    assert commands(got) == ["PART", "JOIN", "MARKREAD", "353", "366"]
    assert got[2].params == ["#new", stamp]
    assert only(reader.send("MARKREAD #new")).params == ["#new", stamp]
    assert only(reader.send("MARKREAD #old")).params == ["#old", "*"]


def test_a_message_said_before_the_rename_can_be_redacted_after(net: Net) -> None:
    caps = [CAP, "message-tags", "echo-message", "draft/message-redaction"]
    op = net.client("op", caps)
    net.joined("#old", op)
    msgid = first(op.send("PRIVMSG #old :oops"), "PRIVMSG").tags["msgid"]
    op.send("RENAME #old #new")
    redact = only(op.send(f"REDACT #new {msgid}"))
    assert (redact.command, redact.params) == ("REDACT", ["#new", msgid])


def test_an_open_multiline_batch_follows_the_channel_to_its_new_name(net: Net) -> None:
    caps = [CAP, "message-tags", "batch", "echo-message", "draft/multiline"]
    op = net.client("op", [CAP])
    writer = net.client("writer", caps)
    reader = net.client("reader", ["batch"])  # no multiline: the fallback's plain lines
    other = net.client("other", caps)
    net.joined("#old", op, writer, reader)
    net.joined("#elsewhere", other)
    assert writer.send("BATCH +r1 draft/multiline #old", "@batch=r1 PRIVMSG #old :one") == []
    assert other.send("BATCH +o1 draft/multiline #elsewhere",
                      "@batch=o1 PRIVMSG #elsewhere :mine") == []
    op.send("RENAME #old #new")
    writer.take()
    reader.take()
    # The old name is free again; a new channel under it is not the batch's target.
    stranger = net.client("stranger")
    net.joined("#old", stranger)
    # One line the client sent before it saw the RENAME, one after.
    echo = writer.send("@batch=r1 PRIVMSG #old :two", "@batch=r1 PRIVMSG #new :three",
                       "BATCH -r1")
    assert "FAIL" not in commands(echo) and "403" not in commands(echo)
    start = first(echo, "BATCH")
    assert start.params[1:] == ["draft/multiline", "#new"]
    assert [(m.params[0], m.params[1]) for m in echo if m.command == "PRIVMSG"] == [
        ("#new", "one"), ("#new", "two"), ("#new", "three")]
    assert [(m.command, m.params) for m in reader.take()] == [
        ("PRIVMSG", ["#new", "one"]), ("PRIVMSG", ["#new", "two"]),
        ("PRIVMSG", ["#new", "three"])]
    assert stranger.take() == []
    # A batch to another channel is left as it was.
    theirs = other.send("BATCH -o1")
    assert first(theirs, "BATCH").params[1:] == ["draft/multiline", "#elsewhere"]


def test_a_batch_line_naming_a_channel_the_target_never_was_is_still_refused(
        net: Net) -> None:
    caps = [CAP, "message-tags", "batch", "echo-message", "draft/multiline"]
    op = net.client("op", [CAP])
    writer = net.client("writer", caps)
    net.joined("#old", op, writer)
    writer.send("BATCH +r1 draft/multiline #old", "@batch=r1 PRIVMSG #old :one")
    op.send("RENAME #old #new")
    writer.take()
    fail = only(writer.send("@batch=r1 PRIVMSG #other :two"))
    assert fail.params[:4] == ["BATCH", "MULTILINE_INVALID_TARGET", "#new", "#other"]


def test_a_statusmsg_batch_keeps_its_prefix_under_the_new_name(net: Net) -> None:
    caps = [CAP, "message-tags", "batch", "echo-message", "draft/multiline"]
    op = net.client("op", [CAP])
    writer = net.client("writer", caps)
    voiced = net.client("voiced", caps)
    net.joined("#old", op, writer, voiced)
    op.send("MODE #old +o writer", "MODE #old +v voiced")
    writer.take()
    voiced.take()
    assert writer.send("BATCH +r1 draft/multiline @#old",
                       "@batch=r1 PRIVMSG @#old :ops only") == []
    op.send("RENAME #old #new")
    writer.take()
    voiced.take()
    echo = writer.send("@batch=r1 PRIVMSG @#new :still", "BATCH -r1")
    assert first(echo, "BATCH").params[1:] == ["draft/multiline", "@#new"]
    assert voiced.take() == []  # +v is below @
    assert first(op.take(), "PRIVMSG").params == ["@#new", "ops only"]

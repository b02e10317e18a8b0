"""Connection registration: CAP, PASS, NICK, USER, the welcome burst, and the
errors a client can hit before and during it."""

from __future__ import annotations

from collections.abc import Callable

from ircish.protocol import casefold, parse
from tests.core.helpers import Net, commands, every, first, isupport, only


def test_nick_user_registers_with_full_burst(net: Net) -> None:
    c = net.raw_client()
    assert c.send("NICK alice") == []
    msgs = c.send("USER alice 0 * :Alice Liddell")
    cmds = commands(msgs)
    for code in ("001", "002", "003", "004", "005", "251", "255", "375", "372", "376"):
        assert code in cmds, code
    assert cmds[:4] == ["001", "002", "003", "004"]
    welcome = first(msgs, "001")
    assert welcome.source == "irc.test"
    assert welcome.params[0] == "alice"
    assert "alice!~alice@localhost" in welcome.params[-1]
    myinfo = first(msgs, "004")
    assert myinfo.params[1] == "irc.test"
    assert "i" in myinfo.params[3] and "o" in myinfo.params[3]
    assert set("biklmnstov") <= set(myinfo.params[4])
    # LUSERS comes before the MOTD, and the MOTD ends the burst.
    assert cmds.index("251") < cmds.index("375") and cmds[-1] == "376"


def test_user_then_nick_also_registers(net: Net) -> None:
    c = net.raw_client()
    assert c.send("USER bob 0 * :Bob") == []
    assert "001" in commands(c.send("NICK bob"))


def test_isupport_tokens(net: Net) -> None:
    c = net.raw_client()
    msgs = c.send("NICK alice", "USER alice 0 * :A")
    tokens = isupport(msgs)
    for name in ("CASEMAPPING", "CHANTYPES", "CHANMODES", "PREFIX", "NICKLEN", "CHANNELLEN",
                 "TOPICLEN", "KICKLEN", "AWAYLEN", "CHANLIMIT", "MAXTARGETS", "TARGMAX",
                 "NETWORK", "STATUSMSG"):
        assert name in tokens, name
    assert tokens["CASEMAPPING"] == "rfc1459"
    assert tokens["CHANTYPES"] == "#"
    assert tokens["PREFIX"] == "(ov)@+"
    groups = tokens["CHANMODES"].split(",")
    assert len(groups) == 4
    assert "b" in groups[0] and "k" in groups[1] and "l" in groups[2]
    assert set("imnst") <= set(groups[3])
    assert tokens["STATUSMSG"] == "@+"
    assert tokens["NICKLEN"] == "30"
    assert tokens["CHANLIMIT"] == "#:100"
    assert tokens["NETWORK"] == "ircish"
    targmax = dict(item.split(":", 1) for item in tokens["TARGMAX"].split(","))
    assert targmax["PRIVMSG"] == tokens["MAXTARGETS"] == "4"
    for m in every(msgs, "005"):
        assert m.params[-1] == "are supported by this server"
        assert len(m.params) <= 15
    # A token with no value is sent bare, never as "KEY=" (Modern: ELIST needs a value).
    for key, value in tokens.items():
        if key == "ELIST":
            assert value, "ELIST must list its extensions"


def test_isupport_follows_configured_limits(make_net: Callable[..., Net]) -> None:
    net = make_net({"limits": {"nick_length": 12, "topic_length": 100, "targets_per_message": 2},
                    "server": {"network": "TestNet"}})
    c = net.raw_client()
    tokens = isupport(c.send("NICK a", "USER a 0 * :a"))
    assert tokens["NICKLEN"] == "12"
    assert tokens["TOPICLEN"] == "100"
    assert tokens["MAXTARGETS"] == "2"
    assert tokens["NETWORK"] == "TestNet"


def test_motd_missing_gives_422(make_net: Callable[..., Net]) -> None:
    net = make_net({"server": {"motd": ""}})
    c = net.raw_client()
    msgs = c.send("NICK a", "USER a 0 * :a")
    assert "422" in commands(msgs)
    assert "375" not in commands(msgs)
    assert "001" in commands(msgs)


def test_motd_file(make_net: Callable[..., Net], tmp_path) -> None:
    (tmp_path / "motd.txt").write_text("line one\nline two\n")
    net = make_net({"server": {"motd_file": "motd.txt"}})
    c = net.client("a")
    msgs = c.send("MOTD")
    assert [m.params[1] for m in every(msgs, "372")] == ["- line one", "- line two"]


# ---- 451 before registration ------------------------------------------------------------


def test_commands_before_registration_get_451(net: Net) -> None:
    c = net.raw_client()
    for line in ("JOIN #a", "PRIVMSG x :hi", "WHOIS x", "MODE x", "LIST", "FOOBAR"):
        reply = only(c.send(line))
        assert reply.command == "451", line
        assert reply.params[0] == "*"
    c.send("NICK alice")
    reply = only(c.send("JOIN #a"))
    assert reply.command == "451" and reply.params[0] == "alice"


def test_ping_pong_quit_allowed_before_registration(net: Net) -> None:
    c = net.raw_client()
    pong = only(c.send("PING :tok en"))
    assert pong.command == "PONG" and pong.params == ["irc.test", "tok en"]
    assert c.send("PONG :x") == []
    msgs = c.send("QUIT :bye")
    assert only(msgs).command == "ERROR"
    assert c.sink.closed is not None


def test_numeric_echo_before_registration_is_ignored(net: Net) -> None:
    c = net.raw_client()
    assert c.send("001 foo") == []


# ---- NICK ---------------------------------------------------------------------------------


def test_nick_errors(net: Net) -> None:
    c = net.raw_client()
    assert only(c.send("NICK")).command == "431"
    assert only(c.send("NICK :")).command == "431"
    for bad in ("1abc", "-abc", "*", "a!b", "a@b", "#chan", "a" * 31, "a,b", "ümlaut"):
        reply = only(c.send(f"NICK :{bad}"))
        assert reply.command == "432", bad
        assert reply.params[:2] == ["*", bad]
    for good in ("a", "[x]", "a\\b", "a-b", "`ab", "a^b", "{x}|_", "a" * 30):
        assert c.send(f"NICK :{good}") == [], good


def test_star_nick_then_valid_nick_registers(net: Net) -> None:
    c = net.raw_client()
    msgs = c.send("NICK *", "USER u s e r")
    assert "432" in commands(msgs) and "001" not in commands(msgs)
    assert "001" in commands(c.send("NICK valid"))


def test_nick_in_use_is_casemapping_aware(net: Net) -> None:
    net.client("Alice[x]")
    c = net.raw_client()
    for taken in ("Alice[x]", "alice[x]", "ALICE{X}", "alice{x}"):
        reply = only(c.send(f"NICK {taken}"))
        assert reply.command == "433", taken
        assert reply.params[:2] == ["*", taken]
    assert c.send("NICK alice") == []


def test_tilde_and_caret_fold_together(net: Net) -> None:
    # rfc1459 casemapping: ~ and ^ are the same letter (only ^ is valid in a nick).
    assert casefold("a~b") == casefold("a^b")
    assert casefold("[]\\") == "{}|"


def test_nick_collision_between_unregistered_connections(net: Net) -> None:
    a = net.raw_client()
    b = net.raw_client()
    a.send("NICK foo")
    b.send("NICK foo")
    assert "001" in commands(a.send("USER u 0 * :r"))
    msgs = b.send("USER u 0 * :r")
    assert "433" in commands(msgs) and "001" not in commands(msgs)
    assert "001" in commands(b.send("NICK foo2"))


def test_nick_of_unregistered_connection_is_not_reserved(net: Net) -> None:
    a = net.raw_client()
    a.send("NICK alice", "QUIT")
    b = net.raw_client()
    assert "001" in commands(b.send("NICK alice", "USER u 0 * :r"))


def test_nick_released_after_change_and_quit(net: Net) -> None:
    alice = net.client("alice")
    alice.send("NICK malice")
    assert "001" in commands(net.raw_client().send("NICK alice", "USER u 0 * :r"))
    alice.send("QUIT")
    assert "001" in commands(net.raw_client().send("NICK MALICE", "USER u 0 * :r"))


def test_nick_change_broadcast_to_channel_peers_once(net: Net) -> None:
    alice, bob, carol, dave = (net.client(n) for n in ("alice", "bob", "carol", "dave"))
    net.joined("#a", alice, bob, carol)
    net.joined("#b", alice, bob)
    change = only(alice.send("NICK Alicia"))
    assert change.command == "NICK" and change.params == ["Alicia"]
    assert change.source == "alice!~alice@localhost"
    assert only(bob.take()).params == ["Alicia"]  # two shared channels, one line
    assert only(carol.take()).command == "NICK"
    assert dave.take() == []
    assert net.server.find_user("alicia") is alice.user
    assert net.server.find_user("alice") is None


def test_nick_case_change_and_noop(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#t", alice, bob)
    assert only(alice.send("NICK Alice")).params == ["Alice"]
    assert only(bob.take()).params == ["Alice"]
    assert alice.send("NICK Alice") == []
    assert bob.take() == []


def test_failed_nick_change_keeps_old_nick(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    reply = only(bob.send("NICK ALICE"))
    assert reply.command == "433" and reply.params[:2] == ["bob", "ALICE"]
    alice.send("PRIVMSG bob :hi")
    assert only(bob.take()).params == ["bob", "hi"]


# ---- USER and PASS ----------------------------------------------------------------------


def test_user_needs_four_params_and_a_realname(net: Net) -> None:
    c = net.raw_client()
    reply = only(c.send("USER a 0 *"))
    assert reply.command == "461" and reply.params[:2] == ["*", "USER"]
    c.send("NICK foo")
    reply = only(c.send("USER username * * :"))
    assert reply.command == "461" and reply.params[1] == "USER"
    assert not c.user.registered


def test_user_and_pass_after_registration_give_462(net: Net) -> None:
    c = net.client("alice")
    assert only(c.send("USER a 0 * :x")).command == "462"
    assert only(c.send("PASS secret")).command == "462"


def test_username_is_sanitised_and_marked_unverified(net: Net) -> None:
    c = net.client("alice", username="a*l:ice")
    assert c.user.username == "~alice"
    assert c.user.source == "alice!~alice@localhost"


def test_server_password(make_net: Callable[..., Net]) -> None:
    net = make_net({"server": {"password": "sesame"}})
    good = net.raw_client()
    assert "001" in commands(good.send("PASS sesame", "NICK a", "USER a 0 * :a"))
    bad = net.raw_client()
    msgs = bad.send("PASS wrong", "NICK b", "USER b 0 * :b")
    assert commands(msgs) == ["464", "ERROR"]
    assert bad.sink.closed is not None
    missing = net.raw_client()
    msgs = missing.send("NICK c", "USER c 0 * :c")
    assert "001" not in commands(msgs) and "464" in commands(msgs)
    late = net.raw_client()
    msgs = late.send("NICK d", "USER d 0 * :d", "PASS sesame")
    assert "001" not in commands(msgs)
    assert only(net.raw_client().send("PASS")).command == "461"


# ---- CAP --------------------------------------------------------------------------------


def test_cap_ls_301_has_no_values_and_is_one_line(net: Net) -> None:
    c = net.raw_client()
    reply = only(c.send("CAP LS"))
    assert reply.command == "CAP" and reply.params[:2] == ["*", "LS"]
    caps = reply.params[2].split()
    assert not any("=" in cap for cap in caps)
    for cap in ("multi-prefix", "cap-notify", "server-time", "message-tags", "echo-message",
                "userhost-in-names", "away-notify"):
        assert cap in caps


def test_cap_ls_302_holds_registration_until_end(net: Net) -> None:
    c = net.raw_client()
    ls = only(c.send("CAP LS 302"))
    assert ls.params[1] == "LS"
    assert c.send("NICK alice", "USER alice 0 * :A") == []
    assert not c.user.registered
    ack = only(c.send("CAP REQ :multi-prefix server-time"))
    assert ack.params == ["*", "ACK", "multi-prefix server-time"] or ack.params == [
        "alice", "ACK", "multi-prefix server-time"]
    msgs = c.send("CAP END")
    assert "001" in commands(msgs)
    assert {"multi-prefix", "server-time"} <= c.user.caps


def test_cap_req_before_nick_also_holds_registration(net: Net) -> None:
    c = net.raw_client()
    c.send("CAP REQ :echo-message")
    assert c.send("NICK a", "USER a 0 * :a") == []
    assert "001" in commands(c.send("CAP END"))


def test_cap_nak_is_all_or_nothing_with_exact_text(net: Net) -> None:
    c = net.raw_client()
    nak = only(c.send("CAP REQ :multi-prefix foo"))
    assert nak.params == ["*", "NAK", "multi-prefix foo"]
    assert c.user.caps == set()
    nak = only(c.send("CAP REQ :foo qux bar baz qux quux"))
    assert nak.params[2] == "foo qux bar baz qux quux"


def test_cap_list_and_removal(net: Net) -> None:
    c = net.raw_client()
    empty = only(c.send("CAP LIST"))
    assert empty.params == ["*", "LIST", ""]
    c.send("CAP REQ :multi-prefix away-notify")
    listed = only(c.send("CAP LIST"))
    assert set(listed.params[2].split()) == {"multi-prefix", "away-notify"}
    ack = only(c.send("CAP REQ :-multi-prefix"))
    assert ack.params[1:] == ["ACK", "-multi-prefix"]
    assert set(only(c.send("CAP LIST")).params[2].split()) == {"away-notify"}


def test_cap_unknown_subcommand_and_missing_param(net: Net) -> None:
    c = net.raw_client()
    reply = only(c.send("CAP FOO"))
    assert reply.command == "410" and reply.params[1] == "FOO"
    reply = only(c.send("CAP"))
    assert reply.command == "461" and reply.params[1] == "CAP"


def test_cap_after_registration(net: Net) -> None:
    c = net.client("alice")
    ls = only(c.send("CAP LS 302"))
    assert ls.params[0] == "alice"
    ack = only(c.send("CAP REQ :server-time"))
    assert ack.params == ["alice", "ACK", "server-time"]
    assert c.user.registered
    assert c.send("CAP END") == []


def test_cap_302_implies_cap_notify_and_gets_new_del(net: Net) -> None:
    modern = net.client("modern", caps=["multi-prefix"])
    old = net.raw_client()
    old.send("CAP LS", "NICK old", "USER old 0 * :o", "CAP END")
    old.take()
    asked = net.client("asked", caps=[])
    asked.send("CAP REQ :cap-notify")
    asked.take()
    net.server.capabilities["draft/example"] = "v1"
    net.server.broadcast_cap("draft/example", added=True)
    new = only(modern.take())
    assert new.params == ["modern", "NEW", "draft/example=v1"]
    assert old.take() == []
    assert only(asked.take()).params[1] == "NEW"
    del net.server.capabilities["draft/example"]
    net.server.broadcast_cap("draft/example", added=False)
    assert only(modern.take()).params == ["modern", "DEL", "draft/example"]


def test_cap_ls_302_values_shown(net: Net) -> None:
    net.server.capabilities["draft/example"] = "a,b"
    c = net.raw_client()
    caps = only(c.send("CAP LS 302")).params[-1].split()
    assert "draft/example=a,b" in caps
    caps = only(c.send("CAP LS")).params[-1].split()
    assert "draft/example=a,b" in caps  # the client already said 302


# ---- PING, QUIT, LUSERS ---------------------------------------------------------------------


def test_ping_without_token(net: Net) -> None:
    c = net.client("alice")
    reply = only(c.send("PING"))
    assert reply.command in ("409", "461")


def test_quit_broadcasts_reason_and_closes(net: Net) -> None:
    alice, bob, carol = net.client("alice"), net.client("bob"), net.client("carol")
    net.joined("#a", alice, bob)
    msgs = alice.send("QUIT :gone fishing")
    assert commands(msgs) == ["ERROR"]
    assert alice.sink.closed is not None
    quit_msg = only(bob.take())
    assert quit_msg.command == "QUIT" and quit_msg.source.startswith("alice!")
    assert "gone fishing" in quit_msg.params[0]
    assert carol.take() == []
    assert net.server.find_user("alice") is None
    assert net.server.find_channel("#a").members.keys() == {bob.user}


def test_quit_without_reason(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    alice.send("QUIT")
    assert only(bob.take()).command == "QUIT"


def test_connection_drop_announces_quit(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    net.joined("#a", alice, bob)
    alice.disconnect("Connection reset")
    assert only(bob.take()).params == ["Connection reset"]
    # The channel was left: nothing more goes to the closed connection.
    bob.send("PRIVMSG #a :hello?")
    assert alice.take() == []


def test_lusers_counts(net: Net) -> None:
    a = net.client("a")
    b = net.client("b")
    b.send("MODE b +i")
    net.raw_client()  # an unregistered connection
    a.send("JOIN #x")
    msgs = a.send("LUSERS")
    assert commands(msgs) == ["251", "252", "253", "254", "255", "265", "266"]
    assert first(msgs, "251").params[1] == "There are 1 users and 1 invisible on 1 servers"
    assert first(msgs, "252").params[1] == "0"
    assert first(msgs, "253").params[1] == "1"
    assert first(msgs, "254").params[1] == "1"
    assert first(msgs, "255").params[1] == "I have 2 clients and 0 servers"
    assert first(msgs, "265").params[1:3] == ["2", "2"]
    assert first(msgs, "266").params[1:3] == ["2", "2"]


def test_nick_with_space_echoes_a_well_formed_432(net: Net) -> None:
    c = net.raw_client()
    c.server.handle(c.user, parse("NICK :a b"))
    raw = c.raw()
    assert raw == [":irc.test 432 * a :Erroneous nickname"]
    assert c.user.nick == "*"


def test_lusers_remembers_the_peak(net: Net) -> None:
    a, b = net.client("a"), net.client("b")
    b.send("QUIT")
    msgs = a.send("LUSERS")
    assert first(msgs, "265").params[1:3] == ["1", "2"]
    assert first(msgs, "266").params[1:3] == ["1", "2"]
    assert "max 2" in first(msgs, "266").params[3]


def test_long_cap_ls_302_spans_lines(net: Net) -> None:
    for i in range(40):
        net.server.capabilities[f"draft/example-capability-{i:02d}"] = ""
    c = net.raw_client()
    msgs = c.send("CAP LS 302")
    assert len(msgs) > 1
    assert all(m.params[2] == "*" for m in msgs[:-1])
    assert msgs[-1].params[2] != "*"
    caps = [cap for m in msgs for cap in m.params[-1].split()]
    assert len(caps) == len(net.server.capabilities)
    assert all(len(m.encode()) <= 510 for m in msgs)


def test_username_fits_userlen_with_its_tilde(net: Net) -> None:
    c = net.client("alice", username="u" * 40)
    userlen = int(isupport(net.raw_client().send("NICK z", "USER z 0 * :z"))["USERLEN"])
    assert c.user.username == "~" + "u" * (userlen - 1)

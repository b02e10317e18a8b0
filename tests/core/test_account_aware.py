"""account-tag, extended-join and bot mode (+B) in the core, without sockets.

The account is set on the user as the accounts feature would after a login:
these tests are about which lines carry it, not how it was obtained (see
tests/accounts/test_account_aware.py for that, over sockets).
"""

from __future__ import annotations

from tests.core.helpers import Net, commands, every, first, isupport, only


def test_account_tag_on_messages_from_a_logged_in_sender(net: Net) -> None:
    alice = net.client("alice")
    tagged = net.client("tagged", ["account-tag"])
    plain = net.client("plain")
    net.joined("#a", alice, tagged, plain)
    alice.user.account = "Alice"
    alice.send("PRIVMSG #a :hi", "NOTICE tagged :psst", "PRIVMSG tagged :yo")
    got = tagged.take()
    assert [(m.command, m.tags) for m in got] == [
        ("PRIVMSG", {"account": "Alice"}), ("NOTICE", {"account": "Alice"}),
        ("PRIVMSG", {"account": "Alice"})]
    assert only(plain.take()).tags == {}


def test_no_account_tag_when_not_logged_in(net: Net) -> None:
    alice, tagged = net.client("alice"), net.client("tagged", ["account-tag"])
    net.joined("#a", alice, tagged)
    alice.send("PRIVMSG #a :hi")
    assert only(tagged.raw()) == ":alice!~alice@localhost PRIVMSG #a hi"


def test_account_tag_with_other_tags_and_on_tagmsg(net: Net) -> None:
    alice = net.client("alice", ["message-tags"])
    bob = net.client("bob", ["account-tag", "message-tags", "server-time"])
    alice.user.account = "alice"
    alice.send("@+typing=active TAGMSG bob")
    msg = only(bob.take())
    assert msg.command == "TAGMSG"
    assert msg.tags["account"] == "alice" and msg.tags["+typing"] == "active"
    assert "msgid" in msg.tags and "time" in msg.tags


def test_account_tag_on_other_commands_from_the_user(net: Net) -> None:
    alice = net.client("alice")
    bob = net.client("bob", ["account-tag", "away-notify"])
    net.joined("#a", alice, bob)
    alice.user.account = "alice"
    alice.send("TOPIC #a :new topic", "MODE #a +m", "AWAY :gone", "NICK alice2",
               "PART #a :bye")
    got = bob.take()
    assert commands(got) == ["TOPIC", "MODE", "AWAY", "NICK", "PART"]
    assert all(m.tags.get("account") == "alice" for m in got), [m.encode() for m in got]
    alice.send("JOIN #b")
    alice.take()
    alice.send("INVITE bob #b")
    assert only(bob.take()).tags == {"account": "alice"}


def test_account_tag_follows_the_current_account(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob", ["account-tag"])
    net.joined("#a", alice, bob)
    alice.user.account = "one"
    alice.send("PRIVMSG #a :a")
    alice.user.account = None
    alice.send("PRIVMSG #a :b")
    alice.user.account = "two"
    alice.send("PRIVMSG #a :c")
    assert [m.tags.get("account") for m in bob.take()] == ["one", None, "two"]


def test_account_tag_on_the_quit(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob", ["account-tag"])
    net.joined("#a", alice, bob)
    alice.user.account = "alice"
    alice.send("QUIT :done")
    assert first(bob.take(), "QUIT").tags == {"account": "alice"}


def test_account_tag_on_echo(net: Net) -> None:
    alice = net.client("alice", ["account-tag", "echo-message"])
    net.client("bob")
    alice.user.account = "alice"
    assert only(alice.send("PRIVMSG bob :hi")).tags == {"account": "alice"}


def test_caps_are_offered(net: Net) -> None:
    c = net.raw_client()
    ls = " ".join(m.params[-1] for m in c.send("CAP LS 302"))
    assert {"account-tag", "extended-join"} <= set(ls.split())


def test_extended_join(net: Net) -> None:
    ext = net.client("ext", ["extended-join"])
    plain = net.client("plain")
    net.joined("#a", ext, plain)
    guest = net.client("guest", realname="Just Visiting")
    guest.send("JOIN #a")
    assert only(every(ext.take(), "JOIN")).params == ["#a", "*", "Just Visiting"]
    assert only(every(plain.take(), "JOIN")).params == ["#a"]
    member = net.client("member", realname="Real Name")
    member.user.account = "Member"
    member.send("JOIN #a")
    assert only(ext.take()).params == ["#a", "Member", "Real Name"]


def test_extended_join_own_join(net: Net) -> None:
    ext = net.client("ext", ["extended-join"], realname="Me Myself")
    assert first(ext.send("JOIN #a"), "JOIN").params == ["#a", "*", "Me Myself"]


def test_extended_join_after_cap_req_when_already_in_the_channel(net: Net) -> None:
    late, other = net.client("late"), net.client("other", realname="R")
    net.joined("#a", late)
    late.send("CAP REQ :extended-join")
    other.send("JOIN #a")
    assert only(late.take()).params == ["#a", "*", "R"]
    late.send("CAP REQ :-extended-join")
    other.send("PART #a", "JOIN #a")
    assert [m.params for m in late.take()] == [["#a"], ["#a"]]


def test_extended_join_with_an_empty_realname(net: Net) -> None:
    ext = net.client("ext", ["extended-join"])
    net.joined("#a", ext)
    odd = net.client("odd")
    odd.user.realname = ""  # USER refuses one, but a line must still parse back
    odd.send("JOIN #a")
    assert only(ext.raw()) == ":odd!~odd@localhost JOIN #a * :"


# ---- bot mode ----------------------------------------------------------------------------


def test_bot_isupport_always(net: Net) -> None:
    c = net.raw_client()
    assert isupport(c.send("NICK x", "USER x 0 * :x"))["BOT"] == "B"


def test_mode_plus_b(net: Net) -> None:
    bot = net.client("robo")
    got = only(bot.send("MODE robo +B"))
    assert got.command == "MODE" and got.params == ["robo", "+B"]
    assert got.source == "robo!~robo@localhost"
    assert "B" in bot.user.modes
    assert bot.send("MODE robo +B") == []  # no change, no line
    assert only(bot.send("MODE robo")).params[-1] == "+B"
    assert only(bot.send("MODE robo -B")).params == ["robo", "-B"]
    assert "B" not in bot.user.modes


def test_mode_plus_b_on_someone_else_is_502(net: Net) -> None:
    alice, bob = net.client("alice"), net.client("bob")
    got = only(alice.send("MODE bob +B"))
    assert got.command == "502"
    assert "B" not in bob.user.modes
    assert bob.take() == []


def test_unknown_user_mode_still_501(net: Net) -> None:
    alice = net.client("alice")
    assert commands(alice.send("MODE alice +BZ")) == ["501", "MODE"]
    assert "B" in alice.user.modes


def test_whois_and_who_show_a_bot(net: Net) -> None:
    bot, user = net.client("robo"), net.client("user")
    net.joined("#a", bot, user)
    got = user.send("WHOIS robo")
    assert 335 not in [int(m.command) for m in got]
    bot.send("MODE robo +B")
    whois = first(user.send("WHOIS robo"), "335")
    assert whois.params[:2] == ["user", "robo"]
    who = [m for m in user.send("WHO #a") if m.command == "352"]
    flags = {m.params[5]: m.params[6] for m in who}
    assert "B" in flags["robo"] and "B" not in flags["user"]
    assert "B" in first(user.send("WHO robo"), "352").params[6]


def test_bot_tag_only_with_message_tags(net: Net) -> None:
    bot = net.client("robo", ["message-tags", "echo-message"])
    tags_user = net.client("tags", ["message-tags"])
    plain = net.client("plain")
    net.joined("#a", bot, tags_user, plain)
    assert "bot" in only(bot.send("MODE robo +B")).tags
    echo = only(bot.send("PRIVMSG #a :beep"))
    assert "bot" in echo.tags
    msg = only(tags_user.take())
    assert "bot" in msg.tags and msg.tags["bot"] == ""
    assert only(plain.raw()) == ":robo!~robo@localhost PRIVMSG #a beep"
    bot.send("PRIVMSG tags :boop", "JOIN #b", "PART #b")
    assert "bot" in only(tags_user.take()).tags
    bot.send("MODE robo -B", "PRIVMSG #a :human now")
    assert "bot" not in only(tags_user.take()).tags


def test_bot_tag_on_the_bots_other_commands(net: Net) -> None:
    bot, watcher = net.client("robo"), net.client("w", ["message-tags"])
    net.joined("#a", bot, watcher)
    bot.send("MODE robo +B", "TOPIC #a :t", "PART #a")
    got = watcher.take()
    assert commands(got) == ["TOPIC", "PART"]
    assert all("bot" in m.tags for m in got)


def test_plugin_style_bots_have_bot_mode(net: Net) -> None:
    from ircish.core.bots import bot_send, create_bot

    bot = create_bot(net.server, "Helper")
    watcher = net.client("w", ["message-tags"])
    bot_send(net.server, bot, "PRIVMSG", "w", "hello")
    assert "bot" in only(watcher.take()).tags
    assert first(watcher.send("WHOIS Helper"), "335").params[1] == "Helper"

"""account-tag, extended-join and WHOIS after real logins (SASL, NickServ), over sockets."""

from __future__ import annotations

from ircish.testing import RunningServer
from tests.accounts.conftest import registered
from tests.accounts.helpers import finish, sasl_plain, start_sasl
from tests.ircclient import RawClient

PASSWORD = "sesame-sesame"


async def test_account_tag_and_extended_join_follow_logins(aserver: RunningServer) -> None:
    owner = await registered(aserver.port, "jilles", PASSWORD)
    await owner.send("QUIT :made the account")
    await owner.read_until_closed()

    watcher = await RawClient.connect(aserver.port)
    await watcher.register("watcher", ["account-tag", "extended-join"])
    await watcher.send("JOIN #c")
    await watcher.expect("366")

    bar = await start_sasl(aserver.port, "bar")
    assert await sasl_plain(bar, "jilles", PASSWORD) == "903"
    await finish(bar)
    await bar.send("JOIN #c")
    joined = await watcher.expect("JOIN")
    assert joined.params == ["#c", "jilles", "bar"]
    assert joined.tags == {"account": "jilles"}
    await bar.send("PRIVMSG watcher :hi", "PRIVMSG #c :all")
    for target in ("watcher", "#c"):
        msg = await watcher.expect("PRIVMSG")
        assert msg.params[0] == target and msg.tags == {"account": "jilles"}

    await bar.send("PRIVMSG NickServ :LOGOUT")
    await bar.expect("901")
    await bar.send("PRIVMSG #c :anonymous now")
    msg = await watcher.expect("PRIVMSG")
    assert msg.params == ["#c", "anonymous now"] and msg.tags == {}
    await bar.send("PART #c", "JOIN #c")
    await watcher.expect("PART")
    assert (await watcher.expect("JOIN")).params == ["#c", "*", "bar"]

    await bar.send(f"PRIVMSG NickServ :IDENTIFY jilles {PASSWORD}")
    await bar.expect("900")
    await bar.send("PRIVMSG #c :back")
    assert (await watcher.expect("PRIVMSG")).tags == {"account": "jilles"}
    for client in (watcher, bar):
        await client.aclose()


async def test_a_bot_that_logs_in(aserver: RunningServer) -> None:
    robot = await registered(aserver.port, "robot", PASSWORD)
    await robot.send("MODE robot +B")
    await robot.expect(lambda m: m.command == "MODE" and m.params == ["robot", "+B"])
    user = await RawClient.connect(aserver.port)
    await user.register("user", ["message-tags", "account-tag"])
    await robot.send("PRIVMSG user :beep")
    msg = await user.expect("PRIVMSG")
    assert msg.tags["account"] == "robot" and "bot" in msg.tags and "msgid" in msg.tags
    await user.send("WHOIS robot")
    whois = await user.collect_until("318")
    assert {"330", "335"} <= {m.command for m in whois}
    await user.send("MODE robot -B")
    assert (await user.expect("502")).params[0] == "user"
    for client in (robot, user):
        await client.aclose()

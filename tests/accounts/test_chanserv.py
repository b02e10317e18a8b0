"""ChanServ over sockets: every command and refusal; registered channels survive a restart."""

from __future__ import annotations

from pathlib import Path

from ircish.accounts.records import OK, AccountRequest
from ircish.passwords import hash_password
from ircish.protocol import Message
from ircish.store.accounts import answer_in_transaction
from ircish.store.database import open_engine
from ircish.testing import start_server
from tests.accounts.conftest import accounts_config, registered
from tests.ircclient import RawClient


async def chanserv(client: RawClient, text: str) -> str:
    """Every line ChanServ answered, joined (the PING makes sure all are in)."""
    await client.send(f"PRIVMSG ChanServ :{text}", "PING :sync")
    got = await client.collect_until("PONG")
    return " | ".join(m.params[-1] for m in got
                      if m.command == "NOTICE" and (m.source or "").startswith("ChanServ!"))


async def synced(client: RawClient, *lines: str) -> list[Message]:
    await client.send(*lines, "PING :sync")
    return await client.collect_until("PONG")


def names(got: list[Message]) -> list[str]:
    return [n for m in got if m.command == "353" for n in m.params[-1].split()]


def chanserv_modes(got: list[Message]) -> list[list[str]]:
    return [m.params for m in got
            if m.command == "MODE" and (m.source or "").startswith("ChanServ!")]


async def test_register_refusals_and_success(tmp_path: Path) -> None:
    config = accounts_config({"limits": {"topic_length": 500}})
    async with start_server(tmp_path, config) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        await synced(alice, "JOIN #room")
        await synced(bob, "JOIN #room")
        assert "identified" in await chanserv(bob, "REGISTER #room")
        assert "Usage: REGISTER" in await chanserv(alice, "REGISTER")
        assert "#nowhere does not exist" in await chanserv(alice, "REGISTER #nowhere")
        await bob.send("REGISTER * * bob-password")
        await bob.expect("900")
        assert "must be a channel operator in #room" in await chanserv(bob, "REGISTER #room")
        assert "#room is now registered to alice" in await chanserv(alice, "REGISTER #room")
        assert "already registered to alice" in await chanserv(alice, "REGISTER #room")
        assert "already registered to alice" in await chanserv(bob, "REGISTER #ROOM")
        info = await chanserv(bob, "INFO #room")
        assert "registered to alice" in info and "Registered " in info
        assert "Registered by" not in info  # only the founder and opers see who
        assert "Registered by alice!" in await chanserv(alice, "INFO #room")
        assert "#nothing is not registered" in await chanserv(bob, "INFO #nothing")
        # Registered without +P.
        got = await synced(bob, "MODE #room")
        assert "P" not in next(m for m in got if m.command == "324").params[2]
        await synced(alice, "TOPIC #room :the topic", "MODE #room +sk sesame")
        info = await chanserv(bob, "INFO #room")
        assert "Modes: +nstk sesame" in info and "Topic: the topic" in info  # a member
        await synced(bob, "PART #room")
        info = await chanserv(bob, "INFO #room")
        assert "registered to alice" in info and "Modes" not in info and "Topic" not in info
        await synced(alice, "MODE #room -s")
        assert "Modes: +ntk *" in await chanserv(bob, "INFO #room")  # no key for outsiders
        # A topic as long as a TOPIC line can carry still fits INFO's line.
        await synced(alice, "TOPIC #room :" + "t" * 480)
        await bob.send("PRIVMSG ChanServ :INFO #room", "PING :sync")
        topic = next(m for m in await bob.collect_until("PONG")
                     if m.command == "NOTICE" and m.params[-1].startswith("Topic: "))
        assert len(f":{topic.source} NOTICE bob :{topic.params[-1]}\r\n".encode()) <= 512
        assert topic.params[-1].startswith("Topic: ttt")
        for c in (alice, bob):
            await c.aclose()


async def test_op_deop_drop_and_their_refusals(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        bob = await registered(srv.port, "bob", "bob-password")
        await synced(alice, "JOIN #room")
        await synced(bob, "JOIN #room", "JOIN #plain")
        assert "now registered" in await chanserv(alice, "REGISTER #room")
        assert "not the founder of #room" in await chanserv(bob, "OP #room")
        assert "not the founder of #room" in await chanserv(bob, "DEOP #room alice")
        assert "not the founder of #room" in await chanserv(bob, "DROP #room")
        assert "#plain is not registered" in await chanserv(bob, "OP #plain")
        assert "#none is not registered" in await chanserv(alice, "DROP #none")
        assert "nobody is not online" in await chanserv(alice, "OP #room nobody")
        assert "Usage: OP" in await chanserv(alice, "OP #room bob extra")
        assert "Usage: DROP" in await chanserv(alice, "DROP")

        assert "bob is now an operator on #room" in await chanserv(alice, "OP #room bob")
        got = await synced(bob)
        assert chanserv_modes(got) == [["#room", "+o", "bob"]]
        assert "already an operator" in await chanserv(alice, "OP #room bob")
        # No channel named: the one registered channel alice manages and is in.
        assert "no longer an operator on #room" in await chanserv(alice, "DEOP bob")
        assert chanserv_modes(await synced(bob)) == [["#room", "-o", "bob"]]
        assert "not an operator" in await chanserv(alice, "DEOP #room bob")
        assert "Which channel?" in await chanserv(bob, "OP")
        await synced(bob, "PART #room")
        assert "bob is not on #room" in await chanserv(alice, "OP #room bob")
        # Without a nick: oneself.
        assert "alice is no longer an operator" in await chanserv(alice, "DEOP #room")
        assert "alice is now an operator" in await chanserv(alice, "OP #room")

        assert "#room is no longer registered" in await chanserv(alice, "DROP #room")
        assert "#room is not registered" in await chanserv(alice, "INFO #room")
        assert "#room is not registered" in await chanserv(alice, "OP #room")
        # Not kept any more: the channel goes with its last member.
        await synced(alice, "PART #room")
        got = await synced(alice, "MODE #room")
        assert [m.command for m in got][:1] == ["403"]
        for c in (alice, bob):
            await c.aclose()


async def test_help_and_unknown_commands(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        client = await RawClient.connect(srv.port)
        await client.register("dora")
        listed = await chanserv(client, "HELP")
        for command in ("REGISTER", "OP", "DEOP", "DROP", "INFO", "HELP"):
            assert command in listed
        assert "founder or IRC operator" in await chanserv(client, "HELP drop")
        assert "No help for FROB" in await chanserv(client, "HELP FROB")
        assert "Unknown command FROB" in await chanserv(client, "FROB")
        assert "Send HELP" in await chanserv(client, "   ")
        # NOTICEs to a service are never answered.
        await client.send("NOTICE ChanServ :HELP")
        assert await chanserv(client, "INFO") == "Usage: INFO <#channel>"
        await client.aclose()


async def test_founder_is_opped_on_join_and_on_identify(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        await synced(alice, "JOIN #room")
        assert "now registered" in await chanserv(alice, "REGISTER #room")
        await synced(alice, "PART #room")
        # Empty and registered: whoever comes first is not opped.
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        got = await synced(bob, "JOIN #room")
        assert "bob" in names(got) and "@bob" not in names(got)
        got = await synced(alice, "JOIN #room")
        assert chanserv_modes(got) == [["#room", "+o", "alice"]]
        assert chanserv_modes(await synced(bob)) == [["#room", "+o", "alice"]]
        # Empty again: the founder joining an empty registered channel is opped too.
        await synced(bob, "PART #room")
        await synced(alice, "PART #room")
        assert chanserv_modes(await synced(alice, "JOIN #room")) == [["#room", "+o", "alice"]]
        # Identifying while in the channel ops too.
        alice2 = await RawClient.connect(srv.port)
        await alice2.register("alice2")
        got = await synced(alice2, "JOIN #room")
        assert "@alice2" not in names(got)
        await alice2.send("PRIVMSG NickServ :IDENTIFY alice alice-password")
        op = await alice2.expect(lambda m: m.command == "MODE" and m.params[0] == "#room")
        assert op.params == ["#room", "+o", "alice2"] and op.source.startswith("ChanServ!")
        for c in (alice, bob, alice2):
            await c.aclose()


async def test_dropping_the_founder_account_unregisters_its_channels(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        await synced(alice, "JOIN #room")
        assert "now registered" in await chanserv(alice, "REGISTER #room")
        await alice.send("PRIVMSG NickServ :DROP alice-password")
        await alice.expect("901")
        assert "#room is not registered" in await chanserv(alice, "INFO #room")
        await alice.aclose()
    async with start_server(tmp_path, accounts_config()) as srv:
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        assert "#room is not registered" in await chanserv(bob, "INFO #room")
        got = await synced(bob, "JOIN #room")
        assert "@bob" in names(got)  # a new channel again
        await bob.aclose()


async def test_founder_deleted_between_runs_leaves_an_ordinary_channel(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        await synced(alice, "JOIN #room")
        assert "now registered" in await chanserv(alice, "REGISTER #room")
        await synced(alice, "TOPIC #room :founded")
        await alice.aclose()
    # As the account CLI does, with no server told.
    engine = open_engine(f"sqlite:///{tmp_path / 'history.db'}")
    assert answer_in_transaction(engine, AccountRequest("delete", ("alice",))) == OK
    engine.dispose()
    async with start_server(tmp_path, accounts_config()) as srv:
        bob = await RawClient.connect(srv.port)
        await bob.register("bob")
        got = await synced(bob, "JOIN #room")
        assert "@bob" in names(got) and not [m for m in got if m.command == "332"]
        got = await synced(bob, "MODE #room")
        assert "P" not in next(m for m in got if m.command == "324").params[2]
        await bob.aclose()


async def test_operator_may_drop_and_plus_p_still_works(tmp_path: Path) -> None:
    config = accounts_config()
    config["opers"] = [{"name": "root", "password_hash": hash_password("rootpass")}]
    async with start_server(tmp_path, config) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        await synced(alice, "JOIN #room")
        assert "now registered" in await chanserv(alice, "REGISTER #room")
        oper = await RawClient.connect(srv.port)
        await oper.register("oper")
        await oper.send("OPER root rootpass")
        await oper.expect("381")
        assert "not the founder" not in await chanserv(oper, "OP #room alice")
        got = await synced(oper, "JOIN #kept", "MODE #kept +P", "PART #kept")
        assert any(m.command == "MODE" and m.params[1] == "+P" for m in got)
        # -P on a registered channel: still kept, since it is registered.
        await synced(alice, "MODE #room +P")
        await synced(oper, "MODE #room +P", "MODE #room -P")
        await synced(alice, "PART #room")
        assert "registered to alice" in await chanserv(oper, "INFO #room")
        assert "#room is no longer registered" in await chanserv(oper, "DROP #room")
        got = await synced(oper, "MODE #room", "MODE #kept")
        assert [m.command for m in got if m.command in ("403", "324")] == ["403", "324"]
        for c in (alice, oper):
            await c.aclose()


async def test_registered_channel_survives_a_restart(tmp_path: Path) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        await synced(alice, "JOIN #Room")
        assert "#Room is now registered to alice" in await chanserv(alice, "REGISTER #room")
        got = await synced(alice, "TOPIC #room :kept across restarts",
                           "MODE #room +mk-t sesame", "MODE #room +l 7",
                           "MODE #room +b bad!*@*")
        assert not [m for m in got if m.command.startswith("4")], got
        await alice.aclose()
    async with start_server(tmp_path, accounts_config()) as srv:
        carol = await RawClient.connect(srv.port)
        await carol.register("carol")
        got = await synced(carol, "JOIN #room")
        assert [m.command for m in got if m.command == "475"] == ["475"]  # the key is kept
        got = await synced(carol, "JOIN #room sesame")
        assert next(m for m in got if m.command == "JOIN").params[0] == "#Room"
        assert next(m for m in got if m.command == "332").params[-1] == "kept across restarts"
        assert "@carol" not in names(got) and "carol" in names(got)
        got = await synced(carol, "MODE #room", "MODE #room b")
        modeis = next(m for m in got if m.command == "324").params[2:]
        assert modeis == ["+mnkl", "sesame", "7"]
        assert [m.params[2] for m in got if m.command == "367"] == ["bad!*@*"]
        assert "registered to alice" in await chanserv(carol, "INFO #room")
        alice = await RawClient.connect(srv.port)
        await alice.register("alice")
        await alice.send("PRIVMSG NickServ :IDENTIFY alice-password")
        await alice.expect("900")
        got = await synced(alice, "JOIN #room sesame")
        assert chanserv_modes(got) == [["#Room", "+o", "alice"]]
        # Changes after the restart are saved too.
        await synced(alice, "MODE #room -k sesame", "TOPIC #room :second")
        for c in (alice, carol):
            await c.aclose()
    async with start_server(tmp_path, accounts_config()) as srv:
        dave = await RawClient.connect(srv.port)
        await dave.register("dave")
        got = await synced(dave, "JOIN #room")
        assert next(m for m in got if m.command == "332").params[-1] == "second"
        await dave.aclose()

"""RENAME and CHGHOST over sockets: a running server, its features as build_server lists them."""

from __future__ import annotations

from pathlib import Path

from ircish.chghost.feature import CAP as CHGHOST
from ircish.passwords import hash_password
from ircish.rename.feature import CAP as RENAME
from ircish.testing import start_server
from tests.accounts.conftest import accounts_config, registered
from tests.accounts.test_chanserv import chanserv, synced
from tests.ircclient import RawClient


async def test_rename_with_and_without_the_cap(tmp_path: Path) -> None:
    async with start_server(tmp_path) as srv:
        bar = await RawClient.connect(srv.port)
        await bar.register("bar", [RENAME])
        baz = await RawClient.connect(srv.port)
        await baz.register("baz")
        for c in (bar, baz):
            await synced(c, "JOIN #bar")
        await bar.send("RENAME #bar #qux :no reason")
        renamed = await bar.expect("RENAME")
        assert renamed.params == ["#bar", "#qux", "no reason"]
        got = await synced(baz)
        assert [(m.command, m.params[0]) for m in got if m.command in ("PART", "JOIN")] == [
            ("PART", "#bar"), ("JOIN", "#qux")]
        assert [m.command for m in got][-3:] == ["353", "366", "PONG"]
        # The old name is free: baz makes a new #bar and is its operator.
        got = await synced(baz, "JOIN #bar", "MODE #bar +k beer")
        assert "482" not in [m.command for m in got]


async def test_a_registered_channel_keeps_its_registration_under_the_new_name(
    tmp_path: Path,
) -> None:
    async with start_server(tmp_path, accounts_config()) as srv:
        alice = await registered(srv.port, "alice", "alice-password")
        await synced(alice, "JOIN #room")
        assert "now registered" in await chanserv(alice, "REGISTER #room")
        await synced(alice, "TOPIC #room :registered topic")
        got = await synced(alice, "RENAME #room #Hall :moved")
        assert [m.params for m in got if m.command == "PART"] == [["#room", "moved"]]
        info = await chanserv(alice, "INFO #hall")
        # When and by whom: ChanServ's own record followed the channel too.
        assert "registered to alice" in info and "Registered by alice!" in info
        assert "not registered" in await chanserv(alice, "INFO #room")
        await alice.aclose()
    async with start_server(tmp_path, accounts_config()) as srv:
        assert srv.core.find_channel("#room") is None
        hall = srv.core.find_channel("#hall")
        assert hall is not None and hall.founder == "alice" and hall.name == "#Hall"
        assert hall.topic == "registered topic"
        carol = await RawClient.connect(srv.port)
        await carol.register("carol")
        assert "registered to alice" in await chanserv(carol, "INFO #HALL")


async def test_chghost_by_an_operator(tmp_path: Path) -> None:
    config = {"opers": [{"name": "admin", "password_hash": hash_password("pw")}]}
    async with start_server(tmp_path, config) as srv:
        ircop = await RawClient.connect(srv.port)
        await ircop.register("ircop")
        assert "481" in [m.command for m in await synced(ircop, "CHGHOST ircop a b")]
        await ircop.send("OPER admin pw")
        await ircop.expect("381")
        tim = await RawClient.connect(srv.port)
        await tim.register("tim", [CHGHOST])
        peer = await RawClient.connect(srv.port)
        await peer.register("peer", [CHGHOST])
        plain = await RawClient.connect(srv.port)
        await plain.register("plain")
        for c in (tim, peer, plain):
            await synced(c, "JOIN #c")
        await ircop.send("CHGHOST tim ~b ckyard")
        for c in (tim, peer):
            line = await c.expect("CHGHOST")
            assert line.params == ["~b", "ckyard"] and line.source.startswith("tim!~tim@")
        got = await synced(plain)
        assert [m.command for m in got if m.command in ("QUIT", "JOIN")] == ["QUIT", "JOIN"]
        assert next(m for m in got if m.command == "JOIN").source == "tim!~b@ckyard"
        got = await synced(peer, "WHOIS tim")
        assert next(m for m in got if m.command == "311").params[2:4] == ["~b", "ckyard"]
        got = await synced(ircop, "CHGHOST tim bad@user host")
        assert [m.params[:2] for m in got if m.command == "FAIL"] == [
            ["CHGHOST", "INVALID_USERNAME"]]

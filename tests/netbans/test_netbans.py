"""KLINE/DLINE over sockets: who may, bad input, new and existing connections, STATS,
expiry, and bans that survive a restart."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import trio
from sqlalchemy import create_engine, text

from ircish.netbans.feature import server_up
from ircish.passwords import hash_password
from ircish.protocol import Message
from ircish.testing import start_server
from tests.history.conftest import with_history
from tests.ircclient import RawClient


@cache
def _hash() -> str:
    return hash_password("operpassword")


def _config(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"opers": [{"name": "op", "password_hash": _hash()}], **(extra or {})}


async def _oper(port: int, nick: str = "boss") -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick)
    await client.send("OPER op operpassword")
    await client.expect("381")
    return client


async def _ask(client: RawClient, line: str) -> list[Message]:
    """The answer to ``line``, up to the PONG of a PING sent behind it."""
    await client.send(line, "PING :sync")
    return [m for m in await client.collect_until("PONG") if m.command != "PONG"]


async def _refused(port: int, nick: str) -> list[Message]:
    client = await RawClient.connect(port)
    await client.send(f"NICK {nick}", f"USER {nick} 0 * :r")
    got = await client.read_until_closed()
    await client.aclose()
    return got


async def test_non_opers_get_481(tmp_path: Path) -> None:
    async with start_server(tmp_path, _config()) as srv:
        c = await RawClient.connect(srv.port)
        await c.register("pleb")
        for line in ("KLINE bad@host :x", "UNKLINE bad@host", "DLINE 192.0.2.1",
                     "UNDLINE 192.0.2.1", "STATS k", "STATS d"):
            got = await _ask(c, line)
            assert [m.command for m in got] == ["481"], (line, got)
        assert srv.core.bans.active("K", 0) == []
        await c.aclose()


async def test_bad_input_is_answered(tmp_path: Path) -> None:
    async with start_server(tmp_path, _config()) as srv:
        op = await _oper(srv.port)
        cases = {
            "KLINE nobody :reason": ("KLINE", "INVALID_MASK", "nobody"),
            "KLINE *@* :everyone": ("KLINE", "INVALID_MASK", "*@*"),
            "KLINE 5x bad@host :reason": ("KLINE", "INVALID_DURATION", "5x"),
            "KLINE ²h bad@host": ("KLINE", "INVALID_DURATION", "²h"),
            "DLINE 1.2.3.4/33": ("DLINE", "INVALID_MASK", "1.2.3.4/33"),
            "DLINE 0.0.0.0/0 :all": ("DLINE", "INVALID_MASK", "0.0.0.0/0"),
            "DLINE 9999d 192.0.2.1": ("DLINE", "INVALID_DURATION", "9999d"),
            "UNKLINE bad@host": ("UNKLINE", "NO_SUCH_BAN", "bad@host"),
            "UNDLINE not-an-ip": ("UNDLINE", "NO_SUCH_BAN", "not-an-ip"),
        }
        for line, want in cases.items():
            got = await _ask(op, line)
            assert [m.command for m in got] == ["FAIL"], (line, got)
            assert tuple(got[0].params[:3]) == want, (line, got)
        assert [m.command for m in await _ask(op, "KLINE")] == ["461"]
        assert [m.command for m in await _ask(op, "STATS")] == ["461"]
        got = await _ask(op, "STATS x")
        assert [(m.command, m.params[1]) for m in got] == [("219", "x")]
        assert srv.core.bans.active("K", 0) == [] and srv.core.bans.active("D", 0) == []
        await op.aclose()


async def test_kline_kills_refuses_lists_and_lifts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with start_server(tmp_path, _config()) as srv:
        op = await _oper(srv.port)
        victim = await RawClient.connect(srv.port)
        await victim.register("victim")
        got = await _ask(op, "KLINE 2h victim@* :spamming the channels")
        assert [m.command for m in got] == ["NOTICE"]
        assert "victim@*" in got[0].params[-1] and "7200 seconds" in got[0].params[-1]
        closing = await victim.read_until_closed()
        assert closing[-1].command == "ERROR"
        assert "spamming the channels" in closing[-1].params[-1]
        # A new connection with that user name is refused at registration.
        again = await _refused(srv.port, "victim")
        assert [m.command for m in again][-2:] == ["465", "ERROR"]
        assert "spamming the channels" in again[-1].params[-1]
        assert not [m for m in again if m.command == "001"]
        other = await RawClient.connect(srv.port)
        await other.register("bystander")  # someone else is not banned
        got = await _ask(op, "STATS k")
        assert [m.command for m in got] == ["216", "219"]
        assert got[0].params[1:5] == ["K", "*", "*", "victim"]
        assert got[0].params[-1].startswith("spamming the channels (expires in ")
        got = await _ask(op, "UNKLINE victim@*")
        assert [m.command for m in got] == ["NOTICE"]
        assert [m.command for m in await _ask(op, "STATS k")] == ["219"]
        back = await RawClient.connect(srv.port)
        await back.register("victim")
        for c in (op, other, back):
            await c.aclose()
    logged = caplog.text
    assert "K-line victim@* for 7200 seconds by boss" in logged
    assert "killed victim (~victim) from 127.0.0.1: K-line victim@* (spamming the channels)" \
        in logged
    assert "refused ~victim from 127.0.0.1: K-line victim@*" in logged


async def test_dline_refuses_at_accept_and_expires(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with start_server(tmp_path, _config()) as srv:
        op = await _oper(srv.port)
        got = await _ask(op, "DLINE 192.0.2.0/24 :a network elsewhere")
        assert [m.command for m in got] == ["NOTICE"]
        got = await _ask(op, "STATS d")
        assert [(m.command, m.params[1:3]) for m in got[:1]] == [("225", ["D", "192.0.2.0/24"])]
        assert got[0].params[-1] == "a network elsewhere"
        # The oper's own address: it goes too, and so does every new connection.
        await op.send("DLINE 1 127.0.0.1 :local flood")
        closing = await op.read_until_closed()
        assert closing[-1].command == "ERROR" and "local flood" in closing[-1].params[-1]
        refused = await _refused(srv.port, "later")
        assert [m.command for m in refused] in (["ERROR"], ["465", "ERROR"])
        assert "local flood" in refused[-1].params[-1]
        # One second later the ban is gone by itself.
        with trio.fail_after(10):
            while True:
                client = await RawClient.connect(srv.port)
                await client.send("NICK later", "USER later 0 * :r")
                first = await client.expect(lambda m: m.command in ("001", "ERROR"))
                await client.aclose()
                if first.command == "001":
                    break
                await trio.sleep(0.2)
        assert [b.mask for b in srv.core.bans.active("D", 0)] == ["192.0.2.0/24"]
    assert "refused a connection from 127.0.0.1: D-line 127.0.0.1/32 (local flood)" \
        in caplog.text
    assert "D-line 127.0.0.1/32 expired" in caplog.text


def _stored(db: Path) -> list[tuple[str, str]]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT kind, mask FROM network_bans ORDER BY kind, mask"))
            return [(r.kind, r.mask) for r in rows]
    finally:
        engine.dispose()


async def _until_stored(db: Path, want: list[tuple[str, str]]) -> None:
    with trio.fail_after(10):
        while _stored(db) != want:
            await trio.sleep(0.05)


async def test_bans_survive_a_restart(tmp_path: Path) -> None:
    config = {**with_history(), **_config()}
    db = tmp_path / "history.db"
    async with start_server(tmp_path, config) as srv:
        op = await _oper(srv.port)
        await _ask(op, "KLINE victim@* :kept")
        await _ask(op, "DLINE 1d 192.0.2.0/24 :kept too")
        await _ask(op, "KLINE gone@* :lifted")
        await _ask(op, "UNKLINE gone@*")
        await op.aclose()
    # Stopped at once: the queued changes were written before the worker went.
    assert _stored(db) == [("D", "192.0.2.0/24"), ("K", "victim@*")]
    async with start_server(tmp_path, config) as srv:
        refused = await _refused(srv.port, "victim")
        assert [m.command for m in refused][-2:] == ["465", "ERROR"]
        assert "kept" in refused[-1].params[-1]
        op = await _oper(srv.port)
        assert [m.params[4] for m in await _ask(op, "STATS k") if m.command == "216"] == \
            ["victim"]
        got = await _ask(op, "STATS d")
        assert [m.params[2] for m in got if m.command == "225"] == ["192.0.2.0/24"]
        assert "expires in" in got[0].params[-1]
        await _ask(op, "UNDLINE 192.0.2.0/24")
        await _until_stored(db, [("K", "victim@*")])
        await op.aclose()


def test_server_up_text() -> None:
    assert server_up(0) == "Server Up 0 days 00:00:00"
    assert server_up(2 * 86400 + 3 * 3600 + 4 * 60 + 5.9) == "Server Up 2 days 03:04:05"
    assert server_up(400 * 86400 + 86399) == "Server Up 400 days 23:59:59"


async def test_stats_u_answers_the_uptime_to_anyone(tmp_path: Path) -> None:
    async with start_server(tmp_path, _config()) as srv:
        c = await RawClient.connect(srv.port)
        await c.register("curious")
        srv.core.started -= 3 * 86400 + 5 * 3600  # as if started three days earlier
        got = await _ask(c, "STATS u")
        assert [m.command for m in got] == ["242", "219"]
        assert got[0].params[0] == "curious"
        assert re.fullmatch(r"Server Up 3 days 05:00:\d\d", got[0].params[1]), got[0].params
        assert got[1].params[1:] == ["u", "End of /STATS report"]
        await c.aclose()

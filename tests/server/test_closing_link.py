"""Every way a link ends, the client's last line is ``ERROR :Closing Link: <host> (<reason>)``
with its own host, as Solanum and Ergo write it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import trio
import trio.testing

from ircish.passwords import hash_password
from ircish.protocol import Message
from ircish.testing import start_server
from tests.ircclient import RawClient

HOST = "127.0.0.1"


@cache
def _hash() -> str:
    return hash_password("operpassword")


def _opers() -> dict[str, Any]:
    return {"opers": [{"name": "op", "password_hash": _hash()}]}


async def _client(port: int, nick: str) -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick)
    return client


async def _oper(port: int) -> RawClient:
    op = await _client(port, "boss")
    await op.send("OPER op operpassword")
    await op.expect("381")
    return op


async def _last(client: RawClient) -> Message:
    lines = await client.read_until_closed()
    assert lines[-1].command == "ERROR", lines
    return lines[-1]


async def test_quit(server: Any) -> None:
    client = await _client(server.port, "leaver")
    await client.send("QUIT :see you")
    assert (await _last(client)).params == [f"Closing Link: {HOST} (Quit: see you)"]


async def test_kill_names_the_victims_host_not_the_server(tmp_path: Path) -> None:
    async with start_server(tmp_path, _opers()) as srv:
        op = await _oper(srv.port)
        victim = await _client(srv.port, "victim")
        await op.send("KILL victim :enough")
        assert (await _last(victim)).params == [
            f"Closing Link: {HOST} (Killed (boss (enough)))"]
        await op.aclose()


async def test_kline_of_a_connected_client_and_at_registration(tmp_path: Path) -> None:
    async with start_server(tmp_path, _opers()) as srv:
        op = await _oper(srv.port)
        victim = await _client(srv.port, "victim")
        await op.send("KLINE victim@* :spam")
        expected = [f"Closing Link: {HOST} (K-Lined (spam))"]
        assert (await _last(victim)).params == expected
        again = await RawClient.connect(srv.port)
        await again.send("NICK victim", "USER victim 0 * :r")
        assert (await _last(again)).params == expected
        await op.aclose()


async def test_ping_timeout(tmp_path: Path) -> None:
    config = {"limits": {"ping_interval": 0.3, "ping_timeout": 0.4}}
    async with start_server(tmp_path, config) as srv:
        dead = await _client(srv.port, "dead")
        text = (await _last(dead)).params[0]
        prefix = f"Closing Link: {HOST} (Ping timeout: "
        assert text.startswith(prefix) and text.endswith(" seconds)"), text
        assert text[len(prefix):-len(" seconds)")].isdigit(), text


async def test_excess_flood(tmp_path: Path) -> None:
    config = {"limits": {"flood_burst": 5, "flood_rate": 10.0, "flood_excess": 50}}
    async with start_server(tmp_path, config) as srv:
        flooder = await _client(srv.port, "flooder")
        await flooder.send(*[f"PRIVMSG flooder :{i}" for i in range(300)])
        assert (await _last(flooder)).params == [f"Closing Link: {HOST} (Excess Flood)"]


async def test_registration_timeout(tmp_path: Path) -> None:
    async with start_server(tmp_path, {"limits": {"registration_timeout": 0.4}}) as srv:
        slow = await RawClient.connect(srv.port)
        await slow.send("NICK slowpoke")
        assert (await _last(slow)).params == [f"Closing Link: {HOST} (Registration timed out)"]


async def test_bad_password(tmp_path: Path) -> None:
    async with start_server(tmp_path, {"server": {"password": "sesame"}}) as srv:
        client = await RawClient.connect(srv.port)
        await client.send("PASS wrong", "NICK guess", "USER guess 0 * :g")
        assert (await _last(client)).params == [f"Closing Link: {HOST} (Bad password)"]


async def test_server_shutdown(tmp_path: Path) -> None:
    async with start_server(tmp_path) as srv:
        client = await _client(srv.port, "stayer")
        srv.app.shutdown()
        assert (await _last(client)).params == [f"Closing Link: {HOST} (Server shutting down)"]


async def _stall() -> None:
    await trio.sleep_forever()


async def test_sendq_exceeded(tmp_path: Path) -> None:
    # A client that stops reading: each write the server makes is taken and then never
    # returns, so its queue grows past the limit. The ERROR is the last thing written.
    out = trio.testing.MemorySendStream(send_all_hook=_stall)
    into = trio.testing.MemoryReceiveStream()
    config = {"limits": {"sendq_bytes": 4096, "flood_burst": 100000, "flood_rate": 100000.0}}
    async with start_server(tmp_path, config) as srv:
        into.put_data(b"NICK stalled\r\nUSER stalled 0 * :s\r\n"
                      + b"".join(b"PING :%d%s\r\n" % (i, b"x" * 200) for i in range(100)))
        with trio.fail_after(10):
            await srv.app.serve_client(trio.StapledStream(out, into), "192.0.2.7", False)
    written = out.get_data_nowait().split(b"\r\n")
    assert written[-2:] == [b"ERROR :Closing Link: 192.0.2.7 (SendQ exceeded)", b""]

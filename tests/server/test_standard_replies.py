"""standard-replies: answers that have no numeric are FAIL/WARN/NOTE for a client
that negotiated the capability, and server NOTICEs for the others (REHASH here)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ircish.app import build_server
from ircish.config import load_config
from ircish.core import numerics as N
from ircish.passwords import hash_password
from ircish.testing import start_server
from tests.core.helpers import Net, make_server
from tests.ircclient import RawClient


@cache
def _hash() -> str:
    return hash_password("admin-pw")


def _toml(extra: str = "") -> str:
    return ("[server]\nname = 'irc.test'\nlisten = ['127.0.0.1:0']\n[channels]\n"
            f"auto_join = []\n[storage]\nurl = ''\n{extra}\n"
            f"[[opers]]\nname = 'admin'\npassword_hash = '{_hash()}'\n")


async def _oper(port: int, nick: str, caps: list[str] | None) -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick, caps)
    await client.send("OPER admin admin-pw")
    await client.expect(N.RPL_YOUREOPER)
    return client


async def test_rehash_outcome_is_a_standard_reply(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(_toml())
    async with start_server(tmp_path, app=build_server(load_config(path))) as srv:
        modern = await _oper(srv.port, "modern", ["standard-replies"])
        old = await _oper(srv.port, "old", None)
        await modern.send("REHASH")
        note = await modern.expect(lambda m: m.command in ("NOTE", "FAIL", "NOTICE"))
        assert note.command == "NOTE" and note.params[:2] == ["REHASH", "CONFIG_RELOADED"]
        assert note.params[2].startswith("config reloaded from ")
        path.write_text(_toml("[limits]\nnick_length = 'nine'\n"))
        await modern.send("REHASH")
        fail = await modern.expect(lambda m: m.command in ("NOTE", "FAIL", "NOTICE"))
        assert fail.command == "FAIL" and fail.params[:2] == ["REHASH", "CONFIG_BAD"]
        assert "limits.nick_length" in fail.params[2]
        await old.send("REHASH")
        notice = await old.expect(lambda m: m.command in ("NOTE", "FAIL", "NOTICE"))
        assert notice.command == "NOTICE"
        assert notice.params[1].startswith("*** config reload failed, nothing changed: ")
        await modern.aclose()
        await old.aclose()


def test_rehash_without_a_config_file(tmp_path: Path) -> None:
    net = Net(make_server(tmp_path, {"opers": [{"name": "admin", "password_hash": _hash()}]}))
    modern, old = net.client("modern", ["standard-replies"]), net.client("old")
    for client in (modern, old):
        client.send("OPER admin admin-pw")
    fail = modern.send("REHASH")[-1]
    assert fail.command == "FAIL" and fail.params == ["REHASH", "NO_CONFIG_FILE",
                                                      "no config file to re-read"]
    notice = old.send("REHASH")[-1]
    assert notice.command == "NOTICE" and notice.params[1] == "*** no config file to re-read"

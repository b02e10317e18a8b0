"""Reloading the config while clients stay connected: REHASH over a socket, the
restart-only keys, a broken file, TLS certificates, plugin settings, log level;
and SIGHUP to a real server process."""

from __future__ import annotations

import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import trustme

from ircish.app import build_server
from ircish.config import config_from_dict, load_config
from ircish.core import numerics as N
from ircish.passwords import hash_password
from ircish.reload import merge_reload
from ircish.testing import start_server
from tests.ircclient import RawClient

HASHES = {name: hash_password(f"{name}-pw") for name in ("admin", "second")}


def _toml(motd: str, opers: list[str], extra: str = "") -> str:
    text = ("[server]\nname = 'irc.test'\nlisten = ['127.0.0.1:0']\n"
            f"motd = {motd!r}\n[channels]\nauto_join = []\n[storage]\nurl = ''\n{extra}\n")
    for name in opers:
        text += f"[[opers]]\nname = '{name}'\npassword_hash = '{HASHES[name]}'\n"
    return text


def test_merge_keeps_restart_only_values_and_names_them() -> None:
    running = config_from_dict({"server": {"listen": ["127.0.0.1:6667"], "motd": "old"}})
    fresh = config_from_dict({
        "server": {"listen": ["0.0.0.0:6667"], "motd": "new"},
        "storage": {"url": "sqlite:///other.db"},
        "limits": {"topic_length": 100, "line_length": 1024},
    })
    merged, pending = merge_reload(running, fresh)
    assert merged.server.listen == ("127.0.0.1:6667",) and merged.server.motd == "new"
    assert merged.storage == running.storage and merged.limits.topic_length == 100
    assert merged.limits.line_length == 512
    assert sorted(pending) == ["limits.line_length", "server.listen", "storage.url"]
    assert merge_reload(running, running) == (running, [])


async def _oper(client: RawClient, name: str) -> None:
    await client.send(f"OPER {name} {name}-pw")
    await client.expect(N.RPL_YOUREOPER)


async def _rehash(client: RawClient) -> str:
    await client.send("REHASH")
    rehashing = await client.expect(N.RPL_REHASHING)
    assert rehashing.params[1:] == ["config.toml", "Rehashing"]
    notice = await client.expect(lambda m: m.command == "NOTICE"
                                 and "config reload" in m.params[-1])
    return notice.params[-1]


async def test_rehash_applies_motd_opers_limits_and_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(_toml("old motd", ["admin"]))
    async with start_server(tmp_path, app=build_server(load_config(path))) as srv:
        alice = await RawClient.connect(srv.port)
        burst = await alice.register("alice")
        assert any(m.params[-1] == "- old motd" for m in burst)
        plain = await RawClient.connect(srv.port)
        await plain.register("plain")
        await plain.send("REHASH")
        assert "not an IRC operator" in (await plain.expect(N.ERR_NOPRIVILEGES)).params[-1]
        await _oper(alice, "admin")

        path.write_text(_toml("new motd", ["admin", "second"],
                              "[limits]\ntopic_length = 77\n").replace(
                                  "127.0.0.1:0", "127.0.0.1:1"))
        said = await _rehash(alice)
        assert said.startswith("*** config reloaded from ")
        assert said.endswith("these change only with a restart: server.listen")
        await alice.send("MOTD")
        assert (await alice.expect(N.RPL_MOTD)).params[-1] == "- new motd"
        # A newcomer's burst (cached numerics) has the new MOTD and ISUPPORT.
        bob = await RawClient.connect(srv.port)
        burst = await bob.register("bob")
        assert any(m.params[-1] == "- new motd" for m in burst)
        assert any("TOPICLEN=77" in m.params for m in burst if m.command == N.RPL_ISUPPORT)
        await _oper(bob, "second")

        path.write_text(_toml("broken motd", ["admin"], "[limits]\nnick_length = 'nine'\n"))
        said = await _rehash(alice)
        assert said.startswith("*** config reload failed, nothing changed: ")
        assert "limits.nick_length: expected an integer" in said
        await alice.send("MOTD")
        assert (await alice.expect(N.RPL_MOTD)).params[-1] == "- new motd"
        # Nobody was disconnected along the way.
        for client in (alice, plain, bob):
            await client.send("PING :still")
            assert (await client.expect("PONG")).params[-1] == "still"


async def test_reload_serves_a_new_tls_certificate(tmp_path: Path) -> None:
    old_ca, new_ca = trustme.CA(), trustme.CA()
    for name, ca in (("old", old_ca), ("new", new_ca)):
        cert = ca.issue_cert("127.0.0.1")
        cert.private_key_pem.write_to_path(str(tmp_path / f"{name}-key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(tmp_path / f"{name}-cert.pem"))
    path = tmp_path / "config.toml"

    def write(name: str) -> None:
        path.write_text(_toml("m", []) + "[tls]\nlisten = ['127.0.0.1:0']\n"
                        f"cert = '{name}-cert.pem'\nkey = '{name}-key.pem'\n")

    async def tls_client(ca: trustme.CA) -> RawClient:
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", srv.tls_port, ssl_context=ctx)
        client = RawClient(stream)
        await client.register(f"c{id(ca) % 1000}")
        return client

    write("old")
    async with start_server(tmp_path, app=build_server(load_config(path))) as srv:
        before = await tls_client(old_ca)
        write("new")
        assert await srv.app.reload()
        after = await tls_client(new_ca)
        with pytest.raises(trio.BrokenResourceError) as refused:
            await tls_client(old_ca)
        assert isinstance(refused.value.__cause__, ssl.SSLCertVerificationError)
        for client in (before, after):
            await client.send("PING :tls")
            assert (await client.expect("PONG")).params[-1] == "tls"


async def test_reload_gives_plugins_their_new_settings_and_sets_the_log_level(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"

    (tmp_path / "plugins").mkdir()
    # Reads its settings at each hook, as the guide says to.
    (tmp_path / "plugins" / "greeter.py").write_text(
        "from ircish.hooks import hookimpl\n\n"
        "@hookimpl\n"
        "def on_server_start(api):\n"
        "    api.bot('Greeter')\n\n"
        "@hookimpl\n"
        "async def on_welcome(api, nick):\n"
        "    api.bot('Greeter').notice(nick, api.config['greeting'].format(nick=nick))\n")

    def write(greeting: str, level: str) -> None:
        path.write_text(_toml("m", []) + f"[logging]\nlevel = '{level}'\n"
                        "[plugins]\nenabled = ['greeter']\n"
                        f"[plugins.greeter]\ngreeting = '{greeting}'\n")

    root = logging.getLogger()
    level = root.level
    write("Hi {nick}", "INFO")
    try:
        async with start_server(tmp_path, app=build_server(load_config(path))) as srv:
            first = await RawClient.connect(srv.port)
            await first.register("first")
            greeted = await first.expect(lambda m: m.command == "NOTICE")
            assert greeted.params[-1] == "Hi first"
            write("Hello again {nick}", "DEBUG")
            assert await srv.app.reload()
            assert root.level == logging.DEBUG
            second = await RawClient.connect(srv.port)
            await second.register("second")
            greeted = await second.expect(lambda m: m.command == "NOTICE")
            assert greeted.params[-1] == "Hello again second"
    finally:
        root.setLevel(level)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
async def test_sighup_reloads_a_running_process(tmp_path: Path) -> None:
    port = _free_port()
    path = tmp_path / "config.toml"
    path.write_text(_toml("before the hup", ["admin"]).replace("127.0.0.1:0",
                                                               f"127.0.0.1:{port}"))
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from ircish.cli import server_main; "
         "sys.exit(server_main())", "--config", str(path)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    async def line_with(text: str) -> str:
        assert proc.stderr is not None
        with trio.fail_after(30):
            while text not in (line := await trio.to_thread.run_sync(proc.stderr.readline)):
                assert line, f"server exited before saying {text!r}"
        return line

    try:
        await line_with("listening on")
        client = await RawClient.connect(port)
        burst = await client.register("alice")
        assert any(m.params[-1] == "- before the hup" for m in burst)
        path.write_text(_toml("after the hup", ["admin", "second"]).replace(
            "127.0.0.1:0", f"127.0.0.1:{port}"))
        proc.send_signal(signal.SIGHUP)
        await line_with("config reloaded from")
        await client.send("MOTD")
        assert (await client.expect(N.RPL_MOTD)).params[-1] == "- after the hup"
        await _oper(client, "second")
        assert proc.poll() is None
    finally:
        proc.terminate()
        code = await trio.to_thread.run_sync(lambda: proc.wait(timeout=30))
    assert code == 0


"""extended-monitor with account-notify: a login is told to whoever monitors the nick."""

from __future__ import annotations

from ircish.testing import RunningServer
from tests.accounts.conftest import registered
from tests.ircclient import RawClient


async def test_a_login_reaches_monitors_with_both_caps_only(aserver: RunningServer) -> None:
    ext = await RawClient.connect(aserver.port)
    await ext.register("ext", ["extended-monitor", "account-notify"])
    plain = await RawClient.connect(aserver.port)
    await plain.register("plain", ["account-notify"])
    for watcher in (ext, plain):
        await watcher.send("MONITOR + alice")
        await watcher.expect("731")
    alice = await registered(aserver.port, "alice", "correct horse")
    await ext.expect("730")
    account = await ext.expect("ACCOUNT")
    assert account.params == ["alice"] and (account.source or "").startswith("alice!")
    # The watcher without extended-monitor hears that alice came online, nothing more.
    await plain.expect("730")
    await plain.send("PING sync")
    pong = await plain.expect("PONG")
    assert pong.params[-1] == "sync"
    assert [m.command for m in plain.seen].count("ACCOUNT") == 0
    for client in (ext, plain, alice):
        await client.aclose()

"""UTF8ONLY ([limits] utf8_only, on by default): lines that are not UTF-8 are refused
with ``FAIL <command> INVALID_UTF8`` and never acted on."""

from __future__ import annotations

from ircish.protocol.framing import decode_checked
from ircish.testing import RunningServer
from tests.ircclient import RawClient


async def _client(port: int, nick: str, caps: list[str] | None = None) -> RawClient:
    client = await RawClient.connect(port)
    await client.register(nick, caps)
    return client


def _isupport(client: RawClient) -> set[str]:
    return {t.split("=", 1)[0] for m in client.seen if m.command == "005"
            for t in m.params[1:-1]}


def test_decoding_says_whether_the_line_was_utf8() -> None:
    assert decode_checked("héllo".encode()) == ("héllo", True)
    assert decode_checked(b"caf\xe9\x00") == ("café", False)


async def test_non_utf8_message_is_refused_and_not_relayed(server: RunningServer) -> None:
    alice, bob = await _client(server.port, "alice"), await _client(server.port, "bob")
    assert "UTF8ONLY" in _isupport(alice)
    await alice.send_raw(b"PRIVMSG bob :caf\xe9\r\nPRIVMSG bob :fine\r\n")
    fail = await alice.expect("FAIL")
    assert fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"] and fail.params[2]
    got = await bob.expect("PRIVMSG")
    assert got.params == ["bob", "fine"]  # only the valid line arrived
    await alice.aclose()
    await bob.aclose()


async def test_unreadable_verb_and_lines_before_registration(server: RunningServer) -> None:
    alice = await _client(server.port, "alice")
    await alice.send_raw(b"PRIV\xffMSG bob :x\r\n")
    assert (await alice.expect("FAIL")).params[:2] == ["*", "INVALID_UTF8"]
    await alice.send_raw(b"@label=a \xff\r\n")  # tags and no command: still answered
    assert (await alice.expect("FAIL")).params[:2] == ["*", "INVALID_UTF8"]
    newcomer = await RawClient.connect(server.port)
    await newcomer.send("NICK carol")
    await newcomer.send_raw(b"USER carol 0 * :r\xe9al\r\n")
    assert (await newcomer.expect("FAIL")).params[:2] == ["USER", "INVALID_UTF8"]
    await newcomer.send("USER carol 0 * :real")
    await newcomer.expect("001")
    await alice.aclose()
    await newcomer.aclose()


async def test_refusal_carries_the_label(server: RunningServer) -> None:
    alice = await _client(server.port, "alice", ["labeled-response", "batch"])
    await alice.send_raw(b"@label=xyz PRIVMSG #nowhere :hi\xaa\r\n")
    fail = await alice.expect("FAIL")
    assert fail.tags.get("label") == "xyz"
    assert fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    await alice.aclose()


async def test_turned_off_it_is_not_advertised(make_server) -> None:
    async with make_server({"limits": {"utf8_only": False}}) as srv:
        alice = await _client(srv.port, "alice")
        assert "UTF8ONLY" not in _isupport(alice)
        await alice.aclose()

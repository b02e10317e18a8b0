"""IRC over WebSocket: the handshake, chat with TCP clients, bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio

from ircish.core import numerics as N
from ircish.testing import start_server
from tests.ircclient import RawClient
from tests.web.wsclient import Rejected, WsClient, ws_irc, ws_port

WS = {"websocket": {"listen": ["127.0.0.1:0"]}}


@pytest.mark.parametrize(
    ("offered", "chosen", "kind"),
    [
        (["text.ircv3.net"], "text.ircv3.net", str),
        (["binary.ircv3.net"], "binary.ircv3.net", bytes),
        (["binary.ircv3.net", "text.ircv3.net"], "binary.ircv3.net", bytes),
        (["text.ircv3.net", "binary.ircv3.net"], "text.ircv3.net", str),
        ([], None, str),
        (["chat.example"], None, str),
    ],
)
async def test_subprotocol_follows_the_clients_preference_and_chat_works_both_ways(
    tmp_path: Path, offered: list[str], chosen: str | None, kind: type
) -> None:
    async with start_server(tmp_path, WS) as srv:
        tcp = await RawClient.connect(srv.port)
        await tcp.register("tcp")
        web, lines = await ws_irc(ws_port(srv), subprotocols=offered)
        assert web.stream.client.subprotocol == chosen
        await web.register("web")
        await web.send("PRIVMSG tcp :hello from the browser")
        got = await tcp.expect("PRIVMSG")
        assert got.source is not None and got.source.startswith("web!")
        assert got.params == ["tcp", "hello from the browser"]
        await tcp.send("PRIVMSG web :hello from a terminal")
        got = await web.expect("PRIVMSG")
        assert got.params == ["web", "hello from a terminal"]
        # One line per message, no CRLF inside, of the negotiated kind.
        assert lines.frames
        for frame in lines.frames:
            assert isinstance(frame.data, kind)
            raw = frame.data.encode() if isinstance(frame.data, str) else frame.data
            assert b"\r" not in raw and b"\n" not in raw


async def test_channel_lines_labels_and_tags_reach_websocket_clients(tmp_path: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        tcp = await RawClient.connect(srv.port)
        await tcp.register("tcp", ["message-tags"])
        web, _ = await ws_irc(ws_port(srv))
        await web.register("web", ["labeled-response", "message-tags", "echo-message",
                                   "batch", "server-time"])
        for client in (tcp, web):
            await client.send("JOIN #room")
            await client.expect(N.RPL_ENDOFNAMES)
        await web.send("@label=abc;+draft/reply=x PRIVMSG #room :tagged")
        echo = await web.expect("PRIVMSG")
        assert echo.tags.get("label") == "abc" and "time" in echo.tags
        relayed = await tcp.expect("PRIVMSG")
        assert relayed.params == ["#room", "tagged"] and relayed.tags.get("+draft/reply") == "x"
        await tcp.send("@+typing=active TAGMSG #room")
        tagmsg = await web.expect("TAGMSG")
        assert tagmsg.tags.get("+typing") == "active"


async def test_oversized_message_is_answered_417_like_a_tcp_line(tmp_path: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        web, _ = await ws_irc(ws_port(srv), "web")
        await web.send("PRIVMSG web :" + "x" * 20000)
        too_long = await web.expect(N.ERR_INPUTTOOLONG)
        assert too_long.params[0] == "web"
        # Still connected and heard.
        await web.send("PING :still-here")
        assert (await web.expect("PONG")).params[-1] == "still-here"


async def test_binary_frame_with_invalid_utf8_on_text_is_refused_by_fail(
    tmp_path: Path,
) -> None:
    async with start_server(tmp_path, WS) as srv:
        tcp = await RawClient.connect(srv.port)
        await tcp.register("tcp")
        web, lines = await ws_irc(ws_port(srv), "web")
        await lines.client.send_bytes(b"PRIVMSG tcp :caf\xe9")
        fail = await web.expect("FAIL")
        assert fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
        await web.send("PRIVMSG tcp :fine")
        assert (await tcp.expect("PRIVMSG")).params == ["tcp", "fine"]


async def test_invalid_utf8_in_a_text_frame_closes_with_1007(tmp_path: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        client = await WsClient.connect(ws_port(srv))
        # A text frame (opcode 1), masked with a zero key, whose payload is not UTF-8.
        payload = b"NICK caf\xe9"
        await client.send_raw(bytes((0x81, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
        while await client.next_message() is not None:
            pass
        assert client.closed is not None and client.closed.code == 1007


async def test_lines_to_a_text_client_are_valid_utf8(tmp_path: Path) -> None:
    config = {**WS, "limits": {"utf8_only": False}}
    async with start_server(tmp_path, config) as srv:
        tcp = await RawClient.connect(srv.port)
        await tcp.register("tcp")
        web, lines = await ws_irc(ws_port(srv), "web")
        await tcp.send_raw(b"PRIVMSG web :caf\xe9\r\n")
        got = await web.expect("PRIVMSG")
        # The core reads a non-UTF-8 line as Latin-1; a text frame carries it as UTF-8.
        assert got.params == ["web", "caf\N{LATIN SMALL LETTER E WITH ACUTE}"]
        assert isinstance(lines.frames[-1].data, str)


def test_a_line_that_is_not_utf8_is_framed_with_replacement_characters() -> None:
    from ircish.web.websocket import encode_frames

    assert encode_frames(b"PRIVMSG a :caf\xe9\r\nPING x\r\n", binary=False) == (
        b"\x81\x11PRIVMSG a :caf\xef\xbf\xbd" + b"\x81\x06PING x")
    assert encode_frames(b"PRIVMSG a :caf\xe9\r\n", binary=True) == (
        b"\x82\x0fPRIVMSG a :caf\xe9")


async def test_ping_frames_get_pongs_and_a_close_is_answered(tmp_path: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        tcp = await RawClient.connect(srv.port)
        await tcp.register("tcp")
        web, lines = await ws_irc(ws_port(srv), "web")
        for client in (tcp, web):
            await client.send("JOIN #room")
            await client.expect(N.RPL_ENDOFNAMES)
        await lines.client.ping(b"are-you-there")
        await web.send("PING :sync")
        await web.expect("PONG")
        assert lines.client.pongs == [b"are-you-there"]
        await lines.client.close(1000)
        while await lines.client.next_message() is not None:
            pass
        assert lines.client.closed is not None and lines.client.closed.code == 1000
        quit_ = await tcp.expect("QUIT")
        assert quit_.params[0] == "Remote host closed the connection"


async def test_quit_sends_error_then_a_close_frame(tmp_path: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        web, lines = await ws_irc(ws_port(srv), "web")
        await web.send("QUIT :bye")
        await web.expect("ERROR")
        assert await lines.client.next_message() is None
        assert lines.client.closed is not None and lines.client.closed.code == 1000


@pytest.mark.parametrize(
    ("origin", "allowed", "ok"),
    [
        ("http://127.0.0.1:{port}", [], True),  # same origin
        ("http://evil.example", [], False),
        ("https://127.0.0.1:{port}", [], False),  # another scheme is another origin
        ("null", [], False),
        (None, [], True),  # not a browser
        ("https://chat.example.org", ["https://chat.example.org"], True),
        ("https://CHAT.example.org:443", ["https://chat.example.org"], True),
        ("https://other.example.org", ["https://chat.example.org"], False),
        ("http://evil.example", ["*"], True),
    ],
)
async def test_origin_is_checked(
    tmp_path: Path, origin: str | None, allowed: list[str], ok: bool
) -> None:
    config = {"websocket": {"listen": ["127.0.0.1:0"], "allowed_origins": allowed}}
    async with start_server(tmp_path, config) as srv:
        port = ws_port(srv)
        given = origin.format(port=port) if origin else None
        if ok:
            client = await WsClient.connect(port, origin=given)
            assert client.subprotocol == "text.ircv3.net"
            return
        with pytest.raises(Rejected) as refused:
            await WsClient.connect(port, origin=given)
        assert refused.value.status == 403
        assert b"allowed_origins" in refused.value.body


async def test_half_finished_handshake_is_closed_after_the_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = {"websocket": {"listen": ["127.0.0.1:0"], "handshake_timeout": 0.2}}
    async with start_server(tmp_path, config) as srv:
        stream = await trio.open_tcp_stream("127.0.0.1", ws_port(srv))
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")
        with trio.fail_after(5):
            assert await stream.receive_some(100) == b""
    assert any("timed out after 0.2s" in r.getMessage() for r in caplog.records)


async def test_garbage_gets_400_and_other_methods_405(tmp_path: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        port = ws_port(srv)
        for request, status in ((b"HELLO\r\n\r\n", b"400"),
                                (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                                 b"405"),
                                (b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n", b"404")):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(request)
            answer = b""
            with trio.fail_after(5):
                while chunk := await stream.receive_some(65536):
                    answer += chunk
            assert answer.split(b" ")[1] == status, answer
            assert b"x-content-type-options: nosniff" in answer.lower()


async def test_fragments_pings_and_huge_messages_are_read_too(tmp_path: Path) -> None:
    from wsproto.events import TextMessage as Text

    async with start_server(tmp_path, WS) as srv:
        tcp = await RawClient.connect(srv.port)
        await tcp.register("tcp")
        web, lines = await ws_irc(ws_port(srv), "web")
        client = lines.client
        # One message in three frames, a ping between two of them.
        first = Text(data="PRIVMSG tcp :one ", message_finished=False)
        await client.send_raw(client.ws.send(first))
        await client.ping(b"mid")
        await client.send_raw(client.ws.send(Text(data="two ", message_finished=False)))
        await client.send_raw(client.ws.send(Text(data="three", message_finished=True)))
        assert (await tcp.expect("PRIVMSG")).params == ["tcp", "one two three"]
        # Over 64 KiB: a frame with a 64-bit length.
        await web.send("PRIVMSG tcp :" + "h" * 100_000)
        assert (await web.expect(N.ERR_INPUTTOOLONG)).params[0] == "web"
        await web.send("PRIVMSG tcp :after")
        assert (await tcp.expect("PRIVMSG")).params == ["tcp", "after"]
        assert client.pongs == [b"mid"]


async def test_lines_sent_with_the_handshake_are_read(tmp_path: Path) -> None:
    async with start_server(tmp_path, WS) as srv:
        port = ws_port(srv)
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        frames = b""
        for line in (b"NICK early", b"USER early 0 * :r"):
            key = b"\x01\x02\x03\x04"
            masked = bytes(b ^ key[i % 4] for i, b in enumerate(line))
            frames += bytes((0x81, 0x80 | len(line))) + key + masked
        await stream.send_all(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n" % port + frames)
        seen = b""
        with trio.fail_after(5):
            while b" 001 early " not in seen:
                chunk = await stream.receive_some(65536)
                assert chunk
                seen += chunk
        assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in seen  # RFC 6455's example answer

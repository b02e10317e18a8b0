"""Line framing and the limits on what a client may send (``ircish.protocol.framing``)."""

from __future__ import annotations

from ircish.protocol.framing import TOO_LONG, LineFramer, decode_line


def test_lines_split_on_crlf_cr_and_lf() -> None:
    f = LineFramer()
    assert f.feed(b"A\r\nB\nC\rD") == [b"A", b"B", b"C"]
    assert f.feed(b"\r\n\r\n") == [b"D"]


def test_body_limit_counts_crlf() -> None:
    f = LineFramer(512)
    at_limit = b"PING " + b"x" * 505
    assert len(at_limit) == 510
    assert f.feed(at_limit + b"\r\n") == [at_limit]
    assert f.feed(at_limit + b"x\r\n") == [TOO_LONG]
    assert f.feed(b"PING ok\r\n") == [b"PING ok"]


def test_client_tag_data_limit_is_4094_bytes() -> None:
    f = LineFramer(512, 8191)
    fits = b"@+t=" + b"a" * (4094 - 3) + b" PRIVMSG #x :hi"
    assert f.feed(fits + b"\r\n") == [fits]
    over = b"@+clientOnlyTagExample=" + b"a" * 4096 + b" PRIVMSG #xyz hi!"
    assert f.feed(over + b"\r\n") == [TOO_LONG]


def test_endless_line_is_reported_once_and_skipped() -> None:
    f = LineFramer(512, 512)
    out = f.feed(b"x" * 5000)
    assert out == [TOO_LONG]
    assert f.feed(b"y" * 100) == []
    assert f.feed(b"\r\nPING a\r\n") == [b"PING a"]


def test_decode_falls_back_to_latin1_and_drops_nul() -> None:
    assert decode_line("héllo".encode()) == "héllo"
    assert decode_line(b"caf\xe9") == "café"
    assert decode_line(b"a\x00b") == "ab"

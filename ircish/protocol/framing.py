"""Splitting a byte stream into IRC lines, with the length limits applied.

CR, LF and CRLF all end a line (clients differ); empty lines are skipped. A line
over the limit is reported as ``TOO_LONG`` in its place and dropped whole, never
truncated, so a client learns of it (417) and nothing half-parsed is acted on.
"""

from __future__ import annotations

from typing import Final


class _TooLong:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_LONG"


TOO_LONG: Final = _TooLong()


# IRCv3 message-tags: a client may send at most 4094 bytes of tag data, which is
# 4096 with the leading '@' and the space after it; more must be refused with 417.
CLIENT_TAGS_MAX: Final = 4096


class LineFramer:
    __slots__ = ("_buf", "_discarding", "max_body", "max_tags")

    def __init__(self, line_length: int = 512, tags_length: int = 8191) -> None:
        # Limits count the CRLF in the body and the '@' plus space in the tags.
        self.max_body = line_length - 2
        self.max_tags = min(tags_length, CLIENT_TAGS_MAX)
        self._buf = b""
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | _TooLong]:
        chunks = (self._buf + data.replace(b"\r", b"\n")).split(b"\n")
        self._buf = chunks.pop()
        out: list[bytes | _TooLong] = []
        for line in chunks:
            if self._discarding:
                # The rest of a line already reported as too long.
                self._discarding = False
                continue
            if not line:
                continue
            out.append(line if self._fits(line) else TOO_LONG)
        if len(self._buf) > self.max_body + self.max_tags + 1 and not self._discarding:
            out.append(TOO_LONG)
            self._buf = b""
            self._discarding = True
        elif self._discarding:
            self._buf = b""
        return out

    def _fits(self, line: bytes) -> bool:
        if line[0] == 0x40:  # '@'
            space = line.find(b" ")
            if space == -1:
                return len(line) <= self.max_tags
            return space + 1 <= self.max_tags and len(line) - space - 1 <= self.max_body
        return len(line) <= self.max_body


def decode_line(line: bytes) -> str:
    """UTF-8, falling back to Latin-1 so that any byte sequence reads as text."""
    return decode_checked(line)[0]


def decode_checked(line: bytes) -> tuple[str, bool]:
    """The line as text, and whether it was valid UTF-8.

    Invalid UTF-8 reads as Latin-1, so any byte sequence has a text (enough to
    find its verb and label); under ``[limits] utf8_only`` (ISUPPORT UTF8ONLY)
    the server refuses such a line instead of acting on it.
    """
    try:
        text = line.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        text = line.decode("latin-1")
        valid = False
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text, valid

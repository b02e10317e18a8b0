"""The reply buffer: every line a command sends back to the client that sent it.

A command answers through ``Server.numeric``, ``Server.reply`` and friends; while a
labeled command (IRCv3 ``labeled-response``) runs, those lines are held here
instead of going straight to the client's sink, so that when the command is done
they can be sent as the specification asks: no reply becomes a labeled ``ACK``,
one reply carries the ``label`` tag, several are wrapped in a ``labeled-response``
batch. Unlabeled commands (nearly all traffic) never build a buffer.

Lines reach the buffer already encoded: tags are added at the byte level, which
costs nothing on the unlabeled path and keeps one encoder for every line.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ircish.protocol.message import format_line
from ircish.protocol.tags import escape_tag_value

if TYPE_CHECKING:
    from ircish.core.state import User

LABEL_CAP = "labeled-response"
MULTILINE_BATCH = b"draft/multiline"


def new_batch_id() -> str:
    """A batch reference tag: letters and digits, unique enough per connection."""
    return secrets.token_hex(6)


def add_tag(line: bytes, tag: bytes) -> bytes:
    """``line`` (one encoded line) with ``tag`` (``key=value``) first in its tags."""
    if line.startswith(b"@"):
        return b"@" + tag + b";" + line[1:]
    return b"@" + tag + b" " + line


def _has_batch_tag(line: bytes) -> bool:
    if not line.startswith(b"@"):
        return False
    tags = line[1 : line.find(b" ")]
    return tags.startswith(b"batch=") or b";batch=" in tags


def _one_multiline_batch(lines: Sequence[bytes]) -> bool:
    """Whether ``lines`` are exactly one ``draft/multiline`` batch, nothing else."""
    first = lines[0]
    if first.startswith(b"@"):
        first = first[first.find(b" ") + 1 :]
    words = first.split(b" ", 4)
    if len(words) < 4 or words[1] != b"BATCH" or words[3].rstrip() != MULTILINE_BATCH:
        return False
    ref = words[2][1:]
    tag = b"batch=" + ref
    return (words[2][:1] == b"+" and lines[-1].split(b" ")[-1].rstrip() == b"-" + ref
            and all(line.startswith(b"@" + tag + b" ") or line.startswith(b"@" + tag + b";")
                    for line in lines[1:-1]))


def server_line(server_name: str, command: str, params: Sequence[str]) -> bytes:
    """``:server COMMAND params`` encoded, for lines that carry no tags of their own."""
    return (format_line(command, params, server_name) + "\r\n").encode("utf-8", "replace")


def batch_lines(server_name: str, batch_id: str, batch_type: str, params: Sequence[str],
                lines: Iterable[bytes]) -> Iterator[bytes]:
    """``lines`` between ``BATCH +id type params`` and ``BATCH -id``, each tagged."""
    yield server_line(server_name, "BATCH", ["+" + batch_id, batch_type, *params])
    tag = b"batch=" + batch_id.encode()
    for line in lines:
        # A nested batch's own lines keep their inner reference.
        yield line if _has_batch_tag(line) else add_tag(line, tag)
    yield server_line(server_name, "BATCH", ["-" + batch_id])


class Replies:
    """The replies to one labeled command from ``user``, sent together by ``finish``.

    A command that answers later (CHATHISTORY waits for the store) marks its
    buffer ``deferred``; the dispatcher then leaves it open and the command
    finishes it itself once the answer is written.
    """

    __slots__ = ("chunks", "deferred", "done", "label", "server_name", "user")

    def __init__(self, server_name: str, user: User, label: str) -> None:
        self.server_name = server_name
        self.user = user
        self.label = label
        self.chunks: list[bytes] = []
        self.deferred = False
        self.done = False

    def add(self, data: bytes) -> None:
        if self.done:
            self.user.sink.send(data)  # after the labeled answer: an ordinary line
        else:
            self.chunks.append(data)

    def finish(self) -> None:
        """Send what was collected, labeled; an empty reply becomes ``ACK``. Once."""
        if self.done:
            return
        self.done = True
        lines = [line + b"\r\n" for line in b"".join(self.chunks).split(b"\r\n") if line]
        self.chunks.clear()
        label = b"label=" + escape_tag_value(self.label).encode("utf-8", "replace")
        if not lines:
            out = [add_tag(server_line(self.server_name, "ACK", []), label)]
        elif len(lines) == 1 or _one_multiline_batch(lines):
            # A multiline echo is one message: the label goes on its BATCH line
            # (the multiline spec), not around it.
            out = [add_tag(lines[0], label), *lines[1:]]
        elif "batch" in self.user.caps:
            out = list(batch_lines(self.server_name, new_batch_id(), LABEL_CAP, [], lines))
            out[0] = add_tag(out[0], label)
        else:
            # Without batch the label may go on one line only (the specification's MAY).
            out = [add_tag(lines[0], label), *lines[1:]]
        self.user.sink.send(b"".join(out))


class ReplyRouter:
    """Which buffer, if any, a line for a user goes into right now."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: Replies | None = None

    def send(self, user: User, data: bytes) -> None:
        current = self.current
        if current is not None and current.user is user:
            current.add(data)
        else:
            user.sink.send(data)

    @contextmanager
    def collecting(self, replies: Replies | None) -> Iterator[Replies | None]:
        """Route ``replies.user``'s lines into ``replies`` for the block, then send
        them unless the block deferred them."""
        if replies is None:
            yield None
            return
        outer, self.current = self.current, replies
        replies.deferred = False
        try:
            yield replies
        finally:
            self.current = outer
            if not replies.deferred:
                replies.finish()

"""Where a client's multiline batch is assembled, line by line, until ``BATCH -ref``.

``BATCH +ref draft/multiline <target>`` (``feature.batch_command``) puts an
``OpenBatch`` in ``User.batch``; ``Server.handle`` then gives it every line first.
It keeps the PRIVMSG/NOTICE lines tagged ``batch=ref`` and checks each as it
comes: the target, one verb, no ``draft/multiline-concat`` on a blank line, and
``max-bytes`` (line texts plus one byte per line feed that joins them) and
``max-lines`` (every line, concat or not), as the spec counts them. Nothing is
delivered until the batch closes (``finish``), and then once.

Errors are ``FAIL BATCH <code>`` with the spec's parameters; a refused batch
becomes a ``SpentBatch``, which swallows the rest of its lines and its
``BATCH -ref`` without a word, as the client-batch spec says ("all past and
future messages in this batch will be ignored"). A line that is no part of the
batch (another command, a PRIVMSG without the tag) ends it with
``MULTILINE_INVALID`` and then runs as usual: the client asked for it. PING and
PONG pass untouched. A labeled ``BATCH +`` keeps its reply buffer open here, so
the label goes on the echo (or the error) when the batch ends.

A channel renamed while a batch to it is open (``draft/channel-rename``) takes
the batch along (``follow_rename``): it is delivered to the channel under its
new name, and its lines may name the channel by any name it has had since the
batch opened (a client cannot know of a rename its lines crossed on the way).
Without this the message was lost at ``BATCH -ref`` (403 for the old name) or
refused (``MULTILINE_INVALID_TARGET`` for the new one).

There is no timeout: an open batch holds at most ``max-bytes`` of text, and it
goes with its connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.core.multiline import CONCAT_TAG, Line
from ircish.multiline.delivery import deliver_multiline
from ircish.protocol.casemap import casefold

if TYPE_CHECKING:
    from ircish.core.replies import Replies
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message

# Lines that may come while a batch is open: keepalives, not part of any message.
_PASS = frozenset({"PING", "PONG"})


def fail(server: Server, user: User, replies: Replies | None, code: str, *params: str) -> None:
    """``FAIL BATCH code params``, the answer to the labeled BATCH line if it was."""
    with server.replies.collecting(replies):
        server.fail(user, "BATCH", code, *params)


class SpentBatch:
    """A refused batch: its remaining lines and its end are dropped quietly."""

    __slots__ = ("refs",)

    def __init__(self, *refs: str) -> None:
        self.refs = set(refs)

    def take(self, server: Server, user: User, msg: Message) -> bool:
        tag = msg.tags.get("batch") if msg.tags else None
        if tag is not None and tag in self.refs:
            return True
        params = msg.params
        if msg.command.upper() == "BATCH" and params and params[0][:1] == "-" \
                and params[0][1:] in self.refs:
            self.refs.discard(params[0][1:])
            if not self.refs:
                user.batch = None
            return True
        user.batch = None  # the client has moved on
        return False


class OpenBatch:
    __slots__ = ("client_tags", "lines", "names", "ref", "replies", "size", "target", "verb")

    def __init__(self, ref: str, target: str, client_tags: dict[str, str] | None,
                 replies: Replies | None) -> None:
        self.ref = ref
        self.target = target
        # Every name (casefolded) the target has had since the batch opened.
        self.names = {casefold(target)}
        self.client_tags = client_tags
        self.replies = replies
        self.verb: str | None = None
        self.lines: list[Line] = []
        self.size = 0  # max-bytes as the spec counts: texts and joining line feeds

    def refuse(self, server: Server, user: User, code: str, *params: str,
               refs: tuple[str, ...] = ()) -> None:
        user.batch = SpentBatch(self.ref, *refs)
        fail(server, user, self.replies, code, *params)

    def take(self, server: Server, user: User, msg: Message) -> bool:
        verb = msg.command.upper()
        tag = msg.tags.get("batch") if msg.tags else None
        if verb in ("PRIVMSG", "NOTICE"):
            if tag is None:
                self.refuse(server, user, "MULTILINE_INVALID",
                            f"{verb} outside the open multiline batch {self.ref}")
                return False
            if tag != self.ref:
                self.refuse(server, user, "MULTILINE_INVALID",
                            f"Incorrect batch tag {tag}: batch {self.ref} is open", refs=(tag,))
                return True
            self.add(server, user, verb, msg)
            return True
        if verb == "BATCH":
            if tag is not None:
                inner = msg.params[0][1:] if msg.params else ""
                self.refuse(server, user, "MULTILINE_INVALID", "Nested batches are not allowed",
                            refs=(inner,) if inner else ())
                return True
            return False  # its handler closes this batch (or refuses a second one)
        if verb in _PASS:
            return False
        self.refuse(server, user, "MULTILINE_INVALID",
                    f"{verb} is not allowed inside multiline batch {self.ref}")
        return False

    def add(self, server: Server, user: User, verb: str, msg: Message) -> None:
        params = msg.params
        if len(params) < 2:
            self.refuse(server, user, "MULTILINE_INVALID",
                        "Invalid multiline batch: a line needs a target and a text")
            return
        target, text = params[0], params[1]
        if casefold(target) not in self.names:
            self.refuse(server, user, "MULTILINE_INVALID_TARGET", self.target, target,
                        "Invalid multiline target")
            return
        if self.verb is None:
            self.verb = verb
        elif verb != self.verb:
            self.refuse(server, user, "MULTILINE_INVALID",
                        "Invalid multiline batch: PRIVMSG and NOTICE lines mixed")
            return
        concat = CONCAT_TAG in msg.tags
        if concat and not text:
            self.refuse(server, user, "MULTILINE_INVALID",
                        "Invalid multiline batch with concatenated blank line")
            return
        concat = concat and bool(self.lines)  # the first line continues nothing
        if self.lines and not concat:
            self.size += 1  # the line feed that joins it
        self.size += len(text.encode("utf-8", "replace"))
        self.lines.append((text, concat))
        limits = server.limits
        if self.size > limits.multiline_max_bytes:
            self.refuse(server, user, "MULTILINE_MAX_BYTES", str(limits.multiline_max_bytes),
                        "Multiline batch max-bytes exceeded")
        elif len(self.lines) > limits.multiline_max_lines:
            self.refuse(server, user, "MULTILINE_MAX_LINES", str(limits.multiline_max_lines),
                        "Multiline batch max-lines exceeded")

    def finish(self, server: Server, user: User) -> None:
        """``BATCH -ref``: the whole message goes out now, or the reason it cannot."""
        user.batch = None
        if not self.lines or self.verb is None:
            fail(server, user, self.replies, "MULTILINE_INVALID",
                 "Invalid multiline batch: no lines")
        elif not any(text for text, _ in self.lines):
            fail(server, user, self.replies, "MULTILINE_INVALID",
                 "Invalid multiline batch with blank lines only")
        else:
            with server.replies.collecting(self.replies):
                deliver_multiline(server, user, self.verb, self.target, self.lines,
                                  self.client_tags)


def follow_rename(server: Server, old_key: str, new: str) -> None:
    """The channel keyed ``old_key`` is now called ``new``: open batches to it follow,
    a STATUSMSG one (``@#chan``) keeping its prefix."""
    for user in server.users.values():
        batch = user.batch
        if not isinstance(batch, OpenBatch):
            continue
        target = batch.target
        status = target[0] if target[:1] != "#" and target[1:2] == "#" else ""
        if casefold(target[len(status):]) == old_key:
            batch.target = status + new
            batch.names.add(casefold(batch.target))

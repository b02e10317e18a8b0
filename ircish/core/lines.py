"""Relayed lines, encoded once per tag variant."""

from __future__ import annotations

import time

from ircish.core.events import micros_from
from ircish.core.state import TAG_ACCOUNT, TAG_EXTENDED_JOIN, TAG_MESSAGE_TAGS, TAG_SERVER_TIME
from ircish.protocol.message import format_line
from ircish.protocol.tags import format_tags


def format_time(micros: int) -> str:
    """An IRCv3 ``time`` tag value for a moment in µs: UTC, to the millisecond."""
    seconds, rest = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1000:03d}Z"


def server_time(ts: float) -> str:
    # Through the same µs as the stored event (micros_from), so a live line and its
    # copy from history carry the same tag: cutting the float's fraction gave
    # .289 for a line stored as .290.
    return format_time(micros_from(ts))


def fit_trailing(head: str, text: str, budget: int) -> str:
    """Cut ``text`` so ``head + text`` (a line up to its trailing parameter) fits
    the ``budget`` bytes a line may have before CRLF; never cuts inside a character.

    Callers go through ``Server.fit_trailing``, which knows the configured budget."""
    room = budget - len(head.encode("utf-8", "replace"))
    data = text.encode("utf-8", "replace")
    if len(data) <= room:
        return text
    return data[: max(room, 0)].decode("utf-8", "ignore")


class LineVariants:
    """One relayed line, encoded at most once per distinct tag mask.

    Recipients differ only in which tags (and which JOIN form) they negotiated,
    so a broadcast to a thousand members costs a handful of encodings. This is
    the one place the tags of a relayed line are chosen: ``msgid``, the client's
    own ``+`` tags and ``bot`` (the sender has user mode +B) for message-tags,
    ``time`` for server-time, ``account`` for account-tag when the sender is
    logged in; ``extended`` is the source and parameters of a JOIN's
    extended-join form, formatted only if someone asked for it.
    """

    __slots__ = ("_account", "_bot", "_cache", "_client_tags", "_extended", "_plain",
                 "_relevant", "body", "msgid", "ts")

    def __init__(
        self, body: str, msgid: str, ts: float, client_tags: dict[str, str] | None = None,
        account: str | None = None, bot: bool = False,
        extended: tuple[str, list[str]] | None = None,
    ) -> None:
        self.body = body
        self.msgid = msgid
        self.ts = ts
        self._client_tags = client_tags
        self._account = account
        self._bot = bot
        self._extended = extended
        # Bits that change nothing for this line are dropped before the cache is
        # read, so e.g. account-tag clients share the plain encoding of an
        # anonymous sender's line.
        self._relevant = (TAG_SERVER_TIME | TAG_MESSAGE_TAGS
                          | (TAG_ACCOUNT if account else 0)
                          | (TAG_EXTENDED_JOIN if extended is not None else 0))
        self._plain = (body + "\r\n").encode("utf-8", "replace")
        self._cache: dict[int, bytes] = {0: self._plain}

    def for_mask(self, mask: int) -> bytes:
        mask &= self._relevant
        data = self._cache.get(mask)
        if data is None:
            tags: dict[str, str] = {}
            if mask & TAG_MESSAGE_TAGS:
                if self._client_tags:
                    tags.update(self._client_tags)
                if self.msgid:  # a multiline fallback's later lines have none
                    tags["msgid"] = self.msgid
                if self._bot:
                    tags["bot"] = ""
            if mask & TAG_SERVER_TIME:
                tags["time"] = server_time(self.ts)
            account, extended = self._account, self._extended
            if mask & TAG_ACCOUNT and account:
                tags["account"] = account
            body = self.body
            if mask & TAG_EXTENDED_JOIN and extended is not None:
                body = format_line("JOIN", extended[1], extended[0])
            head = "@" + format_tags(tags) + " " if tags else ""
            data = self._cache[mask] = (head + body + "\r\n").encode("utf-8", "replace")
        return data

"""Relayed lines, encoded once per tag variant."""

from __future__ import annotations

import time

from ircish.core.state import TAG_MESSAGE_TAGS, TAG_SERVER_TIME
from ircish.protocol.tags import format_tags


def server_time(ts: float) -> str:
    """An IRCv3 ``time`` tag value: UTC with milliseconds."""
    whole = int(ts)
    ms = int((ts - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{ms:03d}Z"


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

    Recipients differ only in which tags they negotiated, so a broadcast to a
    thousand members costs at most four encodings.
    """

    __slots__ = ("_cache", "_client_tags", "_plain", "body", "msgid", "ts")

    def __init__(
        self, body: str, msgid: str, ts: float, client_tags: dict[str, str] | None = None
    ) -> None:
        self.body = body
        self.msgid = msgid
        self.ts = ts
        self._client_tags = client_tags
        self._plain = (body + "\r\n").encode("utf-8", "replace")
        self._cache: dict[int, bytes] = {0: self._plain}

    def for_mask(self, mask: int) -> bytes:
        data = self._cache.get(mask)
        if data is None:
            tags: dict[str, str] = {}
            if mask & TAG_MESSAGE_TAGS:
                if self._client_tags:
                    tags.update(self._client_tags)
                tags["msgid"] = self.msgid
            if mask & TAG_SERVER_TIME:
                tags["time"] = server_time(self.ts)
            data = self._cache[mask] = (
                "@" + format_tags(tags) + " " + self.body + "\r\n"
            ).encode("utf-8", "replace")
        return data

"""Event builders for store tests."""

from __future__ import annotations

import itertools
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from ircish.core.chathistory import (
    MESSAGE_KINDS,
    PLAYBACK_KINDS,
    HistoryRequest,
    Ref,
    Viewer,
)
from ircish.core.events import ChannelStateEvent, JoinEvent, MessageEvent, micros_of
from ircish.store.reader import HistoryReader

BASE = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
_ids = itertools.count(1)


def at(us: int) -> datetime:
    return BASE + timedelta(microseconds=us)


def msg(
    text: str,
    *,
    target: str = "#chan",
    nick: str = "alice",
    when: datetime | None = None,
    msgid: str | None = None,
    account: str | None = None,
    command: str = "PRIVMSG",
    tags: dict[str, str] | None = None,
    session: str | None = None,
    recipient_session: str | None = None,
    recipient_account: str | None = None,
) -> MessageEvent:
    return MessageEvent(
        msgid=msgid or f"m{next(_ids)}",
        micros=micros_of(when or datetime.now(UTC)),
        command=command,  # type: ignore[arg-type]
        source=f"{nick}!{nick}@host",
        nick=nick,
        account=account,
        target=target,
        is_channel=target.startswith("#"),
        text=text,
        tags=tags or {},
        recipient_account=recipient_account,
        session=session,
        recipient_session=recipient_session,
    )


def join(nick: str, channel: str = "#chan", when: datetime | None = None) -> JoinEvent:
    return JoinEvent(
        msgid=f"j{next(_ids)}",
        micros=micros_of(when or datetime.now(UTC)),
        source=f"{nick}!{nick}@host",
        nick=nick,
        account=None,
        channel=channel,
    )


def chan_state(
    channel: str = "#keep", *, persistent: bool = True, topic: str = "hello"
) -> ChannelStateEvent:
    return ChannelStateEvent(
        channel=channel,
        topic=topic,
        topic_setter="op!op@host",
        topic_micros=micros_of(BASE),
        modes="+ntP",
        key="sekrit",
        limit=20,
        bans=(("*!*@bad", "op!op@host", micros_of(BASE)),
              ("x!*@*", "op!op@host", micros_of(at(5)))),
        persistent=persistent,
    )


def mref(msgid: str) -> Ref:
    return ("msgid", msgid)


def tref(micros: int) -> Ref:
    return ("timestamp", micros)


class Reads:
    """Each kind of read as one ``HistoryRequest`` through the one read API, ``ask``.

    Only so the query tests read as questions; the server builds its requests
    itself (``core.chathistory.parse_request``, replay, plugins).
    """

    def __init__(self, reader: HistoryReader) -> None:
        self.reader = reader

    async def _one(self, sub: str, target: str, refs: tuple[Ref | None, ...], limit: int,
                   viewer: Viewer, kinds: Collection[str] | None = MESSAGE_KINDS,
                   since: int | None = None, **extra: Any) -> Any:
        request = HistoryRequest(sub, target, refs, limit, frozenset(kinds or PLAYBACK_KINDS),
                                 since, viewer, **extra)
        (answer,) = await self.reader.ask(request)
        return answer

    async def latest(self, target: str, viewer: Viewer, limit: int, *, after: Ref | None = None,
                     **scope: Any) -> Any:
        return await self._one("LATEST", target, (after,), limit, viewer, **scope)

    async def before(self, target: str, viewer: Viewer, ref: Ref, limit: int, **scope: Any
                     ) -> Any:
        return await self._one("BEFORE", target, (ref,), limit, viewer, **scope)

    async def after(self, target: str, viewer: Viewer, ref: Ref, limit: int, **scope: Any
                    ) -> Any:
        return await self._one("AFTER", target, (ref,), limit, viewer, **scope)

    async def around(self, target: str, viewer: Viewer, ref: Ref, limit: int, **scope: Any
                     ) -> Any:
        return await self._one("AROUND", target, (ref,), limit, viewer, **scope)

    async def between(self, target: str, viewer: Viewer, start: Ref, end: Ref, limit: int,
                      **scope: Any) -> Any:
        return await self._one("BETWEEN", target, (start, end), limit, viewer, **scope)

    async def by_msgid(self, target: str, viewer: Viewer, msgid: str, *,
                       since: int | None = None) -> Any:
        # AROUND a msgid with room for one line is that line, of any kind.
        found = await self._one("AROUND", target, (mref(msgid),), 1, viewer, None, since)
        return found[0] if found else None

    async def count(self, target: str, viewer: Viewer, start: Ref, end: Ref | None, cap: int,
                    **scope: Any) -> Any:
        refs = (start,) if end is None else (start, end)
        return await self._one("COUNT", target, refs, cap, viewer, **scope)

    async def targets(self, viewer: Viewer, start: int, end: int, limit: int, *,
                      channels: Collection[str] = (), since: dict[str, int] | None = None
                      ) -> Any:
        epochs = since or {}
        listed = tuple((name, epochs.get(name)) for name in channels)
        return await self._one("TARGETS", "*", (tref(start), tref(end)), limit, viewer,
                               channels=listed)

    async def by_nick(self, targets: list[str], viewer: Viewer, ref: Ref, window: int,
                      pattern: str, limit: int, *, kinds: Collection[str] | None = None,
                      since: dict[str, int] | None = None) -> list[Any]:
        epochs = since or {}
        return await self.reader.ask(*(
            HistoryRequest("NICK", t, (ref,), limit, frozenset(kinds or PLAYBACK_KINDS),
                           epochs.get(t), viewer, window=window, nick_like=pattern)
            for t in targets))

"""``HistoryReader``'s API in the server process, answered by the history worker.

Same methods, arguments and results as ``reader.HistoryReader`` (the records
are pickled back), so ``core.chathistory``, the history service and plugins'
``api.history`` do not know where the database is. A query raises
``StoreUnavailable`` while the worker is being restarted and
``StoreQueryError`` when it failed there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import Any

from ircish.store.kinds import MESSAGE_KINDS
from ircish.store.records import ChannelState, HistoryRecord, Ref, TargetSummary, Viewer

Call = Callable[..., Awaitable[Any]]


class RemoteReader:
    def __init__(self, call: Call) -> None:
        self._call = call

    async def latest(
        self,
        target: str,
        viewer: Viewer,
        limit: int,
        *,
        after: Ref | None = None,
        kinds: Collection[str] | None = MESSAGE_KINDS,
        since: int | None = None,
    ) -> list[HistoryRecord]:
        return await self._call(
            "latest", target, viewer, limit, after=after, kinds=kinds, since=since
        )

    async def before(
        self,
        target: str,
        viewer: Viewer,
        ref: Ref,
        limit: int,
        *,
        kinds: Collection[str] | None = MESSAGE_KINDS,
        since: int | None = None,
    ) -> list[HistoryRecord]:
        return await self._call("before", target, viewer, ref, limit, kinds=kinds, since=since)

    async def after(
        self,
        target: str,
        viewer: Viewer,
        ref: Ref,
        limit: int,
        *,
        kinds: Collection[str] | None = MESSAGE_KINDS,
        since: int | None = None,
    ) -> list[HistoryRecord]:
        return await self._call("after", target, viewer, ref, limit, kinds=kinds, since=since)

    async def around(
        self,
        target: str,
        viewer: Viewer,
        ref: Ref,
        limit: int,
        *,
        kinds: Collection[str] | None = MESSAGE_KINDS,
        since: int | None = None,
    ) -> list[HistoryRecord]:
        return await self._call("around", target, viewer, ref, limit, kinds=kinds, since=since)

    async def between(
        self,
        target: str,
        viewer: Viewer,
        start: Ref,
        end: Ref,
        limit: int,
        *,
        kinds: Collection[str] | None = MESSAGE_KINDS,
        since: int | None = None,
    ) -> list[HistoryRecord]:
        return await self._call(
            "between", target, viewer, start, end, limit, kinds=kinds, since=since
        )

    async def by_msgid(
        self, target: str, viewer: Viewer, msgid: str, *, since: int | None = None
    ) -> HistoryRecord | None:
        return await self._call("by_msgid", target, viewer, msgid, since=since)

    async def targets(
        self,
        viewer: Viewer,
        start: int,
        end: int,
        limit: int,
        *,
        channels: Iterable[str] = (),
        kinds: Collection[str] = MESSAGE_KINDS,
        since: Mapping[str, int] | None = None,
    ) -> list[TargetSummary]:
        return await self._call(
            "targets",
            viewer,
            start,
            end,
            limit,
            channels=list(channels),
            kinds=frozenset(kinds),
            since=dict(since) if since else None,
        )

    async def load_channels(self) -> list[ChannelState]:
        return await self._call("load_channels")

    async def count(
        self,
        target: str,
        viewer: Viewer,
        start: Ref,
        end: Ref | None,
        cap: int,
        *,
        kinds: Collection[str] | None = MESSAGE_KINDS,
        since: int | None = None,
    ) -> int:
        return await self._call(
            "count", target, viewer, start, end, cap, kinds=kinds, since=since
        )

    async def by_nick(
        self,
        targets: Iterable[str],
        viewer: Viewer,
        ref: Ref,
        window: int,
        pattern: str,
        limit: int,
        *,
        kinds: Collection[str] | None = None,
        since: Mapping[str, int] | None = None,
    ) -> list[list[HistoryRecord]]:
        return await self._call(
            "by_nick",
            list(targets),
            viewer,
            ref,
            window,
            pattern,
            limit,
            kinds=kinds,
            since=dict(since) if since else None,
        )

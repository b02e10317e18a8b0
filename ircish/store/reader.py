"""The async history API the core uses: every query runs in a worker thread.

SQLite in WAL mode lets readers run beside the one writer, so reads get their
own small pool of threads (bounded by a limiter) and never wait for a commit,
and the Trio thread never waits for the disk.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from functools import partial
from typing import TypeVar

import trio
from sqlalchemy import Connection, Engine

from ircish.store import queries
from ircish.store.keys import DEFAULT_CHANTYPES
from ircish.store.records import ChannelState, HistoryRecord, Ref, TargetSummary, Viewer
from ircish.store.schema import MESSAGE_KINDS

T = TypeVar("T")


class HistoryReader:
    def __init__(
        self,
        engine: Engine,
        *,
        max_threads: int = 4,
        chantypes: str = DEFAULT_CHANTYPES,
    ) -> None:
        self._engine = engine
        self._limiter = trio.CapacityLimiter(max_threads)
        self._chantypes = chantypes

    def _scope(
        self,
        target: str,
        viewer: Viewer,
        kinds: Collection[str] | None,
        since: int | None = None,
    ) -> queries.Scope:
        return queries.Scope(target, viewer, kinds, self._chantypes, since)

    def _in_transaction(self, fn: Callable[[Connection], T]) -> T:
        # One read transaction per query: a msgid lookup and the page it
        # anchors see the same snapshot.
        with self._engine.connect() as conn, conn.begin():
            return fn(conn)

    async def _run(self, fn: Callable[[Connection], T]) -> T:
        return await trio.to_thread.run_sync(self._in_transaction, fn, limiter=self._limiter)

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
        scope = self._scope(target, viewer, kinds, since)
        return await self._run(lambda c: queries.latest(c, scope, limit, after))

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
        scope = self._scope(target, viewer, kinds, since)
        return await self._run(lambda c: queries.before(c, scope, ref, limit))

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
        scope = self._scope(target, viewer, kinds, since)
        return await self._run(lambda c: queries.after(c, scope, ref, limit))

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
        scope = self._scope(target, viewer, kinds, since)
        return await self._run(lambda c: queries.around(c, scope, ref, limit))

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
        scope = self._scope(target, viewer, kinds, since)
        return await self._run(lambda c: queries.between(c, scope, start, end, limit))

    async def by_msgid(
        self, target: str, viewer: Viewer, msgid: str, *, since: int | None = None
    ) -> HistoryRecord | None:
        scope = self._scope(target, viewer, None, since)
        return await self._run(lambda c: queries.by_msgid(c, scope, msgid))

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
        names = list(channels)
        return await self._run(
            partial(
                queries.targets,
                viewer=viewer,
                start=start,
                end=end,
                limit=limit,
                channel_names=names,
                kinds=kinds,
                since=dict(since) if since else None,
            )
        )

    async def load_channels(self) -> list[ChannelState]:
        return await self._run(queries.load_channels)

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
        scope = self._scope(target, viewer, kinds, since)
        return await self._run(lambda c: queries.count(c, scope, start, end, cap))

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
        """``queries.by_nick`` for each target (from its ``since`` epoch), in one transaction."""
        epochs = since or {}
        scopes = [self._scope(target, viewer, kinds, epochs.get(target)) for target in targets]
        return await self._run(
            lambda c: [queries.by_nick(c, s, ref, window, pattern, limit) for s in scopes]
        )

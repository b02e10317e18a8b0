"""The one read API of the database: ``ask(*requests)``, run in worker threads.

Each request is a ``core.chathistory.HistoryRequest``, answered by
``queries.answer``, or an ``ircish.search.request.SearchRequest``, answered by
``search.answer``; several asked together share one read transaction (a plugin's
"seen anywhere" asks about many channels at once). SQLite in WAL mode
lets readers run beside the one writer, so reads get their own small pool of
threads (bounded by a limiter) and never wait for a commit, and the Trio thread
never waits for the disk.
"""

from __future__ import annotations

from typing import Any

import trio
from sqlalchemy import Engine

from ircish.core.chathistory import HistoryRequest
from ircish.history.records import ChannelState
from ircish.search.request import SearchRequest
from ircish.store import queries, search
from ircish.store.keys import DEFAULT_CHANTYPES


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

    def _answer_all(self, requests: tuple[HistoryRequest | SearchRequest, ...]) -> list[Any]:
        # One read transaction: a msgid lookup and the page it anchors (or the
        # channels of one question) see the same snapshot.
        with self._engine.connect() as conn, conn.begin():
            return [
                search.answer(conn, r) if isinstance(r, SearchRequest)
                else queries.answer(conn, r, self._chantypes)
                for r in requests
            ]

    async def ask(self, *requests: HistoryRequest | SearchRequest) -> list[Any]:
        """Each request's answer, in order."""
        return await trio.to_thread.run_sync(self._answer_all, requests, limiter=self._limiter)

    def _load_channels(self) -> list[ChannelState]:
        with self._engine.connect() as conn, conn.begin():
            return queries.load_channels(conn)

    async def load_channels(self) -> list[ChannelState]:
        return await trio.to_thread.run_sync(self._load_channels, limiter=self._limiter)

"""The engine-backed store: open, migrate, run, flush, close, all in one process.

This is what the history worker process runs (``worker``); tests use it
in-process. The server process never does: it talks to the worker through
``ircish.history.client.StoreClient``, which has the same ``submit``/``ask``/``flush``.

Used like this, in a Trio nursery::

    store = Store.open(settings, config_dir)
    await store.prepare()                 # migrate (or check) before serving
    await nursery.start(store.run)        # the writer and the retention job
    ... store.submit(event), store.reader.ask(request) for queries ...
    with trio.CancelScope(shield=True), trio.move_on_after(10):
        await store.flush()
    store.close()
"""

from __future__ import annotations

import logging
from pathlib import Path

import trio
from sqlalchemy import Engine

from ircish.core.events import Event
from ircish.history.errors import StorageError
from ircish.history.settings import StoreSettings
from ircish.store.database import open_engine, resolve_url
from ircish.store.prepare import prepare_schema
from ircish.store.reader import HistoryReader
from ircish.store.retention import run_retention
from ircish.store.writer import HistoryWriter

log = logging.getLogger("ircish.store")


__all__ = ["StorageError", "Store"]


class Store:
    def __init__(self, engine: Engine, settings: StoreSettings, *, admit: bool = True) -> None:
        self.engine = engine
        self.settings = settings
        self.writer = HistoryWriter(
            engine,
            flush_interval_ms=settings.flush_interval_ms,
            queue_limit=settings.queue_limit,
            store_events=settings.store_events,
            admit=admit,
        )
        self.reader = HistoryReader(engine)

    @classmethod
    def open(cls, settings: StoreSettings, config_dir: Path | None, *, admit: bool = True
             ) -> Store:
        url = resolve_url(settings.url, config_dir)
        engine = open_engine(url, busy_timeout_ms=settings.busy_timeout_ms)
        return cls(engine, settings, admit=admit)

    def submit(self, event: Event) -> None:
        self.writer.submit(event)

    async def prepare(self) -> None:
        """Bring the schema to head (auto_migrate) or check that it is there."""
        await trio.to_thread.run_sync(prepare_schema, self.engine, self.settings.auto_migrate)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.writer.run)
            await nursery.start(
                lambda task_status: run_retention(
                    self.engine,
                    self.settings.retention_days,
                    interval_s=self.settings.retention_interval_s,
                    batch_size=self.settings.retention_batch,
                    limiter=self.writer.limiter,
                    task_status=task_status,
                )
            )
            task_status.started()

    async def flush(self) -> bool:
        return await self.writer.flush()

    def close(self) -> None:
        self.engine.dispose()


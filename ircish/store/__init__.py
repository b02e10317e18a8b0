"""Persistent history: SQLAlchemy tables, one batching writer, async reads.

The core hands event records to ``Store.submit`` (never waits); a single writer
commits them in batches off the Trio thread; ``Store.reader`` answers history
queries in worker threads. Migrations live in the top-level ``migrations/``.
"""

from ircish.store.database import StorageConfigError, open_engine, resolve_url
from ircish.store.reader import HistoryReader
from ircish.store.records import (
    Ban,
    ChannelState,
    HistoryRecord,
    MsgidRef,
    Ref,
    TargetSummary,
    TimeRef,
    Viewer,
    from_micros,
    to_micros,
)
from ircish.store.service import StorageError, Store
from ircish.store.settings import STORABLE_EVENTS, StoreSettings
from ircish.store.writer import HistoryWriter, WriterStats

__all__ = [
    "STORABLE_EVENTS",
    "Ban",
    "ChannelState",
    "HistoryReader",
    "HistoryRecord",
    "HistoryWriter",
    "MsgidRef",
    "Ref",
    "StorageConfigError",
    "StorageError",
    "Store",
    "StoreSettings",
    "TargetSummary",
    "TimeRef",
    "Viewer",
    "WriterStats",
    "from_micros",
    "open_engine",
    "resolve_url",
    "to_micros",
]

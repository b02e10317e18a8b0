"""Persistent history: SQLAlchemy tables, one batching writer, async reads.

The database work runs in one worker process (``worker``): the server process
keeps a thin client (``client.StoreClient``) whose ``submit`` only queues, ships
batches of events to the worker over a socket, and asks it history queries.
The engine-backed pieces (``local.Store``, ``writer``, ``reader``) run in that
worker; tests and the ``db`` CLI use them in-process. Migrations live in the
top-level ``migrations/``.

The names below are loaded on first use, so that importing a light module of
this package (``records``, ``client``) never pulls in SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ircish.store.database import StorageConfigError, open_engine, resolve_url
    from ircish.store.errors import StorageError
    from ircish.store.local import Store
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
    from ircish.store.settings import STORABLE_EVENTS, StoreSettings
    from ircish.store.writer import HistoryWriter, WriterStats

_WHERE = {
    "StorageConfigError": "database",
    "open_engine": "database",
    "resolve_url": "database",
    "StorageError": "errors",
    "Store": "local",
    "HistoryReader": "reader",
    "HistoryWriter": "writer",
    "WriterStats": "writer",
    "STORABLE_EVENTS": "settings",
    "StoreSettings": "settings",
    **dict.fromkeys(
        (
            "Ban",
            "ChannelState",
            "HistoryRecord",
            "MsgidRef",
            "Ref",
            "TargetSummary",
            "TimeRef",
            "Viewer",
            "from_micros",
            "to_micros",
        ),
        "records",
    ),
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ircish.store' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ircish.store.{module}"), name)

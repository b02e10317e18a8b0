"""Wiring persistent history into a server, from the server process.

``ircish.app.build_server`` calls ``attach_store(app)`` when ``[storage] url``
is set. Nothing imported here touches SQLAlchemy: the database lives in the
history worker process (see ``client`` and ``worker``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.store.errors import StorageError

if TYPE_CHECKING:
    from ircish.net.app import IrcServer
    from ircish.store.client import StoreClient

__all__ = ["StorageError", "attach_store"]


def attach_store(app: IrcServer) -> StoreClient:
    """Wire persistent history into a server (see ``history_service``)."""
    from ircish.store.history_service import attach

    return attach(app)

"""Wiring persistent history into a server, from the server process.

``ircish.app.build_server`` calls ``attach_store(app)`` when ``[storage] url``
is set. Nothing imported here touches SQLAlchemy: the database lives in the
history worker process (see ``client`` and ``worker``). Connected operators
get a server NOTICE when history cannot be written and when it can again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.store.errors import StorageError

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.net.app import IrcServer
    from ircish.store.client import StoreClient

# Room for the prefix, the nick and the CRLF within IRC's 512 bytes.
NOTICE_TEXT_MAX = 380

__all__ = ["StorageError", "attach_store"]


def attach_store(app: IrcServer) -> StoreClient:
    """Wire persistent history into a server (see ``history_service``)."""
    from ircish.store.history_service import attach

    store = attach(app)
    core = app.core
    store.on_outage.append(lambda text: notice_opers(core, text))
    return store


def notice_opers(core: Server, text: str) -> None:
    """A server NOTICE to every connected operator (the store's outages)."""
    data = text.encode()
    if len(data) > NOTICE_TEXT_MAX:
        text = data[: NOTICE_TEXT_MAX - 3].decode(errors="ignore") + "..."
    for user in core.connections:
        if user.registered and user.oper:
            core.send_from_server(user, "NOTICE", user.nick, f"*** {text}")

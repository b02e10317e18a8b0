"""What the history feature tells operators, from the server process.

Connected operators get a server NOTICE when history cannot be written and when
it can again. Nothing imported here touches SQLAlchemy: the database lives in
the history worker process (see ``client`` and ``worker``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircish.store.errors import StorageError

if TYPE_CHECKING:
    from ircish.core.server import Server

# Room for the prefix, the nick and the CRLF within IRC's 512 bytes.
NOTICE_TEXT_MAX = 380

__all__ = ["StorageError", "notice_opers"]


def notice_opers(core: Server, text: str) -> None:
    """A server NOTICE to every connected operator (the store's outages)."""
    data = text.encode()
    if len(data) > NOTICE_TEXT_MAX:
        text = data[: NOTICE_TEXT_MAX - 3].decode(errors="ignore") + "..."
    for user in core.connections:
        if user.registered and user.oper:
            core.send_from_server(user, "NOTICE", user.nick, f"*** {text}")

"""The ``sts`` policy (IRCv3 Strict Transport Security) a client sees in CAP LS.

It depends on the connection: a plain-text client is told where TLS is (``port``),
a TLS client how long to keep to it (``duration``). Clients cannot REQ it, so it
is not in ``Server.capabilities``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User


def sts_value(server: Server, user: User) -> str | None:
    """The ``sts`` value for ``user``'s CAP LS, or None when there is no policy."""
    duration = server.config.tls.sts_duration
    if server.tls_port is None or duration <= 0:
        return None
    if user.secure:
        return f"duration={duration}"
    # The duration means nothing on plain text (clients ignore it there) but
    # tells an upgrading client what it will be asked to keep.
    return f"port={server.tls_port},duration={duration}"

"""The IRC protocol as plain data: no sockets, no Trio.

Both the server and the client build on this package. Everything here is
deterministic and can be tested with strings alone.
"""

from ircish.protocol.casemap import casefold
from ircish.protocol.message import Message, ProtocolError, parse
from ircish.protocol.tags import escape_tag_value, unescape_tag_value

__all__ = [
    "Message",
    "ProtocolError",
    "casefold",
    "escape_tag_value",
    "parse",
    "unescape_tag_value",
]

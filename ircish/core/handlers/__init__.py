"""Built-in command handlers; importing this package fills the command table."""

from ircish.core.handlers import channels, messaging, modes, oper, queries, registration

__all__ = ["channels", "messaging", "modes", "oper", "queries", "registration"]

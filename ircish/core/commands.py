"""The one command table: each verb with its handler and the rules around it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ircish.core.server import Server
    from ircish.core.state import User
    from ircish.protocol import Message

Handler = Callable[["Server", "User", "Message"], None]


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    handler: Handler
    min_params: int = 0
    before_registration: bool = False
    oper_only: bool = False
    # Lines that only answer the sender (PING, PONG) don't reset the idle time.
    counts_as_activity: bool = True


DEFAULT_COMMANDS: dict[str, Command] = {}


def command(
    verb: str,
    *,
    min_params: int = 0,
    before_registration: bool = False,
    oper_only: bool = False,
    counts_as_activity: bool = True,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        DEFAULT_COMMANDS[verb] = Command(
            verb, handler, min_params, before_registration, oper_only, counts_as_activity
        )
        return handler

    return register

"""Commands a plugin adds, returned from its ``register_commands`` hook.

A ``ServerCommand`` is a new IRC verb (``/HELPME``) that goes into the core's
command table. A ``BotCommand`` is a word after the bot prefix in a channel or a
private message to the bot (``!seen alice``), answered by one of the plugin's bots.
Handlers, like hooks, take only the named arguments they need and may be async.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Handler = Callable[..., Any]


@dataclass(frozen=True)
class ServerCommand:
    """``verb`` (case-insensitive) handled by ``handler``.

    The handler may take: ``api``, ``nick`` (who sent it), ``user`` (a UserView),
    ``params`` (list of str) and ``reply`` (a function sending a NOTICE from the
    server to the sender). ``min_params`` is checked by the core (461 if short).
    """

    verb: str
    handler: Handler
    min_params: int = 0
    oper_only: bool = False
    help: str = ""


@dataclass(frozen=True)
class BotCommand:
    """``name`` after ``prefix`` (``!seen nick``), answered by the bot ``bot``.

    The handler may take: ``api``, ``nick``, ``channel`` (None in a private
    message), ``target`` (where the command was said), ``args`` (the words after
    the command), ``text`` (the rest of the line) and ``reply`` (a function that
    sends a PRIVMSG from the bot to where the command was said).
    """

    name: str
    handler: Handler
    bot: str
    prefix: str = "!"
    help: str = ""


def supported_arguments(fn: Handler) -> frozenset[str] | None:
    """The parameter names ``fn`` accepts, or None if it takes ``**kwargs``."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return frozenset(
        p.name for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def call_with_supported_arguments(
    fn: Handler, accepted: frozenset[str] | None, available: Mapping[str, Any]
) -> Any:
    """Call ``fn`` with the subset of ``available`` it declares."""
    if accepted is None:
        return fn(**available)
    return fn(**{k: v for k, v in available.items() if k in accepted})


def close_awaitable(awaitable: Any) -> None:
    """Close a coroutine that will never be awaited (it would warn when collected)."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()

"""Masks or refuses messages containing blocked words: an example of ``filter_message``.

    [plugins.word_filter]
    words = ["darn", "heck"]
    action = "mask"        # or "reject": the sender gets 404 with the reason
    channels = []          # only these channels; empty means everywhere, private too

Filters run on the message path, synchronously, for every PRIVMSG and NOTICE,
so this one compiles its pattern once and does a single regex search per message.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from ircish.hooks import PluginAPI, Reject, UserView, hookimpl

__version__ = "1.0"


@cache
def _compiled(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


def _settings(api: PluginAPI) -> tuple[re.Pattern[str] | None, str, frozenset[str]]:
    conf: dict[str, Any] = dict(api.config)
    action = conf.get("action", "mask")
    if action not in ("mask", "reject"):
        raise ValueError(f"[plugins.{api.name}] action must be \"mask\" or \"reject\"")
    words = tuple(conf.get("words", ()))
    channels = frozenset(c.lower() for c in conf.get("channels", ()))
    return _compiled(words), action, channels


@hookimpl
def on_server_start(api: PluginAPI) -> None:
    _settings(api)  # a config mistake is a start-up error, not a surprise later


@hookimpl
def filter_message(api: PluginAPI, sender: UserView, target: str, text: str
                   ) -> str | Reject | None:
    pattern, action, channels = _settings(api)
    if pattern is None or sender.is_bot:
        return None
    if channels and target.lower() not in channels:
        return None
    if pattern.search(text) is None:
        return None
    if action == "reject":
        return Reject("your message contains a blocked word")
    return pattern.sub(lambda m: "*" * len(m.group()), text)

"""Message filters: a last word on each PRIVMSG/NOTICE before it is delivered.

A filter is a plain function ``(sender, command, target, text) -> result`` where
the result is None (deliver as is), a new text (deliver that instead), or
``Reject(reason)`` (the sender gets ERR_CANNOTSENDTOCHAN with the reason).
Filters run in order and the first non-None result wins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str


FilterResult = str | Reject | None

"""Wildcard masks (``*`` and ``?``) as used by bans, WHO and LIST, casemapping-aware."""

from __future__ import annotations

import re
from functools import lru_cache

from ircish.protocol.casemap import casefold


@lru_cache(maxsize=4096)
def _compile(mask: str) -> re.Pattern[str]:
    parts = []
    for ch in casefold(mask):
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def mask_matches(mask: str, text: str) -> bool:
    return _compile(mask).fullmatch(casefold(text)) is not None


def normalize_ban_mask(mask: str) -> str:
    """Complete a partial ban mask the way servers do: ``nick`` -> ``nick!*@*``."""
    if "!" not in mask and "@" not in mask:
        if "." in mask or ":" in mask:
            return f"*!*@{mask}"
        return f"{mask}!*@*"
    if "!" not in mask:
        return f"*!{mask}"
    if "@" not in mask:
        return f"{mask}@*"
    return mask

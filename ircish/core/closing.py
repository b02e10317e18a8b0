"""The text of the ERROR line that ends a client's link, built in one place."""

from __future__ import annotations


def closing_link(host: str, reason: str) -> str:
    """``Closing Link: <host> (<reason>)``: the client's own host first, as Solanum and
    Ergo put it, so every way a link ends (QUIT, KILL, a ban, a timeout, a full
    queue, a flood) reads alike to the client that lost it."""
    return f"Closing Link: {host} ({reason})"

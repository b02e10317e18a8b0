"""Metadata rules as plain Python: keys, values, limits, subscriptions, who may do what.

Nothing here sends a line or touches a socket; ``ircish.metadata.feature`` turns
the outcomes into replies, in the words of the draft each client negotiated
(``ircish.metadata.dialect``). The specification is IRCv3 metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ircish.config import LimitsSection

KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_./-")

# Channel modes that keep a channel's metadata from whoever is not in it. Hidden
# channels (+s, +p) answer as if they did not exist; closed ones (+i, +k) say
# "no permission", since anyone may learn that they exist.
HIDDEN_MODES = frozenset("sp")
CLOSED_MODES = frozenset("ik")


# Longest key; not a config key: the key sits in every 770-772 line's budget too.
MAX_KEY_BYTES = 64


def value_room(server_name: str, nick_length: int, channel_length: int) -> int:
    """The longest value whose line still fits 512 bytes around the longest nick,
    target and key: ``:server 761 nick target key * :value`` (760 is as long), or
    metadata-2's ``:server METADATA target key * :value``."""
    target = max(nick_length, channel_length)
    numeric = len(f":{server_name} 761    * :\r\n") + nick_length + target
    line = len(f":{server_name} METADATA   * :\r\n") + target
    return 512 - max(numeric, line) - MAX_KEY_BYTES


@dataclass(frozen=True, slots=True)
class Limits:
    """What the capability value advertises: ``[limits] metadata_max_subs``,
    ``metadata_max_keys`` and ``metadata_max_value_bytes`` (the config checks that a
    761 of the longest value fits 512 bytes, ``value_room``)."""

    max_subs: int = 50
    max_keys: int = 30
    max_key_bytes: int = MAX_KEY_BYTES
    max_value_bytes: int = 256
    # SET/CLEAR per connection: a burst of ``rate_burst``, then one per
    # ``rate_interval`` seconds.
    rate_burst: int = 20
    rate_interval: float = 1.0

    @classmethod
    def of(cls, limits: LimitsSection) -> Limits:
        return cls(max_subs=limits.metadata_max_subs, max_keys=limits.metadata_max_keys,
                   max_value_bytes=limits.metadata_max_value_bytes)

    def cap_value(self) -> str:
        return (f"before-connect,max-subs={self.max_subs},max-keys={self.max_keys},"
                f"max-key-bytes={self.max_key_bytes},max-value-bytes={self.max_value_bytes}")


def valid_key(key: str, limits: Limits) -> bool:
    """``a-z0-9_./-``, not empty, at most ``max_key_bytes``."""
    return 0 < len(key) <= limits.max_key_bytes and all(c in KEY_CHARS for c in key)


def valid_value(value: str, limits: Limits) -> bool:
    """A value is UTF-8 (the line was decoded already) and at most ``max_value_bytes``;
    NUL and line breaks could not be sent back in one line."""
    if len(value.encode("utf-8")) > limits.max_value_bytes:
        return False
    return not any(c in value for c in "\0\r\n")


class Entries:
    """The keys and values of one target: a user (shared by every connection of one
    account) or a channel. Insertion-ordered, so LIST answers in the order set."""

    __slots__ = ("__weakref__", "account", "loaded", "sessions", "values")

    def __init__(self, account: str | None = None) -> None:
        self.account = account  # casefolded, or None (a connection's or a channel's)
        self.values: dict[str, str] = {}
        # The connections showing these entries (an account's sessions).
        self.sessions: set[object] = set()
        self.loaded = account is None

    def set(self, key: str, value: str | None, max_keys: int) -> bool | None:
        """Set or (``value`` None) remove ``key``: whether it changed, None when
        ``max_keys`` keys are set already and ``key`` is not one of them."""
        old = self.values.get(key)
        if value is None:
            if old is None:
                return False
            del self.values[key]
            return True
        if old is None and len(self.values) >= max_keys:
            return None
        if old == value:
            return False
        self.values[key] = value
        return True

    def clear(self) -> list[str]:
        """Remove every key; the keys removed."""
        keys = list(self.values)
        self.values.clear()
        return keys

    def merge_stored(self, stored: tuple[tuple[str, str], ...], max_keys: int) -> list[str]:
        """Take in an account's stored keys after a login. What this connection set
        itself wins (it is the latest write); the stored keys fill in the rest, up
        to ``max_keys``. The keys added."""
        added = []
        for key, value in stored:
            if key not in self.values and len(self.values) < max_keys:
                self.values[key] = value
                added.append(key)
        self.loaded = True
        return added


@dataclass(slots=True)
class SubOutcome:
    ok: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    # The first key not processed because the list was full (the spec: stop there).
    limit_key: str | None = None
    # The keys that were not subscribed before (to sync).
    new: list[str] = field(default_factory=list)


def subscribe(subs: set[str], keys: list[str], limits: Limits) -> SubOutcome:
    """Add ``keys`` to ``subs`` in order, stopping at the first that would pass
    ``max_subs``; invalid keys are skipped and reported."""
    out = SubOutcome()
    for key in keys:
        if not valid_key(key, limits):
            out.invalid.append(key)
            continue
        if key in subs:
            out.ok.append(key)
            continue
        if len(subs) >= limits.max_subs:
            out.limit_key = key
            break
        subs.add(key)
        out.ok.append(key)
        out.new.append(key)
    return out


def unsubscribe(subs: set[str], keys: list[str], limits: Limits) -> tuple[list[str], list[str]]:
    """Remove ``keys`` from ``subs``: (keys now unsubscribed, invalid keys)."""
    ok, invalid = [], []
    for key in keys:
        if not valid_key(key, limits):
            invalid.append(key)
            continue
        subs.discard(key)
        ok.append(key)
    return ok, invalid


def channel_access(modes: set[str], member: bool, oper: bool) -> str:
    """Whether someone may read a channel's metadata: "read", "closed" (no
    permission) or "hidden" (answer as for a channel that does not exist)."""
    if member or oper:
        return "read"
    if modes & HIDDEN_MODES:
        return "hidden"
    if modes & CLOSED_MODES:
        return "closed"
    return "read"


def may_edit_user(is_self: bool, oper: bool) -> bool:
    """A user's own keys, or anyone's for an IRC operator."""
    return is_self or oper


def may_edit_channel(is_chanop: bool, oper: bool) -> bool:
    """A channel's keys: its operators, or an IRC operator."""
    return is_chanop or oper


class RateLimit:
    """A token bucket per connection for SET and CLEAR."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, burst: int, now: float) -> None:
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float, limits: Limits) -> int:
        """Spend one change: 0 if allowed, else the whole seconds to wait."""
        elapsed = max(0.0, now - self.stamp)
        self.stamp = now
        self.tokens = min(float(limits.rate_burst), self.tokens + elapsed / limits.rate_interval)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0
        missing = 1.0 - self.tokens
        return max(1, int(missing * limits.rate_interval + 0.999))

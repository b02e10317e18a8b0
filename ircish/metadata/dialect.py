"""The two live drafts of IRCv3 metadata, and what differs between them.

``draft/metadata-2`` is the specification on ircv3.net: notifications and
synchronisation are ``METADATA`` lines, errors are ``KEY_INVALID``,
``VALUE_INVALID``, ``TOO_MANY_SUBS``, ``SUBCOMMAND_INVALID``, ``KEY_NOT_SET``.
``draft/metadata-3`` is its revision (ircv3-specifications pull request 613, which
irctest checks): notifications are ``761``/``766``, errors ``INVALID_KEY``,
``INVALID_VALUE``, ``LIMIT_REACHED``, ``INVALID_PARAMS``, and a per-key problem
inside a batch is a WARN. Both are offered; a client that asks for both gets the
newer one. Everything else (keys, limits, permissions, storage) is shared.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    cap: str
    # Changes and synchronised values as 761/766 numerics, or as METADATA lines.
    numerics: bool
    invalid_key: str
    invalid_value: str
    # The kind of a per-key problem inside an answer (an invalid key in GET/SUB).
    key_problem: str
    sub_limit: str
    # SET removing a key that is not set: KEY_NOT_SET (metadata-2), or success.
    unset_missing_fails: bool
    # After SUB with nothing to send: 774 for *ALL (metadata-3 asks for a batch or
    # 774 every time), or nothing.
    sync_later_after_sub: bool


V3 = Dialect("draft/metadata-3", numerics=True, invalid_key="INVALID_KEY",
             invalid_value="INVALID_VALUE", key_problem="WARN", sub_limit="LIMIT_REACHED",
             unset_missing_fails=False, sync_later_after_sub=True)
V2 = Dialect("draft/metadata-2", numerics=False, invalid_key="KEY_INVALID",
             invalid_value="VALUE_INVALID", key_problem="FAIL", sub_limit="TOO_MANY_SUBS",
             unset_missing_fails=True, sync_later_after_sub=False)
CAPS = (V3.cap, V2.cap)


def dialect_of(caps: Collection[str]) -> Dialect:
    """The draft a client negotiated (metadata-3 if both, or neither)."""
    if V3.cap not in caps and V2.cap in caps:
        return V2
    return V3


def aware(caps: Collection[str]) -> bool:
    return V3.cap in caps or V2.cap in caps

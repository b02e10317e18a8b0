"""What a config reload (SIGHUP, REHASH) may change while the server runs.

A reloaded config is applied whole except for the keys below, which only a
restart changes: the running server keeps their old values and the reload's
answer names the ones that differ, so an operator is never left guessing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ircish.config import Config

# (section, key) pairs; key None means every key of the section.
RESTART_ONLY: tuple[tuple[str, str | None], ...] = (
    ("server", "listen"),
    ("server", "name"),  # the source of every line clients already hold
    ("tls", "listen"),
    ("websocket", "listen"),
    ("websocket", "tls"),
    ("limits", "line_length"),  # each connection's framer is built once
    ("limits", "tags_length"),
    ("storage", None),  # the history worker's database
    ("history", None),  # read by the history feature when it is built
    ("accounts", None),  # read by the accounts feature when it is built
    ("plugins", "dir"),  # loading or unloading plugins needs a restart
    ("plugins", "enabled"),
    ("logging", "format"),  # the handler's formatter is set up once, at start
    ("network", None),  # a node joins or leaves the network only at a restart
)


def merge_reload(running: Config, fresh: Config) -> tuple[Config, list[str]]:
    """``fresh`` with the restart-only values of ``running``, and the dotted keys
    whose new value waits for a restart."""
    pending: list[str] = []
    merged: dict[str, Any] = {}
    for section, key in RESTART_ONLY:
        old, new = getattr(running, section), getattr(fresh, section)
        names = [f.name for f in dataclasses.fields(old)] if key is None else [key]
        pending.extend(f"{section}.{name}" for name in names
                       if getattr(old, name) != getattr(new, name))
        kept = {name: getattr(old, name) for name in names}
        merged[section] = dataclasses.replace(merged.get(section, new), **kept)
    return dataclasses.replace(fresh, **merged), pending

"""Assembling a server from its config: the core shell plus optional services."""

from __future__ import annotations

from ircish.config import Config
from ircish.net.app import IrcServer


def build_server(config: Config) -> IrcServer:
    """The one place that decides which services (history, plugins) a server runs."""
    return IrcServer(config)

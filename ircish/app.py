"""Assembling a server from its config: the core shell plus optional services."""

from __future__ import annotations

from ircish.config import Config
from ircish.net.app import IrcServer


def build_server(config: Config) -> IrcServer:
    """The one place that decides which services (history, plugins) a server runs.

    Each ``attach_*`` function may add services to run in the server's nursery,
    event listeners, shutdown hooks, capabilities, ISUPPORT tokens and commands.
    """
    server = IrcServer(config)
    if config.storage.url:
        from ircish.store.service import attach_store

        # Kept on the server so other layers (plugins' api.history) can read history.
        server.store = attach_store(server)  # type: ignore[attr-defined]
    if config.plugins.enabled:
        from ircish.hooks.service import attach_plugins

        attach_plugins(server)
    return server

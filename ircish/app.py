"""Assembling a server from its config: the core shell plus the features it asks for."""

from __future__ import annotations

import logging
from functools import partial

from ircish.config import Config
from ircish.net.app import Feature, IrcServer

log = logging.getLogger("ircish")


def build_server(config: Config) -> IrcServer:
    """The one place that decides which features (history, plugins) a server runs.

    Each feature is installed in this order and declares everything it adds in its
    ``Extension`` (see ``ircish.core.extension``).
    """
    features: list[Feature] = []
    history_reader = None
    if config.storage.url:
        from ircish.history.feature import history_feature, open_store

        store = open_store(config)
        history_reader = store
        features.append(partial(history_feature, store=store))
        from ircish.search.feature import search_feature

        features.append(partial(search_feature, store=store))
        if config.accounts.enabled:
            from ircish.accounts.feature import accounts_feature

            features.append(partial(accounts_feature, store=store))
        else:
            log.info("accounts are off: [accounts] enabled = false in %s", config.path)
        if config.network.node_id:
            # After history: its worker has migrated the shared database by then.
            from ircish.network.feature import network_feature

            features.append(partial(network_feature, store=store))
    else:
        log.info("history is off: [storage] url is empty in %s", config.path)
        log.info("accounts are off: they need [storage] (the history database)")
    from ircish.netbans.feature import netbans_feature
    from ircish.readmarker.feature import read_marker_feature

    # Without [storage] bans are kept in memory only (netbans says so at start).
    features.append(partial(netbans_feature, store=history_reader))

    # Without [storage] every connection keeps its own markers, in memory.
    features.append(partial(read_marker_feature, store=history_reader))
    from ircish.metadata.feature import metadata_feature

    # Without [storage] metadata is kept in memory only, per connection and channel.
    features.append(partial(metadata_feature, store=history_reader))
    from ircish.redaction.feature import redaction_feature

    features.append(partial(redaction_feature, store=history_reader))
    from ircish.multiline.feature import multiline_feature

    features.append(multiline_feature)
    from ircish.chghost.feature import chghost_feature
    from ircish.rename.feature import rename_feature

    features.append(rename_feature)
    features.append(chghost_feature)
    if config.websocket.listen:
        from ircish.web.feature import websocket_feature

        features.append(websocket_feature)
    if config.plugins.enabled:
        from ircish.hooks.service import plugins_feature

        features.append(partial(plugins_feature, history_reader=history_reader))
    return IrcServer(config, features)

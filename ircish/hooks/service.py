"""``plugins_feature``: load the enabled plugins; what they add, as one extension."""

from __future__ import annotations

import logging
from typing import Any

from ircish.core.extension import Extension
from ircish.hooks import manager
from ircish.hooks.runner import HookRunner
from ircish.net.app import IrcServer

log = logging.getLogger("ircish.hooks")


def plugins_feature(server: IrcServer, history_reader: Any = None) -> Extension:
    """Load ``[plugins] enabled`` in order; a PluginError (a ConfigError) stops the start.

    ``history_reader`` is the history store's, for ``api.history`` (None: memory only).
    """
    config = server.config
    pm = manager.new_plugin_manager()
    runner = HookRunner(server, pm, history_reader)
    available = manager.discover(config)
    for name in config.plugins.enabled:
        if name in runner.plugins:
            raise manager.PluginError(config, name, "enabled twice")
        found = manager.resolve(config, name, available)
        plugin = manager.import_plugin(config, found)
        manager.register(config, pm, name, plugin)
        loaded = runner.add(name, plugin, found.source, manager.plugin_version(found, plugin))
        hooks = manager.hook_names(pm, plugin)
        if not hooks:
            log.warning("plugin %s implements no hooks (forgot @hookimpl?)", name)
        for impl in runner.impls("register_commands"):
            if impl.plugin is not loaded:
                continue
            try:
                commands = runner.call_impl(impl, "register_commands", {})
            except Exception as exc:
                raise manager.PluginError(
                    config, name, f"register_commands failed: {type(exc).__name__}: {exc}"
                ) from exc
            problems = runner.commands.add(loaded, commands)
            if problems:
                raise manager.PluginError(config, name, "; ".join(problems))
        log.info("plugin %s %s loaded from %s %s (hooks: %s)", name, loaded.version,
                 found.source, found.location, ", ".join(hooks) or "none")
    for name in config.plugins.settings:
        if name not in runner.plugins:
            log.warning("[plugins.%s] is configured but %s is not in [plugins] enabled",
                        name, name)
    return Extension(
        name="plugins",
        commands=tuple(runner.commands.server_commands.values()),
        event_listeners=(runner.listener,),
        message_filters=(runner.message_filter,) if runner.impls("filter_message") else (),
        services=(runner.service,),
        shutdown_steps=(runner.shutdown,),
        reload_listeners=(runner.reconfigure,),
        help_topics=runner.commands.help_topics,
        owner=runner,
    )

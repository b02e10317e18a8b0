"""``ircish-server check-config``: every check a start makes, without serving anyone.

Beyond loading the file (``load_config``: keys, types, MOTD, TLS certificate),
a start opens the storage URL (its dialect, its driver, the SQLite database's
folder) and loads the enabled plugins (found, importable, valid hooks, their
commands, and their settings as each plugin's ``on_server_start`` checks them).
This runs the same code on the same config, in this process, and answers the
problems as ``key: problem`` lines. No listener is opened and no database file
or table is created.
"""

from __future__ import annotations

import logging

import trio

from ircish.config import Config, ConfigError

log = logging.getLogger("ircish")


def check_storage(config: Config) -> list[str]:
    url = config.storage.url
    if not url:
        return []
    from ircish.store.database import StorageConfigError, open_engine, resolve_url

    try:
        engine = open_engine(resolve_url(url, config.base_dir))
    except StorageConfigError as exc:
        return [str(ConfigError(config.path, "storage.url", str(exc)))]
    except Exception as exc:  # an unknown dialect, a malformed query string...
        problem = f"{url!r} cannot be used: {type(exc).__name__}: {exc}"
        return [str(ConfigError(config.path, "storage.url", problem))]
    engine.dispose()
    return []


def check_plugins(config: Config) -> list[str]:
    if not config.plugins.enabled:
        return []
    from ircish.hooks.service import plugins_feature
    from ircish.net.app import IrcServer

    app = IrcServer(config, [])
    try:
        extension = plugins_feature(app)
    except ConfigError as exc:  # PluginError: not found, not importable, bad hooks
        return [str(exc)]
    runner = extension.owner

    async def start() -> list[str]:
        async with trio.open_nursery() as nursery:
            runner._nursery = nursery
            try:
                return list(await runner.fire_and_wait("on_server_start", {}))
            finally:
                runner._nursery = None
                nursery.cancel_scope.cancel()

    problems = trio.run(start)
    return [str(ConfigError(config.path, "plugins.enabled", f"plugin {name!r}: {problem}"))
            for name, _, problem in (line.partition(": ") for line in problems)]


def check(config: Config) -> list[str]:
    """The problems a start would meet, one ``key: problem`` line each."""
    return check_storage(config) + check_plugins(config)

"""``ircish-server plugins list``: what could be enabled, and what is."""

from __future__ import annotations

import argparse
import sys

from ircish.config import Config
from ircish.hooks import manager


def main(argv: list[str], config: Config) -> int:
    parser = argparse.ArgumentParser(prog="ircish-server plugins")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="each available plugin: version, source, hooks, enabled")
    args = parser.parse_args(argv)
    if args.action == "list":
        return list_plugins(config)
    return 2  # pragma: no cover - argparse rejects other actions


def list_plugins(config: Config) -> int:
    """Import each available plugin (never run it) to show its hooks.

    Exits 1 when an enabled plugin is missing or broken, so scripts can check a
    config before a restart.
    """
    enabled = set(config.plugins.enabled)
    available = manager.discover(config)
    print(f"plugin dir: {manager.plugin_dir(config)}")
    print(f"entry-point group: {manager.ENTRY_POINT_GROUP}")
    print(f"shipped: {manager.SHIPPED_DIR}")
    if not available:
        print("no plugins found")
    status = 0
    for found in available:
        pm = manager.new_plugin_manager()
        try:
            plugin = manager.import_plugin(config, found)
            manager.register(config, pm, found.name, plugin)
        except manager.PluginError as exc:
            if found.name in enabled:
                status = 1
            print(f"{found.name}  BROKEN  [{found.source}: {found.location}]")
            print(f"    {exc.problem}")
            continue
        mark = "enabled" if found.name in enabled else "disabled"
        version = manager.plugin_version(found, plugin)
        hooks = ", ".join(manager.hook_names(pm, plugin)) or "none"
        print(f"{found.name} {version}  {mark}  [{found.source}: {found.location}]")
        print(f"    hooks: {hooks}")
    missing = sorted(enabled - {a.name for a in available})
    for name in missing:
        status = 1
        print(f"{name}  NOT FOUND  (enabled in {config.path})")
    sys.stdout.flush()
    return status


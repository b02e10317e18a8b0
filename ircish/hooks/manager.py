"""Finding and loading plugins: loose modules in ``[plugins] dir``, installed
distributions that declare the ``ircish.plugins`` entry-point group, and the
plugins shipped inside the package (``ircish/plugins/``), so an installed server
has them without a checkout. A dir module or an entry point of the same name
wins over a shipped plugin: copying one into ``dir`` to change it just works.

Everything that can go wrong with a plugin at start (not found, does not import,
implements a hook that does not exist or with arguments no hook has) becomes a
``PluginError`` naming the plugin, which is a ``ConfigError``: the server refuses
to start rather than run without a plugin the operator asked for.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from ircish.config import Config, ConfigError
from ircish.hooks import hookspecs

ENTRY_POINT_GROUP = "ircish.plugins"
# Loose modules are imported under this package-like prefix so they cannot
# shadow (or be shadowed by) an installed module of the same name.
MODULE_PREFIX = "ircish_plugin_"
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "plugins"


class PluginError(ConfigError):
    """A plugin named in the config cannot be used; the message names it."""

    def __init__(self, config: Config, plugin: str, problem: str) -> None:
        super().__init__(config.path, "plugins.enabled", f"plugin {plugin!r}: {problem}")
        self.plugin = plugin


@dataclass(frozen=True)
class Available:
    """A plugin that could be enabled."""

    name: str
    source: str  # "dir", "entry point" or "shipped"
    location: str  # a file path, or "distribution version"
    dist_version: str | None
    load: Callable[[], Any]


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def plugin_dir(config: Config) -> Path:
    return config.resolve(config.plugins.dir)


def discover(config: Config) -> list[Available]:
    """Every plugin found, dir modules first, in name order; nothing is imported."""
    found = _modules_in(plugin_dir(config), "dir")
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                     key=lambda e: e.name):
        dist = ep.dist
        version = dist.version if dist is not None else None
        where = f"{dist.name} {version}" if dist is not None else ep.value
        found.append(Available(ep.name, "entry point", where, version, ep.load))
    taken = {a.name for a in found}
    found.extend(a for a in _modules_in(SHIPPED_DIR, "shipped") if a.name not in taken)
    return found


def _modules_in(directory: Path, source: str) -> list[Available]:
    found: list[Available] = []
    if not directory.is_dir():
        return found
    for path in sorted(directory.iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        if name.startswith(("_", ".")):
            continue
        if path.suffix == ".py" and path.is_file():
            found.append(Available(name, source, str(path), None, _file_loader(name, path)))
        elif path.is_dir() and (path / "__init__.py").is_file():
            init = path / "__init__.py"
            found.append(Available(name, source, str(path), None, _file_loader(name, init)))
    return found


def _file_loader(name: str, path: Path) -> Callable[[], ModuleType]:
    def load() -> ModuleType:
        module_name = MODULE_PREFIX + name
        is_package = path.name == "__init__.py"
        spec = importlib.util.spec_from_file_location(
            module_name, path,
            submodule_search_locations=[str(path.parent)] if is_package else None,
        )
        if spec is None or spec.loader is None:  # pragma: no cover - a .py always has one
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        # Registered before running so dataclasses and pickling inside the plugin
        # can find their module; always a fresh copy, so two servers in one
        # process (tests) never share a plugin's module state.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module

    return load


def plugin_version(available: Available, plugin: Any) -> str:
    if available.dist_version:
        return available.dist_version
    return str(getattr(plugin, "__version__", "-"))


def resolve(config: Config, name: str, available: list[Available]) -> Available:
    matches = [a for a in available if a.name == name]
    if not matches:
        names = ", ".join(sorted({a.name for a in available})) or "none"
        raise PluginError(
            config, name,
            f"not found: no module {name}.py in {plugin_dir(config)}, no installed "
            f"{ENTRY_POINT_GROUP!r} entry point and no shipped plugin of that name "
            f"(available: {names})",
        )
    if len(matches) > 1:
        where = " and ".join(f"{a.source} {a.location}" for a in matches)
        raise PluginError(config, name, f"ambiguous: found in {where}; rename one")
    return matches[0]


def import_plugin(config: Config, available: Available) -> Any:
    try:
        return available.load()
    except Exception as exc:
        raise PluginError(
            config, available.name,
            f"cannot be loaded from {available.location}: {type(exc).__name__}: {exc}",
        ) from exc


def register(config: Config, pm: pluggy.PluginManager, name: str, plugin: Any) -> None:
    """Register and validate against the hookspecs (unknown hooks or arguments)."""
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
        for caller in pm.get_hookcallers(plugin) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                    # Hooks are called one by one (see runner.py), so there is no
                    # call chain for a wrapper to wrap.
                    raise pluggy.PluginValidationError(
                        plugin, f"{caller.name}: hook wrappers are not supported")
    except pluggy.PluginValidationError as exc:
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        raise PluginError(config, name, f"invalid hook implementation: {exc}") from exc
    except ValueError as exc:  # the same object registered twice
        raise PluginError(config, name, str(exc)) from exc


def hook_names(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())

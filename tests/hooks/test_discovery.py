"""Finding plugins (dir and entry points), start-up errors naming the plugin,
and ``ircish-server plugins list``."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ircish.app import build_server
from ircish.cli import server_main
from ircish.hooks.manager import PluginError
from ircish.testing import test_config as make_config
from tests.hooks.conftest import plugin_config, wait_until, write_plugin

EP_MODULE = '''
from ircish.hooks import hookimpl

__version__ = "ignored: the distribution's version wins"
greeted = []

@hookimpl
def on_welcome(api, nick):
    greeted.append(nick)
'''


@pytest.fixture
def test_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny installed distribution declaring an ``ircish.plugins`` entry point."""
    site = tmp_path / "site"
    info = site / "ircish_testplug-0.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ircish-testplug\n"
                                   "Version: 0.3\n")
    (info / "entry_points.txt").write_text("[ircish.plugins]\ntestplug = ircish_testplug_mod\n")
    (site / "ircish_testplug_mod.py").write_text(textwrap.dedent(EP_MODULE))
    monkeypatch.syspath_prepend(str(site))
    return site


def write_config(tmp_path: Path, enabled: list[str], extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    names = ", ".join(f'"{n}"' for n in enabled)
    path.write_text(f'[plugins]\ndir = "plugins"\nenabled = [{names}]\n{extra}')
    return path


async def test_entry_point_plugin_loads_and_fires(
    plugin_server: Any, test_distribution: Path
) -> None:
    async with plugin_server({}, enabled=["testplug"]) as h:
        assert h.runner.plugins["testplug"].version == "0.3"
        assert h.runner.plugins["testplug"].source == "entry point"
        await h.client("alice")
        await wait_until(lambda: h.module("testplug").greeted == ["alice"])


def test_plugins_list(
    tmp_path: Path, test_distribution: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_plugin(tmp_path / "plugins", "local", "from ircish.hooks import hookimpl\n"
                 "__version__ = '2.1'\n@hookimpl\ndef on_join(channel): pass\n"
                 "@hookimpl\ndef on_topic(topic): pass\n")
    write_plugin(tmp_path / "plugins", "broken", "import does_not_exist\n")
    config = write_config(tmp_path, ["local"])
    assert server_main(["-c", str(config), "plugins", "list"]) == 0
    out = capsys.readouterr().out
    assert f"local 2.1  enabled  [dir: {tmp_path / 'plugins' / 'local.py'}]" in out
    assert "    hooks: on_join, on_topic" in out
    assert "testplug 0.3  disabled  [entry point: ircish-testplug 0.3]" in out
    assert "    hooks: on_welcome" in out
    assert re.search(r"^welcome_bot \S+  disabled  \[shipped: ", out, re.M)
    assert "broken  BROKEN" in out and "ModuleNotFoundError" in out
    config = write_config(tmp_path, ["local", "broken", "ghost"])
    assert server_main(["-c", str(config), "plugins", "list"]) == 1
    assert "ghost  NOT FOUND" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (None, "plugin 'nope': not found: no module nope.py in"),
        ("raise RuntimeError('half written')",
         "plugin 'nope': cannot be loaded from {dir}/nope.py: RuntimeError: half written"),
        ("def broken(:\n", "plugin 'nope': cannot be loaded from {dir}/nope.py: SyntaxError"),
        ("from ircish.hooks import hookimpl\n@hookimpl\ndef on_mesage(text): pass\n",
         "plugin 'nope': invalid hook implementation: unknown hook 'on_mesage'"),
        ("from ircish.hooks import hookimpl\n@hookimpl\ndef on_join(colour): pass\n",
         "plugin 'nope': invalid hook implementation: "),
        ("from ircish.hooks import hookimpl\n@hookimpl(wrapper=True)\n"
         "def on_join(channel):\n    yield\n",
         "plugin 'nope': invalid hook implementation: on_join: hook wrappers are not supported"),
        ("from ircish.hooks import hookimpl, ServerCommand\n@hookimpl\n"
         "def register_commands():\n    return [ServerCommand('PRIVMSG', print)]\n",
         "plugin 'nope': server command PRIVMSG already exists"),
        ("from ircish.hooks import hookimpl\n@hookimpl\n"
         "def register_commands():\n    return ['HELP']\n",
         "plugin 'nope': register_commands returned 'HELP', not a ServerCommand"),
    ],
)
def test_broken_plugin_is_a_startup_error_naming_it(
    tmp_path: Path, source: str | None, expected: str
) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    if source is not None:
        write_plugin(folder, "nope", source)
    config = make_config(tmp_path, plugin_config(folder, ["nope"]))
    with pytest.raises(PluginError) as info:
        build_server(config)
    assert expected.format(dir=folder) in str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'config.toml'}: plugins.enabled: ")


def test_failing_start_hook_stops_the_server_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_plugin(tmp_path / "plugins", "grumpy", "from ircish.hooks import hookimpl\n"
                 "@hookimpl\ndef on_server_start(api):\n"
                 "    raise ValueError('missing [plugins.grumpy] token')\n")
    config = write_config(tmp_path, ["grumpy"], '[server]\nlisten = ["127.0.0.1:0"]\n')
    assert server_main(["-c", str(config)]) == 2
    err = capsys.readouterr().err
    assert ("config error: " in err and "plugin 'grumpy': on_server_start ValueError: "
            "missing [plugins.grumpy] token" in err)


def test_shipped_plugins_are_found_without_a_dir_and_a_dir_copy_wins(tmp_path: Path) -> None:
    from ircish.hooks.manager import SHIPPED_DIR, discover

    config = make_config(tmp_path, plugin_config(tmp_path / "nowhere", []))
    found = {a.name: a for a in discover(config)}
    for name in ("welcome_bot", "seen_bot", "word_filter"):
        assert found[name].source == "shipped"
        assert found[name].location == str(SHIPPED_DIR / f"{name}.py")
    write_plugin(tmp_path / "mine", "seen_bot", "__version__ = 'mine'\n")
    config = make_config(tmp_path, plugin_config(tmp_path / "mine", []))
    matches = [a for a in discover(config) if a.name == "seen_bot"]
    assert [(a.source, a.location) for a in matches] == [
        ("dir", str(tmp_path / "mine" / "seen_bot.py"))]

"""A real install: the wheel alone (no checkout) migrates, loads the shipped plugins
and serves two clients who chat.

The wheel is built from a copy of the package by pip (setuptools in pip's build
isolation), then installed with ``--no-deps`` into a fresh venv that sees the
test venv's site-packages through a ``.pth`` file, so the dependencies need no
download while ircish itself comes only from the wheel (checked). The server runs
from an empty folder, with a clean environment (no PYTHONPATH), so nothing of the
source tree can help it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import trio

from tests.ircclient import RawClient

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the built wheel installed; its bin/ folder."""
    work = tmp_path_factory.mktemp("install")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "ircish", src / "ircish",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("ircish-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("ircish/migrations/env.py", "ircish/migrations/script.py.mako",
                   "ircish/migrations/versions/0001_initial.py",
                   "ircish/plugins/welcome_bot.py", "ircish/plugins/seen_bot.py"):
        assert needed in names, needed
    # The web client's files (ircish/web/static, package data) travel with the wheel.
    static = ROOT / "ircish" / "web" / "static"
    shipped = [p.relative_to(ROOT).as_posix() for p in static.rglob("*") if p.is_file()]
    assert "ircish/web/feature.py" in names
    assert not [n for n in shipped if n not in names], sorted(names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                      "['purelib'])"]).stdout.strip())
    (site / "test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "-q", str(wheel)])
    return venv / "bin"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def test_installed_server_migrates_loads_shipped_plugins_and_serves(
    installed: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "chat"
    folder.mkdir()
    where = _run([str(installed / "python"), "-c", "import ircish; print(ircish.__file__)"],
                 cwd=folder, env=_clean_env()).stdout.strip()
    assert where.startswith(str(installed.parent)), where
    port = _free_port()
    # No [storage]: history is on by default, in ircish.db next to the config.
    (folder / "config.toml").write_text(
        f'[server]\nlisten = ["127.0.0.1:{port}"]\n'
        '[plugins]\nenabled = ["welcome_bot", "seen_bot"]\n'
        '[plugins.seen_bot]\nchannels = ["#lobby"]\n')
    proc = subprocess.Popen([str(installed / "ircish-server"), "--config", "config.toml"],
                            cwd=folder, env=_clean_env(), stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    try:
        assert proc.stderr is not None
        with trio.fail_after(60):
            while not log or "listening on" not in log[-1]:
                line = await trio.to_thread.run_sync(proc.stderr.readline)
                assert line, "server exited early:\n" + "".join(log)
                log.append(line)
        text = "".join(log)
        assert "Running upgrade  -> 0001" in text, text
        for plugin in ("welcome_bot", "seen_bot"):
            assert f"plugin {plugin} " in text and "loaded from shipped" in text, text
        assert (folder / "ircish.db").is_file()
        alice = await RawClient.connect(port)
        await alice.register("alice")
        greeting = await alice.expect(lambda m: m.command == "NOTICE"
                                      and (m.source or "").startswith("WelcomeBot"))
        assert "alice" in greeting.params[1]
        bob = await RawClient.connect(port)
        await bob.register("bob")
        await alice.expect(lambda m: m.command == "JOIN" and (m.source or "").startswith("bob!"))
        await alice.send("PRIVMSG #lobby :hello from an installed server")
        said = await bob.expect("PRIVMSG")
        assert (said.source or "").startswith("alice!") and said.params == [
            "#lobby", "hello from an installed server"]
        await bob.send("PRIVMSG #lobby :!seen alice")
        seen = await bob.expect(lambda m: m.command == "PRIVMSG"
                                and (m.source or "").startswith("SeenBot"))
        assert "alice" in seen.params[1], seen
    finally:
        proc.terminate()
        await trio.to_thread.run_sync(lambda: proc.wait(timeout=30))

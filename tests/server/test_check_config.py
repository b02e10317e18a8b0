"""``ircish-server check-config`` finds what a start would refuse: the storage URL's
dialect and driver, the database folder, plugin names and their settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircish.checkconfig import check
from ircish.config import load_config
from tests.server.test_process import _run


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nlisten = ['127.0.0.1:0']\n" + body)
    return path


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[storage]\nurl = 'nosuchdialect://host/db'\n", "storage.url: 'nosuchdialect://host/db'"),
        ("[storage]\nurl = 'postgresql+nosuchdriver://u@h/db'\n", "storage.url: "),
        ("[storage]\nurl = 'sqlite:///missing/folder/history.db'\n", "does not exist"),
        ("[plugins]\nenabled = ['no_such_plugin']\n", "plugin 'no_such_plugin': not found"),
        ("[plugins]\nenabled = ['word_filter']\n[plugins.word_filter]\naction = 'explode'\n",
         "plugin 'word_filter': on_server_start"),
        ("[plugins]\nenabled = ['welcome_bot']\n[plugins.welcome_bot]\ngreting = 'hi'\n",
         "unknown key(s) in [plugins.welcome_bot]: greting"),
    ],
)
def test_problems_a_start_would_meet(tmp_path: Path, body: str, words: str) -> None:
    config = load_config(_write(tmp_path, body))
    problems = check(config)
    assert len(problems) == 1, problems
    assert str(tmp_path / "config.toml") in problems[0] and words in problems[0]
    assert not (tmp_path / "missing").exists()  # nothing is created


def test_a_good_config_passes_and_creates_nothing(tmp_path: Path) -> None:
    config = load_config(_write(
        tmp_path, "[storage]\nurl = 'sqlite:///history.db'\n"
        "[plugins]\nenabled = ['word_filter', 'welcome_bot']\n"
        "[plugins.word_filter]\naction = 'reject'\nwords = ['spam']\n"))
    assert check(config) == []
    assert not (tmp_path / "history.db").exists()


def test_exit_codes(tmp_path: Path) -> None:
    good = _write(tmp_path, "[storage]\nurl = ''\n")
    result = _run(["--config", str(good), "check-config"])
    assert result.returncode == 0 and f"{good}: ok" in result.stdout
    bad = _write(tmp_path, "[plugins]\nenabled = ['no_such_plugin']\n")
    result = _run(["--config", str(bad), "check-config"])
    assert result.returncode == 2
    assert "config error" in result.stderr and "no_such_plugin" in result.stderr
    assert "ok" not in result.stdout

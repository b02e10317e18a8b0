"""Settings, text helpers and ISUPPORT parsing: the small pure parts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ircish.client.cli import main, parser, settle
from ircish.client.config import ConfigError, build
from ircish.client.format import nick_colour_index
from ircish.client.isupport import ISupport
from ircish.client.text import mentions, split_utf8, strip_formatting
from ircish.protocol import casefold


def flags(*argv: str) -> dict[str, object]:
    return vars(parser().parse_args(list(argv)))


def test_defaults_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "client.toml"
    path.write_text('host = "irc.example.org"\nport = 7000\nnick = "filenick"\njoin = ["#a"]\n')
    config = build(flags(), path)
    assert (config.host, config.port, config.nick, config.join) == (
        "irc.example.org",
        7000,
        "filenick",
        ("#a",),
    )
    config = build(flags("--nick", "ada", "--join", "#python,#trio", "--tls"), path)
    assert config.nick == "ada" and config.join == ("#python", "#trio") and config.tls
    assert config.host == "irc.example.org"


def test_usual_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = settle(parser().parse_args([]))
    assert (config.host, config.effective_port, config.join) == ("127.0.0.1", 6667, ("#lobby",))
    assert build(flags("--tls"), None).effective_port == 6697
    # the default file is read when it exists
    (tmp_path / "ircish").mkdir()
    (tmp_path / "ircish" / "client.toml").write_text("[client]\nnick = 'fromfile'\n")
    assert settle(parser().parse_args([])).nick == "fromfile"


def test_config_errors_name_the_key_and_file(tmp_path: Path) -> None:
    path = tmp_path / "client.toml"
    path.write_text("prot = 6667\n")
    with pytest.raises(ConfigError, match=r"client.toml: unknown key 'prot'"):
        build({}, path)
    path.write_text('port = "x"\n')
    with pytest.raises(ConfigError, match=r"'port' must be int"):
        build({}, path)
    with pytest.raises(ConfigError, match="no such file"):
        build({}, tmp_path / "missing.toml")
    assert main(["--config", str(tmp_path / "missing.toml"), "--plain", "--nick", "x"]) == 2


def test_no_nick_and_no_terminal_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ircish.client.cli", "--plain"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env={"XDG_CONFIG_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert result.returncode == 2
    assert b"no nickname" in result.stderr


def test_strip_formatting_and_controls() -> None:
    assert strip_formatting("\x02bold\x02 \x0304,12red\x03 \x1ditalic\x0f\x07") == "bold red italic"


def test_mentions_match_whole_nicks_only() -> None:
    assert mentions("ada: hi", "ada", casefold)
    assert mentions("hi ADA!", "ada", casefold)
    assert mentions("ping [ada]", "[ada]", casefold)
    assert not mentions("canada is big", "ada", casefold)
    assert not mentions("ada_ is someone else", "ada", casefold)


def test_split_utf8_respects_bytes_and_spaces() -> None:
    text = "word " * 50 + "你好" * 100
    pieces = split_utf8(text, 100)
    assert all(len(p.encode()) <= 100 for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert pieces[0].endswith("word")


def test_isupport_prefix_chanmodes_and_casemapping() -> None:
    isupport = ISupport()
    isupport.update(["PREFIX=(qaohv)~&@%+", "CHANMODES=beI,k,l,imnst", "CASEMAPPING=ascii"])
    assert isupport.split_prefixes("@+ada") == ("@+", "ada")
    assert isupport.sort_prefixes("+@") == "@+"
    changes = list(isupport.mode_changes("+ov-l+kb", ["ada", "bob", "key", "*!*@x"]))
    assert changes == [
        (True, "o", "ada"),
        (True, "v", "bob"),
        (False, "l", None),
        (True, "k", "key"),
        (True, "b", "*!*@x"),
    ]
    assert isupport.casefold("[Ada]") == "[ada]"


def test_nick_colours_are_stable_and_case_blind() -> None:
    assert nick_colour_index("Ada") == nick_colour_index("ada")
    assert len({nick_colour_index(n) for n in ["ada", "bob", "carol", "dan", "eve"]}) > 1

"""First-run tools: ``init`` (the commented default config), ``mkcert``,
``hash-password`` from a terminal, and history on when a config has no [storage]."""

from __future__ import annotations

import dataclasses
import logging
import re
import ssl
import stat
import tomllib
from pathlib import Path

import pytest
import trio

from ircish.app import build_server
from ircish.cli import server_main
from ircish.config import Config, config_from_dict, load_config
from ircish.configfile import DOCS, schema_keys
from ircish.passwords import verify_password
from ircish.store.database import resolve_url
from ircish.testing import test_config as make_config
from tests.ircclient import RawClient


def test_init_writes_every_key_with_its_default(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    assert server_main(["init", str(folder)]) == 0
    path = folder / "config.toml"
    written = load_config(path)
    defaults = config_from_dict({}, path=path, base_dir=folder.resolve())
    assert written == defaults
    # The file spells out every key (not just parses to the defaults by omission).
    data = tomllib.loads(path.read_text())
    for key in schema_keys():
        section, name = key.split(".")
        if section == "oper" or name == "settings":
            continue
        assert name in data[section], key
    text = path.read_text()
    opers = text[text.index("# [[opers]]"):]
    for key in schema_keys():
        if key.startswith("oper."):
            assert re.search(rf"^# {key.split('.')[1]} = ", opers, re.M), key
    assert "[plugins.<name>]" in text


def test_every_schema_key_has_one_explanation() -> None:
    missing = set(schema_keys()) - set(DOCS)
    assert not missing, f"add a line for each to DOCS in ircish/configfile.py: {missing}"
    assert set(DOCS) <= set(schema_keys()), set(DOCS) - set(schema_keys())


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nname = 'mine'\n")
    assert server_main(["init", str(tmp_path)]) == 1
    assert "exists; not overwritten" in capsys.readouterr().err
    assert path.read_text() == "[server]\nname = 'mine'\n"


async def test_mkcert_makes_a_certificate_a_tls_listener_serves(
    tmp_path: Path, make_server
) -> None:
    code = await trio.to_thread.run_sync(
        server_main, ["-c", str(tmp_path / "config.toml"), "mkcert"])
    assert code == 0
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    client_ctx = ssl.create_default_context(cafile=str(cert))
    config = {"tls": {"listen": ["127.0.0.1:0"], "cert": "cert.pem", "key": "key.pem"}}
    async with make_server(config) as srv:
        stream = await trio.open_ssl_over_tcp_stream(
            "127.0.0.1", srv.tls_port, ssl_context=client_ctx)
        welcome = await RawClient(stream).register("secure")
        assert welcome[0].command == "001"
    # A second run keeps what is there.
    before = cert.read_bytes()
    assert server_main(["mkcert", str(tmp_path)]) == 2
    assert cert.read_bytes() == before


def test_mkcert_without_openssl_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert server_main(["mkcert", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'openssl' command is needed and was not found" in err
    assert not (tmp_path / "cert.pem").exists()


class _Terminal:
    def isatty(self) -> bool:
        return True

    def readline(self) -> str:  # pragma: no cover - a terminal is asked through getpass
        raise AssertionError("read from the terminal without getpass")


@pytest.mark.parametrize(("answers", "ok"), [(["s3cret", "s3cret"], True),
                                             (["s3cret", "s3cre7"], False)])
def test_hash_password_asks_twice_without_echo_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    answers: list[str], ok: bool,
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return answers[len(prompts) - 1]

    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr("ircish.cli.getpass.getpass", fake_getpass)
    code = server_main(["hash-password"])
    out, err = capsys.readouterr()
    assert prompts == ["Password: ", "Again: "]
    if ok:
        assert code == 0 and verify_password("s3cret", out.strip())
    else:
        assert code == 2 and "differ" in err and out == ""


def test_history_is_on_without_a_storage_section(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nname = 'irc.test'\n")
    config = load_config(path)
    assert config.storage.url == "sqlite:///ircish.db"
    url = resolve_url(config.storage.url, config.base_dir)
    assert url.database == str(tmp_path.resolve() / "ircish.db")
    assert dataclasses.replace(config, path="x", base_dir=Path(".")).storage == Config().storage


def test_history_off_is_said_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ircish"):
        build_server(make_config(tmp_path, {"storage": {"url": ""}}))
    assert any(r.getMessage().startswith("history is off: [storage] url is empty")
               for r in caplog.records)

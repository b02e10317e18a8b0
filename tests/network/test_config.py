"""``[network]``: only with a PostgreSQL ``[storage] url``, and every key checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircish.config import ConfigError, load_config
from ircish.reload import merge_reload
from tests.server.test_process import _run

PG = "[storage]\nurl = 'postgresql+psycopg://u@127.0.0.1/db'\n"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nlisten = ['127.0.0.1:0']\n" + body)
    return path


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("[network]\nnode_id = 'n1'\n", "network.node_id: a network of nodes shares one "
         "PostgreSQL database: [storage] url must be a postgresql:// URL"),
        ("[storage]\nurl = 'sqlite:///h.db'\n[network]\nnode_id = 'n1'\n",
         "must be a postgresql:// URL, got 'sqlite:///h.db'"),
        (PG + "[network]\nnode_id = 'bad id'\n", "network.node_id: must be 1-63 letters"),
        (PG + "[network]\nnode_id = 'n1'\nlease_seconds = 1\n",
         "network.lease_seconds: must be at least 2"),
        (PG + "[network]\nlease_seconds = 5\n", "network.node_id: required when [network]"),
        (PG + "[network]\nnode_id = 'n1'\nevent_retention_seconds = -1\n",
         "network.event_retention_seconds: must be zero or more"),
        (PG + "[network]\nnode_id = 'n1'\nevent_retention_seconds = 'a day'\n",
         "network.event_retention_seconds"),
        (PG + "[network]\nnode_id = 'n1'\nlease = 5\n", "network.lease: unknown key"),
    ],
)
def test_bad_network_config_names_the_key(tmp_path: Path, body: str, words: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert words in str(info.value) and str(path) in str(info.value)
    # check-config reports it the same way (one line, exit 2).
    result = _run(["--config", str(path), "check-config"])
    assert result.returncode == 2
    assert words in result.stderr


def test_defaults_and_a_good_network(tmp_path: Path) -> None:
    alone = load_config(_write(tmp_path, ""))
    assert alone.network.node_id == "" and alone.network.lease_seconds == 10
    config = load_config(_write(tmp_path, PG + "[network]\nnode_id = 'n1.a_b-c'\n"))
    assert config.network.node_id == "n1.a_b-c" and config.network.lease_seconds == 10
    assert config.network.event_retention_seconds == 3600


def test_network_changes_only_at_a_restart(tmp_path: Path) -> None:
    running = load_config(_write(tmp_path, PG + "[network]\nnode_id = 'n1'\n"))
    fresh = load_config(_write(tmp_path, PG + "[network]\nnode_id = 'n2'\nlease_seconds = 4\n"))
    merged, pending = merge_reload(running, fresh)
    assert merged.network == running.network
    assert pending == ["network.node_id", "network.lease_seconds"]


def test_network_status_needs_a_network(tmp_path: Path) -> None:
    result = _run(["--config", str(_write(tmp_path, "")), "network", "status"])
    assert result.returncode == 2
    assert "[network] node_id is not set" in result.stderr

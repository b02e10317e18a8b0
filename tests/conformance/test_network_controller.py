"""The network controller's node configs load, and say what a network node needs."""

from __future__ import annotations

from pathlib import Path

from ircish.config import load_config, parse_address
from tests.conformance.ircish_config import SERVER_NAME, ServerSettings, network_config

URL = "postgresql+psycopg://ircish@127.0.0.1:5432/irctest_x"


def test_node_configs_share_the_database_under_their_own_names(tmp_path: Path) -> None:
    names = {}
    for node_id, name, port in (("n1", SERVER_NAME, 6999), ("n2", "n2.example", 7000)):
        folder = tmp_path / node_id
        folder.mkdir()
        path = folder / "config.toml"
        settings = ServerSettings(folder, "127.0.0.1", port, password="pw" if port == 6999
                                  else None, accounts=True)
        path.write_text(network_config(settings, URL, node_id, name, 7), "utf-8")
        config = load_config(path)
        assert (config.network.node_id, config.network.lease_seconds) == (node_id, 7)
        assert config.storage.url == URL
        assert [parse_address(a) for a in config.server.listen] == [("127.0.0.1", port)]
        # History is on (PostgreSQL is the store), so its join replay is turned off.
        assert config.history.replay_on_join == 0
        assert config.accounts.enabled
        names[node_id] = (config.server.name, config.server.password)
    assert names == {"n1": (SERVER_NAME, "pw"), "n2": ("n2.example", "")}


def test_a_node_without_services_runs_no_accounts(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = ServerSettings(tmp_path, "127.0.0.1", 6999)
    path.write_text(network_config(settings, URL, "n1", SERVER_NAME), "utf-8")
    config = load_config(path)
    assert config.storage.url == URL
    assert not config.accounts.enabled

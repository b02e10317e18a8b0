"""[websocket] in config.toml: defaults, and every mistake named by its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ircish import testing
from ircish.config import ConfigError, config_from_dict, origin_key


def test_off_by_default_and_on_in_the_shipped_config() -> None:
    from ircish.config import load_config

    assert config_from_dict({}).websocket.listen == ()
    shipped = load_config(Path(__file__).resolve().parents[2] / "config.toml")
    assert shipped.websocket.listen == ("127.0.0.1:8097",)


@pytest.mark.parametrize(
    ("websocket", "extra", "key", "words"),
    [
        ({"listen": ["nowhere"]}, {}, "websocket.listen", "host:port"),
        ({"listen": ["127.0.0.1:6667"]}, {}, "websocket.listen", "IRC listener already"),
        ({"listen": ["127.0.0.1:8097"], "tls": True}, {}, "tls.cert", "websocket.tls"),
        ({"allowed_origins": ["chat.example.org"]}, {}, "websocket.allowed_origins",
         "https://host"),
        ({"allowed_origins": ["https://a.example/path"]}, {}, "websocket.allowed_origins",
         "not"),
        ({"trusted_proxies": ["10.0.0.300"]}, {}, "websocket.trusted_proxies",
         "not an IP address"),
        ({"trusted_proxies": "127.0.0.1"}, {}, "websocket.trusted_proxies", "array"),
        ({"handshake_timeout": 0}, {}, "websocket.handshake_timeout", "greater than zero"),
        ({"tls": "yes"}, {}, "websocket.tls", "true or false"),
        ({"listens": []}, {}, "websocket.listens", "unknown key"),
    ],
)
def test_mistakes_name_their_key(
    tmp_path: Path, websocket: dict[str, Any], extra: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_dict({"websocket": websocket, **extra}, path=tmp_path / "config.toml",
                         base_dir=tmp_path)
    assert error.value.key == key
    assert words in error.value.problem


def test_good_values_are_kept(tmp_path: Path) -> None:
    config = testing.test_config(tmp_path, {"websocket": {
        "listen": ["127.0.0.1:0", "[::1]:8097"], "allowed_origins": ["*", "https://a.example"],
        "trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "::1"], "handshake_timeout": 2}})
    assert config.websocket.handshake_timeout == 2.0
    assert config.websocket.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("https://Chat.Example.org", ("https", "chat.example.org", 443)),
        ("http://127.0.0.1:8097/", ("http", "127.0.0.1", 8097)),
        ("http://[::1]:8097", ("http", "::1", 8097)),
        ("http://[::1]", ("http", "::1", 80)),
        ("null", None),
        ("ftp://a.example", None),
        ("http://a.example:99999", None),
        ("http://", None),
    ],
)
def test_origins_compare_by_scheme_host_and_port(text: str, key: object) -> None:
    assert origin_key(text) == key

"""The metadata limits are ``[limits]`` keys: checked at load, advertised, enforced, reloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircish.app import build_server
from ircish.config import ConfigError, load_config
from ircish.metadata.dialect import CAPS
from tests.core.helpers import Net

BASE = "[server]\nlisten = ['127.0.0.1:0']\nname = 'irc.test'\n[channels]\nauto_join = []\n"


def _write(tmp_path: Path, limits: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE + "[limits]\n" + limits)
    return path


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        ("metadata_max_keys = 0\n", "limits.metadata_max_keys: must be greater than zero"),
        ("metadata_max_subs = -1\n", "limits.metadata_max_subs: must be greater than zero"),
        ("metadata_max_subs = 'many'\n", "limits.metadata_max_subs: expected an integer"),
        ("metadata_max_value_bytes = 0\n",
         "limits.metadata_max_value_bytes: must be greater than zero"),
        # irc.test, NICKLEN 30, CHANNELLEN 64: a 761 of 333 value bytes is 513 bytes long.
        ("metadata_max_value_bytes = 333\n",
         "limits.metadata_max_value_bytes: at most 332: a longer value's 761 would not fit"),
        ("channel_length = 200\n", "limits.metadata_max_value_bytes: at most 196"),
    ],
)
def test_a_bad_metadata_limit_names_its_key(tmp_path: Path, limits: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, limits))
    assert words in str(caught.value)


def test_the_largest_value_allowed_still_fits_512_bytes(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "metadata_max_value_bytes = 332\n"))
    assert config.limits.metadata_max_value_bytes == 332
    line = f":irc.test 761 {'n' * 30} {'#' * 64} {'k' * 64} * :{'v' * 332}\r\n"
    assert len(line.encode()) == 512


def _caps(net: Net) -> dict[str, str]:
    client = net.raw_client()
    return dict(t.partition("=")[::2] for m in client.send("CAP LS 302")
                for t in m.params[-1].split())


async def test_the_configured_limits_are_advertised_enforced_and_reloaded(
        tmp_path: Path) -> None:
    path = _write(tmp_path, "metadata_max_keys = 2\nmetadata_max_subs = 3\n"
                            "metadata_max_value_bytes = 10\n")
    app = build_server(load_config(path))
    net = Net(app.core)
    for cap in CAPS:
        assert _caps(net)[cap] == ("before-connect,max-subs=3,max-keys=2,max-key-bytes=64,"
                                   "max-value-bytes=10")
    foo = net.client("foo", [CAPS[0], "batch"])
    answers = foo.send("METADATA * SUB a b c d")
    assert ["METADATA", "LIMIT_REACHED", "d", "3"] == next(
        m.params[:4] for m in answers if m.command == "FAIL")
    assert [m.command for m in foo.send("METADATA * SET a :" + "x" * 11)] == ["FAIL"]
    foo.send("METADATA * SET a :1", "METADATA * SET b :2")
    (full,) = foo.send("METADATA * SET c :3")
    assert full.params[:5] == ["METADATA", "LIMIT_REACHED", "foo", "2", "foo has 2 keys already"]

    path.write_text(BASE + "[limits]\nmetadata_max_keys = 5\n")
    assert await app.reload()
    assert _caps(net)[CAPS[1]] == ("before-connect,max-subs=50,max-keys=5,max-key-bytes=64,"
                                   "max-value-bytes=256")
    assert foo.send("METADATA * SET c :3")[0].command == "761"

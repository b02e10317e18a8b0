"""Client settings: command-line flags win over ``client.toml``, which wins over defaults.

The file is optional. Every key in it is checked, and a mistake names the key
and the file, because a typo that is silently ignored costs more than an error.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class ClientConfig:
    """Every setting, with the defaults a fresh install needs (see docs/client.md)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: 6667, or 6697 with TLS
    tls: bool = False
    tls_verify: bool = True
    nick: str = ""
    username: str = ""
    realname: str = "ircish user"
    password: str = field(default="", repr=False)  # the server's PASS, not the account's
    # SASL: wanted with sasl, sasl_required or a sasl_password; the account
    # defaults to the nick.
    sasl: bool = False
    sasl_required: bool = False
    sasl_account: str = ""
    sasl_password: str = field(default="", repr=False)
    sasl_plain_without_tls: bool = False
    join: tuple[str, ...] = ("#lobby",)
    history_lines: int = 50
    reconnect_delay: float = 1.0
    reconnect_max: float = 60.0
    # mIRC bold, colours and the rest are shown; false strips them.
    formatting: bool = True
    # Words besides the nick that highlight a line (case-insensitive, whole words).
    highlight: tuple[str, ...] = ()
    bell: bool = True  # ring and retitle the terminal on a highlight or private message
    ignore: tuple[str, ...] = ()  # nicks or nick!user@host masks; /ignore edits the file
    aliases: dict[str, str] = field(default_factory=dict)  # /name -> "command [args]"
    # Window logs are off unless asked for: a chat log on disk is a privacy choice.
    log: bool = False
    log_dir: str = ""  # default $XDG_DATA_HOME/ircish/logs or ~/.local/share/ircish/logs
    # The file the settings came from, for /ignore to write back to.
    config_path: str = ""

    @property
    def wants_sasl(self) -> bool:
        return self.sasl or self.sasl_required or bool(self.sasl_password)

    @property
    def effective_account(self) -> str:
        return self.sasl_account or self.nick

    @property
    def effective_port(self) -> int:
        return self.port or (6697 if self.tls else 6667)


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ircish" / "client.toml"


_TYPES: dict[str, type] = {
    "host": str,
    "port": int,
    "tls": bool,
    "tls_verify": bool,
    "nick": str,
    "username": str,
    "realname": str,
    "password": str,
    "sasl": bool,
    "sasl_required": bool,
    "sasl_account": str,
    "sasl_password": str,
    "sasl_plain_without_tls": bool,
    "join": tuple,
    "history_lines": int,
    "reconnect_delay": float,
    "reconnect_max": float,
    "formatting": bool,
    "highlight": tuple,
    "bell": bool,
    "ignore": tuple,
    "aliases": dict,
    "log": bool,
    "log_dir": str,
}


def _check(key: str, value: Any, where: str) -> Any:
    expected = _TYPES.get(key)
    if expected is None:
        known = ", ".join(sorted(_TYPES))
        raise ConfigError(f"{where}: unknown key {key!r} (known keys: {known})")
    if expected is tuple:
        if isinstance(value, str):
            return tuple(part for part in value.split(",") if part)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise ConfigError(f"{where}: {key!r} must be a list of strings")
    if expected is dict:
        if isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) and k and " " not in k
            for k, v in value.items()
        ):
            return {k.lower(): v for k, v in value.items()}
        raise ConfigError(f"{where}: {key!r} must be a table of name = \"command\" strings")
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{where}: {key!r} must be a number, not {value!r}")
    if not isinstance(value, expected):
        raise ConfigError(f"{where}: {key!r} must be {expected.__name__}, not {value!r}")
    if key == "port" and not 0 <= value <= 65535:
        raise ConfigError(f"{where}: 'port' must be between 1 and 65535")
    return value


def load_file(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: no such file") from None
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    # Accept both a flat file and one with a [client] table.
    if isinstance(data.get("client"), dict):
        data = {**{k: v for k, v in data.items() if k != "client"}, **data["client"]}
    return {key: _check(key, value, str(path)) for key, value in data.items()}


def build(flags: dict[str, Any], path: Path | None) -> ClientConfig:
    """Merge: defaults, then the file (``path`` or the default one), then set flags."""
    file_values = load_file(path or default_path(), required=path is not None)
    names = {f.name for f in fields(ClientConfig)}
    chosen = {k: v for k, v in flags.items() if k in names and v is not None}
    if "join" in chosen:
        chosen["join"] = _check("join", chosen["join"], "--join")
    where = str(path or default_path())
    return dataclasses.replace(
        ClientConfig(), **{**file_values, **chosen, "config_path": where}
    )


def save_list(path: Path, key: str, values: list[str]) -> None:
    """Write ``key = [...]`` into the settings file, keeping the rest.

    Only that key's line changes, in whichever table it is (or one is added
    above the first table), so the
    user's comments and layout survive; TOML's basic strings are JSON strings.
    """
    rendered = f"{key} = [{', '.join(json.dumps(v) for v in values)}]"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    found = next((i for i, line in enumerate(lines) if pattern.match(line)), None)
    if found is not None:  # where it is, even under [client]
        end = found
        if "]" not in lines[found]:  # an array over several lines goes as a whole
            while end + 1 < len(lines) and "]" not in lines[end]:
                end += 1
        lines[found : end + 1] = [rendered]
    else:
        tables = [i for i, line in enumerate(lines) if line.lstrip().startswith("[")]
        lines.insert(tables[0] if tables else len(lines), rendered)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

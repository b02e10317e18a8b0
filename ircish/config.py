"""``config.toml`` read with ``tomllib`` into frozen dataclasses.

Every key is checked: an unknown key, a wrong type or an impossible value is a
``ConfigError`` naming the file and the dotted key, so an operator's typo never
silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ircish.protocol.numbers import parse_decimal


class ConfigError(Exception):
    """A configuration problem, already phrased for the operator."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + problem)


@dataclass(frozen=True)
class ServerSection:
    name: str = "irc.ircish.local"
    network: str = "ircish"
    description: str = "an ircish server"
    listen: tuple[str, ...] = ("127.0.0.1:6667",)
    motd: str = "Welcome to ircish."
    motd_file: str = ""
    password: str = ""
    admin_location: str = ""
    admin_email: str = ""


@dataclass(frozen=True)
class TlsSection:
    listen: tuple[str, ...] = ()
    cert: str = ""
    key: str = ""
    # A day: long enough to matter, short enough that dropping TLS later
    # does not lock clients out for weeks.
    sts_duration: int = 86400


@dataclass(frozen=True)
class WebSocketSection:
    # IRC over WebSocket, and the web client's files, on these addresses; () is off.
    listen: tuple[str, ...] = ()
    # wss:// and https:// with the [tls] certificate.
    tls: bool = False
    # Origins a browser page may connect from besides the listener's own
    # (scheme://host[:port]); "*" is any. A page elsewhere could otherwise act
    # with the visitor's address against this server.
    allowed_origins: tuple[str, ...] = ()
    # Addresses or networks of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: tuple[str, ...] = ()
    # Seconds for the TLS and HTTP handshake before the socket is closed.
    handshake_timeout: float = 10.0


@dataclass(frozen=True)
class ChannelsSection:
    auto_join: tuple[str, ...] = ("#lobby",)
    default_modes: str = "nt"


@dataclass(frozen=True)
class LimitsSection:
    nick_length: int = 30
    user_length: int = 18
    channel_length: int = 64
    topic_length: int = 390
    away_length: int = 390
    kick_length: int = 390
    channels_per_client: int = 100
    targets_per_message: int = 4
    clients_per_ip: int = 16
    max_clients: int = 10000
    sendq_bytes: int = 1048576
    line_length: int = 512
    tags_length: int = 8191
    ping_interval: float = 120.0
    ping_timeout: float = 60.0
    registration_timeout: float = 30.0
    flood_burst: int = 20
    flood_rate: float = 4.0
    flood_excess: int = 200
    flood_exempt_opers: bool = True
    whowas_entries: int = 200
    # Refuse lines that are not UTF-8 (FAIL ... INVALID_UTF8) and say so (UTF8ONLY).
    utf8_only: bool = True
    # Nicks one client may MONITOR (the MONITOR ISUPPORT token).
    monitor_entries: int = 100
    # Longest real name SETNAME accepts; USER's is cut to it.
    realname_length: int = 128
    # Seconds after sending in which REDACT may remove a message (opers: longer).
    redact_window: int = 900
    # draft/multiline: the most text bytes (line feeds included) and lines a batch
    # may have; advertised as the capability's max-bytes and max-lines.
    multiline_max_bytes: int = 4096
    multiline_max_lines: int = 32
    # draft/metadata-2/-3: keys one user or channel may set, keys one client may
    # subscribe to, the longest value in bytes (the capability's max-keys, max-subs,
    # max-value-bytes). A value must leave its 761 within 512 bytes (checked).
    metadata_max_keys: int = 30
    metadata_max_subs: int = 50
    metadata_max_value_bytes: int = 256


@dataclass(frozen=True)
class OperEntry:
    name: str
    password_hash: str
    host: str = "*@*"


@dataclass(frozen=True)
class StorageSection:
    # History is on unless turned off with url = "": SQLite next to config.toml.
    url: str = "sqlite:///ircish.db"
    auto_migrate: bool = True
    flush_interval_ms: int = 50
    queue_limit: int = 100000
    store_events: bool = True


@dataclass(frozen=True)
class HistorySection:
    retention_days: int = 0
    replay_on_join: int = 50
    chathistory_max: int = 100
    replay_bots: bool = False


@dataclass(frozen=True)
class PluginsSection:
    dir: str = "plugins"
    enabled: tuple[str, ...] = ()
    hook_timeout: float = 5.0
    max_failures: int = 5
    # A filter_message call longer than this counts as a failure of its plugin.
    filter_budget_ms: float = 50.0
    # [plugins.<name>] tables, free-form: each plugin checks its own section.
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountsSection:
    # Off: a server with [storage] (history, a network node) runs no accounts, SASL,
    # NickServ or ChanServ (services kept elsewhere, or none).
    enabled: bool = True
    # Who may register an account: anyone, nobody (operators use the CLI), operators.
    registration: str = "open"
    # draft/account-registration: REGISTER before connection registration, e-mail.
    register_before_connect: bool = True
    email_required: bool = False
    # An unidentified client on a registered nick: left alone, told, or renamed.
    nick_reservation: str = "enforce"
    enforce_timeout: float = 30.0
    # Refuse to finish connection registration without a SASL login.
    require_sasl: bool = False
    # Failed logins (SASL, NickServ IDENTIFY) within failure_window seconds before
    # further attempts are refused until the oldest ages out.
    max_failures: int = 5
    max_failures_per_ip: int = 20
    failure_window: float = 60.0


REGISTRATION_POLICIES = ("open", "closed", "opers")
NICK_RESERVATION = ("off", "warn", "enforce")


@dataclass(frozen=True)
class NetworkSection:
    # Several nodes as one network on one PostgreSQL (docs/network.md); "" is one
    # stand-alone server, the default.
    node_id: str = ""
    # Seconds a node stays alive without renewing; then a survivor removes its users.
    lease_seconds: int = 10
    # Events every live node has applied are deleted once older than this (seconds).
    event_retention_seconds: int = 3600


_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")


@dataclass(frozen=True)
class LoggingSection:
    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True)
class Config:
    server: ServerSection = ServerSection()
    tls: TlsSection = TlsSection()
    websocket: WebSocketSection = WebSocketSection()
    channels: ChannelsSection = ChannelsSection()
    limits: LimitsSection = LimitsSection()
    opers: tuple[OperEntry, ...] = ()
    storage: StorageSection = StorageSection()
    history: HistorySection = HistorySection()
    plugins: PluginsSection = PluginsSection()
    accounts: AccountsSection = AccountsSection()
    logging: LoggingSection = LoggingSection()
    network: NetworkSection = NetworkSection()
    # Where relative paths (motd_file, storage.url, plugins.dir, tls files) resolve.
    base_dir: Path = Path(".")
    path: str = "<defaults>"

    def resolve(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p


_SECTIONS: dict[str, type] = {
    "server": ServerSection,
    "tls": TlsSection,
    "websocket": WebSocketSection,
    "channels": ChannelsSection,
    "limits": LimitsSection,
    "storage": StorageSection,
    "history": HistorySection,
    "plugins": PluginsSection,
    "accounts": AccountsSection,
    "logging": LoggingSection,
    "network": NetworkSection,
}


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", f"not valid TOML: {exc}") from exc
    return config_from_dict(data, path=path, base_dir=path.resolve().parent)


def config_from_dict(
    data: dict[str, Any], *, path: str | Path = "<dict>", base_dir: Path | None = None
) -> Config:
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "opers":
            kwargs["opers"] = _opers(value, path)
        elif key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(path, key, "must be a table, like [" + key + "]")
            kwargs[key] = _section(_SECTIONS[key], value, key, path)
        else:
            raise ConfigError(path, key, "unknown section")
    config = Config(**kwargs, base_dir=base_dir or Path("."), path=str(path))
    _check(config, path)
    return config


def _opers(value: Any, path: str | Path) -> tuple[OperEntry, ...]:
    if not isinstance(value, list):
        raise ConfigError(path, "opers", "must be an array of tables, like [[opers]]")
    entries = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ConfigError(path, f"opers[{i}]", "must be a table")
        entries.append(_section(OperEntry, item, f"opers[{i}]", path))
    return tuple(entries)


def _section(cls: type, table: dict[str, Any], prefix: str, path: str | Path) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    settings: dict[str, dict[str, Any]] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}"
        if cls is PluginsSection and key not in fields and isinstance(value, dict):
            settings[key] = value
            continue
        if key not in fields or key == "settings":
            raise ConfigError(path, dotted, "unknown key")
        values[key] = _coerce(value, hints[key], dotted, path)
    missing = [
        name
        for name, f in fields.items()
        if name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(path, f"{prefix}.{missing[0]}", "required key is missing")
    if settings:
        values["settings"] = settings
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str, path: str | Path) -> Any:
    origin = typing.get_origin(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(path, key, f"expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(path, key, f"expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(path, key, f"expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(path, key, f"expected a string, got {value!r}")
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(path, key, f"expected an array of strings, got {value!r}")
        return tuple(value)
    if origin is dict or origin is types.UnionType:
        return value
    raise ConfigError(path, key, f"unsupported type {hint}")  # pragma: no cover


def origin_key(text: str) -> tuple[str, str, int] | None:
    """``scheme://host[:port]`` as (scheme, host, port), lower case, the port
    filled in from the scheme; None if it is not such an origin."""
    scheme, sep, rest = text.strip().lower().partition("://")
    if not sep or scheme not in ("http", "https") or not rest or "/" in rest.rstrip("/"):
        return None
    rest = rest.rstrip("/")
    default = 443 if scheme == "https" else 80
    if rest.startswith("["):
        host, close, port_text = rest[1:].partition("]")
        if not close or (port_text and not port_text.startswith(":")):
            return None
        port_text = port_text[1:]
    else:
        host, _, port_text = rest.partition(":")
    port = parse_decimal(port_text, maximum=65535) if port_text else default
    if not host or port is None:
        return None
    return scheme, host, port


def _check_websocket(config: Config, path: str | Path) -> None:
    import ipaddress

    ws = config.websocket
    if ws.listen and ws.tls:
        for key in ("cert", "key"):
            value = getattr(config.tls, key)
            if not value:
                raise ConfigError(path, f"tls.{key}", "required when websocket.tls is true")
            if not config.resolve(value).is_file():
                raise ConfigError(path, f"tls.{key}", f"file not found: {value}")
    for origin in ws.allowed_origins:
        if origin != "*" and origin_key(origin) is None:
            raise ConfigError(path, "websocket.allowed_origins",
                              f'{origin!r} is not "*" nor an origin like "https://host[:port]"')
    for proxy in ws.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(path, "websocket.trusted_proxies",
                              f"{proxy!r} is not an IP address or network") from None
    if ws.handshake_timeout <= 0:
        raise ConfigError(path, "websocket.handshake_timeout", "must be greater than zero")
    taken = {parse_address(a) for a in (*config.server.listen, *config.tls.listen)}
    for addr in ws.listen:
        host, port = parse_address(addr)
        if port and (host, port) in taken:
            raise ConfigError(path, "websocket.listen",
                              f"{addr} is an IRC listener already (server.listen or tls.listen)")


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into (host, port); ValueError if malformed."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"expected [address]:port, got {text!r}")
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f"expected host:port, got {text!r}")
    number = parse_decimal(port, maximum=65535)
    if number is None:
        raise ValueError(f"bad port in {text!r}")
    return host, number


def _check(config: Config, path: str | Path) -> None:
    for section, key in (("server", "listen"), ("tls", "listen"), ("websocket", "listen")):
        for addr in getattr(getattr(config, section), key):
            try:
                parse_address(addr)
            except ValueError as exc:
                raise ConfigError(path, f"{section}.{key}", str(exc)) from None
    if config.tls.listen:
        for key in ("cert", "key"):
            value = getattr(config.tls, key)
            if not value:
                raise ConfigError(path, f"tls.{key}", "required when tls.listen is set")
            if not config.resolve(value).is_file():
                raise ConfigError(path, f"tls.{key}", f"file not found: {value}")
    _check_websocket(config, path)
    if config.tls.sts_duration < 0:
        raise ConfigError(path, "tls.sts_duration", "must be 0 (off) or a number of seconds")
    if config.server.motd_file and not config.resolve(config.server.motd_file).is_file():
        raise ConfigError(path, "server.motd_file", f"file not found: {config.server.motd_file}")
    for chan in config.channels.auto_join:
        if not chan.startswith("#") or " " in chan or "," in chan:
            raise ConfigError(path, "channels.auto_join", f"not a channel name: {chan!r}")
    positive = [f.name for f in dataclasses.fields(LimitsSection) if f.type in ("int", "float")]
    for name in positive:
        if getattr(config.limits, name) <= 0:
            raise ConfigError(path, f"limits.{name}", "must be greater than zero")
    if config.limits.line_length < 512:
        raise ConfigError(path, "limits.line_length", "must be at least 512")
    from ircish.metadata.rules import value_room

    room = value_room(config.server.name, config.limits.nick_length,
                      config.limits.channel_length)
    if config.limits.metadata_max_value_bytes > room:
        raise ConfigError(
            path, "limits.metadata_max_value_bytes",
            f"at most {room}: a longer value's 761 would not fit in 512 bytes with this "
            f"server name, nick_length {config.limits.nick_length} and channel_length "
            f"{config.limits.channel_length}")
    for i, oper in enumerate(config.opers):
        from ircish.passwords import is_password_hash

        if not is_password_hash(oper.password_hash):
            raise ConfigError(
                path,
                f"opers[{i}].password_hash",
                "not a hash made by `ircish-server hash-password`",
            )
    for name in ("hook_timeout", "filter_budget_ms"):
        if getattr(config.plugins, name) <= 0:
            raise ConfigError(path, f"plugins.{name}", "must be greater than zero")
    accounts = config.accounts
    for key, allowed in (("registration", REGISTRATION_POLICIES),
                         ("nick_reservation", NICK_RESERVATION)):
        value = getattr(accounts, key)
        if value not in allowed:
            raise ConfigError(path, f"accounts.{key}",
                              f"must be one of {', '.join(allowed)}, got {value!r}")
    for key in ("enforce_timeout", "max_failures", "max_failures_per_ip", "failure_window"):
        if getattr(accounts, key) <= 0:
            raise ConfigError(path, f"accounts.{key}", "must be greater than zero")
    _check_network(config, path)
    level = config.logging.level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(path, "logging.level", f"unknown level {config.logging.level!r}")
    if config.logging.format not in ("text", "json"):
        raise ConfigError(path, "logging.format",
                          f'must be "text" or "json", got {config.logging.format!r}')


def _check_network(config: Config, path: str | Path) -> None:
    network = config.network
    if not network.node_id:
        if network != NetworkSection():
            raise ConfigError(path, "network.node_id", "required when [network] is set")
        return
    if not _NODE_ID.match(network.node_id):
        raise ConfigError(path, "network.node_id",
                          "must be 1-63 letters, digits, '.', '_' or '-', starting with a "
                          f"letter or digit, got {network.node_id!r}")
    if network.lease_seconds < 2:
        raise ConfigError(path, "network.lease_seconds", "must be at least 2 (seconds)")
    if network.event_retention_seconds < 0:
        raise ConfigError(path, "network.event_retention_seconds",
                          "must be zero or more (seconds)")
    if not config.storage.url.startswith(("postgresql:", "postgresql+")):
        raise ConfigError(path, "network.node_id",
                          "a network of nodes shares one PostgreSQL database: [storage] url "
                          f"must be a postgresql:// URL, got {config.storage.url!r}")

"""The ``config.toml`` the irctest controller gives each fresh ircish-server.

Kept apart from ``ircish_controller`` (which needs irctest importable) so the
project's own suite can check the generated file loads, without irctest.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from ircish.passwords import hash_password

# irctest's operator tests all send ``OPER operuser operpassword``.
OPER_NAME = "operuser"
OPER_PASSWORD = "operpassword"
SERVER_NAME = "My.Little.Server"


@dataclass(frozen=True)
class ServerSettings:
    directory: Path
    hostname: str
    port: int
    password: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    history: bool = False
    # Accounts (irctest's "services"): they live in the history database.
    accounts: bool = False
    register_before_connect: bool = True
    email_required: bool = False
    # irctest's websocket tests: a [websocket] listener on this "host:port".
    websocket: str | None = None


@functools.cache
def _oper_hash() -> str:
    # scrypt is deliberately slow; one hash serves every server of the run.
    return hash_password(OPER_PASSWORD)


def _toml(value: str | list[str]) -> str:
    # A JSON string or array of strings is also a valid TOML one.
    return json.dumps(value)


def _toml_bool(value: bool) -> str:
    return "true" if value else "false"


def render_config(settings: ServerSettings) -> str:
    address = f"{settings.hostname}:{settings.port}"
    server = [
        "[server]",
        f"name = {_toml(SERVER_NAME)}",
        'network = "ircishTest"',
        # LINKS tests expect the server info every irctest controller configures.
        'description = "test server"',
        f"listen = {_toml([] if settings.tls_cert else [address])}",
        f"password = {_toml(settings.password or '')}",
        'motd = "irctest run"',
    ]
    tls: list[str] = []
    if settings.tls_cert and settings.tls_key:
        tls = [
            "[tls]",
            f"listen = {_toml([address])}",
            f"cert = {_toml(str(settings.tls_cert))}",
            f"key = {_toml(str(settings.tls_key))}",
        ]
    # irctest opens many connections from one address at once and sends bursts
    # of commands without waiting: ircish's per-IP cap and fakelag would turn
    # that into spurious failures and waits, which are not what it tests.
    limits = [
        "[limits]",
        "nick_length = 32",
        "clients_per_ip = 1000",
        "flood_burst = 1000",
        "flood_rate = 1000",
        "flood_excess = 100000",
    ]
    storage = ['[storage]', 'url = ""']
    if settings.history or settings.accounts:
        db = settings.directory / "history.db"
        storage = ["[storage]", f"url = {_toml('sqlite:///' + str(db))}", "flush_interval_ms = 5"]
        # Join replay would add unrequested lines to what the chathistory tests read.
        storage += ["", "[history]", "replay_on_join = 0"]
    if settings.accounts:
        # Accounts are made by the controller's registerUser (the account CLI) while
        # the server runs; tests take registered nicks without identifying.
        storage += [
            "", "[accounts]", 'nick_reservation = "off"',
            f"register_before_connect = {_toml_bool(settings.register_before_connect)}",
            f"email_required = {_toml_bool(settings.email_required)}",
        ]
    websocket = ["[websocket]", f"listen = {_toml([settings.websocket])}"] \
        if settings.websocket else []
    sections = [
        server,
        tls,
        websocket,
        ["[channels]", "auto_join = []"],
        limits,
        ["[[opers]]", f"name = {_toml(OPER_NAME)}", f"password_hash = {_toml(_oper_hash())}"],
        storage,
        ["[plugins]", "enabled = []"],
        ["[logging]", 'level = "WARNING"'],
    ]
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"


def write_config(settings: ServerSettings) -> Path:
    path = settings.directory / "config.toml"
    path.write_text(render_config(settings), encoding="utf-8")
    return path


def network_config(settings: ServerSettings, url: str, node_id: str, name: str,
                   lease_s: int = 10) -> str:
    """A network node's config (``ircish_network_controller``): the single server's with
    history on (so its join replay is off as above), on the shared PostgreSQL ``url``
    instead of SQLite, under its own server ``name``, with ``[network]``. A node always
    has a store; without ``accounts`` its services are turned off, so that it runs no
    NickServ or ChanServ, as a single server without services has none."""
    text = render_config(dataclasses.replace(settings, history=True))
    if not settings.accounts:
        text += "\n[accounts]\nenabled = false\n"
    sqlite = _toml("sqlite:///" + str(settings.directory / "history.db"))
    text = text.replace(sqlite, _toml(url), 1)
    text = text.replace(f"name = {_toml(SERVER_NAME)}", f"name = {_toml(name)}", 1)
    return text + f"\n[network]\nnode_id = {_toml(node_id)}\nlease_seconds = {lease_s}\n"

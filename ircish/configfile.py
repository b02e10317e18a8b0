"""``ircish-server init``: a commented ``config.toml`` written from the schema.

Keys, their order and their defaults come from the dataclasses in
``ircish.config``; only the one-line explanations live here, and a test fails
when a key has none (or an explanation names no key), so the file cannot drift.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from ircish.config import _SECTIONS, Config, OperEntry

HEADER = """\
# ircish server configuration, written by `ircish-server init`.
# Every key is shown with its default; delete what you do not change. Unknown keys
# are errors. Relative paths resolve next to this file. Check a change with
# `ircish-server --config config.toml check-config`; apply it to a running server
# with SIGHUP (`systemctl reload ircish`) or the REHASH command.
"""

# One explanation per key, "section.key"; `oper.*` is the [[opers]] example.
DOCS: dict[str, str] = {
    "server.name": "the server's name, shown in every reply",
    "server.network": "the network name (ISUPPORT NETWORK)",
    "server.description": "shown by WHOIS and LINKS",
    "server.listen": 'plain-text listeners, "host:port" or "[v6]:port" (restart to change)',
    "server.motd": "message of the day, one string (lines split on \\n)",
    "server.motd_file": "or a file holding the MOTD, instead of motd",
    "server.password": 'connection password (PASS); "" means none',
    "server.admin_location": "shown by ADMIN",
    "server.admin_email": "shown by ADMIN",
    "tls.listen": 'TLS listeners, e.g. ["0.0.0.0:6697"] (make a cert: ircish-server mkcert)',
    "tls.cert": "PEM certificate chain (re-read on reload)",
    "tls.key": "PEM private key (re-read on reload)",
    "tls.sts_duration": "seconds clients keep to TLS after seeing the sts policy; 0 turns sts off",
    "websocket.listen": 'IRC over WebSocket and the web client at /, e.g. ["127.0.0.1:8097"]',
    "websocket.tls": "wss:// and https:// with the [tls] cert and key",
    "websocket.allowed_origins": 'pages elsewhere that may connect ("https://host[:port]", '
                                 '"*"); [] is same origin only',
    "websocket.trusted_proxies": "proxies (IPs, CIDRs) whose X-Forwarded-For is believed",
    "websocket.handshake_timeout": "seconds for the TLS and HTTP handshake",
    "channels.auto_join": "channels every client joins after registration",
    "channels.default_modes": "modes of a newly created channel",
    "limits.nick_length": "longest nickname (NICKLEN)",
    "limits.user_length": "longest username (USERLEN)",
    "limits.channel_length": "longest channel name (CHANNELLEN)",
    "limits.topic_length": "longest topic (TOPICLEN)",
    "limits.away_length": "longest away message (AWAYLEN)",
    "limits.kick_length": "longest kick reason (KICKLEN)",
    "limits.channels_per_client": "channels one client may be in (CHANLIMIT)",
    "limits.targets_per_message": "targets of one PRIVMSG/NOTICE (TARGMAX)",
    "limits.clients_per_ip": "connections from one address",
    "limits.max_clients": "connections in all",
    "limits.sendq_bytes": "unsent bytes a client may owe before it is dropped",
    "limits.line_length": "longest line without tags, at least 512",
    "limits.tags_length": "longest tag section",
    "limits.ping_interval": "seconds of silence before the server sends PING",
    "limits.ping_timeout": "seconds to answer that PING",
    "limits.registration_timeout": "seconds to finish NICK/USER",
    "limits.flood_burst": "lines a client may send at once before fakelag",
    "limits.flood_rate": "lines per second after the burst",
    "limits.flood_excess": "lines queued behind fakelag before Excess Flood",
    "limits.flood_exempt_opers": "operators are not slowed down",
    "limits.whowas_entries": "nicks remembered for WHOWAS",
    "limits.monitor_entries": "nicks one client may MONITOR",
    "limits.realname_length": "longest real name (SETNAME; USER's is cut to it)",
    "limits.utf8_only": "refuse lines that are not UTF-8 (UTF8ONLY)",
    "limits.redact_window": "seconds in which a sender or channel operator may REDACT a "
                            "message (opers: as long as it is remembered)",
    "limits.multiline_max_bytes": "draft/multiline max-bytes: text of one batch, line feeds "
                                  "included",
    "limits.multiline_max_lines": "draft/multiline max-lines: lines of one batch",
    "limits.metadata_max_keys": "METADATA keys one user or channel may set (max-keys)",
    "limits.metadata_max_subs": "METADATA keys one client may subscribe to (max-subs)",
    "limits.metadata_max_value_bytes": "longest METADATA value in bytes (max-value-bytes; "
                                       "its 761 must fit 512 bytes)",
    "oper.name": "the name given to OPER",
    "oper.password_hash": "from: ircish-server hash-password",
    "oper.host": "user@host mask the operator must connect from",
    "storage.url": 'SQLAlchemy URL of the history database; "" turns history off '
                   "(restart to change)",
    "storage.auto_migrate": "upgrade the schema at start (else: ircish-server db upgrade)",
    "storage.flush_interval_ms": "the most an abrupt kill can lose",
    "storage.queue_limit": "events waiting for the writer before new ones are dropped",
    "storage.store_events": "store joins, parts, quits... besides messages",
    "history.retention_days": "0 keeps history forever",
    "history.replay_on_join": "most lines a join replays (what one missed) sans draft/chathistory",
    "history.replay_bots": "also replay bots' lines (user mode +B) on join",
    "history.chathistory_max": "CHATHISTORY=<max> in ISUPPORT",
    "plugins.dir": "loose plugin modules, name.py or name/__init__.py",
    "plugins.enabled": 'e.g. ["welcome_bot", "seen_bot"] (shipped), or your own',
    "plugins.hook_timeout": "seconds a hook may run",
    "plugins.max_failures": "failures within 10 minutes before a plugin is disabled",
    "plugins.filter_budget_ms": "a filter_message call longer than this counts as a failure",
    "plugins.settings": "[plugins.<name>] tables: each plugin's own settings",
    "accounts.enabled": "false: no accounts, SASL, NickServ or ChanServ although [storage] is set",
    "accounts.registration": '"open", "closed" (operators use `ircish-server account`), '
                             '"opers"',
    "accounts.register_before_connect": "REGISTER allowed before connection registration",
    "accounts.email_required": "REGISTER needs an e-mail address",
    "accounts.nick_reservation": '"off", "warn", "enforce" (rename after enforce_timeout)',
    "accounts.enforce_timeout": "seconds to identify before a reserved nick is taken away",
    "accounts.require_sasl": "disconnect clients without a SASL login",
    "accounts.max_failures": "failed logins per connection and per account in failure_window",
    "accounts.max_failures_per_ip": "failed logins per address in failure_window",
    "accounts.failure_window": "seconds",
    "logging.level": '"DEBUG", "INFO", "WARNING", "ERROR" or "CRITICAL"',
    "logging.format": '"text" (one readable line per record) or "json" (one JSON object a line)',
    "network.node_id": 'this node\'s unique name in a network of nodes on one PostgreSQL '
                       '[storage] url (docs/network.md); "" is a stand-alone server',
    "network.lease_seconds": "a node silent this long is declared dead and its users QUIT",
    "network.event_retention_seconds": "events every live node has applied are deleted "
                                       "once this old",
}


def schema_keys() -> list[str]:
    """Every "section.key" of the schema, in the file's order."""
    keys = [f"oper.{f.name}" for f in dataclasses.fields(OperEntry)]
    for section, cls in _SECTIONS.items():
        keys.extend(f"{section}.{f.name}" for f in dataclasses.fields(cls))
    return keys


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")  # pragma: no cover - schema types only


def _line(key: str, value: str, doc: str | None, *, commented: bool = False) -> str:
    text = f"{'# ' if commented else ''}{key} = {value}"
    if doc is None:
        # A key added without an explanation is still written (a test asks for one).
        return text
    if len(text) < 40 and 42 + len(doc) <= 100:
        return f"{text:<40}  # {doc}"
    return f"# {doc}\n{text}"


def default_config_text() -> str:
    defaults = Config()
    out = [HEADER]
    for section, cls in _SECTIONS.items():
        out.append(f"[{section}]")
        values = getattr(defaults, section)
        for f in dataclasses.fields(cls):
            doc = DOCS.get(f"{section}.{f.name}")
            if f.name == "settings":
                out.append(f"# {doc or f.name}, e.g.\n# [plugins.welcome_bot]\n"
                           '# channels = ["#lobby"]')
                continue
            out.append(_line(f.name, toml_value(getattr(values, f.name)), doc))
        out.append("")
        if section == "limits":
            # An array of tables: none by default, so the example is commented out.
            out.append("# Operators (OPER name password); one [[opers]] table each.")
            out.append("# [[opers]]")
            examples = {"name": '"admin"', "password_hash": '"scrypt$..."'}
            for f in dataclasses.fields(OperEntry):
                value = examples.get(f.name) or toml_value(f.default)
                out.append(_line(f.name, value, DOCS.get(f"oper.{f.name}"), commented=True))
            out.append("")
    return "\n".join(out)


def write_default_config(directory: Path) -> Path:
    """``directory/config.toml``; FileExistsError if there is one already."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    with path.open("x", encoding="utf-8") as f:
        f.write(default_config_text())
    return path

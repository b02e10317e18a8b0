"""Start a real server in-process for tests: ``async with start_server(tmp_path) as srv``.

The server listens on 127.0.0.1 with port 0; ``srv.port`` is the bound port.
Config overrides are given per section, like the TOML file:
``start_server(tmp_path, config={"channels": {"auto_join": []}})``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from ircish.config import Config, config_from_dict
from ircish.core.server import Server
from ircish.net.app import IrcServer


@dataclass
class RunningServer:
    app: IrcServer
    host: str
    port: int
    tls_port: int | None = None

    @property
    def core(self) -> Server:
        return self.app.core

    @property
    def config(self) -> Config:
        return self.app.config

    def owner(self, extension: str) -> Any:
        """The object behind an installed extension (the history service, the
        plugin runner), for tests that look inside; KeyError if not installed."""
        return self.app.extensions[extension].owner


def test_config(base_dir: Path, overrides: dict[str, Any] | None = None) -> Config:
    data: dict[str, Any] = {
        "server": {"listen": ["127.0.0.1:0"], "name": "irc.test"},
        "channels": {"auto_join": []},
        # History off unless a test asks for it: its worker process is slow to start.
        "storage": {"url": ""},
    }
    for section, values in (overrides or {}).items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    return config_from_dict(data, path=base_dir / "config.toml", base_dir=base_dir)


@asynccontextmanager
async def start_server(
    base_dir: Path, config: dict[str, Any] | None = None, app: IrcServer | None = None
) -> AsyncIterator[RunningServer]:
    from ircish.app import build_server

    server = app or build_server(test_config(base_dir, config))
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(server.run)
        plain = next(a for a in addresses if not a.tls)
        tls = next((a.port for a in addresses if a.tls), None)
        try:
            yield RunningServer(server, plain.host, plain.port, tls)
        finally:
            server.shutdown()

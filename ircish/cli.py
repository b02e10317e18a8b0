"""Console scripts: ``ircish-server`` and its sub-commands."""

from __future__ import annotations

import argparse
import gc
import getpass
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from ircish import __version__, logformat
from ircish.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from ircish.net.app import IrcServer

log = logging.getLogger("ircish")

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ircish-server", description="ircish IRC server")
    parser.add_argument("--config", "-c", default="config.toml", help="path to config.toml")
    parser.add_argument("--version", action="version", version=f"ircish {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the server (the default)")
    sub.add_parser("hash-password", help="print a password's hash for [[opers]] (asked twice "
                   "without echo on a terminal, else one line of stdin)")
    init = sub.add_parser("init", help="write a commented config.toml with every default")
    init.add_argument("dir", nargs="?", default=".", help="folder for config.toml (default: .)")
    mkcert = sub.add_parser("mkcert", help="make a self-signed TLS cert.pem and key.pem")
    mkcert.add_argument("dir", nargs="?", help="folder (default: the config file's folder)")
    mkcert.add_argument("--name", action="append", help="host name or address the certificate "
                        "is for (repeatable; default: localhost, 127.0.0.1, ::1)")
    mkcert.add_argument("--days", type=int, default=825, help="validity (default: 825)")
    sub.add_parser("check-config", help="load the config and report problems")
    db = sub.add_parser("db", help="database maintenance: upgrade, downgrade, current, history, "
                        "backup, check")
    db.add_argument("db_args", nargs=argparse.REMAINDER)
    account = sub.add_parser("account", help="accounts: create, list, show, delete, passwd NAME")
    account.add_argument("account_args", nargs=argparse.REMAINDER)
    network = sub.add_parser("network", help="a network of nodes: status")
    network.add_argument("network_args", nargs=argparse.REMAINDER)
    plugins = sub.add_parser("plugins", help="plugin tools: list")
    plugins.add_argument("plugin_args", nargs=argparse.REMAINDER)
    return parser


def server_main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "hash-password":
        return _hash_password()
    if args.command == "init":
        return _init(Path(args.dir))
    if args.command == "mkcert":
        folder = Path(args.dir) if args.dir else Path(args.config).parent
        return _mkcert(folder, args.name or ["localhost", "127.0.0.1", "::1"], args.days)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"ircish-server: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _setup_logging(config)
    if args.command == "check-config":
        from ircish.checkconfig import check

        problems = check(config)
        for problem in problems:
            print(f"ircish-server: config error: {problem}", file=sys.stderr)
        if problems:
            return EXIT_CONFIG
        print(f"{args.config}: ok")
        return 0
    if args.command == "db":
        from ircish.store.cli import main as db_main

        return db_main(args.db_args, config)
    if args.command == "network":
        from ircish.network.cli import main as network_main

        return network_main(args.network_args, config)
    if args.command == "account":
        from ircish.accounts.cli import main as account_main

        return account_main(args.account_args, config)
    if args.command == "plugins":
        from ircish.hooks.cli import main as plugins_main

        return plugins_main(args.plugin_args, config)
    status = EXIT_CONFIG
    try:
        status = trio.run(_serve, config)
    except* ConfigError as group:
        # Raised at start-up (a listener or a plugin); arrives wrapped by the nursery.
        for exc in _leaves(group):
            print(f"ircish-server: config error: {exc}", file=sys.stderr)
    return status


def _hash_password() -> int:
    from ircish.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("hash-password: the passwords differ", file=sys.stderr)
            return EXIT_CONFIG
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("hash-password: empty password", file=sys.stderr)
        return EXIT_CONFIG
    print(hash_password(password))
    return 0


def _init(folder: Path) -> int:
    from ircish.configfile import write_default_config

    try:
        path = write_default_config(folder)
    except FileExistsError:
        print(f"init: {folder / 'config.toml'} exists; not overwritten", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"init: cannot write {folder / 'config.toml'}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    print(f"wrote {path}; start with: ircish-server --config {path}")
    return 0


def _mkcert(folder: Path, names: list[str], days: int) -> int:
    from ircish.mkcert import MkcertError, make_self_signed

    try:
        cert, key = make_self_signed(folder, names, days=days)
    except MkcertError as exc:
        print(f"mkcert: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"wrote {cert} and {key} (self-signed for {', '.join(names)}; clients must be told "
          "to trust it)")
    print("to use them, in config.toml:")
    print(f'[tls]\nlisten = ["0.0.0.0:6697"]\ncert = "{cert.resolve()}"\nkey = "{key.resolve()}"')
    return 0


def _leaves(group: BaseExceptionGroup[ConfigError]) -> list[ConfigError]:
    found: list[ConfigError] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found.extend(_leaves(exc))
        else:
            found.append(exc)
    return found


def _setup_logging(config: Config) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logformat.formatter(config.logging.format))
    logging.basicConfig(level=config.logging.level.upper(), handlers=[handler])
    # Alembic announces each of its internal plugins at INFO; only migrations matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


async def _serve(config: Config) -> int:
    from ircish.app import build_server

    server = build_server(config)
    async with trio.open_nursery() as nursery:
        # Signals are caught before anything starts, so a Ctrl-C or SIGTERM during
        # start-up still means a graceful stop rather than a traceback.
        await nursery.start(_watch_signals, server)
        await nursery.start(server.run)
        # What start-up made (modules, config, the features) lives as long as the
        # process: out of the collector's sight, a full collection during a
        # connection storm scans only what the clients made.
        gc.freeze()
        await server.stopped.wait()
        nursery.cancel_scope.cancel()
    return 0


async def _watch_signals(
    server: IrcServer, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        task_status.started()
        count = 0
        async for signum in signals:
            if signum == signal.SIGHUP:
                log.info("SIGHUP received, reloading %s", server.config.path)
                server.request_reload()
                continue
            count += 1
            if count == 1:
                log.info("%s received, shutting down (again to exit at once)",
                         signal.Signals(signum).name)
                server.shutdown()
            else:
                os._exit(1)

"""``ircish-client``: parse flags, settle the settings, run plain or full-screen mode."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import io
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio

from ircish.client.config import ClientConfig, ConfigError, build, default_path

SASL_PASSWORD_ENV = "IRCISH_SASL_PASSWORD"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ircish-client",
        description="A terminal IRC client for ircish and any other IRC server.",
        epilog=f"Settings not given as flags come from {default_path()} when it exists.",
    )
    p.add_argument("--host", help="server name or address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 6667, or 6697 with --tls)")
    p.add_argument("--tls", action="store_true", default=None, help="connect with TLS")
    p.add_argument(
        "--insecure",
        dest="tls_verify",
        action="store_false",
        default=None,
        help="with --tls, accept any certificate",
    )
    p.add_argument("--nick", help="nickname (asked for when not set)")
    p.add_argument("--user", dest="username", help="user name (default ircish)")
    p.add_argument("--realname", help="real name")
    p.add_argument(
        "--sasl", action="store_true", default=None, help="log in to an account with SASL"
    )
    p.add_argument(
        "--sasl-required",
        action="store_true",
        default=None,
        help="like --sasl, but disconnect and stop when the login fails",
    )
    p.add_argument("--account", dest="sasl_account", help="SASL account (default: the nick)")
    p.add_argument("--join", help="channels to join, comma separated (default #lobby)")
    p.add_argument("--config", type=Path, help=f"settings file (default {default_path()})")
    p.add_argument("--plain", action="store_true", help="line mode for pipes and scripts")
    return p


def ask_nick() -> str | None:
    """The original design's prompt; None when there is nobody to ask."""
    if not sys.stdin.isatty():
        return None
    while True:
        try:
            nick = input("Nickname: ").strip()
        except EOFError:
            return None
        if nick and " " not in nick:
            return nick


def settle(args: argparse.Namespace) -> ClientConfig:
    flags: dict[str, Any] = {
        key: value for key, value in vars(args).items() if key not in ("config", "plain")
    }
    password = os.environ.get("IRCISH_PASSWORD")
    if password:
        flags["password"] = password
    sasl_password = os.environ.get(SASL_PASSWORD_ENV)
    if sasl_password:
        flags["sasl_password"] = sasl_password
    return build(flags, args.config)


def ask_sasl_password(config: ClientConfig, path: Path | None, *, plain: bool) -> str | None:
    """The account's password, typed without echo; None (with a message) when nobody can.

    Plain mode never asks: its stdin is the script's input, not a person.
    """
    if not plain and sys.stdin.isatty():
        try:
            return getpass.getpass(f"Password for account {config.effective_account}: ")
        except EOFError:
            pass
    print(
        f"ircish-client: SASL needs the account's password: set sasl_password in "
        f"{path or default_path()} or {SASL_PASSWORD_ENV} in the environment",
        file=sys.stderr,
    )
    return None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = settle(args)
    except ConfigError as exc:
        print(f"ircish-client: {exc}", file=sys.stderr)
        return 2
    if not config.nick:
        nick = ask_nick()
        if nick is None:
            print(
                "ircish-client: no nickname: use --nick or set nick in the config file",
                file=sys.stderr,
            )
            return 2
        config = dataclasses.replace(config, nick=nick)
    if config.wants_sasl and not config.sasl_password:
        secret = ask_sasl_password(config, args.config, plain=args.plain)
        if not secret:
            return 2
        config = dataclasses.replace(config, sasl_password=secret)
    if args.plain:
        from ircish.client.plain import run_plain

        if isinstance(sys.stdin, io.TextIOWrapper):
            sys.stdin.reconfigure(errors="replace")  # a stray byte must not end the run
        return run(run_plain, config)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("ircish-client: not a terminal; use --plain for pipes and scripts", file=sys.stderr)
        return 2
    from ircish.client.ui import run_fullscreen

    return run(run_fullscreen, config)


def run(mode: Callable[[ClientConfig], Awaitable[int]], config: ClientConfig) -> int:
    """Run a mode; an interrupt is a normal way out, not a traceback."""
    try:
        return trio.run(mode, config)
    except KeyboardInterrupt:
        return 130
    except BaseExceptionGroup as group:
        _, rest = group.split(KeyboardInterrupt)
        if rest is None:
            return 130
        raise


if __name__ == "__main__":
    sys.exit(main())

"""``ircish-server account create|list|show|delete|passwd NAME``: accounts for operators.

Runs in the process you start, against the configured database (like ``db``):
the schema is brought to head first (``[storage] auto_migrate``). A running
server sees a new or changed password at the next login, and learns of a name
created here when a client takes that nick (nick reservation asks the store
about nicks it does not know). A connection logged in to an account deleted
here stays logged in until it leaves; NickServ DROP logs everyone out. The
password is read twice without echo from a terminal, or once per line from
stdin when stdin is not a terminal; it is never printed or logged.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from ircish.accounts import hashing
from ircish.accounts.records import EXISTS, OK, Account, AccountRequest
from ircish.config import Config
from ircish.core.nicks import valid_nick


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ircish-server account")
    sub = parser.add_subparsers(dest="action", required=True)
    for name, text in (("create", "register an account"), ("show", "about one account"),
                       ("delete", "delete an account"), ("passwd", "set a new password")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name")
        if name == "create":
            p.add_argument("--email", default=None)
    sub.add_parser("list", help="every account")
    return parser


def _read_password(stdin: TextIO, err: TextIO) -> str | None:
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            err.write("ircish-server account: the passwords differ\n")
            return None
        return first
    return stdin.readline().rstrip("\r\n")


def _prepare(engine: object, auto_migrate: bool, prepare: Any, error: type[Exception]) -> None:
    # A running server's database is at head already: only check it. Against a
    # running server the check can meet "database is locked" (seen while the
    # server's worker commits), which no busy timeout covers: try again a few times.
    for attempt in range(10):
        try:
            try:
                prepare(engine, False)
            except error as exc:
                if "locked" in str(exc) or not auto_migrate:
                    raise
                prepare(engine, True)
            return
        except error as exc:
            if "locked" not in str(exc) or attempt == 9:
                raise
            time.sleep(0.2 * (attempt + 1))


def main(argv: list[str], config: Config, *, stdin: TextIO | None = None,
         out: TextIO | None = None, err: TextIO | None = None) -> int:
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    if not config.storage.url:
        err.write(f"ircish-server account: {config.path}: accounts need [storage] url\n")
        return 2
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from ircish.history.errors import StorageError
    from ircish.store.accounts import answer_in_transaction
    from ircish.store.database import open_engine, resolve_url
    from ircish.store.prepare import prepare_schema

    try:
        engine = open_engine(resolve_url(config.storage.url, config.base_dir),
                             busy_timeout_ms=10_000)
        _prepare(engine, config.storage.auto_migrate, prepare_schema, StorageError)
    except (StorageError, ValueError) as exc:
        err.write(f"ircish-server account: {exc}\n")
        return 2

    def ask(op: str, *request_args: object) -> object:
        return answer_in_transaction(engine, AccountRequest(op, request_args))

    try:
        if args.action == "list":
            for name, micros, email in ask("list"):  # type: ignore[attr-defined]
                when = datetime.fromtimestamp(micros / 1e6, UTC)
                out.write(f"{name}\t{when:%Y-%m-%d %H:%M:%S}\t{email or '-'}\n")
            return 0
        name = args.name
        if args.action == "show":
            account = ask("get", name)
            if not isinstance(account, Account):
                err.write(f"ircish-server account: no account {name}\n")
                return 1
            when = datetime.fromtimestamp(account.registered_micros / 1e6, UTC)
            out.write(f"name: {account.name}\nregistered: {when:%Y-%m-%d %H:%M:%S} UTC\n"
                      f"email: {account.email or '-'}\ncertificates: "
                      f"{', '.join(account.certfps) or '-'}\n")
            return 0
        if args.action == "delete":
            if ask("delete", name) != OK:
                err.write(f"ircish-server account: no account {name}\n")
                return 1
            out.write(f"deleted {name}\n")
            return 0
        if args.action == "create" and not valid_nick(name, config.limits.nick_length):
            err.write(f"ircish-server account: {name!r}: account names follow the rules of "
                      "nicknames\n")
            return 1
        password = _read_password(stdin, err)
        if password is None:
            return 1
        problem = hashing.password_problem(password, min_length=1)
        if problem is not None:
            err.write(f"ircish-server account: {problem}\n")
            return 1
        cred = hashing.make_credentials(password)
        if args.action == "create":
            micros = int(datetime.now(UTC).timestamp() * 1_000_000)
            result = ask("create", name, micros, args.email, cred.password_hash, cred.scram,
                         None)
            if result == EXISTS:
                err.write(f"ircish-server account: {name} is already registered\n")
                return 1
            out.write(f"created {name}\n")
            return 0
        if ask("set_password", name, cred.password_hash, cred.scram) != OK:
            err.write(f"ircish-server account: no account {name}\n")
            return 1
        out.write(f"password of {name} changed\n")
        return 0
    finally:
        engine.dispose()

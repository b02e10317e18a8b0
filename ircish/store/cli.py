"""``ircish-server db ...``: migrations, backups and checks from the command line.

The server's CLI parses ``--config`` and calls ``main`` with the configured
storage URL and the config file's directory (relative SQLite paths are relative
to it). Errors print one line naming the cause and return a non-zero code.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from ircish.config import Config
from ircish.history.errors import StorageError
from ircish.store import integrity, liveness, migrate
from ircish.store.backup import BackupError, backup
from ircish.store.database import (
    StorageConfigError,
    describe_database,
    open_engine,
    resolve_url,
    sqlite_file,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ircish-server db", description="Manage the history database."
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="COMMAND")
    up = sub.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("revision", nargs="?", default="head", help="target revision (head)")
    down = sub.add_parser(
        "downgrade",
        help="migrate the database back to REV (drops what later revisions added; "
        "backs it up first; the server must be stopped)",
    )
    down.add_argument("revision", help="target revision, e.g. base or -1")
    down.add_argument("--yes", action="store_true", help="yes, drop what REV does not have")
    down.add_argument("--backup", type=Path, metavar="PATH",
                      help="where the backup taken first goes (default: beside the database "
                      "or the config file, named after the revision and the time)")
    sub.add_parser("current", help="show the database's schema revision")
    sub.add_parser("history", help="list the migrations, newest first")
    bk = sub.add_parser("backup", help="copy the live database to PATH consistently")
    bk.add_argument("path", type=Path)
    sub.add_parser("check", help="read the whole database and report damage (integrity_check)")
    return parser


def _check(url: URL, out: TextIO, err: TextIO) -> int:
    """0 when sound, 1 with the problems when damaged or missing, 2 when it cannot be checked."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        err.write(f"ircish-server db check: there is no database file {path}\n")
        return 1
    try:
        problems = integrity.check(url, full=True)
    except StorageError as exc:
        err.write(f"ircish-server db check: {exc}\n")
        return 2
    if problems is None:
        err.write(
            f"ircish-server db check: no check for {url.get_backend_name()} databases; "
            "use its own tools\n"
        )
        return 2
    name = describe_database(url)
    if not problems:
        out.write(f"{name}: ok\n")
        return 0
    for problem in problems:
        out.write(f"{problem}\n")
    out.write(f"{name}: damaged ({len(problems)} problem(s)); {integrity.RESTORE_HINT}\n")
    return 1


def _default_backup(url: URL, config_dir: Path | None, revision: str | None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = sqlite_file(url)
    if path is not None:
        return path.with_name(f"{path.name}.before-downgrade-{revision or 'base'}-{stamp}")
    folder = config_dir or Path.cwd()
    return folder / f"{url.database or 'ircish'}.before-downgrade-{revision or 'base'}-{stamp}.dump"


def _downgrade(
    engine: Engine, url: URL, args: argparse.Namespace, config_dir: Path | None,
    out: TextIO, err: TextIO,
) -> int:
    """Refuse while a server uses the database; without --yes say what would happen;
    with it, back up first and downgrade while holding the database against a start."""
    name = f"ircish-server db downgrade {args.revision}"
    current = migrate.current_revision(engine)
    if args.revision != "base" and not args.revision.startswith("-"):
        # An unknown revision is told before anything is backed up or asked.
        _scripts().get_revision(args.revision)
    try:
        with liveness.exclusive(engine) as checked:
            if not checked:
                err.write(f"{name}: cannot tell whether a server uses this "
                          f"{url.get_backend_name()} database; make sure none does\n")
            if not args.yes:
                err.write(
                    f"{name}: this drops the tables and columns added after revision "
                    f"{args.revision} (the database is at {current or 'base'}); a backup is "
                    "taken first. Run it again with --yes to go ahead\n"
                )
                return 2
            dest = backup(engine, args.backup or _default_backup(url, config_dir, current))
            out.write(f"backup written to {dest}\n")
            migrate.downgrade(engine, args.revision)
    except liveness.DatabaseBusy:
        err.write(
            f"{name}: a running ircish server is using {describe_database(url)}; stop it "
            "first (nothing was changed)\n"
        )
        return 1
    out.write(f"database at revision {migrate.current_revision(engine) or 'base'}\n")
    return 0


def _scripts() -> ScriptDirectory:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg)


def _history(current: str | None, out: TextIO) -> None:
    for script in _scripts().walk_revisions():
        marks = []
        if script.is_head:
            marks.append("head")
        if script.revision == current:
            marks.append("current")
        suffix = f" ({', '.join(marks)})" if marks else ""
        down = script.down_revision or "<base>"
        out.write(f"{down} -> {script.revision}{suffix}: {script.doc}\n")


def main(
    argv: list[str],
    storage: str | Config,
    config_dir: Path | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one ``db`` sub-command against a storage URL or the server's config."""
    out = out or sys.stdout
    err = err or sys.stderr
    if isinstance(storage, str):
        storage_url = storage
    else:
        storage_url, config_dir = storage.storage.url, storage.base_dir
        if not storage_url:
            err.write(
                f"ircish-server db: {storage.path}: [storage] url is not set, so the "
                'server keeps no history; set e.g. url = "sqlite:///ircish.db"\n'
            )
            return 2
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage already
        return int(exc.code or 0)
    try:
        url = resolve_url(storage_url, config_dir)
        engine = open_engine(url)
    except StorageConfigError as exc:
        err.write(f"ircish-server db: {exc}\n")
        return 2
    try:
        if args.action == "upgrade":
            migrate.upgrade(engine, args.revision)
            out.write(f"database at revision {migrate.current_revision(engine)}\n")
        elif args.action == "downgrade":
            return _downgrade(engine, url, args, config_dir, out, err)
        elif args.action == "current":
            rev = migrate.current_revision(engine)
            head = migrate.head_revision()
            state = "(head)" if rev == head else f"(head is {head}: run `db upgrade`)"
            out.write(f"{rev or 'base'} {state}\n")
        elif args.action == "history":
            _history(migrate.current_revision(engine), out)
        elif args.action == "check":
            return _check(url, out, err)
        elif args.action == "backup":
            dest = backup(engine, args.path)
            out.write(f"backup written to {dest}\n")
    except (SQLAlchemyError, BackupError, OSError) as exc:
        cause = getattr(exc, "orig", None) or exc
        err.write(f"ircish-server db {args.action}: {cause} (database {url!r})\n")
        return 1
    except Exception as exc:
        # Alembic reports unknown revisions and the like as its own errors.
        err.write(f"ircish-server db {args.action}: {exc}\n")
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":  # python -m ircish.store.cli URL COMMAND ...
    sys.exit(main(sys.argv[2:], sys.argv[1], Path.cwd()))

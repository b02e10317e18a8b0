"""A consistent copy of a live database: SQLite's online backup, or PostgreSQL's ``pg_dump``.

SQLite's online backup API copies every page under one read transaction, so the
copy is the database as of one instant even while the server keeps writing (in
WAL mode readers do not block the writer). The copy is written next to the
destination and renamed into place, so a failed backup never leaves a
half-written file under the name asked for.

On PostgreSQL the copy is ``pg_dump``'s custom format (one snapshot too: it reads in
one transaction), restored with ``pg_restore --clean --dbname URL PATH``. The program
is PostgreSQL's own (Debian: ``postgresql-client``); its password goes through the
environment, never the command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine

from ircish.store.database import is_sqlite


class BackupError(RuntimeError):
    pass


def backup(engine: Engine, dest: Path) -> Path:
    backend = engine.url.get_backend_name()
    if not is_sqlite(engine.url) and backend != "postgresql":
        raise BackupError(
            f"backup works on SQLite and PostgreSQL databases only; use the tools of "
            f"{backend} for {engine.url.render_as_string()}"
        )
    dest = dest.expanduser().resolve()
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose a new path")
    if not dest.parent.is_dir():
        raise BackupError(f"the directory {dest.parent} does not exist")
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        if backend == "postgresql":
            _pg_dump(engine, tmp)
        else:
            _sqlite_copy(engine, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _sqlite_copy(engine: Engine, tmp: Path) -> None:
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(tmp)
        try:
            # pages=-1: everything in one step, i.e. one consistent snapshot.
            source.backup(target, pages=-1)
            ok = target.execute("PRAGMA quick_check").fetchone()
            if not ok or ok[0] != "ok":
                raise BackupError(f"the copy failed its integrity check: {ok}")
            # A standalone file is easier to move around than one with a -wal.
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
    finally:
        raw.close()


def _pg_dump(engine: Engine, tmp: Path) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError(
            "backing up a PostgreSQL database needs pg_dump, which is not installed "
            "(Debian: apt-get install postgresql-client)"
        )
    url = engine.url
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    # libpq's own URL form: no driver name, no password (it is in the environment).
    libpq = url.set(drivername="postgresql", password=None).render_as_string()
    result = subprocess.run(
        [program, "--format=custom", "--no-password", f"--file={tmp}", f"--dbname={libpq}"],
        env=env, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        cause = result.stderr.strip() or f"exit status {result.returncode}"
        raise BackupError(f"pg_dump failed: {cause}")

"""A consistent copy of a live SQLite database.

SQLite's online backup API copies every page under one read transaction, so the
copy is the database as of one instant even while the server keeps writing (in
WAL mode readers do not block the writer). The copy is written next to the
destination and renamed into place, so a failed backup never leaves a
half-written file under the name asked for.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine

from ircish.store.database import is_sqlite


class BackupError(RuntimeError):
    pass


def backup(engine: Engine, dest: Path) -> Path:
    if not is_sqlite(engine.url):
        raise BackupError(
            f"backup works on SQLite databases only; use the tools of "
            f"{engine.url.get_backend_name()} for {engine.url.render_as_string()}"
        )
    dest = dest.expanduser().resolve()
    if dest.exists():
        raise BackupError(f"{dest} already exists; choose a new path")
    if not dest.parent.is_dir():
        raise BackupError(f"the directory {dest.parent} does not exist")
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
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
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        raw.close()
    return dest

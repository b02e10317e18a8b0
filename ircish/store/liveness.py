"""Is a running server using this database? The history worker holds a lock while it runs.

``db downgrade`` asks before it drops anything. The mark is a lock, not a row: the
operating system or the database releases it when the worker's process or connection
ends, however it ends, so a killed server never leaves a stale "in use" behind.

- SQLite: an exclusive ``flock`` on ``<database file>.server-lock`` beside the file (the
  lock file itself stays; only the lock on it means anything);
- PostgreSQL: a session-level advisory lock, per database, held on one idle connection in
  autocommit (so it never holds a transaction open).

Other backends, and SQLite in memory, have no mark (``exclusive`` yields False).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from ircish.store.database import sqlite_file

# "ircish" in ASCII: the advisory lock's key, one per database.
ADVISORY_KEY = 0x697263697368


def _lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".server-lock")


class DatabaseBusy(Exception):
    """The other side holds the mark: a server runs, or a ``db downgrade`` is under way."""


def _flock(path: Path, mode: int) -> int:
    fd = os.open(_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseBusy(str(_lock_path(path))) from None
    return fd


@contextlib.contextmanager
def _advisory(engine: Engine, shared: bool) -> Iterator[None]:
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        kind = "_shared" if shared else ""
        got = conn.execute(
            text(f"SELECT pg_try_advisory_lock{kind}(:key)"), {"key": ADVISORY_KEY}
        ).scalar()
        if not got:
            raise DatabaseBusy(f"advisory lock {ADVISORY_KEY}")
        yield
    finally:
        # Closed for good, not returned to the pool: the session ends, and its lock.
        conn.invalidate()
        conn.close()


@contextlib.contextmanager
def _mark(engine: Engine, shared: bool) -> Iterator[bool]:
    path = sqlite_file(engine.url)
    if path is not None:
        fd = _flock(path, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield True
        finally:
            os.close(fd)
    elif engine.url.get_backend_name() == "postgresql":
        with _advisory(engine, shared):
            yield True
    else:
        yield False


def hold(engine: Engine) -> contextlib.AbstractContextManager[bool]:
    """The server's worker: mark the database used while the block runs.

    Shared, so a restarted worker may overlap its predecessor's last moments;
    DatabaseBusy while a ``db downgrade`` holds it exclusively.
    """
    return _mark(engine, shared=True)


def exclusive(engine: Engine) -> contextlib.AbstractContextManager[bool]:
    """``db downgrade``: no server may use the database while the block runs.

    DatabaseBusy when a server's worker holds it; yields False when this backend
    has no mark (so nothing could be checked).
    """
    return _mark(engine, shared=False)

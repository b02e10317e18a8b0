"""Is the database sound? A read-only check at start, and a full one on demand.

A damaged SQLite file opens without complaint: the damage shows only when a
read or a write touches the bad page, long after the server has started and
while chat looks normal. So the server checks before it serves (``PRAGMA
quick_check``: every page's structure, not whether each index matches its
table, which is what makes it fast) and refuses to start on a damaged file;
``ircish-server db check`` runs the full ``PRAGMA integrity_check``.

The check opens the file read-only, bypassing the engine's connect settings
(which switch the journal mode, a write): a damaged file is left exactly as it
was, for a backup to replace or a recovery tool to read. Nothing here repairs.

A dialect adds its own check to ``_CHECKS``; a database without one is not
checked (``check`` returns None).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

from ircish.history.errors import StorageError
from ircish.store.database import SQLITE_DAMAGED, sqlite_file

# How many of the check's problems the start-up refusal quotes (db check prints all).
QUOTED_PROBLEMS = 3
# The old -wal must go too: its pages belong to the damaged file, not to the backup.
RESTORE_HINT = (
    "restore a backup made with `ircish-server db backup` (and remove the -wal and -shm "
    "files beside it); the file was left untouched"
)


def _check_sqlite(url: URL, full: bool) -> list[str]:
    path = sqlite_file(url)
    if path is None or not path.exists() or path.stat().st_size == 0:
        return []  # in memory, or a new database the migration creates
    pragma = "integrity_check" if full else "quick_check"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(f"PRAGMA {pragma}").fetchall()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in SQLITE_DAMAGED:
            # Not a database at all, or damage too deep for the check to walk.
            return [str(exc)]
        raise StorageError(f"[storage] cannot check the database file {path}: {exc}") from exc
    finally:
        conn.close()
    problems = [
        line.strip()
        for (text,) in rows
        for line in str(text).splitlines()
        if line.strip() and not line.startswith("*** in database")
    ]
    return [] if problems == ["ok"] else problems


_CHECKS: dict[str, Callable[[URL, bool], list[str]]] = {"sqlite": _check_sqlite}


def check(url: URL, *, full: bool = False) -> list[str] | None:
    """The problems found (empty: sound), or None when this kind of database has no check."""
    run = _CHECKS.get(url.get_backend_name())
    return None if run is None else run(url, full)


def refuse_if_damaged(url: URL) -> None:
    """StorageError naming the file, the first problems and what to do, if the check fails."""
    problems = check(url)
    if not problems:
        return
    path: Path | None = sqlite_file(url)
    what = str(path) if path is not None else url.render_as_string(hide_password=True)
    quoted = "; ".join(problems[:QUOTED_PROBLEMS])
    more = len(problems) - QUOTED_PROBLEMS
    if more > 0:
        quoted += f"; and {more} more"
    raise StorageError(
        f"[storage] the database file {what} is damaged (quick_check: {quoted}); {RESTORE_HINT}"
    )

"""Noticing that an SQLite database file was deleted or replaced under us.

SQLite keeps writing to a deleted file through connections that are already
open, so without a check a server whose database was removed would go on
"storing" history into an unlinked inode and lose it all at the next restart.
The writer asks ``DatabaseFile.check`` before each batch (one ``stat``): a
missing file stops writes (retried, logged once, nothing dropped) and a file
replaced by another one (a restored backup) makes the pool reconnect to it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import Engine

from ircish.store.database import is_sqlite

log = logging.getLogger("ircish.store.writer")


class DatabaseGone(Exception):
    """The database file is not where it was: writing now would lose the lines."""


class DatabaseFile:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        database = engine.url.database or ""
        file_based = is_sqlite(engine.url) and database not in ("", ":memory:")
        self.path = Path(database) if file_based and not database.startswith("file:") else None
        self._identity: tuple[int, int] | None = None

    def check(self) -> None:
        """Raise DatabaseGone if the file is missing; reconnect if it was replaced."""
        if self.path is None:
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            # Drop pooled connections: they point at the deleted file.
            self._engine.dispose()
            raise DatabaseGone(f"the database file {self.path} is gone") from None
        identity = (st.st_dev, st.st_ino)
        if self._identity is not None and identity != self._identity:
            log.warning("history: %s was replaced; reconnecting to the new file", self.path)
            self._engine.dispose()
        self._identity = identity

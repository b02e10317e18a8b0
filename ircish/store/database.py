"""Opening the database: URL resolution, the engine, and per-connection setup.

SQLite needs a few settings on every connection, which a connect listener applies:

- WAL journal, so history readers never block the writer and vice versa;
- a busy timeout, so a briefly locked database waits instead of failing at once;
- foreign keys on (SQLite leaves them off by default);
- ``synchronous=NORMAL``: in WAL mode a power cut can lose the last commits but
  never corrupts the file, and commits skip an fsync each.

The stdlib driver's own transaction handling is switched off and SQLAlchemy
emits BEGIN itself (the recipe in SQLAlchemy's SQLite docs): otherwise reads run
outside any transaction and DDL commits implicitly. A connection may ask for
``BEGIN IMMEDIATE`` through the ``ircish_begin`` execution option; the writer does,
so it takes the write lock up front and waits on the busy timeout rather than
failing halfway through a batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url

BEGIN_OPTION = "ircish_begin"


class StorageConfigError(ValueError):
    """The configured storage URL cannot be used (names the cause)."""


def is_sqlite(url: URL | str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: URL | str) -> Path | None:
    """The file of a file-based SQLite URL; None for memory, ``file:`` URIs and other backends."""
    parsed = make_url(url)
    database = parsed.database or ""
    if not is_sqlite(parsed) or database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def describe_database(url: URL | str) -> str:
    """How log lines and notices name the database: its file, or the URL without password."""
    path = sqlite_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


# SQLite result codes (the low byte of an extended code) that are about the
# database itself, not the data of one statement: busy, locked, out of memory,
# read-only, I/O error, damaged file, full disk, cannot open, not a database.
_SQLITE_FAULTS = frozenset({3, 5, 6, 7, 8, 10, 11, 13, 14, 15, 26})
# Of those, the ones that mean the file itself is damaged (CORRUPT, NOTADB).
SQLITE_DAMAGED = frozenset({11, 26})


def _sqlite_code(exc: BaseException) -> int | None:
    code = getattr(getattr(exc, "orig", None) or exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


# PostgreSQL's SQLSTATEs about the server, not the statement's data: whole classes
# (08 connection, 53 out of resources, 57 operator intervention such as a shutdown,
# 58 system error) and single codes (read-only transaction, e.g. a standby after a
# failover; database missing; lock not available; serialization failure; deadlock).
_PG_FAULT_CLASSES = frozenset({"08", "53", "57", "58"})
_PG_FAULTS = frozenset({"25006", "3D000", "55P03", "40001", "40P01"})


def _pg_sqlstate(exc: BaseException) -> str | None:
    state = getattr(getattr(exc, "orig", None) or exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_database_fault(exc: BaseException) -> bool:
    """Whether the driver error behind ``exc`` says the database, not the data, failed.

    SQLite reports a damaged file ("database disk image is malformed") as a
    plain DatabaseError, not an OperationalError; its result code tells.
    PostgreSQL's SQLSTATE tells too: psycopg reports a read-only standby as an
    InternalError, which would otherwise look like a batch it can never take.
    """
    if _sqlite_code(exc) in _SQLITE_FAULTS:
        return True
    state = _pg_sqlstate(exc)
    return state is not None and (state in _PG_FAULTS or state[:2] in _PG_FAULT_CLASSES)


def describe_fault(exc: BaseException) -> str:
    """The driver's message, and for a damaged file what the operator should do."""
    text = str(getattr(exc, "orig", None) or exc)
    if _sqlite_code(exc) in SQLITE_DAMAGED:
        text += (
            "; the file is damaged: check it with `ircish-server db check` and restore "
            "a backup made with `ircish-server db backup`"
        )
    return text


def resolve_url(url: str, config_dir: Path | None) -> URL:
    """Parse the URL; a relative SQLite path is taken relative to ``config_dir``.

    Relative to the config file rather than the working directory, so the server
    finds the same database however it is started.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise StorageConfigError(f"[storage] url: cannot parse {url!r}: {exc}") from exc
    if parsed.get_backend_name() != "sqlite":
        return parsed
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return parsed
    path = Path(database).expanduser()
    if not path.is_absolute() and config_dir is not None:
        path = (config_dir / path).resolve()
    return parsed.set(database=str(path))


def _install_sqlite_listeners(engine: Engine, *, busy_timeout_ms: int, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(BEGIN_OPTION, "BEGIN"))


def open_engine(
    url: URL | str,
    *,
    busy_timeout_ms: int = 5_000,
    foreign_keys: bool = True,
    **engine_kw: Any,
) -> Engine:
    """An engine for ``url`` with the per-connection settings installed.

    ``foreign_keys=False`` is for migrations only: SQLite's batch migrations copy
    a table and drop the old one, and with foreign keys on, that drop would
    cascade-delete rows of the tables that refer to it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            parent = Path(database).parent
            if not parent.is_dir():
                raise StorageConfigError(
                    f"[storage] url: the directory {str(parent)!r} for the database does not exist"
                )
    try:
        engine = create_engine(parsed, **engine_kw)
    except ImportError as exc:
        # The dialect imports its driver here: say which package brings it.
        hint = (
            "pip install 'ircish[postgres]' (psycopg 3)"
            if parsed.get_backend_name() == "postgresql"
            else "install the driver this URL names"
        )
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
            hint += ", and write the URL as postgresql+psycopg://user:password@host/database"
        raise StorageConfigError(
            f"[storage] url: the {parsed.drivername} driver is not installed "
            f"({exc}); {hint}"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        _install_sqlite_listeners(
            engine, busy_timeout_ms=busy_timeout_ms, foreign_keys=foreign_keys
        )
    return engine

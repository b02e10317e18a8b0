"""The schema step at start meets a locked database (an operator's CLI reading it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from ircish.history.errors import StorageError
from ircish.store import migrate, prepare
from ircish.store.database import open_engine


def test_a_locked_database_at_start_is_waited_for(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'h.db'}")
    real_upgrade = migrate.upgrade
    calls: list[int] = []

    def upgrade(target: object) -> None:
        calls.append(1)
        if len(calls) <= 2:
            # What SQLAlchemy raises when SQLite gives up on a write lock at once.
            raise OperationalError("PRAGMA", {}, sqlite3.OperationalError("database is locked"))
        real_upgrade(target)  # type: ignore[arg-type]

    monkeypatch.setattr(migrate, "upgrade", upgrade)
    slept: list[float] = []
    monkeypatch.setattr(prepare.time, "sleep", slept.append)
    prepare.prepare_schema(engine, auto_migrate=True)
    assert len(calls) == 3 and len(slept) == 2
    assert migrate.is_at_head(engine)
    engine.dispose()


def test_other_errors_and_a_lock_that_stays_are_refused(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'h.db'}")
    calls: list[str] = []

    def broken(target: object) -> None:
        calls.append("x")
        raise OperationalError("PRAGMA", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(migrate, "upgrade", broken)
    monkeypatch.setattr(prepare.time, "sleep", lambda s: None)
    with pytest.raises(StorageError, match="disk I/O error"):
        prepare.prepare_schema(engine, auto_migrate=True)
    assert calls == ["x"]

    def locked(target: object) -> None:
        calls.append("l")
        raise OperationalError("PRAGMA", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(migrate, "upgrade", locked)
    with pytest.raises(StorageError, match="cannot migrate: database is locked"):
        prepare.prepare_schema(engine, auto_migrate=True)
    assert calls.count("l") == prepare.LOCKED_ATTEMPTS
    engine.dispose()

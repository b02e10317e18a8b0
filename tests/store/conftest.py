from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ircish.store import migrate
from ircish.store.database import open_engine


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database in a temporary directory."""
    eng = open_engine(db_url, busy_timeout_ms=200)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()

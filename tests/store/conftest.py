"""The store's fixtures: each test that takes ``db_url`` or ``engine`` runs on SQLite and on
PostgreSQL.

PostgreSQL is the one given by ``IRCISH_TEST_POSTGRES_URL`` (any SQLAlchemy URL of a role
that may create databases, e.g. ``postgresql+psycopg://ircish@127.0.0.1:5433/postgres``;
``.ci/postgres start`` makes a private cluster and prints one). Each test gets a new
database of its own, dropped afterwards. Without the variable the PostgreSQL runs skip
and say so. A test about SQLite itself (its files, pragmas, locks) is marked
``sqlite_only`` and runs once; one about PostgreSQL alone (its planner, its settings) is
marked ``postgresql_only`` and is not generated for SQLite at all, rather than skipped there.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ircish.store import migrate
from ircish.store.database import open_engine
from tests.store import postgres


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: about SQLite itself; runs on the SQLite backend only"
    )
    config.addinivalue_line(
        "markers", "postgresql_only: about PostgreSQL itself; runs on the PostgreSQL backend only"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    marked = metafunc.definition.get_closest_marker
    backends = ["sqlite", "postgresql"]
    if marked("sqlite_only") is not None:
        backends = ["sqlite"]
    elif marked("postgresql_only") is not None:
        backends = ["postgresql"]
    metafunc.parametrize("backend", backends)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test process, copied for each test taking ``engine``."""
    path = tmp_path_factory.mktemp("template") / "history.db"
    eng = open_engine(f"sqlite:///{path}")
    migrate.upgrade(eng)
    eng.dispose()
    return path


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    # A test taking ``engine`` gets the schema from a copy of a template migrated once;
    # one taking only ``db_url`` (a migration's own test) starts from an empty database.
    migrated = "engine" in request.fixturenames
    if backend == "sqlite":
        path = tmp_path / "history.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with postgres.fresh_database(migrated=migrated) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database (a file in a temporary directory, or a new PostgreSQL database).

    ``db_url`` copied it from a migrated template; the upgrade here checks it is at head.
    """
    eng = open_engine(db_url, busy_timeout_ms=200)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()
